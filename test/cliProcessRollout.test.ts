// The rollout commands' failure classes, run as users run them: the package bin as a separate process, with a stand-in `pulumi` serving the stack.
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { ExitCode } from "../rollout/exitCodes";
import { PROJECT_DIR } from "./harness";
import { STACK_TRACE, fakePulumiStack, pulumiCalls, shiftwise, tempDir } from "./fakes/binProcess";
import { deploy } from "../rollout/driver";
import { Harness, RELEASE, harness, productionConfig, useSmokeServer } from "./fakes/rollout";

/** Pulumi commands that change a stack: a config write or an update. */
const STACK_WRITES = /^(config set-all|config rm|up|destroy|refresh)\b/;
/** The production stack with no freeze window, so no assertion depends on the day the tests run. */
const CONFIG = productionConfig({ rollout: { pollSeconds: 30, maxBakeMinutes: 60, freezeWindows: [] } });
const DRY_RUN = ["--cwd", PROJECT_DIR, "deploy", "--stack", "production", "--version", RELEASE.version, "--image", RELEASE.image, "--dry-run"];

describe("shiftwise as a process: deploy --dry-run", function () {
    this.timeout(120_000);

    it("an invalid stack config: exit 2, the failing check names the key, nothing written", async () => {
        const { env, log } = fakePulumiStack({ ...CONFIG, "shiftwise:traffic": JSON.stringify({ blue: 70, green: 20 }) });
        const [plain, json] = await Promise.all([shiftwise(DRY_RUN, { env }), shiftwise([...DRY_RUN, "--json"], { env })]);
        assert.strictEqual(plain.code, ExitCode.invalid, plain.stderr);
        assert.match(plain.stdout, /^stack config is valid +FAIL +shiftwise:traffic: blue \(70\) \+ green \(20\) = 90; weights must sum to 100$/m);
        assert.match(plain.stdout, /NO-GO \(exit 2\)/);
        assert.doesNotMatch(plain.stderr, STACK_TRACE);
        const report = JSON.parse(json.stdout) as { exitCode: number; go: boolean; problems: string[] };
        assert.strictEqual(json.code, ExitCode.invalid);
        assert.deepStrictEqual([report.exitCode, report.go], [ExitCode.invalid, false]);
        assert.deepStrictEqual(report.problems, ["shiftwise:traffic: blue (70) + green (20) = 90; weights must sum to 100"]);
        assert.deepStrictEqual(pulumiCalls(log).filter((call) => STACK_WRITES.test(call)), []);
    });

    it("a stack never updated (no outputs): exit 3 no-go with the evidence, no preview, no write, no record", async () => {
        const { env, log } = fakePulumiStack(CONFIG, {});
        const records = tempDir();
        const result = await shiftwise([...DRY_RUN, "--records-dir", records], { env });
        assert.strictEqual(result.code, ExitCode.refused, result.stderr);
        assert.match(result.stdout, /^stack outputs +FAIL +the stack outputs lack listenerArn/m);
        assert.match(result.stdout, /^traffic starts from 100\/0 +ok +shiftwise:traffic blue 100%, green 0%$/m);
        assert.match(result.stdout, /NO-GO \(exit 3\):\n {2}- the stack outputs lack listenerArn/);
        assert.match(result.stdout, /schedule \(\d+-\d+ min of waiting\):\n {2}checkpoint:/);
        const calls = pulumiCalls(log);
        assert.deepStrictEqual(calls.filter((call) => STACK_WRITES.test(call) || /^preview/.test(call)), []);
        assert.ok(calls.some((call) => /^stack output/.test(call)), `the outputs were read: ${calls.join(" | ")}`);
        assert.deepStrictEqual(fs.readdirSync(records), [], "no record, not even a folder");
        assert.ok(!fs.existsSync(path.join(PROJECT_DIR, ".shiftwise")), "nothing written into the project");
    });
});

