// The driver with the release ledger on moto_server's DynamoDB: lease, heartbeat, requests obeyed at polls, a rollback by another actor.
import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { deploy } from "../rollout/driver";
import { ExitCode } from "../rollout/exitCodes";
import { LedgerSessionOptions, leasedRollback, runLeased } from "../rollout/ledgerSession";
import { sendRequest } from "../rollout/requests";
import { rollbackCommand } from "../rollout/rollback";
import type { PollCheck } from "../rollout/driver";
import { DeploymentRecord, RecordStore } from "../rollout/records";
import type { DriverOutcome } from "../rollout/stages/context";
import type { ReleaseEvent } from "../rollout/releaseEvents";
import { ThrottlingException } from "@aws-sdk/client-dynamodb";
import { DynamoLedger } from "../ports/dynamoLedger";
import type { Clock } from "../ports/ports";
import { MotoServer } from "./fakes/motoServer";
import { FakeClock } from "./fakes/fakeClock";
import { Harness, RELEASE, SmokeServer, harness, productionConfig } from "./fakes/rollout";

/**
 * Production's release, polled once a minute: everything the ledger does happens at a poll, so a poll a
 * minute exercises it all (a healthy deploy still polls about 60 times, and three throttled heartbeats
 * stay inside the lease's 5 minutes) with two thirds of the requests to moto_server, which answers one
 * at a time.
 */
const CONFIG = productionConfig({ rollout: { pollSeconds: 60, maxBakeMinutes: 60, freezeWindows: [{ reason: "weekend", days: ["sat", "sun"] }] } });

