// The rollout's shift stage: each weight step, applied as a listener-only update, verified in AWS and baked.
import type { Colour } from "../../config";
import { trafficPaths } from "../configPaths";
import { listenerOnlyProblems } from "../guards";
import type { StepEntry } from "../records";
import { verifyWeights } from "../rollback";
import { bake } from "./bake";
import { GateFailed, Paused, RolloutContext, Stage } from "./context";

/** Every step of `rollout.steps` from `fromIndex` on, each followed by its bake. */
export function shiftStage(fromIndex: number): Stage {
    return {
        name: "shift",
        async run(context) {
            const { deps, config, record } = context;
            const steps = config.rollout.steps;
            for (let index = fromIndex; index < steps.length; index++) {
                const percent = steps[index];
                const step = await applyStep(context, percent);
                await context.stage(`bake ${percent}%`, () => bake(context, step), step);
                if (record.pauseAt === percent && index < steps.length - 1) {
                    step.outcome = "paused";
                    record.pause = { afterPercent: percent, reason: `--pause-at ${percent}`, at: deps.clock.now().toISOString() };
                    throw new Paused(`paused after ${percent}% as asked (--pause-at ${percent})`);
                }
            }
        },
    };
}

/** The index of the first step after `percent`, or the number of steps when none is left. */
export function nextStepIndex(steps: readonly number[], percent: number): number {
    const next = steps.findIndex((step) => step > percent);
    return next < 0 ? steps.length : next;
}

/** Sets `shiftwise:traffic`, runs the up, checks it changed only the listener and that AWS shows the weights. */
async function applyStep(context: RolloutContext, percent: number): Promise<StepEntry> {
    const { deps, record, candidate, stable, outputs } = context;
    const traffic = { [candidate]: percent, [stable]: 100 - percent } as Record<Colour, number>;
    const step: StepEntry = { percent, traffic, startedAt: deps.clock.now().toISOString() };
    record.steps.push(step);
    await context.stage(
        `shift ${percent}%`,
        async () => {
            context.checkInterrupt();
            await deps.stack.setConfig(trafficPaths(traffic), { path: true });
            const changes = await context.interruptible(deps.stack.up().catch((error) => Promise.reject(new GateFailed(`pulumi up failed at ${percent}%: ${(error as Error).message}`))));
            const problems = listenerOnlyProblems(changes, outputs.listenerArn);
            if (problems.length > 0) {
                step.outcome = "failed";
                throw new GateFailed(`step ${percent}%: ${problems.join("; ")}`);
            }
            const weightIssues = await verifyWeights(deps.aws, deps.clock, outputs, traffic);
            if (weightIssues.length > 0) {
                step.outcome = "failed";
                throw new GateFailed(`step ${percent}%: the weights did not take effect: ${weightIssues.join("; ")}`);
            }
            return `listener updated (only resource changed), AWS shows ${candidate} ${percent}%`;
        },
        step,
    );
    return step;
}
