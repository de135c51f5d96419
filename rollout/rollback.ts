// `shiftwise rollback`: restore a record's checkpoint, capacity first, then traffic, then the rest, and verify what is deployed.
import { COLOURS, ConfigError } from "../config";
import type { Colour, StackConfig } from "../config";
import { configPatch, isEmptyPatch, sectionOf } from "./configPaths";
import { ExitCode, ExitCodeValue } from "./exitCodes";
import { LISTENER_TYPE, WEIGHTED_LISTENER_TYPE, describeSteps, effectiveSteps, listenerOnlyProblems, urnName, urnTypeChain } from "./guards";
import type { AwsPort, Clock, ResourceStep, StackChanges, StackConfigEntries, StackPort } from "../ports/ports";
import { DeploymentRecord, RecordStore, RollbackEntry, RollbackPhase, StartedBy } from "./records";
import { maintenanceRollbackGate } from "./maintenanceHold";
import { stopRecordedMigration } from "./migrationStop";
import type { Reporter } from "./reporter";
import type { TaskPort } from "../ports/tasks";
import { DriverOutputs, driverOutputs, expectedWeights, shiftwiseConfig, weightProblems } from "./stackView";

/**
 * Restoring a checkpoint. The checkpoint config is written once (validated
 * first), then applied in phases, each a preview and an `up` restricted to the
 * resources that phase may change, so that a retried rollback acts on what is
 * deployed, not on what the stack file says:
 *  1. `write`: the checkpoint config, in one validated write;
 *  2. `capacity`: every colour that carries traffic in the checkpoint is
 *     scaled to its checkpoint count (only scaled: anything more needs
 *     `--replace-serving`), and the driver waits until AWS reports that many
 *     healthy targets;
 *  3. `traffic`: only the forwarding listener is updated; the weights are read
 *     back from AWS;
 *  4. `config`: the rest (the idle candidate's version and image); it may not
 *     touch a colour that serves traffic, nor replace or delete shared resources;
 *  5. `verify`: a preview of the stack shows no changes, the stack config is
 *     the checkpoint's, and AWS shows the checkpoint's weights.
 * Secrets are never touched (a record holds only fingerprints), nor are the
 * snapshot label fields of `shiftwise:database`, so no snapshot resource is
 * dropped; the rest of the database section goes back to the checkpoint.
 */

/** The database section: restored, except for the snapshot label fields. */
export const DATABASE_KEY = "shiftwise:database";

/**
 * Fields of `shiftwise:database` a rollback leaves as they are: the label of
 * the newest pre-release snapshot and its colour. Reverting them would drop
 * that snapshot resource from the stack (it is retained in AWS, but the stack
 * would lose track of it) and make the next release re-take it.
 */
export const SNAPSHOT_LABEL_FIELDS = ["preReleaseSnapshot", "snapshotColour"] as const;

/** What a rollback needs. */
export interface RollbackDeps {
    readonly stack: StackPort;
    readonly aws: AwsPort;
    readonly clock: Clock;
    readonly records: RecordStore;
    readonly reporter: Reporter;
    /** Milliseconds between target-health reads while the colour that takes traffic scales up. @default 15000 */
    readonly healthPollMs?: number;
    /** Stops a migration task the record says still runs (migrationStop.ts). @default none: such a task is only reported */
    readonly tasks?: TaskPort;
}

/** How a rollback may proceed. */
export interface RollbackOptions {
    /**
     * Restore a checkpoint that changes the version or image of a colour that
     * serves traffic after the rollback (`rollback --record <older>
     * --replace-serving`): its tasks are replaced while they take traffic.
     * @default false
     */
    readonly replaceServing?: boolean;
    /**
     * For a `deploy --maintenance` release: how the database got back to the old schema (`--schema-restored`);
     * without it such a rollback keeps the maintenance page up (rollout/maintenanceHold.ts). @default undefined
     */
    readonly schemaRestored?: string;
}

