// The database's newest recovery point (RDS automated backup or AWS Backup), read through the AWS SDK v3 for the go/no-go.
import { BackupClient, ListRecoveryPointsByResourceCommand } from "@aws-sdk/client-backup";
import { DescribeDBInstancesCommand, DescribeDBSnapshotsCommand, RDSClient } from "@aws-sdk/client-rds";

/** A completed recovery point: when it was taken and by what. */
export interface RecoveryPoint {
    readonly at: Date;
    readonly source: string;
}

/** Reads the newest recovery point of an RDS instance. */
export interface RecoveryPointPort {
    newestRecoveryPoint(dbInstanceIdentifier: string): Promise<RecoveryPoint | undefined>;
}

/**
 * Recovery points on the SDK: RDS automated snapshots (DescribeDBSnapshots,
 * SnapshotType `automated`, status `available`) and AWS Backup recovery points
 * of the instance (ListRecoveryPointsByResource, status `COMPLETED`).
 *
 * IAM: rds:DescribeDBInstances, rds:DescribeDBSnapshots, backup:ListRecoveryPointsByResource.
 */
export class SdkRecoveryPoints implements RecoveryPointPort {
    constructor(private readonly clients: { readonly rds: RDSClient; readonly backup: BackupClient }) {}

    static forRegion(region: string): SdkRecoveryPoints {
        return new SdkRecoveryPoints({ rds: new RDSClient({ region }), backup: new BackupClient({ region }) });
    }

    async newestRecoveryPoint(dbInstanceIdentifier: string): Promise<RecoveryPoint | undefined> {
        const instance = (await this.clients.rds.send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: dbInstanceIdentifier }))).DBInstances?.[0];
        const points: RecoveryPoint[] = [];
        const snapshots = await this.clients.rds.send(new DescribeDBSnapshotsCommand({ DBInstanceIdentifier: dbInstanceIdentifier, SnapshotType: "automated" }));
        for (const snapshot of snapshots.DBSnapshots ?? []) {
            if (snapshot.Status === "available" && snapshot.SnapshotCreateTime) points.push({ at: snapshot.SnapshotCreateTime, source: `RDS automated backup ${snapshot.DBSnapshotIdentifier}` });
        }
        if (instance?.DBInstanceArn) {
            const recovery = await this.clients.backup.send(new ListRecoveryPointsByResourceCommand({ ResourceArn: instance.DBInstanceArn }));
            for (const point of recovery.RecoveryPoints ?? []) {
                if (point.Status === "COMPLETED" && point.CreationDate) points.push({ at: point.CreationDate, source: `AWS Backup recovery point ${point.RecoveryPointArn} in ${point.BackupVaultName}` });
            }
        }
        return points.sort((a, b) => b.at.getTime() - a.at.getTime())[0];
    }
}
