// Unit tests of the driver's pure parts: guards, freeze windows, config paths, records.
import * as assert from "assert";
import { CloudWatchClient, DescribeAlarmsCommand, GetMetricStatisticsCommand } from "@aws-sdk/client-cloudwatch";
import { DescribeListenersCommand, DescribeTargetHealthCommand, ElasticLoadBalancingV2Client } from "@aws-sdk/client-elastic-load-balancing-v2";
import { mockClient } from "aws-sdk-client-mock";
import { StepCollector } from "../ports/automationStack";
import { AwsSdkPort } from "../ports/awsSdk";
import { configPatch, formatPath, parsePath, redactSecrets } from "../rollout/configPaths";
import { formatSeconds, worstCaseExposure } from "../plan/exposure";
import { inWindow } from "../rollout/freeze";
import { cleanPreviewProblems, listenerOnlyProblems, releasePreviewProblems } from "../rollout/guards";
import { startedBy } from "../rollout/records";
import { runSmokeChecks, nodeFetcher } from "../rollout/smoke";
import type { EngineEvent } from "@pulumi/pulumi/automation";
import { FakeClock } from "./fakes/fakeClock";
import { FakeStack } from "./fakes/fakeStack";
import { SmokeServer, productionConfig, scenarioFetcher } from "./fakes/rollout";

describe("driver: worst-case exposure", () => {
    it("adds a period to the first whole one, the breaching periods, the metric delay and the poll", () => {
        const exposure = worstCaseExposure({ steps: [5, 25, 50, 100], evaluationPeriods: 3, datapointsToAlarm: 2, pollSeconds: 30 });
        assert.deepStrictEqual(exposure.steady, { firstFullPeriod: 60, breachingPeriods: 120, metricDelay: 60, poll: 30, total: 270 });
        assert.deepStrictEqual(exposure.worst, { firstFullPeriod: 60, breachingPeriods: 180, metricDelay: 60, poll: 30, total: 330 });
        assert.deepStrictEqual(exposure.steps.map((s) => [s.percent, s.seconds, s.percentMinutes]), [[5, 330, 27.5], [25, 330, 137.5], [50, 330, 275], [100, 330, 550]]);
    });

    it("grows with every input and rejects datapointsToAlarm above evaluationPeriods", () => {
        const base = { steps: [10], evaluationPeriods: 1, datapointsToAlarm: 1, pollSeconds: 10 };
        assert.strictEqual(worstCaseExposure(base).worst.total, 190);
        assert.strictEqual(worstCaseExposure({ ...base, evaluationPeriods: 5 }).worst.total, 430);
        assert.strictEqual(worstCaseExposure({ ...base, pollSeconds: 600 }).worst.total, 780);
        assert.throws(() => worstCaseExposure({ ...base, datapointsToAlarm: 2 }), /datapointsToAlarm \(2\) must be at most evaluationPeriods \(1\)/);
        assert.deepStrictEqual([formatSeconds(330), formatSeconds(45), formatSeconds(120)], ["5m30s", "45s", "2m"]);
    });
});

describe("driver: freeze windows", () => {
    const cases: [string, Parameters<typeof inWindow>[0], string, boolean][] = [
        ["whole day on the day", { reason: "r", days: ["tue"] }, "2025-03-04T23:59:00Z", true],
        ["whole day, other day", { reason: "r", days: ["tue"] }, "2025-03-05T00:00:00Z", false],
        ["time range inside", { reason: "r", start: "16:00", end: "18:00" }, "2025-03-05T16:00:00Z", true],
        ["time range end is exclusive", { reason: "r", start: "16:00", end: "18:00" }, "2025-03-05T18:00:00Z", false],
        ["overnight range after midnight belongs to the start day", { reason: "r", days: ["fri"], start: "22:00", end: "06:00" }, "2025-03-08T05:59:00Z", true],
        ["overnight range, start day before start", { reason: "r", days: ["fri"], start: "22:00", end: "06:00" }, "2025-03-07T21:59:00Z", false],
        ["overnight range, wrong day", { reason: "r", days: ["fri"], start: "22:00", end: "06:00" }, "2025-03-07T05:00:00Z", false],
    ];
    for (const [name, window, at, expected] of cases) {
        it(`${name}: ${at} -> ${expected}`, () => assert.strictEqual(inWindow(window, new Date(at)), expected));
    }
});

