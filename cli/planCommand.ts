// The `plan` command: evaluates the stack offline and prints the plan, its schedule picture, and optionally an SVG chart.
import * as path from "path";
import { Command } from "commander";
import { ExitCode } from "../rollout/exitCodes";
import type { CliIo, Directories } from "./main";

interface PlanOptions {
    stack: string;
    configFile?: string;
    json?: boolean;
    chart?: string;
}

/** Adds `plan` to `program`; `debugging` says whether --debug (or SHIFTWISE_DEBUG) is on. */
export function registerPlanCommand(program: Command, io: CliIo, setExitCode: (code: number) => void, directories: () => Directories, debugging: () => boolean = () => false): void {
    program
        .command("plan")
        .description("Evaluate the program offline under Pulumi's mock runtime and print what the stack holds, how the rollout will go, and a picture of its schedule.")
        .requiredOption("-s, --stack <name>", "(required) stack name, e.g. staging")
        .option("-c, --config-file <path>", "stack file to read instead of Pulumi.<stack>.yaml, relative to the current directory")
        .option("--chart <file.svg>", "also draw the traffic schedule as an SVG chart into this file, relative to the current directory")
        .option("--json", "print the plan as one JSON document on stdout")
        .addHelpText("after", "\nExamples:\n  shiftwise plan --stack production\n  shiftwise --cwd ../shop plan --stack staging --config-file staging-next.yaml --chart schedule.svg")
        .action(async (options: PlanOptions) => {
            const { userDir, projectDir } = directories();
            const configFile = options.configFile && path.resolve(userDir, options.configFile);
            // An invalid stack file fails here, with the problems the program would report, before Pulumi loads.
            // eslint-disable-next-line @typescript-eslint/no-require-imports
            const read = (require("../plan/stackFileCheck") as typeof import("../plan/stackFileCheck")).checkPlanStackFile({ projectDir, stack: options.stack, configFile });
            // Loaded here, so --help, an invalid stack file and the other commands never load the program, Pulumi or @pulumi/aws.
            // eslint-disable-next-line @typescript-eslint/no-require-imports
            const { planAsJson, planStack, renderPlan } = require("../plan/plan") as typeof import("../plan/plan");
            // --debug keeps the stack frames of errors the program raises; without it the evaluation records none (faster).
            const plan = await planStack({ projectDir, stack: options.stack, configFile, stackTraces: debugging() }, read);
            for (const warning of plan.warnings) io.stderr(`shiftwise plan: ${warning}\n`);
            if (options.chart) {
                const { writeScheduleChart } = await import("../plan/chart");
                await writeScheduleChart(plan.config, path.resolve(userDir, options.chart));
            }
            io.stdout(options.json ? `${JSON.stringify(planAsJson(plan), null, 2)}\n` : renderPlan(plan));
            setExitCode(ExitCode.success);
        });
}
