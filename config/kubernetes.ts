// The zod schema of `shiftwise:kubernetes`: the EKS cluster, its credentials, the namespace and the security group the ALB reaches.
import { z } from "zod";
import { boolean, matching } from "./rules";

/**
 * EKS cluster names: 1 to 100 characters, a letter or digit first, then
 * letters, digits, `-` and `_` (EKS API reference, CreateCluster, `name`:
 * pattern `^[0-9A-Za-z][A-Za-z0-9\-_]*$`, length 1-100).
 */
const clusterName = z
    .string({ error: "must be the EKS cluster's name; copy it from `aws eks list-clusters`" })
    .regex(/^[0-9A-Za-z][A-Za-z0-9_-]*$/, { error: "must be an EKS cluster name: letters, digits, - and _, starting with a letter or digit; copy it from `aws eks list-clusters`" })
    .max(100, { error: "must be at most 100 characters, the EKS limit for cluster names; copy it from `aws eks list-clusters`" });

/**
 * Namespaces are DNS-1123 labels: at most 63 lowercase letters, digits and
 * `-`, starting and ending with a letter or digit (Kubernetes API
 * conventions, "DNS Label Names").
 */
const namespace = z
    .string({ error: "must be a Kubernetes namespace name, e.g. shop" })
    .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, { error: "must be a DNS-1123 label: lowercase letters, digits and -, starting and ending with a letter or digit; e.g. shop" })
    .max(63, { error: "must be at most 63 characters (a DNS-1123 label); shorten it" });

/** Security group ids as EC2 reports them (`sg-` and 8 or 17 hex digits). */
const securityGroupId = matching(
    /^sg-[0-9a-f]{8}([0-9a-f]{9})?$/,
    "must be a security group id like sg-0123456789abcdef0",
    "use the cluster security group (aws eks describe-cluster --query cluster.resourcesVpcConfig.clusterSecurityGroupId), the node group's or a pod security group",
);

export const kubernetesSchema = z
    .object(
        {
            clusterName,
            kubeconfig: z
                .string({ error: "must be the text of a kubeconfig; set it with `pulumi config set --secret --path shiftwise:kubernetes.kubeconfig < kubeconfig.yaml`" })
                .min(1, { error: "must not be empty; remove it to let shiftwise build a kubeconfig from clusterName" })
                .optional(),
            context: z
                .string({ error: "must be the name of a context in kubeconfig" })
                .min(1, { error: "must not be empty; name a context in kubeconfig or remove context" })
                .optional(),
            namespace,
            createNamespace: boolean("true creates the namespace; false labels an existing one").default(true),
            securityGroupId,
        },
        { error: "must be an object { clusterName, namespace, securityGroupId, kubeconfig?, context? }; see README, Kubernetes colours" },
    )
    .strict()
    .superRefine((kubernetes, ctx) => {
        if (kubernetes.context !== undefined && kubernetes.kubeconfig === undefined) {
            ctx.addIssue({
                code: "custom",
                path: ["context"],
                input: kubernetes.context,
                message:
                    "selects a context inside kubeconfig, but kubeconfig is not set; shiftwise never falls back to the ambient ~/.kube/config: set kubeconfig, or remove context to use a kubeconfig built from clusterName",
            });
        }
    });

export type KubernetesConfig = z.output<typeof kubernetesSchema>;

/** Kubeconfig keys that carry credentials rather than a way to fetch them (an `exec` plugin). */
const CREDENTIAL_FIELDS = /^\s*-?\s*(token|password|client-key-data|client-key|client-certificate-data|id-token|refresh-token|client-secret)\s*:/m;

/**
 * A kubeconfig that holds credentials must be a Pulumi secret, so it is
 * encrypted in the stack file and in state. One that only execs a helper
 * (`aws eks get-token`) may be plain.
 */
export function kubeconfigProblems(kubernetes: KubernetesConfig | undefined, isSecret: boolean): string[] {
    if (!kubernetes?.kubeconfig || isSecret) return [];
    const field = CREDENTIAL_FIELDS.exec(kubernetes.kubeconfig)?.[1];
    return field
        ? [
              `shiftwise:kubernetes.kubeconfig holds credentials (${field}) in plain text; store it as a secret: \`pulumi config set --secret --path shiftwise:kubernetes.kubeconfig < kubeconfig.yaml\`, or use an exec kubeconfig (aws eks get-token)`,
          ]
        : [];
}
