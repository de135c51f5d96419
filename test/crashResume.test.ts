// Resume after the runner died mid-release: the record and the listener in AWS are read, and the release continues from what AWS serves, rolls back, or refuses a person's move.
import * as assert from "assert";
import { spawn } from "child_process";
import * as os from "os";
import { deploy, resume } from "../rollout/driver";
import { ExitCode } from "../rollout/exitCodes";
import { effectiveSteps } from "../rollout/guards";
import { judgeCrash, knownPercents, pendingProblems, runnerAlive } from "../rollout/recover";
import type { DeploymentRecord, StepEntry } from "../rollout/records";
import { renderStatus, stackStatus } from "../rollout/status";
import { ALARMS, Harness, RELEASE, awsWeights, harness, killAt, productionConfig, useSmokeServer } from "./fakes/rollout";

const WRITES = /^(setConfig|removeConfig|up)/;

/** Starts a deploy and abandons it where `call` number `number` kills it; the runner is then gone. */
async function diedAt(h: Harness, smokeBaseUrl: string, call: string, number: number, when: "before" | "after"): Promise<DeploymentRecord> {
    const dead = killAt(h, call, number, when);
    void deploy(h.deps, { ...RELEASE, smokeBaseUrl });
    await dead;
    h.stack.kill = undefined;
    const record = h.records.unfinished();
    assert.strictEqual(record?.status, "in-progress");
    return record;
}

/** The first problem of a refusal; fails on any other plan. */
function refusal(plan: ReturnType<typeof judgeCrash>): string {
    assert.strictEqual(plan.action, "refuse", JSON.stringify(plan));
    return plan.action === "refuse" ? plan.problems[0] : "";
}

const steps = (record: DeploymentRecord | undefined) => record?.steps.map((step) => `${step.percent}% ${step.outcome ?? "running"}`);

