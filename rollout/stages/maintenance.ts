// The stages of a `deploy --maintenance` release: the page up before the migration, no stable soak, the cutover to 100 % behind the page, the page down, the bake.
import { trafficPaths } from "../configPaths";
import { ExitCode } from "../exitCodes";
import { describeSteps, effectiveSteps } from "../guards";
import { setMaintenance } from "../maintenance";
import { PAGE_ACTION, awaitListenerAction } from "../maintenanceHold";
import { MaintenancePageChange, StepEntry, startedBy } from "../records";
import { silentReporter } from "../reporter";
import { verifyWeights } from "../rollback";
import { bake, stepBakePlan } from "./bake";
import { GateFailed, RolloutContext, Stage } from "./context";
import { trafficAt } from "./shift";

/**
 * For the rare migration that cannot be backwards compatible, the old colour
 * cannot serve the new schema, so the users see a maintenance page while the
 * schema changes, instead of a broken old version:
 *  1. `maintenance on`, after the snapshot and before the migration: one
 *     previewed, listener-only update (as `shiftwise maintenance on`), then
 *     AWS must answer with the page;
 *  2. `stable soak` is skipped and says why in the record: the old colour is
 *     not expected to work on the new schema;
 *  3. `prepare` (unchanged): the candidate at weight 0, healthy, smoke-checked
 *     through the test listener, which reaches both colours while the page is up;
 *  4. `shift 100%`: `shiftwise:traffic` goes straight to the candidate at
 *     100 %. A step onto a mix would send part of the users to the old colour
 *     on the new schema, so there is one step. The page carries no weights, so
 *     this changes no resource (the preview must show none);
 *  5. `maintenance off`: one listener-only update takes the page down and
 *     forwards by those weights, read back from AWS;
 *  6. `bake 100%`, then the usual watch and finish.
 * From the migration on, a failure holds the release behind the page
 * (rollout/maintenanceHold.ts) instead of restoring the old colour's traffic.
 */

/** The stage names a maintenance release runs after the migration, in order (prepare is prepare.ts's). */
export const CUTOVER_STAGES = ["shift 100%", "maintenance off", "bake 100%"] as const;

function pageChange(context: RolloutContext, changed: readonly string[] | undefined): MaintenancePageChange {
    return { at: context.deps.clock.now().toISOString(), changed: [...(changed ?? [])] };
}

/** Sets the page as asked through `setMaintenance` (its entry goes to `records/<stack>/maintenance`); throws `GateFailed` when it did not apply. */
async function switchPage(context: RolloutContext, enabled: boolean): Promise<readonly string[]> {
    const { deps, record } = context;
    const outcome = await setMaintenance(
        { stack: deps.stack, clock: deps.clock, reporter: silentReporter, recordsDir: deps.records.dir, by: startedBy(deps.env ?? {}) },
        { enabled, reason: record.maintenance!.reason },
    );
    if (outcome.exitCode !== ExitCode.success) throw new GateFailed(`the maintenance page did not ${enabled ? "go up" : "come down"}: ${outcome.message}`);
    return outcome.entry.changed ?? [];
}

/** 1. The page goes up; the migration runs only once AWS answers with it. */
export const pageOnStage: Stage = {
    name: "maintenance on",
    run: (context) =>
        context.stage("maintenance on", async () => {
            const { deps, record, outputs } = context;
            const changed = await switchPage(context, true);
            const action = await awaitListenerAction(deps.aws, deps.clock, outputs.listenerArn, PAGE_ACTION);
            if (action !== PAGE_ACTION) throw new GateFailed(`the listener in AWS still answers with ${action} after the maintenance update; the migration did not run`);
            record.maintenance!.on = pageChange(context, changed);
            deps.records.save(record);
            return `the service answers 503 with the maintenance page (${record.maintenance!.reason}), read back from AWS; ${changed.length} resource(s) changed: ${changed.join("; ") || "none (already up)"}; the test listener still reaches both colours`;
        }),
};

/** 2. No stable soak: the old colour is not expected to work on the new schema, and it serves nobody behind the page. */
export const skippedSoakStage: Stage = {
    name: "stable soak",
    run: (context) =>
        context.stage("stable soak", async () => {
            const { record, stable } = context;
            const why = `skipped: deploy --maintenance is for a migration that is not backwards compatible, so ${stable} (${record.checkpoint.versions[stable]}) is not expected to work on the new schema; it serves nobody while the page is up, and it takes no traffic again unless the schema is restored`;
            record.stableSoak = { colour: stable, minutes: 0, polls: 0, outcome: "skipped", problem: why };
            return why;
        }),
};

/** The record's one step, made when the cutover starts and shared by the stages after it. */
interface Cutover {
    step?: StepEntry;
}

/** 4. `shiftwise:traffic` straight to the candidate at 100 %, with the page still up in AWS; no resource changes. */
function cutoverStage(cutover: Cutover): Stage {
    return {
        name: "shift 100%",
        run: (context) => {
            const step: StepEntry = { percent: 100, traffic: trafficAt(context, 100), startedAt: context.deps.clock.now().toISOString() };
            cutover.step = step;
            return context.stage(
                "shift 100%",
                async () => {
                    const { deps, record, outputs, candidate, stable } = context;
                    context.checkInterrupt();
                    // Reality: with the page down, writing these weights would route every user at once.
                    const action = await deps.aws.listenerAction(outputs.listenerArn);
                    if (action !== PAGE_ACTION) throw new GateFailed(`the maintenance page is not up in AWS (the listener answers with ${action}): someone took it down; the cutover was not made`);
                    record.steps.push(step);
                    deps.records.save(record);
                    await deps.stack.setConfig(trafficPaths(step.traffic), { path: true });
                    const preview = await context.interruptible(deps.stack.preview({ signal: deps.signal }));
                    const changes = effectiveSteps(preview);
                    if (changes.length > 0) throw new GateFailed(`the cutover would change resources while the page is up: ${describeSteps(changes)}`);
                    return `shiftwise:traffic is ${candidate} 100%, ${stable} 0%, in one step (the old colour cannot serve the new schema, so no mix); no resource changed while the page is up`;
                },
                step,
            );
        },
    };
}

/** 5. The page comes down: the listener forwards to the candidate at 100 %, read back from AWS. */
function pageOffStage(cutover: Cutover): Stage {
    return {
        name: "maintenance off",
        run: (context) => {
            const step = cutover.step!;
            return context.stage(
                "maintenance off",
                async () => {
                    const { deps, record, outputs, candidate } = context;
                    context.checkInterrupt();
                    const changed = await switchPage(context, false);
                    record.maintenance!.off = pageChange(context, changed);
                    deps.records.save(record);
                    const weightIssues = await verifyWeights(deps.aws, deps.clock, outputs, step.traffic);
                    if (weightIssues.length > 0) throw new GateFailed(`the page came down, but the weights did not take effect: ${weightIssues.join("; ")}`);
                    return `the page is down: the listener forwards ${candidate} 100%, verified in AWS; ${changed.join("; ")}`;
                },
                step,
            );
        },
    };
}

/** 6. The candidate at 100 % with the users back, judged like any step. */
function bakeStage(cutover: Cutover): Stage {
    return {
        name: "bake 100%",
        run: (context) => context.stage("bake 100%", () => bake(context, cutover.step!, stepBakePlan(context, 100)), cutover.step),
    };
}

/** Stages 4 to 6, sharing one step entry (the record's only step). */
export function cutoverStages(): Stage[] {
    const cutover: Cutover = {};
    return [cutoverStage(cutover), pageOffStage(cutover), bakeStage(cutover)];
}
