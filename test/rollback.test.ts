// Scenario tests of `shiftwise rollback` on the real program graph: capacity first, verified against what is deployed, never invalid config.
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { deploy } from "../rollout/driver";
import { ExitCode } from "../rollout/exitCodes";
import { RecordStore } from "../rollout/records";
import { rollbackCommand } from "../rollout/rollback";
import { stackStatus } from "../rollout/status";
import { effectiveSteps } from "../rollout/guards";
import { shiftwiseConfig } from "../rollout/stackView";
import { Harness, RELEASE, SmokeServer, harness, productionConfig } from "./fakes/rollout";

/**
 * Each scenario starts from a finished or failed release on the fake stack
 * (the real index.ts under the mock runtime), then rolls back and checks what
 * is DEPLOYED (the fake's deployed graph, a fresh preview, the listener as the
 * mocked ELB API reports it), not only the stack config.
 */

const SERVICE = "aws:ecs/service:Service";
const LISTENER = "aws:lb/listener:Listener";
const by = { user: "oncall", host: "laptop" };

/** The deployed ECS service's desiredCount of a colour. */
async function deployedCount(h: Harness, colour: "blue" | "green"): Promise<number> {
    return Number((await h.stack.deployedResource(SERVICE, `shop-${colour}`))?.inputs.desiredCount);
}

/** The listener's weights as the ELB API reports them, by colour. */
async function awsWeights(h: Harness): Promise<Record<"blue" | "green", number>> {
    const outputs = (await h.stack.outputs()) as Record<string, { targetGroupArn: string }> & { listenerArn: string };
    const weights = await h.aws.port.listenerWeights(outputs.listenerArn);
    return { blue: weights[outputs.blue.targetGroupArn], green: weights[outputs.green.targetGroupArn] };
}

/** The deployed version of a colour (stack outputs of the last update). */
async function deployedVersion(h: Harness, colour: "blue" | "green"): Promise<string> {
    return ((await h.stack.outputs()) as Record<string, { version: string }>)[colour].version;
}

/** Scales a colour by hand, as on-call does after a release (`pulumi config set` + `pulumi up`). */
async function scaleByHand(h: Harness, colour: "blue" | "green", count: number): Promise<void> {
    h.stack.edit(colour, { ...(h.stack.section(colour) as object), desiredCount: count });
    await h.stack.up();
}

