// The PostgreSQL database, created or adopted, reachable only from the colours.
import * as cloudwatch from "@pulumi/aws/cloudwatch";
import * as ec2 from "@pulumi/aws/ec2";
import * as iam from "@pulumi/aws/iam";
import * as rds from "@pulumi/aws/rds";
import * as vpc from "@pulumi/aws/vpc";
import * as pulumi from "@pulumi/pulumi";
import type { AccountFacts } from "./accountFacts";

/** A new PostgreSQL instance. */
export interface CreateDatabaseArgs {
    /** The RDS instance identifier, e.g. `shop-production`. */
    readonly identifier: string;
    /**
     * PostgreSQL engine version. A major version (`16`) lets RDS apply minor upgrades without the
     * stack fighting them; a full version (`16.4`) pins it. @default "16"
     */
    readonly engineVersion?: string;
    /** RDS instance class. @default "db.t4g.medium" */
    readonly instanceClass?: string;
    /** Initial storage in GiB. @default 20 */
    readonly allocatedStorageGb?: number;
    /** Ceiling for storage autoscaling in GiB. @default 100 */
    readonly maxAllocatedStorageGb?: number;
    /** The database created in the instance. */
    readonly databaseName: string;
    /** The master user; its password is generated and kept in Secrets Manager by RDS. @default "shiftwise_admin" */
    readonly masterUsername?: string;
    /** Days RDS keeps automated backups (at least 7 for a protected stack). @default 7 */
    readonly backupRetentionDays?: number;
    readonly vpcId: pulumi.Input<string>;
    /** Private subnets in at least two AZs for the DB subnet group. */
    readonly subnetIds: pulumi.Input<pulumi.Input<string>[]>;
    /** The stack's customer-managed KMS key: encrypts Performance Insights data and the exported log groups. */
    readonly kmsKeyArn: pulumi.Input<string>;
    /** Seconds between Enhanced Monitoring samples: 1, 5, 10, 15, 30 or 60. @default 60 */
    readonly monitoringIntervalSeconds?: number;
    /** Days the exported PostgreSQL logs stay in CloudWatch Logs. @default 30 */
    readonly logRetentionDays?: number;
    /** The stack's region, for the monitoring role's log group ARN. */
    readonly region: string;
}

/** The CA RDS signs the server certificate with; pinned so that a default change is a reviewed config change. */
export const RDS_CA_CERTIFICATE = "rds-ca-rsa2048-g1";

/** The PostgreSQL logs exported to CloudWatch Logs (Security Hub RDS.36 expects `postgresql`). */
export const POSTGRES_LOG_EXPORTS = ["postgresql", "upgrade"] as const;

/**
 * Instance classes on which RDS offers no Performance Insights, per engine.
 * RDS for PostgreSQL has no such restriction ("N/A"); MySQL and MariaDB lack it
 * on the smallest burstable sizes. Source: "Amazon RDS DB engine, Region, and
 * instance class support for Performance Insights",
 * https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_PerfInsights.Overview.Engines.html
 */
export const PERFORMANCE_INSIGHTS_UNSUPPORTED: Readonly<Record<string, readonly string[]>> = {
    postgres: [],
    mysql: ["db.t2.micro", "db.t2.small", "db.t3.micro", "db.t3.small", "db.t4g.micro", "db.t4g.small"],
    mariadb: ["db.t2.micro", "db.t2.small", "db.t3.micro", "db.t3.small", "db.t4g.micro", "db.t4g.small"],
};

/** True when RDS offers Performance Insights for this engine on this instance class. */
export function performanceInsightsSupported(engine: string, instanceClass: string): boolean {
    return !(PERFORMANCE_INSIGHTS_UNSUPPORTED[engine] ?? []).includes(instanceClass);
}

/** An RDS instance created outside shiftwise. */
export interface ExistingDatabaseArgs {
    /** Its RDS instance identifier. */
    readonly instanceId: string;
}

export interface DatabaseArgs {
    /** The stack's account and partition (`accountFacts()`, asked once per program). */
    readonly account: AccountFacts;
    /** Exactly one of `create` or `existing`. */
    readonly create?: CreateDatabaseArgs;
    readonly existing?: ExistingDatabaseArgs;
    /** The database port. @default 5432 */
    readonly port?: number;
    /**
     * Security groups allowed to connect, by name (`blue`, `green`). Each gets
     * one ingress rule on the database's security group and nothing else does.
     */
    readonly clientSecurityGroupIds: Record<string, pulumi.Input<string>>;
    /**
     * Production: deletion protection, multi-AZ, and Pulumi `protect` and
     * `retainOnDelete` on the instance. @default false
     */
    readonly protect?: boolean;
    /** Tags for every resource. @default {} */
    readonly tags?: Record<string, string>;
}

