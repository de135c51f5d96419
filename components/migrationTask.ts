// The one-off database migration task of a release: its task definition, network, logs and roles.
import * as cloudwatch from "@pulumi/aws/cloudwatch";
import * as ec2 from "@pulumi/aws/ec2";
import * as ecs from "@pulumi/aws/ecs";
import * as iam from "@pulumi/aws/iam";
import * as vpc from "@pulumi/aws/vpc";
import * as pulumi from "@pulumi/pulumi";
import { executionPolicy } from "./blueGreenEnvironment";
import { SCRATCH_PATH } from "./colourService";
import { ecrRepositoryArn } from "./ecrImage";

export interface MigrationTaskArgs {
    /** The service name, e.g. `shop`; the task family is `<serviceName>-migration`. */
    readonly serviceName: string;
    /** Scopes the log group name, e.g. the stack name. */
    readonly environmentName: string;
    /** Region for the awslogs driver. */
    readonly region: string;
    /** The release label the migration belongs to, e.g. `v1.5.0`; the container sees it as SHIFTWISE_VERSION. */
    readonly release: pulumi.Input<string>;
    /** The image that holds the migrations, pinned by tag or digest: by default the release's image. */
    readonly image: pulumi.Input<string>;
    /** The migration's argv; the driver passes it again as RunTask's command override. */
    readonly command: pulumi.Input<pulumi.Input<string>[]>;
    /** Fargate CPU units. @default 256 */
    readonly cpu?: pulumi.Input<number>;
    /** Fargate memory in MiB. @default 512 */
    readonly memory?: pulumi.Input<number>;
    /** CPU architecture the image was built for. @default "X86_64" */
    readonly cpuArchitecture?: pulumi.Input<string>;
    readonly vpcId: pulumi.Input<string>;
    /** The private subnets the task runs in (the colours' subnets). */
    readonly subnetIds: pulumi.Input<pulumi.Input<string>[]>;
    /** The cluster the colours run in; the migration runs there too. */
    readonly clusterArn: pulumi.Input<string>;
    readonly clusterName: pulumi.Input<string>;
    /** The database's security group, which must admit `securityGroup` (the caller adds that ingress rule). */
    readonly databaseSecurityGroupId: pulumi.Input<string>;
    /** The database port. @default 5432 */
    readonly databasePort?: number;
    /** Plain environment variables, the colours' own (DATABASE_HOST and friends). @default {} */
    readonly environment?: pulumi.Input<Record<string, pulumi.Input<string>>>;
    /** Secrets as Secrets Manager ARNs with optional JSON keys, the colours' own; the execution role may read exactly these. @default {} */
    readonly secrets?: pulumi.Input<Record<string, pulumi.Input<string>>>;
    /** Customer-managed KMS keys that encrypt those secrets; the execution role may decrypt with exactly these. @default [] */
    readonly secretKmsKeyArns?: pulumi.Input<pulumi.Input<string>[]>;
    /** Days CloudWatch Logs keeps the migration's output. @default 30 */
    readonly logRetentionDays?: number;
    /** Customer-managed KMS key that encrypts the log group. @default undefined (CloudWatch Logs' own encryption) */
    readonly logKmsKeyArn?: pulumi.Input<string>;
    /** Tags for every resource. @default {} */
    readonly tags?: Record<string, string>;
}

/** The container name inside the migration task definition; RunTask's override names it. */
export const MIGRATION_CONTAINER = "migrate";

/**
 * The migration of a release as a one-off ECS Fargate task: a task definition
 * (no port, no service: the driver starts it with RunTask), a security group
 * with no ingress whose only egress is the database port to the database's
 * security group and HTTPS for ECR, Secrets Manager and CloudWatch Logs, its
 * own log group, and its own execution and task roles. It receives the same
 * environment and secrets as the colours, so it reaches the database exactly as
 * the application does. Nothing in it references a colour's resources, and it
 * never reads the weights.
 */
export class MigrationTask extends pulumi.ComponentResource {
    public readonly securityGroup: ec2.SecurityGroup;
    public readonly logGroup: cloudwatch.LogGroup;
    public readonly executionRole: iam.Role;
    public readonly taskRole: iam.Role;
    public readonly taskDefinition: ecs.TaskDefinition;
    /** Everything RunTask needs, as plain outputs. */
    public readonly family: pulumi.Output<string>;
    public readonly taskDefinitionArn: pulumi.Output<string>;
    public readonly clusterArn: pulumi.Output<string>;
    public readonly clusterName: pulumi.Output<string>;
    public readonly subnetIds: pulumi.Output<string[]>;
    public readonly securityGroupId: pulumi.Output<string>;
    public readonly logGroupName: pulumi.Output<string>;
    public readonly containerName: string;
    /** The awslogs stream prefix: streams are `<prefix>/<container>/<task id>`. */
    public readonly logStreamPrefix: string;

