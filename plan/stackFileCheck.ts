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

/** A stack file `plan` has read: the file's path, its project's name and its contents. */
export type ReadStackFile = ReturnType<typeof readPlanStackFile>;

/**
 * Runs the check the program runs first (`checkStackConfig`, as `loadConfig`
 * does under the engine) on the stack file, so an invalid file fails with the
 * same problem list without evaluating anything. Returns the file it read,
 * for the evaluation to use.
 */
export function checkPlanStackFile(request: StackFileRequest): ReadStackFile {
    const read = readPlanStackFile(request);
    const { stackFile } = read;
    const sections = shiftwiseSections(stackFile.config);
    const secretSections = new Set(Object.keys(sections).filter((section) => stackFile.secretKeys.includes(`${NAMESPACE}:${section}`)));
    try {
        checkStackConfig({ sections, secretSections, stack: request.stack, region: stackFile.config["aws:region"] });
    } catch (error) {
        throw error instanceof ConfigError ? withEscWarning(error, read, request.stack) : error;
    }
    return read;
}

/** `error`, with the ESC warning after its problems when the stack file imports ESC environments: their missing values may explain them. */
export function withEscWarning(error: ConfigError, read: ReadStackFile, stack: string): ConfigError {
    const warning = stackWarnings(read, stack);
    return warning.length > 0 ? new ConfigError([...error.problems, ...warning]) : error;
}

/** The ESC warning for `read`, if its stack file imports environments. */
export function stackWarnings(read: ReadStackFile, stack: string): string[] {
    return read.stackFile.environments.length > 0 ? [escWarning(path.basename(read.file), read.stackFile.environments, stack)] : [];
}

/** The warning for a stack file that imports ESC environments: their values are missing offline. */
export function escWarning(file: string, environments: readonly string[], stack: string): string {
    return (
        `${file} imports the Pulumi ESC environment(s) ${environments.join(", ")}, which cannot be resolved offline: ` +
        `their values are missing from this plan. \`pulumi config --stack ${stack} --show-secrets\` shows the resolved config; ` +
        `pass it with --config-file to plan with those values`
    );
}
