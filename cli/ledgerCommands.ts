// The CLI's ledger commands (abort, pause, promote, clear-trip, history, status --watch) and the lease around deploy, resume and rollback.
import { execFileSync } from "child_process";
import { Command, InvalidArgumentError } from "commander";
import type { AwsPort, Clock, LedgerPort, LedgerTrip, StackPort } from "../ports/ports";
import type { RecoveryPointPort } from "../ports/recoveryPoints";
import { ExitCode } from "../rollout/exitCodes";
import type { LedgerSessionOptions, LeasedCommand } from "../rollout/ledgerSession";
import type { DeploymentRecord } from "../rollout/records";
import type { ReleaseEventSink, ReleasePlan } from "../rollout/releaseEvents";
import type { DriverDeps, DriverOutcome } from "../rollout/stages/context";
import { checkDriverTrips, clearTrips, deliveryMetrics, historyEntry, leasedRollback, liveStatus, predecessorProblems, recoveryPointVerdict, renderHistory, renderLiveStatus, runLeased, sendRequest, shiftwiseConfig } from "./rolloutLoader";
import { actorName, startedBy } from "../rollout/actor";

/** Where the ledger commands write. */
export interface LedgerIo {
    readonly stdout: (text: string) => void;
    readonly stderr: (text: string) => void;
}

/** What the ledger commands are built from; tests replace parts of it. */
export interface LedgerContext {
    readonly env: Readonly<Record<string, string | undefined>>;
    readonly clock: Clock;
    readonly projectDir: string;
    /** Opens the stack (Automation API) to find the ledger from its outputs when `--table` is not given. */
    readonly openStack: (stackName: string, log: (text: string) => void) => Promise<StackPort>;
    readonly openAws: (region: string) => AwsPort;
    readonly openLedger: (region: string, tableName: string, stack: string) => LedgerPort;
    readonly openEvents: (region: string, topicArn: string, plan: ReleasePlan) => ReleaseEventSink;
    readonly openRecoveryPoints: (region: string) => RecoveryPointPort;
    /** Registers SIGINT/SIGTERM; returns the function that removes the handler. */
    readonly onSignal: (handler: (signal: string) => void) => () => void;
}

/** The real ledger context: DynamoDB and SNS through the AWS SDK with the default credential chain. */
export function processLedgerContext(base: Omit<LedgerContext, "openLedger" | "openEvents" | "openRecoveryPoints">): LedgerContext {
    return {
        ...base,
        openLedger: (region, tableName, stack) => {
            // eslint-disable-next-line @typescript-eslint/no-require-imports
            const { DynamoLedger } = require("../ports/dynamoLedger") as typeof import("../ports/dynamoLedger");
            return DynamoLedger.forRegion(region, tableName, stack);
        },
        openEvents: (region, topicArn, plan) => {
            // eslint-disable-next-line @typescript-eslint/no-require-imports
            const { SNSClient } = require("@aws-sdk/client-sns") as typeof import("@aws-sdk/client-sns");
            // eslint-disable-next-line @typescript-eslint/no-require-imports
            const { SnsReleaseEvents } = require("../ports/snsEvents") as typeof import("../ports/snsEvents");
            return new SnsReleaseEvents(new SNSClient({ region }), topicArn, plan);
        },
        openRecoveryPoints: (region) => {
            // eslint-disable-next-line @typescript-eslint/no-require-imports
            const { SdkRecoveryPoints } = require("../ports/recoveryPoints") as typeof import("../ports/recoveryPoints");
            return SdkRecoveryPoints.forRegion(region);
        },
    };
}

interface LedgerOptions {
    stack: string;
    table?: string;
    region?: string;
    json?: boolean;
}

