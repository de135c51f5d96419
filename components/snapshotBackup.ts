// The retained pre-release RDS snapshot and the AWS Backup vault, plan and selection.
import * as backup from "@pulumi/aws/backup";
import * as iam from "@pulumi/aws/iam";
import * as kms from "@pulumi/aws/kms";
import * as rds from "@pulumi/aws/rds";
import * as pulumi from "@pulumi/pulumi";
import type { AccountFacts } from "./accountFacts";

export interface SnapshotBackupArgs {
    /** The stack's account and partition (`accountFacts()`, asked once per program). */
    readonly account: AccountFacts;
    /** Service name, e.g. `shop`. */
    readonly serviceName: string;
    /** The stack, e.g. `production`. */
    readonly stackName: string;
    readonly region: string;
    /** The RDS instance identifier to snapshot and back up. */
    readonly dbInstanceIdentifier: pulumi.Input<string>;
    /** The RDS instance ARN, for the backup selection. */
    readonly dbInstanceArn: pulumi.Input<string>;
    /** Release label to take a manual snapshot for, e.g. `v1.5.0`; none takes no snapshot. @default undefined */
    readonly preReleaseLabel?: string;
    /** What a restore from the snapshot should look like: the source's network and class. */
    readonly restore: RestoreTargetArgs;
    /** AWS Backup cron schedule (UTC). @default "cron(0 3 * * ? *)" */
    readonly backupSchedule?: string;
    /** Days AWS Backup keeps each recovery point. @default 35 */
    readonly backupRetentionDays?: number;
    /** Production: Pulumi `protect` on the backup key and vault. @default false */
    readonly protect?: boolean;
    /** Tags for every resource. @default {} */
    readonly tags?: Record<string, string>;
}

/** Where a restored instance goes. */
export interface RestoreTargetArgs {
    readonly subnetGroupName: pulumi.Input<string>;
    readonly securityGroupId: pulumi.Input<string>;
    readonly instanceClass: pulumi.Input<string>;
    /** Restore as multi-AZ with deletion protection. @default false */
    readonly protect?: boolean;
}

/**
 * The database's checkpoints: a manual snapshot per release label, which is
 * retained in AWS when the next label replaces it in the program, and a daily
 * AWS Backup plan into a KMS-encrypted vault. `restoreCommand` is the exact
 * AWS CLI command that restores the pre-release snapshot.
 */
export class SnapshotBackup extends pulumi.ComponentResource {
    /** The pre-release snapshot, when a label is set. */
    public readonly snapshot?: rds.Snapshot;
    public readonly snapshotIdentifier?: string;
    public readonly snapshotArn?: pulumi.Output<string>;
    public readonly restoreCommand?: pulumi.Output<string>;
    public readonly vault: backup.Vault;
    public readonly plan: backup.Plan;

