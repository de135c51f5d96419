// How the CLI turns an error into an exit code and a message: expected failures read as one sentence, only --debug shows a stack trace.
import { ConfigError } from "../config/configError";
import { StackFileError } from "../evaluation/stackFile";
import { ExitCode } from "../rollout/exitCodes";

/** A problem with the command line or the project the CLI found before touching Pulumi or AWS. */
export class UsageError extends Error {
    constructor(
        message: string,
        readonly problems: readonly string[] = [],
        /** The command it concerns, for the message's prefix: `shiftwise maintenance on: …`. */
        readonly command?: string,
    ) {
        super(message);
        this.name = "UsageError";
    }
}

/** What the CLI prints and returns for a failure. */
export interface Failure {
    readonly exitCode: number;
    readonly message: string;
    /** Every problem, for invalid config. */
    readonly problems: readonly string[];
    /** True when this was not an expected failure: a bug or an error nobody anticipated. */
    readonly unexpected: boolean;
    /** What the printed line starts with. @default "shiftwise" */
    readonly prefix?: string;
}

/** Classifies `error`: invalid input exits 2, an environment the CLI cannot work in (no Pulumi CLI, not logged in) exits 1 with the fix. */
export function describeFailure(error: unknown, stack: string | undefined): Failure {
    if (error instanceof ConfigError) return { exitCode: ExitCode.invalid, message: error.message, problems: error.problems, unexpected: false };
    if (error instanceof StackFileError || error instanceof UsageError) {
        const problems = error instanceof UsageError ? error.problems : [];
        const prefix = error instanceof UsageError && error.command ? `shiftwise ${error.command}` : undefined;
        return { exitCode: ExitCode.invalid, message: error.message, problems, unexpected: false, prefix };
    }
    const text = error instanceof Error ? error.message : String(error);
    if (isMissingPulumiCli(error, text)) {
        return expected(ExitCode.error, "the pulumi CLI is not on PATH; install it (https://www.pulumi.com/docs/install/) and log in to your backend (`pulumi login`)");
    }
    // The Automation API's error classes from their own file (it requires nothing), so classifying the failure of
    // a command that never opened a stack (a ledger command's AWS error) does not load the Automation API or Pulumi.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { CommandError, StackNotFoundError } = require("@pulumi/pulumi/automation/errors") as typeof import("@pulumi/pulumi/automation/errors");
    if (error instanceof StackNotFoundError) {
        return expected(ExitCode.invalid, `no stack named ${stack ?? "(none)"} in this project's backend; list them with \`pulumi stack ls\` or create it with \`pulumi stack init ${stack ?? "<name>"}\``);
    }
    if (error instanceof CommandError) {
        const detail = pulumiErrorLine(text);
        if (/PULUMI_ACCESS_TOKEN|pulumi login|not logged in|no credentials/i.test(text)) {
            return expected(ExitCode.error, `the pulumi CLI is not logged in: ${detail}; run \`pulumi login\` or set PULUMI_ACCESS_TOKEN`);
        }
        return expected(ExitCode.error, `the pulumi CLI failed: ${detail}`);
    }
    if (/the stack outputs lack /.test(text)) return expected(ExitCode.error, text);
    return { exitCode: ExitCode.error, message: text, problems: [], unexpected: true };
}

function expected(exitCode: number, message: string): Failure {
    return { exitCode, message, problems: [], unexpected: false };
}

function isMissingPulumiCli(error: unknown, text: string): boolean {
    const code = (error as NodeJS.ErrnoException | undefined)?.code;
    return (code === "ENOENT" && /pulumi/.test(text)) || /ENOENT: pulumi|spawn pulumi ENOENT|pulumi: (command )?not found/.test(text);
}

/** The `error: …` line the pulumi CLI printed, else the first line of the message. */
function pulumiErrorLine(text: string): string {
    const line = text.split("\n").find((l) => /^error: /.test(l.trim()));
    return (line ?? text.split("\n")[0]).trim().replace(/^error: /, "");
}
