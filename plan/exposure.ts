// The worst-case exposure of a bad release: how long and how much traffic before a rollback.
/**
 * The worst-case exposure of a bad release: the longest time from a step's
 * `up` to the start of its rollback, and the share of traffic the bad version
 * serves meanwhile. Pure, so the plan, the bench and the tests agree.
 */

/** CloudWatch period of every shiftwise alarm, in seconds. */
export const ALARM_PERIOD_SECONDS = 60;

/** How late ALB per-minute metrics reach CloudWatch and are evaluated, in seconds (AWS documents about a minute). */
export const METRIC_DELAY_SECONDS = 60;

export interface ExposureInputs {
    /** Candidate weights in percent, one per step (`rollout.steps`). */
    readonly steps: readonly number[];
    /** `alarms.evaluationPeriods`: the periods an alarm looks at. */
    readonly evaluationPeriods: number;
    /** `alarms.datapointsToAlarm`: breaching periods among them that raise the alarm. */
    readonly datapointsToAlarm: number;
    /** `rollout.pollSeconds`: how often the driver reads the candidate's composite alarm. */
    readonly pollSeconds: number;
    /** @default 60 */
    readonly alarmPeriodSeconds?: number;
    /** @default 60 */
    readonly metricDelaySeconds?: number;
}

/** The terms of the bound, in seconds, so people can see where the time goes. */
export interface DetectionBound {
    /** Until the first whole period in which the bad version serves: up to one period. */
    readonly firstFullPeriod: number;
    /** The breaching periods the alarm needs: `datapointsToAlarm` for a steady failure, `evaluationPeriods` at worst (intermittent failure). */
    readonly breachingPeriods: number;
    readonly metricDelay: number;
    /** Until the driver's next poll sees the ALARM. */
    readonly poll: number;
    /** The sum: from the step's `up` to the start of the rollback. */
    readonly total: number;
}

export interface StepExposure {
    readonly percent: number;
    /** Seconds from this step's `up` to the rollback, worst case. */
    readonly seconds: number;
    /** Percent of all traffic times minutes: 5 % for 4.5 min is 22.5 percent-minutes (0.225 minutes of full traffic). */
    readonly percentMinutes: number;
}

export interface Exposure {
    /** A bad release that fails steadily (every period breaches). */
    readonly steady: DetectionBound;
    /** The worst case: a release that breaches only `datapointsToAlarm` of every `evaluationPeriods` periods. */
    readonly worst: DetectionBound;
    /** Per step, using the worst bound. */
    readonly steps: readonly StepExposure[];
}

/** The detection bound for a failure that needs `breaching` whole periods before the alarm fires. */
export function detectionBound(breaching: number, inputs: ExposureInputs): DetectionBound {
    const period = inputs.alarmPeriodSeconds ?? ALARM_PERIOD_SECONDS;
    const metricDelay = inputs.metricDelaySeconds ?? METRIC_DELAY_SECONDS;
    const bound = { firstFullPeriod: period, breachingPeriods: breaching * period, metricDelay, poll: inputs.pollSeconds };
    return { ...bound, total: bound.firstFullPeriod + bound.breachingPeriods + bound.metricDelay + bound.poll };
}

/** The worst-case exposure of every step. */
export function worstCaseExposure(inputs: ExposureInputs): Exposure {
    if (inputs.datapointsToAlarm > inputs.evaluationPeriods) {
        throw new RangeError(`datapointsToAlarm (${inputs.datapointsToAlarm}) must be at most evaluationPeriods (${inputs.evaluationPeriods})`);
    }
    const steady = detectionBound(inputs.datapointsToAlarm, inputs);
    const worst = detectionBound(inputs.evaluationPeriods, inputs);
    return {
        steady,
        worst,
        steps: inputs.steps.map((percent) => ({ percent, seconds: worst.total, percentMinutes: round((percent * worst.total) / 60) })),
    };
}

/** Seconds as `4m30s`. */
export function formatSeconds(seconds: number): string {
    const minutes = Math.floor(seconds / 60);
    const rest = Math.round(seconds % 60);
    return minutes === 0 ? `${rest}s` : rest === 0 ? `${minutes}m` : `${minutes}m${rest}s`;
}

function round(value: number): number {
    return Math.round(value * 100) / 100;
}

/** The probe settings (`rollout.probe`) the probe bound needs. */
export interface ProbeInputs {
    /** Paths probed each round. */
    readonly paths: number;
    readonly everySeconds: number;
    /** Failed probes a step tolerates; one more rolls back. */
    readonly failureBudget: number;
}

/**
 * The exposure bound of a release that fails its probe paths outright: the
 * rollback starts after `failureBudget + 1` failed probes, `paths` of them per
 * round, so at most that many rounds of `everySeconds` after the failure
 * begins. It does not wait for the alarms' periods.
 */
export function probeExposureSeconds(inputs: ProbeInputs): number {
    const rounds = Math.ceil((inputs.failureBudget + 1) / Math.max(1, inputs.paths));
    return rounds * inputs.everySeconds;
}
