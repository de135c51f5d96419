// One colour's CloudWatch alarms, judged against the other colour, and its composite rollback alarm.
import * as cloudwatch from "@pulumi/aws/cloudwatch";
import * as pulumi from "@pulumi/pulumi";
import type { ExpectedTargetsMetric } from "./colourTarget";

/** The thresholds a colour is judged by. */
export interface AlarmThresholds {
    /** 5xx percent of the colour's requests that rolls back. @default 1 */
    readonly maxErrorRatePercent?: number;
    /** How many times the baseline colour's error rate is tolerated. @default 2 */
    readonly maxErrorRateVsBaseline?: number;
    /** Error percent the baseline comparison always allows, so a 0% baseline does not turn one error into an alarm. @default 0.5 */
    readonly baselineFloorPercent?: number;
    /** Latency in milliseconds at `latencyPercentile` that rolls back. @default 800 */
    readonly maxLatencyMs?: number;
    /** The latency statistic. @default "p99" */
    readonly latencyPercentile?: string;
    /** Requests per period a colour must serve before its error rates count. @default 50 */
    readonly minRequests?: number;
    /** Load-balancer-generated 5xx per period that rolls back. @default 10 */
    readonly maxElb5xxCount?: number;
    /** Periods each alarm looks at. @default 3 */
    readonly evaluationPeriods?: number;
    /** Breaching periods among them that raise the alarm. @default 2 */
    readonly datapointsToAlarm?: number;
}

export interface DeploymentAlarmsArgs {
    /** Service name, e.g. `shop`. */
    readonly serviceName: string;
    /** The stack, e.g. `production`. Alarm names carry it so that two stacks in one account never share an alarm. */
    readonly stackName: string;
    /** The colour judged, e.g. `green`. */
    readonly colour: string;
    /** The colour that serves as the baseline, e.g. `blue`. */
    readonly baselineColour: string;
    /** `arnSuffix` of the load balancer (`app/<name>/<id>`). */
    readonly loadBalancerArnSuffix: pulumi.Input<string>;
    /** `arnSuffix` of the judged colour's target group. */
    readonly targetGroupArnSuffix: pulumi.Input<string>;
    /** `arnSuffix` of the baseline colour's target group. */
    readonly baselineTargetGroupArnSuffix: pulumi.Input<string>;
    /**
     * Where the number of targets the colour should have comes from: a live
     * platform metric (the ECS service's `DesiredTaskCount`, or the Kubernetes
     * Service's running pods), never the config.
     */
    readonly expectedTargets: ExpectedTargetsMetric;
    /** SNS topic that receives every ALARM and OK transition. */
    readonly topicArn: pulumi.Input<string>;
    readonly thresholds?: AlarmThresholds;
    /** Tags for every alarm. @default {} */
    readonly tags?: Record<string, string>;
}

/** Every alarm is evaluated per minute. */
export const ALARM_PERIOD_SECONDS = 60;
const NAMESPACE = "AWS/ApplicationELB";

/**
 * The release gates of one colour: CloudWatch alarms on its target group's
 * error rate (absolute and against the other colour), latency and health, the
 * load balancer's own 5xx, and one composite `<service>-<stack>-<colour>-rollback`
 * alarm that is in ALARM when any of them is. The driver and people watch
 * only the composite. No alarm depends on the traffic weights, so a weight
 * step leaves every alarm untouched.
 */
export class DeploymentAlarms extends pulumi.ComponentResource {
    public readonly errorRate: cloudwatch.MetricAlarm;
    public readonly errorRateVsBaseline: cloudwatch.MetricAlarm;
    public readonly latency: cloudwatch.MetricAlarm;
    public readonly unhealthyHosts: cloudwatch.MetricAlarm;
    public readonly healthyHosts: cloudwatch.MetricAlarm;
    public readonly elb5xx: cloudwatch.MetricAlarm;
    /** The single alarm a rollback is decided on. */
    public readonly rollback: cloudwatch.CompositeAlarm;
    public readonly rollbackAlarmName: pulumi.Output<string>;

