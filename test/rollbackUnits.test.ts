// Unit tests of rollout/rollback.ts on scripted ports (no program evaluation): each phase's preview, targeted up, guard and message, fast enough for mutation testing.
import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import type { AwsPort, ResourceStep, StackChanges, StackConfigEntries, StackOperationOptions, StackPort, TargetHealthSummary } from "../ports/ports";
import { DeploymentRecord, RecordStore } from "../rollout/records";
import type { Reporter } from "../rollout/reporter";
import {
    RollbackFailed,
    RollbackRefused,
    STATEFUL_TYPES,
    WEIGHT_READS,
    applyPatch,
    checkpointTarget,
    colourComponentUrn,
    configPhaseProblems,
    isScaleOnly,
    restoreCheckpoint,
    rollbackCommand,
    rollbackFailureMessage,
    servingColours,
    servingReplacementProblems,
    stepsUnder,
    verifyWeights,
} from "../rollout/rollback";
import { shiftwiseConfig } from "../rollout/stackView";
import { FakeClock } from "./fakes/fakeClock";
import { productionConfig } from "./fakes/rollout";

const LISTENER_ARN = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener/app/shop/1/2";
const TG = { blue: "arn:tg/blue", green: "arn:tg/green" };
const OUTPUTS = {
    listenerArn: LISTENER_ARN,
    loadBalancerArnSuffix: "app/shop/1",
    blue: { targetGroupArn: TG.blue, targetGroupArnSuffix: "targetgroup/blue/1", version: "v1.4.2", image: "123456789012.dkr.ecr.eu-west-1.amazonaws.com/shop:v1.4.2" },
    green: { targetGroupArn: TG.green, targetGroupArnSuffix: "targetgroup/green/1", version: "v1.6.0", image: "123456789012.dkr.ecr.eu-west-1.amazonaws.com/shop:v1.6.0" },
};
const PREFIX = "urn:pulumi:production::shiftwise::";
const COMPONENT = (colour: string) => `${PREFIX}shiftwise:ecs:ColourService::shop-${colour}`;

/** One step of a preview. */
function step(op: string, type: string, urn: string, extra: Partial<ResourceStep> = {}): ResourceStep {
    return { op, type, urn, diffs: [], ...extra };
}
const listenerStep = () => step("update", "aws:lb/listener:Listener", `${PREFIX}shiftwise:traffic:WeightedListener$aws:lb/listener:Listener::shop-https`, { arn: LISTENER_ARN, diffs: ["defaultActions"] });
const componentStep = (colour: string) => step("same", "shiftwise:ecs:ColourService", COMPONENT(colour));
const serviceStep = (colour: string, diffs: string[], op = "update") =>
    step(op, "aws:ecs/service:Service", `${PREFIX}shiftwise:ecs:ColourService$aws:ecs/service:Service::shop-${colour}`, { parent: COMPONENT(colour), diffs });
const taskStep = (colour: string) => step("replace", "aws:ecs/taskDefinition:TaskDefinition", `${PREFIX}shiftwise:ecs:ColourService$aws:ecs/taskDefinition:TaskDefinition::shop-${colour}`, { parent: COMPONENT(colour), diffs: ["containerDefinitions"] });

const entriesOf = (config: Record<string, string>): StackConfigEntries => Object.fromEntries(Object.entries(config).map(([key, value]) => [key, { value }]));
const section = (entries: StackConfigEntries, name: string) => JSON.parse(entries[`shiftwise:${name}`].value) as Record<string, unknown>;

/**
 * A stack whose preview is the list of pending steps; an up applies the
 * targeted ones (and `onUp` may change AWS); config is a plain map.
 */
class ScriptedStack implements StackPort {
    readonly stackName = "production";
    readonly calls: string[] = [];
    pending: ResourceStep[];
    outputsValue: Record<string, unknown> = OUTPUTS;
    onUp?: (applied: ResourceStep[]) => void;
    /** Steps an up reports beyond its targets. */
    strayOnUp: ResourceStep[] = [];
    failSet?: Error;
    failRemove?: Error;

    constructor(
        public config: StackConfigEntries,
        pending: ResourceStep[],
    ) {
        this.pending = pending;
    }

    async getAllConfig(): Promise<StackConfigEntries> {
        return structuredClone(this.config);
    }

    async setConfig(values: Readonly<Record<string, string>>): Promise<void> {
        this.calls.push(`set ${Object.keys(values).join(" ")}`);
        if (this.failSet) throw this.failSet;
        for (const [key, value] of Object.entries(values)) {
            const [top, ...rest] = key.split(".");
            if (rest.length === 0) this.config[top] = { value };
            else {
                const object = this.config[top] ? (JSON.parse(this.config[top].value) as Record<string, unknown>) : {};
                let cursor = object;
                for (const part of rest.slice(0, -1)) cursor = (cursor[part] ??= {}) as Record<string, unknown>;
                cursor[rest[rest.length - 1]] = /^\d+$/.test(value) ? Number(value) : value;
                this.config[top] = { value: JSON.stringify(object) };
            }
        }
    }

