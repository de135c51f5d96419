// `shiftwise rollback --migrate-down`: the configured down-migration, run only on explicit request and only while the release's colour serves nothing.
import { ExitCode, ExitCodeValue } from "./exitCodes";
import { MigrationTarget, describeMigration, runMigration } from "./migration";
import type { DeploymentRecord } from "./records";
import type { StackConfig } from "../config";
import { PAGE_ACTION, holdBehindPage } from "./maintenanceHold";
import { pageMustStay } from "./pageRule";
import { stopByHand, stopRecordedMigration } from "./migrationStop";
import { RollbackCommandResult, RollbackOptions, recordFor, rollbackCommand } from "./rollback";
import type { StartedBy } from "./records";
import { driverOutputs, shiftwiseConfig } from "./stackView";
import type { DriverDeps } from "./stages/context";
import { migrationTarget } from "./stages/migrate";

/**
 * Runs `database.migration.downCommand` for a deployment's release, after
 * `shiftwise rollback` restored its checkpoint. The driver never calls this by
 * itself. It refuses while the listener in AWS still sends traffic to the
 * release's colour, whose code may need the schema being taken away; it runs
 * the migration task definition the release pinned (`database.migration.image`
 * survives a rollback), so the down command comes from the release's image.
 */
export async function migrateDown(deps: DriverDeps, record: DeploymentRecord): Promise<{ exitCode: ExitCodeValue; message: string; record: DeploymentRecord }> {
    const done = (exitCode: ExitCodeValue, message: string) => {
        deps.reporter.line("migrate down", message);
        return { exitCode, message, record };
    };
    const config = shiftwiseConfig(await deps.stack.getAllConfig());
    const problem = downMigrationProblem(config, record, deps);
    if (problem) return done(problem.exitCode, problem.message);
    const migration = config.database!.migration!;
    const outputs = await deps.stack.outputs();
    const view = driverOutputs(outputs);
    // Behind the maintenance page (a held `deploy --maintenance` release) the listener forwards to no colour.
    const page = (await deps.aws.listenerAction(view.listenerArn)) === PAGE_ACTION;
    const serving = page ? 0 : ((await deps.aws.listenerWeights(view.listenerArn))[view[record.candidate].targetGroupArn] ?? 0);
    if (serving > 0) {
        return done(ExitCode.refused, `${record.candidate}, the colour of ${record.version}, still carries ${serving}% in AWS; the down-migration would take its schema away: run \`shiftwise rollback --stack ${record.stack}\` first; nothing was changed`);
    }
    const target = await migrationTarget({ deps }, outputs);
    const upTask = await upTaskProblem(deps, record, target);
    if (upTask) return done(ExitCode.refused, upTask);
    const result = await runMigration(
        deps.tasks!,
        deps.clock,
        target,
        { direction: "down", command: migration.downCommand!, timeoutMinutes: migration.timeoutMinutes, startedBy: `shiftwise/${record.stack}/down/${record.version}`, runId: `${record.id}/down` },
        { pollMs: deps.migrationPollMs, signal: deps.signal, onProgress: (line) => deps.reporter.progress(line) },
    );
    record.migrationDown = result;
    deps.records.save(record);
    if (result.outcome === "succeeded") return done(ExitCode.success, describeMigration(result));
    const restore = (outputs.preReleaseSnapshot as { restoreCommand?: string } | null)?.restoreCommand;
    return done(ExitCode.error, `${describeMigration(result)}; the schema may be half undone: ${restore ? `restore the pre-release snapshot with:\n  ${restore}` : "restore the pre-release snapshot (`pulumi stack output preReleaseSnapshot`)"}`);
}

/**
 * Reality before the down command: the release's up-migration task must not
 * be running (ECS, or its Kubernetes Job), whatever the record says (a rollback's stop that was not
 * confirmed, a task someone started again). Undefined when ECS shows it
 * STOPPED or no longer knows it.
 */
