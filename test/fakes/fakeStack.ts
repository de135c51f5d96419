// A fake stack port that evaluates the real program under the mock runtime.
import { decodeConfigValue } from "../../config";
import { diffGraphs } from "../../evaluation/graphDiff";
import { parsePath, PathSegment } from "../../rollout/configPaths";
import type { ProgramEvaluation } from "../../evaluation/mockRuntime";
import type { PreviewOptions, ResourceStep, StackChanges, StackConfigEntries, StackHistoryEntry, StackOperationOptions, StackPort } from "../../ports/ports";
import { evaluate } from "../harness";

/**
 * A `StackPort` whose preview and up evaluate the REAL index.ts under Pulumi's
 * mock runtime and report per-resource ops by diffing the deployed graph with
 * the new one (evaluation/graphDiff.ts). So the driver's guards run against the
 * program's real resource graph. Evaluations go through the shared harness,
 * which caches them by stack and config across all tests.
 */

export interface FakeStackOptions {
    readonly stackName: string;
    /** The stack file's config, engine strings (JSON for structured values). */
    readonly config: Record<string, string>;
    /** The config the stack was last deployed with. @default config */
    readonly deployedConfig?: Record<string, string>;
}

/** Decides whether the nth `up` (1-based) fails; return the error to throw. */
export type UpFailure = (upNumber: number, config: Record<string, string>) => Error | undefined;

/**
 * Where a simulated `kill -9` stops the process: `before` an operation takes
 * effect, or `after` it took effect but before it returned. The operation then
 * never settles, so the driver's promise is abandoned with exactly the stack
 * state and records on disk that a killed process leaves.
 */
export type Kill = (call: string, number: number) => "before" | "after" | undefined;

/** A promise that never settles: the process is gone. */
const killed = () => new Promise<never>(() => undefined);

export class FakeStack implements StackPort {
    readonly stackName: string;
    /** Every call, in order: `setConfig shiftwise:traffic.blue=95 ...`, `up`, `preview`, ... */
    readonly calls: string[] = [];
    /** The effective changes of every successful up. */
    readonly ups: { config: Record<string, string>; changes: StackChanges; targets?: readonly string[] }[] = [];
    failUp?: UpFailure;
    /** Runs before every up (to edit config behind the driver's back, fire signals, ...). */
    beforeUp?: (upNumber: number) => void;
    /** Simulates a killed process at a `setConfig`, `removeConfig`, `preview` or `up` (numbered per kind, 1-based). */
    kill?: Kill;
    /** The options of every preview and up, in order. */
    readonly operations: { op: "preview" | "up"; targets?: readonly string[]; config?: boolean; signal?: boolean }[] = [];
    private values: Record<string, unknown>;
    private deployedConfig: Record<string, string>;
    /** The evaluation of `deployedConfig`, kept until an up replaces it: the driver reads the deployed stack thousands of times per file. */
    private deployedEvaluation?: Promise<ProgramEvaluation>;
    /** The deployed graph after a targeted up left some changes unapplied. */
    private deployedGraph?: ProgramEvaluation;
    private upCount = 0;
    private readonly counts: Record<string, number> = {};
    private readonly historyEntries: StackHistoryEntry[] = [];

    constructor(options: FakeStackOptions) {
        this.stackName = options.stackName;
        this.values = Object.fromEntries(Object.entries(options.config).map(([key, value]) => [key, decodeConfigValue(value)]));
        this.deployedConfig = { ...(options.deployedConfig ?? options.config) };
    }

    /** The config as the engine would get it. */
    engineConfig(): Record<string, string> {
        return Object.fromEntries(Object.entries(this.values).map(([key, value]) => [key, typeof value === "string" ? value : JSON.stringify(value)]));
    }

    /** A decoded section (`traffic`), for assertions. */
    section(name: string): unknown {
        return this.values[`shiftwise:${name}`];
    }

    /** Edits config directly, like a person running `pulumi config set` (no call recorded). */
    edit(section: string, value: unknown): void {
        this.values[`shiftwise:${section}`] = structuredClone(value);
    }

