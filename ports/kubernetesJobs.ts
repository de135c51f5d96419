// The task port on a Kubernetes cluster: the migration as a batch/v1 Job created from the program's suspended CronJob template, read through its pods, deleted to stop it.
import { createHash } from "crypto";
import { EKSClient } from "@aws-sdk/client-eks";
import { EksConnection, KubernetesCall, KubernetesResponse, httpsRequest } from "./eksApi";
import { TaskLaunch, TaskLaunchFailed, TaskPort, TaskState } from "./tasks";

/** Annotations that tie a Job to the run that created it, so a restarted driver re-attaches only to its own Job. */
export const RUN_ANNOTATION = "shiftwise.dev/run";
export const COMMAND_ANNOTATION = "shiftwise.dev/command";
export const STARTED_BY_ANNOTATION = "shiftwise.dev/started-by";
/** The container whose state decides the outcome (a mesh may inject sidecars). */
export const CONTAINER_ANNOTATION = "shiftwise.dev/container";
/** The label the Job controller puts on a Job's pods (Kubernetes 1.27 and later; `job-name` before). */
export const JOB_NAME_LABEL = "batch.kubernetes.io/job-name";
/**
 * A Job's name must be at most 63 characters, although it is a DNS subdomain,
 * because the controller copies it into its pods' `job-name` labels, and label
 * values are at most 63 (Kubernetes docs, Jobs, "Writing a Job spec").
 */
export const MAX_JOB_NAME = 63;
/** Hex characters of the run's hash in the Job name. */
const NAME_HASH_LENGTH = 10;

/** A Kubernetes object as far as the port reads it. */
interface ObjectMeta {
    readonly name?: string;
    readonly labels?: Record<string, string>;
    readonly annotations?: Record<string, string>;
    readonly deletionTimestamp?: string;
    readonly creationTimestamp?: string;
}
interface JobCondition {
    readonly type: string;
    readonly status: string;
    readonly reason?: string;
    readonly message?: string;
    readonly lastTransitionTime?: string;
}
interface Container {
    readonly name: string;
    readonly args?: string[];
    readonly [field: string]: unknown;
}
interface JobTemplate {
    readonly metadata?: ObjectMeta;
    readonly spec?: { readonly template?: { readonly metadata?: ObjectMeta; readonly spec?: { readonly containers?: Container[]; readonly [field: string]: unknown } }; readonly [field: string]: unknown };
}
interface Job {
    readonly metadata?: ObjectMeta;
    readonly status?: { readonly conditions?: JobCondition[]; readonly startTime?: string; readonly completionTime?: string };
}
interface ContainerState {
    readonly waiting?: { readonly reason?: string; readonly message?: string };
    readonly running?: { readonly startedAt?: string };
    readonly terminated?: { readonly exitCode?: number; readonly reason?: string; readonly message?: string; readonly startedAt?: string; readonly finishedAt?: string };
}
interface Pod {
    readonly metadata?: ObjectMeta;
    readonly status?: { readonly phase?: string; readonly reason?: string; readonly message?: string; readonly containerStatuses?: { readonly name: string; readonly state?: ContainerState }[] };
}

/**
 * The task port on a Kubernetes cluster (EKS). `runTask` reads the suspended
 * CronJob the program declares (`launch.taskDefinition`, in the namespace
 * `launch.cluster`), copies its job template (backoffLimit 0,
 * activeDeadlineSeconds, ttlSecondsAfterFinished, the pod spec) into a new Job
 * whose container gets `launch.command` as its args, and creates it. The Job's
 * name derives from the run (`launch.runId`, else `startedBy`) and the
 * command, so a driver that died between creating the Job and recording it
 * finds the same name again: on 409 it re-attaches when the existing Job
 * carries its own run and command annotations, and refuses otherwise.
 * `describeTask` reads the Job's conditions and its pod's container state;
 * `stopTask` deletes the Job with foreground propagation.
 *
 * In the cluster the identity needs (the program's Role `<service>-migration-runner`):
 * get on the CronJob, create/get/delete on jobs and list on pods, in the namespace.
 */
export class KubernetesJobPort implements TaskPort {
    constructor(private readonly cluster: EksConnection) {}

    /** A port on EKS cluster `clusterName` in `region`, credentials from the default chain. */
    static forCluster(region: string, clusterName: string, call: KubernetesCall = httpsRequest): KubernetesJobPort {
        return new KubernetesJobPort(new EksConnection(new EKSClient({ region, retryMode: "standard", maxAttempts: 5 }), clusterName, call));
    }

    async runTask(launch: TaskLaunch): Promise<string> {
        const namespace = launch.cluster;
        const template = await this.jobTemplate(namespace, launch.taskDefinition);
        const name = migrationJobName(launch);
        const job = jobFromTemplate(template, launch, name);
        const created = await this.cluster.request(jobsPath(namespace), { method: "POST", body: job });
        if (created.status === 201 || created.status === 200) return name;
        if (created.status === 409) return this.reattach(namespace, name, launch);
        throw new TaskLaunchFailed(`Kubernetes created no Job ${name} in namespace ${namespace}: ${apiProblem(created, `create jobs in namespace ${namespace}`)}`);
    }

