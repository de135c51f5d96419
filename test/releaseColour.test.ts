// Tests that a deployment names its colour in shiftwise:releaseColour, so an even split keeps stable and candidate from the release, not from colour order.
import * as assert from "assert";
import { deploy, resume } from "../rollout/driver";
import { ExitCode } from "../rollout/exitCodes";
import { rollbackCommand } from "../rollout/rollback";
import { RELEASE, harness, productionConfig, useSmokeServer } from "./fakes/rollout";
import { evaluate } from "./harness";

describe("shiftwise deploy names the release's colour (shiftwise:releaseColour)", function () {
    this.timeout(120_000);
    const { url } = useSmokeServer();
    // green serves: this release goes to blue, the colour that colour order would call stable at 50/50.
    const greenServes = () => productionConfig({ traffic: { blue: 0, green: 100 } });

    it("a release to blue paused at 50/50 keeps green stable and blue the candidate in the config and the stack outputs; resume finishes on blue", async () => {
        const h = harness({ config: greenServes(), smokeBaseUrl: url() });
        const paused = await deploy(h.deps, { ...RELEASE, smokeBaseUrl: url(), pauseAt: 50 });
        assert.strictEqual(paused.exitCode, ExitCode.paused, paused.message);
        assert.deepStrictEqual(h.stack.section("traffic"), { blue: 50, green: 50 });
        assert.strictEqual(h.stack.section("releaseColour"), "blue");
        assert.strictEqual(paused.record!.candidate, "blue");
        const outputs = (await evaluate(h.stack.engineConfig(), "production")).outputs;
        assert.deepStrictEqual([outputs.stable, outputs.candidate], ["green", "blue"], "what `pulumi up` of this config exports, and what `plan` and `status` show");

        const resumed = await resume(h.deps);
        assert.strictEqual(resumed.exitCode, ExitCode.success, resumed.message);
        assert.deepStrictEqual(h.stack.section("traffic"), { blue: 100, green: 0 });
        assert.strictEqual(h.stack.section("releaseColour"), "blue");
        assert.strictEqual((h.stack.section("blue") as { version: string }).version, RELEASE.version);
    });

    it("a rollback from 50/50 restores the checkpoint exactly, the release's colour included", async () => {
        const checkpoint = { ...greenServes(), "shiftwise:releaseColour": "green" };
        const h = harness({ config: checkpoint, smokeBaseUrl: url() });
        const paused = await deploy(h.deps, { ...RELEASE, smokeBaseUrl: url(), pauseAt: 50 });
        assert.strictEqual(paused.exitCode, ExitCode.paused, paused.message);
        assert.strictEqual(h.stack.section("releaseColour"), "blue");

        const rolledBack = await rollbackCommand({ ...h.deps, by: { user: "oncall", host: "laptop" } });
        assert.strictEqual(rolledBack.exitCode, ExitCode.success, rolledBack.message);
        assert.deepStrictEqual(h.stack.engineConfig(), checkpoint);
    });

    it("the next release goes to the other colour and names it", async () => {
        const h = harness({ config: { ...productionConfig(), "shiftwise:releaseColour": "blue" }, smokeBaseUrl: url() });
        const done = await deploy(h.deps, { ...RELEASE, smokeBaseUrl: url() });
        assert.strictEqual(done.exitCode, ExitCode.success, done.message);
        assert.strictEqual(h.stack.section("releaseColour"), "green");
        assert.deepStrictEqual(h.stack.section("traffic"), { blue: 0, green: 100 });
    });
});
