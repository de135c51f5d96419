// The release schedule as data: each phase's candidate weight and its shortest and longest duration, the gates, the detection bound and the totals, a plain function of the config.
import type { StackConfig } from "../config";
import { formatSeconds } from "./exposure";
import { stackExposure } from "./runbook";
import { textTable } from "../rollout/textTable";

/**
 * One phase of a release, in order. Other stages (a database migration, for
 * example) add theirs to the list `schedulePhases` returns before it is laid
 * out by `layOutSchedule`; the text picture and the SVG chart follow.
 */
export interface SchedulePhase {
    /** Short label: `prepare`, `step 25%`. */
    readonly name: string;
    /** The candidate's weight in percent while the phase runs. */
    readonly candidatePercent: number;
    /** Minutes the phase takes when everything is quick (for a step: `bakeMinutes`). */
    readonly shortestMinutes: number;
    /** Minutes it may take before the driver gives up or pauses (for a step: `maxBakeMinutes`). */
    readonly longestMinutes: number;
    /** What must hold for the release to move on after this phase. */
    readonly gate: string;
}

/** A phase placed on the timeline, in minutes from the start of the release. */
export interface ScheduledPhase extends SchedulePhase {
    readonly shortest: { readonly start: number; readonly end: number };
    readonly longest: { readonly start: number; readonly end: number };
}

export interface Schedule {
    readonly phases: readonly ScheduledPhase[];
    readonly totalMinutes: { readonly shortest: number; readonly longest: number };
    /** Worst-case seconds from a step's `up` until a bad release is rolled back (steady failure, and the worst intermittent one). */
    readonly detectionSeconds: { readonly steady: number; readonly worst: number };
    readonly pollSeconds: number;
}

/**
 * The migration's phases, all at weight 0 before `prepare`, when
 * `database.migration` is set (rollout/stages/migrate.ts): the snapshot (the
 * targeted `up`, then reading RDS until it is `available`, at most
 * `timeoutMinutes`), the migration task (at most `timeoutMinutes` from its
 * start), and the stable colour's soak on the new schema.
 */
export function migrationPhases(config: StackConfig): SchedulePhase[] {
    const migration = config.database?.migration;
    if (!migration) return [];
    return [
        {
            name: "snapshot",
            candidatePercent: 0,
            shortestMinutes: 0,
            longestMinutes: migration.timeoutMinutes,
            gate: "the pre-release snapshot is available in RDS and was taken of this database (DbiResourceId)",
        },
        {
            name: "migration",
            candidatePercent: 0,
            shortestMinutes: 0,
            longestMinutes: migration.timeoutMinutes,
            gate: `\`${migration.command.join(" ")}\` exits 0 within ${migration.timeoutMinutes} min`,
        },
        {
            name: "stable soak",
            candidatePercent: 0,
            shortestMinutes: migration.stableSoakMinutes,
            longestMinutes: migration.stableSoakMinutes,
            gate: "the stable colour on the new schema: alarm OK, all targets healthy, smoke paths pass",
        },
    ];
}

/** The phases `shiftwise deploy` walks for this config: the migration's (if any), prepare at weight 0, then one bake per step. */
export function schedulePhases(config: StackConfig): SchedulePhase[] {
    const { rollout } = config;
    const prepare: SchedulePhase = {
        name: "prepare",
        candidatePercent: 0,
        shortestMinutes: 0,
        longestMinutes: rollout.healthyWaitMinutes,
        gate: `${config.service.healthCheckPath}${rollout.smokePaths.length ? ` and ${rollout.smokePaths.join(", ")}` : ""} answer 2xx through the test listener, all targets healthy`,
    };
    const steps = rollout.steps.map(
        (percent): SchedulePhase => ({
            name: `step ${percent}%`,
            candidatePercent: percent,
            shortestMinutes: rollout.bakeMinutes,
            longestMinutes: rollout.maxBakeMinutes,
            gate: `composite alarm not in ALARM, at least ${rollout.minRequestsPerStep} candidate requests`,
        }),
    );
    return [...migrationPhases(config), prepare, ...steps];
}

/** Places `phases` one after another on the shortest and on the longest timeline. */
export function layOutSchedule(config: StackConfig, phases: readonly SchedulePhase[] = schedulePhases(config)): Schedule {
    let shortest = 0;
    let longest = 0;
    const scheduled = phases.map((phase): ScheduledPhase => {
        const placed = {
            ...phase,
            shortest: { start: shortest, end: shortest + phase.shortestMinutes },
            longest: { start: longest, end: longest + phase.longestMinutes },
        };
        shortest += phase.shortestMinutes;
        longest += phase.longestMinutes;
        return placed;
    });
    const exposure = stackExposure(config);
    return {
        phases: scheduled,
        totalMinutes: { shortest, longest },
        detectionSeconds: { steady: exposure.steady.total, worst: exposure.worst.total },
        pollSeconds: config.rollout.pollSeconds,
    };
}

/** Minutes as `1h05m` or `40m`. */
export function formatMinutes(minutes: number): string {
    const hours = Math.floor(minutes / 60);
    const rest = Math.round(minutes % 60);
    return hours === 0 ? `${rest}m` : `${hours}h${String(rest).padStart(2, "0")}m`;
}

const WIDTH = 60;

/**
 * The schedule as a text picture for the terminal: one row per weight, the
 * candidate's weight over the shortest timeline (each step baking
 * `bakeMinutes`), then each phase with its window and gate.
 */
export function renderSchedule(schedule: Schedule): string {
    const { phases, totalMinutes, detectionSeconds } = schedule;
    const total = Math.max(1, totalMinutes.shortest);
    const column = (minutes: number) => Math.round((minutes / total) * WIDTH);
    const levels = [...new Set(phases.map((phase) => phase.candidatePercent))].filter((percent) => percent > 0).sort((a, b) => b - a);
    const lines = [
        `Schedule (candidate weight over time; shortest ${formatMinutes(totalMinutes.shortest)}, longest ${formatMinutes(totalMinutes.longest)} before a pause)`,
    ];
    for (const level of levels) {
        let row = "";
        for (const phase of phases) {
            const width = column(phase.shortest.end) - column(phase.shortest.start);
            row += (phase.candidatePercent === level ? "█" : " ").repeat(width);
        }
        lines.push(`  ${`${level}%`.padStart(4)} |${row.padEnd(WIDTH)}|`);
    }
    const axis = `0${formatMinutes(total).padStart(WIDTH)}`;
    lines.push(`       +${"-".repeat(WIDTH)}+`, `        ${axis}`);
    const rows = phases.map((phase) => [
        phase.name,
        `${phase.candidatePercent}%`,
        `${formatMinutes(phase.shortest.start)}-${formatMinutes(phase.shortest.end)} (longest ${formatMinutes(phase.longest.start)}-${formatMinutes(phase.longest.end)})`,
        `gate: ${phase.gate}`,
    ]);
    lines.push(...textTable([], rows, "  ", ["left", "right"]));
    lines.push(
        `  detection: a bad release is rolled back at most ${formatSeconds(detectionSeconds.worst)} after a step's up (${formatSeconds(detectionSeconds.steady)} when every minute breaches)`,
    );
    return lines.join("\n");
}
