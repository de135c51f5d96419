// The CLI's commands: each parses its flags, builds the real ports, runs the rollout or plan, and prints the outcome.
import * as fs from "fs";
import * as path from "path";
import * as readline from "readline";
import { Command, InvalidArgumentError } from "commander";
import { readProjectName, readStackFile, stackFilePath } from "../evaluation/stackFile";
import type { DeployRequest, DriverDeps, DriverOutcome } from "../rollout/driver";
import { ExitCode } from "../rollout/exitCodes";
import type { AwsPort, Clock, Fetcher, StackConfigEntries, StackPort } from "../ports/ports";
import type { TaskPort } from "../ports/tasks";
import type { DatabaseStatePort } from "../ports/databaseState";
import { systemClock } from "../ports/ports";
import { DEFAULT_RECORDS_DIR } from "../rollout/recordsDir";
import { LedgerContext, processLedgerContext, statusTrips, watchStatus, withLease } from "./ledgerCommands";
import { UsageError } from "./failures";
import {
    deploy,
    dryRun,
    lineReporter,
    maintenanceRequestProblems,
    nodeFetcher,
    recordStore,
    renderDryRun,
    renderStatus,
    renderTrips,
    resume,
    rollbackCommand,
    rollbackThenMigrateDown,
    setMaintenance,
    stackStatus,
} from "./rolloutLoader";
import { startedBy } from "../rollout/actor";
import type { Directories } from "./main";

// The stack config's schema and rules, loaded by the flag checks that use them, so --help and the other
// flag errors load neither zod nor the schema (and nothing here loads Pulumi: see config/index.ts).
// eslint-disable-next-line @typescript-eslint/no-require-imports
const stackConfig = () => require("../config") as typeof import("../config");
// eslint-disable-next-line @typescript-eslint/no-require-imports
const releaseRules = () => require("../config/releaseRules") as typeof import("../config/releaseRules");

/**
 * The rollout commands of the `shiftwise` CLI: deploy, rollback, resume and
 * status. Thin: parse flags, build the ports, run the driver, print, and set
 * the exit code (see exitCodes.ts).
 */

/** Where the CLI writes. */
export interface CommandIo {
    readonly stdout: (text: string) => void;
    readonly stderr: (text: string) => void;
}

/** What the commands are built from; tests replace parts of it. */
export interface CommandContext {
    readonly projectDir: string;
    readonly env: Readonly<Record<string, string | undefined>>;
    readonly clock: Clock;
    readonly fetcher: Fetcher;
    readonly stdoutIsTty: boolean;
    readonly stdinIsTty: boolean;
    readonly openStack: (stackName: string, log: (text: string) => void) => Promise<StackPort>;
    readonly openAws: (region: string) => AwsPort;
    /**
     * The migration's task runner for the stack's platform (ECS RunTask, or a Kubernetes Job on EKS), for
     * deploy, resume and `rollback --migrate-down`. @default none: a stack with
     * `database.migration` is then refused in pre-flight
     */
    readonly openTasks?: (region: string, entries: StackConfigEntries) => TaskPort;
    /** Reads the pre-release snapshot and the database before a migration (RDS). @default none: refused like a missing task runner */
    readonly openDatabase?: (region: string) => DatabaseStatePort;
    /** Registers SIGINT/SIGTERM handlers; returns the function that removes them. */
    readonly onSignal: (handler: (signal: string) => void) => () => void;
    readonly ask: (question: string) => Promise<string>;
    /** The release ledger's clients (DynamoDB, SNS); default: the AWS SDK. */
    readonly ledger?: LedgerContext;
}

