// Tests of each colour's deployment alarms on the real program graph.
import * as assert from "assert";
import { diffGraphs, effectiveChanges } from "../evaluation/graphDiff";
import { CapturedResource, ConfigMap, ProgramEvaluation, ofType, one, stackConfig, withFields, evaluate } from "./harness";

const METRIC_ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm";
const COMPOSITE_ALARM = "aws:cloudwatch/compositeAlarm:CompositeAlarm";
const DEPLOYMENT_ALARMS = "shiftwise:safety:DeploymentAlarms";
const ALARM_KINDS = ["error-rate", "error-rate-vs-baseline", "latency", "unhealthy-hosts", "healthy-hosts", "elb-5xx"];

function alarm(evaluation: ProgramEvaluation, colour: string, kind: string): CapturedResource {
    return one(evaluation, METRIC_ALARM, `shop-${colour}-alarms-${kind}`);
}

function arnSuffixes(evaluation: ProgramEvaluation) {
    return {
        loadBalancer: one(evaluation, "aws:lb/loadBalancer:LoadBalancer", "shop").state.arnSuffix as string,
        blue: one(evaluation, "aws:lb/targetGroup:TargetGroup", "shop-blue").state.arnSuffix as string,
        green: one(evaluation, "aws:lb/targetGroup:TargetGroup", "shop-green").state.arnSuffix as string,
    };
}

const metric = (id: string, metricName: string, stat: string, dimensions: Record<string, string>, namespace = "AWS/ApplicationELB") => ({
    id,
    returnData: false,
    metric: { dimensions, metricName, namespace, period: 60, stat },
});

