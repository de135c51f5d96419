// The rollout's bake: polls one step until it has baked long enough on enough traffic, or fails its gates.
import type { StepEntry } from "../records";
import { rollbackAlarmName } from "../stackView";
import { GateFailed, Paused, RolloutContext } from "./context";

/** Polls the candidate's composite alarm until bakeMinutes passed and minRequestsPerStep were served. */
export async function bake(context: RolloutContext, step: StepEntry): Promise<string> {
    const { deps, config, record, outputs, candidate } = context;
    const { bakeMinutes, maxBakeMinutes, minRequestsPerStep, pollSeconds } = config.rollout;
    const alarmName = rollbackAlarmName(outputs, candidate, config.service.name, record.stack);
    const from = deps.clock.now();
    step.polls = 0;
    for (;;) {
        await context.poll(`bake ${step.percent}%`);
        const state = await deps.aws.compositeAlarmState(alarmName);
        step.polls += 1;
        step.lastAlarmState = state;
        if (state === "ALARM" || state === undefined) {
            step.outcome = "alarm";
            throw new GateFailed(`${alarmName} is ${state ?? "missing"} at ${step.percent}%`);
        }
        const now = deps.clock.now();
        step.requests = await deps.aws.requestCount({
            loadBalancerArnSuffix: outputs.loadBalancerArnSuffix,
            targetGroupArnSuffix: outputs[candidate].targetGroupArnSuffix,
            from,
            to: now,
        });
        const minutes = (now.getTime() - from.getTime()) / 60_000;
        const promoted = await endedEarly(context, step, state, minutes);
        if (promoted) return promoted;
        deps.reporter.progress(`bake ${step.percent}%: ${minutes.toFixed(1)}/${bakeMinutes} min, ${step.requests}/${minRequestsPerStep} requests, alarm ${state}`);
        if (minutes >= bakeMinutes && step.requests >= minRequestsPerStep) {
            step.outcome = "promoted";
            step.finishedAt = now.toISOString();
            return `${minutes.toFixed(1)} min, ${step.requests} requests, ${step.polls} polls, alarm ${state}`;
        }
        if (minutes >= maxBakeMinutes) {
            step.outcome = "low-traffic";
            step.finishedAt = now.toISOString();
            record.pause = { afterPercent: step.percent, reason: `only ${step.requests} of ${minRequestsPerStep} requests in ${maxBakeMinutes} min`, at: now.toISOString() };
            throw new Paused(`paused at ${step.percent}%: ${record.pause.reason} (rollout.maxBakeMinutes); too little traffic to judge the release`);
        }
        await context.sleep(pollSeconds * 1000);
    }
}

/** Ends the bake now when a promote request is pending and this poll's verdict is OK; never on ALARM or missing data. */
async function endedEarly(context: RolloutContext, step: StepEntry, state: string, minutes: number): Promise<string | undefined> {
    const promotion = context.promotion;
    if (!promotion || state !== "OK") return undefined;
    context.promotion = undefined;
    const detail = `bake of ${step.percent}% ended after ${minutes.toFixed(1)} min and ${step.requests} requests, as ${promotion.by} asked: ${promotion.reason}`;
    await promotion.accept(detail);
    step.outcome = "promoted";
    step.endedEarly = { by: promotion.by, reason: promotion.reason };
    step.finishedAt = context.deps.clock.now().toISOString();
    return detail;
}
