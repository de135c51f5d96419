// The AWS port on the AWS SDK v3 clients.
import { CloudWatchClient, DescribeAlarmsCommand, GetMetricStatisticsCommand } from "@aws-sdk/client-cloudwatch";
import { DescribeListenersCommand, DescribeTargetHealthCommand, ElasticLoadBalancingV2Client } from "@aws-sdk/client-elastic-load-balancing-v2";
import { EKSClient } from "@aws-sdk/client-eks";
import { EksClusterApi } from "./eksApi";
import type { AlarmState, AwsPort, TargetHealthSummary } from "./ports";

/** The SDK retry settings of every client: adaptive mode, 5 attempts (the standard mode's default is 3). */
export const RETRY_SETTINGS = { maxAttempts: 5, retryMode: "adaptive" } as const;

/**
 * The AWS port on AWS SDK v3. Credentials and region come from the default
 * provider chain (in CI: GitHub OIDC through
 * aws-actions/configure-aws-credentials). Read-only: the driver changes AWS
 * only through `pulumi up`.
 *
 * IAM actions it needs: cloudwatch:DescribeAlarms,
 * cloudwatch:GetMetricStatistics, elasticloadbalancing:DescribeListeners,
 * elasticloadbalancing:DescribeTargetHealth, and on Kubernetes stacks
 * eks:DescribeCluster plus an EKS access entry that may read CRDs.
 */
export class AwsSdkPort implements AwsPort {
    constructor(private readonly clients: { readonly cloudWatch: CloudWatchClient; readonly elb: ElasticLoadBalancingV2Client; readonly eks?: EksClusterApi }) {}

    /**
     * Clients for `region` with the default credential chain and the SDK's
     * adaptive retry mode (client-side rate limiting plus backoff on throttling
     * and transient errors, `RETRY_SETTINGS.maxAttempts` attempts per call).
     * The driver adds its own budget of consecutive failed polls on top.
     */
    static forRegion(region: string): AwsSdkPort {
        return new AwsSdkPort({
            cloudWatch: new CloudWatchClient({ region, ...RETRY_SETTINGS }),
            elb: new ElasticLoadBalancingV2Client({ region, ...RETRY_SETTINGS }),
            eks: new EksClusterApi(new EKSClient({ region, ...RETRY_SETTINGS })),
        });
    }

    async compositeAlarmState(alarmName: string): Promise<AlarmState | undefined> {
        const response = await this.clients.cloudWatch.send(new DescribeAlarmsCommand({ AlarmNames: [alarmName], AlarmTypes: ["CompositeAlarm"] }));
        const alarm = response.CompositeAlarms?.find((candidate) => candidate.AlarmName === alarmName);
        return alarm?.StateValue as AlarmState | undefined;
    }

    async targetHealth(targetGroupArn: string): Promise<TargetHealthSummary> {
        const response = await this.clients.elb.send(new DescribeTargetHealthCommand({ TargetGroupArn: targetGroupArn }));
        const byState: Record<string, number> = {};
        for (const description of response.TargetHealthDescriptions ?? []) {
            const state = description.TargetHealth?.State ?? "unknown";
            byState[state] = (byState[state] ?? 0) + 1;
        }
        return { healthy: byState.healthy ?? 0, total: response.TargetHealthDescriptions?.length ?? 0, byState };
    }

    async listenerWeights(listenerArn: string): Promise<Record<string, number>> {
        const response = await this.clients.elb.send(new DescribeListenersCommand({ ListenerArns: [listenerArn] }));
        const listener = response.Listeners?.find((candidate) => candidate.ListenerArn === listenerArn);
        if (!listener) throw new Error(`listener ${listenerArn} not found`);
        const forward = listener.DefaultActions?.find((action) => action.Type === "forward");
        if (!forward) throw new Error(`listener ${listenerArn} has no forward default action`);
        const weights: Record<string, number> = {};
        // A forward action names one target group directly or several, weighted, in ForwardConfig.
        if (forward.ForwardConfig?.TargetGroups?.length) {
            for (const group of forward.ForwardConfig.TargetGroups) {
                if (group.TargetGroupArn) weights[group.TargetGroupArn] = group.Weight ?? 1;
            }
        } else if (forward.TargetGroupArn) {
            weights[forward.TargetGroupArn] = 100;
        }
        return weights;
    }

    async listenerAction(listenerArn: string): Promise<string> {
        const response = await this.clients.elb.send(new DescribeListenersCommand({ ListenerArns: [listenerArn] }));
        const listener = response.Listeners?.find((candidate) => candidate.ListenerArn === listenerArn);
        if (!listener) throw new Error(`listener ${listenerArn} not found`);
        // ELB runs the default action of lowest Order first; a listener has exactly one terminal default action.
        const [first] = [...(listener.DefaultActions ?? [])].sort((a, b) => (a.Order ?? 0) - (b.Order ?? 0));
        if (!first?.Type) throw new Error(`listener ${listenerArn} has no default action`);
        return first.Type;
    }

    async requestCount(query: { loadBalancerArnSuffix: string; targetGroupArnSuffix: string; from: Date; to: Date }): Promise<number> {
        // CloudWatch rounds a 60 s period's start down to the minute, which would count requests
        // served before the step; start at the next whole minute instead so the count never overstates.
        const from = new Date(Math.ceil(query.from.getTime() / 60_000) * 60_000);
        if (query.to.getTime() <= from.getTime()) return 0;
        const response = await this.clients.cloudWatch.send(
            new GetMetricStatisticsCommand({
                Namespace: "AWS/ApplicationELB",
                MetricName: "RequestCount",
                Dimensions: [
                    { Name: "TargetGroup", Value: query.targetGroupArnSuffix },
                    { Name: "LoadBalancer", Value: query.loadBalancerArnSuffix },
                ],
                StartTime: from,
                EndTime: query.to,
                Period: 60,
                Statistics: ["Sum"],
            }),
        );
        return (response.Datapoints ?? []).reduce((sum, point) => sum + (point.Sum ?? 0), 0);
    }

    async customResourceDefinitionExists(clusterName: string, crdName: string): Promise<boolean> {
        if (!this.clients.eks) throw new Error("this AWS port has no EKS client; build it with AwsSdkPort.forRegion");
        return this.clients.eks.customResourceDefinitionExists(clusterName, crdName);
    }
}
