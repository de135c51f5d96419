// A fake AWS port on real SDK clients mocked with aws-sdk-client-mock.
import { CloudWatchClient, DescribeAlarmsCommand, GetMetricStatisticsCommand } from "@aws-sdk/client-cloudwatch";
import { DescribeListenersCommand, DescribeTargetHealthCommand, ElasticLoadBalancingV2Client } from "@aws-sdk/client-elastic-load-balancing-v2";
import { DescribeClusterCommand, EKSClient } from "@aws-sdk/client-eks";
import { mockClient } from "aws-sdk-client-mock";
import { AwsSdkPort } from "../../ports/awsSdk";
import { EksClusterApi, KubernetesGet } from "../../ports/eksApi";
import type { AlarmState } from "../../ports/ports";
import type { FakeStack } from "./fakeStack";

/**
 * AWS for the driver tests: the real `AwsSdkPort` on real SDK v3 clients whose
 * transport is replaced by aws-sdk-client-mock. The responses come from the
 * fake stack's deployed resource graph (the listener's forward weights as the
 * program set them) and from the scenario (alarm states, healthy targets,
 * traffic volume).
 */
export interface AwsScenario {
    /** Alarm name to state; a name not listed does not exist. */
    alarms: Record<string, AlarmState>;
    /** Healthy targets per colour; default: the deployed desiredCount. */
    healthy: Partial<Record<"blue" | "green", number>>;
    /** Requests per minute the whole service receives; the candidate gets its weight's share. */
    requestsPerMinute: number;
    /** Serve this listener state instead of the deployed one (traffic that did not move, or moved by hand). */
    staleWeights?: Record<string, number>;
    /** The listener was deleted by hand: DescribeListeners answers ListenerNotFound. */
    listenerDeleted?: boolean;
    /** How many of the next calls of each command fail with a ThrottlingException (then it answers again). */
    throttle: Partial<Record<"DescribeAlarmsCommand" | "DescribeListenersCommand" | "GetMetricStatisticsCommand" | "DescribeTargetHealthCommand", number>>;
    /** Kubernetes stacks: the EKS cluster serves the AWS Load Balancer Controller's CRDs. @default true */
    controllerInstalled?: boolean;
}

export interface FakeAws {
    readonly port: AwsSdkPort;
    readonly scenario: AwsScenario;
    /** SDK commands sent, by name. */
    commands(): string[];
}

/** The resource types a colour's targets come from. */
const WORKLOAD_TYPES = ["aws:ecs/service:Service", "kubernetes:apps/v1:Deployment"];

