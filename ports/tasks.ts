// The task port: start, read and stop the one-off migration task (ECS RunTask, or a Kubernetes Job).
/**
 * The part of the AWS port that runs one-off tasks: the release's migration.
 * It is its own interface so that the read-only `AwsPort` fakes stay small and
 * a Kubernetes `Job` runner implements the same three calls. The real
 * adapters are `ecsTasks.ts` (AWS SDK v3, `@aws-sdk/client-ecs`) and
 * `kubernetesJobs.ts` (a batch/v1 Job on EKS: `cluster` is then the
 * namespace, `taskDefinition` the CronJob that holds the job template, and a
 * task's "ARN" the Job's name).
 */

/** What RunTask needs: all of it comes from the stack's `migration` output, except the command. */
export interface TaskLaunch {
    /** Cluster name or ARN. */
    readonly cluster: string;
    /** Task definition family, `family:revision` or ARN. */
    readonly taskDefinition: string;
    /** The container whose command is overridden. */
    readonly containerName: string;
    /** The argv to run (the migration's `command`, or `downCommand`). */
    readonly command: readonly string[];
    /** Private subnets; the task gets no public IP. */
    readonly subnetIds: readonly string[];
    readonly securityGroupIds: readonly string[];
    /** Recorded on the task (`startedBy`), e.g. `shiftwise/production/v1.5.0`. */
    readonly startedBy: string;
    /**
     * Identifies this run across a driver restart (the deployment record's id
     * and the direction). The Kubernetes Job's name derives from it, so a
     * resumed driver finds the Job it had created. @default startedBy
     */
    readonly runId?: string;
}

/** A task as DescribeTasks reports it. */
export interface TaskState {
    readonly taskArn: string;
    /** PROVISIONING, PENDING, ACTIVATING, RUNNING, DEACTIVATING, STOPPING, DEPROVISIONING, STOPPED. */
    readonly lastStatus: string;
    /** The container's exit code, once it exited; absent when it never ran. */
    readonly exitCode?: number;
    /** Why the task stopped (`Essential container in task exited`, `CannotPullContainerError: ...`). */
    readonly stoppedReason?: string;
    /** TaskFailedToStart, EssentialContainerExited, UserInitiated, ... */
    readonly stopCode?: string;
    /** The container's own reason, when ECS gives one (OOM, image pull). */
    readonly containerReason?: string;
    /** When the container started running; absent while it never did. */
    readonly startedAt?: Date;
    readonly stoppedAt?: Date;
}

/** RunTask refused to start a task (capacity, a missing task definition, an invalid subnet). */
export class TaskLaunchFailed extends Error {}

export interface TaskPort {
    /** RunTask on Fargate in the given subnets without a public IP; resolves to the task ARN, throws `TaskLaunchFailed` when ECS starts none. */
    runTask(launch: TaskLaunch): Promise<string>;
    /** DescribeTasks for one task; undefined when ECS no longer knows it. */
    describeTask(cluster: string, taskArn: string): Promise<TaskState | undefined>;
    /** StopTask with a reason (ECS sends SIGTERM, then SIGKILL after the container's stopTimeout). */
    stopTask(cluster: string, taskArn: string, reason: string): Promise<void>;
}