/** The real context: Automation API, AWS SDK, the process's signals and terminal. */
export function processContext(projectDir: string): CommandContext {
    return {
        projectDir,
        env: process.env,
        clock: systemClock,
        fetcher: nodeFetcher,
        stdoutIsTty: process.stdout.isTTY === true,
        stdinIsTty: process.stdin.isTTY === true,
        openStack: async (stackName, log) => (await import("../ports/automationStack")).AutomationStack.select(stackName, projectDir, log),
        openAws: (region) => {
            // Loaded lazily so `shiftwise plan` does not pay for the SDK.
            // eslint-disable-next-line @typescript-eslint/no-require-imports
            const { AwsSdkPort } = require("../ports/awsSdk") as typeof import("../ports/awsSdk");
            return AwsSdkPort.forRegion(region);
        },
        openTasks: (region, entries) => {
            const cluster = kubernetesCluster(entries);
            if (cluster) {
                // eslint-disable-next-line @typescript-eslint/no-require-imports
                const { KubernetesJobPort } = require("../ports/kubernetesJobs") as typeof import("../ports/kubernetesJobs");
                return KubernetesJobPort.forCluster(region, cluster);
            }
            // eslint-disable-next-line @typescript-eslint/no-require-imports
            const { EcsTaskPort } = require("../ports/ecsTasks") as typeof import("../ports/ecsTasks");
            return EcsTaskPort.forRegion(region);
        },
        openDatabase: (region) => {
            // eslint-disable-next-line @typescript-eslint/no-require-imports
            const { RdsDatabaseState } = require("../ports/databaseState") as typeof import("../ports/databaseState");
            return RdsDatabaseState.forRegion(region);
        },
        onSignal: (handler) => {
            process.on("SIGINT", handler);
            process.on("SIGTERM", handler);
            return () => {
                process.off("SIGINT", handler);
                process.off("SIGTERM", handler);
            };
        },
        ask: (question) =>
            new Promise((resolve) => {
                const prompt = readline.createInterface({ input: process.stdin, output: process.stderr });
                prompt.question(question, (answer) => {
                    prompt.close();
                    resolve(answer);
                });
            }),
    };
}

/** The EKS cluster of a stack whose colours run on Kubernetes (`shiftwise:service.platform`), else undefined. */
export function kubernetesCluster(entries: StackConfigEntries): string | undefined {
    const section = (key: string): Record<string, unknown> => {
        try {
            return (JSON.parse(entries[`shiftwise:${key}`]?.value ?? "{}") ?? {}) as Record<string, unknown>;
        } catch {
            return {};
        }
    };
    if (section("service").platform !== "kubernetes") return undefined;
    const clusterName = section("kubernetes").clusterName;
    return typeof clusterName === "string" ? clusterName : undefined;
}

interface CommonOptions {
    stack: string;
    recordsDir?: string;
    json?: boolean;
}

/**
 * Adds deploy, rollback, resume and status to `program`; `setExitCode`
 * receives each command's exit code. `contextFor` builds the real context
 * only once the flags are valid, so bad flags never reach Pulumi.
 */