/** Raised when the rollback itself failed; `state` says exactly where the stack is. */
export class RollbackFailed extends Error {
    constructor(
        message: string,
        readonly state: string,
        readonly retryCommand: string,
    ) {
        super(message);
        this.name = "RollbackFailed";
    }
}

/** Raised before anything was changed: the checkpoint cannot or may not be restored as asked. */
export class RollbackRefused extends Error {
    constructor(readonly problems: readonly string[]) {
        super(problems.join("; "));
        this.name = "RollbackRefused";
    }
}

/** How many times (5 s apart) the listener is read back before its weights count as wrong. */
export const WEIGHT_READS = 3;

/** Reads the listener until it shows `traffic`; returns the problems of the last read. */
export async function verifyWeights(aws: AwsPort, clock: Clock, outputs: DriverOutputs, traffic: Record<Colour, number>): Promise<string[]> {
    let problems: string[] = [];
    for (let read = 0; read < WEIGHT_READS; read++) {
        if (read > 0) await clock.sleep(5000);
        problems = weightProblems(await aws.listenerWeights(outputs.listenerArn), expectedWeights(outputs, traffic));
        if (problems.length === 0) return [];
    }
    return problems;
}

/** The colours that carry traffic in `traffic`. */
export function servingColours(traffic: Readonly<Record<Colour, number>>): Colour[] {
    return COLOURS.filter((colour) => traffic[colour] > 0);
}

/**
 * `current` with every key set to the checkpoint's value. Secrets stay as they
 * are (a record holds only their fingerprints). The database section goes back
 * too, except its snapshot label fields; a database section that only one side
 * has stays as it is now, so a rollback never removes the database.
 */
export function checkpointTarget(current: StackConfigEntries, checkpoint: StackConfigEntries): StackConfigEntries {
    const target: StackConfigEntries = { ...current };
    for (const key of new Set([...Object.keys(current), ...Object.keys(checkpoint)])) {
        if (current[key]?.secret || checkpoint[key]?.secret) continue;
        if (key === DATABASE_KEY) {
            if (current[key] !== undefined && checkpoint[key] !== undefined) target[key] = { value: JSON.stringify(databaseTarget(sectionOf(current, "database"), sectionOf(checkpoint, "database"))) };
            continue;
        }
        if (checkpoint[key] === undefined) delete target[key];
        else target[key] = { value: checkpoint[key].value };
    }
    return target;
}

/** The checkpoint's database section with today's snapshot label fields. */
function databaseTarget(current: Record<string, unknown> | undefined, checkpoint: Record<string, unknown> | undefined): Record<string, unknown> {
    const target: Record<string, unknown> = { ...checkpoint };
    for (const field of SNAPSHOT_LABEL_FIELDS) {
        if (current?.[field] === undefined) delete target[field];
        else target[field] = current[field];
    }
    // The migration image the release pinned stays too: the migration task keeps the release's image, so a rollback does
    // not replace it and `rollback --migrate-down` runs the down command that image holds.
    const currentMigration = current?.migration as Record<string, unknown> | undefined;
    const targetMigration = target.migration as Record<string, unknown> | undefined;
    if (currentMigration?.image !== undefined && targetMigration !== undefined) target.migration = { ...targetMigration, image: currentMigration.image };
    return target;
}

/**
 * Problems with restoring a checkpoint whose serving colours would change
 * version or image: the colour that takes traffic after the rollback would be
 * replaced while it serves. `deployed` are the stack's outputs now.
 */
export function servingReplacementProblems(record: DeploymentRecord, target: StackConfig, deployed: Record<string, unknown>): string[] {
    const problems: string[] = [];
    for (const colour of servingColours(record.checkpoint.traffic)) {
        const now = (deployed[colour] ?? {}) as { version?: unknown; image?: unknown };
        const wanted = target[colour];
        if (now.version !== wanted.version || now.image !== wanted.image) {
            problems.push(
                `restoring ${record.id} would replace ${colour}, which serves ${record.checkpoint.traffic[colour]}% after the rollback: it runs ${String(now.version)} (${String(now.image)}), the checkpoint has ${wanted.version} (${wanted.image}); pass --replace-serving to replace it while it takes traffic`,
            );
        }
    }
    return problems;
}

