// `shiftwise rollback`: restore a record's checkpoint, traffic first, and verify it.
import { isDeepStrictEqual } from "util";
import type { Colour } from "../config";
import { configPatch, isEmptyPatch, sectionOf, trafficPaths } from "./configPaths";
import { ExitCode, ExitCodeValue } from "./exitCodes";
import { effectiveSteps, listenerOnlyProblems } from "./guards";
import type { AwsPort, Clock, StackPort } from "../ports/ports";
import { DeploymentRecord, RecordStore, RollbackEntry, StartedBy } from "./records";
import type { Reporter } from "./reporter";
import { driverOutputs, expectedWeights, weightProblems } from "./stackView";

/**
 * Restoring a checkpoint. It runs in two updates so that traffic leaves the
 * candidate first:
 *  1. `traffic`: only `shiftwise:traffic` goes back, so the update changes the
 *     forwarding listener alone (the old colour is still running, warm), and
 *     the weights are read back from AWS;
 *  2. `config`: every other key goes back to the checkpoint (the candidate's
 *     version and image), which touches only the idle candidate.
 * `shiftwise:database` and secrets are never touched: the snapshot label stays,
 * so no snapshot resource is dropped, and a record never holds secrets.
 */

/** Keys a rollback leaves as they are. */
export const ROLLBACK_KEEPS = ["shiftwise:database"] as const;

