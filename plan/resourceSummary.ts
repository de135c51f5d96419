// One line of key settings per resource for the plan.
import type { CapturedResource } from "../evaluation/mockRuntime";
import { revealSafe } from "../evaluation/mockRuntime";
import { TEST_HEADER } from "../components/weightedListener";

type Inputs = Record<string, any>;

/** One line of key settings per resource type; types without an entry print none. */
const SUMMARIES: Record<string, (inputs: Inputs) => string> = {
    "aws:ec2/vpc:Vpc": (i) => `cidr ${i.cidrBlock}`,
    "aws:ec2/subnet:Subnet": (i) => `${i.cidrBlock} in ${i.availabilityZone}`,
    "aws:ec2/natGateway:NatGateway": () => "NAT egress",
    "aws:lb/loadBalancer:LoadBalancer": (i) =>
        `${i.internal ? "internal" : "internet-facing"} ALB, dropInvalidHeaderFields ${i.dropInvalidHeaderFields}, deletionProtection ${i.enableDeletionProtection}`,
    "aws:lb/listener:Listener": (i) => `${i.protocol}:${i.port}${i.sslPolicy ? ` ${i.sslPolicy}` : ""} -> ${describeAction(i.defaultActions?.[0])}`,
    "aws:lb/listenerRule:ListenerRule": (i) =>
        `priority ${i.priority}: ${i.conditions?.map((c: Inputs) => (c.httpHeader ? `${c.httpHeader.httpHeaderName}: ${c.httpHeader.values.join("|")}` : JSON.stringify(c))).join(" and ")} -> ${describeAction(i.actions?.[0])}`,
    "aws:lb/targetGroup:TargetGroup": (i) =>
        `${i.protocol}:${i.port} ${i.targetType} targets, health ${i.healthCheck?.path} every ${i.healthCheck?.interval}s (${i.healthCheck?.matcher}), deregistration ${i.deregistrationDelay}s`,
    "aws:ecs/service:Service": (i) => `${i.desiredCount} task(s) on ${i.launchType}, circuit breaker ${i.deploymentCircuitBreaker?.enable ? "on" : "off"}`,
    "aws:ecs/taskDefinition:TaskDefinition": (i) => {
        const [container] = JSON.parse(String(i.containerDefinitions ?? "[]")) as Inputs[];
        return `${container?.image} cpu ${i.cpu} memory ${i.memory}, port ${container?.portMappings?.[0]?.containerPort}`;
    },
    "aws:ec2/securityGroup:SecurityGroup": (i) => i.description,
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": (i) => `in tcp ${i.fromPort} from ${i.cidrIpv4 ?? "security group " + shortId(i.referencedSecurityGroupId)}`,
    "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule": (i) =>
        `out ${i.ipProtocol === "-1" ? "all" : `tcp ${i.fromPort}`} to ${i.cidrIpv4 ?? "security group " + shortId(i.referencedSecurityGroupId)}`,
    "aws:cloudwatch/logGroup:LogGroup": (i) => `${i.name}, ${i.retentionInDays} days`,
    "aws:rds/instance:Instance": (i) =>
        `${i.identifier}: ${i.engine} ${i.engineVersion} on ${i.instanceClass}, encrypted ${i.storageEncrypted}, public ${i.publiclyAccessible}, multi-AZ ${i.multiAz}, deletionProtection ${i.deletionProtection}`,
    "aws:rds/snapshot:Snapshot": (i) => `${i.dbSnapshotIdentifier} of ${i.dbInstanceIdentifier}`,
    "aws:sns/topic:Topic": (i) => `${i.name}${i.kmsMasterKeyId ? ", KMS-encrypted" : ""}`,
    "aws:cloudwatch/metricAlarm:MetricAlarm": (i) => `${i.name}`,
    "aws:cloudwatch/compositeAlarm:CompositeAlarm": (i) => `${i.alarmName}`,
    "aws:backup/vault:Vault": (i) => `${i.name}`,
    "aws:backup/plan:Plan": (i) => `${i.name}`,
    "aws:ecs/cluster:Cluster": (i) => `containerInsights ${i.settings?.find((s: Inputs) => s.name === "containerInsights")?.value}`,
};

/** The secret wrapper's content, or the value itself. */
function opened(value: unknown): any {
    return value && typeof value === "object" && "__secret" in value ? (value as { __secret: unknown }).__secret : value;
}

/**
 * Inputs a secret turned wholly secret, opened for the one-line summary only
 * where the summary prints nothing secret: a task definition's summary prints
 * the image, CPU, memory and port, never the environment, so its container
 * definitions are opened; a test-listener rule keeps every header value but
 * the routing header's hidden.
 */
const OPEN_FOR_SUMMARY: Record<string, (inputs: Inputs) => Inputs> = {
    "aws:ecs/taskDefinition:TaskDefinition": (i) => ({ ...i, containerDefinitions: opened(i.containerDefinitions) }),
    "aws:lb/listenerRule:ListenerRule": (i) => {
        const conditions = i.conditions?.__secret as Inputs[] | undefined;
        if (!conditions) return i;
        return {
            ...i,
            conditions: conditions.map((c) => (c.httpHeader && c.httpHeader.httpHeaderName !== TEST_HEADER ? { httpHeader: { ...c.httpHeader, values: ["[secret]"] } } : c)),
        };
    },
};

function shortId(id: unknown): string {
    return String(id ?? "?");
}

function describeAction(action: Inputs | undefined): string {
    if (!action) return "nothing";
    switch (action.type) {
        case "forward":
            if (action.forward) {
                const groups = (action.forward.targetGroups as Inputs[]).map((g) => `${targetGroupName(g.arn)}=${g.weight}`).join(" ");
                const sticky = action.forward.stickiness;
                return `forward ${groups}, stickiness ${sticky?.enabled ? `${sticky.duration}s` : "off"}`;
            }
            return `forward ${targetGroupName(action.targetGroupArn)}`;
        case "redirect":
            return `redirect ${action.redirect.statusCode} to ${action.redirect.protocol}:${action.redirect.port}`;
        case "fixed-response":
            return `fixed ${action.fixedResponse.statusCode}`;
        default:
            return String(action.type);
    }
}

function targetGroupName(arn: unknown): string {
    const match = /targetgroup\/([^/]+)\//.exec(String(arn));
    return match ? match[1] : String(arn);
}

/** A resource's key settings on one line, secrets hidden. */
export function summariseResource(resource: CapturedResource): string {
    const summary = SUMMARIES[resource.type];
    if (!summary) return "";
    try {
        const open = OPEN_FOR_SUMMARY[resource.type];
        return summary(revealSafe(open ? open(resource.inputs) : resource.inputs) as Inputs);
    } catch {
        return "";
    }
}