/** True when `step` is the forwarding listener of the stack. */
function isForwardingListener(step: ResourceStep, listenerArn: string): boolean {
    return step.type === LISTENER_TYPE && urnTypeChain(step.urn).includes(WEIGHTED_LISTENER_TYPE) && step.arn === listenerArn;
}

/** The type tokens of a colour's top component, per platform (components/colourService.ts, components/kubernetesColour.ts). */
export const COLOUR_COMPONENT_TYPES: readonly string[] = ["shiftwise:ecs:ColourService", "shiftwise:kubernetes:KubernetesColour"];

/** The URN of a colour's component (`<service>-<colour>`) in a preview, if it is there. */
export function colourComponentUrn(changes: StackChanges, serviceName: string, colour: Colour): string | undefined {
    return changes.steps.find((step) => COLOUR_COMPONENT_TYPES.includes(step.type) && urnName(step.urn) === `${serviceName}-${colour}`)?.urn;
}

/** The steps of `changes` inside the subtree of `rootUrn`. */
export function stepsUnder(changes: StackChanges, rootUrn: string | undefined): ResourceStep[] {
    if (rootUrn === undefined) return [];
    const parents = new Map(changes.steps.map((step) => [step.urn, step.parent]));
    return changes.steps.filter((step) => {
        for (let urn: string | undefined = step.urn; urn; urn = parents.get(urn)) {
            if (urn === rootUrn) return true;
        }
        return false;
    });
}

/**
 * Resource types that hold data or the service's identity: a rollback never
 * replaces or deletes one (DESIGN.md invariant 4). Immutable revisions such as
 * task definitions are replaced by every release and are not among them.
 */
export const STATEFUL_TYPES = /^aws:(rds|dynamodb|s3|kms|backup|efs|elasticache|secretsmanager)\/|^aws:lb\/(loadBalancer|listener):/;

/**
 * What the `config` phase may not do: change a colour that serves traffic
 * (unless `replaceServing`), or replace or delete a stateful resource outside
 * the idle colours (`STATEFUL_TYPES`).
 */
export function configPhaseProblems(changes: StackChanges, serviceName: string, serving: readonly Colour[], replaceServing: boolean): string[] {
    const idle = COLOURS.filter((colour) => !serving.includes(colour));
    const inIdle = new Set(idle.flatMap((colour) => stepsUnder(changes, colourComponentUrn(changes, serviceName, colour)).map((step) => step.urn)));
    const inServing = new Set(serving.flatMap((colour) => stepsUnder(changes, colourComponentUrn(changes, serviceName, colour)).map((step) => step.urn)));
    const problems: string[] = [];
    const effective = effectiveSteps(changes);
    const servingSteps = effective.filter((step) => inServing.has(step.urn));
    if (servingSteps.length > 0 && !replaceServing) problems.push(`restoring the rest of the checkpoint would change ${serving.join(" and ")}, which serves traffic: ${describeSteps(servingSteps)}`);
    const destructive = effective.filter((step) => !inIdle.has(step.urn) && !inServing.has(step.urn) && /replace|delete/.test(step.op) && STATEFUL_TYPES.test(step.type));
    if (destructive.length > 0) problems.push(`restoring the rest of the checkpoint would replace or delete stateful shared resources: ${describeSteps(destructive)}`);
    return problems;
}

