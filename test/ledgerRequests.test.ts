// Requests and the lease holder's poll check, in one process over the in-memory ledger: who may ask, what each request does, and when.
import * as assert from "assert";
import { LedgerSession } from "../rollout/ledgerSession";
import { awaitServed, sendRequest } from "../rollout/requests";
import { ExitCode } from "../rollout/exitCodes";
import { GateFailed, Paused } from "../rollout/stages/context";
import type { RolloutContext } from "../rollout/stages/context";
import type { DeploymentRecord } from "../rollout/records";
import { silentReporter } from "../rollout/reporter";
import type { Lease } from "../ports/ports";
import { FakeClock } from "./fakes/fakeClock";
import { MemoryLedger } from "./fakes/memoryLedger";

function fakeContext(steps: DeploymentRecord["steps"]): RolloutContext {
    const record = { id: "r-1", steps, rollbacks: [] } as unknown as DeploymentRecord;
    return { record, deps: { reporter: silentReporter } } as unknown as RolloutContext;
}

describe("requests to the lease holder", () => {
    it("are refused without a live lease, without a reason, and (except abort) to a rollback", async () => {
        const ledger = new MemoryLedger();
        const clock = new FakeClock();
        assert.strictEqual((await sendRequest(ledger, clock, { kind: "abort", reason: "x", by: "a" })).exitCode, ExitCode.refused);
        assert.strictEqual((await sendRequest(ledger, clock, { kind: "abort", reason: " ", by: "a" })).exitCode, ExitCode.invalid);
        await ledger.acquireLease({ owner: "dead", command: "deploy", now: new Date(clock.now().getTime() - 600_000), ttlSeconds: 300 });
        const deadLease = ledger.lease;
        const expired = await sendRequest(ledger, clock, { kind: "pause", reason: "x", by: "a" });
        assert.strictEqual(expired.exitCode, ExitCode.refused);
        assert.match(expired.message, /the lease of dead expired at/);
        assert.strictEqual(expired.holder, deadLease);
        ledger.lease = undefined;
        await ledger.acquireLease({ owner: "oncall", command: "rollback", now: clock.now(), ttlSeconds: 300 });
        assert.match((await sendRequest(ledger, clock, { kind: "pause", reason: "x", by: "a" })).message, /is rolling the stack back/);
        ledger.lease = undefined;
        await ledger.acquireLease({ owner: "ci", command: "deploy", now: clock.now(), ttlSeconds: 300 });
        const sent = await sendRequest(ledger, clock, { kind: "promote", reason: "looks good", by: "carol" });
        assert.strictEqual(sent.exitCode, ExitCode.success);
        assert.strictEqual(sent.request?.leaseToken, (await ledger.readLease())?.token);
        assert.match(sent.message, /end the current bake now/);
    });

    it("awaitServed waits until the request is served and the holder let go, or gives up at the deadline", async () => {
        const ledger = new MemoryLedger();
        const clock = new FakeClock();
        const held = await ledger.acquireLease({ owner: "ci", command: "deploy", now: clock.now(), ttlSeconds: 300 });
        assert.ok(held.acquired);
        const sent = await sendRequest(ledger, clock, { kind: "abort", reason: "x", by: "oncall" });
        assert.strictEqual(await awaitServed(ledger, clock, sent.request!, { pollMs: 5000, timeoutMs: 60_000 }), undefined);
        await ledger.serveRequest(sent.request!, { at: clock.now().toISOString(), outcome: "rolling back" });
        assert.strictEqual(await awaitServed(ledger, clock, sent.request!, { pollMs: 5000, timeoutMs: 60_000 }), undefined, "served but the lease is still held");
        await ledger.releaseLease(held.lease);
        assert.strictEqual((await awaitServed(ledger, clock, sent.request!, { pollMs: 5000, timeoutMs: 60_000 }))?.outcome, "rolling back");
    });
});