    async removeConfig(keys: readonly string[]): Promise<void> {
        this.calls.push(`remove ${keys.join(" ")}`);
        if (this.failRemove) throw this.failRemove;
        for (const key of keys) delete this.config[key];
    }

    async preview(): Promise<StackChanges> {
        this.calls.push("preview");
        return { steps: [...this.pending] };
    }

    async up(options: StackOperationOptions = {}): Promise<StackChanges> {
        this.calls.push(`up ${(options.targets ?? []).map((urn) => urn.split("::").pop()).join(" ")}`);
        const targets = new Set(options.targets ?? []);
        const applied = this.pending.filter((s) => targets.has(s.urn) && s.op !== "same");
        this.pending = this.pending.filter((s) => !targets.has(s.urn) || s.op === "same");
        this.onUp?.(applied);
        return { steps: [...applied, ...this.strayOnUp] };
    }

    async outputs(): Promise<Record<string, unknown>> {
        return this.outputsValue;
    }

    async secretOutput(): Promise<string | undefined> {
        return undefined;
    }

    async history() {
        return [];
    }
}

/** AWS with a listener and per-target-group healthy counts the test sets. */
function scriptedAws(weights: Record<string, number>, healthy: Record<string, number>): AwsPort & { weights: Record<string, number>; healthy: Record<string, number>; listenerError?: Error } {
    const aws = {
        weights,
        healthy,
        listenerError: undefined as Error | undefined,
        async listenerWeights() {
            if (aws.listenerError) throw aws.listenerError;
            return { ...aws.weights };
        },
        async targetHealth(arn: string): Promise<TargetHealthSummary> {
            const count = aws.healthy[arn] ?? 0;
            return { healthy: count, total: count + 1, byState: { healthy: count, initial: 1 } };
        },
    };
    return aws as unknown as AwsPort & typeof aws;
}

/** A record of green v1.6.0 released from the committed production stack at 100/0. */
function releasedRecord(store: RecordStore, extra: Partial<DeploymentRecord> = {}): DeploymentRecord {
    const record: DeploymentRecord = {
        schemaVersion: 1,
        id: "20250304T100000Z-v1.6.0",
        stack: "production",
        status: "succeeded",
        version: "v1.6.0",
        image: "shop:v1.6.0",
        stable: "blue",
        candidate: "green",
        startedAt: "2025-03-04T10:00:00.000Z",
        startedBy: { user: "octocat", host: "runner" },
        checkpoint: { config: entriesOf(productionConfig()), outputs: { ...OUTPUTS, green: { ...OUTPUTS.green, version: "v1.5.0" } }, versions: { blue: "v1.4.2", green: "v1.5.0" }, traffic: { blue: 100, green: 0 } },
        stages: [],
        steps: [],
        rollbacks: [],
        ...extra,
    };
    store.save(record);
    return record;
}

/** The stack after the release: green on v1.6.0 at 100 %. */
function releasedConfig(): StackConfigEntries {
    const entries = entriesOf(productionConfig());
    const green = section(entries, "green");
    entries["shiftwise:green"] = { value: JSON.stringify({ ...green, version: "v1.6.0", image: "123456789012.dkr.ecr.eu-west-1.amazonaws.com/shop:v1.6.0" }) };
    entries["shiftwise:traffic"] = { value: JSON.stringify({ blue: 0, green: 100 }) };
    return entries;
}

function setup(pending: ResourceStep[] = [componentStep("blue"), componentStep("green"), listenerStep(), serviceStep("green", ["taskDefinition"]), taskStep("green")]) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "shiftwise-rollback-units-"));
    const records = new RecordStore(dir, "production");
    const stack = new ScriptedStack(releasedConfig(), pending);
    const aws = scriptedAws({ [TG.blue]: 0, [TG.green]: 100 }, { [TG.blue]: 3, [TG.green]: 3 });
    const clock = new FakeClock();
    const lines: string[] = [];
    const reporter: Reporter = { line: (stage, message) => lines.push(`${stage}: ${message}`), progress: (message) => lines.push(`progress: ${message}`) };
    // The listener's up moves the weights in AWS, as ModifyListener does.
    stack.onUp = (applied) => {
        if (applied.some((s) => s.type === "aws:lb/listener:Listener")) Object.assign(aws.weights, { [TG.blue]: 100, [TG.green]: 0 });
    };
    const deps = { stack, aws, clock, records, reporter, healthPollMs: 15_000 };
    return { stack, aws, clock, records, lines, deps, record: releasedRecord(records) };
}

