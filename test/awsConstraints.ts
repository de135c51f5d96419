// AWS's constraints on the resources the program declares, written from the AWS API references: the property test's oracle.
import type { CapturedResource } from "../evaluation/mockRuntime";

/**
 * This table is written from the AWS API references and the Terraform AWS
 * provider's validators, independently of the validator in config/ (it imports
 * nothing from it), so that a mistake in the validator cannot hide here.
 * Each entry checks one resource type's inputs as AWS would see them,
 * including the names Pulumi generates: a logical name plus `-` and 7 random
 * characters (pulumi-aws auto-naming), or a `namePrefix` plus Terraform's
 * 26-character unique suffix.
 */

/** What the checks know about the stack besides the resource. */
export interface ConstraintContext {
    readonly region: string;
}

type Inputs = Record<string, any>;
type Check = (inputs: Inputs, resource: CapturedResource, context: ConstraintContext) => (string | undefined)[];

/** Strips the evaluator's secret wrappers: AWS sees the value. */
export function plain(value: unknown): any {
    if (Array.isArray(value)) return value.map(plain);
    if (value && typeof value === "object") {
        if ("__secret" in value) return plain((value as { __secret: unknown }).__secret);
        return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, plain(inner)]));
    }
    return value;
}

/** The physical name AWS receives: the explicit name, a prefix plus Terraform's 26 characters, or Pulumi's auto-name. */
function physicalName(inputs: Inputs, resource: CapturedResource, field = "name", prefixField = "namePrefix"): string {
    if (typeof inputs[field] === "string") return inputs[field];
    if (typeof inputs[prefixField] === "string") return `${inputs[prefixField]}${"0".repeat(26)}`;
    return `${resource.name}-abc1234`;
}

function within(what: string, value: unknown, min: number, max: number): string | undefined {
    if (value === undefined) return undefined;
    return typeof value === "number" && Number.isInteger(value) && value >= min && value <= max ? undefined : `${what} ${String(value)} is not an integer in ${min}..${max}`;
}

function matches(what: string, value: unknown, pattern: RegExp, rule: string): string | undefined {
    if (value === undefined) return undefined;
    return typeof value === "string" && pattern.test(value) ? undefined : `${what} ${JSON.stringify(value)}: ${rule}`;
}

/** ELB names (CreateLoadBalancer/CreateTargetGroup `Name`): 1-32 alphanumerics and hyphens, no hyphen at either end. */
function elbName(what: string, name: string): (string | undefined)[] {
    return [
        name.length <= 32 ? undefined : `${what} ${name} is ${name.length} characters; ELB allows 32`,
        /^[0-9A-Za-z-]+$/.test(name) ? undefined : `${what} ${name}: only alphanumerics and hyphens`,
        /^-|-$/.test(name) ? `${what} ${name} begins or ends with a hyphen` : undefined,
    ];
}