async function upTaskProblem(deps: DriverDeps, record: DeploymentRecord, target: MigrationTarget): Promise<string | undefined> {
    const taskArn = record.migration?.taskArn;
    if (!taskArn) return undefined;
    const again = `then run \`shiftwise rollback --stack ${record.stack} --migrate-down\` again; the down-migration did not run`;
    let state;
    try {
        state = await deps.tasks!.describeTask(target.cluster, taskArn);
    } catch (error) {
        return `could not read the up-migration task ${taskArn} (${(error as Error).message}), so it may still be running; ${again}`;
    }
    if (!state || state.lastStatus === "STOPPED") return undefined;
    return `the up-migration task ${taskArn} is still ${state.lastStatus}, and a down-migration beside it would fight it: stop it (\`${stopByHand(target.platform, target.cluster, taskArn)}\`) and wait until it is STOPPED, ${again}`;
}

/** Why `migrateDown` cannot run for `record`, before anything changes; undefined when it can. */
export function downMigrationProblem(config: StackConfig, record: DeploymentRecord, deps: Pick<DriverDeps, "tasks">): { exitCode: ExitCodeValue; message: string } | undefined {
    if (!config.database?.migration?.downCommand) {
        return { exitCode: ExitCode.invalid, message: "no shiftwise:database.migration.downCommand is configured; restore the pre-release snapshot instead (`pulumi stack output preReleaseSnapshot`); nothing was changed" };
    }
    if (!record.migration || record.migration.outcome === "never-started") return { exitCode: ExitCode.refused, message: `the migration of ${record.id} never ran, so there is nothing to undo; nothing was changed` };
    if (!deps.tasks) return { exitCode: ExitCode.invalid, message: "no task runner was given to run the down-migration; nothing was changed" };
    return undefined;
}

/**
 * `rollback --migrate-down` of a `deploy --maintenance` release, in the order
 * its schema needs: the page up (kept, or put back), the down-migration behind
 * it, and only when that succeeded the checkpoint, whose listener update routes
 * users to the old colour and takes the page down in one update. A failed
 * down-migration leaves the page up (exit 7) and names the restore command.
 */
async function migrateDownBehindPage(deps: DriverDeps & { readonly by: StartedBy }, record: DeploymentRecord, options: RollbackOptions): Promise<{ exitCode: ExitCodeValue; message: string; record?: DeploymentRecord }> {
    const held = await holdBehindPage(deps, record, `rollback --migrate-down of ${record.id}: the down-migration runs behind the maintenance page`);
    if (held.exitCode !== ExitCode.held) return { ...held, record };
    // An up-migration its driver left running is stopped (and waited for) before the down command starts.
    const stopped = await stopRecordedMigration(deps, record, deps.by.user);
    const down = await migrateDown(deps, record);
    if (stopped) down.message = `${stopped}\n${down.message}`;
    if (down.exitCode !== ExitCode.success) {
        return { exitCode: ExitCode.held, message: `${down.message}\nthe maintenance page stays up (${record.maintenance!.reason}); no user is routed to ${record.stable}`, record };
    }
    const file = deps.records.save(record);
    const rolledBack = await rollbackCommand(deps, file, { ...options, schemaRestored: `shiftwise rollback --migrate-down by ${deps.by.user}: ${down.message}` });
    return { ...rolledBack, message: `${down.message}; then ${rolledBack.message} (the listener update took the maintenance page down)` };
}

/**
 * `shiftwise rollback --migrate-down`: checks first that the down-migration
 * can run (a configured `downCommand`, a migration that ran, a task runner),
 * so a refusal changes nothing; then `rollback` restores the checkpoint and,
 * only when that succeeded, `migrateDown` runs the down command.
 */
export async function rollbackThenMigrateDown(deps: DriverDeps & { readonly by: StartedBy }, recordFile?: string, options: RollbackOptions = {}): Promise<RollbackCommandResult> {
    const found = recordFor(deps.records, recordFile);
    if (!found.record) return found;
    const { record } = found;
    const problem = downMigrationProblem(shiftwiseConfig(await deps.stack.getAllConfig()), record, deps);
    if (problem) {
        deps.reporter.line("migrate down", `refused: ${problem.message}`);
        return { ...problem, record };
    }
    if (pageMustStay(record)) return migrateDownBehindPage(deps, record, options);
    const rolledBack = await rollbackCommand(deps, recordFile ?? deps.records.fileOf(record), options);
    if (rolledBack.exitCode !== ExitCode.success || !rolledBack.record) return rolledBack;
    const down = await migrateDown(deps, rolledBack.record);
    return { exitCode: down.exitCode, message: `${rolledBack.message}; ${down.message}`, record: down.record };
}
