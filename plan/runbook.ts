// The rollout runbook section of the plan: steps, gates, pre-flight and rollback.
import { otherColour, stableColour } from "../config";
import type { StackConfig } from "../config";
import { Exposure, formatSeconds, probeExposureSeconds, worstCaseExposure } from "./exposure";
import { describeWindow } from "../rollout/freeze";

/** What the runbook needs from a plan (see plan.ts `StackPlan`). */
export interface RunbookInput {
    readonly stack: string;
    readonly config: StackConfig;
}

/** The exposure figures of a stack's config. */
export function stackExposure(config: StackConfig): Exposure {
    return worstCaseExposure({
        steps: config.rollout.steps,
        evaluationPeriods: config.alarms.evaluationPeriods,
        datapointsToAlarm: config.alarms.datapointsToAlarm,
        pollSeconds: config.rollout.pollSeconds,
    });
}

/** The paths the bake probes: `rollout.probe.paths`, else the health check path and `smokePaths`. */
function probePaths(config: StackConfig): string[] {
    return config.rollout.probe.paths.length > 0 ? [...config.rollout.probe.paths] : [config.service.healthCheckPath, ...config.rollout.smokePaths];
}

/** The rollout runbook section of `shiftwise plan`: how `shiftwise deploy` will walk this stack. */
export function renderRunbook(plan: RunbookInput): string {
    return ["Rollout runbook (shiftwise deploy)", ...runbookLines(plan).map((line) => `  ${line}`)].join("\n");
}

/** The runbook's lines, without the heading; `plan --json` carries them as they are. */
export function runbookLines(plan: RunbookInput): string[] {
    const { config, stack } = plan;
    const { rollout, alarms } = config;
    const stable = stableColour(config.traffic, config.releaseColour);
    const candidate = otherColour(stable);
    const exposure = stackExposure(config);
    return [
        `stable ${stable}, candidate ${candidate}: the candidate gets the new version at weight 0, ${config[candidate].desiredCount} healthy target(s) within ${rollout.healthyWaitMinutes} min, then smoke checks of ${[config.service.healthCheckPath, ...rollout.smokePaths].join(", ")} through the test listener (port ${config.service.testPort}, header x-shiftwise-colour: ${candidate}; ${rollout.smokeRetries} retries)`,
        `steps: ${rollout.steps.map((percent) => `${percent}%`).join(" -> ")}; each step is one \`pulumi up\` that must update only the forwarding listener, then the weights are read back from AWS`,
        `bake: at least ${rollout.bakeMinutes} min and ${rollout.minRequestsPerStep} candidate requests per step, polling every ${rollout.pollSeconds}s; short of requests after ${rollout.maxBakeMinutes} min pauses (exit 5) instead of promoting`,
        `gates: the candidate's composite alarm (error rate > ${alarms.maxErrorRatePercent}% or > ${alarms.maxErrorRateVsBaseline}x the stable colour's, ${alarms.latencyPercentile} > ${alarms.maxP99LatencyMs} ms, unhealthy hosts; ${alarms.datapointsToAlarm} of ${alarms.evaluationPeriods} one-minute periods); ALARM rolls back at once`,
        `pre-flight: config valid, no freeze window${rollout.freezeWindows.length ? ` (${rollout.freezeWindows.map(describeWindow).join("; ")})` : ""} unless --hotfix, no unfinished deployment, the stable colour's alarm OK and all its targets healthy, the release preview touches only the candidate, the checkpoint preview is clean`,
        `rollback: shiftwise rollback --stack ${stack}  (traffic back in one listener update, then the checkpoint config; never the database or snapshots)`,
        `worst-case exposure of a bad release, from a step's up to its rollback: ${formatSeconds(exposure.worst.total)} (${formatSeconds(exposure.worst.firstFullPeriod)} to the first whole period + ${alarms.evaluationPeriods} x 60s periods + ${formatSeconds(exposure.worst.metricDelay)} metric delay + ${formatSeconds(exposure.worst.poll)} poll); ${formatSeconds(exposure.steady.total)} when every period breaches`,
        `  ${exposure.steps.map((step) => `${step.percent}% of traffic for ${formatSeconds(step.seconds)} (${step.percentMinutes} %-min)`).join(", ")}`,
        `probe bound: a release that fails its probe paths (${probePaths(config).join(", ")}, every ${rollout.probe.everySeconds}s, ${rollout.probe.failureBudget} failure(s) tolerated) is rolled back within ${formatSeconds(probeExposureSeconds({ paths: probePaths(config).length, everySeconds: rollout.probe.everySeconds, failureBudget: rollout.probe.failureBudget }))} of its first failed probe, whatever the alarms say`,
        `  assumes the candidate serves at least alarms.minRequests (${alarms.minRequests}) requests a minute; below that the error-rate alarms cannot fire and the request minimum holds the step`,
        ...migrationLines(config, stack),
        ...(config.maintenance.enabled ? [`MAINTENANCE ON (${config.maintenance.reason}): the service answers 503; deploy refuses until \`shiftwise maintenance off --stack ${stack}\``] : []),
    ];
}