for (const stack of ["staging", "production"]) {
    describe(`deployment alarms (${stack})`, () => {
        let config: ConfigMap;
        let evaluation: ProgramEvaluation;
        let topicArn: string;

        before(async () => {
            config = stackConfig(stack);
            evaluation = await evaluate(config, stack);
            topicArn = one(evaluation, "aws:sns/topic:Topic").state.arn as string;
        });

        it("creates one DeploymentAlarms per colour, always both, each with six alarms and one composite", () => {
            const components = ofType(evaluation, DEPLOYMENT_ALARMS);
            assert.deepStrictEqual(components.map((c) => c.name).sort(), ["shop-blue-alarms", "shop-green-alarms"]);
            for (const component of components) {
                const children = evaluation.resources.filter((r) => r.parent === component.urn);
                assert.strictEqual(children.filter((r) => r.type === METRIC_ALARM).length, 6);
                assert.strictEqual(children.filter((r) => r.type === COMPOSITE_ALARM).length, 1);
                assert.strictEqual(children.length, 7);
            }
        });

        it("names every alarm after service, stack and colour, so two stacks in one account never collide", () => {
            for (const colour of ["blue", "green"]) {
                for (const kind of ALARM_KINDS) assert.strictEqual(alarm(evaluation, colour, kind).inputs.name, `shop-${stack}-${colour}-${kind}`);
                assert.strictEqual(one(evaluation, COMPOSITE_ALARM, `shop-${colour}-alarms-rollback`).inputs.alarmName, `shop-${stack}-${colour}-rollback`);
            }
            assert.deepStrictEqual(evaluation.outputs.rollbackAlarms, { blue: `shop-${stack}-blue-rollback`, green: `shop-${stack}-green-rollback` });
        });

        it("judges each colour's 5xx rate with the request guard, on its own target group", () => {
            const alarms = JSON.parse(config["shiftwise:alarms"]);
            const suffix = arnSuffixes(evaluation);
            for (const [colour, baseline] of [["blue", "green"], ["green", "blue"]] as const) {
                const errorRate = alarm(evaluation, colour, "error-rate").inputs;
                const own = { LoadBalancer: suffix.loadBalancer, TargetGroup: suffix[colour] };
                assert.deepStrictEqual(errorRate.metricQueries, [
                    metric("errors", "HTTPCode_Target_5XX_Count", "Sum", own),
                    metric("requests", "RequestCount", "Sum", own),
                    {
                        id: "rate",
                        expression: "IF(FILL(requests, 0) >= 50, 100 * FILL(errors, 0) / FILL(requests, 0), 0)",
                        label: "5xx percent (guarded)",
                        returnData: true,
                    },
                ]);
                assert.strictEqual(errorRate.threshold, alarms.maxErrorRatePercent);
                assert.strictEqual(errorRate.comparisonOperator, "GreaterThanThreshold");
                assert.strictEqual(errorRate.period, undefined, "metric-math alarms carry the period per metric");

                const vsBaseline = alarm(evaluation, colour, "error-rate-vs-baseline").inputs;
                const other = { LoadBalancer: suffix.loadBalancer, TargetGroup: suffix[baseline] };
                assert.deepStrictEqual(vsBaseline.metricQueries, [
                    metric("errors", "HTTPCode_Target_5XX_Count", "Sum", own),
                    metric("requests", "RequestCount", "Sum", own),
                    metric("baselineErrors", "HTTPCode_Target_5XX_Count", "Sum", other),
                    metric("baselineRequests", "RequestCount", "Sum", other),
                    { id: "rate", expression: "IF(FILL(requests, 0) >= 1, 100 * FILL(errors, 0) / FILL(requests, 0), 0)", label: `${colour} 5xx percent`, returnData: false },
                    {
                        id: "baselineRate",
                        expression: "IF(FILL(baselineRequests, 0) >= 1, 100 * FILL(baselineErrors, 0) / FILL(baselineRequests, 0), 0)",
                        label: `${baseline} 5xx percent`,
                        returnData: false,
                    },
                    {
                        id: "allowed",
                        expression: `IF(${alarms.maxErrorRateVsBaseline} * baselineRate > 0.5, ${alarms.maxErrorRateVsBaseline} * baselineRate, 0.5)`,
                        label: "allowed 5xx percent",
                        returnData: false,
                    },
                    {
                        id: "excess",
                        expression: "IF(FILL(requests, 0) >= 50 AND FILL(baselineRequests, 0) >= 50, rate - allowed, 0)",
                        label: "5xx percent above the allowed baseline",
                        returnData: true,
                    },
                ]);
                assert.strictEqual(vsBaseline.threshold, 0);
            }
        });

        it("watches latency at the configured percentile in seconds, and the host counts", () => {
            const alarms = JSON.parse(config["shiftwise:alarms"]);
            const suffix = arnSuffixes(evaluation);
            const cluster = one(evaluation, "aws:ecs/cluster:Cluster").state.name as string;
            for (const colour of ["blue", "green"] as const) {
                const own = { LoadBalancer: suffix.loadBalancer, TargetGroup: suffix[colour] };
                const latency = alarm(evaluation, colour, "latency").inputs;
                assert.deepStrictEqual(
                    [latency.namespace, latency.metricName, latency.extendedStatistic, latency.statistic, latency.dimensions, latency.threshold, latency.evaluateLowSampleCountPercentiles],
                    ["AWS/ApplicationELB", "TargetResponseTime", "p99", undefined, own, alarms.maxP99LatencyMs / 1000, "ignore"],
                );
                const unhealthy = alarm(evaluation, colour, "unhealthy-hosts").inputs;
                assert.deepStrictEqual(
                    [unhealthy.metricName, unhealthy.statistic, unhealthy.dimensions, unhealthy.comparisonOperator, unhealthy.threshold],
                    ["UnHealthyHostCount", "Maximum", own, "GreaterThanThreshold", 0],
                );
                const healthy = alarm(evaluation, colour, "healthy-hosts").inputs;
                const service = one(evaluation, "aws:ecs/service:Service", `shop-${colour}`).state.name as string;
                assert.deepStrictEqual(healthy.metricQueries, [
                    metric("healthy", "HealthyHostCount", "Minimum", own),
                    metric("requests", "RequestCount", "Sum", own),
                    metric("desired", "DesiredTaskCount", "Maximum", { ClusterName: cluster, ServiceName: service }, "ECS/ContainerInsights"),
                    {
                        id: "shortfall",
                        expression: "IF(FILL(requests, 0) > 0, FILL(desired, 0) - FILL(healthy, 0), 0)",
                        label: "expected targets minus healthy targets while serving",
                        returnData: true,
                    },
                ]);
                const elb = alarm(evaluation, colour, "elb-5xx").inputs;
                assert.deepStrictEqual(
                    [elb.metricName, elb.statistic, elb.dimensions, elb.threshold],
                    ["HTTPCode_ELB_5XX_Count", "Sum", { LoadBalancer: suffix.loadBalancer }, 10],
                );
            }
        });

        it("gives every alarm a 60 s period, the configured evaluation window, a deliberate treatMissingData and actions to the topic", () => {
            const alarms = JSON.parse(config["shiftwise:alarms"]);
            const metricAlarms = ofType(evaluation, METRIC_ALARM);
            assert.strictEqual(metricAlarms.length, 12);
            for (const { inputs } of metricAlarms) {
                const periods = inputs.metricQueries
                    ? (inputs.metricQueries as { metric?: { period: number } }[]).filter((q) => q.metric).map((q) => q.metric!.period)
                    : [inputs.period];
                assert.ok(periods.length > 0 && periods.every((period) => period === 60), `${inputs.name}: ${periods}`);
                assert.strictEqual(inputs.evaluationPeriods, alarms.evaluationPeriods ?? 3);
                assert.strictEqual(inputs.datapointsToAlarm, alarms.datapointsToAlarm ?? 2);
                assert.strictEqual(inputs.treatMissingData, "notBreaching", String(inputs.name));
                assert.strictEqual(inputs.actionsEnabled, true);
                assert.deepStrictEqual(inputs.alarmActions, [topicArn]);
                assert.deepStrictEqual(inputs.okActions, [topicArn]);
            }
            for (const { inputs } of ofType(evaluation, COMPOSITE_ALARM)) {
                assert.strictEqual(inputs.actionsEnabled, true);
                assert.deepStrictEqual(inputs.alarmActions, [topicArn]);
                assert.deepStrictEqual(inputs.okActions, [topicArn]);
            }
        });

        it("puts every alarm of a colour, and only those, into its composite rollback alarm", () => {
            for (const colour of ["blue", "green"]) {
                const composite = one(evaluation, COMPOSITE_ALARM, `shop-${colour}-alarms-rollback`);
                const named = [...String(composite.inputs.alarmRule).matchAll(/ALARM\("([^"]+)"\)/g)].map((m) => m[1]);
                assert.deepStrictEqual(named.sort(), ALARM_KINDS.map((kind) => `shop-${stack}-${colour}-${kind}`).sort());
                assert.match(String(composite.inputs.alarmRule), /^ALARM\("[^"]+"\)( OR ALARM\("[^"]+"\))+$/);
                // The composite is created after the alarms it names.
                for (const kind of ALARM_KINDS) assert.ok(composite.options.dependencies.includes(alarm(evaluation, colour, kind).urn));
            }
        });

        it("encrypts the topic with its own rotated key that CloudWatch may use", () => {
            const topic = one(evaluation, "aws:sns/topic:Topic");
            const key = one(evaluation, "aws:kms/key:Key", "shop-notify");
            assert.strictEqual(topic.inputs.name, `shop-${stack}-deployments`);
            assert.strictEqual(topic.inputs.kmsMasterKeyId, key.state.arn);
            assert.strictEqual(key.inputs.enableKeyRotation, true);
            const statements = JSON.parse(String(key.inputs.policy)).Statement;
            assert.deepStrictEqual(statements.find((s: { Sid: string }) => s.Sid === "CloudWatchPublishes").Principal, { Service: "cloudwatch.amazonaws.com" });
            assert.strictEqual(evaluation.outputs.notificationTopicArn, topicArn);
        });

        it("a traffic-only change updates exactly the forwarding listener and no alarm", async () => {
            for (const traffic of [{ blue: 50, green: 50 }, { blue: 0, green: 100 }]) {
                const after = await evaluate(withFields(config, "traffic", traffic), stack);
                const changes = effectiveChanges(diffGraphs(evaluation.resources, after.resources));
                assert.deepStrictEqual(
                    changes.map((c) => [c.type, c.op, c.changedKeys]),
                    [["aws:lb/listener:Listener", "update", ["defaultActions"]]],
                );
                assert.strictEqual(changes[0].urn, one(evaluation, "aws:lb/listener:Listener", "shop").urn);
            }
        });

        it("a desired-count change leaves every alarm unchanged (the healthy-host alarm reads ECS's live desired count)", async () => {
            const after = await evaluate(withFields(config, "green", { desiredCount: 5 }), stack);
            const changes = effectiveChanges(diffGraphs(evaluation.resources, after.resources));
            assert.deepStrictEqual(changes.map((c) => [c.type, c.op]), [["aws:ecs/service:Service", "update"]]);
        });
    });
}

