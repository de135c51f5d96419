// Runs the release's migration task to its end: start, poll, stop on timeout, and the evidence (exit code, duration, logs link).
import type { Clock } from "../ports/ports";
import { TaskLaunch, TaskLaunchFailed, TaskPort, TaskState } from "../ports/tasks";

/** Where the migration task runs: the stack's `migration` output plus the region. */
export interface MigrationTarget {
    /** `ecs`: a Fargate task; `kubernetes`: a Job on the EKS cluster. @default "ecs" */
    readonly platform?: "ecs" | "kubernetes";
    /** The ECS cluster; on Kubernetes, the namespace. */
    readonly cluster: string;
    /** The task definition family (RunTask takes its latest ACTIVE revision, the one the release registered); on Kubernetes, the CronJob holding the job template. */
    readonly family: string;
    readonly containerName: string;
    /** The private subnets (ECS only; pods get theirs from the cluster). */
    readonly subnetIds: readonly string[];
    /** ECS only. */
    readonly securityGroupId?: string;
    /** ECS only: the awslogs group and stream prefix. */
    readonly logGroupName?: string;
    readonly logStreamPrefix?: string;
    readonly region: string;
}

/** One run of a migration command. */
export interface MigrationRunRequest {
    /** `up` runs `command`; `down` runs `downCommand` (only on `shiftwise rollback --migrate-down`). */
    readonly direction: "up" | "down";
    readonly command: readonly string[];
    readonly timeoutMinutes: number;
    /** Recorded on the task, e.g. `shiftwise/production/v1.5.0`. */
    readonly startedBy: string;
    /** Identifies the run across a driver restart (the record id and direction); see `TaskLaunch.runId`. @default startedBy */
    readonly runId?: string;
}

/** `running` is what the record holds while the driver waits: a process that died then left it there, with the task's ARN. */
export type MigrationOutcome = "running" | "succeeded" | "failed" | "timed-out" | "never-started" | "lost" | "interrupted";

/** What the record keeps of a migration run. */
export interface MigrationResult {
    readonly direction: "up" | "down";
    readonly command: readonly string[];
    readonly outcome: MigrationOutcome;
    readonly taskArn?: string;
    readonly exitCode?: number;
    readonly lastStatus?: string;
    /** ECS's stoppedReason, the container's reason, or why shiftwise stopped it. */
    readonly reason?: string;
    readonly startedAt: string;
    readonly finishedAt: string;
    readonly durationSeconds: number;
    /** The CloudWatch Logs console page of the task's log stream; on Kubernetes, the `kubectl logs` command. */
    readonly logsUrl?: string;
    /** Set when shiftwise stopped the task (abort, signal, timeout, rollback): what it sent and what ECS showed after. */
    readonly stop?: MigrationStop;
}

/** What shiftwise did to stop a migration task, and what DescribeTasks showed within the bounded wait after. */
export interface MigrationStop {
    /** The reason sent with StopTask: the release and who or what stopped it. */
    readonly reason: string;
    readonly requestedAt: string;
    /** StopTask itself failed; the task may still run. */
    readonly stopTaskError?: string;
    /** True once DescribeTasks showed the task STOPPED within the wait. */
    readonly confirmed: boolean;
    /** The read answered without the task: ECS no longer knows it (it keeps stopped tasks about an hour), or the Job was deleted; it does not run there. */
    readonly unknownToEcs?: true;
    /** The last status read; undefined when ECS did not know the task or could not be read. */
    readonly lastStatus?: string;
    readonly stopCode?: string;
    /** The container's exit code, when it exited (143 after SIGTERM, 137 after SIGKILL, 0 when it had just finished). */
    readonly exitCode?: number;
    readonly waitedSeconds: number;
}

/**
 * How long shiftwise waits for a task it stopped to show STOPPED. ECS sends
 * SIGTERM, then SIGKILL after the container's `stopTimeout` (Fargate: 30 s by
 * default, at most 120 s; ECS API Reference, ContainerDefinition), then
 * deprovisions the task's network interface before it reports STOPPED.
 */
export const STOP_WAIT_MS = 180_000;

export interface MigrationRunOptions {
    /** Milliseconds between DescribeTasks calls. @default 10000 */
    readonly pollMs?: number;
    /** Consecutive failed reads before the task counts as lost (the SDK already retries each call). @default 5 */
    readonly readErrorBudget?: number;
    /** Stops the wait: the task is stopped (SIGTERM, then SIGKILL after its stopTimeout) and the run is `interrupted`. */
    readonly signal?: AbortSignal;
    /** Called with a progress line at every poll. */
    readonly onProgress?: (line: string) => void;
    /**
     * Runs at every poll (the driver's lease heartbeat and ledger requests). When
     * it throws, the task is stopped and `MigrationStopped` carries the result
     * and the error. @default none
     */
    readonly onPoll?: () => Promise<void>;
    /** Called once RunTask returned a task, with the `running` result to record before the wait, so a resumed driver finds the task. @default none */
    readonly onStarted?: (running: MigrationResult) => void;
    /** Who runs the driver (`alice@ci-runner-7`), named in the StopTask reason when a signal stops the task. @default none */
    readonly runBy?: string;
    /** Milliseconds to wait for a task shiftwise stopped to show STOPPED. @default STOP_WAIT_MS */
    readonly stopWaitMs?: number;
}

