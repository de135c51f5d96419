// The lease holder over the DynamoDB ledger when DynamoDB throttles or a transaction conflicts (aws-sdk-client-mock): it goes on while its lease holds, stops before it could expire, and never loses the outcome.
import * as assert from "assert";
import { DynamoDBClient, ProvisionedThroughputExceededException, ThrottlingException, TransactionCanceledException } from "@aws-sdk/client-dynamodb";
import { DeleteCommand, DynamoDBDocumentClient, GetCommand, PutCommand, QueryCommand, TransactWriteCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { mockClient } from "aws-sdk-client-mock";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { DynamoLedger } from "../ports/dynamoLedger";
import { LedgerSession, runLeased } from "../rollout/ledgerSession";
import { ExitCode } from "../rollout/exitCodes";
import { DeploymentRecord, RecordStore } from "../rollout/records";
import { GateFailed, Paused } from "../rollout/stages/context";
import type { DriverDeps, RolloutContext } from "../rollout/stages/context";
import { FakeClock } from "./fakes/fakeClock";

const TABLE = "shop-production-releases";
const T0 = "2025-03-04T10:00:00.000Z";
const provisioned = () => new ProvisionedThroughputExceededException({ message: "The level of configured provisioned throughput for the table was exceeded", $metadata: {} });
const throttling = () => new ThrottlingException({ message: "Rate of requests exceeds the allowed throughput", $metadata: {} });
const cancelled = (code: string) => new TransactionCanceledException({ message: `Transaction cancelled [${code}, None]`, $metadata: {}, CancellationReasons: [{ Code: code }, { Code: "None" }] });

function record(status: DeploymentRecord["status"]): DeploymentRecord {
    return {
        schemaVersion: 1, id: "20250304T100000Z-v1.6.0", stack: "production", status, version: "v1.6.0", image: "shop:v1.6.0", stable: "blue", candidate: "green",
        startedAt: T0, startedBy: { user: "octocat", host: "runner" },
        checkpoint: { config: {}, outputs: {}, versions: { blue: "a", green: "b" }, traffic: { blue: 100, green: 0 } },
        stages: [], steps: [], rollbacks: [],
    };
}

describe("the lease holder when DynamoDB throttles", () => {
    // Mocked only while this describe runs: mockClient patches every DynamoDBDocumentClient, and the moto tests use real ones.
    const documentMock = () => mockClient(DynamoDBDocumentClient);
    let ddb: ReturnType<typeof documentMock>;
    before(() => {
        ddb = documentMock();
    });
    let clock: FakeClock;
    let lines: string[];
    let context: RolloutContext;
    const ledger = () => new DynamoLedger(new DynamoDBClient({ region: "eu-west-1", credentials: { accessKeyId: "x", secretAccessKey: "x" } }), TABLE, "production");
    const token = () => (ddb.commandCalls(PutCommand).find((call) => call.args[0].input.Item?.sk === "LEASE")?.args[0].input.Item?.token as string) ?? "";

    beforeEach(() => {
        ddb.reset();
        ddb.on(GetCommand).resolves({});
        ddb.on(PutCommand).resolves({});
        ddb.on(UpdateCommand).resolves({});
        ddb.on(QueryCommand).resolves({ Items: [] });
        ddb.on(TransactWriteCommand).resolves({});
        ddb.on(DeleteCommand).resolves({});
        clock = new FakeClock(T0);
        lines = [];
        context = { record: record("in-progress"), deps: { reporter: { line: (stage: string, message: string) => void lines.push(`${stage}: ${message}`), progress: () => undefined } } } as unknown as RolloutContext;
    });
    after(() => ddb.restore());

    async function open(): Promise<LedgerSession> {
        const opened = await LedgerSession.open({ ledger: ledger(), command: "deploy", owner: "ci" }, clock);
        assert.ok("session" in opened);
        return opened.session;
    }

    it("a throttled heartbeat is tolerated while the lease holds, and stops the release (pause, traffic kept) before it could expire", async () => {
        const session = await open();
        ddb.on(UpdateCommand).rejects(provisioned());
        await clock.sleep(60_000);
        await session.pollCheck(context, "bake 25%");
        assert.deepStrictEqual(lines, [`ledger: could not renew the lease in ${TABLE} (The level of configured provisioned throughput for the table was exceeded); going on, the lease holds for 240 s more`]);
        await clock.sleep(209_000);
        await session.pollCheck(context, "bake 25%");
        assert.match(lines[1], /the lease holds for 31 s more$/);
        await clock.sleep(1000);
        await assert.rejects(
            session.pollCheck(context, "bake 25%"),
            (error: unknown) =>
                error instanceof Paused &&
                error.message === `could not renew the lease in the release ledger ${TABLE} (The level of configured provisioned throughput for the table was exceeded) and the lease expires at 2025-03-04T10:05:00.000Z; stopping with the traffic where it is before another actor may take the lease over`,
        );
    });

    it("a heartbeat that gets through again moves the expiry on, and the next failure is judged from there", async () => {
        const session = await open();
        ddb.on(UpdateCommand).rejectsOnce(throttling()).resolves({});
        await clock.sleep(200_000);
        await session.pollCheck(context, "bake 5%");
        await clock.sleep(60_000);
        await session.pollCheck(context, "bake 5%");
        const renewals = ddb.commandCalls(UpdateCommand).map((call) => call.args[0].input.ExpressionAttributeValues?.[":expires"]);
        assert.deepStrictEqual(renewals, ["2025-03-04T10:08:20.000Z", "2025-03-04T10:09:20.000Z"]);
        ddb.on(UpdateCommand).rejects(throttling());
        await clock.sleep(200_000);
        await session.pollCheck(context, "bake 5%");
        assert.match(lines.at(-1)!, /could not renew the lease .*Rate of requests exceeds the allowed throughput.*; going on, the lease holds for 100 s more$/);
    });

    it("a throttled read of requests is tolerated; the abort is obeyed at the next poll", async () => {
        const session = await open();
        const abort = { pk: "STACK#production", sk: "REQUEST#x", id: "x", kind: "abort", reason: "tickets", by: "bob", createdAt: T0, leaseToken: token(), status: "pending" };
        ddb.on(QueryCommand).rejectsOnce(throttling()).resolves({ Items: [abort] });
        await session.pollCheck(context, "bake 25%");
        assert.deepStrictEqual(lines, [`ledger: could not read requests in ${TABLE} (Rate of requests exceeds the allowed throughput); going on, the lease holds for 300 s more`]);
        await assert.rejects(session.pollCheck(context, "bake 25%"), (error: unknown) => error instanceof GateFailed && error.message === "abort requested by bob: tickets");
    });

    it("a throttled claim of a request leaves it pending: not obeyed this poll, obeyed the next", async () => {
        const session = await open();
        const pause = { pk: "STACK#production", sk: "REQUEST#p", id: "p", kind: "pause", reason: "look", by: "alice", createdAt: T0, leaseToken: token(), status: "pending" };
        ddb.on(QueryCommand).resolves({ Items: [pause] });
        let serves = 0;
        ddb.on(UpdateCommand).callsFake(async (input: { Key: { sk: string } }) => {
            if (input.Key.sk === "REQUEST#p" && ++serves === 1) throw provisioned();
            return {};
        });
        const baking = { ...context, record: { ...record("in-progress"), steps: [{ percent: 25, traffic: { blue: 75, green: 25 }, startedAt: T0 }] } } as unknown as RolloutContext;
        await session.pollCheck(baking, "bake 25%");
        assert.strictEqual(baking.record.pause, undefined);
        assert.match(lines[0], /^ledger: could not mark the pause request p served in shop-production-releases \(The level/);
        await assert.rejects(session.pollCheck(baking, "bake 25%"), Paused);
        assert.strictEqual((baking.record as DeploymentRecord).pause?.afterPercent, 25);
    });

    it("a record write that lost a transaction conflict (its own heartbeat) is not a lost lease; a failed lease condition is", async () => {
        const session = await open();
        ddb.on(TransactWriteCommand).rejectsOnce(cancelled("TransactionConflict")).rejectsOnce(cancelled("ConditionalCheckFailed"));
        session.mirror(record("in-progress"));
        await session.pollCheck(context, "bake 5%");
        assert.match(lines[0], /^ledger: could not write the record in shop-production-releases \(Transaction cancelled \[TransactionConflict, None\]\); going on/);
        ddb.on(GetCommand).resolves({ Item: { pk: "STACK#production", sk: "LEASE", owner: "oncall", command: "rollback", startedAt: T0, heartbeatAt: T0, expiresAt: T0, token: "theirs" } });
        session.mirror(record("in-progress"));
        await session.flush();
        await assert.rejects(session.pollCheck(context, "bake 5%"), (error: unknown) => error instanceof Paused && /^the lease was taken by oncall \(rollback\)/.test(error.message));
    });

    describe("at the end of a release", () => {
        const dirs: string[] = [];
        after(() => dirs.forEach((dir) => fs.rmSync(dir, { recursive: true, force: true })));
        function deps(): DriverDeps {
            const dir = fs.mkdtempSync(path.join(os.tmpdir(), "shiftwise-throttle-"));
            dirs.push(dir);
            return { clock, records: new RecordStore(dir, "production"), reporter: { line: (stage: string, message: string) => void lines.push(`${stage}: ${message}`), progress: () => undefined } } as unknown as DriverDeps;
        }
        const release = async (inner: DriverDeps) => {
            inner.records.save(record("in-progress"));
            inner.records.save(record("succeeded"));
            return { exitCode: ExitCode.success, message: "v1.6.0 is live on green" };
        };
        const lastWritten = () => JSON.parse(String(ddb.commandCalls(TransactWriteCommand).at(-1)?.args[0].input.TransactItems?.[1].Put?.Item?.body)) as DeploymentRecord;

        it("writes the last record again when its write was throttled", async () => {
            ddb.on(TransactWriteCommand).resolvesOnce({}).rejectsOnce(provisioned()).resolves({});
            const outcome = await runLeased(deps(), { ledger: ledger(), command: "deploy", owner: "ci" }, release);
            assert.deepStrictEqual(outcome, { exitCode: ExitCode.success, message: "v1.6.0 is live on green" });
            assert.strictEqual(ddb.commandCalls(TransactWriteCommand).length, 3);
            assert.strictEqual(lastWritten().status, "succeeded");
            assert.deepStrictEqual(clock.sleeps, [1000]);
            assert.strictEqual(ddb.commandCalls(DeleteCommand).length, 1, "the lease is released");
        });

        it("keeps the release's outcome and exit code when the ledger never takes the last record, and says so", async () => {
            ddb.on(TransactWriteCommand).resolvesOnce({}).rejects(throttling());
            const outcome = await runLeased(deps(), { ledger: ledger(), command: "deploy", owner: "ci" }, release);
            const problem = `the release ledger ${TABLE} was not updated with the last record (Rate of requests exceeds the allowed throughput); the local copy is the latest`;
            assert.deepStrictEqual(outcome, { exitCode: ExitCode.success, message: `v1.6.0 is live on green\n${problem}` });
            assert.deepStrictEqual(lines, [`ledger: ${problem}`]);
            assert.deepStrictEqual(clock.sleeps, [1000, 2000]);
            assert.strictEqual(ddb.commandCalls(TransactWriteCommand).length, 4);
        });

        it("reports each thing the ledger did not take on its own line", async () => {
            ddb.on(TransactWriteCommand).resolvesOnce({}).rejects(throttling());
            ddb.on(DeleteCommand).rejects(provisioned());
            const outcome = await runLeased(deps(), { ledger: ledger(), command: "deploy", owner: "ci" }, release);
            assert.deepStrictEqual(outcome.message.split("\n").map((line) => line.slice(0, 40)), ["v1.6.0 is live on green", "the release ledger shop-production-relea", "the lease could not be released (The lev"]);
        });

        it("reports a lease it could not release, with when it expires", async () => {
            ddb.on(DeleteCommand).rejects(provisioned());
            const outcome = await runLeased(deps(), { ledger: ledger(), command: "deploy", owner: "ci" }, release);
            assert.strictEqual(outcome.exitCode, ExitCode.success);
            assert.strictEqual(outcome.message, "v1.6.0 is live on green\nthe lease could not be released (The level of configured provisioned throughput for the table was exceeded); it expires at 2025-03-04T10:05:00.000Z");
        });

        it("a throttled take of the lease fails the command before anything runs", async () => {
            ddb.on(GetCommand).rejects(throttling());
            let ran = false;
            await assert.rejects(runLeased(deps(), { ledger: ledger(), command: "deploy", owner: "ci" }, async () => ((ran = true), { exitCode: ExitCode.success, message: "" })), ThrottlingException);
            assert.strictEqual(ran, false);
        });
    });
});
