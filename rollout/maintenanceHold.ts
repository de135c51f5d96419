// Holding a `deploy --maintenance` release behind its maintenance page: putting the page back, and what a person does next (when the page must stay up is rollout/pageRule.ts).
import type { Colour } from "../config";
import { sectionOf } from "./configPaths";
import { ExitCode, ExitCodeValue } from "./exitCodes";
import { setMaintenance } from "./maintenance";
import type { AwsPort, Clock, StackPort } from "../ports/ports";
import type { DeploymentRecord, RecordStore } from "./records";
import { silentReporter } from "./reporter";
import { pageMustStay } from "./pageRule";
import type { Reporter } from "./reporter";
import { driverOutputs } from "./stackView";

/**
 * A migration that is not backwards compatible leaves a schema the old colour
 * is not expected to work on. From the moment such a migration may have run
 * until the schema is restored, routing users to the old colour is worse than
 * the maintenance page: the release (or a later rollback of it) is held
 * behind the page instead, and a person restores the database.
 */

/** What holding the page needs. */
export interface HoldDeps {
    readonly stack: StackPort;
    readonly aws: AwsPort;
    readonly clock: Clock;
    readonly records: RecordStore;
    readonly reporter: Reporter;
    /** Who asked, for the maintenance entry (`records/<stack>/maintenance`). */
    readonly by: { readonly user: string; readonly host: string };
}

/** The ELB default action type of the maintenance page (a 503 fixed response). */
export const PAGE_ACTION = "fixed-response";

/** How many times (5 s apart) AWS is read before the listener counts as not showing the expected action. */
export const PAGE_READS = 3;

/** Reads the listener in AWS until its default action is `expected` (at most `PAGE_READS` reads); returns the last action read. */
export async function awaitListenerAction(aws: AwsPort, clock: Clock, listenerArn: string, expected: string): Promise<string> {
    let action = "";
    for (let read = 0; read < PAGE_READS; read++) {
        if (read > 0) await clock.sleep(5000);
        action = await aws.listenerAction(listenerArn);
        if (action === expected) return action;
    }
    return action;
}

/** What holding did. */
export interface HoldOutcome {
    readonly exitCode: ExitCodeValue;
    readonly message: string;
}

/**
 * Keeps the maintenance page of `record`'s release up, or puts it back up (one
 * previewed listener-only update, as `shiftwise maintenance on`), and records
 * the hold. It never touches the weights: users stay on the page. Returns exit
 * 7 (`held`) with what to do, or exit 6 when the page could not be put back.
 */
export async function holdBehindPage(deps: HoldDeps, record: DeploymentRecord, reason: string): Promise<HoldOutcome> {
    const window = record.maintenance!;
    const listenerArn = driverOutputs(record.checkpoint.outputs).listenerArn;
    let page: "kept up" | "put back up" = "kept up";
    let changed: readonly string[] | undefined;
    try {
        if ((await deps.aws.listenerAction(listenerArn)) !== PAGE_ACTION) {
            page = "put back up";
            const outcome = await setMaintenance({ stack: deps.stack, clock: deps.clock, reporter: silentReporter, recordsDir: deps.records.dir, by: deps.by }, { enabled: true, reason: window.reason });
            changed = outcome.entry.changed;
            if (outcome.exitCode !== ExitCode.success) throw new Error(outcome.message);
            const action = await awaitListenerAction(deps.aws, deps.clock, listenerArn, PAGE_ACTION);
            if (action !== PAGE_ACTION) throw new Error(`the listener in AWS still answers with ${action} after the maintenance update`);
        }
    } catch (error) {
        record.maintenance = { ...window, held: { at: deps.clock.now().toISOString(), reason, page: "could not be put back up", ...(changed ? { changed } : {}) } };
        record.status = "rollback-failed";
        deps.records.save(record);
        const message = `${reason}\nthe maintenance page could not be put back up: ${(error as Error).message}\nusers may be served by a colour that does not work on the schema the migration left; put the page up now: shiftwise maintenance on --stack ${record.stack} --reason ${JSON.stringify(window.reason)} (if shiftwise:maintenance is already on and AWS still forwards, the listener was changed outside Pulumi: \`pulumi up --refresh --stack ${record.stack}\` puts the page back)`;
        deps.reporter.line("maintenance", `FAILED to hold the release behind the page: ${(error as Error).message}`);
        return { exitCode: ExitCode.rollbackFailed, message };
    }
    record.maintenance = { ...window, held: { at: deps.clock.now().toISOString(), reason, page, ...(changed ? { changed } : {}) } };
    record.status = "held";
    deps.records.save(record);
    deps.reporter.line("maintenance", `held: the maintenance page is ${page} (${window.reason}); no user is routed to a colour`);
    return { exitCode: ExitCode.held, message: `${reason}\n${await nextSteps(deps.stack, record, page)}` };
}