    constructor(name: string, args: DeploymentAlarmsArgs, opts?: pulumi.ComponentResourceOptions) {
        super("shiftwise:safety:DeploymentAlarms", name, {}, opts);
        const parent = { parent: this };
        const t = resolveThresholds(args.thresholds);
        const prefix = `${args.serviceName}-${args.stackName}-${args.colour}`;
        const tags = { ...args.tags, "shiftwise:colour": args.colour };
        const colourDimensions = { LoadBalancer: args.loadBalancerArnSuffix, TargetGroup: args.targetGroupArnSuffix };
        const baselineDimensions = { LoadBalancer: args.loadBalancerArnSuffix, TargetGroup: args.baselineTargetGroupArnSuffix };
        // Metric-math alarms carry the period on each metric query; single-metric alarms add it at the top.
        const metricQueryCommon = {
            evaluationPeriods: t.evaluationPeriods,
            datapointsToAlarm: t.datapointsToAlarm,
            actionsEnabled: true,
            alarmActions: [args.topicArn],
            okActions: [args.topicArn],
            tags,
        };
        const common = { ...metricQueryCommon, period: ALARM_PERIOD_SECONDS };
        const metric = (id: string, metricName: string, stat: string, dimensions: Record<string, pulumi.Input<string>>, namespace = NAMESPACE) => ({
            id,
            returnData: false,
            metric: { namespace, metricName, stat, period: ALARM_PERIOD_SECONDS, dimensions },
        });
        const expression = (id: string, text: string, label: string, returnData = false) => ({ id, expression: text, label, returnData });

        this.errorRate = new cloudwatch.MetricAlarm(`${name}-error-rate`, {
            ...metricQueryCommon,
            name: `${prefix}-error-rate`,
            alarmDescription: `${args.colour}: target 5xx above ${t.maxErrorRatePercent}% of requests, once it served at least ${t.minRequests} requests a minute`,
            comparisonOperator: "GreaterThanThreshold",
            threshold: t.maxErrorRatePercent,
            metricQueries: [
                metric("errors", "HTTPCode_Target_5XX_Count", "Sum", colourDimensions),
                metric("requests", "RequestCount", "Sum", colourDimensions),
                // The request guard: below minRequests the rate reads 0, so 1 failure in 3 requests cannot roll a release back.
                expression("rate", ratePercent("errors", "requests", t.minRequests), "5xx percent (guarded)", true),
            ],
            // A minute without requests is no evidence of errors; an idle colour must read OK, not INSUFFICIENT_DATA.
            treatMissingData: "notBreaching",
        }, parent);

        this.errorRateVsBaseline = new cloudwatch.MetricAlarm(`${name}-error-rate-vs-baseline`, {
            ...metricQueryCommon,
            name: `${prefix}-error-rate-vs-baseline`,
            alarmDescription:
                `${args.colour}: 5xx rate above ${t.maxErrorRateVsBaseline} x ${args.baselineColour}'s rate (never below ${t.baselineFloorPercent}%), ` +
                `when both colours served at least ${t.minRequests} requests a minute`,
            comparisonOperator: "GreaterThanThreshold",
            threshold: 0,
            metricQueries: [
                metric("errors", "HTTPCode_Target_5XX_Count", "Sum", colourDimensions),
                metric("requests", "RequestCount", "Sum", colourDimensions),
                metric("baselineErrors", "HTTPCode_Target_5XX_Count", "Sum", baselineDimensions),
                metric("baselineRequests", "RequestCount", "Sum", baselineDimensions),
                expression("rate", ratePercent("errors", "requests", 1), `${args.colour} 5xx percent`),
                expression("baselineRate", ratePercent("baselineErrors", "baselineRequests", 1), `${args.baselineColour} 5xx percent`),
                // The floor keeps a 0% baseline from turning a single error into an alarm.
                expression(
                    "allowed",
                    `IF(${t.maxErrorRateVsBaseline} * baselineRate > ${t.baselineFloorPercent}, ${t.maxErrorRateVsBaseline} * baselineRate, ${t.baselineFloorPercent})`,
                    "allowed 5xx percent",
                ),
                // Judged only when both colours have enough requests: with an idle baseline (e.g. at 100%) there is
                // nothing to compare against, and the absolute error-rate alarm stays in charge.
                expression(
                    "excess",
                    `IF(FILL(requests, 0) >= ${t.minRequests} AND FILL(baselineRequests, 0) >= ${t.minRequests}, rate - allowed, 0)`,
                    "5xx percent above the allowed baseline",
                    true,
                ),
            ],
            // No requests on either side means no comparison; that must not hold the colour in ALARM or INSUFFICIENT_DATA.
            treatMissingData: "notBreaching",
        }, parent);

        this.latency = new cloudwatch.MetricAlarm(`${name}-latency`, {
            ...common,
            name: `${prefix}-latency`,
            alarmDescription: `${args.colour}: ${t.latencyPercentile} target response time above ${t.maxLatencyMs} ms`,
            namespace: NAMESPACE,
            metricName: "TargetResponseTime",
            extendedStatistic: t.latencyPercentile,
            dimensions: colourDimensions,
            comparisonOperator: "GreaterThanThreshold",
            // TargetResponseTime is reported in seconds.
            threshold: t.maxLatencyMs / 1000,
            // A percentile over a handful of requests is noise: keep the alarm's state until there are enough samples.
            evaluateLowSampleCountPercentiles: "ignore",
            // No requests means no latency datapoint; an idle colour is not slow.
            treatMissingData: "notBreaching",
        }, parent);

        this.unhealthyHosts = new cloudwatch.MetricAlarm(`${name}-unhealthy-hosts`, {
            ...common,
            name: `${prefix}-unhealthy-hosts`,
            alarmDescription: `${args.colour}: at least one target failed its health checks`,
            namespace: NAMESPACE,
            metricName: "UnHealthyHostCount",
            statistic: "Maximum",
            dimensions: colourDimensions,
            comparisonOperator: "GreaterThanThreshold",
            threshold: 0,
            // The ALB reports host counts every minute while targets are registered; no data means no targets, so none unhealthy.
            treatMissingData: "notBreaching",
        }, parent);

        // Healthy hosts are compared with a live count from the platform (the ECS service's DesiredTaskCount, or the
        // Kubernetes Service's running pods, both from Container Insights) rather than the configured count, and only
        // in minutes in which the colour served requests. That keeps this alarm free of both the weights (invariant 1:
        // a step changes only the listener) and the desired count (invariant 2: a count change touches only the
        // workload), while a colour at weight 0 that serves no requests is never judged. Test-listener smoke requests
        // do count, which is deliberate: a smoke-tested colour must be whole.
        const expected = args.expectedTargets;
        this.healthyHosts = new cloudwatch.MetricAlarm(`${name}-healthy-hosts`, {
            ...metricQueryCommon,
            name: `${prefix}-healthy-hosts`,
            alarmDescription: `${args.colour}: fewer healthy targets than ${expected.description} while it serves requests`,
            comparisonOperator: "GreaterThanThreshold",
            threshold: 0,
            metricQueries: [
                metric("healthy", "HealthyHostCount", "Minimum", colourDimensions),
                metric("requests", "RequestCount", "Sum", colourDimensions),
                metric("desired", expected.metricName, expected.stat, expected.dimensions, expected.namespace),
                expression("shortfall", "IF(FILL(requests, 0) > 0, FILL(desired, 0) - FILL(healthy, 0), 0)", "expected targets minus healthy targets while serving", true),
            ],
            // Missing data means the colour served nothing and the platform reported nothing: there is nothing to judge.
            treatMissingData: "notBreaching",
        }, parent);

        this.elb5xx = new cloudwatch.MetricAlarm(`${name}-elb-5xx`, {
            ...common,
            name: `${prefix}-elb-5xx`,
            alarmDescription: `load balancer: more than ${t.maxElb5xxCount} ELB-generated 5xx a minute (502/503/504 are often the targets' doing)`,
            namespace: NAMESPACE,
            metricName: "HTTPCode_ELB_5XX_Count",
            statistic: "Sum",
            // This metric has no TargetGroup dimension, so each colour's composite watches the whole load balancer.
            dimensions: { LoadBalancer: args.loadBalancerArnSuffix },
            comparisonOperator: "GreaterThanThreshold",
            threshold: t.maxElb5xxCount,
            // The ALB publishes count metrics only when they are non-zero: a missing minute had no ELB 5xx.
            treatMissingData: "notBreaching",
        }, parent);

        const members = [this.errorRate, this.errorRateVsBaseline, this.latency, this.unhealthyHosts, this.healthyHosts, this.elb5xx];
        // Built from the alarms' outputs, so the composite is created after them (AWS rejects a rule naming a missing alarm).
        const rule = pulumi.all(members.map((alarm) => alarm.name)).apply((names) => names.map((alarmName) => `ALARM("${alarmName}")`).join(" OR "));
        // The name carries the stack: PutCompositeAlarm overwrites a same-named alarm without warning.
        this.rollback = new cloudwatch.CompositeAlarm(`${name}-rollback`, {
            alarmName: `${prefix}-rollback`,
            alarmDescription: `Roll ${args.serviceName} ${args.stackName} back off ${args.colour}: one of its deployment alarms is in ALARM`,
            alarmRule: rule,
            actionsEnabled: true,
            alarmActions: [args.topicArn],
            okActions: [args.topicArn],
            tags,
        }, parent);
        this.rollbackAlarmName = this.rollback.alarmName;

        this.registerOutputs({
            errorRate: this.errorRate,
            errorRateVsBaseline: this.errorRateVsBaseline,
            latency: this.latency,
            unhealthyHosts: this.unhealthyHosts,
            healthyHosts: this.healthyHosts,
            elb5xx: this.elb5xx,
            rollback: this.rollback,
            rollbackAlarmName: this.rollbackAlarmName,
        });
    }
}

