// Tests of bin/defer-typescript.js: Pulumi's SDK loads without the TypeScript compiler, and closure serialization, the one feature that uses it, still gets the real compiler.
import * as assert from "assert";
import { execFileSync } from "child_process";
import * as path from "path";
import { PROJECT_DIR } from "./harness";

const DEFER = path.join(PROJECT_DIR, "bin", "defer-typescript.js");

describe("the TypeScript compiler Pulumi loads at start-up", function () {
    this.timeout(60_000);

    it("is not loaded with @pulumi/pulumi and its Automation API; serializeFunction loads the real compiler on first use and works", () => {
        // A fresh Node: the test workers have deferred the compiler already.
        const script = `
const compilerLoaded = () => Object.keys(require.cache).some((file) => file.split(require("path").sep).join("/").endsWith("/typescript/lib/typescript.js"));
const deferred = require(${JSON.stringify(DEFER)}).deferPulumiTypescript();
const pulumi = require("@pulumi/pulumi");
require("@pulumi/pulumi/automation");
const afterLoad = compilerLoaded();
const answer = 42;
pulumi.runtime.serializeFunction(() => answer).then((serialized) => {
    process.stdout.write(JSON.stringify({ deferred, afterLoad, afterUse: compilerLoaded(), again: require(${JSON.stringify(DEFER)}).deferPulumiTypescript(), text: serialized.text }));
});`;
        const result = JSON.parse(execFileSync(process.execPath, ["--no-warnings", "-e", script], { cwd: PROJECT_DIR, encoding: "utf8" })) as Record<string, unknown>;
        assert.strictEqual(result.deferred, true, "the stand-in took the shim's place");
        assert.strictEqual(result.afterLoad, false, "loading Pulumi and the Automation API did not load the compiler");
        assert.strictEqual(result.afterUse, true, "serializing a closure loaded it");
        assert.strictEqual(result.again, false, "a second call leaves the loaded shim alone");
        // The serializer parsed the function with the compiler and captured the variable it reads.
        assert.match(String(result.text), /with\(\{ answer: 42,/);
        assert.match(String(result.text), /\nreturn \(\) => answer;\n/);
    });
});
