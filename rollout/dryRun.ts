// `shiftwise deploy --dry-run`: the whole pre-flight against the real stack and AWS as a go/no-go table with the schedule; it changes nothing.
import type { StackConfig } from "../config";
import { ConfigError, otherColour, stableColour } from "../config";
import { ExitCode, ExitCodeValue } from "./exitCodes";
import { DeployRequest, DriverDeps, Refused } from "./stages/context";
import { PreflightCheck, runPreflight } from "./stages/preflight";
import { textTable } from "./textTable";
import { shiftwiseConfig } from "./stackView";
import { migrationPhases } from "../plan/schedule";

/**
 * A dry run is pre-flight with every check collected (`collectAll`): the
 * stack config and outputs, both colours' alarms and the stable colour's
 * health in AWS, the checkpoint preview and the release preview (from a
 * temporary copy of the stack file). It writes no stack config, runs no `up`,
 * writes no record and takes no lease; the caller passes no ledger.
 */

/** One line of the schedule a deployment would follow. */
export interface ScheduleEntry {
    readonly stage: string;
    /** What happens, in words. */
    readonly what: string;
    /** Least and most minutes the stage waits (bakes, health waits, the watch). */
    readonly minMinutes: number;
    readonly maxMinutes: number;
}

/** What `deploy --dry-run` reports. */
export interface DryRunReport {
    readonly stack: string;
    readonly version: string;
    readonly image: string;
    /** True when every check passed: a deployment now would start. */
    readonly go: boolean;
    /** 0 go, 3 no-go, 2 invalid config or flags (see exitCodes.ts). */
    readonly exitCode: ExitCodeValue;
    readonly checks: readonly PreflightCheck[];
    /** Empty when the stack config is invalid. */
    readonly schedule: readonly ScheduleEntry[];
    readonly problems: readonly string[];
}

/** The stages a deployment of `config` walks through, with their waits; `maintenance` is `deploy --maintenance`'s reason. */
export function deploySchedule(config: StackConfig, candidate: string, version: string, maintenance?: string): ScheduleEntry[] {
    const { steps, bakeMinutes, maxBakeMinutes, minRequestsPerStep, healthyWaitMinutes, smokePaths, watchMinutes, scaleDownAfterMinutes } = config.rollout;
    const prepare: ScheduleEntry = {
        stage: "prepare",
        what: `${candidate} on ${version} at weight 0, up to ${healthyWaitMinutes} min for ${config[candidate as "blue" | "green"].desiredCount} healthy target(s), then ${1 + smokePaths.length} smoke check(s)${maintenance !== undefined ? " through the test listener, which reaches both colours while the page is up" : ""}`,
        minMinutes: 0,
        maxMinutes: healthyWaitMinutes,
    };
    const schedule: ScheduleEntry[] = [{ stage: "checkpoint", what: "record the stack config, outputs and versions", minMinutes: 0, maxMinutes: 0 }];
    const phases = migrationPhases(config).map((phase) => ({ stage: phase.name, what: `${candidate} still at weight 0; gate: ${phase.gate}`, minMinutes: phase.shortestMinutes, maxMinutes: phase.longestMinutes }));
    if (maintenance !== undefined && config.database?.migration) {
        schedule.push(...maintenanceWindow(config, candidate, maintenance, phases, prepare));
    } else {
        schedule.push(...phases, prepare);
        for (const percent of steps) {
            schedule.push({ stage: `shift ${percent}%`, what: `one listener update to ${candidate} ${percent}%, then bake ${bakeMinutes} min and >= ${minRequestsPerStep} requests (pause after ${maxBakeMinutes} min without them)`, minMinutes: bakeMinutes, maxMinutes: maxBakeMinutes });
        }
    }
    schedule.push({ stage: "watch", what: `judge ${candidate} at 100% for ${watchMinutes} min before success`, minMinutes: watchMinutes, maxMinutes: watchMinutes });
    if (scaleDownAfterMinutes !== undefined) schedule.push({ stage: "scale down", what: `the old colour to 0 tasks ${scaleDownAfterMinutes} min after success`, minMinutes: 0, maxMinutes: 0 });
    return schedule;
}