describe("driver with the release ledger (moto_server DynamoDB)", function () {
    this.timeout(120_000);
    const moto = new MotoServer();
    const server = new SmokeServer();
    let smokeBaseUrl = "";
    let tables = 0;
    let ledger: DynamoLedger;
    let published: ReleaseEvent[];

    before(async () => {
        [smokeBaseUrl] = await Promise.all([server.start(), moto.start()]);
    });
    after(() => Promise.all([server.stop(), moto.stop()]));
    beforeEach(async () => {
        const name = `shop-production-releases-${++tables}`;
        await moto.createLedgerTable(name);
        ledger = new DynamoLedger(moto.dynamo(), name, "production");
        published = [];
    });

    const sessionOptions = (command: LedgerSessionOptions["command"], extra: Partial<LedgerSessionOptions> = {}): LedgerSessionOptions => ({
        ledger,
        command,
        owner: "octocat (github-actions run 42)",
        events: { publish: (event) => void published.push(event), flush: async () => undefined },
        ...extra,
    });

    /** Runs `act` once, at the first poll of the stage named `where`, before the ledger's own poll check. */
    const once = (where: string, act: () => Promise<void>): PollCheck => {
        let done = false;
        return async (_context, at) => {
            if (done || at !== where) return;
            done = true;
            await act();
        };
    };

    const deployWith = (h: Harness, checks: PollCheck[], extra: Partial<LedgerSessionOptions> = {}) =>
        runLeased({ ...h.deps, pollChecks: checks }, sessionOptions("deploy", extra), (deps) => deploy(deps, { ...RELEASE, smokeBaseUrl }));

    const ledgerRecord = async () => (await ledger.records(1))[0]?.body as unknown as DeploymentRecord;

    it("a healthy deploy holds the lease throughout, renews it at every poll, mirrors its record and releases the lease", async () => {
        const h = harness({ config: CONFIG, smokeBaseUrl });
        const heartbeats: string[] = [];
        const outcome = await deployWith(h, [async () => void heartbeats.push((await ledger.readLease())!.heartbeatAt)]);
        assert.strictEqual(outcome.exitCode, ExitCode.success, outcome.message);
        assert.ok(heartbeats.length >= 10, `${heartbeats.length} polls`);
        assert.ok(heartbeats.every((beat, index) => index === 0 || beat >= heartbeats[index - 1]));
        assert.ok(new Set(heartbeats).size > heartbeats.length / 2, "the heartbeat moves with the polls");
        assert.strictEqual(await ledger.readLease(), undefined, "released at the end");
        const record = await ledgerRecord();
        assert.strictEqual(record.status, "succeeded");
        assert.deepStrictEqual(record, h.records.read(outcome.recordFile!), "the ledger and the local copy agree");
        assert.strictEqual(record.ledger?.lease.owner, "octocat (github-actions run 42)");
        assert.deepStrictEqual(published.map((event) => event.kind), ["start", "outcome"]);
    });

    it("race: two runners start a deploy of the stack at the same moment; exactly one runs, the other is refused naming the winner, every time", async () => {
        for (let round = 0; round < 5; round++) {
            const table = `shop-production-race-${tables}-${round}`;
            await moto.createLedgerTable(table);
            const ran: string[] = [];
            const runner = (owner: string) => {
                const h = harness({ config: CONFIG, smokeBaseUrl });
                const runnerLedger = new DynamoLedger(moto.dynamo(), table, "production");
                return runLeased(h.deps, { ledger: runnerLedger, command: "deploy", owner }, async () => {
                    ran.push(owner);
                    await new Promise((resolve) => setTimeout(resolve, 50));
                    return { exitCode: ExitCode.success, message: `${owner} deployed` };
                });
            };
            const outcomes = await Promise.all([runner("runner-a"), runner("runner-b")]);
            assert.strictEqual(ran.length, 1, `round ${round}: ${ran.join(", ")} ran`);
            const loser = outcomes.find((outcome) => outcome.exitCode !== ExitCode.success);
            assert.strictEqual(loser?.exitCode, ExitCode.refused, `round ${round}`);
            assert.match(loser!.message, new RegExp(`^deploy refused; nothing was changed: the stack's lease is held by ${ran[0]} \\(deploy\\)`));
            assert.strictEqual(await new DynamoLedger(moto.dynamo(), table, "production").readLease(), undefined, "the winner released it");
        }
    });

    it("DynamoDB throttling the heartbeat for three polls of a bake does not roll a healthy release back: it goes on and succeeds", async () => {
        const h = harness({ config: CONFIG, smokeBaseUrl });
        const renew = ledger.renewLease.bind(ledger);
        let throttled = 0;
        ledger.renewLease = async (lease, update) => {
            if (throttled > 0) {
                throttled--;
                throw new ThrottlingException({ message: "Rate of requests exceeds the allowed throughput", $metadata: {} });
            }
            return renew(lease, update);
        };
        const flaky = once("bake 25%", async () => void (throttled = 3));
        const outcome = await deployWith(h, [flaky]);
        assert.strictEqual(outcome.exitCode, ExitCode.success, outcome.message);
        assert.strictEqual(throttled, 0, "the three throttled heartbeats happened");
        assert.strictEqual((await ledgerRecord()).status, "succeeded");
        assert.strictEqual(await ledger.readLease(), undefined);
    });

    it("a second deploy of the stack is refused with who holds the lease and since when, and changes nothing", async () => {
        const held = await ledger.acquireLease({ owner: "alice@laptop", command: "deploy", now: new Date("2025-03-04T09:58:00Z"), ttlSeconds: 300 });
        assert.ok(held.acquired);
        const h = harness({ config: CONFIG, smokeBaseUrl });
        const outcome = await deployWith(h, []);
        assert.strictEqual(outcome.exitCode, ExitCode.refused);
        assert.match(outcome.message, /held by alice@laptop \(deploy\) since 2025-03-04T09:58:00.000Z; last heartbeat 120 s ago/);
        assert.deepStrictEqual(h.stack.calls, []);
        assert.strictEqual((await ledger.readLease())?.token, held.lease.token);
    });

    it("an expired lease (dead runner) is taken over and the take-over is in the record", async () => {
        const dead = await ledger.acquireLease({ owner: "dead-runner", command: "deploy", now: new Date("2025-03-04T09:00:00Z"), ttlSeconds: 300 });
        assert.ok(dead.acquired);
        const h = harness({ config: CONFIG, smokeBaseUrl });
        const outcome = await deployWith(h, []);
        assert.strictEqual(outcome.exitCode, ExitCode.success, outcome.message);
        const record = await ledgerRecord();
        assert.deepStrictEqual(record.ledger?.events.map((event) => [event.kind, event.previousOwner]), [["take-over", "dead-runner"]]);
        assert.deepStrictEqual((await ledger.leaseEvents(5)).map((event) => event.kind), ["take-over"]);
    });

    it("a pause request while baking stops at that step with traffic where it is (exit 5), served and recorded", async () => {
        const h = harness({ config: CONFIG, smokeBaseUrl });
        const pause = once("bake 25%", async () => void (await sendRequest(ledger, h.clock, { kind: "pause", reason: "checking dashboards", by: "alice" })));
        const outcome = await deployWith(h, [pause]);
        assert.strictEqual(outcome.exitCode, ExitCode.paused, outcome.message);
        assert.deepStrictEqual(h.stack.section("traffic"), { blue: 75, green: 25 });
        const record = await ledgerRecord();
        assert.strictEqual(record.status, "paused");
        assert.deepStrictEqual(record.pause?.afterPercent, 25);
        assert.match(record.pause!.reason, /pause requested by alice: checking dashboards/);
        assert.deepStrictEqual(record.ledger?.requests.map((request) => [request.kind, request.by, request.outcome]), [["pause", "alice", "paused at 25%"]]);
        assert.deepStrictEqual((await ledger.requests({})).map((request) => request.status), ["served"]);
        assert.strictEqual(await ledger.readLease(), undefined);
        assert.deepStrictEqual(published.map((event) => event.kind), ["start", "request", "pause"]);
    });

    it("an abort request while baking rolls back to the checkpoint (exit 4) and says who asked", async () => {
        const h = harness({ config: CONFIG, smokeBaseUrl });
        const abort = once("bake 50%", async () => void (await sendRequest(ledger, h.clock, { kind: "abort", reason: "support tickets rising", by: "bob" })));
        const outcome = await deployWith(h, [abort]);
        assert.strictEqual(outcome.exitCode, ExitCode.rolledBack, outcome.message);
        assert.deepStrictEqual(h.stack.section("traffic"), { blue: 100, green: 0 });
        const record = await ledgerRecord();
        assert.strictEqual(record.status, "rolled-back");
        assert.deepStrictEqual(record.rollbacks.map((rollback) => rollback.reason), ["abort requested by bob: support tickets rising"]);
        assert.deepStrictEqual(record.steps.map((step) => step.percent), [5, 25, 50]);
        assert.deepStrictEqual(published.map((event) => event.kind), ["start", "request", "rollback", "outcome"]);
    });

    it("a promote request ends the current bake early, on an OK verdict only, and the release goes on", async () => {
        const h = harness({ config: CONFIG, smokeBaseUrl });
        const promote = once("bake 5%", async () => void (await sendRequest(ledger, h.clock, { kind: "promote", reason: "canary looks fine", by: "carol" })));
        const outcome = await deployWith(h, [promote]);
        assert.strictEqual(outcome.exitCode, ExitCode.success, outcome.message);
        const record = await ledgerRecord();
        assert.deepStrictEqual(record.steps[0].endedEarly, { by: "carol", reason: "canary looks fine" });
        assert.ok(Date.parse(record.steps[0].finishedAt!) - Date.parse(record.steps[0].startedAt) < 10 * 60_000, "the 10-minute bake ended early");
        assert.deepStrictEqual(record.steps.slice(1).map((step) => step.endedEarly), [undefined, undefined, undefined]);
        assert.match(record.ledger!.requests[0].outcome, /^bake of 5% ended after 0\.0 min/);
    });

    it("a promote request does not end a bake whose alarm is not OK", async () => {
        const h = harness({ config: CONFIG, smokeBaseUrl, scenario: { alarms: { "shop-production-blue-rollback": "OK", "shop-production-green-rollback": "INSUFFICIENT_DATA" }, requestsPerMinute: 1000 } });
        let polls = 0;
        const promote = once("bake 5%", async () => void (await sendRequest(ledger, h.clock, { kind: "promote", reason: "impatient", by: "dave" })));
        const flip: PollCheck = async (_context, where) => {
            if (where === "bake 5%" && ++polls === 3) h.aws.scenario.alarms["shop-production-green-rollback"] = "OK";
        };
        const outcome = await deployWith(h, [promote, flip]);
        const record = outcome.record!;
        assert.ok(record.steps[0].endedEarly, outcome.message);
        assert.ok(record.steps[0].polls! >= 3, `ended at poll ${record.steps[0].polls}, before the verdict was OK`);
    });

    it("a rollback by another actor during a deploy becomes an abort request; the deploy rolls back and the rollback reports it", async () => {
        const h = harness({ config: CONFIG, smokeBaseUrl });
        let other: ReturnType<typeof leasedRollback> | undefined;
        const oncallClock: Clock = { now: () => h.clock.now(), sleep: (ms) => new Promise((resolve) => setTimeout(resolve, Math.min(ms, 20))) };
        const oncall = harness({ config: CONFIG, smokeBaseUrl });
        const start = once("bake 25%", async () => {
            other = leasedRollback(
                { ...oncall.deps, clock: oncallClock },
                { ...sessionOptions("rollback"), owner: "oncall@laptop", events: undefined, waitMs: 60_000, pollMs: 5000 },
                (deps) => rollbackCommand({ ...deps, by: { user: "oncall", host: "laptop" } }),
            );
            // Let the request reach the ledger before this poll's ledger check reads it.
            for (let tries = 0; tries < 100 && (await ledger.requests({})).length === 0; tries++) await new Promise((resolve) => setTimeout(resolve, 10));
        });
        const outcome = await deployWith(h, [start]);
        assert.strictEqual(outcome.exitCode, ExitCode.rolledBack, outcome.message);
        assert.deepStrictEqual(h.stack.section("traffic"), { blue: 100, green: 0 });
        assert.deepStrictEqual(outcome.record!.rollbacks.map((rollback) => rollback.reason), ["abort requested by oncall@laptop: rollback requested by oncall@laptop"]);
        const reported = await other!;
        assert.strictEqual(reported.exitCode, ExitCode.success, reported.message);
        assert.match(reported.message, /obeyed the abort \(rolling back from bake 25%\); .* is rolled-back/);
        assert.deepStrictEqual(oncall.stack.calls, [], "the other actor's rollback never touched the stack itself");
    });

    it("a deploy whose runner stalls past its lease: another runner takes it over and rolls back; the stale deploy stops at its next poll without touching the stack, and its record does not overwrite the rollback's", async () => {
        const h = harness({ config: CONFIG, smokeBaseUrl });
        const oncallRecords = new RecordStore(fs.mkdtempSync(path.join(os.tmpdir(), "shiftwise-oncall-")), "production");
        let rolledBack: DriverOutcome | undefined;
        let callsAfterRollback = 0;
        const stall = once("bake 25%", async () => {
            // The runner is stuck (a long pulumi up, a frozen VM): 331 s without a heartbeat, past the 300 s lease and the 30 s clock allowance.
            await h.clock.sleep(331_000);
            rolledBack = await leasedRollback(
                { ...h.deps, records: oncallRecords },
                { ...sessionOptions("rollback"), owner: "oncall@laptop", events: undefined, waitMs: 60_000, pollMs: 5000 },
                (deps) => rollbackCommand({ ...deps, by: { user: "oncall", host: "laptop" } }),
            );
            callsAfterRollback = h.stack.calls.length;
        });
        const outcome = await deployWith(h, [stall]);
        fs.rmSync(oncallRecords.baseDir, { recursive: true, force: true });
        assert.strictEqual(rolledBack?.exitCode, ExitCode.success, rolledBack?.message);
        assert.strictEqual(outcome.exitCode, ExitCode.paused, outcome.message);
        // Found at its next heartbeat (released by then) or by a record write still in flight when the rollback held it (taken).
        assert.match(outcome.message, /^the lease was (released by another actor|taken by oncall@laptop \(rollback\) at [0-9TZ:.-]+); stopping without changing the stack/);
        assert.match(outcome.message, /the record \S+ was left as the lease's new holder wrote it/);
        assert.strictEqual(h.stack.calls.length, callsAfterRollback, "the stale deploy changed nothing after the take-over");
        assert.deepStrictEqual(h.stack.section("traffic"), { blue: 100, green: 0 });
        const record = await ledgerRecord();
        assert.strictEqual(record.status, "rolled-back", "the ledger says what the stack is: rolled back, not paused");
        assert.deepStrictEqual(record.ledger?.events.map((event) => [event.kind, event.previousOwner]), [["take-over", "octocat (github-actions run 42)"]]);
        assert.strictEqual(await ledger.readLease(), undefined, "the rollback released its lease; the stale deploy did not touch it");
    });

    it("a deploy whose lease is forced away stops at its next poll without changing the stack, and leaves the new holder's lease alone", async () => {
        const h = harness({ config: CONFIG, smokeBaseUrl });
        const clock = new FakeClock();
        let forcedToken = "";
        const force = once("bake 25%", async () => {
            const forced = await ledger.acquireLease({ owner: "oncall", command: "rollback", now: clock.now(), ttlSeconds: 300, force: "runner wedged" });
            assert.ok(forced.acquired);
            forcedToken = forced.lease.token;
        });
        const callsBefore = () => h.stack.calls.length;
        let callsAtForce = 0;
        const outcome = await deployWith(h, [force, async (_c, where) => void (where === "bake 25%" && !callsAtForce && (callsAtForce = callsBefore()))]);
        assert.strictEqual(outcome.exitCode, ExitCode.paused, outcome.message);
        assert.match(outcome.message, /the lease was taken by oncall \(rollback\)/);
        assert.strictEqual(h.stack.calls.length, callsAtForce, "no stack call after the lease was lost");
        assert.strictEqual((await ledger.readLease())?.token, forcedToken);
    });
});
