// Lets mocha load the TypeScript tests: ts-node in transpile-only mode with the swc transpiler, as bin/shiftwise.js runs the CLI.
"use strict";
// Node 22.1+ keeps compiled code on disk between runs, as bin/shiftwise.js does (NODE_DISABLE_COMPILE_CACHE=1 turns it off).
require("module").enableCompileCache?.();
require("ts-node").register({ transpileOnly: true, swc: true });
