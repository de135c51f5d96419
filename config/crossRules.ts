// Rules that join config values with the stack's own facts (its name and region) against AWS's limits.
import { REGION_NAME, certificateRegion } from "./awsRules";
import { derivedNameProblems, stackDerivedNames } from "./derivedNames";
import { configKey, showValue } from "./format";
import type { StackConfig } from "./schema";

/** What the validator knows about the stack besides its config. */
export interface StackContext {
    /** The stack's name, e.g. `production`; names of topics, vaults and alarms carry it. */
    readonly stack?: string;
    /** `aws:region`, e.g. `eu-west-1`. */
    readonly region?: string;
}

/**
 * Problems that only show when config values meet the stack name or the
 * region. Each rule runs only when the sections it reads are valid.
 */
export function stackContextProblems(config: Partial<StackConfig>, context: StackContext): string[] {
    const problems: string[] = [];
    const { stack, region } = context;
    const regionValid = region !== undefined && REGION_NAME.test(region);
    if (region !== undefined && !regionValid) {
        problems.push(`aws:region = ${showValue(region)}: must be an AWS region name such as eu-west-1; run \`pulumi config set aws:region <region>\``);
    }
    if (config.tls && regionValid) {
        const certificate = certificateRegion(config.tls.certificateArn);
        // ACM User Guide, "Services integrated with ACM", Elastic Load Balancing: a load balancer uses certificates from its own region only.
        if (certificate !== region) {
            problems.push(
                `${configKey("tls", ["certificateArn"])} = ${showValue(config.tls.certificateArn)}: the certificate is in ${certificate}, but the stack deploys to ${region}; an ALB can use only an ACM certificate of its own region, so request or import one in ${region}`,
            );
        }
    }
    if (config.service && stack !== undefined) {
        for (const problem of derivedNameProblems(stackDerivedNames(config.service.name, stack, config.database !== undefined))) {
            problems.push(`${configKey("service", ["name"])} = ${showValue(config.service.name)} in stack "${stack}": ${problem}; shorten the service name or rename the stack`);
        }
    }
    return problems;
}
