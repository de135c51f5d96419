// What the driver reads from AWS at every poll (both colours' alarms, the listener's weights, the serving colours' targets, requests) and what it does about it.
import { COLOURS } from "../../config";
import type { Colour } from "../../config";
import { ErrorBudget, PollVerdict, judgePoll, judgeWithHealth } from "../guards";
import type { AlarmState } from "../../ports/ports";
import { expectedWeights, rollbackAlarmName, weightProblems } from "../stackView";
import { GateFailed, Paused, RolloutContext } from "./context";

/** One poll's reads and their verdict. */
export interface Reality {
    readonly verdict: PollVerdict;
    readonly alarms: Readonly<Record<Colour, AlarmState | undefined>>;
    /** The candidate's requests since `requestsFrom`, when asked. */
    readonly requests?: number;
}

/** The colours' composite alarm names. */
export function alarmNames(context: RolloutContext): Record<Colour, string> {
    const { outputs, config, record } = context;
    return {
        blue: rollbackAlarmName(outputs, "blue", config.service.name, record.stack),
        green: rollbackAlarmName(outputs, "green", config.service.name, record.stack),
    };
}

/**
 * Reads both alarms, the listener, the target health of each colour that
 * carries traffic and (with `requestsFrom`) the candidate's
 * requests. A failed read returns undefined (no verdict: wait and poll again)
 * until `budget` failures in a row, then throws `GateFailed`: the release can
 * no longer be judged.
 */
export async function readReality(context: RolloutContext, traffic: Record<Colour, number>, budget: ErrorBudget, requestsFrom?: Date): Promise<Reality | undefined> {
    const { deps, outputs, candidate } = context;
    const names = alarmNames(context);
    try {
        const serving = COLOURS.filter((colour) => traffic[colour] > 0);
        const [blue, green, weights, ...healths] = await Promise.all([
            deps.aws.compositeAlarmState(names.blue),
            deps.aws.compositeAlarmState(names.green),
            deps.aws.listenerWeights(outputs.listenerArn),
            ...serving.map((colour) => deps.aws.targetHealth(outputs[colour].targetGroupArn)),
        ]);
        const health = Object.fromEntries(serving.map((colour, index) => [colour, { healthy: healths[index].healthy, desired: context.config[colour].desiredCount }]));
        const requests =
            requestsFrom === undefined
                ? undefined
                : await deps.aws.requestCount({ loadBalancerArnSuffix: outputs.loadBalancerArnSuffix, targetGroupArnSuffix: outputs[candidate].targetGroupArnSuffix, from: requestsFrom, to: deps.clock.now() });
        budget.succeed();
        const alarms = { blue, green };
        const verdict = judgeWithHealth(judgePoll({ alarms, weightProblems: weightProblems(weights, expectedWeights(outputs, traffic)) }, { candidate, alarmNames: names, traffic }), health, traffic);
        return { verdict, alarms, requests };
    } catch (error) {
        if (budget.fail(error)) throw new GateFailed(`cannot judge the release: ${budget.describe()}`);
        deps.reporter.line("poll", `an AWS read failed, no verdict this poll: ${budget.describe()}`);
        return undefined;
    }
}

/** A listener changed outside shiftwise: the driver stops and leaves it as it is. */
export class Stopped extends Paused {}

/**
 * Acts on a verdict that forbids going on: drift stops (never undoes a
 * human's move), the candidate's alarm rolls back, the stable colour's alarm
 * stops. Returns for `ok` and `inconclusive`.
 */
export function actOn(context: RolloutContext, verdict: PollVerdict): void {
    if (verdict.kind === "drift") {
        throw new Stopped(`${verdict.reason}. It was changed outside shiftwise; the driver leaves it as it is and stops`);
    }
    if (verdict.kind === "alarm" && verdict.colour === context.candidate) throw new GateFailed(verdict.reason);
    if (verdict.kind === "alarm") throw new Paused(`${verdict.reason}; the candidate ${context.candidate} is not to blame as far as its alarm shows, so nothing proceeds and nothing is rolled back`);
}

/**
 * Before a step: reads until a verdict (within the error budget, a poll
 * apart) and refuses to go on unless every colour that carries traffic is OK.
 */
export async function requireHealthy(context: RolloutContext, traffic: Record<Colour, number>, where: string): Promise<void> {
    const budget = new ErrorBudget(context.config.rollout.readErrorBudget);
    for (;;) {
        await context.poll(where);
        const reality = await readReality(context, traffic, budget);
        if (reality) {
            actOn(context, reality.verdict);
            if (reality.verdict.kind === "inconclusive") throw new Paused(`${where}: ${reality.verdict.reason}; an inconclusive verdict never promotes`);
            return;
        }
        await context.sleep(context.config.rollout.pollSeconds * 1000);
    }
}
