// The `shiftwise` command line: the commander program, its global options (--cwd, --debug, --version), and how every outcome becomes an exit code.
import * as fs from "fs";
import * as path from "path";
import { Command, CommanderError } from "commander";
import { CommandContext, processContext, registerRolloutCommands } from "./commands";
import { describeFailure, Failure, UsageError } from "./failures";
import { processLedgerContext, registerLedgerCommands } from "./ledgerCommands";
import { registerPlanCommand } from "./planCommand";
import { ExitCode } from "../rollout/exitCodes";
import { isProgramError } from "../evaluation/programErrors";

/** The folder shiftwise is installed in (bin/, cli/, …); never the user's project unless they run it there. */
export const INSTALL_DIR = path.resolve(__dirname, "..");

/** Where the CLI writes; tests pass their own. */
export interface CliIo {
    readonly stdout: (text: string) => void;
    readonly stderr: (text: string) => void;
}

const processIo: CliIo = {
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
};

/** The options every command takes. */
export interface GlobalOptions {
    /** The Pulumi project directory, as `pulumi --cwd`. @default the current directory */
    readonly cwd?: string;
    /** Print stack traces. @default SHIFTWISE_DEBUG is set */
    readonly debug?: boolean;
    readonly json?: boolean;
    readonly stack?: string;
}

/** Where a command runs: the user's directory (relative paths) and the project directory (`--cwd`, default the user's directory). */
export interface Directories {
    readonly userDir: string;
    readonly projectDir: string;
}

const EXIT_CODES = `Exit codes:
  0  success       plan printed, deployment completed, rollback verified, resume completed, status shown
  1  error         something unexpected failed (no pulumi CLI, not logged in, AWS access denied); the message says what
  2  invalid       invalid stack config or command line; nothing was changed
  3  refused       pre-flight refused, or the confirmation was declined; nothing was changed
  4  rolled back   a gate failed or the run was interrupted; the stack is back on its checkpoint
  5  paused        the deployment needs a human: shiftwise resume or shiftwise rollback
  6  rollback failed  the message gives the state and the retry command
  7  held          deploy --maintenance (or its rollback) stopped with the maintenance page up: restore the database first (the message says how)`;

/**
 * Runs the `shiftwise` CLI with `argv` (as in `process.argv`) and resolves to
 * the exit code; see `ExitCode` and the README. Never throws: every failure
 * is printed (as one JSON document with --json) and mapped to an exit code.
 */
export async function main(argv: readonly string[], io: CliIo = processIo, context?: CommandContext, env: NodeJS.ProcessEnv = process.env): Promise<number> {
    let exitCode: number = ExitCode.success;
    let globals: GlobalOptions = {};
    const json = argv.slice(2).includes("--json");
    const program = new Command()
        .name("shiftwise")
        .description("Blue/green releases on AWS as Pulumi stack updates. Runs on the Pulumi project in the current directory (or --cwd).")
        .version(packageVersion(), "-V, --version", "print the shiftwise version")
        .enablePositionalOptions()
        .exitOverride()
        .configureOutput({ writeOut: io.stdout, writeErr: io.stderr })
        .showHelpAfterError("(add --help for usage and examples)")
        .addHelpText("after", `\nExamples:\n  shiftwise plan --stack staging\n  shiftwise --cwd ../shop deploy --stack production --version v1.6.0 --image 123456789012.dkr.ecr.eu-west-1.amazonaws.com/shop:v1.6.0 --yes\n\n${EXIT_CODES}\n`);
    addGlobalOptions(program);

    // Checked when a command needs the project (plan, the stack, records); `status --watch --table` does not.
    const directories = (): Directories => resolveDirectories(globals, context, true);
    const setExitCode = (code: number) => (exitCode = code);
    const contextFor = () => context ?? processContext(resolveDirectories(globals, context, false).projectDir);
    const onCommand = (command: Command) => {
        globals = command.optsWithGlobals() as GlobalOptions;
    };
    registerPlanCommand(program, io, setExitCode, directories, () => globals.debug === true || isSet(env.SHIFTWISE_DEBUG));
    registerRolloutCommands(program, io, setExitCode, contextFor, directories);
    registerLedgerCommands(program, io, setExitCode, () => {
        const commandContext = contextFor();
        return commandContext.ledger ?? processLedgerContext(commandContext);
    });
    for (const command of program.commands) {
        addGlobalOptions(command);
        command.exitOverride().configureOutput({ writeOut: io.stdout, writeErr: io.stderr }).showHelpAfterError("(add --help for usage and examples)");
        command.addHelpText("after", `\n${EXIT_CODES}\n`);
        command.hook("preAction", (_this, actionCommand) => onCommand(actionCommand));
    }

    try {
        await program.parseAsync([...argv]);
        return exitCode;
    } catch (error) {
        if (error instanceof CommanderError) {
            if (error.exitCode === 0) return ExitCode.success;
            return report({ exitCode: ExitCode.invalid, message: error.message.replace(/^error: /, ""), problems: [], unexpected: false }, undefined, { io, json, debug: false, printed: true });
        }
        const debug = globals.debug === true || isSet(env.SHIFTWISE_DEBUG);
        return report(describeFailure(error, globals.stack), error, { io, json: json || globals.json === true, debug, printed: false });
    }
}

