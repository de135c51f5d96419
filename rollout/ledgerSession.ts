// The driver's side of the release ledger: the lease a command holds, its heartbeat, the requests it obeys at every poll, and its records mirrored to the table.
import { isDeepStrictEqual } from "util";
import type { Clock, Lease, LeaseAttempt, LedgerPort, LedgerRequest } from "../ports/ports";
import { LeaseLost } from "../ports/ports";
import { ExitCode } from "./exitCodes";
import { DeploymentRecord, LedgerNotes, RecordStore, StartedBy } from "./records";
import { GateFailed, Paused } from "./stages/context";
import type { DriverDeps, DriverOutcome, PollCheck, RolloutContext } from "./stages/context";
import type { ReleaseEventSink } from "./releaseEvents";
import { awaitServed, sendRequest } from "./requests";
import { recordEvents } from "./releaseEvents";

/** The commands that hold the lease. */
export type LeasedCommand = "deploy" | "resume" | "rollback";

/** How a command uses the ledger. */
export interface LedgerSessionOptions {
    readonly ledger: LedgerPort;
    readonly command: LeasedCommand;
    /** Who runs it, as people read it: `octocat (github-actions run 42)`. */
    readonly owner: string;
    /** `--force "<reason>"`: take a live lease. */
    readonly force?: string;
    /** Seconds without a heartbeat after which the lease counts as abandoned. @default 300 */
    readonly ttlSeconds?: number;
    /**
     * Milliseconds between heartbeats on a real timer, so the lease stays alive
     * through a long `pulumi up` that has no polls. Undefined: heartbeat only
     * at polls (tests, with a virtual clock). @default undefined
     */
    readonly heartbeatMs?: number;
    /** The commit being released, recorded for the lead-time metric. @default undefined */
    readonly commit?: { readonly sha: string; readonly committedAt: string };
    /** Where release events (start, pause, request, rollback, outcome) go: the stack's SNS topic. @default none */
    readonly events?: ReleaseEventSink;
}

/** The default lease lifetime without a heartbeat. */
export const LEASE_TTL_SECONDS = 300;

/** Who a `startedBy` is, in one line. */
export function actorName(by: StartedBy): string {
    const run = by.ci?.runUrl ?? by.ci?.pipelineUrl ?? by.ci?.buildUrl;
    return `${by.user}@${by.host}${by.ci ? ` (${by.ci.system}${by.ci.runId ? ` run ${by.ci.runId}` : ""})` : ""}${run ? ` ${run}` : ""}`;
}

/** The refusal when another actor holds the lease: who, what, since when, the last heartbeat, and how to proceed. */
export function heldMessage(holder: Lease, now: Date, command: string): string {
    const age = Math.round((now.getTime() - Date.parse(holder.heartbeatAt)) / 1000);
    return (
        `the stack's lease is held by ${holder.owner} (${holder.command}${holder.recordId ? ` of ${holder.recordId}` : ""}) since ${holder.startedAt}; ` +
        `last heartbeat ${age} s ago, expires ${holder.expiresAt}. Wait for it, send a request (\`shiftwise abort|pause|promote\`), ` +
        `or take it with \`shiftwise ${command} --force "<reason>"\``
    );
}

/**
 * One command's holding of the lease. `pollCheck` is registered in
 * `DriverDeps.pollChecks`: at every poll it renews the lease, flushes the
 * record to the ledger and obeys pending requests addressed to this holding.
 */
export class LedgerSession {
    private lost?: LeaseLost;
    private timer?: NodeJS.Timeout;
    private writes: Promise<void> = Promise.resolve();
    private writeError?: Error;
    private announced = new Map<string, DeploymentRecord>();
    private inherited = new Map<string, LedgerNotes | undefined>();
    readonly notes: LedgerNotes;

    private constructor(
        private readonly options: LedgerSessionOptions,
        private readonly clock: Clock,
        private lease: Lease,
        attempt: LeaseAttempt & { acquired: true },
    ) {
        this.notes = {
            lease: { owner: lease.owner, command: lease.command, token: lease.token },
            events: attempt.event
                ? [{ kind: attempt.event.kind, at: attempt.event.at, by: attempt.event.by, reason: attempt.event.reason, previousOwner: attempt.event.previous.owner, previousCommand: attempt.event.previous.command }]
                : [],
            requests: [],
        };
    }

    /** Takes the lease, or says who holds it. */
    static async open(options: LedgerSessionOptions, clock: Clock): Promise<{ session: LedgerSession } | { holder: Lease; message: string }> {
        const attempt = await options.ledger.acquireLease({ owner: options.owner, command: options.command, now: clock.now(), ttlSeconds: options.ttlSeconds ?? LEASE_TTL_SECONDS, force: options.force });
        if (!attempt.acquired) return { holder: attempt.holder, message: heldMessage(attempt.holder, clock.now(), options.command) };
        const session = new LedgerSession(options, clock, attempt.lease, attempt);
        if (options.heartbeatMs !== undefined) {
            session.timer = setInterval(() => void session.heartbeat().catch(() => undefined), options.heartbeatMs);
            session.timer.unref();
        }
        return { session };
    }