export function registerRolloutCommands(
    program: Command,
    io: CommandIo,
    setExitCode: (code: number) => void,
    contextFor: () => CommandContext,
    directories: () => Directories,
): void {
    const common = (command: Command, example: string) =>
        command
            .requiredOption("-s, --stack <name>", "(required) stack name, e.g. production")
            .option("--records-dir <dir>", `folder of deployment records, relative to the current directory; each stack gets a subfolder (default: ${DEFAULT_RECORDS_DIR} in the project)`)
            .option("--json", "print the outcome as one JSON document on stdout; stage lines go to stderr")
            .addHelpText("after", `\nExample:\n  ${example}`);

    common(
        program.command("deploy").description("Release a version: pre-flight, checkpoint, prepare the candidate at weight 0, shift traffic step by step with bakes, finish."),
        "shiftwise deploy --stack production --version v1.6.0 --image 123456789012.dkr.ecr.eu-west-1.amazonaws.com/shop:v1.6.0 --yes",
    )
        .requiredOption("--version <version>", "(required) release label, e.g. v1.5.0", versionArgument)
        .requiredOption("--image <ref>", "(required) container image pinned by tag or digest", imageArgument)
        .option("--hotfix <reason>", "deploy inside a freeze window; the reason is recorded")
        .option("--migration-snapshot", "take the pre-release RDS snapshot (database.preReleaseSnapshot = the version) before the candidate starts")
        .option("--migration-image <ref>", "the image database.migration runs, pinned by tag or digest (default: --image); needs shiftwise:database.migration", migrationImageArgument)
        .option("--pause-at <percent>", "stop after this step for `shiftwise resume`", percentArgument)
        .option(
            "--maintenance [reason]",
            "for a migration that cannot be backwards compatible (needs shiftwise:database.migration): the service answers 503 with a maintenance page showing the reason from after the snapshot until the new version serves 100% in one step; no stable soak; a failure from the migration on keeps the page up (exit 7)",
        )
        .option("--smoke-base-url <url>", "base URL of the test listener for smoke checks, a host name your certificate covers (default: the testUrl output)")
        .option("-y, --yes", "do not ask for confirmation after pre-flight (required when stdin is not a terminal)")
        .option("--force <reason>", "take the stack's lease even though another actor holds it; the reason is recorded")
        .option("--notes <text>", "release notes (or a link to them) for the announcement on the stack's topic (default: the commit)")
        .option("--dry-run", "run the whole pre-flight against the stack and AWS and print a go/no-go table with the schedule; changes nothing, takes no lease (exit 0 go, 3 no-go)")
        .action(async (rawOptions: DeployOptions & { maintenance?: string | boolean }) => {
            const options: DeployOptions = { ...rawOptions, maintenance: maintenanceReason(rawOptions.maintenance, rawOptions.version) };
            checkPauseAt(options.pauseAt, directories().projectDir, options.stack);
            checkMaintenance(options, directories().projectDir);
            const context = contextFor();
            if (options.dryRun) return setExitCode(await runDryRun(options, io, context, directories()));
            if (!options.yes && !context.stdinIsTty) throw new UsageError("pass --yes to deploy without a terminal to confirm on; nothing was changed", [], "deploy");
            setExitCode(
                await withDriver(options, io, context, directories(), true, (deps) => {
                    const request: DeployRequest = {
                        version: options.version,
                        image: options.image,
                        hotfix: options.hotfix,
                        migrationSnapshot: options.migrationSnapshot,
                        migrationImage: options.migrationImage,
                        pauseAt: options.pauseAt,
                        maintenance: options.maintenance,
                        smokeBaseUrl: options.smokeBaseUrl,
                        confirm: options.yes ? undefined : (summary) => confirm(summary, io, context),
                    };
                    return withLease(deps, ledgerContext(context), "deploy", { ...options, release: request }, (leased) => deploy(leased, request));
                }),
            );
        });

    common(
        program.command("rollback").description("Restore the checkpoint config of the latest (or given) deployment record: traffic first, in one listener update."),
        "shiftwise rollback --stack production",
    )
        .option("--record <file>", "the deployment record whose checkpoint to restore, relative to the current directory (default: the latest)")
        .option("--force <reason>", "take the stack's lease even from a running deploy (instead of asking it to abort); the reason is recorded")
        .option("--wait-minutes <n>", "when a deploy holds the lease, how long to wait for it to obey the abort request (default 15)", Number)
        .option("--replace-serving", "allow restoring a checkpoint (usually an older --record) that changes the version or image of a colour that serves traffic after the rollback: its tasks are replaced while they take traffic")
        .option("--migrate-down", "after the rollback, run shiftwise:database.migration.downCommand from the release's migration image; refused (nothing changed) when none is configured or the migration never ran")
        .option(
            "--schema-restored <how>",
            "for a deploy --maintenance release: the database is back on the old schema (say how, e.g. the snapshot restored); recorded. Without it such a rollback keeps the maintenance page up (exit 7) instead of routing users to the old colour",
        )
        .action(async (options: CommonOptions & { record?: string; force?: string; waitMinutes?: number; replaceServing?: boolean; migrateDown?: boolean; schemaRestored?: string }) => {
            if (options.schemaRestored !== undefined && options.migrateDown) {
                throw new UsageError("--schema-restored and --migrate-down exclude each other: a restored schema has nothing to migrate down; nothing was changed", [], "rollback");
            }
            if (options.schemaRestored !== undefined && !options.schemaRestored.trim()) throw new UsageError('--schema-restored needs to say how, e.g. --schema-restored "snapshot restored as shop-production"; nothing was changed', [], "rollback");
            const context = contextFor();
            const record = options.record && path.resolve(directories().userDir, options.record);
            const rollbackOptions = { replaceServing: options.replaceServing === true, ...(options.schemaRestored !== undefined ? { schemaRestored: options.schemaRestored } : {}) };
            const run = options.migrateDown ? rollbackThenMigrateDown : rollbackCommand;
            setExitCode(
                await withDriver(options, io, context, directories(), false, (deps) =>
                    withLease(deps, ledgerContext(context), "rollback", options, (leased) => run({ ...leased, by: startedBy(context.env) }, record, rollbackOptions)),
                ),
            );
        });

    common(program.command("resume").description("Continue a paused deployment from its record, or one whose driver died during its migration (it re-attaches to the recorded migration task)."), "shiftwise resume --stack production")
        .option("--record <file>", "the paused deployment record, relative to the current directory (default: the stack's paused one)")
        .option("--hotfix <reason>", "resume inside a freeze window; the reason is recorded")
        .option("--smoke-base-url <url>", "probe the candidate here instead of the URL the deployment recorded")
        .option("--force <reason>", "take the stack's lease even though another actor holds it; the reason is recorded")
        .action(async (options: CommonOptions & { record?: string; hotfix?: string; smokeBaseUrl?: string; force?: string }) => {
            const record = options.record && path.resolve(directories().userDir, options.record);
            const context = contextFor();
            setExitCode(
                await withDriver(options, io, context, directories(), true, (deps) =>
                    withLease(deps, ledgerContext(context), "resume", { force: options.force }, (leased) => resume(leased, record, { hotfix: options.hotfix, smokeBaseUrl: options.smokeBaseUrl })),
                ),
            );
        });

    common(
        program.command("status").description("Show the weights (config and AWS), versions, alarm states, healthy targets and the current or last deployment record."),
        "shiftwise status --stack production --json",
    )
        .option("-w, --watch", "follow the live release from the ledger (step, bake, requests, both alarms, lease and heartbeat) until it settles; with --json, one JSON document per line")
        .option("--interval <seconds>", "seconds between redraws with --watch (default 10)", Number, 10)
        .option("--table <name>", "with --watch: the ledger table, so no Pulumi backend is needed (default: the releaseLedger output)")
        .option("--region <region>", "with --watch and --table: the table's region")
        .action(async (options: CommonOptions & { watch?: boolean; interval: number; table?: string; region?: string }) => {
            const context = contextFor();
            if (options.watch) return setExitCode(await watchStatus({ ...options, intervalSeconds: options.interval, isTty: context.stdoutIsTty }, io, ledgerContext(context)));
            const { stack, aws, records } = await openPorts(options, io, context, directories());
            const status = await stackStatus({ stack, aws, records });
            const trips = await statusTrips(stack, ledgerContext(context));
            const tripLines = typeof trips === "string" ? [trips] : renderTrips(trips);
            io.stdout(options.json ? `${JSON.stringify({ ...status, guardTrips: trips }, null, 2)}\n` : `${renderStatus(status)}${tripLines.map((line) => `${line}\n`).join("")}`);
            setExitCode(ExitCode.success);
        });

    common(
        program.command("maintenance").description("Maintenance mode: the service answers 503 with a maintenance page (on) or forwards by the weights again (off); one listener update, recorded."),
        'shiftwise maintenance on --stack production --reason "database upgrade until 14:00 UTC"',
    )
        .argument("<state>", "on or off", (value: string) => {
            if (value !== "on" && value !== "off") throw new InvalidArgumentError('must be "on" or "off"');
            return value;
        })
        .option("--reason <text>", "why (required for on): shown on the page and recorded")
        .action(async (state: "on" | "off", options: CommonOptions & { reason?: string }) => {
            if (state === "on" && !options.reason?.trim()) {
                throw new UsageError('--reason "<why>" is required; it is shown on the page and recorded; nothing was changed', [], "maintenance on");
            }
            const dirs = directories();
            const context = contextFor();
            // Maintenance reads nothing from AWS: the stack and the records are enough.
            const stack = await context.openStack(options.stack, options.json ? io.stderr : () => undefined);
            const records = recordStore(recordsDirOf(options, context, dirs), options.stack);
            const write = options.json ? io.stderr : io.stdout;
            const reporter = lineReporter({ stack: options.stack, clock: context.clock, write, progressWrite: io.stderr, isTty: false });
            const outcome = await setMaintenance({ stack, clock: context.clock, reporter, recordsDir: records.dir, records, by: startedBy(context.env) }, { enabled: state === "on", reason: options.reason });
            if (options.json) io.stdout(`${JSON.stringify(outcome, null, 2)}\n`);
            else if (outcome.exitCode !== ExitCode.success) io.stderr(`${outcome.message}\n`);
            setExitCode(outcome.exitCode);
        });
}

