// The DynamoDB ledger adapter against moto_server's DynamoDB: the lease's conditional writes, requests, records and trips.
import * as assert from "assert";
import { DeleteCommand, PutCommand, DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { DynamoLedger } from "../ports/dynamoLedger";
import { Lease, LeaseLost } from "../ports/ports";
import { MotoServer } from "./fakes/motoServer";

const T0 = new Date("2025-03-04T10:00:00Z");
const at = (seconds: number) => new Date(T0.getTime() + seconds * 1000);

describe("DynamoLedger on moto_server", function () {
    this.timeout(60_000);
    const moto = new MotoServer();
    let table = 0;
    let ledger: DynamoLedger;
    const another = () => new DynamoLedger(moto.dynamo(), ledger.tableName, "production");

    before(async () => {
        await moto.start();
    });
    after(() => moto.stop());
    beforeEach(async () => {
        const name = `shop-production-releases-${++table}`;
        await moto.createLedgerTable(name);
        ledger = new DynamoLedger(moto.dynamo(), name, "production");
    });

    describe("lease", () => {
        it("is taken when free, and another actor is refused with who holds it and since when", async () => {
            const first = await ledger.acquireLease({ owner: "octocat (github-actions run 42)", command: "deploy", now: T0, ttlSeconds: 300 });
            assert.ok(first.acquired);
            assert.deepStrictEqual([first.lease.owner, first.lease.command, first.lease.startedAt, first.lease.expiresAt], ["octocat (github-actions run 42)", "deploy", T0.toISOString(), at(300).toISOString()]);
            assert.strictEqual(first.event, undefined);
            const second = await another().acquireLease({ owner: "alice@laptop", command: "deploy", now: at(60), ttlSeconds: 300 });
            assert.strictEqual(second.acquired, false);
            assert.deepStrictEqual(!second.acquired && [second.holder.owner, second.holder.command, second.holder.startedAt, second.holder.token], ["octocat (github-actions run 42)", "deploy", T0.toISOString(), first.lease.token]);
        });

        it("race: of many drivers acquiring one free lease at once, exactly one wins, every time", async () => {
            const rounds = 10;
            const drivers = 8;
            for (let round = 0; round < rounds; round++) {
                const stack = `race-${round}`;
                const attempts = await Promise.all(
                    Array.from({ length: drivers }, (_, index) =>
                        new DynamoLedger(moto.dynamo(), ledger.tableName, stack).acquireLease({ owner: `driver-${index}`, command: "deploy", now: T0, ttlSeconds: 300 }),
                    ),
                );
                const winners = attempts.filter((attempt) => attempt.acquired);
                assert.strictEqual(winners.length, 1, `round ${round}: ${winners.length} winners`);
                const held = await new DynamoLedger(moto.dynamo(), ledger.tableName, stack).readLease();
                const winner = winners[0].acquired ? winners[0].lease : undefined;
                assert.strictEqual(held?.token, winner?.token);
                for (const loser of attempts.filter((attempt) => !attempt.acquired)) assert.strictEqual(!loser.acquired && loser.holder.token, winner?.token);
            }
        });

        it("race: of many drivers taking over one expired lease at once, exactly one wins and one take-over is recorded", async () => {
            const dead = await ledger.acquireLease({ owner: "dead-runner", command: "deploy", now: T0, ttlSeconds: 60 });
            assert.ok(dead.acquired);
            const attempts = await Promise.all(Array.from({ length: 6 }, (_, index) => another().acquireLease({ owner: `driver-${index}`, command: "resume", now: at(120), ttlSeconds: 300 })));
            const winners = attempts.filter((attempt) => attempt.acquired);
            assert.strictEqual(winners.length, 1);
            const events = await ledger.leaseEvents(10);
            assert.strictEqual(events.length, 1);
            assert.strictEqual(events[0].kind, "take-over");
            assert.strictEqual(events[0].previous.owner, "dead-runner");
            assert.match(events[0].reason, /expired at 2025-03-04T10:01:00.000Z/);
        });

        it("renews by heartbeat, names its release, and keeps others out while renewed", async () => {
            const attempt = await ledger.acquireLease({ owner: "ci", command: "deploy", now: T0, ttlSeconds: 60 });
            assert.ok(attempt.acquired);
            let lease: Lease = attempt.lease;
            for (let beat = 1; beat <= 4; beat++) lease = await ledger.renewLease(lease, { now: at(beat * 30), ttlSeconds: 60, recordId: "20250304T100000Z-v1.6.0" });
            const held = await ledger.readLease();
            assert.deepStrictEqual([held?.heartbeatAt, held?.expiresAt, held?.recordId, held?.startedAt], [at(120).toISOString(), at(180).toISOString(), "20250304T100000Z-v1.6.0", T0.toISOString()]);
            // 150 s after the start: the original 60 s would have expired, the renewed lease has not.
            const other = await another().acquireLease({ owner: "alice", command: "deploy", now: at(150), ttlSeconds: 60 });
            assert.strictEqual(other.acquired, false);
        });

        it("expires: another actor takes it over, the take-over is recorded, and the old holder can neither renew nor release it", async () => {
            const old = await ledger.acquireLease({ owner: "dead-runner", command: "deploy", now: T0, ttlSeconds: 60 });
            assert.ok(old.acquired);
            // Clock skew: 29 s past its expiry by this clock, the holder (whose clock may be behind) still counts as alive; 30 s past, it is abandoned.
            const early = await another().acquireLease({ owner: "alice", command: "rollback", now: at(89), ttlSeconds: 60 });
            assert.strictEqual(early.acquired, false);
            const taken = await another().acquireLease({ owner: "alice", command: "rollback", now: at(90), ttlSeconds: 60 });
            assert.ok(taken.acquired);
            assert.strictEqual(taken.event?.kind, "take-over");
            assert.strictEqual(taken.event?.previous.token, old.lease.token);
            await assert.rejects(ledger.renewLease(old.lease, { now: at(91), ttlSeconds: 60 }), (error: unknown) => error instanceof LeaseLost && error.holder?.owner === "alice");
            await ledger.releaseLease(old.lease);
            assert.strictEqual((await ledger.readLease())?.token, taken.lease.token);
        });

        it("a live lease is taken only with --force, and the reason is recorded", async () => {
            const live = await ledger.acquireLease({ owner: "ci", command: "deploy", now: T0, ttlSeconds: 600 });
            assert.ok(live.acquired);
            const forced = await another().acquireLease({ owner: "oncall", command: "rollback", now: at(30), ttlSeconds: 600, force: "runner is wedged, INC-1234" });
            assert.ok(forced.acquired);
            assert.deepStrictEqual([forced.event?.kind, forced.event?.reason, forced.event?.by, forced.event?.previous.owner], ["force", "runner is wedged, INC-1234", "oncall", "ci"]);
            assert.deepStrictEqual((await ledger.leaseEvents(5)).map((event) => event.kind), ["force"]);
            await assert.rejects(ledger.renewLease(live.lease, { now: at(40), ttlSeconds: 600 }), LeaseLost);
        });

        it("is released by its holder, after which the next actor takes it without an event", async () => {
            const first = await ledger.acquireLease({ owner: "ci", command: "deploy", now: T0, ttlSeconds: 600 });
            assert.ok(first.acquired);
            await ledger.releaseLease(first.lease);
            assert.strictEqual(await ledger.readLease(), undefined);
            const next = await another().acquireLease({ owner: "ci", command: "deploy", now: at(1), ttlSeconds: 600 });
            assert.ok(next.acquired);
            assert.strictEqual(next.event, undefined);
        });
    });

    describe("requests", () => {
        it("are served only by the holding they address, in order, and exactly once", async () => {
            const holding = await ledger.acquireLease({ owner: "ci", command: "deploy", now: T0, ttlSeconds: 600 });
            assert.ok(holding.acquired);
            const token = holding.lease.token;
            const pause = await another().putRequest({ kind: "pause", reason: "checking dashboards", by: "alice", createdAt: at(10).toISOString(), leaseToken: token });
            await another().putRequest({ kind: "abort", reason: "bad release", by: "bob", createdAt: at(20).toISOString(), leaseToken: token });
            await another().putRequest({ kind: "abort", reason: "for an older run", by: "bob", createdAt: at(5).toISOString(), leaseToken: "someone-else" });
            const pending = await ledger.requests({ pendingFor: token });
            assert.deepStrictEqual(pending.map((request) => [request.kind, request.by, request.status]), [["pause", "alice", "pending"], ["abort", "bob", "pending"]]);
            assert.strictEqual(await ledger.serveRequest(pause, { at: at(30).toISOString(), outcome: "paused at 25%" }), true);
            assert.strictEqual(await ledger.serveRequest(pause, { at: at(31).toISOString(), outcome: "again" }), false);
            assert.deepStrictEqual((await ledger.requests({ pendingFor: token })).map((request) => request.kind), ["abort"]);
            const all = await ledger.requests({});
            assert.deepStrictEqual(all.map((request) => [request.kind, request.status, request.outcome]), [["abort", "pending", undefined], ["pause", "served", "paused at 25%"], ["abort", "pending", undefined]]);
        });
    });

    describe("records", () => {
        it("are written only while the writer holds the lease, and read newest first across pages", async () => {
            const holding = await ledger.acquireLease({ owner: "ci", command: "deploy", now: T0, ttlSeconds: 600 });
            assert.ok(holding.acquired);
            for (let index = 0; index < 105; index++) {
                const startedAt = at(index * 60).toISOString();
                await ledger.putRecord({ id: `r${index}`, startedAt, status: "succeeded", body: { id: `r${index}`, startedAt, note: "x".repeat(2000) } }, holding.lease);
            }
            const records = await ledger.records(103);
            assert.strictEqual(records.length, 103);
            assert.deepStrictEqual([records[0].id, records[102].id], ["r104", "r2"]);
            assert.strictEqual(records[0].body.note, "x".repeat(2000));

            const forced = await another().acquireLease({ owner: "oncall", command: "rollback", now: at(10), ttlSeconds: 600, force: "takeover" });
            assert.ok(forced.acquired);
            await assert.rejects(
                ledger.putRecord({ id: "late", startedAt: at(9999).toISOString(), status: "succeeded", body: {} }, holding.lease),
                (error: unknown) => error instanceof LeaseLost && error.holder?.owner === "oncall",
            );
            assert.strictEqual((await ledger.records(1))[0].id, "r104");
        });
    });

    describe("a record after its writer lost the lease", () => {
        it("is written only while that holding is still the record's last writer: the new holder's record stands", async () => {
            const old = await ledger.acquireLease({ owner: "ci", command: "deploy", now: T0, ttlSeconds: 600 });
            assert.ok(old.acquired);
            const body = (status: string) => ({ id: "r1", startedAt: T0.toISOString(), status, body: { id: "r1", status } });
            await ledger.putRecord(body("in-progress"), old.lease);
            await ledger.putRecord({ id: "r2", startedAt: at(1).toISOString(), status: "in-progress", body: { id: "r2" } }, old.lease);
            const forced = await another().acquireLease({ owner: "oncall", command: "rollback", now: at(30), ttlSeconds: 600, force: "wedged" });
            assert.ok(forced.acquired);
            await another().putRecord(body("rolled-back"), forced.lease);
            // The stale runner's writes: r1 is the new holder's now, r2 is still its own, r3 is new.
            assert.strictEqual(await ledger.putRecordAsLastWriter(body("paused"), old.lease), false);
            assert.strictEqual(await ledger.putRecordAsLastWriter({ id: "r2", startedAt: at(1).toISOString(), status: "paused", body: { id: "r2" } }, old.lease), true);
            assert.strictEqual(await ledger.putRecordAsLastWriter({ id: "r3", startedAt: at(2).toISOString(), status: "paused", body: { id: "r3" } }, old.lease), true);
            assert.deepStrictEqual((await ledger.records(5)).map((record) => [record.id, record.status]), [["r3", "paused"], ["r2", "paused"], ["r1", "rolled-back"]]);
            // A record written without a lease (before this version) names no writer, so no stale holding overwrites it.
            await ledger.putRecord({ id: "r0", startedAt: at(-60).toISOString(), status: "succeeded", body: { id: "r0" } });
            assert.strictEqual(await ledger.putRecordAsLastWriter({ id: "r0", startedAt: at(-60).toISOString(), status: "paused", body: { id: "r0" } }, old.lease), false);
        });
    });

    describe("items edited by hand", () => {
        const documents = () => DynamoDBDocumentClient.from(moto.dynamo());

        it("a record whose body is not JSON is named, with the way out, instead of a bare parse error", async () => {
            await documents().send(new PutCommand({ TableName: ledger.tableName, Item: { pk: "STACK#production", sk: "RECORD#2025-03-04T10:00:00.000Z#r1", id: "r1", startedAt: T0.toISOString(), status: "in-progress", body: "{\"id\": \"r1\", \"status\": \"rolled-b" } }));
            await assert.rejects(
                ledger.records(5),
                (error: Error) =>
                    error.message ===
                    `the ledger item RECORD#2025-03-04T10:00:00.000Z#r1 in ${ledger.tableName} has no deployment record in its body attribute (edited by hand?); restore it from the local copy in .shiftwise/records or from the table's point-in-time recovery, or delete the item`,
            );
            await documents().send(new PutCommand({ TableName: ledger.tableName, Item: { pk: "STACK#production", sk: "RECORD#2025-03-04T10:00:00.000Z#r1", id: "r1", startedAt: T0.toISOString(), status: "in-progress", body: "[1]" } }));
            await assert.rejects(ledger.records(5), /RECORD#2025-03-04T10:00:00.000Z#r1 .* has no deployment record/);
        });

        it("a record deleted by hand during a release is written again by the holder's next save", async () => {
            const holding = await ledger.acquireLease({ owner: "ci", command: "deploy", now: T0, ttlSeconds: 600 });
            assert.ok(holding.acquired);
            const item = (status: string) => ({ id: "r1", startedAt: T0.toISOString(), status, body: { id: "r1", status } });
            await ledger.putRecord(item("in-progress"), holding.lease);
            await documents().send(new DeleteCommand({ TableName: ledger.tableName, Key: { pk: "STACK#production", sk: `RECORD#${T0.toISOString()}#r1` } }));
            assert.deepStrictEqual(await ledger.records(5), []);
            await ledger.putRecord(item("succeeded"), holding.lease);
            assert.deepStrictEqual((await ledger.records(5)).map((record) => [record.id, record.status]), [["r1", "succeeded"]]);
        });

        it("a request deleted by hand before the holder served it is not served (nor recreated)", async () => {
            const holding = await ledger.acquireLease({ owner: "ci", command: "deploy", now: T0, ttlSeconds: 600 });
            assert.ok(holding.acquired);
            const abort = await another().putRequest({ kind: "abort", reason: "mistake", by: "bob", createdAt: at(5).toISOString(), leaseToken: holding.lease.token });
            await documents().send(new DeleteCommand({ TableName: ledger.tableName, Key: { pk: "STACK#production", sk: `REQUEST#${abort.id}` } }));
            assert.strictEqual(await ledger.serveRequest(abort, { at: at(6).toISOString(), outcome: "rolling back" }), false);
            assert.deepStrictEqual(await ledger.requests({}), []);
        });
    });

    describe("trips", () => {
        it("reads the guard's trips newest first", async () => {
            const documents = DynamoDBDocumentClient.from(moto.dynamo());
            for (const [seconds, colour] of [[1, "green"], [2, "blue"]] as const) {
                await documents.send(new PutCommand({ TableName: ledger.tableName, Item: { pk: "STACK#production", sk: `TRIP#${at(seconds).toISOString()}#${colour}`, colour, at: at(seconds).toISOString(), reason: `${colour} composite alarm in ALARM` } }));
            }
            assert.deepStrictEqual((await ledger.trips(10)).map((trip) => trip.colour), ["blue", "green"]);
        });
    });
});
