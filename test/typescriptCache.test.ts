// Tests of how the `shiftwise` executable loads its TypeScript (bin/typescript-cache.js): compiled once per content into the disk cache, an edit picked up on the next run, an unwritable cache still working, and no ts-node, swc or esbuild on a cached run.
import * as assert from "assert";
import { execFile, execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { PROJECT_DIR } from "./harness";
import { BIN, tempDir } from "./fakes/binProcess";

const LOADER = path.join(PROJECT_DIR, "bin", "typescript-cache.js");

interface LoadResult {
    readonly value: unknown;
    readonly stats: { hits: number; misses: number; unwritable: number };
}

/** Loads `entry` in a fresh Node through the loader with `cacheDir`, as bin/shiftwise.js does, and reports its export `value` and the cache's counts. */
function loadThroughCache(entry: string, cacheDir: string): LoadResult {
    const script = `const compiler = require(${JSON.stringify(LOADER)}).register({ cacheDir: process.argv[1] });
const value = require(process.argv[2]).value;
process.stdout.write(JSON.stringify({ value, stats: compiler.stats }));`;
    return JSON.parse(execFileSync(process.execPath, ["-e", script, cacheDir, entry], { encoding: "utf8" })) as LoadResult;
}

/** A folder with `main.ts`, which imports `part.ts` (holding `part`) and a default export through CommonJS interop. */
function sources(part: string): { dir: string; main: string; part: string } {
    const dir = tempDir();
    fs.writeFileSync(path.join(dir, "part.ts"), `export const part: string = ${JSON.stringify(part)};\n`);
    fs.writeFileSync(
        path.join(dir, "main.ts"),
        [
            `import * as path from "path";`,
            `import { part } from "./part";`,
            `interface Shape { readonly name: string }`,
            `const shape: Shape = { name: path.basename(__dirname) };`,
            `export const value = { part, dir: shape.name, later: typeof import("./part") };`,
            ``,
        ].join("\n"),
    );
    return { dir, main: path.join(dir, "main.ts"), part: path.join(dir, "part.ts") };
}

describe("the executable's TypeScript cache", function () {
    this.timeout(60_000);

    it("compiles a source once; the next run loads it from the cache, and an edited source is compiled again on its next load", () => {
        const project = sources("first");
        const cache = tempDir();
        const first = loadThroughCache(project.main, cache);
        assert.deepStrictEqual(first, { value: { part: "first", dir: path.basename(project.dir), later: "object" }, stats: { hits: 0, misses: 2, unwritable: 0 } });
        assert.deepStrictEqual(loadThroughCache(project.main, cache).stats, { hits: 2, misses: 0, unwritable: 0 });

        // The same length and a fresh write: only the content tells the two apart.
        fs.writeFileSync(project.part, fs.readFileSync(project.part, "utf8").replace("first", "fresh"));
        const edited = loadThroughCache(project.main, cache);
        assert.deepStrictEqual(edited, { value: { part: "fresh", dir: path.basename(project.dir), later: "object" }, stats: { hits: 1, misses: 1, unwritable: 0 } });
    });

    it("runs from memory when the cache folder cannot be created, every time", () => {
        const project = sources("anyway");
        // A folder under a regular file cannot be created, even by root.
        const blocker = path.join(tempDir(), "a-file");
        fs.writeFileSync(blocker, "");
        const cache = path.join(blocker, "cache");
        for (let run = 0; run < 2; run += 1) {
            assert.deepStrictEqual(loadThroughCache(project.main, cache), {
                value: { part: "anyway", dir: path.basename(project.dir), later: "object" },
                stats: { hits: 0, misses: 2, unwritable: 2 },
            });
        }
    });

    it("shiftwise plan compiles on its first run; the second loads neither ts-node, swc, esbuild, the TypeScript compiler nor an AWS SDK client and prints the same plan", async () => {
        const cache = tempDir();
        const probe = path.join(tempDir(), "probe.js");
        // Lists, at exit, every loaded code module of the packages a cached run must not need (reading esbuild's package.json for its version
        // is no load; the program's trip reader loads the DynamoDB client only when it reads AWS, which the mock runtime replaces; Pulumi's
        // closure serializer gets the TypeScript compiler only on first use, bin/defer-typescript.js).
        fs.writeFileSync(
            probe,
            [
                `const unwanted = /^(ts-node|@swc\\/core|esbuild|typescript|@aws-sdk\\/client-.*)$/;`,
                `const packageOf = (file) => { const parts = file.split(/node_modules[\\\\/]/).pop().split(/[\\\\/]/); return parts[0].startsWith("@") ? parts.slice(0, 2).join("/") : parts[0]; };`,
                `process.on("exit", () => {`,
                `    const loaded = Object.keys(require.cache).filter((file) => file.endsWith(".js") && file.includes("node_modules")).map(packageOf).filter((name) => unwanted.test(name));`,
                `    process.stderr.write("LOADED " + JSON.stringify([...new Set(loaded)]) + "\\n");`,
                `});`,
            ].join("\n"),
        );
        const run = () =>
            new Promise<{ stdout: string; loaded: string[] }>((resolve, reject) => {
                const env = { ...process.env, SHIFTWISE_CACHE_DIR: cache, SHIFTWISE_DEBUG: "", NODE_OPTIONS: `--require ${probe}` };
                execFile(process.execPath, [BIN, "--cwd", PROJECT_DIR, "plan", "--stack", "staging"], { env, cwd: PROJECT_DIR }, (error, stdout, stderr) => {
                    if (error) return reject(new Error(`${error.message}\n${stderr}`));
                    const line = stderr.split("\n").find((l) => l.startsWith("LOADED "));
                    resolve({ stdout, loaded: JSON.parse(line?.slice(7) ?? "null") as string[] });
                });
            });
        const first = await run();
        const second = await run();
        assert.deepStrictEqual(first.loaded, ["esbuild"], "the first run compiles the sources and bundles the guard with esbuild");
        assert.deepStrictEqual(second.loaded, []);
        assert.match(second.stdout, /^shiftwise plan: stack staging of project shiftwise/);
        assert.strictEqual(second.stdout, first.stdout);
    });

    it("with --debug, a trace names the .ts line that threw (source maps); without it, no trace", () => {
        const file = path.join(tempDir(), "Pulumi.edited.yaml");
        fs.writeFileSync(file, fs.readFileSync(path.join(PROJECT_DIR, "Pulumi.staging.yaml"), "utf8").replace(/shiftwise:traffic:[^\n]*\n\s+blue: \d+/, (m) => m.replace(/\d+$/, "70")));
        const configSource = fs.readFileSync(path.join(PROJECT_DIR, "config", "index.ts"), "utf8").split("\n");
        const throwLine = configSource.findIndex((line) => /\|\| !region\) throw new ConfigError/.test(line)) + 1;
        assert.ok(throwLine > 0, "config/index.ts throws the ConfigError on one line");
        const result = (debug: boolean) =>
            new Promise<string>((resolve) =>
                execFile(process.execPath, [BIN, "--cwd", PROJECT_DIR, "plan", "--stack", "staging", "--config-file", file, ...(debug ? ["--debug"] : [])], { env: { ...process.env, SHIFTWISE_DEBUG: "" } }, (_error, _stdout, stderr) =>
                    resolve(stderr),
                ),
            );
        return Promise.all([result(true), result(false)]).then(([debug, plain]) => {
            assert.match(debug, new RegExp(`\\n {4}at checkStackConfig \\(.*config[/\\\\]index\\.ts:${throwLine}:\\d+\\)`));
            assert.doesNotMatch(plain, /^\s+at /m);
        });
    });
});
