// The S3 bucket the load balancer writes its access logs to (and, optionally, the VPC its flow logs).
import * as s3 from "@pulumi/aws/s3";
import * as pulumi from "@pulumi/pulumi";
import type { AccountFacts } from "./accountFacts";
import { elbLogDeliveryPrincipal } from "./logDelivery";

export interface AccessLogBucketArgs {
    /** The stack's account and partition (`accountFacts()`, asked once per program). */
    readonly account: AccountFacts;
    /** The stack's region: the bucket must be in the load balancer's region, and the writer depends on it. */
    readonly region: string;
    /** Key prefix of the load balancer's logs; must not contain `AWSLogs`. @default "alb" */
    readonly albPrefix?: string;
    /** Key prefix under which VPC flow logs are delivered; unset admits no flow-log delivery. @default undefined */
    readonly flowLogPrefix?: string;
    /** Days a log object is kept before S3 expires it. @default 90 */
    readonly retentionDays?: number;
    /** Days an expired or deleted log stays recoverable as a noncurrent version. @default 7 */
    readonly noncurrentDays?: number;
    /**
     * Production: the bucket and its logs survive `pulumi destroy` (`retainOnDelete`, no `forceDestroy`).
     * Otherwise destroying the stack empties and deletes the bucket. @default false
     */
    readonly protect?: boolean;
    /** Tags for every resource. @default {} */
    readonly tags?: Record<string, string>;
}

/**
 * An S3 bucket for the stack's logs: ACLs off (bucket owner enforced), every
 * public access blocked, default encryption with S3-managed keys (the only
 * encryption ALB log delivery supports:
 * https://docs.aws.amazon.com/elasticloadbalancing/latest/application/enable-access-logging.html),
 * versioning on, a lifecycle that expires logs after `retentionDays`, and a
 * policy that denies any request without TLS and lets only the region's ELB
 * log delivery (and, with `flowLogPrefix`, the VPC flow-log delivery) write
 * under their own prefixes.
 */
export class AccessLogBucket extends pulumi.ComponentResource {
    public readonly bucket: s3.Bucket;
    public readonly policy: s3.BucketPolicy;
    public readonly bucketName: pulumi.Output<string>;
    public readonly bucketArn: pulumi.Output<string>;
    public readonly albPrefix: string;
    /** Everything the load balancer must wait for: AWS checks write access when access logs are switched on. */
    public readonly ready: pulumi.Resource[];

    constructor(name: string, args: AccessLogBucketArgs, opts?: pulumi.ComponentResourceOptions) {
        super("shiftwise:security:AccessLogBucket", name, {}, opts);
        const parent = { parent: this };
        const tags = args.tags ?? {};
        const protect = args.protect ?? false;
        this.albPrefix = args.albPrefix ?? "alb";

        this.bucket = new s3.Bucket(name, {
            forceDestroy: !protect,
            tags,
        }, { parent: this, retainOnDelete: protect });
        this.bucketName = this.bucket.bucket;
        this.bucketArn = this.bucket.arn;
        const bucket = this.bucket.id;

        const ownership = new s3.BucketOwnershipControls(name, {
            bucket,
            rule: { objectOwnership: "BucketOwnerEnforced" },
        }, parent);
        const publicAccess = new s3.BucketPublicAccessBlock(name, {
            bucket,
            blockPublicAcls: true,
            blockPublicPolicy: true,
            ignorePublicAcls: true,
            restrictPublicBuckets: true,
        }, parent);
        const encryption = new s3.BucketServerSideEncryptionConfiguration(name, {
            bucket,
            rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" }, bucketKeyEnabled: false }],
        }, parent);
        const versioning = new s3.BucketVersioning(name, {
            bucket,
            versioningConfiguration: { status: "Enabled" },
        }, parent);
        new s3.BucketLifecycleConfiguration(name, {
            bucket,
            rules: [{
                id: "expire-logs",
                status: "Enabled",
                filter: {},
                expiration: { days: args.retentionDays ?? 90 },
                noncurrentVersionExpiration: { noncurrentDays: args.noncurrentDays ?? 7 },
                abortIncompleteMultipartUpload: { daysAfterInitiation: 1 },
            }],
        }, { parent: this, dependsOn: [versioning] });

        this.policy = new s3.BucketPolicy(name, {
            bucket,
            policy: pulumi.all([this.bucket.arn, args.account.accountId, args.account.partition]).apply(([arn, accountId, partitionName]) =>
                JSON.stringify(logBucketPolicy({
                    bucketArn: arn,
                    accountId,
                    partition: partitionName,
                    region: args.region,
                    albPrefix: this.albPrefix,
                    flowLogPrefix: args.flowLogPrefix,
                })),
            ),
        }, { parent: this, dependsOn: [publicAccess, ownership] });
        this.ready = [this.policy, encryption, ownership];

        this.registerOutputs({ bucket: this.bucket, policy: this.policy, bucketName: this.bucketName, bucketArn: this.bucketArn });
    }
}

/** What the log bucket's policy needs to know. */
export interface LogBucketPolicyInput {
    readonly bucketArn: string;
    readonly accountId: string;
    readonly partition: string;
    readonly region: string;
    readonly albPrefix: string;
    readonly flowLogPrefix?: string;
}

/**
 * Deny every request that is not TLS (Security Hub S3.5); let the region's ELB
 * log delivery put objects under `<albPrefix>/AWSLogs/<account>/`; with a flow
 * log prefix, let `delivery.logs.amazonaws.com` do the same for this account's
 * flow logs, as https://docs.aws.amazon.com/vpc/latest/userguide/flow-logs-s3-permissions.html describes.
 */
export function logBucketPolicy(input: LogBucketPolicyInput): object {
    const { bucketArn, accountId, partition, region } = input;
    const statements: object[] = [
        {
            Sid: "DenyInsecureTransport",
            Effect: "Deny",
            Principal: "*",
            Action: "s3:*",
            Resource: [bucketArn, `${bucketArn}/*`],
            Condition: { Bool: { "aws:SecureTransport": "false" } },
        },
        {
            Sid: "ElbLogDelivery",
            Effect: "Allow",
            Principal: elbLogDeliveryPrincipal(region, partition),
            Action: "s3:PutObject",
            Resource: `${bucketArn}/${input.albPrefix}/AWSLogs/${accountId}/*`,
        },
    ];
    if (input.flowLogPrefix !== undefined) {
        const sourceConditions = {
            StringEquals: { "aws:SourceAccount": accountId },
            ArnLike: { "aws:SourceArn": `arn:${partition}:logs:${region}:${accountId}:*` },
        };
        statements.push(
            {
                Sid: "FlowLogDeliveryWrite",
                Effect: "Allow",
                Principal: { Service: "delivery.logs.amazonaws.com" },
                Action: "s3:PutObject",
                Resource: `${bucketArn}/${input.flowLogPrefix}/AWSLogs/${accountId}/*`,
                Condition: { ...sourceConditions, StringEquals: { ...sourceConditions.StringEquals, "s3:x-amz-acl": "bucket-owner-full-control" } },
            },
            {
                Sid: "FlowLogDeliveryAclCheck",
                Effect: "Allow",
                Principal: { Service: "delivery.logs.amazonaws.com" },
                Action: "s3:GetBucketAcl",
                Resource: bucketArn,
                Condition: sourceConditions,
            },
        );
    }
    return { Version: "2012-10-17", Statement: statements };
}
