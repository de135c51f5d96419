// The service's secret environment values in AWS Secrets Manager, under their own KMS key, as ECS secret references.
import * as kms from "@pulumi/aws/kms";
import * as secretsmanager from "@pulumi/aws/secretsmanager";
import * as pulumi from "@pulumi/pulumi";

export interface TaskSecretsArgs {
    /** What the values are for, e.g. `shop-production: secret environment`; the key and the secret carry it. */
    readonly description: string;
    /** Environment variable names to their values; pass Pulumi secrets, they stay encrypted in state. */
    readonly values: Record<string, pulumi.Input<string>>;
    /** Days Secrets Manager keeps a deleted secret recoverable (7 to 30). @default 30 */
    readonly recoveryWindowDays?: number;
    /** Tags for every resource. @default {} */
    readonly tags?: Record<string, string>;
}

/**
 * One JSON secret in Secrets Manager holding every value, encrypted with a
 * customer-managed KMS key (rotation on), and the ECS `valueFrom` reference of
 * each value (`<secret-arn>:<name>::`, ECS Developer Guide, "Pass Secrets
 * Manager secrets through Amazon ECS environment variables"). The task
 * definition then names the secret, never the value. The key keeps the
 * default key policy (the account administers it through IAM, KMS Developer
 * Guide, "Default key policy"), so the execution role's own kms:Decrypt grant
 * is what lets ECS read the secret.
 */
export class TaskSecrets extends pulumi.ComponentResource {
    public readonly key: kms.Key;
    public readonly secret: secretsmanager.Secret;
    public readonly keyArn: pulumi.Output<string>;
    public readonly secretArn: pulumi.Output<string>;
    /** Variable name to its ECS `valueFrom`; resolves only once the secret's value is stored. */
    public readonly references: pulumi.Output<Record<string, string>>;

    constructor(name: string, args: TaskSecretsArgs, opts?: pulumi.ComponentResourceOptions) {
        super("shiftwise:secrets:TaskSecrets", name, {}, opts);
        const parent = { parent: this };
        const tags = args.tags ?? {};
        this.key = new kms.Key(name, {
            description: `${args.description}: encrypts the secret`,
            enableKeyRotation: true,
            deletionWindowInDays: 30,
            tags,
        }, parent);
        this.secret = new secretsmanager.Secret(name, {
            description: args.description,
            kmsKeyId: this.key.arn,
            recoveryWindowInDays: args.recoveryWindowDays ?? 30,
            tags,
        }, parent);
        const version = new secretsmanager.SecretVersion(name, {
            secretId: this.secret.id,
            secretString: pulumi.secret(pulumi.jsonStringify(args.values)),
        }, parent);
        const names = Object.keys(args.values).sort();
        this.keyArn = this.key.arn;
        this.secretArn = this.secret.arn;
        this.references = pulumi.all([this.secret.arn, version.id]).apply(([arn]) => Object.fromEntries(names.map((key) => [key, `${arn}:${key}::`])));
        this.registerOutputs({ key: this.key, secret: this.secret, keyArn: this.keyArn, secretArn: this.secretArn, references: this.references });
    }
}
