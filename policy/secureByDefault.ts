// The secure-by-default policies: logs, encryption, containers, database monitoring, WAF and least-privilege IAM.
import * as ecs from "@pulumi/aws/ecs";
import * as iam from "@pulumi/aws/iam";
import * as kms from "@pulumi/aws/kms";
import * as lb from "@pulumi/aws/lb";
import * as rds from "@pulumi/aws/rds";
import {
    PolicyResource,
    ReportViolation,
    ResourceValidationPolicy,
    StackValidationPolicy,
    validateResourceOfType,
} from "@pulumi/policy";

/**
 * Each policy answers one scanner rule (named in its description and in the
 * README's "Secure by default" table). Stack policies relate resources through
 * their dependencies, which the engine knows at preview even when ids are
 * still unknown: a public access block depends on its bucket, a flow log on
 * its VPC, a WAF association on its load balancer.
 */

/** The tag a task definition carries when its colour opted out of a read-only root filesystem. */
export const WRITABLE_ROOT_TAG = "shiftwise:writable-root-filesystem";

/** RDS CA certificates checkov CKV_AWS_211 accepts as current. */
export const CURRENT_RDS_CAS = ["rds-ca-rsa2048-g1", "rds-ca-rsa4096-g1", "rds-ca-ecc384-g1"];

/**
 * Instance classes without Performance Insights, per engine (see components/database.ts for the AWS source; a test
 * keeps the two tables equal, because the pack does not import the program's components).
 */
export const NO_PERFORMANCE_INSIGHTS: Record<string, string[]> = {
    mysql: ["db.t2.micro", "db.t2.small", "db.t3.micro", "db.t3.small", "db.t4g.micro", "db.t4g.small"],
    mariadb: ["db.t2.micro", "db.t2.small", "db.t3.micro", "db.t3.small", "db.t4g.micro", "db.t4g.small"],
};

/**
 * Actions for which AWS requires `Resource: "*"`: they have no resource-level
 * permissions in the Service Authorization Reference (ECR's token; ELB's
 * Describe* reads, which the AWS-side guard needs).
 */
export const RESOURCE_STAR_ACTIONS = ["ecr:GetAuthorizationToken", "elasticloadbalancing:DescribeListeners", "elasticloadbalancing:DescribeTargetHealth"];

type Json = Record<string, any>;

function parseJson(value: unknown): Json | undefined {
    if (value && typeof value === "object") return value as Json;
    if (typeof value !== "string") return undefined;
    try {
        return JSON.parse(value) as Json;
    } catch {
        return undefined;
    }
}

function asList<T>(value: T | T[] | undefined): T[] {
    return value === undefined ? [] : Array.isArray(value) ? value : [value];
}

/** The resources of `type` that depend on `target`: how a stack policy finds what belongs to a bucket, a VPC or a load balancer. */
function dependents(resources: PolicyResource[], type: string, target: PolicyResource): PolicyResource[] {
    return resources.filter((resource) => resource.type === type && resource.dependencies.some((dependency) => dependency.urn === target.urn));
}

function ofType(resources: PolicyResource[], type: string): PolicyResource[] {
    return resources.filter((resource) => resource.type === type);
}

const BUCKET = "aws:s3/bucket:Bucket";
const VPC = "aws:ec2/vpc:Vpc";
const LOAD_BALANCER = "aws:lb/loadBalancer:LoadBalancer";
const KMS_KEY = "aws:kms/key:Key";

