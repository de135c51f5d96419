// The rollout's shift stage: each weight step, previewed, applied to the listener alone, verified in AWS and baked.
import type { Colour } from "../../config";
import { trafficPaths } from "../configPaths";
import { describeWindow, activeFreezeWindow } from "../freeze";
import { beyondPreview, effectiveSteps, listenerOnlyProblems } from "../guards";
import type { StepEntry } from "../records";
import { verifyWeights } from "../rollback";
import { bake, stepBakePlan } from "./bake";
import { GateFailed, Paused, RolloutContext, Stage } from "./context";
import { requireHealthy } from "./reality";

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
                await context.stage(`bake ${percent}%`, () => bake(context, step, stepBakePlan(context, percent)), step);
                if (record.pauseAt === percent && index < steps.length - 1) {
                    step.outcome = "paused";
                    record.pause = { afterPercent: percent, reason: `--pause-at ${percent}`, at: deps.clock.now().toISOString() };
                    throw new Paused(`paused after ${percent}% as asked (--pause-at ${percent})`);
                }
            }
        },
    };
}

/** Re-judges the step a deployment paused on (for `resume`): a fresh bake at its weight, nothing applied. */
export function rejudgeStage(percent: number): Stage {
    return {
        name: `re-judge ${percent}%`,
        async run(context) {
            const { deps, record } = context;
            const step: StepEntry = { percent, traffic: trafficAt(context, percent), startedAt: deps.clock.now().toISOString() };
            record.steps.push(step);
            await context.stage(`re-judge ${percent}%`, () => bake(context, step, stepBakePlan(context, percent)), step);
        },
    };
}

/** The index of the first step after `percent`, or the number of steps when none is left. */
export function nextStepIndex(steps: readonly number[], percent: number): number {
    const next = steps.findIndex((step) => step > percent);
    return next < 0 ? steps.length : next;
}

/** The weights with the candidate at `percent`. */
export function trafficAt(context: RolloutContext, percent: number): Record<Colour, number> {
    return { [context.candidate]: percent, [context.stable]: 100 - percent } as Record<Colour, number>;
}

/**
 * One step: refuses inside a freeze window (without --hotfix) or while a
 * colour that carries traffic is not OK; sets `shiftwise:traffic`; previews
 * and refuses unless only the forwarding listener would change; runs the up
 * restricted to the previewed listener; checks the engine's events again and
 * that AWS shows the weights.
 */
async function applyStep(context: RolloutContext, percent: number): Promise<StepEntry> {
    const { deps, record, outputs, candidate } = context;
    const traffic = trafficAt(context, percent);
    const step: StepEntry = { percent, traffic, startedAt: deps.clock.now().toISOString() };
    const current = context.config.traffic;
    await context.stage(
        `shift ${percent}%`,
        async () => {
            context.checkInterrupt();
            refuseInFreeze(context, percent);
            await requireHealthy(context, lastTraffic(context) ?? current, `before the ${percent}% step`);
            record.steps.push(step);
            // On disk before the stack file changes: a process killed from here on leaves a record that names this step.
            deps.records.save(record);
            await deps.stack.setConfig(trafficPaths(traffic), { path: true });
            const preview = await context.interruptible(deps.stack.preview({ signal: deps.signal }));
            const refused = listenerOnlyProblems(preview, outputs.listenerArn);
            if (refused.length > 0) throw new GateFailed(`step ${percent}%: refused before the up: ${refused.join("; ")}`);
            const targets = effectiveSteps(preview).map((change) => change.urn);
            const changes = await context.interruptible(deps.stack.up({ targets, signal: deps.signal }).catch((error) => Promise.reject(new GateFailed(`pulumi up failed at ${percent}%: ${(error as Error).message}`))));
            const problems = [...listenerOnlyProblems(changes, outputs.listenerArn), ...beyondPreview(changes, preview)];
            if (problems.length > 0) throw new GateFailed(`step ${percent}%: the up did more than it previewed: ${problems.join("; ")}`);
            const weightIssues = await verifyWeights(deps.aws, deps.clock, outputs, traffic);
            if (weightIssues.length > 0) throw new GateFailed(`step ${percent}%: the weights did not take effect: ${weightIssues.join("; ")}`);
            return `listener updated (only resource changed), AWS shows ${candidate} ${percent}%`;
        },
        step,
    );
    return step;
}

/**
 * The weights of the last step applied, if any. A step its runner died in
 * (`interrupted`, see recover.ts) may never have reached AWS, so it does not
 * count: a resume re-judges the live step, or starts again from 0 %.
 */
function lastTraffic(context: RolloutContext): Record<Colour, number> | undefined {
    return context.record.steps.filter((step) => step.outcome !== "interrupted").at(-1)?.traffic;
}

/** A release does not walk into a freeze window unless it carries a --hotfix reason. */
export function refuseInFreeze(context: RolloutContext, percent: number): void {
    const window = activeFreezeWindow(context.config.rollout.freezeWindows, context.deps.clock.now());
    if (!window || context.record.hotfix) return;
    const at = context.deps.clock.now().toISOString();
    const last = lastTraffic(context);
    context.record.pause = { afterPercent: last?.[context.candidate] ?? 0, reason: `freeze window ${describeWindow(window)} began`, at };
    throw new Paused(`the freeze window ${describeWindow(window)} began before the ${percent}% step; the release stays where it is. Resume after the window, or with --hotfix "<reason>"`);
}
