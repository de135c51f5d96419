// Exact-message table tests of each secure-by-default rule in config/security.ts, both sides of every boundary.
import * as assert from "assert";
import type { z } from "zod";
import {
    accessLogsSchema,
    arnRegion,
    containerUser,
    flowLogsSchema,
    logPrefix,
    monitoringIntervalSeconds,
    readonlyRootFilesystem,
    s3BucketName,
    webAclArn,
} from "../config/security";

/** The parsed value, or the messages of every problem (path-prefixed when not at the root). */
function check(schema: z.ZodType, value: unknown): { ok: unknown } | { problems: string[] } {
    const result = schema.safeParse(value);
    if (result.success) return { ok: result.data };
    return { problems: result.error.issues.map((issue) => (issue.path.length > 0 ? `${issue.path.join(".")}: ${issue.message}` : issue.message)) };
}

const ARN_ID = "4f6c2a1e-8b3d-4e5f-9a7b-1c2d3e4f5a6b";
const S3_TYPE = "must be an S3 bucket name; e.g. shop-alb-logs";
const S3_RULE = "must be an S3 bucket name: 3 to 63 lowercase letters, digits, dots and hyphens, starting and ending with a letter or digit";
const S3_DOTS = "must not contain two adjacent dots (S3 bucket naming rules)";
const S3_IP = "must not be formatted as an IP address (S3 bucket naming rules)";
const S3_RESERVED = "uses a prefix or suffix S3 reserves (xn--, sthree-, amzn-s3-demo-, -s3alias, --ol-s3, .mrap, --x-s3, --table-s3)";
const PREFIX_TYPE = "must be a key prefix such as alb or logs/shop";
const PREFIX_RULE = "must be a key prefix of letters, digits and !_.*'()- in /-separated parts, without a leading or trailing slash; e.g. alb";
const PREFIX_MAX = "must be at most 100 characters";
const PREFIX_AWSLOGS = "must not contain AWSLogs; ELB adds AWSLogs/<account>/ after the prefix itself";
const RETENTION = "must be an integer from 1 to 36500; days S3 keeps each access log before it expires";
const WEB_ACL =
    "must be the ARN of a regional WAFv2 web ACL (arn:aws:wafv2:<region>:<account>:regional/webacl/<name>/<id>); copy it from the WAF console; CloudFront (global) web ACLs cannot protect a load balancer";
const CW_RETENTION =
    "must be a CloudWatch Logs retention: 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653";
const USER_TYPE = "must be a user such as 1000:1000 or app; omit it to run as the image's USER";
const USER_RULE = "must be user, uid, user:group or uid:gid (letters, digits, _ . -, up to 32 each); e.g. 1000:1000";
const USER_ROOT = "must not be root (uid 0); omit user to run as the image's USER, or name an unprivileged user";
const READONLY = "must be true or false; false lets this colour's image write outside the /tmp scratch volume; keep true unless the image needs it";
const MONITORING_TYPE = "must be one of 1, 5, 10, 15, 30, 60 seconds";
const MONITORING = "must be one of 1, 5, 10, 15, 30, 60 seconds; Enhanced Monitoring stays on";

type Row = [value: unknown, expected: { ok: unknown } | { problems: string[] }];
const ok = (value: unknown) => ({ ok: value });
const bad = (...problems: string[]) => ({ problems });

