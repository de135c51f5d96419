// AWS's own limits on the values shiftwise sends it, each with its source: names, enumerations, ranges and charsets.

/**
 * What AWS and the AWS provider accept, written from the API references and
 * the Terraform provider's validators (which pulumi-aws runs). The schema
 * (schema.ts) and the cross-key rules (crossRules.ts) check config values
 * against these, so a config the validator accepts never fails in `pulumi up`.
 */

/**
 * Pulumi's auto-naming appends `-` and 7 random hex characters to a logical
 * name when `name` is not set (pulumi-aws `provider/resources.go`,
 * `tfbridge.AutoNameWithCustomOptions` with `Randlen: 7`; the engine's
 * `resource.NewUniqueHex` refuses a prefix that leaves no room for them).
 */
export const AUTONAME_SUFFIX_LENGTH = 1 + 7;

/** A physical name AWS must accept: its limit, its charset and the reason. */
export interface NameLimit {
    /** What the name is, for messages: "target group name". */
    readonly what: string;
    readonly maxLength: number;
    /** The whole name must match this. */
    readonly pattern: RegExp;
    /** The rule in words, for messages. */
    readonly rule: string;
    /** Prefixes AWS reserves. */
    readonly reservedPrefixes?: readonly string[];
}

/**
 * ELBv2 load balancer names: at most 32 characters, alphanumerics and
 * hyphens, not starting or ending with a hyphen, not starting with
 * `internal-` (CreateLoadBalancer `Name`; terraform-provider-aws
 * internal/service/elbv2/validate.go `validName`).
 */
export const LOAD_BALANCER_NAME: NameLimit = {
    what: "load balancer name",
    maxLength: 32,
    pattern: /^[0-9A-Za-z](?:[0-9A-Za-z-]*[0-9A-Za-z])?$/,
    rule: "at most 32 letters, digits and hyphens, not starting or ending with a hyphen",
    reservedPrefixes: ["internal-"],
};

/** ELBv2 target group names: as load balancers, without the reserved prefix (validate.go `validTargetGroupName`). */
export const TARGET_GROUP_NAME: NameLimit = {
    what: "target group name",
    maxLength: 32,
    pattern: /^[0-9A-Za-z](?:[0-9A-Za-z-]*[0-9A-Za-z])?$/,
    rule: "at most 32 letters, digits and hyphens, not starting or ending with a hyphen",
};

/**
 * EC2 security group names and descriptions: up to 255 characters of
 * `a-zA-Z0-9`, space and `._-:/()#,@[]+=&;{}!$*`; names may not start with
 * `sg-` (EC2 API reference, CreateSecurityGroup `GroupName`/`GroupDescription`;
 * the same charset applies to rule descriptions, IpRange `Description`).
 */