/** Adds abort, pause, promote and history to `program`. */
export function registerLedgerCommands(program: Command, io: LedgerIo, setExitCode: (code: number) => void, contextFor: () => LedgerContext): void {
    const ledgerFlags = (command: Command, example: string) =>
        command
            .requiredOption("-s, --stack <name>", "(required) stack name, e.g. production")
            .option("--table <name>", "the ledger's DynamoDB table (default: the stack's releaseLedger output, read through Pulumi)")
            .option("--region <region>", "the table's region (default: the stack's aws:region); needed with --table")
            .option("--json", "print the outcome as JSON on stdout")
            .addHelpText("after", `\nExample:\n  ${example}`);

    for (const kind of ["abort", "pause", "promote"] as const) {
        const what = { abort: "Ask the running release to stop and roll back to its checkpoint.", pause: "Ask the running release to pause at its current step.", promote: "Ask the running release to end its current bake now (on an OK alarm verdict)." }[kind];
        ledgerFlags(program.command(kind).description(`${what} The lease holder obeys at its next poll.`), `shiftwise ${kind} --stack production --reason "support tickets rising"`)
            .requiredOption("--reason <text>", "(required) why; recorded with the request and sent to the stack's topic")
            .action(async (options: LedgerOptions & { reason: string }) =>
                setExitCode(
                    await guard(io, kind, options.json, async () => {
                        const context = contextFor();
                        const ledger = await openLedgerFor(options, context, io);
                        const outcome = await sendRequest(ledger, context.clock, { kind, reason: options.reason, by: actorName(startedBy(context.env)) });
                        print(io, options.json, outcome.exitCode, outcome.message, outcome);
                        return outcome.exitCode;
                    }),
                ),
            );
    }

    ledgerFlags(
        program.command("clear-trip").description("Clear the AWS-side guard's trips on purpose, once the cause is found: the program and the driver let the tripped colour take traffic again. Records who, when and why."),
        'shiftwise clear-trip --stack production --reason "feature flag checkout-v2 off; green fixed in v1.6.1"',
    )
        .requiredOption("--reason <text>", "(required) what was found and fixed; recorded on each trip")
        .option("--colour <colour>", "only this colour's trips: blue or green (default: both)", colourOption)
        .action(async (options: LedgerOptions & { reason: string; colour?: "blue" | "green" }) =>
            setExitCode(
                await guard(io, "clear-trip", options.json, async () => {
                    const context = contextFor();
                    const ledger = await openLedgerFor(options, context, io);
                    const outcome = await clearTrips(ledger, context.clock, { reason: options.reason, by: actorName(startedBy(context.env)), colour: options.colour, stack: options.stack });
                    print(io, options.json, outcome.exitCode, outcome.message, outcome);
                    return outcome.exitCode;
                }),
            ),
        );

    ledgerFlags(program.command("history").description("List the stack's releases from the ledger (who, what, when, outcome, duration) and the four delivery metrics over a window."), "shiftwise history --stack production --days 30")
        .option("--days <n>", "the window for the metrics, ending now (default 30)", positiveInteger, 30)
        .option("--limit <n>", "how many releases to read (default 500)", positiveInteger, 500)
        .action(async (options: LedgerOptions & { days: number; limit: number }) =>
            setExitCode(
                await guard(io, "history", options.json, async () => {
                    const context = contextFor();
                    const ledger = await openLedgerFor(options, context, io);
                    const records = (await ledger.records(options.limit)).map((item) => item.body as unknown as DeploymentRecord);
                    const to = context.clock.now();
                    const metrics = deliveryMetrics(records, { from: new Date(to.getTime() - options.days * 86_400_000), to });
                    const entries = records.map(historyEntry);
                    io.stdout(options.json ? `${JSON.stringify({ stack: options.stack, releases: entries, metrics }, null, 2)}\n` : renderHistory(options.stack, entries, metrics));
                    return ExitCode.success;
                }),
            ),
        );
}