describe("rollback: restores a working state", function () {
    this.timeout(120_000);
    const server = new SmokeServer();
    let smokeBaseUrl = "";
    before(async () => (smokeBaseUrl = await server.start()));
    after(() => server.stop());

    async function released(config?: Record<string, string>): Promise<{ h: Harness; recordFile: string }> {
        const h = harness({ smokeBaseUrl, config });
        const outcome = await deploy(h.deps, { ...RELEASE, smokeBaseUrl });
        assert.strictEqual(outcome.exitCode, ExitCode.success, outcome.message);
        return { h, recordFile: outcome.recordFile! };
    }

    it("capacity first: the colour that takes traffic is scaled to its checkpoint count and healthy before the listener moves", async () => {
        // An unprotected stack lets one task carry traffic, so the old order (traffic first) was accepted there.
        const { h } = await released({ ...productionConfig(), "shiftwise:protect": "false" });
        await scaleByHand(h, "blue", 1);
        const upsBefore = h.stack.ups.length;
        const elbCalls = () => h.aws.commands().filter((name) => name === "DescribeTargetHealthCommand" || name === "DescribeListenersCommand");
        const elbBefore = elbCalls().length;

        const outcome = await rollbackCommand({ ...h.deps, by });
        assert.strictEqual(outcome.exitCode, ExitCode.success, outcome.message);
        const [capacityUp, trafficUp, configUp] = h.stack.ups.slice(upsBefore);
        assert.deepStrictEqual(capacityUp.changes.steps.map((s) => [s.op, s.type, s.urn.split("::").pop(), s.diffs]), [["update", SERVICE, "shop-blue", ["desiredCount"]]]);
        assert.deepStrictEqual(trafficUp.changes.steps.map((s) => [s.op, s.type]), [["update", LISTENER]]);
        assert.ok(configUp.changes.steps.every((s) => s.urn.includes("ColourService") && s.urn.endsWith("shop-green")), JSON.stringify(configUp.changes.steps.map((s) => s.urn)));
        assert.strictEqual(elbCalls()[elbBefore], "DescribeTargetHealthCommand", "blue's targets were read healthy before the listener was touched");
        assert.deepStrictEqual(await awsWeights(h), { blue: 100, green: 0 });
        assert.strictEqual(await deployedCount(h, "blue"), 3);
        const attempt = h.records.latest()!.rollbacks[0];
        assert.strictEqual(attempt.wroteConfig, true);
        assert.deepStrictEqual(attempt.phases.map((p) => [p.name, p.changed !== undefined]), [["write", false], ["capacity", true], ["traffic", true], ["config", true], ["verify", false]]);
        // the up of the capacity phase was restricted to the previewed ECS service
        const capacityOp = h.stack.operations.filter((op) => op.op === "up").slice(-3)[0];
        assert.deepStrictEqual(capacityOp.targets?.map((urn) => urn.split("::").pop()), ["shop-blue"]);
    });

    it("with zero tasks on the old colour, the rollback scales it up instead of failing with an invalid stack file", async () => {
        const { h } = await released();
        await scaleByHand(h, "blue", 0);
        const outcome = await rollbackCommand({ ...h.deps, by });
        assert.strictEqual(outcome.exitCode, ExitCode.success, outcome.message);
        const entries = await h.stack.getAllConfig();
        assert.doesNotThrow(() => shiftwiseConfig(entries));
        assert.deepStrictEqual(h.stack.engineConfig(), productionConfig());
        assert.strictEqual(await deployedCount(h, "blue"), 3);
        assert.deepStrictEqual(await awsWeights(h), { blue: 100, green: 0 });
        assert.deepStrictEqual(effectiveSteps(await h.stack.preview()), [], "the deployed stack is the checkpoint");
    });

    it("when the old colour never becomes healthy, traffic stays where it is, the stack file stays valid, and a later rollback finishes", async () => {
        const { h } = await released();
        await scaleByHand(h, "blue", 0);
        h.aws.scenario.healthy.blue = 1;
        const failed = await rollbackCommand({ ...h.deps, by });
        assert.strictEqual(failed.exitCode, ExitCode.rollbackFailed, failed.message);
        assert.match(failed.message, /failed during the capacity phase: blue has 1 of 3 healthy target\(s\) after 15 min .*traffic was not moved onto it/);
        assert.match(failed.message, /stack outputs \(the last complete update\): blue v1\.4\.2, green v1\.6\.0/);
        assert.deepStrictEqual(await awsWeights(h), { blue: 0, green: 100 }, "no traffic onto an unhealthy colour");
        const entries = await h.stack.getAllConfig();
        assert.doesNotThrow(() => shiftwiseConfig(entries), "every command can still read the stack file");

        delete h.aws.scenario.healthy.blue;
        const retried = await rollbackCommand({ ...h.deps, by });
        assert.strictEqual(retried.exitCode, ExitCode.success, retried.message);
        assert.deepStrictEqual(await awsWeights(h), { blue: 100, green: 0 });
    });

    it("a retried rollback acts on what is deployed: after its config up was lost, the retry applies it and verifies with a clean preview", async () => {
        const { h } = await released();
        // the first rollback's third up (the config phase) fails after the config was written
        const upsAtStart = h.stack.ups.length;
        let upNumber = 0;
        h.stack.failUp = () => (++upNumber === 2 ? new Error("connection reset by peer") : undefined);
        const first = await rollbackCommand({ ...h.deps, by });
        assert.strictEqual(first.exitCode, ExitCode.rollbackFailed, first.message);
        assert.strictEqual(await deployedVersion(h, "green"), "v1.6.0");
        assert.deepStrictEqual(h.stack.engineConfig(), productionConfig(), "the config already says checkpoint");
        h.stack.failUp = undefined;

        const retried = await rollbackCommand({ ...h.deps, by });
        assert.strictEqual(retried.exitCode, ExitCode.success, retried.message);
        assert.strictEqual(await deployedVersion(h, "green"), "v1.5.0", "the deployed candidate runs the checkpoint version");
        assert.deepStrictEqual(effectiveSteps(await h.stack.preview()), []);
        assert.deepStrictEqual(await awsWeights(h), { blue: 100, green: 0 });
        assert.ok(h.stack.ups.length > upsAtStart + 1, "the retry ran an up");
    });

    it("a rollback fails (exit 6) when AWS does not show the checkpoint weights after it, even though the config does", async () => {
        const { h } = await released();
        const outputs = (await h.stack.outputs()) as Record<string, { targetGroupArn: string }>;
        h.aws.scenario.staleWeights = { [outputs.blue.targetGroupArn]: 0, [outputs.green.targetGroupArn]: 100 };
        const outcome = await rollbackCommand({ ...h.deps, by });
        assert.strictEqual(outcome.exitCode, ExitCode.rollbackFailed, outcome.message);
        assert.match(outcome.message, /the listener does not show the checkpoint weights/);
    });

    it("rollback --record <older> refuses to replace the colour that serves traffic unless --replace-serving is given", async () => {
        const { h, recordFile: older } = await released();
        // a second release, now onto blue: blue serves v1.7.0, green (idle) keeps v1.6.0
        const second = await deploy(h.deps, { version: "v1.7.0", image: RELEASE.image.replace("v1.6.0", "v1.7.0"), smokeBaseUrl });
        assert.strictEqual(second.exitCode, ExitCode.success, second.message);
        const configBefore = h.stack.engineConfig();
        const callsBefore = h.stack.calls.length;

        const refused = await rollbackCommand({ ...h.deps, by }, older);
        assert.strictEqual(refused.exitCode, ExitCode.refused, refused.message);
        assert.deepStrictEqual(refused.problems, [
            `restoring ${h.records.read(older).id} would replace blue, which serves 100% after the rollback: it runs v1.7.0 (123456789012.dkr.ecr.eu-west-1.amazonaws.com/shop:v1.7.0), the checkpoint has v1.4.2 (123456789012.dkr.ecr.eu-west-1.amazonaws.com/shop:v1.4.2); pass --replace-serving to replace it while it takes traffic`,
        ]);
        assert.deepStrictEqual(h.stack.calls.slice(callsBefore), [], "nothing was written, previewed or updated");
        assert.deepStrictEqual(h.stack.engineConfig(), configBefore);
        assert.strictEqual(h.records.read(older).rollbacks.length, 0);

        const forced = await rollbackCommand({ ...h.deps, by }, older, { replaceServing: true });
        assert.strictEqual(forced.exitCode, ExitCode.success, forced.message);
        assert.strictEqual(await deployedVersion(h, "blue"), "v1.4.2");
        assert.deepStrictEqual(effectiveSteps(await h.stack.preview()), []);
    });

    it("a checkpoint the program rejects today is refused before any write (exit 3), so the stack file is never made invalid", async () => {
        const { h, recordFile } = await released();
        const record = JSON.parse(fs.readFileSync(recordFile, "utf8"));
        record.checkpoint.config["shiftwise:traffic"].value = '{"blue":60,"green":30}';
        fs.writeFileSync(recordFile, JSON.stringify(record));
        const configBefore = h.stack.engineConfig();
        const callsBefore = h.stack.calls.length;
        const outcome = await rollbackCommand({ ...h.deps, by });
        assert.strictEqual(outcome.exitCode, ExitCode.refused, outcome.message);
        assert.match(outcome.message, /the checkpoint config of .* is invalid today: shiftwise:traffic: blue \(60\) \+ green \(30\) = 90/);
        assert.deepStrictEqual(h.stack.calls.slice(callsBefore), []);
        assert.deepStrictEqual(h.stack.engineConfig(), configBefore);
    });

    it("a config write that fails half-way is undone, so the stack file keeps the config it had", async () => {
        const { h } = await released();
        // a key added after the release: the rollback's write sets green and traffic back and removes this key
        await h.stack.setConfig({ "aws:skipMetadataApiCheck": "false" }, { path: false });
        await h.stack.up();
        const configBefore = h.stack.engineConfig();
        const stack = h.stack as unknown as { removeConfig: () => Promise<void> };
        stack.removeConfig = async () => {
            throw new Error("pulumi config rm: permission denied");
        };
        const outcome = await rollbackCommand({ ...h.deps, by });
        assert.strictEqual(outcome.exitCode, ExitCode.rollbackFailed, outcome.message);
        assert.match(outcome.message, /failed during the write phase: pulumi config rm: permission denied \(the config before the write was put back\)/);
        assert.deepStrictEqual(h.stack.engineConfig(), configBefore, "the half-written config (green and traffic set back) was put back as it was before the write");
        assert.deepStrictEqual(await awsWeights(h), { blue: 0, green: 100 }, "nothing was applied");
        const entries = await h.stack.getAllConfig();
        assert.doesNotThrow(() => shiftwiseConfig(entries));
    });
});

