// A leased command in one process over the in-memory ledger: refusal, take-over, the mirrored records, a rollback that becomes an abort, and the ledger disagreeing with what the holder remembers.
import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { LedgerSession, heldMessage, leasedRollback, pullRecords, runLeased } from "../rollout/ledgerSession";
import type { LedgerSessionOptions } from "../rollout/ledgerSession";
import { ExitCode } from "../rollout/exitCodes";
import { DeploymentRecord, RecordStore } from "../rollout/records";
import type { ReleaseEvent } from "../rollout/releaseEvents";
import { GateFailed, Paused } from "../rollout/stages/context";
import type { DriverDeps, DriverOutcome, RolloutContext } from "../rollout/stages/context";
import { sendRequest } from "../rollout/requests";
import type { Lease, LedgerRecordItem } from "../ports/ports";
import { FakeClock } from "./fakes/fakeClock";
import { MemoryLedger } from "./fakes/memoryLedger";

const T0 = "2025-03-04T10:00:00.000Z";

function record(status: DeploymentRecord["status"], extra: Partial<DeploymentRecord> = {}): DeploymentRecord {
    return {
        schemaVersion: 1, id: "20250304T100000Z-v1.6.0", stack: "production", status, version: "v1.6.0", image: "shop:v1.6.0", stable: "blue", candidate: "green",
        startedAt: T0, startedBy: { user: "octocat", host: "runner" },
        checkpoint: { config: {}, outputs: {}, versions: { blue: "a", green: "b" }, traffic: { blue: 100, green: 0 } },
        stages: [], steps: [], rollbacks: [], ...extra,
    };
}

const item = (body: DeploymentRecord): LedgerRecordItem => ({ id: body.id, startedAt: body.startedAt, status: body.status, body: body as unknown as Record<string, unknown> });

const dirs: string[] = [];
const removeDirs = () => dirs.splice(0).forEach((dir) => fs.rmSync(dir, { recursive: true, force: true }));

/** Deps for a leased command whose body the test writes: a real record store in a temp folder, a recording reporter. */
function world() {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "shiftwise-lease-"));
    dirs.push(dir);
    const lines: string[] = [];
    const warnings: string[] = [];
    const clock = new FakeClock();
    const deps = {
        clock,
        records: new RecordStore(dir, "production", (message) => void warnings.push(message)),
        reporter: { line: (stage: string, message: string) => void lines.push(`${stage}: ${message}`), progress: () => undefined },
        pollChecks: [async () => undefined],
    } as unknown as DriverDeps;
    return { dir, lines, warnings, clock, deps, ledger: new MemoryLedger() };
}

function fakeContext(steps: DeploymentRecord["steps"], lines: string[] = []): RolloutContext {
    return { record: record("in-progress", { steps }), deps: { reporter: { line: (stage: string, message: string) => void lines.push(`${stage}: ${message}`), progress: () => undefined } } } as unknown as RolloutContext;
}

const options = (ledger: MemoryLedger, extra: Partial<LedgerSessionOptions> = {}): LedgerSessionOptions => ({ ledger, command: "deploy", owner: "octocat@runner", ...extra });

