// The Kubernetes side of a service: an explicit provider for the EKS cluster, the namespace, the pods' identity and secrets, and one KubernetesColour per colour.
import * as eks from "@pulumi/aws/eks";
import * as iam from "@pulumi/aws/iam";
import * as corev1 from "@pulumi/kubernetes/core/v1";
import * as apiextensions from "@pulumi/kubernetes/apiextensions";
import { Provider as KubernetesProvider } from "@pulumi/kubernetes/provider";
import * as pulumi from "@pulumi/pulumi";
import type { ColourArgs } from "./blueGreenEnvironment";
import type { HealthCheckArgs } from "./colourTarget";
import { KubernetesColour } from "./kubernetesColour";
import { csiSecretObjects, kmsViaServices, secretReadResources } from "./secretsStore";

/** The namespace label that turns on the AWS Load Balancer Controller's pod readiness gate injection. */
export const READINESS_GATE_LABEL = "elbv2.k8s.aws/pod-readiness-gate-inject";

export interface KubernetesEnvironmentArgs {
    /** Service name, e.g. `shop`. */
    readonly serviceName: string;
    readonly region: string;
    /** The EKS cluster's name. */
    readonly clusterName: string;
    /**
     * Kubeconfig text for the cluster (a Pulumi secret when it holds
     * credentials). @default one built from the cluster's endpoint and CA that
     * runs `aws eks get-token`: never the ambient ~/.kube/config
     */
    readonly kubeconfig?: pulumi.Input<string>;
    /** The kubeconfig context to use; only with `kubeconfig`. @default the kubeconfig's current context */
    readonly context?: string;
    /** The namespace of the colours' objects. */
    readonly namespace: string;
    /** Create the namespace; false labels an existing one instead. @default true */
    readonly createNamespace?: boolean;
    /** The security group the pods' traffic arrives on; the controller admits the ALB to it. */
    readonly podSecurityGroupId: string;
    readonly vpcId: pulumi.Input<string>;
    /** Port the container listens on. */
    readonly port: number;
    readonly healthCheck: HealthCheckArgs;
    readonly blue: ColourArgs;
    readonly green: ColourArgs;
    /** The load balancer's security group, admitted by each TargetGroupBinding. */
    readonly loadBalancerSecurityGroupId: pulumi.Input<string>;
    /**
     * The forwarding listener: the Deployments wait for it, so their target
     * groups are in use. It needs their target groups, so it is created after
     * this component: pass a promise of it.
     */
    readonly listener: pulumi.Input<pulumi.Resource>;
    /** Seconds the ALB waits before deregistering a draining target. @default 30 */
    readonly deregistrationDelaySeconds?: number;
    /** Seconds the liveness probe waits after a container starts. @default 60 */
    readonly healthCheckGraceSeconds?: number;
    /** Plain environment variables for both colours. @default {} */
    readonly environment?: pulumi.Input<Record<string, pulumi.Input<string>>>;
    /**
     * Secrets the containers receive as environment variables, in the ECS
     * form (`<secret-arn>[:<json-key>::]` or an SSM parameter ARN). The
     * Secrets Store CSI driver reads them with the pods' own identity (EKS Pod
     * Identity) into a Kubernetes Secret. Undefined means no secrets: no role,
     * no SecretProviderClass. @default undefined
     */
    readonly secrets?: pulumi.Input<Record<string, pulumi.Input<string>>>;
    /**
     * The customer-managed KMS keys that encrypt those secrets and parameters.
     * The pod role may decrypt with exactly these keys, and only through
     * Secrets Manager or Parameter Store (`kms:ViaService`). @default []
     */
    readonly secretKmsKeyArns?: pulumi.Input<pulumi.Input<string>[]>;
    /** PodDisruptionBudgets for both colours (production). @default false */
    readonly protect?: boolean;
    /** Tags for the AWS resources. @default {} */
    readonly tags?: Record<string, string>;
}

/**
 * Two independent colours of one service on an existing EKS cluster. The
 * Kubernetes provider is explicit: it is built from the given kubeconfig or
 * from the cluster's endpoint and CA, so the stack never deploys to whatever
 * the ambient kubeconfig points at.
 */
