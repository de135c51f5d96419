// When the maintenance page must stay up after a `deploy --maintenance` migration: the rule the driver, rollback and `shiftwise maintenance off` share.
import type { DeploymentRecord, RecordStore } from "./records";

/** The migration of `record` may have changed the schema: it started (or may have), and nobody restored the schema since. */
export function migrationMayHaveRun(record: Pick<DeploymentRecord, "migration">): boolean {
    const migration = record.migration;
    return migration !== undefined && migration.direction === "up" && migration.outcome !== "never-started";
}

/**
 * True when `record` is a `deploy --maintenance` release whose migration may
 * have run and whose schema was not restored since: neither the driver nor a
 * rollback may route users to the old colour; the page stays (or goes back) up.
 */
export function pageMustStay(record: Pick<DeploymentRecord, "maintenance" | "migration">): boolean {
    return record.maintenance !== undefined && record.maintenance.schemaRestored === undefined && migrationMayHaveRun(record);
}

/** The release held behind the maintenance page right now (the latest unfinished record, held, whose page must stay), if any. */
export function heldBehindPage(records: Pick<RecordStore, "unfinished">): DeploymentRecord | undefined {
    const record = records.unfinished();
    return record?.status === "held" && pageMustStay(record) ? record : undefined;
}