    async deployed(): Promise<ProgramEvaluation> {
        return this.deployedGraph ?? (this.deployedEvaluation ??= evaluate(this.deployedConfig, this.stackName));
    }

    /** A deployed resource by type and logical name (`aws:ecs/service:Service`, `shop-blue`). */
    async deployedResource(type: string, name: string): Promise<ProgramEvaluation["resources"][number] | undefined> {
        return (await this.deployed()).resources.find((resource) => resource.type === type && resource.name === name);
    }

    private killPoint(call: string): "before" | "after" | undefined {
        this.counts[call] = (this.counts[call] ?? 0) + 1;
        return this.kill?.(call, this.counts[call]);
    }

    async getAllConfig(): Promise<StackConfigEntries> {
        return Object.fromEntries(Object.entries(this.engineConfig()).map(([key, value]) => [key, { value }]));
    }

    async setConfig(values: Readonly<Record<string, string>>, options: { readonly path: boolean }): Promise<void> {
        const kill = this.killPoint("setConfig");
        if (kill === "before") return killed();
        this.calls.push(`setConfig ${Object.entries(values).map(([k, v]) => `${k}=${v}`).join(" ")}`);
        for (const [key, value] of Object.entries(values)) {
            if (!options.path) {
                this.values[key] = decodeConfigValue(value);
                continue;
            }
            const { key: top, segments } = parsePath(key);
            if (segments.length === 0) this.values[top] = value;
            else this.values[top] = setIn(this.values[top], segments, typed(value));
        }
        if (kill === "after") return killed();
    }

    async removeConfig(keys: readonly string[], options: { readonly path: boolean }): Promise<void> {
        const kill = this.killPoint("removeConfig");
        if (kill === "before") return killed();
        this.calls.push(`removeConfig ${keys.join(" ")}`);
        for (const key of keys) {
            const { key: top, segments } = options.path ? parsePath(key) : { key, segments: [] as PathSegment[] };
            if (segments.length === 0) delete this.values[top];
            else removeIn(this.values[top], segments);
        }
        if (kill === "after") return killed();
    }

    async preview(options: PreviewOptions = {}): Promise<StackChanges> {
        if (this.killPoint("preview")) return killed();
        this.operations.push({ op: "preview", targets: options.targets, config: options.config !== undefined, signal: options.signal !== undefined });
        // A preview of a given config reads no stack file and writes none.
        this.calls.push(options.config ? "preview --config-file" : "preview");
        if (options.signal?.aborted) throw new Error("preview cancelled: the engine received SIGINT");
        const config = options.config ? Object.fromEntries(Object.entries(options.config).map(([key, entry]) => [key, entry.value])) : this.engineConfig();
        return this.changesTo(config);
    }

    async up(options: StackOperationOptions = {}): Promise<StackChanges> {
        this.upCount += 1;
        this.beforeUp?.(this.upCount);
        const kill = this.killPoint("up");
        if (kill === "before") return killed();
        // As ports/automationStack.ts: the engine would run an update restricted to no resources unrestricted.
        if (options.targets?.length === 0) throw new Error("refusing an operation restricted to no resources: the engine would run it unrestricted");
        const config = this.engineConfig();
        this.operations.push({ op: "up", targets: options.targets, signal: options.signal !== undefined });
        this.calls.push(options.targets ? `up --target ${options.targets.join(" --target ")}` : "up");
        const startTime = new Date().toISOString();
        const failure = this.failUp?.(this.upCount, config) ?? (options.signal?.aborted ? new Error("update cancelled: the engine received SIGINT") : undefined);
        if (failure) {
            this.historyEntries.unshift({ version: this.upCount, kind: "update", result: "failed", startTime });
            throw failure;
        }
        const all = await this.changesTo(config);
        const changes = options.targets ? await this.applyTargeted(config, all, new Set(options.targets)) : all;
        if (!options.targets) {
            this.deploy(config);
        }
        this.ups.push({ config, changes: { steps: changes.steps.filter((step) => step.op !== "same") }, ...(options.targets ? { targets: options.targets } : {}) });
        this.historyEntries.unshift({ version: this.upCount, kind: "update", result: "succeeded", startTime });
        if (kill === "after") return killed();
        return changes;
    }

