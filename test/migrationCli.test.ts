// The migration through the CLI: deploy runs it with the real ECS task port (SDK mocked), --migration-image, rollback --migrate-down, and the bin as a child process.
import * as assert from "assert";
import * as path from "path";
import { ECSClient, RunTaskCommand } from "@aws-sdk/client-ecs";
import { RDSClient } from "@aws-sdk/client-rds";
import { RdsDatabaseState } from "../ports/databaseState";
import { main } from "../cli/main";
import { CommandContext, processContext } from "../cli/commands";
import { EcsTaskPort } from "../ports/ecsTasks";
import { ExitCode } from "../rollout/exitCodes";
import { PROJECT_DIR } from "./harness";
import { BinResult, fakePulumiStack, pulumiCalls, shiftwise } from "./fakes/binProcess";
import { cliContext } from "./fakes/cliContext";
import { fakeAws } from "./fakes/fakeAws";
import { FakeStack } from "./fakes/fakeStack";
import { memoryLedgerContext } from "./fakes/memoryLedger";
import { MIGRATION, SUCCEEDS, imageOf, mockDatabase, mockMigrationEcs } from "./fakes/migrationTasks";
import { ALARMS, RELEASE, productionConfig, useSmokeServer } from "./fakes/rollout";

const MIGRATION_IMAGE = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/shop-migrations:v1.6.0";

describe("shiftwise deploy/rollback with database.migration (CLI in-process, ECS through aws-sdk-client-mock)", function () {
    this.timeout(120_000);
    const smoke = useSmokeServer();

    function cli(migration: Record<string, unknown> = MIGRATION) {
        const stack = new FakeStack({ stackName: "production", config: productionConfig({ database: { migration } }) });
        const aws = fakeAws(stack, { alarms: { [ALARMS.blue]: "OK", [ALARMS.green]: "OK" } });
        const { ecsClient, ecs, seen } = mockMigrationEcs(stack, SUCCEEDS);
        const regions: string[] = [];
        const out: string[] = [];
        const err: string[] = [];
        const base = cliContext("shiftwise-migration-cli-", {
            openStack: async () => stack,
            openAws: () => aws.port,
            openTasks: (region) => {
                regions.push(region);
                return new EcsTaskPort(ecsClient);
            },
            openDatabase: () => mockDatabase().port,
        });
        // The go/no-go of a migrating release wants a recovery point younger than a day.
        const recoveryPoint = { at: new Date(base.clock.now().getTime() - 3_600_000), source: "RDS automated backup rds:shop-production-2025-03-04" };
        const context: CommandContext = { ...base, ledger: memoryLedgerContext(base, undefined, [], { recoveryPoint }) };
        const run = (...args: string[]) => main(["node", "shiftwise", ...args], { stdout: (t) => out.push(t), stderr: (t) => err.push(t) }, context);
        return { stack, ecs, seen, regions, out, err, run };
    }
    const deployArgs = () => ["deploy", "--stack", "production", "--version", RELEASE.version, "--image", RELEASE.image, "--yes", "--smoke-base-url", smoke.url()];

    it("deploy runs snapshot, migration and stable soak through the context's task runner; --migration-image is the image RunTask runs", async () => {
        const c = cli();
        assert.strictEqual(await c.run(...deployArgs(), "--migration-image", MIGRATION_IMAGE), ExitCode.success, c.err.join("") + c.out.join(""));
        assert.deepStrictEqual(c.regions, ["eu-west-1"]);
        const stages = c.out.join("").split("\n").filter(Boolean).map((line) => line.replace(/^\S+ \[production\] ([^:]+):.*$/, "$1"));
        assert.deepStrictEqual(stages.slice(0, 7), ["go/no-go", "pre-flight", "checkpoint", "snapshot", "migration", "stable soak", "prepare"]);
        assert.strictEqual(c.seen.atRunTask?.migrationImage, MIGRATION_IMAGE, "the migration's task definition ran --migration-image");
        assert.strictEqual(await imageOf(c.stack, "shop-green"), RELEASE.image, "the candidate runs --image");
        assert.strictEqual((c.stack.section("database") as { migration: { image: string } }).migration.image, MIGRATION_IMAGE);
    });

    it("rollback --migrate-down restores the checkpoint, then runs the down command; without a down command it refuses before changing anything", async () => {
        const c = cli();
        assert.strictEqual(await c.run(...deployArgs()), ExitCode.success, c.err.join(""));
        c.out.length = 0;
        assert.strictEqual(await c.run("rollback", "--stack", "production", "--migrate-down", "--json"), ExitCode.success, c.err.join(""));
        const outcome = JSON.parse(c.out.join(""));
        assert.match(outcome.message, /^rolled back to the checkpoint of \S+-v1\.6\.0; migration down succeeded, exit code 0/);
        assert.deepStrictEqual(c.stack.section("traffic"), { blue: 100, green: 0 });
        const commands = c.ecs.commandCalls(RunTaskCommand).map((call) => call.args[0].input.overrides?.containerOverrides?.[0].command);
        assert.deepStrictEqual(commands, [MIGRATION.command, MIGRATION.downCommand]);
        assert.strictEqual(outcome.record.migrationDown.outcome, "succeeded");

        const { downCommand, ...noDown } = MIGRATION;
        void downCommand;
        const without = cli(noDown);
        assert.strictEqual(await without.run(...deployArgs()), ExitCode.success, without.err.join(""));
        const upsBefore = without.stack.ups.length;
        assert.strictEqual(await without.run("rollback", "--stack", "production", "--migrate-down"), ExitCode.invalid);
        assert.match(without.err.join(""), /no shiftwise:database\.migration\.downCommand is configured; restore the pre-release snapshot instead .*; nothing was changed/);
        assert.strictEqual(without.stack.ups.length, upsBefore, "the refusal changed nothing: no rollback ran");
        assert.deepStrictEqual(without.stack.section("traffic"), { blue: 0, green: 100 });
    });

    it("the real context builds the ECS task port and the RDS reader for the stack's region", async () => {
        const context = processContext(PROJECT_DIR);
        const tasks = context.openTasks?.("eu-central-1", {});
        assert.ok(tasks instanceof EcsTaskPort);
        assert.strictEqual(await (tasks as unknown as { ecs: ECSClient }).ecs.config.region(), "eu-central-1");
        const database = context.openDatabase?.("eu-central-1");
        assert.ok(database instanceof RdsDatabaseState);
        assert.strictEqual(await (database as unknown as { rds: RDSClient }).rds.config.region(), "eu-central-1");
    });
});