describe("the lease holder's poll check", () => {
    async function holder() {
        const ledger = new MemoryLedger();
        const clock = new FakeClock();
        const opened = await LedgerSession.open({ ledger, command: "deploy", owner: "ci" }, clock);
        assert.ok("session" in opened);
        return { ledger, clock, session: opened.session };
    }

    it("renews the lease and names the release at every poll", async () => {
        const { ledger, clock, session } = await holder();
        clock.sleep(30_000);
        await session.pollCheck(fakeContext([]), "prepare");
        assert.deepStrictEqual([ledger.lease?.heartbeatAt, ledger.lease?.recordId, ledger.lease?.expiresAt], ["2025-03-04T10:00:30.000Z", "r-1", "2025-03-04T10:05:30.000Z"]);
    });

    it("abort rolls back from any stage; pause and promote wait for a bake", async () => {
        const { ledger, clock, session } = await holder();
        await sendRequest(ledger, clock, { kind: "pause", reason: "look", by: "alice" });
        await sendRequest(ledger, clock, { kind: "promote", reason: "fine", by: "carol" });
        const preparing = fakeContext([]);
        await session.pollCheck(preparing, "prepare");
        assert.strictEqual(preparing.promotion, undefined);
        assert.deepStrictEqual((await ledger.requests({})).map((request) => request.status), ["pending", "pending"]);

        const baking = fakeContext([{ percent: 25, traffic: { blue: 75, green: 25 }, startedAt: "t" }]);
        await assert.rejects(session.pollCheck(baking, "bake 25%"), (error: unknown) => error instanceof Paused && /paused at 25% as alice asked: look/.test(error.message));
        assert.deepStrictEqual(baking.record.pause?.afterPercent, 25);
        assert.strictEqual(baking.record.steps[0].outcome, "paused");
        assert.deepStrictEqual((await ledger.requests({})).map((request) => [request.kind, request.status]), [["promote", "pending"], ["pause", "served"]]);

        await session.pollCheck(baking, "bake 25%");
        assert.strictEqual(baking.promotion?.by, "carol");
        await baking.promotion!.accept("ended");
        assert.deepStrictEqual((await ledger.requests({})).map((request) => [request.kind, request.status, request.outcome]), [["promote", "served", "ended"], ["pause", "served", "paused at 25%"]]);
        assert.deepStrictEqual(session.notes.requests.map((request) => request.kind), ["pause", "promote"]);

        await sendRequest(ledger, clock, { kind: "abort", reason: "tickets", by: "bob" });
        await assert.rejects(session.pollCheck(fakeContext([]), "prepare"), (error: unknown) => error instanceof GateFailed && error.message === "abort requested by bob: tickets");
    });

    it("a lease taken by another actor pauses without changing anything, and close leaves their lease alone", async () => {
        const { ledger, clock, session } = await holder();
        const forced = await ledger.acquireLease({ owner: "oncall", command: "rollback", now: clock.now(), ttlSeconds: 300, force: "wedged" });
        await assert.rejects(session.pollCheck(fakeContext([]), "bake 5%"), (error: unknown) => error instanceof Paused && /taken by oncall \(rollback\)/.test(error.message));
        await session.close();
        assert.strictEqual(ledger.lease?.token, forced.acquired ? forced.lease.token : "");
    });
});

