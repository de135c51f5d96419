// The rollout driver: `deploy` and `resume`, each a pipeline of stages (rollout/stages/).
import * as os from "os";
import { ExitCode } from "./exitCodes";
import { nextSteps } from "./maintenanceHold";
import { behindPage, resumeBehindPage } from "./maintenanceResume";
import { recoverCrashed, runnerAlive } from "./recover";
import { cleanPreviewProblems } from "./guards";
import { startedBy } from "./records";
import { describeWindow, activeFreezeWindow } from "./freeze";
import { driverOutputs, expectedWeights, rollbackAlarmName, shiftwiseConfig, weightProblems } from "./stackView";
import type { StackConfig } from "../config";
import { checkpointStage } from "./stages/checkpoint";
import { migrationStages, resumedMigrationStages } from "./stages/migrate";
import { DeployRequest, DriverDeps, DriverOutcome, Refused, RolloutContext, Stage } from "./stages/context";
import { runPipeline } from "./stages/pipeline";
import { releaseConfig, runPreflight } from "./stages/preflight";
import { maintenanceConfig } from "./maintenance";
import { cutoverStages, pageOnStage, skippedSoakStage } from "./stages/maintenance";
import { prepareStage } from "./stages/prepare";
import { nextStepIndex, rejudgeStage, shiftStage } from "./stages/shift";
import type { StackConfigEntries } from "../ports/ports";
import type { DeploymentRecord } from "./records";

/**
 * The rollout driver: pre-flight, then the pipeline checkpoint, prepare,
 * shift (each step with its bake) and finish, as DESIGN.md "The rollout
 * driver" describes. It reaches Pulumi and AWS only through the ports, takes
 * time from an injected clock, and reports through a `Reporter`. The CLI only
 * maps the outcome to an exit code.
 */

export type { DeployRequest, DriverDeps, DriverOutcome, PollCheck, Stage } from "./stages/context";
export { releaseConfig };

/**
 * The stages of a deployment after pre-flight, in order. A stage that must run
 * after the checkpoint and before the candidate takes traffic (a migration)
 * goes between `checkpointStage` and `shiftStage`.
 */
export function deployStages(request: DeployRequest, release: StackConfigEntries, config?: StackConfig): Stage[] {
    if (request.maintenance !== undefined && config) {
        // Not backwards compatible: snapshot, the page up, migration, no stable soak, the candidate verified behind the page, then 100 % and the page down.
        // The candidate's config carries the page, so prepare's write keeps it up.
        const behindPage = maintenanceConfig(release, { enabled: true, reason: request.maintenance.trim() });
        return [checkpointStage, ...migrationStages(config, request, release, { pageOn: pageOnStage, soak: skippedSoakStage }), prepareStage(request, behindPage), ...cutoverStages()];
    }
    // A migrating release: snapshot, migration and the stable colour's soak, all before the candidate starts.
    const migration = config ? migrationStages(config, request, release) : [];
    return [checkpointStage, ...migration, prepareStage(request, release), shiftStage(0)];
}

/** `shiftwise deploy`. */
export async function deploy(deps: DriverDeps, request: DeployRequest): Promise<DriverOutcome> {
    let preflight;
    try {
        preflight = await runPreflight(deps, request);
    } catch (error) {
        if (error instanceof Refused) {
            deps.reporter.line("pre-flight", `refused: ${error.problems.join("; ")}`);
            return { exitCode: error.exitCode, message: `pre-flight refused the deployment; nothing was changed:\n  - ${error.problems.join("\n  - ")}`, problems: error.problems };
        }
        throw error;
    }
    if (request.confirm && !(await request.confirm(preflight.summary))) {
        return { exitCode: ExitCode.refused, message: "not confirmed; nothing was changed", problems: ["not confirmed"] };
    }
    const context = new RolloutContext(deps, preflight.record, preflight.config);
    return runPipeline(context, deployStages(request, preflight.releaseConfig, preflight.config));
}

