// One colour on Kubernetes: its shared target, a Deployment, a Service, a TargetGroupBinding and (protected) a PodDisruptionBudget.
import * as corev1 from "@pulumi/kubernetes/core/v1";
import * as appsv1 from "@pulumi/kubernetes/apps/v1";
import * as policyv1 from "@pulumi/kubernetes/policy/v1";
import * as apiextensions from "@pulumi/kubernetes/apiextensions";
import type * as k8sInput from "@pulumi/kubernetes/types/input";
import * as pulumi from "@pulumi/pulumi";
import { ColourTarget, ColourWorkload, ExpectedTargetsMetric, HealthCheckArgs } from "./colourTarget";
import { ColourRelease, SCRATCH_PATH } from "./colourService";

/** The API group and version of the AWS Load Balancer Controller's TargetGroupBinding (config/crd/bases/elbv2.k8s.aws_targetgroupbindings.yaml). */
export const TARGET_GROUP_BINDING_API_VERSION = "elbv2.k8s.aws/v1beta1";
/** The user and group the container runs as when the colour names none: Kubernetes needs a numeric id to prove non-root. */
export const NON_ROOT_ID = 10001;

export interface KubernetesColourArgs extends ColourRelease {
    /** `blue` or `green`; labels and the container environment carry it. */
    readonly colour: string;
    /** The service name, e.g. `shop`; the container, Deployment and Service are named after it. */
    readonly serviceName: string;
    /** The port the container listens on. */
    readonly port: number;
    readonly vpcId: pulumi.Input<string>;
    /** The namespace the colour's objects live in. */
    readonly namespace: pulumi.Input<string>;
    /** The EKS cluster's name: Container Insights metrics carry it as `ClusterName`. */
    readonly clusterName: pulumi.Input<string>;
    /** The security group the pods' traffic arrives on (cluster, node or pod security group); the controller admits the ALB to it. */
    readonly podSecurityGroupId: pulumi.Input<string>;
    /** The load balancer's security group: the TargetGroupBinding's networking rule admits it on the app port. */
    readonly loadBalancerSecurityGroupId: pulumi.Input<string>;
    readonly healthCheck: HealthCheckArgs;
    /** Seconds the ALB waits before deregistering a draining target. @default 30 */
    readonly deregistrationDelaySeconds?: number;
    /** Seconds the liveness probe waits after a container starts. @default 60 */
    readonly healthCheckGraceSeconds?: number;
    /** Plain environment variables for the container. @default {} */
    readonly environment?: pulumi.Input<Record<string, pulumi.Input<string>>>;
    /**
     * The Kubernetes Secret (synced by the Secrets Store CSI driver) whose keys
     * become environment variables, and the SecretProviderClass that fills it.
     * @default no secrets
     */
    readonly secrets?: { readonly secretName: pulumi.Input<string>; readonly providerClassName: pulumi.Input<string>; readonly keys: pulumi.Input<string[]> };
    /** The ServiceAccount the pods run as (the Pod Identity association names it). */
    readonly serviceAccountName: pulumi.Input<string>;
    /** A PodDisruptionBudget keeps voluntary evictions to one pod at a time (production). @default false */
    readonly protect?: boolean;
    /**
     * Resources the Deployment waits for: the forwarding listener (a target
     * group no load balancer uses reports `unused`, so the readiness gate
     * would never pass) and, during a migration release, the pre-release
     * snapshot. @default []
     */
    readonly workloadDependsOn?: pulumi.Input<pulumi.Resource>[];
    /** Tags for the AWS resources. @default {} */
    readonly tags?: Record<string, string>;
}

/**
 * One colour of a blue/green service on Kubernetes. The shared
 * `ColourTarget` owns the target group (and adopts the pods' security
 * group); the AWS Load Balancer Controller registers the Deployment's pods in
 * it as `ip` targets through a TargetGroupBinding, and its readiness gate
 * (the namespace label) makes a pod ready only once it is healthy in the
 * target group, so `pulumi up` returns once the colour is really serving.
 * A colour's objects never reference the other colour's.
 */