/** A task that was started (now, or by a driver that died): its ARN and when RunTask was called. */
export interface StartedMigration {
    readonly taskArn: string;
    readonly startedAt: Date;
}

/** The wait was stopped by the driver's poll check (an abort request, a lost lease): the task was stopped. */
export class MigrationStopped extends Error {
    constructor(
        readonly result: MigrationResult,
        readonly cause: unknown,
    ) {
        super(result.reason ?? "the migration was stopped");
    }
}

/** Runs the migration task and waits for its end; never throws for the task's own failures, only returns them. */
export async function runMigration(tasks: TaskPort, clock: Clock, target: MigrationTarget, request: MigrationRunRequest, options: MigrationRunOptions = {}): Promise<MigrationResult> {
    const started = clock.now();
    const launch: TaskLaunch = {
        cluster: target.cluster,
        taskDefinition: target.family,
        containerName: target.containerName,
        command: request.command,
        subnetIds: target.subnetIds,
        securityGroupIds: target.securityGroupId ? [target.securityGroupId] : [],
        startedBy: request.startedBy,
        ...(request.runId ? { runId: request.runId } : {}),
    };
    let taskArn: string;
    try {
        taskArn = await tasks.runTask(launch);
    } catch (error) {
        const reason = error instanceof TaskLaunchFailed ? error.message : `RunTask failed: ${(error as Error).message}`;
        return resultOf(clock, request, started, { outcome: "never-started", reason });
    }
    options.onStarted?.(resultOf(clock, request, started, { outcome: "running", taskArn, logsUrl: migrationLogs(target, taskArn) }));
    return waitForMigration(tasks, clock, target, request, { taskArn, startedAt: started }, options);
}

/** The result of a run that started at `started`, finished now. */
function resultOf(clock: Clock, request: MigrationRunRequest, started: Date, fields: Omit<MigrationResult, "direction" | "command" | "startedAt" | "finishedAt" | "durationSeconds">): MigrationResult {
    const finished = clock.now();
    return {
        direction: request.direction,
        command: request.command,
        ...fields,
        startedAt: started.toISOString(),
        finishedAt: finished.toISOString(),
        durationSeconds: Math.round((finished.getTime() - started.getTime()) / 1000),
    };
}

/**
 * Waits for a started migration task to end: the one `runMigration` just
 * started, or the one a driver that died had started (`shiftwise resume`
 * re-attaches instead of starting the migration twice). The deadline counts
 * from when the task was started, not from now.
 */
