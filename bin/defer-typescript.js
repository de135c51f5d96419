// Defers the TypeScript compiler that @pulumi/pulumi loads at start-up until something uses it.
"use strict";

/**
 * @pulumi/pulumi's closure serializer (`runtime/closure/`) requires the
 * TypeScript compiler, through `@pulumi/pulumi/typescript-shim`, as soon as
 * the SDK or its Automation API loads: 9 MB of JavaScript, about 0.1 s of CPU
 * per start even from Node's compile cache. Only closure serialization
 * (`pulumi.runtime.serializeFunction`, a Lambda written as a JavaScript
 * function) calls it, and shiftwise never does: the guard's Lambda code is
 * bundled by esbuild (`guard/bundle.ts`). This puts a stand-in in the shim's
 * place, before Pulumi loads, that loads the real shim on first use, so a
 * caller that does serialize a closure still gets the real compiler.
 *
 * Does nothing when the shim is missing (another Pulumi version) or already
 * loaded. Returns whether the stand-in is in place.
 */
function deferPulumiTypescript() {
    let shim;
    try {
        shim = require.resolve("@pulumi/pulumi/typescript-shim");
    } catch {
        return false;
    }
    if (require.cache[shim]) return false;
    let compiler;
    const real = () => {
        if (compiler === undefined) {
            // Loading the shim's own file replaces the stand-in in the module cache.
            delete require.cache[shim];
            compiler = require(shim);
        }
        return compiler;
    };
    // Pulumi's modules keep the object they required (`const ts = require("../../typescript-shim")`) and
    // only read members of it (`ts.createSourceFile`, `ts.SyntaxKind`), so `get` and `has` are all it needs.
    const standIn = new Proxy({}, { get: (_target, key) => real()[key], has: (_target, key) => key in real() });
    const Module = require("module");
    const entry = new Module(shim, module);
    entry.filename = shim;
    entry.exports = standIn;
    entry.loaded = true;
    require.cache[shim] = entry;
    return true;
}

module.exports = { deferPulumiTypescript };