/** `--version`: the release label, checked by the same rule as a colour's `version`. */
function versionArgument(value: string): string {
    return checkedBy(releaseRules().versionLabel, value, "e.g. --version v1.6.0");
}

/** `--image`: a container image pinned by tag or digest, checked by the same rule as a colour's `image`. */
function imageArgument(value: string): string {
    return checkedBy(releaseRules().pinnedImage, value, "e.g. --image 123456789012.dkr.ecr.eu-west-1.amazonaws.com/shop:v1.6.0");
}

function checkedBy(schema: { safeParse(value: unknown): { success: boolean; error?: { issues: readonly { message: string }[] } } }, value: string, example: string): string {
    const result = schema.safeParse(value);
    if (!result.success) throw new InvalidArgumentError(`${JSON.stringify(value)} ${result.error?.issues[0]?.message ?? "is invalid"} (${example})`);
    return value;
}

/** `--migration-image`: pinned like `--image`; that the stack has `database.migration` is checked in pre-flight. */
function migrationImageArgument(value: string): string {
    return checkedBy(releaseRules().pinnedImage, value, "e.g. --migration-image 123456789012.dkr.ecr.eu-west-1.amazonaws.com/shop-migrations:v1.6.0");
}

/** What `deploy` parses. */
type DeployOptions = CommonOptions & { version: string; image: string; hotfix?: string; migrationSnapshot?: boolean; migrationImage?: string; pauseAt?: number; maintenance?: string; smokeBaseUrl?: string; yes?: boolean; force?: string; notes?: string; dryRun?: boolean };

