// Property: every config the validator accepts declares only resources AWS accepts (DESIGN.md invariant 8).
import * as assert from "assert";
import fc from "fast-check";
import { ConfigError, shiftwiseSections } from "../config";
import { ProgramError } from "../evaluation/mockRuntime";
import { CHECKED_TYPES, violations } from "./awsConstraints";
import { ConfigMap, evaluate, stackConfig, withSection } from "./harness";

/** Regions the generated stacks deploy to; the mock knows their availability zones. */
const REGIONS = ["eu-west-1", "us-east-1", "us-west-1", "ap-northeast-1", "eu-central-1"];

/**
 * The generator is shaped for speed: every evaluation of an accepted config costs most of a second,
 * a rejected config a few milliseconds. Each run starts from ordinary values (which already reach the
 * edges AWS allows: long service names, labels with dots, dashes, underscores and `+`, large storage)
 * and, in most runs, swaps exactly one field for an odd value a plausible user writes (a name over the
 * limit, a reserved prefix, `#` in a label, a look-alike TLS policy, an hourly-or-faster cron, ...).
 * A right validator rejects those runs cheaply; a wrong rule lets exactly that odd value through to the
 * program, where the constraint table catches it. So few evaluations still test every rule.
 */
const ordinaryServiceName = fc
    .array(fc.stringMatching(/^[a-z][a-z0-9]{0,5}$/), { minLength: 1, maxLength: 3 })
    .map((words) => words.join("-"))
    .filter((name) => name.length >= 2);
const ordinaryLabel = fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._+-]{0,30}$/);
const cidrs = (min: number, max: number) =>
    fc.uniqueArray(fc.integer({ min: 0, max: 255 }), { minLength: min, maxLength: max }).map((octets) => octets.map((o) => `10.${o}.0.0/16`));

/** The user values one run varies. */
interface UserValues {
    readonly base: "staging" | "production";
    readonly stack: string;
    readonly region: string;
    readonly certificateInRegion: boolean;
    readonly certificateRegion: string;
    readonly service: string;
    readonly blueVersion: string;
    readonly greenVersion: string;
    readonly snapshotLabel: string | undefined;
    readonly azCount: number;
    readonly vpcSecondOctet: number;
    readonly allocatedStorageGb: number;
    readonly storageHeadroomPercent: number;
    readonly schedule: string;
    readonly sslPolicy: string;
    readonly matcher: string;
    readonly healthCheckPath: string;
    readonly testCidrs: string[];
    readonly ingressCidrs: string[];
}

const ordinaryValues: fc.Arbitrary<UserValues> = fc.record({
    base: fc.constantFrom("staging", "production"),
    stack: fc.constantFrom("staging", "production", "prod-eu", "dev_1", "qa-2"),
    region: fc.constantFrom(...REGIONS),
    certificateInRegion: fc.constant(true),
    certificateRegion: fc.constantFrom(...REGIONS),
    service: ordinaryServiceName,
    blueVersion: ordinaryLabel,
    greenVersion: ordinaryLabel,
    snapshotLabel: fc.option(ordinaryLabel, { nil: undefined }),
    azCount: fc.integer({ min: 2, max: 3 }),
    vpcSecondOctet: fc.integer({ min: 0, max: 255 }),
    allocatedStorageGb: fc.integer({ min: 20, max: 2000 }),
    storageHeadroomPercent: fc.integer({ min: 10, max: 400 }),
    schedule: fc.constantFrom("cron(0 3 * * ? *)", "cron(30 */6 * * ? *)", "cron(0 5 ? * MON-FRI *)", "cron(15 1,13 * * ? *)"),
    sslPolicy: fc.constantFrom("ELBSecurityPolicy-TLS13-1-2-2021-06", "ELBSecurityPolicy-TLS13-1-3-2021-06", "ELBSecurityPolicy-TLS13-1-2-Res-PQ-2025-09", "ELBSecurityPolicy-TLS13-1-2-FIPS-2023-04"),
    matcher: fc.constantFrom("200", "200-299", "200,202", "200-399", "200-499"),
    healthCheckPath: fc.oneof(fc.constant("/healthz"), fc.stringMatching(/^\/[a-z0-9/_.-]{0,40}$/)),
    testCidrs: cidrs(0, 4),
    ingressCidrs: cidrs(1, 4),
});