/** Steps that only scale a colour (what the capacity phase may apply to a serving colour without `replaceServing`). */
export function isScaleOnly(step: ResourceStep): boolean {
    if (step.op !== "update") return false;
    if (step.type === "aws:ecs/service:Service") return step.diffs.every((key) => key === "desiredCount");
    // A Deployment's replicas sit in `spec`; its image is guarded by servingReplacementProblems before anything runs.
    if (step.type === "kubernetes:apps/v1:Deployment") return step.diffs.every((key) => key === "spec");
    return false;
}

/** One rollback in progress: the record, its entry and the ports. */
class Restore {
    readonly entry: RollbackEntry;
    phase: RollbackPhase["name"] = "write";

    constructor(
        private readonly deps: RollbackDeps,
        private readonly record: DeploymentRecord,
        private readonly outputs: DriverOutputs,
        private readonly target: StackConfigEntries,
        private readonly config: StackConfig,
        private readonly replaceServing: boolean,
        reason: string,
        trigger: RollbackEntry["trigger"],
    ) {
        this.entry = { reason, trigger, startedAt: deps.clock.now().toISOString(), phases: [] };
    }

    private begin(name: RollbackPhase["name"]): RollbackPhase {
        this.phase = name;
        const phase: RollbackPhase = { name, startedAt: this.deps.clock.now().toISOString() };
        this.entry.phases.push(phase);
        this.deps.records.save(this.record);
        return phase;
    }

    private end(phase: RollbackPhase, problems: string[]): void {
        phase.problems = problems;
        phase.finishedAt = this.deps.clock.now().toISOString();
        this.deps.records.save(this.record);
        if (problems.length > 0) throw new Error(problems.join("; "));
    }

    /**
     * Write: the whole checkpoint config in one validated write, so the stack
     * file goes from one valid config to another and no half-restored config
     * ever sits in it. The program's check runs first, and a write that fails
     * half-way is undone. The later phases apply it piece by piece with
     * targeted ups; a retry finds the file written and applies what is pending.
     */
    async write(): Promise<void> {
        const { deps } = this;
        const phase = this.begin("write");
        const current = await deps.stack.getAllConfig();
        const patch = configPatch(current, this.target);
        this.entry.wroteConfig = !isEmptyPatch(patch);
        if (this.entry.wroteConfig) {
            // restoreCheckpoint parsed the target already; parse again right before the write in case the file changed meanwhile.
            try {
                shiftwiseConfig(this.target);
            } catch (error) {
                if (!(error instanceof ConfigError)) throw error;
                return this.end(phase, [`refusing to write a stack config the program would reject: ${error.problems.join("; ")}`]);
            }
            try {
                await applyPatch(deps.stack, patch);
            } catch (error) {
                const undo = await applyPatch(deps.stack, configPatch(await deps.stack.getAllConfig(), current)).then(
                    () => "the config before the write was put back",
                    (undoError: Error) => `putting the config before the write back failed too: ${undoError.message}; the stack file may hold part of the checkpoint config`,
                );
                return this.end(phase, [`${(error as Error).message} (${undo})`]);
            }
        }
        this.end(phase, []);
    }

    /** Previews, checks, and runs one `up` restricted to the steps `select` picks. */
    async apply(name: RollbackPhase["name"], select: (preview: StackChanges) => readonly ResourceStep[], guard: (preview: StackChanges, selected: ResourceStep[]) => string[]): Promise<ResourceStep[]> {
        const { deps } = this;
        const phase = this.begin(name);
        const preview = await deps.stack.preview();
        const selected = effectiveSteps({ steps: select(preview) });
        const problems = guard(preview, selected);
        let changed: ResourceStep[] = [];
        if (problems.length === 0 && selected.length > 0) {
            const targets = selected.map((step) => step.urn);
            changed = effectiveSteps(await deps.stack.up({ targets }));
            phase.changed = changed.map((step) => `${step.op} ${step.urn}`);
            const stray = changed.filter((step) => !targets.includes(step.urn));
            if (stray.length > 0) problems.push(`the update changed resources it was not targeted at: ${describeSteps(stray)}`);
        }
        this.end(phase, problems);
        return changed;
    }

