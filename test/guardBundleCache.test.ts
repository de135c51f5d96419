// Tests of the guard bundle's disk cache: reused while every input esbuild read is unchanged, bundled again after an edit to any of them (inside guard/ or not), and made in memory when the cache cannot be written.
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { bundleGuardHandler, guardHandlerCode } from "../guard/bundle";
import { PROJECT_DIR } from "./harness";
import { tempDir } from "./fakes/binProcess";

/** A copy of the files the guard bundle is made from (guard/, ports/ and the build settings) in a fresh project folder. */
function projectCopy(): string {
    const root = tempDir();
    for (const folder of ["guard", "ports"]) fs.cpSync(path.join(PROJECT_DIR, folder), path.join(root, folder), { recursive: true });
    for (const file of ["tsconfig.json", "package.json"]) fs.copyFileSync(path.join(PROJECT_DIR, file), path.join(root, file));
    return root;
}

function edit(file: string, from: string, to: string): void {
    const text = fs.readFileSync(file, "utf8");
    assert.ok(text.includes(from), `${file} holds ${from}`);
    fs.writeFileSync(file, text.replace(from, to));
}

describe("the guard bundle's disk cache", function () {
    this.timeout(60_000);

    it("is reused while its inputs are unchanged, and rebuilt after an edit to guard/ or to ports/ledgerKey.ts, which the handler imports", () => {
        const root = projectCopy();
        const cacheDir = tempDir();
        const first = bundleGuardHandler({ root, cacheDir });
        assert.strictEqual(first.from, "esbuild");
        assert.deepStrictEqual(bundleGuardHandler({ root, cacheDir }), { code: first.code, from: "cache" });

        edit(path.join(root, "ports", "ledgerKey.ts"), `tripPrefix: "TRIP#"`, `tripPrefix: "GUARDTRIP#"`);
        const afterPorts = bundleGuardHandler({ root, cacheDir });
        assert.strictEqual(afterPorts.from, "esbuild");
        assert.ok(afterPorts.code.includes(`"GUARDTRIP#"`) && !first.code.includes("GUARDTRIP#"), "the bundle holds the edited key prefix");
        assert.deepStrictEqual(bundleGuardHandler({ root, cacheDir }), { code: afterPorts.code, from: "cache" });

        edit(path.join(root, "guard", "environment.ts"), "SHIFTWISE_", "SHIFTWISE2_");
        const afterGuard = bundleGuardHandler({ root, cacheDir });
        assert.strictEqual(afterGuard.from, "esbuild");
        assert.ok(afterGuard.code.includes("SHIFTWISE2_"));
    });

    it("rebuilds when tsconfig.json or package.json changes, since they shape what esbuild emits", () => {
        const root = projectCopy();
        const cacheDir = tempDir();
        bundleGuardHandler({ root, cacheDir });
        edit(path.join(root, "tsconfig.json"), `"strict": true`, `"strict": true, "useDefineForClassFields": false`);
        assert.strictEqual(bundleGuardHandler({ root, cacheDir }).from, "esbuild");
        assert.strictEqual(bundleGuardHandler({ root, cacheDir }).from, "cache");
        edit(path.join(root, "package.json"), `"private": true`, `"private": true, "sideEffects": false`);
        assert.strictEqual(bundleGuardHandler({ root, cacheDir }).from, "esbuild");
    });

    it("by default bundles this project's handler, the code the program ships", () => {
        const fromDefaultRoot = bundleGuardHandler({ cacheDir: tempDir() });
        assert.strictEqual(fromDefaultRoot.code, bundleGuardHandler({ root: PROJECT_DIR, cacheDir: tempDir() }).code);
        assert.strictEqual(guardHandlerCode(), fromDefaultRoot.code);
        assert.match(fromDefaultRoot.code, /handler/);
    });

    it("bundles in memory, the same code, when the cache folder cannot be created", () => {
        const root = projectCopy();
        const blocker = path.join(tempDir(), "a-file");
        fs.writeFileSync(blocker, "");
        const unwritable = path.join(blocker, "cache");
        const fresh = bundleGuardHandler({ root, cacheDir: tempDir() });
        for (let run = 0; run < 2; run += 1) assert.deepStrictEqual(bundleGuardHandler({ root, cacheDir: unwritable }), { code: fresh.code, from: "esbuild" });
    });

    it("a damaged cache entry (cut short, without its code or its inputs, or naming a file that is gone) is bundled again, never served", () => {
        const root = projectCopy();
        const cacheDir = tempDir();
        const first = bundleGuardHandler({ root, cacheDir });
        const [entry] = fs.readdirSync(path.join(cacheDir, "guard"));
        const file = path.join(cacheDir, "guard", entry);
        const whole = fs.readFileSync(file, "utf8");
        fs.writeFileSync(file, whole.slice(0, 100));
        assert.deepStrictEqual(bundleGuardHandler({ root, cacheDir }), { code: first.code, from: "esbuild" });
        // Whole JSON, but not an entry that proves its inputs: no code, no inputs, none listed, or one that is gone.
        const parsed = JSON.parse(whole) as { inputs: Record<string, string> };
        for (const damaged of [
            { ...parsed, code: undefined },
            { ...parsed, inputs: null },
            { ...parsed, inputs: {} },
            { ...parsed, inputs: { ...parsed.inputs, "guard/removed.ts": parsed.inputs["guard/handler.ts"] } },
        ]) {
            fs.writeFileSync(file, JSON.stringify(damaged));
            assert.deepStrictEqual(bundleGuardHandler({ root, cacheDir }), { code: first.code, from: "esbuild" }, JSON.stringify(damaged).slice(0, 200));
        }
    });
});
