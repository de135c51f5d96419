// What RDS says of the release's database and its pre-release snapshot right now, read through the AWS SDK v3 before and after the migration.
import { DBInstanceNotFoundFault, DBSnapshotNotFoundFault, DescribeDBInstancesCommand, DescribeDBSnapshotsCommand, RDSClient } from "@aws-sdk/client-rds";

/** The database instance as RDS reports it. */
export interface DatabaseInstanceState {
    /** `available`, `backing-up`, `modifying`, `rebooting`, ... (RDS User Guide, "Viewing DB instance status"). */
    readonly status: string;
    /**
     * The instance's `DbiResourceId`: unique for the life of an instance and
     * never reused, so a restore under the same identifier (rename the old
     * instance, restore the snapshot into the name) shows up as a new id.
     */
    readonly resourceId: string;
    readonly createdAt?: Date;
}

/** A DB snapshot as RDS reports it. */
export interface SnapshotState {
    /** `creating`, `available`, `failed`, ... */
    readonly status: string;
    /** `DbiResourceId` of the instance the snapshot was taken of. */
    readonly sourceResourceId?: string;
    /** `PercentProgress` while it is being created. */
    readonly percentProgress?: number;
}

/** Reads the database and a snapshot; undefined when RDS does not know them. */
export interface DatabaseStatePort {
    /** DescribeDBSnapshots of one manual snapshot. */
    snapshot(snapshotIdentifier: string): Promise<SnapshotState | undefined>;
    /** DescribeDBInstances of one instance. */
    instance(dbInstanceIdentifier: string): Promise<DatabaseInstanceState | undefined>;
}

/**
 * The database state on `@aws-sdk/client-rds`, default credential chain.
 * IAM: rds:DescribeDBInstances, rds:DescribeDBSnapshots. It never writes.
 */
export class RdsDatabaseState implements DatabaseStatePort {
    constructor(private readonly rds: RDSClient) {}

    static forRegion(region: string): RdsDatabaseState {
        return new RdsDatabaseState(new RDSClient({ region }));
    }

    async snapshot(snapshotIdentifier: string): Promise<SnapshotState | undefined> {
        try {
            const response = await this.rds.send(new DescribeDBSnapshotsCommand({ DBSnapshotIdentifier: snapshotIdentifier }));
            const snapshot = response.DBSnapshots?.find((candidate) => candidate.DBSnapshotIdentifier === snapshotIdentifier);
            if (!snapshot) return undefined;
            return {
                status: snapshot.Status ?? "unknown",
                ...(snapshot.DbiResourceId ? { sourceResourceId: snapshot.DbiResourceId } : {}),
                ...(snapshot.PercentProgress !== undefined ? { percentProgress: snapshot.PercentProgress } : {}),
            };
        } catch (error) {
            if (error instanceof DBSnapshotNotFoundFault) return undefined;
            throw error;
        }
    }

    async instance(dbInstanceIdentifier: string): Promise<DatabaseInstanceState | undefined> {
        try {
            const response = await this.rds.send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: dbInstanceIdentifier }));
            const instance = response.DBInstances?.find((candidate) => candidate.DBInstanceIdentifier === dbInstanceIdentifier);
            if (!instance?.DbiResourceId) return undefined;
            return { status: instance.DBInstanceStatus ?? "unknown", resourceId: instance.DbiResourceId, ...(instance.InstanceCreateTime ? { createdAt: instance.InstanceCreateTime } : {}) };
        } catch (error) {
            if (error instanceof DBInstanceNotFoundFault) return undefined;
            throw error;
        }
    }
}