describe("driver: config paths and patches", () => {
    it("round-trips property paths", () => {
        for (const path of ["shiftwise:traffic.blue", "shiftwise:rollout.steps[2]", 'shiftwise:service.environment["a.b"]', "aws:region"]) {
            const { key, segments } = parsePath(path);
            assert.strictEqual(formatPath(key, segments), path);
        }
    });

    it("patches only the changed leaves, removes from the highest index, and leaves secrets and kept keys alone", () => {
        const current = {
            "shiftwise:traffic": { value: '{"blue":100,"green":0}' },
            "shiftwise:rollout": { value: '{"steps":[5,25,50,100]}' },
            "shiftwise:database": { value: '{"preReleaseSnapshot":"v1.6.0"}' },
            "shiftwise:token": { value: "s3cret", secret: true },
        };
        const target = {
            "shiftwise:traffic": { value: '{"blue":75,"green":25}' },
            "shiftwise:rollout": { value: '{"steps":[50,100]}' },
            "shiftwise:database": { value: "{}" },
            "shiftwise:token": { value: "sha256:abc", secret: true },
        };
        assert.deepStrictEqual(configPatch(current, target, ["shiftwise:database"]), {
            set: { "shiftwise:rollout.steps[0]": "50", "shiftwise:rollout.steps[1]": "100", "shiftwise:traffic.blue": "75", "shiftwise:traffic.green": "25" },
            remove: ["shiftwise:rollout.steps[3]", "shiftwise:rollout.steps[2]"],
        });
        assert.deepStrictEqual(configPatch(current, target).remove, ["shiftwise:rollout.steps[3]", "shiftwise:rollout.steps[2]", "shiftwise:database.preReleaseSnapshot"]);
        assert.match(redactSecrets(current)["shiftwise:token"].value, /^scrypt:[0-9a-f]{32}:[0-9a-f]{64}$/);
    });
});

describe("driver: guards against the real program", function () {
    this.timeout(30_000);
    const stack = new FakeStack({ stackName: "production", config: productionConfig() });
    const withSection = (section: string, fields: Record<string, unknown>) => {
        const config = stack.engineConfig();
        config[`shiftwise:${section}`] = JSON.stringify({ ...JSON.parse(config[`shiftwise:${section}`]), ...fields });
        return config;
    };
    let listenerArn = "";
    before(async () => {
        listenerArn = (await stack.deployed()).outputs.listenerArn as string;
    });

    it("a traffic-only change is exactly one in-place update of the forwarding listener", async () => {
        const changes = await stack.changesTo(withSection("traffic", { blue: 95, green: 5 }));
        assert.deepStrictEqual(listenerOnlyProblems(changes, listenerArn), []);
        assert.deepStrictEqual(cleanPreviewProblems(await stack.changesTo(stack.engineConfig())), []);
    });

    it("fires when the step also changes another resource, or when nothing changed", async () => {
        const config = withSection("traffic", { blue: 95, green: 5 });
        config["shiftwise:blue"] = JSON.stringify({ ...JSON.parse(config["shiftwise:blue"]), desiredCount: 4 });
        const problems = listenerOnlyProblems(await stack.changesTo(config), listenerArn);
        assert.strictEqual(problems.length, 1);
        assert.match(problems[0], /^the update changed more than the forwarding listener: update urn:pulumi:production::shiftwise::shiftwise:ecs:ColourService\$aws:ecs\/service:Service::shop-blue \(desiredCount\)$/);
        assert.deepStrictEqual(listenerOnlyProblems(await stack.changesTo(stack.engineConfig()), listenerArn), ["the update changed nothing, so the listener weights did not move"]);
        assert.match(listenerOnlyProblems(await stack.changesTo(withSection("traffic", { blue: 95, green: 5 })), "arn:other")[0], /changed more than the forwarding listener/);
    });

    it("a release may change only the candidate's resources", async () => {
        const release = await stack.changesTo(withSection("green", { version: "v1.6.0", image: "123456789012.dkr.ecr.eu-west-1.amazonaws.com/shop:v1.6.0" }));
        assert.deepStrictEqual(releasePreviewProblems(release, { serviceName: "shop", candidate: "green", allowSnapshot: false }), []);
        const wrong = releasePreviewProblems(release, { serviceName: "shop", candidate: "blue", allowSnapshot: false });
        assert.match(wrong[0], /^the release would change more than the blue colour: replace .*aws:ecs\/taskDefinition:TaskDefinition::shop-green/);
    });
});

