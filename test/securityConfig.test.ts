// Table tests of the secure-by-default config keys' exact messages.
import * as assert from "assert";
import { ConfigError, parseStackConfig, shiftwiseSections } from "../config";
import { evaluateFailure, stackConfig, withFields } from "./harness";

type Sections = Record<string, any>;

const ARN_ID = "4f6c2a1e-8b3d-4e5f-9a7b-1c2d3e4f5a6b";
const S3_NAME_RULE = "must be an S3 bucket name: 3 to 63 lowercase letters, digits, dots and hyphens, starting and ending with a letter or digit";
const WEB_ACL_RULE =
    "must be the ARN of a regional WAFv2 web ACL (arn:aws:wafv2:<region>:<account>:regional/webacl/<name>/<id>); copy it from the WAF console; CloudFront (global) web ACLs cannot protect a load balancer";

const INVALID: { name: string; edit: (c: Sections) => void; problems: string[] }[] = [
    {
        name: "an access-log bucket name with capitals and underscores",
        edit: (c) => (c.service.accessLogs = { bucketName: "Shop_Logs" }),
        problems: [`shiftwise:service.accessLogs.bucketName = "Shop_Logs": ${S3_NAME_RULE}`],
    },
    {
        name: "an access-log bucket name with adjacent dots",
        edit: (c) => (c.service.accessLogs = { bucketName: "shop..logs" }),
        problems: ['shiftwise:service.accessLogs.bucketName = "shop..logs": must not contain two adjacent dots (S3 bucket naming rules)'],
    },
    {
        name: "an access-log bucket named like an IP address",
        edit: (c) => (c.service.accessLogs = { bucketName: "192.168.5.4" }),
        problems: ['shiftwise:service.accessLogs.bucketName = "192.168.5.4": must not be formatted as an IP address (S3 bucket naming rules)'],
    },
    {
        name: "an access-log bucket with a reserved prefix",
        edit: (c) => (c.service.accessLogs = { bucketName: "xn--shop-logs" }),
        problems: [
            'shiftwise:service.accessLogs.bucketName = "xn--shop-logs": uses a prefix or suffix S3 reserves (xn--, sthree-, amzn-s3-demo-, -s3alias, --ol-s3, .mrap, --x-s3, --table-s3)',
        ],
    },
    {
        name: "a retention for an existing bucket",
        edit: (c) => (c.service.accessLogs = { bucketName: "corp-alb-logs", retentionDays: 30 }),
        problems: [
            "shiftwise:service.accessLogs.retentionDays = 30: applies only to the bucket the stack creates, not to the existing bucket corp-alb-logs; set its lifecycle there and remove retentionDays, or remove bucketName",
        ],
    },
    {
        name: "an access-log retention of 0 days",
        edit: (c) => (c.service.accessLogs = { retentionDays: 0 }),
        problems: ["shiftwise:service.accessLogs.retentionDays = 0: must be an integer from 1 to 36500; days S3 keeps each access log before it expires"],
    },
    {
        name: "an access-log prefix with a leading slash",
        edit: (c) => (c.service.accessLogs = { prefix: "/alb" }),
        problems: [
            `shiftwise:service.accessLogs.prefix = "/alb": must be a key prefix of letters, digits and !_.*'()- in /-separated parts, without a leading or trailing slash; e.g. alb`,
        ],
    },
    {
        name: "an access-log prefix containing AWSLogs",
        edit: (c) => (c.service.accessLogs = { prefix: "shop/AWSLogs" }),
        problems: ['shiftwise:service.accessLogs.prefix = "shop/AWSLogs": must not contain AWSLogs; ELB adds AWSLogs/<account>/ after the prefix itself'],
    },
    {
        name: "a misspelt access-log key",
        edit: (c) => (c.service.accessLogs = { bucket: "corp-alb-logs" }),
        problems: ["shiftwise:service.accessLogs.bucket: is not a known key; remove it or fix its spelling (known keys: bucketName, prefix, retentionDays)"],
    },
    {
        name: "a CloudFront (global) web ACL",
        edit: (c) => (c.service.webAclArn = `arn:aws:wafv2:us-east-1:123456789012:global/webacl/shop/${ARN_ID}`),
        // Long values print cut to 80 characters.
        problems: [`shiftwise:service.webAclArn = "arn:aws:wafv2:us-east-1:123456789012:global/webacl/shop/4f6c2a1e-8b3d-4e5f-9...: ${WEB_ACL_RULE}`],
    },
    {
        name: "a classic WAF web ACL id",
        edit: (c) => (c.service.webAclArn = ARN_ID),
        problems: [`shiftwise:service.webAclArn = "${ARN_ID}": ${WEB_ACL_RULE}`],
    },
    {
        name: "an unknown flow-log destination",
        edit: (c) => (c.network.create.flowLogs = { destination: "kinesis" }),
        problems: ['shiftwise:network.create.flowLogs.destination = "kinesis": must be "cloudwatch" or "s3"; "s3" writes into the access-log bucket under vpc-flow-logs/'],
    },
    {
        name: "a flow-log retention with an S3 destination",
        edit: (c) => (c.network.create.flowLogs = { destination: "s3", retentionDays: 30 }),
        problems: [
            "shiftwise:network.create.flowLogs.retentionDays = 30: applies only to CloudWatch Logs; with destination s3 the access-log bucket's lifecycle keeps them, so remove retentionDays",
        ],
    },
    {
        name: "a flow-log retention CloudWatch Logs does not offer",
        edit: (c) => (c.network.create.flowLogs = { retentionDays: 45 }),
        problems: [
            "shiftwise:network.create.flowLogs.retentionDays = 45: must be a CloudWatch Logs retention: 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653",
        ],
    },
    {
        name: "a colour configured to run as root",
        edit: (c) => {
            c.blue.user = "root";
            c.green.user = "0:1000";
        },
        problems: [
            'shiftwise:blue.user = "root": must not be root (uid 0); omit user to run as the image\'s USER, or name an unprivileged user',
            'shiftwise:green.user = "0:1000": must not be root (uid 0); omit user to run as the image\'s USER, or name an unprivileged user',
        ],
    },
    {
        name: "a user with a space",
        edit: (c) => (c.green.user = "app user"),
        problems: ['shiftwise:green.user = "app user": must be user, uid, user:group or uid:gid (letters, digits, _ . -, up to 32 each); e.g. 1000:1000'],
    },
    {
        name: "a read-only root switch that is not a boolean",
        edit: (c) => (c.green.readonlyRootFilesystem = "no"),
        problems: [
            'shiftwise:green.readonlyRootFilesystem = "no": must be true or false; false lets this colour\'s image write outside the /tmp scratch volume; keep true unless the image needs it',
        ],
    },
    {
        name: "Enhanced Monitoring switched off",
        edit: (c) => (c.database.monitoringIntervalSeconds = 0),
        problems: ["shiftwise:database.monitoringIntervalSeconds = 0: must be one of 1, 5, 10, 15, 30, 60 seconds; Enhanced Monitoring stays on"],
    },
];

