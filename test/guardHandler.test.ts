// The AWS-side guard against moto_server: ELBv2 weights and target health, the ledger's conditional writes; SNS through aws-sdk-client-mock.
import * as assert from "assert";
import * as http from "http";
import type { AddressInfo } from "net";
import { CreateListenerCommand, CreateLoadBalancerCommand, CreateTargetGroupCommand, DeregisterTargetsCommand, DescribeListenersCommand, ElasticLoadBalancingV2Client, ModifyListenerCommand, RegisterTargetsCommand } from "@aws-sdk/client-elastic-load-balancing-v2";
import { PublishCommand, SNSClient } from "@aws-sdk/client-sns";
import { DynamoDBDocumentClient, GetCommand, PutCommand } from "@aws-sdk/lib-dynamodb";
import { mockClient } from "aws-sdk-client-mock";
import { GuardDeps, GuardSettings, runGuard } from "../guard/guard";
import { guardClients } from "../guard/handler";
import { ALARMS, alarmEvent } from "./fakes/alarmEvents";
import { MotoServer } from "./fakes/motoServer";

const TABLE = "shop-production-releases";
const ALARM_AT = "2026-11-27T22:00:00.000+0000";
describe("AWS-side guard against moto_server (ELBv2, DynamoDB)", function () {
    this.timeout(60_000);
    const moto = new MotoServer();
    let elb: ElasticLoadBalancingV2Client;
    let documents: DynamoDBDocumentClient;
    let loadBalancerArn = "";
    let vpcId = "";
    let stackNumber = 0;
    let port = 8000;

    before(async () => {
        const endpoint = await moto.start();
        const clients = guardClients({ endpoint, region: "eu-west-1", credentials: { accessKeyId: "testing", secretAccessKey: "testing" } });
        elb = clients.elb;
        documents = clients.documents;
        await moto.createLedgerTable(TABLE);
        vpcId = /<vpcId>(vpc-[0-9a-f]+)<\/vpcId>/.exec(await moto.ec2("CreateVpc", { CidrBlock: "10.0.0.0/16" }))![1];
        const subnets = [];
        for (const [index, zone] of ["eu-west-1a", "eu-west-1b"].entries()) {
            subnets.push(/<subnetId>(subnet-[0-9a-f]+)<\/subnetId>/.exec(await moto.ec2("CreateSubnet", { VpcId: vpcId, CidrBlock: `10.0.${index}.0/24`, AvailabilityZone: zone }))![1]);
        }
        loadBalancerArn = (await elb.send(new CreateLoadBalancerCommand({ Name: "shop", Subnets: subnets }))).LoadBalancers![0].LoadBalancerArn!;
    });
    after(() => moto.stop());

    /** A fresh stack: both colours' target groups (healthy targets as asked), a weighted listener, the guard's deps; SNS mocked. */
    async function stackWith(weights: { blue: number; green: number }, healthy: { blue: number; green: number }) {
        stackNumber += 1;
        const stack = `production-${stackNumber}`;
        const targetGroupArns = { blue: "", green: "" };
        for (const colour of ["blue", "green"] as const) {
            const created = await elb.send(new CreateTargetGroupCommand({ Name: `shop-${stackNumber}-${colour}`, Protocol: "HTTP", Port: 8080, VpcId: vpcId, TargetType: "ip" }));
            targetGroupArns[colour] = created.TargetGroups![0].TargetGroupArn!;
            const targets = Array.from({ length: healthy[colour] }, (_, index) => ({ Id: `10.0.${colour === "blue" ? 0 : 1}.${10 + index}`, Port: 8080 }));
            if (targets.length > 0) await elb.send(new RegisterTargetsCommand({ TargetGroupArn: targetGroupArns[colour], Targets: targets }));
        }
        port += 1;
        const listener = await elb.send(
            new CreateListenerCommand({
                LoadBalancerArn: loadBalancerArn,
                Protocol: "HTTP",
                Port: port,
                DefaultActions: [{ Type: "forward", ForwardConfig: { TargetGroups: [{ TargetGroupArn: targetGroupArns.blue, Weight: weights.blue }, { TargetGroupArn: targetGroupArns.green, Weight: weights.green }], TargetGroupStickinessConfig: { Enabled: true, DurationSeconds: 300 } } }],
            }),
        );
        const settings: GuardSettings = {
            service: "shop",
            stack,
            listenerArn: listener.Listeners![0].ListenerArn!,
            targetGroupArns,
            alarmNames: ALARMS,
            tableName: TABLE,
            topicArn: "arn:aws:sns:eu-west-1:123456789012:shop-production-deployments",
            actor: "aws-guard (shop-production-guard)",
        };
        const sns = new SNSClient({ region: "eu-west-1" });
        const snsMock = mockClient(sns);
        snsMock.on(PublishCommand).resolves({ MessageId: "m-1" });
        const deps: GuardDeps = { elb, documents, sns, settings, now: () => new Date("2026-11-27T22:00:30Z") };
        const liveWeights = async () => {
            const described = await elb.send(new DescribeListenersCommand({ ListenerArns: [settings.listenerArn] }));
            const forward = described.Listeners![0].DefaultActions![0];
            const byArn = Object.fromEntries(forward.ForwardConfig!.TargetGroups!.map((group) => [group.TargetGroupArn!, group.Weight!]));
            return { weights: { blue: byArn[targetGroupArns.blue], green: byArn[targetGroupArns.green] }, stickiness: forward.ForwardConfig!.TargetGroupStickinessConfig };
        };
        const trip = async (colour: "blue" | "green") =>
            (await documents.send(new GetCommand({ TableName: TABLE, Key: { pk: `STACK#${stack}`, sk: `TRIP#2026-11-27T22:00:00.000Z#${colour}` }, ConsistentRead: true }))).Item;
        const published = () => snsMock.commandCalls(PublishCommand).map((call) => call.args[0].input);
        return { stack, settings, deps, liveWeights, trip, published, targetGroupArns };
    }

    it("a trip while the driver bakes: green (25) in ALARM and blue healthy; green goes to 0, blue to 100, stickiness kept; one blocking trip, one notification", async () => {
        const s = await stackWith({ blue: 75, green: 25 }, { blue: 2, green: 2 });
        const result = await runGuard(s.deps, alarmEvent("green"));
        assert.deepStrictEqual([result.outcome, result.published, result.weightsBefore, result.weightsAfter], ["moved", true, { blue: 75, green: 25 }, { blue: 100, green: 0 }]);
        assert.deepStrictEqual(await s.liveWeights(), { weights: { blue: 100, green: 0 }, stickiness: { Enabled: true, DurationSeconds: 300 } });
        const trip = await s.trip("green");
        assert.deepStrictEqual(
            [trip?.status, trip?.blocking, trip?.colour, trip?.alarmName, trip?.alarmAt, trip?.weightsBefore, trip?.weightsAfter, trip?.healthyTargets, trip?.by, trip?.at],
            ["moved", true, "green", ALARMS.green, "2026-11-27T22:00:00.000Z", { blue: 75, green: 25 }, { blue: 100, green: 0 }, { blue: 2, green: 2 }, "aws-guard (shop-production-guard)", "2026-11-27T22:00:30.000Z"],
        );
        const [message] = s.published();
        assert.strictEqual(s.published().length, 1);
        assert.strictEqual(message.Subject, "shop " + s.stack + ": guard tripped green");
        assert.deepStrictEqual(message.MessageAttributes, {
            event: { DataType: "String", StringValue: "trip" },
            service: { DataType: "String", StringValue: "shop" },
            stack: { DataType: "String", StringValue: s.stack },
            colour: { DataType: "String", StringValue: "green" },
            status: { DataType: "String", StringValue: "moved" },
        });
        assert.match(String(message.Message), /took green off: green had weight 25; blue has 2 healthy targets/);
    });

    it("the tripped stable colour (blue 100) moves to a healthy green at 0: green gets all of it", async () => {
        const s = await stackWith({ blue: 100, green: 0 }, { blue: 1, green: 1 });
        assert.strictEqual((await runGuard(s.deps, alarmEvent("blue"))).outcome, "moved");
        assert.deepStrictEqual((await s.liveWeights()).weights, { blue: 0, green: 100 });
    });

    it("the other colour is unhealthy (no healthy targets): traffic is left where it is, a non-blocking trip is recorded and announced", async () => {
        const s = await stackWith({ blue: 50, green: 50 }, { blue: 0, green: 2 });
        const result = await runGuard(s.deps, alarmEvent("green"));
        assert.deepStrictEqual([result.outcome, result.published], ["left", true]);
        assert.deepStrictEqual((await s.liveWeights()).weights, { blue: 50, green: 50 });
        const trip = await s.trip("green");
        assert.deepStrictEqual([trip?.status, trip?.blocking, trip?.reason], ["left", false, "could not take traffic off green: blue has no healthy targets; traffic left as it is"]);
        assert.strictEqual(s.published()[0].Subject, `shop ${s.stack}: guard could not act on green`);
    });

    it("the other colour's targets were deregistered since the last release: moto reports none healthy, so the guard leaves the traffic", async () => {
        const s = await stackWith({ blue: 90, green: 10 }, { blue: 1, green: 1 });
        await elb.send(new DeregisterTargetsCommand({ TargetGroupArn: s.targetGroupArns.blue, Targets: [{ Id: "10.0.0.10", Port: 8080 }] }));
        assert.strictEqual((await runGuard(s.deps, alarmEvent("green"))).outcome, "left");
        assert.deepStrictEqual((await s.liveWeights()).weights, { blue: 90, green: 10 });
    });

    it("a trip while the driver rolls back: the rollback's ModifyListener (blue 100) races the guard; either order ends at blue 100, green 0", async () => {
        const s = await stackWith({ blue: 50, green: 50 }, { blue: 2, green: 2 });
        const rollback = elb.send(new ModifyListenerCommand({ ListenerArn: s.settings.listenerArn, DefaultActions: [{ Type: "forward", ForwardConfig: { TargetGroups: [{ TargetGroupArn: s.targetGroupArns.blue, Weight: 100 }, { TargetGroupArn: s.targetGroupArns.green, Weight: 0 }], TargetGroupStickinessConfig: { Enabled: true, DurationSeconds: 300 } } }] }));
        const [result] = await Promise.all([runGuard(s.deps, alarmEvent("green")), rollback]);
        assert.ok(["moved", "not-serving"].includes(result.outcome), result.outcome);
        assert.deepStrictEqual((await s.liveWeights()).weights, { blue: 100, green: 0 });
        assert.strictEqual((await s.trip("green"))?.status, result.outcome);
    });

    it("someone already moved the traffic by hand in the console (green 0): the listener is not touched, nothing blocks, nobody is paged twice", async () => {
        const s = await stackWith({ blue: 100, green: 0 }, { blue: 2, green: 2 });
        const result = await runGuard(s.deps, alarmEvent("green"));
        assert.deepStrictEqual([result.outcome, result.published], ["not-serving", false]);
        assert.deepStrictEqual((await s.liveWeights()).weights, { blue: 100, green: 0 });
        const trip = await s.trip("green");
        assert.deepStrictEqual([trip?.status, trip?.blocking], ["not-serving", false]);
        assert.deepStrictEqual(s.published(), []);
    });

    it("a duplicate EventBridge delivery finds the trip recorded: no second ModifyListener decision, no second notification", async () => {
        const s = await stackWith({ blue: 75, green: 25 }, { blue: 2, green: 2 });
        assert.strictEqual((await runGuard(s.deps, alarmEvent("green"))).outcome, "moved");
        // A person gives green traffic back by hand between the deliveries; the duplicate must not take it off again.
        await elb.send(new ModifyListenerCommand({ ListenerArn: s.settings.listenerArn, DefaultActions: [{ Type: "forward", ForwardConfig: { TargetGroups: [{ TargetGroupArn: s.targetGroupArns.blue, Weight: 75 }, { TargetGroupArn: s.targetGroupArns.green, Weight: 25 }] } }] }));
        const second = await runGuard(s.deps, alarmEvent("green"));
        assert.deepStrictEqual([second.outcome, second.published], ["duplicate", false]);
        assert.deepStrictEqual((await s.liveWeights()).weights, { blue: 75, green: 25 });
        assert.strictEqual(s.published().length, 1);
        assert.strictEqual((await s.trip("green"))?.status, "moved");
    });

    it("the ledger write races: two invocations of one event at once leave one record, one notification and green at 0", async () => {
        const s = await stackWith({ blue: 60, green: 40 }, { blue: 3, green: 3 });
        const results = await Promise.all([runGuard(s.deps, alarmEvent("green")), runGuard(s.deps, alarmEvent("green"))]);
        assert.deepStrictEqual(results.map((result) => result.outcome).sort(), ["duplicate", "moved"]);
        assert.strictEqual(s.published().length, 1);
        assert.deepStrictEqual((await s.liveWeights()).weights, { blue: 100, green: 0 });
        assert.strictEqual((await s.trip("green"))?.status, "moved");
    });

    it("the ledger write races when the guard cannot act: two invocations leave one 'left' record and one notification", async () => {
        const s = await stackWith({ blue: 50, green: 50 }, { blue: 0, green: 1 });
        const results = await Promise.all([runGuard(s.deps, alarmEvent("green")), runGuard(s.deps, alarmEvent("green"))]);
        assert.deepStrictEqual(results.map((result) => result.outcome).sort(), ["duplicate", "left"]);
        assert.strictEqual(s.published().length, 1);
    });

    it("a retry finishes a trip an earlier invocation claimed but could not move (ModifyListener failed): still blocking, now moved", async () => {
        const s = await stackWith({ blue: 80, green: 20 }, { blue: 2, green: 2 });
        await documents.send(new PutCommand({ TableName: TABLE, Item: { pk: `STACK#${s.stack}`, sk: "TRIP#2026-11-27T22:00:00.000Z#green", colour: "green", status: "moving", blocking: true, at: "2026-11-27T22:00:10.000Z", reason: "took green off" } }));
        const result = await runGuard(s.deps, alarmEvent("green"));
        assert.deepStrictEqual([result.outcome, result.published], ["moved", true]);
        assert.deepStrictEqual((await s.liveWeights()).weights, { blue: 100, green: 0 });
        assert.deepStrictEqual([(await s.trip("green"))?.status, (await s.trip("green"))?.blocking], ["moved", true]);
    });

    it("the alarm returns to OK: the guard ignores the event; the trip stays blocking and the traffic stays off (only clear-trip gives it back)", async () => {
        const s = await stackWith({ blue: 75, green: 25 }, { blue: 2, green: 2 });
        await runGuard(s.deps, alarmEvent("green"));
        const ok = await runGuard(s.deps, alarmEvent("green", "OK", "2026-11-27T22:05:00.000+0000"));
        assert.deepStrictEqual([ok.outcome, ok.published], ["ignored", false]);
        assert.match(ok.reason, /is OK, not ALARM/);
        assert.deepStrictEqual((await s.liveWeights()).weights, { blue: 100, green: 0 });
        assert.deepStrictEqual([(await s.trip("green"))?.status, (await s.trip("green"))?.blocking], ["moved", true]);
        assert.strictEqual(s.published().length, 1);
    });

    it("a new ALARM transition after the alarm recovered is a new trip of its own", async () => {
        const s = await stackWith({ blue: 75, green: 25 }, { blue: 2, green: 2 });
        await runGuard(s.deps, alarmEvent("green"));
        const again = await runGuard(s.deps, alarmEvent("green", "ALARM", "2026-11-27T22:09:00.000+0000"));
        // The traffic is off already, so the second transition is recorded as not serving and blocks nothing new.
        assert.deepStrictEqual([again.outcome, again.tripKey], ["not-serving", "TRIP#2026-11-27T22:09:00.000Z#green"]);
    });

    it("throttling on the wire: ELB answers DescribeListeners twice with 400 Throttling; the SDK's retry mode retries and the guard still moves the traffic", async () => {
        const s = await stackWith({ blue: 70, green: 30 }, { blue: 1, green: 1 });
        let throttled = 0;
        const proxy = http.createServer((request, response) => {
            const chunks: Buffer[] = [];
            request.on("data", (chunk: Buffer) => chunks.push(chunk));
            request.on("end", async () => {
                const body = Buffer.concat(chunks);
                if (body.toString().includes("Action=DescribeListeners") && throttled < 2) {
                    throttled += 1;
                    response.writeHead(400, { "content-type": "text/xml" });
                    response.end('<ErrorResponse xmlns="http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/"><Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded</Message></Error><RequestId>0e0b7a1c</RequestId></ErrorResponse>');
                    return;
                }
                const headers = Object.fromEntries(Object.entries(request.headers).filter(([name]) => !["host", "content-length", "connection"].includes(name)).map(([name, value]) => [name, String(value)]));
                const upstream = await fetch(`${moto.endpoint}${request.url}`, { method: request.method, headers, body: request.method === "GET" ? undefined : body });
                response.writeHead(upstream.status, { "content-type": upstream.headers.get("content-type") ?? "text/xml" });
                response.end(Buffer.from(await upstream.arrayBuffer()));
            });
        });
        await new Promise<void>((resolve) => proxy.listen(0, "127.0.0.1", resolve));
        try {
            const { port: proxyPort } = proxy.address() as AddressInfo;
            const throttledElb = guardClients({ endpoint: `http://127.0.0.1:${proxyPort}`, region: "eu-west-1", credentials: { accessKeyId: "testing", secretAccessKey: "testing" } }).elb;
            const result = await runGuard({ ...s.deps, elb: throttledElb }, alarmEvent("green"));
            assert.deepStrictEqual([result.outcome, throttled], ["moved", 2]);
            assert.deepStrictEqual((await s.liveWeights()).weights, { blue: 100, green: 0 });
        } finally {
            await new Promise((resolve) => proxy.close(resolve));
        }
    });

    it("an alarm of another stack or another source is ignored without reading AWS", async () => {
        const s = await stackWith({ blue: 50, green: 50 }, { blue: 1, green: 1 });
        const other = await runGuard(s.deps, { ...alarmEvent("green"), detail: { alarmName: "shop-staging-green-rollback", state: { value: "ALARM", timestamp: ALARM_AT } } });
        const wrongSource = await runGuard(s.deps, { ...alarmEvent("green"), source: "aws.events" });
        assert.deepStrictEqual([other.outcome, wrongSource.outcome], ["ignored", "ignored"]);
        assert.deepStrictEqual((await s.liveWeights()).weights, { blue: 50, green: 50 });
    });
});
