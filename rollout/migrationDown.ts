// `shiftwise rollback --migrate-down`: the configured down-migration, run only on explicit request and only while the release's colour serves nothing.
import { ExitCode, ExitCodeValue } from "./exitCodes";
import { describeMigration, runMigration } from "./migration";
import type { DeploymentRecord } from "./records";
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
    const migration = config.database?.migration;
    if (!migration?.downCommand) return done(ExitCode.invalid, "no shiftwise:database.migration.downCommand is configured; restore the pre-release snapshot instead (`pulumi stack output preReleaseSnapshot`)");
    if (!record.migration || record.migration.outcome === "never-started") return done(ExitCode.refused, `the migration of ${record.id} never ran, so there is nothing to undo; nothing was changed`);
    if (!deps.tasks) return done(ExitCode.invalid, "no task runner was given to run the down-migration");
    const outputs = await deps.stack.outputs();
    const view = driverOutputs(outputs);
    const weights = await deps.aws.listenerWeights(view.listenerArn);
    const serving = weights[view[record.candidate].targetGroupArn] ?? 0;
    if (serving > 0) {
        return done(ExitCode.refused, `${record.candidate}, the colour of ${record.version}, still carries ${serving}% in AWS; the down-migration would take its schema away: run \`shiftwise rollback --stack ${record.stack}\` first; nothing was changed`);
    }
    const result = await runMigration(
        deps.tasks,
        deps.clock,
        await migrationTarget({ deps }, outputs),
        { direction: "down", command: migration.downCommand, timeoutMinutes: migration.timeoutMinutes, startedBy: `shiftwise/${record.stack}/down/${record.version}` },
        { pollMs: deps.migrationPollMs, signal: deps.signal, onProgress: (line) => deps.reporter.progress(line) },
    );
    record.migrationDown = result;
    deps.records.save(record);
    if (result.outcome === "succeeded") return done(ExitCode.success, describeMigration(result));
    const restore = (outputs.preReleaseSnapshot as { restoreCommand?: string } | null)?.restoreCommand;
    return done(ExitCode.error, `${describeMigration(result)}; the schema may be half undone: ${restore ? `restore the pre-release snapshot with:\n  ${restore}` : "restore the pre-release snapshot (`pulumi stack output preReleaseSnapshot`)"}`);
}
