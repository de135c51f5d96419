// Table tests of the config validator's exact messages.
import * as assert from "assert";
import { ConfigError, parseStackConfig, shiftwiseSections } from "../config";
import { ConfigMap, evaluate, evaluateFailure, stackConfig, withSection } from "./harness";

/** The staging stack's shiftwise sections, decoded. */
function baseSections(): Record<string, unknown> {
    return shiftwiseSections(stackConfig("staging"));
}

type Sections = Record<string, any>;

/** Each case edits a copy of the staging config and lists every message it must produce, exactly. */
const INVALID: { name: string; edit: (c: Sections) => void; problems: string[]; stack?: string; region?: string }[] = [
    {
        name: "weights that do not sum to 100",
        edit: (c) => (c.traffic = { blue: 70, green: 20 }),
        problems: ["shiftwise:traffic: blue (70) + green (20) = 90; weights must sum to 100"],
    },
    {
        name: "a weight above 100",
        edit: (c) => (c.traffic = { blue: -50, green: 150 }),
        problems: [
            "shiftwise:traffic.blue = -50: must be an integer from 0 to 100; weights are whole percents",
            "shiftwise:traffic.green = 150: must be an integer from 0 to 100; weights are whole percents",
        ],
    },
    {
        name: "a fractional weight",
        edit: (c) => (c.traffic = { blue: 89.5, green: 10.5 }),
        problems: [
            "shiftwise:traffic.blue = 89.5: must be an integer from 0 to 100; weights are whole percents",
            "shiftwise:traffic.green = 10.5: must be an integer from 0 to 100; weights are whole percents",
        ],
    },
    {
        name: "a third colour in traffic",
        edit: (c) => (c.traffic = { blue: 90, green: 10, red: 0 }),
        problems: ["shiftwise:traffic.red: is not a known key; remove it or fix its spelling (known keys: blue, green)"],
    },
    {
        name: "traffic missing a colour",
        edit: (c) => (c.traffic = { blue: 100 }),
        problems: ["shiftwise:traffic.green is missing: must be an integer from 0 to 100; weights are whole percents"],
    },
    {
        name: "weight on a colour with no tasks",
        edit: (c) => (c.green.desiredCount = 0),
        problems: [
            "shiftwise:green.desiredCount = 0: a colour that carries traffic (shiftwise:traffic.green = 10) needs at least 1 task; raise desiredCount or set its weight to 0",
        ],
    },
    {
        name: "protect with a single task on a serving colour",
        edit: (c) => {
            c.protect = true;
            delete c.database;
        },
        problems: [
            "shiftwise:blue.desiredCount = 1: a protected stack needs at least 2 tasks in a colour that carries traffic (shiftwise:traffic.blue = 90); raise desiredCount to 2 or more",
            "shiftwise:green.desiredCount = 1: a protected stack needs at least 2 tasks in a colour that carries traffic (shiftwise:traffic.green = 10); raise desiredCount to 2 or more",
        ],
    },
    {
        name: "an empty version",
        edit: (c) => (c.blue.version = ""),
        problems: ['shiftwise:blue.version = "": must be a non-empty version label without spaces; e.g. v1.5.0'],
    },
    {
        name: "an image that is not a reference",
        edit: (c) => (c.green.image = "Not An Image!"),
        problems: ['shiftwise:green.image = "Not An Image!": is not a valid container image reference; use registry/repository:tag or @sha256:digest'],
    },
    {
        name: "an untagged image",
        edit: (c) => (c.green.image = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/shop"),
        problems: [
            'shiftwise:green.image = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/shop": must pin a tag or digest; an untagged image means :latest, which a rollback cannot restore',
        ],
    },
    {
        name: "a :latest image",
        edit: (c) => (c.blue.image = "ghcr.io/acme/shop:latest"),
        problems: ['shiftwise:blue.image = "ghcr.io/acme/shop:latest": must not use :latest; a rollback cannot restore a moving tag, so pin a version tag or digest'],
    },
    {
        name: "a negative task count",
        edit: (c) => (c.blue.desiredCount = -1),
        problems: ["shiftwise:blue.desiredCount = -1: must be an integer from 0 to 1000; set how many tasks this colour runs"],
    },
    {
        name: "an invalid Fargate size",
        edit: (c) => Object.assign(c.green, { cpu: 1024, memory: 512 }),
        problems: ["shiftwise:green.memory = 512: is not valid with cpu 1024 on Fargate; use one of 2048, 3072, ..., 8192"],
    },
    {
        name: "an unknown CPU architecture",
        edit: (c) => (c.blue.cpuArchitecture = "arm"),
        problems: ['shiftwise:blue.cpuArchitecture = "arm": must be "X86_64" or "ARM64"; match the architecture the image was built for'],
    },
    {
        name: "an unknown Fargate CPU",
        edit: (c) => (c.green.cpu = 300),
        problems: ["shiftwise:green.cpu = 300: must be a Fargate CPU size: 256, 512, 1024, 2048, 4096, 8192, 16384"],
    },
    {
        name: "an uppercase service name",
        edit: (c) => (c.service.name = "Shop"),
        problems: [
            'shiftwise:service.name = "Shop": must be lowercase letters, digits and hyphens, start with a letter and not end with a hyphen; AWS resource names are built from it',
        ],
    },
    {
        name: "a service name too long for AWS",
        edit: (c) => (c.service.name = "a-very-long-service-name"),
        problems: [
            `shiftwise:service.name = "a-very-long-service-name": must be 2 to 18 characters; the longest name built from it, the target group name <service>-green-<7 random characters>, must fit AWS's 32`,
        ],
    },
    {
        name: "a port out of range",
        edit: (c) => (c.service.port = 70000),
        problems: ["shiftwise:service.port = 70000: must be an integer from 1 to 65535; set the port the container listens on, e.g. 8080"],
    },
    {
        name: "a health check path without a slash",
        edit: (c) => (c.service.healthCheckPath = "healthz"),
        problems: ['shiftwise:service.healthCheckPath = "healthz": must be a URL path starting with /; for example /healthz'],
    },
    {
        name: "the kubernetes platform without its cluster",
        edit: (c) => (c.service.platform = "kubernetes"),
        problems: [
            'shiftwise:kubernetes is missing: shiftwise:service.platform is "kubernetes", so shiftwise needs the cluster; set { clusterName, namespace, securityGroupId } (see README, Kubernetes colours) or set platform to "ecs"',
        ],
    },
    {
        name: "a test port that clashes with the app port",
        edit: (c) => (c.service.testPort = 8080),
        problems: ["shiftwise:service.testPort = 8080: must differ from 80, 443 and the service port (8080); pick another port such as 8443"],
    },
    {
        name: "a typo inside a section",
        edit: (c) => (c.service.healtCheckPath = "/healthz"),
        problems: [
            "shiftwise:service.healtCheckPath: is not a known key; remove it or fix its spelling (known keys: name, platform, port, healthCheckPath, healthCheck, deregistrationDelaySeconds, healthCheckGraceSeconds, stickySeconds, logRetentionDays, testPort, testCidrs, ingressCidrs, accessLogs, webAclArn, environment, secrets, secretsKmsKeyArns)",
        ],
    },
    {
        name: "an unknown top-level key",
        edit: (c) => (c.trafic = { blue: 100, green: 0 }),
        problems: [
            "shiftwise:trafic: is not a shiftwise config key; remove it or fix its spelling (known keys: service, network, tls, blue, green, traffic, rollout, alarms, database, maintenance, kubernetes, protect, releaseColour)",
        ],
    },
    {
        name: "both an existing VPC and create",
        edit: (c) => (c.network = { ...c.network, vpcId: "vpc-0a1b2c3d4e5f60718" }),
        problems: [
            "shiftwise:network: sets both an existing VPC (vpcId vpc-0a1b2c3d4e5f60718) and create (cidr 10.20.0.0/16); keep either { vpcId, publicSubnetIds, privateSubnetIds } or { create }",
        ],
    },
    {
        name: "no network at all",
        edit: (c) => (c.network = {}),
        problems: ["shiftwise:network: names no VPC; set { vpcId, publicSubnetIds, privateSubnetIds } or { create: { cidr, azCount } }"],
    },
    {
        name: "an existing VPC with one public subnet and a repeated private one",
        edit: (c) =>
            (c.network = {
                vpcId: "vpc-0a1b2c3d4e5f60718",
                publicSubnetIds: ["subnet-0a1b2c3d4e5f60001"],
                privateSubnetIds: ["subnet-0a1b2c3d4e5f60101", "subnet-0a1b2c3d4e5f60101"],
            }),
        problems: [
            'shiftwise:network.publicSubnetIds = ["subnet-0a1b2c3d4e5f60001"]: must list at least 2 distinct subnet ids; list public subnets in at least two AZs',
            'shiftwise:network.privateSubnetIds = ["subnet-0a1b2c3d4e5f60101","subnet-0a1b2c3d4e5f60101"]: must not repeat distinct subnet ids; remove the duplicates',
        ],
    },
    {
        name: "an existing VPC without private subnets",
        edit: (c) => (c.network = { vpcId: "vpc-0a1b2c3d4e5f60718", publicSubnetIds: ["subnet-0a1b2c3d4e5f60001", "subnet-0a1b2c3d4e5f60002"] }),
        problems: ["shiftwise:network.privateSubnetIds is missing: is required when adopting an existing VPC; add it or use { create }"],
    },
    {
        name: "a malformed VPC id",
        edit: (c) =>
            (c.network = {
                vpcId: "vpc-xyz",
                publicSubnetIds: ["subnet-0a1b2c3d4e5f60001", "subnet-0a1b2c3d4e5f60002"],
                privateSubnetIds: ["subnet-0a1b2c3d4e5f60101", "subnet-0a1b2c3d4e5f60102"],
            }),
        problems: ['shiftwise:network.vpcId = "vpc-xyz": must be a VPC id like vpc-0123456789abcdef0; copy it from the VPC console'],
    },
    {
        name: "a CIDR with host bits set",
        edit: (c) => (c.network.create.cidr = "10.20.1.0/16"),
        problems: ['shiftwise:network.create.cidr = "10.20.1.0/16": must be an IPv4 CIDR block with a prefix from /16 to /24 and no host bits set; e.g. 10.0.0.0/16'],
    },
    {
        name: "too many availability zones",
        edit: (c) => (c.network.create.azCount = 7),
        problems: ["shiftwise:network.create.azCount = 7: must be an integer from 2 to 6; spread the VPC over 2 to 6 availability zones"],
    },
    {
        name: "a certificate that is not an ACM ARN",
        edit: (c) => (c.tls.certificateArn = "arn:aws:iam::123456789012:server-certificate/shop"),
        problems: [
            'shiftwise:tls.certificateArn = "arn:aws:iam::123456789012:server-certificate/shop": must be an ACM certificate ARN; e.g. arn:aws:acm:eu-west-1:123456789012:certificate/<uuid>',
        ],
    },
    {
        name: "a TLS policy without TLS 1.3",
        edit: (c) => (c.tls.sslPolicy = "ELBSecurityPolicy-2016-08"),
        problems: [
            `shiftwise:tls.sslPolicy = "ELBSecurityPolicy-2016-08": must be one of the ALB's TLS 1.3 security policies (26 names, e.g. ELBSecurityPolicy-TLS13-1-3-2021-06; see the README); use ELBSecurityPolicy-TLS13-1-2-2021-06`,
        ],
    },
    {
        name: "steps that go down and do not end at 100",
        edit: (c) => (c.rollout.steps = [25, 5, 50]),
        problems: [
            "shiftwise:rollout.steps = [25,5,50]: must be strictly increasing; sort them and drop duplicates",
            "shiftwise:rollout.steps = [25,5,50]: must end at 100 so the release finishes; append 100",
        ],
    },
    {
        name: "a step of 0",
        edit: (c) => (c.rollout.steps = [0, 100]),
        problems: ["shiftwise:rollout.steps[0] = 0: must be an integer from 1 to 100; steps are candidate weights in percent"],
    },
    {
        name: "a zero bake time",
        edit: (c) => (c.rollout.bakeMinutes = 0),
        problems: ["shiftwise:rollout.bakeMinutes = 0: must be an integer from 1 to 1440; bake each step for at least a minute"],
    },
    {
        name: "a freeze window without a reason or times",
        edit: (c) => (c.rollout.freezeWindows = [{ days: ["fri", "funday"] }]),
        problems: [
            "shiftwise:rollout.freezeWindows[0].reason is missing: must say why deployments are frozen",
            'shiftwise:rollout.freezeWindows[0].days[1] = "funday": must be one of mon, tue, wed, thu, fri, sat, sun',
        ],
    },
    {
        // AWS's own rules (config/awsRules.ts cites the source of each).
        name: "a service name one character past the derived maximum",
        edit: (c) => (c.service.name = "abcdefghijklmnopqrs"),
        problems: [
            `shiftwise:service.name = "abcdefghijklmnopqrs": must be 2 to 18 characters; the longest name built from it, the target group name <service>-green-<7 random characters>, must fit AWS's 32`,
        ],
    },
    {
        name: "a service name that makes a load balancer name start with internal-",
        edit: (c) => (c.service.name = "internal"),
        problems: ['shiftwise:service.name = "internal": the load balancer name "internal-0000000" starts with "internal-", which AWS reserves; pick another service name'],
    },
    {
        name: "a service name that makes security group names start with sg-",
        edit: (c) => (c.service.name = "sg"),
        problems: ['shiftwise:service.name = "sg": the security group name "sg-alb-0000000" starts with "sg-", which AWS reserves; pick another service name'],
    },
    {
        // Found by the property test: RDS parameter group names refuse two hyphens in a row.
        name: "a service name with two hyphens in a row",
        edit: (c) => (c.service.name = "a--b"),
        problems: [
            'shiftwise:service.name = "a--b": the RDS parameter group name "a--b-db-0000000" breaks the rule: at most 255 lowercase letters, digits and single hyphens, a letter first and no hyphen last; pick another service name',
        ],
    },
    {
        name: "a version with a character AWS tags refuse",
        edit: (c) => (c.blue.version = "v1.5.0#hotfix"),
        problems: ['shiftwise:blue.version = "v1.5.0#hotfix": must use only letters, digits and + - = . _ : / @, because it becomes an AWS tag value; e.g. v1.5.0'],
    },
    {
        name: "a TLS 1.3 policy name that does not exist",
        edit: (c) => (c.tls.sslPolicy = "ELBSecurityPolicy-TLS13-1-2-2099-01"),
        problems: [
            `shiftwise:tls.sslPolicy = "ELBSecurityPolicy-TLS13-1-2-2099-01": must be one of the ALB's TLS 1.3 security policies (26 names, e.g. ELBSecurityPolicy-TLS13-1-3-2021-06; see the README); use ELBSecurityPolicy-TLS13-1-2-2021-06`,
        ],
    },
    {
        name: "a health check code above 499",
        edit: (c) => (c.service.healthCheck = { matcher: "200-600" }),
        problems: ['shiftwise:service.healthCheck.matcher = "200-600": code 200-600 is outside 200-499, the codes an ALB health check accepts; e.g. 200-299'],
    },
    {
        name: "a health check range that runs backwards",
        edit: (c) => (c.service.healthCheck = { matcher: "299-200,302" }),
        problems: ['shiftwise:service.healthCheck.matcher = "299-200,302": range 299-200 runs backwards; write it low-high; e.g. 200-299'],
    },
    {
        name: "a health check path over 1024 characters",
        edit: (c) => (c.service.healthCheckPath = `/${"a".repeat(1024)}`),
        problems: [
            `shiftwise:service.healthCheckPath = "/${"a".repeat(75)}...: must be at most 1024 characters, the ALB health check path limit; use a shorter path`,
        ],
    },
    {
        name: "more ALB inbound rules than a security group holds",
        edit: (c) => (c.service.ingressCidrs = Array.from({ length: 30 }, (_, i) => `10.${i}.0.0/16`)),
        problems: [
            'shiftwise:service.ingressCidrs = ["10.0.0.0/16","10.1.0.0/16","10.2.0.0/16","10.3.0.0/16","10.4.0.0/16","10.5....: with testCidrs gives the load balancer\'s security group 61 inbound rules (2 per ingress CIDR, 1 per test CIDR); a security group holds 60 by default, so merge CIDRs into larger blocks',
        ],
    },
    {
        name: "a storage ceiling less than 10% above the allocated storage",
        edit: (c) => (c.database.maxAllocatedStorageGb = 21),
        problems: [
            "shiftwise:database.maxAllocatedStorageGb = 21: must be at least 10% above allocatedStorageGb (20), as RDS storage autoscaling requires; raise it to 22 or more",
        ],
    },
    {
        name: "a backup schedule more often than hourly",
        edit: (c) => (c.database.backupPlan.schedule = "cron(*/15 * * * ? *)"),
        problems: [
            'shiftwise:database.backupPlan.schedule = "cron(*/15 * * * ? *)": minutes field "*/15" must be one number from 0 to 59; AWS Backup runs a rule at most once an hour; e.g. cron(0 3 * * ? *) for 03:00 UTC daily',
        ],
    },
    {
        name: "a five-field (Unix) backup schedule",
        edit: (c) => (c.database.backupPlan.schedule = "cron(0 3 * * *)"),
        problems: [
            'shiftwise:database.backupPlan.schedule = "cron(0 3 * * *)": has 5 fields; AWS Backup cron takes 6: minutes hours day-of-month month day-of-week year; e.g. cron(0 3 * * ? *) for 03:00 UTC daily',
        ],
    },
    {
        name: "a backup schedule with both day fields set",
        edit: (c) => (c.database.backupPlan.schedule = "cron(0 3 * * MON *)"),
        problems: [
            'shiftwise:database.backupPlan.schedule = "cron(0 3 * * MON *)": exactly one of day-of-month and day-of-week must be ?; e.g. cron(0 3 * * ? *) for 03:00 UTC daily',
        ],
    },
    {
        name: "a backup schedule at hour 25",
        edit: (c) => (c.database.backupPlan.schedule = "cron(0 25 * * ? *)"),
        problems: ['shiftwise:database.backupPlan.schedule = "cron(0 25 * * ? *)": hours field "25" is not valid cron syntax; e.g. cron(0 3 * * ? *) for 03:00 UTC daily'],
    },
    {
        name: "a rate() backup schedule",
        edit: (c) => (c.database.backupPlan.schedule = "rate(1 day)"),
        problems: [
            'shiftwise:database.backupPlan.schedule = "rate(1 day)": must be cron(minutes hours day-of-month month day-of-week year); e.g. cron(0 3 * * ? *) for 03:00 UTC daily',
        ],
    },
    {
        name: "a certificate from another region",
        edit: (c) => (c.tls.certificateArn = "arn:aws:acm:us-east-1:123456789012:certificate/0b5e2f7a-3c1d-4e8f-9a6b-2d4c6e8f0a1b"),
        problems: [
            'shiftwise:tls.certificateArn = "arn:aws:acm:us-east-1:123456789012:certificate/0b5e2f7a-3c1d-4e8f-9a6b-2d4c6...: the certificate is in us-east-1, but the stack deploys to eu-west-1; an ALB can use only an ACM certificate of its own region, so request or import one in eu-west-1',
        ],
    },
    {
        name: "a region that is not a region name",
        edit: () => undefined,
        region: "eu-west",
        problems: ['aws:region = "eu-west": must be an AWS region name such as eu-west-1; run `pulumi config set aws:region <region>`'],
    },
    {
        name: "a stack name with a dot, which SNS, Lambda and AWS Backup names refuse",
        edit: () => undefined,
        stack: "prod.eu",
        problems: [
            'shiftwise:service.name = "shop" in stack "prod.eu": the SNS topic name "shop-prod.eu-deployments" breaks the rule: at most 256 letters, digits, hyphens and underscores; shorten the service name or rename the stack',
            'shiftwise:service.name = "shop" in stack "prod.eu": the Lambda function name "shop-prod.eu-guard" breaks the rule: at most 64 letters, digits, hyphens and underscores; shorten the service name or rename the stack',
            'shiftwise:service.name = "shop" in stack "prod.eu": the AWS Backup vault name "shop-prod.eu" breaks the rule: 2 to 50 letters, digits, hyphens and underscores; shorten the service name or rename the stack',
        ],
    },
    {
        name: "a stack name too long for the AWS Backup selection name",
        edit: () => undefined,
        stack: "production-eu-west-1-customer-facing-2",
        problems: [
            'shiftwise:service.name = "shop" in stack "production-eu-west-1-customer-facing-2": the AWS Backup selection name "shop-production-eu-west-1-customer-facing-2-database" is 52 characters, over the limit of 50; shorten the service name or rename the stack',
        ],
    },
    {
        name: "protect that is not a boolean",
        edit: (c) => (c.protect = "yes"),
        problems: ['shiftwise:protect = "yes": must be true or false; true turns on deletion protection, retain and multi-AZ for production'],
    },
];

describe("config validation", () => {
    it("accepts both committed stack files", () => {
        for (const stack of ["staging", "production"]) {
            assert.doesNotThrow(() => parseStackConfig(shiftwiseSections(stackConfig(stack))), stack);
        }
    });

    it("fills every default in the schema", () => {
        const config = parseStackConfig(baseSections());
        assert.deepStrictEqual(config.service.healthCheck, { intervalSeconds: 15, timeoutSeconds: 5, healthyThreshold: 3, unhealthyThreshold: 3, matcher: "200-299" });
        assert.strictEqual(config.tls.sslPolicy, "ELBSecurityPolicy-TLS13-1-2-2021-06");
        assert.strictEqual(config.service.testPort, 8443);
        assert.deepStrictEqual(config.service.ingressCidrs, ["0.0.0.0/0"]);
        assert.strictEqual(config.blue.cpu, 256);
        assert.strictEqual(config.blue.memory, 512);
        assert.strictEqual(config.blue.cpuArchitecture, "X86_64");
        assert.strictEqual(config.rollout.pollSeconds, 30);
        assert.strictEqual(config.protect, false);
    });

    it("accepts numbers written as strings by `pulumi config set --path`", () => {
        const sections = baseSections();
        sections.traffic = { blue: "75", green: "25" };
        assert.deepStrictEqual(parseStackConfig(sections).traffic, { blue: 75, green: 25 });
    });

    it(`has at least 25 invalid cases (has ${INVALID.length})`, () => {
        assert.ok(INVALID.length >= 25);
    });

    for (const testCase of INVALID) {
        it(`rejects ${testCase.name} with exact messages`, () => {
            const sections = baseSections() as Sections;
            testCase.edit(sections);
            assert.throws(
                () => parseStackConfig(sections, { stack: testCase.stack ?? "staging", region: testCase.region ?? "eu-west-1" }),
                (error: unknown) => {
                    assert.ok(error instanceof ConfigError, String(error));
                    assert.deepStrictEqual(error.problems, testCase.problems);
                    return true;
                },
            );
        });
    }

    it("reports every problem at once, not just the first", () => {
        const sections = baseSections() as Sections;
        for (const testCase of INVALID.slice(0, 3)) testCase.edit(sections);
        sections.blue.image = "ghcr.io/acme/shop:latest";
        sections.rollout.bakeMinutes = 0;
        assert.throws(
            () => parseStackConfig(sections),
            (error: unknown) => {
                assert.ok(error instanceof ConfigError);
                assert.deepStrictEqual(error.problems, [
                    'shiftwise:blue.image = "ghcr.io/acme/shop:latest": must not use :latest; a rollback cannot restore a moving tag, so pin a version tag or digest',
                    "shiftwise:traffic.blue = 89.5: must be an integer from 0 to 100; weights are whole percents",
                    "shiftwise:traffic.green = 10.5: must be an integer from 0 to 100; weights are whole percents",
                    "shiftwise:rollout.bakeMinutes = 0: must be an integer from 1 to 1440; bake each step for at least a minute",
                ]);
                return true;
            },
        );
    });
});

describe("invalid config registers no resources", () => {
    function configFor(edit: (c: Sections) => void, region = "eu-west-1"): ConfigMap {
        const sections = baseSections() as Sections;
        edit(sections);
        let config = withSection(stackConfig("staging"), "aws:region", region);
        for (const key of Object.keys(config)) if (key.startsWith("shiftwise:")) config = withSection(config, key, undefined);
        for (const [section, value] of Object.entries(sections)) config = withSection(config, section, value);
        return config;
    }

    it("the unedited config registers resources (so the check below can fail)", async () => {
        const evaluation = await evaluate(configFor(() => undefined));
        assert.ok(evaluation.resources.filter((r) => r.custom).length > 20);
    });

    for (const testCase of INVALID) {
        it(`${testCase.name}: the program throws before registering anything`, async () => {
            const failure = await evaluateFailure(configFor(testCase.edit, testCase.region), testCase.stack ?? "staging");
            assert.ok(failure.cause instanceof ConfigError, String(failure.cause));
            assert.deepStrictEqual((failure.cause as ConfigError).problems, testCase.problems);
            assert.deepStrictEqual(failure.resources.map((r) => r.urn), []);
        });
    }

    it("a missing aws:region is reported with the other problems", async () => {
        const config = withSection(configFor((c) => (c.traffic = { blue: 70, green: 20 })), "aws:region", undefined);
        const failure = await evaluateFailure(config);
        assert.deepStrictEqual((failure.cause as ConfigError).problems, [
            "shiftwise:traffic: blue (70) + green (20) = 90; weights must sum to 100",
            "aws:region is missing: shiftwise names regions in alarms and restore commands; run `pulumi config set aws:region eu-west-1`",
        ]);
    });
});

describe("facts only the cloud knows fail the preview with the reason", () => {
    it("a VPC over more availability zones than the region has fails before any subnet is declared", async () => {
        const config = withSection(stackConfig("staging"), "network", { create: { cidr: "10.30.0.0/16", azCount: 4, natGateways: "one" } });
        const failure = await evaluateFailure(config);
        assert.match(
            failure.message,
            /Network shop-net: azCount is 4, but the region has only 3 available availability zones \(eu-west-1a, eu-west-1b, eu-west-1c\); lower azCount to 3 or less$/,
        );
        assert.deepStrictEqual(failure.resources.filter((r) => r.type === "aws:ec2/subnet:Subnet"), []);
    });

    it("the same VPC fits a region with more zones", async () => {
        const config = withSection(withSection(stackConfig("staging"), "network", { create: { cidr: "10.30.0.0/16", azCount: 4, natGateways: "one" } }), "aws:region", "us-east-1");
        const edited = withSection(config, "tls", { certificateArn: "arn:aws:acm:us-east-1:123456789012:certificate/0b5e2f7a-3c1d-4e8f-9a6b-2d4c6e8f0a1b" });
        const evaluation = await evaluate(edited);
        assert.deepStrictEqual(
            evaluation.resources.filter((r) => r.type === "aws:ec2/subnet:Subnet").map((r) => r.inputs.availabilityZone),
            ["us-east-1a", "us-east-1b", "us-east-1c", "us-east-1d", "us-east-1a", "us-east-1b", "us-east-1c", "us-east-1d"],
        );
    });
});
