// The ledger commands of the CLI: in-process over the ports, and the bin as a child process against moto_server's DynamoDB.
import * as assert from "assert";
import { execFile } from "child_process";
import * as os from "os";
import * as path from "path";
import { main } from "../cli/main";
import type { CommandContext } from "../cli/commands";
import { ExitCode } from "../rollout/exitCodes";
import type { ReleaseEvent } from "../rollout/releaseEvents";
import { DynamoLedger } from "../ports/dynamoLedger";
import { cliContext } from "./fakes/cliContext";
import { fakeAws } from "./fakes/fakeAws";
import { FakeClock } from "./fakes/fakeClock";
import { FakeStack } from "./fakes/fakeStack";
import { MemoryLedger, memoryLedgerContext } from "./fakes/memoryLedger";
import { MotoServer } from "./fakes/motoServer";
import { ALARMS, RELEASE, SmokeServer, productionConfig } from "./fakes/rollout";
import { PROJECT_DIR } from "./harness";

describe("shiftwise ledger commands (in process)", function () {
    this.timeout(60_000);
    const server = new SmokeServer();
    let smokeBaseUrl = "";
    before(async () => (smokeBaseUrl = await server.start()));
    after(() => server.stop());

    function cli(ledger = new MemoryLedger(), more: Parameters<typeof memoryLedgerContext>[3] & { config?: Record<string, string> } = {}) {
        const stack = new FakeStack({ stackName: "production", config: more.config ?? productionConfig() });
        const aws = fakeAws(stack, { alarms: { [ALARMS.blue]: "OK", [ALARMS.green]: "OK" } });
        const clock = new FakeClock("2025-03-05T10:00:00Z");
        const out: string[] = [];
        const err: string[] = [];
        const published: ReleaseEvent[] = [];
        const base = cliContext("shiftwise-ledger-cli-", {
            env: { GITHUB_ACTIONS: "true", GITHUB_ACTOR: "octocat", GITHUB_RUN_ID: "7" },
            clock,
            openStack: async () => stack,
            openAws: () => aws.port,
        });
        const context: CommandContext = { ...base, ledger: memoryLedgerContext(base, ledger, published, more) };
        const run = (...args: string[]) => main(["node", "shiftwise", ...args], { stdout: (t) => out.push(t), stderr: (t) => err.push(t) }, context);
        return { stack, clock, out, err, run, ledger, published };
    }
    const deployArgs = ["deploy", "--stack", "production", "--version", RELEASE.version, "--image", RELEASE.image, "--yes"];

    it("deploy takes and releases the lease, mirrors the record to the ledger and announces start and outcome", async () => {
        const c = cli();
        assert.strictEqual(await c.run(...deployArgs, "--smoke-base-url", smokeBaseUrl, "--notes", "https://example.com/notes/1.6.0"), ExitCode.success, c.err.join(""));
        assert.strictEqual(c.ledger.lease, undefined);
        const [item] = await c.ledger.records(1);
        assert.deepStrictEqual([item.status, (item.body as { ledger: { lease: { owner: string } } }).ledger.lease.owner], ["succeeded", "octocat@" + os.hostname() + " (github-actions run 7)"]);
        assert.deepStrictEqual(c.published.map((event) => event.kind), ["start", "outcome"]);
    });

    it("a second deploy while the lease is held exits 3, names the holder and touches nothing; --force takes it and records why", async () => {
        const ledger = new MemoryLedger();
        await ledger.acquireLease({ owner: "alice@laptop", command: "deploy", now: new Date("2025-03-05T09:59:00Z"), ttlSeconds: 300 });
        const c = cli(ledger);
        assert.strictEqual(await c.run(...deployArgs, "--smoke-base-url", smokeBaseUrl), ExitCode.refused);
        assert.match(c.err.join("") + c.out.join(""), /held by alice@laptop \(deploy\) since 2025-03-05T09:59:00.000Z; last heartbeat 60 s ago/);
        assert.deepStrictEqual(c.stack.calls, []);

        assert.strictEqual(await c.run(...deployArgs, "--smoke-base-url", smokeBaseUrl, "--force", "alice's laptop died"), ExitCode.success, c.err.join(""));
        const [item] = await ledger.records(1);
        assert.deepStrictEqual((item.body as { ledger: { events: { kind: string; reason: string; previousOwner: string }[] } }).ledger.events, [
            { kind: "force", at: "2025-03-05T10:00:00.000Z", by: `octocat@${os.hostname()} (github-actions run 7)`, reason: "alice's laptop died", previousOwner: "alice@laptop", previousCommand: "deploy" },
        ]);
    });

    it("go/no-go: rollout.requiresSuccessOn refuses a release that did not complete on staging, unless --hotfix", async () => {
        const staging = new MemoryLedger();
        const c = cli(new MemoryLedger(), { ledgers: { staging }, config: productionConfig({ rollout: { requiresSuccessOn: "staging" } }) });
        assert.strictEqual(await c.run(...deployArgs, "--smoke-base-url", smokeBaseUrl), ExitCode.refused);
        assert.match(c.err.join("") + c.out.join(""), /v1\.6\.0 \(123456789012\.dkr\.ecr\.eu-west-1\.amazonaws\.com\/shop:v1\.6\.0\) has not completed a release on staging/);
        assert.deepStrictEqual(c.stack.calls, []);
        assert.strictEqual(c.ledger.lease, undefined, "refused before taking the lease");

        await staging.putRecord({ id: "s1", startedAt: "2025-03-05T08:00:00.000Z", status: "succeeded", body: { id: "s1", status: "succeeded", version: RELEASE.version, image: RELEASE.image } });
        c.out.length = 0;
        assert.strictEqual(await c.run(...deployArgs, "--smoke-base-url", smokeBaseUrl), ExitCode.success, c.err.join(""));
        assert.match(c.out.join(""), /go\/no-go: v1\.6\.0 .* completed a release on staging/);

        const hotfix = cli(new MemoryLedger(), { ledgers: { staging: new MemoryLedger() }, config: productionConfig({ rollout: { requiresSuccessOn: "staging" } }) });
        assert.strictEqual(await hotfix.run(...deployArgs, "--smoke-base-url", smokeBaseUrl, "--hotfix", "INC-7 payment outage"), ExitCode.success, hotfix.err.join(""));
    });

    it("go/no-go: a migrating release shows the newest recovery point's age and refuses one older than the limit", async () => {
        const stale = cli(new MemoryLedger(), { recoveryPoint: { at: new Date("2025-03-04T09:00:00Z"), source: "RDS automated backup rds:shop-production-2025-03-04" } });
        assert.strictEqual(await stale.run(...deployArgs, "--smoke-base-url", smokeBaseUrl, "--migration-snapshot"), ExitCode.refused);
        assert.match(stale.err.join("") + stale.out.join(""), /newest recovery point 1 d 1 h old: RDS automated backup rds:shop-production-2025-03-04 at 2025-03-04T09:00:00\.000Z, older than rollout\.maxRecoveryPointAgeHours \(24 h\)/);
        assert.deepStrictEqual(stale.stack.calls, []);

        const none = cli(new MemoryLedger(), {});
        assert.strictEqual(await none.run(...deployArgs, "--smoke-base-url", smokeBaseUrl, "--migration-snapshot"), ExitCode.refused);
        assert.match(none.err.join("") + none.out.join(""), /has no completed recovery point/);
    });

    it("abort, pause and promote need a running release and a reason", async () => {
        const c = cli();
        assert.strictEqual(await c.run("abort", "--stack", "production", "--table", "t", "--region", "eu-west-1", "--reason", "bad"), ExitCode.refused);
        assert.match(c.err.join(""), /no release is running on this stack, so nobody would obey a abort request/);
        assert.strictEqual(await c.run("pause", "--stack", "production", "--table", "t", "--region", "eu-west-1"), ExitCode.invalid);
        await c.ledger.acquireLease({ owner: "ci", command: "deploy", now: c.clock.now(), ttlSeconds: 300 });
        c.out.length = 0;
        assert.strictEqual(await c.run("pause", "--stack", "production", "--reason", "dashboards", "--json"), ExitCode.success);
        const outcome = JSON.parse(c.out.join(""));
        assert.deepStrictEqual([outcome.request.kind, outcome.request.reason, outcome.request.status, outcome.request.leaseToken], ["pause", "dashboards", "pending", c.ledger.lease!.token]);
    });
});