describe("resume after the runner died", function () {
    this.timeout(120_000);
    const { url } = useSmokeServer();

    it("killed after the 25% config write, before its up: resume reads green 5% in AWS, sets the config to it, re-judges 5% and finishes", async () => {
        const h = harness({ smokeBaseUrl: url() });
        await diedAt(h, url(), "up", 3, "before");
        assert.deepStrictEqual(h.stack.section("traffic"), { blue: 75, green: 25 }, "the config (memory) says 25%");
        assert.deepStrictEqual(await awsWeights(h), { blue: 95, green: 5 }, "AWS (reality) serves 5%");
        const outcome = await resume(h.deps);
        assert.strictEqual(outcome.exitCode, ExitCode.success, outcome.message);
        const record = h.records.latest()!;
        assert.strictEqual(record.status, "succeeded");
        assert.deepStrictEqual(steps(record), ["5% promoted", "25% interrupted", "5% promoted", "25% promoted", "50% promoted", "100% promoted"]);
        assert.strictEqual(record.resumes?.[0].after, "crash");
        assert.strictEqual(record.resumes?.[0].found, "listener in AWS blue 95%, green 5%; shiftwise:traffic blue 75%, green 25%; alarms blue OK, green OK; last step 25%");
        assert.match(record.stages.find((stage) => stage.name === "recover")?.detail ?? "", /^shiftwise:traffic set to what AWS serves \(blue 95%, green 5%\); continuing from green 5%$/);
        assert.deepStrictEqual(await awsWeights(h), { blue: 0, green: 100 });
    });

    it("killed during the 25% up after it took effect: resume re-judges 25% (a fresh bake) before the 50% step", async () => {
        const h = harness({ smokeBaseUrl: url() });
        await diedAt(h, url(), "up", 3, "after");
        const callsBefore = h.stack.calls.length;
        const outcome = await resume(h.deps);
        assert.strictEqual(outcome.exitCode, ExitCode.success, outcome.message);
        assert.deepStrictEqual(steps(h.records.latest()), ["5% promoted", "25% interrupted", "25% promoted", "50% promoted", "100% promoted"]);
        assert.strictEqual(h.stack.calls[callsBefore], "preview", "no config write: the config already said 25%");
    });

    it("the listener's up reached AWS but not the stack's state: resume settles the listener with a targeted up and goes on", async () => {
        const h = harness({ smokeBaseUrl: url() });
        await diedAt(h, url(), "up", 3, "before");
        const outputs = (await h.stack.outputs()) as Record<string, { targetGroupArn: string }>;
        h.aws.scenario.staleWeights = { [outputs.blue.targetGroupArn]: 75, [outputs.green.targetGroupArn]: 25 };
        const ups = h.stack.operations.filter((op) => op.op === "up").length;
        h.stack.beforeUp = () => (h.aws.scenario.staleWeights = undefined);
        const outcome = await resume(h.deps);
        assert.strictEqual(outcome.exitCode, ExitCode.success, outcome.message);
        const settle = h.stack.ups[ups];
        assert.deepStrictEqual(settle.changes.steps.map((step) => step.type), ["aws:lb/listener:Listener"]);
        assert.deepStrictEqual(steps(h.records.latest()), ["5% promoted", "25% interrupted", "25% promoted", "50% promoted", "100% promoted"]);
    });

    it("killed between the release config and its up: resume runs prepare again (the candidate's resources only) and finishes", async () => {
        const h = harness({ smokeBaseUrl: url() });
        await diedAt(h, url(), "up", 1, "before");
        assert.ok(effectiveSteps(await h.stack.preview()).length > 0, "the candidate's resources are pending");
        const outcome = await resume(h.deps);
        assert.strictEqual(outcome.exitCode, ExitCode.success, outcome.message);
        assert.deepStrictEqual(steps(h.records.latest()), ["5% promoted", "25% promoted", "50% promoted", "100% promoted"]);
        assert.deepStrictEqual(effectiveSteps(await h.stack.preview()), []);
    });

    it("killed after prepare, before the 5% config write: resume checks the candidate again (health, smoke) without an up, then every step", async () => {
        const h = harness({ smokeBaseUrl: url() });
        const record = await diedAt(h, url(), "setConfig", 2, "before");
        assert.deepStrictEqual(record.runner, { host: os.hostname(), pid: process.pid }, "the record names its runner");
        assert.strictEqual(record.probeBaseUrl, url(), "and the test listener it probes");
        assert.deepStrictEqual(effectiveSteps(await h.stack.preview()), [], "prepare's up had finished");
        const ups = h.stack.operations.filter((op) => op.op === "up").length;
        const outcome = await resume(h.deps);
        assert.strictEqual(outcome.exitCode, ExitCode.success, outcome.message);
        const stages = h.records.latest()!.stages.map((stage) => `${stage.name} ${stage.outcome}`);
        assert.deepStrictEqual(stages.slice(stages.indexOf("recover ok"), stages.indexOf("recover ok") + 3), ["recover ok", "prepare ok", "shift 5% ok"]);
        const later = h.stack.operations.filter((op) => op.op === "up").slice(ups);
        assert.strictEqual(later.length, 4, "one up per step, none for prepare");
        assert.deepStrictEqual(steps(h.records.latest()), ["5% interrupted", "5% promoted", "25% promoted", "50% promoted", "100% promoted"]);
    });

    it("the candidate's alarm went to ALARM while nobody watched: resume rolls back (exit 4) and AWS serves blue alone", async () => {
        const h = harness({ smokeBaseUrl: url() });
        await diedAt(h, url(), "up", 3, "after");
        h.aws.scenario.alarms[ALARMS.green] = "ALARM";
        const outcome = await resume(h.deps);
        assert.strictEqual(outcome.exitCode, ExitCode.rolledBack, outcome.message);
        assert.match(outcome.message, /resumed after its runner died: the candidate green's composite alarm is in ALARM with 25% of traffic/);
        assert.strictEqual(h.records.latest()?.status, "rolled-back");
        assert.deepStrictEqual(await awsWeights(h), { blue: 100, green: 0 });
        assert.deepStrictEqual(h.stack.engineConfig(), productionConfig());
    });

    it("a person pulled green to 0% in the console after the runner died: resume refuses and leaves it (exit 3, nothing written)", async () => {
        const h = harness({ smokeBaseUrl: url() });
        await diedAt(h, url(), "up", 3, "after");
        const outputs = (await h.stack.outputs()) as Record<string, { targetGroupArn: string }>;
        h.aws.scenario.staleWeights = { [outputs.blue.targetGroupArn]: 100, [outputs.green.targetGroupArn]: 0 };
        const callsBefore = h.stack.calls.length;
        const outcome = await resume(h.deps);
        assert.strictEqual(outcome.exitCode, ExitCode.refused, outcome.message);
        assert.match(outcome.problems?.[0] ?? "", /^the listener in AWS shows blue 100%, green 0%, which no step of \S+ set \(its steps: 5, 25% for green\); a person changed it/);
        assert.deepStrictEqual(h.stack.calls.slice(callsBefore).filter((call) => WRITES.test(call)), []);
        assert.deepStrictEqual(steps(h.records.latest()), ["5% promoted", "25% running"], "the record is as the runner left it");
    });

    it("the stable colour in ALARM: resume refuses (a rollback would move everything onto it)", async () => {
        const h = harness({ smokeBaseUrl: url() });
        await diedAt(h, url(), "up", 3, "after");
        h.aws.scenario.alarms[ALARMS.blue] = "ALARM";
        const outcome = await resume(h.deps);
        assert.strictEqual(outcome.exitCode, ExitCode.refused, outcome.message);
        assert.match(outcome.message, /the stable colour blue's composite alarm is in ALARM/);
        assert.deepStrictEqual(await awsWeights(h), { blue: 75, green: 25 });
    });

    it("a runner that is still alive on this host is not taken over", async () => {
        const h = harness({ smokeBaseUrl: url() });
        const record = await diedAt(h, url(), "up", 3, "after");
        const child = spawn(process.execPath, ["-e", "setTimeout(() => undefined, 60000)"], { stdio: "ignore" });
        try {
            h.records.save({ ...record, runner: { host: os.hostname(), pid: child.pid! } });
            const outcome = await resume(h.deps);
            assert.strictEqual(outcome.exitCode, ExitCode.refused, outcome.message);
            assert.match(outcome.message, new RegExp(`the release's runner \\(pid ${child.pid} on ${os.hostname()}\\) is still running`));
        } finally {
            child.kill();
        }
    });

    it("status after the crash: the config says 25%, AWS serves 5%, the record's 25% step is running, and the drift is named", async () => {
        const h = harness({ smokeBaseUrl: url() });
        await diedAt(h, url(), "up", 3, "before");
        const status = await stackStatus({ stack: h.stack, aws: h.aws.port, records: h.records });
        assert.deepStrictEqual(status.configTraffic, { blue: 75, green: 25 });
        assert.deepStrictEqual(status.listener, { blue: 95, green: 5 });
        assert.deepStrictEqual(status.deployed, { blue: "v1.4.2", green: "v1.6.0" }, "the outputs of the last complete update");
        assert.deepStrictEqual(status.drift, ["the listener in AWS (blue 95%, green 5%) is not shiftwise:traffic (blue 75%, green 25%)"]);
        assert.deepStrictEqual(status.record?.steps, ["5% promoted (500 requests)", "25% running"]);
        assert.match(renderStatus(status), /\n {2}DRIFT: the listener in AWS \(blue 95%, green 5%\) is not shiftwise:traffic \(blue 75%, green 25%\)\n/);
    });

    it("status after the release config was written but not applied, and after a person's move: each drift is named", async () => {
        const h = harness({ smokeBaseUrl: url() });
        const record = await diedAt(h, url(), "up", 1, "before");
        const before = await stackStatus({ stack: h.stack, aws: h.aws.port, records: h.records });
        assert.deepStrictEqual(before.deployed, { blue: "v1.4.2", green: "v1.5.0" });
        assert.strictEqual(before.colours.green.version, "v1.6.0");
        assert.deepStrictEqual(before.drift, ["green: the config has v1.6.0, the last complete update deployed v1.5.0"]);
        assert.match(renderStatus(before), /\n {2}green v1\.6\.0 \(deployed: v1\.5\.0\) /);
        const outputs = (await h.stack.outputs()) as Record<string, { targetGroupArn: string }>;
        h.aws.scenario.staleWeights = { [outputs.blue.targetGroupArn]: 80, [outputs.green.targetGroupArn]: 20 };
        const moved = await stackStatus({ stack: h.stack, aws: h.aws.port, records: h.records });
        assert.deepStrictEqual(moved.drift, [
            "the listener in AWS (blue 80%, green 20%) is not shiftwise:traffic (blue 100%, green 0%)",
            "green: the config has v1.6.0, the last complete update deployed v1.5.0",
            `${record.id} (in-progress) left green at 0%, but AWS serves 20%: changed by hand?`,
        ]);
    });
});

describe("judgeCrash: the decision from the record and the reads alone", () => {
    const step = (percent: number, outcome?: StepEntry["outcome"]): StepEntry => ({ percent, traffic: { blue: 100 - percent, green: percent }, startedAt: "2025-03-04T10:00:00.000Z", ...(outcome ? { outcome } : {}) });
    const record = (stepsTaken: StepEntry[], extra: Partial<DeploymentRecord> = {}) => ({ id: "r1", candidate: "green" as const, stable: "blue" as const, steps: stepsTaken, ...extra });
    const reads = (green: number, extra: Partial<Parameters<typeof judgeCrash>[1]> = {}) => ({ live: { blue: 100 - green, green }, strangers: [], configTraffic: { blue: 100 - green, green }, alarms: { blue: "OK" as const, green: "OK" as const }, runnerAlive: false, ...extra });

    it("knows the last promoted step and the step started without a verdict", () => {
        assert.deepStrictEqual(knownPercents(record([])), [0]);
        assert.deepStrictEqual(knownPercents(record([step(5)])), [0, 5]);
        assert.deepStrictEqual(knownPercents(record([step(5, "promoted"), step(25)])), [5, 25]);
        assert.deepStrictEqual(knownPercents(record([step(5, "promoted"), step(25, "interrupted"), step(5, "promoted")])), [5]);
        assert.deepStrictEqual(knownPercents(record([step(5, "promoted"), step(5)])), [5]);
    });

    it("continues from what AWS serves, fixing the config only when it differs", () => {
        assert.deepStrictEqual(judgeCrash(record([step(5, "promoted"), step(25)]), reads(25)), { action: "continue", fromPercent: 25 });
        assert.deepStrictEqual(judgeCrash(record([step(5, "promoted"), step(25)]), reads(5, { configTraffic: { blue: 75, green: 25 } })), { action: "continue", fromPercent: 5, fixConfig: { blue: 95, green: 5 } });
        assert.deepStrictEqual(judgeCrash(record([]), reads(0)), { action: "continue", fromPercent: 0 });
    });

    it("refuses, in order: a live runner, a person's move, a stable ALARM, a migrating release before traffic, a freeze; rolls back on the candidate's ALARM", () => {
        const r = record([step(5, "promoted"), step(25)]);
        assert.match(refusal(judgeCrash(r, reads(25, { runnerAlive: true, alarms: { blue: "OK", green: "ALARM" } }))), /is still running/);
        assert.match(refusal(judgeCrash(r, reads(0))), /which no step of r1 set \(its steps: 5, 25% for green\)/);
        assert.match(refusal(judgeCrash(r, reads(10))), /shows blue 90%, green 10%/);
        assert.match(refusal(judgeCrash(r, { ...reads(25), live: { blue: 70, green: 25 } })), /blue 70%, green 25%/);
        assert.match(refusal(judgeCrash(r, { ...reads(25), strangers: ["arn:tg/other"] })), /and arn:tg\/other/);
        assert.deepStrictEqual(judgeCrash(r, reads(25, { alarms: { blue: "ALARM", green: "ALARM" } })), { action: "rollback", reason: "resumed after its runner died: the candidate green's composite alarm is in ALARM with 25% of traffic" });
        assert.match(refusal(judgeCrash(r, reads(25, { alarms: { blue: "ALARM", green: "OK" } }))), /^the stable colour blue's composite alarm is in ALARM/);
        assert.match(refusal(judgeCrash(record([], { migrationSnapshot: "v1.6.0" }), reads(0))), /migrates the database and died before its candidate took traffic/);
        assert.deepStrictEqual(judgeCrash(record([step(5)], { migrationSnapshot: "v1.6.0" }), reads(5)), { action: "continue", fromPercent: 5 });
        assert.deepStrictEqual(judgeCrash(r, reads(25, { freeze: "weekend" })), { action: "refuse", problems: ['inside the freeze window weekend; resume after it, or pass --hotfix "<reason>"'] });
        assert.deepStrictEqual(judgeCrash(r, reads(25, { alarms: { blue: "INSUFFICIENT_DATA", green: undefined } })), { action: "continue", fromPercent: 25 });
    });

    it("pendingProblems: nothing, the listener alone, or the candidate while it serves nothing", () => {
        const listener = { op: "update", urn: "urn:pulumi:production::shiftwise::shiftwise:traffic:WeightedListener$aws:lb/listener:Listener::shop-https", type: "aws:lb/listener:Listener", diffs: ["defaultActions"], arn: "arn:listener", parent: "urn:pulumi:production::shiftwise::shiftwise:traffic:WeightedListener::shop" };
        const other = { op: "update", urn: "urn:x::db", type: "aws:rds/instance:Instance", diffs: ["dbName"] };
        assert.deepStrictEqual(pendingProblems([], { listenerArn: "arn:listener", fromPercent: 25, releaseProblems: ["x"] }), []);
        assert.deepStrictEqual(pendingProblems([listener], { listenerArn: "arn:listener", fromPercent: 25, releaseProblems: ["x"] }), []);
        assert.deepStrictEqual(pendingProblems([other], { listenerArn: "arn:listener", fromPercent: 0, releaseProblems: [] }), []);
        assert.deepStrictEqual(pendingProblems([other], { listenerArn: "arn:listener", fromPercent: 0, releaseProblems: ["beyond"] }), ["the stack has changes pending that resuming would not make: update urn:x::db (dbName); `shiftwise rollback` restores the checkpoint"]);
        assert.strictEqual(pendingProblems([other], { listenerArn: "arn:listener", fromPercent: 5, releaseProblems: [] }).length, 1);
    });

    it("runnerAlive: only a live process on this host other than this one", () => {
        const alive = () => true;
        assert.strictEqual(runnerAlive({}, "h", 1, alive), false);
        assert.strictEqual(runnerAlive({ runner: { host: "h", pid: 2 } }, "h", 1, alive), true);
        assert.strictEqual(runnerAlive({ runner: { host: "other", pid: 2 } }, "h", 1, alive), false);
        assert.strictEqual(runnerAlive({ runner: { host: "h", pid: 1 } }, "h", 1, alive), false);
        assert.strictEqual(runnerAlive({ runner: { host: "h", pid: 2 } }, "h", 1, () => false), false);
    });
});
