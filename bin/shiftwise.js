#!/usr/bin/env node
// The `shiftwise` executable: moves to a supported Node if needed, then runs the TypeScript CLI, compiled by esbuild and cached on disk (bin/typescript-cache.js).
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
    // The project ships TypeScript sources (the same files `pulumi up` runs). Each is compiled by esbuild
    // once per content and then loaded from node_modules/.cache/shiftwise, so a run loads neither
    // ts-node, swc nor TypeScript; `npm test` type-checks the sources.
    require("./typescript-cache").register();
    // Pulumi would load the TypeScript compiler at start-up for a feature shiftwise never uses; it loads on first use instead.
    require("./defer-typescript").deferPulumiTypescript();
    // Stack traces in .ts lines for bug reports; off otherwise, as mapping every trace costs time.
    if (process.argv.includes("--debug") || isSet(process.env.SHIFTWISE_DEBUG)) process.setSourceMapsEnabled(true);
    require(path.join(root, "cli", "main.ts")).run(process.argv);
}

function isSet(value) {
    return value !== undefined && value !== "" && value !== "0" && value.toLowerCase() !== "false";
}
