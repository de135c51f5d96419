// Lets mocha load the TypeScript tests the way bin/shiftwise.js loads the CLI: esbuild compiles each file once per content into the disk cache (bin/typescript-cache.js).
"use strict";
// Node 22.1+ keeps compiled code on disk between runs, as bin/shiftwise.js does (NODE_DISABLE_COMPILE_CACHE=1 turns it off).
require("module").enableCompileCache?.();
// The same compiler as the executable's, so the tests run the JavaScript users run; `npm test` type-checks separately (tsc --noEmit).
require("../bin/typescript-cache").register();
// As in bin/shiftwise.js: Pulumi's closure serializer gets the TypeScript compiler on first use, not at start-up.
require("../bin/defer-typescript").deferPulumiTypescript();
// Failures name the .ts lines (esbuild writes inline source maps).
process.setSourceMapsEnabled(true);
