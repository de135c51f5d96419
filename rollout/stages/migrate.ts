// The rollout's migration stages: the snapshot, the migration task, and the stable colour's soak on the new schema, all before the candidate starts.
import type { StackConfig } from "../../config";
import type { StackConfigEntries, StackChanges } from "../../ports/ports";
import { configPatch } from "../configPaths";
import { SNAPSHOT_TYPE, describeSteps, effectiveSteps, isMigrationStep } from "../guards";
import { MigrationResult, MigrationStopped, MigrationTarget, describeMigration, runMigration } from "../migration";
import type { StableSoakEntry } from "../records";
import { applyPatch } from "../rollback";
import { smokeCheckColour, smokeFailures } from "../smoke";
import { rollbackAlarmName, testListenerHeaders } from "../stackView";
import { DeployRequest, GateFailed, RolloutContext, Stage } from "./context";

/**
 * A release with `database.migration` runs three stages between the
 * checkpoint and `prepare`, so the candidate takes no traffic (and starts no
 * task) before the schema is migrated and the stable colour proved it still
 * works on it:
 *  1. `snapshot`: the release's `shiftwise:database` section (label, snapshot
 *     colour, pinned migration image) is previewed, written, and applied by an
 *     `up` targeted at the snapshot and the migration task's resources only;
 *  2. `migration`: RunTask of the migration in the private subnets, waited for
 *     up to `timeoutMinutes`; exit code, duration and logs link are recorded;
 *  3. `stable soak`: for `stableSoakMinutes` the stable colour, which still
 *     serves everyone, must keep its composite alarm OK, all its targets
 *     healthy and its smoke paths (through the test listener) passing.
 * A failure stops the release before any traffic moves and names the restore
 * command and, if configured, `shiftwise rollback --migrate-down`.
 */

/** What the three stages pass on: the stack outputs after the snapshot update. */
interface MigrationState {
    outputs?: Record<string, unknown>;
}

/** The stages a migrating release runs before `prepare`; none when `database.migration` is not set. */
export function migrationStages(config: StackConfig, request: DeployRequest, release: StackConfigEntries): Stage[] {
    if (!config.database?.migration) return [];
    const state: MigrationState = {};
    return [snapshotStage(release, state), migrateStage(request, state), stableSoakStage(request, state)];
}

function snapshotStage(release: StackConfigEntries, state: MigrationState): Stage {
    return {
        name: "snapshot",
        run: (context) =>
            context.stage("snapshot", async () => {
                const { deps, config } = context;
                const current = await deps.stack.getAllConfig();
                const target = { ...current, "shiftwise:database": release["shiftwise:database"] };
                // Preview first, without writing: refuse before anything changes if the update would do more.
                const preview = await context.interruptible(deps.stack.preview({ config: target }));
                const outside = beyondMigration(preview, config.service.name);
                if (outside.length > 0) throw new GateFailed(`the snapshot update would change more than the snapshot and the migration task: ${describeSteps(outside)}`);
                const targets = effectiveSteps(preview).map((step) => step.urn);
                await applyPatch(deps.stack, configPatch(current, target));
                const changes = targets.length > 0 ? await context.interruptible(deps.stack.up({ targets })) : { steps: [] };
                const stray = effectiveSteps(changes).filter((step) => !targets.includes(step.urn));
                if (stray.length > 0) throw new GateFailed(`the snapshot update changed resources it had not previewed: ${describeSteps(stray)}`);
                state.outputs = await deps.stack.outputs();
                const snapshot = (state.outputs.preReleaseSnapshot ?? {}) as { identifier?: string };
                const migration = (state.outputs.migration ?? {}) as { family?: string; image?: string };
                return `snapshot ${snapshot.identifier ?? "(no preReleaseSnapshot output)"} exists; migration task ${migration.family ?? "(no migration output)"} runs ${migration.image ?? "?"}; ${effectiveSteps(changes).length} resource(s) changed`;
            }),
    };
}

/** Steps of a preview beyond the snapshot (created, or an old one left in AWS) and the migration task's resources. */
function beyondMigration(changes: StackChanges, serviceName: string) {
    return effectiveSteps(changes).filter((step) => {
        if (step.type === SNAPSHOT_TYPE) return !(step.op === "create" || step.retainOnDelete === true);
        return !isMigrationStep(step, serviceName);
    });
}

function migrateStage(request: DeployRequest, state: MigrationState): Stage {
    return {
        name: "migration",
        run: (context) =>
            context.stage("migration", async () => {
                const { deps, config, record } = context;
                const migration = config.database!.migration!;
                const target = await migrationTarget(context, state.outputs ?? (await deps.stack.outputs()));
                let result: MigrationResult;
                try {
                    result = await runMigration(
                        deps.tasks!,
                        deps.clock,
                        target,
                        { direction: "up", command: migration.command, timeoutMinutes: migration.timeoutMinutes, startedBy: `shiftwise/${record.stack}/${request.version}` },
                        { pollMs: deps.migrationPollMs, signal: deps.signal, onProgress: (line) => deps.reporter.progress(line), onPoll: () => context.poll("migration") },
                    );
                } catch (error) {
                    if (!(error instanceof MigrationStopped)) throw error;
                    record.migration = error.result;
                    throw error.cause;
                }
                record.migration = result;
                deps.records.save(record);
                if (result.outcome !== "succeeded") {
                    throw new GateFailed(`${describeMigration(result)}. No traffic moved. ${afterFailure(context, state, "The database may be partly migrated")}`);
                }
                return describeMigration(result);
            }),
    };
}