/**
 * `deploy --maintenance`: the snapshot, the page up, the migration, no stable soak, prepare behind the page, one step
 * to 100 %, the page down and its bake. The page is up at most the migration's timeout plus prepare's health wait.
 */
function maintenanceWindow(config: StackConfig, candidate: string, reason: string, phases: readonly ScheduleEntry[], prepare: ScheduleEntry): ScheduleEntry[] {
    const { bakeMinutes, maxBakeMinutes, minRequestsPerStep } = config.rollout;
    const [snapshot, migration] = phases;
    const pageMinutes = migration.maxMinutes + prepare.maxMinutes;
    return [
        snapshot,
        { stage: "maintenance on", what: `MAINTENANCE WINDOW starts: one listener update; users get 503 with the page (${reason.trim()}) for up to ${pageMinutes} min (the migration's timeout and prepare's health wait)`, minMinutes: 0, maxMinutes: 0 },
        migration,
        { stage: "stable soak", what: "skipped: the old colour is not expected to work on a schema that is not backwards compatible", minMinutes: 0, maxMinutes: 0 },
        prepare,
        { stage: "shift 100%", what: `shiftwise:traffic to ${candidate} 100% in one step behind the page (no mix: the old colour cannot serve the new schema); no resource changes`, minMinutes: 0, maxMinutes: 0 },
        { stage: "maintenance off", what: `MAINTENANCE WINDOW ends: one listener update; ${candidate} serves 100%`, minMinutes: 0, maxMinutes: 0 },
        { stage: "bake 100%", what: `bake ${bakeMinutes} min and >= ${minRequestsPerStep} requests (pause after ${maxBakeMinutes} min without them); a failure puts the page back up`, minMinutes: bakeMinutes, maxMinutes: maxBakeMinutes },
    ];
}

/** Runs the dry run. Errors that are not a refusal (the stack cannot be read) propagate. */
export async function dryRun(deps: DriverDeps, request: DeployRequest): Promise<DryRunReport> {
    const checks: PreflightCheck[] = [];
    let problems: readonly string[] = [];
    let exitCode: ExitCodeValue = ExitCode.success;
    let candidate: string | undefined;
    try {
        const preflight = await runPreflight(deps, { ...request, confirm: undefined }, { collectAll: true, onCheck: (check) => checks.push(check) });
        candidate = preflight.record.candidate;
    } catch (error) {
        if (!(error instanceof Refused)) throw error;
        problems = error.problems;
        exitCode = error.exitCode;
    }
    let schedule: ScheduleEntry[] = [];
    try {
        const config = shiftwiseConfig(await deps.stack.getAllConfig());
        candidate ??= otherColour(stableColour(config.traffic, config.releaseColour));
        schedule = deploySchedule(config, candidate, request.version, request.maintenance);
    } catch (error) {
        if (!(error instanceof ConfigError)) throw error;
    }
    return { stack: deps.stack.stackName, version: request.version, image: request.image, go: exitCode === ExitCode.success, exitCode, checks, schedule, problems };
}

/** The go/no-go table for people. */
export function renderDryRun(report: DryRunReport): string {
    const lines = [`shiftwise deploy --dry-run: ${report.stack} ${report.version} (${report.image}); nothing was changed`, ""];
    lines.push(...textTable(["check", "result", "evidence"], report.checks.map((check) => [check.check, check.ok ? "ok" : "FAIL", check.evidence])));
    if (report.schedule.length > 0) {
        const least = report.schedule.reduce((sum, entry) => sum + entry.minMinutes, 0);
        const most = report.schedule.reduce((sum, entry) => sum + entry.maxMinutes, 0);
        lines.push("", `schedule (${least}-${most} min of waiting):`);
        for (const entry of report.schedule) lines.push(`  ${entry.stage}: ${entry.what}`);
    }
    lines.push("", report.go ? "GO: every pre-flight check passed" : `NO-GO (exit ${report.exitCode}):\n  - ${report.problems.join("\n  - ")}`);
    return `${lines.join("\n")}\n`;
}