/** `shiftwise status --watch`: redraws the live release every `intervalSeconds` until it settles or a signal arrives. */
export async function watchStatus(options: LedgerOptions & { intervalSeconds: number; isTty: boolean }, io: LedgerIo, context: LedgerContext): Promise<number> {
    const { ledger, region } = await openLedgerWithRegion(options, context, io);
    const aws = context.openAws(region);
    const controller = new AbortController();
    const removeHandler = context.onSignal(() => controller.abort(new Error("signal")));
    try {
        for (;;) {
            const status = await liveStatus({ ledger, aws, clock: context.clock, stack: options.stack });
            // One JSON document per line (NDJSON), so a consumer can read the stream as it comes.
            if (options.json) io.stdout(`${JSON.stringify(status)}\n`);
            else io.stdout(`${options.isTty ? "\x1b[2J\x1b[H" : ""}${renderLiveStatus(status)}`);
            if (status.settled || controller.signal.aborted) return ExitCode.success;
            await context.clock.sleep(options.intervalSeconds * 1000, controller.signal).catch(() => undefined);
            if (controller.signal.aborted) return ExitCode.success;
        }
    } finally {
        removeHandler();
    }
}

/**
 * Runs a deploy, resume or rollback under the stack's lease when the stack
 * has a ledger (the `releaseLedger` output); publishes its events to the
 * stack's topic. Without the output (a stack not yet updated to a version
 * with the ledger) it runs as before and says so.
 */
export async function withLease(
    deps: DriverDeps,
    context: LedgerContext,
    command: LeasedCommand,
    flags: { readonly force?: string; readonly notes?: string; readonly waitMinutes?: number; readonly release?: GoNoGoRelease },
    body: (deps: DriverDeps) => Promise<DriverOutcome>,
): Promise<DriverOutcome> {
    const outputs = await deps.stack.outputs();
    const entries = await deps.stack.getAllConfig();
    const tableName = (outputs.releaseLedger as { tableName?: string } | undefined)?.tableName;
    const region = entries["aws:region"]?.value;
    if (!tableName || !region) {
        deps.reporter.line("lease", "the stack has no releaseLedger output yet (run `pulumi up` with this version of shiftwise once); running without the lease");
        return body(deps);
    }
    if (command === "deploy" && flags.release) {
        const refused = await goNoGo(deps, context, { entries, outputs, region }, flags.release);
        if (refused) return refused;
    }
    const owner = actorName(startedBy(context.env));
    const ledger = context.openLedger(region, tableName, deps.stack.stackName);
    if (command !== "rollback") {
        const refused = await tripGate(deps, ledger, entries, command, owner);
        if (refused) return refused;
    }
    const options: LedgerSessionOptions = {
        ledger,
        command,
        owner,
        force: flags.force,
        heartbeatMs: 60_000,
        commit: command === "deploy" ? commitOf(context) : undefined,
        events: eventsFor(context, region, outputs, entries, flags.notes),
    };
    if (command === "rollback") return leasedRollback(deps, { ...options, waitMs: (flags.waitMinutes ?? 15) * 60_000, pollMs: 5000 }, body);
    return runLeased(deps, options, body);
}

/**
 * A guard trip refuses deploy and resume while the config still gives the
 * tripped colour traffic (nothing is changed, the lease is not taken); a trip
 * the config has reverted is cleared on record by this actor. Rollback is
 * never refused: it takes traffic off the candidate, and the program still
 * refuses a checkpoint that would give a tripped colour traffic.
 */
async function tripGate(deps: DriverDeps, ledger: LedgerPort, entries: Awaited<ReturnType<StackPort["getAllConfig"]>>, command: LeasedCommand, owner: string): Promise<DriverOutcome | undefined> {
    let traffic;
    try {
        traffic = shiftwiseConfig(entries).traffic;
    } catch {
        return undefined; // pre-flight refuses an invalid config with every problem listed
    }
    const check = await checkDriverTrips(ledger, deps.clock, { traffic, stack: deps.stack.stackName, by: owner, command });
    for (const trip of check.clearedAsReverted) deps.reporter.line("guard", `cleared the ${trip.colour} trip of ${trip.at}: ${trip.cleared?.reason}`);
    if (check.problems.length === 0) return undefined;
    deps.reporter.line("guard", `refused: ${check.problems.join("; ")}`);
    return { exitCode: ExitCode.refused, message: `a guard trip blocks ${command}; nothing was changed:\n  - ${check.problems.join("\n  - ")}`, problems: check.problems };
}

