// One colour on ECS Fargate: target group, security group, logs, task definition and service.
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";

/** ALB health check settings for a colour's target group. */
export interface HealthCheckArgs {
    /** Path the ALB requests, e.g. `/healthz`. */
    readonly path: string;
    /** Seconds between checks. @default 15 */
    readonly intervalSeconds?: number;
    /** Seconds before a check fails. @default 5 */
    readonly timeoutSeconds?: number;
    /** Consecutive successes before a target is healthy. @default 3 */
    readonly healthyThreshold?: number;
    /** Consecutive failures before a target is unhealthy. @default 3 */
    readonly unhealthyThreshold?: number;
    /** HTTP codes that count as healthy. @default "200-299" */
    readonly matcher?: string;
}

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
}

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
    readonly executionRoleArn: pulumi.Input<string>;
    readonly taskRoleArn: pulumi.Input<string>;
    /** Name of the log group created for the container's output, e.g. `/shiftwise/production/shop/blue`. */
    readonly logGroupName: string;
    /** Days CloudWatch Logs keeps the container's output. @default 30 */
    readonly logRetentionDays?: number;
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
    readonly serviceDependsOn?: pulumi.Input<pulumi.Input<pulumi.Resource>[]>;
    /** Tags for every resource. @default {} */
    readonly tags?: Record<string, string>;
}

/**
 * One colour of a blue/green service: its target group, security group, log
 * group, task definition and ECS Fargate service. A colour's resources never
 * reference the other colour's, so changing one colour leaves the other
 * untouched. The security group starts with no ingress: whoever owns a path to
 * the tasks (the load balancer) adds a rule naming its own security group.
 */
export class ColourService extends pulumi.ComponentResource {
    public readonly targetGroup: aws.lb.TargetGroup;
    public readonly securityGroup: aws.ec2.SecurityGroup;
    public readonly logGroup: aws.cloudwatch.LogGroup;
    public readonly taskDefinition: aws.ecs.TaskDefinition;
    public readonly service: aws.ecs.Service;
    public readonly containerName: string;

    constructor(name: string, args: ColourServiceArgs, opts?: pulumi.ComponentResourceOptions) {
        super("shiftwise:ecs:ColourService", name, {}, opts);
        const tags = { ...args.tags, "shiftwise:colour": args.colour };
        const healthCheck = args.healthCheck;
        this.containerName = args.serviceName;

        this.targetGroup = new aws.lb.TargetGroup(name, {
            port: args.port,
            protocol: "HTTP",
            protocolVersion: "HTTP1",
            targetType: "ip",
            vpcId: args.vpcId,
            deregistrationDelay: args.deregistrationDelaySeconds ?? 30,
            loadBalancingAlgorithmType: "round_robin",
            healthCheck: {
                enabled: true,
                protocol: "HTTP",
                port: "traffic-port",
                path: healthCheck.path,
                interval: healthCheck.intervalSeconds ?? 15,
                timeout: healthCheck.timeoutSeconds ?? 5,
                healthyThreshold: healthCheck.healthyThreshold ?? 3,
                unhealthyThreshold: healthCheck.unhealthyThreshold ?? 3,
                matcher: healthCheck.matcher ?? "200-299",
            },
            // Stickiness between colours is decided on the listener; within a colour requests spread freely.
            stickiness: { enabled: false, type: "lb_cookie" },
            tags,
        }, { parent: this });

        this.securityGroup = new aws.ec2.SecurityGroup(name, {
            vpcId: args.vpcId,
            description: `${args.serviceName} ${args.colour} tasks; ingress only from the load balancer`,
            tags: { ...tags, Name: name },
        }, { parent: this });
        // Tasks pull images, write logs and call their own dependencies through NAT.
        new aws.vpc.SecurityGroupEgressRule(`${name}-egress`, {
            securityGroupId: this.securityGroup.id,
            ipProtocol: "-1",
            cidrIpv4: "0.0.0.0/0",
            description: "outbound through NAT",
        }, { parent: this });

        this.logGroup = new aws.cloudwatch.LogGroup(name, {
            name: args.logGroupName,
            retentionInDays: args.logRetentionDays ?? 30,
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

        this.taskDefinition = new aws.ecs.TaskDefinition(name, {
            family: `${args.serviceName}-${args.colour}`,
            requiresCompatibilities: ["FARGATE"],
            networkMode: "awsvpc",
            cpu: pulumi.output(args.cpu ?? 256).apply(String),
            memory: pulumi.output(args.memory ?? 512).apply(String),
            executionRoleArn: args.executionRoleArn,
            taskRoleArn: args.taskRoleArn,
            runtimePlatform: { operatingSystemFamily: "LINUX", cpuArchitecture: args.cpuArchitecture ?? "X86_64" },
            containerDefinitions: pulumi.jsonStringify([
                {
                    name: this.containerName,
                    image: args.image,
                    essential: true,
                    portMappings: [{ containerPort: args.port, hostPort: args.port, protocol: "tcp" }],
                    environment,
                    secrets,
                    linuxParameters: { initProcessEnabled: true },
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
            tags: { ...tags, "shiftwise:version": args.version },
        }, { parent: this });

        this.service = new aws.ecs.Service(name, {
            cluster: args.clusterArn,
            taskDefinition: this.taskDefinition.arn,
            desiredCount: args.desiredCount,
            launchType: "FARGATE",
            platformVersion: "LATEST",
            networkConfiguration: { subnets: args.subnetIds, securityGroups: [this.securityGroup.id], assignPublicIp: false },
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
        }, { parent: this, dependsOn: args.serviceDependsOn });

        this.registerOutputs({
            targetGroup: this.targetGroup,
            securityGroup: this.securityGroup,
            logGroup: this.logGroup,
            taskDefinition: this.taskDefinition,
            service: this.service,
        });
    }
}
