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
}

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
    for (;;) {
        if (options.signal?.aborted) {
            await stopQuietly(tasks, target.cluster, taskArn, "shiftwise: the deployment was interrupted");
            return finish({ outcome: "interrupted", taskArn, lastStatus: last?.lastStatus, reason: "interrupted by a signal; StopTask sent", logsUrl });
        }
        try {
            await options.onPoll?.();
        } catch (error) {
            await stopQuietly(tasks, target.cluster, taskArn, "shiftwise: the deployment was stopped");
            const reason = `stopped by the driver: ${(error as Error).message}; StopTask sent`;
            throw new MigrationStopped(finish({ outcome: "interrupted", taskArn, lastStatus: last?.lastStatus, reason, logsUrl }), error);
        }
        try {
            const state = await tasks.describeTask(target.cluster, taskArn);
            if (!state) throw new Error(target.platform === "kubernetes" ? `the cluster has no Job ${taskArn} in namespace ${target.cluster}: deleted, or removed by its ttlSecondsAfterFinished` : `ECS does not know the task ${taskArn}`);
            last = state;
            failedReads = 0;
        } catch (error) {
            failedReads += 1;
            lastError = (error as Error).message;
            if (failedReads >= budget) {
                return finish({ outcome: "lost", taskArn, lastStatus: last?.lastStatus, reason: `could not read the task ${failedReads} times in a row (${lastError}); it may still be running`, logsUrl });
            }
        }
        if (last?.lastStatus === "STOPPED") return finish(stoppedOutcome(last, logsUrl));
        const elapsedMinutes = (clock.now().getTime() - started.getTime()) / 60_000;
        options.onProgress?.(`migration: task ${taskId(taskArn)} ${last?.lastStatus ?? "unread"} for ${elapsedMinutes.toFixed(1)}/${request.timeoutMinutes} min`);
        if (clock.now().getTime() >= deadline) {
            const neverRan = last?.startedAt === undefined;
            await stopQuietly(tasks, target.cluster, taskArn, `shiftwise: the migration timed out after ${request.timeoutMinutes} min`);
            return finish({
                outcome: neverRan ? "never-started" : "timed-out",
                taskArn,
                lastStatus: last?.lastStatus,
                reason: neverRan
                    ? `the task never started within ${request.timeoutMinutes} min (last status ${last?.lastStatus ?? "unknown"}${last?.containerReason ? `: ${last.containerReason}` : ""}); StopTask sent`
                    : `still ${last?.lastStatus} after ${request.timeoutMinutes} min (database.migration.timeoutMinutes); StopTask sent`,
                logsUrl,
            });
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

/** StopTask, ignoring its failure: the caller's result already says the task may still run. */
export async function stopQuietly(tasks: TaskPort, cluster: string, taskArn: string, reason: string): Promise<void> {
    try {
        await tasks.stopTask(cluster, taskArn, reason);
    } catch {
        // The result already says the task may still run, with its ARN and logs.
    }
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
