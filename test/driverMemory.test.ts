// Scenario tests of the driver's decisions where AWS disagrees with the driver's memory (config, record): each decision reads reality just before.
import * as assert from "assert";
import { deploy } from "../rollout/driver";
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
});
