// A migration task that outlives its release: the restore advice after a stopped or failed migration, and `shiftwise rollback` stopping a task its dead (or forced-out) driver left running.
import type { Clock, StackPort } from "../ports/ports";
import type { TaskPort } from "../ports/tasks";
import { sectionOf } from "./configPaths";
import { MigrationResult, STOP_WAIT_MS, describeMigration, describeStop, stopAndConfirm, stopReason, stoppedOutcome } from "./migration";
import type { DeploymentRecord, RecordStore } from "./records";
import type { Reporter } from "./reporter";

/** Where the release's snapshot and migration stand, for the advice after a failure. */
export interface RestoreAdviceInput {
    /** The stack's `preReleaseSnapshot` output (`identifier`, `restoreCommand`). */
    readonly snapshot?: { readonly identifier?: string; readonly restoreCommand?: string } | null;
    /** `database.migration.downCommand` is configured. */
    readonly downCommand: boolean;
    readonly stack: string;
    readonly logsUrl?: string;
}

/**
 * What to do once the schema may be half-migrated or holds the new schema:
 * restore the pre-release snapshot (the exact command when the stack has it),
 * or run the down-migration when one is configured, and where the logs are.
 */
export function restoreAdvice(situation: string, input: RestoreAdviceInput): string {
    const snapshot = input.snapshot ?? {};
    const restore = snapshot.restoreCommand ? `restore the pre-release snapshot ${snapshot.identifier} with:\n  ${snapshot.restoreCommand}` : "restore the pre-release snapshot (`pulumi stack output preReleaseSnapshot` has the command)";
    const down = input.downCommand ? `\nor undo the migration: shiftwise rollback --stack ${input.stack} --migrate-down` : "";
    const logs = input.logsUrl ? `\nmigration logs: ${input.logsUrl}` : "";
    return `${situation}; ${restore}${down}${logs}`;
}

/** What `stopRecordedMigration` needs. */
export interface MigrationStopDeps {
    readonly stack: StackPort;
    readonly clock: Clock;
    readonly records: RecordStore;
    readonly reporter: Reporter;
    /** The task runner; without one a running task can only be reported. @default none */
    readonly tasks?: TaskPort;
    /** Milliseconds between DescribeTasks calls while waiting for the stop. @default 10000 */
    readonly migrationPollMs?: number;
    /** Milliseconds to wait for the stopped task to show STOPPED. @default STOP_WAIT_MS */
    readonly migrationStopWaitMs?: number;
}

/**
 * A rollback of a release whose record still says its migration task runs
 * (the driver that started it died, or lost the lease to this rollback):
 * StopTask with the release and who asked, a bounded wait for STOPPED, and the
 * record's migration marked `interrupted` with what ECS showed. Returns the
 * line for the rollback's message, or undefined when no migration was running.
 * Never throws and never blocks the rollback: a task it cannot stop is named
 * with the command to stop it by hand. Touches no snapshot.
 */
export async function stopRecordedMigration(deps: MigrationStopDeps, record: DeploymentRecord, by: string): Promise<string | undefined> {
    const running = record.migration;
    if (running?.outcome !== "running" || !running.taskArn) return undefined;
    const outputs = await deps.stack.outputs().catch(() => ({}) as Record<string, unknown>);
    const cluster = migrationCluster(outputs) ?? migrationCluster(record.checkpoint.outputs);
    const advice: RestoreAdviceInput = { snapshot: outputs.preReleaseSnapshot as RestoreAdviceInput["snapshot"], downCommand: await hasDownCommand(deps.stack), stack: record.stack, logsUrl: running.logsUrl };
    const half = (situation: string) => restoreAdvice(`${situation}; the schema may be half-migrated`, advice);
    if (!deps.tasks || !cluster) {
        const platform = (outputs.migration as { platform?: "kubernetes" } | undefined)?.platform;
        const line = `the migration task ${running.taskArn} of ${record.version} may still be running and cannot be stopped from here (${deps.tasks ? "no migration cluster in the stack outputs" : "no task runner"}): stop it with \`${stopByHand(platform, cluster ?? "<cluster>", running.taskArn)}\``;
        deps.reporter.line("migration", line);
        return half(line);
    }
    const settled = await settleTask({ ...deps, tasks: deps.tasks }, record, cluster, by);
    deps.records.save(record);
    deps.reporter.line("migration", settled.line);
    return settled.succeeded ? restoreAdvice(`${settled.line}; the database holds the new schema`, advice) : half(settled.line);
}

