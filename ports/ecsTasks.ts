// The task port on the AWS SDK v3 ECS client: RunTask, DescribeTasks, StopTask.
import { DescribeTasksCommand, ECSClient, RunTaskCommand, StopTaskCommand } from "@aws-sdk/client-ecs";
import { TaskLaunch, TaskLaunchFailed, TaskPort, TaskState } from "./tasks";

/** StopTask's `reason` is at most 255 characters (ECS API Reference, StopTask). */
const MAX_STOP_REASON = 255;
/** RunTask's `startedBy` is up to 36 letters, digits, hyphens, underscores and slashes (ECS API Reference, RunTask). */
const MAX_STARTED_BY = 36;

/**
 * The task port on `@aws-sdk/client-ecs`. Credentials and region come from the
 * default provider chain; the SDK's standard retry mode retries throttling.
 *
 * IAM actions it needs: ecs:RunTask (on the migration task definition family),
 * ecs:DescribeTasks, ecs:StopTask, and iam:PassRole on the migration's
 * execution and task roles.
 */
export class EcsTaskPort implements TaskPort {
    constructor(private readonly ecs: ECSClient) {}

    /** A client for `region` with the default credential chain. */
    static forRegion(region: string): EcsTaskPort {
        return new EcsTaskPort(new ECSClient({ region }));
    }

    async runTask(launch: TaskLaunch): Promise<string> {
        const response = await this.ecs.send(
            new RunTaskCommand({
                cluster: launch.cluster,
                taskDefinition: launch.taskDefinition,
                launchType: "FARGATE",
                platformVersion: "LATEST",
                count: 1,
                networkConfiguration: {
                    awsvpcConfiguration: { subnets: [...launch.subnetIds], securityGroups: [...launch.securityGroupIds], assignPublicIp: "DISABLED" },
                },
                overrides: { containerOverrides: [{ name: launch.containerName, command: [...launch.command] }] },
                startedBy: startedByValue(launch.startedBy),
                enableECSManagedTags: true,
                propagateTags: "TASK_DEFINITION",
            }),
        );
        const task = response.tasks?.[0];
        if (!task?.taskArn) {
            const failures = (response.failures ?? []).map((failure) => `${failure.reason ?? "unknown"}${failure.detail ? ` (${failure.detail})` : ""}${failure.arn ? ` on ${failure.arn}` : ""}`);
            throw new TaskLaunchFailed(`ECS started no task: ${failures.length > 0 ? failures.join("; ") : "RunTask returned neither a task nor a failure"}`);
        }
        return task.taskArn;
    }

    async describeTask(cluster: string, taskArn: string): Promise<TaskState | undefined> {
        const response = await this.ecs.send(new DescribeTasksCommand({ cluster, tasks: [taskArn] }));
        const task = response.tasks?.find((candidate) => candidate.taskArn === taskArn);
        if (!task) return undefined;
        // The migration task has one container; with sidecars, the essential container that exited decides.
        const container = task.containers?.find((candidate) => candidate.exitCode !== undefined) ?? task.containers?.[0];
        return {
            taskArn,
            lastStatus: task.lastStatus ?? "UNKNOWN",
            ...(container?.exitCode !== undefined && container.exitCode !== null ? { exitCode: container.exitCode } : {}),
            ...(task.stoppedReason ? { stoppedReason: task.stoppedReason } : {}),
            ...(task.stopCode ? { stopCode: task.stopCode } : {}),
            ...(container?.reason ? { containerReason: container.reason } : {}),
            ...(task.startedAt ? { startedAt: task.startedAt } : {}),
            ...(task.stoppedAt ? { stoppedAt: task.stoppedAt } : {}),
        };
    }

    async stopTask(cluster: string, taskArn: string, reason: string): Promise<void> {
        await this.ecs.send(new StopTaskCommand({ cluster, task: taskArn, reason: reason.slice(0, MAX_STOP_REASON) }));
    }
}

/** `startedBy` within ECS's characters and length. */
export function startedByValue(text: string): string {
    return text.replace(/[^A-Za-z0-9_/-]/g, "-").slice(0, MAX_STARTED_BY);
}
