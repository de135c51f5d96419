// The release's migration on Kubernetes: a suspended CronJob that holds the Job template, and the namespace-scoped Role the driver creates Jobs from it with.
import * as batchv1 from "@pulumi/kubernetes/batch/v1";
import * as rbacv1 from "@pulumi/kubernetes/rbac/v1";
import type * as k8sInput from "@pulumi/kubernetes/types/input";
import * as pulumi from "@pulumi/pulumi";
import { containerEnvironment, containerResources, hardenedContainer, nodeArchitecture, podUser, scratchAndSecretMounts, scratchAndSecretVolumes, secretKeyEnvironment, versionLabel } from "./kubernetesColour";

export interface KubernetesMigrationJobArgs {
    /** The service name, e.g. `shop`; the CronJob is `<serviceName>-migration`. */
    readonly serviceName: string;
    /** The namespace of the colours; the Jobs run there. */
    readonly namespace: pulumi.Input<string>;
    /** The release label the migration belongs to, e.g. `v1.5.0`; the container sees it as SHIFTWISE_VERSION. */
    readonly release: pulumi.Input<string>;
    /** The image that holds the migrations, pinned by tag or digest: by default the release's image. */
    readonly image: pulumi.Input<string>;
    /** The migration's argv, the container's `args` (the image's entrypoint stays, as with ECS's command override); the driver sets it again on each Job. */
    readonly command: pulumi.Input<pulumi.Input<string>[]>;
    /** How long a Job may be active before Kubernetes ends it (`activeDeadlineSeconds`). */
    readonly timeoutMinutes: number;
    /** CPU in Fargate units (1024 per vCPU), as both request and limit. @default 256 */
    readonly cpu?: pulumi.Input<number>;
    /** Memory in MiB, as both request and limit. @default 512 */
    readonly memory?: pulumi.Input<number>;
    /** CPU architecture the image was built for: the node selector. @default "X86_64" */
    readonly cpuArchitecture?: pulumi.Input<string>;
    /** The numeric `uid[:gid]` the container runs as. @default 10001, as the colours */
    readonly user?: pulumi.Input<string | undefined>;
    /** The ServiceAccount the pods run as: the colours', so the same Pod Identity role reads the same secrets. */
    readonly serviceAccountName: pulumi.Input<string>;
    /** Plain environment variables, the colours' own (DATABASE_HOST and friends). @default {} */
    readonly environment?: pulumi.Input<Record<string, pulumi.Input<string>>>;
    /** The colours' synced Kubernetes Secret and its SecretProviderClass: the same keys become environment variables. @default no secrets */
    readonly secrets?: { readonly secretName: pulumi.Input<string>; readonly providerClassName: pulumi.Input<string>; readonly keys: pulumi.Input<string[]> };
    /**
     * The Kubernetes group the driver's identity is mapped to (an EKS access
     * entry's `kubernetesGroups`); the Role that may run the migration is bound
     * to it. @default "shiftwise-<serviceName>-migration-runner"
     */
    readonly runnerGroup?: string;
    /** Seconds a finished Job (and its pod, with the logs) stays before Kubernetes deletes it. @default 86400 */
    readonly ttlSecondsAfterFinished?: number;
    /** Seconds between SIGTERM and SIGKILL when a Job is stopped: time to roll back its transaction. @default 120 */
    readonly terminationGracePeriodSeconds?: number;
}

/** The container name in the job template; the driver's Job sets its args. */
export const MIGRATION_CONTAINER = "migrate";

/**
 * The migration of a release on Kubernetes. Kubernetes has no one-off task
 * definition, so the Job template lives in a CronJob that is suspended and
 * never scheduled (`suspend: true`, `concurrencyPolicy: Forbid`): the API
 * server validates it at `pulumi up`, and the driver (or a human, `kubectl
 * create job --from=cronjob/<name>`) creates a Job from it at release time.
 * The Job runs once (`backoffLimit: 0`: a failed migration is never retried by
 * itself), at most `timeoutMinutes` (`activeDeadlineSeconds`), with
 * `restartPolicy: Never`, on the colours' ServiceAccount, image environment,
 * secrets and database access, and with the colours' hardening (non-root,
 * read-only root filesystem, no privilege escalation, no capabilities,
 * seccomp RuntimeDefault). A Role may get this CronJob, create, get and delete
 * Jobs and list pods, in this namespace only; it is bound to `runnerGroup`.
 */
export class KubernetesMigrationJob extends pulumi.ComponentResource {
    public readonly cronJob: batchv1.CronJob;
    public readonly runnerRole: rbacv1.Role;
    public readonly runnerRoleBinding: rbacv1.RoleBinding;
    /** The CronJob's name: the driver's job template. */
    public readonly templateName: pulumi.Output<string>;
    public readonly namespace: pulumi.Output<string>;
    public readonly containerName: string;
    public readonly runnerGroup: string;

