// Tests of `shiftwise deploy --dry-run`: the whole pre-flight as a go/no-go table, changing nothing.
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { main } from "../cli/main";
import { dryRun, renderDryRun } from "../rollout/dryRun";
import { ExitCode } from "../rollout/exitCodes";
import { cliContext } from "./fakes/cliContext";
import { fakeAws } from "./fakes/fakeAws";
import { FakeStack } from "./fakes/fakeStack";
import { ALARMS, RELEASE, harness, productionConfig } from "./fakes/rollout";

/** Calls that change the stack: config writes and updates. */
const WRITES = /^(setConfig|removeConfig|up)/;

describe("deploy --dry-run: go/no-go without changing anything", function () {
    this.timeout(120_000);

    it("go: every check passes, with evidence, the schedule, exit 0, and zero config writes, ups or records", async () => {
        const h = harness({ smokeBaseUrl: "http://127.0.0.1:9" });
        const before = h.stack.engineConfig();
        const report = await dryRun(h.deps, RELEASE);

        assert.strictEqual(report.exitCode, ExitCode.success, report.problems.join("; "));
        assert.strictEqual(report.go, true);
        assert.ok(report.checks.length >= 10 && report.checks.every((check) => check.ok), JSON.stringify(report.checks, null, 2));
        const evidence = Object.fromEntries(report.checks.map((check) => [check.check, check.evidence]));
        assert.strictEqual(evidence["stable colour's alarm is OK"], `${ALARMS.blue}: OK`);
        assert.strictEqual(evidence["stable colour is healthy"], "blue: 3/3 healthy, desiredCount 3");
        assert.strictEqual(evidence["checkpoint preview is clean (the rollback path)"], "pulumi preview of the current config: no changes");
        assert.match(evidence["release preview changes only green"], /^\d+ change\(s\): .*shop-green/);
        assert.deepStrictEqual(report.schedule.map((entry) => entry.stage), ["checkpoint", "prepare", "shift 5%", "shift 25%", "shift 50%", "shift 100%", "watch"]);

        assert.deepStrictEqual(h.stack.calls.filter((call) => WRITES.test(call)), [], "no config write and no up");
        assert.deepStrictEqual(h.stack.calls, ["preview", "preview --config-file"], "the release was previewed from a copy of the stack file");
        assert.deepStrictEqual(h.stack.engineConfig(), before);
        assert.deepStrictEqual(h.records.list(), [], "no record");
        assert.ok(h.stack.operations.every((op) => op.signal), "both previews can be cancelled by the signal");

        const text = renderDryRun(report);
        assert.match(text, /^shiftwise deploy --dry-run: production v1\.6\.0 \(.*shop:v1\.6\.0\); nothing was changed\n/);
        assert.match(text, /\nstable colour is healthy\s+ok\s+blue: 3\/3 healthy, desiredCount 3\n/);
        assert.match(text, /\nschedule \(50-265 min of waiting\):\n/);
        assert.match(text, /\nGO: every pre-flight check passed\n$/);
    });

    it("no-go: every failing check is reported at once, the previews still run, exit 3, nothing changed", async () => {
        const saturday = "2025-03-08T10:00:00Z";
        const h = harness({ smokeBaseUrl: "http://127.0.0.1:9", start: saturday, scenario: { alarms: { [ALARMS.blue]: "ALARM", [ALARMS.green]: "OK" } } });
        const report = await dryRun(h.deps, RELEASE);

        assert.strictEqual(report.exitCode, ExitCode.refused);
        assert.strictEqual(report.go, false);
        assert.deepStrictEqual(report.checks.filter((check) => !check.ok).map((check) => [check.check, check.evidence]), [
            ["outside freeze windows", "sat,sun all day (UTC) (weekend) at 2025-03-08T10:00:00.000Z"],
            ["stable colour's alarm is OK", `${ALARMS.blue}: ALARM`],
        ]);
        assert.deepStrictEqual(report.problems, [
            'inside the freeze window sat,sun all day (UTC) (weekend); pass --hotfix "<reason>" to deploy anyway',
            `the stable colour's composite alarm ${ALARMS.blue} is ALARM, not OK`,
        ]);
        assert.ok(report.checks.some((check) => check.check === "release preview changes only green" && check.ok), "the release was still previewed");
        assert.deepStrictEqual(h.stack.calls, ["preview", "preview --config-file"]);
        assert.match(renderDryRun(report), /\nNO-GO \(exit 3\):\n  - inside the freeze window/);
    });

    it("the CLI: --dry-run needs no --yes, prints the table, and exits 0 for go and 3 for no-go; --json prints the report", async () => {
        const run = async (alarm: "OK" | "ALARM", ...extra: string[]) => {
            const stack = new FakeStack({ stackName: "production", config: productionConfig() });
            const aws = fakeAws(stack, { alarms: { [ALARMS.blue]: alarm, [ALARMS.green]: "OK" } });
            const out: string[] = [];
            const err: string[] = [];
            const context = cliContext("shiftwise-dry-", { openStack: async () => stack, openAws: () => aws.port });
            const code = await main(["node", "shiftwise", "deploy", "--stack", "production", "--version", RELEASE.version, "--image", RELEASE.image, "--dry-run", ...extra], { stdout: (t) => out.push(t), stderr: (t) => err.push(t) }, context);
            return { code, out: out.join(""), err: err.join(""), stack, recordsDir: path.join(context.projectDir, ".shiftwise") };
        };
        const go = await run("OK");
        assert.strictEqual(go.code, ExitCode.success, go.err);
        assert.match(go.out, /\nGO: every pre-flight check passed\n$/);
        assert.ok(!fs.existsSync(go.recordsDir), "no records folder was even created");
        assert.deepStrictEqual(go.stack.calls.filter((call) => WRITES.test(call)), []);

        const noGo = await run("ALARM", "--json");
        assert.strictEqual(noGo.code, ExitCode.refused);
        const report = JSON.parse(noGo.out);
        assert.strictEqual(report.go, false);
        assert.deepStrictEqual(report.problems, [`the stable colour's composite alarm ${ALARMS.blue} is ALARM, not OK`]);
    });
});