describe("requests at their edges", () => {
    const T0 = "2025-03-04T10:00:00.000Z";
    const lease = (expiresAt: string, extra: Partial<Lease> = {}): Lease => ({ owner: "ci", command: "deploy", startedAt: T0, heartbeatAt: T0, expiresAt, token: "holding-1", ...extra });

    it("say exactly what is wrong and what will happen", async () => {
        const ledger = new MemoryLedger();
        const clock = new FakeClock(T0);
        assert.deepStrictEqual(await sendRequest(ledger, clock, { kind: "promote", reason: "", by: "a" }), { exitCode: ExitCode.invalid, message: "shiftwise promote needs a reason" });
        assert.deepStrictEqual(await sendRequest(ledger, clock, { kind: "abort", reason: "x", by: "a" }), { exitCode: ExitCode.refused, message: "no release is running on this stack, so nobody would obey a abort request", holder: undefined });
        ledger.lease = lease("2025-03-04T10:05:00.000Z", { recordId: "r-1" });
        const pause = await sendRequest(ledger, clock, { kind: "pause", reason: "look", by: "alice" });
        assert.strictEqual(pause.message, `pause request ${pause.request?.id} sent to ci (deploy of r-1); at its next poll it will stop after this poll and keep the traffic where it is, for \`shiftwise resume\` or \`shiftwise rollback\``);
        assert.deepStrictEqual([pause.request?.kind, pause.request?.reason, pause.request?.by, pause.request?.createdAt, pause.request?.leaseToken, pause.holder], ["pause", "look", "alice", T0, "holding-1", ledger.lease]);
        ledger.lease = lease("2025-03-04T10:05:00.000Z");
        const abort = await sendRequest(ledger, clock, { kind: "abort", reason: "tickets", by: "bob" });
        assert.strictEqual(abort.message, `abort request ${abort.request?.id} sent to ci (deploy); at its next poll it will stop and roll back to the checkpoint`);
    });

    it("count a lease as live until 30 s past its expiry by this clock (the holder's clock may be behind)", async () => {
        const ledger = new MemoryLedger();
        const clock = new FakeClock("2025-03-04T10:05:29.999Z");
        ledger.lease = lease("2025-03-04T10:05:00.000Z");
        assert.strictEqual((await sendRequest(ledger, clock, { kind: "abort", reason: "x", by: "a" })).exitCode, ExitCode.success);
        await clock.sleep(1);
        const late = await sendRequest(ledger, clock, { kind: "abort", reason: "x", by: "a" });
        assert.deepStrictEqual([late.exitCode, late.message], [
            ExitCode.refused,
            "no release is running on this stack, so nobody would obey a abort request (the lease of ci expired at 2025-03-04T10:05:00.000Z: its runner is gone; `shiftwise rollback` or `shiftwise resume` take it over)",
        ]);
    });

    it("awaitServed: only this request served counts, and only once its holding let go (released, taken over, or expired past the allowance)", async () => {
        const clock = new FakeClock(T0);
        const options = { pollMs: 5000, timeoutMs: 10_000 };
        const setUp = async () => {
            const ledger = new MemoryLedger();
            ledger.lease = lease("2025-03-04T10:05:00.000Z");
            const mine = await ledger.putRequest({ kind: "abort", reason: "x", by: "a", createdAt: T0, leaseToken: "holding-1" });
            const other = await ledger.putRequest({ kind: "abort", reason: "y", by: "b", createdAt: T0, leaseToken: "holding-1" });
            return { ledger, mine, other };
        };
        {
            const { ledger, mine, other } = await setUp();
            await ledger.serveRequest(other, { at: T0, outcome: "other" });
            ledger.lease = undefined;
            const sleeps = clock.sleeps.length;
            assert.strictEqual(await awaitServed(ledger, clock, mine, options), undefined, "another request served is not this one");
            assert.strictEqual(clock.sleeps.length - sleeps, 2, "polls until the deadline, then gives up");
        }
        {
            const { ledger, mine } = await setUp();
            await ledger.serveRequest(mine, { at: T0, outcome: "mine" });
            ledger.lease = lease("2025-03-04T10:05:00.000Z", { token: "holding-2" });
            assert.strictEqual((await awaitServed(ledger, clock, mine, options))?.outcome, "mine", "the lease is another holding's now");
        }
        {
            const { ledger, mine } = await setUp();
            await ledger.serveRequest(mine, { at: T0, outcome: "mine" });
            const at = new FakeClock("2025-03-04T10:05:29.000Z");
            assert.strictEqual(await awaitServed(ledger, at, mine, { pollMs: 1000, timeoutMs: 0 }), undefined, "expired by 29 s: the holder may still be rolling back");
            assert.strictEqual((await awaitServed(ledger, at, mine, { pollMs: 1000, timeoutMs: 1000 }))?.outcome, "mine", "expired by 30 s: gone");
        }
    });
});
