// Guard trips in the CLI and the ledger: clear-trip's error classes (bin as a child process, moto_server DynamoDB), the ledger's trip queries, the driver's trip gate.
import * as assert from "assert";
import { execFile } from "child_process";
import * as os from "os";
import * as path from "path";
import { DynamoDBDocumentClient, GetCommand, PutCommand } from "@aws-sdk/lib-dynamodb";
import { main } from "../cli/main";
import type { CommandContext } from "../cli/commands";
import { DynamoLedger } from "../ports/dynamoLedger";
import type { LedgerTrip } from "../ports/ports";
import { dynamoTripReader } from "../ports/tripReader";
import { ExitCode } from "../rollout/exitCodes";
import { cliContext } from "./fakes/cliContext";
import { fakeAws } from "./fakes/fakeAws";
import { FakeClock } from "./fakes/fakeClock";
import { FakeStack } from "./fakes/fakeStack";
import { MemoryLedger, memoryLedgerContext } from "./fakes/memoryLedger";
import { GREEN_TRIP } from "./fakes/alarmEvents";
import { MotoServer } from "./fakes/motoServer";
import { ALARMS, RELEASE, productionConfig, useSmokeServer } from "./fakes/rollout";
import { PROJECT_DIR } from "./harness";

const TABLE = "shop-production-releases";

