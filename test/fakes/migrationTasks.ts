// ECS (and RDS) through aws-sdk-client-mock for the migration scenarios: RunTask, DescribeTasks answering from a script of states, StopTask.
import { DescribeTasksCommand, ECSClient, RunTaskCommand, StopTaskCommand } from "@aws-sdk/client-ecs";
import { DBInstanceNotFoundFault, DBSnapshotNotFoundFault, DescribeDBInstancesCommand, DescribeDBSnapshotsCommand, RDSClient } from "@aws-sdk/client-rds";
import { mockClient } from "aws-sdk-client-mock";
import { RdsDatabaseState } from "../../ports/databaseState";
import type { DeploymentRecord, RecordStore } from "../../rollout/records";
import type { DriverDeps } from "../../rollout/stages/context";
import type { TaskPort } from "../../ports/tasks";
import type { FakeStack } from "./fakeStack";

export const TASK_DEFINITION = "aws:ecs/taskDefinition:TaskDefinition";
export const TASK = "arn:aws:ecs:eu-west-1:123456789012:task/shop/4a5b6c7d8e9f40112233445566778899";
export const MIGRATION = { command: ["npm", "run", "migrate"], downCommand: ["npm", "run", "migrate:down"], timeoutMinutes: 10, stableSoakMinutes: 5 };

/** One DescribeTasks answer of the script; the last one repeats. */
export interface TaskScriptState {
    readonly lastStatus: string;
    readonly exitCode?: number;
    readonly stoppedReason?: string;
    readonly stopCode?: string;
    readonly started?: boolean;
    /** ECS no longer knows the task (DescribeTasks answers a MISSING failure): it stopped over an hour ago, or never existed. */
    readonly gone?: boolean;
}

export const SUCCEEDS: readonly TaskScriptState[] = [{ lastStatus: "RUNNING" }, { lastStatus: "STOPPED", exitCode: 0, stoppedReason: "Essential container in task exited" }];

/** What the stack looked like when RunTask was called. */
export interface AtRunTask {
    snapshots: string[];
    candidateImage: string;
    migrationImage: string;
    /** The deployed forwarding listener's default action: `forward`, or `fixed-response` while the maintenance page is up. */
    forwardingAction: string;
    input: Record<string, unknown>;
}

/** The image of the deployed task definition `name` (e.g. `shop-green`, `shop-migration`). */
export async function imageOf(stack: FakeStack, name: string): Promise<string> {
    const task = await stack.deployedResource(TASK_DEFINITION, name);
    return JSON.parse(String(task?.inputs.containerDefinitions))[0].image;
}

/**
 * An ECS client whose DescribeTasks answers from `states` (from the first
 * RunTask on) and that records the stack at RunTask. After a StopTask the task
 * stops as ECS stops one: STOPPED with stopCode UserInitiated, the StopTask
 * reason and exit code 143 (SIGTERM), unless `ignoresStop` (it keeps running).
 */
export function mockMigrationEcs(stack: FakeStack, states: readonly TaskScriptState[], options: { ignoresStop?: boolean } = {}) {
    const ecsClient = new ECSClient({ region: "eu-west-1", credentials: { accessKeyId: "test", secretAccessKey: "test" } });
    const ecs = mockClient(ecsClient);
    const seen: { atRunTask?: AtRunTask } = {};
    ecs.on(RunTaskCommand).callsFake(async (input) => {
        const deployed = await stack.deployed();
        seen.atRunTask = {
            snapshots: deployed.resources.filter((r) => r.type === "aws:rds/snapshot:Snapshot").map((r) => String(r.inputs.dbSnapshotIdentifier)),
            candidateImage: await imageOf(stack, "shop-green"),
            migrationImage: await imageOf(stack, "shop-migration"),
            forwardingAction: String((deployed.resources.find((r) => r.type === "aws:lb/listener:Listener" && r.state.arn === deployed.outputs.listenerArn)?.inputs.defaultActions as { type?: string }[] | undefined)?.[0]?.type),
            input,
        };
        return { tasks: [{ taskArn: TASK, lastStatus: "PROVISIONING" }], failures: [] };
    });
    let call = 0;
    let stopped: string | undefined;
    ecs.on(DescribeTasksCommand).callsFake(async () => {
        const scripted = states[Math.min(call++, states.length - 1)];
        const state: TaskScriptState = stopped !== undefined && !options.ignoresStop && scripted.lastStatus !== "STOPPED" && !scripted.gone ? { lastStatus: "STOPPED", exitCode: 143, stopCode: "UserInitiated", stoppedReason: stopped } : scripted;
        if (state.gone) return { tasks: [], failures: [{ arn: TASK, reason: "MISSING" }] };
        return {
            tasks: [{
                taskArn: TASK,
                lastStatus: state.lastStatus,
                stoppedReason: state.stoppedReason,
                stopCode: state.stopCode,
                startedAt: state.started === false ? undefined : new Date("2025-03-04T10:01:00Z"),
                containers: [{ name: "migrate", exitCode: state.exitCode }],
            }],
        };
    });
    ecs.on(StopTaskCommand).callsFake(async (input: { reason?: string }) => {
        stopped ??= input.reason ?? "";
        return {};
    });
    return { ecsClient, ecs, seen };
}