    constructor(name: string, args: MigrationTaskArgs, opts?: pulumi.ComponentResourceOptions) {
        super("shiftwise:data:MigrationTask", name, {}, opts);
        const tags = { ...args.tags, "shiftwise:role": "migration" };
        const parent = { parent: this };
        const databasePort = args.databasePort ?? 5432;
        this.containerName = MIGRATION_CONTAINER;
        this.logStreamPrefix = "migration";

        this.securityGroup = new ec2.SecurityGroup(name, {
            vpcId: args.vpcId,
            description: `${args.serviceName} migration task; no ingress, out only to the database and HTTPS`,
            tags: { ...tags, Name: name },
        }, parent);
        new vpc.SecurityGroupEgressRule(`${name}-to-database`, {
            securityGroupId: this.securityGroup.id,
            ipProtocol: "tcp",
            fromPort: databasePort,
            toPort: databasePort,
            referencedSecurityGroupId: args.databaseSecurityGroupId,
            description: "to the database only",
        }, parent);
        // ECR, Secrets Manager and CloudWatch Logs are reached over HTTPS through NAT.
        new vpc.SecurityGroupEgressRule(`${name}-https`, {
            securityGroupId: this.securityGroup.id,
            ipProtocol: "tcp",
            fromPort: 443,
            toPort: 443,
            cidrIpv4: "0.0.0.0/0",
            description: "HTTPS through NAT: image pull, secrets, logs",
        }, parent);

        this.logGroup = new cloudwatch.LogGroup(name, {
            name: `/shiftwise/${args.environmentName}/${args.serviceName}/migration`,
            retentionInDays: args.logRetentionDays ?? 30,
            kmsKeyId: args.logKmsKeyArn,
            tags,
        }, parent);

        const assumeByEcsTasks = JSON.stringify({
            Version: "2012-10-17",
            Statement: [{ Effect: "Allow", Principal: { Service: "ecs-tasks.amazonaws.com" }, Action: "sts:AssumeRole" }],
        });
        this.executionRole = new iam.Role(`${name}-execution`, {
            assumeRolePolicy: assumeByEcsTasks,
            description: `${args.serviceName} migration: pulls the image, writes its logs and reads the database secret`,
            tags,
        }, parent);
        new iam.RolePolicy(`${name}-execution`, {
            role: this.executionRole.id,
            policy: executionPolicy([this.logGroup.arn], args.secrets ?? {}, migrationRepositories(args.image), args.secretKmsKeyArns ?? []),
        }, parent);
        this.taskRole = new iam.Role(`${name}-task`, {
            assumeRolePolicy: assumeByEcsTasks,
            description: `${args.serviceName} migration: its own identity, with no permissions attached`,
            tags,
        }, parent);

        const environment = pulumi
            .all([args.environment ?? {}, args.release])
            .apply(([extra, release]) =>
                Object.entries({ ...extra, SHIFTWISE_MIGRATION: "true", SHIFTWISE_VERSION: release })
                    .sort(([a], [b]) => a.localeCompare(b))
                    .map(([key, value]) => ({ name: key, value })),
            );
        const secrets = pulumi
            .output(args.secrets ?? {})
            .apply((values) => Object.entries(values).sort(([a], [b]) => a.localeCompare(b)).map(([key, valueFrom]) => ({ name: key, valueFrom })));

        this.taskDefinition = new ecs.TaskDefinition(name, {
            family: `${args.serviceName}-migration`,
            requiresCompatibilities: ["FARGATE"],
            networkMode: "awsvpc",
            cpu: pulumi.output(args.cpu ?? 256).apply(String),
            memory: pulumi.output(args.memory ?? 512).apply(String),
            executionRoleArn: this.executionRole.arn,
            taskRoleArn: this.taskRole.arn,
            runtimePlatform: { operatingSystemFamily: "LINUX", cpuArchitecture: args.cpuArchitecture ?? "X86_64" },
            // The same hardening as the colours: read-only root, task-local scratch at /tmp, never privileged.
            volumes: [{ name: "scratch" }],
            containerDefinitions: pulumi.jsonStringify([
                {
                    name: this.containerName,
                    image: args.image,
                    essential: true,
                    command: args.command,
                    environment,
                    secrets,
                    linuxParameters: { initProcessEnabled: true },
                    readonlyRootFilesystem: true,
                    mountPoints: [{ sourceVolume: "scratch", containerPath: SCRATCH_PATH, readOnly: false }],
                    // A migration interrupted by StopTask gets two minutes to roll back its transaction.
                    stopTimeout: 120,
                    logConfiguration: {
                        logDriver: "awslogs",
                        options: {
                            "awslogs-group": this.logGroup.name,
                            "awslogs-region": args.region,
                            "awslogs-stream-prefix": this.logStreamPrefix,
                        },
                    },
                },
            ]),
            tags: { ...tags, "shiftwise:version": args.release },
        }, parent);

        this.family = this.taskDefinition.family;
        this.taskDefinitionArn = this.taskDefinition.arn;
        this.clusterArn = pulumi.output(args.clusterArn);
        this.clusterName = pulumi.output(args.clusterName);
        this.subnetIds = pulumi.output(args.subnetIds);
        this.securityGroupId = this.securityGroup.id;
        this.logGroupName = this.logGroup.name;
        this.registerOutputs({
            securityGroup: this.securityGroup,
            logGroup: this.logGroup,
            executionRole: this.executionRole,
            taskRole: this.taskRole,
            taskDefinition: this.taskDefinition,
            family: this.family,
            taskDefinitionArn: this.taskDefinitionArn,
            clusterArn: this.clusterArn,
            clusterName: this.clusterName,
            subnetIds: this.subnetIds,
            securityGroupId: this.securityGroupId,
            logGroupName: this.logGroupName,
        });
    }
}

/** The ECR repository the migration pulls from, when its image is a plain-string private ECR reference. */
function migrationRepositories(image: pulumi.Input<string>): string[] {
    const arn = typeof image === "string" ? ecrRepositoryArn(image) : undefined;
    return arn ? [arn] : [];
}
