// Crashes and signals: a process killed at any point leaves a state that status tells truthfully and rollback finishes; a signal in pre-flight changes nothing.
import * as assert from "assert";
import { deploy } from "../rollout/driver";
import { ExitCode } from "../rollout/exitCodes";
import { effectiveSteps } from "../rollout/guards";
import { rollbackCommand } from "../rollout/rollback";
import { PREFLIGHT_INTERRUPTED } from "../rollout/stages/preflight";
import { stackStatus } from "../rollout/status";
import { Harness, RELEASE, SmokeServer, awsWeights, harness, killAt, productionConfig } from "./fakes/rollout";

const by = { user: "oncall", host: "laptop" };
const WRITES = /^(setConfig|removeConfig|up)/;

/** The checks after any crash: rollback finishes, and what is deployed is the checkpoint. */
async function rollbackFinishes(h: Harness): Promise<void> {
    h.stack.kill = undefined;
    const outcome = await rollbackCommand({ ...h.deps, by });
    assert.strictEqual(outcome.exitCode, ExitCode.success, outcome.message);
    assert.deepStrictEqual(h.stack.engineConfig(), productionConfig());
    assert.deepStrictEqual(effectiveSteps(await h.stack.preview()), [], "the deployed stack is the checkpoint");
    assert.deepStrictEqual(await awsWeights(h), { blue: 100, green: 0 });
}

describe("crashes and signals", function () {
    this.timeout(120_000);
    const server = new SmokeServer();
    let smokeBaseUrl = "";
    before(async () => (smokeBaseUrl = await server.start()));
    after(() => server.stop());

    it("killed during pre-flight's release preview: the stack file holds no release config and there is no record; the next deploy runs", async () => {
        const h = harness({ smokeBaseUrl });
        const dead = killAt(h, "preview", 2, "before");
        void deploy(h.deps, { ...RELEASE, smokeBaseUrl });
        await dead;
        assert.deepStrictEqual(h.stack.engineConfig(), productionConfig(), "the release's config change is not in the stack file");
        assert.deepStrictEqual(h.stack.calls.filter((call) => WRITES.test(call)), []);
        assert.deepStrictEqual(h.records.list(), []);
        const status = await stackStatus({ stack: h.stack, aws: h.aws.port, records: h.records });
        assert.strictEqual(status.record, undefined);
        h.stack.kill = undefined;
        const next = await deploy(h.deps, { ...RELEASE, smokeBaseUrl });
        assert.strictEqual(next.exitCode, ExitCode.success, next.message);
    });

    it("killed between the release's config change and its up: the record was written first, status shows it in progress, rollback finishes", async () => {
        const h = harness({ smokeBaseUrl });
        const dead = killAt(h, "up", 1, "before");
        void deploy(h.deps, { ...RELEASE, smokeBaseUrl });
        await dead;
        assert.strictEqual((h.stack.section("green") as { version: string }).version, "v1.6.0", "the config change is in the stack file");
        const status = await stackStatus({ stack: h.stack, aws: h.aws.port, records: h.records });
        assert.strictEqual(status.record?.status, "in-progress", "and so is its record");
        assert.deepStrictEqual(status.listener, { blue: 100, green: 0 });
        await rollbackFinishes(h);
    });

    it("killed during the 25% up, after it took effect: status shows the listener at 25% and the step running; rollback finishes", async () => {
        const h = harness({ smokeBaseUrl });
        const dead = killAt(h, "up", 3, "after");
        void deploy(h.deps, { ...RELEASE, smokeBaseUrl });
        await dead;
        const status = await stackStatus({ stack: h.stack, aws: h.aws.port, records: h.records });
        assert.deepStrictEqual(status.listener, { blue: 75, green: 25 });
        assert.deepStrictEqual(status.configTraffic, { blue: 75, green: 25 });
        assert.strictEqual(status.record?.status, "in-progress");
        assert.deepStrictEqual(status.record?.steps, ["5% promoted (500 requests)", "25% running"]);
        await rollbackFinishes(h);
    });

    it("killed during a rollback's traffic up: the next rollback finishes what is deployed", async () => {
        const h = harness({ smokeBaseUrl });
        const done = await deploy(h.deps, { ...RELEASE, smokeBaseUrl });
        assert.strictEqual(done.exitCode, ExitCode.success, done.message);
        const upsSoFar = h.stack.operations.filter((op) => op.op === "up").length;
        const dead = killAt(h, "up", upsSoFar + 1, "after");
        void rollbackCommand({ ...h.deps, by });
        await dead;
        assert.deepStrictEqual(await awsWeights(h), { blue: 100, green: 0 });
        assert.strictEqual(((await h.stack.outputs()) as Record<string, { version: string }>).green.version, "v1.6.0", "the candidate still runs the release");
        await rollbackFinishes(h);
        assert.strictEqual(((await h.stack.outputs()) as Record<string, { version: string }>).green.version, "v1.5.0");
    });

    it("a signal during pre-flight stops it with exit 3 and nothing changed; the previews were given the signal", async () => {
        const h = harness({ smokeBaseUrl });
        const preview = h.stack.preview.bind(h.stack);
        h.stack.preview = async (options) => {
            h.controller.abort(new Error("SIGINT"));
            return preview(options);
        };
        const outcome = await deploy(h.deps, { ...RELEASE, smokeBaseUrl });
        assert.strictEqual(outcome.exitCode, ExitCode.refused, outcome.message);
        assert.deepStrictEqual(outcome.problems, [PREFLIGHT_INTERRUPTED]);
        assert.deepStrictEqual(h.stack.calls.filter((call) => WRITES.test(call)), []);
        assert.deepStrictEqual(h.stack.engineConfig(), productionConfig());
        assert.deepStrictEqual(h.records.list(), []);
        assert.deepStrictEqual(h.stack.operations.map((op) => [op.op, op.signal]), [["preview", true]]);
    });
});
