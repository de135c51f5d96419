// The rollout's last stages: watch the new stable colour at 100 %, optionally scale the old colour down, and record success.
import { effectiveSteps, releasePreviewProblems, beyondPreview } from "../guards";
import type { StepEntry } from "../records";
import { bake } from "./bake";
import { GateFailed, RolloutContext, Stage } from "./context";
import { trafficAt } from "./shift";

/**
 * Watch: after the last step the new stable colour (the candidate, now at
 * 100 %) is judged for `rollout.watchMinutes` more, exactly like a bake
 * without a request minimum; an ALARM rolls back while the old colour is
 * still warm. With `rollout.scaleDownAfterMinutes`, the judging goes on until
 * then, and only then is the old colour scaled to zero.
 */
export const watchStage: Stage = {
    name: "watch",
    async run(context) {
        const { deps, config, record } = context;
        const { watchMinutes, maxBakeMinutes, scaleDownAfterMinutes } = config.rollout;
        const minutes = Math.max(watchMinutes, scaleDownAfterMinutes ?? 0);
        if (minutes === 0) return;
        const watch: StepEntry = { percent: 100, traffic: trafficAt(context, 100), startedAt: deps.clock.now().toISOString() };
        record.watch = watch;
        const plan = { label: "watch", minutes, minRequests: 0, maxMinutes: Math.max(minutes, maxBakeMinutes) };
        await context.stage(`watch ${minutes} min`, () => bake(context, watch, plan), watch);
    },
};

/** Scales the old colour to zero when `rollout.scaleDownAfterMinutes` is set; a failure leaves it warm and is reported, never rolled back. */
export const scaleDownStage: Stage = {
    name: "scale-down",
    async run(context) {
        if (context.config.rollout.scaleDownAfterMinutes === undefined) return;
        await context.stage("scale-down", () => scaleDown(context)).catch(() => undefined);
    },
};

async function scaleDown(context: RolloutContext): Promise<string> {
    const { deps, config, record, stable } = context;
    const desiredCount = config[stable].desiredCount;
    await deps.stack.setConfig({ [`shiftwise:${stable}.desiredCount`]: "0" }, { path: true });
    const scope = { serviceName: config.service.name, candidate: stable, allowSnapshot: false };
    const preview = await deps.stack.preview({ signal: deps.signal });
    const refused = releasePreviewProblems(preview, scope);
    if (refused.length > 0) {
        await deps.stack.setConfig({ [`shiftwise:${stable}.desiredCount`]: String(desiredCount) }, { path: true });
        throw new GateFailed(`refused before the up, ${stable} stays warm: ${refused.join("; ")}`);
    }
    const targets = effectiveSteps(preview).map((change) => change.urn);
    // Recorded before the up: from here on a rollback must scale the old colour up first.
    record.scaledDown = { colour: stable, desiredCount, at: deps.clock.now().toISOString() };
    deps.records.save(record);
    const changes = await deps.stack.up({ targets, signal: deps.signal });
    const problems = beyondPreview(changes, preview);
    if (problems.length > 0) throw new GateFailed(`the scale-down up did more than it previewed: ${problems.join("; ")}`);
    return `${stable} scaled from ${desiredCount} to 0 task(s); a rollback scales it back to ${desiredCount} first`;
}

/** Marks the record succeeded. */
export const finishStage: Stage = {
    name: "finish",
    async run(context) {
        const { record } = context;
        record.status = "succeeded";
        const old = record.scaledDown ? `${context.stable} scaled down (${record.scaledDown.desiredCount} -> 0)` : `${context.stable} stays warm for \`shiftwise rollback\``;
        await context.stage("finish", async () => `${record.version} serves 100% on ${context.candidate}; ${old}`);
        context.finishRecord();
    },
};
