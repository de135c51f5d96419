// The migration run against the real ECS adapter with aws-sdk-client-mock: RunTask, DescribeTasks, StopTask, timeouts, tasks that never start.
import * as assert from "assert";
import { DescribeTasksCommand, ECSClient, RunTaskCommand, StopTaskCommand } from "@aws-sdk/client-ecs";
import { mockClient } from "aws-sdk-client-mock";
import { EcsTaskPort, startedByValue } from "../ports/ecsTasks";
import { MigrationResult, MigrationStopped, MigrationTarget, describeMigration, logsConsoleUrl, runMigration, waitForMigration } from "../rollout/migration";
import { FakeClock } from "./fakes/fakeClock";

const TASK = "arn:aws:ecs:eu-west-1:123456789012:task/shop-production/0f1e2d3c4b5a69788796a5b4c3d2e1f0";
const TARGET: MigrationTarget = {
    cluster: "arn:aws:ecs:eu-west-1:123456789012:cluster/shop-1234",
    family: "shop-migration",
    containerName: "migrate",
    subnetIds: ["subnet-0aaaaaaaaaaaaaaaa", "subnet-0bbbbbbbbbbbbbbbb"],
    securityGroupId: "sg-0123456789abcdef0",
    logGroupName: "/shiftwise/production/shop/migration",
    logStreamPrefix: "migration",
    region: "eu-west-1",
};
const UP = { direction: "up" as const, command: ["npm", "run", "migrate"], timeoutMinutes: 10, startedBy: "shiftwise/production/v1.5.0" };

type Described = { lastStatus: string; exitCode?: number; stoppedReason?: string; stopCode?: string; reason?: string; started?: boolean };

function describe_(states: Described[]) {
    return states.map((state) => ({
        tasks: [{
            taskArn: TASK,
            lastStatus: state.lastStatus,
            stoppedReason: state.stoppedReason,
            stopCode: state.stopCode as never,
            startedAt: state.started === false ? undefined : new Date("2025-03-04T10:01:00Z"),
            containers: [{ name: "migrate", lastStatus: state.lastStatus, exitCode: state.exitCode, reason: state.reason }],
        }],
        failures: [],
    }));
}