export const EC2_DESCRIPTION_CHARS = /^[a-zA-Z0-9 ._\-:/()#,@[\]+=&;{}!$*]*$/;
export const SECURITY_GROUP_NAME: NameLimit = {
    what: "security group name",
    maxLength: 255,
    pattern: /^[a-zA-Z0-9 ._\-:/()#,@[\]+=&;{}!$*]{1,255}$/,
    rule: "at most 255 characters of a-zA-Z0-9, space and ._-:/()#,@[]+=&;{}!$*",
    reservedPrefixes: ["sg-"],
};

/**
 * RDS DB instance and snapshot identifiers: lowercase letters, digits and
 * hyphens, a letter first, no two hyphens in a row, no hyphen last; instances
 * at most 63 characters, snapshots 255 (RDS API reference,
 * CreateDBInstance `DBInstanceIdentifier`, CreateDBSnapshot
 * `DBSnapshotIdentifier`; terraform-provider-aws internal/service/rds/validate.go `validIdentifier`).
 */
const RDS_IDENTIFIER = /^[a-z](?:-?[a-z0-9])*$/;
export const RDS_INSTANCE_IDENTIFIER: NameLimit = {
    what: "RDS instance identifier",
    maxLength: 63,
    pattern: RDS_IDENTIFIER,
    rule: "at most 63 lowercase letters, digits and single hyphens, a letter first and no hyphen last",
};
export const RDS_SNAPSHOT_IDENTIFIER: NameLimit = { ...RDS_INSTANCE_IDENTIFIER, what: "RDS snapshot identifier", maxLength: 255, rule: RDS_INSTANCE_IDENTIFIER.rule.replace("63", "255") };

/**
 * RDS DB parameter group names: 1 to 255 lowercase letters, digits and
 * hyphens, a letter first, no two hyphens in a row, no hyphen last (RDS API
 * reference, CreateDBParameterGroup `DBParameterGroupName`;
 * terraform-provider-aws internal/service/rds/validate.go `validParamGroupName`).
 */
export const RDS_PARAMETER_GROUP_NAME: NameLimit = { ...RDS_INSTANCE_IDENTIFIER, what: "RDS parameter group name", maxLength: 255, rule: RDS_INSTANCE_IDENTIFIER.rule.replace("63", "255") };

/** AWS Backup vault names: `^[a-zA-Z0-9\-\_]{2,50}$` (AWS Backup API reference, CreateBackupVault `BackupVaultName`). */
export const BACKUP_VAULT_NAME: NameLimit = {
    what: "AWS Backup vault name",
    maxLength: 50,
    pattern: /^[a-zA-Z0-9_-]{2,50}$/,
    rule: "2 to 50 letters, digits, hyphens and underscores",
};

/** AWS Backup plan and selection names: `^[a-zA-Z0-9\-\_\.]{1,50}$` (AWS Backup API reference, BackupPlanInput `BackupPlanName`, BackupSelection `SelectionName`). */
export const BACKUP_PLAN_NAME: NameLimit = {
    what: "AWS Backup plan name",
    maxLength: 50,
    pattern: /^[a-zA-Z0-9_.-]{1,50}$/,
    rule: "at most 50 letters, digits, hyphens, underscores and dots",
};
export const BACKUP_SELECTION_NAME: NameLimit = { ...BACKUP_PLAN_NAME, what: "AWS Backup selection name" };

/** SNS topic names: up to 256 alphanumerics, hyphens and underscores (SNS API reference, CreateTopic `Name`). */
export const SNS_TOPIC_NAME: NameLimit = {
    what: "SNS topic name",
    maxLength: 256,
    pattern: /^[A-Za-z0-9_-]{1,256}$/,
    rule: "at most 256 letters, digits, hyphens and underscores",
};

/** CloudWatch Logs group names: 1 to 512 characters of `[\.\-_/#A-Za-z0-9]` (CloudWatch Logs API reference, CreateLogGroup `logGroupName`). */
export const LOG_GROUP_NAME: NameLimit = {
    what: "CloudWatch log group name",
    maxLength: 512,
    pattern: /^[.\-_/#A-Za-z0-9]{1,512}$/,
    rule: "at most 512 letters, digits and . - _ / #",
};

/** IAM role names: up to 64 characters of `[\w+=,.@-]` (IAM API reference, CreateRole `RoleName`). */
export const IAM_ROLE_NAME: NameLimit = {
    what: "IAM role name",
    maxLength: 64,
    pattern: /^[\w+=,.@-]{1,64}$/,
    rule: "at most 64 letters, digits and _+=,.@-",
};

/** CloudWatch alarm names: 1 to 255 characters (CloudWatch API reference, PutMetricAlarm/PutCompositeAlarm `AlarmName`). */
export const ALARM_NAME: NameLimit = {
    what: "CloudWatch alarm name",
    maxLength: 255,
    pattern: /^[^\u0000-\u001f\u007f]{1,255}$/,
    rule: "1 to 255 characters without control characters",
};

/** ECS task definition families and container names: up to 255 letters, digits, underscores and hyphens (ECS API reference, RegisterTaskDefinition `family`, ContainerDefinition `name`). */
export const ECS_FAMILY: NameLimit = {
    what: "ECS task definition family",
    maxLength: 255,
    pattern: /^[A-Za-z0-9_-]{1,255}$/,
    rule: "at most 255 letters, digits, underscores and hyphens",
};

/**
 * Kubernetes Job names. A Job name is a DNS subdomain, but the Job controller
 * copies it into its pods' `batch.kubernetes.io/job-name` and `job-name`
 * labels, whose values are at most 63 characters, so a Job name must be a
 * DNS-1123 label of at most 63 (Kubernetes docs, "Jobs", Writing a Job spec:
 * "the name must be no longer than 63 characters"; "Object Names and IDs",
 * RFC 1123 label names). Not an AWS name, but the same kind of rule.
 */
export const KUBERNETES_JOB_NAME: NameLimit = {
    what: "Kubernetes Job name",
    maxLength: 63,
    pattern: /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/,
    rule: "at most 63 lowercase letters, digits and hyphens, starting and ending with a letter or digit (a DNS-1123 label)",
};

/** DynamoDB table names: 3 to 255 characters of `[a-zA-Z0-9_.-]` (DynamoDB API reference, CreateTable `TableName`). */
export const DYNAMODB_TABLE_NAME: NameLimit = {
    what: "DynamoDB table name",
    maxLength: 255,
    pattern: /^[a-zA-Z0-9_.-]{3,255}$/,
    rule: "3 to 255 letters, digits and _ . -",
};

/** Lambda function names (plain names): 1 to 64 letters, digits, hyphens and underscores (Lambda API reference, CreateFunction `FunctionName`). */
export const LAMBDA_FUNCTION_NAME: NameLimit = {
    what: "Lambda function name",
    maxLength: 64,
    pattern: /^[a-zA-Z0-9_-]{1,64}$/,
    rule: "at most 64 letters, digits, hyphens and underscores",
};

/** EventBridge rule names: 1 to 64 characters of `[\.\-_A-Za-z0-9]` (EventBridge API reference, PutRule `Name`). */
export const EVENT_RULE_NAME: NameLimit = {
    what: "EventBridge rule name",
    maxLength: 64,
    pattern: /^[.\-_A-Za-z0-9]{1,64}$/,
    rule: "at most 64 letters, digits and . - _",
};

/** The problems of one physical name against its limit, each a sentence fragment: "is 35 characters; the limit is 32". */
export function nameProblems(name: string, limit: NameLimit): string[] {
    const problems: string[] = [];
    if (name.length > limit.maxLength) problems.push(`is ${name.length} characters, over the limit of ${limit.maxLength}`);
    else if (!limit.pattern.test(name)) problems.push(`breaks the rule: ${limit.rule}`);
    for (const prefix of limit.reservedPrefixes ?? []) {
        if (name.startsWith(prefix)) problems.push(`starts with "${prefix}", which AWS reserves`);
    }
    return problems;
}

/**
 * Tag values: up to 256 Unicode letters, digits, spaces and `+ - = . _ : / @`
 * (Tagging AWS resources, "Tag naming limits and requirements"; ECS TagResource
 * and RDS AddTagsToResource enforce it). Versions and release labels are tag values.
 */
export const TAG_VALUE = /^[\p{L}\p{N} +\-=._:/@]{0,256}$/u;

/**
 * The TLS 1.3 security policies an Application Load Balancer offers: a fixed
 * list, not a pattern (Elastic Load Balancing, Application Load Balancers,
 * "Security policies for your Application Load Balancer", TLS 1.3, FIPS and
 * post-quantum tables). A name that only looks like one fails CreateListener
 * with SSLPolicyNotFound.
 */
export const ALB_TLS13_POLICIES = [
    "ELBSecurityPolicy-TLS13-1-2-2021-06",
    "ELBSecurityPolicy-TLS13-1-2-Res-2021-06",
    "ELBSecurityPolicy-TLS13-1-2-Ext1-2021-06",
    "ELBSecurityPolicy-TLS13-1-2-Ext2-2021-06",
    "ELBSecurityPolicy-TLS13-1-1-2021-06",
    "ELBSecurityPolicy-TLS13-1-0-2021-06",
    "ELBSecurityPolicy-TLS13-1-3-2021-06",
    "ELBSecurityPolicy-TLS13-1-3-FIPS-2023-04",
    "ELBSecurityPolicy-TLS13-1-2-Res-FIPS-2023-04",
    "ELBSecurityPolicy-TLS13-1-2-FIPS-2023-04",
    "ELBSecurityPolicy-TLS13-1-2-Ext0-FIPS-2023-04",
    "ELBSecurityPolicy-TLS13-1-2-Ext1-FIPS-2023-04",
    "ELBSecurityPolicy-TLS13-1-2-Ext2-FIPS-2023-04",
    "ELBSecurityPolicy-TLS13-1-1-FIPS-2023-04",
    "ELBSecurityPolicy-TLS13-1-0-FIPS-2023-04",
    "ELBSecurityPolicy-TLS13-1-2-PQ-2025-09",
    "ELBSecurityPolicy-TLS13-1-2-Res-PQ-2025-09",
    "ELBSecurityPolicy-TLS13-1-2-Ext1-PQ-2025-09",
    "ELBSecurityPolicy-TLS13-1-2-Ext2-PQ-2025-09",
    "ELBSecurityPolicy-TLS13-1-3-PQ-2025-09",
    "ELBSecurityPolicy-TLS13-1-2-FIPS-PQ-2025-09",
    "ELBSecurityPolicy-TLS13-1-2-Res-FIPS-PQ-2025-09",
    "ELBSecurityPolicy-TLS13-1-2-Ext0-FIPS-PQ-2025-09",
    "ELBSecurityPolicy-TLS13-1-2-Ext1-FIPS-PQ-2025-09",
    "ELBSecurityPolicy-TLS13-1-2-Ext2-FIPS-PQ-2025-09",
    "ELBSecurityPolicy-TLS13-1-3-FIPS-PQ-2025-09",
] as const;

/**
 * The problem with an ALB health check matcher, or undefined: codes from 200
 * to 499, single, comma-separated or as a low-high range (ELBv2 API reference,
 * Matcher `HttpCode`: "For Application Load Balancers, you can specify values
 * between 200 and 499").
 */
export function matcherProblem(matcher: string): string | undefined {
    for (const part of matcher.split(",")) {
        const [low, high = low] = part.split("-").map(Number);
        if (low < 200 || high > 499) return `code ${part} is outside 200-499, the codes an ALB health check accepts`;
        if (low > high) return `range ${part} runs backwards; write it low-high`;
    }
    return undefined;
}

/**
 * RDS storage autoscaling: the maximum storage threshold must be at least 10%
 * above the allocated storage (RDS User Guide, "Managing capacity
 * automatically with Amazon RDS storage autoscaling": with 1000 GiB allocated,
 * set it to 1100 GiB or more, else "Invalid max storage size").
 */
export function minimumMaxStorage(allocatedGb: number): number {
    return Math.ceil((allocatedGb * 11) / 10);
}

/**
 * The problem with an AWS Backup schedule, or undefined. AWS Backup takes a
 * six-field `cron(minutes hours day-of-month month day-of-week year)` in UTC
 * (EventBridge cron syntax: one of day-of-month and day-of-week must be `?`),
 * and runs a rule at most once an hour, so the minutes field is one number
 * (AWS Backup Developer Guide, "Backup frequency": "the minimum frequency is
 * one hour"; BackupRuleInput `ScheduleExpression`).
 */
export function backupScheduleProblem(schedule: string): string | undefined {
    const match = /^cron\((.*)\)$/.exec(schedule);
    if (!match) return "must be cron(minutes hours day-of-month month day-of-week year)";
    const fields = match[1].trim().split(/\s+/);
    if (fields.length !== 6) return `has ${fields.length} fields; AWS Backup cron takes 6: minutes hours day-of-month month day-of-week year`;
    const [minutes, hours, dayOfMonth, month, dayOfWeek, year] = fields;
    if (!/^([0-9]|[1-5][0-9])$/.test(minutes)) return `minutes field "${minutes}" must be one number from 0 to 59; AWS Backup runs a rule at most once an hour`;
    const checks: [string, string, RegExp][] = [
        ["hours", hours, cronField("(?:[01]?[0-9]|2[0-3])")],
        ["day-of-month", dayOfMonth, cronField("(?:[1-9]|[12][0-9]|3[01])", "|\\?|L|W|(?:[1-9]|[12][0-9]|3[01])W")],
        ["month", month, cronField("(?:[1-9]|1[0-2]|JAN|FEB|MAR|APR|MAY|JUN|JUL|AUG|SEP|OCT|NOV|DEC)")],
        ["day-of-week", dayOfWeek, cronField("(?:[1-7]|SUN|MON|TUE|WED|THU|FRI|SAT)", "|\\?|L|[1-7]L|[1-7]#[1-5]")],
        ["year", year, cronField("(?:19[7-9][0-9]|2[01][0-9][0-9])")],
    ];
    for (const [name, value, pattern] of checks) {
        if (!pattern.test(value)) return `${name} field "${value}" is not valid cron syntax`;
    }
    if ((dayOfMonth === "?") === (dayOfWeek === "?")) return "exactly one of day-of-month and day-of-week must be ?";
    return undefined;
}

/** One cron field: `*`, a value, a range, a step, or a comma list of those (EventBridge, "Cron expressions"). */
function cronField(value: string, extra = ""): RegExp {
    const item = `(?:\\*|${value}(?:-${value})?)(?:/[0-9]+)?`;
    return new RegExp(`^(?:${item}(?:,${item})*${extra})$`);
}

/**
 * Security group rules per direction: 60 inbound and 60 outbound by default
 * (Amazon VPC User Guide, "Amazon VPC quotas", "Inbound or outbound rules per
 * security group"). The quota can be raised, so this is the default.
 */
export const SECURITY_GROUP_RULES_PER_DIRECTION = 60;

/** AWS region names: `eu-west-1`, `us-gov-west-1`, `ap-southeast-5` (AWS General Reference, "Regional endpoints"). */
export const REGION_NAME = /^[a-z]{2}(?:-[a-z]+)+-\d+$/;

/** ACM certificate ARNs: `arn:<partition>:acm:<region>:<account>:certificate/<id>` (ACM API reference, CertificateArn). */
export const ACM_CERTIFICATE_ARN = /^arn:aws[a-z-]*:acm:([a-z]{2}(?:-[a-z]+)+-\d+):\d{12}:certificate\/[0-9a-f-]{36}$/;

/** The region an ACM certificate ARN names, or undefined. */
export function certificateRegion(arn: string): string | undefined {
    return ACM_CERTIFICATE_ARN.exec(arn)?.[1];
}

/**
 * What ECS accepts in a container's `secrets[].valueFrom`: a Secrets Manager
 * secret ARN, optionally with `:<json-key>:<version-stage>:<version-id>`, or
 * an SSM Parameter Store parameter ARN (ECS Developer Guide, "Pass sensitive
 * data to an Amazon ECS container"; Secrets Manager secret names are
 * `[A-Za-z0-9/_+=.@-]`, SSM parameter names `[A-Za-z0-9/_.-]`).
 */
export const SECRET_REFERENCE =
    /^(?:arn:aws[a-z-]*:secretsmanager:[a-z]{2}(?:-[a-z]+)+-\d+:\d{12}:secret:[A-Za-z0-9/_+=.@-]+(?::[^:]*:[^:]*:[^:]*)?|arn:aws[a-z-]*:ssm:[a-z]{2}(?:-[a-z]+)+-\d+:\d{12}:parameter\/[A-Za-z0-9/_.-]+)$/;
export const SECRET_REFERENCE_RULE =
    "must be a Secrets Manager secret ARN (arn:aws:secretsmanager:<region>:<account>:secret:<name>, optionally :<json-key>:<stage>:<id>) or an SSM parameter ARN (arn:aws:ssm:<region>:<account>:parameter/<name>); ECS reads secrets only from these two services";

/** KMS key ARNs (KMS Developer Guide, "Key identifiers"): IAM policies grant kms:Decrypt by key ARN. */
export const KMS_KEY_ARN = /^arn:aws[a-z-]*:kms:[a-z]{2}(?:-[a-z]+)+-\d+:\d{12}:key\/[0-9a-f-]{36}$/;