describe("shiftwise ledger commands (bin as a child process, moto_server DynamoDB)", function () {
    this.timeout(120_000);
    const moto = new MotoServer();
    let ledger: DynamoLedger;
    before(async () => {
        await moto.start();
        await moto.createLedgerTable("shop-production-releases");
        ledger = new DynamoLedger(moto.dynamo(), "shop-production-releases", "production");
    });
    after(() => moto.stop());

    function bin(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
        const env = {
            ...process.env,
            AWS_ENDPOINT_URL_DYNAMODB: moto.endpoint,
            AWS_ENDPOINT_URL_CLOUDWATCH: moto.endpoint,
            AWS_ACCESS_KEY_ID: "testing",
            AWS_SECRET_ACCESS_KEY: "testing",
            AWS_REGION: "eu-west-1",
            GITHUB_ACTIONS: "",
            CI: "",
        };
        return new Promise((resolve) => {
            execFile(process.execPath, [path.join(PROJECT_DIR, "bin", "shiftwise.js"), args[0], "--stack", "production", "--table", "shop-production-releases", ...args.slice(1)], { env, cwd: PROJECT_DIR }, (error, stdout, stderr) =>
                resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
            );
        });
    }

    it("pause writes a request the lease holder will find; status --watch --json prints the live release as NDJSON and ends when it settles; history reports", async () => {
        const now = new Date();
        const held = await ledger.acquireLease({ owner: "octocat (github-actions run 42)", command: "deploy", now, ttlSeconds: 300 });
        assert.ok(held.acquired);
        const paused = await bin("pause", "--reason", "checking dashboards", "--json");
        assert.strictEqual(paused.code, 0, paused.stderr);
        assert.strictEqual(JSON.parse(paused.stdout).request.kind, "pause");
        assert.deepStrictEqual((await ledger.requests({ pendingFor: held.lease.token })).map((request) => request.reason), ["checking dashboards"]);

        await ledger.releaseLease(held.lease);
        const watched = await bin("status", "--watch", "--json", "--interval", "1");
        assert.strictEqual(watched.code, 0, watched.stderr);
        const lines = watched.stdout.trim().split("\n").map((line) => JSON.parse(line));
        assert.strictEqual(lines.length, 1);
        assert.deepStrictEqual([lines[0].lease, lines[0].settled, lines[0].requests.recent[0].kind], [undefined, true, "pause"]);

        const history = await bin("history", "--json", "--days", "7");
        assert.strictEqual(history.code, 0, history.stderr);
        assert.deepStrictEqual(JSON.parse(history.stdout).metrics.releases, 0);
    });

    it("an expected failure prints one line and no stack trace", async () => {
        const failed = await bin("abort", "--reason", "x", "--region", "eu-west-1", "--table", "no-such-table");
        assert.strictEqual(failed.code, ExitCode.error);
        assert.match(failed.stderr, /^shiftwise abort: /);
        assert.ok(!/\n\s+at /.test(failed.stderr), failed.stderr);
    });
});