describe("config validation: secure-by-default keys", () => {
    for (const testCase of INVALID) {
        it(`rejects ${testCase.name} with exact messages`, () => {
            const sections = shiftwiseSections(stackConfig("staging")) as Sections;
            testCase.edit(sections);
            assert.throws(
                () => parseStackConfig(sections),
                (error: unknown) => {
                    assert.ok(error instanceof ConfigError, String(error));
                    assert.deepStrictEqual(error.problems, testCase.problems);
                    return true;
                },
            );
        });
    }

    it("fills the defaults: access logs in the stack's bucket under alb/, CloudWatch flow logs, read-only roots, monitoring every 60 s", () => {
        const config = parseStackConfig(shiftwiseSections(stackConfig("staging")));
        assert.deepStrictEqual(config.service.accessLogs, { prefix: "alb" });
        assert.strictEqual(config.service.webAclArn, undefined);
        assert.deepStrictEqual(config.network.create?.flowLogs, { destination: "cloudwatch" });
        assert.deepStrictEqual([config.blue.readonlyRootFilesystem, config.blue.user, config.green.readonlyRootFilesystem], [true, undefined, true]);
        assert.strictEqual(config.database?.monitoringIntervalSeconds, 60);
    });

    it("accepts the documented forms", () => {
        const sections = shiftwiseSections(stackConfig("staging")) as Sections;
        sections.service.accessLogs = { bucketName: "corp.alb-logs.eu", prefix: "shop/staging" };
        sections.service.webAclArn = `arn:aws:wafv2:eu-west-1:123456789012:regional/webacl/shop_web-1/${ARN_ID}`;
        sections.network.create.flowLogs = { destination: "s3" };
        sections.blue.user = "1000:1000";
        sections.green = { ...sections.green, user: "app", readonlyRootFilesystem: "false" };
        sections.database.monitoringIntervalSeconds = "15";
        const config = parseStackConfig(sections);
        assert.deepStrictEqual([config.green.user, config.green.readonlyRootFilesystem, config.database?.monitoringIntervalSeconds], ["app", false, 15]);
    });

    it("rejects a web ACL of another region before any resource is registered", async () => {
        const failure = await evaluateFailure(
            withFields(stackConfig("staging"), "service", { webAclArn: `arn:aws:wafv2:us-east-1:123456789012:regional/webacl/shop/${ARN_ID}` }),
        );
        assert.deepStrictEqual((failure.cause as ConfigError).problems, [
            `shiftwise:service.webAclArn = "arn:aws:wafv2:us-east-1:123456789012:regional/webacl/shop/${ARN_ID}": the web ACL is in us-east-1 but the stack is in eu-west-1 (aws:region); a load balancer can use only a web ACL of its own region`,
        ]);
        assert.deepStrictEqual(failure.resources, []);
    });
});
