// The stack's release ledger: a KMS-encrypted DynamoDB table holding deployment records, the lease, requests and guard trips.
import * as dynamodb from "@pulumi/aws/dynamodb";
import * as kms from "@pulumi/aws/kms";
import * as pulumi from "@pulumi/pulumi";
import { LEDGER_KEY } from "../ports/ledgerKey";

export { LEDGER_KEY } from "../ports/ledgerKey";

export interface ReleaseLedgerArgs {
    /** The table's name, e.g. `shop-production-releases`: 3–255 characters of `[a-zA-Z0-9_.-]` (DynamoDB naming rules). */
    readonly tableName: string;
    /**
     * Production: DynamoDB deletion protection on the table, and Pulumi
     * `protect` on the table and its key, so neither `pulumi destroy` nor a
     * console click loses the release history. @default false
     */
    readonly protect?: boolean;
    /** Tags for every resource. @default {} */
    readonly tags?: Record<string, string>;
}

/** DynamoDB table names: 3–255 characters, `a-z A-Z 0-9 _ - .` (Amazon DynamoDB Developer Guide, "Naming rules"). */
export const TABLE_NAME_PATTERN = /^[a-zA-Z0-9_.-]{3,255}$/;

/**
 * The release ledger: the server-side state every actor shares (the CI
 * runner, an on-call laptop, the AWS-side guard). On-demand capacity, because
 * a release writes a few items a minute and idles for days; encrypted with
 * its own customer-managed key (rotated yearly) so access to the history can
 * be revoked through the key policy; point-in-time recovery, because the
 * records are the audit trail of every production change.
 */
export class ReleaseLedger extends pulumi.ComponentResource {
    public readonly key: kms.Key;
    public readonly table: dynamodb.Table;
    public readonly tableName: pulumi.Output<string>;
    public readonly tableArn: pulumi.Output<string>;
    public readonly keyArn: pulumi.Output<string>;

    constructor(name: string, args: ReleaseLedgerArgs, opts?: pulumi.ComponentResourceOptions) {
        // Checked before super() so a bad name registers nothing.
        if (!TABLE_NAME_PATTERN.test(args.tableName)) {
            throw new Error(`ReleaseLedger ${name}: tableName "${args.tableName}" must be 3-255 characters of a-z, A-Z, 0-9, '_', '-' and '.'`);
        }
        super("shiftwise:release:ReleaseLedger", name, {}, opts);
        const protect = args.protect ?? false;
        const tags = args.tags ?? {};

        this.key = new kms.Key(name, {
            description: `${args.tableName}: encrypts the release ledger`,
            enableKeyRotation: true,
            deletionWindowInDays: 30,
            tags,
        }, { parent: this, protect });

        this.table = new dynamodb.Table(name, {
            name: args.tableName,
            billingMode: "PAY_PER_REQUEST",
            hashKey: LEDGER_KEY.partitionKey,
            rangeKey: LEDGER_KEY.sortKey,
            attributes: [
                { name: LEDGER_KEY.partitionKey, type: "S" },
                { name: LEDGER_KEY.sortKey, type: "S" },
            ],
            serverSideEncryption: { enabled: true, kmsKeyArn: this.key.arn },
            pointInTimeRecovery: { enabled: true },
            ttl: { attributeName: LEDGER_KEY.ttlAttribute, enabled: true },
            deletionProtectionEnabled: protect,
            tags,
        }, { parent: this, protect });

        this.tableName = this.table.name;
        this.tableArn = this.table.arn;
        this.keyArn = this.key.arn;
        this.registerOutputs({ key: this.key, table: this.table, tableName: this.tableName, tableArn: this.tableArn, keyArn: this.keyArn });
    }
}