    constructor(name: string, args: SnapshotBackupArgs, opts?: pulumi.ComponentResourceOptions) {
        super("shiftwise:safety:SnapshotBackup", name, {}, opts);
        const parent = { parent: this };
        const tags = args.tags ?? {};
        const protect = args.protect ?? false;

        if (args.preReleaseLabel !== undefined) {
            const identifier = snapshotIdentifier(args.serviceName, args.stackName, args.preReleaseLabel);
            // The label is in the logical name: a new label is a new resource, and the old one leaves the
            // program without being deleted in AWS (retainOnDelete), so every release keeps its checkpoint.
            this.snapshot = new rds.Snapshot(`${name}-pre-${slug(args.preReleaseLabel)}`, {
                dbInstanceIdentifier: args.dbInstanceIdentifier,
                dbSnapshotIdentifier: identifier,
                tags: { ...tags, "shiftwise:release": args.preReleaseLabel },
            }, { parent: this, retainOnDelete: true });
            this.snapshotIdentifier = identifier;
            this.snapshotArn = this.snapshot.dbSnapshotArn;
            this.restoreCommand = pulumi
                .all([args.restore.subnetGroupName, args.restore.securityGroupId, args.restore.instanceClass])
                .apply(([subnetGroupName, securityGroupId, instanceClass]) =>
                    restoreCommand({
                        region: args.region,
                        snapshotIdentifier: identifier,
                        targetIdentifier: restoredInstanceIdentifier(args.serviceName, args.stackName, args.preReleaseLabel!),
                        subnetGroupName,
                        securityGroupId,
                        instanceClass,
                        protect: args.restore.protect ?? false,
                    }),
                );
        }
        const key = new kms.Key(`${name}-backup`, {
            description: `${args.serviceName}-${args.stackName}: encrypts the AWS Backup vault`,
            enableKeyRotation: true,
            deletionWindowInDays: 30,
            tags,
        }, { parent: this, protect });
        this.vault = new backup.Vault(name, {
            name: `${args.serviceName}-${args.stackName}`,
            kmsKeyArn: key.arn,
            // Never delete recovery points together with the vault.
            forceDestroy: false,
            tags,
        }, { parent: this, protect });
        this.plan = new backup.Plan(name, {
            name: `${args.serviceName}-${args.stackName}-daily`,
            rules: [{
                ruleName: "daily",
                targetVaultName: this.vault.name,
                schedule: args.backupSchedule ?? "cron(0 3 * * ? *)",
                startWindow: 60,
                completionWindow: 360,
                lifecycle: { deleteAfter: args.backupRetentionDays ?? 35 },
                recoveryPointTags: { ...tags, "shiftwise:backup": "daily" },
            }],
            tags,
        }, parent);
        const role = new iam.Role(`${name}-backup`, {
            assumeRolePolicy: JSON.stringify({
                Version: "2012-10-17",
                Statement: [{ Effect: "Allow", Principal: { Service: "backup.amazonaws.com" }, Action: "sts:AssumeRole" }],
            }),
            description: `${args.serviceName}-${args.stackName}: AWS Backup takes the database's daily recovery points`,
            tags,
        }, parent);
        new iam.RolePolicyAttachment(`${name}-backup`, {
            role: role.name,
            policyArn: pulumi.interpolate`arn:${args.account.partition}:iam::aws:policy/service-role/AWSBackupServiceRolePolicyForBackup`,
        }, parent);
        new backup.Selection(name, {
            name: `${args.serviceName}-${args.stackName}-database`,
            planId: this.plan.id,
            iamRoleArn: role.arn,
            resources: [args.dbInstanceArn],
        }, parent);

        this.registerOutputs({
            snapshot: this.snapshot,
            snapshotIdentifier: this.snapshotIdentifier,
            snapshotArn: this.snapshotArn,
            restoreCommand: this.restoreCommand,
            vault: this.vault,
            plan: this.plan,
        });
    }
}

/** A label as it may appear in RDS identifiers and Pulumi names: lowercase letters, digits and single hyphens. */
export function slug(label: string): string {
    return label.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-+|-+$/g, "");
}

/**
 * The pre-release snapshot's identifier, e.g. `shop-production-pre-v1-5-0`.
 * RDS snapshot identifiers are letters, digits and single hyphens, start with
 * a letter, do not end with a hyphen, are at most 255 characters, and are
 * stored lowercase (so a mixed-case name would show a diff on every update).
 */
export function snapshotIdentifier(serviceName: string, stackName: string, label: string): string {
    const identifier = slug(`${serviceName}-${stackName}-pre-${label}`).slice(0, 255).replace(/-+$/, "");
    if (!/^[a-z]/.test(identifier)) throw new Error(`snapshot identifier ${identifier} must start with a letter; the service name must`);
    return identifier;
}

/** The identifier a restore creates, next to the original: RDS instance identifiers are at most 63 characters. */
export function restoredInstanceIdentifier(serviceName: string, stackName: string, label: string): string {
    return slug(`${serviceName}-${stackName}-restored-${label}`).slice(0, 63).replace(/-+$/, "");
}

/** What `restoreCommand` needs. */
export interface RestoreCommandArgs {
    readonly region: string;
    readonly snapshotIdentifier: string;
    readonly targetIdentifier: string;
    readonly subnetGroupName: string;
    readonly securityGroupId: string;
    readonly instanceClass: string;
    readonly protect: boolean;
}

/**
 * The AWS CLI command that restores a snapshot into a new instance in the
 * same private network, behind the same security group, with the source's
 * safety settings. The application is then pointed at the new instance.
 */
export function restoreCommand(args: RestoreCommandArgs): string {
    return [
        "aws rds restore-db-instance-from-db-snapshot",
        `--region ${args.region}`,
        `--db-snapshot-identifier ${args.snapshotIdentifier}`,
        `--db-instance-identifier ${args.targetIdentifier}`,
        `--db-instance-class ${args.instanceClass}`,
        `--db-subnet-group-name ${args.subnetGroupName}`,
        `--vpc-security-group-ids ${args.securityGroupId}`,
        "--no-publicly-accessible",
        "--enable-iam-database-authentication",
        // The restored instance gets its own RDS-managed password in Secrets Manager, like the original.
        "--manage-master-user-password",
        "--copy-tags-to-snapshot",
        args.protect ? "--multi-az --deletion-protection" : "--no-multi-az --no-deletion-protection",
    ].join(" ");
}