/** One odd value per field, as a partial override of the ordinary values. */
const oddValue: fc.Arbitrary<Partial<UserValues>> = fc.oneof(
    fc
        .oneof(
            fc.constantFrom("internal", "internal-api", "sg", "sg-api", "payments--gateway", "abcdefghijklmnopqrs", "abcdefghijklmnopqrst"),
            fc.stringMatching(/^[a-z][a-z0-9-]{17,22}[a-z0-9]$/),
        )
        .map((service) => ({ service })),
    fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._-]{30,60}$/).map((stack) => ({ stack })),
    fc
        .oneof(fc.constantFrom("2024.06.01_build#7", "v1.5.0#hotfix", "release!2", "v1.5.0~rc1", "v1,5"), fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._+-]{0,10}#[A-Za-z0-9._#+-]{0,10}$/))
        .chain((version) => fc.constantFrom({ blueVersion: version }, { greenVersion: version })),
    // Only a created VPC (the staging base) spreads over azCount zones.
    fc.integer({ min: 4, max: 6 }).map((azCount) => ({ azCount, base: "staging" as const })),
    fc.integer({ min: 0, max: 9 }).map((storageHeadroomPercent) => ({ storageHeadroomPercent })),
    fc.constantFrom("cron(0/30 * * * ? *)", "cron(0 3 * * *)", "cron(0 3 * * MON *)", "cron(0 24 * * ? *)", "rate(1 day)").map((schedule) => ({ schedule })),
    fc.constantFrom("ELBSecurityPolicy-TLS13-1-2-2099-01", "ELBSecurityPolicy-TLS13-1-3-2021-07", "ELBSecurityPolicy-TLS13-1-2-Res-PQ-2021-06").map((sslPolicy) => ({ sslPolicy })),
    fc.constantFrom("200-599", "299-200", "100-199", "200,500").map((matcher) => ({ matcher })),
    fc.tuple(cidrs(20, 40), cidrs(15, 25)).map(([testCidrs, ingressCidrs]) => ({ testCidrs, ingressCidrs })),
    fc.constantFrom(...REGIONS).map((certificateRegion) => ({ certificateInRegion: false, certificateRegion })),
    fc.constant({ healthCheckPath: `/${"a".repeat(1100)}` }),
);

/** Ordinary values, and in four runs of five one odd field. */
const userValues: fc.Arbitrary<UserValues> = fc
    .tuple(ordinaryValues, fc.option(oddValue, { freq: 5, nil: undefined }))
    .map(([ordinary, odd]) => ({ ...ordinary, ...odd }));


/** A stack file (config map) built from a committed stack and the generated values. */
function configOf(values: UserValues): ConfigMap {
    const sections = shiftwiseSections(stackConfig(values.base)) as Record<string, any>;
    const otherRegion = values.certificateRegion === values.region ? REGIONS[(REGIONS.indexOf(values.region) + 1) % REGIONS.length] : values.certificateRegion;
    const certificateRegion = values.certificateInRegion ? values.region : otherRegion;
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
            // Shrinking a failure re-evaluates the program many times: stop it after 40 s and report the smallest counterexample so far.
            { seed: 20260808, numRuns: 50, plugins: [fc.interruptAfterTimeLimit(40_000, { failOnInterrupt: true })] },
        );
        // The property is not vacuous: many generated configs are accepted and checked.
        assert.ok(outcomes.accepted >= 5, JSON.stringify(outcomes));
    });

    it("the constraint table covers the program's AWS resources", async () => {
        const evaluation = await evaluate(stackConfig("production"), "production");
        const types = new Set(evaluation.resources.filter((r) => r.custom && r.type.startsWith("aws:")).map((r) => r.type));
        const covered = [...types].filter((type) => CHECKED_TYPES.includes(type));
        assert.ok(covered.length >= 20, `covered ${covered.length} of ${types.size}: ${covered.join(", ")}`);
    });
});