    /** Capacity: the serving colour as the checkpoint has it (its count), then its healthy targets. */
    async capacity(colour: Colour): Promise<void> {
        const { deps } = this;
        await this.apply(
            "capacity",
            (preview) => stepsUnder(preview, colourComponentUrn(preview, this.config.service.name, colour)),
            (_, selected) => {
                const replacing = selected.filter((step) => !isScaleOnly(step));
                return replacing.length > 0 && !this.replaceServing ? [`${colour} serves traffic after the rollback, and restoring it would do more than scale it: ${describeSteps(replacing)}; pass --replace-serving to allow it`] : [];
            },
        );
        const desired = this.config[colour].desiredCount;
        const healthy = await this.waitHealthy(colour, desired);
        deps.reporter.line("rollback", `capacity: ${colour} has ${healthy} healthy target(s), its checkpoint desiredCount is ${desired}`);
    }

    /** Traffic: the listener alone, then the weights as AWS reports them. */
    async traffic(): Promise<void> {
        const { deps, record } = this;
        const changed = await this.apply(
            "traffic",
            (preview) => preview.steps.filter((step) => isForwardingListener(step, this.outputs.listenerArn)),
            () => [],
        );
        if (changed.length > 0) {
            const problems = listenerOnlyProblems({ steps: changed }, this.outputs.listenerArn);
            if (problems.length > 0) throw new Error(problems.join("; "));
        }
        const weightIssues = await verifyWeights(deps.aws, deps.clock, this.outputs, record.checkpoint.traffic);
        if (weightIssues.length > 0) throw new Error(`the listener does not show the checkpoint weights: ${weightIssues.join("; ")}`);
        deps.reporter.line("rollback", `traffic restored: blue ${record.checkpoint.traffic.blue}%, green ${record.checkpoint.traffic.green}%, verified in AWS`);
    }

    /** The rest of the checkpoint, never touching a serving colour unless allowed. */
    async rest(): Promise<void> {
        const serving = servingColours(this.record.checkpoint.traffic);
        await this.apply("config", (preview) => preview.steps, (preview) => configPhaseProblems(preview, this.config.service.name, serving, this.replaceServing));
    }

    /** Verify: the deployed stack is the checkpoint's (a clean preview), and so are AWS's weights. */
    async verify(): Promise<void> {
        const { deps, record } = this;
        const phase = this.begin("verify");
        const problems: string[] = [];
        const pending = effectiveSteps(await deps.stack.preview());
        if (pending.length > 0) problems.push(`the deployed stack still differs from the checkpoint config: ${describeSteps(pending)}`);
        const left = configPatch(await deps.stack.getAllConfig(), this.target);
        if (!isEmptyPatch(left)) problems.push(`the stack config still differs from the checkpoint: ${JSON.stringify(left)}`);
        problems.push(...(await verifyWeights(deps.aws, deps.clock, this.outputs, record.checkpoint.traffic)));
        this.end(phase, problems);
    }

    private async waitHealthy(colour: Colour, desired: number): Promise<number> {
        const { deps } = this;
        const waitMinutes = this.config.rollout.healthyWaitMinutes;
        const deadline = deps.clock.now().getTime() + waitMinutes * 60_000;
        for (;;) {
            const health = await deps.aws.targetHealth(this.outputs[colour].targetGroupArn);
            if (health.healthy >= desired) return health.healthy;
            if (deps.clock.now().getTime() >= deadline) {
                throw new Error(`${colour} has ${health.healthy} of ${desired} healthy target(s) after ${waitMinutes} min (${JSON.stringify(health.byState)}); traffic was not moved onto it`);
            }
            deps.reporter.progress(`rollback: ${health.healthy}/${desired} healthy target(s) in ${colour}`);
            await deps.clock.sleep(deps.healthPollMs ?? 15_000);
        }
    }
}