describe("rollback units: pure functions", () => {
    it("servingColours lists the colours with weight", () => {
        assert.deepStrictEqual(servingColours({ blue: 100, green: 0 }), ["blue"]);
        assert.deepStrictEqual(servingColours({ blue: 0, green: 100 }), ["green"]);
        assert.deepStrictEqual(servingColours({ blue: 50, green: 50 }), ["blue", "green"]);
    });

    it("checkpointTarget: checkpoint values back, keys absent from it removed, secrets untouched, the snapshot label and pinned migration image kept", () => {
        const current: StackConfigEntries = {
            "shiftwise:traffic": { value: '{"blue":0,"green":100}' },
            "shiftwise:extra": { value: "1" },
            "shiftwise:secretKey": { value: "now", secret: true },
            "shiftwise:database": { value: JSON.stringify({ engine: "postgres", preReleaseSnapshot: "v1.6.0", snapshotColour: "green", migration: { image: "mig:v1.6.0", command: ["up"] } }) },
        };
        const checkpoint: StackConfigEntries = {
            "shiftwise:traffic": { value: '{"blue":100,"green":0}' },
            "shiftwise:secretKey": { value: "scrypt:fingerprint", secret: true },
            "shiftwise:gone": { value: "2" },
            "shiftwise:database": { value: JSON.stringify({ engine: "postgres", preReleaseSnapshot: "v1.5.0", migration: { image: "mig:v1.5.0", command: ["up", "--old"] }, databaseName: "shop" }) },
        };
        const target = checkpointTarget(current, checkpoint);
        assert.deepStrictEqual(Object.keys(target).sort(), ["shiftwise:database", "shiftwise:gone", "shiftwise:secretKey", "shiftwise:traffic"]);
        assert.deepStrictEqual(target["shiftwise:traffic"], { value: '{"blue":100,"green":0}' });
        assert.deepStrictEqual(target["shiftwise:gone"], { value: "2" });
        assert.deepStrictEqual(target["shiftwise:secretKey"], { value: "now", secret: true });
        assert.deepStrictEqual(JSON.parse(target["shiftwise:database"].value), { engine: "postgres", preReleaseSnapshot: "v1.6.0", snapshotColour: "green", migration: { image: "mig:v1.6.0", command: ["up", "--old"] }, databaseName: "shop" });
    });

    it("checkpointTarget: label fields absent today are dropped; a database section on one side only stays as it is", () => {
        const database = (value: unknown) => ({ "shiftwise:database": { value: JSON.stringify(value) } });
        assert.deepStrictEqual(JSON.parse(checkpointTarget(database({ engine: "postgres" }), database({ engine: "postgres", preReleaseSnapshot: "v1", snapshotColour: "blue" }))["shiftwise:database"].value), { engine: "postgres" });
        assert.deepStrictEqual(JSON.parse(checkpointTarget(database({ engine: "postgres", migration: { command: ["a"] } }), database({ engine: "postgres", migration: { command: ["b"] } }))["shiftwise:database"].value), { engine: "postgres", migration: { command: ["b"] } });
        assert.deepStrictEqual(JSON.parse(checkpointTarget(database({ migration: { image: "m:2" } }), database({ engine: "postgres" }))["shiftwise:database"].value), { engine: "postgres" });
        assert.deepStrictEqual(checkpointTarget(database({ engine: "postgres" }), {}), database({ engine: "postgres" }));
        assert.deepStrictEqual(checkpointTarget({}, database({ engine: "postgres" })), {});
    });

    it("servingReplacementProblems names the serving colour, both versions and the flag; idle colours and unchanged ones pass", () => {
        const store = new RecordStore(fs.mkdtempSync(path.join(os.tmpdir(), "shiftwise-rollback-units-")), "production");
        const record = releasedRecord(store);
        const target = shiftwiseConfig(entriesOf(productionConfig()));
        assert.deepStrictEqual(servingReplacementProblems(record, target, { blue: { version: "v1.7.0", image: "shop:v1.7.0" }, green: { version: "x", image: "y" } }), [
            "restoring 20250304T100000Z-v1.6.0 would replace blue, which serves 100% after the rollback: it runs v1.7.0 (shop:v1.7.0), the checkpoint has v1.4.2 (123456789012.dkr.ecr.eu-west-1.amazonaws.com/shop:v1.4.2); pass --replace-serving to replace it while it takes traffic",
        ]);
        assert.deepStrictEqual(servingReplacementProblems(record, target, { blue: { version: "v1.4.2", image: "123456789012.dkr.ecr.eu-west-1.amazonaws.com/shop:v1.4.2" } }), []);
        assert.strictEqual(servingReplacementProblems(record, target, { blue: { version: "v1.4.2", image: "other:v1.4.2" } }).length, 1, "an image change alone replaces too");
        assert.match(servingReplacementProblems(record, target, {})[0], /it runs undefined \(undefined\)/);
    });

    it("colourComponentUrn and stepsUnder follow parents down from the colour's component", () => {
        const changes = { steps: [componentStep("blue"), componentStep("green"), serviceStep("green", ["desiredCount"]), step("update", "aws:ecs/x:Y", `${PREFIX}a$aws:ecs/x:Y::deep`, { parent: serviceStep("green", []).urn }), listenerStep()] };
        assert.strictEqual(colourComponentUrn(changes, "shop", "green"), COMPONENT("green"));
        assert.strictEqual(colourComponentUrn(changes, "other", "green"), undefined);
        assert.strictEqual(colourComponentUrn({ steps: [step("same", "shiftwise:kubernetes:KubernetesColour", `${PREFIX}shiftwise:kubernetes:KubernetesColour::shop-blue`)] }, "shop", "blue"), `${PREFIX}shiftwise:kubernetes:KubernetesColour::shop-blue`);
        assert.strictEqual(colourComponentUrn({ steps: [step("same", "shiftwise:other:Thing", `${PREFIX}shiftwise:other:Thing::shop-blue`)] }, "shop", "blue"), undefined);
        assert.deepStrictEqual(stepsUnder(changes, COMPONENT("green")).map((s) => s.urn.split("::").pop()), ["shop-green", "shop-green", "deep"]);
        assert.deepStrictEqual(stepsUnder(changes, undefined), []);
        assert.deepStrictEqual(stepsUnder(changes, COMPONENT("blue")).map((s) => s.type), ["shiftwise:ecs:ColourService"]);
    });

    it("isScaleOnly: an ECS service update of desiredCount alone, or a Deployment's spec", () => {
        assert.strictEqual(isScaleOnly(serviceStep("blue", ["desiredCount"])), true);
        assert.strictEqual(isScaleOnly(serviceStep("blue", ["desiredCount", "taskDefinition"])), false);
        assert.strictEqual(isScaleOnly(serviceStep("blue", ["desiredCount"], "replace")), false);
        assert.strictEqual(isScaleOnly(step("update", "kubernetes:apps/v1:Deployment", "u", { diffs: ["spec"] })), true);
        assert.strictEqual(isScaleOnly(step("update", "kubernetes:apps/v1:Deployment", "u", { diffs: ["spec", "metadata"] })), false);
        assert.strictEqual(isScaleOnly(step("update", "aws:ecs/taskDefinition:TaskDefinition", "u", { diffs: ["desiredCount"] })), false);
    });

    it("STATEFUL_TYPES: data and identity, not revisions", () => {
        for (const type of ["aws:rds/instance:Instance", "aws:dynamodb/table:Table", "aws:s3/bucketV2:BucketV2", "aws:kms/key:Key", "aws:backup/plan:Plan", "aws:efs/fileSystem:FileSystem", "aws:elasticache/cluster:Cluster", "aws:secretsmanager/secret:Secret", "aws:lb/loadBalancer:LoadBalancer", "aws:lb/listener:Listener"]) {
            assert.ok(STATEFUL_TYPES.test(type), type);
        }
        for (const type of ["aws:ecs/taskDefinition:TaskDefinition", "aws:lb/listenerRule:ListenerRule", "aws:lb/targetGroup:TargetGroup", "x:aws:rds/instance:Instance", "aws:iam/role:Role"]) assert.ok(!STATEFUL_TYPES.test(type), type);
    });

    it("configPhaseProblems: a serving colour's change (unless allowed) and a stateful shared replace or delete; idle colours and revisions pass", () => {
        const db = step("replace", "aws:rds/instance:Instance", `${PREFIX}aws:rds/instance:Instance::shop-db`, { diffs: ["dbName"] });
        const dbUpdate = step("update", "aws:rds/instance:Instance", `${PREFIX}aws:rds/instance:Instance::shop-db`, { diffs: ["tags"] });
        const bucketDelete = step("delete", "aws:s3/bucketV2:BucketV2", `${PREFIX}aws:s3/bucketV2:BucketV2::logs`);
        const migrationTask = step("replace", "aws:ecs/taskDefinition:TaskDefinition", `${PREFIX}aws:ecs/taskDefinition:TaskDefinition::shop-migration`);
        const changes = { steps: [componentStep("blue"), componentStep("green"), serviceStep("blue", ["desiredCount"]), taskStep("green"), db, dbUpdate, bucketDelete, migrationTask] };
        assert.deepStrictEqual(configPhaseProblems(changes, "shop", ["blue"], false), [
            `restoring the rest of the checkpoint would change blue, which serves traffic: update ${serviceStep("blue", []).urn} (desiredCount)`,
            `restoring the rest of the checkpoint would replace or delete stateful shared resources: replace ${db.urn} (dbName); delete ${bucketDelete.urn}`,
        ]);
        assert.deepStrictEqual(configPhaseProblems(changes, "shop", ["blue"], true), [`restoring the rest of the checkpoint would replace or delete stateful shared resources: replace ${db.urn} (dbName); delete ${bucketDelete.urn}`]);
        assert.deepStrictEqual(configPhaseProblems({ steps: [componentStep("blue"), componentStep("green"), taskStep("green"), migrationTask, dbUpdate] }, "shop", ["blue"], false), []);
        assert.match(configPhaseProblems({ steps: [componentStep("blue"), componentStep("green"), serviceStep("blue", ["x"]), serviceStep("green", ["x"])] }, "shop", ["blue", "green"], false)[0], /would change blue and green, which serves traffic/);
        // A stateful resource inside an idle colour is the colour's own.
        const idleStateful = step("replace", "aws:kms/key:Key", `${PREFIX}shiftwise:ecs:ColourService$aws:kms/key:Key::shop-green-key`, { parent: COMPONENT("green") });
        assert.deepStrictEqual(configPhaseProblems({ steps: [componentStep("blue"), componentStep("green"), idleStateful] }, "shop", ["blue"], false), []);
    });

    it("verifyWeights reads until AWS shows the weights, at most WEIGHT_READS times 5 s apart, and returns the last read's problems", async () => {
        const clock = new FakeClock();
        const aws = scriptedAws({ [TG.blue]: 0, [TG.green]: 100 }, {});
        const outputs = { ...OUTPUTS, testHeader: "x", blue: OUTPUTS.blue, green: OUTPUTS.green } as never;
        assert.deepStrictEqual(await verifyWeights(aws, clock, outputs, { blue: 0, green: 100 }), []);
        assert.deepStrictEqual(clock.sleeps, []);
        const problems = await verifyWeights(aws, clock, outputs, { blue: 100, green: 0 });
        assert.deepStrictEqual(problems, [`${TG.blue} has weight 0 in AWS, expected 100`, `${TG.green} has weight 100 in AWS, expected 0`]);
        assert.deepStrictEqual(clock.sleeps, Array(WEIGHT_READS - 1).fill(5000));
        assert.strictEqual(WEIGHT_READS, 3);
        let reads = 0;
        const settling = { ...aws, listenerWeights: async () => (++reads < 2 ? { [TG.blue]: 0, [TG.green]: 100 } : { [TG.blue]: 100, [TG.green]: 0 }) } as unknown as AwsPort;
        assert.deepStrictEqual(await verifyWeights(settling, clock, outputs, { blue: 100, green: 0 }), []);
        assert.strictEqual(reads, 2);
    });

    it("applyPatch sets with --path semantics, then removes; an empty patch calls nothing", async () => {
        const stack = new ScriptedStack({ a: { value: "1" } }, []);
        await applyPatch(stack, { set: {}, remove: [] });
        assert.deepStrictEqual(stack.calls, []);
        await applyPatch(stack, { set: { b: "2" }, remove: ["a"] });
        assert.deepStrictEqual(stack.calls, ["set b", "remove a"]);
        assert.deepStrictEqual(stack.config, { b: { value: "2" } });
    });

    it("rollbackFailureMessage: what failed, the state indented, the retry; other errors as they are", () => {
        assert.strictEqual(rollbackFailureMessage(new RollbackFailed("it failed", "line 1\nline 2", "shiftwise rollback --stack p")), "it failed\nstate:\n  line 1\n  line 2\nretry: shiftwise rollback --stack p");
        assert.strictEqual(rollbackFailureMessage(new Error("plain")), "plain");
        assert.strictEqual(rollbackFailureMessage("text"), "text");
        assert.strictEqual(new RollbackFailed("m", "s", "r").name, "RollbackFailed");
        assert.strictEqual(new RollbackRefused(["a", "b"]).message, "a; b");
        assert.strictEqual(new RollbackRefused(["a"]).name, "RollbackRefused");
    });
});

