// The driver's side of the release ledger: the lease a command holds, its heartbeat, the requests it obeys at every poll, and its records mirrored to the table.
import type { Clock, Lease, LeaseAttempt, LedgerPort, LedgerRecordItem, LedgerRequest } from "../ports/ports";
import { LEASE_CLOCK_TOLERANCE_SECONDS, LeaseLost, leaseExpired } from "../ports/ports";
import { ExitCode } from "./exitCodes";
import { DeploymentRecord, LedgerNotes, RecordStore, recordProblem } from "./records";
import { GateFailed, Paused } from "./stages/context";
import type { DriverDeps, DriverOutcome, PollCheck, RolloutContext } from "./stages/context";
import type { ReleaseEventSink } from "./releaseEvents";
import { awaitServed, sendRequest } from "./requests";
import { recordEvents } from "./releaseEvents";

export { actorName } from "./actor";

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

/** The refusal when another actor holds the lease: who, what, since when, the last heartbeat, and how to proceed. */
export function heldMessage(holder: Lease, now: Date, command: string): string {
    const age = Math.round((now.getTime() - Date.parse(holder.heartbeatAt)) / 1000);
    // The holder wrote its times by its own clock: a heartbeat "in the future" means the two clocks disagree.
    const heartbeat = age >= 0 ? `last heartbeat ${age} s ago` : `last heartbeat ${-age} s ahead of this machine's clock (the two clocks disagree)`;
    const overdue = Math.round((now.getTime() - Date.parse(holder.expiresAt)) / 1000);
    const expiry = overdue > 0 ? `expired ${overdue} s ago by this machine's clock, counted as abandoned ${LEASE_CLOCK_TOLERANCE_SECONDS} s after expiry to allow for clock skew` : `expires ${holder.expiresAt}`;
    return (
        `the stack's lease is held by ${holder.owner} (${holder.command}${holder.recordId ? ` of ${holder.recordId}` : ""}) since ${holder.startedAt}; ` +
        `${heartbeat}, ${expiry}. Wait for it, send a request (\`shiftwise abort|pause|promote\`), ` +
        `or take it with \`shiftwise ${command} --force "<reason>"\``
    );
}

/** Attempts to write the last record again at close when its write failed, a second apart, then two. */
export const CLOSE_WRITE_RETRIES = 2;

/**
 * One command's holding of the lease. `pollCheck` is registered in
 * `DriverDeps.pollChecks`: at every poll it renews the lease, flushes the
 * record to the ledger and obeys pending requests addressed to this holding.
 *
 * A ledger call that fails (throttled, unreachable) is not a verdict on the
 * release: the holder goes on while the lease it last renewed stays valid,
 * and stops (pause, traffic where it is) once it could expire before the
 * next poll, since another actor may then take it over.
 */
