// The migration stages on the real program graph: snapshot -> migration -> stable soak -> candidate, failures that stop before traffic moves, and the records.
import * as assert from "assert";
import { RunTaskCommand, StopTaskCommand } from "@aws-sdk/client-ecs";
import { deploy } from "../rollout/driver";
import { migrateDown } from "../rollout/migrationDown";
import { ExitCode } from "../rollout/exitCodes";
import { EcsTaskPort } from "../ports/ecsTasks";
import { ALARMS, RELEASE, SmokeServer, harness, productionConfig } from "./fakes/rollout";
import { MIGRATION, SUCCEEDS, TASK, TaskScriptState, imageOf, mockDatabase, mockMigrationEcs } from "./fakes/migrationTasks";

const LISTENER = "aws:lb/listener:Listener";

describe("rollout driver: the migration stages", function () {
    this.timeout(120_000);
    const server = new SmokeServer();
    let smokeBaseUrl = "";
    before(async () => (smokeBaseUrl = await server.start()));
    after(() => server.stop());
    beforeEach(() => {
        server.requests.length = 0;
        server.failFirst = [];
        server.requiredToken = undefined;
    });

    /** A harness whose ECS answers DescribeTasks from `states` (the last one repeats) and records the stack at RunTask. */
    function migrating(states: readonly TaskScriptState[], migration: Record<string, unknown> = MIGRATION) {
        const h = harness({ smokeBaseUrl, config: productionConfig({ database: { migration } }) });
        const { ecsClient, ecs, seen } = mockMigrationEcs(h.stack, states);
        const database = mockDatabase();
        const deps = { ...h.deps, tasks: new EcsTaskPort(ecsClient), database: database.port, migrationPollMs: 30_000 };
        return { ...h, deps, ecs, seen, rds: database };
    }

    it("runs snapshot -> migration -> stable soak -> candidate, and records exit code, duration and logs", async () => {
        const h = migrating(SUCCEEDS);
        const outcome = await deploy(h.deps, { ...RELEASE, smokeBaseUrl });
        assert.strictEqual(outcome.exitCode, ExitCode.success, outcome.message);
        const record = outcome.record!;
        assert.deepStrictEqual(
            record.stages.slice(0, 6).map((stage) => [stage.name, stage.outcome]),
            [["pre-flight", "ok"], ["checkpoint", "ok"], ["snapshot", "ok"], ["migration", "ok"], ["stable soak", "ok"], ["prepare", "ok"]],
        );
        // The snapshot update touched only the snapshots and the migration task, and was targeted at them.
        const [snapshotUp] = h.stack.ups;
        assert.ok(snapshotUp.changes.steps.length > 0);
        for (const step of snapshotUp.changes.steps) {
            assert.ok(step.type === "aws:rds/snapshot:Snapshot" || step.urn.includes("shiftwise:data:MigrationTask$"), `${step.op} ${step.urn}`);
        }
        assert.deepStrictEqual(h.stack.operations.filter((o) => o.op === "up")[0].targets, snapshotUp.changes.steps.map((s) => s.urn));
        // At RunTask the new snapshot existed, the migration ran the release image, and the candidate still ran the old one.
        const at = h.seen.atRunTask!;
        assert.ok(at.snapshots.includes("shop-production-pre-v1-6-0"), JSON.stringify(at.snapshots));
        assert.strictEqual(at.migrationImage, RELEASE.image);
        assert.strictEqual(at.candidateImage, "123456789012.dkr.ecr.eu-west-1.amazonaws.com/shop:v1.5.0");
        const outputs = (await h.stack.deployed()).outputs as Record<string, any>;
        assert.deepStrictEqual(at.input, {
            cluster: outputs.migration.clusterArn,
            taskDefinition: "shop-migration",
            launchType: "FARGATE",
            platformVersion: "LATEST",
            count: 1,
            networkConfiguration: { awsvpcConfiguration: { subnets: outputs.migration.subnetIds, securityGroups: [outputs.migration.securityGroupId], assignPublicIp: "DISABLED" } },
            overrides: { containerOverrides: [{ name: "migrate", command: ["npm", "run", "migrate"] }] },
            startedBy: "shiftwise/production/v1-6-0",
            enableECSManagedTags: true,
            propagateTags: "TASK_DEFINITION",
        });
        assert.deepStrictEqual(outputs.migration.subnetIds, JSON.parse(productionConfig()["shiftwise:network"]).privateSubnetIds);
        assert.deepStrictEqual(
            { outcome: record.migration?.outcome, exitCode: record.migration?.exitCode, seconds: record.migration?.durationSeconds, task: record.migration?.taskArn },
            { outcome: "succeeded", exitCode: 0, seconds: 30, task: TASK },
        );
        assert.match(record.migration!.logsUrl!, /^https:\/\/eu-west-1\.console\.aws\.amazon\.com\/cloudwatch\/home\?region=eu-west-1#logsV2:log-groups\/log-group\/\$252Fshiftwise\$252Fproduction\$252Fshop\$252Fmigration\/log-events\/migration\$252Fmigrate\$252F4a5b6c7d/);
        // The stable colour was watched through the test path for the whole soak before the candidate was asked anything.
        assert.deepStrictEqual([record.stableSoak?.colour, record.stableSoak?.outcome, record.stableSoak?.lastAlarmState], ["blue", "ok", "OK"]);
        assert.strictEqual(record.stableSoak?.polls, 11, "every 30 s for 5 min, ends included");
        const firstGreen = server.requests.findIndex((request) => request.colour === "green");
        assert.strictEqual(firstGreen, 11);
        const token = await h.stack.secretOutput("testToken");
        assert.ok(token);
        assert.deepStrictEqual(new Set(server.requests.slice(0, firstGreen).map((request) => JSON.stringify(request))), new Set([JSON.stringify({ path: "/healthz", colour: "blue", token })]));
        // The pinned migration image stays in the database section, which a rollback keeps.
        assert.strictEqual((h.stack.section("database") as { migration: { image: string } }).migration.image, RELEASE.image);
    });

    for (const [name, states, outcome, detail] of [
        ["a migration that exits 1", [{ lastStatus: "RUNNING" }, { lastStatus: "STOPPED", exitCode: 1, stoppedReason: "Essential container in task exited" }], "failed", /migration up failed, exit code 1 in 30 s/],
        ["a migration that outlives its timeout", [{ lastStatus: "RUNNING" }], "timed-out", /migration up timed-out in 600 s \(still RUNNING after 10 min \(database\.migration\.timeoutMinutes\); StopTask sent; ECS showed it STOPPED after 0 s \(exit code 143\)\)/],
        ["a migration task that never starts", [{ lastStatus: "STOPPED", started: false, stoppedReason: "CannotPullContainerError: image not found" }], "never-started", /migration up never-started in 0 s \(CannotPullContainerError: image not found\)/],
    ] as const) {
        it(`${name} stops the release before any traffic moves or the candidate starts, and says what to do`, async () => {
            const h = migrating([...states]);
            const result = await deploy(h.deps, { ...RELEASE, smokeBaseUrl });
            assert.strictEqual(result.exitCode, ExitCode.rolledBack, result.message);
            assert.match(result.message, detail);
            assert.match(result.message, /No traffic moved\. The database may be partly migrated; restore the pre-release snapshot shop-production-pre-v1-6-0 with:\n  aws rds restore-db-instance-from-db-snapshot /);
            assert.match(result.message, /or undo the migration: shiftwise rollback --stack production --migrate-down/);
            assert.match(result.message, /migration logs: https:\/\/eu-west-1\.console\.aws\.amazon\.com\//);
            const record = result.record!;
            assert.strictEqual(record.migration?.outcome, outcome);
            assert.deepStrictEqual(record.stages.map((s) => s.name).filter((n) => n === "prepare" || n.startsWith("shift")), []);
            for (const up of h.stack.ups) assert.ok(up.changes.steps.every((s) => s.type !== LISTENER), "no update touched the listener");
            assert.strictEqual(await imageOf(h.stack, "shop-green"), "123456789012.dkr.ecr.eu-west-1.amazonaws.com/shop:v1.5.0", "the candidate never started the release");
            assert.deepStrictEqual(h.stack.section("traffic"), { blue: 100, green: 0 });
            assert.strictEqual(h.ecs.commandCalls(StopTaskCommand).length, outcome === "timed-out" ? 1 : 0);
        });
    }

    it("a migration that breaks the stable colour stops the release with no traffic moved, and points to restore and down-migration", async () => {
        const h = migrating(SUCCEEDS);
        // The old code fails on the new schema two minutes into the soak.
        h.clock.onSleep = () => {
            const soak = h.records.latest()?.stages.find((stage) => stage.name === "stable soak");
            if (soak && h.clock.minutesSince(soak.startedAt) >= 2) h.aws.scenario.alarms[ALARMS.blue] = "ALARM";
        };
        const result = await deploy(h.deps, { ...RELEASE, smokeBaseUrl });
        assert.strictEqual(result.exitCode, ExitCode.rolledBack, result.message);
        assert.match(result.message, /the stable colour blue broke on the new schema: shop-production-blue-rollback is ALARM\. The migration is not backwards compatible; no traffic moved to green\. The database holds the new schema; restore the pre-release snapshot shop-production-pre-v1-6-0 with:/);
        assert.match(result.message, /or undo the migration: shiftwise rollback --stack production --migrate-down/);
        const record = result.record!;
        assert.deepStrictEqual([record.migration?.outcome, record.stableSoak?.outcome, record.stableSoak?.lastAlarmState], ["succeeded", "broken", "ALARM"]);
        assert.strictEqual(record.stages.find((s) => s.name === "stable soak")?.outcome, "failed");
        assert.ok(!record.stages.some((s) => s.name === "prepare"));
        for (const up of h.stack.ups) assert.ok(up.changes.steps.every((s) => s.type !== LISTENER));
        assert.strictEqual(await imageOf(h.stack, "shop-green"), "123456789012.dkr.ecr.eu-west-1.amazonaws.com/shop:v1.5.0");
        assert.deepStrictEqual(h.stack.section("traffic"), { blue: 100, green: 0 });
        assert.strictEqual(record.status, "rolled-back");
        // The driver never ran the down-migration by itself.
        assert.deepStrictEqual(h.ecs.commandCalls(RunTaskCommand).map((call) => call.args[0].input.overrides?.containerOverrides?.[0].command), [["npm", "run", "migrate"]]);

        // `shiftwise rollback --migrate-down` runs it, from the release's image, which the rollback kept.
        assert.strictEqual(await imageOf(h.stack, "shop-migration"), RELEASE.image);
        const down = await migrateDown(h.deps, record);
        assert.strictEqual(down.exitCode, ExitCode.success, down.message);
        const runs = h.ecs.commandCalls(RunTaskCommand).map((call) => call.args[0].input);
        assert.deepStrictEqual([runs[1].taskDefinition, runs[1].overrides?.containerOverrides?.[0].command, runs[1].startedBy], ["shop-migration", ["npm", "run", "migrate:down"], "shiftwise/production/down/v1-6-0"]);
        assert.deepStrictEqual([record.migrationDown?.direction, record.migrationDown?.outcome], ["down", "succeeded"]);
        assert.deepStrictEqual(h.records.read(result.recordFile!).migrationDown?.outcome, "succeeded");
    });

    it("--migrate-down refuses while the release's colour still serves, and without a down command", async () => {
        const h = migrating(SUCCEEDS);
        const result = await deploy(h.deps, { ...RELEASE, smokeBaseUrl });
        assert.strictEqual(result.exitCode, ExitCode.success, result.message);
        const refused = await migrateDown(h.deps, result.record!);
        assert.strictEqual(refused.exitCode, ExitCode.refused);
        assert.strictEqual(refused.message, "green, the colour of v1.6.0, still carries 100% in AWS; the down-migration would take its schema away: run `shiftwise rollback --stack production` first; nothing was changed");
        assert.strictEqual(h.ecs.commandCalls(RunTaskCommand).length, 1);
        const database = h.stack.section("database") as { migration: Record<string, unknown> };
        const { downCommand, ...noDown } = database.migration;
        void downCommand;
        h.stack.edit("database", { ...database, migration: noDown });
        assert.strictEqual((await migrateDown(h.deps, result.record!)).exitCode, ExitCode.invalid);
    });

    it("a stable colour whose smoke paths fail on the new schema also stops it, without a down-migration to offer when none is configured", async () => {
        const { downCommand, ...noDown } = MIGRATION;
        void downCommand;
        const h = migrating(SUCCEEDS, noDown);
        h.ecs.on(RunTaskCommand).callsFake(async () => {
            server.failFirst = Array(6).fill(500);
            return { tasks: [{ taskArn: TASK }], failures: [] };
        });
        const result = await deploy(h.deps, { ...RELEASE, smokeBaseUrl });
        assert.strictEqual(result.exitCode, ExitCode.rolledBack, result.message);
        assert.match(result.message, /the stable colour blue broke on the new schema: smoke checks failed: .*\/healthz -> HTTP 500 after 6 attempt\(s\)/);
        assert.doesNotMatch(result.message, /--migrate-down/);
        assert.ok(server.requests.length > 0 && server.requests.every((r) => r.colour === "blue"), "only the stable colour was asked; the candidate never was");
    });

    it("an inconclusive stable colour (INSUFFICIENT_DATA at the end of the soak) does not let the candidate start", async () => {
        const h = migrating(SUCCEEDS);
        h.ecs.on(RunTaskCommand).callsFake(async () => {
            h.aws.scenario.alarms[ALARMS.blue] = "INSUFFICIENT_DATA";
            return { tasks: [{ taskArn: TASK }], failures: [] };
        });
        const result = await deploy(h.deps, { ...RELEASE, smokeBaseUrl });
        assert.strictEqual(result.exitCode, ExitCode.rolledBack, result.message);
        assert.match(result.message, /the stable colour blue could not be judged on the new schema: shop-production-blue-rollback is INSUFFICIENT_DATA at the end of the soak/);
        assert.strictEqual(result.record!.stableSoak?.outcome, "inconclusive");
    });

    it("pre-flight refuses while maintenance mode is on, changing nothing", async () => {
        const h = harness({ smokeBaseUrl, config: productionConfig({ maintenance: { enabled: true, reason: "schema v2" } }) });
        const result = await deploy(h.deps, { ...RELEASE, smokeBaseUrl });
        assert.strictEqual(result.exitCode, ExitCode.refused);
        assert.match(result.message, /maintenance mode is on \(schema v2\): the listener forwards nothing, so no step could be judged; turn it off with `shiftwise maintenance off --stack production` first/);
        assert.deepStrictEqual(h.stack.ups, []);
    });

    it("pre-flight refuses a migrating release without a task runner, changing nothing", async () => {
        const h = migrating(SUCCEEDS);
        const result = await deploy({ ...h.deps, tasks: undefined }, { ...RELEASE, smokeBaseUrl });
        assert.strictEqual(result.exitCode, ExitCode.invalid);
        assert.match(result.message, /database\.migration is set, but no task runner was given/);
        const noReader = await deploy({ ...h.deps, database: undefined }, { ...RELEASE, smokeBaseUrl });
        assert.strictEqual(noReader.exitCode, ExitCode.invalid);
        assert.match(noReader.message, /database\.migration is set, but no RDS reader was given to check the snapshot and the database before it/);
        assert.deepStrictEqual(h.stack.ups, []);
    });
});