/** The bin as users run it, with a stand-in `pulumi` that answers with `config` (and empty outputs). */
describe("shiftwise migration flags (bin as a child process)", function () {
    this.timeout(120_000);

    /** The bin with the stand-in `pulumi` serving production's config with `sections`, run in the stand-in's folder, which is also its records folder. */
    async function bin(args: readonly string[], sections: Record<string, Record<string, unknown>> = {}): Promise<BinResult & { pulumiCalls: string }> {
        const { env: stackEnv, log } = fakePulumiStack(productionConfig(sections));
        const dir = path.dirname(log);
        const env = { ...stackEnv, AWS_ACCESS_KEY_ID: "testing", AWS_SECRET_ACCESS_KEY: "testing" };
        const result = await shiftwise(["--cwd", PROJECT_DIR, ...args, "--records-dir", dir], { cwd: dir, env });
        return { ...result, pulumiCalls: pulumiCalls(log).join("\n") };
    }
    const deploy = ["deploy", "--stack", "production", "--version", "v1.6.0", "--image", RELEASE.image, "--yes"];

    it("deploy of a stack with database.migration gets the ECS task runner: pre-flight goes past the runner check", async () => {
        const result = await bin(deploy, { database: { migration: MIGRATION } });
        const printed = result.stdout + result.stderr;
        assert.doesNotMatch(printed, /no task runner was given/);
        // The stand-in has no outputs, so pre-flight stops at the next read, after every request check passed.
        assert.strictEqual(result.code, ExitCode.refused, printed);
        assert.match(result.stdout, /pre-flight: refused: .*the stack outputs lack listenerArn/);
    });

    it("--migration-image: an unpinned image exits 2 before pulumi runs; on a stack without database.migration pre-flight says it needs one", async () => {
        const [latest, noMigration] = await Promise.all([
            bin([...deploy, "--migration-image", "shop-migrations:latest"]),
            bin([...deploy, "--migration-image", MIGRATION_IMAGE]),
        ]);
        assert.strictEqual(latest.code, ExitCode.invalid, latest.stderr);
        assert.match(latest.stderr, /option '--migration-image <ref>' argument 'shop-migrations:latest' is invalid\. "shop-migrations:latest" must not use :latest/);
        assert.strictEqual(latest.pulumiCalls, "", "pulumi was never run");
        assert.strictEqual(noMigration.code, ExitCode.invalid, noMigration.stderr);
        assert.match(noMigration.stderr, /--migration-image needs shiftwise:database\.migration/);
        assert.doesNotMatch(noMigration.stderr, /^\s+at /m);
    });

    it("rollback --migrate-down without a down command, or without a record, exits 2 and changes nothing", async () => {
        const { downCommand, ...noDown } = MIGRATION;
        void downCommand;
        const [none, noRecord] = await Promise.all([
            bin(["rollback", "--stack", "production", "--migrate-down"], { database: { migration: noDown } }),
            bin(["rollback", "--stack", "production", "--migrate-down", "--json"], { database: { migration: MIGRATION } }),
        ]);
        assert.strictEqual(noRecord.code, ExitCode.invalid, noRecord.stderr);
        assert.match(JSON.parse(noRecord.stdout).message, /^no deployment record in /);
        assert.strictEqual(none.code, ExitCode.invalid, none.stderr);
        for (const result of [none, noRecord]) assert.doesNotMatch(result.pulumiCalls, /^(up|preview|config set)/m, "nothing was changed");
    });
});
