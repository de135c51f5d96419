// The zod rules of the secure-by-default config keys: access logs, flow logs, WAF, container user, database monitoring.
import { z } from "zod";
import { LOG_RETENTION_DAYS, boolean, integer, matching } from "./rules";

/** Days the stack's access-log bucket keeps logs when `service.accessLogs.retentionDays` is not set. */
export const DEFAULT_ACCESS_LOG_RETENTION_DAYS = 90;
/** Days CloudWatch Logs keeps VPC flow logs when `network.create.flowLogs.retentionDays` is not set. */
export const DEFAULT_FLOW_LOG_RETENTION_DAYS = 90;

/**
 * General purpose bucket naming rules: 3 to 63 characters; lowercase letters,
 * digits, dots and hyphens; a letter or digit first and last; no two adjacent
 * dots; not an IP address; none of the reserved prefixes and suffixes.
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html
 */
const S3_BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const S3_RESERVED = /^(xn--|sthree-|amzn-s3-demo-)|(-s3alias|--ol-s3|\.mrap|--x-s3|--table-s3)$/;

export const s3BucketName = z
    .string({ error: "must be an S3 bucket name; e.g. shop-alb-logs" })
    .regex(S3_BUCKET_NAME, {
        error: "must be an S3 bucket name: 3 to 63 lowercase letters, digits, dots and hyphens, starting and ending with a letter or digit",
        abort: true,
    })
    .refine((name) => !name.includes(".."), { error: "must not contain two adjacent dots (S3 bucket naming rules)", abort: true })
    .refine((name) => !/^\d+\.\d+\.\d+\.\d+$/.test(name), { error: "must not be formatted as an IP address (S3 bucket naming rules)", abort: true })
    .refine((name) => !S3_RESERVED.test(name), { error: "uses a prefix or suffix S3 reserves (xn--, sthree-, amzn-s3-demo-, -s3alias, --ol-s3, .mrap, --x-s3, --table-s3)" });

/**
 * An access-log key prefix: S3-safe characters in `/`-separated segments, no
 * leading or trailing slash, and never `AWSLogs`, which ELB appends itself:
 * https://docs.aws.amazon.com/elasticloadbalancing/latest/application/enable-access-logging.html
 */
export const logPrefix = z
    .string({ error: "must be a key prefix such as alb or logs/shop" })
    .regex(/^[A-Za-z0-9!_.*'()-]+(\/[A-Za-z0-9!_.*'()-]+)*$/, {
        error: "must be a key prefix of letters, digits and !_.*'()- in /-separated parts, without a leading or trailing slash; e.g. alb",
        abort: true,
    })
    .max(100, { error: "must be at most 100 characters" })
    .refine((prefix) => !prefix.includes("AWSLogs"), { error: "must not contain AWSLogs; ELB adds AWSLogs/<account>/ after the prefix itself" });

export const accessLogsSchema = z
    .object(
        {
            bucketName: s3BucketName.optional(),
            prefix: logPrefix.default("alb"),
            retentionDays: integer(1, 36500, "days S3 keeps each access log before it expires").optional(),
        },
        { error: "must be an object { bucketName?, prefix?, retentionDays? }" },
    )
    .strict()
    .superRefine((logs, ctx) => {
        if (logs.bucketName !== undefined && logs.retentionDays !== undefined) {
            ctx.addIssue({
                code: "custom",
                path: ["retentionDays"],
                input: logs.retentionDays,
                message: `applies only to the bucket the stack creates, not to the existing bucket ${logs.bucketName}; set its lifecycle there and remove retentionDays, or remove bucketName`,
            });
        }
    });

/**
 * The ARN of a regional AWS WAFv2 web ACL. Only `regional` web ACLs can be
 * associated with an Application Load Balancer (CloudFront ones are global):
 * https://docs.aws.amazon.com/waf/latest/APIReference/API_AssociateWebACL.html
 */
export const webAclArn = matching(
    /^arn:aws[a-z-]*:wafv2:[a-z]{2}(-[a-z]+)+-\d:\d{12}:regional\/webacl\/[A-Za-z0-9_-]{1,128}\/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/,
    "must be the ARN of a regional WAFv2 web ACL (arn:aws:wafv2:<region>:<account>:regional/webacl/<name>/<id>)",
    "copy it from the WAF console; CloudFront (global) web ACLs cannot protect a load balancer",
);

/** The region part of an ARN. */
export function arnRegion(arn: string): string {
    return arn.split(":")[3] ?? "";
}

export const flowLogsSchema = z
    .object(
        {
            destination: z
                .enum(["cloudwatch", "s3"], { error: 'must be "cloudwatch" or "s3"; "s3" writes into the access-log bucket under vpc-flow-logs/' })
                .default("cloudwatch"),
            retentionDays: z
                .preprocess(
                    (v) => (typeof v === "string" && /^\d+$/.test(v) ? Number(v) : v),
                    z.number({ error: `must be a CloudWatch Logs retention: ${LOG_RETENTION_DAYS.join(", ")}` }).refine((days) => LOG_RETENTION_DAYS.includes(days), {
                        error: `must be a CloudWatch Logs retention: ${LOG_RETENTION_DAYS.join(", ")}`,
                    }),
                )
                .optional(),
        },
        { error: "must be an object { destination?, retentionDays? }" },
    )
    .strict()
    .superRefine((flowLogs, ctx) => {
        if (flowLogs.destination === "s3" && flowLogs.retentionDays !== undefined) {
            ctx.addIssue({
                code: "custom",
                path: ["retentionDays"],
                input: flowLogs.retentionDays,
                message: "applies only to CloudWatch Logs; with destination s3 the access-log bucket's lifecycle keeps them, so remove retentionDays",
            });
        }
    });

/**
 * The ECS container `user`: a user name or uid, optionally with `:group` or
 * `:gid` (the formats in "user", ECS task definition parameters). Root is
 * refused: leave `user` unset to run as the image's USER instead.
 */
export const containerUser = z
    .string({ error: "must be a user such as 1000:1000 or app; omit it to run as the image's USER" })
    .regex(/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,31}(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,31})?$/, {
        error: "must be user, uid, user:group or uid:gid (letters, digits, _ . -, up to 32 each); e.g. 1000:1000",
        abort: true,
    })
    .refine((user) => !/^(0|root)(:|$)/.test(user), { error: "must not be root (uid 0); omit user to run as the image's USER, or name an unprivileged user" });

export const readonlyRootFilesystem = boolean("false lets this colour's image write outside the /tmp scratch volume; keep true unless the image needs it").default(true);

/** Enhanced Monitoring intervals RDS accepts besides 0 (off): MonitoringInterval in the CreateDBInstance API reference. */
export const MONITORING_INTERVALS = [1, 5, 10, 15, 30, 60];

export const monitoringIntervalSeconds = z
    .preprocess(
        (v) => (typeof v === "string" && /^\d+$/.test(v) ? Number(v) : v),
        z.number({ error: `must be one of ${MONITORING_INTERVALS.join(", ")} seconds` }).refine((seconds) => MONITORING_INTERVALS.includes(seconds), {
            error: `must be one of ${MONITORING_INTERVALS.join(", ")} seconds; Enhanced Monitoring stays on`,
        }),
    )
    .default(60);
