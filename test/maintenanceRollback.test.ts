// After a deploy --maintenance migration, rollback, rollback --migrate-down, resume and status never route users onto the old colour while the schema may be the new one.
import * as assert from "assert";
import * as os from "os";
import { RunTaskCommand } from "@aws-sdk/client-ecs";
import { deploy, resume } from "../rollout/driver";
import { Paused } from "../rollout/stages/context";
import { ExitCode } from "../rollout/exitCodes";
import { rollbackThenMigrateDown } from "../rollout/migrationDown";
import type { DeploymentRecord } from "../rollout/records";
import { rollbackCommand } from "../rollout/rollback";
import { setMaintenance } from "../rollout/maintenance";
import { silentReporter } from "../rollout/reporter";
import { PAGE_READS, awaitListenerAction, nextSteps } from "../rollout/maintenanceHold";
import { heldBehindPage, migrationMayHaveRun, pageMustStay } from "../rollout/pageRule";
import { behindPage, pageStory } from "../rollout/maintenanceResume";
import type { AwsPort } from "../ports/ports";
import { FakeClock } from "./fakes/fakeClock";
import type { FakeStack } from "./fakes/fakeStack";
import { renderStatus, stackStatus } from "../rollout/status";
import { EcsTaskPort } from "../ports/ecsTasks";
import { RELEASE, awsWeights, harness, killAt, productionConfig, useSmokeServer } from "./fakes/rollout";
import { MIGRATION, SUCCEEDS, TaskScriptState, mockDatabase, mockMigrationEcs } from "./fakes/migrationTasks";

const LISTENER = "aws:lb/listener:Listener";
const PAGE = "database upgrade to the v1.6 schema";
const BY = { user: "oncall", host: "laptop" };
const FAILS: readonly TaskScriptState[] = [{ lastStatus: "RUNNING" }, { lastStatus: "STOPPED", exitCode: 1, stoppedReason: "Essential container in task exited" }];