/** What RDS answers: the snapshot (absent when `snapshotStatus` is undefined) and the instance; tests change it between readings. */
export interface RdsWorld {
    snapshotStatus?: string;
    snapshotSource: string;
    instanceStatus?: string;
    resourceId: string;
}

/** An RDS client whose DescribeDBSnapshots and DescribeDBInstances answer from `world` (each reading may first call `beforeRead`). */
export function mockDatabase(world: Partial<RdsWorld> = {}) {
    const state: RdsWorld & { beforeRead?: () => void } = { snapshotStatus: "available", snapshotSource: "db-ORIGINAL7KQ", instanceStatus: "available", resourceId: "db-ORIGINAL7KQ", ...world };
    const rdsClient = new RDSClient({ region: "eu-west-1", credentials: { accessKeyId: "test", secretAccessKey: "test" } });
    const rds = mockClient(rdsClient);
    rds.on(DescribeDBSnapshotsCommand).callsFake(async (input: { DBSnapshotIdentifier?: string }) => {
        state.beforeRead?.();
        if (state.snapshotStatus === undefined) throw new DBSnapshotNotFoundFault({ message: `DBSnapshot ${input.DBSnapshotIdentifier} not found.`, $metadata: {} });
        return { DBSnapshots: [{ DBSnapshotIdentifier: input.DBSnapshotIdentifier, Status: state.snapshotStatus, DbiResourceId: state.snapshotSource, PercentProgress: state.snapshotStatus === "available" ? 100 : 40 }] };
    });
    rds.on(DescribeDBInstancesCommand).callsFake(async (input: { DBInstanceIdentifier?: string }) => {
        if (state.instanceStatus === undefined) throw new DBInstanceNotFoundFault({ message: `DBInstance ${input.DBInstanceIdentifier} not found.`, $metadata: {} });
        return { DBInstances: [{ DBInstanceIdentifier: input.DBInstanceIdentifier, DBInstanceStatus: state.instanceStatus, DbiResourceId: state.resourceId }] };
    });
    return { rds, world: state, port: new RdsDatabaseState(rdsClient) };
}

/**
 * Starts `run` (a deploy) with a task port whose DescribeTasks never answers,
 * as if the process died while it waited, and resolves once the record holds
 * the running task: what `shiftwise resume` or `rollback` then finds.
 */
export async function dieDuringMigration(h: { readonly deps: DriverDeps; readonly records: RecordStore }, run: (deps: DriverDeps) => Promise<unknown>): Promise<DeploymentRecord> {
    const real = h.deps.tasks!;
    const frozen: TaskPort = { runTask: (launch) => real.runTask(launch), describeTask: () => new Promise(() => undefined), stopTask: (c, t, r) => real.stopTask(c, t, r) };
    void run({ ...h.deps, tasks: frozen });
    for (let waited = 0; h.records.unfinished()?.migration?.outcome !== "running"; waited += 20) {
        if (waited > 60_000) throw new Error("the migration never started");
        await new Promise((resolve) => setTimeout(resolve, 20));
    }
    return h.records.unfinished()!;
}
