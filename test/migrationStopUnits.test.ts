// migrationStop.ts with small fakes: the restore advice, the by-hand stop command per platform, and what `shiftwise rollback` does with a recorded migration (none running, Kubernetes, unreadable outputs, the exact record).
import * as assert from "assert";
import type { MigrationResult } from "../rollout/migration";
import { restoreAdvice, stopByHand, stopRecordedMigration } from "../rollout/migrationStop";
import type { DeploymentRecord } from "../rollout/records";
import type { TaskPort, TaskState } from "../ports/tasks";
import { FakeClock } from "./fakes/fakeClock";

const TASK = "arn:aws:ecs:eu-west-1:123456789012:task/shop/abc";
const RUNNING: MigrationResult = { direction: "up", command: ["migrate"], outcome: "running", taskArn: TASK, startedAt: "2025-03-04T09:58:00.000Z", finishedAt: "2025-03-04T09:58:00.000Z", durationSeconds: 0, logsUrl: "https://logs" };

function setup(migration: MigrationResult | undefined, options: { outputs?: Record<string, unknown> | "unreadable"; checkpointOutputs?: Record<string, unknown>; states?: (TaskState | undefined)[] } = {}) {
    const stops: string[][] = [];
    const lines: string[][] = [];
    const states = options.states ?? [{ taskArn: TASK, lastStatus: "RUNNING", startedAt: new Date() }, { taskArn: TASK, lastStatus: "STOPPED", exitCode: 143, stopCode: "UserInitiated" }];
    let read = 0;
    const tasks: TaskPort = {
        runTask: async () => assert.fail("no RunTask"),
        describeTask: async () => states[Math.min(read++, states.length - 1)],
        stopTask: async (cluster, taskArn, reason) => void stops.push([cluster, taskArn, reason]),
    };
    const outputs = options.outputs ?? { migration: { clusterArn: "arn:cluster/shop" }, preReleaseSnapshot: { identifier: "snap-1", restoreCommand: "aws rds restore-db-instance-from-db-snapshot --db-snapshot-identifier snap-1" } };
    const record = { id: "r-1", stack: "production", version: "v1.6.0", migration, checkpoint: { outputs: options.checkpointOutputs ?? {} } } as unknown as DeploymentRecord;
    const saved: unknown[] = [];
    const deps = {
        stack: {
            outputs: async () => (outputs === "unreadable" ? Promise.reject(new Error("no state")) : outputs),
            getAllConfig: async () => ({ "shiftwise:database": { value: JSON.stringify({ migration: { downCommand: ["down"] } }) } }),
        } as never,
        clock: new FakeClock("2025-03-04T10:00:00Z"),
        records: { save: (r: unknown) => void saved.push(JSON.parse(JSON.stringify(r))) } as never,
        reporter: { line: (stage: string, text: string) => void lines.push([stage, text]), progress: () => undefined } as never,
        tasks,
        migrationPollMs: 15_000,
    };
    return { deps, record, stops, lines, saved };
}