describe("deployment alarms follow the config", () => {
    it("takes every threshold and the notification endpoints from shiftwise:alarms", async () => {
        const config = withFields(stackConfig("staging"), "alarms", {
            maxErrorRatePercent: 3,
            maxErrorRateVsBaseline: 4,
            baselineFloorPercent: 1.5,
            maxP99LatencyMs: 250,
            latencyPercentile: "p99.9",
            minRequests: 120,
            maxElb5xxCount: 7,
            evaluationPeriods: 5,
            datapointsToAlarm: 4,
            notify: { emails: ["oncall@example.com"], httpsEndpoints: ["https://hooks.example.com/shiftwise"] },
        });
        const evaluation = await evaluate(config, "staging");
        const inputs = (kind: string) => alarm(evaluation, "green", kind).inputs;
        const expression = (kind: string, id: string) => (inputs(kind).metricQueries as { id: string; expression: string }[]).find((q) => q.id === id)!.expression;
        assert.strictEqual(inputs("error-rate").threshold, 3);
        assert.strictEqual(expression("error-rate", "rate"), "IF(FILL(requests, 0) >= 120, 100 * FILL(errors, 0) / FILL(requests, 0), 0)");
        assert.strictEqual(expression("error-rate-vs-baseline", "allowed"), "IF(4 * baselineRate > 1.5, 4 * baselineRate, 1.5)");
        assert.strictEqual(expression("error-rate-vs-baseline", "excess"), "IF(FILL(requests, 0) >= 120 AND FILL(baselineRequests, 0) >= 120, rate - allowed, 0)");
        assert.deepStrictEqual([inputs("latency").extendedStatistic, inputs("latency").threshold], ["p99.9", 0.25]);
        assert.strictEqual(inputs("elb-5xx").threshold, 7);
        assert.deepStrictEqual([inputs("healthy-hosts").evaluationPeriods, inputs("healthy-hosts").datapointsToAlarm], [5, 4]);

        const topicArn = one(evaluation, "aws:sns/topic:Topic").state.arn;
        const subscriptions = ofType(evaluation, "aws:sns/topicSubscription:TopicSubscription").map((s) => [s.inputs.protocol, s.inputs.endpoint, s.inputs.topic]);
        assert.deepStrictEqual(subscriptions.sort(), [
            ["email", "oncall@example.com", topicArn],
            ["https", "https://hooks.example.com/shiftwise", topicArn],
        ]);
    });
});