export class KubernetesEnvironment extends pulumi.ComponentResource {
    public readonly provider: KubernetesProvider;
    public readonly namespace: pulumi.Output<string>;
    public readonly serviceAccount: corev1.ServiceAccount;
    /** The pods' IAM role (EKS Pod Identity); only when there are secrets to read. */
    public readonly podRole?: iam.Role;
    public readonly secretProviderClass?: apiextensions.CustomResource;
    /** The synced Kubernetes Secret, its SecretProviderClass and keys: what the colours (and the migration Job) read. */
    public readonly podSecrets?: { readonly secretName: string; readonly providerClassName: pulumi.Output<string>; readonly keys: pulumi.Output<string[]> };
    public readonly blue: KubernetesColour;
    public readonly green: KubernetesColour;
    public readonly clusterName: string;

    constructor(name: string, args: KubernetesEnvironmentArgs, opts?: pulumi.ComponentResourceOptions) {
        super("shiftwise:kubernetes:KubernetesEnvironment", name, {}, opts);
        const tags = { ...args.tags, "shiftwise:service": args.serviceName };
        this.clusterName = args.clusterName;
        const labels = { "app.kubernetes.io/name": args.serviceName, "app.kubernetes.io/managed-by": "shiftwise" };

        this.provider = new KubernetesProvider(`${name}-cluster`, {
            kubeconfig: args.kubeconfig ?? eksKubeconfig(args.clusterName, args.region, { parent: this }),
            context: args.context,
            // Only a different cluster replaces the provider (and with it every object); a new kubeconfig is an update.
            clusterIdentifier: args.clusterName,
            namespace: args.namespace,
            enableServerSideApply: true,
            deleteUnreachable: false,
        }, { parent: this });
        const k8sOptions = { parent: this, provider: this.provider };

        const namespaceMetadata = { name: args.namespace, labels: { ...labels, [READINESS_GATE_LABEL]: "enabled" } };
        this.namespace = args.createNamespace ?? true
            ? new corev1.Namespace(name, { metadata: namespaceMetadata }, k8sOptions).metadata.name
            : new corev1.NamespacePatch(name, { metadata: namespaceMetadata }, k8sOptions).metadata.name;

        this.serviceAccount = new corev1.ServiceAccount(name, {
            metadata: { name: args.serviceName, namespace: this.namespace, labels },
            automountServiceAccountToken: false,
        }, k8sOptions);

        let secrets: { secretName: string; providerClassName: pulumi.Output<string>; keys: pulumi.Output<string[]> } | undefined;
        if (args.secrets !== undefined) {
            const resolved = pulumi.output(args.secrets) as pulumi.Output<Record<string, string>>;
            this.podRole = new iam.Role(`${name}-pods`, {
                assumeRolePolicy: JSON.stringify({
                    Version: "2012-10-17",
                    Statement: [{ Effect: "Allow", Principal: { Service: "pods.eks.amazonaws.com" }, Action: ["sts:AssumeRole", "sts:TagSession"] }],
                }),
                description: `${args.serviceName}: the pods' identity; reads exactly the service's secrets`,
                tags,
            }, { parent: this });
            const policy = pulumi.all([resolved, pulumi.output(args.secretKmsKeyArns ?? [])]).apply(([map, keys]) => secretReadPolicy(map, keys));
            new iam.RolePolicy(`${name}-pods`, { role: this.podRole.id, policy }, { parent: this });
            new eks.PodIdentityAssociation(name, {
                clusterName: args.clusterName,
                namespace: args.namespace,
                serviceAccount: this.serviceAccount.metadata.name,
                roleArn: this.podRole.arn,
                tags,
            }, { parent: this });
            const secretName = `${args.serviceName}-secrets`;
            this.secretProviderClass = new apiextensions.CustomResource(name, {
                apiVersion: "secrets-store.csi.x-k8s.io/v1",
                kind: "SecretProviderClass",
                metadata: { name: secretName, namespace: this.namespace, labels },
                spec: {
                    provider: "aws",
                    parameters: { region: args.region, usePodIdentity: "true", objects: resolved.apply((map) => JSON.stringify(csiSecretObjects(map))) },
                    // The synced Secret exists only while a pod mounts the CSI volume; the environment reads it.
                    secretObjects: [{ secretName, type: "Opaque", data: resolved.apply((map) => Object.keys(map).sort().map((key) => ({ objectName: key, key }))) }],
                },
            }, k8sOptions);
            secrets = { secretName, providerClassName: this.secretProviderClass.metadata.name, keys: resolved.apply((map) => Object.keys(map).sort()) };
        }

        const colour = (colourName: "blue" | "green", { dependsOn, ...release }: ColourArgs) =>
            new KubernetesColour(`${name}-${colourName}`, {
                ...release,
                colour: colourName,
                serviceName: args.serviceName,
                port: args.port,
                vpcId: args.vpcId,
                namespace: this.namespace,
                clusterName: args.clusterName,
                podSecurityGroupId: args.podSecurityGroupId,
                loadBalancerSecurityGroupId: args.loadBalancerSecurityGroupId,
                healthCheck: args.healthCheck,
                deregistrationDelaySeconds: args.deregistrationDelaySeconds,
                healthCheckGraceSeconds: args.healthCheckGraceSeconds,
                environment: args.environment,
                secrets,
                serviceAccountName: this.serviceAccount.metadata.name,
                protect: args.protect,
                workloadDependsOn: [args.listener, ...(dependsOn ?? []), ...(this.secretProviderClass ? [this.secretProviderClass] : [])],
                tags,
            }, { parent: this, provider: this.provider });
        this.podSecrets = secrets;
        this.blue = colour("blue", args.blue);
        this.green = colour("green", args.green);

        this.registerOutputs({
            provider: this.provider,
            namespace: this.namespace,
            serviceAccount: this.serviceAccount,
            podRole: this.podRole,
            secretProviderClass: this.secretProviderClass,
            podSecrets: this.podSecrets,
            blue: this.blue,
            green: this.green,
        });
    }
}