describe("migration run (ECS through aws-sdk-client-mock)", () => {
    const ecs = mockClient(ECSClient);
    let clock: FakeClock;
    let port: EcsTaskPort;

    beforeEach(() => {
        ecs.reset();
        clock = new FakeClock("2025-03-04T10:00:00Z");
        port = new EcsTaskPort(new ECSClient({ region: "eu-west-1" }));
        ecs.on(RunTaskCommand).resolves({ tasks: [{ taskArn: TASK, lastStatus: "PROVISIONING" }], failures: [] });
    });

    /**
     * DescribeTasks answers `states` in order (the last repeats) until StopTask;
     * then the task stops as ECS stops one: DEPROVISIONING, then STOPPED with
     * stopCode UserInitiated, the StopTask reason, and exit code 143 (SIGTERM)
     * when its container had started. `ignoresStop`: the script goes on.
     */
    function answer(states: Described[], options: { ignoresStop?: boolean } = {}) {
        let call = 0;
        let stopReason: string | undefined;
        let afterStop = 0;
        ecs.on(StopTaskCommand).callsFake(async (input: { reason?: string }) => {
            stopReason ??= input.reason ?? "";
            return {};
        });
        ecs.on(DescribeTasksCommand).callsFake(async () => {
            const scripted = states[Math.min(call++, states.length - 1)];
            if (stopReason === undefined || options.ignoresStop) return describe_([scripted])[0];
            afterStop += 1;
            if (afterStop === 1) return describe_([{ ...scripted, lastStatus: "DEPROVISIONING" }])[0];
            return describe_([{ lastStatus: "STOPPED", stopCode: "UserInitiated", stoppedReason: stopReason, started: scripted.started, ...(scripted.started === false ? {} : { exitCode: 143 }) }])[0];
        });
    }

    it("starts the task on Fargate in the private subnets without a public IP, overriding the command", async () => {
        answer([{ lastStatus: "RUNNING" }, { lastStatus: "STOPPED", exitCode: 0, stoppedReason: "Essential container in task exited", stopCode: "EssentialContainerExited" }]);
        const result = await runMigration(port, clock, TARGET, UP, { pollMs: 30_000 });
        const [run] = ecs.commandCalls(RunTaskCommand);
        assert.deepStrictEqual(run.args[0].input, {
            cluster: TARGET.cluster,
            taskDefinition: "shop-migration",
            launchType: "FARGATE",
            platformVersion: "LATEST",
            count: 1,
            networkConfiguration: { awsvpcConfiguration: { subnets: TARGET.subnetIds, securityGroups: ["sg-0123456789abcdef0"], assignPublicIp: "DISABLED" } },
            overrides: { containerOverrides: [{ name: "migrate", command: ["npm", "run", "migrate"] }] },
            startedBy: "shiftwise/production/v1-5-0",
            enableECSManagedTags: true,
            propagateTags: "TASK_DEFINITION",
        });
        assert.deepStrictEqual(ecs.commandCalls(DescribeTasksCommand)[0].args[0].input, { cluster: TARGET.cluster, tasks: [TASK] });
        assert.deepStrictEqual(result, {
            direction: "up",
            command: ["npm", "run", "migrate"],
            outcome: "succeeded",
            exitCode: 0,
            taskArn: TASK,
            lastStatus: "STOPPED",
            reason: "Essential container in task exited",
            logsUrl: logsConsoleUrl(TARGET, TASK),
            startedAt: "2025-03-04T10:00:00.000Z",
            finishedAt: "2025-03-04T10:00:30.000Z",
            durationSeconds: 30,
        });
        assert.strictEqual(ecs.commandCalls(StopTaskCommand).length, 0);
    });

    it("records a non-zero exit code as a failure with the container's reason", async () => {
        answer([{ lastStatus: "PENDING" }, { lastStatus: "RUNNING" }, { lastStatus: "STOPPED", exitCode: 3, stoppedReason: "Essential container in task exited", reason: "migration 0042 failed" }]);
        const result = await runMigration(port, clock, TARGET, UP, { pollMs: 10_000 });
        assert.deepStrictEqual([result.outcome, result.exitCode, result.reason, result.durationSeconds], ["failed", 3, "Essential container in task exited; migration 0042 failed", 20]);
        assert.match(describeMigration(result), /^migration up failed, exit code 3 in 20 s \(Essential container in task exited; migration 0042 failed\); logs: https:\/\/eu-west-1\.console\.aws\.amazon\.com\//);
    });

    it("a task whose image cannot be pulled never started: no exit code, ECS's reason", async () => {
        answer([{ lastStatus: "PENDING", started: false }, { lastStatus: "STOPPED", started: false, stopCode: "TaskFailedToStart", stoppedReason: "CannotPullContainerError: pull image manifest has been retried 5 time(s)" }]);
        const result = await runMigration(port, clock, TARGET, UP, { pollMs: 10_000 });
        assert.deepStrictEqual([result.outcome, result.exitCode, result.reason], ["never-started", undefined, "CannotPullContainerError: pull image manifest has been retried 5 time(s)"]);
    });

    it("RunTask that starts nothing reports ECS's failures", async () => {
        ecs.on(RunTaskCommand).resolves({ tasks: [], failures: [{ reason: "RESOURCE:ENI", detail: "no ENI capacity", arn: "arn:aws:ecs:eu-west-1:123456789012:cluster/shop-1234" }] });
        const result = await runMigration(port, clock, TARGET, UP);
        assert.deepStrictEqual([result.outcome, result.taskArn, result.reason], ["never-started", undefined, "ECS started no task: RESOURCE:ENI (no ENI capacity) on arn:aws:ecs:eu-west-1:123456789012:cluster/shop-1234"]);
        assert.strictEqual(ecs.commandCalls(DescribeTasksCommand).length, 0);
    });

    it("a task stuck in PENDING until the timeout never started, and is stopped", async () => {
        answer([{ lastStatus: "PENDING", started: false }]);
        const result = await runMigration(port, clock, TARGET, { ...UP, timeoutMinutes: 2 }, { pollMs: 30_000 });
        assert.strictEqual(result.outcome, "never-started");
        assert.strictEqual(result.reason, "the task never started within 2 min (last status PENDING); StopTask sent; ECS showed it STOPPED after 30 s");
        // It ran out of time at 120 s; ECS showed it stopped one poll later.
        assert.strictEqual(result.durationSeconds, 150);
        assert.deepStrictEqual(ecs.commandCalls(StopTaskCommand).map((call) => call.args[0].input), [{ cluster: TARGET.cluster, task: TASK, reason: "shiftwise/production/v1.5.0: the migration timed out after 2 min" }]);
        assert.deepStrictEqual(result.stop, { reason: "shiftwise/production/v1.5.0: the migration timed out after 2 min", requestedAt: "2025-03-04T10:02:00.000Z", confirmed: true, lastStatus: "STOPPED", stopCode: "UserInitiated", waitedSeconds: 30 });
    });

    it("a migration still running at the timeout is stopped and times out", async () => {
        answer([{ lastStatus: "RUNNING" }]);
        const result = await runMigration(port, clock, TARGET, { ...UP, timeoutMinutes: 5 }, { pollMs: 60_000 });
        // The outcome is the timeout's, not the exit code SIGTERM left (143): the stop is recorded beside it.
        assert.deepStrictEqual([result.outcome, result.exitCode, result.lastStatus, result.durationSeconds], ["timed-out", undefined, "STOPPED", 360]);
        assert.strictEqual(result.reason, "still RUNNING after 5 min (database.migration.timeoutMinutes); StopTask sent; ECS showed it STOPPED after 60 s (exit code 143)");
        assert.deepStrictEqual([result.stop?.confirmed, result.stop?.exitCode, result.stop?.stopCode], [true, 143, "UserInitiated"]);
        assert.strictEqual(ecs.commandCalls(StopTaskCommand).length, 1);
        assert.strictEqual(ecs.commandCalls(DescribeTasksCommand).length, 8, "6 polls, then 2 reads until STOPPED");
    });

    it("one throttled read does not decide anything; a run of failed reads counts the task as lost, and it is stopped in case it still runs", async () => {
        const throttled = Object.assign(new Error("Rate exceeded"), { name: "ThrottlingException", $metadata: {} });
        const fast = new EcsTaskPort(new ECSClient({ region: "eu-west-1", maxAttempts: 1 }));
        ecs.on(DescribeTasksCommand).rejectsOnce(throttled).resolvesOnce(describe_([{ lastStatus: "STOPPED", exitCode: 0 }])[0]);
        assert.strictEqual((await runMigration(fast, clock, TARGET, UP, { pollMs: 1000 })).outcome, "succeeded");
        ecs.on(DescribeTasksCommand).rejects(throttled);
        const lost = await runMigration(fast, clock, TARGET, UP, { pollMs: 1000, readErrorBudget: 3 });
        assert.deepStrictEqual([lost.outcome, lost.taskArn], ["lost", TASK]);
        assert.strictEqual(lost.reason, "could not read the task 3 times in a row (Rate exceeded); StopTask sent; not readable after 180 s: it may still be running");
        assert.deepStrictEqual(ecs.commandCalls(StopTaskCommand).map((call) => call.args[0].input.reason), ["shiftwise/production/v1.5.0: the driver lost sight of the migration task after 3 failed reads"]);
        assert.deepStrictEqual([lost.stop?.confirmed, lost.stop?.lastStatus, lost.stop?.waitedSeconds], [false, undefined, 180], "the wait for STOPPED is bounded");
    });

    it("a task ECS no longer knows is read again before it counts as lost", async () => {
        ecs.on(DescribeTasksCommand).resolvesOnce({ tasks: [], failures: [{ arn: TASK, reason: "MISSING" }] }).resolves(describe_([{ lastStatus: "STOPPED", exitCode: 0 }])[0]);
        assert.strictEqual((await runMigration(port, clock, TARGET, UP, { pollMs: 1000 })).outcome, "succeeded");
    });

    it("an interrupt stops the task and says so", async () => {
        answer([{ lastStatus: "RUNNING" }]);
        const controller = new AbortController();
        clock.onSleep = (now) => {
            if (now.getTime() >= new Date("2025-03-04T10:01:00Z").getTime()) controller.abort();
        };
        const result = await runMigration(port, clock, TARGET, UP, { pollMs: 30_000, signal: controller.signal });
        assert.deepStrictEqual([result.outcome, result.reason], ["interrupted", "interrupted by a signal; StopTask sent; ECS showed it STOPPED after 30 s (exit code 143)"]);
        assert.strictEqual(ecs.commandCalls(StopTaskCommand)[0].args[0].input.reason, "shiftwise/production/v1.5.0: interrupted by a signal");
    });

    it("SIGINT from the CLI: the StopTask reason names the release, the signal and who runs the driver", async () => {
        answer([{ lastStatus: "RUNNING" }]);
        const controller = new AbortController();
        clock.onSleep = () => controller.abort(new Error("SIGINT"));
        const result = await runMigration(port, clock, TARGET, UP, { pollMs: 30_000, signal: controller.signal, runBy: "bob@ci-7" });
        assert.strictEqual(ecs.commandCalls(StopTaskCommand)[0].args[0].input.reason, "shiftwise/production/v1.5.0: interrupted by SIGINT to the driver run by bob@ci-7");
        assert.strictEqual(result.reason, "interrupted by SIGINT to the driver run by bob@ci-7; StopTask sent; ECS showed it STOPPED after 30 s (exit code 143)");
        // The wait for STOPPED goes on although the signal already fired: it is bounded, not interruptible.
        assert.deepStrictEqual(clock.sleeps, [30_000, 30_000]);
    });

    it("a StopTask that fails is recorded, and the task is still read until the bounded wait ends", async () => {
        answer([{ lastStatus: "RUNNING" }]);
        ecs.on(StopTaskCommand).rejects(Object.assign(new Error("User is not authorized to perform: ecs:StopTask"), { name: "AccessDeniedException", $metadata: {} }));
        const controller = new AbortController();
        controller.abort();
        const result = await runMigration(port, clock, TARGET, UP, { pollMs: 45_000, signal: controller.signal, stopWaitMs: 120_000 });
        assert.strictEqual(result.reason, "interrupted by a signal; StopTask failed (User is not authorized to perform: ecs:StopTask); still RUNNING after 135 s: it may still be running");
        assert.deepStrictEqual(result.stop, {
            reason: "shiftwise/production/v1.5.0: interrupted by a signal",
            requestedAt: "2025-03-04T10:00:00.000Z",
            stopTaskError: "User is not authorized to perform: ecs:StopTask",
            confirmed: false,
            lastStatus: "RUNNING",
            waitedSeconds: 135,
        });
        assert.strictEqual(ecs.commandCalls(DescribeTasksCommand).length, 4, "read at 0, 45, 90 and 135 s");
    });

    it("a task that finished by itself as it was stopped: the stop records its own exit, and the outcome stays the driver's", async () => {
        answer([{ lastStatus: "RUNNING" }, { lastStatus: "STOPPED", exitCode: 0, stopCode: "EssentialContainerExited", stoppedReason: "Essential container in task exited" }], { ignoresStop: true });
        await assert.rejects(runMigration(port, clock, TARGET, UP, { pollMs: 30_000, onPoll: async () => { if (ecs.commandCalls(DescribeTasksCommand).length === 1) throw new Error("abort requested by alice: wrong build"); } }), (error: unknown) => {
            assert.ok(error instanceof MigrationStopped);
            assert.deepStrictEqual([error.result.outcome, error.result.stop?.confirmed, error.result.stop?.exitCode, error.result.stop?.stopCode], ["interrupted", true, 0, "EssentialContainerExited"]);
            assert.strictEqual(error.result.reason, "stopped by the driver: abort requested by alice: wrong build; StopTask sent; ECS showed it STOPPED after 0 s (exit code 0)");
            return true;
        });
    });

    it("a task ECS keeps not knowing counts as lost, naming why", async () => {
        ecs.on(DescribeTasksCommand).resolves({ tasks: [], failures: [{ arn: TASK, reason: "MISSING" }] });
        const lost = await runMigration(port, clock, TARGET, UP, { pollMs: 1000, readErrorBudget: 2 });
        assert.deepStrictEqual(
            [lost.outcome, lost.lastStatus, lost.reason],
            ["lost", undefined, `could not read the task 2 times in a row (ECS does not know the task ${TASK} (it shows stopped tasks for about an hour, so its exit code cannot be read)); StopTask sent; the task is no longer known, so it does not run there`],
        );
        assert.deepStrictEqual([lost.stop?.unknownToEcs, lost.stop?.confirmed, lost.stop?.waitedSeconds], [true, false, 0], "nothing to wait for");
    });

    it("a RunTask call that throws (after the SDK's retries) never started, with the error", async () => {
        ecs.on(RunTaskCommand).rejects(Object.assign(new Error("User is not authorized to perform: iam:PassRole"), { name: "AccessDeniedException", $metadata: {} }));
        const result = await runMigration(port, clock, TARGET, UP);
        assert.deepStrictEqual([result.outcome, result.reason, result.taskArn], ["never-started", "RunTask failed: User is not authorized to perform: iam:PassRole", undefined]);
        assert.strictEqual(describeMigration(result), "migration up never-started in 0 s (RunTask failed: User is not authorized to perform: iam:PassRole)");
    });

    it("a container killed without an exit code after it started failed; describeMigration says only what it knows", async () => {
        answer([{ lastStatus: "STOPPED" }]);
        const result = await runMigration(port, clock, TARGET, UP);
        assert.deepStrictEqual([result.outcome, result.exitCode, result.reason], ["failed", undefined, undefined]);
        assert.strictEqual(describeMigration({ ...result, logsUrl: undefined }), "migration up failed in 0 s");
    });

    it("reports progress at every poll", async () => {
        answer([{ lastStatus: "PENDING", started: false }, { lastStatus: "RUNNING" }, { lastStatus: "STOPPED", exitCode: 0 }]);
        const lines: string[] = [];
        await runMigration(port, clock, TARGET, UP, { pollMs: 90_000, onProgress: (line) => lines.push(line) });
        assert.deepStrictEqual(lines, ["migration: task 0f1e2d3c4b5a69788796a5b4c3d2e1f0 PENDING for 0.0/10 min", "migration: task 0f1e2d3c4b5a69788796a5b4c3d2e1f0 RUNNING for 1.5/10 min"]);
    });

    it("a poll check that throws (an abort request, a lost lease) stops the task and carries the result and the cause", async () => {
        answer([{ lastStatus: "RUNNING" }]);
        const cause = new Error("abort requested by alice: wrong build");
        let polls = 0;
        const onPoll = async () => {
            polls += 1;
            if (polls === 3) throw cause;
        };
        await assert.rejects(runMigration(port, clock, TARGET, UP, { pollMs: 30_000, onPoll }), (error: unknown) => {
            assert.ok(error instanceof MigrationStopped);
            assert.strictEqual(error.cause, cause);
            // Stopped at 60 s; ECS showed it DEPROVISIONING, then STOPPED one poll later.
            assert.deepStrictEqual(
                [error.result.outcome, error.result.lastStatus, error.result.reason, error.result.durationSeconds],
                ["interrupted", "STOPPED", "stopped by the driver: abort requested by alice: wrong build; StopTask sent; ECS showed it STOPPED after 30 s (exit code 143)", 90],
            );
            assert.strictEqual(error.message, error.result.reason);
            return true;
        });
        assert.deepStrictEqual(ecs.commandCalls(StopTaskCommand).map((call) => call.args[0].input.reason), ["shiftwise/production/v1.5.0: abort requested by alice: wrong build"]);
    });

    it("a task someone stopped (UserInitiated) failed, even with exit code 0, and shiftwise sends no StopTask of its own", async () => {
        answer([{ lastStatus: "RUNNING" }, { lastStatus: "STOPPED", exitCode: 0, stopCode: "UserInitiated", stoppedReason: "Task stopped by user" }]);
        const result = await runMigration(port, clock, TARGET, UP, { pollMs: 30_000 });
        assert.deepStrictEqual([result.outcome, result.exitCode, result.reason], ["failed", 0, "stopped by someone before it finished (UserInitiated: Task stopped by user)"]);
        answer([{ lastStatus: "STOPPED", stopCode: "UserInitiated" }]);
        const killed = await runMigration(port, clock, TARGET, UP);
        assert.deepStrictEqual([killed.outcome, killed.exitCode, killed.reason], ["failed", undefined, "stopped by someone before it finished (UserInitiated)"]);
        assert.strictEqual(ecs.commandCalls(StopTaskCommand).length, 0);
    });

    it("records the running task before the first read, and a later wait re-attaches with the deadline of the first start", async () => {
        answer([{ lastStatus: "RUNNING" }]);
        const started: MigrationResult[] = [];
        let reads = 0;
        ecs.on(DescribeTasksCommand).callsFake(async () => {
            reads += 1;
            return describe_([{ lastStatus: "RUNNING" }])[0];
        });
        await runMigration(port, clock, TARGET, UP, { pollMs: 60_000, onStarted: (running) => started.push({ ...running }), onPoll: async () => assert.strictEqual(started.length, 1, "recorded before the first poll") });
        assert.deepStrictEqual(started.map((r) => [r.outcome, r.taskArn, r.startedAt, r.durationSeconds]), [["running", TASK, "2025-03-04T10:00:00.000Z", 0]]);
        assert.match(started[0].logsUrl!, /log-events\/migration\$252Fmigrate\$252F0f1e2d3c/);
        // A driver that comes back 8 minutes after a start has 2 minutes left of the 10, not 10.
        const resumed = new FakeClock("2025-03-04T10:08:00Z");
        reads = 0;
        const result = await waitForMigration(port, resumed, TARGET, UP, { taskArn: TASK, startedAt: new Date("2025-03-04T10:00:00Z") }, { pollMs: 60_000, stopWaitMs: 0 });
        assert.deepStrictEqual([result.outcome, result.durationSeconds, result.startedAt, reads], ["timed-out", 600, "2025-03-04T10:00:00.000Z", 4], "3 polls, then one read after StopTask");
        assert.strictEqual(ecs.commandCalls(RunTaskCommand).length, 1, "the wait never starts a task");
    });

    it("an interrupt before the first read stops the task, and reads it only to see it stop", async () => {
        answer([{ lastStatus: "PROVISIONING", started: false }]);
        const controller = new AbortController();
        ecs.on(RunTaskCommand).callsFake(async () => {
            controller.abort();
            return { tasks: [{ taskArn: TASK }], failures: [] };
        });
        const result = await runMigration(port, clock, TARGET, UP, { signal: controller.signal });
        assert.deepStrictEqual([result.outcome, result.lastStatus, result.stop?.confirmed], ["interrupted", "STOPPED", true]);
        assert.ok(ecs.commandCalls(StopTaskCommand)[0].calledBefore(ecs.commandCalls(DescribeTasksCommand)[0]), "StopTask came before any read");
    });

    it("links the task's log stream in the CloudWatch console and keeps startedBy within ECS's rule", () => {
        assert.strictEqual(
            logsConsoleUrl(TARGET, TASK),
            "https://eu-west-1.console.aws.amazon.com/cloudwatch/home?region=eu-west-1#logsV2:log-groups/log-group/$252Fshiftwise$252Fproduction$252Fshop$252Fmigration/log-events/migration$252Fmigrate$252F0f1e2d3c4b5a69788796a5b4c3d2e1f0",
        );
        assert.strictEqual(startedByValue("shiftwise/production-eu-central/v1.5.0+build.7"), "shiftwise/production-eu-central/v1-5");
    });
});
