// The `shiftwise` command line: the commander program, its commands and exit codes.
import * as path from "path";
import { Command, CommanderError } from "commander";
import { ConfigError } from "../config";
import { CommandContext, processContext, registerRolloutCommands } from "./commands";
import { processLedgerContext, registerLedgerCommands } from "./ledgerCommands";
import { ExitCode } from "../rollout/exitCodes";
import { planAsJson, planStack, renderPlan } from "../plan/plan";
import { StackFileError } from "../evaluation/stackFile";

/** The project this CLI belongs to: the directory above deploy/. */
export const PROJECT_DIR = path.resolve(__dirname, "..");

/** Where the CLI writes; tests pass their own. */
export interface CliIo {
    readonly stdout: (text: string) => void;
    readonly stderr: (text: string) => void;
}

const processIo: CliIo = {
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
};

/**
 * Runs the `shiftwise` CLI with `argv` (as in `process.argv`) and resolves to
 * the exit code; see `ExitCode` and the README for their meaning.
 */
export async function main(argv: readonly string[], io: CliIo = processIo, context?: CommandContext): Promise<number> {
    let exitCode: number = ExitCode.success;
    const program = new Command()
        .name("shiftwise")
        .description("Blue/green releases on AWS as Pulumi stack updates.")
        .exitOverride()
        .configureOutput({ writeOut: io.stdout, writeErr: io.stderr })
        .showHelpAfterError();

    program
        .command("plan")
        .description("Evaluate the program offline under Pulumi's mock runtime and print what the stack holds and how the rollout will go.")
        .requiredOption("-s, --stack <name>", "stack name, e.g. staging")
        .option("-c, --config-file <path>", "stack file to read instead of Pulumi.<stack>.yaml")
        .option("--json", "print the plan as JSON")
        .action(async (options: { stack: string; configFile?: string; json?: boolean }) => {
            exitCode = await runPlan(options, io);
        });

    const commandContext = context ?? processContext(PROJECT_DIR);
    registerRolloutCommands(program, io, (code) => (exitCode = code), commandContext);
    registerLedgerCommands(program, io, (code) => (exitCode = code), () => commandContext.ledger ?? processLedgerContext(commandContext));

    try {
        await program.parseAsync([...argv]);
    } catch (error) {
        if (error instanceof CommanderError) {
            return error.exitCode === 0 ? ExitCode.success : ExitCode.invalid;
        }
        throw error;
    }
    return exitCode;
}

async function runPlan(options: { stack: string; configFile?: string; json?: boolean }, io: CliIo): Promise<number> {
    try {
        const plan = await planStack({ projectDir: PROJECT_DIR, stack: options.stack, configFile: options.configFile });
        io.stdout(options.json ? `${JSON.stringify(planAsJson(plan), null, 2)}\n` : renderPlan(plan));
        return ExitCode.success;
    } catch (error) {
        if (error instanceof ConfigError) {
            io.stderr(`${error.message}\n`);
            return ExitCode.invalid;
        }
        if (error instanceof StackFileError) {
            io.stderr(`shiftwise plan: ${error.message}\n`);
            return ExitCode.invalid;
        }
        throw error;
    }
}

/** The executable's entry point: runs `main` and sets the process's exit code. */
export async function run(argv: readonly string[]): Promise<void> {
    try {
        process.exitCode = await main(argv);
    } catch (error) {
        process.stderr.write(`${error instanceof Error && error.stack ? error.stack : String(error)}\n`);
        process.exitCode = ExitCode.error;
    }
}
