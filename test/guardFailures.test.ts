// The AWS-side guard when AWS fails or answers partly: throttling, missing listener, unreadable health, ledger and SNS errors (aws-sdk-client-mock).
import * as assert from "assert";
import { ConditionalCheckFailedException, DynamoDBClient, ProvisionedThroughputExceededException } from "@aws-sdk/client-dynamodb";
import { DescribeListenersCommand, DescribeTargetHealthCommand, ElasticLoadBalancingV2Client, ElasticLoadBalancingV2ServiceException, ModifyListenerCommand } from "@aws-sdk/client-elastic-load-balancing-v2";
import type { Action } from "@aws-sdk/client-elastic-load-balancing-v2";
import { PublishCommand, SNSClient } from "@aws-sdk/client-sns";
import { DynamoDBDocumentClient, GetCommand, PutCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { mockClient } from "aws-sdk-client-mock";
import { GuardDeps, runGuard } from "../guard/guard";
import { GUARD_ENVIRONMENT, GUARD_RETRY, guardClients, settingsFromEnvironment } from "../guard/handler";
import { alarmEvent } from "./fakes/alarmEvents";

const LISTENER = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener/app/shop/50dc6c495c0c9188/f2f7dc8efc522ab2";
const TARGET_GROUPS = { blue: "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/shop-blue/1", green: "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/shop-green/2" };

function throttled(): Error {
    return new ElasticLoadBalancingV2ServiceException({ name: "Throttling", $fault: "client", message: "Rate exceeded", $metadata: { httpStatusCode: 400, attempts: 6 } });
}

function forward(blue: number, green: number): Action[] {
    return [{ Type: "forward", ForwardConfig: { TargetGroups: [{ TargetGroupArn: TARGET_GROUPS.blue, Weight: blue }, { TargetGroupArn: TARGET_GROUPS.green, Weight: green }], TargetGroupStickinessConfig: { Enabled: false } } }];
}

/** The guard over mocked clients: the listener forwards as given, both colours have healthy targets unless told otherwise. */
function mocked(actions: Action[] = forward(75, 25)) {
    const elb = new ElasticLoadBalancingV2Client({ region: "eu-west-1" });
    const documents = DynamoDBDocumentClient.from(new DynamoDBClient({ region: "eu-west-1" }));
    const sns = new SNSClient({ region: "eu-west-1" });
    const elbMock = mockClient(elb);
    const ddbMock = mockClient(documents);
    const snsMock = mockClient(sns);
    elbMock.on(DescribeListenersCommand).resolves({ Listeners: [{ ListenerArn: LISTENER, DefaultActions: actions }] });
    elbMock.on(DescribeTargetHealthCommand).resolves({ TargetHealthDescriptions: [{ TargetHealth: { State: "healthy" } }, { TargetHealth: { State: "healthy" } }] });
    elbMock.on(ModifyListenerCommand).resolves({});
    ddbMock.on(GetCommand).resolves({});
    ddbMock.on(PutCommand).resolves({});
    ddbMock.on(UpdateCommand).resolves({});
    snsMock.on(PublishCommand).resolves({ MessageId: "m" });
    const deps: GuardDeps = {
        elb,
        documents,
        sns,
        settings: { service: "shop", stack: "production", listenerArn: LISTENER, targetGroupArns: TARGET_GROUPS, alarmNames: { blue: "shop-production-blue-rollback", green: "shop-production-green-rollback" }, tableName: "shop-production-releases", topicArn: "arn:aws:sns:eu-west-1:123456789012:t", actor: "aws-guard (test)" },
        now: () => new Date("2026-11-27T22:00:30Z"),
    };
    const status = (command: "put" | "update") =>
        command === "put" ? ddbMock.commandCalls(PutCommand).map((call) => call.args[0].input.Item?.status) : ddbMock.commandCalls(UpdateCommand).map((call) => call.args[0].input.ExpressionAttributeValues?.[":status"]);
    return { deps, elbMock, ddbMock, snsMock, status };
}

describe("AWS-side guard when AWS fails or answers partly (aws-sdk-client-mock)", () => {
    it("ModifyListener still throttled after the SDK's retries: the run fails (Lambda retries it), the trip stays moving and blocking, the topic hears it", async () => {
        const m = mocked();
        m.elbMock.on(ModifyListenerCommand).rejects(throttled());
        await assert.rejects(runGuard(m.deps, alarmEvent("green")), /Rate exceeded/);
        assert.deepStrictEqual([m.status("put"), m.status("update")], [["moving"], []]);
        assert.strictEqual(m.ddbMock.commandCalls(PutCommand)[0].args[0].input.Item?.blocking, true);
        const [notice] = m.snsMock.commandCalls(PublishCommand);
        assert.match(String(notice.args[0].input.Message), /could not take green off yet \(ModifyListener: Rate exceeded\); the invocation is retried/);
    });

    it("the other colour's target health cannot be read (throttled): the guard does not guess, it leaves the traffic and records why", async () => {
        const m = mocked();
        m.elbMock.on(DescribeTargetHealthCommand, { TargetGroupArn: TARGET_GROUPS.blue }).rejects(throttled());
        const result = await runGuard(m.deps, alarmEvent("green"));
        assert.deepStrictEqual([result.outcome, result.reason], ["left", "could not take traffic off green: blue's target health could not be read; traffic left as it is"]);
        assert.strictEqual(m.elbMock.commandCalls(ModifyListenerCommand).length, 0);
    });

    it("only the tripped colour's health is unreadable: the other colour is healthy, so the traffic moves", async () => {
        const m = mocked();
        m.elbMock.on(DescribeTargetHealthCommand, { TargetGroupArn: TARGET_GROUPS.green }).rejects(throttled());
        assert.strictEqual((await runGuard(m.deps, alarmEvent("green"))).outcome, "moved");
        const sent = m.elbMock.commandCalls(ModifyListenerCommand)[0].args[0].input;
        assert.deepStrictEqual(sent, { ListenerArn: LISTENER, DefaultActions: forward(100, 0) });
    });

    it("the listener is gone (deleted by hand): the run fails before writing anything", async () => {
        const m = mocked();
        m.elbMock.on(DescribeListenersCommand).resolves({ Listeners: [] });
        await assert.rejects(runGuard(m.deps, alarmEvent("green")), /listener .* not found/);
        assert.deepStrictEqual([m.ddbMock.commandCalls(PutCommand).length, m.elbMock.commandCalls(ModifyListenerCommand).length], [0, 0]);
    });

    it("maintenance mode (a fixed response, no forward action): nothing serves, nothing moves", async () => {
        const m = mocked([{ Type: "fixed-response", FixedResponseConfig: { StatusCode: "503", ContentType: "text/html", MessageBody: "maintenance" } }]);
        assert.strictEqual((await runGuard(m.deps, alarmEvent("green"))).outcome, "not-serving");
        assert.strictEqual(m.elbMock.commandCalls(ModifyListenerCommand).length, 0);
    });

    it("the other colour's target group was taken out of the forward action by hand: the guard cannot move traffic there and says so", async () => {
        const m = mocked([{ Type: "forward", ForwardConfig: { TargetGroups: [{ TargetGroupArn: TARGET_GROUPS.green, Weight: 1 }] } }]);
        const result = await runGuard(m.deps, alarmEvent("green"));
        assert.deepStrictEqual([result.outcome, result.reason], ["left", "could not take traffic off green: blue's target group is not in the listener's forward action, so traffic cannot move to it; traffic left as it is"]);
    });

    it("a single-target-group forward action (green takes everything) is read as green's whole weight", async () => {
        const m = mocked([{ Type: "forward", TargetGroupArn: TARGET_GROUPS.green }]);
        assert.strictEqual((await runGuard(m.deps, alarmEvent("green"))).outcome, "left");
        assert.deepStrictEqual(m.ddbMock.commandCalls(PutCommand)[0].args[0].input.Item?.weightsBefore, { green: 1 });
    });

    it("the ledger is throttled when the guard claims the trip: the traffic still moves, the topic is told the trip is not recorded, the run fails", async () => {
        const m = mocked();
        m.ddbMock.on(PutCommand).rejects(new ProvisionedThroughputExceededException({ message: "throughput exceeded", $metadata: {} }));
        await assert.rejects(runGuard(m.deps, alarmEvent("green")), /throughput exceeded/);
        assert.deepStrictEqual(m.elbMock.commandCalls(ModifyListenerCommand)[0].args[0].input.DefaultActions, forward(100, 0));
        assert.match(String(m.snsMock.commandCalls(PublishCommand)[0].args[0].input.Message), /could not be recorded in the ledger \(throughput exceeded\): nothing stops a `pulumi up` from giving green traffic again/);
    });

    it("the claim loses the race to an invocation that already finished: a duplicate, no ModifyListener", async () => {
        const m = mocked();
        m.ddbMock.on(PutCommand).rejects(new ConditionalCheckFailedException({ message: "The conditional request failed", $metadata: {} }));
        m.ddbMock.on(GetCommand).resolvesOnce({}).resolves({ Item: { colour: "green", status: "moved", at: "x", reason: "r" } });
        const result = await runGuard(m.deps, alarmEvent("green"));
        assert.deepStrictEqual([result.outcome, m.elbMock.commandCalls(ModifyListenerCommand).length], ["duplicate", 0]);
    });

    it("SNS fails after the traffic moved: the trip is recorded, the run succeeds (a retry would not re-announce it), published is false", async () => {
        const m = mocked();
        m.snsMock.on(PublishCommand).rejects(new Error("KMS key disabled"));
        const result = await runGuard(m.deps, alarmEvent("green"));
        assert.deepStrictEqual([result.outcome, result.published, m.status("update")], ["moved", false, ["moved"]]);
    });

    it("an event without a state timestamp cannot be recorded once, so it is ignored rather than tripped twice", async () => {
        const m = mocked();
        const result = await runGuard(m.deps, { ...alarmEvent("green"), detail: { alarmName: "shop-production-green-rollback", state: { value: "ALARM" } } });
        assert.strictEqual(result.outcome, "ignored");
        assert.strictEqual(m.elbMock.commandCalls(DescribeListenersCommand).length, 0);
    });

    it("reads the settings from the function's environment and names every missing variable at once", () => {
        assert.throws(() => settingsFromEnvironment({ SHIFTWISE_SERVICE: "shop" }), {
            message: `shiftwise guard: missing environment variables ${Object.values(GUARD_ENVIRONMENT).filter((name) => name !== "SHIFTWISE_SERVICE").join(", ")}`,
        });
        const env = Object.fromEntries(Object.values(GUARD_ENVIRONMENT).map((name) => [name, name.toLowerCase()]));
        const settings = settingsFromEnvironment({ ...env, AWS_LAMBDA_FUNCTION_NAME: "shop-production-guard" });
        assert.deepStrictEqual(settings.targetGroupArns, { blue: "shiftwise_blue_target_group_arn", green: "shiftwise_green_target_group_arn" });
        assert.strictEqual(settings.actor, "aws-guard (shop-production-guard)");
    });

    it("every client retries throttling with the SDK's standard mode, six attempts", async () => {
        const clients = guardClients({ region: "eu-west-1" });
        for (const client of [clients.elb, clients.documents, clients.sns]) {
            assert.deepStrictEqual([await client.config.maxAttempts(), await client.config.retryStrategy().then((strategy) => (strategy as { mode?: string }).mode)], [GUARD_RETRY.maxAttempts, "standard"]);
        }
    });
});