/** `--maintenance` alone shows a default reason on the page; `--maintenance "<reason>"` shows that one. */
function maintenanceReason(flag: string | boolean | undefined, version: string): string | undefined {
    if (flag === undefined || flag === false) return undefined;
    return flag === true ? `We are upgrading to ${version}.` : flag;
}

/**
 * `--maintenance` checked before Pulumi is touched: its reason fits the page, no `--pause-at`, and (when the committed
 * stack file is here) the stack has `database.migration`, the only release it is for.
 */
function checkMaintenance(options: DeployOptions, projectDir: string): void {
    if (options.maintenance === undefined) return;
    const file = stackFilePath(projectDir, options.stack);
    const database = fs.existsSync(file) ? (stackConfig().shiftwiseSections(readStackFile(file, readProjectName(projectDir)).config).database as { migration?: unknown } | undefined) : undefined;
    const problems = maintenanceRequestProblems(options, fs.existsSync(file) ? database?.migration !== undefined : undefined);
    if (problems.length > 0) throw new UsageError(`${problems.join("; ")}; nothing was changed`, [], "deploy");
}

/** `--pause-at` must be one of the stack's steps; checked against the committed stack file, before Pulumi is touched. */
function checkPauseAt(pauseAt: number | undefined, projectDir: string, stack: string): void {
    if (pauseAt === undefined) return;
    const file = stackFilePath(projectDir, stack);
    // Without a local stack file the driver checks it against the stack's config in pre-flight.
    if (!fs.existsSync(file)) return;
    const { rolloutSchema, shiftwiseSections } = stackConfig();
    const rollout = rolloutSchema.safeParse(shiftwiseSections(readStackFile(file, readProjectName(projectDir)).config).rollout ?? {});
    if (rollout.success && !rollout.data.steps.includes(pauseAt)) {
        throw new UsageError(`--pause-at ${pauseAt} is not one of the steps ${rollout.data.steps.join(", ")} (shiftwise:rollout.steps in ${path.basename(file)}); nothing was changed`);
    }
}

/** The ledger's clients: the context's own (tests), else the AWS SDK's. */
function ledgerContext(context: CommandContext): LedgerContext {
    return context.ledger ?? processLedgerContext(context);
}

/** `deploy --dry-run`: pre-flight only, on the real stack and AWS, without the ledger, a lease or a record. */
async function runDryRun(options: DeployOptions, io: CommandIo, context: CommandContext, directories: Directories): Promise<number> {
    const { stack, aws, records, region, config } = await openPorts(options, io, context, directories);
    const migrationPorts = { ...optional("tasks", context.openTasks?.(region, config)), ...optional("database", context.openDatabase?.(region)) };
    const reporter = lineReporter({ stack: options.stack, clock: context.clock, write: io.stderr, isTty: false });
    const controller = new AbortController();
    const removeHandlers = context.onSignal((signal) => {
        io.stderr(`${signal}: stopping the dry run; nothing was changed\n`);
        controller.abort(new Error(signal));
    });
    try {
        const request = { version: options.version, image: options.image, hotfix: options.hotfix, migrationSnapshot: options.migrationSnapshot, migrationImage: options.migrationImage, pauseAt: options.pauseAt, maintenance: options.maintenance };
        const report = await dryRun({ stack, aws, records, reporter, fetcher: context.fetcher, clock: context.clock, env: context.env, signal: controller.signal, ...migrationPorts }, request);
        io.stdout(options.json ? `${JSON.stringify(report, null, 2)}\n` : renderDryRun(report));
        return report.exitCode;
    } finally {
        removeHandlers();
    }
}

