// The migration when the world disagrees with the driver's memory: a snapshot that is not available, a task stopped by someone, a driver that dies mid-migration and resumes, a database restored by hand meanwhile.
import * as assert from "assert";
import { RunTaskCommand, StopTaskCommand } from "@aws-sdk/client-ecs";
import { deploy, resume } from "../rollout/driver";
import { ExitCode } from "../rollout/exitCodes";
import { EcsTaskPort } from "../ports/ecsTasks";
import type { DriverDeps } from "../rollout/stages/context";
import { MIGRATION, SUCCEEDS, TASK, TaskScriptState, dieDuringMigration as dieDuring, imageOf, mockDatabase, mockMigrationEcs } from "./fakes/migrationTasks";
import { RELEASE, harness, productionConfig, useSmokeServer } from "./fakes/rollout";

const LISTENER = "aws:lb/listener:Listener";
const SNAPSHOT = "aws:rds/snapshot:Snapshot";
const OLD_IMAGE = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/shop:v1.5.0";

describe("migration against a world that disagrees (ECS and RDS through aws-sdk-client-mock)", function () {
    this.timeout(120_000);
    const smoke = useSmokeServer();

    function migrating(states: readonly TaskScriptState[] = SUCCEEDS) {
        const h = harness({ smokeBaseUrl: smoke.url(), config: productionConfig({ database: { migration: MIGRATION } }) });
        const { ecsClient, ecs } = mockMigrationEcs(h.stack, states);
        const database = mockDatabase();
        const deps: DriverDeps = { ...h.deps, tasks: new EcsTaskPort(ecsClient), database: database.port, migrationPollMs: 30_000 };
        return { ...h, deps, ecs, rds: database.rds, world: database.world };
    }

    /** Nothing moved: no listener update, the candidate on its old image, 100/0, and RDS was only read. */
    async function assertNothingMoved(h: ReturnType<typeof migrating>) {
        for (const up of h.stack.ups) assert.ok(up.changes.steps.every((step) => step.type !== LISTENER), "no update touched the listener");
        assert.deepStrictEqual(h.stack.section("traffic"), { blue: 100, green: 0 });
        assert.strictEqual(await imageOf(h.stack, "shop-green"), OLD_IMAGE, "the candidate never started the release");
        assert.deepStrictEqual([...new Set(h.rds.calls().map((call) => call.args[0].constructor.name))].sort(), ["DescribeDBInstancesCommand", "DescribeDBSnapshotsCommand"], "RDS was only read: no snapshot or database deleted");
        for (const up of h.stack.ups) assert.ok(up.changes.steps.every((step) => !(step.type === SNAPSHOT && step.op.includes("delete") && step.retainOnDelete !== true)), "no snapshot left AWS");
    }

    describe("the snapshot is not available when the migration would start", () => {
        it("still creating: the driver waits, reading RDS every poll, and migrates once it is available", async () => {
            const h = migrating();
            let readings = 0;
            h.world.snapshotStatus = "creating";
            h.world.beforeRead = () => {
                readings += 1;
                if (readings === 3) h.world.snapshotStatus = "available";
            };
            const outcome = await deploy(h.deps, { ...RELEASE, smokeBaseUrl: smoke.url() });
            assert.strictEqual(outcome.exitCode, ExitCode.success, outcome.message);
            const check = outcome.record!.databaseCheck!;
            assert.deepStrictEqual([check.polls, check.verdict, check.snapshotStatus, check.snapshot], [3, "go", "available", "shop-production-pre-v1-6-0"]);
            assert.strictEqual(h.ecs.commandCalls(RunTaskCommand).length, 1);
        });

        it("still creating at database.migration.timeoutMinutes: no migration, no traffic moved, nothing deleted", async () => {
            const h = migrating();
            h.world.snapshotStatus = "creating";
            const outcome = await deploy(h.deps, { ...RELEASE, smokeBaseUrl: smoke.url() });
            assert.strictEqual(outcome.exitCode, ExitCode.rolledBack, outcome.message);
            assert.match(outcome.message, /the migration did not run: the pre-release snapshot shop-production-pre-v1-6-0 is still creating \(40%\) after 21 reading\(s\), past database\.migration\.timeoutMinutes\. No traffic moved; nothing was deleted/);
            assert.strictEqual(h.ecs.commandCalls(RunTaskCommand).length, 0);
            assert.strictEqual(outcome.record!.migration, undefined);
            await assertNothingMoved(h);
        });

        for (const [name, world, reason] of [
            ["deleted by hand", { snapshotStatus: undefined }, /the pre-release snapshot shop-production-pre-v1-6-0 does not exist in RDS \(deleted by hand\?\); no migration runs without its backup/],
            ["failed", { snapshotStatus: "failed" }, /the pre-release snapshot shop-production-pre-v1-6-0 is failed, not available; no migration runs without its backup/],
            ["of a stopped database", { instanceStatus: "stopped" }, /the database shop-production is stopped, not available/],
        ] as const) {
            it(`${name}: stops at the first reading, before RunTask`, async () => {
                const h = migrating();
                Object.assign(h.world, world);
                const outcome = await deploy(h.deps, { ...RELEASE, smokeBaseUrl: smoke.url() });
                assert.strictEqual(outcome.exitCode, ExitCode.rolledBack, outcome.message);
                assert.match(outcome.message, reason);
                assert.strictEqual(outcome.record!.databaseCheck?.polls, 1);
                assert.strictEqual(h.ecs.commandCalls(RunTaskCommand).length, 0);
                await assertNothingMoved(h);
            });
        }
    });

    it("a database restored by hand between the snapshot and the migration (a new DbiResourceId under the same name) is never migrated", async () => {
        const h = migrating();
        h.world.resourceId = "db-RESTORED2XM";
        const outcome = await deploy(h.deps, { ...RELEASE, smokeBaseUrl: smoke.url() });
        assert.strictEqual(outcome.exitCode, ExitCode.rolledBack, outcome.message);
        assert.match(outcome.message, /the database shop-production \(DbiResourceId db-RESTORED2XM\) is not the instance the pre-release snapshot shop-production-pre-v1-6-0 was taken of \(db-ORIGINAL7KQ\): it was restored or replaced by hand/);
        assert.strictEqual(h.ecs.commandCalls(RunTaskCommand).length, 0);
        await assertNothingMoved(h);
    });

    it("a migration task someone stopped is a failure even when the container exited 0", async () => {
        const h = migrating([{ lastStatus: "RUNNING" }, { lastStatus: "STOPPED", exitCode: 0, stopCode: "UserInitiated", stoppedReason: "Task stopped by user" }]);
        const outcome = await deploy(h.deps, { ...RELEASE, smokeBaseUrl: smoke.url() });
        assert.strictEqual(outcome.exitCode, ExitCode.rolledBack, outcome.message);
        assert.match(outcome.message, /migration up failed, exit code 0 in 30 s \(stopped by someone before it finished \(UserInitiated: Task stopped by user\)\); logs: \S+\. No traffic moved\. The database may be partly migrated; restore the pre-release snapshot/);
        assert.deepStrictEqual([outcome.record!.migration?.outcome, outcome.record!.stableSoak], ["failed", undefined]);
        assert.strictEqual(h.ecs.commandCalls(StopTaskCommand).length, 0, "shiftwise did not stop it");
        await assertNothingMoved(h);
    });

    describe("the driver dies mid-migration", () => {
        const dieDuringMigration = (h: ReturnType<typeof migrating>) => dieDuring(h, (deps) => deploy(deps, { ...RELEASE, smokeBaseUrl: smoke.url() }));

        it("the record names the running task; resume re-attaches to it instead of migrating twice, then soaks and releases", async () => {
            const h = migrating();
            const left = await dieDuringMigration(h);
            assert.deepStrictEqual([left.status, left.migration?.outcome, left.migration?.taskArn], ["in-progress", "running", TASK]);
            const outcome = await resume(h.deps, undefined, { smokeBaseUrl: smoke.url() });
            assert.strictEqual(outcome.exitCode, ExitCode.success, outcome.message);
            assert.strictEqual(h.ecs.commandCalls(RunTaskCommand).length, 1, "RunTask once, by the driver that died");
            const record = outcome.record!;
            assert.deepStrictEqual([record.migration?.outcome, record.migration?.taskArn, record.stableSoak?.outcome, record.resumes?.length], ["succeeded", TASK, "ok", 1]);
            assert.deepStrictEqual(h.stack.section("traffic"), { blue: 0, green: 100 });
            assert.strictEqual(await imageOf(h.stack, "shop-green"), RELEASE.image);
        });

        it("a database restored by hand while the driver was dead: resume stops the recorded task and the release, moving no traffic", async () => {
            const h = migrating();
            await dieDuringMigration(h);
            h.world.resourceId = "db-RESTORED2XM";
            const outcome = await resume(h.deps, undefined, { smokeBaseUrl: smoke.url() });
            assert.strictEqual(outcome.exitCode, ExitCode.rolledBack, outcome.message);
            assert.match(outcome.message, /it was restored or replaced by hand\. No traffic moved; nothing was deleted/);
            assert.strictEqual(h.ecs.commandCalls(RunTaskCommand).length, 1);
            const stops = h.ecs.commandCalls(StopTaskCommand).map((call) => call.args[0].input);
            assert.deepStrictEqual(stops.map((input) => input.task), [TASK], "the task the dead driver started was stopped");
            assert.match(String(stops[0].reason), /^shiftwise\/production\/v1\.6\.0: the migration did not run: the database shop-production/);
            assert.strictEqual(outcome.record!.status, "rolled-back");
            await assertNothingMoved(h);
        });

        it("a task that failed while the driver was dead stops the release on resume", async () => {
            const h = migrating([{ lastStatus: "STOPPED", exitCode: 3, stoppedReason: "Essential container in task exited" }]);
            await dieDuringMigration(h);
            const outcome = await resume(h.deps, undefined, { smokeBaseUrl: smoke.url() });
            assert.strictEqual(outcome.exitCode, ExitCode.rolledBack, outcome.message);
            assert.match(outcome.message, /migration up failed, exit code 3/);
            assert.strictEqual(h.ecs.commandCalls(RunTaskCommand).length, 1);
            await assertNothingMoved(h);
        });
    });
});
