// Scenario tests of the driver's decisions where AWS disagrees with the driver's memory (config, record): each decision reads reality just before.
import * as assert from "assert";
import * as os from "os";
import { deploy } from "../rollout/driver";
import { dryRun } from "../rollout/dryRun";
import { runPreflight } from "../rollout/stages/preflight";
import { ExitCode } from "../rollout/exitCodes";
import { Harness, RELEASE, harness, useSmokeServer } from "./fakes/rollout";

const WRITES = /^(setConfig|removeConfig|up)/;

/** The colours' target groups as the stack outputs name them. */
async function targetGroups(h: Harness): Promise<Record<"blue" | "green", string>> {
    const outputs = (await h.stack.outputs()) as Record<string, { targetGroupArn: string }>;
    return { blue: outputs.blue.targetGroupArn, green: outputs.green.targetGroupArn };
}

describe("the driver reads reality before each decision", function () {
    this.timeout(120_000);
    const { url } = useSmokeServer();

    it("pre-flight: a listener moved in the console (green 10%) while the config says 100/0 refuses the deploy before anything changes", async () => {
        const h = harness({ smokeBaseUrl: url() });
        const groups = await targetGroups(h);
        h.aws.scenario.staleWeights = { [groups.blue]: 90, [groups.green]: 10 };
        const outcome = await deploy(h.deps, { ...RELEASE, smokeBaseUrl: url() });
        assert.strictEqual(outcome.exitCode, ExitCode.refused, outcome.message);
        assert.deepStrictEqual(outcome.problems, [
            `the listener in AWS does not show shiftwise:traffic (changed by hand?): ${groups.blue} has weight 90 in AWS, expected 100; ${groups.green} has weight 10 in AWS, expected 0; decide which is right and make them agree first (\`pulumi up\` restores shiftwise:traffic; or set shiftwise:traffic to what AWS shows)`,
        ]);
        assert.deepStrictEqual(h.stack.calls.filter((call) => WRITES.test(call)), [], "green, which serves 10%, was not replaced");
        assert.deepStrictEqual(h.records.list(), []);
    });

    it("the listener was deleted by hand during the 5% bake: judging stops after the read budget; the rollback cannot verify weights and says so with the retry (exit 6)", async () => {
        const h = harness({ smokeBaseUrl: url() });
        h.clock.onSleep = () => {
            if (h.stack.ups.length === 2) h.aws.scenario.listenerDeleted = true;
        };
        const outcome = await deploy(h.deps, { ...RELEASE, smokeBaseUrl: url() });
        assert.strictEqual(outcome.exitCode, ExitCode.rollbackFailed, outcome.message);
        assert.match(outcome.message, /^cannot judge the release: \d+ AWS read\(s\) in a row failed/);
        assert.match(outcome.message, /\n {2}listener in AWS: unreadable \(One or more listeners not found\)\n {2}if the listener was deleted outside Pulumi, run `pulumi refresh --stack production` first: the retry then creates it again\n/);
        assert.match(outcome.message, /\nretry: shiftwise rollback --stack production --record /);
        assert.strictEqual(h.records.latest()?.status, "rollback-failed");
    });

    it("pre-flight: a listener deleted by hand (or in maintenance mode) refuses the deploy with the read error, nothing changed", async () => {
        const h = harness({ smokeBaseUrl: url() });
        h.aws.scenario.listenerDeleted = true;
        const outcome = await deploy(h.deps, { ...RELEASE, smokeBaseUrl: url() });
        assert.strictEqual(outcome.exitCode, ExitCode.refused, outcome.message);
        assert.match(outcome.problems?.[0] ?? "", /^cannot read the listener's weights in AWS: One or more listeners not found$/);
        assert.deepStrictEqual(h.stack.calls.filter((call) => WRITES.test(call)), []);
    });

    it("the go/no-go table shows the listener check with what AWS served; the record names its runner and keeps the smoke base URL only when given", async () => {
        const h = harness({ smokeBaseUrl: url() });
        const outputs = (await h.stack.outputs()) as { listenerArn: string };
        const go = await dryRun(h.deps, RELEASE);
        assert.deepStrictEqual(go.checks.find((c) => c.check === "the listener in AWS shows shiftwise:traffic"), { check: "the listener in AWS shows shiftwise:traffic", ok: true, evidence: `blue 100%, green 0% on ${outputs.listenerArn}` });
        const groups = await targetGroups(h);
        h.aws.scenario.staleWeights = { [groups.blue]: 90, [groups.green]: 10 };
        const moved = await dryRun(h.deps, RELEASE);
        assert.deepStrictEqual(moved.checks.find((c) => c.check === "the listener in AWS shows shiftwise:traffic"), {
            check: "the listener in AWS shows shiftwise:traffic",
            ok: false,
            evidence: `${groups.blue} has weight 90 in AWS, expected 100; ${groups.green} has weight 10 in AWS, expected 0`,
        });
        h.aws.scenario.staleWeights = undefined;
        h.aws.scenario.listenerDeleted = true;
        const gone = await dryRun(h.deps, RELEASE);
        assert.deepStrictEqual(gone.checks.find((c) => c.check === "the listener in AWS shows shiftwise:traffic"), { check: "the listener in AWS shows shiftwise:traffic", ok: false, evidence: "cannot read the listener's weights in AWS: One or more listeners not found" });
        h.aws.scenario.listenerDeleted = false;
        const plain = await runPreflight(h.deps, RELEASE);
        assert.deepStrictEqual(plain.record.runner, { host: os.hostname(), pid: process.pid });
        assert.strictEqual("probeBaseUrl" in plain.record, false);
        const probed = await runPreflight(h.deps, { ...RELEASE, smokeBaseUrl: url() });
        assert.strictEqual(probed.record.probeBaseUrl, url());
    });

    it("the stable colour scaled down by hand during the 25% bake (1 of 3 targets): the step never promotes on it and pauses (exit 5)", async () => {
        const h = harness({ smokeBaseUrl: url() });
        h.clock.onSleep = () => {
            if (h.stack.ups.length === 3) h.aws.scenario.healthy.blue = 1;
        };
        const outcome = await deploy(h.deps, { ...RELEASE, smokeBaseUrl: url() });
        assert.strictEqual(outcome.exitCode, ExitCode.paused, outcome.message);
        assert.match(outcome.message, /^paused at 25%: no conclusive verdict in 60 min: inconclusive \(blue has 1 of 3 healthy target\(s\) at 75% \(scaled down by hand\?\)\)/);
        assert.deepStrictEqual(h.records.latest()?.steps.map((step) => `${step.percent}% ${step.outcome}`), ["5% promoted", "25% inconclusive"]);
        assert.strictEqual(h.stack.ups.length, 3, "no step after 25%");
    });

    it("the candidate scaled to zero by hand during the 25% bake: judged like its alarm, rolled back (exit 4) onto blue", async () => {
        const h = harness({ smokeBaseUrl: url() });
        h.clock.onSleep = () => {
            if (h.stack.ups.length === 3) h.aws.scenario.healthy.green = 0;
        };
        const outcome = await deploy(h.deps, { ...RELEASE, smokeBaseUrl: url() });
        assert.strictEqual(outcome.exitCode, ExitCode.rolledBack, outcome.message);
        assert.strictEqual(outcome.message, "rolled back to the checkpoint: green has no healthy target while it carries 25% of traffic (desiredCount 3)");
        const groups = await targetGroups(h);
        const weights = await h.aws.port.listenerWeights(((await h.stack.outputs()) as { listenerArn: string }).listenerArn);
        assert.deepStrictEqual([weights[groups.blue], weights[groups.green]], [100, 0]);
    });

    it("the stable colour scaled to zero by hand during the 25% bake: stops without rolling back onto it (exit 5)", async () => {
        const h = harness({ smokeBaseUrl: url() });
        h.clock.onSleep = () => {
            if (h.stack.ups.length === 3) h.aws.scenario.healthy.blue = 0;
        };
        const outcome = await deploy(h.deps, { ...RELEASE, smokeBaseUrl: url() });
        assert.strictEqual(outcome.exitCode, ExitCode.paused, outcome.message);
        assert.match(outcome.message, /^blue has no healthy target while it carries 75% of traffic \(desiredCount 3\); the candidate green is not to blame/);
        assert.strictEqual(h.records.latest()?.steps.at(-1)?.outcome, "stable-alarm");
    });
});