    get token(): string {
        return this.lease.token;
    }

    /** Renews the lease; remembers (and throws) when another actor took it. */
    async heartbeat(recordId?: string): Promise<void> {
        if (this.lost) throw this.lost;
        try {
            this.lease = await this.options.ledger.renewLease(this.lease, { now: this.clock.now(), ttlSeconds: this.options.ttlSeconds ?? LEASE_TTL_SECONDS, recordId: recordId ?? this.lease.recordId });
        } catch (error) {
            if (error instanceof LeaseLost) this.lost = error;
            throw error;
        }
    }

    /** The poll check: heartbeat, flush, then obey requests. */
    readonly pollCheck: PollCheck = async (context, where) => {
        try {
            await this.heartbeat(context.record.id);
        } catch (error) {
            if (error instanceof LeaseLost) throw new Paused(`${error.message}; stopping without changing the stack: it is theirs now`);
            throw error;
        }
        await this.flush();
        for (const request of await this.options.ledger.requests({ pendingFor: this.lease.token })) await this.obey(context, where, request);
    };

    private async obey(context: RolloutContext, where: string, request: LedgerRequest): Promise<void> {
        const { record } = context;
        const step = record.steps[record.steps.length - 1];
        if (request.kind === "abort") {
            await this.serve(context, request, `rolling back from ${where}`);
            throw new GateFailed(`abort requested by ${request.by}: ${request.reason}`);
        }
        // Pause and promote act on a bake; during prepare they wait for the first one.
        if (!where.startsWith("bake ") || !step) return;
        if (request.kind === "pause") {
            await this.serve(context, request, `paused at ${step.percent}%`);
            step.outcome = "paused";
            record.pause = { afterPercent: step.percent, reason: `pause requested by ${request.by}: ${request.reason}`, at: this.clock.now().toISOString() };
            throw new Paused(`paused at ${step.percent}% as ${request.by} asked: ${request.reason}`);
        }
        if (request.kind === "promote" && !context.promotion) {
            context.promotion = { by: request.by, reason: request.reason, accept: (outcome) => this.serve(context, request, outcome) };
        }
    }

    private async serve(context: RolloutContext, request: LedgerRequest, outcome: string): Promise<void> {
        const servedAt = this.clock.now().toISOString();
        await this.options.ledger.serveRequest(request, { at: servedAt, outcome });
        this.notes.requests.push({ id: request.id, kind: request.kind, by: request.by, reason: request.reason, createdAt: request.createdAt, servedAt, outcome });
        context.deps.reporter.line("request", `${request.kind} from ${request.by} (${request.reason}): ${outcome}`);
        this.options.events?.publish({ kind: "request", record: context.record, detail: `${request.kind} requested by ${request.by}: ${request.reason}; ${outcome}` });
    }

    /** Mirrors a record to the ledger under the lease, in order; `flush` waits for it. */
    mirror(record: DeploymentRecord): void {
        // A record another holding ran keeps its notes (the deploy's requests under a later rollback's).
        if (!this.inherited.has(record.id)) this.inherited.set(record.id, record.ledger?.lease.token === this.notes.lease.token ? undefined : record.ledger);
        const earlier = this.inherited.get(record.id);
        record.ledger = earlier ? { lease: this.notes.lease, events: [...earlier.events, ...this.notes.events], requests: [...earlier.requests, ...this.notes.requests] } : this.notes;
        if (this.options.command === "deploy" && this.options.commit) record.commit ??= this.options.commit;
        const body = JSON.parse(JSON.stringify(record)) as DeploymentRecord;
        const before = this.announced.get(record.id);
        if (!isDeepStrictEqual(before, body)) {
            for (const event of recordEvents(before, body)) this.options.events?.publish(event);
            this.announced.set(record.id, body);
        }
        this.writes = this.writes
            .then(() => this.options.ledger.putRecord({ id: body.id, startedAt: body.startedAt, status: body.status, body: body as unknown as Record<string, unknown> }, this.lost ? undefined : this.lease))
            .catch((error: Error) => {
                if (error instanceof LeaseLost) this.lost = error;
                this.writeError = error;
            });
    }

    /** Remembers a record as the ledger holds it, so its next save announces only what changed (a resume, not a start). */
    remember(record: DeploymentRecord): void {
        this.announced.set(record.id, JSON.parse(JSON.stringify(record)) as DeploymentRecord);
    }