/** The executable's entry point (bin/shiftwise.js): runs `main` and sets the process's exit code. */
export async function run(argv: readonly string[]): Promise<void> {
    process.on("unhandledRejection", (reason) => {
        // Pulumi's runtime leaves the program's own error (already reported) in promises nobody awaits.
        if (isProgramError(reason)) return;
        const debug = argv.includes("--debug") || isSet(process.env.SHIFTWISE_DEBUG);
        const message = reason instanceof Error ? reason.message : String(reason);
        process.stderr.write(`shiftwise: ${message}\n${debug && reason instanceof Error ? reason.stack : "(this was not expected; run again with --debug or SHIFTWISE_DEBUG=1 for a stack trace to report)"}\n`);
        process.exit(ExitCode.error);
    });
    process.exitCode = await main(argv);
}

function addGlobalOptions(command: Command): void {
    command
        .option("-C, --cwd <dir>", "the Pulumi project directory, as `pulumi --cwd` (default: the current directory)")
        .option("--debug", "print stack traces of failures, for bug reports (or set SHIFTWISE_DEBUG=1)");
}

function resolveDirectories(globals: GlobalOptions, context: CommandContext | undefined, check: boolean): Directories {
    const userDir = process.cwd();
    const projectDir = context?.projectDir ?? path.resolve(userDir, globals.cwd ?? ".");
    if (check && !context && !fs.existsSync(path.join(projectDir, "Pulumi.yaml"))) {
        const where = globals.cwd ? `--cwd ${globals.cwd} (${projectDir})` : `the current directory (${projectDir})`;
        throw new UsageError(`${where} has no Pulumi.yaml; run shiftwise in your Pulumi project's directory or pass --cwd <dir>`);
    }
    return { userDir, projectDir };
}

/** Prints a failure once: a sentence on stderr (plus the trace with --debug), and with --json one document on stdout. */
function report(failure: Failure, error: unknown, options: { io: CliIo; json: boolean; debug: boolean; printed: boolean }): number {
    const { io } = options;
    if (!options.printed) {
        const lines = [failure.problems.length > 0 || /^Invalid /.test(failure.message) ? failure.message : `${failure.prefix ?? "shiftwise"}: ${failure.message}`];
        if (options.debug && error instanceof Error && error.stack) lines.push(error.stack);
        else if (failure.unexpected) lines.push("(this was not expected; run again with --debug or SHIFTWISE_DEBUG=1 for a stack trace to report)");
        io.stderr(`${lines.join("\n")}\n`);
    }
    if (options.json) io.stdout(`${JSON.stringify({ exitCode: failure.exitCode, message: failure.message, problems: failure.problems }, null, 2)}\n`);
    return failure.exitCode;
}

function isSet(value: string | undefined): boolean {
    return value !== undefined && value !== "" && value !== "0" && value.toLowerCase() !== "false";
}

function packageVersion(): string {
    return (JSON.parse(fs.readFileSync(path.join(INSTALL_DIR, "package.json"), "utf8")) as { version: string }).version;
}
