// A release given up while its migration task still runs (an abort request, SIGINT, `shiftwise rollback` after the driver died), and `resume` when ECS disagrees with the record: ECS through aws-sdk-client-mock.
import * as assert from "assert";
import { RunTaskCommand, StopTaskCommand } from "@aws-sdk/client-ecs";
import { deploy, resume } from "../rollout/driver";
import { ExitCode } from "../rollout/exitCodes";
import { runLeased } from "../rollout/ledgerSession";
import { downMigrationProblem, rollbackThenMigrateDown } from "../rollout/migrationDown";
import { startedBy } from "../rollout/records";
import { sendRequest } from "../rollout/requests";
import { rollbackCommand } from "../rollout/rollback";
import { shiftwiseConfig } from "../rollout/stackView";
import type { DriverDeps } from "../rollout/stages/context";
import { EcsTaskPort } from "../ports/ecsTasks";
import { MIGRATION, SUCCEEDS, TASK, TaskScriptState, dieDuringMigration, imageOf, mockDatabase, mockMigrationEcs } from "./fakes/migrationTasks";
import { MemoryLedger } from "./fakes/memoryLedger";
import { RELEASE, harness, productionConfig, useSmokeServer } from "./fakes/rollout";

const SNAPSHOT = "aws:rds/snapshot:Snapshot";
const SNAPSHOT_ID = "shop-production-pre-v1-6-0";
const OLD_IMAGE = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/shop:v1.5.0";
const ONCALL = { user: "oncall", host: "laptop-7" };
const HALF_MIGRATED = new RegExp(
    `the schema may be half-migrated; restore the pre-release snapshot ${SNAPSHOT_ID} with:\\n  aws rds restore-db-instance-from-db-snapshot .*--db-snapshot-identifier ${SNAPSHOT_ID} .*\\nor undo the migration: shiftwise rollback --stack production --migrate-down\\nmigration logs: https://eu-west-1\\.console\\.aws\\.amazon\\.com/`,
);

