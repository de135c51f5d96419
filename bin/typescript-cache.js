// Loads the project's TypeScript without ts-node: esbuild compiles each .ts file once into the disk cache, keyed on its content, and later runs load the cached JavaScript.
"use strict";
// Plain CommonJS, required by bin/shiftwise.js before any TypeScript can load.
//
// `register()` installs a `require` hook for `.ts` files, as ts-node does, so
// every source keeps its own path: `__dirname`, `require.resolve`, the program
// the mock runtime evaluates (`<project>/index.ts`, the file `pulumi up` runs)
// and module identity behave as under ts-node. A file is compiled by esbuild
// (types stripped, ES modules to CommonJS, tsconfig.json's compiler options)
// the first time its content is seen, and the output is stored under the
// SHA-256 of the content, the file's path, the esbuild version, tsconfig.json
// and the compile options below. An edited source has a new key, so it is
// compiled again on its next load: a stale entry is never served. A run with
// every file cached loads neither ts-node, swc, TypeScript nor esbuild.
//
// Entries live in <cache>/typescript (cache/diskCache.js: SHIFTWISE_CACHE_DIR,
// else node_modules/.cache/shiftwise). When that cannot be written, the code is
// compiled in memory and the next run compiles again: slower, never wrong.
const fs = require("fs");
const path = require("path");
const Module = require("module");
const diskCache = require("../cache/diskCache");

const PROJECT_DIR = path.resolve(__dirname, "..");

/** What esbuild is asked for; part of every key, so changing it never serves old entries. */
const TRANSFORM = {
    loader: "ts",
    format: "cjs",
    // The language level tsconfig.json asks for; `import()` becomes `require()`, as TypeScript emits for CommonJS.
    target: "es2022",
    supported: { "dynamic-import": false },
    // Inline, so stack traces point at the .ts lines when source maps are on (--debug).
    sourcemap: "inline",
    logLevel: "silent",
};

/**
 * The compiler for one process: `compile(filename, source)` returns the
 * JavaScript for a .ts file, from the cache when the same content was
 * compiled before. `stats` counts hits, misses and entries it could not write.
 */
function createCompiler(options = {}) {
    const directory = path.join(options.cacheDir || diskCache.cacheDir(), "typescript");
    const tsconfigText = fs.readFileSync(options.tsconfig || path.join(PROJECT_DIR, "tsconfig.json"), "utf8");
    const esbuildVersion = JSON.parse(fs.readFileSync(require.resolve("esbuild/package.json"), "utf8")).version;
    const salt = [esbuildVersion, JSON.stringify(TRANSFORM), tsconfigText];
    const stats = { hits: 0, misses: 0, unwritable: 0 };
    let esbuild;

    function compile(filename, source) {
        const key = diskCache.sha256(...salt, filename, source);
        const file = path.join(directory, key.slice(0, 2), `${key.slice(2)}.js`);
        const cached = diskCache.readEntry(file);
        if (cached !== undefined) {
            stats.hits += 1;
            return cached;
        }
        esbuild = esbuild || require("esbuild");
        const compilerOptions = JSON.parse(tsconfigText).compilerOptions || {};
        const { code } = esbuild.transformSync(source, { ...TRANSFORM, sourcefile: filename, tsconfigRaw: { compilerOptions } });
        stats.misses += 1;
        if (!diskCache.writeAtomically(file, code)) stats.unwritable += 1;
        return code;
    }
    return { compile, stats, directory };
}

/**
 * Makes `require` load `.ts` files through the compiler (those inside
 * node_modules load as JavaScript, as under ts-node). Returns the compiler.
 */
function register(options = {}) {
    const compiler = createCompiler(options);
    const javascript = Module._extensions[".js"];
    Module._extensions[".ts"] = function loadTypeScript(module, filename) {
        if (filename.split(path.sep).includes("node_modules")) return javascript(module, filename);
        module._compile(compiler.compile(filename, fs.readFileSync(filename, "utf8")), filename);
    };
    return compiler;
}

module.exports = { createCompiler, register };