/** The worst-case minutes a migrating release spends before the candidate starts: the task's timeout plus the stable soak. */
export function migrationWorstCaseMinutes(config: StackConfig): number | undefined {
    const migration = config.database?.migration;
    // The snapshot wait and the task each stop at timeoutMinutes; the soak always runs in full.
    return migration ? 2 * migration.timeoutMinutes + migration.stableSoakMinutes : undefined;
}

/** The migration stage of the runbook, when `database.migration` is set. */
function migrationLines(config: StackConfig, stack: string): string[] {
    const migration = config.database?.migration;
    if (!migration) return [];
    const stable = stableColour(config.traffic, config.releaseColour);
    const runner = config.service.platform === "kubernetes" && config.kubernetes
        ? `a Kubernetes Job (from the job template CronJob ${config.service.name}-migration, backoffLimit 0, activeDeadlineSeconds ${migration.timeoutMinutes * 60}) in namespace ${config.kubernetes.namespace} of EKS cluster ${config.kubernetes.clusterName} running \`${migration.command.join(" ")}\` (${Math.round((migration.cpu * 1000) / 1024)}m CPU / ${migration.memory}Mi, the release's image unless --migration-image)`
        : `ECS RunTask \`${migration.command.join(" ")}\` (${migration.cpu} CPU / ${migration.memory} MiB, the release's image unless --migration-image) in the private subnets`;
    return [
        `migration, before the candidate starts: pre-release snapshot, then ${runner}, at most ${migration.timeoutMinutes} min; a failure, a timeout or a task that never starts stops the release before any traffic moves`,
        `stable soak: ${stable} (serving 100%) on the new schema for ${migration.stableSoakMinutes} min: its alarm OK, all its targets healthy, its smoke paths through the test listener; a break stops the release and points to the restore command`,
        `migration worst case before prepare: ${migrationWorstCaseMinutes(config)} min (snapshot available within ${migration.timeoutMinutes} + task timeout ${migration.timeoutMinutes} + soak ${migration.stableSoakMinutes}); down-migration: ${migration.downCommand ? `\`shiftwise rollback --stack ${stack} --migrate-down\` runs \`${migration.downCommand.join(" ")}\`, never by itself` : "none configured (restore the snapshot instead)"}`,
        `a migration that cannot be backwards compatible: \`shiftwise deploy --stack ${stack} --maintenance "<reason>"\`: the maintenance page goes up after the snapshot, for at most ${migration.timeoutMinutes + config.rollout.healthyWaitMinutes} min (task timeout ${migration.timeoutMinutes} + prepare ${config.rollout.healthyWaitMinutes}); no stable soak; the candidate verified through the test listener, then 100% in one step and the page comes down; a failure from the migration on keeps the page up (exit 7)`,
    ];
}
