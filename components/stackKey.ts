// The stack's customer-managed KMS key: encrypts its log groups and the database's Performance Insights data.
import * as kms from "@pulumi/aws/kms";
import * as pulumi from "@pulumi/pulumi";
import type { AccountFacts } from "./accountFacts";

export interface StackKeyArgs {
    /** The stack's account and partition (`accountFacts()`, asked once per program). */
    readonly account: AccountFacts;
    /** Says what the key protects, e.g. `shop-production: logs and database insights`. */
    readonly description: string;
    /** The stack's region: the key admits CloudWatch Logs of this region only. */
    readonly region: string;
    /** Days KMS waits before deleting the key once it is scheduled for deletion (7 to 30). @default 30 */
    readonly deletionWindowDays?: number;
    /** Tags for every resource. @default {} */
    readonly tags?: Record<string, string>;
}

/**
 * A symmetric customer-managed KMS key with yearly rotation (checkov
 * CKV_AWS_7). Its policy lets the account administer it through IAM and lets
 * the CloudWatch Logs service of this region use it, but only for log groups
 * of this account and region, which is what CloudWatch Logs requires before it
 * accepts a `kmsKeyId` on a log group:
 * https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/encrypt-log-data-kms.html
 * RDS uses it for Performance Insights through grants made with the caller's
 * IAM permissions, which the account statement admits.
 */
export class StackKey extends pulumi.ComponentResource {
    public readonly key: kms.Key;
    public readonly arn: pulumi.Output<string>;

    constructor(name: string, args: StackKeyArgs, opts?: pulumi.ComponentResourceOptions) {
        super("shiftwise:security:StackKey", name, {}, opts);
        const parent = { parent: this };

        this.key = new kms.Key(name, {
            description: args.description,
            keyUsage: "ENCRYPT_DECRYPT",
            customerMasterKeySpec: "SYMMETRIC_DEFAULT",
            enableKeyRotation: true,
            deletionWindowInDays: args.deletionWindowDays ?? 30,
            policy: pulumi.all([args.account.accountId, args.account.partition]).apply(([accountId, partitionName]) =>
                JSON.stringify(stackKeyPolicy(accountId, partitionName, args.region)),
            ),
            tags: args.tags ?? {},
        }, parent);
        this.arn = this.key.arn;

        this.registerOutputs({ key: this.key, arn: this.arn });
    }
}

/** The key policy: the account administers the key, and this region's CloudWatch Logs may use it for this account's log groups. */
export function stackKeyPolicy(accountId: string, partition: string, region: string): object {
    return {
        Version: "2012-10-17",
        Statement: [
            {
                // AWS's default key policy: without it no IAM policy could ever grant use of the key and it would be
                // unmanageable. In a key policy, Resource "*" means "this key"; KMS accepts nothing else there.
                Sid: "AccountAdministers",
                Effect: "Allow",
                Principal: { AWS: `arn:${partition}:iam::${accountId}:root` },
                Action: "kms:*",
                Resource: "*",
            },
            {
                Sid: "CloudWatchLogsEncrypts",
                Effect: "Allow",
                Principal: { Service: `logs.${region}.amazonaws.com` },
                Action: ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"],
                // Resource "*" is this key (see above); the condition narrows use to this account's log groups here.
                Resource: "*",
                Condition: { ArnLike: { "kms:EncryptionContext:aws:logs:arn": `arn:${partition}:logs:${region}:${accountId}:log-group:*` } },
            },
        ],
    };
}
