#!/usr/bin/env node
// The `shiftwise` executable: moves to a supported Node if needed, then runs the TypeScript CLI through ts-node with the swc transpiler.
"use strict";
const path = require("path");
const supported = require("./supported-node");

const binary = supported.supportedNode();
if (binary !== process.execPath) {
    // This Node is older than 22: run the same command on the registry's Node.
    supported.runAndExit(binary, [__filename, ...process.argv.slice(2)], supported.envWithNode(binary));
} else {
    const root = path.resolve(__dirname, "..");
    // Node (22.1 and later) keeps the V8 code it compiled for each module on disk (in the OS temp folder;
    // NODE_DISABLE_COMPILE_CACHE=1 turns it off), so a second run skips compiling @pulumi/aws and the rest again.
    require("module").enableCompileCache?.();
    // The project ships TypeScript sources (the same files `pulumi up` runs); swc transpiles them
    // many times faster than TypeScript's own transpiler, and `npm test` type-checks them.
    require("ts-node").register({ project: path.join(root, "tsconfig.json"), transpileOnly: true, swc: true });
    require(path.join(root, "cli", "main.ts")).run(process.argv);
}
