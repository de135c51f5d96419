// Both sides of every config rule's boundary, with the exact message: AWS's limits, numeric strings, CIDRs, freeze windows, images and names.
import * as assert from "assert";
import { ConfigError, parseStackConfig, shiftwiseSections } from "../config";
import { backupScheduleProblem } from "../config/awsRules";
import { MAX_FIXED_RESPONSE_BODY, maintenancePage } from "../config/maintenancePage";
import { stackContextProblems } from "../config/crossRules";
import { derivedNameProblems, serviceDerivedNames, stackDerivedNames } from "../config/derivedNames";
import { stackConfig } from "./harness";

type Sections = Record<string, any>;

/** Every problem the validator reports for the staging config after `edit`; [] when it accepts it. */
function problemsOf(edit: (sections: Sections) => void, base = "staging"): string[] {
    const sections = shiftwiseSections(stackConfig(base)) as Sections;
    edit(sections);
    try {
        parseStackConfig(sections, { stack: base, region: "eu-west-1" });
        return [];
    } catch (error) {
        if (!(error instanceof ConfigError)) throw error;
        return [...error.problems];
    }
}

/** The parsed config after `edit`; fails the test when the validator refuses it. */
function parsed(edit: (sections: Sections) => void, base = "staging") {
    const sections = shiftwiseSections(stackConfig(base)) as Sections;
    edit(sections);
    return parseStackConfig(sections, { stack: base, region: "eu-west-1" });
}


const cidrList = (count: number, second = 0) => Array.from({ length: count }, (_, i) => `10.${second + i}.0.0/16`);
const IMAGE = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/shop";
const FREEZE_SHAPE = "needs days, dates, a start/end time range, or a combination";

