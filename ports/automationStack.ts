// The stack port on the Pulumi Automation API (LocalWorkspace).
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { LocalWorkspace, Stack } from "@pulumi/pulumi/automation";
import type { EngineEvent, OutputMap } from "@pulumi/pulumi/automation";
import YAML from "yaml";
import { readProjectName, shortStackName, stackFilePath } from "../evaluation/stackFile";
import type { PreviewOptions, ResourceStep, StackChanges, StackConfigEntries, StackHistoryEntry, StackOperationOptions, StackPort } from "./ports";

/**
 * The stack port on the Pulumi Automation API: the `pulumi` CLI runs the
 * program in `workDir` (this project) for the selected stack, reading and
 * writing `Pulumi.<stack>.yaml` as `pulumi config` does. Needs the CLI on PATH
 * and a logged-in backend (`PULUMI_ACCESS_TOKEN` or `pulumi login`).
 *
 * Every preview and up runs the project's CrossGuard pack (`policyPacks`, by
 * default `<workDir>/policy`, which needs its own `npm install` once); a
 * mandatory violation fails the operation before anything changes.
 */
export class AutomationStack implements StackPort {
    /** Use `select`; tests pass a stand-in with the same surface. */
    constructor(
        private readonly stack: Pick<Stack, "name" | "getAllConfig" | "setAllConfig" | "removeAllConfig" | "preview" | "up" | "outputs" | "history">,
        private readonly workDir: string,
        private readonly log: (text: string) => void,
        private readonly policyPacks: readonly string[] = [path.join(workDir, "policy")],
    ) {}

    /** The short name (`production` for `acme/production`), as the program's `pulumi.getStack()` sees it. */
    get stackName(): string {
        return shortStackName(this.stack.name);
    }

    /** Selects an existing stack; `log` receives the engine's own output. */
    static async select(stackName: string, workDir: string, log: (text: string) => void = () => undefined): Promise<AutomationStack> {
        return new AutomationStack(await LocalWorkspace.selectStack({ stackName, workDir }), workDir, log);
    }

    async getAllConfig(): Promise<StackConfigEntries> {
        const config = await this.stack.getAllConfig();
        return Object.fromEntries(Object.entries(config).map(([key, entry]) => [key, { value: entry.value, secret: entry.secret ?? false }]));
    }

    async setConfig(values: Readonly<Record<string, string>>, options: { readonly path: boolean }): Promise<void> {
        const config = Object.fromEntries(Object.entries(values).map(([key, value]) => [key, { value, secret: false }]));
        // One `pulumi config set-all` call, so a step's two weights change together.
        await this.stack.setAllConfig(config, options.path);
    }

    async removeConfig(keys: readonly string[], options: { readonly path: boolean }): Promise<void> {
        await this.stack.removeAllConfig([...keys], options.path);
    }

    async preview(options: PreviewOptions = {}): Promise<StackChanges> {
        const collector = new StepCollector();
        const configFile = options.config ? writePreviewStackFile(stackFilePath(this.workDir, this.stack.name), readProjectName(this.workDir), options.config) : undefined;
        try {
            await this.stack.preview({ refresh: false, onEvent: collector.onEvent, onOutput: this.log, color: "never", target: targetsOf(options), signal: options.signal, configFile, policyPacks: [...this.policyPacks] });
        } finally {
            if (configFile) fs.rmSync(path.dirname(configFile), { recursive: true, force: true });
        }
        return collector.changes();
    }

    async up(options: StackOperationOptions = {}): Promise<StackChanges> {
        const collector = new StepCollector();
        // No refresh: the driver's guard compares against the state the checkpoint preview proved clean.
        await this.stack.up({ refresh: false, onEvent: collector.onEvent, onOutput: this.log, color: "never", target: targetsOf(options), signal: options.signal, policyPacks: [...this.policyPacks] });
        return collector.changes();
    }

    async outputs(): Promise<Record<string, unknown>> {
        return plainOutputs(await this.stack.outputs());
    }

    async secretOutput(name: string): Promise<string | undefined> {
        const value = (await this.stack.outputs())[name]?.value;
        return typeof value === "string" ? value : undefined;
    }

    async history(limit: number): Promise<StackHistoryEntry[]> {
        const updates = await this.stack.history(limit, 1);
        return updates.map((update) => ({
            version: update.version,
            kind: update.kind,
            result: update.result,
            startTime: new Date(update.startTime).toISOString(),
            endTime: update.endTime ? new Date(update.endTime).toISOString() : undefined,
            message: update.message,
        }));
    }
}

