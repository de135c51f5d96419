// Runs the package bin as a separate process, as users run it, optionally with the stand-in `pulumi` (pulumi-cli.sh) on PATH.
import { execFile } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { PROJECT_DIR } from "../harness";

export const BIN = path.join(PROJECT_DIR, "bin", "shiftwise.js");
export const STACK_TRACE = /^\s+at .+[:(]/m;

export interface BinResult {
    readonly code: number;
    readonly stdout: string;
    readonly stderr: string;
}

/** Runs the package bin in `cwd` (default a folder that is not a Pulumi project) and collects its output. */
export function shiftwise(args: readonly string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<BinResult> {
    return new Promise((resolve) => {
        execFile(process.execPath, [BIN, ...args], { cwd: options.cwd ?? os.tmpdir(), env: { ...process.env, SHIFTWISE_DEBUG: "", ...options.env } }, (error, stdout, stderr) => {
            resolve({ code: error ? Number((error as { code?: unknown }).code ?? 1) : 0, stdout, stderr });
        });
    });
}

export function tempDir(): string {
    return fs.mkdtempSync(path.join(os.tmpdir(), "shiftwise-cli-"));
}

/** A folder whose `pulumi` is test/fakes/pulumi-cli.sh; it logs every call to `log`. The folder, for other files of the test. */
export function fakePulumiFolder(log: string): { env: NodeJS.ProcessEnv; dir: string } {
    const dir = tempDir();
    fs.copyFileSync(path.join(__dirname, "pulumi-cli.sh"), path.join(dir, "pulumi"));
    fs.chmodSync(path.join(dir, "pulumi"), 0o755);
    return { env: { PATH: `${dir}${path.delimiter}${path.dirname(process.execPath)}${path.delimiter}${process.env.PATH ?? ""}`, FAKE_PULUMI_LOG: log }, dir };
}

/** The environment that puts the stand-in `pulumi` (test/fakes/pulumi-cli.sh) first on PATH; it logs every call to `log`. */
export function fakePulumiPath(log: string): NodeJS.ProcessEnv {
    return fakePulumiFolder(log).env;
}

/** `config` (key -> engine string) as `pulumi config --json` prints a stack's config, for the stand-in to serve. */
export function pulumiConfigJson(config: Readonly<Record<string, string>>): string {
    return JSON.stringify(Object.fromEntries(Object.entries(config).map(([key, value]) => [key, { value, secret: false }])));
}

/** The stand-in `pulumi` serving `config` (key -> engine string) and `outputs` as the stack's; returns its env and call log. */
export function fakePulumiStack(config: Record<string, string>, outputs: Record<string, unknown> = {}): { env: NodeJS.ProcessEnv; log: string } {
    const dir = tempDir();
    const log = path.join(dir, "pulumi-calls.log");
    fs.writeFileSync(path.join(dir, "config.json"), pulumiConfigJson(config));
    fs.writeFileSync(path.join(dir, "outputs.json"), JSON.stringify(outputs));
    return { env: { ...fakePulumiPath(log), FAKE_PULUMI_CONFIG: path.join(dir, "config.json"), FAKE_PULUMI_OUTPUTS: path.join(dir, "outputs.json") }, log };
}

/** The pulumi commands the bin ran, one per line. */
export function pulumiCalls(log: string): string[] {
    return fs.existsSync(log) ? fs.readFileSync(log, "utf8").trim().split("\n").filter(Boolean) : [];
}
