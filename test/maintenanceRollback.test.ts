// After a deploy --maintenance migration, rollback, rollback --migrate-down, resume and status never route users onto the old colour while the schema may be the new one.
import * as assert from "assert";
import { RunTaskCommand } from "@aws-sdk/client-ecs";
import { deploy, resume } from "../rollout/driver";
import { ExitCode } from "../rollout/exitCodes";
import { rollbackThenMigrateDown } from "../rollout/migrationDown";
import type { DeploymentRecord } from "../rollout/records";
import { rollbackCommand } from "../rollout/rollback";
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
        assert.match(after.resumes?.[0].found ?? "", /^the maintenance page is up \(database upgrade to the v1\.6 schema\) since \S+: \S+ \(deploy --maintenance of v1\.6\.0\) put it up for a migration that is not backwards compatible; its migration succeeded; its last stage was prepare \(running when its runner died\)$/);
        assert.strictEqual(h.ecs.commandCalls(RunTaskCommand).length, runTasks, "the migration did not run again");
        // Before the crash: ... prepare (running). After: the migration stage re-read RDS and trusted the recorded success, then the rest.
        assert.deepStrictEqual(after.stages.map((stage) => stage.name).slice(-8), ["migration", "stable soak", "prepare", "shift 100%", "maintenance off", "bake 100%", "watch 10 min", "finish"]);
        assert.match(after.stages.filter((stage) => stage.name === "migration").at(-1)?.detail ?? "", /^already ran: migration up succeeded/);
        assert.strictEqual(await page(h), "forward");
        assert.deepStrictEqual(await awsWeights(h), { blue: 0, green: 100 });
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
