// The account, partition and region the stack deploys into: asked of the AWS provider once per program, for every component's policies.
import { getCallerIdentityOutput } from "@pulumi/aws/getCallerIdentity";
import { getPartitionOutput } from "@pulumi/aws/getPartition";
import { getRegionOutput } from "@pulumi/aws/getRegion";
import * as pulumi from "@pulumi/pulumi";

/** What the stack's AWS credentials and provider say about where it deploys. */
export interface AccountFacts {
    /** The account id of the stack's credentials. */
    readonly accountId: pulumi.Output<string>;
    /** The partition, `aws` in the commercial regions. */
    readonly partition: pulumi.Output<string>;
    /** The provider's region. */
    readonly region: pulumi.Output<string>;
}

/**
 * Asks the default AWS provider once. Under `pulumi preview` and `up` each ask
 * is a provider call (the account id is an STS GetCallerIdentity request),
 * and six components write policies that need the answers; each used to ask
 * for itself. No component sets a provider of its own, so the default
 * provider, which answers here, is the one that answered them.
 */
export function accountFacts(): AccountFacts {
    return { accountId: getCallerIdentityOutput().accountId, partition: getPartitionOutput().partition, region: getRegionOutput().region };
}
