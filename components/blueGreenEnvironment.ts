// The ECS cluster, roles and one ColourService per colour.
import * as ecs from "@pulumi/aws/ecs";
import * as iam from "@pulumi/aws/iam";
import * as pulumi from "@pulumi/pulumi";
import { ColourRelease, ColourService, HealthCheckArgs } from "./colourService";
import { ECR_PULL_ACTIONS } from "./ecrImage";
import { kmsViaServices } from "./secretsStore";

/** What one colour runs, and what its ECS service waits for. */
export interface ColourArgs extends ColourRelease {
    /** Extra resources this colour's ECS service waits for, such as the pre-release snapshot. @default [] */
    readonly dependsOn?: pulumi.Input<pulumi.Resource>[];
}

export interface BlueGreenEnvironmentArgs {
    /** Service name, e.g. `shop`. */
    readonly serviceName: string;
    /** Scopes log group names, e.g. the stack name. */
    readonly environmentName: string;
    readonly region: string;
    readonly vpcId: pulumi.Input<string>;
    readonly privateSubnetIds: pulumi.Input<pulumi.Input<string>[]>;
    /** Port the container listens on. */
    readonly port: number;
    readonly healthCheck: HealthCheckArgs;
    readonly blue: ColourArgs;
    readonly green: ColourArgs;
    /**
     * The forwarding listener. Both ECS services wait for it, because ECS
     * rejects a target group that no load balancer forwards to yet. The
     * listener needs the colours' target groups, so it is created after this
     * component: pass a promise of it.
     */
    readonly listener: pulumi.Input<pulumi.Resource>;
    /** Seconds the ALB waits before deregistering a draining target. @default 30 */
    readonly deregistrationDelaySeconds?: number;
    /** Seconds ECS ignores failing ALB health checks after a task starts. @default 60 */
    readonly healthCheckGraceSeconds?: number;
    /** Days to keep container logs. @default 30 */
    readonly logRetentionDays?: number;
    /** Customer-managed KMS key that encrypts both colours' log groups. @default undefined (CloudWatch Logs' own encryption) */
    readonly logKmsKeyArn?: pulumi.Input<string>;
    /** Plain environment variables for both colours. @default {} */
    readonly environment?: pulumi.Input<Record<string, pulumi.Input<string>>>;
    /**
     * Secrets the containers receive as environment variables: Secrets Manager ARNs, optionally with a JSON key
     * (`<arn>:password::`), or SSM parameter ARNs. The execution role may read exactly these secrets. @default {}
     */
    readonly secrets?: pulumi.Input<Record<string, pulumi.Input<string>>>;
    /** Customer-managed KMS keys that encrypt those secrets; the execution role may decrypt with exactly these. @default [] */
    readonly secretKmsKeyArns?: pulumi.Input<pulumi.Input<string>[]>;
    /** Tags for every resource. @default {} */
    readonly tags?: Record<string, string>;
}

/**
 * Two independent colours of one service on ECS Fargate: one cluster, one
 * least-privilege execution role, one task role, and a `ColourService` per
 * colour.
 */
export class BlueGreenEnvironment extends pulumi.ComponentResource {
    public readonly cluster: ecs.Cluster;
    public readonly executionRole: iam.Role;
    public readonly taskRole: iam.Role;
    public readonly blue: ColourService;
    public readonly green: ColourService;

    constructor(name: string, args: BlueGreenEnvironmentArgs, opts?: pulumi.ComponentResourceOptions) {
        super("shiftwise:ecs:BlueGreenEnvironment", name, {}, opts);
        const tags = { ...args.tags, "shiftwise:service": args.serviceName };

        this.cluster = new ecs.Cluster(name, {
            settings: [{ name: "containerInsights", value: "enabled" }],
            tags,
        }, { parent: this });

        const assumeByEcsTasks = JSON.stringify({
            Version: "2012-10-17",
            Statement: [{ Effect: "Allow", Principal: { Service: "ecs-tasks.amazonaws.com" }, Action: "sts:AssumeRole" }],
        });
        this.executionRole = new iam.Role(`${name}-execution`, {
            assumeRolePolicy: assumeByEcsTasks,
            description: `${args.serviceName}: pulls images, writes logs and reads the task secrets`,
            tags,
        }, { parent: this });
        this.taskRole = new iam.Role(`${name}-task`, {
            assumeRolePolicy: assumeByEcsTasks,
            description: `${args.serviceName}: the application's own identity`,
            tags,
        }, { parent: this });

        const colour = (colourName: "blue" | "green", { dependsOn, ...release }: ColourArgs) =>
            new ColourService(`${name}-${colourName}`, {
                ...release,
                colour: colourName,
                serviceName: args.serviceName,
                port: args.port,
                vpcId: args.vpcId,
                subnetIds: args.privateSubnetIds,
                clusterArn: this.cluster.arn,
                clusterName: this.cluster.name,
                executionRoleArn: this.executionRole.arn,
                executionRoleName: this.executionRole.name,
                taskRoleArn: this.taskRole.arn,
                logGroupName: `/shiftwise/${args.environmentName}/${args.serviceName}/${colourName}`,
                logRetentionDays: args.logRetentionDays,
                logKmsKeyArn: args.logKmsKeyArn,
                region: args.region,
                healthCheck: args.healthCheck,
                deregistrationDelaySeconds: args.deregistrationDelaySeconds,
                healthCheckGraceSeconds: args.healthCheckGraceSeconds,
                environment: args.environment,
                secrets: args.secrets,
                serviceDependsOn: [args.listener, ...(dependsOn ?? [])],
                tags,
            }, { parent: this });
        this.blue = colour("blue", args.blue);
        this.green = colour("green", args.green);

        new iam.RolePolicy(`${name}-execution`, {
            role: this.executionRole.id,
            policy: executionPolicy([this.blue.logGroup.arn, this.green.logGroup.arn], args.secrets ?? {}, [], args.secretKmsKeyArns ?? []),
        }, { parent: this });

        this.registerOutputs({
            cluster: this.cluster,
            executionRole: this.executionRole,
            taskRole: this.taskRole,
            blue: this.blue,
            green: this.green,
        });
    }
}

