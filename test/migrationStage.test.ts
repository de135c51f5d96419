// The migration stages' own decisions, with small fakes of the ports: which stages a release runs, what a stack without a complete migration output or snapshot identifier is told, and a resumed release whose migration already succeeded.
import * as assert from "assert";
import type { StackConfig } from "../config";
import type { MigrationResult } from "../rollout/migration";
import type { DeploymentRecord } from "../rollout/records";
import { silentReporter } from "../rollout/reporter";
import type { RolloutContext } from "../rollout/stages/context";
import { migrationStages, migrationTarget, resumedMigrationStages } from "../rollout/stages/migrate";
import type { TaskPort } from "../ports/tasks";
import { FakeClock } from "./fakes/fakeClock";

const MIGRATION = { command: ["npm", "run", "migrate"], timeoutMinutes: 10, stableSoakMinutes: 5 };
const RELEASE = { version: "v1.6.0", image: "shop:v1.6.0" };
const ECS_OUTPUT = {
    family: "shop-migration",
    clusterArn: "arn:aws:ecs:eu-west-1:123456789012:cluster/shop",
    subnetIds: ["subnet-0aaaaaaaaaaaaaaaa"],
    securityGroupId: "sg-0123456789abcdef0",
    logGroupName: "/shiftwise/production/shop/migration",
    logStreamPrefix: "migration",
    containerName: "migrate",
};

function configWith(migration?: Record<string, unknown>): StackConfig {
    return { service: { name: "shop" }, rollout: { pollSeconds: 30 }, database: migration ? { migration } : {} } as unknown as StackConfig;
}

/** A context whose stack has `outputs` and `aws:region` (unless `region` is undefined), RDS says all is available, and RunTask is counted. */
function fakeContext(outputs: Record<string, unknown>, options: { region?: string | null; previous?: MigrationResult } = {}) {
    const runs: string[] = [];
    const tasks: TaskPort = {
        runTask: async () => {
            runs.push("RunTask");
            return "arn:aws:ecs:eu-west-1:123456789012:task/shop/abc";
        },
        describeTask: async (_cluster, taskArn) => ({ taskArn, lastStatus: "STOPPED", exitCode: 0, startedAt: new Date() }),
        stopTask: async () => undefined,
    };
    const region = options.region === undefined ? "eu-west-1" : options.region;
    const record = { id: "r-1", stack: "production", stages: [], migration: options.previous } as unknown as DeploymentRecord;
    const context = {
        deps: {
            stack: { outputs: async () => outputs, getAllConfig: async () => (region === null ? {} : { "aws:region": { value: region } }) },
            clock: new FakeClock(),
            records: { save: () => "r-1.json" },
            reporter: silentReporter,
            tasks,
            database: {
                snapshot: async () => ({ status: "available", sourceResourceId: "db-1" }),
                instance: async () => ({ status: "available", resourceId: "db-1" }),
            },
        },
        config: configWith(MIGRATION),
        record,
        stage: async (_name: string, body: () => Promise<string>) => {
            stageLines.push(await body());
        },
        poll: async () => undefined,
        sleep: async () => undefined,
    } as unknown as RolloutContext;
    const stageLines: string[] = [];
    return { context, runs, stageLines, record };
}

