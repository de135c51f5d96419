// The shared mock harness: evaluates the program with a stack file and records every registration.
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import YAML from "yaml";
import { CapturedResource, ProgramError, ProgramEvaluation, evaluateProgram } from "../evaluation/mockRuntime";
import { readStackFile, stackFilePath } from "../evaluation/stackFile";

/**
 * The one shared mock harness. It evaluates the real `index.ts` under Pulumi's
 * mock runtime (see evaluation/mockRuntime.ts, which records every registration
 * and makes `call` throw on unknown tokens) with a committed stack file, or a
 * stack file with some keys replaced.
 */

export const PROJECT_DIR = path.resolve(__dirname, "..");
export const PROJECT = "shiftwise";

/** A stack's config, keyed like the engine: `shiftwise:traffic` to a JSON string. */
export type ConfigMap = Record<string, string>;

/** The example stacks under `examples/`, by the stack name tests evaluate them as. */
export const EXAMPLE_STACKS: Readonly<Record<string, string>> = { "eks-staging": path.join(PROJECT_DIR, "examples", "Pulumi.eks-staging.yaml") };

/**
 * The committed config of `staging` or `production`, or of an example stack
 * (`eks-staging`). `eks-production` is the EKS example made a production
 * stack: protected, two pods per colour, two weeks of backups.
 */
export function stackConfig(stack: string): ConfigMap {
    if (stack === "eks-production") {
        let config = withSection(stackConfig("eks-staging"), "protect", true);
        for (const colour of ["blue", "green"]) config = withFields(config, colour, { desiredCount: 3 });
        return withFields(config, "database", { backupRetentionDays: 14 });
    }
    const file = EXAMPLE_STACKS[stack] ?? stackFilePath(PROJECT_DIR, stack);
    return { ...readStackFile(file, PROJECT).config };
}

/** A stack file as YAML parses it: `config` and, where it imports ESC environments, `environment`. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type StackDocument = { environment?: unknown; config: Record<string, any> };

/** `content` written as the stack file `name` in a new temporary folder; its path. */
export function writtenStackFile(content: string, name = "Pulumi.edited.yaml"): string {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "shiftwise-stack-")), name);
    fs.writeFileSync(file, content);
    return file;
}

/**
 * A copy of the stack file `source` (staging's by default) with `edit`
 * applied to its parsed document, written as `name` to a new temporary
 * folder; its path. What `edit` returns is ignored.
 */
export function editedStackFile(edit: (document: StackDocument) => void, source = path.join(PROJECT_DIR, "Pulumi.staging.yaml"), name = "Pulumi.edited.yaml"): string {
    const document = YAML.parse(fs.readFileSync(source, "utf8")) as StackDocument;
    edit(document);
    return writtenStackFile(YAML.stringify(document), name);
}

/** The stacks every platform-neutral test runs on: the committed ECS stacks and the Kubernetes ones. */
export const ALL_STACKS = ["staging", "production", "eks-staging", "eks-production"] as const;

/** `ecs` or `kubernetes`: what `stack`'s config runs its colours on. */
export function platformOf(config: ConfigMap): "ecs" | "kubernetes" {
    return sectionValue(config, "service").platform === "kubernetes" ? "kubernetes" : "ecs";
}

/** The type token of a colour's component on each platform. */
export const COLOUR_COMPONENT = { ecs: "shiftwise:ecs:ColourService", kubernetes: "shiftwise:kubernetes:KubernetesColour" } as const;

/** A copy of `config` with the `shiftwise:<section>` key replaced (or removed when `value` is undefined). */
export function withSection(config: ConfigMap, section: string, value: unknown): ConfigMap {
    const copy = { ...config };
    const key = section.includes(":") ? section : `shiftwise:${section}`;
    if (value === undefined) delete copy[key];
    else copy[key] = typeof value === "string" ? value : JSON.stringify(value);
    return copy;
}

/** A copy of `config` with fields of an object section merged in: `withFields(c, "traffic", { blue: 50, green: 50 })`. */
export function withFields(config: ConfigMap, section: string, fields: Record<string, unknown>): ConfigMap {
    return withSection(config, section, { ...sectionValue(config, section), ...fields });
}

/** The parsed value of one section. */
export function sectionValue(config: ConfigMap, section: string): Record<string, unknown> {
    const raw = config[`shiftwise:${section}`];
    return raw === undefined ? {} : (JSON.parse(raw) as Record<string, unknown>);
}

const evaluations = new Map<string, Promise<ProgramEvaluation>>();

/**
 * StrykerJS switches mutants at run time (`__stryker__.activeMutant`, or the
 * environment for static mutants). An evaluation made under one mutant must
 * never answer for another, or every mutant would reuse the clean run.
 */
function activeMutant(): string {
    const stryker = (globalThis as { __stryker__?: { activeMutant?: unknown } }).__stryker__;
    return String(stryker?.activeMutant ?? process.env.__STRYKER_ACTIVE_MUTANT__ ?? "");
}

/**
 * Evaluates the program with `config` as stack `stack`. Results are cached by
 * stack and config, so treat them as read-only.
 */
export function evaluate(config: ConfigMap, stack = "staging", preview = false): Promise<ProgramEvaluation> {
    const key = JSON.stringify([activeMutant(), stack, preview, Object.entries(config).sort()]);
    let evaluation = evaluations.get(key);
    if (!evaluation) {
        evaluation = evaluateProgram({ project: PROJECT, stack, config, programDir: PROJECT_DIR, preview });
        evaluations.set(key, evaluation);
        evaluation.catch(() => evaluations.delete(key));
    }
    return evaluation;
}

/** Evaluates a config that must fail; returns the error and what was registered before it. */
export async function evaluateFailure(config: ConfigMap, stack = "staging"): Promise<ProgramError> {
    try {
        await evaluateProgram({ project: PROJECT, stack, config, programDir: PROJECT_DIR });
    } catch (error) {
        if (error instanceof ProgramError) return error;
        throw error;
    }
    throw new Error("expected the program to fail, but it succeeded");
}

/** All resources of one type. */
export function ofType(evaluation: ProgramEvaluation, type: string): CapturedResource[] {
    return evaluation.resources.filter((resource) => resource.type === type);
}

/** The single resource of a type and logical name; fails when there is not exactly one. */
export function one(evaluation: ProgramEvaluation, type: string, name?: string): CapturedResource {
    const matches = ofType(evaluation, type).filter((resource) => name === undefined || resource.name === name);
    if (matches.length !== 1) {
        throw new Error(`expected exactly one ${type}${name ? ` named ${name}` : ""}, found ${matches.length}: ${matches.map((m) => m.name).join(", ")}`);
    }
    return matches[0];
}

/** The resources whose URN names `parentUrn` as parent, directly or through components. */
export function descendants(evaluation: ProgramEvaluation, parentUrn: string): CapturedResource[] {
    const children = evaluation.resources.filter((resource) => resource.parent === parentUrn);
    return children.flatMap((child) => [child, ...descendants(evaluation, child.urn)]);
}

/** Resolves an Output (or plain value) to its value. */
export function unwrap<T>(value: pulumi.Input<T>): Promise<T> {
    return new Promise((resolve, reject) => {
        try {
            pulumi.output(value).apply((resolved) => {
                resolve(resolved as T);
                return resolved;
            });
        } catch (error) {
            reject(error);
        }
    });
}

export type { CapturedResource, ProgramEvaluation } from "../evaluation/mockRuntime";
