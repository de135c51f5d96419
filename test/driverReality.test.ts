// Scenario tests where the world disagrees with the driver's memory: stray edits, hand-moved listeners, alarms on either colour, throttling, failing probes, freezes, the watch at 100 %.
import * as assert from "assert";
import { deploy, resume } from "../rollout/driver";
import { ExitCode } from "../rollout/exitCodes";
import type { DeploymentRecord } from "../rollout/records";
import { ALARMS, Harness, RELEASE, harness, useSmokeServer, productionConfig } from "./fakes/rollout";

/**
 * Each scenario runs the real program graph (fake stack), the real SDK adapter
 * on mocked transport, a real HTTP server for smoke checks and probes, and a
 * virtual clock; reality changes behind the driver's back through the clock's
 * `onSleep` hook, as a person or AWS would change it during a bake.
 */

const DB_INSTANCE = "aws:rds/instance:Instance";
const LISTENER = "aws:lb/listener:Listener";

/** Runs `change` once, at the first sleep at least `minutes` into the stage named `stage`. */
function during(h: Harness, stage: string, minutes: number, change: () => void): void {
    let done = false;
    h.clock.onSleep = () => {
        const entry = h.records.latest()?.stages.find((s) => s.name === stage);
        if (!done && entry && !entry.finishedAt && h.clock.minutesSince(entry.startedAt) >= minutes) {
            done = true;
            change();
        }
    };
}

function stageOf(record: DeploymentRecord, name: string) {
    return record.stages.find((stage) => stage.name === name);
}

