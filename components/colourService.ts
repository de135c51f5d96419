// One colour on ECS Fargate: its shared target (target group, security group), logs, task definition and service.
import * as cloudwatch from "@pulumi/aws/cloudwatch";
import * as ecs from "@pulumi/aws/ecs";
import * as iam from "@pulumi/aws/iam";
import * as lb from "@pulumi/aws/lb";
import * as pulumi from "@pulumi/pulumi";
import { ColourTarget, ColourWorkload, ExpectedTargetsMetric, HealthCheckArgs } from "./colourTarget";
import { ECR_PULL_ACTIONS, ecrRepositoryArn } from "./ecrImage";

export type { HealthCheckArgs } from "./colourTarget";

/** What one colour runs: the settings a release changes. */
export interface ColourRelease {
    /** The release label this colour runs, e.g. `v1.5.0`. */
    readonly version: pulumi.Input<string>;
    /** Container image reference, pinned by tag or digest. */
    readonly image: pulumi.Input<string>;
    /** Number of Fargate tasks. */
    readonly desiredCount: pulumi.Input<number>;
    /** Fargate CPU units. @default 256 */
    readonly cpu?: pulumi.Input<number>;
    /** Fargate memory in MiB. @default 512 */
    readonly memory?: pulumi.Input<number>;
    /** CPU architecture the image was built for; ARM64 runs on Graviton. @default "X86_64" */
    readonly cpuArchitecture?: pulumi.Input<string>;
    /**
     * Mount the container's root filesystem read-only; the container writes only to the scratch volume at
     * `SCRATCH_PATH`. Turn it off only for an image that must write elsewhere. @default true
     */
    readonly readonlyRootFilesystem?: boolean;
    /** The user (and group) the container runs as, e.g. `1000:1000`. @default undefined (the image's USER) */
    readonly user?: pulumi.Input<string>;
}

/** Where each container gets a writable, task-local scratch volume when its root filesystem is read-only. */
export const SCRATCH_PATH = "/tmp";

/** The tag that records a colour's opt-out from a read-only root filesystem, for auditors and the policy pack. */
export const WRITABLE_ROOT_TAG = "shiftwise:writable-root-filesystem";

export interface ColourServiceArgs extends ColourRelease {
    /** `blue` or `green`; tags and the container environment carry it. */
    readonly colour: string;
    /** The service name, e.g. `shop`; the container is named after it. */
    readonly serviceName: string;
    /** The port the container listens on. */
    readonly port: number;
    readonly vpcId: pulumi.Input<string>;
    /** Private subnets for the tasks. */
    readonly subnetIds: pulumi.Input<pulumi.Input<string>[]>;
    readonly clusterArn: pulumi.Input<string>;
    /** The cluster's name: Container Insights metrics carry it as `ClusterName`. */
    readonly clusterName: pulumi.Input<string>;
    readonly executionRoleArn: pulumi.Input<string>;
    /**
     * Name of that execution role. When the image is a plain-string private ECR reference, the colour attaches its own
     * policy to pull from exactly that repository, so changing a colour's repository touches only the colour.
     * @default undefined (no pull policy: public registries need none)
     */
    readonly executionRoleName?: pulumi.Input<string>;
    readonly taskRoleArn: pulumi.Input<string>;
    /** Name of the log group created for the container's output, e.g. `/shiftwise/production/shop/blue`. */
    readonly logGroupName: string;
    /** Days CloudWatch Logs keeps the container's output. @default 30 */
    readonly logRetentionDays?: number;
    /** Customer-managed KMS key that encrypts the log group. @default undefined (CloudWatch Logs' own encryption) */
    readonly logKmsKeyArn?: pulumi.Input<string>;
    /** Region for the awslogs driver. */
    readonly region: string;
    readonly healthCheck: HealthCheckArgs;
    /** Seconds the ALB waits before deregistering a draining target. @default 30 */
    readonly deregistrationDelaySeconds?: number;
    /** Seconds ECS ignores failing ALB health checks after a task starts. @default 60 */
    readonly healthCheckGraceSeconds?: number;
    /** Plain environment variables for the container. @default {} */
    readonly environment?: pulumi.Input<Record<string, pulumi.Input<string>>>;
    /** Environment variables filled from Secrets Manager or SSM ARNs at task start. @default {} */
    readonly secrets?: pulumi.Input<Record<string, pulumi.Input<string>>>;
    /**
     * Resources the ECS service waits for: the forwarding listener (ECS rejects
     * a target group that no load balancer uses yet) and, during a migration
     * release, the pre-release snapshot. @default []
     */
    readonly serviceDependsOn?: pulumi.Input<pulumi.Resource>[];
    /** Tags for every resource. @default {} */
    readonly tags?: Record<string, string>;
}