/** `{ [key]: value }`, or nothing when there is no value. */
function optional<K extends string, V>(key: K, value: V | undefined): Partial<Record<K, V>> {
    return value === undefined ? {} : ({ [key]: value } as Record<K, V>);
}

function percentArgument(value: string): number {
    const percent = Number(value);
    if (!Number.isInteger(percent) || percent < 1 || percent > 100) throw new InvalidArgumentError("must be a step percent from 1 to 100");
    return percent;
}

/** A relative --records-dir is the user's, like any path on a command line; the default lives in the project. */
function recordsDirOf(options: CommonOptions, context: CommandContext, directories: Directories): string {
    return options.recordsDir ? path.resolve(directories.userDir, options.recordsDir) : path.resolve(context.projectDir, DEFAULT_RECORDS_DIR);
}

async function openPorts(options: CommonOptions, io: CommandIo, context: CommandContext, directories: Directories) {
    const engineLog = options.json ? io.stderr : () => undefined;
    const stack = await context.openStack(options.stack, engineLog);
    const config = await stack.getAllConfig();
    const region = config["aws:region"]?.value;
    if (!region) throw new UsageError(`stack ${options.stack} has no aws:region; run \`pulumi config set aws:region <region> --stack ${options.stack}\``);
    const records = recordStore(recordsDirOf(options, context, directories), options.stack, (warning) => io.stderr(`shiftwise: warning: ${warning}\n`));
    return { stack, aws: context.openAws(region), records, region, config };
}

/** Builds the driver's dependencies, wires signals, runs `body` and prints its outcome. */
async function withDriver(
    options: CommonOptions,
    io: CommandIo,
    context: CommandContext,
    directories: Directories,
    interruptible: boolean,
    body: (deps: DriverDeps) => Promise<DriverOutcome | { exitCode: number; message: string; problems?: readonly string[] }>,
): Promise<number> {
    {
        const { stack, aws, records, region, config } = await openPorts(options, io, context, directories);
        const migrationPorts = { ...optional("tasks", context.openTasks?.(region, config)), ...optional("database", context.openDatabase?.(region)) };
        const write = options.json ? io.stderr : io.stdout;
        const reporter = lineReporter({ stack: options.stack, clock: context.clock, write, progressWrite: io.stderr, isTty: context.stdoutIsTty && !options.json });
        const controller = new AbortController();
        let signals = 0;
        const removeHandlers = context.onSignal((signal) => {
            signals += 1;
            if (!interruptible || signals > 1) {
                io.stderr(`${signal}: a rollback or update is running and is not interrupted; wait for it to finish\n`);
                return;
            }
            io.stderr(`${signal}: stopping; the deployment will roll back to its checkpoint\n`);
            controller.abort(new Error(signal));
        });
        try {
            const outcome = await body({ stack, aws, records, reporter, fetcher: context.fetcher, clock: context.clock, env: context.env, signal: controller.signal, ...migrationPorts });
            if (options.json) io.stdout(`${JSON.stringify(outcome, null, 2)}\n`);
            else (outcome.exitCode === ExitCode.success ? io.stdout : io.stderr)(`${closingLine(outcome)}\n`);
            return outcome.exitCode;
        } finally {
            removeHandlers();
        }
    }
}

/** The outcome's message; when the stage line already listed the problems (a refusal), only its first line, so each is printed once. */
function closingLine(outcome: { exitCode: number; message: string; problems?: readonly string[] }): string {
    const alreadyListed = outcome.exitCode === ExitCode.refused && (outcome.problems?.length ?? 0) > 0;
    return alreadyListed ? outcome.message.split("\n")[0].replace(/:$/, " (see the stage line above)") : outcome.message;
}

async function confirm(summary: string, io: CommandIo, context: CommandContext): Promise<boolean> {
    const answer = await context.ask(`${summary}\nProceed? [y/N] `);
    return /^y(es)?$/i.test(answer.trim());
}
