// The rollout pipeline: runs the stages after pre-flight in order, then pauses, rolls back or finishes.
import { ExitCode } from "../exitCodes";
import { holdBehindPage } from "../maintenanceHold";
import { pageMustStay } from "../pageRule";
import { startedBy } from "../records";
import { restoreCheckpoint, rollbackFailureMessage } from "../rollback";
import { DriverOutcome, Paused, RolloutContext, Stage, interruptedReason } from "./context";
import { finishStage, scaleDownStage, watchStage } from "./finish";

/**
 * Runs `stages` in order after the record is saved. A `Paused` stage stops for
 * a human (exit 5); any other failure restores the checkpoint (exit 4, or 6
 * when the rollback fails); when every stage passed, `finish` records success.
 * Other stages (migration, lease) are inserted by adding them to the list the
 * caller passes: see `deployStages` in driver.ts.
 */
export async function runPipeline(context: RolloutContext, stages: readonly Stage[]): Promise<DriverOutcome> {
    const { deps, record } = context;
    const file = deps.records.save(record);
    try {
        for (const stage of [...stages, watchStage]) await stage.run(context);
    } catch (error) {
        if (error instanceof Paused) {
            record.status = "paused";
            const last = record.steps[record.steps.length - 1];
            record.pause ??= { afterPercent: last?.traffic[context.candidate] ?? 0, reason: error.message, at: deps.clock.now().toISOString() };
            deps.records.save(record);
            return { exitCode: ExitCode.paused, message: `${error.message}; continue with \`shiftwise resume --stack ${record.stack}\` or undo with \`shiftwise rollback --stack ${record.stack}\``, record, recordFile: file };
        }
        const reason = deps.signal?.aborted ? interruptedReason(error) : error instanceof Error ? error.message : String(error);
        record.error = reason;
        if (pageMustStay(record)) {
            // Not backwards compatible, and the migration may have run: the old colour's traffic is not restored; the page stays up.
            const held = await holdBehindPage({ ...deps, by: startedBy(deps.env ?? {}) }, record, reason);
            context.finishRecord();
            return { exitCode: held.exitCode, message: held.message, record, recordFile: file };
        }
        try {
            await restoreCheckpoint(deps, record, reason, "driver");
            record.status = "rolled-back";
            context.finishRecord();
            return { exitCode: ExitCode.rolledBack, message: `rolled back to the checkpoint: ${reason}`, record, recordFile: file };
        } catch (rollbackError) {
            record.status = "rollback-failed";
            context.finishRecord();
            return { exitCode: ExitCode.rollbackFailed, message: `${reason}\n${rollbackFailureMessage(rollbackError)}`, record, recordFile: file };
        }
    }
    await scaleDownStage.run(context);
    await finishStage.run(context);
    return { exitCode: ExitCode.success, message: `${record.version} is live on ${context.candidate}`, record, recordFile: file };
}