/** What `shiftwise resume` may add. */
export interface ResumeOptions {
    /** Resume inside a freeze window; the reason is recorded. */
    readonly hotfix?: string;
    /** Base URL for the probes instead of the one the deployment recorded. */
    readonly smokeBaseUrl?: string;
}

/**
 * `shiftwise resume`: continues the paused deployment of the stack, or one
 * whose runner died mid-release (status `in-progress`, see recover.ts). It
 * re-checks what may have changed while it was paused (the config, the
 * deployed stack, the listener in AWS, freeze windows), then re-judges the
 * step it paused on with a fresh bake before the next step.
 */
export async function resume(deps: DriverDeps, recordFile?: string, options: ResumeOptions = {}): Promise<DriverOutcome> {
    const record = recordFile ? deps.records.read(recordFile) : deps.records.unfinished();
    // A `deploy --maintenance` release behind its page (died or paused): the page stays up and the release goes on behind it.
    if (record && (record.status === "in-progress" || record.status === "paused") && (await behindPage(deps, record))) return resumeBehindPage(deps, record, options);
    if (record?.status === "held") {
        return { exitCode: ExitCode.held, message: `${record.id} is held behind the maintenance page; resume cannot go on, the database needs a person first:\n${await nextSteps(deps.stack, record, "up")}`, record };
    }
    // Left in progress: its runner died mid-release (with the ledger, this command holds the lease, so no runner is live).
    // Died during its migration: re-attach to the recorded task (below); any other crash: recover.ts.
    if (record && diedDuringMigration(record)) return resumeMigration(deps, record, options);
    if (record?.status === "in-progress") return recoverCrashed(deps, record, options);
    if (!record || record.status !== "paused" || !record.pause) {
        return { exitCode: ExitCode.invalid, message: `no paused deployment of ${deps.stack.stackName}${record ? ` (the latest unfinished one, ${record.id}, is ${record.status})` : ""}` };
    }
    const entries = await deps.stack.getAllConfig();
    const config = shiftwiseConfig(entries);
    const outputs = driverOutputs(await deps.stack.outputs());
    const problems: string[] = [];
    const pausedStep = record.steps[record.steps.length - 1];
    if (config.traffic[record.candidate] !== record.pause.afterPercent) {
        problems.push(`shiftwise:traffic gives ${record.candidate} ${config.traffic[record.candidate]}%, but the deployment paused at ${record.pause.afterPercent}%; run \`shiftwise rollback\``);
    }
    if (config[record.candidate].version !== record.version) {
        problems.push(`${record.candidate} runs ${config[record.candidate].version}, not the paused release ${record.version}`);
    }
    problems.push(...cleanPreviewProblems(await deps.stack.preview()));
    const alarm = await deps.aws.compositeAlarmState(rollbackAlarmName(outputs, record.candidate, config.service.name, deps.stack.stackName));
    if (alarm === "ALARM") problems.push(`the ${record.candidate} composite alarm is in ALARM; run \`shiftwise rollback\``);
    const drift = weightProblems(await deps.aws.listenerWeights(outputs.listenerArn), expectedWeights(outputs, config.traffic));
    if (drift.length > 0) problems.push(`the listener in AWS does not show shiftwise:traffic (changed by hand?): ${drift.join("; ")}; set the config to match or run \`shiftwise rollback\``);
    const window = activeFreezeWindow(config.rollout.freezeWindows, deps.clock.now());
    if (window && !record.hotfix && options.hotfix === undefined) problems.push(`inside the freeze window ${describeWindow(window)}; resume after it, or pass --hotfix "<reason>"`);
    if (problems.length > 0) {
        deps.reporter.line("resume", `refused: ${problems.join("; ")}`);
        return { exitCode: ExitCode.refused, message: `cannot resume ${record.id}:\n  - ${problems.join("\n  - ")}`, problems, record };
    }
    record.status = "in-progress";
    record.resumes = [...(record.resumes ?? []), { at: deps.clock.now().toISOString(), by: startedBy(deps.env ?? {}), after: "pause" }];
    record.runner = { host: os.hostname(), pid: process.pid };
    record.pause = undefined;
    if (options.hotfix !== undefined && !record.hotfix) record.hotfix = { reason: options.hotfix, freezeWindow: window ? describeWindow(window) : "none when it resumed" };
    if (options.smokeBaseUrl) record.probeBaseUrl = options.smokeBaseUrl;
    deps.records.save(record);
    deps.reporter.line("resume", `continuing ${record.id} after ${pausedStep?.percent}%`);
    const context = new RolloutContext(deps, record, config);
    const pausedPercent = pausedStep?.percent ?? 0;
    const rejudge = pausedPercent > 0 ? [rejudgeStage(pausedPercent)] : [];
    return runPipeline(context, [checkpointStage, ...rejudge, shiftStage(nextStepIndex(config.rollout.steps, pausedPercent))]);
}

