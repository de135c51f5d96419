// Checks a stack file's config offline with the program's own check, before `shiftwise plan` loads Pulumi, the program or @pulumi/aws.
import * as path from "path";
import { ConfigError, NAMESPACE, checkStackConfig, shiftwiseSections } from "../config";
import { StackConfigFile, readProjectName, readStackFile, stackFilePath } from "../evaluation/stackFile";
import type { PlanRequest } from "./stackPlan";

/** Which stack file `plan` reads: `configFile` (absolute), else `Pulumi.<stack>.yaml` in the project. */
export type StackFileRequest = Pick<PlanRequest, "projectDir" | "stack" | "configFile">;

/** The stack file `plan` evaluates, read, with its path and its project's name. */
export function readPlanStackFile(request: StackFileRequest): { project: string; file: string; stackFile: StackConfigFile } {
    const project = readProjectName(request.projectDir);
    const file = path.resolve(request.configFile ?? stackFilePath(request.projectDir, request.stack));
    return { project, file, stackFile: readStackFile(file, project) };
}

/**
 * Runs the check the program runs first (`checkStackConfig`, as `loadConfig`
 * does under the engine) on the stack file, so an invalid file fails with the
 * same problem list without evaluating anything. Problems that values from
 * Pulumi ESC environments may explain come with the ESC warning.
 */
export function checkPlanStackFile(request: StackFileRequest): void {
    const { file, stackFile } = readPlanStackFile(request);
    const sections = shiftwiseSections(stackFile.config);
    const secretSections = new Set(Object.keys(sections).filter((section) => stackFile.secretKeys.includes(`${NAMESPACE}:${section}`)));
    try {
        checkStackConfig({ sections, secretSections, stack: request.stack, region: stackFile.config["aws:region"] });
    } catch (error) {
        if (error instanceof ConfigError && stackFile.environments.length > 0) {
            throw new ConfigError([...error.problems, escWarning(path.basename(file), stackFile.environments, request.stack)]);
        }
        throw error;
    }
}

/** The warning for a stack file that imports ESC environments: their values are missing offline. */
export function escWarning(file: string, environments: readonly string[], stack: string): string {
    return (
        `${file} imports the Pulumi ESC environment(s) ${environments.join(", ")}, which cannot be resolved offline: ` +
        `their values are missing from this plan. \`pulumi config --stack ${stack} --show-secrets\` shows the resolved config; ` +
        `pass it with --config-file to plan with those values`
    );
}
