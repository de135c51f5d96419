// Property: every config the validator accepts declares only resources AWS accepts (DESIGN.md invariant 8).
import * as assert from "assert";
import fc from "fast-check";
import { ConfigError, shiftwiseSections } from "../config";
import { ProgramError } from "../evaluation/mockRuntime";
import { CHECKED_TYPES, violations } from "./awsConstraints";
import { ConfigMap, evaluate, stackConfig, withSection } from "./harness";

/** Regions the generated stacks deploy to; the mock knows their availability zones. */
const REGIONS = ["eu-west-1", "us-east-1", "us-west-1", "ap-northeast-1", "eu-central-1"];

/** Mostly ordinary values, sometimes odd ones, so that enough generated configs pass the validator to be checked. */
function usually<T>(ordinary: fc.Arbitrary<T>, odd: fc.Arbitrary<T>): fc.Arbitrary<T> {
    return fc.oneof({ arbitrary: ordinary, weight: 12 }, { arbitrary: odd, weight: 1 });
}

/** Plausible values users write, odd ones included: long names, reserved prefixes, dots, dashes, underscores and `#`. */
const serviceName = usually(
    fc.array(fc.stringMatching(/^[a-z][a-z0-9]{0,5}$/), { minLength: 1, maxLength: 3 }).map((words) => words.join("-")).filter((name) => name.length >= 2),
    fc.constantFrom("shop", "internal", "internal-api", "sg", "sg-api", "a-b", "payments-gateway-eu", "abcdefghijklmnopqr", "abcdefghijklmnopqrs", "abcdefghijklmnopqrst"),
);
const stackName = usually(fc.constantFrom("staging", "production", "prod-eu", "dev_1", "qa-2"), fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._-]{0,44}$/));
const label = usually(
    fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._+-]{0,30}$/),
    fc.oneof(fc.constantFrom("v1.5.0", "v1.5.0-rc.1", "2024.06.01_build#7", "release_2", "v2+meta"), fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._#+-]{0,30}$/)),
);
const cidrs = (max: number) => fc.uniqueArray(fc.integer({ min: 0, max: 255 }), { minLength: 0, maxLength: max }).map((octets) => octets.map((o) => `10.${o}.0.0/16`));
const schedule = usually(
    fc.constantFrom("cron(0 3 * * ? *)", "cron(30 */6 * * ? *)", "cron(0 5 ? * MON-FRI *)", "cron(15 1,13 * * ? *)"),
    fc.constantFrom("cron(0/30 * * * ? *)", "cron(0 3 * * *)", "cron(0 3 * * MON *)", "cron(0 24 * * ? *)"),
);
const sslPolicy = usually(
    fc.constantFrom("ELBSecurityPolicy-TLS13-1-2-2021-06", "ELBSecurityPolicy-TLS13-1-3-2021-06", "ELBSecurityPolicy-TLS13-1-2-Res-PQ-2025-09", "ELBSecurityPolicy-TLS13-1-2-FIPS-2023-04"),
    fc.constantFrom("ELBSecurityPolicy-TLS13-1-2-2099-01", "ELBSecurityPolicy-TLS13-1-3-2021-07"),
);
const matcher = usually(fc.constantFrom("200", "200-299", "200,202", "200-399", "200-499"), fc.constantFrom("200-599", "299-200", "100-199"));

const userValues = fc.record({
    base: fc.constantFrom("staging", "production"),
    stack: stackName,
    region: fc.constantFrom(...REGIONS),
    certificateInRegion: usually(fc.constant(true), fc.constant(false)),
    certificateRegion: fc.constantFrom(...REGIONS),
    service: serviceName,
    blueVersion: label,
    greenVersion: label,
    snapshotLabel: fc.option(label, { nil: undefined }),
    azCount: usually(fc.integer({ min: 2, max: 3 }), fc.integer({ min: 4, max: 6 })),
    vpcSecondOctet: fc.integer({ min: 0, max: 255 }),
    allocatedStorageGb: fc.integer({ min: 20, max: 2000 }),
    storageHeadroomPercent: usually(fc.integer({ min: 10, max: 400 }), fc.integer({ min: 0, max: 9 })),
    schedule,
    sslPolicy,
    matcher,
    healthCheckPath: fc.oneof(fc.constant("/healthz"), fc.stringMatching(/^\/[a-z0-9/_.-]{0,40}$/)),
    testCidrs: usually(cidrs(4), cidrs(30)),
    ingressCidrs: usually(cidrs(4), cidrs(30)).filter((list) => list.length > 0),
});