export function fakeAws(stack: FakeStack, scenario: Partial<AwsScenario> & Pick<AwsScenario, "alarms">): FakeAws {
    const full: AwsScenario = { healthy: {}, requestsPerMinute: 1000, throttle: {}, ...scenario };
    /** Throws the SDK's throttling error while the command's budget lasts. */
    const throttled = (command: keyof AwsScenario["throttle"]) => {
        const left = full.throttle[command] ?? 0;
        if (left <= 0) return;
        full.throttle[command] = left - 1;
        throw Object.assign(new Error("Rate exceeded"), { name: "ThrottlingException", $fault: "client", $metadata: { httpStatusCode: 400 } });
    };
    const cloudWatch = new CloudWatchClient({ region: "eu-west-1", credentials: { accessKeyId: "test", secretAccessKey: "test" } });
    const elb = new ElasticLoadBalancingV2Client({ region: "eu-west-1", credentials: { accessKeyId: "test", secretAccessKey: "test" } });
    const cw = mockClient(cloudWatch);
    const lb = mockClient(elb);

    const listener = async () => {
        const deployed = await stack.deployed();
        const resource = deployed.resources.find((r) => r.type === "aws:lb/listener:Listener" && r.state.arn === deployed.outputs.listenerArn)!;
        const action = (resource.inputs.defaultActions as { type?: string; forward?: { targetGroups: { arn: string; weight: number }[] } }[])[0];
        // Maintenance mode answers with a fixed response: the listener then forwards to no target group.
        return { arn: resource.state.arn as string, type: action.forward ? "forward" : (action.type ?? "fixed-response"), groups: action.forward?.targetGroups ?? [] };
    };
    const colourOf = async (field: "targetGroupArn" | "targetGroupArnSuffix", value: string) => {
        const outputs = (await stack.deployed()).outputs as Record<string, Record<string, unknown>>;
        return (["blue", "green"] as const).find((colour) => outputs[colour][field] === value);
    };

    cw.on(DescribeAlarmsCommand).callsFake(async (input) => {
        throttled("DescribeAlarmsCommand");
        const name = input.AlarmNames?.[0] ?? "";
        const state = full.alarms[name];
        return { CompositeAlarms: state ? [{ AlarmName: name, StateValue: state }] : [], MetricAlarms: [] };
    });
    cw.on(GetMetricStatisticsCommand).callsFake(async (input) => {
        throttled("GetMetricStatisticsCommand");
        const suffix = input.Dimensions?.find((d: { Name?: string }) => d.Name === "TargetGroup")?.Value ?? "";
        const colour = await colourOf("targetGroupArnSuffix", suffix);
        const { groups } = await listener();
        const outputs = (await stack.deployed()).outputs as Record<string, Record<string, unknown>>;
        const weight = groups.find((g) => colour && g.arn === outputs[colour].targetGroupArn)?.weight ?? 0;
        const minutes = Math.floor((input.EndTime!.getTime() - input.StartTime!.getTime()) / 60_000);
        const perMinute = Math.round((full.requestsPerMinute * weight) / 100);
        return { Datapoints: Array.from({ length: minutes }, (_, i) => ({ Sum: perMinute, Timestamp: new Date(input.StartTime!.getTime() + i * 60_000) })) };
    });
    lb.on(DescribeListenersCommand).callsFake(async (input) => {
        throttled("DescribeListenersCommand");
        const { arn, type, groups } = await listener();
        if (input.ListenerArns?.[0] !== arn) return { Listeners: [] };
        if (full.listenerDeleted) throw Object.assign(new Error("One or more listeners not found"), { name: "ListenerNotFoundException", $fault: "client", $metadata: { httpStatusCode: 400 } });
        const weights = full.staleWeights ?? Object.fromEntries(groups.map((g) => [g.arn, g.weight]));
        const action = type === "forward" || full.staleWeights ? { Type: "forward" as const, ForwardConfig: { TargetGroups: Object.entries(weights).map(([TargetGroupArn, Weight]) => ({ TargetGroupArn, Weight })) } } : { Type: type as "fixed-response" };
        return { Listeners: [{ ListenerArn: arn, DefaultActions: [action] }] };
    });
    lb.on(DescribeTargetHealthCommand).callsFake(async (input) => {
        throttled("DescribeTargetHealthCommand");
        const colour = await colourOf("targetGroupArn", input.TargetGroupArn ?? "");
        // The colour's workload as deployed (the ECS service's desiredCount, or the Deployment's replicas) runs that many
        // targets, all healthy unless the scenario says otherwise.
        const workload = colour ? (await stack.deployed()).resources.find((r) => WORKLOAD_TYPES.includes(r.type) && r.parent?.endsWith(`::shop-${colour}`)) : undefined;
        const running = Number(workload?.inputs.desiredCount ?? (workload?.inputs.spec as { replicas?: number } | undefined)?.replicas ?? 0);
        const healthy = colour ? Math.min(full.healthy[colour] ?? running, running) : 0;
        return { TargetHealthDescriptions: Array.from({ length: healthy }, (_, i) => ({ Target: { Id: `10.0.0.${i + 1}`, Port: 8080 }, TargetHealth: { State: "healthy" } })) };
    });
    const eks = new EKSClient({ region: "eu-west-1", credentials: { accessKeyId: "test", secretAccessKey: "test" } });
    mockClient(eks).on(DescribeClusterCommand).callsFake(async (input) => ({
        cluster: { name: input.name, status: "ACTIVE", endpoint: `https://${input.name}.gr7.eu-west-1.eks.amazonaws.com`, certificateAuthority: { data: Buffer.from("ca").toString("base64") } },
    }));
    const kubernetesApi: KubernetesGet = async ({ url }) =>
        /customresourcedefinitions\/targetgroupbindings\.elbv2\.k8s\.aws$/.test(url) && (full.controllerInstalled ?? true) ? { status: 200, body: "{}" } : { status: 404, body: "{}" };
    return {
        port: new AwsSdkPort({ cloudWatch, elb, eks: new EksClusterApi(eks, kubernetesApi) }),
        scenario: full,
        commands: () => [...cw.calls(), ...lb.calls()].map((call) => (call.args[0] as { constructor: { name: string } }).constructor.name),
    };
}