    /** Waits for the mirrored writes; throws the first one that failed (other than a lost lease). */
    async flush(): Promise<void> {
        await this.writes;
        const error = this.writeError;
        this.writeError = undefined;
        if (error && !(error instanceof LeaseLost)) throw new Error(`the release ledger ${this.options.ledger.tableName} was not updated: ${error.message}`);
    }

    /** Stops the heartbeat, writes the last record and gives the lease up (unless another actor holds it now). */
    async close(): Promise<void> {
        if (this.timer) clearInterval(this.timer);
        try {
            await this.flush();
        } finally {
            await this.options.events?.flush();
            if (!this.lost) await this.options.ledger.releaseLease(this.lease);
        }
    }
}

/** A record store that keeps the local JSON copy and mirrors every save to the ledger. */
export class LedgerRecordStore extends RecordStore {
    constructor(
        base: RecordStore,
        private readonly session: LedgerSession,
    ) {
        super(base.baseDir, base.stack, base.warn);
    }

    override save(record: DeploymentRecord): string {
        this.session.mirror(record);
        return super.save(record);
    }
}

/**
 * Copies the ledger's records of the stack into the local records folder, so
 * that what the driver reads as "in progress" is what the ledger says; the
 * ledger wins over an older local copy.
 */
export async function pullRecords(ledger: LedgerPort, store: RecordStore, limit = 20): Promise<DeploymentRecord[]> {
    const records = (await ledger.records(limit)).map((item) => item.body as unknown as DeploymentRecord);
    for (const record of records) store.save(record);
    return records;
}

/**
 * Runs a leased command: takes the lease (or refuses with who holds it, or
 * hands over to `onHeld`), pulls the ledger's records, registers the poll check
 * and the mirroring store, runs `body`, then writes the last record and
 * releases the lease.
 */
export async function runLeased(
    deps: DriverDeps,
    options: LedgerSessionOptions,
    body: (deps: DriverDeps) => Promise<DriverOutcome>,
    onHeld?: (holder: Lease, message: string) => Promise<DriverOutcome | undefined>,
): Promise<DriverOutcome> {
    const opened = await LedgerSession.open(options, deps.clock);
    if ("holder" in opened) {
        const handed = await onHeld?.(opened.holder, opened.message);
        if (handed) return handed;
        deps.reporter.line("lease", `refused: ${opened.message}`);
        return { exitCode: ExitCode.refused, message: `${options.command} refused; nothing was changed: ${opened.message}`, problems: [opened.message] };
    }
    const session = opened.session;
    for (const event of session.notes.events) deps.reporter.line("lease", `${event.kind} of the lease held by ${event.previousOwner} (${event.previousCommand}): ${event.reason}`);
    try {
        for (const record of await pullRecords(options.ledger, deps.records)) session.remember(record);
        const records = new LedgerRecordStore(deps.records, session);
        return await body({ ...deps, records, pollChecks: [...(deps.pollChecks ?? []), session.pollCheck] });
    } finally {
        await session.close();
        for (const failure of options.events?.failures ?? []) deps.reporter.line("notify", `could not publish to the stack's topic: ${failure}`);
    }
}

/**
 * `shiftwise rollback` with the ledger: when a deploy or resume holds a live
 * lease, the rollback becomes an abort request to it (so the two never
 * fight), and waits until the holder has rolled back; otherwise it takes the
 * lease and runs `body`.
 */
export async function leasedRollback(
    deps: DriverDeps,
    options: LedgerSessionOptions & { readonly waitMs: number; readonly pollMs: number },
    body: (deps: DriverDeps) => Promise<DriverOutcome>,
): Promise<DriverOutcome> {
    return runLeased(deps, { ...options, command: "rollback" }, body, async (holder) => {
        if (holder.command === "rollback") return undefined;
        const sent = await sendRequest(options.ledger, deps.clock, { kind: "abort", reason: `rollback requested by ${options.owner}`, by: options.owner });
        deps.reporter.line("rollback", sent.message);
        if (!sent.request) return { exitCode: sent.exitCode, message: sent.message };
        const served = await awaitServed(options.ledger, deps.clock, sent.request, { pollMs: options.pollMs, timeoutMs: options.waitMs, signal: deps.signal });
        if (!served) return { exitCode: ExitCode.error, message: `${holder.owner} has not obeyed the abort request ${sent.request.id} within ${Math.round(options.waitMs / 60_000)} min; check \`shiftwise status --watch\`, or take the lease with --force "<reason>"` };
        const record = (await options.ledger.records(5)).find((item) => item.id === holder.recordId)?.body as DeploymentRecord | undefined;
        const done = record?.status === "rolled-back";
        return {
            exitCode: done ? ExitCode.success : record?.status === "rollback-failed" ? ExitCode.rollbackFailed : ExitCode.error,
            message: `${holder.owner} obeyed the abort (${served.outcome}); ${record ? `${record.id} is ${record.status}` : "its record is not in the ledger"}`,
            record,
        };
    });
}