describe("driver: AwsSdkPort on mocked SDK transport", () => {
    const cloudWatch = new CloudWatchClient({ region: "eu-west-1", credentials: { accessKeyId: "k", secretAccessKey: "s" } });
    const elb = new ElasticLoadBalancingV2Client({ region: "eu-west-1", credentials: { accessKeyId: "k", secretAccessKey: "s" } });
    const cw = mockClient(cloudWatch);
    const lb = mockClient(elb);
    const port = new AwsSdkPort({ cloudWatch, elb });
    afterEach(() => {
        cw.reset();
        lb.reset();
    });

    it("reads a composite alarm by exact name and type", async () => {
        cw.on(DescribeAlarmsCommand).resolves({ CompositeAlarms: [{ AlarmName: "shop-production-green-rollback", StateValue: "ALARM" }] });
        assert.strictEqual(await port.compositeAlarmState("shop-production-green-rollback"), "ALARM");
        assert.deepStrictEqual(cw.commandCalls(DescribeAlarmsCommand)[0].args[0].input, { AlarmNames: ["shop-production-green-rollback"], AlarmTypes: ["CompositeAlarm"] });
        cw.on(DescribeAlarmsCommand).resolves({ CompositeAlarms: [] });
        assert.strictEqual(await port.compositeAlarmState("missing"), undefined);
    });

    it("sums RequestCount per target group from the next whole minute", async () => {
        cw.on(GetMetricStatisticsCommand).resolves({ Datapoints: [{ Sum: 120 }, { Sum: 80 }] });
        const count = await port.requestCount({ loadBalancerArnSuffix: "app/shop/1", targetGroupArnSuffix: "targetgroup/shop-green/2", from: new Date("2025-03-04T10:00:30Z"), to: new Date("2025-03-04T10:03:00Z") });
        assert.strictEqual(count, 200);
        assert.deepStrictEqual(cw.commandCalls(GetMetricStatisticsCommand)[0].args[0].input, {
            Namespace: "AWS/ApplicationELB",
            MetricName: "RequestCount",
            Dimensions: [{ Name: "TargetGroup", Value: "targetgroup/shop-green/2" }, { Name: "LoadBalancer", Value: "app/shop/1" }],
            StartTime: new Date("2025-03-04T10:01:00Z"),
            EndTime: new Date("2025-03-04T10:03:00Z"),
            Period: 60,
            Statistics: ["Sum"],
        });
        assert.strictEqual(await port.requestCount({ loadBalancerArnSuffix: "a", targetGroupArnSuffix: "b", from: new Date("2025-03-04T10:00:30Z"), to: new Date("2025-03-04T10:00:59Z") }), 0);
    });

    it("reads weighted and single-target-group forward actions, and counts target states", async () => {
        lb.on(DescribeListenersCommand, { ListenerArns: ["l1"] }).resolves({ Listeners: [{ ListenerArn: "l1", DefaultActions: [{ Type: "forward", ForwardConfig: { TargetGroups: [{ TargetGroupArn: "tg-b", Weight: 75 }, { TargetGroupArn: "tg-g", Weight: 25 }] } }] }] });
        lb.on(DescribeListenersCommand, { ListenerArns: ["l2"] }).resolves({ Listeners: [{ ListenerArn: "l2", DefaultActions: [{ Type: "forward", TargetGroupArn: "tg-b" }] }] });
        assert.deepStrictEqual(await port.listenerWeights("l1"), { "tg-b": 75, "tg-g": 25 });
        assert.deepStrictEqual(await port.listenerWeights("l2"), { "tg-b": 100 });
        lb.on(DescribeTargetHealthCommand).resolves({ TargetHealthDescriptions: [{ TargetHealth: { State: "healthy" } }, { TargetHealth: { State: "initial" } }, { TargetHealth: { State: "healthy" } }] });
        assert.deepStrictEqual(await port.targetHealth("tg-g"), { healthy: 2, total: 3, byState: { healthy: 2, initial: 1 } });
    });
});

