// What every rollout stage shares: the driver's ports and request, the stage errors, and the running deployment's context.
import type { Colour, StackConfig } from "../../config";
import { ExitCode, ExitCodeValue } from "../exitCodes";
import type { AwsPort, Clock, Fetcher, StackPort } from "../../ports/ports";
import type { TaskPort } from "../../ports/tasks";
import type { DatabaseStatePort } from "../../ports/databaseState";
import { DeploymentRecord, RecordStore, StageEntry, StepEntry, stageDurations } from "../records";
import type { Reporter } from "../reporter";
import { DriverOutputs, driverOutputs } from "../stackView";

export interface DriverDeps {
    readonly stack: StackPort;
    readonly aws: AwsPort;
    readonly fetcher: Fetcher;
    readonly clock: Clock;
    readonly records: RecordStore;
    readonly reporter: Reporter;
    /** The environment, for `startedBy` (CI variables). @default {} */
    readonly env?: Readonly<Record<string, string | undefined>>;
    /** Fires on SIGINT/SIGTERM: during prepare, shift or bake the driver rolls back. */
    readonly signal?: AbortSignal;
    /** Runs the release's migration task (ECS RunTask); required when `database.migration` is configured. @default none */
    readonly tasks?: TaskPort;
    /** Reads the pre-release snapshot and the database from RDS before the migration; required with `database.migration`. @default none */
    readonly database?: DatabaseStatePort;
    /** Milliseconds between DescribeTasks calls while the migration runs. @default 10000 */
    readonly migrationPollMs?: number;
    /** Milliseconds to wait for a migration task shiftwise stopped (abort, signal, timeout, rollback) to show STOPPED. @default 180000 (STOP_WAIT_MS) */
    readonly migrationStopWaitMs?: number;
    /** Milliseconds between target-health reads while waiting for the candidate. @default 15000 */
    readonly healthPollMs?: number;
    /** Milliseconds between smoke-check attempts. @default 5000 */
    readonly smokeRetryDelayMs?: number;
    /**
     * Checks run at every poll of every waiting stage (health wait, bake), after
     * the interrupt check: the seam for the lease heartbeat and ledger requests.
     * A check throws `GateFailed` to roll back or `Paused` to stop for a human.
     * @default []
     */
    readonly pollChecks?: readonly PollCheck[];
}

/** One check run at every poll; `where` names the stage (`bake 25%`, `prepare`). */
export type PollCheck = (context: RolloutContext, where: string) => Promise<void>;

export interface DeployRequest {
    readonly version: string;
    readonly image: string;
    /** Deploy inside a freeze window; the reason is recorded. */
    readonly hotfix?: string;
    /** Take the pre-release snapshot (`database.preReleaseSnapshot` = the version) before the candidate starts. */
    readonly migrationSnapshot?: boolean;
    /** The image the migration runs (`database.migration.image`); default: the release's `image`. */
    readonly migrationImage?: string;
    /**
     * `deploy --maintenance`: the reason the maintenance page shows. The page goes up after the snapshot and before
     * the migration, the stable soak is skipped, and traffic goes to the candidate at 100 % in one step before the page
     * comes down (rollout/stages/maintenance.ts). Needs `database.migration`. @default undefined (no maintenance window)
     */
    readonly maintenance?: string;
    /** Stop after the step with this percent, for `shiftwise resume`. */
    readonly pauseAt?: number;
    /** Base URL for smoke checks instead of the `testUrl` output (see smoke.ts on TLS). */
    readonly smokeBaseUrl?: string;
    /** Asked after pre-flight with a summary; false refuses. Absent means go on (`--yes`). */
    readonly confirm?: (summary: string) => Promise<boolean>;
}

/** What a command ended with. */
export interface DriverOutcome {
    readonly exitCode: ExitCodeValue;
    readonly message: string;
    readonly record?: DeploymentRecord;
    readonly recordFile?: string;
    /** Pre-flight problems, one per refusal reason. */
    readonly problems?: readonly string[];
}