describe("rollback units: restoreCheckpoint phase by phase", () => {
    it("writes once, scales the serving colour and waits for it, moves only the listener, restores the rest, verifies; records every phase", async () => {
        const s = setup([componentStep("blue"), componentStep("green"), serviceStep("blue", ["desiredCount"]), listenerStep(), serviceStep("green", ["taskDefinition"]), taskStep("green")]);
        s.aws.healthy[TG.blue] = 1;
        s.clock.onSleep = () => (s.aws.healthy[TG.blue] = 3);
        const entry = await restoreCheckpoint(s.deps, s.record, "requested by oncall", "command");
        assert.strictEqual(entry.outcome, "succeeded");
        assert.strictEqual(entry.wroteConfig, true);
        assert.strictEqual(entry.trigger, "command");
        assert.strictEqual(entry.reason, "requested by oncall");
        assert.deepStrictEqual(entry.phases.map((p) => [p.name, p.changed?.map((c) => c.split("::").pop()), p.problems]), [
            ["write", undefined, []],
            ["capacity", ["shop-blue"], []],
            ["traffic", ["shop-https"], []],
            ["config", ["shop-green", "shop-green"], []],
            ["verify", undefined, []],
        ]);
        assert.ok(entry.phases.every((p) => p.startedAt && p.finishedAt));
        assert.ok(entry.finishedAt);
        assert.deepStrictEqual(s.stack.calls.filter((c) => c.startsWith("up")), ["up shop-blue", "up shop-https", "up shop-green shop-green"]);
        assert.deepStrictEqual(s.clock.sleeps, [15_000], "one health poll while blue scaled up");
        assert.deepStrictEqual(s.lines, [
            "rollback: restoring the checkpoint of 20250304T100000Z-v1.6.0 (requested by oncall)",
            "progress: rollback: 1/3 healthy target(s) in blue",
            "rollback: capacity: blue has 3 healthy target(s), its checkpoint desiredCount is 3",
            "rollback: traffic restored: blue 100%, green 0%, verified in AWS",
            "rollback: done: the deployed stack, its config and the listener in AWS match the checkpoint of 20250304T100000Z-v1.6.0",
        ]);
        assert.deepStrictEqual(section(s.stack.config, "traffic"), { blue: 100, green: 0 });
        assert.strictEqual(section(s.stack.config, "green").version, "v1.5.0");
        assert.deepStrictEqual(s.records.read(s.records.fileOf(s.record)).rollbacks[0].phases.length, 5, "saved to disk");
    });

    it("a retry that finds the checkpoint config written writes nothing and applies what is pending", async () => {
        const s = setup([componentStep("blue"), componentStep("green"), listenerStep()]);
        s.stack.config = checkpointTarget(s.stack.config, s.record.checkpoint.config);
        const entry = await restoreCheckpoint(s.deps, s.record, "retry", "command");
        assert.strictEqual(entry.wroteConfig, false);
        assert.ok(!s.stack.calls.some((c) => c.startsWith("set") || c.startsWith("remove")));
        assert.deepStrictEqual(s.stack.calls.filter((c) => c.startsWith("up")), ["up shop-https"]);
    });

    it("refuses before anything changes: a checkpoint the program rejects today, or a serving colour that would be replaced", async () => {
        const s = setup();
        s.record.checkpoint.config["shiftwise:traffic"] = { value: '{"blue":60,"green":30}' };
        await assert.rejects(restoreCheckpoint(s.deps, s.record, "r", "command"), (error: RollbackRefused) => {
            assert.ok(error instanceof RollbackRefused);
            assert.deepStrictEqual(error.problems, ["the checkpoint config of 20250304T100000Z-v1.6.0 is invalid today: shiftwise:traffic: blue (60) + green (30) = 90; weights must sum to 100"]);
            return true;
        });
        const t = setup();
        t.stack.outputsValue = { ...OUTPUTS, blue: { ...OUTPUTS.blue, version: "v1.7.0" } };
        await assert.rejects(restoreCheckpoint(t.deps, t.record, "r", "command"), (error: RollbackRefused) => error instanceof RollbackRefused && /would replace blue/.test(error.message));
        for (const h of [s, t]) {
            assert.deepStrictEqual(h.stack.calls, []);
            assert.deepStrictEqual(h.record.rollbacks, []);
        }
        const allowed = await restoreCheckpoint(t.deps, t.record, "r", "command", { replaceServing: true });
        assert.strictEqual(allowed.outcome, "succeeded");
    });

    it("capacity refuses more than a scale on the serving colour unless --replace-serving, and says which retry keeps the flag", async () => {
        const s = setup([componentStep("blue"), componentStep("green"), taskStep("blue"), listenerStep()]);
        await assert.rejects(restoreCheckpoint(s.deps, s.record, "r", "command"), (error: RollbackFailed) => {
            assert.match(error.message, /^rollback of 20250304T100000Z-v1\.6\.0 failed during the capacity phase: blue serves traffic after the rollback, and restoring it would do more than scale it: replace \S+ \(containerDefinitions\); pass --replace-serving to allow it$/);
            assert.strictEqual(error.retryCommand, `shiftwise rollback --stack production --record ${s.records.fileOf(s.record)}`);
            return true;
        });
        assert.ok(!s.stack.calls.some((c) => c.startsWith("up")));
        assert.strictEqual(s.record.rollbacks[0].outcome, "failed");
        const t = setup([componentStep("blue"), componentStep("green"), taskStep("blue"), listenerStep()]);
        const entry = await restoreCheckpoint(t.deps, t.record, "r", "command", { replaceServing: true });
        assert.deepStrictEqual(entry.phases[1].changed?.map((c) => c.split("::").pop()), ["shop-blue"]);
        const u = setup([componentStep("blue"), componentStep("green"), listenerStep()]);
        u.stack.failRemove = undefined;
        u.aws.listenerError = new Error("throttled");
        await assert.rejects(restoreCheckpoint(u.deps, u.record, "r", "command", { replaceServing: true }), (error: RollbackFailed) => error.retryCommand.endsWith(" --replace-serving"));
    });

    it("capacity: a colour that never gets healthy leaves traffic where it is (the listener is not updated)", async () => {
        const s = setup();
        s.aws.healthy[TG.blue] = 2;
        await assert.rejects(restoreCheckpoint(s.deps, s.record, "r", "command"), (error: RollbackFailed) => {
            assert.match(error.message, /failed during the capacity phase: blue has 2 of 3 healthy target\(s\) after 15 min \({"healthy":2,"initial":1}\); traffic was not moved onto it$/);
            return true;
        });
        assert.ok(!s.stack.calls.includes("up shop-https"));
        assert.deepStrictEqual(s.aws.weights, { [TG.blue]: 0, [TG.green]: 100 });
        assert.strictEqual(s.clock.sleeps.length, 60, "every 15 s for 15 min");
    });

    it("traffic: weights AWS does not show fail the phase; an up that changed more than it was targeted at fails too", async () => {
        const s = setup();
        s.stack.onUp = undefined;
        await assert.rejects(restoreCheckpoint(s.deps, s.record, "r", "command"), (error: RollbackFailed) => {
            assert.match(error.message, /failed during the traffic phase: the listener does not show the checkpoint weights: arn:tg\/blue has weight 0 in AWS, expected 100; arn:tg\/green has weight 100 in AWS, expected 0$/);
            assert.match(error.state, /^failed phase: traffic\nstack config traffic: {"blue":100,"green":0} \(checkpoint {"blue":100,"green":0}\)\nstack config blue: v1\.4\.2, 3 task\(s\) \(checkpoint v1\.4\.2\)\nstack config green: v1\.5\.0, 3 task\(s\) \(checkpoint v1\.5\.0\)\nstack outputs \(the last complete update\): blue v1\.4\.2, green v1\.6\.0\nlistener in AWS: blue 0%, green 100%$/);
            return true;
        });
        const t = setup();
        t.stack.strayOnUp = [serviceStep("green", ["desiredCount"])];
        await assert.rejects(restoreCheckpoint(t.deps, t.record, "r", "command"), (error: RollbackFailed) => /failed during the traffic phase: the update changed resources it was not targeted at: update \S+shop-green \(desiredCount\)$/.test(error.message) || assert.fail(error.message));
    });

    it("traffic: only the forwarding listener moves first; the test listener and a listener of another component wait for the config phase", async () => {
        const testListener = step("update", "aws:lb/listener:Listener", `${PREFIX}shiftwise:traffic:WeightedListener$aws:lb/listener:Listener::shop-test`, { arn: "arn:listener/test", diffs: ["defaultActions"] });
        const foreign = step("update", "aws:lb/listener:Listener", `${PREFIX}other:Thing$aws:lb/listener:Listener::shop-https-copy`, { arn: LISTENER_ARN, diffs: ["defaultActions"] });
        const rule = step("update", "aws:lb/listenerRule:ListenerRule", `${PREFIX}shiftwise:traffic:WeightedListener$aws:lb/listenerRule:ListenerRule::shop-rule`, { arn: LISTENER_ARN, diffs: ["actions"] });
        const s = setup([componentStep("blue"), componentStep("green"), testListener, foreign, rule, listenerStep()]);
        const entry = await restoreCheckpoint(s.deps, s.record, "r", "command");
        assert.deepStrictEqual(entry.phases.find((p) => p.name === "traffic")?.changed?.map((c) => c.split("::").pop()), ["shop-https"]);
        assert.deepStrictEqual(entry.phases.find((p) => p.name === "config")?.changed?.map((c) => c.split("::").pop()), ["shop-test", "shop-https-copy", "shop-rule"]);
    });

    it("traffic: a listener step that is not an in-place update fails the phase after its up", async () => {
        const s = setup([componentStep("blue"), componentStep("green"), { ...listenerStep(), op: "replace" }]);
        await assert.rejects(restoreCheckpoint(s.deps, s.record, "r", "command"), (error: RollbackFailed) => /failed during the traffic phase: the forwarding listener was replaced, not updated in place/.test(error.message) || assert.fail(error.message));
    });

    it("config: refuses to touch the serving colour or replace shared state, before its up", async () => {
        const db = step("replace", "aws:rds/instance:Instance", `${PREFIX}aws:rds/instance:Instance::shop-db`, { diffs: ["dbName"] });
        const s = setup([componentStep("blue"), componentStep("green"), listenerStep(), db]);
        await assert.rejects(restoreCheckpoint(s.deps, s.record, "r", "command"), (error: RollbackFailed) => /failed during the config phase: restoring the rest of the checkpoint would replace or delete stateful shared resources: replace \S+shop-db \(dbName\)$/.test(error.message) || assert.fail(error.message));
        assert.deepStrictEqual(s.stack.calls.filter((c) => c.startsWith("up")), ["up shop-https"]);
    });

    it("verify: a pending change, config that differs, or weights that moved since fail the rollback", async () => {
        const s = setup();
        const other = step("update", "aws:cloudwatch/metricAlarm:MetricAlarm", `${PREFIX}aws:cloudwatch/metricAlarm:MetricAlarm::a`, { diffs: ["threshold"] });
        const up = s.stack.up.bind(s.stack);
        s.stack.up = async (options) => {
            const result = await up(options);
            // The second up is the config phase's (capacity had nothing to scale): reality moves right after it.
            if (s.stack.calls.filter((c) => c.startsWith("up")).length === 2) {
                s.stack.pending.push(other);
                s.stack.config["shiftwise:extra"] = { value: "1" };
                s.aws.weights[TG.green] = 5;
            }
            return result;
        };
        await assert.rejects(restoreCheckpoint(s.deps, s.record, "r", "command"), (error: RollbackFailed) => {
            assert.strictEqual(
                error.message,
                `rollback of 20250304T100000Z-v1.6.0 failed during the verify phase: the deployed stack still differs from the checkpoint config: update ${other.urn} (threshold); the stack config still differs from the checkpoint: {"set":{},"remove":["shiftwise:extra"]}; ${TG.green} has weight 5 in AWS, expected 0`,
            );
            return true;
        });
    });

    it("write: a failed write is put back, or the message says putting it back failed too", async () => {
        const s = setup();
        s.stack.config["shiftwise:extra"] = { value: "1" };
        const set = s.stack.setConfig.bind(s.stack);
        let sets = 0;
        // The write's set succeeds, its remove fails; then putting the config back (a set) fails too.
        s.stack.setConfig = async (values: Readonly<Record<string, string>>) => {
            if (++sets > 1) throw new Error("backend refused");
            return set(values);
        };
        s.stack.failRemove = new Error("rm denied");
        await assert.rejects(restoreCheckpoint(s.deps, s.record, "r", "command"), (error: RollbackFailed) => {
            assert.strictEqual(error.message, "rollback of 20250304T100000Z-v1.6.0 failed during the write phase: rm denied (putting the config before the write back failed too: backend refused; the stack file may hold part of the checkpoint config)");
            return true;
        });
        const t = setup();
        t.stack.failRemove = new Error("rm denied");
        t.stack.config["shiftwise:extra"] = { value: "1" };
        const before = structuredClone(t.stack.config);
        await assert.rejects(restoreCheckpoint(t.deps, t.record, "r", "command"), (error: RollbackFailed) => /failed during the write phase: rm denied \(the config before the write was put back\)$/.test(error.message) || assert.fail(error.message));
        assert.deepStrictEqual(t.stack.config, before);
        assert.deepStrictEqual(t.record.rollbacks[0].phases.map((p) => [p.name, p.problems]), [["write", ["rm denied (the config before the write was put back)"]]]);
        assert.strictEqual(t.record.rollbacks[0].wroteConfig, true);
    });

    it("the failure state says what could not be read, with the refresh hint for a listener gone", async () => {
        const s = setup();
        s.aws.listenerError = new Error("One or more listeners not found");
        s.stack.getAllConfig = async () => {
            if (s.stack.calls.length > 0) throw new Error("backend down");
            return structuredClone(s.stack.config);
        };
        s.stack.outputs = async () => {
            if (s.stack.calls.length > 0) throw new Error("no outputs");
            return OUTPUTS;
        };
        await assert.rejects(restoreCheckpoint(s.deps, s.record, "r", "command"), (error: RollbackFailed) => {
            assert.strictEqual(
                error.state,
                [
                    "failed phase: traffic",
                    "stack config: unreadable (backend down)",
                    "stack outputs: unreadable (no outputs)",
                    "listener in AWS: unreadable (One or more listeners not found)",
                    "if the listener was deleted outside Pulumi, run `pulumi refresh --stack production` first: the retry then creates it again",
                ].join("\n"),
            );
            return true;
        });
    });
});

