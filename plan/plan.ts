// `shiftwise plan`: evaluate a stack offline and render its resources, traffic, outputs, safety and runbook.
import * as path from "path";
import { ConfigError, otherColour, parseStackConfig, shiftwiseSections, stableColour } from "../config";
import { CapturedResource, ProgramError, ProgramEvaluation, evaluateProgram, revealSafe } from "../evaluation/mockRuntime";
import { summariseResource } from "./resourceSummary";
import { renderRunbook, runbookLines, stackExposure } from "./runbook";
import { alarmGroups, backupsOf, renderSafety } from "./safety";
import { layOutSchedule, renderSchedule } from "./schedule";
import { renderSecurity, securityFindings } from "./security";
import { ReadStackFile, checkPlanStackFile, stackWarnings, withEscWarning } from "./stackFileCheck";
import type { PlanRequest, StackPlan } from "./stackPlan";

export type { PlanRequest, StackPlan } from "./stackPlan";

/**
 * Evaluates the real program for a stack under the mock runtime. Throws
 * `ConfigError` with every problem when the stack config is invalid. `read`
 * is the stack file `checkPlanStackFile` read and checked; without it,
 * the file is read and checked here.
 */
export async function planStack(request: PlanRequest, read: ReadStackFile = checkPlanStackFile(request)): Promise<StackPlan> {
    const { project, file, stackFile } = read;
    const warnings = stackWarnings(read, request.stack);
    let evaluation: ProgramEvaluation;
    try {
        evaluation = await evaluateProgram({
            project,
            stack: request.stack,
            config: stackFile.config,
            secretKeys: stackFile.secretKeys,
            programDir: request.projectDir,
            preview: true,
            stackTraces: request.stackTraces,
        });
    } catch (error) {
        if (error instanceof ProgramError && error.cause instanceof ConfigError) {
            // A problem found past the config check (the program's own checks); values that come from ESC environments
            // are missing offline, so say so next to the problems they may cause.
            throw withEscWarning(error.cause, read, request.stack);
        }
        throw error;
    }
    const config = parseStackConfig(shiftwiseSections(stackFile.config));
    if (config.traffic.blue === config.traffic.green && !config.releaseColour) {
        warnings.push("the traffic is an even split and shiftwise:releaseColour is not set, so blue is shown as stable; set shiftwise:releaseColour to the colour being released");
    }
    return {
        project,
        stack: request.stack,
        file,
        region: stackFile.config["aws:region"] ?? "",
        config,
        evaluation,
        warnings,
    };
}

/** The plan as text for people. */
export function renderPlan(plan: StackPlan): string {
    const resources = plan.evaluation.resources.filter((r) => r.type !== "pulumi:pulumi:Stack");
    const sections = [
        `shiftwise plan: stack ${plan.stack} of project ${plan.project} (${path.basename(plan.file)}), region ${plan.region}`,
        `Evaluated offline under Pulumi's mock runtime: ${resources.length} resources. Ids and ARNs are placeholders; \`pulumi preview\` shows the real ones.`,
        renderTraffic(plan),
        renderResources(plan.evaluation),
        renderSafety(plan),
        renderSecurity(plan),
        renderRunbook(plan),
        renderSchedule(layOutSchedule(plan.config)),
        renderOutputs(plan.evaluation),
    ];
    return sections.join("\n\n") + "\n";
}

/** The traffic split, stable colour first. */
export function renderTraffic(plan: StackPlan): string {
    const { traffic } = plan.config;
    const stable = stableColour(traffic, plan.config.releaseColour);
    const lines = ["Traffic (listener forward weights)"];
    for (const colour of [stable, otherColour(stable)]) {
        const settings = plan.config[colour];
        const filled = Math.round(traffic[colour] / 5);
        lines.push(
            `  ${colour.padEnd(5)}  ${String(traffic[colour]).padStart(3)}%  ${"#".repeat(filled)}${".".repeat(20 - filled)}  ${settings.version} on ${settings.desiredCount} task(s)  ${colour === stable ? "stable" : "candidate"}`,
        );
    }
    return lines.join("\n");
}

/** Every resource, indented under its component, with its key settings. */
export function renderResources(evaluation: ProgramEvaluation): string {
    const byParent = new Map<string | undefined, CapturedResource[]>();
    for (const resource of evaluation.resources) {
        const siblings = byParent.get(resource.parent) ?? [];
        siblings.push(resource);
        byParent.set(resource.parent, siblings);
    }
    const stack = evaluation.resources.find((r) => r.type === "pulumi:pulumi:Stack");
    const lines = ["Resources (by component)"];
    const walk = (parentUrn: string | undefined, depth: number) => {
        for (const resource of byParent.get(parentUrn) ?? []) {
            const summary = resource.custom ? summariseResource(resource) : "";
            const flags = [resource.options.protect ? "protect" : "", resource.options.retainOnDelete ? "retainOnDelete" : ""].filter(Boolean);
            lines.push(`${"  ".repeat(depth)}${resource.type} ${resource.name}${summary ? `  ${summary}` : ""}${flags.length ? `  [${flags.join(", ")}]` : ""}`);
            walk(resource.urn, depth + 1);
        }
    };
    walk(stack?.urn, 1);
    return lines.join("\n");
}

/** The stack outputs, secrets hidden. */
export function renderOutputs(evaluation: ProgramEvaluation): string {
    const lines = ["Outputs"];
    for (const [key, value] of Object.entries(revealSafe(evaluation.outputs) as Record<string, unknown>)) {
        lines.push(`  ${key}: ${typeof value === "string" ? value : JSON.stringify(value)}`);
    }
    return lines.join("\n");
}

/** The plan for machines: everything the text shows, as data. */
export function planAsJson(plan: StackPlan): object {
    const stable = stableColour(plan.config.traffic, plan.config.releaseColour);
    return {
        project: plan.project,
        stack: plan.stack,
        file: plan.file,
        region: plan.region,
        warnings: plan.warnings,
        traffic: plan.config.traffic,
        stable,
        candidate: otherColour(stable),
        colours: Object.fromEntries(([stable, otherColour(stable)] as const).map((colour) => [colour, { weight: plan.config.traffic[colour], ...plan.config[colour] }])),
        alarms: alarmGroups(plan),
        snapshot: revealSafe(plan.evaluation.outputs.preReleaseSnapshot ?? null),
        backups: backupsOf(plan),
        security: securityFindings(plan),
        runbook: runbookLines(plan),
        exposure: stackExposure(plan.config),
        schedule: layOutSchedule(plan.config),
        resources: plan.evaluation.resources.map((r) => ({
            urn: r.urn,
            type: r.type,
            name: r.name,
            parent: r.parent,
            inputs: revealSafe(r.inputs),
            protect: r.options.protect,
            retainOnDelete: r.options.retainOnDelete,
        })),
        outputs: revealSafe(plan.evaluation.outputs),
    };
}