/** Pre-flight said no. */
export class Refused extends Error {
    constructor(
        readonly problems: readonly string[],
        readonly exitCode: ExitCodeValue = ExitCode.refused,
    ) {
        super(problems.join("; "));
    }
}

/** A gate failed after the checkpoint: roll back. */
export class GateFailed extends Error {}

/** A human is needed; the stack stays where it is. */
export class Paused extends Error {}

export const INTERRUPTED = "interrupted by a signal";

/**
 * What an interrupted stage failed with: `INTERRUPTED`, or the stage's own
 * message when it starts with it and says more (a migration task stopped
 * mid-run, with the restore command); other errors after a signal are its echo.
 */
export function interruptedReason(error: unknown): string {
    const message = error instanceof Error ? error.message : String(error);
    return message.startsWith(INTERRUPTED) ? message : INTERRUPTED;
}

/**
 * One stage of a deployment after pre-flight. The pipeline (pipeline.ts) runs
 * stages in order; a stage throws `GateFailed` to roll back or `Paused` to stop.
 */
export interface Stage {
    /** For messages; the stage records its own entries through `context.stage`. */
    readonly name: string;
    run(context: RolloutContext): Promise<void>;
}

/** One deployment from the checkpoint on: its record, config, outputs and colours. */
export class RolloutContext {
    readonly outputs: DriverOutputs;
    readonly candidate: Colour;
    readonly stable: Colour;
    /**
     * A `shiftwise promote` request the lease holder accepted: the bake ends at
     * its next poll whose alarm verdict is OK, and `accept` records that; it
     * is false when the request was withdrawn meanwhile (the bake goes on).
     */
    promotion?: { readonly by: string; readonly reason: string; accept(outcome: string): Promise<boolean> };

    constructor(
        readonly deps: DriverDeps,
        readonly record: DeploymentRecord,
        readonly config: StackConfig,
    ) {
        this.outputs = driverOutputs(record.checkpoint.outputs);
        this.candidate = record.candidate;
        this.stable = record.stable;
    }

    /** Runs one stage, records it with timestamps and prints its line. */
    async stage(name: string, body: () => Promise<string>, step?: StepEntry): Promise<void> {
        const { deps, record } = this;
        const entry: StageEntry = { name, startedAt: deps.clock.now().toISOString() };
        record.stages.push(entry);
        deps.records.save(record);
        try {
            entry.detail = await body();
            entry.outcome = "ok";
            deps.reporter.line(name, entry.detail);
        } catch (error) {
            const interrupted = deps.signal?.aborted === true;
            entry.outcome = error instanceof Paused ? "paused" : interrupted ? "interrupted" : "failed";
            entry.detail = interrupted ? interruptedReason(error) : (error as Error).message;
            if (step && interrupted) step.outcome = "interrupted";
            if (step && !step.outcome) step.outcome = "failed";
            deps.reporter.line(name, `${entry.outcome}: ${entry.detail}`);
            throw error;
        } finally {
            entry.finishedAt = deps.clock.now().toISOString();
            deps.records.save(record);
        }
    }

    /** Every poll: the interrupt, then the registered poll checks. */
    async poll(where: string): Promise<void> {
        this.checkInterrupt();
        for (const check of this.deps.pollChecks ?? []) await check(this, where);
    }

    /** Waits between polls; an interrupt during the wait surfaces as `GateFailed`. */
    async sleep(ms: number): Promise<void> {
        await this.deps.clock.sleep(ms, this.deps.signal).catch(() => this.checkInterrupt());
    }

    checkInterrupt(): void {
        if (this.deps.signal?.aborted) throw new GateFailed(INTERRUPTED);
    }

    /** Lets an engine operation finish (the engine cancels it on the same signal), then honours the interrupt. */
    async interruptible<T>(operation: Promise<T>): Promise<T> {
        const result = await operation;
        this.checkInterrupt();
        return result;
    }

    /** Stamps the end and the stage durations, and saves. */
    finishRecord(): void {
        this.record.finishedAt = this.deps.clock.now().toISOString();
        this.record.durationsSeconds = stageDurations(this.record.stages);
        this.deps.records.save(this.record);
    }
}
