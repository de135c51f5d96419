// The ECR repository an image reference points at, so pull permissions can name it instead of every repository.

/** What ECS needs to pull from a private ECR repository, besides `ecr:GetAuthorizationToken`. */
export const ECR_PULL_ACTIONS = ["ecr:BatchCheckLayerAvailability", "ecr:GetDownloadUrlForLayer", "ecr:BatchGetImage"];

/**
 * The repository ARN of a private ECR image (`<account>.dkr.ecr[-fips].<region>.amazonaws.com[.cn]/<repo>[:tag|@digest]`),
 * or undefined for any other registry, which needs no IAM permission to pull from.
 * Registry URL format: https://docs.aws.amazon.com/AmazonECR/latest/userguide/Registries.html
 */
export function ecrRepositoryArn(image: string): string | undefined {
    const match = /^(\d{12})\.dkr\.ecr(?:-fips)?\.([a-z0-9-]+)\.amazonaws\.com(\.cn)?\/([^:@]+)(?::[^/@]+)?(?:@sha256:[a-f0-9]{64})?$/.exec(image);
    if (!match) return undefined;
    const [, account, region, china, repository] = match;
    const partition = china ? "aws-cn" : region.startsWith("us-gov-") ? "aws-us-gov" : "aws";
    return `arn:${partition}:ecr:${region}:${account}:repository/${repository}`;
}