describe("migrationStop (small fakes)", () => {
    it("restoreAdvice: the exact restore command when the stack has it, the down-migration when configured, the logs", () => {
        assert.strictEqual(
            restoreAdvice("The database may be partly migrated", { snapshot: { identifier: "snap-1", restoreCommand: "aws rds restore x" }, downCommand: true, stack: "production", logsUrl: "https://logs" }),
            "The database may be partly migrated; restore the pre-release snapshot snap-1 with:\n  aws rds restore x\nor undo the migration: shiftwise rollback --stack production --migrate-down\nmigration logs: https://logs",
        );
        assert.strictEqual(
            restoreAdvice("It broke", { snapshot: null, downCommand: false, stack: "staging" }),
            "It broke; restore the pre-release snapshot (`pulumi stack output preReleaseSnapshot` has the command)",
        );
    });

    it("stopByHand: aws ecs stop-task on ECS, kubectl delete job in the namespace on Kubernetes", () => {
        assert.strictEqual(stopByHand(undefined, "arn:cluster/shop", TASK), `aws ecs stop-task --cluster arn:cluster/shop --task ${TASK}`);
        assert.strictEqual(stopByHand("ecs", "c", "t"), "aws ecs stop-task --cluster c --task t");
        assert.strictEqual(stopByHand("kubernetes", "shop", "shop-migration-1a2b"), "kubectl delete job shop-migration-1a2b --namespace shop --cascade=foreground");
    });

    it("nothing to do without a running migration: no read, no stop, no save", async () => {
        for (const migration of [undefined, { ...RUNNING, outcome: "succeeded" as const }, { ...RUNNING, outcome: "interrupted" as const }, { ...RUNNING, taskArn: undefined }]) {
            const { deps, record, stops, saved, lines } = setup(migration);
            assert.strictEqual(await stopRecordedMigration(deps, record, "oncall"), undefined);
            assert.deepStrictEqual([stops, saved, lines], [[], [], []]);
        }
    });

    it("a running task: stopped in the output's cluster, waited for every migrationPollMs, recorded exactly, announced on the migration line", async () => {
        const { deps, record, stops, lines, saved } = setup(RUNNING, { states: [{ taskArn: TASK, lastStatus: "RUNNING" }, { taskArn: TASK, lastStatus: "DEPROVISIONING" }, { taskArn: TASK, lastStatus: "STOPPED", exitCode: 143, stopCode: "UserInitiated" }] });
        const line = await stopRecordedMigration(deps, record, "oncall");
        assert.deepStrictEqual(stops, [["arn:cluster/shop", TASK, "shiftwise/production/v1.6.0: rollback requested by oncall"]]);
        assert.deepStrictEqual(record.migration, {
            ...RUNNING,
            outcome: "interrupted",
            reason: "stopped by the rollback oncall requested; StopTask sent; ECS showed it STOPPED after 15 s (exit code 143)",
            lastStatus: "STOPPED",
            exitCode: 143,
            stop: { reason: "shiftwise/production/v1.6.0: rollback requested by oncall", requestedAt: "2025-03-04T10:00:00.000Z", confirmed: true, lastStatus: "STOPPED", stopCode: "UserInitiated", exitCode: 143, waitedSeconds: 15 },
            finishedAt: "2025-03-04T10:00:15.000Z",
            durationSeconds: 135,
        });
        assert.deepStrictEqual(saved, [JSON.parse(JSON.stringify(record))]);
        const expected = `the migration task ${TASK} of v1.6.0 was still running: ${record.migration!.reason}`;
        assert.deepStrictEqual(lines, [["migration", expected]]);
        assert.strictEqual(line, `${expected}; the schema may be half-migrated; restore the pre-release snapshot snap-1 with:\n  aws rds restore-db-instance-from-db-snapshot --db-snapshot-identifier snap-1\nor undo the migration: shiftwise rollback --stack production --migrate-down\nmigration logs: https://logs`);
    });

    it("a task that ended with a failure is judged (no stop) and the schema may be half-migrated", async () => {
        const { deps, record, stops } = setup(RUNNING, { states: [{ taskArn: TASK, lastStatus: "STOPPED", exitCode: 2, startedAt: new Date() }] });
        const line = await stopRecordedMigration(deps, record, "oncall");
        assert.deepStrictEqual(stops, []);
        assert.deepStrictEqual([record.migration?.outcome, record.migration?.exitCode, record.migration?.logsUrl, record.migration?.durationSeconds], ["failed", 2, "https://logs", 120]);
        assert.match(line!, /had ended: migration up failed, exit code 2 in 120 s; logs: https:\/\/logs; the schema may be half-migrated; restore/);
    });

    it("on Kubernetes the Job is stopped in its namespace; with unreadable outputs the checkpoint's cluster is used; with neither, the by-hand command", async () => {
        const k8s = setup(RUNNING, { outputs: { migration: { platform: "kubernetes", namespace: "shop", clusterArn: "not-this" } } });
        await stopRecordedMigration(k8s.deps, k8s.record, "oncall");
        assert.strictEqual(k8s.stops[0][0], "shop");
        const fallback = setup(RUNNING, { outputs: "unreadable", checkpointOutputs: { migration: { clusterArn: "arn:cluster/old" } } });
        await stopRecordedMigration(fallback.deps, fallback.record, "oncall");
        assert.strictEqual(fallback.stops[0][0], "arn:cluster/old");
        const none = setup(RUNNING, { outputs: { migration: { clusterArn: "" } } });
        const line = await stopRecordedMigration(none.deps, none.record, "oncall");
        assert.deepStrictEqual(none.stops, []);
        assert.ok(line!.startsWith(`the migration task ${TASK} of v1.6.0 may still be running and cannot be stopped from here (no migration cluster in the stack outputs): stop it with \`aws ecs stop-task --cluster <cluster> --task ${TASK}\`; the schema may be half-migrated`), line);
        assert.deepStrictEqual(none.lines, [["migration", line!.split("; the schema")[0]]]);
    });
});
