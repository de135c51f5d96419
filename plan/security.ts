// The plan's secure-by-default section: logs, keys, containers, database monitoring and WAF, with notes where one is missing.
import type { CapturedResource, ProgramEvaluation } from "../evaluation/mockRuntime";
import type { StackPlan } from "./stackPlan";

type Inputs = Record<string, any>;

function ofType(evaluation: ProgramEvaluation, type: string): CapturedResource[] {
    return evaluation.resources.filter((resource) => resource.type === type);
}

/** One line of the secure-by-default section: a fact about the stack, or a note on what it lacks. */
export interface SecurityFinding {
    /** True when this marks something the stack does not have (printed as `note:`). */
    readonly note: boolean;
    /** The finding, starting with its topic: `access logs: s3://…`. */
    readonly text: string;
}

const fact = (text: string): SecurityFinding => ({ note: false, text });
const note = (text: string): SecurityFinding => ({ note: true, text });

/**
 * What a security review asks first, read from the evaluated graph: where the
 * access and flow logs go, which key encrypts the logs, how the containers
 * run, how the database is monitored, and whether a web ACL guards the public
 * load balancer. A note marks what the stack does not have.
 */
export function securityFindings(plan: Pick<StackPlan, "evaluation">): SecurityFinding[] {
    const { evaluation } = plan;
    return [...accessLogLines(evaluation), ...flowLogLines(evaluation), ...logGroupLines(evaluation), ...containerLines(evaluation), ...databaseLines(evaluation), ...wafLines(evaluation)];
}

/** The secure-by-default section as text: one line per finding, `note:` before what the stack lacks. */
export function renderSecurity(plan: Pick<StackPlan, "evaluation" | "config">): string {
    return ["Secure by default", ...securityFindings(plan).map((finding) => `  ${finding.note ? "note: " : ""}${finding.text}`)].join("\n");
}

function accessLogLines(evaluation: ProgramEvaluation): SecurityFinding[] {
    return ofType(evaluation, "aws:lb/loadBalancer:LoadBalancer").map((loadBalancer) => {
        const logs = loadBalancer.inputs.accessLogs as Inputs | undefined;
        if (!logs?.enabled) return note(`load balancer ${loadBalancer.name} writes no access logs`);
        const bucket = ofType(evaluation, "aws:s3/bucket:Bucket").find((b) => b.state.bucket === logs.bucket);
        const lifecycle = ofType(evaluation, "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration")[0];
        const days = (lifecycle?.inputs.rules as Inputs[] | undefined)?.[0]?.expiration?.days;
        const owner = bucket
            ? `the stack's bucket (SSE-S3, public access blocked, TLS only, expires after ${days} days${bucket.options.retainOnDelete ? ", kept when the stack is destroyed" : ""})`
            : "an existing bucket; its policy and lifecycle are yours";
        return fact(`access logs: s3://${logs.bucket}/${logs.prefix ? `${logs.prefix}/` : ""}AWSLogs/ in ${owner}`);
    });
}

function flowLogLines(evaluation: ProgramEvaluation): SecurityFinding[] {
    const flowLogs = ofType(evaluation, "aws:ec2/flowLog:FlowLog");
    if (ofType(evaluation, "aws:ec2/vpc:Vpc").length === 0) return [fact("flow logs: the VPC is adopted, not created here; its flow logs are managed where it is")];
    if (flowLogs.length === 0) return [note("the stack's VPC has no flow logs")];
    return flowLogs.map((flowLog) => {
        if (flowLog.inputs.logDestinationType === "s3") return fact(`flow logs: ${flowLog.inputs.trafficType} traffic to ${flowLog.inputs.logDestination}`);
        const group = ofType(evaluation, "aws:cloudwatch/logGroup:LogGroup").find((g) => g.state.arn === flowLog.inputs.logDestination);
        return fact(`flow logs: ${flowLog.inputs.trafficType} traffic to CloudWatch Logs ${group?.inputs.name ?? flowLog.inputs.logDestination}, ${group?.inputs.retentionInDays} days`);
    });
}