export async function waitForMigration(tasks: TaskPort, clock: Clock, target: MigrationTarget, request: MigrationRunRequest, run: StartedMigration, options: MigrationRunOptions = {}): Promise<MigrationResult> {
    const { taskArn, startedAt: started } = run;
    const finish = (fields: Omit<MigrationResult, "direction" | "command" | "startedAt" | "finishedAt" | "durationSeconds">) => resultOf(clock, request, started, fields);
    const logsUrl = migrationLogs(target, taskArn);
    const deadline = started.getTime() + request.timeoutMinutes * 60_000;
    const budget = options.readErrorBudget ?? 5;
    let failedReads = 0;
    let last: TaskState | undefined;
    let lastError = "";
    const stopWait = { waitMs: options.stopWaitMs ?? STOP_WAIT_MS, pollMs: options.pollMs ?? 10_000 };
    for (;;) {
        if (options.signal?.aborted) {
            const why = `interrupted by ${signalName(options.signal)}${options.runBy ? ` to the driver run by ${options.runBy}` : ""}`;
            const stop = await stopAndConfirm(tasks, clock, target.cluster, taskArn, stopReason(request, why), stopWait);
            return finish({ outcome: "interrupted", taskArn, lastStatus: stop.lastStatus ?? last?.lastStatus, reason: `${why}; ${describeStop(stop)}`, logsUrl, stop });
        }
        try {
            await options.onPoll?.();
        } catch (error) {
            const why = (error as Error).message;
            const stop = await stopAndConfirm(tasks, clock, target.cluster, taskArn, stopReason(request, why), stopWait);
            const reason = `stopped by the driver: ${why}; ${describeStop(stop)}`;
            throw new MigrationStopped(finish({ outcome: "interrupted", taskArn, lastStatus: stop.lastStatus ?? last?.lastStatus, reason, logsUrl, stop }), error);
        }
        try {
            const state = await tasks.describeTask(target.cluster, taskArn);
            // DescribeTasks shows a stopped task "for at least one hour" (ECS API Reference, DescribeTasks): one that ended long before, or never existed, is gone.
            if (!state) throw new Error(target.platform === "kubernetes" ? `the cluster has no Job ${taskArn} in namespace ${target.cluster}: deleted, or removed by its ttlSecondsAfterFinished` : `ECS does not know the task ${taskArn} (it shows stopped tasks for about an hour, so its exit code cannot be read)`);
            last = state;
            failedReads = 0;
        } catch (error) {
            failedReads += 1;
            lastError = (error as Error).message;
            if (failedReads >= budget) {
                // The release stops here, so the task must not go on migrating unwatched: stop it in case it still runs.
                const stop = await stopAndConfirm(tasks, clock, target.cluster, taskArn, stopReason(request, `the driver lost sight of the migration task after ${failedReads} failed reads`), stopWait);
                return finish({ outcome: "lost", taskArn, lastStatus: stop.lastStatus ?? last?.lastStatus, reason: `could not read the task ${failedReads} times in a row (${lastError}); ${describeStop(stop)}`, logsUrl, stop });
            }
        }
        if (last?.lastStatus === "STOPPED") return finish(stoppedOutcome(last, logsUrl));
        const elapsedMinutes = (clock.now().getTime() - started.getTime()) / 60_000;
        options.onProgress?.(`migration: task ${taskId(taskArn)} ${last?.lastStatus ?? "unread"} for ${elapsedMinutes.toFixed(1)}/${request.timeoutMinutes} min`);
        if (clock.now().getTime() >= deadline) {
            // Only a task read without a start time never started; an unread one (a resumed driver, ECS that forgot it) may have run.
            const read = last;
            const stop = await stopAndConfirm(tasks, clock, target.cluster, taskArn, stopReason(request, `the migration timed out after ${request.timeoutMinutes} min`), stopWait);
            const what =
                read === undefined
                    ? `never read after ${request.timeoutMinutes} min (${lastError}): it may have run, and may still run`
                    : read.startedAt === undefined
                      ? `the task never started within ${request.timeoutMinutes} min (last status ${read.lastStatus}${read.containerReason ? `: ${read.containerReason}` : ""})`
                      : `still ${read.lastStatus} after ${request.timeoutMinutes} min (database.migration.timeoutMinutes)`;
            const outcome = read === undefined ? "lost" : read.startedAt === undefined ? "never-started" : "timed-out";
            return finish({ outcome, taskArn, lastStatus: stop.lastStatus ?? last?.lastStatus, reason: `${what}; ${describeStop(stop)}`, logsUrl, stop });
        }
        await clock.sleep(options.pollMs ?? 10_000, options.signal).catch(() => undefined);
    }
}

/**
 * The outcome of a stopped task: exit 0 succeeded; another code failed; no
 * code means the container never ran or was killed. A task someone stopped
 * (StopTask, `stopCode` UserInitiated: the console, the CLI, another process)
 * failed whatever its exit code: a migration that trapped SIGTERM and exited 0
 * did not finish. A Kubernetes Job its `activeDeadlineSeconds` ended
 * (`DeadlineExceeded`) timed out, or never started if its container never ran.
 */
export function stoppedOutcome(state: TaskState, logsUrl: string): Omit<MigrationResult, "direction" | "command" | "startedAt" | "finishedAt" | "durationSeconds"> {
    const reason = [state.stoppedReason, state.containerReason].filter((text) => text !== undefined && text !== "").join("; ") || undefined;
    const base = { taskArn: state.taskArn, lastStatus: state.lastStatus, logsUrl, ...(reason ? { reason } : {}) };
    const exit = state.exitCode !== undefined ? { exitCode: state.exitCode } : {};
    if (state.stopCode === "UserInitiated") return { ...base, ...exit, outcome: "failed", reason: `stopped by someone before it finished (UserInitiated${reason ? `: ${reason}` : ""})` };
    if (state.stopCode === "DeadlineExceeded") return { ...base, ...exit, outcome: state.startedAt === undefined ? "never-started" : "timed-out" };
    if (state.exitCode === 0) return { ...base, outcome: "succeeded", exitCode: 0 };
    if (state.exitCode !== undefined) return { ...base, outcome: "failed", exitCode: state.exitCode };
    return { ...base, outcome: state.startedAt === undefined ? "never-started" : "failed" };
}

/** The StopTask reason: the release (`startedBy`, e.g. `shiftwise/production/v1.5.0`) and why. */
export function stopReason(request: Pick<MigrationRunRequest, "startedBy">, why: string): string {
    return `${request.startedBy}: ${why}`;
}