/**
 * The stack's active guard trips for `shiftwise status`, from the ledger its
 * outputs name; `[]` without a ledger yet, and a sentence instead when the
 * ledger cannot be read (status shows it and goes on).
 */
export async function statusTrips(stack: StackPort, context: LedgerContext): Promise<LedgerTrip[] | string> {
    try {
        const tableName = ((await stack.outputs()).releaseLedger as { tableName?: string } | undefined)?.tableName;
        const region = (await stack.getAllConfig())["aws:region"]?.value;
        if (!tableName || !region) return [];
        return await context.openLedger(region, tableName, stack.stackName).activeTrips();
    } catch (error) {
        return `guard trips unknown: ${(error as Error).message}`;
    }
}

/** What the go/no-go needs to know of the release. */
export interface GoNoGoRelease {
    readonly version: string;
    readonly image: string;
    readonly hotfix?: string;
    readonly migrationSnapshot?: boolean;
}

/**
 * The runbooks' go/no-go before a deploy takes the lease: the release
 * completed on `rollout.requiresSuccessOn` (from that stack's ledger) unless
 * `--hotfix`; and before a release that migrates the database, the newest
 * recovery point is shown and must be younger than
 * `rollout.maxRecoveryPointAgeHours`. Undefined means go.
 */
export async function goNoGo(
    deps: DriverDeps,
    context: LedgerContext,
    stack: { readonly entries: Awaited<ReturnType<StackPort["getAllConfig"]>>; readonly outputs: Record<string, unknown>; readonly region: string },
    release: GoNoGoRelease,
): Promise<DriverOutcome | undefined> {
    let config;
    try {
        config = shiftwiseConfig(stack.entries);
    } catch {
        return undefined; // pre-flight refuses an invalid config with every problem listed
    }
    const problems: string[] = [];
    const predecessor = config.rollout.requiresSuccessOn;
    if (predecessor && release.hotfix === undefined) {
        const ledger = await predecessorLedger(context, predecessor, stack.region);
        const records = (await ledger.records(200)).map((item) => item.body as unknown as DeploymentRecord);
        const found = predecessorProblems(records, predecessor, release);
        problems.push(...found);
        if (found.length === 0) deps.reporter.line("go/no-go", `${release.version} (${release.image}) completed a release on ${predecessor}`);
    }
    const identifier = (stack.outputs.database as { identifier?: string } | null | undefined)?.identifier;
    const migrates = release.migrationSnapshot === true || config.database?.migration !== undefined;
    if (migrates && identifier) {
        const verdict = recoveryPointVerdict(await context.openRecoveryPoints(stack.region).newestRecoveryPoint(identifier), config.rollout.maxRecoveryPointAgeHours, deps.clock.now());
        deps.reporter.line("go/no-go", verdict.evidence);
        problems.push(...verdict.problems);
    }
    if (problems.length === 0) return undefined;
    deps.reporter.line("go/no-go", `refused: ${problems.join("; ")}`);
    return { exitCode: ExitCode.refused, message: `pre-flight refused the deployment; nothing was changed:\n  - ${problems.join("\n  - ")}`, problems };
}

/** The predecessor stack's ledger, found from its outputs (same account; its own region). */
async function predecessorLedger(context: LedgerContext, predecessor: string, fallbackRegion: string): Promise<LedgerPort> {
    const stack = await context.openStack(predecessor, () => undefined);
    const tableName = ((await stack.outputs()).releaseLedger as { tableName?: string } | undefined)?.tableName;
    if (!tableName) throw new Error(`rollout.requiresSuccessOn: stack ${predecessor} has no releaseLedger output; update it with this version of shiftwise first`);
    const region = (await stack.getAllConfig())["aws:region"]?.value ?? fallbackRegion;
    return context.openLedger(region, tableName, predecessor);
}

