// The rollout's migration stages: the snapshot, the migration task, and the stable colour's soak on the new schema, all before the candidate starts.
import type { StackConfig } from "../../config";
import type { StackConfigEntries, StackChanges } from "../../ports/ports";
import { configPatch } from "../configPaths";
import { SNAPSHOT_TYPE, describeSteps, effectiveSteps, isMigrationStep } from "../guards";
import { DatabaseReading, migrationReadiness } from "../databaseReadiness";
import { MigrationResult, MigrationStopped, MigrationTarget, STOP_WAIT_MS, describeMigration, describeStop, runMigration, stopAndConfirm, stopReason, waitForMigration } from "../migration";
import { RestoreAdviceInput, restoreAdvice } from "../migrationStop";
import { StableSoakEntry, startedBy } from "../records";
import { applyPatch } from "../rollback";
import { smokeCheckColour, smokeFailures } from "../smoke";
import { rollbackAlarmName, testListenerHeaders } from "../stackView";
import { DeployRequest, GateFailed, INTERRUPTED, Paused, RolloutContext, Stage } from "./context";

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

/**
 * With `deploy --maintenance` (rollout/stages/maintenance.ts), the page goes up between the snapshot and the migration,
 * and the stable soak is replaced: the old colour is not expected to work on a schema that is not backwards compatible.
 */
export interface MaintenanceStages {
    readonly pageOn: Stage;
    readonly soak: Stage;
}

/** The stages a migrating release runs before `prepare`; none when `database.migration` is not set. */
export function migrationStages(config: StackConfig, request: DeployRequest, release: StackConfigEntries, maintenance?: MaintenanceStages): Stage[] {
    if (!config.database?.migration) return [];
    const state: MigrationState = {};
    if (maintenance) return [snapshotStage(release, state), maintenance.pageOn, migrateStage(request, state), maintenance.soak];
    return [snapshotStage(release, state), migrateStage(request, state), stableSoakStage(request, state)];
}

/**
 * The stages a release resumes with after its driver died during the
 * migration (`shiftwise resume`): the snapshot exists, so the migration stage
 * re-reads RDS, re-attaches to the task the record names (or trusts a
 * recorded success only after that reading), then the stable soak.
 */
export function resumedMigrationStages(config: StackConfig, request: DeployRequest, maintenanceSoak?: Stage): Stage[] {
    if (!config.database?.migration) return [];
    const state: MigrationState = {};
    return [migrateStage(request, state), maintenanceSoak ?? stableSoakStage(request, state)];
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
                const migration = (state.outputs.migration ?? {}) as { family?: string; jobTemplate?: string; image?: string };
                const template = migration.jobTemplate ? `job template ${migration.jobTemplate}` : `task ${migration.family ?? "(no migration output)"}`;
                return `snapshot ${snapshot.identifier ?? "(no preReleaseSnapshot output)"} exists; migration ${template} runs ${migration.image ?? "?"}; ${effectiveSteps(changes).length} resource(s) changed`;
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
                state.outputs ??= await deps.stack.outputs();
                const target = await migrationTarget(context, state.outputs);
                const previous = record.migration;
                const runRequest = { direction: "up" as const, command: migration.command, timeoutMinutes: migration.timeoutMinutes, startedBy: `shiftwise/${record.stack}/${request.version}`, runId: `${record.id}/up` };
                const pollMs = deps.migrationPollMs ?? 10_000;
                try {
                    await awaitDatabaseReady(context, state.outputs, deps.clock.now().getTime() + migration.timeoutMinutes * 60_000);
                } catch (error) {
                    // Resumed on a database that changed under a task the dead driver started: that task must not go on.
                    if (previous?.outcome === "running" && previous.taskArn) {
                        const stop = await stopAndConfirm(deps.tasks!, deps.clock, target.cluster, previous.taskArn, stopReason(runRequest, (error as Error).message), { waitMs: deps.migrationStopWaitMs ?? STOP_WAIT_MS, pollMs });
                        record.migration = { ...previous, outcome: "interrupted", reason: `stopped on resume: ${describeStop(stop)}`, stop };
                    }
                    throw error;
                }
                // A resumed release: the driver that died had run it, or was waiting for it.
                if (previous?.outcome === "succeeded") return `already ran: ${describeMigration(previous)}; not run again`;
                const by = startedBy(deps.env ?? {});
                const options = {
                    pollMs,
                    signal: deps.signal,
                    runBy: `${by.user}@${by.host}`,
                    stopWaitMs: deps.migrationStopWaitMs,
                    onProgress: (line: string) => deps.reporter.progress(line),
                    onPoll: () => context.poll("migration"),
                    onStarted: (running: MigrationResult) => {
                        record.migration = running;
                        deps.records.save(record);
                    },
                };
                let result: MigrationResult;
                try {
                    result =
                        previous?.outcome === "running" && previous.taskArn
                            ? await waitForMigration(deps.tasks!, deps.clock, target, runRequest, { taskArn: previous.taskArn, startedAt: new Date(previous.startedAt) }, options)
                            : await runMigration(deps.tasks!, deps.clock, target, runRequest, options);
                } catch (error) {
                    if (!(error instanceof MigrationStopped)) throw error;
                    // An abort request or a lost lease stopped the task: say so, with what to do about the half-migrated schema.
                    record.migration = error.result;
                    const cause = error.cause as Error;
                    const message = `${cause.message}. ${describeMigration(error.result)}. No traffic moved. ${afterFailure(context, state, "The database may be partly migrated")}`;
                    throw cause instanceof Paused ? new Paused(message) : cause instanceof GateFailed ? new GateFailed(message) : cause;
                }
                record.migration = result;
                deps.records.save(record);
                if (result.outcome !== "succeeded") {
                    // Interrupted by a signal: the message starts as the interrupt's, so the pipeline keeps the rest of it.
                    const interrupted = result.outcome === "interrupted" && deps.signal?.aborted ? `${INTERRUPTED}: ` : "";
                    throw new GateFailed(`${interrupted}${describeMigration(result)}. No traffic moved. ${afterFailure(context, state, "The database may be partly migrated")}`);
                }
                return describeMigration(result);
            }),
    };
}

