// The rollout's prepare stage: the candidate on the new version at weight 0, healthy and smoke-checked.
import type { StackConfigEntries } from "../../ports/ports";
import { configPatch } from "../configPaths";
import { beyondPreview, effectiveSteps, releasePreviewProblems } from "../guards";
import { applyPatch } from "../rollback";
import { smokeCheckColour, smokeFailures } from "../smoke";
import { DeployRequest, GateFailed, RolloutContext, Stage } from "./context";

/** Applies the release config (the candidate's resources only), waits for health, runs the smoke checks. */
export function prepareStage(request: DeployRequest, release: StackConfigEntries): Stage {
    return {
        name: "prepare",
        run: (context) =>
            context.stage("prepare", async () => {
                const { deps, config, candidate } = context;
                const scope = { serviceName: config.service.name, candidate, allowSnapshot: request.migrationSnapshot ?? false };
                await applyPatch(deps.stack, configPatch(await deps.stack.getAllConfig(), release));
                const preview = await context.interruptible(deps.stack.preview({ signal: deps.signal }));
                const refused = releasePreviewProblems(preview, scope);
                if (refused.length > 0) throw new GateFailed(`refused before the up: ${refused.join("; ")}`);
                const targets = effectiveSteps(preview).map((change) => change.urn);
                // Nothing pending (a resumed release whose up had finished): no up, since an up restricted to no resources would run unrestricted.
                if (targets.length > 0) {
                    const changes = await context.interruptible(deps.stack.up({ targets, signal: deps.signal }));
                    const problems = beyondPreview(changes, preview);
                    if (problems.length > 0) throw new GateFailed(`the release up did more than it previewed: ${problems.join("; ")}`);
                }
                const healthy = await waitHealthy(context, config[candidate].desiredCount, config.rollout.healthyWaitMinutes);
                const passed = await smokeCheck(context, request.smokeBaseUrl);
                return `${candidate} runs ${request.version} at weight 0, ${healthy} healthy target(s), ${passed} smoke check(s) passed`;
            }),
    };
}

/** Polls the candidate's target health until `desired` are healthy; fails after `waitMinutes`. */
export async function waitHealthy(context: RolloutContext, desired: number, waitMinutes: number): Promise<number> {
    const { deps, candidate } = context;
    const deadline = deps.clock.now().getTime() + waitMinutes * 60_000;
    for (;;) {
        await context.poll("prepare");
        const health = await deps.aws.targetHealth(context.outputs[candidate].targetGroupArn);
        if (health.healthy >= desired) return health.healthy;
        deps.reporter.progress(`prepare: ${health.healthy}/${desired} healthy target(s) in ${candidate}`);
        if (deps.clock.now().getTime() >= deadline) {
            throw new GateFailed(`${candidate} has ${health.healthy} of ${desired} healthy target(s) after ${waitMinutes} min (${JSON.stringify(health.byState)})`);
        }
        await context.sleep(deps.healthPollMs ?? 15_000);
    }
}

/** The smoke checks through the test listener; returns how many passed, fails if any did not. */
async function smokeCheck(context: RolloutContext, smokeBaseUrl: string | undefined): Promise<number> {
    const { deps, config, outputs, candidate } = context;
    const baseUrl = smokeBaseUrl ?? outputs.testUrl;
    context.record.probeBaseUrl = baseUrl;
    if (!baseUrl) throw new GateFailed("no testUrl output and no --smoke-base-url: cannot run the smoke checks");
    const results = await smokeCheckColour(deps, config, outputs, { colour: candidate, baseUrl, version: context.record.version });
    const failed = smokeFailures(results);
    if (failed) throw new GateFailed(failed);
    return results.length;
}
