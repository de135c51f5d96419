#!/usr/bin/env node
// The `shiftwise` CLI. The project ships TypeScript sources (the same files `pulumi up` runs),
// so the CLI compiles them on the fly with ts-node in transpile-only mode.
"use strict";
const path = require("path");
const root = path.resolve(__dirname, "..");
require("ts-node").register({ project: path.join(root, "tsconfig.json"), transpileOnly: true });
require(path.join(root, "cli", "main.ts")).main(process.argv).then(
    (code) => { process.exitCode = code; },
    (error) => { console.error(error && error.stack ? error.stack : String(error)); process.exitCode = 1; },
);
