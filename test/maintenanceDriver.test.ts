// deploy --maintenance on the real program graph: snapshot -> page up -> migration -> candidate verified behind the page -> 100 % -> page down, and every failure from the migration on holding the page up.
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { deploy, deployStages } from "../rollout/driver";
import { shiftwiseConfig } from "../rollout/stackView";
import { dryRun } from "../rollout/dryRun";
import { maintenancePage } from "../config/maintenancePage";
import { maintenanceRequestProblems } from "../rollout/maintenanceRequest";
import { recordEvents, releaseMessage } from "../rollout/releaseEvents";
import type { DeploymentRecord } from "../rollout/records";
import { ExitCode } from "../rollout/exitCodes";
import { EcsTaskPort } from "../ports/ecsTasks";
import { ALARMS, RELEASE, awsWeights, harness, productionConfig, useSmokeServer } from "./fakes/rollout";
import { MIGRATION, SUCCEEDS, TaskScriptState, mockDatabase, mockMigrationEcs } from "./fakes/migrationTasks";

const LISTENER = "aws:lb/listener:Listener";
const PAGE = "database upgrade to the v1.6 schema";

describe("rollout driver: deploy --maintenance", function () {
    this.timeout(120_000);
    const smoke = useSmokeServer();

    /** A migrating harness whose ECS answers DescribeTasks from `states`, and whose RDS is ready. */
    function migrating(states: readonly TaskScriptState[], sections: Record<string, Record<string, unknown>> = {}, rds = {}) {
        const h = harness({ smokeBaseUrl: smoke.url(), config: productionConfig({ database: { migration: MIGRATION }, ...sections }) });
        const { ecsClient, ecs, seen } = mockMigrationEcs(h.stack, states);
        const database = mockDatabase(rds);
        const deps = { ...h.deps, tasks: new EcsTaskPort(ecsClient), database: database.port, migrationPollMs: 30_000 };
        return { ...h, deps, ecs, seen, rds: database };
    }

    type Migrating = ReturnType<typeof migrating>;

    /** The deployed forwarding listener's default action type. */
    async function forwarding(h: Migrating): Promise<string> {
        const outputs = (await h.stack.outputs()) as { listenerArn: string };
        return h.aws.port.listenerAction(outputs.listenerArn);
    }

    /** For every up, in order: how many smoke requests had reached green before it. */
    function watchUps(h: Migrating): { greenRequestsBefore: number }[] {
        const seen: { greenRequestsBefore: number }[] = [];
        h.stack.beforeUp = () => seen.push({ greenRequestsBefore: smoke.server.requests.filter((request) => request.colour === "green").length });
        return seen;
    }

    it("runs snapshot -> maintenance on -> migration -> candidate verified behind the page -> 100% -> maintenance off, and records the window", async () => {
        const h = migrating(SUCCEEDS);
        const ups = watchUps(h);
        const outcome = await deploy(h.deps, { ...RELEASE, smokeBaseUrl: smoke.url(), maintenance: PAGE });
        assert.strictEqual(outcome.exitCode, ExitCode.success, outcome.message);
        const record = outcome.record!;
        assert.deepStrictEqual(
            record.stages.map((stage) => [stage.name, stage.outcome]),
            [
                ["pre-flight", "ok"],
                ["checkpoint", "ok"],
                ["snapshot", "ok"],
                ["maintenance on", "ok"],
                ["migration", "ok"],
                ["stable soak", "ok"],
                ["prepare", "ok"],
                ["shift 100%", "ok"],
                ["maintenance off", "ok"],
                ["bake 100%", "ok"],
                ["watch 10 min", "ok"],
                ["finish", "ok"],
            ],
        );
        // The migration ran while AWS answered with the page, never while a colour served users.
        assert.strictEqual(h.seen.atRunTask?.forwardingAction, "fixed-response");
        // The stable soak is skipped, and the record says why.
        assert.strictEqual(record.stableSoak?.outcome, "skipped");
        assert.match(record.stableSoak!.problem!, /^skipped: deploy --maintenance is for a migration that is not backwards compatible, so blue \(v1\.4\.2\) is not expected to work on the new schema/);
        assert.strictEqual(record.stableSoak?.polls, 0);
        // One step, straight to 100%: the old colour never shares users with the candidate on the new schema.
        assert.deepStrictEqual(record.steps.map((step) => [step.percent, step.traffic, step.outcome]), [[100, { blue: 0, green: 100 }, "promoted"]]);
        // The ups in order: snapshot + migration task, the page up (listener only), the candidate, the page down (listener only).
        const kinds = h.stack.ups.map((up) => {
            const types = new Set(up.changes.steps.map((step) => step.type));
            if (types.size === 1 && types.has(LISTENER)) return `listener (maintenance ${JSON.parse(up.config["shiftwise:maintenance"] ?? "{}").enabled === true ? "on" : "off"}, traffic ${up.config["shiftwise:traffic"]})`;
            return up.changes.steps.some((step) => step.type === "aws:rds/snapshot:Snapshot") ? "snapshot" : "candidate";
        });
        assert.deepStrictEqual(kinds, ["snapshot", 'listener (maintenance on, traffic {"blue":100,"green":0})', "candidate", 'listener (maintenance off, traffic {"blue":0,"green":100})']);
        for (const index of [1, 3]) assert.deepStrictEqual(h.stack.ups[index].changes.steps.map((step) => [step.op, step.diffs]), [["update", ["defaultActions"]]]);
        // The candidate was smoke-checked through the test listener after the page went up and before it came down.
        assert.strictEqual(ups[1].greenRequestsBefore, 0, "no green smoke check before the page went up");
        assert.ok(ups[3].greenRequestsBefore > 0, "green was verified through the test path before the page came down");
        // The window in the record, and one maintenance entry per page change under records/<stack>/maintenance.
        const window = record.maintenance!;
        assert.strictEqual(window.reason, PAGE);
        assert.deepStrictEqual([window.on?.changed, window.off?.changed], [[`update ${h.stack.ups[1].changes.steps[0].urn}`], [`update ${h.stack.ups[3].changes.steps[0].urn}`]]);
        assert.ok(window.on!.at < window.off!.at);
        assert.strictEqual(window.held, undefined);
        const entries = fs.readdirSync(path.join(h.records.dir, "maintenance")).sort();
        assert.deepStrictEqual(entries.map((name) => name.replace(/^\d{8}T\d{6}Z-/, "")), ["on.json", "off.json"]);
        for (const name of entries) assert.strictEqual(JSON.parse(fs.readFileSync(path.join(h.records.dir, "maintenance", name), "utf8")).by.user, "octocat", "who, from the CI environment");
        // What each stage says it did.
        const detail = (name: string) => record.stages.find((stage) => stage.name === name)?.detail;
        const listener = h.stack.ups[1].changes.steps[0].urn;
        assert.strictEqual(detail("maintenance on"), `the service answers 503 with the maintenance page (${PAGE}), read back from AWS; 1 resource(s) changed: update ${listener}; the test listener still reaches both colours`);
        assert.strictEqual(detail("stable soak"), record.stableSoak!.problem);
        assert.strictEqual(detail("shift 100%"), "shiftwise:traffic is green 100%, blue 0%, in one step (the old colour cannot serve the new schema, so no mix); no resource changed while the page is up");
        assert.strictEqual(detail("maintenance off"), `the page is down: the listener forwards green 100%, verified in AWS; update ${listener}`);
        assert.match(detail("bake 100%") ?? "", /^\d+\.\d min, \d+ requests, \d+ polls, alarms blue OK, green OK/);
        // The end state: the page down, green serves 100%.
        assert.strictEqual(await forwarding(h), "forward");
        assert.deepStrictEqual(await awsWeights(h), { blue: 0, green: 100 });
        assert.deepStrictEqual(h.stack.section("maintenance"), { enabled: false, reason: PAGE });
    });

    it("a failing migration keeps the page up: exit 7 (held), the old colour's traffic is not restored, the message names the restore command and maintenance off", async () => {
        const h = migrating([{ lastStatus: "RUNNING" }, { lastStatus: "STOPPED", exitCode: 1, stoppedReason: "Essential container in task exited" }]);
        const outcome = await deploy(h.deps, { ...RELEASE, smokeBaseUrl: smoke.url(), maintenance: PAGE });
        assert.strictEqual(outcome.exitCode, ExitCode.held, outcome.message);
        assert.match(outcome.message, /^migration up failed, exit code 1 in 30 s/);
        assert.match(outcome.message, /The maintenance page is kept up \(database upgrade to the v1\.6 schema\): the migration of v1\.6\.0 may have changed the schema, and blue \(v1\.4\.2\) is not expected to work on it, so no user is routed to blue\./);
        assert.match(outcome.message, /restore the pre-release snapshot shop-production-pre-v1-6-0 with:\n {7}aws rds restore-db-instance-from-db-snapshot /);
        assert.match(outcome.message, /shiftwise rollback --stack production --schema-restored "<how>"/);
        assert.match(outcome.message, /shiftwise rollback --stack production --migrate-down/);
        assert.match(outcome.message, /`shiftwise maintenance off --stack production` refuses while this release is held, since it routes users by shiftwise:traffic \(shiftwise:traffic: blue 100%, green 0%\): either way above takes the page down once that is safe\./);
        const record = outcome.record!;
        assert.strictEqual(record.status, "held");
        assert.deepStrictEqual([record.maintenance?.held?.page, record.rollbacks.length], ["kept up", 0]);
        assert.deepStrictEqual(record.stages.map((stage) => stage.name).slice(-2), ["maintenance on", "migration"]);
        // No update after the page went up: the listener still answers with the page, the candidate never started.
        assert.strictEqual(h.stack.ups.length, 2);
        assert.strictEqual(await forwarding(h), "fixed-response");
        assert.deepStrictEqual(h.stack.section("traffic"), { blue: 100, green: 0 });
        assert.deepStrictEqual(h.stack.section("maintenance"), { enabled: true, reason: PAGE });
        // Saved as held, so the next deploy refuses until the hold is resolved.
        assert.strictEqual(h.records.unfinished()?.id, record.id);
    });

    it("a candidate that alarms at 100% puts the page back up instead of routing users back to the old colour", async () => {
        const h = migrating(SUCCEEDS);
        h.clock.onSleep = () => {
            const bake = h.records.latest()?.stages.find((stage) => stage.name === "bake 100%");
            if (bake && h.clock.minutesSince(bake.startedAt) >= 2) h.aws.scenario.alarms[ALARMS.green] = "ALARM";
        };
        const outcome = await deploy(h.deps, { ...RELEASE, smokeBaseUrl: smoke.url(), maintenance: PAGE });
        assert.strictEqual(outcome.exitCode, ExitCode.held, outcome.message);
        assert.match(outcome.message, /The maintenance page is put back up \(database upgrade to the v1\.6 schema\)/);
        assert.match(outcome.message, /routes users by shiftwise:traffic \(shiftwise:traffic: blue 0%, green 100%\)/);
        const record = outcome.record!;
        assert.deepStrictEqual([record.status, record.maintenance?.held?.page, record.steps[0].outcome], ["held", "put back up", "alarm"]);
        // The last up is the page going back up (listener only), with the weights left at green 100%: blue never served again.
        const last = h.stack.ups.at(-1)!;
        assert.deepStrictEqual(last.changes.steps.map((step) => [step.type, step.op, step.diffs]), [[LISTENER, "update", ["defaultActions"]]]);
        assert.strictEqual(await forwarding(h), "fixed-response");
        assert.deepStrictEqual(h.stack.section("traffic"), { blue: 0, green: 100 });
        assert.deepStrictEqual(record.maintenance?.held?.changed, [`update ${last.changes.steps[0].urn}`]);
        assert.match(record.maintenance!.held!.reason, /^bake 100%|green/);
        const entries = fs.readdirSync(path.join(h.records.dir, "maintenance")).sort();
        const putBack = JSON.parse(fs.readFileSync(path.join(h.records.dir, "maintenance", entries.at(-1)!), "utf8"));
        assert.deepStrictEqual([putBack.enabled, putBack.outcome, putBack.by.user], [true, "applied", "octocat"]);
    });

    it("a page up before a migration that never ran comes down again with the ordinary rollback (exit 4)", async () => {
        // The snapshot is missing in RDS: the migration stage stops before RunTask.
        const h = migrating(SUCCEEDS, {}, { snapshotStatus: undefined });
        const outcome = await deploy(h.deps, { ...RELEASE, smokeBaseUrl: smoke.url(), maintenance: PAGE });
        assert.strictEqual(outcome.exitCode, ExitCode.rolledBack, outcome.message);
        assert.match(outcome.message, /the migration did not run/);
        assert.strictEqual(h.seen.atRunTask, undefined);
        assert.strictEqual(outcome.record!.status, "rolled-back");
        assert.strictEqual(await forwarding(h), "forward");
        assert.deepStrictEqual(await awsWeights(h), { blue: 100, green: 0 });
    });

    it("announces the page going up and coming down as release events, between the start and the outcome", async () => {
        const h = migrating(SUCCEEDS);
        const announced: string[] = [];
        let last: DeploymentRecord | undefined;
        const save = h.records.save.bind(h.records);
        h.records.save = (record) => {
            for (const event of recordEvents(last, record)) {
                const message = releaseMessage(event, { service: "shop", steps: [100], bakeMinutes: 10, maxBakeMinutes: 60 });
                announced.push(`${event.kind}: ${message.subject}${event.detail ? ` | ${event.detail}` : ""}`);
                if (event.kind === "start") assert.match(message.message, /MAINTENANCE WINDOW: the service answers 503 with a maintenance page \(database upgrade to the v1\.6 schema\)/);
            }
            last = structuredClone(record);
            return save(record);
        };
        const outcome = await deploy(h.deps, { ...RELEASE, smokeBaseUrl: smoke.url(), maintenance: PAGE });
        assert.strictEqual(outcome.exitCode, ExitCode.success, outcome.message);
        assert.deepStrictEqual(announced, [
            "start: [shiftwise] shop production v1.6.0 release starting",
            "maintenance: [shiftwise] shop production v1.6.0 maintenance page up | the maintenance page is up (database upgrade to the v1.6 schema) for the migration",
            "maintenance: [shiftwise] shop production v1.6.0 maintenance page down | the maintenance page is down; the candidate serves 100%",
            "outcome: [shiftwise] shop production v1.6.0 released",
        ]);
    });

    it("deploy --dry-run --maintenance shows the maintenance window in the schedule, and changes nothing", async () => {
        const h = migrating(SUCCEEDS);
        const report = await dryRun(h.deps, { ...RELEASE, maintenance: PAGE });
        assert.strictEqual(report.exitCode, ExitCode.success, report.problems.join("; "));
        assert.deepStrictEqual(report.schedule.map((entry) => entry.stage), ["checkpoint", "snapshot", "maintenance on", "migration", "stable soak", "prepare", "shift 100%", "maintenance off", "bake 100%", "watch"]);
        assert.strictEqual(report.schedule[2].what, "MAINTENANCE WINDOW starts: one listener update; users get 503 with the page (database upgrade to the v1.6 schema) for up to 25 min (the migration's timeout and prepare's health wait)");
        assert.deepStrictEqual(report.checks.find((check) => check.check === "maintenance window"), {
            check: "maintenance window",
            ok: true,
            evidence: "the page (database upgrade to the v1.6 schema) goes up after the snapshot and before the migration; no stable soak; green verified through the test listener, then 100% in one step and the page comes down; a failure from the migration on keeps the page up",
        });
        assert.deepStrictEqual(h.stack.ups, []);
        assert.ok(!h.stack.calls.some((call) => call.startsWith("setConfig")));
        // Without --maintenance the same stack shows the stepwise shift and the stable soak.
        const stepwise = await dryRun(h.deps, RELEASE);
        assert.deepStrictEqual(stepwise.schedule.map((entry) => entry.stage).slice(3, 6), ["stable soak", "prepare", "shift 5%"]);
        assert.ok(!stepwise.schedule.some((entry) => entry.stage.startsWith("maintenance")));
    });

    /** The target groups' weights the listener should serve, as a stale (hand-set) forward action. */
    async function forwardingTo(h: Migrating, traffic: { blue: number; green: number }): Promise<Record<string, number>> {
        const outputs = (await h.stack.outputs()) as Record<string, { targetGroupArn: string }>;
        return { [outputs.blue.targetGroupArn]: traffic.blue, [outputs.green.targetGroupArn]: traffic.green };
    }

    it("a page AWS does not show after its update stops the release before the migration, and the ordinary rollback restores blue (exit 4)", async () => {
        const h = migrating(SUCCEEDS);
        // AWS keeps forwarding to blue whatever the stack says (the update never took effect in AWS).
        h.aws.scenario.staleWeights = await forwardingTo(h, { blue: 100, green: 0 });
        const outcome = await deploy(h.deps, { ...RELEASE, smokeBaseUrl: smoke.url(), maintenance: PAGE });
        assert.strictEqual(outcome.exitCode, ExitCode.rolledBack, outcome.message);
        assert.match(outcome.message, /the listener in AWS still answers with forward after the maintenance update; the migration did not run/);
        assert.strictEqual(h.seen.atRunTask, undefined, "RunTask was never called");
        assert.strictEqual(outcome.record!.maintenance?.on, undefined);
        assert.deepStrictEqual(h.clock.sleeps.filter((ms) => ms === 5000).length >= 2, true, "AWS was read again, 5 s apart, before giving up");
    });

    it("a page that AWS shows only on the second read still lets the migration run", async () => {
        const h = migrating(SUCCEEDS);
        const stale = await forwardingTo(h, { blue: 100, green: 0 });
        h.stack.beforeUp = (up) => {
            if (up === 2) h.aws.scenario.staleWeights = stale;
        };
        h.clock.onSleep = () => (h.aws.scenario.staleWeights = undefined);
        const outcome = await deploy(h.deps, { ...RELEASE, smokeBaseUrl: smoke.url(), maintenance: PAGE });
        assert.strictEqual(outcome.exitCode, ExitCode.success, outcome.message);
        assert.strictEqual(h.seen.atRunTask?.forwardingAction, "fixed-response");
    });

    it("a page taken down by hand in AWS during prepare: the cutover refuses, and a page the driver cannot put back is exit 6 with what to do", async () => {
        const h = migrating(SUCCEEDS);
        const blue = await forwardingTo(h, { blue: 100, green: 0 });
        // The candidate is healthy only from its second health poll, so prepare sleeps once: meanwhile a person
        // sets the listener in the console back to forwarding to blue.
        h.aws.scenario.healthy = { green: 0 };
        h.clock.onSleep = () => {
            if (h.records.latest()?.stages.at(-1)?.name !== "prepare") return;
            h.aws.scenario.healthy = {};
            h.aws.scenario.staleWeights = blue;
        };
        const outcome = await deploy(h.deps, { ...RELEASE, smokeBaseUrl: smoke.url(), maintenance: PAGE });
        assert.strictEqual(outcome.exitCode, ExitCode.rollbackFailed, outcome.message);
        assert.match(outcome.message, /^the maintenance page is not up in AWS \(the listener answers with forward\): someone took it down; the cutover was not made\nthe maintenance page could not be put back up: the listener in AWS still answers with forward after the maintenance update/);
        assert.match(outcome.message, /put the page up now: shiftwise maintenance on --stack production --reason "database upgrade to the v1\.6 schema" \(if shiftwise:maintenance is already on and AWS still forwards, the listener was changed outside Pulumi: `pulumi up --refresh --stack production` puts the page back\)$/);
        const record = outcome.record!;
        assert.deepStrictEqual([record.status, record.maintenance?.held?.page], ["rollback-failed", "could not be put back up"]);
        assert.deepStrictEqual(h.stack.section("traffic"), { blue: 100, green: 0 }, "the cutover wrote no weights");
        assert.deepStrictEqual(record.steps.map((step) => [step.percent, step.outcome]), []);
    });

    it("a page whose update fails never lets the migration run: the ordinary rollback (exit 4) names why", async () => {
        const h = migrating(SUCCEEDS);
        h.stack.failUp = (up) => (up === 2 ? new Error("the backend is unavailable") : undefined);
        const outcome = await deploy(h.deps, { ...RELEASE, smokeBaseUrl: smoke.url(), maintenance: PAGE });
        assert.strictEqual(outcome.exitCode, ExitCode.rolledBack, outcome.message);
        assert.match(outcome.message, /^rolled back to the checkpoint: the maintenance page did not go up: pulumi up failed; shiftwise:maintenance is back to off: the backend is unavailable$/);
        assert.strictEqual(h.seen.atRunTask, undefined);
    });

    it("a candidate whose config a person changed during prepare: the cutover refuses a preview with changes, and the page stays up", async () => {
        const h = migrating(SUCCEEDS);
        smoke.server.respond = (_, colour) => {
            if (colour === "green") h.stack.edit("green", { ...(h.stack.section("green") as object), desiredCount: 4 });
            return undefined;
        };
        const outcome = await deploy(h.deps, { ...RELEASE, smokeBaseUrl: smoke.url(), maintenance: PAGE });
        assert.strictEqual(outcome.exitCode, ExitCode.held, outcome.message);
        assert.match(outcome.message, /^the cutover would change resources while the page is up: update urn:\S+::shop-green \(desiredCount\)/);
        assert.strictEqual(await forwarding(h), "fixed-response");
    });

    it("weights that do not take effect when the page comes down: the page is put back (here AWS keeps forwarding: exit 6 with what to do)", async () => {
        const h = migrating(SUCCEEDS);
        const blue = await forwardingTo(h, { blue: 100, green: 0 });
        h.stack.beforeUp = (up) => {
            if (up === 4) h.aws.scenario.staleWeights = blue;
        };
        const outcome = await deploy(h.deps, { ...RELEASE, smokeBaseUrl: smoke.url(), maintenance: PAGE });
        assert.strictEqual(outcome.exitCode, ExitCode.rollbackFailed, outcome.message);
        assert.match(outcome.message, /^the page came down, but the weights did not take effect: .+\nthe maintenance page could not be put back up/);
        assert.deepStrictEqual(outcome.record!.maintenance?.held?.changed?.length, 1, "the page's update ran; AWS did not follow");
    });

    it("the stages in order, with and without --maintenance", async () => {
        const config = shiftwiseConfig(Object.fromEntries(Object.entries(productionConfig({ database: { migration: MIGRATION } })).map(([key, value]) => [key, { value }])));
        const names = (request: Parameters<typeof deployStages>[0]) => deployStages(request, {}, config).map((stage) => stage.name);
        assert.deepStrictEqual(names({ ...RELEASE, maintenance: PAGE }), ["checkpoint", "snapshot", "maintenance on", "migration", "stable soak", "prepare", "shift 100%", "maintenance off", "bake 100%"]);
        assert.deepStrictEqual(names(RELEASE), ["checkpoint", "snapshot", "migration", "stable soak", "prepare", "shift"]);
    });

    it("a reason with spaces around it is trimmed once, for the page, the record and the candidate's config alike", async () => {
        const h = migrating(SUCCEEDS);
        const outcome = await deploy(h.deps, { ...RELEASE, smokeBaseUrl: smoke.url(), maintenance: `  ${PAGE}  ` });
        assert.strictEqual(outcome.exitCode, ExitCode.success, outcome.message);
        assert.strictEqual(outcome.record!.maintenance?.reason, PAGE);
        assert.deepStrictEqual(h.stack.section("maintenance"), { enabled: false, reason: PAGE });
    });

    it("a plain deploy while the page is up is refused with the plain message", async () => {
        const h = migrating(SUCCEEDS, { maintenance: { enabled: true, reason: "by hand" } });
        const outcome = await deploy(h.deps, { ...RELEASE, smokeBaseUrl: smoke.url() });
        assert.strictEqual(outcome.exitCode, ExitCode.refused, outcome.message);
        assert.match(outcome.message, /maintenance mode is on \(by hand\): the listener forwards nothing, so no step could be judged; turn it off with `shiftwise maintenance off --stack production` first/);
    });

    it("maintenanceRequestProblems: the reason, --pause-at and database.migration, each with its rule", () => {
        assert.deepStrictEqual(maintenanceRequestProblems({}), []);
        assert.deepStrictEqual(maintenanceRequestProblems({ maintenance: "ok" }, true), []);
        assert.deepStrictEqual(maintenanceRequestProblems({ maintenance: "ok" }), [], "unknown migration: pre-flight decides");
        assert.deepStrictEqual(maintenanceRequestProblems({ maintenance: "", pauseAt: 5 }, false), [
            '--maintenance "": the page\'s reason must not be empty; say why the service is down, e.g. database upgrade',
            "--pause-at 5 cannot be used with --maintenance: the release goes to 100% in one step behind the page (the old colour cannot serve the new schema), so there is no step to pause after",
            "--maintenance needs shiftwise:database.migration: it is for a migration that cannot be backwards compatible; a release without one keeps serving users on the old colour",
        ]);
        const longest = "x".repeat(1024 - maintenancePage("").length);
        assert.deepStrictEqual(maintenanceRequestProblems({ maintenance: longest }, true), []);
        assert.deepStrictEqual(maintenanceRequestProblems({ maintenance: `${longest}x` }, true), [`--maintenance "${longest}x": the page's reason makes the maintenance page longer than the 1024 characters an ALB fixed response carries; shorten it`]);
    });

    for (const [name, sections, request, exitCode, problem] of [
        ["without database.migration", { database: { migration: undefined } }, {}, ExitCode.invalid, /--maintenance needs shiftwise:database\.migration/],
        ["with --pause-at", {}, { pauseAt: 25 }, ExitCode.invalid, /--pause-at 25 cannot be used with --maintenance: the release goes to 100% in one step/],
        ["with an empty reason", {}, { maintenance: "  " }, ExitCode.invalid, /--maintenance " {2}": the page's reason must not be empty/],
        ["with the page already up", { maintenance: { enabled: true, reason: "by hand" } }, {}, ExitCode.refused, /maintenance mode is already on \(by hand\): deploy --maintenance puts the page up itself/],
    ] as const) {
        it(`pre-flight refuses --maintenance ${name}, before anything changes`, async () => {
            const h = migrating(SUCCEEDS, sections as Record<string, Record<string, unknown>>);
            const outcome = await deploy(h.deps, { ...RELEASE, smokeBaseUrl: smoke.url(), maintenance: PAGE, ...request });
            assert.strictEqual(outcome.exitCode, exitCode, outcome.message);
            assert.match(outcome.message, problem);
            assert.deepStrictEqual(h.stack.ups, []);
            assert.ok(!h.stack.calls.some((call) => call.startsWith("setConfig")));
        });
    }
});
