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
});