/** A record left `in-progress` by a driver that died after RunTask and before the candidate was prepared. */
export function diedDuringMigration(record: DeploymentRecord): boolean {
    return record.status === "in-progress" && record.migration !== undefined && record.migration.direction === "up" && !record.stages.some((stage) => stage.name === "prepare");
}

/**
 * `shiftwise resume` of a release whose driver died during the migration or
 * the stable soak (the lease it held has expired, or `resume` could not take
 * it). It re-attaches to the recorded task instead of starting the migration
 * again, re-reads RDS first (a database restored by hand meanwhile stops it),
 * then soaks the stable colour and goes on with prepare and the steps.
 */
async function resumeMigration(deps: DriverDeps, record: DeploymentRecord, options: ResumeOptions): Promise<DriverOutcome> {
    const entries = await deps.stack.getAllConfig();
    const config = shiftwiseConfig(entries);
    const problems: string[] = [];
    if (runnerAlive(record)) problems.push(`the runner that started ${record.id} (pid ${record.runner?.pid} on this host) is still alive; let it finish, or stop it first`);
    if (config.database?.preReleaseSnapshot !== record.version || !config.database.migration) {
        problems.push(`shiftwise:database no longer holds the migration of ${record.version} (preReleaseSnapshot ${config.database?.preReleaseSnapshot ?? "unset"}); run \`shiftwise rollback --stack ${record.stack}\``);
    }
    if (config.traffic[record.candidate] !== 0) problems.push(`${record.candidate} carries ${config.traffic[record.candidate]}% in shiftwise:traffic, but the release died before it took any; run \`shiftwise rollback --stack ${record.stack}\``);
    const window = activeFreezeWindow(config.rollout.freezeWindows, deps.clock.now());
    if (window && !record.hotfix && options.hotfix === undefined) problems.push(`inside the freeze window ${describeWindow(window)}; resume after it, or pass --hotfix "<reason>"`);
    if (problems.length > 0) {
        deps.reporter.line("resume", `refused: ${problems.join("; ")}`);
        return { exitCode: ExitCode.refused, message: `cannot resume ${record.id}:\n  - ${problems.join("\n  - ")}`, problems, record };
    }
    record.resumes = [...(record.resumes ?? []), { at: deps.clock.now().toISOString(), by: startedBy(deps.env ?? {}), after: "crash", found: `migration ${record.migration!.outcome}` }];
    record.runner = { host: os.hostname(), pid: process.pid };
    if (options.smokeBaseUrl) record.probeBaseUrl = options.smokeBaseUrl;
    deps.records.save(record);
    deps.reporter.line("resume", `continuing ${record.id} at its migration (${record.migration!.outcome}${record.migration!.taskArn ? `, task ${record.migration!.taskArn}` : ""})`);
    const request: DeployRequest = { version: record.version, image: record.image, smokeBaseUrl: options.smokeBaseUrl ?? record.probeBaseUrl, migrationImage: config.database!.migration!.image };
    const release = releaseConfig(entries, record.candidate, request);
    const context = new RolloutContext(deps, record, config);
    return runPipeline(context, [...resumedMigrationStages(config, request), prepareStage(request, release), shiftStage(0)]);
}