/** Resource policies, one scanner rule each. */
export const secureByDefaultResourcePolicies: ResourceValidationPolicy[] = [
    {
        name: "shiftwise-alb-access-logs",
        description: "Application load balancers write access logs to S3 (checkov CKV_AWS_91, Security Hub ELB.5).",
        enforcementLevel: "mandatory",
        validateResource: validateResourceOfType(lb.LoadBalancer, (loadBalancer, _args, report) => {
            if ((loadBalancer.loadBalancerType ?? "application") !== "application") return;
            const logs = loadBalancer.accessLogs;
            if (logs?.enabled !== true || !logs.bucket) report("set accessLogs { enabled: true, bucket } so every request is recorded in S3");
        }),
    },
    {
        name: "shiftwise-kms-key-rotation",
        description: "Symmetric customer-managed KMS keys rotate yearly (checkov CKV_AWS_7).",
        enforcementLevel: "mandatory",
        validateResource: validateResourceOfType(kms.Key, (key, _args, report) => {
            // KMS rotates only symmetric encryption keys; asymmetric and HMAC keys cannot rotate.
            const symmetric = (key.customerMasterKeySpec ?? "SYMMETRIC_DEFAULT") === "SYMMETRIC_DEFAULT";
            if (symmetric && key.enableKeyRotation !== true) report("set enableKeyRotation: true");
        }),
    },
    {
        name: "shiftwise-read-only-root-filesystem",
        description: "Containers mount their root filesystem read-only unless the colour opted out (checkov CKV_AWS_336, Security Hub ECS.5).",
        enforcementLevel: "mandatory",
        validateResource: validateResourceOfType(ecs.TaskDefinition, (task, _args, report) => {
            if ((task.tags ?? {})[WRITABLE_ROOT_TAG] !== undefined) return;
            for (const container of containersOf(task.containerDefinitions)) {
                if (container.readonlyRootFilesystem !== true) {
                    report(`container ${container.name}: set readonlyRootFilesystem: true and mount a scratch volume for what it writes (or opt the colour out, which tags the task definition ${WRITABLE_ROOT_TAG})`);
                }
            }
        }),
    },
    {
        name: "shiftwise-unprivileged-containers",
        description:
            "Containers are never privileged, never run as root by configuration, and on EC2 set no-new-privileges; Fargate supports neither privileged nor dockerSecurityOptions (checkov CKV_AWS_334, Security Hub ECS.4).",
        enforcementLevel: "mandatory",
        validateResource: validateResourceOfType(ecs.TaskDefinition, (task, _args, report) => {
            const onEc2 = asList(task.requiresCompatibilities).includes("EC2");
            for (const container of containersOf(task.containerDefinitions)) {
                if (container.privileged === true) report(`container ${container.name}: remove privileged: true`);
                if (/^(0|root)(:|$)/.test(String(container.user ?? ""))) report(`container ${container.name}: runs as root; remove user or name an unprivileged one`);
                if (onEc2 && !asList(container.dockerSecurityOptions).includes("no-new-privileges")) {
                    report(`container ${container.name}: on EC2 add dockerSecurityOptions ["no-new-privileges"]`);
                }
            }
        }),
    },
    {
        name: "shiftwise-database-monitoring",
        description:
            "RDS instances have Performance Insights encrypted with a customer-managed key where the class supports it, Enhanced Monitoring, a current CA and log exports (checkov CKV_AWS_353, CKV_AWS_354, CKV_AWS_118, CKV_AWS_211, CKV_AWS_129; Security Hub RDS.6, RDS.9).",
        enforcementLevel: "mandatory",
        validateResource: validateResourceOfType(rds.Instance, (database, _args, report) => {
            const unsupported = NO_PERFORMANCE_INSIGHTS[String(database.engine)] ?? [];
            if (!unsupported.includes(String(database.instanceClass))) {
                if (database.performanceInsightsEnabled !== true) report("set performanceInsightsEnabled: true");
                else if (!database.performanceInsightsKmsKeyId) report("set performanceInsightsKmsKeyId to the stack's customer-managed key");
            }
            if (!(Number(database.monitoringInterval) > 0) || !database.monitoringRoleArn) report("set monitoringInterval (1 to 60 seconds) and a monitoringRoleArn");
            if (!CURRENT_RDS_CAS.includes(String(database.caCertIdentifier))) report(`set caCertIdentifier to a current CA, e.g. ${CURRENT_RDS_CAS[0]}`);
            if (asList(database.enabledCloudwatchLogsExports).length === 0) report("export the engine's logs with enabledCloudwatchLogsExports");
        }),
    },
    {
        name: "shiftwise-iam-least-privilege",
        description:
            "IAM policies name no wildcard action and no wildcard resource, except where AWS requires Resource \"*\" (checkov CKV_AWS_63, CKV_AWS_355; Security Hub IAM.1, IAM.21).",
        enforcementLevel: "mandatory",
        validateResource: [
            validateResourceOfType(iam.RolePolicy, (policy, _args, report) => reportWildcards(policy.policy, report)),
            validateResourceOfType(iam.Policy, (policy, _args, report) => reportWildcards(policy.policy, report)),
            validateResourceOfType(iam.Role, (role, _args, report) => {
                for (const inline of role.inlinePolicies ?? []) reportWildcards(inline.policy, report);
            }),
        ],
    },
];