const TABLES: { name: string; schema: z.ZodType; rows: Row[] }[] = [
    {
        name: "s3BucketName",
        schema: s3BucketName,
        rows: [
            [42, bad(S3_TYPE)],
            ["abc", ok("abc")],
            ["ab", bad(S3_RULE)],
            ["a".repeat(63), ok("a".repeat(63))],
            ["a".repeat(64), bad(S3_RULE)],
            ["a.b-c9", ok("a.b-c9")],
            ["9ab", ok("9ab")],
            ["-abc", bad(S3_RULE)],
            ["abc-", bad(S3_RULE)],
            [".abc", bad(S3_RULE)],
            ["abc.", bad(S3_RULE)],
            ["Abc", bad(S3_RULE)],
            ["ab_c", bad(S3_RULE)],
            ["abc\nx", bad(S3_RULE)],
            // abort: a name failing the pattern reports only the pattern, not the later rules too.
            ["A..xn--b", bad(S3_RULE)],
            ["a..b", bad(S3_DOTS)],
            ["a.b.c", ok("a.b.c")],
            ["xn--a..b", bad(S3_DOTS)],
            ["192.168.5.4", bad(S3_IP)],
            ["10.20.30.40", bad(S3_IP)],
            ["192.168.5", ok("192.168.5")],
            ["192.168.5.4.1", ok("192.168.5.4.1")],
            ["a192.168.5.4", ok("a192.168.5.4")],
            ["192.168.5.4a", ok("192.168.5.4a")],
            ["192.168a5.4", ok("192.168a5.4")],
            ["xn--shop", bad(S3_RESERVED)],
            ["sthree-shop", bad(S3_RESERVED)],
            ["amzn-s3-demo-shop", bad(S3_RESERVED)],
            ["shop-s3alias", bad(S3_RESERVED)],
            ["shop--ol-s3", bad(S3_RESERVED)],
            ["shop.mrap", bad(S3_RESERVED)],
            ["shop--x-s3", bad(S3_RESERVED)],
            ["shop--table-s3", bad(S3_RESERVED)],
            ["shopxn--a", ok("shopxn--a")],
            ["shop-sthree-a", ok("shop-sthree-a")],
            ["amzn-s3-demo", ok("amzn-s3-demo")],
            ["shop-s3alias-a", ok("shop-s3alias-a")],
            ["shopxmrap", ok("shopxmrap")],
            ["shop--x-s3a", ok("shop--x-s3a")],
        ],
    },
    {
        name: "logPrefix",
        schema: logPrefix,
        rows: [
            [7, bad(PREFIX_TYPE)],
            ["alb", ok("alb")],
            ["logs/shop/staging", ok("logs/shop/staging")],
            ["A-z_0.9!*'()", ok("A-z_0.9!*'()")],
            ["/alb", bad(PREFIX_RULE)],
            ["alb/", bad(PREFIX_RULE)],
            ["a//b", bad(PREFIX_RULE)],
            ["a b", bad(PREFIX_RULE)],
            ["a\nb", bad(PREFIX_RULE)],
            ["", bad(PREFIX_RULE)],
            ["a".repeat(100), ok("a".repeat(100))],
            ["a".repeat(101), bad(PREFIX_MAX)],
            ["AWSLogs", bad(PREFIX_AWSLOGS)],
            ["shop/AWSLogs/x", bad(PREFIX_AWSLOGS)],
            ["awslogs", ok("awslogs")],
            // abort: a malformed prefix reports only the pattern.
            [`/${"AWSLogs".repeat(15)}`, bad(PREFIX_RULE)],
            // without abort on the length, both the length and AWSLogs are reported.
            ["AWSLogs".repeat(15), bad(PREFIX_MAX, PREFIX_AWSLOGS)],
        ],
    },
    {
        name: "accessLogsSchema",
        schema: accessLogsSchema,
        rows: [
            ["yes", bad("must be an object { bucketName?, prefix?, retentionDays? }")],
            [{}, ok({ prefix: "alb" })],
            [{ prefix: "logs" }, ok({ prefix: "logs" })],
            [{ retentionDays: 1 }, ok({ prefix: "alb", retentionDays: 1 })],
            [{ retentionDays: "36500" }, ok({ prefix: "alb", retentionDays: 36500 })],
            [{ retentionDays: 0 }, bad(`retentionDays: ${RETENTION}`)],
            [{ retentionDays: 36501 }, bad(`retentionDays: ${RETENTION}`)],
            [{ bucketName: "corp-logs" }, ok({ bucketName: "corp-logs", prefix: "alb" })],
            [
                { bucketName: "corp-logs", retentionDays: 30 },
                bad(
                    "retentionDays: applies only to the bucket the stack creates, not to the existing bucket corp-logs; set its lifecycle there and remove retentionDays, or remove bucketName",
                ),
            ],
        ],
    },
    {
        name: "webAclArn",
        schema: webAclArn,
        rows: [
            [`arn:aws:wafv2:eu-west-1:123456789012:regional/webacl/shop/${ARN_ID}`, ok(`arn:aws:wafv2:eu-west-1:123456789012:regional/webacl/shop/${ARN_ID}`)],
            [
                `arn:aws-us-gov:wafv2:us-gov-west-1:123456789012:regional/webacl/a_B-9/${ARN_ID}`,
                ok(`arn:aws-us-gov:wafv2:us-gov-west-1:123456789012:regional/webacl/a_B-9/${ARN_ID}`),
            ],
            [`arn:aws:wafv2:eu-west-1:123456789012:regional/webacl/${"n".repeat(128)}/${ARN_ID}`, ok(`arn:aws:wafv2:eu-west-1:123456789012:regional/webacl/${"n".repeat(128)}/${ARN_ID}`)],
            [`arn:aws:wafv2:eu-west-1:123456789012:regional/webacl/${"n".repeat(129)}/${ARN_ID}`, bad(WEB_ACL)],
            [`arn:aws:wafv2:eu-west-1:123456789012:regional/webacl//${ARN_ID}`, bad(WEB_ACL)],
            [`arn:aws:wafv2:eu-west-1:123456789012:regional/webacl/sh.op/${ARN_ID}`, bad(WEB_ACL)],
            [`arn:aws:wafv2:eu-west-1:12345678901:regional/webacl/shop/${ARN_ID}`, bad(WEB_ACL)],
            [`arn:aws:wafv2:eu-west-1:1234567890123:regional/webacl/shop/${ARN_ID}`, bad(WEB_ACL)],
            [`arn:aws:wafv2:eu-west-1:12345678901a:regional/webacl/shop/${ARN_ID}`, bad(WEB_ACL)],
            [`arn:aws:wafv2:euwest-1:123456789012:regional/webacl/shop/${ARN_ID}`, bad(WEB_ACL)],
            [`arn:aws:wafv2:eu-west-x:123456789012:regional/webacl/shop/${ARN_ID}`, bad(WEB_ACL)],
            [`arn:aws:wafv2:e-west-1:123456789012:regional/webacl/shop/${ARN_ID}`, bad(WEB_ACL)],
            [`arn:aws:waf:eu-west-1:123456789012:regional/webacl/shop/${ARN_ID}`, bad(WEB_ACL)],
            [`arn:aws:wafv2:eu-west-1:123456789012:global/webacl/shop/${ARN_ID}`, bad(WEB_ACL)],
            [`xarn:aws:wafv2:eu-west-1:123456789012:regional/webacl/shop/${ARN_ID}`, bad(WEB_ACL)],
            [`arn:aws:wafv2:eu-west-1:123456789012:regional/webacl/shop/${ARN_ID}x`, bad(WEB_ACL)],
            [`arn:aws:wafv2:eu-west-1:123456789012:regional/webacl/shop/${ARN_ID.toUpperCase()}`, bad(WEB_ACL)],
            [`arn:aws:wafv2:eu-west-1:123456789012:regional/webacl/shop/${ARN_ID.replace(/-/g, "")}`, bad(WEB_ACL)],
            [ARN_ID, bad(WEB_ACL)],
            [12, bad(WEB_ACL)],
        ],
    },
    {
        name: "flowLogsSchema",
        schema: flowLogsSchema,
        rows: [
            [[], bad("must be an object { destination?, retentionDays? }")],
            [{}, ok({ destination: "cloudwatch" })],
            [{ destination: "s3" }, ok({ destination: "s3" })],
            [{ destination: "kinesis" }, bad('destination: must be "cloudwatch" or "s3"; "s3" writes into the access-log bucket under vpc-flow-logs/')],
            [{ retentionDays: 1 }, ok({ destination: "cloudwatch", retentionDays: 1 })],
            [{ retentionDays: "3653" }, ok({ destination: "cloudwatch", retentionDays: 3653 })],
            [{ destination: "cloudwatch", retentionDays: 30 }, ok({ destination: "cloudwatch", retentionDays: 30 })],
            [{ retentionDays: 2 }, bad(`retentionDays: ${CW_RETENTION}`)],
            [{ retentionDays: "30 days" }, bad(`retentionDays: ${CW_RETENTION}`)],
            [{ retentionDays: "x30" }, bad(`retentionDays: ${CW_RETENTION}`)],
            [{ retentionDays: "" }, bad(`retentionDays: ${CW_RETENTION}`)],
            [{ retentionDays: true }, bad(`retentionDays: ${CW_RETENTION}`)],
            // Only an all-digit string is read as a number: not " 30", not [30].
            [{ retentionDays: " 30" }, bad(`retentionDays: ${CW_RETENTION}`)],
            [{ retentionDays: [30] }, bad(`retentionDays: ${CW_RETENTION}`)],
            [
                { destination: "s3", retentionDays: 30 },
                bad("retentionDays: applies only to CloudWatch Logs; with destination s3 the access-log bucket's lifecycle keeps them, so remove retentionDays"),
            ],
            // The object's own error also covers an unknown key; the config layer rewrites it (see securityConfig.test.ts).
            [{ destination: "s3", flows: 1 }, bad("must be an object { destination?, retentionDays? }")],
        ],
    },
    {
        name: "containerUser",
        schema: containerUser,
        rows: [
            [1000, bad(USER_TYPE)],
            ["a", ok("a")],
            ["_app", ok("_app")],
            ["App.user-9", ok("App.user-9")],
            ["1000:1000", ok("1000:1000")],
            ["app:_grp.x-1", ok("app:_grp.x-1")],
            ["a".repeat(32), ok("a".repeat(32))],
            ["a".repeat(33), bad(USER_RULE)],
            [`a:${"g".repeat(32)}`, ok(`a:${"g".repeat(32)}`)],
            [`a:${"g".repeat(33)}`, bad(USER_RULE)],
            [".app", bad(USER_RULE)],
            ["-app", bad(USER_RULE)],
            ["app:.g", bad(USER_RULE)],
            ["app:", bad(USER_RULE)],
            ["a:b:c", bad(USER_RULE)],
            ["app user", bad(USER_RULE)],
            ["", bad(USER_RULE)],
            // abort: a malformed root user reports only the pattern.
            ["root:", bad(USER_RULE)],
            ["root", bad(USER_ROOT)],
            ["0", bad(USER_ROOT)],
            ["0:0", bad(USER_ROOT)],
            ["root:app", bad(USER_ROOT)],
            ["rooty", ok("rooty")],
            ["xroot", ok("xroot")],
            ["10", ok("10")],
            ["app:0", ok("app:0")],
            ["1000:root", ok("1000:root")],
        ],
    },
    {
        name: "readonlyRootFilesystem",
        schema: readonlyRootFilesystem,
        rows: [
            [undefined, ok(true)],
            [false, ok(false)],
            ["false", ok(false)],
            ["true", ok(true)],
            ["no", bad(READONLY)],
        ],
    },
    {
        name: "monitoringIntervalSeconds",
        schema: monitoringIntervalSeconds,
        rows: [
            [undefined, ok(60)],
            ...[1, 5, 10, 15, 30, 60].map((seconds): Row => [seconds, ok(seconds)]),
            ["15", ok(15)],
            [0, bad(MONITORING)],
            [2, bad(MONITORING)],
            [61, bad(MONITORING)],
            ["0", bad(MONITORING)],
            ["15s", bad(MONITORING_TYPE)],
            ["s15", bad(MONITORING_TYPE)],
            ["", bad(MONITORING_TYPE)],
            [null, bad(MONITORING_TYPE)],
            [" 15", bad(MONITORING_TYPE)],
            [[15], bad(MONITORING_TYPE)],
        ],
    },
];

