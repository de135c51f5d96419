// Scenario tests of the rollout driver on the real program graph.
import * as assert from "assert";
import { deploy, resume } from "../rollout/driver";
import { ExitCode } from "../rollout/exitCodes";
import { rollbackCommand } from "../rollout/rollback";
import { ALARMS, PLATFORMS, RELEASE, harness, useSmokeServer, productionConfig } from "./fakes/rollout";
import { COLOUR_COMPONENT } from "./harness";

/**
 * The rollout driver's scenarios, end to end: the fake stack evaluates the
 * real index.ts for every preview and up, AWS is the real SDK adapter on
 * mocked transport, smoke checks hit a real HTTP server on 127.0.0.1, and the
 * clock is virtual. Each scenario asserts the final config, the calls made and
 * the record written.
 */

const LISTENER = "aws:lb/listener:Listener";

/** The colour's workload on each platform, and the key a count change touches. */
const WORKLOAD = {
    ecs: { type: "aws:ecs/service:Service", countKey: "desiredCount" },
    kubernetes: { type: "kubernetes:apps/v1:Deployment", countKey: "spec" },
} as const;

const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");

for (const platform of PLATFORMS) describe(`rollout driver scenarios (${platform})`, function () {
    const colourComponent = COLOUR_COMPONENT[platform];
    const workload = WORKLOAD[platform];
    this.timeout(60_000);
    const { server, url: smokeUrl } = useSmokeServer();
    let smokeBaseUrl = "";
    before(() => {
        smokeBaseUrl = smokeUrl();
    });

    const checkpoint = productionConfig({}, platform);

    it("a healthy release goes through every step, each one a listener-only update verified in AWS", async () => {
        const h = harness({ platform, smokeBaseUrl });
        const outcome = await deploy(h.deps, { ...RELEASE, smokeBaseUrl });

        assert.strictEqual(outcome.exitCode, ExitCode.success, outcome.message);
        assert.deepStrictEqual(h.stack.section("traffic"), { blue: 0, green: 100 });
        assert.strictEqual((h.stack.section("green") as { version: string }).version, "v1.6.0");
        assert.strictEqual((h.stack.section("green") as { image: string }).image, RELEASE.image);
        assert.deepStrictEqual(h.stack.section("blue"), JSON.parse(checkpoint["shiftwise:blue"]), "the stable colour is untouched and stays warm");

        // prepare, then one up per step; every step changed exactly the forwarding listener
        assert.strictEqual(h.stack.ups.length, 5);
        const prepare = h.stack.ups[0].changes.steps;
        assert.ok(prepare.every((step) => step.urn.includes(colourComponent) && step.urn.endsWith("shop-green")), JSON.stringify(prepare.map((s) => s.urn)));
        for (const up of h.stack.ups.slice(1)) {
            assert.deepStrictEqual(up.changes.steps.map((step) => [step.op, step.type, step.diffs]), [["update", LISTENER, ["defaultActions"]]]);
        }
        assert.deepStrictEqual(
            h.stack.calls.filter((call) => call.startsWith("setConfig shiftwise:traffic")),
            [5, 25, 50, 100].map((percent) => `setConfig shiftwise:traffic.blue=${100 - percent} shiftwise:traffic.green=${percent}`),
        );
        // every poll re-reads the listener: at least once per 30 s poll of each 10-minute bake and of the 10-minute watch
        assert.ok(h.aws.commands().filter((name) => name === "DescribeListenersCommand").length >= 5 * 20, "the listener is read at every poll");
        // the smoke check, then probes every 10 s through every bake and the watch, all to the candidate
        // ...each carrying the stack's test token, read from the secret stack output
        assert.deepStrictEqual(server.requests[0], { path: "/healthz", colour: "green", token: await h.stack.secretOutput("testToken") });
        assert.match(server.requests[0].token ?? "", /^[A-Za-z0-9]{48}$/);
        assert.ok(server.requests.length >= 1 + 5 * 60, `${server.requests.length} requests`);
        assert.ok(server.requests.every((request) => request.colour === "green" && request.path === "/healthz"));
        // every step's up was restricted to exactly the listener it previewed
        const listenerUrn = h.stack.ups[1].changes.steps[0].urn;
        assert.deepStrictEqual(h.stack.ups.slice(1).map((up) => up.targets), [[listenerUrn], [listenerUrn], [listenerUrn], [listenerUrn]]);
        assert.deepStrictEqual(h.stack.ups[0].targets, prepare.map((step) => step.urn), "the release up was restricted to the candidate's previewed resources");

        const record = outcome.record!;
        assert.strictEqual(record.status, "succeeded");
        assert.deepStrictEqual(h.records.read(outcome.recordFile!), record, "the record on disk is the final one");
        assert.deepStrictEqual(record.checkpoint.traffic, { blue: 100, green: 0 });
        assert.deepStrictEqual(record.checkpoint.versions, { blue: "v1.4.2", green: "v1.5.0" });
        assert.strictEqual(record.checkpoint.config["shiftwise:green"].value, checkpoint["shiftwise:green"]);
        assert.strictEqual(record.startedBy.ci?.runUrl, "https://github.com/acme/shop/actions/runs/42");
        assert.deepStrictEqual(
            record.stages.map((stage) => [stage.name, stage.outcome]),
            [["pre-flight", "ok"], ["checkpoint", "ok"], ["prepare", "ok"], ...[5, 25, 50, 100].flatMap((p) => [[`shift ${p}%`, "ok"], [`bake ${p}%`, "ok"]]), ["watch 10 min", "ok"], ["finish", "ok"]],
        );
        assert.deepStrictEqual(record.steps.map((step) => step.outcome), ["promoted", "promoted", "promoted", "promoted"]);
        assert.ok(record.steps.every((step) => (step.requests ?? 0) >= 200), JSON.stringify(record.steps.map((s) => s.requests)));
        assert.strictEqual(record.durationsSeconds!["bake 5%"], 600, "each bake lasts bakeMinutes on the virtual clock");
    });

    it("ALARM at the second step rolls back to the checkpoint config exactly, traffic first", async () => {
        const h = harness({ platform, smokeBaseUrl });
        h.stack.beforeUp = (n) => {
            if (n === 3) h.aws.scenario.alarms[ALARMS.green] = "ALARM"; // the up of the 25% step
        };
        const outcome = await deploy(h.deps, { ...RELEASE, smokeBaseUrl });

        assert.strictEqual(outcome.exitCode, ExitCode.rolledBack, outcome.message);
        assert.deepStrictEqual(h.stack.engineConfig(), checkpoint);
        const record = outcome.record!;
        assert.strictEqual(record.status, "rolled-back");
        assert.deepStrictEqual(record.steps.map((s) => [s.percent, s.outcome]), [[5, "promoted"], [25, "alarm"]]);
        assert.match(record.rollbacks[0].reason, /shop-production-green-rollback is ALARM at 25%/);
        assert.deepStrictEqual(record.rollbacks[0].phases.map((p) => p.name), ["write", "capacity", "traffic", "config", "verify"]);
        assert.strictEqual(record.rollbacks[0].phases[1].changed, undefined, "blue already ran its checkpoint count: no up");
        assert.deepStrictEqual(record.rollbacks[0].phases[2].problems, [], "the traffic phase changed only the listener");
        // the rollback's first up moved only the listener; the second reverted only the idle candidate
        const [trafficUp, configUp] = h.stack.ups.slice(3);
        assert.deepStrictEqual(trafficUp.changes.steps.map((s) => s.type), [LISTENER]);
        assert.ok(configUp.changes.steps.every((s) => s.urn.includes(colourComponent)), JSON.stringify(configUp.changes.steps.map((s) => s.urn)));
        assert.strictEqual(h.stack.ups.length, 5);
    });

    it("an up that fails mid-step rolls back and records why", async () => {
        const h = harness({ platform, smokeBaseUrl });
        h.stack.failUp = (n) => (n === 3 ? new Error("ModifyListener: throttled") : undefined);
        const outcome = await deploy(h.deps, { ...RELEASE, smokeBaseUrl });

        assert.strictEqual(outcome.exitCode, ExitCode.rolledBack, outcome.message);
        assert.deepStrictEqual(h.stack.engineConfig(), checkpoint);
        assert.match(outcome.record!.error!, /pulumi up failed at 25%: ModifyListener: throttled/);
        assert.deepStrictEqual(outcome.record!.steps.map((s) => [s.percent, s.outcome]), [[5, "promoted"], [25, "failed"]]);
        assert.strictEqual(outcome.record!.rollbacks[0].outcome, "succeeded");
    });

    it("an interrupt during the bake rolls back, records it and exits non-zero", async () => {
        const h = harness({ platform, smokeBaseUrl });
        h.clock.onSleep = () => {
            const step = h.records.latest()?.steps[1];
            if (step && h.clock.minutesSince(step.startedAt) >= 3) h.controller.abort(new Error("SIGTERM"));
        };
        const outcome = await deploy(h.deps, { ...RELEASE, smokeBaseUrl });

        assert.strictEqual(outcome.exitCode, ExitCode.rolledBack);
        assert.deepStrictEqual(h.stack.engineConfig(), checkpoint);
        const record = outcome.record!;
        assert.strictEqual(record.rollbacks[0].reason, "interrupted by a signal");
        assert.deepStrictEqual(record.steps.map((s) => s.outcome), ["promoted", "interrupted"]);
        assert.strictEqual(record.stages.find((s) => s.name === "bake 25%")?.outcome, "interrupted");
    });

    it("a freeze window refuses without changing anything; --hotfix proceeds and records the reason", async () => {
        // The shared config freezes weekends; 2025-03-08 is a Saturday (the other scenarios run on a Tuesday).
        const saturday = "2025-03-08T10:00:00Z";
        const refused = harness({ platform, smokeBaseUrl, start: saturday });
        const outcome = await deploy(refused.deps, { ...RELEASE, smokeBaseUrl });
        assert.strictEqual(outcome.exitCode, ExitCode.refused);
        assert.match(outcome.message, /freeze window sat,sun all day \(UTC\) \(weekend\); pass --hotfix/);
        assert.deepStrictEqual(refused.stack.calls, []);
        assert.deepStrictEqual(refused.records.list(), []);

        const hotfix = harness({ platform, smokeBaseUrl, start: saturday });
        const done = await deploy(hotfix.deps, { ...RELEASE, smokeBaseUrl, hotfix: "CVE-2025-0001 in the TLS library" });
        assert.strictEqual(done.exitCode, ExitCode.success, done.message);
        assert.deepStrictEqual(done.record!.hotfix, { reason: "CVE-2025-0001 in the TLS library", freezeWindow: "sat,sun all day (UTC) (weekend)" });
        assert.strictEqual(done.record!.stages[0].detail, "hotfix: CVE-2025-0001 in the TLS library");
    });

    it("pre-flight refuses when the stable colour is in ALARM or short of healthy hosts", async () => {
        const h = harness({ platform, smokeBaseUrl, scenario: { alarms: { [ALARMS.blue]: "ALARM", [ALARMS.green]: "OK" }, healthy: { blue: 2 } } });
        const outcome = await deploy(h.deps, { ...RELEASE, smokeBaseUrl });
        assert.strictEqual(outcome.exitCode, ExitCode.refused);
        assert.deepStrictEqual(outcome.problems, [
            "the stable colour's composite alarm shop-production-blue-rollback is ALARM, not OK",
            "the stable colour blue has 2 healthy target(s), fewer than its desiredCount 3",
        ]);
        assert.deepStrictEqual(h.stack.calls, []);
        assert.deepStrictEqual(h.stack.engineConfig(), checkpoint);
        assert.deepStrictEqual(h.records.list(), []);
    });

    it("pre-flight refuses when the checkpoint preview is not clean", async () => {
        const h = harness({ platform, smokeBaseUrl });
        h.stack.edit("green", { ...JSON.parse(checkpoint["shiftwise:green"]), desiredCount: 4 }); // set but never applied
        const edited = h.stack.engineConfig();
        const outcome = await deploy(h.deps, { ...RELEASE, smokeBaseUrl });
        assert.strictEqual(outcome.exitCode, ExitCode.refused);
        assert.match(outcome.problems![0], new RegExp(`^the current config does not match the deployed stack \\(1 pending change\\(s\\): update urn:pulumi:production::shiftwise::.*${escape(workload.type)}::shop-green \\(${workload.countKey}\\)\\)`));
        assert.deepStrictEqual(h.stack.calls, ["preview"]);
        assert.deepStrictEqual(h.stack.engineConfig(), edited);
        assert.deepStrictEqual(h.records.list(), []);
    });

    it("low traffic pauses at maxBakeMinutes instead of promoting", async () => {
        const h = harness({ platform, smokeBaseUrl, scenario: { alarms: { [ALARMS.blue]: "OK", [ALARMS.green]: "OK" }, requestsPerMinute: 40 } });
        const outcome = await deploy(h.deps, { ...RELEASE, smokeBaseUrl });

        assert.strictEqual(outcome.exitCode, ExitCode.paused, outcome.message);
        assert.deepStrictEqual(h.stack.section("traffic"), { blue: 95, green: 5 });
        const record = outcome.record!;
        assert.strictEqual(record.status, "paused");
        assert.deepStrictEqual(record.steps.map((s) => [s.percent, s.outcome, s.requests]), [[5, "low-traffic", 120]]);
        assert.deepStrictEqual(record.pause, { afterPercent: 5, reason: "only 120 of 200 requests in 60 min", at: "2025-03-04T11:00:00.000Z" });
        assert.strictEqual(h.stack.ups.length, 2);
    });

    it("a rollback after completion moves traffic with one listener update, then restores the checkpoint", async () => {
        const h = harness({ platform, smokeBaseUrl });
        const done = await deploy(h.deps, { ...RELEASE, smokeBaseUrl });
        assert.strictEqual(done.exitCode, ExitCode.success);
        const upsBefore = h.stack.ups.length;

        const outcome = await rollbackCommand({ ...h.deps, by: { user: "oncall", host: "laptop" } });
        assert.strictEqual(outcome.exitCode, ExitCode.success, outcome.message);
        const [trafficUp, configUp] = h.stack.ups.slice(upsBefore);
        assert.deepStrictEqual(trafficUp.changes.steps.map((s) => [s.op, s.type]), [["update", LISTENER]]);
        assert.ok(configUp.changes.steps.every((s) => s.urn.includes(colourComponent) && s.urn.endsWith("shop-green")));
        assert.deepStrictEqual(h.stack.engineConfig(), checkpoint);
        const record = h.records.read(done.recordFile!);
        assert.strictEqual(record.status, "rolled-back");
        assert.deepStrictEqual(record.rollbacks.map((r) => [r.trigger, r.reason, r.outcome]), [["command", "requested by oncall", "succeeded"]]);
        assert.deepStrictEqual(record.rollbacks[0].phases[2].problems, []);
    });

    it("--pause-at stops after that step and resume completes the deployment", async () => {
        const h = harness({ platform, smokeBaseUrl });
        const paused = await deploy(h.deps, { ...RELEASE, smokeBaseUrl, pauseAt: 25 });
        assert.strictEqual(paused.exitCode, ExitCode.paused, paused.message);
        assert.deepStrictEqual(h.stack.section("traffic"), { blue: 75, green: 25 });
        assert.deepStrictEqual(paused.record!.pause?.afterPercent, 25);

        const refusedNew = await deploy(h.deps, { version: "v1.7.0", image: RELEASE.image.replace("v1.6.0", "v1.7.0"), smokeBaseUrl });
        assert.strictEqual(refusedNew.exitCode, ExitCode.refused);
        assert.ok(refusedNew.problems!.some((p) => /is paused: `shiftwise resume` or `shiftwise rollback` it first/.test(p)), refusedNew.message);

        const resumed = await resume(h.deps);
        assert.strictEqual(resumed.exitCode, ExitCode.success, resumed.message);
        assert.deepStrictEqual(h.stack.section("traffic"), { blue: 0, green: 100 });
        const record = h.records.read(paused.recordFile!);
        assert.strictEqual(record.status, "succeeded");
        // resume re-judged the 25% step with a fresh bake before it moved on
        assert.deepStrictEqual(record.steps.map((s) => [s.percent, s.outcome]), [[5, "promoted"], [25, "paused"], [25, "promoted"], [50, "promoted"], [100, "promoted"]]);
        assert.ok(record.stages.some((stage) => stage.name === "re-judge 25%" && stage.outcome === "ok"));
        assert.strictEqual(record.resumes?.length, 1);
        assert.strictEqual(record.checkpoint.traffic.green, 0, "the checkpoint is still the state before the deployment");
    });

    it("a failed rollback says what state the stack is in and how to retry", async () => {
        const h = harness({ platform, smokeBaseUrl });
        h.stack.beforeUp = (n) => {
            if (n === 3) h.aws.scenario.alarms[ALARMS.green] = "ALARM";
        };
        h.stack.failUp = (n) => (n >= 4 ? new Error("AccessDenied: elasticloadbalancing:ModifyListener") : undefined);
        const outcome = await deploy(h.deps, { ...RELEASE, smokeBaseUrl });

        assert.strictEqual(outcome.exitCode, ExitCode.rollbackFailed);
        assert.match(outcome.message, /rollback of .* failed during the traffic phase: AccessDenied/);
        assert.match(outcome.message, /stack config traffic: \{"blue":100,"green":0\} \(checkpoint \{"blue":100,"green":0\}\)/);
        assert.match(outcome.message, /listener in AWS: blue 75%, green 25%/);
        assert.match(outcome.message, new RegExp(`retry: shiftwise rollback --stack production --record ${outcome.recordFile!.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}`));
        assert.strictEqual(outcome.record!.status, "rollback-failed");
        assert.strictEqual(outcome.record!.rollbacks[0].outcome, "failed");
    });

    it("the guard fires when a step would change more than the listener", async () => {
        const h = harness({ platform, smokeBaseUrl });
        h.stack.beforeUp = (n) => {
            // someone scales the stable colour between the 25% step's preview and its up
            if (n === 3) h.stack.edit("blue", { ...JSON.parse(checkpoint["shiftwise:blue"]), desiredCount: 4 });
        };
        const outcome = await deploy(h.deps, { ...RELEASE, smokeBaseUrl });

        assert.strictEqual(outcome.exitCode, ExitCode.rolledBack, outcome.message);
        // the 25% up was restricted to the listener, so the edit did not ride along; the 50% preview shows it and is refused
        assert.deepStrictEqual(h.stack.ups[2].changes.steps.map((step) => step.type), [LISTENER]);
        assert.match(outcome.record!.error!, new RegExp(`step 50%: refused before the up: the update changed more than the forwarding listener: update urn:pulumi:production::shiftwise::.*${escape(workload.type)}::shop-blue \\(${workload.countKey}\\)`));
        assert.strictEqual(h.stack.ups.length, 3 + 2, "no up for the 50% step; the rollback's two");
        assert.deepStrictEqual(h.stack.engineConfig(), checkpoint, "the rollback restores the checkpoint, the stray edit included");
    });

    it("weights that did not take effect in AWS roll back", async () => {
        const h = harness({ platform, smokeBaseUrl });
        const outputs = (await h.stack.deployed()).outputs as Record<string, { targetGroupArn: string }>;
        h.stack.beforeUp = (n) => {
            if (n === 2) h.aws.scenario.staleWeights = { [outputs.blue.targetGroupArn]: 100, [outputs.green.targetGroupArn]: 0 };
            if (n === 3) h.aws.scenario.staleWeights = undefined;
        };
        const outcome = await deploy(h.deps, { ...RELEASE, smokeBaseUrl });
        assert.strictEqual(outcome.exitCode, ExitCode.rolledBack);
        assert.match(outcome.record!.error!, /step 5%: the weights did not take effect: .*shop-blue.* has weight 100 in AWS, expected 95/);
        assert.deepStrictEqual(h.stack.engineConfig(), checkpoint);
    });

    if (platform === "kubernetes") it("pre-flight refuses when the AWS Load Balancer Controller is missing from the cluster, and changes nothing", async () => {
        const h = harness({ platform, smokeBaseUrl, scenario: { alarms: { [ALARMS.blue]: "OK", [ALARMS.green]: "OK" }, controllerInstalled: false } });
        const outcome = await deploy(h.deps, { ...RELEASE, smokeBaseUrl });
        assert.strictEqual(outcome.exitCode, ExitCode.refused, outcome.message);
        assert.deepStrictEqual(outcome.problems, [
            "the AWS Load Balancer Controller is not installed in EKS cluster platform-production: its CRD targetgroupbindings.elbv2.k8s.aws is missing, so no pod would be registered in a target group; install the controller (README, Kubernetes colours: prerequisites) and deploy again",
        ]);
        assert.deepStrictEqual(h.stack.engineConfig(), checkpoint);
        assert.deepStrictEqual(h.stack.ups, []);
    });
});
