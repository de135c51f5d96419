// Resuming a release whose runner died mid-release: what its record remembers, checked against what AWS and the stack show now; then continue, or roll back.
import * as os from "os";
import type { Colour, StackConfig } from "../config";
import { ConfigError } from "../config";
import { trafficPaths } from "./configPaths";
import { ExitCode } from "./exitCodes";
import { activeFreezeWindow, describeWindow } from "./freeze";
import { beyondPreview, describeSteps, effectiveSteps, listenerOnlyProblems, releasePreviewProblems } from "./guards";
import type { AlarmState, ResourceStep } from "../ports/ports";
import { DeploymentRecord, startedBy } from "./records";
import { verifyWeights } from "./rollback";
import { DriverOutputs, driverOutputs, shiftwiseConfig } from "./stackView";
import { checkpointStage } from "./stages/checkpoint";
import { DriverDeps, DriverOutcome, GateFailed, RolloutContext, Stage } from "./stages/context";
import { runPipeline } from "./stages/pipeline";
import { releaseConfig } from "./stages/preflight";
import { prepareStage } from "./stages/prepare";
import { alarmNames } from "./stages/reality";
import { nextStepIndex, rejudgeStage, shiftStage } from "./stages/shift";

/**
 * A record left `in-progress` means its runner died (killed, a cancelled CI
 * job, a lost machine). The record says which step the driver was at; the
 * listener in AWS says which weights serve. They can disagree (the step's
 * config was written but its `up` never ran, or ran without the driver
 * seeing it), and a person may have moved traffic since. Recovery trusts AWS:
 * it reads the listener, both colours' alarms, the stack config and a
 * preview, then either refuses (a person's move, a live runner, the stable
 * colour in ALARM, a freeze, changes it did not plan), rolls back (the
 * candidate in ALARM), or continues from the weights AWS serves: the prepare
 * stage again when the candidate serves nothing, else a fresh bake of the live
 * step (`re-judge`) and the steps after it.
 */

/** What recovery read just before deciding. */
export interface CrashReads {
    /** The listener's weights in AWS, by colour. */
    readonly live: Readonly<Record<Colour, number>>;
    /** Target groups the listener forwards to with weight that belong to neither colour. */
    readonly strangers: readonly string[];
    /** `shiftwise:traffic` in the stack config. */
    readonly configTraffic: Readonly<Record<Colour, number>>;
    readonly alarms: Readonly<Record<Colour, AlarmState | undefined>>;
    /** The release's runner is still alive on this host. */
    readonly runnerAlive: boolean;
    /** The freeze window in force now, when the release has no --hotfix. */
    readonly freeze?: string;
}

/** What recovery does. */
export type CrashPlan =
    | { readonly action: "refuse"; readonly problems: readonly string[] }
    | { readonly action: "rollback"; readonly reason: string }
    | { readonly action: "continue"; readonly fromPercent: number; readonly fixConfig?: Readonly<Record<Colour, number>> };

/**
 * The candidate weights the dead runner may have left the listener at: the
 * last step it promoted (0 before the first), and the step it had started
 * without a verdict, whose up may or may not have reached AWS. Anything else
 * (0 after a promoted step included) is a person's move.
 */
export function knownPercents(record: Pick<DeploymentRecord, "steps">): number[] {
    const promoted = record.steps.filter((step) => step.outcome === "promoted").at(-1)?.percent ?? 0;
    const last = record.steps.at(-1);
    return last !== undefined && last.outcome === undefined && last.percent !== promoted ? [promoted, last.percent] : [promoted];
}

/** Decides from the record and the reads alone (no I/O), in order of precedence. */
export function judgeCrash(record: Pick<DeploymentRecord, "id" | "candidate" | "stable" | "steps" | "runner" | "migrationSnapshot">, reads: CrashReads): CrashPlan {
    const { candidate, stable } = record;
    if (reads.runnerAlive) {
        return { action: "refuse", problems: [`the release's runner (pid ${record.runner?.pid} on ${record.runner?.host}) is still running: wait for it, or stop it with SIGINT (it rolls back)`] };
    }
    const live = reads.live[candidate];
    const sum = reads.live.blue + reads.live.green;
    if (reads.strangers.length > 0 || sum !== 100 || !knownPercents(record).includes(live)) {
        const shown = `blue ${reads.live.blue}%, green ${reads.live.green}%${reads.strangers.length > 0 ? `, and ${reads.strangers.join(", ")}` : ""}`;
        return {
            action: "refuse",
            problems: [`the listener in AWS shows ${shown}, which no step of ${record.id} set (its steps: ${knownPercents(record).join(", ")}% for ${candidate}); a person changed it, and shiftwise leaves it as it is: \`shiftwise rollback\` restores the checkpoint`],
        };
    }
    if (reads.alarms[candidate] === "ALARM") return { action: "rollback", reason: `resumed after its runner died: the candidate ${candidate}'s composite alarm is in ALARM with ${live}% of traffic` };
    if (reads.alarms[stable] === "ALARM") {
        return { action: "refuse", problems: [`the stable colour ${stable}'s composite alarm is in ALARM: nothing proceeds, and a rollback would move all traffic onto it; a person decides`] };
    }
    if (live === 0 && record.migrationSnapshot !== undefined) {
        return { action: "refuse", problems: [`${record.id} migrates the database and died before its candidate took traffic; the migration may have run: \`shiftwise rollback\` (then \`--migrate-down\` if it ran) and deploy again`] };
    }
    if (reads.freeze) return { action: "refuse", problems: [`inside the freeze window ${reads.freeze}; resume after it, or pass --hotfix "<reason>"`] };
    const fixConfig = reads.configTraffic[candidate] !== live ? reads.live : undefined;
    return fixConfig ? { action: "continue", fromPercent: live, fixConfig } : { action: "continue", fromPercent: live };
}

