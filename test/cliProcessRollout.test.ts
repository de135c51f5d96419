// The rollout commands' failure classes, run as users run them: the package bin as a separate process, with a stand-in `pulumi` serving the stack.
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { ExitCode } from "../rollout/exitCodes";
import { PROJECT_DIR } from "./harness";
import { STACK_TRACE, fakePulumiStack, pulumiCalls, shiftwise, tempDir } from "./fakes/binProcess";
import { RELEASE, productionConfig } from "./fakes/rollout";

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