/**
 * The service's PostgreSQL database: either a new RDS instance with
 * production settings (private, encrypted, AWS-managed master password, IAM
 * authentication, retained backups) or an existing instance adopted by
 * identifier. Either way only the named client security groups may connect.
 */
export class Database extends pulumi.ComponentResource {
    /** The instance, when this component created it. */
    public readonly instance?: rds.Instance;
    /** The parameter group that requires TLS, when this component created the instance. */
    public readonly parameterGroup?: rds.ParameterGroup;
    /** The role RDS Enhanced Monitoring publishes with, when this component created the instance. */
    public readonly monitoringRole?: iam.Role;
    /** The security group the instance uses and the client rules are added to. */
    public readonly securityGroupId: pulumi.Output<string>;
    public readonly subnetGroupName: pulumi.Output<string>;
    public readonly identifier: pulumi.Output<string>;
    public readonly arn: pulumi.Output<string>;
    public readonly address: pulumi.Output<string>;
    public readonly port: pulumi.Output<number>;
    public readonly databaseName: pulumi.Output<string>;
    public readonly instanceClass: pulumi.Output<string>;
    /** ARN of the RDS-managed master user secret (JSON with `username` and `password`); undefined when RDS does not manage it. */
    public readonly masterSecretArn: pulumi.Output<string | undefined>;

    constructor(name: string, args: DatabaseArgs, opts?: pulumi.ComponentResourceOptions) {
        super("shiftwise:data:Database", name, {}, opts);
        if ((args.create === undefined) === (args.existing === undefined)) {
            throw new Error(`Database ${name}: set exactly one of create or existing`);
        }
        const port = args.port ?? 5432;
        const tags = args.tags ?? {};
        const parent = { parent: this };

        if (args.create) {
            const create = args.create;
            const protect = args.protect ?? false;
            const subnetGroup = new rds.SubnetGroup(name, {
                subnetIds: create.subnetIds,
                description: `${create.identifier}: private subnets only`,
                tags,
            }, parent);
            const securityGroup = new ec2.SecurityGroup(name, {
                vpcId: create.vpcId,
                description: `${create.identifier} database; ingress only from the service colours`,
                tags: { ...tags, Name: name },
            }, parent);
            const engineVersion = create.engineVersion ?? "16";
            const instanceClass = create.instanceClass ?? "db.t4g.medium";
            this.parameterGroup = new rds.ParameterGroup(name, {
                family: `postgres${engineVersion.split(".")[0]}`,
                description: `${create.identifier}: TLS required`,
                // Refuse unencrypted connections (checkov CKV2_AWS_69); the clients connect with sslmode=require or stricter.
                parameters: [{ name: "rds.force_ssl", value: "1", applyMethod: "immediate" }],
                tags,
            }, parent);
            this.monitoringRole = this.enhancedMonitoringRole(name, create.region, args.account, tags);
            // Created before the instance, so RDS exports into encrypted groups with a retention instead of making its own.
            const logGroups = POSTGRES_LOG_EXPORTS.map((logType) =>
                new cloudwatch.LogGroup(`${name}-${logType}`, {
                    name: `/aws/rds/instance/${create.identifier}/${logType}`,
                    retentionInDays: create.logRetentionDays ?? 30,
                    kmsKeyId: create.kmsKeyArn,
                    tags,
                }, parent));
            const insights = performanceInsightsSupported("postgres", instanceClass);
            this.instance = new rds.Instance(name, {
                identifier: create.identifier,
                engine: "postgres",
                engineVersion,
                instanceClass,
                allocatedStorage: create.allocatedStorageGb ?? 20,
                maxAllocatedStorage: create.maxAllocatedStorageGb ?? 100,
                storageType: "gp3",
                storageEncrypted: true,
                dbName: create.databaseName,
                port,
                username: create.masterUsername ?? "shiftwise_admin",
                // RDS generates the password and keeps it in Secrets Manager: it is never in config or state.
                manageMasterUserPassword: true,
                iamDatabaseAuthenticationEnabled: true,
                dbSubnetGroupName: subnetGroup.name,
                vpcSecurityGroupIds: [securityGroup.id],
                publiclyAccessible: false,
                multiAz: protect,
                deletionProtection: protect,
                backupRetentionPeriod: create.backupRetentionDays ?? 7,
                // Automated backups outlive the instance, so deleting it by mistake is recoverable.
                deleteAutomatedBackups: false,
                copyTagsToSnapshot: true,
                skipFinalSnapshot: false,
                finalSnapshotIdentifier: `${create.identifier}-final`,
                autoMinorVersionUpgrade: true,
                enabledCloudwatchLogsExports: [...POSTGRES_LOG_EXPORTS],
                parameterGroupName: this.parameterGroup.name,
                caCertIdentifier: RDS_CA_CERTIFICATE,
                performanceInsightsEnabled: insights,
                performanceInsightsKmsKeyId: insights ? create.kmsKeyArn : undefined,
                // 7 days is Performance Insights' free retention.
                performanceInsightsRetentionPeriod: insights ? 7 : undefined,
                monitoringInterval: create.monitoringIntervalSeconds ?? 60,
                monitoringRoleArn: this.monitoringRole.arn,
                tags,
            }, { parent: this, protect, retainOnDelete: protect, dependsOn: logGroups });
            this.securityGroupId = securityGroup.id;
            this.subnetGroupName = subnetGroup.name;
            this.identifier = this.instance.identifier;
            this.arn = this.instance.arn;
            this.address = this.instance.address;
            this.port = this.instance.port;
            this.databaseName = pulumi.output(create.databaseName);
            this.instanceClass = this.instance.instanceClass;
            this.masterSecretArn = this.instance.masterUserSecrets.apply((secrets) => secrets?.[0]?.secretArn);
        } else {
            const existing = rds.getInstanceOutput({ dbInstanceIdentifier: args.existing!.instanceId }, parent);
            // An adopted instance keeps its own security groups; the client rules go on its first one.
            this.securityGroupId = existing.vpcSecurityGroups.apply((groups) => {
                if (groups.length === 0) throw new Error(`Database ${name}: RDS instance ${args.existing!.instanceId} has no VPC security group to admit the colours`);
                return groups[0];
            });
            this.subnetGroupName = existing.dbSubnetGroup;
            this.identifier = existing.dbInstanceIdentifier;
            this.arn = existing.dbInstanceArn;
            this.address = existing.address;
            this.port = existing.port;
            this.databaseName = existing.dbName;
            this.instanceClass = existing.dbInstanceClass;
            this.masterSecretArn = existing.masterUserSecrets.apply((secrets) => secrets?.[0]?.secretArn);
        }

        for (const [client, clientSecurityGroupId] of Object.entries(args.clientSecurityGroupIds)) {
            new vpc.SecurityGroupIngressRule(`${name}-from-${client}`, {
                securityGroupId: this.securityGroupId,
                ipProtocol: "tcp",
                fromPort: port,
                toPort: port,
                referencedSecurityGroupId: clientSecurityGroupId,
                description: `from the ${client} tasks only`,
            }, parent);
        }

        this.registerOutputs({
            instance: this.instance,
            securityGroupId: this.securityGroupId,
            subnetGroupName: this.subnetGroupName,
            identifier: this.identifier,
            arn: this.arn,
            address: this.address,
            port: this.port,
            databaseName: this.databaseName,
            instanceClass: this.instanceClass,
            masterSecretArn: this.masterSecretArn,
        });
    }