export class KubernetesColour extends pulumi.ComponentResource implements ColourWorkload {
    public readonly target: ColourTarget;
    public readonly deployment: appsv1.Deployment;
    public readonly service: corev1.Service;
    public readonly targetGroupBinding: apiextensions.CustomResource;
    public readonly podDisruptionBudget?: policyv1.PodDisruptionBudget;
    /** The Kubernetes Service's running pods (Container Insights): what the healthy-hosts alarm expects. */
    public readonly expectedTargets: ExpectedTargetsMetric;
    /** The Deployment's name, the colour's workload. */
    public readonly workloadName: pulumi.Output<string>;

    constructor(name: string, args: KubernetesColourArgs, opts?: pulumi.ComponentResourceOptions) {
        super("shiftwise:kubernetes:KubernetesColour", name, {}, opts);
        const parent = { parent: this };
        const objectName = `${args.serviceName}-${args.colour}`;
        const labels = { "app.kubernetes.io/name": args.serviceName, "app.kubernetes.io/managed-by": "shiftwise", "shiftwise.dev/colour": args.colour };
        const selector = { "app.kubernetes.io/name": args.serviceName, "shiftwise.dev/colour": args.colour };

        this.target = new ColourTarget(name, {
            colour: args.colour,
            serviceName: args.serviceName,
            port: args.port,
            vpcId: args.vpcId,
            healthCheck: args.healthCheck,
            deregistrationDelaySeconds: args.deregistrationDelaySeconds,
            existingSecurityGroupId: args.podSecurityGroupId,
            tags: args.tags,
        }, parent);

        this.service = new corev1.Service(name, {
            metadata: { name: objectName, namespace: args.namespace, labels },
            spec: { type: "ClusterIP", selector, ports: [{ name: "http", port: args.port, targetPort: "http", protocol: "TCP" }] },
        }, parent);

        this.targetGroupBinding = new apiextensions.CustomResource(name, {
            apiVersion: TARGET_GROUP_BINDING_API_VERSION,
            kind: "TargetGroupBinding",
            metadata: { name: objectName, namespace: args.namespace, labels },
            spec: {
                serviceRef: { name: this.service.metadata.name, port: args.port },
                targetGroupARN: this.target.targetGroup.arn,
                targetType: "ip",
                targetGroupProtocol: "HTTP",
                ipAddressType: "ipv4",
                vpcID: args.vpcId,
                // The controller adds exactly this ingress rule to the pods' security group: the ALB, on the app port.
                networking: {
                    ingress: [{ from: [{ securityGroup: { groupID: args.loadBalancerSecurityGroupId } }], ports: [{ port: args.port, protocol: "TCP" }] }],
                },
            },
        }, parent);

        this.deployment = new appsv1.Deployment(name, {
            metadata: { name: objectName, namespace: args.namespace, labels: { ...labels, "shiftwise.dev/version": versionLabel(args.version) } },
            spec: {
                replicas: args.desiredCount,
                selector: { matchLabels: selector },
                // Like ECS's 100/200 percent: new pods start before old ones stop, and an old pod leaves only for a ready new one.
                strategy: { type: "RollingUpdate", rollingUpdate: { maxUnavailable: 0, maxSurge: "100%" } },
                template: podTemplate(args, labels, selector),
            },
        }, { parent: this, dependsOn: [...(args.workloadDependsOn ?? []), this.targetGroupBinding, this.service] });

        if (args.protect) {
            this.podDisruptionBudget = new policyv1.PodDisruptionBudget(name, {
                metadata: { name: objectName, namespace: args.namespace, labels },
                // One pod at a time, whatever the count; an unhealthy pod never blocks a node drain.
                spec: { maxUnavailable: 1, selector: { matchLabels: selector }, unhealthyPodEvictionPolicy: "AlwaysAllow" },
            }, parent);
        }

        this.workloadName = this.deployment.metadata.name;
        this.expectedTargets = {
            namespace: "ContainerInsights",
            metricName: "service_number_of_running_pods",
            stat: "Maximum",
            dimensions: { ClusterName: args.clusterName, Namespace: pulumi.output(args.namespace), Service: this.service.metadata.name },
            description: "the Kubernetes Service's running pods",
        };

        this.registerOutputs({
            target: this.target,
            deployment: this.deployment,
            service: this.service,
            targetGroupBinding: this.targetGroupBinding,
            podDisruptionBudget: this.podDisruptionBudget,
            workloadName: this.workloadName,
        });
    }
}