/**
 * Reads the recorded task first: one that ended by itself after its driver
 * died is judged by its own exit (stoppedOutcome); one that runs is stopped
 * and waited for. Either way `record.migration` gets what ECS showed.
 */
async function settleTask(deps: MigrationStopDeps & { readonly tasks: TaskPort }, record: DeploymentRecord, cluster: string, by: string): Promise<{ line: string; succeeded: boolean }> {
    const running = record.migration!;
    const taskArn = running.taskArn!;
    const finish = (fields: Pick<MigrationResult, "outcome" | "reason" | "lastStatus" | "exitCode" | "stop">): MigrationResult => {
        const finished = deps.clock.now();
        return { ...running, ...definedOnly(fields), finishedAt: finished.toISOString(), durationSeconds: Math.round((finished.getTime() - Date.parse(running.startedAt)) / 1000) };
    };
    const before = await deps.tasks.describeTask(cluster, taskArn).catch(() => undefined);
    if (before?.lastStatus === "STOPPED") {
        record.migration = finish(stoppedOutcome(before, running.logsUrl ?? ""));
        return { line: `the migration task ${taskArn} of ${record.version}, recorded as running, had ended: ${describeMigration(record.migration)}`, succeeded: record.migration.outcome === "succeeded" };
    }
    const reason = stopReason({ startedBy: `shiftwise/${record.stack}/${record.version}` }, `rollback requested by ${by}`);
    const stop = await stopAndConfirm(deps.tasks, deps.clock, cluster, taskArn, reason, { waitMs: deps.migrationStopWaitMs ?? STOP_WAIT_MS, pollMs: deps.migrationPollMs ?? 10_000 });
    const what = `stopped by the rollback ${by} requested; ${describeStop(stop)}`;
    record.migration = finish({ outcome: "interrupted", reason: what, lastStatus: stop.lastStatus, exitCode: stop.exitCode, stop });
    return { line: `the migration task ${taskArn} of ${record.version} was still running: ${what}`, succeeded: false };
}

/** `fields` without its undefined values, so a record never holds `"exitCode": undefined` beside an older value. */
function definedOnly<T extends object>(fields: T): Partial<T> {
    return Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== undefined)) as Partial<T>;
}

/** Where the stack's `migration` output runs tasks: the ECS cluster, or on Kubernetes the Job's namespace. */
function migrationCluster(outputs: Record<string, unknown>): string | undefined {
    const output = outputs.migration as { platform?: unknown; clusterArn?: unknown; namespace?: unknown } | null | undefined;
    const cluster = output?.platform === "kubernetes" ? output.namespace : output?.clusterArn;
    return typeof cluster === "string" && cluster !== "" ? cluster : undefined;
}

/** The command that stops a migration task by hand: StopTask on ECS, deleting the Job on Kubernetes. */
export function stopByHand(platform: "ecs" | "kubernetes" | undefined, cluster: string, taskArn: string): string {
    return platform === "kubernetes" ? `kubectl delete job ${taskArn} --namespace ${cluster} --cascade=foreground` : `aws ecs stop-task --cluster ${cluster} --task ${taskArn}`;
}

/** Whether the stack config now (the release's, before the rollback restores the checkpoint) configures a down command. */
async function hasDownCommand(stack: StackPort): Promise<boolean> {
    try {
        return sectionOf<{ migration?: { downCommand?: unknown } }>(await stack.getAllConfig(), "database")?.migration?.downCommand !== undefined;
    } catch {
        return false;
    }
}