/**
 * What the preview may show before the release goes on: nothing; the
 * listener alone (the driver's up reached AWS but not the stack's state, and
 * is settled by a targeted up); or, when the candidate serves nothing, the
 * candidate's resources (the prepare stage applies them again).
 */
export function pendingProblems(pending: readonly ResourceStep[], options: { readonly listenerArn: string; readonly fromPercent: number; readonly releaseProblems: readonly string[] }): string[] {
    if (pending.length === 0) return [];
    if (listenerOnlyProblems({ steps: [...pending] }, options.listenerArn).length === 0) return [];
    if (options.fromPercent === 0 && options.releaseProblems.length === 0) return [];
    return [`the stack has changes pending that resuming would not make: ${describeSteps(pending)}; \`shiftwise rollback\` restores the checkpoint`];
}

/** True when `pid` is a live process here (EPERM: alive, owned by someone else). */
export function processAlive(pid: number): boolean {
    try {
        process.kill(pid, 0);
        return true;
    } catch (error) {
        return (error as NodeJS.ErrnoException).code === "EPERM";
    }
}

/** The release's runner is alive: recorded on this host, not this process, and still running. */
export function runnerAlive(record: Pick<DeploymentRecord, "runner">, host = os.hostname(), self = process.pid, alive = processAlive): boolean {
    const runner = record.runner;
    return runner !== undefined && runner.host === host && runner.pid !== self && alive(runner.pid);
}

/** What `resume` may add; see driver.ts. */
export interface RecoverOptions {
    readonly hotfix?: string;
    readonly smokeBaseUrl?: string;
}

/** Reads the listener in AWS by colour, with any other target group that takes traffic. */
async function readListener(deps: DriverDeps, outputs: DriverOutputs): Promise<{ live: Record<Colour, number>; strangers: string[] }> {
    const weights = await deps.aws.listenerWeights(outputs.listenerArn);
    const live = { blue: weights[outputs.blue.targetGroupArn] ?? 0, green: weights[outputs.green.targetGroupArn] ?? 0 };
    const strangers = Object.keys(weights).filter((arn) => arn !== outputs.blue.targetGroupArn && arn !== outputs.green.targetGroupArn && weights[arn] !== 0);
    return { live, strangers };
}

function refused(deps: DriverDeps, record: DeploymentRecord, problems: readonly string[]): DriverOutcome {
    deps.reporter.line("resume", `refused: ${problems.join("; ")}`);
    return { exitCode: ExitCode.refused, message: `cannot resume ${record.id}, whose runner died mid-release; nothing was changed:\n  - ${problems.join("\n  - ")}`, problems, record };
}

