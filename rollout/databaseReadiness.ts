// Whether the database may be migrated now, from what RDS says this poll: the pre-release snapshot exists and is available, and the database is the instance it was taken of.
import type { DatabaseInstanceState, SnapshotState } from "../ports/databaseState";

/** One reading of RDS, just before a migration starts or a resumed one goes on. */
export interface DatabaseReading {
    readonly snapshotIdentifier: string;
    /** Undefined: RDS does not know the snapshot. */
    readonly snapshot?: SnapshotState;
    readonly databaseIdentifier: string;
    /** Undefined: RDS does not know the instance. */
    readonly instance?: DatabaseInstanceState;
}

/** go: migrate now; wait: read again (a snapshot still being created, an instance busy with a backup); stop: never migrate this release. */
export type Readiness = { readonly verdict: "go" } | { readonly verdict: "wait" | "stop"; readonly reason: string };

/**
 * Instance states that end by themselves, in which the driver waits instead of
 * stopping (RDS User Guide, "Viewing Amazon RDS DB instance status"). Any other
 * state other than `available` (stopped, failed, storage-full,
 * incompatible-*, inaccessible-encryption-credentials, deleting, ...) stops.
 */
export const TRANSIENT_INSTANCE_STATES: readonly string[] = [
    "backing-up",
    "configuring-enhanced-monitoring",
    "configuring-iam-database-auth",
    "configuring-log-exports",
    "maintenance",
    "modifying",
    "rebooting",
    "renaming",
    "resetting-master-credentials",
    "starting",
    "storage-optimization",
    "upgrading",
];

/**
 * The verdict on one reading. The snapshot and the instance are matched by
 * `DbiResourceId`, which RDS never reuses: an instance restored by hand under
 * the same identifier (rename the old one, restore into the name) is a new
 * resource, so a migration would run on a database the release did not back
 * up, and a resumed release would go on as if a migration had run on it.
 */
export function migrationReadiness(reading: DatabaseReading): Readiness {
    const { snapshot, instance, snapshotIdentifier, databaseIdentifier } = reading;
    if (!snapshot) return { verdict: "stop", reason: `the pre-release snapshot ${snapshotIdentifier} does not exist in RDS (deleted by hand?); no migration runs without its backup` };
    if (!instance) return { verdict: "stop", reason: `the database ${databaseIdentifier} does not exist in RDS` };
    if (snapshot.sourceResourceId !== undefined && snapshot.sourceResourceId !== instance.resourceId) {
        return {
            verdict: "stop",
            reason: `the database ${databaseIdentifier} (DbiResourceId ${instance.resourceId}) is not the instance the pre-release snapshot ${snapshotIdentifier} was taken of (${snapshot.sourceResourceId}): it was restored or replaced by hand`,
        };
    }
    if (snapshot.status === "creating") return { verdict: "wait", reason: `the pre-release snapshot ${snapshotIdentifier} is still creating${snapshot.percentProgress !== undefined ? ` (${snapshot.percentProgress}%)` : ""}` };
    if (snapshot.status !== "available") return { verdict: "stop", reason: `the pre-release snapshot ${snapshotIdentifier} is ${snapshot.status}, not available; no migration runs without its backup` };
    if (instance.status === "available") return { verdict: "go" };
    if (TRANSIENT_INSTANCE_STATES.includes(instance.status)) return { verdict: "wait", reason: `the database ${databaseIdentifier} is ${instance.status}` };
    return { verdict: "stop", reason: `the database ${databaseIdentifier} is ${instance.status}, not available` };
}