describe("config rules at their boundaries (exact messages)", () => {
    describe("health checks (ELBv2 CreateTargetGroup)", () => {
        it("a timeout equal to the interval is refused, one less is accepted (HealthCheckTimeoutSeconds must be smaller than HealthCheckIntervalSeconds)", () => {
            assert.deepStrictEqual(problemsOf((s) => (s.service.healthCheck = { intervalSeconds: 10, timeoutSeconds: 10 })), [
                'shiftwise:service.healthCheck = {"intervalSeconds":10,"timeoutSeconds":10,"healthyThreshold":3,"unhealthyThre...: timeoutSeconds must be less than intervalSeconds; lower the timeout or raise the interval',
            ]);
            assert.deepStrictEqual(parsed((s) => (s.service.healthCheck = { intervalSeconds: 10, timeoutSeconds: 9 })).service.healthCheck.timeoutSeconds, 9);
        });
        it("an explicit matcher inside 200-499 is kept; one outside names the code", () => {
            assert.strictEqual(parsed((s) => (s.service.healthCheck = { matcher: "200-299,302" })).service.healthCheck.matcher, "200-299,302");
            assert.deepStrictEqual(problemsOf((s) => (s.service.healthCheck = { matcher: "200,503" })), [
                'shiftwise:service.healthCheck.matcher = "200,503": code 503 is outside 200-499, the codes an ALB health check accepts; e.g. 200-299',
            ]);
        });
    });

    describe("the load balancer's security group quota (Amazon VPC quotas: 60 inbound rules)", () => {
        it("30 ingress CIDRs (60 rules) fit; one test CIDR more does not", () => {
            assert.deepStrictEqual(problemsOf((s) => ((s.service.ingressCidrs = cidrList(30)), (s.service.testCidrs = []))), []);
            const problems = problemsOf((s) => ((s.service.ingressCidrs = cidrList(30)), (s.service.testCidrs = ["192.168.0.0/16"])));
            assert.strictEqual(problems.length, 1);
            assert.match(problems[0], /^shiftwise:service\.ingressCidrs = \["10\.0\.0\.0\/16",.*: with testCidrs gives the load balancer's security group 61 inbound rules \(2 per ingress CIDR, 1 per test CIDR\); a security group holds 60 by default, so merge CIDRs into larger blocks$/);
        });
    });

    describe("alarms (CloudWatch PutMetricAlarm: DatapointsToAlarm <= EvaluationPeriods)", () => {
        it("datapointsToAlarm equal to evaluationPeriods is accepted, one more is refused", () => {
            assert.strictEqual(parsed((s) => (s.alarms = { ...s.alarms, evaluationPeriods: 3, datapointsToAlarm: 3 })).alarms.datapointsToAlarm, 3);
            assert.deepStrictEqual(problemsOf((s) => (s.alarms = { ...s.alarms, evaluationPeriods: 3, datapointsToAlarm: 4 })), [
                "shiftwise:alarms.datapointsToAlarm = 4: must be at most evaluationPeriods (3); lower it or raise evaluationPeriods",
            ]);
        });
        it("reads decimal strings as numbers, with every decimal digit", () => {
            assert.strictEqual(parsed((s) => (s.alarms = { ...s.alarms, maxErrorRatePercent: "1.55" })).alarms.maxErrorRatePercent, 1.55);
            assert.strictEqual(parsed((s) => (s.alarms = { ...s.alarms, maxErrorRatePercent: "0.5" })).alarms.maxErrorRatePercent, 0.5);
            assert.strictEqual(parsed((s) => (s.service.port = " 8081 ")).service.port, 8081);
            assert.deepStrictEqual(problemsOf((s) => (s.alarms = { ...s.alarms, maxErrorRatePercent: "1.5%" })), [
                'shiftwise:alarms.maxErrorRatePercent = "1.5%": must be a number > 0 and <= 100; the 5xx percent that rolls back, e.g. 1',
            ]);
        });
    });

    describe("RDS storage autoscaling (10% headroom)", () => {
        it("exactly 10% above allocatedStorageGb is accepted, 1 GiB less is refused with the ceiling", () => {
            assert.strictEqual(parsed((s) => (s.database = { ...s.database, allocatedStorageGb: 100, maxAllocatedStorageGb: 110 })).database?.maxAllocatedStorageGb, 110);
            assert.deepStrictEqual(problemsOf((s) => (s.database = { ...s.database, allocatedStorageGb: 100, maxAllocatedStorageGb: 109 })), [
                "shiftwise:database.maxAllocatedStorageGb = 109: must be at least 10% above allocatedStorageGb (100), as RDS storage autoscaling requires; raise it to 110 or more",
            ]);
        });
        it("an invalid backup schedule names the problem and an example", () => {
            assert.deepStrictEqual(problemsOf((s) => (s.database = { ...s.database, backupPlan: { schedule: "cron(*/15 * * * ? *)" } })), [
                'shiftwise:database.backupPlan.schedule = "cron(*/15 * * * ? *)": minutes field "*/15" must be one number from 0 to 59; AWS Backup runs a rule at most once an hour; e.g. cron(0 3 * * ? *) for 03:00 UTC daily',
            ]);
        });
    });

    describe("rollout", () => {
        it("maxBakeMinutes equal to bakeMinutes is accepted, one less is refused", () => {
            assert.strictEqual(parsed((s) => (s.rollout = { ...s.rollout, bakeMinutes: 5, maxBakeMinutes: 5 })).rollout.maxBakeMinutes, 5);
            assert.deepStrictEqual(problemsOf((s) => (s.rollout = { ...s.rollout, bakeMinutes: 5, maxBakeMinutes: 4 })), [
                "shiftwise:rollout.maxBakeMinutes = 4: must be at least bakeMinutes (5); raise it or lower bakeMinutes",
            ]);
        });
        it("a repeated step is refused", () => {
            assert.deepStrictEqual(problemsOf((s) => (s.rollout = { ...s.rollout, steps: [10, 10, 100] })), [
                "shiftwise:rollout.steps = [10,10,100]: must be strictly increasing; sort them and drop duplicates",
            ]);
        });
        it("freeze windows: a shape, both ends, distinct ends, real dates and zones", () => {
            assert.deepStrictEqual(problemsOf((s) => (s.rollout = { ...s.rollout, freezeWindows: [{ reason: "x" }] })), [`shiftwise:rollout.freezeWindows[0] = {"reason":"x","timeZone":"UTC"}: ${FREEZE_SHAPE}`]);
            assert.deepStrictEqual(problemsOf((s) => (s.rollout = { ...s.rollout, freezeWindows: [{ reason: "x", start: "10:00" }] })), [
                'shiftwise:rollout.freezeWindows[0] = {"reason":"x","start":"10:00","timeZone":"UTC"}: needs both start and end, or neither',
            ]);
            assert.deepStrictEqual(problemsOf((s) => (s.rollout = { ...s.rollout, freezeWindows: [{ reason: "x", end: "10:00" }] })), [
                `shiftwise:rollout.freezeWindows[0] = {"reason":"x","end":"10:00","timeZone":"UTC"}: ${FREEZE_SHAPE}`,
                'shiftwise:rollout.freezeWindows[0] = {"reason":"x","end":"10:00","timeZone":"UTC"}: needs both start and end, or neither',
            ]);
            assert.deepStrictEqual(problemsOf((s) => (s.rollout = { ...s.rollout, freezeWindows: [{ reason: "x", start: "10:00", end: "10:00" }] })), [
                'shiftwise:rollout.freezeWindows[0].end = "10:00": must differ from start; omit both to freeze whole days',
            ]);
            assert.deepStrictEqual(problemsOf((s) => (s.rollout = { ...s.rollout, freezeWindows: [{ reason: "x", dates: ["2025-02-29", "2024-02-29"], timeZone: "Mars/Olympus" }] })), [
                'shiftwise:rollout.freezeWindows[0].dates[0] = "2025-02-29": must be a date that exists in the calendar; for example 2025-12-24',
                'shiftwise:rollout.freezeWindows[0].timeZone = "Mars/Olympus": must be an IANA time zone such as Europe/Berlin or UTC (see the tz database)',
            ]);
            const windows = [
                { reason: "days", days: ["sat", "sun"] },
                { reason: "dates", dates: ["2024-02-29"], timeZone: "Europe/Berlin" },
                { reason: "evenings", start: "18:00", end: "08:00" },
            ];
            assert.strictEqual(parsed((s) => (s.rollout = { ...s.rollout, freezeWindows: windows })).rollout.freezeWindows.length, 3);
        });
    });

    describe("images: pinned, never :latest", () => {
        it("a tag that only starts with latest is a tag; a registry port is not a tag", () => {
            assert.strictEqual(parsed((s) => (s.blue.image = `${IMAGE}:latest-2`)).blue.image, `${IMAGE}:latest-2`);
            assert.strictEqual(parsed((s) => (s.blue.image = "registry.example.com:5000/shop:v1")).blue.image, "registry.example.com:5000/shop:v1");
            assert.deepStrictEqual(problemsOf((s) => (s.blue.image = "registry.example.com:5000/shop")), [
                'shiftwise:blue.image = "registry.example.com:5000/shop": must pin a tag or digest; an untagged image means :latest, which a rollback cannot restore',
            ]);
        });
    });

    describe("Fargate CPU and memory (ECS developer guide, task CPU and memory)", () => {
        it("reads a CPU size written as a string, and lists the memory sizes of the CPU", () => {
            assert.deepStrictEqual([parsed((s) => (s.blue = { ...s.blue, cpu: "512", memory: "1024" })).blue.cpu], [512]);
            assert.deepStrictEqual(problemsOf((s) => (s.blue = { ...s.blue, cpu: 256, memory: 4096 })), ["shiftwise:blue.memory = 4096: is not valid with cpu 256 on Fargate; use one of 512, 1024, 2048"]);
            assert.deepStrictEqual(problemsOf((s) => (s.blue = { ...s.blue, cpu: 512, memory: 512 })), ["shiftwise:blue.memory = 512: is not valid with cpu 512 on Fargate; use one of 1024, 2048, 3072, 4096"]);
            assert.deepStrictEqual(problemsOf((s) => (s.blue = { ...s.blue, cpu: 1024, memory: 1024 })), ["shiftwise:blue.memory = 1024: is not valid with cpu 1024 on Fargate; use one of 2048, 3072, ..., 8192"]);
            assert.deepStrictEqual(problemsOf((s) => (s.blue = { ...s.blue, cpu: "300" })), ["shiftwise:blue.cpu = 300: must be a Fargate CPU size: 256, 512, 1024, 2048, 4096, 8192, 16384"]);
            // Only an all-digit string is a number: the value shown is what the user wrote.
            for (const cpu of ["x512", "512x", "big"]) {
                assert.deepStrictEqual(problemsOf((s) => (s.blue = { ...s.blue, cpu })), [`shiftwise:blue.cpu = "${cpu}": must be a Fargate CPU size: 256, 512, 1024, 2048, 4096, 8192, 16384`], cpu);
            }
        });
    });

    describe("network", () => {
        const adopt = { vpcId: "vpc-0123456789abcdef0", publicSubnetIds: ["subnet-0000000a", "subnet-0000000b"], privateSubnetIds: ["subnet-0000000c", "subnet-0000000d"] };
        it("either an existing VPC or create, complete, with private subnets apart from public ones", () => {
            assert.deepStrictEqual(problemsOf((s) => (s.network = { ...adopt, create: s.network.create })), [
                "shiftwise:network: sets both an existing VPC (vpcId vpc-0123456789abcdef0) and create (cidr 10.20.0.0/16); keep either { vpcId, publicSubnetIds, privateSubnetIds } or { create }",
            ]);
            assert.deepStrictEqual(problemsOf((s) => (s.network = { publicSubnetIds: adopt.publicSubnetIds, create: s.network.create })), [
                "shiftwise:network: sets both an existing VPC (vpcId unset) and create (cidr 10.20.0.0/16); keep either { vpcId, publicSubnetIds, privateSubnetIds } or { create }",
            ]);
            assert.deepStrictEqual(problemsOf((s) => (s.network = {})), ["shiftwise:network: names no VPC; set { vpcId, publicSubnetIds, privateSubnetIds } or { create: { cidr, azCount } }"]);
            assert.deepStrictEqual(problemsOf((s) => (s.network = { privateSubnetIds: adopt.privateSubnetIds })), [
                "shiftwise:network.vpcId is missing: is required when adopting an existing VPC; add it or use { create }",
                "shiftwise:network.publicSubnetIds is missing: is required when adopting an existing VPC; add it or use { create }",
            ]);
            assert.deepStrictEqual(problemsOf((s) => (s.network = { vpcId: adopt.vpcId, publicSubnetIds: adopt.publicSubnetIds })), [
                "shiftwise:network.privateSubnetIds is missing: is required when adopting an existing VPC; add it or use { create }",
            ]);
            assert.deepStrictEqual(problemsOf((s) => (s.network = { ...adopt, privateSubnetIds: ["subnet-0000000c", "subnet-0000000b"] })), [
                'shiftwise:network.privateSubnetIds = ["subnet-0000000c","subnet-0000000b"]: repeats public subnet subnet-0000000b; targets and the database belong in private subnets only',
            ]);
            assert.deepStrictEqual(problemsOf((s) => (s.network = { ...adopt, privateSubnetIds: ["subnet-0000000b", "subnet-0000000a"] })), [
                'shiftwise:network.privateSubnetIds = ["subnet-0000000b","subnet-0000000a"]: repeats public subnet subnet-0000000a, subnet-0000000b; targets and the database belong in private subnets only',
            ]);
            assert.deepStrictEqual(problemsOf((s) => (s.network = adopt)), []);
        });
        it("a created VPC's CIDR: a /16 to /24 block without host bits (CreateVpc accepts /16 to /28; subnets need room)", () => {
            for (const cidr of ["10.0.0.0/16", "10.0.0.0/24"]) assert.deepStrictEqual(problemsOf((s) => (s.network.create.cidr = cidr)), [], cidr);
            const rule = "must be an IPv4 CIDR block with a prefix from /16 to /24 and no host bits set; e.g. 10.0.0.0/16";
            for (const cidr of ["10.0.0.0/15", "10.0.0.0/25", "999.0.0.0/16", "10.0.1.0/16", "10.0.0.1/24"]) {
                assert.deepStrictEqual(problemsOf((s) => (s.network.create.cidr = cidr)), [`shiftwise:network.create.cidr = "${cidr}": ${rule}`], cidr);
            }
        });
    });

    describe("maintenance", () => {
        it("needs a reason when enabled, and a page that fits an ALB fixed response", () => {
            assert.deepStrictEqual(problemsOf((s) => (s.maintenance = { enabled: true })), [
                'shiftwise:maintenance.reason is missing: is required when maintenance is enabled; the page and the record say why, e.g. "database upgrade"',
            ]);
            assert.deepStrictEqual(problemsOf((s) => (s.maintenance = { enabled: "false" })), []);
            assert.strictEqual(parsed((s) => (s.maintenance = { enabled: "true", reason: "database upgrade" })).maintenance.enabled, true);
            // ELB API Reference, FixedResponseActionConfig.MessageBody: at most 1024 characters; a page of exactly 1024 fits.
            const fits = "x".repeat(MAX_FIXED_RESPONSE_BODY - maintenancePage("").length);
            assert.strictEqual(maintenancePage(fits).length, 1024);
            assert.deepStrictEqual(problemsOf((s) => (s.maintenance = { enabled: true, reason: fits })), []);
            const long = "x".repeat(1024);
            assert.deepStrictEqual(problemsOf((s) => (s.maintenance = { enabled: true, reason: long })), [
                `shiftwise:maintenance.reason = "${long.slice(0, 76)}...: makes the maintenance page longer than the 1024 characters an ALB fixed response carries; shorten it`,
            ]);
        });
    });

    describe("the migration command (ECS RunTask: 8192 characters of overrides)", () => {
        it("a command of 8000 JSON characters fits, one more does not", () => {
            const command = (jsonLength: number) => ["x".repeat(jsonLength - 4)];
            assert.strictEqual(JSON.stringify(command(8000)).length, 8000);
            assert.deepStrictEqual(problemsOf((s) => (s.database = { ...s.database, migration: { command: command(8000) } })), []);
            const problems = problemsOf((s) => (s.database = { ...s.database, migration: { command: command(8001) } }));
            assert.strictEqual(problems.length, 1);
            assert.deepStrictEqual(problems, [
                `shiftwise:database.migration.command = ${JSON.stringify(command(8001)).slice(0, 77)}...: must be at most 8000 characters as JSON; ECS RunTask accepts 8192 characters of overrides in total, so move long input into the image or a file`,
            ]);
        });
    });

    describe("numbers and booleans written as strings by `pulumi config set --path`", () => {
        it("reads a log retention written as digits, and nothing else", () => {
            assert.strictEqual(parsed((s) => (s.service.logRetentionDays = "14")).service.logRetentionDays, 14);
            for (const days of ["x14", "14x", "14.0"]) {
                assert.deepStrictEqual(problemsOf((s) => (s.service.logRetentionDays = days)), [
                    `shiftwise:service.logRetentionDays = "${days}": must be a CloudWatch Logs retention: 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653`,
                ], days);
            }
        });
        it("reads true and false, and only those", () => {
            assert.deepStrictEqual([parsed((s) => (s.protect = "true"), "production").protect, parsed((s) => (s.protect = "false")).protect], [true, false]);
            assert.deepStrictEqual(problemsOf((s) => (s.protect = "yes")), ['shiftwise:protect = "yes": must be true or false; true turns on deletion protection, retain and multi-AZ for production']);
        });
    });

    describe("names derived from the service name", () => {
        it("a reserved prefix is refused with the derived name and the fix", () => {
            assert.deepStrictEqual(problemsOf((s) => (s.service.name = "internal")), [
                'shiftwise:service.name = "internal": the load balancer name "internal-0000000" starts with "internal-", which AWS reserves; pick another service name',
            ]);
        });
    });
});

describe("derived names beyond the service-name limit", () => {
    it("every name built from a very long service name is checked against its own limit, once per kind", () => {
        // 86 characters: the blue target group is 99 characters and the green one 100; both are the same kind of problem.
        const service = "a".repeat(86);
        assert.deepStrictEqual(derivedNameProblems(serviceDerivedNames(service)), [
            `the load balancer name "${service}-0000000" is 94 characters, over the limit of 32`,
            `the target group name "${service}-blue-0000000" is 99 characters, over the limit of 32`,
            `the IAM role name "${service}-execution-0000000" is 104 characters, over the limit of 64`,
            `the Kubernetes Job name "${service}-migration-0000000000" is 107 characters, over the limit of 63`,
        ]);
        const longer = "a".repeat(250);
        assert.deepStrictEqual(derivedNameProblems(serviceDerivedNames(longer)), [
            `the load balancer name "${longer}-0000000" is 258 characters, over the limit of 32`,
            `the target group name "${longer}-blue-0000000" is 263 characters, over the limit of 32`,
            `the RDS parameter group name "${longer}-db-0000000" is 261 characters, over the limit of 255`,
            `the security group name "${longer}-alb-0000000" is 262 characters, over the limit of 255`,
            `the IAM role name "${longer}-execution-0000000" is 268 characters, over the limit of 64`,
            `the ECS task definition family "${longer}-green" is 256 characters, over the limit of 255`,
            `the Kubernetes Job name "${longer}-migration-0000000000" is 271 characters, over the limit of 63`,
        ]);
        // 37 characters: only the longest role name, the migration's execution role, is over IAM's 64.
        const roles = "a".repeat(37);
        assert.deepStrictEqual(
            derivedNameProblems(serviceDerivedNames(roles)).filter((problem) => problem.includes("IAM")),
            [`the IAM role name "${roles}-migration-execution-0000000" is 65 characters, over the limit of 64`],
        );
    });

    it("log group names carry the stack and the service; backup names only with a database", () => {
        const stack = "s".repeat(490);
        // The green log group is exactly 512 characters, AWS's limit; the migration's is over it.
        assert.deepStrictEqual(derivedNameProblems(stackDerivedNames("shop", stack, false)), [
            `the SNS topic name "shop-${stack}-deployments" is 507 characters, over the limit of 256`,
            `the DynamoDB table name "shop-${stack}-releases" is 504 characters, over the limit of 255`,
            `the Lambda function name "shop-${stack}-guard" is 501 characters, over the limit of 64`,
            `the EventBridge rule name "shop-${stack}-guard" is 501 characters, over the limit of 64`,
            `the CloudWatch log group name "/shiftwise/${stack}/shop/migration" is 516 characters, over the limit of 512`,
            `the CloudWatch alarm name "shop-${stack}-blue-error-rate-vs-baseline" is 523 characters, over the limit of 255`,
        ]);
    });
});

describe("stack-context rules", () => {
    const config = () => parseStackConfig(shiftwiseSections(stackConfig("staging")));
    it("no region, no certificate check; an invalid region is named once", () => {
        assert.deepStrictEqual(stackContextProblems(config(), {}), []);
        assert.deepStrictEqual(stackContextProblems(config(), { region: "Ireland" }), ["aws:region = \"Ireland\": must be an AWS region name such as eu-west-1; run `pulumi config set aws:region <region>`"]);
    });
    it("a stack name with a dot breaks the topic and guard function names always, and the backup vault only with a database", () => {
        const withoutDatabase = { ...config(), database: undefined };
        assert.deepStrictEqual(stackContextProblems(withoutDatabase, { stack: "prod.eu", region: "eu-west-1" }), [
            'shiftwise:service.name = "shop" in stack "prod.eu": the SNS topic name "shop-prod.eu-deployments" breaks the rule: at most 256 letters, digits, hyphens and underscores; shorten the service name or rename the stack',
            'shiftwise:service.name = "shop" in stack "prod.eu": the Lambda function name "shop-prod.eu-guard" breaks the rule: at most 64 letters, digits, hyphens and underscores; shorten the service name or rename the stack',
        ]);
        assert.strictEqual(stackContextProblems(config(), { stack: "prod.eu", region: "eu-west-1" }).length, 3);
        assert.deepStrictEqual(stackContextProblems({ ...config(), service: undefined } as never, { region: "eu-west-1" }), []);
    });
});

describe("AWS Backup cron expressions at their edges", () => {
    const cases: [string, string | undefined][] = [
        ["cron( 0 3 * * ? * )", undefined],
        ["cron(0  3 * * ? *)", undefined],
        ["xcron(0 3 * * ? *)", "must be cron(minutes hours day-of-month month day-of-week year)"],
        ["cron(0 3 * * ? *) ", "must be cron(minutes hours day-of-month month day-of-week year)"],
    ];
    for (const [schedule, problem] of cases) {
        it(`${JSON.stringify(schedule)}: ${problem ?? "accepted"}`, () => assert.strictEqual(backupScheduleProblem(schedule), problem));
    }
});