/**
 * Restores `record`'s checkpoint and appends the attempt to the record.
 * Throws `RollbackRefused` before any change when the checkpoint cannot or
 * may not be restored, and `RollbackFailed` when a phase failed.
 */
export async function restoreCheckpoint(deps: RollbackDeps, record: DeploymentRecord, reason: string, trigger: RollbackEntry["trigger"], options: RollbackOptions = {}): Promise<RollbackEntry> {
    const outputs = driverOutputs(record.checkpoint.outputs);
    const target = checkpointTarget(await deps.stack.getAllConfig(), record.checkpoint.config);
    let config: StackConfig;
    try {
        config = shiftwiseConfig(target);
    } catch (error) {
        if (!(error instanceof ConfigError)) throw error;
        throw new RollbackRefused(error.problems.map((problem) => `the checkpoint config of ${record.id} is invalid today: ${problem}`));
    }
    const serving = servingReplacementProblems(record, config, await deps.stack.outputs());
    if (serving.length > 0 && !options.replaceServing) throw new RollbackRefused(serving);

    const restore = new Restore(deps, record, outputs, target, config, options.replaceServing ?? false, reason, trigger);
    record.rollbacks.push(restore.entry);
    const file = deps.records.save(record);
    const retryCommand = `shiftwise rollback --stack ${record.stack} --record ${file}${options.replaceServing ? " --replace-serving" : ""}`;
    deps.reporter.line("rollback", `restoring the checkpoint of ${record.id} (${reason})`);
    try {
        await restore.write();
        for (const colour of servingColours(record.checkpoint.traffic)) await restore.capacity(colour);
        await restore.traffic();
        await restore.rest();
        await restore.verify();
        restore.entry.outcome = "succeeded";
        restore.entry.finishedAt = deps.clock.now().toISOString();
        deps.records.save(record);
        deps.reporter.line("rollback", `done: the deployed stack, its config and the listener in AWS match the checkpoint of ${record.id}`);
        return restore.entry;
    } catch (error) {
        restore.entry.outcome = "failed";
        restore.entry.error = error instanceof Error ? error.message : String(error);
        restore.entry.finishedAt = deps.clock.now().toISOString();
        deps.records.save(record);
        const state = await describeState(deps, outputs, record, restore.phase);
        throw new RollbackFailed(`rollback of ${record.id} failed during the ${restore.phase} phase: ${restore.entry.error}`, state, retryCommand);
    }
}

/** Applies a config patch with `--path` semantics. */
export async function applyPatch(stack: StackPort, patch: ReturnType<typeof configPatch>): Promise<void> {
    if (Object.keys(patch.set).length > 0) await stack.setConfig(patch.set, { path: true });
    if (patch.remove.length > 0) await stack.removeConfig(patch.remove, { path: true });
}

/** Where the stack is after a failed rollback: config, deployed versions, AWS weights. Never throws. */
async function describeState(deps: RollbackDeps, outputs: DriverOutputs, record: DeploymentRecord, phase: string): Promise<string> {
    const lines = [`failed phase: ${phase}`];
    const read = async (label: string, body: () => Promise<void>) => {
        try {
            await body();
        } catch (error) {
            lines.push(`${label}: unreadable (${(error as Error).message})`);
        }
    };
    await read("stack config", async () => {
        const config = await deps.stack.getAllConfig();
        const traffic = sectionOf<Record<Colour, number>>(config, "traffic");
        lines.push(`stack config traffic: ${JSON.stringify(traffic)} (checkpoint ${JSON.stringify(record.checkpoint.traffic)})`);
        for (const colour of COLOURS) {
            const settings = sectionOf<{ version?: string; desiredCount?: number }>(config, colour);
            lines.push(`stack config ${colour}: ${settings?.version}, ${settings?.desiredCount} task(s) (checkpoint ${record.checkpoint.versions[colour]})`);
        }
    });
    await read("stack outputs", async () => {
        const deployed = (await deps.stack.outputs()) as Record<string, { version?: string } | undefined>;
        lines.push(`stack outputs (the last complete update): ${COLOURS.map((colour) => `${colour} ${deployed[colour]?.version}`).join(", ")}`);
    });
    await read("listener in AWS", async () => {
        const weights = await deps.aws.listenerWeights(outputs.listenerArn);
        lines.push(`listener in AWS: blue ${weights[outputs.blue.targetGroupArn] ?? 0}%, green ${weights[outputs.green.targetGroupArn] ?? 0}%`);
    });
    // A listener deleted outside Pulumi stays in the stack's state, so a retry would fail the same way until a refresh drops it.
    if (lines.at(-1)?.startsWith("listener in AWS: unreadable")) lines.push(`if the listener was deleted outside Pulumi, run \`pulumi refresh --stack ${record.stack}\` first: the retry then creates it again`);
    return lines.join("\n");
}

