// Lets mocha load the TypeScript tests: ts-node in transpile-only mode with the swc transpiler, as bin/shiftwise.js runs the CLI.
"use strict";
require("ts-node").register({ transpileOnly: true, swc: true });
