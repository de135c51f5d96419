// What a platform needs in place before a release: on Kubernetes, the AWS Load Balancer Controller's TargetGroupBinding CRD.
import type { StackConfig } from "../config";
import type { AwsPort } from "../ports/ports";

/** The CRD the AWS Load Balancer Controller installs; the colours' TargetGroupBindings are of this kind. */
export const TARGET_GROUP_BINDING_CRD = "targetgroupbindings.elbv2.k8s.aws";

/**
 * Pre-flight problems with the platform's prerequisites, read from the
 * cluster now. ECS stacks have none. On Kubernetes, without the controller's
 * CRD no pod would ever be registered in a target group: the candidate could
 * never become healthy, so the release is refused before anything changes.
 */
export async function platformPrerequisiteProblems(config: Pick<StackConfig, "service" | "kubernetes">, aws: Pick<AwsPort, "customResourceDefinitionExists">): Promise<string[]> {
    if (config.service.platform !== "kubernetes" || !config.kubernetes) return [];
    const cluster = config.kubernetes.clusterName;
    try {
        if (await aws.customResourceDefinitionExists(cluster, TARGET_GROUP_BINDING_CRD)) return [];
        return [
            `the AWS Load Balancer Controller is not installed in EKS cluster ${cluster}: its CRD ${TARGET_GROUP_BINDING_CRD} is missing, so no pod would be registered in a target group; install the controller (README, Kubernetes colours: prerequisites) and deploy again`,
        ];
    } catch (error) {
        return [`cannot check that the AWS Load Balancer Controller is installed in EKS cluster ${cluster}: ${(error as Error).message}`];
    }
}