/** What a rollback needs. */
export interface RollbackDeps {
    readonly stack: StackPort;
    readonly aws: AwsPort;
    readonly clock: Clock;
    readonly records: RecordStore;
    readonly reporter: Reporter;
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

/** How many times (5 s apart) the listener is read back before its weights count as wrong. */
export const WEIGHT_READS = 3;

/** Reads the listener until it shows `traffic`; returns the problems of the last read. */
export async function verifyWeights(aws: AwsPort, clock: Clock, outputs: ReturnType<typeof driverOutputs>, traffic: Record<Colour, number>): Promise<string[]> {
    let problems: string[] = [];
    for (let read = 0; read < WEIGHT_READS; read++) {
        if (read > 0) await clock.sleep(5000);
        problems = weightProblems(await aws.listenerWeights(outputs.listenerArn), expectedWeights(outputs, traffic));
        if (problems.length === 0) return [];
    }
    return problems;
}

/** Restores `record`'s checkpoint and appends the attempt to the record. Throws `RollbackFailed`. */
export async function restoreCheckpoint(deps: RollbackDeps, record: DeploymentRecord, reason: string, trigger: RollbackEntry["trigger"]): Promise<RollbackEntry> {
    const entry: RollbackEntry = { reason, trigger, startedAt: deps.clock.now().toISOString(), phases: [] };
    record.rollbacks.push(entry);
    const file = deps.records.save(record);
    const retryCommand = `shiftwise rollback --stack ${record.stack} --record ${file}`;
    const checkpoint = record.checkpoint;
    const outputs = driverOutputs(checkpoint.outputs);
    deps.reporter.line("rollback", `restoring the checkpoint of ${record.id} (${reason})`);
    let phaseName: "traffic" | "config" = "traffic";
    try {
        const current = await deps.stack.getAllConfig();
        if (!isDeepStrictEqual(sectionOf(current, "traffic"), checkpoint.traffic)) {
            const phase: RollbackEntry["phases"][number] = { name: "traffic", startedAt: deps.clock.now().toISOString() };
            entry.phases.push(phase);
            await deps.stack.setConfig(trafficPaths(checkpoint.traffic), { path: true });
            const changes = await deps.stack.up();
            phase.changed = effectiveSteps(changes).map((step) => `${step.op} ${step.urn}`);
            phase.problems = listenerOnlyProblems(changes, outputs.listenerArn);
            phase.finishedAt = deps.clock.now().toISOString();
            deps.records.save(record);
        }
        const weightIssues = await verifyWeights(deps.aws, deps.clock, outputs, checkpoint.traffic);
        if (weightIssues.length > 0) throw new Error(`the listener does not show the checkpoint weights: ${weightIssues.join("; ")}`);
        deps.reporter.line("rollback", `traffic restored: blue ${checkpoint.traffic.blue}%, green ${checkpoint.traffic.green}%, verified in AWS`);

        phaseName = "config";
        const patch = configPatch(await deps.stack.getAllConfig(), checkpoint.config, ROLLBACK_KEEPS);
        if (!isEmptyPatch(patch)) {
            const phase: RollbackEntry["phases"][number] = { name: "config", startedAt: deps.clock.now().toISOString() };
            entry.phases.push(phase);
            await applyPatch(deps.stack, patch);
            const changes = await deps.stack.up();
            phase.changed = effectiveSteps(changes).map((step) => `${step.op} ${step.urn}`);
            phase.finishedAt = deps.clock.now().toISOString();
        }
        const left = configPatch(await deps.stack.getAllConfig(), checkpoint.config, ROLLBACK_KEEPS);
        if (!isEmptyPatch(left)) throw new Error(`the config still differs from the checkpoint: ${JSON.stringify(left)}`);
        entry.outcome = "succeeded";
        entry.finishedAt = deps.clock.now().toISOString();
        deps.records.save(record);
        deps.reporter.line("rollback", `done: the stack config equals the checkpoint of ${record.id}`);
        return entry;
    } catch (error) {
        entry.outcome = "failed";
        entry.error = error instanceof Error ? error.message : String(error);
        entry.finishedAt = deps.clock.now().toISOString();
        deps.records.save(record);
        const state = await describeState(deps, outputs, record, phaseName);
        throw new RollbackFailed(`rollback of ${record.id} failed during the ${phaseName} update: ${entry.error}`, state, retryCommand);
    }
}

/** Applies a config patch with `--path` semantics. */
export async function applyPatch(stack: StackPort, patch: ReturnType<typeof configPatch>): Promise<void> {
    if (Object.keys(patch.set).length > 0) await stack.setConfig(patch.set, { path: true });
    if (patch.remove.length > 0) await stack.removeConfig(patch.remove, { path: true });
}

/** Where the stack is after a failed rollback: config traffic, AWS weights, versions. Never throws. */
async function describeState(deps: RollbackDeps, outputs: ReturnType<typeof driverOutputs>, record: DeploymentRecord, phase: string): Promise<string> {
    const lines = [`failed update: ${phase}`];
    try {
        const config = await deps.stack.getAllConfig();
        const traffic = sectionOf<Record<Colour, number>>(config, "traffic");
        lines.push(`stack config traffic: ${JSON.stringify(traffic)} (checkpoint ${JSON.stringify(record.checkpoint.traffic)})`);
        for (const colour of ["blue", "green"] as const) {
            const settings = sectionOf<{ version?: string }>(config, colour);
            lines.push(`stack config ${colour}: ${settings?.version} (checkpoint ${record.checkpoint.versions[colour]})`);
        }
    } catch (error) {
        lines.push(`stack config: unreadable (${(error as Error).message})`);
    }
    try {
        const weights = await deps.aws.listenerWeights(outputs.listenerArn);
        lines.push(`listener in AWS: blue ${weights[outputs.blue.targetGroupArn] ?? 0}%, green ${weights[outputs.green.targetGroupArn] ?? 0}%`);
    } catch (error) {
        lines.push(`listener in AWS: unreadable (${(error as Error).message})`);
    }
    return lines.join("\n");
}

/** `shiftwise rollback`: restores the checkpoint of the given or latest record. */
export async function rollbackCommand(deps: RollbackDeps & { readonly by: StartedBy }, recordFile?: string): Promise<{ exitCode: ExitCodeValue; message: string; record?: DeploymentRecord }> {
    const record = recordFile ? deps.records.read(recordFile) : deps.records.latest();
    if (!record) return { exitCode: ExitCode.invalid, message: `no deployment record in ${deps.records.dir}; pass --record <file>` };
    try {
        await restoreCheckpoint(deps, record, `requested by ${deps.by.user}`, "command");
        record.status = "rolled-back";
        record.finishedAt ??= deps.clock.now().toISOString();
        deps.records.save(record);
        return { exitCode: ExitCode.success, message: `rolled back to the checkpoint of ${record.id}`, record };
    } catch (error) {
        record.status = "rollback-failed";
        deps.records.save(record);
        return { exitCode: ExitCode.rollbackFailed, message: rollbackFailureMessage(error), record };
    }
}

/** The message for a failed rollback: what failed, the exact state, and the command to retry. */
export function rollbackFailureMessage(error: unknown): string {
    if (error instanceof RollbackFailed) return `${error.message}\nstate:\n  ${error.state.split("\n").join("\n  ")}\nretry: ${error.retryCommand}`;
    return error instanceof Error ? error.message : String(error);
}