/** The record a rollback acts on: `recordFile` (`--record`), else the stack's latest; when there is none, the refusal to return. */
export function recordFor(records: RecordStore, recordFile?: string): { readonly record: DeploymentRecord } | { readonly record?: undefined; readonly exitCode: ExitCodeValue; readonly message: string } {
    const record = recordFile ? records.read(recordFile) : records.latest();
    return record ? { record } : { exitCode: ExitCode.invalid, message: `no deployment record in ${records.dir}; pass --record <file>` };
}

/** What `shiftwise rollback` (with or without --migrate-down) ends with: the exit code, the message, the record it acted on and any problems that refused it. */
export interface RollbackCommandResult {
    readonly exitCode: ExitCodeValue;
    readonly message: string;
    readonly record?: DeploymentRecord;
    readonly problems?: readonly string[];
}

/** `shiftwise rollback`: restores the checkpoint of the given or latest record. */
export async function rollbackCommand(deps: RollbackDeps & { readonly by: StartedBy }, recordFile?: string, options: RollbackOptions = {}): Promise<RollbackCommandResult> {
    const found = recordFor(deps.records, recordFile);
    if (!found.record) return found;
    const { record } = found;
    // Not backwards compatible: the old colour takes no users back until the schema is restored.
    const held = await maintenanceRollbackGate(deps, record, options.schemaRestored);
    if (held?.exitCode === ExitCode.invalid) return { ...held, record };
    // A migration task its driver left running is stopped first, so the schema stops changing under the restored (or held) release.
    const migration = await stopRecordedMigration(deps, record, deps.by.user);
    const also = migration ? `\n${migration}` : "";
    if (held) return { ...held, message: `${held.message}${also}`, record };
    try {
        await restoreCheckpoint(deps, record, `requested by ${deps.by.user}`, "command", options);
        record.status = "rolled-back";
        record.finishedAt ??= deps.clock.now().toISOString();
        deps.records.save(record);
        return { exitCode: ExitCode.success, message: `rolled back to the checkpoint of ${record.id}${also}`, record };
    } catch (error) {
        if (error instanceof RollbackRefused) {
            deps.reporter.line("rollback", `refused: ${error.problems.join("; ")}`);
            const changed = migration ? "the stack was not changed" : "nothing was changed";
            return { exitCode: ExitCode.refused, message: `rollback refused; ${changed}:\n  - ${error.problems.join("\n  - ")}${also}`, record, problems: error.problems };
        }
        record.status = "rollback-failed";
        deps.records.save(record);
        return { exitCode: ExitCode.rollbackFailed, message: `${rollbackFailureMessage(error)}${also}`, record };
    }
}

/** The message for a failed rollback: what failed, the exact state, and the command to retry. */
export function rollbackFailureMessage(error: unknown): string {
    if (error instanceof RollbackFailed) return `${error.message}\nstate:\n  ${error.state.split("\n").join("\n  ")}\nretry: ${error.retryCommand}`;
    return error instanceof Error ? error.message : String(error);
}