/** EC2 descriptions and names (CreateSecurityGroup, IpRange `Description`): 0-255 of a-zA-Z0-9, space and ._-:/()#,@[]+=&;{}!$* */
const EC2_TEXT = /^[a-zA-Z0-9 ._\-:/()#,@[\]+=&;{}!$*]{0,255}$/;

/** RDS identifiers (CreateDBInstance, CreateDBSnapshot): a letter first, lowercase letters, digits, single hyphens, no hyphen last. */
function rdsIdentifier(what: string, value: unknown, max: number): (string | undefined)[] {
    if (value === undefined) return [];
    const text = String(value);
    return [
        text.length <= max ? undefined : `${what} ${text} is ${text.length} characters; RDS allows ${max}`,
        /^[a-z][a-z0-9-]*$/.test(text) ? undefined : `${what} ${text}: a letter first, then lowercase letters, digits and hyphens`,
        /--|-$/.test(text) ? `${what} ${text} has two hyphens in a row or ends with one` : undefined,
    ];
}

/** Tags (ELB, ECS, RDS AddTags): keys 1-128, values 0-256, letters, digits, spaces and _.:/=+-@; no aws: prefix. */
function tags(inputs: Inputs): (string | undefined)[] {
    const problems: (string | undefined)[] = [];
    for (const [key, value] of Object.entries((inputs.tags ?? {}) as Record<string, unknown>)) {
        if (key.length < 1 || key.length > 128 || !/^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$/u.test(key) || key.toLowerCase().startsWith("aws:")) problems.push(`tag key ${JSON.stringify(key)} is not a valid tag key`);
        if (typeof value !== "string" || value.length > 256 || !/^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$/u.test(value)) problems.push(`tag ${key} = ${JSON.stringify(value)} is not a valid tag value`);
    }
    return problems;
}

/** ALB TLS 1.3 policies (ELB guide, "Security policies for your Application Load Balancer"). */
const ALB_TLS13_POLICIES = new Set([
    ...["1-0", "1-1", "1-2", "1-2-Res", "1-2-Ext1", "1-2-Ext2", "1-3"].map((v) => `ELBSecurityPolicy-TLS13-${v}-2021-06`),
    ...["1-0", "1-1", "1-2", "1-2-Res", "1-2-Ext0", "1-2-Ext1", "1-2-Ext2", "1-3"].map((v) => `ELBSecurityPolicy-TLS13-${v}-FIPS-2023-04`),
    ...["1-2", "1-2-Res", "1-2-Ext1", "1-2-Ext2", "1-3"].map((v) => `ELBSecurityPolicy-TLS13-${v}-PQ-2025-09`),
    ...["1-2", "1-2-Res", "1-2-Ext0", "1-2-Ext1", "1-2-Ext2", "1-3"].map((v) => `ELBSecurityPolicy-TLS13-${v}-FIPS-PQ-2025-09`),
]);

/** An AWS Backup cron (BackupRuleInput `ScheduleExpression`): six fields, at most hourly, one of the day fields `?`. */
function backupCron(schedule: unknown): string | undefined {
    const fields = /^cron\(([^)]*)\)$/.exec(String(schedule))?.[1].trim().split(/\s+/);
    if (!fields || fields.length !== 6) return `schedule ${String(schedule)} is not a six-field cron()`;
    if (!/^\d{1,2}$/.test(fields[0]) || Number(fields[0]) > 59) return `schedule ${String(schedule)} runs more than once an hour or has a bad minute`;
    const hours = fields[1].split(",").every((part) => /^(\*|\d{1,2}(-\d{1,2})?)(\/\d+)?$/.test(part) && part.match(/\d+/g)?.every((n) => Number(n) <= 23) !== false);
    if (!hours) return `schedule ${String(schedule)} has a bad hours field`;
    if ((fields[2] === "?") === (fields[4] === "?")) return `schedule ${String(schedule)} must set exactly one of day-of-month and day-of-week to ?`;
    return undefined;
}

/** ALB health check codes (Matcher `HttpCode`): 200-499, as codes, lists or low-high ranges. */
function matcher(value: unknown): string | undefined {
    const text = String(value);
    if (!/^\d{3}(-\d{3})?(,\d{3}(-\d{3})?)*$/.test(text)) return `matcher ${text} is not codes or ranges`;
    for (const part of text.split(",")) {
        const [low, high = low] = part.split("-").map(Number);
        if (low < 200 || high > 499 || low > high) return `matcher ${text}: codes must be 200-499, ranges low-high`;
    }
    return undefined;
}

/** The Fargate CPU/memory pairs (ECS developer guide, "Task CPU and memory"). */
function fargateMemory(cpu: number): number[] {
    const steps = (from: number, to: number, step: number) => Array.from({ length: (to - from) / step + 1 }, (_, i) => from + i * step);
    const table: Record<number, number[]> = {
        256: [512, 1024, 2048],
        512: steps(1024, 4096, 1024),
        1024: steps(2048, 8192, 1024),
        2048: steps(4096, 16384, 1024),
        4096: steps(8192, 30720, 1024),
        8192: steps(16384, 61440, 4096),
        16384: steps(32768, 122880, 8192),
    };
    return table[cpu] ?? [];
}

/** A secret reference ECS accepts in `valueFrom`: a Secrets Manager secret ARN (optionally with key/stage/id) or an SSM parameter ARN or name. */
const SECRET_VALUE_FROM = /^(arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[A-Za-z0-9/_+=.@!-]+(:[^:]*:[^:]*:[^:]*)?|arn:aws[a-z-]*:ssm:[a-z0-9-]+:\d{12}:parameter\/[A-Za-z0-9/_.-]+)$/;