/**
 * Exactly what ECS needs to start the tasks: pull from ECR, write to the given
 * log groups, read the named secrets and nothing else: secretsmanager:GetSecretValue
 * on the Secrets Manager secrets, ssm:GetParameters on the SSM parameters, and
 * kms:Decrypt only on the customer-managed keys that encrypt them (ECS Developer
 * Guide, "Amazon ECS task execution IAM role", "Secrets Manager or Systems
 * Manager permissions": kms:Decrypt is required only for a custom KMS key),
 * and only through those two services (`kms:ViaService`).
 */
export function executionPolicy(
    logGroupArns: pulumi.Input<string>[],
    secrets: pulumi.Input<Record<string, pulumi.Input<string>>>,
    repositoryArns: string[] = [],
    kmsKeyArns: pulumi.Input<pulumi.Input<string>[]> = [],
): pulumi.Output<string> {
    return pulumi.all([pulumi.all(logGroupArns), pulumi.output(secrets), pulumi.output(kmsKeyArns)]).apply(([logArns, secretArns, keyArns]) => {
        const statements: object[] = [
            // AWS requires Resource "*" here: GetAuthorizationToken has no resource-level permissions (ECR's service
            // authorization reference lists no resource type for it).
            { Sid: "EcrAuth", Effect: "Allow", Action: ["ecr:GetAuthorizationToken"], Resource: "*" },
            ...(repositoryArns.length > 0 ? [{ Sid: "EcrPull", Effect: "Allow", Action: ECR_PULL_ACTIONS, Resource: repositoryArns }] : []),
            { Sid: "Logs", Effect: "Allow", Action: ["logs:CreateLogStream", "logs:PutLogEvents"], Resource: logArns.map((arn) => `${arn}:log-stream:*`) },
        ];
        const resources = [...new Set(Object.values(secretArns).map(secretResourceArn))].sort();
        const secretResources = resources.filter((arn) => arn.split(":")[2] === "secretsmanager");
        const parameterResources = resources.filter((arn) => arn.split(":")[2] === "ssm");
        if (secretResources.length > 0) {
            statements.push({ Sid: "TaskSecrets", Effect: "Allow", Action: ["secretsmanager:GetSecretValue"], Resource: secretResources });
        }
        if (parameterResources.length > 0) {
            statements.push({ Sid: "TaskParameters", Effect: "Allow", Action: ["ssm:GetParameters"], Resource: parameterResources });
        }
        const keys = [...new Set(keyArns)].sort();
        const viaServices = kmsViaServices([...secretResources, ...parameterResources]);
        if (keys.length > 0 && viaServices.length > 0) {
            // Only when Secrets Manager or Parameter Store asks KMS for the task: the role cannot decrypt anything else with these keys.
            statements.push({ Sid: "SecretKeys", Effect: "Allow", Action: ["kms:Decrypt"], Resource: keys, Condition: { StringEquals: { "kms:ViaService": viaServices } } });
        }
        return JSON.stringify({ Version: "2012-10-17", Statement: statements });
    });
}

/**
 * The IAM resource for an ECS `valueFrom`: a Secrets Manager reference may
 * carry `:json-key:version-stage:version-id` after the secret's ARN, which IAM
 * does not match, so it is cut off. Other ARNs pass through.
 */
export function secretResourceArn(valueFrom: string): string {
    const parts = valueFrom.split(":");
    return parts[2] === "secretsmanager" && parts.length > 7 ? parts.slice(0, 7).join(":") : valueFrom;
}