describe("after a deploy --maintenance migration: rollback, resume and status keep users off the old colour", function () {
    this.timeout(120_000);
    const smoke = useSmokeServer();

    /** A migrating harness; ECS answers the first RunTask's DescribeTasks from `states`, later ones from `later` (the down-migration). */
    function migrating(states: readonly TaskScriptState[]) {
        const h = harness({ smokeBaseUrl: smoke.url(), config: productionConfig({ database: { migration: MIGRATION } }) });
        const { ecsClient, ecs, seen } = mockMigrationEcs(h.stack, states);
        const database = mockDatabase();
        const deps = { ...h.deps, tasks: new EcsTaskPort(ecsClient), database: database.port, migrationPollMs: 30_000 };
        return { ...h, deps, ecs, seen };
    }
    type Migrating = ReturnType<typeof migrating>;

    async function page(h: Migrating): Promise<string> {
        return h.aws.port.listenerAction(((await h.stack.outputs()) as { listenerArn: string }).listenerArn);
    }

    async function released(h: Migrating): Promise<DeploymentRecord> {
        const outcome = await deploy(h.deps, { ...RELEASE, smokeBaseUrl: smoke.url(), maintenance: PAGE });
        assert.strictEqual(outcome.exitCode, ExitCode.success, outcome.message);
        return outcome.record!;
    }

    async function held(h: Migrating): Promise<DeploymentRecord> {
        const outcome = await deploy(h.deps, { ...RELEASE, smokeBaseUrl: smoke.url(), maintenance: PAGE });
        assert.strictEqual(outcome.exitCode, ExitCode.held, outcome.message);
        return outcome.record!;
    }

    it("rollback of a held release (its migration failed) keeps the page up: exit 7, nothing written, restore and --migrate-down named", async () => {
        const h = migrating(FAILS);
        await held(h);
        const calls = h.stack.calls.length;
        const outcome = await rollbackCommand({ ...h.deps, by: BY });
        assert.strictEqual(outcome.exitCode, ExitCode.held, outcome.message);
        assert.match(outcome.message, /^rollback of \S+ requested by oncall: not restoring blue's traffic, since blue \(v1\.4\.2\) is not expected to work on the schema the migration left\nThe maintenance page is kept up/);
        assert.match(outcome.message, /restore the pre-release snapshot shop-production-pre-v1-6-0 with:\n {7}aws rds restore-db-instance-from-db-snapshot /);
        assert.match(outcome.message, /shiftwise rollback --stack production --migrate-down/);
        assert.deepStrictEqual(h.stack.calls.slice(calls), [], "nothing was written or updated");
        assert.strictEqual(await page(h), "fixed-response");
        assert.deepStrictEqual(outcome.record?.rollbacks, []);
    });

    it("maintenance off refuses while a release is held behind the page: exit 3, nothing written, the page stays, the way out named; a stack with no held release turns it off", async () => {
        const h = migrating(FAILS);
        const record = await held(h);
        const calls = h.stack.calls.length;
        const off = () => setMaintenance({ stack: h.stack, clock: h.deps.clock, reporter: silentReporter, recordsDir: h.deps.records.dir, records: h.deps.records, by: BY }, { enabled: false });
        const refused = await off();
        assert.strictEqual(refused.exitCode, ExitCode.refused, refused.message);
        assert.strictEqual(
            refused.message,
            `refused; nothing was changed: release v1.6.0 is held behind the page: its migration may have changed the schema, and blue (v1.4.2) is not expected to work on it. ` +
                'Restore the database and then run `shiftwise rollback --stack production --schema-restored "<how>"`, or run `shiftwise rollback --stack production --migrate-down`; either takes the page down when it is safe',
        );
        assert.deepStrictEqual([refused.entry.outcome, refused.entry.problems], ["refused", ["release v1.6.0 is held behind the maintenance page"]]);
        assert.deepStrictEqual(h.stack.calls.slice(calls), [], "nothing was written or updated");
        assert.strictEqual(await page(h), "fixed-response");
        assert.strictEqual(record.status, "held");

        // The same stack once the record no longer holds it (the schema was restored): off applies.
        const latest = h.deps.records.latest()!;
        h.deps.records.save({ ...latest, maintenance: { ...latest.maintenance!, schemaRestored: { at: "2025-03-04T11:00:00.000Z", by: "oncall", how: "restored by hand" } } });
        const applied = await off();
        assert.strictEqual(applied.exitCode, ExitCode.success, applied.message);
        assert.strictEqual(await page(h), "forward");
    });

    it("rollback of a released maintenance release puts the page back up (listener only) instead of routing users to blue: exit 7, status held", async () => {
        const h = migrating(SUCCEEDS);
        await released(h);
        const ups = h.stack.ups.length;
        const outcome = await rollbackCommand({ ...h.deps, by: BY });
        assert.strictEqual(outcome.exitCode, ExitCode.held, outcome.message);
        assert.match(outcome.message, /The maintenance page is put back up \(database upgrade to the v1\.6 schema\)/);
        assert.deepStrictEqual(h.stack.ups.slice(ups).map((up) => up.changes.steps.map((step) => [step.type, step.op, step.diffs])), [[[LISTENER, "update", ["defaultActions"]]]]);
        assert.strictEqual(await page(h), "fixed-response");
        assert.deepStrictEqual(h.stack.section("traffic"), { blue: 0, green: 100 }, "the weights were not restored to blue");
        const record = h.records.latest()!;
        assert.deepStrictEqual([record.status, record.maintenance?.held?.page, record.rollbacks.length], ["held", "put back up", 0]);
    });

    it("rollback --schema-restored records who and how, then restores the checkpoint: one listener update takes the page down and blue serves again", async () => {
        const h = migrating(FAILS);
        await held(h);
        const outcome = await rollbackCommand({ ...h.deps, by: BY }, undefined, { schemaRestored: "snapshot shop-production-pre-v1-6-0 restored as shop-production" });
        assert.strictEqual(outcome.exitCode, ExitCode.success, outcome.message);
        const record = h.records.latest()!;
        assert.strictEqual(record.status, "rolled-back");
        assert.deepStrictEqual({ ...record.maintenance?.schemaRestored, at: undefined }, { at: undefined, by: "oncall", how: "snapshot shop-production-pre-v1-6-0 restored as shop-production" });
        const traffic = record.rollbacks[0].phases.find((phase) => phase.name === "traffic")!;
        assert.strictEqual(traffic.changed?.length, 1);
        assert.strictEqual(await page(h), "forward");
        assert.deepStrictEqual(await awsWeights(h), { blue: 100, green: 0 });
        assert.strictEqual(h.stack.section("maintenance"), undefined, "the checkpoint had no maintenance section");
    });

    it("--schema-restored on a release that is not a maintenance release is refused (exit 2), nothing changed", async () => {
        const h = harness({ smokeBaseUrl: smoke.url() });
        const outcome = await deploy(h.deps, { ...RELEASE, smokeBaseUrl: smoke.url() });
        assert.strictEqual(outcome.exitCode, ExitCode.success, outcome.message);
        const calls = h.stack.calls.length;
        const refused = await rollbackCommand({ ...h.deps, by: BY }, undefined, { schemaRestored: "nothing to restore" });
        assert.strictEqual(refused.exitCode, ExitCode.invalid, refused.message);
        assert.match(refused.message, /--schema-restored is for a deploy --maintenance release/);
        assert.deepStrictEqual(h.stack.calls.slice(calls), []);
    });

    it("rollback --migrate-down runs the down-migration behind the page (put back up first), then the checkpoint takes the page down", async () => {
        const h = migrating(SUCCEEDS);
        await released(h);
        const ups = h.stack.ups.length;
        const outcome = await rollbackThenMigrateDown({ ...h.deps, by: BY });
        assert.strictEqual(outcome.exitCode, ExitCode.success, outcome.message);
        assert.match(outcome.message, /^migration down succeeded, exit code 0 in \d+ s.*; then rolled back to the checkpoint of \S+ \(the listener update took the maintenance page down\)$/s);
        // The down command ran while AWS answered with the page.
        const runs = h.ecs.commandCalls(RunTaskCommand);
        assert.strictEqual(runs.length, 2);
        assert.deepStrictEqual((runs[1].args[0].input.overrides?.containerOverrides ?? [])[0]?.command, ["npm", "run", "migrate:down"]);
        assert.strictEqual(h.seen.atRunTask?.forwardingAction, "fixed-response");
        // The first update after the release put the page up; the listener's next update routed blue 100% and took it down.
        const listenerUps = h.stack.ups.slice(ups).filter((up) => up.changes.steps.some((step) => step.type === LISTENER));
        assert.deepStrictEqual(listenerUps.map((up) => [JSON.parse(up.config["shiftwise:maintenance"] ?? '{"enabled":false}').enabled, up.config["shiftwise:traffic"]]), [
            [true, '{"blue":0,"green":100}'],
            [false, '{"blue":100,"green":0}'],
        ]);
        const record = h.records.latest()!;
        assert.deepStrictEqual([record.status, record.migrationDown?.outcome], ["rolled-back", "succeeded"]);
        assert.match(record.maintenance?.schemaRestored?.how ?? "", /^shiftwise rollback --migrate-down by oncall: migration down succeeded/);
        assert.match(record.maintenance?.held?.reason ?? "", /^rollback --migrate-down of \S+: the down-migration runs behind the maintenance page$/);
        assert.strictEqual(await page(h), "forward");
        assert.deepStrictEqual(await awsWeights(h), { blue: 100, green: 0 });
    });

    it("a failed down-migration leaves the page up (exit 7) and restores nothing", async () => {
        // The release's migration succeeds; the down-migration (the next DescribeTasks answers) exits 1.
        const h = migrating(SUCCEEDS);
        await released(h);
        h.ecs.on(RunTaskCommand).resolves({ tasks: [{ taskArn: "arn:aws:ecs:eu-west-1:123456789012:task/shop/down", lastStatus: "PROVISIONING" }], failures: [] });
        const { DescribeTasksCommand } = await import("@aws-sdk/client-ecs");
        h.ecs.on(DescribeTasksCommand).resolves({ tasks: [{ taskArn: "arn:aws:ecs:eu-west-1:123456789012:task/shop/down", lastStatus: "STOPPED", startedAt: new Date(), stoppedReason: "Essential container in task exited", containers: [{ name: "migrate", exitCode: 3 }] }] });
        const outcome = await rollbackThenMigrateDown({ ...h.deps, by: BY });
        assert.strictEqual(outcome.exitCode, ExitCode.held, outcome.message);
        assert.match(outcome.message, /migration down failed, exit code 3/);
        assert.match(outcome.message, /the maintenance page stays up \(database upgrade to the v1\.6 schema\); no user is routed to blue$/);
        assert.strictEqual(await page(h), "fixed-response");
        assert.deepStrictEqual(h.stack.section("traffic"), { blue: 0, green: 100 });
        assert.deepStrictEqual(h.records.latest()?.rollbacks, []);
    });

    it("killed during prepare with the page up: status says the page is up and why; resume continues behind the page and takes it down at 100%", async () => {
        const h = migrating(SUCCEEDS);
        // Ups: 1 the snapshot, 2 the page, 3 the candidate. The runner dies once the candidate's up took effect.
        const dead = killAt(h, "up", 3, "after");
        void deploy(h.deps, { ...RELEASE, smokeBaseUrl: smoke.url(), maintenance: PAGE });
        await dead;
        h.stack.kill = undefined;
        const status = await stackStatus({ stack: h.stack, aws: h.aws.port, records: h.records });
        assert.strictEqual(status.maintenance?.reason, PAGE);
        assert.match(status.maintenance!.why, /^\S+ \(deploy --maintenance of v1\.6\.0, in-progress\) put it up at \S+ for a migration that is not backwards compatible; its migration succeeded; last stage prepare \(running\); if its runner \(pid \d+ on \S+\) died, `shiftwise resume --stack production` continues behind the page$/);
        assert.match(renderStatus(status), /^ {2}MAINTENANCE PAGE UP \(database upgrade to the v1\.6 schema\): /m);

        // The dead runner's pid is this process: resume from "another" process.
        const record = h.records.unfinished()!;
        record.runner = { host: "ci-runner-gone", pid: 1 };
        h.records.save(record);
        const runTasks = h.ecs.commandCalls(RunTaskCommand).length;
        const outcome = await resume(h.deps);
        assert.strictEqual(outcome.exitCode, ExitCode.success, outcome.message);
        const after = h.records.latest()!;
        assert.deepStrictEqual([after.resumes?.[0].after, after.resumes?.[0].by.user, after.runner?.pid, after.hotfix], ["crash", "octocat", process.pid, undefined]);
        assert.match(after.resumes?.[0].found ?? "", /^the maintenance page is up \(database upgrade to the v1\.6 schema\) since \S+: \S+ \(deploy --maintenance of v1\.6\.0\) put it up for a migration that is not backwards compatible; its migration succeeded; its last stage was prepare \(running when its runner died\)$/);
        assert.strictEqual(h.ecs.commandCalls(RunTaskCommand).length, runTasks, "the migration did not run again");
        // Before the crash: ... prepare (running). After: the migration stage re-read RDS and trusted the recorded success, then the rest.
        assert.deepStrictEqual(after.stages.map((stage) => stage.name).slice(-8), ["migration", "stable soak", "prepare", "shift 100%", "maintenance off", "bake 100%", "watch 10 min", "finish"]);
        assert.match(after.stages.filter((stage) => stage.name === "migration").at(-1)?.detail ?? "", /^already ran: migration up succeeded/);
        assert.strictEqual(await page(h), "forward");
        assert.deepStrictEqual(await awsWeights(h), { blue: 0, green: 100 });
    });

    /** A maintenance release whose runner died once the candidate's up (the third: snapshot, page, candidate) took effect, from "another" process. */
    async function diedBehindPage(): Promise<Migrating> {
        const h = migrating(SUCCEEDS);
        const dead = killAt(h, "up", 3, "after");
        void deploy(h.deps, { ...RELEASE, smokeBaseUrl: smoke.url(), maintenance: PAGE });
        await dead;
        h.stack.kill = undefined;
        const record = h.records.unfinished()!;
        record.runner = { host: "ci-runner-gone", pid: 1 };
        h.records.save(record);
        return h;
    }

    for (const [name, change, problem] of [
        ["its runner is still alive", (h: Migrating) => {
            const record = h.records.unfinished()!;
            record.runner = { host: os.hostname(), pid: process.ppid };
            h.records.save(record);
        }, /the runner that started \S+ \(pid \d+ on this host\) is still alive/],
        ["a person turned shiftwise:maintenance off", (h: Migrating) => h.stack.edit("maintenance", { enabled: false, reason: PAGE }), /shiftwise:maintenance is off in the stack config while AWS serves the page: a person changed it/],
        ["a person gave the candidate traffic", (h: Migrating) => h.stack.edit("traffic", { blue: 90, green: 10 }), /green carries 10% in shiftwise:traffic before the cutover started: a person changed it/],
        ["a freeze window began", async (h: Migrating) => h.clock.sleep(4 * 86_400_000), /inside the freeze window sat,sun all day \(UTC\) \(weekend\); resume after it, or pass --hotfix "<reason>" \(the page stays up meanwhile\)/],
    ] as const) {
        it(`resume behind the page refuses, changing nothing, when ${name}`, async () => {
            const h = await diedBehindPage();
            await change(h);
            const calls = h.stack.calls.length;
            const outcome = await resume(h.deps);
            assert.strictEqual(outcome.exitCode, ExitCode.refused, outcome.message);
            assert.match(outcome.message, /^cannot resume \S+; the maintenance page is up \(database upgrade to the v1\.6 schema\) since \S+: /);
            assert.match(outcome.message, problem);
            assert.deepStrictEqual(h.stack.calls.slice(calls), []);
            assert.strictEqual(await page(h), "fixed-response");
            assert.strictEqual(h.records.unfinished()?.resumes, undefined);
        });
    }

    it("a pause behind the page (a request during prepare) stays behind the page; resume goes on there, with no migration run twice", async () => {
        const h = migrating(SUCCEEDS);
        let paused = false;
        const deps = {
            ...h.deps,
            pollChecks: [
                async (_: unknown, where: string) => {
                    if (where !== "prepare" || paused) return;
                    paused = true;
                    throw new Paused("pause requested by oncall");
                },
            ],
        };
        const first = await deploy(deps, { ...RELEASE, smokeBaseUrl: smoke.url(), maintenance: PAGE });
        assert.strictEqual(first.exitCode, ExitCode.paused, first.message);
        assert.strictEqual(await page(h), "fixed-response");
        // A paused release has no runner: a live process under the recorded pid does not hold it.
        const pausedRecord = h.records.unfinished()!;
        pausedRecord.runner = { host: os.hostname(), pid: process.ppid };
        h.records.save(pausedRecord);
        const outcome = await resume(deps);
        assert.strictEqual(outcome.exitCode, ExitCode.success, outcome.message);
        const record = h.records.latest()!;
        assert.deepStrictEqual([record.resumes?.[0].after, record.pause, record.status], ["pause", undefined, "succeeded"]);
        assert.strictEqual(h.ecs.commandCalls(RunTaskCommand).length, 1);
        assert.deepStrictEqual(await awsWeights(h), { blue: 0, green: 100 });
    });

    it("--schema-restored needs to say how (exit 2), nothing changed", async () => {
        const h = migrating(FAILS);
        await held(h);
        const calls = h.stack.calls.length;
        const outcome = await rollbackCommand({ ...h.deps, by: BY }, undefined, { schemaRestored: "  " });
        assert.strictEqual(outcome.exitCode, ExitCode.invalid, outcome.message);
        assert.match(outcome.message, /^--schema-restored needs to say how the schema was restored/);
        assert.deepStrictEqual(h.stack.calls.slice(calls), []);
        assert.strictEqual(h.records.latest()?.maintenance?.schemaRestored, undefined);
    });

    it("resume behind the page lists every problem at once and prints one stage line", async () => {
        const h = await diedBehindPage();
        h.stack.edit("maintenance", { enabled: false, reason: PAGE });
        h.stack.edit("traffic", { blue: 90, green: 10 });
        const lines: string[] = [];
        const outcome = await resume({ ...h.deps, reporter: { line: (stage, message) => lines.push(`${stage}: ${message}`), progress: () => undefined } });
        assert.strictEqual(outcome.exitCode, ExitCode.refused, outcome.message);
        assert.match(outcome.message, /nothing was changed:\n {2}- shiftwise:maintenance is off .*\n {2}- green carries 10% in shiftwise:traffic/);
        assert.deepStrictEqual(lines.map((line) => line.replace(/: shiftwise:maintenance.*/, "")), ["resume: refused"]);
        assert.match(lines[0], /; green carries 10%/);
    });

    it("a maintenance release that died after its page came down resumes as any release at 100% (the page is not up, so nothing is held)", async () => {
        const h = migrating(SUCCEEDS);
        // Ups: 1 snapshot, 2 page up, 3 candidate, 4 page down; the runner dies once the page came down.
        const dead = killAt(h, "up", 4, "after");
        void deploy(h.deps, { ...RELEASE, smokeBaseUrl: smoke.url(), maintenance: PAGE });
        await dead;
        h.stack.kill = undefined;
        const record = h.records.unfinished()!;
        record.runner = { host: "ci-runner-gone", pid: 1 };
        h.records.save(record);
        assert.strictEqual(await page(h), "forward");
        const outcome = await resume(h.deps);
        assert.strictEqual(outcome.exitCode, ExitCode.success, outcome.message);
        const after = h.records.latest()!;
        assert.match(after.resumes?.[0].found ?? "", /^listener in AWS blue 0%, green 100%/);
        assert.ok(after.stages.some((stage) => stage.name === "re-judge 100%"));
    });

    it("resume behind the page with an invalid stack config refuses with exit 2 and every problem", async () => {
        const h = await diedBehindPage();
        h.stack.edit("traffic", { blue: 70, green: 20 });
        const outcome = await resume(h.deps);
        assert.strictEqual(outcome.exitCode, ExitCode.invalid, outcome.message);
        assert.deepStrictEqual(outcome.problems, ["shiftwise:traffic: blue (70) + green (20) = 90; weights must sum to 100"]);
    });

    it("resume --hotfix inside a freeze window goes on behind the page and records the hotfix", async () => {
        const h = await diedBehindPage();
        await h.clock.sleep(4 * 86_400_000);
        const outcome = await resume(h.deps, undefined, { hotfix: "the page is up" });
        assert.strictEqual(outcome.exitCode, ExitCode.success, outcome.message);
        assert.deepStrictEqual(h.records.latest()?.hotfix, { reason: "the page is up", freezeWindow: "sat,sun all day (UTC) (weekend)" });
    });

    it("killed during the cutover (page up, weights not yet written): resume runs only the cutover, and the dead step ends interrupted", async () => {
        const h = migrating(SUCCEEDS);
        // setConfig: 1 the snapshot's section, 2 the page, 3 the candidate's release config, 4 the cutover's weights.
        const dead = killAt(h, "setConfig", 4, "after");
        void deploy(h.deps, { ...RELEASE, smokeBaseUrl: smoke.url(), maintenance: PAGE });
        await dead;
        h.stack.kill = undefined;
        const record = h.records.unfinished()!;
        record.runner = { host: "ci-runner-gone", pid: 1 };
        h.records.save(record);
        const before = record.stages.length;
        assert.deepStrictEqual(h.stack.section("traffic"), { blue: 0, green: 100 }, "the dead runner had written the cutover's weights: not a person's move");
        const outcome = await resume(h.deps, undefined, { hotfix: "finish the window", smokeBaseUrl: smoke.url() + "/" });
        assert.strictEqual(outcome.exitCode, ExitCode.success, outcome.message);
        const after = h.records.latest()!;
        assert.deepStrictEqual([after.hotfix, after.probeBaseUrl], [{ reason: "finish the window", freezeWindow: "none when it resumed" }, smoke.url() + "/"]);
        assert.deepStrictEqual(after.stages.slice(before).map((stage) => stage.name), ["shift 100%", "maintenance off", "bake 100%", "watch 10 min", "finish"]);
        assert.deepStrictEqual(after.steps.map((step) => [step.percent, step.outcome]), [[100, "interrupted"], [100, "promoted"]]);
    });

    it("resume with no record at all says so (exit 2)", async () => {
        const h = migrating(SUCCEEDS);
        const outcome = await resume(h.deps);
        assert.strictEqual(outcome.exitCode, ExitCode.invalid, outcome.message);
        assert.match(outcome.message, /^no paused deployment of production$/);
    });

    it("the lines a person reads: the hold, a refused rollback and a refused resume each print one stage line", async () => {
        const h = migrating(FAILS);
        const lines: string[] = [];
        const reporter = { line: (stage: string, message: string) => lines.push(`${stage}: ${message}`), progress: () => undefined };
        const deps = { ...h.deps, reporter };
        await deploy(deps, { ...RELEASE, smokeBaseUrl: smoke.url(), maintenance: PAGE });
        assert.ok(lines.includes(`maintenance: held: the maintenance page is kept up (${PAGE}); no user is routed to a colour`), lines.join("\n"));
        lines.length = 0;
        await rollbackCommand({ ...deps, by: BY });
        assert.deepStrictEqual(lines.slice(0, 2), [`rollback: refused to route users to blue: the migration of ${h.records.latest()!.id} is not backwards compatible`, `maintenance: held: the maintenance page is kept up (${PAGE}); no user is routed to a colour`]);
    });

    it("heldBehindPage: only an unfinished release that is held and whose page must stay holds maintenance off back", () => {
        const ran = { direction: "up", outcome: "failed" } as DeploymentRecord["migration"];
        const mustStay = { status: "held", maintenance: { reason: PAGE }, migration: ran } as DeploymentRecord;
        const unfinished = (record?: DeploymentRecord) => ({ unfinished: () => record });
        assert.strictEqual(heldBehindPage(unfinished(mustStay)), mustStay);
        assert.strictEqual(heldBehindPage(unfinished(undefined)), undefined, "no unfinished record: nothing is held");
        assert.strictEqual(heldBehindPage(unfinished({ ...mustStay, status: "in-progress" })), undefined, "a release in progress is its driver's to settle, not held");
        assert.strictEqual(heldBehindPage(unfinished({ ...mustStay, maintenance: { reason: PAGE, schemaRestored: { at: "t", by: "me", how: "restored" } } })), undefined, "restored");
    });

    it("pageMustStay, migrationMayHaveRun and awaitListenerAction at their edges", async () => {
        const ran = { direction: "up", outcome: "failed" } as DeploymentRecord["migration"];
        assert.strictEqual(pageMustStay({ maintenance: undefined, migration: ran }), false, "not a maintenance release");
        assert.strictEqual(pageMustStay({ maintenance: { reason: PAGE }, migration: ran }), true);
        assert.strictEqual(pageMustStay({ maintenance: { reason: PAGE, schemaRestored: { at: "t", by: "me", how: "restored" } }, migration: ran }), false, "restored");
        assert.strictEqual(migrationMayHaveRun({ migration: undefined }), false);
        assert.strictEqual(migrationMayHaveRun({ migration: { ...ran!, outcome: "never-started" } }), false);
        assert.strictEqual(migrationMayHaveRun({ migration: { ...ran!, direction: "down" } }), false, "a down-migration is not the release's");
        for (const outcome of ["running", "succeeded", "failed", "timed-out", "interrupted", "lost"] as const) assert.strictEqual(migrationMayHaveRun({ migration: { ...ran!, outcome } }), true, outcome);
        const reads = (actions: string[]) => {
            const clock = new FakeClock();
            let read = 0;
            const aws = { listenerAction: async () => actions[Math.min(read++, actions.length - 1)] } as unknown as AwsPort;
            return { clock, aws, reads: () => read };
        };
        const first = reads(["fixed-response"]);
        assert.strictEqual(await awaitListenerAction(first.aws, first.clock, "arn", "fixed-response"), "fixed-response");
        assert.deepStrictEqual([first.reads(), first.clock.sleeps], [1, []]);
        const second = reads(["forward", "fixed-response"]);
        assert.strictEqual(await awaitListenerAction(second.aws, second.clock, "arn", "fixed-response"), "fixed-response");
        assert.deepStrictEqual([second.reads(), second.clock.sleeps], [2, [5000]]);
        const never = reads(["forward", "redirect", "forward", "fixed-response"]);
        assert.strictEqual(await awaitListenerAction(never.aws, never.clock, "arn", "fixed-response"), "forward");
        assert.deepStrictEqual([never.reads(), never.clock.sleeps], [PAGE_READS, [5000, 5000]]);
    });

    it("nextSteps without a restore command in the outputs, and the story of a page whose up was never recorded", async () => {
        const h = migrating(FAILS);
        const record = await held(h);
        const stack = { ...h.stack, outputs: async () => ({}), getAllConfig: async () => ({}) } as unknown as FakeStack;
        assert.strictEqual(
            await nextSteps(stack, record, "up"),
            [
                "The maintenance page is up (database upgrade to the v1.6 schema): the migration of v1.6.0 may have changed the schema, and blue (v1.4.2) is not expected to work on it, so no user is routed to blue.",
                "To go back:",
                "  1. restore the pre-release snapshot (`pulumi stack output preReleaseSnapshot` has the command)",
                '     then: shiftwise rollback --stack production --schema-restored "<how>"   (restores the checkpoint; its listener update takes the page down)',
                "  2. or undo the migration behind the page: shiftwise rollback --stack production --migrate-down   (needs database.migration.downCommand)",
                "`shiftwise maintenance off --stack production` refuses while this release is held, since it routes users by shiftwise:traffic: either way above takes the page down once that is safe.",
            ].join("\n"),
        );
        const unrecorded = { ...record, maintenance: { reason: PAGE }, migration: undefined, stages: [{ name: "maintenance on", startedAt: "t" }] };
        assert.strictEqual(pageStory(unrecorded), `the maintenance page is up (${PAGE}) since an update its runner did not live to record: ${record.id} (deploy --maintenance of v1.6.0) put it up for a migration that is not backwards compatible; its migration had not started; its last stage was maintenance on (running when its runner died)`);
        assert.strictEqual(await behindPage(h.deps, { ...record, maintenance: undefined }), false);
        assert.strictEqual(await behindPage(h.deps, unrecorded), true, "AWS serves the page: the record's missing `on` does not matter");
    });

    it("resume of a held release refuses (exit 7) and says what to do", async () => {
        const h = migrating(FAILS);
        await held(h);
        const outcome = await resume(h.deps);
        assert.strictEqual(outcome.exitCode, ExitCode.held, outcome.message);
        assert.match(outcome.message, /is held behind the maintenance page; resume cannot go on, the database needs a person first:\nThe maintenance page is up/);
        const status = await stackStatus({ stack: h.stack, aws: h.aws.port, records: h.records });
        assert.match(status.maintenance!.why, /is held behind it since \S+: migration up failed, exit code 1/);
    });
});