/**
 * `shiftwise rollback` of a `deploy --maintenance` release: while its schema
 * may be one the old colour cannot serve (`pageMustStay`), the rollback does
 * not restore the old colour's traffic; it holds the release behind the page
 * (exit 7) and says how to restore the database. `schemaRestored` is a
 * person's word that the database is back on the old schema (`--schema-restored
 * "<how>"`): it is recorded, and the rollback goes on. Returns undefined when
 * the rollback may go on.
 */
export async function maintenanceRollbackGate(deps: HoldDeps, record: DeploymentRecord, schemaRestored: string | undefined): Promise<HoldOutcome | undefined> {
    if (schemaRestored !== undefined) {
        if (!record.maintenance) return { exitCode: ExitCode.invalid, message: `--schema-restored is for a deploy --maintenance release; ${record.id} is not one, so a rollback restores its checkpoint as usual; nothing was changed` };
        if (!schemaRestored.trim()) return { exitCode: ExitCode.invalid, message: '--schema-restored needs to say how the schema was restored, e.g. "snapshot shop-production-pre-v1-6-0 restored as shop-production"; nothing was changed' };
        record.maintenance.schemaRestored ??= { at: deps.clock.now().toISOString(), by: deps.by.user, how: schemaRestored.trim() };
        deps.records.save(record);
        return undefined;
    }
    if (!pageMustStay(record)) return undefined;
    const old = record.stable;
    deps.reporter.line("rollback", `refused to route users to ${old}: the migration of ${record.id} is not backwards compatible`);
    return holdBehindPage(deps, record, `rollback of ${record.id} requested by ${deps.by.user}: not restoring ${old}'s traffic, since ${old} (${record.checkpoint.versions[old]}) is not expected to work on the schema the migration left`);
}

/**
 * What a person does about a held release: restore the snapshot (its command
 * from the stack outputs) or run the down-migration behind the page, and what
 * takes the page down afterwards. Never throws.
 */
export async function nextSteps(stack: StackPort, record: DeploymentRecord, page: "kept up" | "put back up" | "up"): Promise<string> {
    const old = record.stable;
    let restore = "restore the pre-release snapshot (`pulumi stack output preReleaseSnapshot` has the command)";
    let serving = "";
    try {
        const snapshot = ((await stack.outputs()).preReleaseSnapshot ?? {}) as { identifier?: string; restoreCommand?: string };
        if (snapshot.restoreCommand) restore = `restore the pre-release snapshot ${snapshot.identifier} with:\n       ${snapshot.restoreCommand}`;
        const traffic = sectionOf<Record<Colour, number>>(await stack.getAllConfig(), "traffic");
        if (traffic) serving = ` (shiftwise:traffic: blue ${traffic.blue}%, green ${traffic.green}%)`;
    } catch {
        // The generic restore hint stands; the stack could not be read.
    }
    const stack_ = record.stack;
    return [
        `The maintenance page is ${page} (${record.maintenance?.reason}): the migration of ${record.version} may have changed the schema, and ${old} (${record.checkpoint.versions[old]}) is not expected to work on it, so no user is routed to ${old}.`,
        "To go back:",
        `  1. ${restore}`,
        `     then: shiftwise rollback --stack ${stack_} --schema-restored "<how>"   (restores the checkpoint; its listener update takes the page down)`,
        `  2. or undo the migration behind the page: shiftwise rollback --stack ${stack_} --migrate-down   (needs database.migration.downCommand)`,
        `\`shiftwise maintenance off --stack ${stack_}\` refuses while this release is held, since it routes users by shiftwise:traffic${serving}: either way above takes the page down once that is safe.`,
    ].join("\n");
}