/** AWS for the bin: credentials that sign, and an endpoint where nothing listens, so any AWS read fails at once. */
const NO_AWS = { AWS_ACCESS_KEY_ID: "test", AWS_SECRET_ACCESS_KEY: "test", AWS_ENDPOINT_URL: "http://127.0.0.1:9", AWS_MAX_ATTEMPTS: "1" };

describe("shiftwise as a process: rollback", function () {
    this.timeout(180_000);
    const smoke = useSmokeServer();

    /** Two releases (green v1.6.0, then blue v1.7.0) in-process; the bin then sees that stack, its outputs and records. */
    async function twoReleases(): Promise<{ h: Harness; older: string; env: NodeJS.ProcessEnv; log: string }> {
        const h = harness({ smokeBaseUrl: smoke.url(), config: CONFIG });
        const first = await deploy(h.deps, { ...RELEASE, smokeBaseUrl: smoke.url() });
        assert.strictEqual(first.exitCode, ExitCode.success, first.message);
        const second = await deploy(h.deps, { version: "v1.7.0", image: RELEASE.image.replace("v1.6.0", "v1.7.0"), smokeBaseUrl: smoke.url() });
        assert.strictEqual(second.exitCode, ExitCode.success, second.message);
        // Without the ledger's output the bin runs without a lease, so it needs no DynamoDB (test/ledgerCli.test.ts covers the lease).
        const { releaseLedger: _ledger, ...outputs } = await h.stack.outputs();
        const { env, log } = fakePulumiStack(h.stack.engineConfig(), outputs);
        return { h, older: first.recordFile!, env: { ...env, ...NO_AWS }, log };
    }

    it("--record <older> that would replace the serving colour: exit 3 naming --replace-serving, nothing written; with the flag it goes on to the write (here refused by the backend: exit 6, retry keeps the flag)", async () => {
        const { h, older, env, log } = await twoReleases();
        const rollback = ["--cwd", PROJECT_DIR, "rollback", "--stack", "production", "--records-dir", h.records.baseDir, "--record", older];
        const refused = await shiftwise(rollback, { env });
        assert.strictEqual(refused.code, ExitCode.refused, refused.stderr);
        assert.match(refused.stderr, /^rollback refused; nothing was changed \(see the stage line above\)$/m);
        assert.match(refused.stdout, /\[production\] rollback: refused: restoring \S+ would replace blue, which serves 100% after the rollback: it runs v1\.7\.0 .*; pass --replace-serving to replace it while it takes traffic/);
        assert.doesNotMatch(refused.stderr, STACK_TRACE);
        assert.deepStrictEqual(pulumiCalls(log).filter((call) => STACK_WRITES.test(call)), [], "nothing written");

        const allowed = await shiftwise([...rollback, "--replace-serving"], { env: { ...env, FAKE_PULUMI_FAIL_WRITES: "1" } });
        assert.strictEqual(allowed.code, ExitCode.rollbackFailed, allowed.stderr);
        assert.match(allowed.stderr, /failed during the write phase: [\s\S]*error: the backend refused the config write[\s\S]*\(the config before the write was put back\)\nstate:\n {2}failed phase: write\n/);
        assert.match(allowed.stderr, /listener in AWS: unreadable/, "the state names what could not be read");
        assert.match(allowed.stderr, new RegExp(`retry: shiftwise rollback --stack production --record ${older.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")} --replace-serving$`, "m"));
        assert.doesNotMatch(allowed.stderr, STACK_TRACE);
        assert.ok(pulumiCalls(log).some((call) => /^config set-all --stack production --path/.test(call)), "the write was attempted");
    });

    it("an unknown flag is refused (exit 2) before pulumi runs", async () => {
        const { env, log } = fakePulumiStack(CONFIG);
        const result = await shiftwise(["--cwd", PROJECT_DIR, "rollback", "--stack", "production", "--replace-servingg"], { env });
        assert.strictEqual(result.code, ExitCode.invalid, result.stderr);
        assert.match(result.stderr, /unknown option '--replace-servingg'/);
        assert.deepStrictEqual(pulumiCalls(log), []);
    });
});