/** Where RunTask starts the migration, from the stack's `migration` output and `aws:region`. */
export async function migrationTarget(context: Pick<RolloutContext, "deps">, outputs: Record<string, unknown>): Promise<MigrationTarget> {
    const output = outputs.migration as Record<string, unknown> | null | undefined;
    const region = (await context.deps.stack.getAllConfig())["aws:region"]?.value;
    const missing = ["family", "clusterArn", "subnetIds", "securityGroupId", "logGroupName", "logStreamPrefix", "containerName"].filter((key) => output?.[key] === undefined);
    if (!output || missing.length > 0 || !region) {
        throw new GateFailed(`the stack outputs have no complete migration task (missing ${[...missing, ...(region ? [] : ["aws:region"])].join(", ") || "migration"}); run \`pulumi up\` so the migration output exists, then deploy again`);
    }
    return {
        cluster: String(output.clusterArn),
        family: String(output.family),
        containerName: String(output.containerName),
        subnetIds: output.subnetIds as string[],
        securityGroupId: String(output.securityGroupId),
        logGroupName: String(output.logGroupName),
        logStreamPrefix: String(output.logStreamPrefix),
        region,
    };
}

function stableSoakStage(request: DeployRequest, state: MigrationState): Stage {
    return {
        name: "stable soak",
        run: (context) =>
            context.stage("stable soak", async () => {
                const { deps, config, record, outputs, stable } = context;
                const minutes = config.database!.migration!.stableSoakMinutes;
                const soak: StableSoakEntry = { colour: stable, minutes, polls: 0 };
                record.stableSoak = soak;
                const broken = (problem: string, outcome: StableSoakEntry["outcome"] = "broken") => {
                    soak.outcome = outcome;
                    soak.problem = problem;
                    const verdict = outcome === "broken" ? `the stable colour ${stable} broke on the new schema: ${problem}. The migration is not backwards compatible` : `the stable colour ${stable} could not be judged on the new schema: ${problem}`;
                    return new GateFailed(`${verdict}; no traffic moved to ${context.candidate}. ${afterFailure(context, state, "The database holds the new schema")}`);
                };
                const alarm = rollbackAlarmName(outputs, stable, config.service.name, record.stack);
                const baseUrl = request.smokeBaseUrl ?? outputs.testUrl;
                if (!baseUrl) throw broken("no testUrl output and no --smoke-base-url, so its smoke paths cannot run", "inconclusive");
                // The test listener admits only requests with the stack's test token (read once, never recorded).
                const testHeaders = await testListenerHeaders(deps.stack, outputs);
                const from = deps.clock.now().getTime();
                for (;;) {
                    await context.poll("stable soak");
                    soak.polls += 1;
                    const alarmState = await deps.aws.compositeAlarmState(alarm);
                    soak.lastAlarmState = alarmState;
                    if (alarmState === "ALARM" || alarmState === undefined) throw broken(`${alarm} is ${alarmState ?? "missing"}`);
                    const health = await deps.aws.targetHealth(outputs[stable].targetGroupArn);
                    soak.healthy = health.healthy;
                    if (health.healthy < config[stable].desiredCount) throw broken(`${health.healthy} of ${config[stable].desiredCount} target(s) healthy (${JSON.stringify(health.byState)})`);
                    const results = await smokeCheckColour(deps, config, outputs, { colour: stable, baseUrl, testHeaders });
                    soak.smokeChecks = (soak.smokeChecks ?? 0) + results.length;
                    const failed = smokeFailures(results);
                    if (failed) throw broken(failed);
                    const elapsed = (deps.clock.now().getTime() - from) / 60_000;
                    deps.reporter.progress(`stable soak: ${stable} ${elapsed.toFixed(1)}/${minutes} min, alarm ${alarmState}, ${health.healthy} healthy`);
                    if (elapsed >= minutes) {
                        // Inconclusive is not a pass: the soak ends only on an OK verdict.
                        if (alarmState !== "OK") throw broken(`${alarm} is ${alarmState} at the end of the soak`, "inconclusive");
                        soak.outcome = "ok";
                        return `${stable} stayed healthy on the new schema for ${elapsed.toFixed(1)} min: ${soak.polls} poll(s), alarm OK, ${health.healthy} healthy target(s), ${soak.smokeChecks} smoke check(s) passed`;
                    }
                    await context.sleep(config.rollout.pollSeconds * 1000);
                }
            }),
    };
}

/** What to do after a failed migration or soak: the restore command, the down-migration if configured, the logs. */
function afterFailure(context: RolloutContext, state: MigrationState, situation: string): string {
    const { config, record } = context;
    const snapshot = (state.outputs?.preReleaseSnapshot ?? {}) as { identifier?: string; restoreCommand?: string };
    const restore = snapshot.restoreCommand ? `restore the pre-release snapshot ${snapshot.identifier} with:\n  ${snapshot.restoreCommand}` : "restore the pre-release snapshot (`pulumi stack output preReleaseSnapshot` has the command)";
    const down = config.database?.migration?.downCommand ? `\nor undo the migration: shiftwise rollback --stack ${record.stack} --migrate-down` : "";
    const logs = record.migration?.logsUrl ? `\nmigration logs: ${record.migration.logsUrl}` : "";
    return `${situation}; ${restore}${down}${logs}`;
}