/** `SIGINT` or `SIGTERM` when the abort carried the signal's name (the CLI does), else `a signal`. */
function signalName(signal: AbortSignal): string {
    const reason: unknown = signal.reason;
    return reason instanceof Error && /^SIG[A-Z]+$/.test(reason.message) ? reason.message : "a signal";
}

/**
 * StopTask, then DescribeTasks every `pollMs` until ECS shows the task
 * STOPPED or `waitMs` passed. Never throws: a failed StopTask or read is
 * recorded, and `confirmed` stays false, so the caller says the task may still run.
 */
export async function stopAndConfirm(tasks: TaskPort, clock: Clock, cluster: string, taskArn: string, reason: string, wait: { readonly waitMs: number; readonly pollMs: number }): Promise<MigrationStop> {
    const from = clock.now();
    let stopTaskError: string | undefined;
    try {
        await tasks.stopTask(cluster, taskArn, reason);
    } catch (error) {
        stopTaskError = (error as Error).message;
    }
    let state: TaskState | undefined;
    let unknown = false;
    for (;;) {
        try {
            state = await tasks.describeTask(cluster, taskArn);
            unknown = state === undefined;
        } catch {
            state = undefined;
        }
        // A task ECS answers for but does not know is not running there: nothing to wait for.
        if (unknown || state?.lastStatus === "STOPPED" || clock.now().getTime() - from.getTime() >= wait.waitMs) break;
        await clock.sleep(wait.pollMs).catch(() => undefined);
    }
    return {
        reason,
        requestedAt: from.toISOString(),
        ...(stopTaskError !== undefined ? { stopTaskError } : {}),
        confirmed: state?.lastStatus === "STOPPED",
        ...(unknown ? { unknownToEcs: true } : {}),
        ...(state ? { lastStatus: state.lastStatus } : {}),
        ...(state?.stopCode ? { stopCode: state.stopCode } : {}),
        ...(state?.exitCode !== undefined ? { exitCode: state.exitCode } : {}),
        waitedSeconds: Math.round((clock.now().getTime() - from.getTime()) / 1000),
    };
}

/** One line on a stop: confirmed, or why the task may still run. */
export function describeStop(stop: MigrationStop): string {
    const failed = stop.stopTaskError !== undefined ? `StopTask failed (${stop.stopTaskError})` : "StopTask sent";
    if (stop.confirmed) return `${failed}; ECS showed it STOPPED after ${stop.waitedSeconds} s${stop.exitCode !== undefined ? ` (exit code ${stop.exitCode})` : ""}`;
    if (stop.unknownToEcs) return `${failed}; the task is no longer known, so it does not run there`;
    const seen = stop.lastStatus !== undefined ? `still ${stop.lastStatus}` : "not readable";
    return `${failed}; ${seen} after ${stop.waitedSeconds} s: it may still be running`;
}

/** The task id: the last segment of its ARN. */
export function taskId(taskArn: string): string {
    return taskArn.split("/").pop() ?? taskArn;
}

/** Where the run's logs are: the CloudWatch Logs console page on ECS, the `kubectl logs` command of the Job on Kubernetes. */
export function migrationLogs(target: MigrationTarget, taskArn: string): string {
    if (target.platform === "kubernetes") return `kubectl logs job/${taskArn} -n ${target.cluster} -c ${target.containerName}`;
    return logsConsoleUrl(target, taskArn);
}

/**
 * The CloudWatch Logs console page of the task's stream. The awslogs driver
 * names streams `<prefix>/<container>/<task id>`; the console's fragment
 * encodes each path twice and writes `%` as `$`.
 */
export function logsConsoleUrl(target: Pick<MigrationTarget, "region" | "logGroupName" | "logStreamPrefix" | "containerName">, taskArn: string): string {
    const encode = (text: string) => encodeURIComponent(encodeURIComponent(text)).replace(/%/g, "$");
    const stream = `${target.logStreamPrefix ?? ""}/${target.containerName}/${taskId(taskArn)}`;
    return `https://${target.region}.console.aws.amazon.com/cloudwatch/home?region=${target.region}#logsV2:log-groups/log-group/${encode(target.logGroupName ?? "")}/log-events/${encode(stream)}`;
}

/** One line for a result: what happened, the exit code, the duration and where the logs are. */
export function describeMigration(result: MigrationResult): string {
    const code = result.exitCode !== undefined ? `, exit code ${result.exitCode}` : "";
    const why = result.reason ? ` (${result.reason})` : "";
    const logs = result.logsUrl ? `; logs: ${result.logsUrl}` : "";
    return `migration ${result.direction} ${result.outcome}${code} in ${result.durationSeconds} s${why}${logs}`;
}
