// The rollout's bake: polls one step (or the watch at 100 %) until it is judged long enough on enough traffic, or fails its gates.
import { ErrorBudget } from "../guards";
import type { StepEntry } from "../records";
import { GateFailed, Paused, RolloutContext } from "./context";
import { Prober } from "./probes";
import { Stopped, actOn, readReality } from "./reality";

/** How long and on how much traffic a bake judges. */
export interface BakePlan {
    /** For messages and the poll checks: `bake 25%`, `watch`. */
    readonly label: string;
    readonly minutes: number;
    readonly minRequests: number;
    /** After this long without a pass, the bake pauses (too little traffic or no data). */
    readonly maxMinutes: number;
}

/** The bake of one step from `rollout`. */
export function stepBakePlan(context: RolloutContext, percent: number): BakePlan {
    const { bakeMinutes, maxBakeMinutes, minRequestsPerStep } = context.config.rollout;
    return { label: `bake ${percent}%`, minutes: bakeMinutes, minRequests: minRequestsPerStep, maxMinutes: maxBakeMinutes };
}

/**
 * Judges `step` until `plan.minutes` passed and `plan.minRequests` were served
 * with every colour that carries traffic OK at the last poll. Every poll
 * re-reads both colours' alarms, the listener's weights and the requests;
 * the candidate is probed through the test path in between.
 */
export async function bake(context: RolloutContext, step: StepEntry, plan: BakePlan): Promise<string> {
    const { deps, config, record, candidate } = context;
    const { pollSeconds, readErrorBudget, probe } = config.rollout;
    const from = deps.clock.now();
    const budget = new ErrorBudget(readErrorBudget);
    const prober = new Prober(context, plan.label);
    let nextRead = from.getTime();
    step.polls = 0;
    for (;;) {
        context.checkInterrupt();
        await prober.maybeProbe().catch((error) => settle(context, step, "probe-failed", error));
        const now = deps.clock.now();
        if (now.getTime() >= nextRead) {
            // A poll: the poll checks (lease, requests), then the reads; probes alone run in between.
            await context.poll(plan.label);
            nextRead = now.getTime() + pollSeconds * 1000;
            const reality = await readReality(context, step.traffic, budget, from).catch((error) => settle(context, step, "failed", error));
            if (reality) {
                step.polls += 1;
                step.lastAlarmState = reality.alarms[candidate];
                step.requests = reality.requests ?? 0;
                try {
                    actOn(context, reality.verdict);
                } catch (error) {
                    settle(context, step, error instanceof Stopped ? "stopped" : error instanceof Paused ? "stable-alarm" : "alarm", error);
                }
                const minutes = (now.getTime() - from.getTime()) / 60_000;
                const promoted = await endedEarly(context, step, reality.verdict.kind === "ok" ? "OK" : reality.verdict.kind, minutes);
                if (promoted) return promoted;
                const verdict = reality.verdict.kind === "inconclusive" ? `inconclusive (${reality.verdict.reason})` : reality.verdict.kind;
                deps.reporter.progress(`${plan.label}: ${minutes.toFixed(1)}/${plan.minutes} min, ${step.requests}/${plan.minRequests} requests, ${verdict}, ${prober.describe()}`);
                if (reality.verdict.kind === "ok" && minutes >= plan.minutes && step.requests >= plan.minRequests) {
                    step.outcome = "promoted";
                    step.finishedAt = now.toISOString();
                    return `${minutes.toFixed(1)} min, ${step.requests} requests, ${step.polls} polls, alarms blue ${reality.alarms.blue}, green ${reality.alarms.green}, ${prober.describe()}`;
                }
                if (minutes >= plan.maxMinutes) {
                    const lowTraffic = step.requests < plan.minRequests;
                    step.outcome = lowTraffic ? "low-traffic" : "inconclusive";
                    step.finishedAt = now.toISOString();
                    const reason = lowTraffic ? `only ${step.requests} of ${plan.minRequests} requests in ${plan.maxMinutes} min` : `no conclusive verdict in ${plan.maxMinutes} min: ${verdict}`;
                    record.pause = { afterPercent: step.percent, reason, at: now.toISOString() };
                    throw new Paused(`paused at ${step.percent}%: ${reason} (rollout.maxBakeMinutes); ${lowTraffic ? "too little traffic" : "too little data"} to judge the release`);
                }
            }
        }
        await context.sleep(Math.min(pollSeconds, probe.everySeconds) * 1000);
    }
}

/** Ends the bake now when a promote request is pending and this poll's verdict is OK; never on ALARM or missing data. */
async function endedEarly(context: RolloutContext, step: StepEntry, state: string, minutes: number): Promise<string | undefined> {
    const promotion = context.promotion;
    if (!promotion || state !== "OK") return undefined;
    context.promotion = undefined;
    const detail = `bake of ${step.percent}% ended after ${minutes.toFixed(1)} min and ${step.requests} requests, as ${promotion.by} asked: ${promotion.reason}`;
    if (!(await promotion.accept(detail))) return undefined;
    step.outcome = "promoted";
    step.endedEarly = { by: promotion.by, reason: promotion.reason };
    step.finishedAt = context.deps.clock.now().toISOString();
    return detail;
}

/** Records why the step ended (and, for a pause, where and why) and rethrows. */
function settle(context: RolloutContext, step: StepEntry, outcome: NonNullable<StepEntry["outcome"]>, error: unknown): never {
    if (!(error instanceof GateFailed || error instanceof Paused)) throw error;
    step.outcome = outcome;
    const at = context.deps.clock.now().toISOString();
    step.finishedAt = at;
    if (error instanceof Paused) context.record.pause = { afterPercent: step.percent, reason: error.message, at };
    throw error;
}