export class LedgerSession {
    private lost?: LeaseLost;
    private timer?: NodeJS.Timeout;
    private writes: Promise<void> = Promise.resolve();
    private writeError?: Error;
    /** The newest record whose write failed (not for a lost lease), written again at close. */
    private unwritten?: LedgerRecordItem;
    private announced = new Map<string, DeploymentRecord>();
    private inherited = new Map<string, LedgerNotes | undefined>();
    /** Records the new holder wrote after this one lost the lease: theirs now, not overwritten. */
    readonly yielded = new Set<string>();
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
            this.tolerate(context, "renew the lease", error);
        }
        await this.writes;
        const failed = this.writeError;
        this.writeError = undefined;
        if (failed && !(failed instanceof LeaseLost)) this.tolerate(context, "write the record", failed);
        let pending: LedgerRequest[];
        try {
            pending = await this.options.ledger.requests({ pendingFor: this.lease.token });
        } catch (error) {
            this.tolerate(context, "read requests", error);
            return;
        }
        for (const request of pending) await this.obey(context, where, request);
    };

    /**
     * A ledger call failed: goes on while the lease holds past the clock
     * tolerance, else stops with a pause (never a rollback: without the lease
     * the stack may be another actor's to change).
     */
    private tolerate(context: RolloutContext, what: string, error: unknown): void {
        const reason = error instanceof Error ? error.message : String(error);
        const left = Math.floor((Date.parse(this.lease.expiresAt) - this.clock.now().getTime()) / 1000);
        if (left <= LEASE_CLOCK_TOLERANCE_SECONDS) {
            throw new Paused(
                `could not ${what} in the release ledger ${this.options.ledger.tableName} (${reason}) and the lease expires at ${this.lease.expiresAt}; ` +
                    `stopping with the traffic where it is before another actor may take the lease over`,
            );
        }
        context.deps.reporter.line("ledger", `could not ${what} in ${this.options.ledger.tableName} (${reason}); going on, the lease holds for ${left} s more`);
    }

    private async obey(context: RolloutContext, where: string, request: LedgerRequest): Promise<void> {
        const { record } = context;
        const step = record.steps[record.steps.length - 1];
        if (request.kind === "abort") {
            if (await this.serve(context, request, `rolling back from ${where}`)) throw new GateFailed(`abort requested by ${request.by}: ${request.reason}`);
            return;
        }
        // Pause and promote act on a bake; during prepare they wait for the first one.
        if (!where.startsWith("bake ") || !step) return;
        if (request.kind === "pause") {
            if (!(await this.serve(context, request, `paused at ${step.percent}%`))) return;
            step.outcome = "paused";
            record.pause = { afterPercent: step.percent, reason: `pause requested by ${request.by}: ${request.reason}`, at: this.clock.now().toISOString() };
            throw new Paused(`paused at ${step.percent}% as ${request.by} asked: ${request.reason}`);
        }
        // What is left is a promote; the first one pending wins.
        if (!context.promotion) {
            context.promotion = { by: request.by, reason: request.reason, accept: (outcome) => this.serve(context, request, outcome) };
        }
    }

    /**
     * Marks a request served before acting on it: the conditional write is the
     * claim. A request withdrawn (deleted or edited by hand) or served since it
     * was read is not obeyed; a failed write is tolerated like any ledger call
     * and the request is tried again at the next poll.
     */
    private async serve(context: RolloutContext, request: LedgerRequest, outcome: string): Promise<boolean> {
        const servedAt = this.clock.now().toISOString();
        let claimed: boolean;
        try {
            claimed = await this.options.ledger.serveRequest(request, { at: servedAt, outcome });
        } catch (error) {
            this.tolerate(context, `mark the ${request.kind} request ${request.id} served`, error);
            return false;
        }
        if (!claimed) {
            context.deps.reporter.line("request", `${request.kind} from ${request.by} (${request.reason}) is no longer pending in the ledger (withdrawn or served); not obeyed`);
            return false;
        }
        this.notes.requests.push({ id: request.id, kind: request.kind, by: request.by, reason: request.reason, createdAt: request.createdAt, servedAt, outcome });
        context.deps.reporter.line("request", `${request.kind} from ${request.by} (${request.reason}): ${outcome}`);
        this.options.events?.publish({ kind: "request", record: context.record, detail: `${request.kind} requested by ${request.by}: ${request.reason}; ${outcome}` });
        return true;
    }

    /** Mirrors a record to the ledger under the lease, in order; `flush` waits for it. */
    mirror(record: DeploymentRecord): void {
        // A record another holding ran keeps its notes (the deploy's requests under a later rollback's).
        if (!this.inherited.has(record.id)) this.inherited.set(record.id, record.ledger?.lease.token === this.notes.lease.token ? undefined : record.ledger);
        const earlier = this.inherited.get(record.id);
        record.ledger = earlier ? { lease: this.notes.lease, events: [...earlier.events, ...this.notes.events], requests: [...earlier.requests, ...this.notes.requests] } : this.notes;
        if (this.options.command === "deploy" && this.options.commit) record.commit ??= this.options.commit;
        const body = JSON.parse(JSON.stringify(record)) as DeploymentRecord;
        // An unchanged record announces nothing (recordEvents compares the two saves).
        for (const event of recordEvents(this.announced.get(record.id), body)) this.options.events?.publish(event);
        this.announced.set(record.id, body);
        this.enqueue({ id: body.id, startedAt: body.startedAt, status: body.status, body: body as unknown as Record<string, unknown> });
    }

    private enqueue(item: LedgerRecordItem): void {
        this.writes = this.writes
            .then(() => this.write(item))
            .catch((error: Error) => {
                if (error instanceof LeaseLost) this.lost = error;
                else this.unwritten = item;
                this.writeError = error;
            });
    }

    /** Under the lease; once it is lost, only while this holding is still the record's last writer (the new holder's record wins). */
    private async write(item: LedgerRecordItem): Promise<void> {
        if (!this.lost) await this.options.ledger.putRecord(item, this.lease);
        else if (!(await this.options.ledger.putRecordAsLastWriter(item, this.lease))) this.yielded.add(item.id);
        this.unwritten = undefined;
    }

    /** Remembers a record as the ledger holds it, so its next save announces only what changed (a resume, not a start). */
    remember(record: DeploymentRecord): void {
        this.announced.set(record.id, JSON.parse(JSON.stringify(record)) as DeploymentRecord);
    }

    /** Waits for the mirrored writes; a failed one is reported at the next poll (tolerated) or at close. */
    async flush(): Promise<void> {
        await this.writes;
    }

    /**
     * Stops the heartbeat, writes the last record (again, when its write
     * failed) and gives the lease up unless another actor holds it now.
     * Never throws: returns what it could not do, for the outcome's message.
     */
    async close(): Promise<string[]> {
        if (this.timer) clearInterval(this.timer);
        const problems: string[] = [];
        await this.writes;
        for (let attempt = 1; this.unwritten && attempt <= CLOSE_WRITE_RETRIES; attempt++) {
            await this.clock.sleep(attempt * 1000);
            this.enqueue(this.unwritten);
            await this.writes;
        }
        const failed = this.writeError;
        this.writeError = undefined;
        if (this.unwritten && failed) problems.push(`the release ledger ${this.options.ledger.tableName} was not updated with the last record (${failed.message}); the local copy is the latest`);
        for (const id of this.yielded) problems.push(`the record ${id} was left as the lease's new holder wrote it (this run's copy stays local)`);
        await this.options.events?.flush();
        if (!this.lost) {
            try {
                await this.options.ledger.releaseLease(this.lease);
            } catch (error) {
                problems.push(`the lease could not be released (${(error as Error).message}); it expires at ${this.lease.expiresAt}`);
            }
        }
        return problems;
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
 * ledger wins over an older local copy. An item that is not a record of this
 * stack is skipped with a warning naming it, and its local copy is kept.
 */
export async function pullRecords(ledger: LedgerPort, store: RecordStore, limit = 20): Promise<DeploymentRecord[]> {
    const records: DeploymentRecord[] = [];
    for (const item of await ledger.records(limit)) {
        // An item edited by hand beyond the schema is skipped with a warning, as a record file is (it never blocks
        // deploy, resume or rollback); its local copy, if any, is kept, so a release in progress stays in view.
        const problem = recordProblem(item.body, store.stack);
        if (problem) store.warn(`skipped the release ledger ${ledger.tableName}'s record ${item.id}: it ${problem}; edited by hand? Restore it from the local copy or the table's point-in-time recovery, or delete the item`);
        else records.push(item.body as unknown as DeploymentRecord);
    }
    for (const record of records) store.save(record);
    return records;
}

/**
 * Runs a leased command: takes the lease (or refuses with who holds it, or
 * hands over to `onHeld`), pulls the ledger's records, registers the poll check
 * and the mirroring store, runs `body`, then writes the last record and
 * releases the lease. What the ledger could not take at the end is added to
 * the outcome's message (the exit code stays the release's).
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
    let outcome: DriverOutcome;
    try {
        for (const record of await pullRecords(options.ledger, deps.records)) session.remember(record);
        const records = new LedgerRecordStore(deps.records, session);
        outcome = await body({ ...deps, records, pollChecks: [...(deps.pollChecks ?? []), session.pollCheck] });
    } catch (error) {
        await closeSession(deps, options, session);
        throw error;
    }
    const problems = await closeSession(deps, options, session);
    return problems.length === 0 ? outcome : { ...outcome, message: `${outcome.message}\n${problems.join("\n")}` };
}

async function closeSession(deps: DriverDeps, options: LedgerSessionOptions, session: LedgerSession): Promise<string[]> {
    const problems = await session.close();
    for (const problem of problems) deps.reporter.line("ledger", problem);
    for (const failure of options.events?.failures ?? []) deps.reporter.line("notify", `could not publish to the stack's topic: ${failure}`);
    return problems;
}

/** Tries to take the lease again when its holder let go between the refusal and the abort request. */
const LEASE_ATTEMPTS = 3;

/**
 * `shiftwise rollback` with the ledger: when a deploy or resume holds a live
 * lease, the rollback becomes an abort request to it (so the two never
 * fight), and waits until the holder has rolled back; otherwise it takes the
 * lease and runs `body`. When the holder lets go between the refusal and the
 * request (its release just ended), the rollback takes the lease itself.
 */
export async function leasedRollback(
    deps: DriverDeps,
    options: LedgerSessionOptions & { readonly waitMs: number; readonly pollMs: number },
    body: (deps: DriverDeps) => Promise<DriverOutcome>,
): Promise<DriverOutcome> {
    for (let attempt = 1; ; attempt++) {
        let released = false;
        const outcome = await runLeased(deps, { ...options, command: "rollback" }, body, async (holder) => {
            if (holder.command === "rollback") return undefined;
            const sent = await sendRequest(options.ledger, deps.clock, { kind: "abort", reason: `rollback requested by ${options.owner}`, by: options.owner });
            deps.reporter.line("rollback", sent.message);
            if (sent.request) return awaitAbort(deps, options, holder, sent.request);
            released = attempt < LEASE_ATTEMPTS && (!sent.holder || leaseExpired(sent.holder, deps.clock.now()));
            return released ? { exitCode: ExitCode.refused, message: "the lease was let go; taking it" } : { exitCode: sent.exitCode, message: sent.message };
        });
        if (!released) return outcome;
    }
}

/** Waits until the holder obeyed the abort and reports the record it rolled back, found by the holding's token. */
async function awaitAbort(deps: DriverDeps, options: { readonly ledger: LedgerPort; readonly waitMs: number; readonly pollMs: number }, holder: Lease, request: LedgerRequest): Promise<DriverOutcome> {
    const served = await awaitServed(options.ledger, deps.clock, request, { pollMs: options.pollMs, timeoutMs: options.waitMs, signal: deps.signal });
    if (!served) return { exitCode: ExitCode.error, message: `${holder.owner} has not obeyed the abort request ${request.id} within ${Math.round(options.waitMs / 60_000)} min; check \`shiftwise status --watch\`, or take the lease with --force "<reason>"` };
    // The holding's token names its record even when the lease was read before the holder named its release.
    const record = (await options.ledger.records(10)).map((item) => item.body as unknown as DeploymentRecord).find((body) => body.ledger?.lease.token === request.leaseToken);
    return {
        exitCode: record?.status === "rolled-back" ? ExitCode.success : record?.status === "rollback-failed" ? ExitCode.rollbackFailed : record?.status === "held" ? ExitCode.held : ExitCode.error,
        message: `${holder.owner} obeyed the abort (${served.outcome}); ${record ? `${record.id} is ${record.status}` : "its record is not in the ledger"}`,
        record,
    };
}
