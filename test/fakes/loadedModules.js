// A preload for the bin in tests (NODE_OPTIONS=--require): when the process exits it appends every file it loaded, one a line, to $SHIFTWISE_LOADED_MODULES.
"use strict";
const fs = require("fs");

// Appended, not written: on a Node older than 22 the bin re-runs itself on a supported Node, and both processes report.
const out = process.env.SHIFTWISE_LOADED_MODULES;
if (out) process.on("exit", () => fs.appendFileSync(out, Object.keys(require.cache).map((file) => `${file}\n`).join("")));