describe("rollout driver: reality over memory", function () {
    this.timeout(120_000);
    const { server, url: smokeUrl } = useSmokeServer();
    let smokeBaseUrl = "";
    before(() => {
        smokeBaseUrl = smokeUrl();
    });

    describe("a step cannot do more than planned", () => {
        it("a stray database.databaseName edit riding along the 25% step is refused before the up; no up replaces the database", async () => {
            const h = harness({ smokeBaseUrl });
            during(h, "bake 5%", 3, () => {
                const database = h.stack.section("database") as Record<string, unknown>;
                h.stack.edit("database", { ...database, databaseName: "shop_v2" });
            });
            const outcome = await deploy(h.deps, { ...RELEASE, smokeBaseUrl });

            assert.match(outcome.record!.error!, /^step 25%: refused before the up: the update changed more than the forwarding listener: replace urn:pulumi:production::shiftwise::.*aws:rds\/instance:Instance::shop/);
            const listenerUps = h.stack.ups.filter((up) => up.changes.steps.some((step) => step.type === LISTENER));
            assert.deepStrictEqual(listenerUps.map((up) => JSON.parse(up.config["shiftwise:traffic"])), [{ blue: 95, green: 5 }, { blue: 100, green: 0 }], "the listener moved to 5% and back, never to 25%");
            // No up of the deployment or of its rollback replaced the database. The rollback restores the checkpoint's
            // database section (all but the snapshot label fields), so the stray edit is undone in the stack file too.
            assert.ok(
                h.stack.ups.every((up) => up.changes.steps.every((step) => step.type !== DB_INSTANCE)),
                `an up replaced the database: ${JSON.stringify(h.stack.ups.map((up) => up.changes.steps.filter((s) => s.type === DB_INSTANCE).map((s) => s.op)))}`,
            );
            assert.strictEqual(outcome.exitCode, ExitCode.rolledBack, outcome.message);
            assert.strictEqual((h.stack.section("database") as { databaseName: string }).databaseName, "shop");
        });
    });

    describe("the listener and both colours, at every poll", () => {
        it("a listener moved by hand during a bake stops the deployment and is left as the human set it", async () => {
            const h = harness({ smokeBaseUrl });
            const outputs = (await h.stack.deployed()).outputs as Record<string, { targetGroupArn: string }>;
            during(h, "bake 25%", 3, () => {
                // on-call pulls green to 0 in the console
                h.aws.scenario.staleWeights = { [outputs.blue.targetGroupArn]: 100, [outputs.green.targetGroupArn]: 0 };
            });
            const outcome = await deploy(h.deps, { ...RELEASE, smokeBaseUrl });

            assert.strictEqual(outcome.exitCode, ExitCode.paused, outcome.message);
            assert.match(outcome.message, /the listener in AWS does not show the config's weights \(blue 75%, green 25%\): .*has weight 100 in AWS, expected 75.*changed outside shiftwise; the driver leaves it as it is and stops/);
            assert.strictEqual(h.stack.ups.length, 3, "prepare, 5% and 25%: nothing after the hand move");
            assert.deepStrictEqual(h.aws.scenario.staleWeights, { [outputs.blue.targetGroupArn]: 100, [outputs.green.targetGroupArn]: 0 });
            assert.deepStrictEqual(outcome.record!.steps.map((s) => [s.percent, s.outcome]), [[5, "promoted"], [25, "stopped"]]);
            assert.strictEqual(outcome.record!.rollbacks.length, 0, "the driver does not undo the human's move");
            assert.strictEqual(outcome.record!.status, "paused");
        });

        it("the stable colour in ALARM at 25% stops the deployment before it promotes, and says which colour", async () => {
            const h = harness({ smokeBaseUrl });
            during(h, "bake 25%", 3, () => (h.aws.scenario.alarms[ALARMS.blue] = "ALARM"));
            const outcome = await deploy(h.deps, { ...RELEASE, smokeBaseUrl });

            assert.strictEqual(outcome.exitCode, ExitCode.paused, outcome.message);
            assert.match(outcome.message, /^the stable colour blue's composite alarm shop-production-blue-rollback is ALARM at 75%/);
            assert.deepStrictEqual(h.stack.section("traffic"), { blue: 75, green: 25 });
            assert.deepStrictEqual(outcome.record!.steps.map((s) => [s.percent, s.outcome]), [[5, "promoted"], [25, "stable-alarm"]]);
        });

        it("INSUFFICIENT_DATA never promotes: the step waits, then pauses like low traffic", async () => {
            const h = harness({ smokeBaseUrl, scenario: { alarms: { [ALARMS.blue]: "OK", [ALARMS.green]: "INSUFFICIENT_DATA" } } });
            const outcome = await deploy(h.deps, { ...RELEASE, smokeBaseUrl });

            assert.strictEqual(outcome.exitCode, ExitCode.paused, outcome.message);
            assert.deepStrictEqual(h.stack.section("traffic"), { blue: 95, green: 5 });
            const step = outcome.record!.steps[0];
            assert.deepStrictEqual([step.percent, step.outcome, step.lastAlarmState], [5, "inconclusive", "INSUFFICIENT_DATA"]);
            assert.match(outcome.record!.pause!.reason, /no conclusive verdict in 60 min: inconclusive \(shop-production-green-rollback is INSUFFICIENT_DATA\)/);
            assert.strictEqual(h.clock.minutesSince(step.startedAt), 60);
        });

        it("one throttled AWS call during a bake does not roll back a healthy release", async () => {
            const h = harness({ smokeBaseUrl });
            during(h, "bake 25%", 3, () => (h.aws.scenario.throttle.DescribeAlarmsCommand = 1));
            const outcome = await deploy(h.deps, { ...RELEASE, smokeBaseUrl });

            assert.strictEqual(outcome.exitCode, ExitCode.success, outcome.message);
            assert.strictEqual(h.aws.scenario.throttle.DescribeAlarmsCommand, 0, "the throttle fired");
            assert.deepStrictEqual(outcome.record!.steps.map((s) => s.outcome), ["promoted", "promoted", "promoted", "promoted"]);
        });

        it("throttling beyond rollout.readErrorBudget stops judging and rolls back", async () => {
            const h = harness({ smokeBaseUrl });
            during(h, "bake 25%", 3, () => (h.aws.scenario.throttle.DescribeListenersCommand = 4));
            const outcome = await deploy(h.deps, { ...RELEASE, smokeBaseUrl });

            assert.strictEqual(outcome.exitCode, ExitCode.rolledBack, outcome.message);
            assert.match(outcome.record!.error!, /^cannot judge the release: 4 AWS read\(s\) in a row failed \(rollout.readErrorBudget 3\); last: ThrottlingException: Rate exceeded$/);
        });
    });

    describe("probes during the bake", () => {
        it("a candidate that starts failing its probe path is out of traffic in seconds, before any alarm", async () => {
            const h = harness({ smokeBaseUrl });
            let brokenAt: Date | undefined;
            during(h, "bake 25%", 2, () => {
                brokenAt = h.clock.now();
                server.respond = (_path, colour) => (colour === "green" ? { status: 500 } : undefined);
            });
            const outcome = await deploy(h.deps, { ...RELEASE, smokeBaseUrl });

            assert.strictEqual(outcome.exitCode, ExitCode.rolledBack, outcome.message);
            assert.match(outcome.record!.error!, /^bake 25%: 3 probe\(s\) of green failed, more than rollout.probe.failureBudget 2; last: http:\/\/127.0.0.1:\d+\/healthz -> HTTP 500$/);
            assert.deepStrictEqual(outcome.record!.steps.map((s) => [s.percent, s.outcome]), [[5, "promoted"], [25, "probe-failed"]]);
            const bakeEnd = new Date(stageOf(outcome.record!, "bake 25%")!.finishedAt!);
            assert.ok(bakeEnd.getTime() - brokenAt!.getTime() <= 30_000, `rolled back ${(bakeEnd.getTime() - brokenAt!.getTime()) / 1000} s after the break`);
            assert.strictEqual(h.aws.scenario.alarms[ALARMS.green], "OK", "no alarm was needed");
        });

        it("smoke checks assert the served version: a candidate still serving the old version is rolled back", async () => {
            const config = productionConfig({ rollout: { pollSeconds: 30, maxBakeMinutes: 60, smokeExpect: { versionHeader: "x-app-version" } } });
            const h = harness({ smokeBaseUrl, config });
            server.respond = () => ({ status: 200, headers: { "x-app-version": "v1.5.0" } });
            const outcome = await deploy(h.deps, { ...RELEASE, smokeBaseUrl });

            assert.strictEqual(outcome.exitCode, ExitCode.rolledBack, outcome.message);
            assert.match(outcome.record!.error!, /smoke checks failed: http:\/\/127.0.0.1:\d+\/healthz -> HTTP 200 but header x-app-version is "v1.5.0", expected "v1.6.0" after 6 attempt\(s\)/);
            assert.strictEqual(outcome.record!.steps.length, 0, "no traffic reached the candidate");
        });

        it("smoke checks and probes accept the version from a JSON field when it matches", async () => {
            const config = productionConfig({ rollout: { pollSeconds: 30, maxBakeMinutes: 60, smokeExpect: { versionJsonField: "version" } } });
            const h = harness({ smokeBaseUrl, config });
            server.respond = (_path, colour) => ({ status: 200, body: JSON.stringify({ version: colour === "green" ? "v1.6.0" : "v1.4.2" }) });
            const outcome = await deploy(h.deps, { ...RELEASE, smokeBaseUrl });
            assert.strictEqual(outcome.exitCode, ExitCode.success, outcome.message);
        });
    });

    describe("time", () => {
        it("a release does not walk into a freeze window that begins during it (UTC)", async () => {
            // 10:00 UTC start; the window begins at 10:25, during the 50% bake
            const config = productionConfig({ rollout: { pollSeconds: 30, maxBakeMinutes: 60, freezeWindows: [{ reason: "change board", start: "10:25", end: "12:00" }] } });
            const h = harness({ smokeBaseUrl, config });
            const outcome = await deploy(h.deps, { ...RELEASE, smokeBaseUrl });

            assert.strictEqual(outcome.exitCode, ExitCode.paused, outcome.message);
            assert.match(outcome.message, /the freeze window every day 10:25-12:00 UTC \(change board\) began before the 100% step/);
            assert.deepStrictEqual(h.stack.section("traffic"), { blue: 50, green: 50 });
        });

        it("freeze windows are read in their IANA zone; resume re-checks them and needs --hotfix inside one", async () => {
            // 17:00 Europe/Berlin is 16:00 UTC in March (CET); the release starts at 15:35 UTC, 16:35 in Berlin
            const config = productionConfig({ rollout: { pollSeconds: 30, maxBakeMinutes: 60, freezeWindows: [{ reason: "evening", start: "17:00", end: "23:00", timeZone: "Europe/Berlin" }] } });
            const h = harness({ smokeBaseUrl, config, start: "2025-03-04T15:35:00Z" });
            const paused = await deploy(h.deps, { ...RELEASE, smokeBaseUrl });
            assert.strictEqual(paused.exitCode, ExitCode.paused, paused.message);
            assert.match(paused.message, /freeze window every day 17:00-23:00 Europe\/Berlin \(evening\) began before the 100% step/);
            assert.deepStrictEqual(h.stack.section("traffic"), { blue: 50, green: 50 });

            const refused = await resume(h.deps);
            assert.strictEqual(refused.exitCode, ExitCode.refused, refused.message);
            assert.match(refused.message, /inside the freeze window every day 17:00-23:00 Europe\/Berlin \(evening\); resume after it, or pass --hotfix/);

            const resumed = await resume(h.deps, undefined, { hotfix: "INC-42 needs the fix" });
            assert.strictEqual(resumed.exitCode, ExitCode.success, resumed.message);
            const record = h.records.read(paused.recordFile!);
            assert.strictEqual(record.hotfix?.reason, "INC-42 needs the fix");
            assert.deepStrictEqual(record.steps.map((s) => [s.percent, s.outcome]), [[5, "promoted"], [25, "promoted"], [50, "promoted"], [50, "promoted"], [100, "promoted"]]);
        });

        it("resume re-judges the step it paused on instead of skipping to the next", async () => {
            const h = harness({ smokeBaseUrl, scenario: { alarms: { [ALARMS.blue]: "OK", [ALARMS.green]: "OK" }, requestsPerMinute: 40 } });
            const paused = await deploy(h.deps, { ...RELEASE, smokeBaseUrl });
            assert.strictEqual(paused.exitCode, ExitCode.paused, paused.message);

            h.aws.scenario.requestsPerMinute = 1000;
            h.aws.scenario.alarms[ALARMS.green] = "INSUFFICIENT_DATA";
            const again = await resume(h.deps);
            assert.strictEqual(again.exitCode, ExitCode.paused, "an unjudged 5% step is not promoted by resume");
            assert.deepStrictEqual(h.stack.section("traffic"), { blue: 95, green: 5 });
            assert.deepStrictEqual(again.record!.steps.map((s) => [s.percent, s.outcome]), [[5, "low-traffic"], [5, "inconclusive"]]);
        });
    });

    describe("after 100%", () => {
        it("the new stable colour is watched for watchMinutes; an ALARM then rolls back while the old colour is warm", async () => {
            const h = harness({ smokeBaseUrl });
            during(h, "watch 10 min", 4, () => (h.aws.scenario.alarms[ALARMS.green] = "ALARM"));
            const outcome = await deploy(h.deps, { ...RELEASE, smokeBaseUrl });

            assert.strictEqual(outcome.exitCode, ExitCode.rolledBack, outcome.message);
            assert.match(outcome.record!.error!, /the candidate green's composite alarm shop-production-green-rollback is ALARM at 100%/);
            assert.strictEqual(outcome.record!.watch?.outcome, "alarm");
            assert.deepStrictEqual(h.stack.section("traffic"), { blue: 100, green: 0 });
            assert.deepStrictEqual(h.stack.ups[5].changes.steps.map((s) => s.type), [LISTENER], "one listener update moved traffic back");
        });

        it("scaleDownAfterMinutes scales the old colour to zero after judging until then, restricted to its resources, and records it", async () => {
            const config = productionConfig({ rollout: { pollSeconds: 30, maxBakeMinutes: 60, scaleDownAfterMinutes: 30 } });
            const h = harness({ smokeBaseUrl, config });
            const outcome = await deploy(h.deps, { ...RELEASE, smokeBaseUrl });

            assert.strictEqual(outcome.exitCode, ExitCode.success, outcome.message);
            const record = outcome.record!;
            assert.deepStrictEqual({ ...record.scaledDown, at: undefined }, { colour: "blue", desiredCount: 3, at: undefined });
            assert.strictEqual((h.stack.section("blue") as { desiredCount: number }).desiredCount, 0);
            assert.strictEqual(h.clock.minutesSince(record.watch!.startedAt) >= 30, true);
            const last = h.stack.ups[h.stack.ups.length - 1];
            assert.ok(last.changes.steps.length > 0 && last.changes.steps.every((s) => s.urn.endsWith("shop-blue")), JSON.stringify(last.changes.steps.map((s) => s.urn)));
            assert.deepStrictEqual(last.targets, last.changes.steps.map((s) => s.urn));
            assert.deepStrictEqual(record.stages.slice(-3).map((s) => [s.name, s.outcome]), [["watch 30 min", "ok"], ["scale-down", "ok"], ["finish", "ok"]]);
        });
    });
});