    /**
     * The role Enhanced Monitoring publishes OS metrics with: what the AWS managed policy
     * AmazonRDSEnhancedMonitoringRole grants, narrowed from `arn:aws:logs:*:*:log-group:RDS*` to the one log group RDS
     * writes (`RDSOSMetrics`) in this account and region.
     */
    private enhancedMonitoringRole(name: string, region: string, account: AccountFacts, tags: Record<string, string>): iam.Role {
        const parent = { parent: this };
        const role = new iam.Role(`${name}-monitoring`, {
            description: `${name}: RDS Enhanced Monitoring publishes OS metrics to CloudWatch Logs`,
            assumeRolePolicy: account.accountId.apply((accountId) =>
                JSON.stringify({
                    Version: "2012-10-17",
                    Statement: [{
                        Effect: "Allow",
                        Principal: { Service: "monitoring.rds.amazonaws.com" },
                        Action: "sts:AssumeRole",
                        Condition: { StringEquals: { "aws:SourceAccount": accountId } },
                    }],
                }),
            ),
            tags,
        }, parent);
        new iam.RolePolicy(`${name}-monitoring`, {
            role: role.id,
            policy: pulumi.all([account.accountId, account.partition]).apply(([accountId, partitionName]) => {
                const logGroup = `arn:${partitionName}:logs:${region}:${accountId}:log-group:RDSOSMetrics`;
                return JSON.stringify({
                    Version: "2012-10-17",
                    Statement: [
                        { Sid: "MetricsLogGroup", Effect: "Allow", Action: ["logs:CreateLogGroup", "logs:PutRetentionPolicy"], Resource: logGroup },
                        {
                            Sid: "MetricsLogStreams",
                            Effect: "Allow",
                            Action: ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams", "logs:GetLogEvents"],
                            Resource: `${logGroup}:log-stream:*`,
                        },
                    ],
                });
            }),
        }, parent);
        return role;
    }
}