type UserValues = typeof userValues extends fc.Arbitrary<infer T> ? T : never;

/** A stack file (config map) built from a committed stack and the generated values. */
function configOf(values: UserValues): ConfigMap {
    const sections = shiftwiseSections(stackConfig(values.base)) as Record<string, any>;
    const certificateRegion = values.certificateInRegion ? values.region : values.certificateRegion;
    sections.service = { ...sections.service, name: values.service, healthCheckPath: values.healthCheckPath, healthCheck: { matcher: values.matcher }, testCidrs: values.testCidrs, ingressCidrs: values.ingressCidrs };
    // Other ARNs the stack names (a WAF web ACL) live in the stack's region too.
    if (typeof sections.service.webAclArn === "string") sections.service.webAclArn = sections.service.webAclArn.replace(/:[a-z]{2}-[a-z]+-\d:/, `:${values.region}:`);
    sections.tls = { certificateArn: `arn:aws:acm:${certificateRegion}:123456789012:certificate/0b5e2f7a-3c1d-4e8f-9a6b-2d4c6e8f0a1b`, sslPolicy: values.sslPolicy };
    sections.blue = { ...sections.blue, version: values.blueVersion };
    sections.green = { ...sections.green, version: values.greenVersion };
    if (values.base === "staging") sections.network = { create: { cidr: `10.${values.vpcSecondOctet}.0.0/16`, azCount: values.azCount, natGateways: "one" } };
    const database = { ...sections.database, allocatedStorageGb: values.allocatedStorageGb, maxAllocatedStorageGb: Math.ceil((values.allocatedStorageGb * (100 + values.storageHeadroomPercent)) / 100) };
    database.backupPlan = { ...database.backupPlan, schedule: values.schedule };
    if (values.snapshotLabel === undefined) {
        delete database.preReleaseSnapshot;
        delete database.snapshotColour;
    } else {
        database.preReleaseSnapshot = values.snapshotLabel;
    }
    sections.database = database;
    let config = withSection(stackConfig(values.base), "aws:region", values.region);
    for (const [section, value] of Object.entries(sections)) config = withSection(config, section, value);
    return config;
}

/** The one failure only AWS can know of, which the program must report at preview with its reason. */
const CLOUD_ONLY = /azCount is \d, but the region has only \d available availability zones/;

describe("AWS accepts what shiftwise accepts (property, fast-check)", function () {
    this.timeout(60_000);

    it("every accepted config declares only resources that meet AWS's documented constraints", async () => {
        const outcomes = { accepted: 0, rejected: 0, cloudOnly: 0 };
        await fc.assert(
            fc.asyncProperty(userValues, async (values) => {
                let evaluation;
                try {
                    evaluation = await evaluate(configOf(values), values.stack);
                } catch (error) {
                    const cause = error instanceof ProgramError ? error.cause : error;
                    if (cause instanceof ConfigError) {
                        outcomes.rejected += 1;
                        return;
                    }
                    if (CLOUD_ONLY.test(String((cause as Error)?.message ?? cause))) {
                        outcomes.cloudOnly += 1;
                        return;
                    }
                    throw error;
                }
                outcomes.accepted += 1;
                assert.deepStrictEqual(violations(evaluation.resources, { region: values.region }), []);
            }),
            { seed: 20260808, numRuns: 30 },
        );
        // The property is not vacuous: many generated configs are accepted and checked.
        assert.ok(outcomes.accepted >= 10, JSON.stringify(outcomes));
    });

    it("the constraint table covers the program's AWS resources", async () => {
        const evaluation = await evaluate(stackConfig("production"), "production");
        const types = new Set(evaluation.resources.filter((r) => r.custom && r.type.startsWith("aws:")).map((r) => r.type));
        const covered = [...types].filter((type) => CHECKED_TYPES.includes(type));
        assert.ok(covered.length >= 20, `covered ${covered.length} of ${types.size}: ${covered.join(", ")}`);
    });
});
