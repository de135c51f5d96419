// Reads Pulumi project and stack files from disk.
import * as fs from "fs";
import * as path from "path";

/** A stack file that is missing or unreadable. */
export class StackFileError extends Error {
    constructor(message: string) {
        super(message);
        this.name = "StackFileError";
    }
}

/** The placeholder a `secure:` value gets offline, where it cannot be decrypted. */
export const SECRET_PLACEHOLDER = "[secret]";

/** A stack's config as the Pulumi engine hands it to a program. */
export interface StackConfigFile {
    /** Full keys (`shiftwise:traffic`) to the engine's string form: JSON for structured values. */
    readonly config: Record<string, string>;
    /** Keys that hold a `secure:` value somewhere inside. */
    readonly secretKeys: string[];
    /** The file it came from. */
    readonly file: string;
    /** Pulumi ESC environments the file imports (`environment:`); their values exist only in Pulumi Cloud. */
    readonly environments: string[];
}

/** The Pulumi project name from `Pulumi.yaml` in `projectDir`. */
export function readProjectName(projectDir: string): string {
    const file = path.join(projectDir, "Pulumi.yaml");
    const project = parseYaml(readText(file)) as { name?: unknown };
    if (typeof project?.name !== "string") throw new StackFileError(`${file}: has no project name`);
    return project.name;
}

/**
 * A stack's short name: `acme/production` and `acme/shop/production` are
 * `production`, as Pulumi names the stack file and `pulumi.getStack()`.
 */
export function shortStackName(stack: string): string {
    return stack.split("/").pop() ?? stack;
}

/** Where `Pulumi.<stack>.yaml` lives; `stack` may be fully qualified (`org/stack`). */
export function stackFilePath(projectDir: string, stack: string): string {
    return path.join(projectDir, `Pulumi.${shortStackName(stack)}.yaml`);
}

/**
 * Reads a stack file (`Pulumi.staging.yaml`). Keys without a namespace get the
 * project's, as the Pulumi CLI does. `secure:` values cannot be decrypted
 * offline: they become `[secret]` and their keys are marked secret.
 */
export function readStackFile(file: string, projectName: string): StackConfigFile {
    let document: unknown;
    const text = readText(file);
    try {
        document = parseYaml(text);
    } catch (error) {
        throw new StackFileError(`${file}: is not valid YAML: ${(error as Error).message}`);
    }
    if (document !== null && document !== undefined && (typeof document !== "object" || Array.isArray(document))) {
        throw new StackFileError(`${file}: must be a YAML map with a "config" key`);
    }
    const values = (document as { config?: Record<string, unknown> } | null)?.config ?? {};
    if (typeof values !== "object" || Array.isArray(values)) throw new StackFileError(`${file}: "config" must be a map of keys to values`);
    const config: Record<string, string> = {};
    const secretKeys: string[] = [];
    for (const [rawKey, rawValue] of Object.entries(values)) {
        const key = rawKey.includes(":") ? rawKey : `${projectName}:${rawKey}`;
        const { value, secret } = replaceSecrets(rawValue);
        config[key] = typeof value === "string" ? value : JSON.stringify(value);
        if (secret) secretKeys.push(key);
    }
    return { config, secretKeys, file, environments: environmentImports((document as { environment?: unknown } | null)?.environment) };
}

/** The names under `environment:`, written as a list or as `imports:`. */
function environmentImports(environment: unknown): string[] {
    const imports = Array.isArray(environment) ? environment : (environment as { imports?: unknown } | undefined)?.imports;
    return Array.isArray(imports) ? imports.map((entry) => (typeof entry === "string" ? entry : JSON.stringify(entry))) : [];
}

function readText(file: string): string {
    try {
        return fs.readFileSync(file, "utf8");
    } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        throw new StackFileError(code === "ENOENT" ? `${file} does not exist; create it with \`pulumi stack init\` or pass --config-file` : `${file}: ${(error as Error).message}`);
    }
}

function replaceSecrets(value: unknown): { value: unknown; secret: boolean } {
    if (Array.isArray(value)) {
        const items = value.map(replaceSecrets);
        return { value: items.map((i) => i.value), secret: items.some((i) => i.secret) };
    }
    if (value && typeof value === "object") {
        const record = value as Record<string, unknown>;
        if (Object.keys(record).length === 1 && typeof record.secure === "string") return { value: SECRET_PLACEHOLDER, secret: true };
        let secret = false;
        const result: Record<string, unknown> = {};
        for (const [k, v] of Object.entries(record)) {
            const inner = replaceSecrets(v);
            result[k] = inner.value;
            secret ||= inner.secret;
        }
        return { value: result, secret };
    }
    return { value, secret: false };
}

/** `yaml`'s parser, loaded on the first file read, so a command line rejected before any file is read never loads it. */
function parseYaml(text: string): unknown {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return (require("yaml") as typeof import("yaml")).parse(text);
}