const CHECKS: Record<string, Check> = {
    "aws:lb/loadBalancer:LoadBalancer": (i, r) => {
        const name = physicalName(i, r);
        return [...elbName("load balancer name", name), name.startsWith("internal-") ? `load balancer name ${name} begins with internal-` : undefined, within("idleTimeout", i.idleTimeout, 1, 4000), ...tags(i)];
    },
    "aws:lb/targetGroup:TargetGroup": (i, r) => {
        const hc = i.healthCheck ?? {};
        return [
            ...elbName("target group name", physicalName(i, r)),
            within("port", i.port, 1, 65535),
            within("deregistrationDelay", i.deregistrationDelay, 0, 3600),
            within("health check interval", hc.interval, 5, 300),
            within("health check timeout", hc.timeout, 2, 120),
            hc.timeout !== undefined && hc.interval !== undefined && hc.timeout >= hc.interval ? "health check timeout must be less than the interval" : undefined,
            within("healthy threshold", hc.healthyThreshold, 2, 10),
            within("unhealthy threshold", hc.unhealthyThreshold, 2, 10),
            hc.matcher === undefined ? undefined : matcher(hc.matcher),
            matches("health check path", hc.path, /^\/.{0,1023}$/s, "starts with / and is at most 1024 characters"),
            ...tags(i),
        ];
    },
    "aws:lb/listener:Listener": (i, _r, context) => [
        within("port", i.port, 1, 65535),
        i.protocol === "HTTPS" && !ALB_TLS13_POLICIES.has(i.sslPolicy) ? `sslPolicy ${i.sslPolicy} is not an ALB TLS 1.3 policy` : undefined,
        i.certificateArn === undefined || String(i.certificateArn).split(":")[3] === context.region ? undefined : `certificate ${i.certificateArn} is not in the stack's region ${context.region}`,
        ...(i.defaultActions ?? []).flatMap((action: Inputs) => [
            ...(action.forward?.targetGroups ?? []).map((group: Inputs) => within("forward weight", group.weight, 0, 999)),
            action.forward?.stickiness?.duration === undefined ? undefined : within("stickiness duration", action.forward.stickiness.duration, 1, 604800),
            action.fixedResponse?.messageBody === undefined || String(action.fixedResponse.messageBody).length <= 1024 ? undefined : "fixed response body over 1024 characters",
        ]),
        ...tags(i),
    ],
    "aws:lb/listenerRule:ListenerRule": (i) => [
        within("priority", i.priority, 1, 50000),
        ...(i.conditions ?? []).flatMap((condition: Inputs) => {
            const header = condition.httpHeader;
            if (!header) return [];
            return [
                matches("header name", header.httpHeaderName, /^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,40}$/, "1-40 token characters"),
                ...(header.values ?? []).map((value: unknown) => (String(value).length <= 128 ? undefined : "header value over 128 characters")),
            ];
        }),
        ...tags(i),
    ],
    "aws:ec2/securityGroup:SecurityGroup": (i, r) => {
        const name = physicalName(i, r);
        return [
            EC2_TEXT.test(name) && name.length >= 1 ? undefined : `security group name ${name}: 1-255 of a-zA-Z0-9, space and ._-:/()#,@[]+=&;{}!$*`,
            name.startsWith("sg-") ? `security group name ${name} begins with sg-` : undefined,
            matches("security group description", i.description, EC2_TEXT, "0-255 of a-zA-Z0-9, space and ._-:/()#,@[]+=&;{}!$*"),
        ];
    },
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": (i) => [matches("rule description", i.description, EC2_TEXT, "0-255 of a-zA-Z0-9, space and ._-:/()#,@[]+=&;{}!$*")],
    "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule": (i) => [matches("rule description", i.description, EC2_TEXT, "0-255 of a-zA-Z0-9, space and ._-:/()#,@[]+=&;{}!$*")],
    "aws:rds/instance:Instance": (i) => [
        ...rdsIdentifier("instance identifier", i.identifier, 63),
        ...rdsIdentifier("final snapshot identifier", i.finalSnapshotIdentifier, 255),
        matches("database name", i.dbName, /^[A-Za-z][A-Za-z0-9_]{0,62}$/, "1-63 letters, digits and underscores, a letter first"),
        within("allocated storage", i.allocatedStorage, 20, 65536),
        i.maxAllocatedStorage === undefined || i.maxAllocatedStorage === 0 || i.maxAllocatedStorage * 10 >= i.allocatedStorage * 11
            ? undefined
            : `max allocated storage ${i.maxAllocatedStorage} is not at least 10% above ${i.allocatedStorage} (RDS storage autoscaling)`,
        within("max allocated storage", i.maxAllocatedStorage, 0, 65536),
        within("backup retention", i.backupRetentionPeriod, 0, 35),
        within("port", i.port, 1150, 65535),
        ...tags(i),
    ],
    "aws:rds/snapshot:Snapshot": (i) => [...rdsIdentifier("snapshot identifier", i.dbSnapshotIdentifier, 255), ...tags(i)],
    "aws:backup/vault:Vault": (i) => [matches("backup vault name", i.name, /^[a-zA-Z0-9\-_]{2,50}$/, "2-50 of a-zA-Z0-9-_")],
    "aws:backup/plan:Plan": (i) => [
        matches("backup plan name", i.name, /^[a-zA-Z0-9\-_.]{1,50}$/, "1-50 of a-zA-Z0-9-_."),
        ...(i.rules ?? []).flatMap((rule: Inputs) => [
            matches("backup rule name", rule.ruleName, /^[a-zA-Z0-9\-_.]{1,50}$/, "1-50 of a-zA-Z0-9-_."),
            backupCron(rule.schedule),
            rule.startWindow === undefined || rule.startWindow >= 60 ? undefined : "start window under 60 minutes",
            rule.lifecycle?.deleteAfter === undefined || rule.lifecycle.deleteAfter >= 1 ? undefined : "deleteAfter under 1 day",
            ...Object.entries(rule.recoveryPointTags ?? {}).map(([key, value]) => (String(value).length <= 256 && key.length <= 128 ? undefined : `recovery point tag ${key} too long`)),
        ]),
    ],
    "aws:backup/selection:Selection": (i) => [matches("backup selection name", i.name, /^[a-zA-Z0-9\-_.]{1,50}$/, "1-50 of a-zA-Z0-9-_.")],
    "aws:sns/topic:Topic": (i, r) => [matches("topic name", physicalName(i, r), /^[A-Za-z0-9_-]{1,256}$/, "1-256 of A-Za-z0-9_-")],
    "aws:cloudwatch/logGroup:LogGroup": (i, r) => [
        matches("log group name", physicalName(i, r), /^[.\-_/#A-Za-z0-9]{1,512}$/, "1-512 of .-_/#A-Za-z0-9"),
        i.retentionInDays === undefined || [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653].includes(i.retentionInDays)
            ? undefined
            : `retention ${i.retentionInDays} is not a CloudWatch Logs retention`,
    ],
    "aws:cloudwatch/metricAlarm:MetricAlarm": (i, r) => [
        matches("alarm name", physicalName(i, r), /^[^\u0000-\u001f]{1,255}$/, "1-255 characters"),
        i.datapointsToAlarm === undefined || i.datapointsToAlarm <= i.evaluationPeriods ? undefined : "datapointsToAlarm above evaluationPeriods",
        (i.alarmActions ?? []).length <= 5 ? undefined : "more than 5 alarm actions",
        ...tags(i),
    ],
    "aws:cloudwatch/compositeAlarm:CompositeAlarm": (i) => [matches("alarm name", i.alarmName, /^[^\u0000-\u001f]{1,255}$/, "1-255 characters"), String(i.alarmRule ?? "").length <= 10240 ? undefined : "alarm rule over 10240 characters", ...tags(i)],
    "aws:ecs/taskDefinition:TaskDefinition": (i) => {
        const containers = JSON.parse(String(i.containerDefinitions ?? "[]")) as Inputs[];
        return [
            matches("family", i.family, /^[A-Za-z0-9_-]{1,255}$/, "1-255 of A-Za-z0-9_-"),
            i.cpu === undefined || fargateMemory(Number(i.cpu)).includes(Number(i.memory)) ? undefined : `cpu ${i.cpu} with memory ${i.memory} is not a Fargate size`,
            ...containers.flatMap((container) => [
                matches("container name", container.name, /^[A-Za-z0-9_-]{1,255}$/, "1-255 of A-Za-z0-9_-"),
                ...(container.secrets ?? []).map((secret: Inputs) => matches(`secret ${secret.name} valueFrom`, secret.valueFrom, SECRET_VALUE_FROM, "a Secrets Manager or SSM parameter ARN")),
            ]),
            ...tags(i),
        ];
    },
    "aws:ecs/service:Service": (i, r) => [matches("service name", physicalName(i, r), /^[A-Za-z0-9_-]{1,255}$/, "1-255 of A-Za-z0-9_-"), ...tags(i)],
    "aws:ecs/cluster:Cluster": (i, r) => [matches("cluster name", physicalName(i, r), /^[A-Za-z0-9_-]{1,255}$/, "1-255 of A-Za-z0-9_-"), ...tags(i)],
    "aws:iam/role:Role": (i, r) => [
        matches("role name", physicalName(i, r), /^[\w+=,.@-]{1,64}$/, "1-64 of [\\w+=,.@-]"),
        matches("role description", i.description, /^[\u0009\u000A\u000D\u0020-\u007E\u00A1-\u00FF]{0,1000}$/, "at most 1000 printable Latin-1 characters"),
    ],
    "aws:iam/rolePolicy:RolePolicy": (i, r) => [matches("role policy name", physicalName(i, r), /^[\w+=,.@-]{1,128}$/, "1-128 of [\\w+=,.@-]")],
    "aws:dynamodb/table:Table": (i, r) => [matches("table name", physicalName(i, r), /^[a-zA-Z0-9_.-]{3,255}$/, "3-255 of a-zA-Z0-9_.-"), ...tags(i)],
    "aws:kms/key:Key": (i) => [String(i.description ?? "").length <= 8192 ? undefined : "key description over 8192 characters", within("deletion window", i.deletionWindowInDays, 7, 30)],
    "aws:secretsmanager/secret:Secret": (i, r) => [matches("secret name", physicalName(i, r), /^[A-Za-z0-9/_+=.@-]{1,512}$/, "1-512 of A-Za-z0-9/_+=.@-"), ...tags(i)],
    "aws:s3/bucket:Bucket": (i, r) => [
        matches("bucket name", physicalName(i, r, "bucket", "bucketPrefix"), /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, "3-63 lowercase letters, digits, dots and hyphens"),
    ],
    "aws:rds/parameterGroup:ParameterGroup": (i, r) => [...rdsIdentifier("parameter group name", physicalName(i, r), 255)],
    "aws:rds/subnetGroup:SubnetGroup": (i, r) => [matches("subnet group name", physicalName(i, r), /^[0-9a-z_ .-]{1,255}$/, "lowercase letters, digits, _ . - and spaces"), ...tags(i)],
};

/** Every violation of AWS's constraints among the resources, one line each: `<type> <name>: <problem>`. */
export function violations(resources: readonly CapturedResource[], context: ConstraintContext): string[] {
    const found: string[] = [];
    for (const resource of resources) {
        const check = CHECKS[resource.type];
        if (!check) continue;
        for (const problem of check(plain(resource.inputs), resource, context)) {
            if (problem) found.push(`${resource.type} ${resource.name}: ${problem}`);
        }
    }
    found.push(...ruleQuota(resources));
    return found;
}

/** Amazon VPC quotas: 60 inbound and 60 outbound rules per security group by default. */
function ruleQuota(resources: readonly CapturedResource[]): string[] {
    const counts = new Map<string, number>();
    for (const resource of resources) {
        const direction = resource.type === "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule" ? "inbound" : resource.type === "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule" ? "outbound" : undefined;
        if (!direction) continue;
        const key = `${String(plain(resource.inputs).securityGroupId)} ${direction}`;
        counts.set(key, (counts.get(key) ?? 0) + 1);
    }
    return [...counts].filter(([, count]) => count > 60).map(([key, count]) => `security group ${key} has ${count} rules; the default quota is 60`);
}

/** The resource types the table covers, so a test can assert the program's resources are checked. */
export const CHECKED_TYPES = Object.keys(CHECKS);