function targetsOf(options: StackOperationOptions): string[] | undefined {
    // `--target` with no URNs means no restriction to the engine: never let an empty list widen an operation.
    if (options.targets?.length === 0) throw new Error("refusing an operation restricted to no resources: the engine would run it unrestricted");
    return options.targets ? [...options.targets] : undefined;
}

/**
 * A copy of the stack file with every non-secret key set to `config` (keys not
 * in `config` removed), in a fresh temporary folder, for `--config-file`. Secret
 * (`secure:`) values and the file's encryption settings are copied as they are,
 * so the engine decrypts them as it does for the stack file. Returns its path.
 */
export function writePreviewStackFile(stackFile: string, projectName: string, config: StackConfigEntries): string {
    const document = YAML.parseDocument(fs.readFileSync(stackFile, "utf8"));
    const fullKey = (key: string) => (key.includes(":") ? key : `${projectName}:${key}`);
    const existing = (document.get("config") as YAML.YAMLMap | undefined)?.items ?? [];
    const secretKeys = new Set<string>();
    for (const item of [...existing]) {
        const key = String((item.key as YAML.Scalar).value ?? item.key);
        if (YAML.stringify(item.value).includes("secure:")) secretKeys.add(fullKey(key));
        else document.deleteIn(["config", key]);
    }
    for (const [key, entry] of Object.entries(config)) {
        if (entry.secret || secretKeys.has(key)) continue;
        document.setIn(["config", key], structuredValue(entry.value));
    }
    const folder = fs.mkdtempSync(path.join(os.tmpdir(), "shiftwise-preview-"));
    const file = path.join(folder, path.basename(stackFile));
    fs.writeFileSync(file, document.toString());
    return file;
}

/** `pulumi config --json` gives structured values as JSON text; the stack file holds them as YAML. */
function structuredValue(value: string): unknown {
    try {
        const parsed: unknown = JSON.parse(value);
        return parsed !== null && typeof parsed === "object" ? parsed : value;
    } catch {
        return value;
    }
}

/** Collects `resourcePreEvent`s into per-resource steps, adding ARNs from the resource outputs events. */
export class StepCollector {
    private readonly steps = new Map<string, ResourceStep>();

    readonly onEvent = (event: EngineEvent): void => {
        const pre = event.resourcePreEvent?.metadata;
        if (pre) {
            const state = pre.old ?? pre.new;
            const arn = stateArn(pre.old?.outputs) ?? stateArn(pre.new?.outputs);
            // A replacement emits several steps for one URN (replace, create-replacement, delete-replaced): keep the strongest.
            const previous = this.steps.get(pre.urn);
            if (!previous || rank(pre.op) > rank(previous.op)) {
                this.steps.set(pre.urn, {
                    op: pre.op,
                    urn: pre.urn,
                    type: pre.type,
                    diffs: pre.diffs ?? pre.keys ?? [],
                    arn: arn ?? previous?.arn,
                    parent: state?.parent || undefined,
                    retainOnDelete: pre.old?.retainOnDelete ?? pre.new?.retainOnDelete,
                });
            }
        }
        const outputs = event.resOutputsEvent?.metadata;
        if (outputs) {
            const existing = this.steps.get(outputs.urn);
            const arn = stateArn(outputs.new?.outputs);
            if (existing && !existing.arn && arn) this.steps.set(outputs.urn, { ...existing, arn });
        }
    };

    changes(): StackChanges {
        return { steps: [...this.steps.values()] };
    }
}

const OP_RANK = ["same", "read", "refresh", "update", "create", "delete", "create-replacement", "delete-replaced", "replace"];

function rank(op: string): number {
    return OP_RANK.indexOf(op);
}

function stateArn(outputs: Record<string, unknown> | undefined): string | undefined {
    const arn = outputs?.arn;
    return typeof arn === "string" ? arn : undefined;
}

/** Stack outputs without the Automation API's `{ value, secret }` wrappers; secrets stay hidden. */
export function plainOutputs(outputs: OutputMap): Record<string, unknown> {
    return Object.fromEntries(Object.entries(outputs).map(([key, output]) => [key, output.secret ? "[secret]" : output.value]));
}