    constructor(name: string, args: KubernetesMigrationJobArgs, opts?: pulumi.ComponentResourceOptions) {
        super("shiftwise:kubernetes:MigrationJob", name, {}, opts);
        const parent = { parent: this };
        const objectName = `${args.serviceName}-migration`;
        const labels = { "app.kubernetes.io/name": args.serviceName, "app.kubernetes.io/component": "migration", "app.kubernetes.io/managed-by": "shiftwise" };
        this.containerName = MIGRATION_CONTAINER;
        this.runnerGroup = args.runnerGroup ?? `shiftwise-${args.serviceName}-migration-runner`;

        this.cronJob = new batchv1.CronJob(name, {
            metadata: { name: objectName, namespace: args.namespace, labels },
            spec: {
                // Never scheduled: a template for the Jobs the driver creates. February 31st never comes, even if someone
                // unsuspends it; Forbid would still keep it to one Job at a time.
                suspend: true,
                schedule: "0 0 31 2 *",
                concurrencyPolicy: "Forbid",
                successfulJobsHistoryLimit: 0,
                failedJobsHistoryLimit: 1,
                jobTemplate: {
                    metadata: { labels: { ...labels, "shiftwise.dev/version": versionLabel(args.release) } },
                    spec: migrationJobSpec(args, { ...labels, "shiftwise.dev/version": versionLabel(args.release) }, this.containerName),
                },
            },
        }, parent);

        this.runnerRole = new rbacv1.Role(name, {
            metadata: { name: `${objectName}-runner`, namespace: args.namespace, labels },
            rules: [
                { apiGroups: ["batch"], resources: ["cronjobs"], resourceNames: [objectName], verbs: ["get"] },
                // create cannot be limited by resourceNames (the name does not exist yet); the namespace is the bound.
                { apiGroups: ["batch"], resources: ["jobs"], verbs: ["create", "get", "delete"] },
                { apiGroups: [""], resources: ["pods"], verbs: ["list"] },
            ],
        }, parent);
        this.runnerRoleBinding = new rbacv1.RoleBinding(name, {
            metadata: { name: `${objectName}-runner`, namespace: args.namespace, labels },
            roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: this.runnerRole.metadata.name },
            subjects: [{ apiGroup: "rbac.authorization.k8s.io", kind: "Group", name: this.runnerGroup }],
        }, parent);

        this.templateName = this.cronJob.metadata.name;
        this.namespace = this.cronJob.metadata.namespace;
        this.registerOutputs({
            cronJob: this.cronJob,
            runnerRole: this.runnerRole,
            runnerRoleBinding: this.runnerRoleBinding,
            templateName: this.templateName,
            namespace: this.namespace,
        });
    }
}

/** The Job spec every migration Job copies: one pod, no retry, the deadline, cleanup, and the colours' pod hardening. */
function migrationJobSpec(args: KubernetesMigrationJobArgs, labels: Record<string, pulumi.Input<string>>, containerName: string): k8sInput.batch.v1.JobSpec {
    const { cpu, memory } = containerResources(args.cpu, args.memory);
    const environment = containerEnvironment(args.environment, { SHIFTWISE_MIGRATION: "true", SHIFTWISE_VERSION: args.release });
    const secrets = args.secrets;
    const secretEnvironment = secretKeyEnvironment(secrets);
    return {
        // A failed migration is not retried by Kubernetes: the driver decides (restore, down-migration, a new release).
        backoffLimit: 0,
        completions: 1,
        parallelism: 1,
        activeDeadlineSeconds: args.timeoutMinutes * 60,
        ttlSecondsAfterFinished: args.ttlSecondsAfterFinished ?? 86_400,
        template: {
            metadata: { labels },
            spec: {
                restartPolicy: "Never",
                serviceAccountName: args.serviceAccountName,
                automountServiceAccountToken: false,
                terminationGracePeriodSeconds: args.terminationGracePeriodSeconds ?? 120,
                securityContext: pulumi.output(args.user).apply((user) => {
                    const ids = podUser(user);
                    return { runAsNonRoot: true, ...ids, fsGroup: ids.runAsGroup, seccompProfile: { type: "RuntimeDefault" } };
                }),
                nodeSelector: { "kubernetes.io/os": "linux", "kubernetes.io/arch": pulumi.output(args.cpuArchitecture ?? "X86_64").apply(nodeArchitecture) },
                containers: [
                    {
                        name: containerName,
                        image: args.image,
                        imagePullPolicy: "IfNotPresent",
                        args: args.command,
                        env: pulumi.all([environment, secretEnvironment]).apply(([plain, fromSecrets]) => [...plain, ...fromSecrets]),
                        resources: { requests: { cpu, memory }, limits: { cpu, memory } },
                        securityContext: hardenedContainer(true),
                        volumeMounts: scratchAndSecretMounts(secrets),
                    },
                ],
                // With secrets, the CSI volume makes the driver sync the Secret the environment reads, even with no colour running.
                volumes: scratchAndSecretVolumes(secrets),
            },
        },
    };
}