    async describeTask(namespace: string, jobName: string): Promise<TaskState | undefined> {
        const response = await this.cluster.request(`${jobsPath(namespace)}/${encodeURIComponent(jobName)}`);
        if (response.status === 404) return undefined;
        const job = parsed<Job>(response, `get job ${jobName} in namespace ${namespace}`);
        const pods = await this.cluster.request(`/api/v1/namespaces/${encodeURIComponent(namespace)}/pods?labelSelector=${encodeURIComponent(`${JOB_NAME_LABEL}=${jobName}`)}`);
        const pod = latestPod(parsed<{ items?: Pod[] }>(pods, `list pods in namespace ${namespace}`).items ?? []);
        return jobState(jobName, job, pod);
    }

    async stopTask(namespace: string, jobName: string, _reason: string): Promise<void> {
        // Foreground: the Job stays visible (with a deletionTimestamp) until its pod has stopped; the pod gets SIGTERM
        // and its terminationGracePeriodSeconds before SIGKILL. Kubernetes has no field for the reason; the record keeps it.
        const response = await this.cluster.request(`${jobsPath(namespace)}/${encodeURIComponent(jobName)}`, {
            method: "DELETE",
            body: { apiVersion: "v1", kind: "DeleteOptions", propagationPolicy: "Foreground" },
        });
        if (response.status === 200 || response.status === 202 || response.status === 404) return;
        throw new Error(`could not delete Job ${jobName} in namespace ${namespace}: ${apiProblem(response, `delete jobs in namespace ${namespace}`)}`);
    }

    private async jobTemplate(namespace: string, cronJobName: string): Promise<JobTemplate> {
        const response = await this.cluster.request(`/apis/batch/v1/namespaces/${encodeURIComponent(namespace)}/cronjobs/${encodeURIComponent(cronJobName)}`);
        if (response.status === 404) {
            throw new TaskLaunchFailed(`the migration's job template, CronJob ${cronJobName}, does not exist in namespace ${namespace} of EKS cluster ${this.cluster.clusterName}; run \`pulumi up\` so the program declares it`);
        }
        const cronJob = parsed<{ spec?: { jobTemplate?: JobTemplate } }>(response, `get cronjob ${cronJobName} in namespace ${namespace}`);
        if (!cronJob.spec?.jobTemplate?.spec?.template?.spec) throw new TaskLaunchFailed(`CronJob ${cronJobName} in namespace ${namespace} has no job template`);
        return cronJob.spec.jobTemplate;
    }

    /** On 409: the Job of this very run (a driver that died after creating it) is taken over; any other is refused. */
    private async reattach(namespace: string, name: string, launch: TaskLaunch): Promise<string> {
        const response = await this.cluster.request(`${jobsPath(namespace)}/${encodeURIComponent(name)}`);
        const existing = parsed<Job>(response, `get job ${name} in namespace ${namespace}`);
        const annotations = existing.metadata?.annotations ?? {};
        if (annotations[RUN_ANNOTATION] === runOf(launch) && annotations[COMMAND_ANNOTATION] === JSON.stringify(launch.command) && !existing.metadata?.deletionTimestamp) return name;
        const owner = annotations[STARTED_BY_ANNOTATION] ? `started by ${annotations[STARTED_BY_ANNOTATION]}` : "not started by shiftwise";
        throw new TaskLaunchFailed(
            `a Job named ${name} already exists in namespace ${namespace} (${existing.metadata?.deletionTimestamp ? "being deleted" : owner}) and is not this run's; nothing was started. ` +
                `Look at it (kubectl describe job/${name} -n ${namespace}); once it is not running, delete it (kubectl delete job/${name} -n ${namespace}) and deploy again`,
        );
    }
}

/** The run a launch belongs to: its `runId`, else `startedBy`. */
function runOf(launch: Pick<TaskLaunch, "runId" | "startedBy">): string {
    return launch.runId ?? launch.startedBy;
}

/** `<template>-<10 hex>`: the CronJob's name and a hash of the run and the command, within the 63 characters a Job name may have. */
export function migrationJobName(launch: Pick<TaskLaunch, "taskDefinition" | "runId" | "startedBy" | "command">): string {
    const hash = createHash("sha256").update(`${runOf(launch)}\n${JSON.stringify(launch.command)}`).digest("hex").slice(0, NAME_HASH_LENGTH);
    const prefix = launch.taskDefinition.slice(0, MAX_JOB_NAME - NAME_HASH_LENGTH - 1).replace(/-+$/, "");
    return `${prefix}-${hash}`;
}