/** Stack policies: rules about how resources relate. */
export const secureByDefaultStackPolicies: StackValidationPolicy[] = [
    {
        name: "shiftwise-log-bucket-hardened",
        description:
            "S3 buckets block public access, encrypt by default, refuse requests without TLS and expire objects (checkov CKV2_AWS_6, CKV_AWS_19, CKV2_AWS_61; Security Hub S3.8, S3.5, S3.13).",
        enforcementLevel: "mandatory",
        validateStack: (args, report) => {
            for (const bucket of ofType(args.resources, BUCKET)) {
                const problems: string[] = [];
                const blocks = dependents(args.resources, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", bucket);
                const blocked = blocks.some((b) => b.props.blockPublicAcls && b.props.blockPublicPolicy && b.props.ignorePublicAcls && b.props.restrictPublicBuckets);
                if (!blocked) problems.push("a BucketPublicAccessBlock with all four settings true");
                if (dependents(args.resources, "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration", bucket).length === 0) {
                    problems.push("a BucketServerSideEncryptionConfiguration");
                }
                const policies = dependents(args.resources, "aws:s3/bucketPolicy:BucketPolicy", bucket);
                if (!policies.some((policy) => deniesInsecureTransport(parseJson(policy.props.policy)))) {
                    problems.push('a BucketPolicy that denies every request with aws:SecureTransport "false"');
                }
                const lifecycles = dependents(args.resources, "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration", bucket);
                if (!lifecycles.some((lifecycle) => asList<Json>(lifecycle.props.rules).some((rule) => rule.status === "Enabled" && Number(rule.expiration?.days) > 0))) {
                    problems.push("a BucketLifecycleConfiguration that expires objects");
                }
                if (problems.length > 0) report(`bucket ${bucket.name} needs ${problems.join(", ")}`, bucket.urn);
            }
        },
    },
    {
        name: "shiftwise-vpc-flow-logs",
        description: "Every VPC the stack creates records its traffic with a flow log (checkov CKV2_AWS_11, Security Hub EC2.6).",
        enforcementLevel: "mandatory",
        validateStack: (args, report) => {
            for (const vpc of ofType(args.resources, VPC)) {
                const flowLogs = dependents(args.resources, "aws:ec2/flowLog:FlowLog", vpc).filter((flowLog) => flowLog.props.trafficType === "ALL");
                if (flowLogs.length === 0) report(`VPC ${vpc.name} has no flow log of ALL traffic; add an aws.ec2.FlowLog`, vpc.urn);
            }
        },
    },
    {
        name: "shiftwise-encrypted-log-groups",
        description:
            "Log groups are encrypted with a customer-managed KMS key whose policy admits the CloudWatch Logs service (checkov CKV_AWS_158).",
        enforcementLevel: "mandatory",
        validateStack: (args, report) => {
            for (const group of ofType(args.resources, "aws:cloudwatch/logGroup:LogGroup")) {
                if (!group.props.kmsKeyId) {
                    report(`log group ${group.props.name ?? group.name}: set kmsKeyId to a customer-managed KMS key`, group.urn);
                    continue;
                }
                const keys = group.dependencies.filter((dependency) => dependency.type === KMS_KEY);
                for (const key of keys) {
                    if (!admitsCloudWatchLogs(parseJson(key.props.policy))) {
                        report(`log group ${group.props.name ?? group.name}: key ${key.name} must admit logs.<region>.amazonaws.com in its key policy`, group.urn);
                    }
                }
            }
        },
    },
    {
        name: "shiftwise-database-tls",
        description: "RDS PostgreSQL instances use a parameter group with rds.force_ssl = 1 (checkov CKV2_AWS_69).",
        enforcementLevel: "mandatory",
        validateStack: (args, report) => {
            for (const database of ofType(args.resources, "aws:rds/instance:Instance")) {
                if (!String(database.props.engine ?? "").startsWith("postgres")) continue;
                const groups = database.dependencies.filter((dependency) => dependency.type === "aws:rds/parameterGroup:ParameterGroup");
                const forced = groups.some((group) => asList<Json>(group.props.parameters).some((p) => p.name === "rds.force_ssl" && String(p.value) === "1"));
                if (!forced) report(`database ${database.name}: use a parameter group of the stack with rds.force_ssl = 1, so clients cannot connect without TLS`, database.urn);
            }
        },
    },
    {
        name: "shiftwise-waf-on-public-alb",
        description: "An internet-facing load balancer is associated with an AWS WAF web ACL (checkov CKV2_AWS_28, Security Hub ELB.16). Advisory: set shiftwise:service.webAclArn.",
        enforcementLevel: "advisory",
        validateStack: (args, report) => {
            for (const loadBalancer of ofType(args.resources, LOAD_BALANCER)) {
                if (loadBalancer.props.internal === true || (loadBalancer.props.loadBalancerType ?? "application") !== "application") continue;
                if (dependents(args.resources, "aws:wafv2/webAclAssociation:WebAclAssociation", loadBalancer).length === 0) {
                    report(`internet-facing load balancer ${loadBalancer.name} has no web ACL; set shiftwise:service.webAclArn`, loadBalancer.urn);
                }
            }
        },
    },
];

interface Container {
    name: string;
    readonlyRootFilesystem?: boolean;
    privileged?: boolean;
    user?: string;
    dockerSecurityOptions?: string[];
}

function containersOf(definitions: unknown): Container[] {
    const parsed = typeof definitions === "string" ? (JSON.parse(definitions) as unknown) : definitions;
    return Array.isArray(parsed) ? (parsed as Container[]) : [];
}

function deniesInsecureTransport(policy: Json | undefined): boolean {
    return asList<Json>(policy?.Statement).some(
        (statement) => statement.Effect === "Deny" && statement.Principal === "*" && String(statement.Condition?.Bool?.["aws:SecureTransport"]) === "false",
    );
}

function admitsCloudWatchLogs(policy: Json | undefined): boolean {
    return asList<Json>(policy?.Statement).some(
        (statement) => statement.Effect === "Allow" && asList<string>(statement.Principal?.Service).some((service) => /^logs\.[a-z0-9-]+\.amazonaws\.com(\.cn)?$/.test(service)),
    );
}

/** Reports every Allow statement with a wildcard action, or a `*` resource that AWS does not require. */
function reportWildcards(document: unknown, report: ReportViolation): void {
    const policy = parseJson(document);
    for (const statement of asList<Json>(policy?.Statement)) {
        if (statement.Effect !== "Allow") continue;
        const actions = asList<string>(statement.Action);
        const label = statement.Sid ? `statement ${statement.Sid}` : "a statement";
        for (const action of actions.filter((a) => a === "*" || a.endsWith(":*"))) report(`${label} allows every action (${action}); list the actions it needs`);
        if (asList<string>(statement.NotAction).length > 0) report(`${label} uses NotAction; list the actions it needs`);
        const everyResource = asList<string>(statement.Resource).some((resource) => resource === "*" || /^arn:[^:]+:[^:]+:\*:\*:/.test(resource));
        if (everyResource && !actions.every((action) => RESOURCE_STAR_ACTIONS.includes(action))) {
            report(`${label} applies to every resource; name the resources (only ${RESOURCE_STAR_ACTIONS.join(", ")} need "*")`);
        }
    }
}
