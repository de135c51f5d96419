// The two type checks, TypeScript 7 in `npm test` and TypeScript 5 in `.ci/run` (the compiler `pulumi up` runs), check the same files with the same options.
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import * as ts from "typescript";
import { PROJECT_DIR } from "./harness";

/** A tsconfig file's effective options and root files, as TypeScript resolves `extends` and `include`. */
function effective(file: string): { options: Record<string, unknown>; files: string[] } {
    const configPath = path.join(PROJECT_DIR, file);
    const read = ts.readConfigFile(configPath, ts.sys.readFile);
    assert.strictEqual(read.error, undefined, `${file}: ${read.error && ts.flattenDiagnosticMessageText(read.error.messageText, "\n")}`);
    const parsed = ts.parseJsonConfigFileContent(read.config, ts.sys, PROJECT_DIR, undefined, configPath);
    assert.deepStrictEqual(parsed.errors.map((error) => ts.flattenDiagnosticMessageText(error.messageText, "\n")), [], file);
    const { configFilePath: _path, ...options } = parsed.options as Record<string, unknown>;
    return { options, files: [...parsed.fileNames].sort() };
}

type Manifest = { scripts: Record<string, string>; dependencies: Record<string, string>; devDependencies: Record<string, string> };

function manifest(): Manifest {
    return JSON.parse(fs.readFileSync(path.join(PROJECT_DIR, "package.json"), "utf8")) as Manifest;
}

describe("the type checks", function () {
    it("TypeScript 7's config is TypeScript 5's with only moduleResolution changed (7 removed node10): same files, same strictness", function () {
        const five = effective("tsconfig.json");
        const seven = effective("tsconfig.ts7.json");
        assert.ok(five.files.length > 200, `only ${five.files.length} root files`);
        assert.deepStrictEqual(seven.files, five.files);
        assert.strictEqual(five.options.moduleResolution, ts.ModuleResolutionKind.Node10);
        assert.strictEqual(seven.options.moduleResolution, ts.ModuleResolutionKind.Bundler);
        assert.deepStrictEqual({ ...seven.options, moduleResolution: undefined }, { ...five.options, moduleResolution: undefined });
        assert.strictEqual(five.options.strict, true);
    });

    it("npm test runs the TypeScript 7 check, and .ci/run the TypeScript 5 one; typescript itself stays ^5", function () {
        const { scripts, dependencies, devDependencies } = manifest();
        assert.match(scripts.test, /\brun-p\b.*\btypecheck\b.*\bunit\b/);
        assert.match(scripts.typecheck, /node_modules\/typescript7\/bin\/tsc --noEmit .*-p tsconfig\.ts7\.json$/);
        assert.match(scripts["typecheck:ts5"], /node_modules\/typescript\/bin\/tsc --noEmit .*-p tsconfig\.json$/);
        assert.match(fs.readFileSync(path.join(PROJECT_DIR, ".ci", "run"), "utf8"), /^node bin\/supported-node\.js npm run typecheck:ts5$/m);
        assert.match(devDependencies.typescript ?? dependencies.typescript, /^\^5\./);
        assert.match(devDependencies.typescript7, /^npm:typescript@\^7\./);
        assert.strictEqual(ts.versionMajorMinor.split(".")[0], "5", "the `typescript` the tests load is 5");
    });
});