function eventsFor(context: LedgerContext, region: string, outputs: Record<string, unknown>, entries: Awaited<ReturnType<StackPort["getAllConfig"]>>, notes: string | undefined): ReleaseEventSink | undefined {
    const topicArn = outputs.notificationTopicArn;
    if (typeof topicArn !== "string") return undefined;
    try {
        const config = shiftwiseConfig(entries);
        return context.openEvents(region, topicArn, { service: config.service.name, steps: config.rollout.steps, bakeMinutes: config.rollout.bakeMinutes, maxBakeMinutes: config.rollout.maxBakeMinutes, notes });
    } catch {
        // An invalid config is refused by pre-flight with its own message; there is nothing to announce.
        return undefined;
    }
}

/** The commit being released and its commit time: CI's variables, else the project's git HEAD; undefined outside a repository. */
export function commitOf(context: Pick<LedgerContext, "env" | "projectDir">): { sha: string; committedAt: string } | undefined {
    const sha = context.env.GITHUB_SHA ?? context.env.CI_COMMIT_SHA ?? context.env.GIT_COMMIT ?? "HEAD";
    try {
        const [full, committedAt] = execFileSync("git", ["show", "-s", "--format=%H %cI", sha], { cwd: context.projectDir, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim().split(" ");
        return full && committedAt ? { sha: full, committedAt: new Date(committedAt).toISOString() } : undefined;
    } catch {
        return undefined;
    }
}

async function openLedgerFor(options: LedgerOptions, context: LedgerContext, io: LedgerIo): Promise<LedgerPort> {
    return (await openLedgerWithRegion(options, context, io)).ledger;
}

/** The ledger from `--table`/`--region`, or from the stack's outputs and config through Pulumi. */
async function openLedgerWithRegion(options: LedgerOptions, context: LedgerContext, io: LedgerIo): Promise<{ ledger: LedgerPort; region: string }> {
    if (options.table) {
        const region = options.region ?? context.env.AWS_REGION ?? context.env.AWS_DEFAULT_REGION;
        if (!region) throw new InvalidArgumentError("--table needs --region (or AWS_REGION)");
        return { ledger: context.openLedger(region, options.table, options.stack), region };
    }
    const stack = await context.openStack(options.stack, options.json ? io.stderr : () => undefined);
    const tableName = ((await stack.outputs()).releaseLedger as { tableName?: string } | undefined)?.tableName;
    const region = options.region ?? (await stack.getAllConfig())["aws:region"]?.value;
    if (!tableName) throw new Error(`stack ${options.stack} has no releaseLedger output; run \`pulumi up\` once with this version of shiftwise, or pass --table`);
    if (!region) throw new Error(`stack ${options.stack} has no aws:region; pass --region`);
    return { ledger: context.openLedger(region, tableName, options.stack), region };
}

function print(io: LedgerIo, json: boolean | undefined, exitCode: number, message: string, document: object): void {
    if (json) io.stdout(`${JSON.stringify({ exitCode, ...document }, null, 2)}\n`);
    else (exitCode === ExitCode.success ? io.stdout : io.stderr)(`${message}\n`);
}

/** Prints an expected failure as one line (a JSON document with --json) and maps it to an exit code; never a stack trace. */
export async function guard(io: LedgerIo, command: string, json: boolean | undefined, body: () => Promise<number>): Promise<number> {
    try {
        return await body();
    } catch (error) {
        const exitCode = error instanceof InvalidArgumentError ? ExitCode.invalid : ExitCode.error;
        const message = `shiftwise ${command}: ${error instanceof Error ? error.message : String(error)}`;
        print(io, json, exitCode, message, { message });
        return exitCode;
    }
}

function colourOption(value: string): "blue" | "green" {
    if (value !== "blue" && value !== "green") throw new InvalidArgumentError("must be blue or green");
    return value;
}

function positiveInteger(value: string): number {
    const number = Number(value);
    if (!Number.isInteger(number) || number < 1) throw new InvalidArgumentError("must be a whole number of at least 1");
    return number;
}