/**
 * One colour of a blue/green service on ECS: its `ColourTarget` (target group
 * and security group), log group, task definition and ECS Fargate service. A colour's resources never
 * reference the other colour's, so changing one colour leaves the other
 * untouched. The security group starts with no ingress: whoever owns a path to
 * the tasks (the load balancer) adds a rule naming its own security group.
 */
export class ColourService extends pulumi.ComponentResource implements ColourWorkload {
    /** The colour's platform-neutral part: target group and security group. */
    public readonly target: ColourTarget;
    public readonly targetGroup: lb.TargetGroup;
    public readonly securityGroupId: pulumi.Output<string>;
    public readonly logGroup: cloudwatch.LogGroup;
    public readonly taskDefinition: ecs.TaskDefinition;
    public readonly service: ecs.Service;
    public readonly containerName: string;
    /** The ECS service's live desired task count (Container Insights): what the healthy-hosts alarm expects. */
    public readonly expectedTargets: ExpectedTargetsMetric;
    /** The ECS service's name. */
    public readonly workloadName: pulumi.Output<string>;

    constructor(name: string, args: ColourServiceArgs, opts?: pulumi.ComponentResourceOptions) {
        super("shiftwise:ecs:ColourService", name, {}, opts);
        const tags = { ...args.tags, "shiftwise:colour": args.colour };
        this.containerName = args.serviceName;

        this.target = new ColourTarget(name, {
            colour: args.colour,
            serviceName: args.serviceName,
            port: args.port,
            vpcId: args.vpcId,
            healthCheck: args.healthCheck,
            deregistrationDelaySeconds: args.deregistrationDelaySeconds,
            formerParent: this,
            tags: args.tags,
        }, { parent: this });
        this.targetGroup = this.target.targetGroup;
        this.securityGroupId = this.target.securityGroupId;

        this.logGroup = new cloudwatch.LogGroup(name, {
            name: args.logGroupName,
            retentionInDays: args.logRetentionDays ?? 30,
            kmsKeyId: args.logKmsKeyArn,
            tags,
        }, { parent: this });

        const environment = pulumi
            .all([args.environment ?? {}, args.version])
            .apply(([extra, version]) =>
                Object.entries({ ...extra, SHIFTWISE_COLOUR: args.colour, SHIFTWISE_VERSION: version })
                    .sort(([a], [b]) => a.localeCompare(b))
                    .map(([key, value]) => ({ name: key, value })),
            );
        const secrets = pulumi
            .output(args.secrets ?? {})
            .apply((values) => Object.entries(values).sort(([a], [b]) => a.localeCompare(b)).map(([key, valueFrom]) => ({ name: key, valueFrom })));

        const readonlyRootFilesystem = args.readonlyRootFilesystem ?? true;
        const writableRootTag: Record<string, string> = readonlyRootFilesystem ? {} : { [WRITABLE_ROOT_TAG]: `opted out for ${args.colour}` };
        this.taskDefinition = new ecs.TaskDefinition(name, {
            family: `${args.serviceName}-${args.colour}`,
            requiresCompatibilities: ["FARGATE"],
            networkMode: "awsvpc",
            cpu: pulumi.output(args.cpu ?? 256).apply(String),
            memory: pulumi.output(args.memory ?? 512).apply(String),
            executionRoleArn: args.executionRoleArn,
            taskRoleArn: args.taskRoleArn,
            runtimePlatform: { operatingSystemFamily: "LINUX", cpuArchitecture: args.cpuArchitecture ?? "X86_64" },
            // A bind-mount volume without a host path is Fargate task storage: writable, private to the task, gone with it.
            volumes: [{ name: "scratch" }],
            containerDefinitions: pulumi.jsonStringify([
                {
                    name: this.containerName,
                    image: args.image,
                    essential: true,
                    portMappings: [{ containerPort: args.port, hostPort: args.port, protocol: "tcp" }],
                    environment,
                    secrets,
                    linuxParameters: { initProcessEnabled: true },
                    readonlyRootFilesystem,
                    mountPoints: [{ sourceVolume: "scratch", containerPath: SCRATCH_PATH, readOnly: false }],
                    // `privileged` is left unset (never privileged): Fargate supports neither it nor dockerSecurityOptions,
                    // so "no-new-privileges" cannot be set here either. See "privileged" and "dockerSecurityOptions" in
                    // https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task_definition_parameters.html
                    ...(args.user === undefined ? {} : { user: args.user }),
                    stopTimeout: 30,
                    logConfiguration: {
                        logDriver: "awslogs",
                        options: {
                            "awslogs-group": this.logGroup.name,
                            "awslogs-region": args.region,
                            "awslogs-stream-prefix": args.colour,
                        },
                    },
                },
            ]),
            tags: { ...tags, ...writableRootTag, "shiftwise:version": args.version },
        }, { parent: this });

        const repositoryArn = typeof args.image === "string" ? ecrRepositoryArn(args.image) : undefined;
        const pullPolicy = args.executionRoleName !== undefined && repositoryArn !== undefined
            ? new iam.RolePolicy(`${name}-pull`, {
                role: args.executionRoleName,
                policy: JSON.stringify({
                    Version: "2012-10-17",
                    Statement: [{ Sid: "PullColourImage", Effect: "Allow", Action: ECR_PULL_ACTIONS, Resource: repositoryArn }],
                }),
            }, { parent: this })
            : undefined;

        this.service = new ecs.Service(name, {
            cluster: args.clusterArn,
            taskDefinition: this.taskDefinition.arn,
            desiredCount: args.desiredCount,
            launchType: "FARGATE",
            platformVersion: "LATEST",
            networkConfiguration: { subnets: args.subnetIds, securityGroups: [this.securityGroupId], assignPublicIp: false },
            loadBalancers: [{ targetGroupArn: this.targetGroup.arn, containerName: this.containerName, containerPort: args.port }],
            healthCheckGracePeriodSeconds: args.healthCheckGraceSeconds ?? 60,
            deploymentCircuitBreaker: { enable: true, rollback: true },
            deploymentMinimumHealthyPercent: 100,
            deploymentMaximumPercent: 200,
            enableEcsManagedTags: true,
            propagateTags: "SERVICE",
            // `pulumi up` returns only once the colour's tasks are running and stable.
            waitForSteadyState: true,
            tags,
        }, {
            parent: this,
            // New tasks pull the image, so a changed repository's grant must exist first.
            dependsOn: [...(args.serviceDependsOn ?? []), ...(pullPolicy ? [pullPolicy] : [])],
        });

        this.workloadName = this.service.name;
        this.expectedTargets = {
            namespace: "ECS/ContainerInsights",
            metricName: "DesiredTaskCount",
            stat: "Maximum",
            dimensions: { ClusterName: args.clusterName, ServiceName: this.service.name },
            description: "the ECS service's desired tasks",
        };

        this.registerOutputs({
            target: this.target,
            targetGroup: this.targetGroup,
            securityGroupId: this.securityGroupId,
            logGroup: this.logGroup,
            taskDefinition: this.taskDefinition,
            service: this.service,
        });
    }
}