/**
 * Metric math for a 5xx percentage that reads 0 below `minRequests` requests
 * in the period. `minRequests` is at least 1, so the division never sees 0.
 */
export function ratePercent(errorsId: string, requestsId: string, minRequests: number): string {
    return `IF(FILL(${requestsId}, 0) >= ${minRequests}, 100 * FILL(${errorsId}, 0) / FILL(${requestsId}, 0), 0)`;
}

/** The thresholds with their defaults filled in. */
export function resolveThresholds(thresholds: AlarmThresholds = {}): Required<AlarmThresholds> {
    return {
        maxErrorRatePercent: thresholds.maxErrorRatePercent ?? 1,
        maxErrorRateVsBaseline: thresholds.maxErrorRateVsBaseline ?? 2,
        baselineFloorPercent: thresholds.baselineFloorPercent ?? 0.5,
        maxLatencyMs: thresholds.maxLatencyMs ?? 800,
        latencyPercentile: thresholds.latencyPercentile ?? "p99",
        minRequests: thresholds.minRequests ?? 50,
        maxElb5xxCount: thresholds.maxElb5xxCount ?? 10,
        evaluationPeriods: thresholds.evaluationPeriods ?? 3,
        datapointsToAlarm: thresholds.datapointsToAlarm ?? 2,
    };
}