describe("a leased command", () => {
    after(removeDirs);

    it("is refused with who holds the lease, and its body never runs", async () => {
        const { deps, ledger, lines } = world();
        await ledger.acquireLease({ owner: "alice@laptop", command: "deploy", now: new Date("2025-03-04T09:59:00Z"), ttlSeconds: 300 });
        let ran = false;
        const outcome = await runLeased(deps, options(ledger), async () => ((ran = true), { exitCode: ExitCode.success, message: "ran" }));
        const held = "the stack's lease is held by alice@laptop (deploy) since 2025-03-04T09:59:00.000Z; last heartbeat 60 s ago, expires 2025-03-04T10:04:00.000Z. Wait for it, send a request (`shiftwise abort|pause|promote`), or take it with `shiftwise deploy --force \"<reason>\"`";
        assert.deepStrictEqual(outcome, { exitCode: ExitCode.refused, message: `deploy refused; nothing was changed: ${held}`, problems: [held] });
        assert.deepStrictEqual(lines, [`lease: refused: ${held}`]);
        assert.strictEqual(ran, false);
    });

    it("hands a held lease to onHeld, whose outcome stands", async () => {
        const { deps, ledger, lines } = world();
        await ledger.acquireLease({ owner: "alice", command: "deploy", now: new Date(T0), ttlSeconds: 300 });
        const handed: DriverOutcome = { exitCode: ExitCode.success, message: "handed" };
        let seen: Lease | undefined;
        assert.strictEqual(await runLeased(deps, options(ledger), async () => ({ exitCode: ExitCode.error, message: "body" }), async (holder) => ((seen = holder), handed)), handed);
        assert.strictEqual(seen?.owner, "alice");
        assert.deepStrictEqual(lines, []);
    });

    it("takes over an expired lease, says so, pulls the ledger's records, mirrors every save and releases the lease", async () => {
        const { deps, ledger, lines, clock } = world();
        await ledger.acquireLease({ owner: "dead-runner", command: "deploy", now: new Date("2025-03-04T09:00:00Z"), ttlSeconds: 300 });
        const earlier = record("succeeded", { id: "20250301T100000Z-v1.5.0", startedAt: "2025-03-01T10:00:00.000Z", version: "v1.5.0" });
        await ledger.putRecord(item(earlier));
        const published: ReleaseEvent[] = [];
        const events = { publish: (event: ReleaseEvent) => void published.push(event), flush: async () => undefined, failures: ["sns: AccessDenied"] };
        const outcome = await runLeased(deps, options(ledger, { events, commit: { sha: "abc", committedAt: "2025-03-04T09:00:00.000Z" } }), async (inner) => {
            assert.strictEqual(inner.pollChecks?.length, 2, "the caller's checks, then the ledger's");
            assert.strictEqual(inner.pollChecks?.[0], deps.pollChecks?.[0]);
            assert.deepStrictEqual(deps.records.list().map((entry) => entry.id), [earlier.id], "the ledger's records are local before the body runs");
            const running = record("in-progress");
            inner.records.save(running);
            await inner.pollChecks![1](fakeContext([]), "prepare");
            assert.strictEqual((await ledger.readLease())?.heartbeatAt, clock.now().toISOString());
            inner.records.save({ ...running, status: "succeeded" });
            return { exitCode: ExitCode.success, message: "v1.6.0 is live on green" };
        });
        assert.deepStrictEqual(outcome, { exitCode: ExitCode.success, message: "v1.6.0 is live on green" });
        assert.deepStrictEqual(lines, [
            "lease: take-over of the lease held by dead-runner (deploy): expired",
            "notify: could not publish to the stack's topic: sns: AccessDenied",
        ]);
        const stored = (await ledger.records(1))[0].body as unknown as DeploymentRecord;
        assert.strictEqual(stored.status, "succeeded");
        assert.deepStrictEqual(stored.commit, { sha: "abc", committedAt: "2025-03-04T09:00:00.000Z" });
        assert.deepStrictEqual(stored.ledger?.events.map((event) => [event.kind, event.previousOwner, event.previousCommand, event.by, event.reason]), [["take-over", "dead-runner", "deploy", "octocat@runner", "expired"]]);
        assert.deepStrictEqual(deps.records.list().find((entry) => entry.id === stored.id), stored, "the local copy is the ledger's");
        assert.deepStrictEqual(published.map((event) => event.kind), ["start", "outcome"]);
        assert.strictEqual(ledger.lease, undefined);
    });

    it("registers the ledger's poll check alone when the caller has none", async () => {
        const { deps, ledger } = world();
        const { pollChecks: _none, ...bare } = deps;
        await runLeased(bare as DriverDeps, options(ledger), async (inner) => {
            assert.strictEqual(inner.pollChecks?.length, 1);
            assert.strictEqual(typeof inner.pollChecks?.[0], "function");
            return { exitCode: ExitCode.success, message: "" };
        });
    });

    it("renews the lease on a timer between polls (a long `pulumi up`), and stops renewing once closed", async () => {
        const ledger = new MemoryLedger();
        const clock = new FakeClock(T0);
        const opened = await LedgerSession.open({ ledger, command: "deploy", owner: "ci", heartbeatMs: 5 }, clock);
        assert.ok("session" in opened);
        let renewals = 0;
        const renew = ledger.renewLease.bind(ledger);
        ledger.renewLease = (lease, update) => (renewals++, renew(lease, update));
        await clock.sleep(60_000);
        await new Promise((resolve) => setTimeout(resolve, 60));
        assert.ok(renewals >= 2, `${renewals} timer heartbeats`);
        assert.strictEqual(ledger.lease?.heartbeatAt, "2025-03-04T10:01:00.000Z");
        await opened.session.close();
        const after = renewals;
        await new Promise((resolve) => setTimeout(resolve, 40));
        assert.strictEqual(renewals, after, "no heartbeat after close");
    });

    it("without heartbeatMs renews only at polls (tests on a virtual clock)", async () => {
        const ledger = new MemoryLedger();
        let renewals = 0;
        const renew = ledger.renewLease.bind(ledger);
        ledger.renewLease = (lease, update) => (renewals++, renew(lease, update));
        const opened = await LedgerSession.open({ ledger, command: "deploy", owner: "ci" }, new FakeClock(T0));
        assert.ok("session" in opened);
        await new Promise((resolve) => setTimeout(resolve, 30));
        await opened.session.close();
        assert.strictEqual(renewals, 0);
    });

    it("keeps a record's commit when it names one, and records the commit only for a deploy", async () => {
        const { deps, ledger } = world();
        const commit = { sha: "new", committedAt: "2025-03-04T09:00:00.000Z" };
        await runLeased(deps, options(ledger, { commit }), async (inner) => {
            inner.records.save(record("in-progress", { commit: { sha: "old", committedAt: T0 } }));
            return { exitCode: ExitCode.success, message: "" };
        });
        assert.strictEqual(((await ledger.records(1))[0].body as unknown as DeploymentRecord).commit?.sha, "old");
        await runLeased(deps, options(ledger, { command: "resume", commit }), async (inner) => {
            inner.records.save(record("in-progress", { id: "r2", startedAt: "2025-03-05T10:00:00.000Z" }));
            return { exitCode: ExitCode.success, message: "" };
        });
        assert.strictEqual(((await ledger.records(1))[0].body as unknown as DeploymentRecord).commit, undefined);
    });

    it("closes the session when the body throws: the lease is released and the error goes on", async () => {
        const { deps, ledger } = world();
        await assert.rejects(runLeased(deps, options(ledger), async () => Promise.reject(new Error("preview crashed"))), /preview crashed/);
        assert.strictEqual(ledger.lease, undefined);
    });

    it("skips a ledger record edited by hand beyond the schema with a warning naming it, keeps its local copy, and still runs", async () => {
        const { deps, ledger, warnings } = world();
        deps.records.save({ ...record("in-progress"), id: "r-edited" });
        await ledger.putRecord({ id: "r-edited", startedAt: T0, status: "in-progress", body: { ...record("in-progress"), id: "r-edited", steps: "25%" } });
        let ran = false;
        const outcome = await runLeased(deps, options(ledger), async () => ((ran = true), { exitCode: ExitCode.success, message: "" }));
        assert.strictEqual(outcome.exitCode, ExitCode.success);
        assert.strictEqual(ran, true, "a hand-edited item never blocks deploy, resume or rollback");
        assert.deepStrictEqual(warnings, [
            "skipped the release ledger memory's record r-edited: it is not a shiftwise deployment record (steps: Invalid input: expected array, received string); edited by hand? Restore it from the local copy or the table's point-in-time recovery, or delete the item",
        ]);
        assert.deepStrictEqual(deps.records.list().map((entry) => [entry.id, entry.status, Array.isArray(entry.steps)]), [["r-edited", "in-progress", true]], "the local copy is kept, not replaced");
    });

    it("pullRecords: the ledger's copy replaces a local one, and a record of another stack is skipped with a warning", async () => {
        const { deps, ledger, warnings } = world();
        deps.records.save(record("in-progress"));
        await ledger.putRecord(item(record("rolled-back")));
        assert.deepStrictEqual((await pullRecords(ledger, deps.records)).map((entry) => entry.status), ["rolled-back"]);
        assert.strictEqual(deps.records.list()[0].status, "rolled-back");
        await ledger.putRecord(item(record("succeeded", { id: "r-staging", stack: "staging", startedAt: "2025-03-05T10:00:00.000Z" })));
        assert.deepStrictEqual((await pullRecords(ledger, deps.records)).map((entry) => entry.id), [record("rolled-back").id]);
        assert.match(warnings.join("\n"), /skipped the release ledger memory's record r-staging: it is a record of stack staging, not production/);
        assert.deepStrictEqual(deps.records.list().map((entry) => entry.stack), ["production"], "the foreign record is not copied");
        assert.deepStrictEqual((await pullRecords(ledger, deps.records, 1)).length, 0);
        assert.deepStrictEqual((await pullRecords(ledger, deps.records, 0)).length, 0);
    });
});

describe("a rollback while another actor holds the lease", () => {
    after(removeDirs);

    const rollbackOptions = (ledger: MemoryLedger) => ({ ...options(ledger, { command: "rollback" }), owner: "oncall@laptop", waitMs: 120_000, pollMs: 5000 });
    const body = async (): Promise<DriverOutcome> => ({ exitCode: ExitCode.success, message: "rolled back by the rollback itself" });

    /** A deploy holding the lease that serves the abort at the `serveAfterMs` mark and ends with `status`. */
    async function runningDeploy(ledger: MemoryLedger, clock: FakeClock, status: DeploymentRecord["status"] | undefined, serveAfterMs = 10_000) {
        const held = await ledger.acquireLease({ owner: "ci", command: "deploy", now: clock.now(), ttlSeconds: 300 });
        assert.ok(held.acquired);
        const start = clock.now().getTime();
        clock.onSleep = (now) => {
            if (now.getTime() - start < serveAfterMs || ledger.lease === undefined) return;
            const pending = ledger.requestItems.find((request) => request.status === "pending");
            if (pending) void ledger.serveRequest(pending, { at: now.toISOString(), outcome: "rolling back from bake 25%" });
            if (status) void ledger.putRecord(item(record(status, { ledger: { lease: { owner: "ci", command: "deploy", token: held.lease.token }, events: [], requests: [] } })));
            void ledger.releaseLease(held.lease);
        };
        return held.lease;
    }

    it("becomes an abort request; success when the holder rolled its release back", async () => {
        const { deps, ledger, clock, lines } = world();
        await runningDeploy(ledger, clock, "rolled-back");
        const outcome = await leasedRollback(deps, rollbackOptions(ledger), body);
        assert.strictEqual(outcome.exitCode, ExitCode.success, outcome.message);
        assert.strictEqual(outcome.message, "ci obeyed the abort (rolling back from bake 25%); 20250304T100000Z-v1.6.0 is rolled-back");
        assert.strictEqual(outcome.record?.status, "rolled-back");
        assert.deepStrictEqual(ledger.requestItems.map((request) => [request.kind, request.by, request.reason]), [["abort", "oncall@laptop", "rollback requested by oncall@laptop"]]);
        assert.match(lines[0], /^rollback: abort request .* sent to ci \(deploy\); at its next poll it will stop and roll back to the checkpoint$/);
        assert.deepStrictEqual(clock.sleeps.slice(0, 2), [5000, 5000], "polls every pollMs");
    });

    it("exit 6 when the holder's rollback failed, exit 1 when its record is neither", async () => {
        for (const [status, exitCode] of [["rollback-failed", ExitCode.rollbackFailed], ["succeeded", ExitCode.error]] as const) {
            const { deps, ledger, clock } = world();
            await runningDeploy(ledger, clock, status);
            const outcome = await leasedRollback(deps, rollbackOptions(ledger), body);
            assert.strictEqual(outcome.exitCode, exitCode, status);
            assert.match(outcome.message, new RegExp(`is ${status}$`));
        }
    });

    it("finds the holder's record by its holding's token, not by the release it named (it may not have named one yet)", async () => {
        const { deps, ledger, clock } = world();
        await ledger.putRecord(item(record("succeeded", { id: "other", startedAt: "2025-03-05T10:00:00.000Z", ledger: { lease: { owner: "x", command: "deploy", token: "someone-else" }, events: [], requests: [] } })));
        await ledger.putRecord(item(record("succeeded", { id: "before-the-ledger", startedAt: "2025-03-06T10:00:00.000Z" })));
        await runningDeploy(ledger, clock, "rolled-back");
        assert.strictEqual(ledger.lease?.recordId, undefined);
        const outcome = await leasedRollback(deps, rollbackOptions(ledger), body);
        assert.strictEqual(outcome.record?.id, "20250304T100000Z-v1.6.0");
    });

    it("says when the holder's record is not in the ledger", async () => {
        const { deps, ledger, clock } = world();
        await runningDeploy(ledger, clock, undefined);
        const outcome = await leasedRollback(deps, rollbackOptions(ledger), body);
        assert.deepStrictEqual([outcome.exitCode, outcome.message], [ExitCode.error, "ci obeyed the abort (rolling back from bake 25%); its record is not in the ledger"]);
    });

    it("gives up after waitMs when the holder never obeys, naming the request and the way out", async () => {
        const { deps, ledger, clock } = world();
        await runningDeploy(ledger, clock, "rolled-back", Number.MAX_SAFE_INTEGER);
        const outcome = await leasedRollback(deps, rollbackOptions(ledger), body);
        const request = ledger.requestItems[0];
        assert.deepStrictEqual([outcome.exitCode, outcome.message], [ExitCode.error, `ci has not obeyed the abort request ${request.id} within 2 min; check \`shiftwise status --watch\`, or take the lease with --force "<reason>"`]);
        assert.strictEqual(clock.sleeps.length, 24, "120 s of 5 s polls");
    });

    it("does not fight another rollback: refused with who holds the lease", async () => {
        const { deps, ledger } = world();
        await ledger.acquireLease({ owner: "bob", command: "rollback", now: new Date(T0), ttlSeconds: 300 });
        const outcome = await leasedRollback(deps, rollbackOptions(ledger), body);
        assert.strictEqual(outcome.exitCode, ExitCode.refused);
        assert.match(outcome.message, /^rollback refused; nothing was changed: the stack's lease is held by bob \(rollback\)/);
        assert.deepStrictEqual(ledger.requestItems, []);
    });

    it("takes the lease itself when the holder let go between the refusal and the request", async () => {
        const { deps, ledger } = world();
        const held = await ledger.acquireLease({ owner: "ci", command: "deploy", now: new Date(T0), ttlSeconds: 300 });
        assert.ok(held.acquired);
        // The deploy finishes right after the rollback was refused: its lease is gone when the abort would be sent.
        const readLease = ledger.readLease.bind(ledger);
        let reads = 0;
        ledger.readLease = async () => (++reads === 1 ? (await ledger.releaseLease(held.lease), undefined) : readLease());
        const outcome = await leasedRollback(deps, rollbackOptions(ledger), body);
        assert.deepStrictEqual([outcome.exitCode, outcome.message], [ExitCode.success, "rolled back by the rollback itself"]);
        assert.deepStrictEqual(ledger.requestItems, [], "no request to a holder that is gone");
        assert.strictEqual(ledger.lease, undefined);
    });

    it("is refused, not retried, when the lease passed to another rollback between the refusal and the request", async () => {
        const { deps, ledger, clock } = world();
        const held = await ledger.acquireLease({ owner: "ci", command: "deploy", now: new Date(T0), ttlSeconds: 300 });
        assert.ok(held.acquired);
        const readLease = ledger.readLease.bind(ledger);
        let reads = 0;
        ledger.readLease = async () => {
            if (++reads === 1) await ledger.acquireLease({ owner: "bob", command: "rollback", now: clock.now(), ttlSeconds: 300, force: "mine" });
            return readLease();
        };
        const outcome = await leasedRollback(deps, rollbackOptions(ledger), body);
        assert.deepStrictEqual([outcome.exitCode, outcome.message], [ExitCode.refused, "bob is rolling the stack back (since 2025-03-04T10:00:00.000Z); a abort request does not apply to a rollback"]);
        assert.strictEqual(reads, 1);
    });

    it("stops trying after three rounds of a lease that keeps changing hands", async () => {
        const { deps, ledger } = world();
        const held = await ledger.acquireLease({ owner: "ci", command: "deploy", now: new Date(T0), ttlSeconds: 300 });
        assert.ok(held.acquired);
        let rounds = 0;
        ledger.readLease = async () => void rounds++;
        const outcome = await leasedRollback(deps, rollbackOptions(ledger), body);
        assert.strictEqual(rounds, 3);
        assert.deepStrictEqual([outcome.exitCode, outcome.message], [ExitCode.refused, "no release is running on this stack, so nobody would obey a abort request"]);
    });
});

describe("the holder when the ledger disagrees with its memory", () => {
    async function holder(ledger = new MemoryLedger(), clock = new FakeClock()) {
        const opened = await LedgerSession.open({ ledger, command: "deploy", owner: "ci" }, clock);
        assert.ok("session" in opened);
        return { ledger, clock, session: opened.session };
    }

    it("does not obey a request withdrawn (deleted by hand) after it was read", async () => {
        const { ledger, clock, session } = await holder();
        await sendRequest(ledger, clock, { kind: "abort", reason: "oops", by: "bob" });
        const read = ledger.requests.bind(ledger);
        ledger.requests = async (filter) => {
            const found = await read(filter);
            ledger.requestItems.splice(0); // withdrawn between the read and the claim
            return found;
        };
        const lines: string[] = [];
        await session.pollCheck(fakeContext([], lines), "prepare");
        assert.deepStrictEqual(lines, ["request: abort from bob (oops) is no longer pending in the ledger (withdrawn or served); not obeyed"]);
        assert.deepStrictEqual(session.notes.requests, []);
    });

    it("does not pause on a pause request served meanwhile", async () => {
        const { ledger, clock, session } = await holder();
        const sent = await sendRequest(ledger, clock, { kind: "pause", reason: "look", by: "alice" });
        const read = ledger.requests.bind(ledger);
        ledger.requests = async (filter) => {
            const found = await read(filter);
            await ledger.serveRequest(sent.request!, { at: T0, outcome: "served elsewhere" });
            return found;
        };
        const baking = fakeContext([{ percent: 25, traffic: { blue: 75, green: 25 }, startedAt: T0 }]);
        await session.pollCheck(baking, "bake 25%");
        assert.strictEqual(baking.record.pause, undefined);
        assert.strictEqual(baking.record.steps[0].outcome, undefined);
    });

    it("a promote withdrawn before the bake ends it is not accepted", async () => {
        const { ledger, clock, session } = await holder();
        await sendRequest(ledger, clock, { kind: "promote", reason: "fine", by: "carol" });
        const baking = fakeContext([{ percent: 5, traffic: { blue: 95, green: 5 }, startedAt: T0 }]);
        await session.pollCheck(baking, "bake 5%");
        assert.strictEqual(baking.promotion?.by, "carol");
        assert.strictEqual(baking.promotion?.reason, "fine");
        ledger.requestItems.splice(0);
        assert.strictEqual(await baking.promotion!.accept("ended"), false);
        assert.deepStrictEqual(session.notes.requests, []);
    });

    it("publishes a served request with who asked, why and what it did", async () => {
        const ledger = new MemoryLedger();
        const clock = new FakeClock();
        const published: ReleaseEvent[] = [];
        const opened = await LedgerSession.open({ ledger, command: "deploy", owner: "ci", events: { publish: (event) => void published.push(event), flush: async () => undefined } }, clock);
        assert.ok("session" in opened);
        await sendRequest(ledger, clock, { kind: "abort", reason: "tickets", by: "bob" });
        const lines: string[] = [];
        const context = fakeContext([], lines);
        await assert.rejects(opened.session.pollCheck(context, "prepare"), GateFailed);
        assert.deepStrictEqual(published.map((event) => [event.kind, event.record, event.detail]), [["request", context.record, "abort requested by bob: tickets; rolling back from prepare"]]);
        assert.deepStrictEqual(lines, ["request: abort from bob (tickets): rolling back from prepare"]);
    });

    it("a write the holder lost to the lease's new holder is not overwritten by the stale runner", async () => {
        const { ledger, clock, session } = await holder();
        const running = record("in-progress");
        session.mirror(running);
        await session.flush();
        const forced = await ledger.acquireLease({ owner: "oncall", command: "rollback", now: clock.now(), ttlSeconds: 300, force: "wedged" });
        assert.ok(forced.acquired);
        await ledger.putRecord(item(record("rolled-back")), forced.lease);
        await assert.rejects(session.pollCheck(fakeContext([]), "bake 25%"), Paused);
        session.mirror({ ...running, status: "paused" });
        const problems = await session.close();
        assert.strictEqual(((await ledger.records(1))[0].body as unknown as DeploymentRecord).status, "rolled-back", "the new holder's record stands");
        assert.deepStrictEqual(problems, ["the record 20250304T100000Z-v1.6.0 was left as the lease's new holder wrote it (this run's copy stays local)"]);
        assert.strictEqual(ledger.lease?.token, forced.lease.token);
    });

    it("after losing the lease, still finishes a record nobody else wrote", async () => {
        const { ledger, clock, session } = await holder();
        session.mirror(record("in-progress"));
        await session.flush();
        await ledger.acquireLease({ owner: "next", command: "deploy", now: clock.now(), ttlSeconds: 300, force: "new release" });
        await assert.rejects(session.pollCheck(fakeContext([]), "bake 25%"), Paused);
        session.mirror(record("paused"));
        assert.deepStrictEqual(await session.close(), []);
        assert.strictEqual(((await ledger.records(1))[0].body as unknown as DeploymentRecord).status, "paused");
    });

    it("obeys only requests addressed to its own holding, not an older holding's", async () => {
        const { ledger, session } = await holder();
        await ledger.putRequest({ kind: "abort", reason: "for the dead runner", by: "bob", createdAt: T0, leaseToken: "older-holding" });
        await session.pollCheck(fakeContext([]), "prepare");
        assert.deepStrictEqual(ledger.requestItems.map((request) => request.status), ["pending"]);
    });

    it("a pause waits for a bake even when the record has steps (a resume's prepare), and then says who asked and why", async () => {
        const { ledger, clock, session } = await holder();
        await sendRequest(ledger, clock, { kind: "pause", reason: "dashboards", by: "alice" });
        const resumed = fakeContext([{ percent: 25, traffic: { blue: 75, green: 25 }, startedAt: T0 }]);
        await session.pollCheck(resumed, "prepare");
        assert.strictEqual(resumed.record.pause, undefined);
        await assert.rejects(session.pollCheck(resumed, "bake 25%"), Paused);
        assert.deepStrictEqual(resumed.record.pause, { afterPercent: 25, reason: "pause requested by alice: dashboards", at: T0 });
    });

    it("of two promote requests the older one is taken; the other waits", async () => {
        const { ledger, clock, session } = await holder();
        await sendRequest(ledger, clock, { kind: "promote", reason: "first", by: "carol" });
        await sendRequest(ledger, clock, { kind: "promote", reason: "second", by: "dave" });
        const baking = fakeContext([{ percent: 5, traffic: { blue: 95, green: 5 }, startedAt: T0 }]);
        await session.pollCheck(baking, "bake 5%");
        assert.deepStrictEqual([baking.promotion?.by, baking.promotion?.reason], ["carol", "first"]);
    });

    it("keeps an earlier holding's events and requests in the record, before its own", async () => {
        const ledger = new MemoryLedger();
        const clock = new FakeClock();
        await ledger.acquireLease({ owner: "dead", command: "deploy", now: new Date("2025-03-04T09:00:00Z"), ttlSeconds: 300 });
        const opened = await LedgerSession.open({ ledger, command: "resume", owner: "bob" }, clock);
        assert.ok("session" in opened);
        const earlier = {
            lease: { owner: "ci", command: "deploy", token: "t-ci" },
            events: [{ kind: "force", at: T0, by: "ci", reason: "wedged", previousOwner: "x", previousCommand: "deploy" }],
            requests: [{ id: "r1", kind: "pause", by: "alice", reason: "look", createdAt: T0, servedAt: T0, outcome: "paused at 25%" }],
        };
        const paused = record("paused", { ledger: earlier });
        opened.session.mirror(paused);
        assert.deepStrictEqual(paused.ledger?.events.map((event) => [event.kind, event.by]), [["force", "ci"], ["take-over", "bob"]]);
        assert.deepStrictEqual(paused.ledger?.requests.map((request) => request.id), ["r1"]);
        assert.strictEqual(paused.ledger?.lease.owner, "bob");
        // A record made from this one under a new id carries this holding's notes once, not twice.
        const copy = { ...paused, id: "20250304T110000Z-v1.6.1" };
        opened.session.mirror(copy);
        assert.deepStrictEqual(copy.ledger?.events.map((event) => event.kind), ["take-over"]);
    });

    it("a holder that lost its lease does not try to delete it", async () => {
        const { ledger, clock, session } = await holder();
        await ledger.acquireLease({ owner: "oncall", command: "rollback", now: clock.now(), ttlSeconds: 300, force: "wedged" });
        await assert.rejects(session.pollCheck(fakeContext([]), "bake 5%"), Paused);
        let releases = 0;
        ledger.releaseLease = async () => void releases++;
        await session.close();
        assert.strictEqual(releases, 0);
    });

    it("renders a heartbeat from a clock ahead of this one, and a lease inside the skew allowance", () => {
        const lease = { owner: "alice", command: "deploy", startedAt: T0, heartbeatAt: "2025-03-04T10:01:00.000Z", expiresAt: "2025-03-04T10:06:00.000Z", token: "t" };
        assert.match(heldMessage(lease, new Date("2025-03-04T10:00:40Z"), "deploy"), /; last heartbeat 20 s ahead of this machine's clock \(the two clocks disagree\), expires 2025-03-04T10:06:00.000Z\. /);
        assert.match(heldMessage(lease, new Date("2025-03-04T10:06:20Z"), "deploy"), /; last heartbeat 320 s ago, expired 20 s ago by this machine's clock, counted as abandoned 30 s after expiry to allow for clock skew\. /);
        assert.match(heldMessage(lease, new Date("2025-03-04T10:06:00Z"), "deploy"), /; last heartbeat 300 s ago, expires 2025-03-04T10:06:00.000Z\. /);
        assert.match(heldMessage(lease, new Date("2025-03-04T10:01:00Z"), "deploy"), /; last heartbeat 0 s ago, /);
    });
});