describe("config/security rules: exact messages on both sides of each boundary", () => {
    for (const table of TABLES) {
        describe(table.name, () => {
            for (const [value, expected] of table.rows) {
                const shown = typeof value === "string" && value.length > 40 ? `${value.slice(0, 40)}…(${value.length})` : JSON.stringify(value);
                it(`${"ok" in expected ? "accepts" : "rejects"} ${shown}`, () => {
                    assert.deepStrictEqual(check(table.schema, value), expected);
                });
            }
        });
    }

    it("reports the cross-key problems as custom issues on retentionDays", () => {
        const access = accessLogsSchema.safeParse({ bucketName: "corp-logs", retentionDays: 30 });
        const flow = flowLogsSchema.safeParse({ destination: "s3", retentionDays: 30 });
        assert.deepStrictEqual(
            [access, flow].map((result) => result.error?.issues.map((issue) => [issue.code, issue.path])),
            [[["custom", ["retentionDays"]]], [["custom", ["retentionDays"]]]],
        );
    });

    describe("arnRegion", () => {
        it("reads the region field of an ARN", () => {
            assert.strictEqual(arnRegion(`arn:aws:wafv2:ap-southeast-2:123456789012:regional/webacl/shop/${ARN_ID}`), "ap-southeast-2");
        });
        it("is empty when the ARN has no region field", () => {
            assert.strictEqual(arnRegion("arn:aws:wafv2"), "");
        });
    });
});