/** Label values are at most 63 characters of [A-Za-z0-9._-], starting and ending alphanumeric. */
export function versionLabel(version: pulumi.Input<string>): pulumi.Output<string> {
    return pulumi.output(version).apply((text) => text.replace(/[^A-Za-z0-9._-]/g, "_").slice(0, 63).replace(/^[^A-Za-z0-9]+|[^A-Za-z0-9]+$/g, "") || "unknown");
}

/** Fargate CPU units (1024 per vCPU) as a Kubernetes CPU quantity in millicores. */
export function cpuQuantity(units: number): string {
    return `${Math.round((units * 1000) / 1024)}m`;
}

/** A container's requests (and limits): `cpu` in ECS units (1024 = one vCPU) and `memory` in MiB, as Kubernetes quantities. */
export function containerResources(cpu: pulumi.Input<number> | undefined, memory: pulumi.Input<number> | undefined): { cpu: pulumi.Output<string>; memory: pulumi.Output<string> } {
    return { cpu: pulumi.output(cpu ?? 256).apply(cpuQuantity), memory: pulumi.output(memory ?? 512).apply((mib) => `${mib}Mi`) };
}

/** A container's plain environment, sorted by name: `extra` and then the fixed variables, which win over `extra`. */
export function containerEnvironment(
    extra: pulumi.Input<Record<string, pulumi.Input<string>>> | undefined,
    fixed: Record<string, pulumi.Input<string>>,
): pulumi.Output<{ name: string; value: string }[]> {
    return pulumi
        .all([extra ?? {}, pulumi.all(fixed)])
        .apply(([given, own]) =>
            Object.entries({ ...given, ...own })
                .sort(([a], [b]) => a.localeCompare(b))
                .map(([name, value]) => ({ name, value })),
        );
}

/** One variable per key of the service's Kubernetes Secret, each read with a `secretKeyRef`; none without secrets. */
export function secretKeyEnvironment(secrets: { readonly secretName: pulumi.Input<string>; readonly keys: pulumi.Input<string[]> } | undefined): pulumi.Output<k8sInput.core.v1.EnvVar[]> {
    return pulumi
        .all([secrets?.keys ?? [], secrets?.secretName ?? ""])
        .apply(([keys, secretName]) => keys.map((key) => ({ name: key, valueFrom: { secretKeyRef: { name: secretName, key } } })));
}

/** The timings that make a pod drain cleanly: the preStop pause outlasts the ALB's deregistration, the grace period outlasts both. */
export function shutdownTimings(deregistrationDelaySeconds: number): { preStopSeconds: number; terminationGracePeriodSeconds: number } {
    // The controller deregisters the pod when it starts terminating; the ALB needs a few seconds to stop sending new
    // requests and up to the deregistration delay to finish in-flight ones, so the app keeps serving that long.
    const preStopSeconds = Math.max(deregistrationDelaySeconds, 5);
    return { preStopSeconds, terminationGracePeriodSeconds: preStopSeconds + 30 };
}

/** The numeric `uid[:gid]` of a colour's `user` (config allows only numbers on Kubernetes), else the default non-root id. */
export function podUser(user: string | undefined): { runAsUser: number; runAsGroup: number } {
    const [uid, gid] = (user ?? "").split(":");
    if (!/^\d+$/.test(uid ?? "")) return { runAsUser: NON_ROOT_ID, runAsGroup: NON_ROOT_ID };
    return { runAsUser: Number(uid), runAsGroup: /^\d+$/.test(gid ?? "") ? Number(gid) : Number(uid) };
}

/** A container that runs as non-root with no privileges, no capabilities and the runtime's seccomp profile (the Pod Security Standards' "restricted" level). */
export function hardenedContainer(readOnlyRootFilesystem: boolean): k8sInput.core.v1.SecurityContext {
    return {
        allowPrivilegeEscalation: false,
        privileged: false,
        readOnlyRootFilesystem,
        runAsNonRoot: true,
        capabilities: { drop: ["ALL"] },
        seccompProfile: { type: "RuntimeDefault" },
    };
}

/** The writable scratch folder and, with secrets, the CSI driver's mount. */
export function scratchAndSecretMounts(secrets: { readonly providerClassName: pulumi.Input<string> } | undefined): k8sInput.core.v1.VolumeMount[] {
    return [{ name: "scratch", mountPath: SCRATCH_PATH }, ...(secrets ? [{ name: "secrets-store", mountPath: "/mnt/secrets-store", readOnly: true }] : [])];
}