/** `shiftwise resume` of an `in-progress` record whose runner died. */
export async function recoverCrashed(deps: DriverDeps, record: DeploymentRecord, options: RecoverOptions = {}): Promise<DriverOutcome> {
    const entries = await deps.stack.getAllConfig();
    let config: StackConfig;
    try {
        config = shiftwiseConfig(entries);
    } catch (error) {
        if (!(error instanceof ConfigError)) throw error;
        return { ...refused(deps, record, error.problems), exitCode: ExitCode.invalid };
    }
    const outputs = driverOutputs(record.checkpoint.outputs);
    const context = new RolloutContext(deps, record, config);
    const names = alarmNames(context);
    const [{ live, strangers }, blue, green] = await Promise.all([readListener(deps, outputs), deps.aws.compositeAlarmState(names.blue), deps.aws.compositeAlarmState(names.green)]);
    const window = record.hotfix || options.hotfix !== undefined ? undefined : activeFreezeWindow(config.rollout.freezeWindows, deps.clock.now());
    const reads: CrashReads = { live, strangers, configTraffic: config.traffic, alarms: { blue, green }, runnerAlive: runnerAlive(record), freeze: window && describeWindow(window) };
    const found = `listener in AWS blue ${live.blue}%, green ${live.green}%; shiftwise:traffic blue ${config.traffic.blue}%, green ${config.traffic.green}%; alarms blue ${blue ?? "missing"}, green ${green ?? "missing"}; last step ${record.steps.at(-1)?.percent ?? "none"}%`;
    const plan = judgeCrash(record, reads);
    if (plan.action === "refuse") return refused(deps, record, plan.problems);

    record.resumes = [...(record.resumes ?? []), { at: deps.clock.now().toISOString(), by: startedBy(deps.env ?? {}), after: "crash", found }];
    record.runner = { host: os.hostname(), pid: process.pid };
    if (options.hotfix !== undefined && !record.hotfix) record.hotfix = { reason: options.hotfix, freezeWindow: "none when it resumed" };
    if (options.smokeBaseUrl) record.probeBaseUrl = options.smokeBaseUrl;
    // Steps the dead runner left without a verdict ended with it; a re-judge adds a fresh entry for the live one.
    for (const step of record.steps) step.outcome ??= "interrupted";
    deps.records.save(record);
    deps.reporter.line("resume", `${record.id} was left in progress by a runner that is gone; read: ${found}`);
    if (plan.action === "rollback") return runPipeline(context, [failedRecovery(plan.reason)]);
    return runPipeline(context, [recoverStage(plan), checkpointStage, ...continuation(context, plan.fromPercent, entries, options)]);
}

/** A recover stage that fails with `reason`, so the pipeline rolls back to the checkpoint. */
function failedRecovery(reason: string): Stage {
    return {
        name: "recover",
        run: (context) =>
            context.stage("recover", async () => {
                throw new GateFailed(reason);
            }),
    };
}

/**
 * Makes the stack config say what AWS serves (when the dead runner wrote a
 * step's weights but its up never reached AWS), then checks the preview:
 * pending listener changes are settled by a targeted up, the candidate's
 * pending resources are left to the prepare stage, anything else refuses.
 */
function recoverStage(plan: Extract<CrashPlan, { action: "continue" }>): Stage {
    return {
        name: "recover",
        run: (context) =>
            context.stage("recover", async () => {
                const { deps, config, outputs, candidate, record } = context;
                const done: string[] = [];
                if (plan.fixConfig) {
                    await deps.stack.setConfig(trafficPaths({ ...plan.fixConfig }), { path: true });
                    done.push(`shiftwise:traffic set to what AWS serves (blue ${plan.fixConfig.blue}%, green ${plan.fixConfig.green}%)`);
                }
                const preview = await context.interruptible(deps.stack.preview({ signal: deps.signal }));
                const pending = effectiveSteps(preview);
                const release = releasePreviewProblems(preview, { serviceName: config.service.name, candidate, allowSnapshot: record.migrationSnapshot !== undefined });
                const problems = pendingProblems(pending, { listenerArn: outputs.listenerArn, fromPercent: plan.fromPercent, releaseProblems: release });
                if (problems.length > 0) throw new GateFailed(problems.join("; "));
                if (pending.length > 0 && listenerOnlyProblems(preview, outputs.listenerArn).length === 0) {
                    const changes = await context.interruptible(deps.stack.up({ targets: pending.map((step) => step.urn), signal: deps.signal }));
                    const beyond = beyondPreview(changes, preview);
                    if (beyond.length > 0) throw new GateFailed(`the listener up did more than it previewed: ${beyond.join("; ")}`);
                    const weights = await verifyWeights(deps.aws, deps.clock, outputs, { ...plan.fixConfig ?? config.traffic });
                    if (weights.length > 0) throw new GateFailed(`the listener does not show the weights it serves: ${weights.join("; ")}`);
                    done.push("the stack's listener state settled to what AWS serves");
                }
                return `${done.length > 0 ? `${done.join("; ")}; ` : ""}continuing from ${candidate} ${plan.fromPercent}%`;
            }),
    };
}

/** The stages after recovery: prepare again when the candidate serves nothing, else a fresh bake of the live step and the steps after it. */
function continuation(context: RolloutContext, fromPercent: number, entries: Awaited<ReturnType<DriverDeps["stack"]["getAllConfig"]>>, options: RecoverOptions): Stage[] {
    const { record, config } = context;
    if (fromPercent === 0) {
        const request = { version: record.version, image: record.image, smokeBaseUrl: options.smokeBaseUrl ?? record.probeBaseUrl, migrationSnapshot: record.migrationSnapshot !== undefined };
        return [prepareStage(request, releaseConfig(entries, record.candidate, request)), shiftStage(0)];
    }
    return [rejudgeStage(fromPercent), shiftStage(nextStepIndex(config.rollout.steps, fromPercent))];
}