describe("migration stages (small fakes)", () => {
    it("a stack without database.migration runs none; with it, snapshot, migration and stable soak (resumed: migration and soak)", () => {
        assert.deepStrictEqual(migrationStages(configWith(), RELEASE, {}), []);
        assert.deepStrictEqual(resumedMigrationStages(configWith(), RELEASE), []);
        assert.deepStrictEqual(migrationStages({ service: { name: "shop" } } as unknown as StackConfig, RELEASE, {}), [], "no database section at all");
        assert.deepStrictEqual(resumedMigrationStages({ service: { name: "shop" } } as unknown as StackConfig, RELEASE), []);
        assert.deepStrictEqual(migrationStages(configWith(MIGRATION), RELEASE, {}).map((stage) => stage.name), ["snapshot", "migration", "stable soak"]);
        assert.deepStrictEqual(resumedMigrationStages(configWith(MIGRATION), RELEASE).map((stage) => stage.name), ["migration", "stable soak"]);
    });

    describe("migrationTarget: the stack's migration output, or what to do when it is incomplete", () => {
        const fix = "run `pulumi up` so the migration output exists, then deploy again";
        for (const [name, outputs, region, message] of [
            ["no migration output", {}, "eu-west-1", `the stack outputs have no complete migration task (missing family, clusterArn, subnetIds, securityGroupId, logGroupName, logStreamPrefix, containerName); ${fix}`],
            ["a null migration output", { migration: null }, "eu-west-1", `the stack outputs have no complete migration task (missing family, clusterArn, subnetIds, securityGroupId, logGroupName, logStreamPrefix, containerName); ${fix}`],
            ["one key missing", { migration: { ...ECS_OUTPUT, logGroupName: undefined } }, "eu-west-1", `the stack outputs have no complete migration task (missing logGroupName); ${fix}`],
            ["no aws:region", { migration: ECS_OUTPUT }, null, `the stack outputs have no complete migration task (missing aws:region); ${fix}`],
            ["a Kubernetes output without its namespace", { migration: { platform: "kubernetes", jobTemplate: "shop-migration", containerName: "migrate" } }, "eu-west-1", `the stack outputs have no complete migration job template (missing namespace); ${fix}`],
        ] as const) {
            it(`${name}: refuses, naming what is missing`, async () => {
                const { context } = fakeContext(outputs as Record<string, unknown>, { region });
                await assert.rejects(migrationTarget(context, outputs as Record<string, unknown>), (error: Error) => {
                    assert.strictEqual(error.message, message);
                    return true;
                });
            });
        }

        it("a complete output: where RunTask (or the Job) starts", async () => {
            const { context } = fakeContext({});
            assert.deepStrictEqual(await migrationTarget(context, { migration: ECS_OUTPUT }), {
                cluster: ECS_OUTPUT.clusterArn,
                family: "shop-migration",
                containerName: "migrate",
                subnetIds: ECS_OUTPUT.subnetIds,
                securityGroupId: ECS_OUTPUT.securityGroupId,
                logGroupName: ECS_OUTPUT.logGroupName,
                logStreamPrefix: "migration",
                region: "eu-west-1",
            });
            assert.deepStrictEqual(await migrationTarget(context, { migration: { platform: "kubernetes", namespace: "shop", jobTemplate: "shop-migration", containerName: "migrate" } }), {
                platform: "kubernetes",
                cluster: "shop",
                family: "shop-migration",
                containerName: "migrate",
                subnetIds: [],
                region: "eu-west-1",
            });
        });
    });

    describe("the snapshot stage", () => {
        const URN = "urn:pulumi:production::shop::";
        const step = (op: string, type: string, chain: string, extra: Record<string, unknown> = {}) => ({ op, type, urn: `${URN}${chain}`, diffs: [], ...extra });
        const SNAPSHOT_STEP = step("create", "aws:rds/snapshot:Snapshot", "shiftwise:data:SnapshotBackup$aws:rds/snapshot:Snapshot::shop-pre-v1-6-0");
        const OLD_SNAPSHOT_KEPT = step("delete", "aws:rds/snapshot:Snapshot", "shiftwise:data:SnapshotBackup$aws:rds/snapshot:Snapshot::shop-pre-v1-5-0", { retainOnDelete: true });
        const TASK_STEP = step("update", "aws:ecs/taskDefinition:TaskDefinition", "shiftwise:data:MigrationTask$aws:ecs/taskDefinition:TaskDefinition::shop-migration");
        const LISTENER_STEP = step("update", "aws:lb/listener:Listener", "shiftwise:traffic:WeightedListener$aws:lb/listener:Listener::shop-forward", { diffs: ["defaultActions"] });

        /** A stack whose preview shows `preview` and whose targeted up applies `applied`; writes and ups are recorded. */
        function snapshotContext(preview: unknown[], applied: unknown[], outputs: Record<string, unknown>) {
            const calls: string[] = [];
            const { context, stageLines } = fakeContext(outputs);
            Object.assign((context.deps as unknown as { stack: Record<string, unknown> }).stack, {
                getAllConfig: async () => ({ "aws:region": { value: "eu-west-1" } }),
                preview: async () => ({ steps: preview }),
                setConfig: async () => void calls.push("setConfig"),
                removeConfig: async () => void calls.push("removeConfig"),
                up: async (options: { targets: string[] }) => {
                    calls.push(`up ${options.targets.length}`);
                    return { steps: applied };
                },
            });
            Object.assign(context, { interruptible: async <T>(operation: Promise<T>) => operation });
            const stage = migrationStages(configWith(MIGRATION), RELEASE, { "shiftwise:database": { value: JSON.stringify({ preReleaseSnapshot: "v1.6.0" }) } })[0];
            return { context, calls, stageLines, stage };
        }

        it("applies only the snapshot and the migration task, targeted, and says what exists", async () => {
            const outputs = { preReleaseSnapshot: { identifier: "shop-production-pre-v1-6-0" }, migration: { family: "shop-migration", image: "shop:v1.6.0" } };
            const { context, calls, stageLines, stage } = snapshotContext([SNAPSHOT_STEP, OLD_SNAPSHOT_KEPT, TASK_STEP], [SNAPSHOT_STEP, OLD_SNAPSHOT_KEPT, TASK_STEP], outputs);
            await stage.run(context);
            assert.deepStrictEqual(calls, ["setConfig", "up 3"]);
            assert.deepStrictEqual(stageLines, ["snapshot shop-production-pre-v1-6-0 exists; migration task shop-migration runs shop:v1.6.0; 3 resource(s) changed"]);
        });

        it("without the outputs, the line says what is missing; with nothing to change, no up runs", async () => {
            const { context, calls, stageLines, stage } = snapshotContext([], [], {});
            await stage.run(context);
            assert.deepStrictEqual(calls, ["setConfig"]);
            assert.deepStrictEqual(stageLines, ["snapshot (no preReleaseSnapshot output) exists; migration task (no migration output) runs ?; 0 resource(s) changed"]);
        });

        it("a preview beyond the snapshot and the migration task (the listener, an old snapshot deleted without retain) refuses before the write", async () => {
            const dropped = step("delete", "aws:rds/snapshot:Snapshot", "shiftwise:data:SnapshotBackup$aws:rds/snapshot:Snapshot::shop-pre-v1-4-0");
            const { context, calls, stage } = snapshotContext([SNAPSHOT_STEP, LISTENER_STEP, dropped], [], {});
            await assert.rejects(stage.run(context), (error: Error) => {
                assert.strictEqual(error.message, `the snapshot update would change more than the snapshot and the migration task: update ${LISTENER_STEP.urn} (defaultActions); delete ${dropped.urn}`);
                return true;
            });
            assert.deepStrictEqual(calls, [], "nothing written, nothing applied");
        });

        it("an update that changed what it had not previewed fails the stage", async () => {
            const { context, stage } = snapshotContext([SNAPSHOT_STEP], [SNAPSHOT_STEP, LISTENER_STEP], {});
            await assert.rejects(stage.run(context), (error: Error) => {
                assert.strictEqual(error.message, `the snapshot update changed resources it had not previewed: update ${LISTENER_STEP.urn} (defaultActions)`);
                return true;
            });
        });
    });

    describe("the migration stage", () => {
        const migrationStage = () => migrationStages(configWith(MIGRATION), RELEASE, {})[1];
        const complete = { migration: ECS_OUTPUT, preReleaseSnapshot: { identifier: "shop-production-pre-v1-6-0" }, database: { identifier: "shop-production" } };

        for (const [name, outputs, missing] of [
            ["no pre-release snapshot identifier", { ...complete, preReleaseSnapshot: null }, "pre-release snapshot"],
            ["no database identifier", { ...complete, database: {} }, "database"],
            ["neither", { migration: ECS_OUTPUT }, "pre-release snapshot"],
        ] as const) {
            it(`${name} in the outputs: refuses before RunTask, saying why`, async () => {
                const { context, runs } = fakeContext(outputs as Record<string, unknown>);
                await assert.rejects(migrationStage().run(context), (error: Error) => {
                    assert.strictEqual(error.message, `the stack outputs name no ${missing} identifier, so the backup cannot be checked before the migration; run \`pulumi up\` once, then deploy again`);
                    return true;
                });
                assert.deepStrictEqual(runs, []);
            });
        }

        it("runs the task once the backup checks out, and says so", async () => {
            const { context, runs, stageLines, record } = fakeContext(complete);
            await migrationStage().run(context);
            assert.deepStrictEqual(runs, ["RunTask"]);
            assert.deepStrictEqual([record.migration?.outcome, record.databaseCheck?.verdict], ["succeeded", "go"]);
            assert.match(stageLines[0], /^migration up succeeded, exit code 0 in 0 s; logs: https:\/\/eu-west-1\.console\.aws\.amazon\.com\//);
        });

        it("resumed after a recorded success: checks the backup, then does not run it again", async () => {
            const previous = { direction: "up", command: MIGRATION.command, outcome: "succeeded", exitCode: 0, startedAt: "2025-03-04T09:50:00.000Z", finishedAt: "2025-03-04T09:51:00.000Z", durationSeconds: 60 } as MigrationResult;
            const { context, runs, stageLines, record } = fakeContext(complete, { previous });
            await resumedMigrationStages(configWith(MIGRATION), RELEASE)[0].run(context);
            assert.deepStrictEqual(runs, []);
            assert.deepStrictEqual(stageLines, ["already ran: migration up succeeded, exit code 0 in 60 s; not run again"]);
            assert.strictEqual(record.databaseCheck?.verdict, "go", "RDS was read first");
        });
    });
});