/**
 * The volumes behind those mounts. The CSI volume must be mounted for the
 * driver to sync the Kubernetes Secret the environment reads, even when no
 * colour runs.
 */
export function scratchAndSecretVolumes(secrets: { readonly providerClassName: pulumi.Input<string> } | undefined): k8sInput.core.v1.Volume[] {
    return [
        { name: "scratch", emptyDir: { sizeLimit: "256Mi" } },
        ...(secrets ? [{ name: "secrets-store", csi: { driver: "secrets-store.csi.k8s.io", readOnly: true, volumeAttributes: { secretProviderClass: secrets.providerClassName } } }] : []),
    ];
}

/** Kubernetes names for the ECS CPU architectures. */
const ARCHITECTURES: Record<string, string> = { X86_64: "amd64", ARM64: "arm64" };

/** The `kubernetes.io/arch` node label for an ECS CPU architecture (amd64 when unknown). */
export function nodeArchitecture(cpuArchitecture: string): string {
    return ARCHITECTURES[cpuArchitecture] ?? "amd64";
}

function podTemplate(args: KubernetesColourArgs, labels: Record<string, string>, selector: Record<string, string>): k8sInput.core.v1.PodTemplateSpec {
    const { preStopSeconds, terminationGracePeriodSeconds } = shutdownTimings(args.deregistrationDelaySeconds ?? 30);
    const healthCheck = args.healthCheck;
    const { cpu, memory } = containerResources(args.cpu, args.memory);
    const environment = containerEnvironment(args.environment, { SHIFTWISE_COLOUR: args.colour, SHIFTWISE_VERSION: args.version });
    const secrets = args.secrets;
    const secretEnvironment = secretKeyEnvironment(secrets);
    const probe = (failureThreshold: number, initialDelaySeconds: number) => ({
        httpGet: { path: healthCheck.path, port: "http", scheme: "HTTP" },
        initialDelaySeconds,
        periodSeconds: healthCheck.intervalSeconds ?? 15,
        timeoutSeconds: healthCheck.timeoutSeconds ?? 5,
        failureThreshold,
    });
    return {
        metadata: { labels: { ...labels, "shiftwise.dev/version": versionLabel(args.version) } },
        spec: {
            serviceAccountName: args.serviceAccountName,
            automountServiceAccountToken: false,
            terminationGracePeriodSeconds,
            securityContext: pulumi.output(args.user).apply((user) => {
                const ids = podUser(user);
                return { runAsNonRoot: true, ...ids, fsGroup: ids.runAsGroup, seccompProfile: { type: "RuntimeDefault" } };
            }),
            nodeSelector: { "kubernetes.io/os": "linux", "kubernetes.io/arch": pulumi.output(args.cpuArchitecture ?? "X86_64").apply(nodeArchitecture) },
            topologySpreadConstraints: [
                { maxSkew: 1, topologyKey: "topology.kubernetes.io/zone", whenUnsatisfiable: "ScheduleAnyway", labelSelector: { matchLabels: selector } },
                { maxSkew: 1, topologyKey: "kubernetes.io/hostname", whenUnsatisfiable: "ScheduleAnyway", labelSelector: { matchLabels: selector } },
            ],
            containers: [
                {
                    name: args.serviceName,
                    image: args.image,
                    imagePullPolicy: "IfNotPresent",
                    ports: [{ name: "http", containerPort: args.port, protocol: "TCP" }],
                    env: pulumi.all([environment, secretEnvironment]).apply(([plain, fromSecrets]) => [...plain, ...fromSecrets]),
                    resources: { requests: { cpu, memory }, limits: { cpu, memory } },
                    // Ready only while the health check passes; the controller's readiness gate adds the target group's own verdict.
                    readinessProbe: probe(healthCheck.unhealthyThreshold ?? 3, 0),
                    livenessProbe: probe((healthCheck.unhealthyThreshold ?? 3) * 2, args.healthCheckGraceSeconds ?? 60),
                    lifecycle: { preStop: { sleep: { seconds: preStopSeconds } } },
                    // The colour's opt-out (shiftwise:<colour>.readonlyRootFilesystem) applies on both platforms.
                    securityContext: hardenedContainer(args.readonlyRootFilesystem ?? true),
                    volumeMounts: scratchAndSecretMounts(secrets),
                },
            ],
            volumes: scratchAndSecretVolumes(secrets),
        },
    };
}