/**
 * Reads RDS until the snapshot is available and the database is the instance
 * it was taken of (see `migrationReadiness`), up to `deadline`; records the
 * last reading. A `stop`, or still `wait` at the deadline, fails the stage
 * before the migration starts (or, resumed, before it is trusted).
 */
async function awaitDatabaseReady(context: RolloutContext, outputs: Record<string, unknown>, deadline: number): Promise<void> {
    const { deps, record } = context;
    const snapshotIdentifier = (outputs.preReleaseSnapshot as { identifier?: string } | null | undefined)?.identifier;
    const databaseIdentifier = (outputs.database as { identifier?: string } | null | undefined)?.identifier;
    if (!snapshotIdentifier || !databaseIdentifier) {
        throw new GateFailed(`the stack outputs name no ${snapshotIdentifier ? "database" : "pre-release snapshot"} identifier, so the backup cannot be checked before the migration; run \`pulumi up\` once, then deploy again`);
    }
    for (let polls = 1; ; polls += 1) {
        await context.poll("migration");
        const reading: DatabaseReading = {
            snapshotIdentifier,
            snapshot: await deps.database!.snapshot(snapshotIdentifier),
            databaseIdentifier,
            instance: await deps.database!.instance(databaseIdentifier),
        };
        const readiness = migrationReadiness(reading);
        const timedOut = readiness.verdict === "wait" && deps.clock.now().getTime() >= deadline;
        record.databaseCheck = {
            at: deps.clock.now().toISOString(),
            snapshot: snapshotIdentifier,
            snapshotStatus: reading.snapshot?.status,
            database: databaseIdentifier,
            databaseStatus: reading.instance?.status,
            resourceId: reading.instance?.resourceId,
            snapshotSourceResourceId: reading.snapshot?.sourceResourceId,
            polls,
            verdict: readiness.verdict,
            ...(readiness.verdict !== "go" ? { reason: readiness.reason } : {}),
        };
        deps.records.save(record);
        if (readiness.verdict === "go") return;
        if (readiness.verdict === "stop" || timedOut) {
            const why = timedOut ? `${readiness.reason} after ${polls} reading(s), past database.migration.timeoutMinutes` : readiness.reason;
            throw new GateFailed(`the migration did not run: ${why}. No traffic moved; nothing was deleted`);
        }
        deps.reporter.progress(`migration: waiting: ${readiness.reason}`);
        await context.sleep(deps.migrationPollMs ?? 10_000);
    }
}

/** Where the migration runs: RunTask from the stack's `migration` output and `aws:region`, or on Kubernetes a Job from the output's job template. */
export async function migrationTarget(context: Pick<RolloutContext, "deps">, outputs: Record<string, unknown>): Promise<MigrationTarget> {
    const output = outputs.migration as Record<string, unknown> | null | undefined;
    const region = (await context.deps.stack.getAllConfig())["aws:region"]?.value;
    const kubernetes = output?.platform === "kubernetes";
    const required = kubernetes ? ["namespace", "jobTemplate", "containerName"] : ["family", "clusterArn", "subnetIds", "securityGroupId", "logGroupName", "logStreamPrefix", "containerName"];
    const missing = required.filter((key) => output?.[key] === undefined);
    if (!output || missing.length > 0 || !region) {
        throw new GateFailed(`the stack outputs have no complete migration ${kubernetes ? "job template" : "task"} (missing ${[...missing, ...(region ? [] : ["aws:region"])].join(", ") || "migration"}); run \`pulumi up\` so the migration output exists, then deploy again`);
    }
    if (kubernetes) {
        return { platform: "kubernetes", cluster: String(output.namespace), family: String(output.jobTemplate), containerName: String(output.containerName), subnetIds: [], region };
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
    return restoreAdvice(situation, {
        snapshot: state.outputs?.preReleaseSnapshot as RestoreAdviceInput["snapshot"],
        downCommand: config.database?.migration?.downCommand !== undefined,
        stack: record.stack,
        logsUrl: record.migration?.logsUrl,
    });
}