/** The Job to create: the template's spec and labels, the run's annotations, and the command as the container's args. */
export function jobFromTemplate(template: JobTemplate, launch: TaskLaunch, name: string): Record<string, unknown> {
    const podSpec = template.spec!.template!.spec!;
    const containers = podSpec.containers ?? [];
    if (!containers.some((container) => container.name === launch.containerName)) {
        throw new TaskLaunchFailed(`the job template ${launch.taskDefinition} has no container named ${launch.containerName} (it has ${containers.map((c) => c.name).join(", ") || "none"})`);
    }
    return {
        apiVersion: "batch/v1",
        kind: "Job",
        metadata: {
            name,
            namespace: launch.cluster,
            labels: { ...template.metadata?.labels },
            annotations: {
                ...template.metadata?.annotations,
                [RUN_ANNOTATION]: runOf(launch),
                [COMMAND_ANNOTATION]: JSON.stringify(launch.command),
                [STARTED_BY_ANNOTATION]: launch.startedBy,
                [CONTAINER_ANNOTATION]: launch.containerName,
            },
        },
        spec: {
            ...template.spec,
            template: {
                ...template.spec!.template,
                spec: {
                    ...podSpec,
                    // Like ECS's command override, the argv replaces the image's CMD (Kubernetes `args`); its ENTRYPOINT stays.
                    containers: containers.map((container) => (container.name === launch.containerName ? { ...container, args: [...launch.command] } : container)),
                },
            },
        },
    };
}

/** The pod the Job made last: with backoffLimit 0 there is one, but a pod replaced after an eviction is newer. */
function latestPod(pods: readonly Pod[]): Pod | undefined {
    return [...pods].sort((a, b) => (a.metadata?.creationTimestamp ?? "").localeCompare(b.metadata?.creationTimestamp ?? "")).pop();
}

/**
 * A Job as the task port reports it: `STOPPED` once it has a true `Complete`
 * or `Failed` condition (or someone is deleting it: `stopCode`
 * `UserInitiated`), `RUNNING` while its container runs, `PENDING` before. The
 * exit code and reasons come from the pod's container state; the Job's
 * failure reason (BackoffLimitExceeded, DeadlineExceeded) is the `stopCode`.
 */
export function jobState(jobName: string, job: Job, pod: Pod | undefined): TaskState {
    const conditions = job.status?.conditions ?? [];
    const finished = conditions.find((condition) => (condition.type === "Complete" || condition.type === "Failed") && condition.status === "True");
    const statuses = pod?.status?.containerStatuses ?? [];
    const named = job.metadata?.annotations?.[CONTAINER_ANNOTATION];
    const container = (statuses.find((status) => status.name === named) ?? statuses[0])?.state;
    const terminated = container?.terminated;
    const containerReason = [
        terminated?.reason ?? container?.waiting?.reason,
        terminated?.message ?? container?.waiting?.message,
        pod?.status?.reason,
        pod?.status?.message,
    ].filter((text): text is string => text !== undefined && text !== "").join(": ");
    const startedAt = terminated?.startedAt ?? container?.running?.startedAt;
    const exitCode = terminated?.exitCode ?? (finished?.type === "Complete" ? 0 : undefined);
    const deleting = job.metadata?.deletionTimestamp !== undefined;
    const lastStatus = finished || deleting ? "STOPPED" : container?.running || terminated ? "RUNNING" : "PENDING";
    const stopCode = finished ? (finished.reason ?? finished.type) : deleting ? "UserInitiated" : undefined;
    const stoppedReason = finished ? [finished.reason, finished.message].filter(Boolean).join(": ") || finished.type : deleting ? `Job ${jobName} is being deleted (kubectl delete, or not by shiftwise)` : undefined;
    const stoppedAt = terminated?.finishedAt ?? finished?.lastTransitionTime;
    return {
        taskArn: jobName,
        lastStatus,
        ...(exitCode !== undefined ? { exitCode } : {}),
        ...(stoppedReason ? { stoppedReason } : {}),
        ...(stopCode ? { stopCode } : {}),
        ...(containerReason ? { containerReason } : {}),
        ...(startedAt ? { startedAt: new Date(startedAt) } : {}),
        ...(lastStatus === "STOPPED" && stoppedAt ? { stoppedAt: new Date(stoppedAt) } : {}),
    };
}

function jobsPath(namespace: string): string {
    return `/apis/batch/v1/namespaces/${encodeURIComponent(namespace)}/jobs`;
}

/** The body of a 200 as JSON; any other status is an error that names what the identity may need. */
function parsed<T>(response: KubernetesResponse, what: string): T {
    if (response.status !== 200) throw new Error(`cannot ${what}: ${apiProblem(response, what)}`);
    try {
        return JSON.parse(response.body) as T;
    } catch {
        throw new Error(`cannot ${what}: the API server answered HTTP 200 with a body that is not JSON`);
    }
}

/** An API error in one line: HTTP status, the Status object's reason and message, and for 401/403 what to grant. */
export function apiProblem(response: KubernetesResponse, permission: string): string {
    let status: { reason?: string; message?: string } = {};
    try {
        status = JSON.parse(response.body) as typeof status;
    } catch {
        // Not a Status object (a proxy's HTML page): the HTTP status says enough.
    }
    const detail = [status.reason, status.message].filter(Boolean).join(": ");
    const grant =
        response.status === 401 || response.status === 403
            ? `; the runner's AWS identity needs an EKS access entry in the group the program's Role \`<service>-migration-runner\` is bound to, which may ${permission}`
            : "";
    return `HTTP ${response.status}${detail ? ` (${detail})` : ""}${grant}`;
}