describe("rollback units: rollbackCommand", () => {
    const by = { user: "oncall", host: "laptop" };

    it("no record: exit 2 naming the folder", async () => {
        const s = setup();
        fs.rmSync(s.records.fileOf(s.record));
        const outcome = await rollbackCommand({ ...s.deps, by });
        assert.deepStrictEqual(outcome, { exitCode: 2, message: `no deployment record in ${s.records.dir}; pass --record <file>` });
    });

    it("success: exit 0, the record rolled back with its finish time kept or set", async () => {
        const s = setup();
        const outcome = await rollbackCommand({ ...s.deps, by });
        assert.strictEqual(outcome.exitCode, 0);
        assert.strictEqual(outcome.message, "rolled back to the checkpoint of 20250304T100000Z-v1.6.0");
        const saved = s.records.read(s.records.fileOf(s.record));
        assert.strictEqual(saved.status, "rolled-back");
        assert.strictEqual(saved.finishedAt, "2025-03-04T10:00:00.000Z");
        assert.strictEqual(saved.rollbacks[0].reason, "requested by oncall");
        const t = setup();
        t.record.finishedAt = "2025-01-01T00:00:00.000Z";
        t.records.save(t.record);
        await rollbackCommand({ ...t.deps, by }, t.records.fileOf(t.record));
        assert.strictEqual(t.records.read(t.records.fileOf(t.record)).finishedAt, "2025-01-01T00:00:00.000Z");
    });

    it("refused: exit 3, nothing changed, the problems listed and printed once", async () => {
        const s = setup();
        s.stack.outputsValue = { ...OUTPUTS, blue: { ...OUTPUTS.blue, version: "v1.7.0" } };
        const outcome = await rollbackCommand({ ...s.deps, by });
        assert.strictEqual(outcome.exitCode, 3);
        assert.strictEqual(outcome.message, `rollback refused; nothing was changed:\n  - ${outcome.problems?.[0]}`);
        assert.match(outcome.problems?.[0] ?? "", /would replace blue/);
        assert.deepStrictEqual(s.lines, [`rollback: refused: ${outcome.problems?.[0]}`]);
        assert.strictEqual(s.records.read(s.records.fileOf(s.record)).status, "succeeded");
        const allowed = await rollbackCommand({ ...s.deps, by }, undefined, { replaceServing: true });
        assert.strictEqual(allowed.exitCode, 0, allowed.message);
    });

    it("failed: exit 6 with the state and retry; the record says rollback-failed", async () => {
        const s = setup();
        s.aws.healthy[TG.blue] = 0;
        const outcome = await rollbackCommand({ ...s.deps, by });
        assert.strictEqual(outcome.exitCode, 6);
        assert.match(outcome.message, /^rollback of \S+ failed during the capacity phase: blue has 0 of 3 healthy target\(s\)[^\n]*\nstate:\n {2}failed phase: capacity\n[\s\S]*\nretry: shiftwise rollback --stack production --record \S+\.json$/);
        assert.strictEqual(s.records.read(s.records.fileOf(s.record)).status, "rollback-failed");
    });
});