/**
 * A kubeconfig for an EKS cluster that holds no credentials: the endpoint and
 * CA from DescribeCluster, and an exec plugin that runs `aws eks get-token`
 * with whatever AWS identity runs Pulumi.
 */
function eksKubeconfig(clusterName: string, region: string, opts: pulumi.InvokeOptions): pulumi.Output<string> {
    const cluster = eks.getClusterOutput({ name: clusterName, region }, opts);
    return pulumi.all([cluster.endpoint, cluster.certificateAuthorities]).apply(([endpoint, authorities]) =>
        JSON.stringify({
            apiVersion: "v1",
            kind: "Config",
            clusters: [{ name: clusterName, cluster: { server: endpoint, "certificate-authority-data": authorities[0]?.data } }],
            users: [{
                name: clusterName,
                user: {
                    exec: {
                        apiVersion: "client.authentication.k8s.io/v1beta1",
                        command: "aws",
                        args: ["eks", "get-token", "--cluster-name", clusterName, "--region", region, "--output", "json"],
                        interactiveMode: "Never",
                    },
                },
            }],
            contexts: [{ name: clusterName, context: { cluster: clusterName, user: clusterName } }],
            "current-context": clusterName,
        }),
    );
}

/**
 * Exactly what the CSI driver needs: read the named secrets and parameters,
 * and decrypt with the named customer-managed keys only when Secrets Manager
 * or Parameter Store asks KMS on the pod's behalf (KMS Developer Guide,
 * "kms:ViaService"; Secrets Manager User Guide, "Secret encryption and
 * decryption": GetSecretValue needs kms:Decrypt on a customer managed key;
 * Systems Manager User Guide, "How Parameter Store uses AWS KMS"). Keys of
 * the AWS-managed `aws/secretsmanager` and `aws/ssm` need no grant.
 */
export function secretReadPolicy(secrets: Record<string, string>, kmsKeyArns: readonly string[] = []): string {
    const { secretsManager, ssm } = secretReadResources(secrets);
    const statements: object[] = [];
    if (secretsManager.length > 0) {
        statements.push({ Sid: "Secrets", Effect: "Allow", Action: ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"], Resource: secretsManager });
    }
    if (ssm.length > 0) statements.push({ Sid: "Parameters", Effect: "Allow", Action: ["ssm:GetParameters"], Resource: ssm });
    const keys = [...new Set(kmsKeyArns)].sort();
    const viaServices = kmsViaServices([...secretsManager, ...ssm]);
    if (keys.length > 0 && viaServices.length > 0) {
        statements.push({ Sid: "SecretKeys", Effect: "Allow", Action: ["kms:Decrypt"], Resource: keys, Condition: { StringEquals: { "kms:ViaService": viaServices } } });
    }
    // IAM rejects a policy without statements; an empty map still gets a valid, useless-by-design policy.
    if (statements.length === 0) statements.push({ Sid: "Nothing", Effect: "Deny", Action: ["secretsmanager:GetSecretValue"], Resource: "*" });
    return JSON.stringify({ Version: "2012-10-17", Statement: statements });
}
