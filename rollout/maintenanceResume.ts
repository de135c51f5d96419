// `shiftwise resume` of a `deploy --maintenance` release whose runner died (or that paused) while its maintenance page was up: what it read, and the stages it continues with.
import * as os from "os";
import { ConfigError } from "../config";
import { ExitCode } from "./exitCodes";
import { activeFreezeWindow, describeWindow } from "./freeze";
import { PAGE_ACTION } from "./maintenanceHold";
import { maintenanceConfig } from "./maintenance";
import { DeploymentRecord, startedBy } from "./records";
import { runnerAlive } from "./recover";
import { driverOutputs, shiftwiseConfig } from "./stackView";
import { DriverDeps, DriverOutcome, RolloutContext, Stage } from "./stages/context";
import { cutoverStages, skippedSoakStage } from "./stages/maintenance";
import { resumedMigrationStages } from "./stages/migrate";
import { runPipeline } from "./stages/pipeline";
import { releaseConfig } from "./stages/preflight";
import { prepareStage } from "./stages/prepare";

/** True when `record` is a `deploy --maintenance` release whose page AWS serves now (the listener answers with it). */
export async function behindPage(deps: Pick<DriverDeps, "aws">, record: DeploymentRecord): Promise<boolean> {
    // The page's up may have reached AWS before the runner recorded it (`maintenance.on` unset): AWS decides.
    if (!record.maintenance) return false;
    return (await deps.aws.listenerAction(driverOutputs(record.checkpoint.outputs).listenerArn)) === PAGE_ACTION;
}

/** Where the page went up and why, for messages. */
export function pageStory(record: DeploymentRecord): string {
    const stage = record.stages.at(-1);
    const migration = record.migration ? `its migration ${record.migration.outcome}` : "its migration had not started";
    return `the maintenance page is up (${record.maintenance?.reason}) since ${record.maintenance?.on?.at ?? "an update its runner did not live to record"}: ${record.id} (deploy --maintenance of ${record.version}) put it up for a migration that is not backwards compatible; ${migration}; its last stage was ${stage?.name} (${stage?.outcome ?? "running when its runner died"})`;
}

/** What `resume` may add. */
export interface ResumeBehindPageOptions {
    readonly hotfix?: string;
    readonly smokeBaseUrl?: string;
}

/**
 * Resumes a maintenance release behind its page: the page stays up, the
 * migration is re-attached to (never run twice; see migrate.ts), and the
 * release goes on from the first stage it had not finished: migration,
 * prepare, or the cutover (100 %, then the page down). It refuses while the
 * runner lives, inside a freeze window without --hotfix, when the stack config
 * no longer says maintenance on (a person changed it), or when the candidate
 * already carries traffic in the config before the cutover started.
 */
export async function resumeBehindPage(deps: DriverDeps, record: DeploymentRecord, options: ResumeBehindPageOptions = {}): Promise<DriverOutcome> {
    const story = pageStory(record);
    const refuse = (exitCode: typeof ExitCode.refused | typeof ExitCode.invalid, problems: string[]): DriverOutcome => {
        deps.reporter.line("resume", `refused: ${problems.join("; ")}`);
        return { exitCode, message: `cannot resume ${record.id}; ${story}; nothing was changed:\n  - ${problems.join("\n  - ")}`, problems, record };
    };
    const entries = await deps.stack.getAllConfig();
    let config;
    try {
        config = shiftwiseConfig(entries);
    } catch (error) {
        if (!(error instanceof ConfigError)) throw error;
        return refuse(ExitCode.invalid, [...error.problems]);
    }
    const problems: string[] = [];
    if (record.status === "in-progress" && runnerAlive(record)) problems.push(`the runner that started ${record.id} (pid ${record.runner?.pid} on this host) is still alive; let it finish, or stop it first`);
    if (!config.maintenance.enabled) problems.push(`shiftwise:maintenance is off in the stack config while AWS serves the page: a person changed it; set it back on (\`shiftwise maintenance on --stack ${record.stack} --reason ${JSON.stringify(record.maintenance!.reason)}\`) or decide with \`shiftwise rollback\``);
    const cutoverStarted = record.stages.some((stage) => stage.name === "shift 100%");
    if (!cutoverStarted && config.traffic[record.candidate] !== 0) problems.push(`${record.candidate} carries ${config.traffic[record.candidate]}% in shiftwise:traffic before the cutover started: a person changed it`);
    const window = activeFreezeWindow(config.rollout.freezeWindows, deps.clock.now());
    if (window && !record.hotfix && options.hotfix === undefined) problems.push(`inside the freeze window ${describeWindow(window)}; resume after it, or pass --hotfix "<reason>" (the page stays up meanwhile)`);
    if (problems.length > 0) return refuse(ExitCode.refused, problems);

    const after = record.status === "paused" ? "pause" : "crash";
    record.resumes = [...(record.resumes ?? []), { at: deps.clock.now().toISOString(), by: startedBy(deps.env ?? {}), after, found: story }];
    record.status = "in-progress";
    record.pause = undefined;
    record.runner = { host: os.hostname(), pid: process.pid };
    if (options.hotfix !== undefined && !record.hotfix) record.hotfix = { reason: options.hotfix, freezeWindow: window ? describeWindow(window) : "none when it resumed" };
    if (options.smokeBaseUrl) record.probeBaseUrl = options.smokeBaseUrl;
    // A step the dead runner left without a verdict ended with it; the cutover starts a fresh one.
    for (const step of record.steps) step.outcome ??= "interrupted";
    deps.records.save(record);
    deps.reporter.line("resume", `continuing ${record.id} behind the page: ${story}`);
    const request = { version: record.version, image: record.image, smokeBaseUrl: options.smokeBaseUrl ?? record.probeBaseUrl, migrationImage: config.database?.migration?.image, maintenance: record.maintenance!.reason };
    const release = maintenanceConfig(releaseConfig(entries, record.candidate, request), { enabled: true, reason: record.maintenance!.reason });
    const context = new RolloutContext(deps, record, config);
    return runPipeline(context, remainingStages(record, resumedMigrationStages(config, request, skippedSoakStage), prepareStage(request, release)));
}

/**
 * The stages left: before prepare passed, the migration stage again (it re-reads RDS, then re-attaches to the
 * recorded task or trusts a recorded success; it never runs a migration twice), prepare and the cutover; after
 * prepare passed, the cutover alone.
 */
export function remainingStages(record: Pick<DeploymentRecord, "stages">, migration: readonly Stage[], prepare: Stage): Stage[] {
    const prepared = record.stages.some((stage) => stage.name === "prepare" && stage.outcome === "ok");
    return prepared ? cutoverStages() : [...migration, prepare, ...cutoverStages()];
}