    /** Makes `config` the deployed config, its whole graph deployed. */
    private deploy(config: Record<string, string>): void {
        this.deployedConfig = config;
        this.deployedEvaluation = undefined;
        this.deployedGraph = undefined;
    }

    /**
     * `pulumi up --target`: only the targeted resources take their new state;
     * every other resource keeps its deployed one (and stays pending for the
     * next preview). The stack's outputs stay as they were until an up leaves
     * nothing pending (the conservative reading: `pulumi:pulumi:Stack` is not
     * targeted).
     */
    private async applyTargeted(config: Record<string, string>, all: StackChanges, targets: ReadonlySet<string>): Promise<StackChanges> {
        const before = await this.deployed();
        const after = await evaluate(config, this.stackName);
        const pending = all.steps.filter((step) => step.op !== "same" && !targets.has(step.urn));
        if (pending.length === 0) {
            this.deploy(config);
        } else {
            const afterByUrn = new Map(after.resources.map((resource) => [resource.urn, resource]));
            const kept = before.resources.filter((resource) => !targets.has(resource.urn)).map((resource) => resource);
            const taken = [...targets].map((urn) => afterByUrn.get(urn)).filter((resource) => resource !== undefined);
            // The root stack resource is not among the targets, so its outputs keep their last values until an update applies everything.
            this.deployedGraph = { resources: [...kept, ...taken], outputs: before.outputs };
        }
        return { steps: all.steps.filter((step) => step.op === "same" || targets.has(step.urn)) };
    }

    async outputs(): Promise<Record<string, unknown>> {
        return (await this.deployed()).outputs;
    }

    async secretOutput(name: string): Promise<string | undefined> {
        const value = (await this.deployed()).outputs[name] as { __secret?: unknown } | undefined;
        return typeof value?.__secret === "string" ? value.__secret : undefined;
    }

    async history(limit: number): Promise<StackHistoryEntry[]> {
        return this.historyEntries.slice(0, limit);
    }

    /** What an up of `config` would do to the deployed stack. */
    async changesTo(config: Record<string, string>): Promise<StackChanges> {
        const before = await this.deployed();
        const after = await evaluate(config, this.stackName);
        const byUrn = new Map([...before.resources, ...after.resources].map((resource) => [resource.urn, resource]));
        const oldByUrn = new Map(before.resources.map((resource) => [resource.urn, resource]));
        const steps: ResourceStep[] = diffGraphs(before.resources, after.resources).map((change) => {
            const resource = byUrn.get(change.urn)!;
            const arn = resource.state.arn ?? resource.state.id;
            return {
                op: change.op,
                urn: change.urn,
                type: change.type,
                diffs: change.changedKeys,
                arn: typeof arn === "string" ? arn : undefined,
                parent: resource.parent,
                retainOnDelete: oldByUrn.get(change.urn)?.options.retainOnDelete,
            };
        });
        return { steps };
    }
}

/** `pulumi config set --path` stores integers and booleans typed. */
function typed(value: string): unknown {
    if (value === "true" || value === "false") return value === "true";
    if (/^-?\d+$/.test(value)) return Number(value);
    return value;
}

function setIn(container: unknown, segments: readonly PathSegment[], value: unknown): unknown {
    const [head, ...rest] = segments;
    const base = (container ?? (typeof head === "number" ? [] : {})) as Record<string | number, unknown>;
    const copy = (Array.isArray(base) ? [...base] : { ...base }) as Record<string | number, unknown>;
    copy[head] = rest.length === 0 ? value : setIn(copy[head], rest, value);
    return copy;
}

function removeIn(container: unknown, segments: readonly PathSegment[]): void {
    const [head, ...rest] = segments;
    if (container === null || typeof container !== "object") return;
    if (rest.length > 0) return removeIn((container as Record<string | number, unknown>)[head], rest);
    if (Array.isArray(container) && typeof head === "number") container.splice(head, 1);
    else delete (container as Record<string | number, unknown>)[head];
}
