// Offline diffs of two evaluated resource graphs, with the provider's replace-on-change fields.
import { isDeepStrictEqual } from "util";
import type { CapturedResource } from "./mockRuntime";

/** What the engine would do to one resource. */
export type ResourceOp = "create" | "update" | "replace" | "delete" | "same";

/** One resource's change between two graphs. */
export interface ResourceChange {
    readonly urn: string;
    readonly type: string;
    readonly op: ResourceOp;
    /** Top-level input keys whose values differ (for update and replace). */
    readonly changedKeys: readonly string[];
}

/**
 * Input properties that AWS cannot change in place, per resource type: a
 * change to any of them makes the engine replace the resource. `"*"` means
 * every input (ECS task definitions are immutable revisions). This mirrors the
 * provider schema's `forceNew` flags for the types shiftwise creates.
 */
export const REPLACE_ON_CHANGE: Readonly<Record<string, readonly string[]>> = {
    "aws:ecs/taskDefinition:TaskDefinition": ["*"],
    "aws:lb/targetGroup:TargetGroup": ["name", "namePrefix", "port", "protocol", "protocolVersion", "targetType", "vpcId"],
    "aws:lb/loadBalancer:LoadBalancer": ["name", "namePrefix", "internal", "loadBalancerType"],
    "aws:ec2/securityGroup:SecurityGroup": ["name", "namePrefix", "description", "vpcId"],
    "aws:ec2/subnet:Subnet": ["vpcId", "cidrBlock", "availabilityZone"],
    "aws:ec2/vpc:Vpc": ["cidrBlock"],
    "aws:ecs/service:Service": ["name", "cluster", "launchType"],
    "aws:cloudwatch/logGroup:LogGroup": ["name", "namePrefix"],
    "aws:rds/instance:Instance": ["identifier", "engine", "dbName", "kmsKeyId", "storageEncrypted", "availabilityZone", "username"],
    "aws:rds/snapshot:Snapshot": ["dbInstanceIdentifier", "dbSnapshotIdentifier"],
    "aws:sns/topic:Topic": ["name", "namePrefix", "fifoTopic"],
    "aws:cloudwatch/metricAlarm:MetricAlarm": ["name"],
    "aws:cloudwatch/compositeAlarm:CompositeAlarm": ["alarmName"],
    "aws:backup/vault:Vault": ["name", "kmsKeyArn"],
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": ["securityGroupId"],
    "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule": ["securityGroupId"],
    "aws:lb/listenerRule:ListenerRule": ["listenerArn"],
    "aws:lb/listener:Listener": ["loadBalancerArn"],
};

/** Compares two captured graphs by URN, the way the engine plans an update from the old state to the new program. */
export function diffGraphs(before: readonly CapturedResource[], after: readonly CapturedResource[]): ResourceChange[] {
    const previous = new Map(before.map((resource) => [resource.urn, resource]));
    const changes: ResourceChange[] = [];
    for (const resource of after) {
        const old = previous.get(resource.urn);
        previous.delete(resource.urn);
        if (!old) {
            changes.push({ urn: resource.urn, type: resource.type, op: "create", changedKeys: [] });
            continue;
        }
        const changedKeys = changedInputKeys(old.inputs, resource.inputs);
        if (changedKeys.length === 0) {
            changes.push({ urn: resource.urn, type: resource.type, op: "same", changedKeys });
            continue;
        }
        const replaceKeys = REPLACE_ON_CHANGE[resource.type] ?? [];
        const replaces = replaceKeys.includes("*") || changedKeys.some((key) => replaceKeys.includes(key) || resource.options.replaceOnChanges.includes(key));
        changes.push({ urn: resource.urn, type: resource.type, op: replaces ? "replace" : "update", changedKeys });
    }
    for (const removed of previous.values()) {
        changes.push({ urn: removed.urn, type: removed.type, op: "delete", changedKeys: [] });
    }
    return changes;
}

/** The top-level input keys whose values differ. */
export function changedInputKeys(before: Record<string, unknown>, after: Record<string, unknown>): string[] {
    const keys = new Set([...Object.keys(before), ...Object.keys(after)]);
    return [...keys].filter((key) => !isDeepStrictEqual(before[key], after[key])).sort();
}

/** Only the changes that do something. */
export function effectiveChanges(changes: readonly ResourceChange[]): ResourceChange[] {
    return changes.filter((change) => change.op !== "same");
}