function logGroupLines(evaluation: ProgramEvaluation): SecurityFinding[] {
    const groups = ofType(evaluation, "aws:cloudwatch/logGroup:LogGroup");
    const plain = groups.filter((group) => !group.inputs.kmsKeyId);
    const keys = ofType(evaluation, "aws:kms/key:Key");
    const rotating = keys.filter((key) => key.inputs.enableKeyRotation).length;
    return [
        fact(`log groups: ${groups.length - plain.length} of ${groups.length} encrypted with a customer-managed key; ${rotating} of ${keys.length} KMS keys rotate yearly`),
        ...plain.map((group) => note(`log group ${group.inputs.name} is not encrypted with a customer-managed key`)),
    ];
}

function containerLines(evaluation: ProgramEvaluation): SecurityFinding[] {
    return ofType(evaluation, "aws:ecs/taskDefinition:TaskDefinition").flatMap((task) => {
        // A definition that carries a secret is recorded as { __secret }; its hardening fields are not secret.
        const definitions = task.inputs.containerDefinitions as unknown;
        const text = definitions && typeof definitions === "object" && "__secret" in definitions ? (definitions as { __secret: unknown }).__secret : definitions;
        const containers = JSON.parse(String(text ?? "[]")) as Inputs[];
        return containers.map((container) => {
            const root = container.readonlyRootFilesystem ? "read-only root" : "WRITABLE root (opted out)";
            const scratch = (container.mountPoints as Inputs[] | undefined)?.map((mount) => mount.containerPath).join(", ");
            return fact(`container ${task.inputs.family}/${container.name}: ${root}${scratch ? `, scratch ${scratch}` : ""}, ${container.privileged ? "PRIVILEGED" : "unprivileged"}, user ${container.user ?? "from the image"}`);
        });
    });
}

function databaseLines(evaluation: ProgramEvaluation): SecurityFinding[] {
    return ofType(evaluation, "aws:rds/instance:Instance").flatMap((db) => {
        const i = db.inputs as Inputs;
        const insights = i.performanceInsightsEnabled
            ? `Performance Insights ${i.performanceInsightsRetentionPeriod} days (customer-managed key)`
            : `Performance Insights off`;
        const parameters = ofType(evaluation, "aws:rds/parameterGroup:ParameterGroup").find((group) => group.state.name === i.parameterGroupName);
        const forced = ((parameters?.inputs.parameters ?? []) as Inputs[]).some((p) => p.name === "rds.force_ssl" && String(p.value) === "1");
        const lines: SecurityFinding[] = [
            fact(`database ${i.identifier}: ${insights}, Enhanced Monitoring every ${i.monitoringInterval} s, CA ${i.caCertIdentifier}, ${forced ? "TLS required (rds.force_ssl=1)" : "TLS not required"}, logs exported: ${(i.enabledCloudwatchLogsExports ?? []).join(", ")}`),
        ];
        if (!i.performanceInsightsEnabled) lines.push(note(`RDS offers no Performance Insights for ${i.engine} on ${i.instanceClass}; choose a larger class to have it`));
        return lines;
    });
}

function wafLines(evaluation: ProgramEvaluation): SecurityFinding[] {
    const associations = ofType(evaluation, "aws:wafv2/webAclAssociation:WebAclAssociation");
    return ofType(evaluation, "aws:lb/loadBalancer:LoadBalancer").map((loadBalancer) => {
        const association = associations.find((a) => a.inputs.resourceArn === loadBalancer.state.arn);
        if (association) return fact(`web ACL: ${association.inputs.webAclArn}`);
        return loadBalancer.inputs.internal
            ? fact("web ACL: none (internal load balancer)")
            : note(`the internet-facing load balancer ${loadBalancer.name} has no web ACL; set shiftwise:service.webAclArn to an existing regional AWS WAF web ACL`);
    });
}