describe("driver: smoke checks against a local server", () => {
    const server = new SmokeServer();
    let baseUrl = "";
    before(async () => (baseUrl = await server.start()));
    after(() => server.stop());

    it("retries a failing path, sends the colour header, and gives up after the retries", async () => {
        server.failFirst = [503, 503];
        const clock = new FakeClock();
        const passed = await runSmokeChecks(nodeFetcher, clock, { baseUrl, paths: ["/healthz"], header: "x-shiftwise-colour", colour: "green", retries: 2, retryDelayMs: 5000 });
        assert.deepStrictEqual(passed, [{ url: `${baseUrl}/healthz`, ok: true, attempts: 3, last: "HTTP 200" }]);
        assert.deepStrictEqual(clock.sleeps, [5000, 5000]);
        assert.deepStrictEqual(server.requests.slice(-3).map((r) => r.colour), ["green", "green", "green"]);

        server.failFirst = [500, 500];
        const failed = await runSmokeChecks(nodeFetcher, clock, { baseUrl, paths: ["/healthz", "/ready"], header: "x-shiftwise-colour", colour: "blue", retries: 1 });
        assert.deepStrictEqual(failed.map((r) => [r.ok, r.attempts, r.last]), [[false, 2, "HTTP 500"], [true, 1, "HTTP 200"]]);
        const closed = new SmokeServer();
        const closedUrl = await closed.start();
        await closed.stop();
        const refused = await runSmokeChecks(nodeFetcher, clock, { baseUrl: closedUrl, paths: ["/healthz"], header: "x-shiftwise-colour", colour: "blue", retries: 0 });
        assert.strictEqual(refused[0].last, "fetch failed (ECONNREFUSED)");
    });

    it("the scenarios' in-process fetcher answers as the server does over HTTP: status, routing, token, forced failures, headers, body, query, abort", async () => {
        const both = async (path: string, headers: Record<string, string>, setup: () => void) => {
            const answers = [];
            for (const fetcher of [nodeFetcher, scenarioFetcher]) {
                server.reset();
                setup();
                const { status, headers: received, body } = await fetcher(`${baseUrl}${path}`, { headers });
                answers.push({ status, body, version: received?.["x-version"], requests: [...server.requests] });
            }
            assert.deepStrictEqual(answers[1], answers[0], `${path} ${JSON.stringify(headers)}`);
            return answers[1];
        };
        const green = { "X-Shiftwise-Colour": "green" };
        assert.strictEqual((await both("/healthz", green, () => undefined)).status, 200);
        assert.strictEqual((await both("/healthz", {}, () => undefined)).status, 404);
        assert.strictEqual((await both("/healthz", green, () => (server.requiredToken = "t0k"))).status, 404);
        assert.strictEqual((await both("/healthz", { ...green, "x-shiftwise-test-token": "t0k" }, () => (server.requiredToken = "t0k"))).status, 200);
        assert.strictEqual((await both("/healthz", green, () => (server.failFirst = [503]))).status, 503);
        const versioned = await both("/version?full=1", green, () => (server.respond = (path) => (path === "/version?full=1" ? { status: 203, headers: { "X-Version": "v1.6.0" }, body: '{"v":1}' } : undefined)));
        assert.deepStrictEqual([versioned.status, versioned.version, versioned.body], [203, "v1.6.0", '{"v":1}']);
        const aborted = AbortSignal.abort(new Error("stopped"));
        await assert.rejects(scenarioFetcher(`${baseUrl}/healthz`, { headers: green, signal: aborted }), /stopped/);
        await assert.rejects(nodeFetcher(`${baseUrl}/healthz`, { headers: green, signal: aborted }), /stopped/);
    });
});

describe("driver: engine events and CI identity", () => {
    it("collects one step per URN from resourcePreEvents, keeping the replacement and the ARN", () => {
        const collector = new StepCollector();
        const event = (op: string, urn: string, extra: Record<string, unknown> = {}) =>
            ({ sequence: 0, timestamp: 0, resourcePreEvent: { metadata: { op, urn, type: urn.split("::")[2].split("$").pop(), provider: "", diffs: ["defaultActions"], ...extra } } }) as unknown as EngineEvent;
        const listener = "urn:pulumi:production::shiftwise::shiftwise:traffic:WeightedListener$aws:lb/listener:Listener::shop";
        const task = "urn:pulumi:production::shiftwise::shiftwise:ecs:ColourService$aws:ecs/taskDefinition:TaskDefinition::shop-green";
        collector.onEvent(event("update", listener, { old: { outputs: { arn: "arn:listener" }, parent: "urn:parent", retainOnDelete: false } }));
        collector.onEvent(event("create-replacement", task));
        collector.onEvent(event("replace", task));
        collector.onEvent(event("delete-replaced", task));
        const steps = collector.changes().steps;
        assert.deepStrictEqual(steps.map((s) => [s.op, s.arn, s.parent]), [["update", "arn:listener", "urn:parent"], ["replace", undefined, undefined]]);
    });

    it("records who started a deployment from the GitHub Actions environment", () => {
        const by = startedBy({ GITHUB_ACTIONS: "true", GITHUB_ACTOR: "octocat", GITHUB_REPOSITORY: "acme/shop", GITHUB_RUN_ID: "7", GITHUB_SERVER_URL: "https://github.com", GITHUB_SHA: "abc" }, "runner", "host");
        assert.deepStrictEqual(by, { user: "octocat", host: "host", ci: { system: "github-actions", actor: "octocat", repository: "acme/shop", runId: "7", sha: "abc", runUrl: "https://github.com/acme/shop/actions/runs/7" } });
        assert.deepStrictEqual(startedBy({}, "alice", "laptop"), { user: "alice", host: "laptop" });
    });
});