describe("a migration task that outlives its release (ECS through aws-sdk-client-mock)", function () {
    this.timeout(120_000);
    const smoke = useSmokeServer();

    /** A migrating release whose task runs until it is stopped (or forever, with `ignoresStop`). */
    function migrating(states: readonly TaskScriptState[] = [{ lastStatus: "RUNNING" }], options: { ignoresStop?: boolean } = {}) {
        const h = harness({ smokeBaseUrl: smoke.url(), config: productionConfig({ database: { migration: { ...MIGRATION, timeoutMinutes: 30 } } }) });
        const { ecsClient, ecs } = mockMigrationEcs(h.stack, states, options);
        const database = mockDatabase();
        const deps: DriverDeps = { ...h.deps, tasks: new EcsTaskPort(ecsClient), database: database.port, migrationPollMs: 30_000 };
        return { ...h, deps, ecs };
    }

    const stops = (h: ReturnType<typeof migrating>) => h.ecs.commandCalls(StopTaskCommand).map((call) => call.args[0].input);
    const cluster = async (h: ReturnType<typeof migrating>) => ((await h.stack.outputs()).migration as { clusterArn: string }).clusterArn;

    /** A deploy whose driver "dies" once the record holds the running task. */
    const dieDeploying = (h: ReturnType<typeof migrating>) => dieDuringMigration(h, (deps) => deploy(deps, { ...RELEASE, smokeBaseUrl: smoke.url() }));

    /** The pre-release snapshot is still in the stack (and so in AWS), no update deleted one, and no traffic moved. */
    async function assertSnapshotKept(h: ReturnType<typeof migrating>) {
        const snapshots = (await h.stack.deployed()).resources.filter((resource) => resource.type === SNAPSHOT).map((resource) => String(resource.inputs.dbSnapshotIdentifier));
        assert.ok(snapshots.includes(SNAPSHOT_ID), JSON.stringify(snapshots));
        // An older snapshot may leave the stack, but only retained (retainOnDelete): it stays in AWS.
        for (const up of h.stack.ups) assert.ok(up.changes.steps.every((step) => !(step.type === SNAPSHOT && step.op.includes("delete") && step.retainOnDelete !== true)), "no snapshot left AWS");
        assert.strictEqual((h.stack.section("database") as { preReleaseSnapshot?: string }).preReleaseSnapshot, "v1.6.0", "the snapshot label survives the rollback");
        assert.deepStrictEqual(h.stack.section("traffic"), { blue: 100, green: 0 });
        assert.strictEqual(await imageOf(h.stack, "shop-green"), OLD_IMAGE, "the candidate never started the release");
    }

    /** A leased deploy whose migration task gets an abort request from alice ("wrong build") as soon as RunTask returned. */
    function deployAbortedByAlice(h: ReturnType<typeof migrating>) {
        const ledger = new MemoryLedger();
        h.ecs.on(RunTaskCommand).callsFake(async () => {
            await sendRequest(ledger, h.clock, { kind: "abort", reason: "wrong build", by: "alice" });
            return { tasks: [{ taskArn: TASK }], failures: [] };
        });
        return runLeased(h.deps, { ledger, command: "deploy", owner: "ci" }, (deps) => deploy(deps, { ...RELEASE, smokeBaseUrl: smoke.url() }));
    }

    it("an abort request while the task runs: StopTask naming the release and who aborted, the wait for STOPPED, then the rollback; the record says so", async () => {
        const h = migrating();
        const outcome = await deployAbortedByAlice(h);
        assert.strictEqual(outcome.exitCode, ExitCode.rolledBack, outcome.message);
        assert.deepStrictEqual(stops(h), [{ cluster: await cluster(h), task: TASK, reason: "shiftwise/production/v1.6.0: abort requested by alice: wrong build" }]);
        assert.match(outcome.message, /^rolled back to the checkpoint: abort requested by alice: wrong build\. migration up interrupted in \d+ s \(stopped by the driver: abort requested by alice: wrong build; StopTask sent; ECS showed it STOPPED after 0 s \(exit code 143\)\); logs: \S+\. No traffic moved\. The database may be partly migrated; restore the pre-release snapshot shop-production-pre-v1-6-0 with:\n  aws rds restore-db-instance-from-db-snapshot /);
        assert.match(outcome.message, /\nor undo the migration: shiftwise rollback --stack production --migrate-down\n/);
        const record = h.records.read(outcome.recordFile!);
        assert.deepStrictEqual(
            [record.status, record.migration?.outcome, record.migration?.lastStatus, record.migration?.stop?.confirmed, record.migration?.stop?.exitCode, record.migration?.stop?.reason],
            ["rolled-back", "interrupted", "STOPPED", true, 143, "shiftwise/production/v1.6.0: abort requested by alice: wrong build"],
        );
        // The rollback began only after ECS showed the task stopped.
        assert.ok(record.rollbacks[0].startedAt >= record.migration!.finishedAt, `${record.rollbacks[0].startedAt} < ${record.migration!.finishedAt}`);
        assert.strictEqual(record.stages.find((stage) => stage.name === "migration")?.outcome, "failed");
        assert.strictEqual(h.ecs.commandCalls(RunTaskCommand).length, 1, "no down-migration by itself");
        await assertSnapshotKept(h);
    });

    it("a task that ignores StopTask: the wait is bounded, the record says it may still run, and the rollback still happens", async () => {
        const h = migrating([{ lastStatus: "RUNNING" }], { ignoresStop: true });
        const outcome = await deployAbortedByAlice(h);
        assert.strictEqual(outcome.exitCode, ExitCode.rolledBack, outcome.message);
        assert.match(outcome.message, /StopTask sent; still RUNNING after 180 s: it may still be running\); logs: \S+\. No traffic moved\. The database may be partly migrated; restore the pre-release snapshot/);
        const stop = h.records.read(outcome.recordFile!).migration!.stop!;
        assert.deepStrictEqual([stop.confirmed, stop.lastStatus, stop.waitedSeconds], [false, "RUNNING", 180]);
        await assertSnapshotKept(h);
    });

    it("SIGINT while the task runs: StopTask naming the signal and who runs the driver, and the interrupt's message keeps the restore command", async () => {
        const h = migrating();
        h.ecs.on(RunTaskCommand).callsFake(async () => {
            h.clock.onSleep = () => h.controller.abort(new Error("SIGINT"));
            return { tasks: [{ taskArn: TASK }], failures: [] };
        });
        const outcome = await deploy(h.deps, { ...RELEASE, smokeBaseUrl: smoke.url() });
        assert.strictEqual(outcome.exitCode, ExitCode.rolledBack, outcome.message);
        const runner = startedBy(h.deps.env ?? {});
        const reason = `shiftwise/production/v1.6.0: interrupted by SIGINT to the driver run by ${runner.user}@${runner.host}`;
        assert.deepStrictEqual(stops(h), [{ cluster: await cluster(h), task: TASK, reason }]);
        assert.ok(outcome.message.startsWith(`rolled back to the checkpoint: interrupted by a signal: migration up interrupted in 30 s (interrupted by SIGINT to the driver run by ${runner.user}@${runner.host}; StopTask sent; ECS showed it STOPPED after 0 s (exit code 143))`), outcome.message);
        assert.match(outcome.message, /No traffic moved\. The database may be partly migrated; restore the pre-release snapshot shop-production-pre-v1-6-0 with:\n  aws rds /);
        const record = h.records.read(outcome.recordFile!);
        assert.strictEqual(record.rollbacks[0].reason, outcome.message.replace("rolled back to the checkpoint: ", ""));
        assert.deepStrictEqual([record.migration?.outcome, record.migration?.stop?.confirmed, record.stages.find((stage) => stage.name === "migration")?.outcome], ["interrupted", true, "interrupted"]);
        await assertSnapshotKept(h);
    });

    describe("`shiftwise rollback` after the driver died with the task running", () => {
        it("stops the task first (the release and who asked), waits for STOPPED, records it, then restores the checkpoint; the snapshot stays", async () => {
            const h = migrating();
            const left = await dieDeploying(h);
            const outcome = await rollbackCommand({ ...h.deps, by: { ...ONCALL } }, h.records.fileOf(left));
            assert.strictEqual(outcome.exitCode, ExitCode.success, outcome.message);
            assert.deepStrictEqual(stops(h), [{ cluster: await cluster(h), task: TASK, reason: "shiftwise/production/v1.6.0: rollback requested by oncall" }]);
            assert.ok(outcome.message.startsWith(`rolled back to the checkpoint of ${left.id}\nthe migration task ${TASK} of v1.6.0 was still running: stopped by the rollback oncall requested; StopTask sent; ECS showed it STOPPED after 0 s (exit code 143); `), outcome.message);
            assert.match(outcome.message, HALF_MIGRATED);
            const record = h.records.read(h.records.fileOf(left));
            assert.deepStrictEqual(
                [record.status, record.migration?.outcome, record.migration?.exitCode, record.migration?.stop?.confirmed, record.migration?.reason],
                ["rolled-back", "interrupted", 143, true, "stopped by the rollback oncall requested; StopTask sent; ECS showed it STOPPED after 0 s (exit code 143)"],
            );
            assert.ok(record.rollbacks[0].startedAt >= record.migration!.finishedAt, "the checkpoint was restored after the stop");
            await assertSnapshotKept(h);
        });

        it("a task that had ended by itself is judged by its exit code, not stopped", async () => {
            const h = migrating(SUCCEEDS.slice(1));
            const left = await dieDeploying(h);
            const outcome = await rollbackCommand({ ...h.deps, by: { ...ONCALL } }, h.records.fileOf(left));
            assert.strictEqual(outcome.exitCode, ExitCode.success, outcome.message);
            assert.deepStrictEqual(stops(h), [], "nothing to stop");
            assert.match(outcome.message, new RegExp(`the migration task ${TASK} of v1\\.6\\.0, recorded as running, had ended: migration up succeeded, exit code 0 in \\d+ s \\(Essential container in task exited\\); logs: \\S+; the database holds the new schema; restore the pre-release snapshot`));
            const record = h.records.read(h.records.fileOf(left));
            assert.deepStrictEqual([record.migration?.outcome, record.migration?.exitCode, record.migration?.stop], ["succeeded", 0, undefined]);
        });

        it("without a task runner it cannot stop the task: the rollback goes on and says how to stop it by hand", async () => {
            const h = migrating();
            const left = await dieDeploying(h);
            const outcome = await rollbackCommand({ ...h.deps, tasks: undefined, by: { ...ONCALL } }, h.records.fileOf(left));
            assert.strictEqual(outcome.exitCode, ExitCode.success, outcome.message);
            assert.match(outcome.message, new RegExp(`the migration task ${TASK} of v1\\.6\\.0 may still be running and cannot be stopped from here \\(no task runner\\): stop it with \`aws ecs stop-task --cluster ${await cluster(h)} --task ${TASK}\`; the schema may be half-migrated`));
            assert.strictEqual(h.records.read(h.records.fileOf(left)).migration?.outcome, "running", "the record does not pretend it stopped");
        });

        it("--migrate-down refuses the down command while ECS still shows the up task running, whatever the record says", async () => {
            const h = migrating([{ lastStatus: "RUNNING" }], { ignoresStop: true });
            const left = await dieDeploying(h);
            const outcome = await rollbackThenMigrateDown({ ...h.deps, migrationStopWaitMs: 60_000, by: { ...ONCALL } }, h.records.fileOf(left));
            assert.strictEqual(outcome.exitCode, ExitCode.refused, outcome.message);
            assert.match(outcome.message, new RegExp(`still RUNNING after 60 s: it may still be running; .*the up-migration task ${TASK} is still RUNNING, and a down-migration beside it would fight it: stop it \\(\`aws ecs stop-task --cluster \\S+ --task ${TASK}\`\\) and wait until it is STOPPED, then run \`shiftwise rollback --stack production --migrate-down\` again; the down-migration did not run$`, "s"));
            assert.deepStrictEqual(h.ecs.commandCalls(RunTaskCommand).map((call) => call.args[0].input.overrides?.containerOverrides?.[0].command), [["npm", "run", "migrate"]], "the down command never ran");
            assert.strictEqual(h.records.read(h.records.fileOf(left)).status, "rolled-back");
        });
    });

    describe("`shiftwise resume` when ECS disagrees with the record (the driver died while the task ran)", () => {
        it("the task is gone from ECS (DescribeTasks: MISSING): not trusted, not re-run, the release stops with the restore command", async () => {
            const h = migrating([{ lastStatus: "STOPPED", gone: true }]);
            await dieDeploying(h);
            const outcome = await resume(h.deps, undefined, { smokeBaseUrl: smoke.url() });
            assert.strictEqual(outcome.exitCode, ExitCode.rolledBack, outcome.message);
            assert.match(outcome.message, new RegExp(`migration up lost in \\d+ s \\(could not read the task 5 times in a row \\(ECS does not know the task ${TASK} \\(it shows stopped tasks for about an hour, so its exit code cannot be read\\)\\); StopTask sent; the task is no longer known, so it does not run there\\); logs: \\S+\\. No traffic moved\\. The database may be partly migrated; restore the pre-release snapshot ${SNAPSHOT_ID} with:`));
            assert.strictEqual(h.ecs.commandCalls(RunTaskCommand).length, 1, "RunTask once, by the driver that died");
            const record = outcome.record!;
            assert.deepStrictEqual([record.migration?.outcome, record.migration?.stop?.unknownToEcs, record.status], ["lost", true, "rolled-back"]);
            assert.strictEqual(downMigrationProblem(shiftwiseConfig(await h.stack.getAllConfig()), record, h.deps), undefined, "a lost migration may have run: --migrate-down stays possible");
            await assertSnapshotKept(h);
        });

        it("the task is gone and the driver comes back after the timeout: lost (it may have run), not never-started", async () => {
            const h = migrating([{ lastStatus: "STOPPED", gone: true }]);
            await dieDeploying(h);
            await h.clock.sleep(45 * 60_000);
            const outcome = await resume(h.deps, undefined, { smokeBaseUrl: smoke.url() });
            assert.strictEqual(outcome.exitCode, ExitCode.rolledBack, outcome.message);
            assert.match(outcome.message, /migration up lost in \d+ s \(never read after 30 min \(ECS does not know the task \S+ \(it shows stopped tasks for about an hour, so its exit code cannot be read\)\): it may have run, and may still run; StopTask sent; the task is no longer known, so it does not run there\)/);
            const record = outcome.record!;
            assert.strictEqual(record.migration?.outcome, "lost");
            assert.strictEqual(downMigrationProblem(shiftwiseConfig(await h.stack.getAllConfig()), record, h.deps), undefined, "not refused as 'never ran'");
        });

        it("someone stopped the task in the console (UserInitiated) while the driver was dead: failed even with exit 0; shiftwise stops nothing", async () => {
            const h = migrating([{ lastStatus: "STOPPED", exitCode: 0, stopCode: "UserInitiated", stoppedReason: "Task stopped by user" }]);
            await dieDeploying(h);
            const outcome = await resume(h.deps, undefined, { smokeBaseUrl: smoke.url() });
            assert.strictEqual(outcome.exitCode, ExitCode.rolledBack, outcome.message);
            assert.match(outcome.message, /migration up failed, exit code 0 in \d+ s \(stopped by someone before it finished \(UserInitiated: Task stopped by user\)\); logs: \S+\. No traffic moved\. The database may be partly migrated; restore the pre-release snapshot/);
            assert.deepStrictEqual(stops(h), []);
            assert.deepStrictEqual([outcome.record!.migration?.outcome, outcome.record!.stableSoak], ["failed", undefined]);
            await assertSnapshotKept(h);
        });
    });
});