describe("records: a truncated, foreign or hand-edited file never blocks a command", function () {
    this.timeout(120_000);
    const server = new SmokeServer();
    let smokeBaseUrl = "";
    before(async () => (smokeBaseUrl = await server.start()));
    after(() => server.stop());

    it("is skipped with one warning naming it, and status, deploy and rollback go on", async () => {
        const warnings: string[] = [];
        const h = harness({ smokeBaseUrl });
        const records = new RecordStore(h.records.baseDir, "production", (warning) => warnings.push(warning));
        const deps = { ...h.deps, records };
        const dir = records.dir;
        fs.mkdirSync(dir, { recursive: true });
        fs.writeFileSync(path.join(dir, "20250101T000000Z-truncated.json"), '{"schemaVersion":1,"id":"20250101T000000Z-trunc');
        fs.writeFileSync(path.join(dir, "notes.json"), JSON.stringify({ hello: "world" }));
        fs.writeFileSync(path.join(dir, "20250102T000000Z-staging.json"), fs.readFileSync(path.join(__dirname, "..", "package.json"), "utf8"));

        const outcome = await deploy(deps, { ...RELEASE, smokeBaseUrl });
        assert.strictEqual(outcome.exitCode, ExitCode.success, outcome.message);
        // someone edits the finished record by hand: a status shiftwise does not know
        const edited = JSON.parse(fs.readFileSync(outcome.recordFile!, "utf8"));
        fs.writeFileSync(path.join(dir, "20250103T000000Z-edited.json"), JSON.stringify({ ...edited, id: "20250103T000000Z-edited", status: "done" }));

        const status = await stackStatus({ stack: h.stack, aws: h.aws.port, records });
        assert.strictEqual(status.record?.id, outcome.record!.id);
        const rolledBack = await rollbackCommand({ ...deps, by });
        assert.strictEqual(rolledBack.exitCode, ExitCode.success, rolledBack.message);

        // Node's JSON.parse message differs between versions: keep only its first words.
        assert.deepStrictEqual(warnings.map((w) => w.replace(dir + path.sep, "").replace(/\(Unterminated string in JSON.*\)$/, "(Unterminated string in JSON)")).sort(), [
            "skipped 20250101T000000Z-truncated.json: is not JSON, perhaps truncated (Unterminated string in JSON)",
            "skipped 20250102T000000Z-staging.json: is not a shiftwise deployment record (schemaVersion: Invalid input: expected 1; id: Invalid input: expected string, received undefined; stack: Invalid input: expected string, received undefined)",
            "skipped 20250103T000000Z-edited.json: is not a shiftwise deployment record (status: Invalid option: expected one of \"in-progress\"|\"paused\"|\"succeeded\"|\"rolled-back\"|\"rollback-failed\"|\"held\")",
            "skipped notes.json: is not a shiftwise deployment record (schemaVersion: Invalid input: expected 1; id: Invalid input: expected string, received undefined; stack: Invalid input: expected string, received undefined)",
        ]);
        assert.throws(() => records.read(path.join(dir, "notes.json")), /notes\.json: is not a shiftwise deployment record/, "a record named with --record is an error, not a warning");
        const other = new RecordStore(h.records.baseDir, "staging");
        fs.mkdirSync(other.dir, { recursive: true });
        fs.copyFileSync(outcome.recordFile!, path.join(other.dir, "x.json"));
        assert.throws(() => other.read(path.join(other.dir, "x.json")), /x\.json: is a record of stack production, not staging/);
    });
});