describe("guard trips in the ledger and clear-trip (bin as a child process, moto_server DynamoDB)", function () {
    this.timeout(60_000);
    const moto = new MotoServer();
    let documents: DynamoDBDocumentClient;
    let ledger: DynamoLedger;
    before(async () => {
        await moto.start();
        await moto.createLedgerTable(TABLE);
        documents = DynamoDBDocumentClient.from(moto.dynamo());
        ledger = new DynamoLedger(moto.dynamo(), TABLE, "production");
    });
    after(() => moto.stop());

    const putTrip = (trip: LedgerTrip, stack = "production") => {
        const { id, ...fields } = trip;
        return documents.send(new PutCommand({ TableName: TABLE, Item: { pk: `STACK#${stack}`, sk: `TRIP#${id}`, ...fields } }));
    };
    const storedTrip = async (id: string) => (await documents.send(new GetCommand({ TableName: TABLE, Key: { pk: "STACK#production", sk: `TRIP#${id}` }, ConsistentRead: true }))).Item;

    function bin(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
        const env = { ...process.env, AWS_ENDPOINT_URL_DYNAMODB: moto.endpoint, AWS_ACCESS_KEY_ID: "testing", AWS_SECRET_ACCESS_KEY: "testing", AWS_REGION: "eu-west-1", GITHUB_ACTIONS: "", CI: "" };
        return new Promise((resolve) => {
            execFile(process.execPath, [path.join(PROJECT_DIR, "bin", "shiftwise.js"), "clear-trip", "--stack", "production", ...args], { env, cwd: PROJECT_DIR }, (error, stdout, stderr) =>
                resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
            );
        });
    }

    it("the ledger: activeTrips reads only blocking, uncleared trips of this stack; clearTrip writes who, when and why once", async () => {
        const left: LedgerTrip = { ...GREEN_TRIP, id: "2026-11-27T21:00:00.000Z#blue", colour: "blue", status: "left", blocking: false };
        await putTrip(GREEN_TRIP);
        await putTrip(left);
        await putTrip(GREEN_TRIP, "staging");
        const active = await ledger.activeTrips();
        assert.deepStrictEqual(active.map((trip) => [trip.id, trip.colour, trip.status]), [[GREEN_TRIP.id, "green", "moved"]]);
        const clearing = { at: "2026-11-27T23:00:00.000Z", by: "alice@laptop", reason: "flag off" };
        assert.strictEqual(await ledger.clearTrip(active[0], clearing), true);
        assert.strictEqual(await ledger.clearTrip(active[0], { ...clearing, by: "bob" }), false);
        assert.deepStrictEqual((await storedTrip(GREEN_TRIP.id!))?.cleared, clearing);
        assert.deepStrictEqual(await ledger.activeTrips(), []);
        assert.strictEqual(await ledger.clearTrip({ ...GREEN_TRIP, id: "1999-01-01T00:00:00.000Z#green" }, clearing), false, "a trip that is not there is not created by clearing it");
        assert.strictEqual(await storedTrip("1999-01-01T00:00:00.000Z#green"), undefined);
    });

    it("the program's reader: the stack's active trips through the default credential chain; no table yet means no trips", async () => {
        const saved = { ...process.env };
        Object.assign(process.env, { AWS_ENDPOINT_URL_DYNAMODB: moto.endpoint, AWS_ACCESS_KEY_ID: "testing", AWS_SECRET_ACCESS_KEY: "testing" });
        try {
            const trip = { ...GREEN_TRIP, id: "2026-11-27T22:30:00.000Z#green" };
            await putTrip(trip);
            assert.deepStrictEqual((await dynamoTripReader({ region: "eu-west-1", tableName: TABLE, stack: "production" })).map((found) => found.id), [trip.id]);
            assert.deepStrictEqual(await dynamoTripReader({ region: "eu-west-1", tableName: "shop-newstack-releases", stack: "newstack" }), []);
            await ledger.clearTrip(trip, { at: "t", by: "test", reason: "cleanup" });
        } finally {
            for (const key of ["AWS_ENDPOINT_URL_DYNAMODB", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"]) if (saved[key] === undefined) delete process.env[key];
            Object.assign(process.env, saved);
        }
    });

    it("clear-trip clears the active trip (exit 0), records who, when and why, and says so; a second run finds nothing (exit 0)", async () => {
        const trip = { ...GREEN_TRIP, id: "2026-11-27T22:40:00.000Z#green" };
        await putTrip(trip);
        const cleared = await bin("--table", TABLE, "--reason", "feature flag off; fixed in v1.6.1", "--json");
        assert.strictEqual(cleared.code, ExitCode.success, cleared.stderr);
        const document = JSON.parse(cleared.stdout);
        assert.deepStrictEqual([document.cleared.length, document.cleared[0].colour], [1, "green"]);
        const stored = await storedTrip(trip.id);
        assert.deepStrictEqual([stored?.cleared?.reason, stored?.cleared?.by, typeof stored?.cleared?.at], ["feature flag off; fixed in v1.6.1", `${os.userInfo().username}@${os.hostname()}`, "string"]);
        const again = await bin("--table", TABLE, "--reason", "again");
        assert.deepStrictEqual([again.code, again.stdout.trim()], [ExitCode.success, "no active guard trip on production; nothing to clear"]);
    });

    it("--colour clears only that colour's trips", async () => {
        const blue = { ...GREEN_TRIP, id: "2026-11-27T22:50:00.000Z#blue", colour: "blue" as const };
        await putTrip(blue);
        const none = await bin("--table", TABLE, "--reason", "green only", "--colour", "green");
        assert.match(none.stdout, /no active guard trip on production for green/);
        assert.strictEqual((await storedTrip(blue.id))?.cleared, undefined);
        assert.strictEqual((await bin("--table", TABLE, "--reason", "blue checked", "--colour", "blue")).code, ExitCode.success);
        assert.strictEqual((await storedTrip(blue.id))?.cleared?.reason, "blue checked");
    });

    it("error classes: no --reason, an empty reason, a bad colour exit 2; an unreachable or missing ledger exits 1; one line each, no stack trace", async () => {
        const noReason = await bin("--table", TABLE);
        assert.strictEqual(noReason.code, ExitCode.invalid, noReason.stderr);
        assert.match(noReason.stderr, /--reason/);
        const empty = await bin("--table", TABLE, "--reason", "  ");
        assert.deepStrictEqual([empty.code, empty.stderr.trim()], [ExitCode.invalid, "shiftwise clear-trip needs a reason: what was found and fixed"]);
        const colour = await bin("--table", TABLE, "--reason", "x", "--colour", "purple");
        assert.strictEqual(colour.code, ExitCode.invalid, colour.stderr);
        assert.match(colour.stderr, /must be blue or green/);
        const missing = await bin("--table", "no-such-table", "--reason", "x");
        assert.strictEqual(missing.code, ExitCode.error);
        assert.match(missing.stderr, /^shiftwise clear-trip: /);
        for (const failed of [noReason, empty, colour, missing]) assert.ok(!/\n\s+at /.test(failed.stderr), failed.stderr);
    });
});

describe("guard trips in the driver and status (in process)", function () {
    this.timeout(120_000);
    const smoke = useSmokeServer();

    function cli(ledger: MemoryLedger, config = productionConfig()) {
        const stack = new FakeStack({ stackName: "production", config });
        const aws = fakeAws(stack, { alarms: { [ALARMS.blue]: "OK", [ALARMS.green]: "OK" } });
        const out: string[] = [];
        const err: string[] = [];
        const base = cliContext("shiftwise-trip-cli-", {
            env: { GITHUB_ACTIONS: "true", GITHUB_ACTOR: "octocat", GITHUB_RUN_ID: "9" },
            clock: new FakeClock("2026-11-27T23:00:00Z"),
            openStack: async () => stack,
            openAws: () => aws.port,
        });
        const context: CommandContext = { ...base, ledger: memoryLedgerContext(base, ledger) };
        const run = (...args: string[]) => main(["node", "shiftwise", ...args], { stdout: (t) => out.push(t), stderr: (t) => err.push(t) }, context);
        return { stack, out, err, run };
    }

    it("resume of a release whose candidate the guard took off is refused (exit 3), naming the trip; nothing runs, the lease is not taken", async () => {
        const ledger = new MemoryLedger();
        ledger.tripItems.push({ ...GREEN_TRIP });
        const c = cli(ledger, productionConfig({ traffic: { blue: 75, green: 25 } }));
        assert.strictEqual(await c.run("resume", "--stack", "production"), ExitCode.refused, c.err.join(""));
        const printed = c.err.join("") + c.out.join("");
        assert.match(printed, /a guard trip blocks resume; nothing was changed/);
        assert.match(printed, /guard: refused: shiftwise:traffic\.green = 25: the AWS-side guard took green off at 2026-11-27T22:00:30\.000Z/);
        assert.deepStrictEqual(c.stack.calls, []);
        assert.strictEqual(ledger.lease, undefined);
    });

    it("deploy after the config was reverted (green 0) clears the trip on record as reverted and releases", async () => {
        const ledger = new MemoryLedger();
        ledger.tripItems.push({ ...GREEN_TRIP });
        const c = cli(ledger);
        const code = await c.run("deploy", "--stack", "production", "--version", RELEASE.version, "--image", RELEASE.image, "--yes", "--smoke-base-url", smoke.url());
        assert.strictEqual(code, ExitCode.success, c.err.join(""));
        assert.deepStrictEqual(ledger.tripItems[0].cleared, { at: "2026-11-27T23:00:00.000Z", by: `octocat@${os.hostname()} (github-actions run 9)`, reason: "config reverted: shiftwise:traffic.green is 0 when deploy started" });
    });

    it("a trip on the stable colour (blue 100 in the config) refuses the deploy: the config still sends blue traffic", async () => {
        const ledger = new MemoryLedger();
        ledger.tripItems.push({ ...GREEN_TRIP, id: "x#blue", colour: "blue" });
        const c = cli(ledger);
        assert.strictEqual(await c.run("deploy", "--stack", "production", "--version", RELEASE.version, "--image", RELEASE.image, "--yes", "--smoke-base-url", smoke.url()), ExitCode.refused);
        assert.strictEqual(ledger.tripItems[0].cleared, undefined);
    });

    it("status shows an active trip (text and --json)", async () => {
        const ledger = new MemoryLedger();
        ledger.tripItems.push({ ...GREEN_TRIP });
        const c = cli(ledger);
        assert.strictEqual(await c.run("status", "--stack", "production"), ExitCode.success, c.err.join(""));
        assert.match(c.out.join(""), /guard trip: green taken off at 2026-11-27T22:00:30\.000Z \(shop-production-green-rollback in ALARM\): took green off: green had weight 10; blue has 3 healthy targets; blocks traffic to green until the config is reverted or `shiftwise clear-trip` is run/);
        c.out.length = 0;
        assert.strictEqual(await c.run("status", "--stack", "production", "--json"), ExitCode.success);
        assert.deepStrictEqual(JSON.parse(c.out.join("")).guardTrips.map((trip: LedgerTrip) => trip.colour), ["green"]);
    });
});
