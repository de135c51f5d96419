#!/usr/bin/env node
// Bench: `shiftwise plan --stack production` against a bare baseline (ts-node + @pulumi/pulumi + @pulumi/aws/lb + one listener under mocks); prints both medians and the ratio.
"use strict";
// Usage: npm run bench:plan [-- <pairs>]   (default 11 pairs; run on an otherwise idle machine)
// Each pair runs the baseline and the plan back to back as fresh processes, alternating which goes
// first, so load that drifts during the run hits both sides alike. Prints figures; it is not a test.
// Next to wall time it prints each side's CPU time (user + system of the process and its children,
// from /proc on Linux), which load from other processes on the machine disturbs far less, and the
// load average before and after, so a figure taken on a busy machine says so.
//
// The plan runs as users run it: bin/shiftwise.js loads the project's TypeScript from its disk cache
// (bin/typescript-cache.js), which the warm-up run fills if the sources changed since the last run.
const { spawnSync } = require("child_process");
const fs = require("fs");
const os = require("os");
const path = require("path");
const { performance } = require("perf_hooks");

const root = path.resolve(__dirname, "..");
const pairs = Number(process.argv[2] ?? 11);
const baseline = [process.execPath, ["-r", "ts-node/register/transpile-only", path.join(root, "bench", "baseline-listener.ts")]];
const plan = [process.execPath, [path.join(root, "bin", "shiftwise.js"), "--cwd", root, "plan", "--stack", "production"]];

/** CPU milliseconds (user + system) of this process's waited-for children, or undefined off Linux. */
function childrenCpuMs() {
    try {
        // Fields after the command name: cutime and cstime are the 14th and 15th, in clock ticks (100 a second).
        const fields = fs.readFileSync("/proc/self/stat", "utf8").split(") ")[1].split(" ");
        return (Number(fields[13]) + Number(fields[14])) * 10;
    } catch (error) {
        return undefined;
    }
}

/** Runs one side as a fresh process: its wall time and CPU time in milliseconds. */
function time([file, args]) {
    const cpuBefore = childrenCpuMs();
    const start = performance.now();
    const result = spawnSync(file, args, { cwd: root, stdio: ["ignore", "ignore", "pipe"], encoding: "utf8" });
    const wall = performance.now() - start;
    const cpuAfter = childrenCpuMs();
    if (result.status !== 0) throw new Error(`${args.join(" ")} exited ${result.status}: ${result.stderr}`);
    return { wall, cpu: cpuBefore === undefined ? undefined : cpuAfter - cpuBefore };
}

const median = (values) => {
    const sorted = [...values].sort((a, b) => a - b);
    const middle = Math.floor(sorted.length / 2);
    return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
};

const load = () => os.loadavg().map((value) => value.toFixed(2)).join(", ");
const loadBefore = load();
// One warm-up of each, so the first pair does not pay for a cold file cache (nor the plan for compiling edited sources).
time(baseline);
time(plan);
const base = [];
const full = [];
for (let i = 0; i < pairs; i += 1) {
    if (i % 2 === 0) {
        base.push(time(baseline));
        full.push(time(plan));
    } else {
        full.push(time(plan));
        base.push(time(baseline));
    }
}
const figures = (runs, key) => runs.map((run) => run[key]);
const ratios = (key) => base.map((b, i) => full[i][key] / b[key]);
console.log(`node ${process.version}, ${pairs} pairs, ${os.cpus().length} CPUs; load average (1, 5, 15 min) before ${loadBefore}, after ${load()}`);
console.log(`baseline (ts-node + @pulumi/pulumi + @pulumi/aws/lb, one listener under mocks): median ${median(figures(base, "wall")).toFixed(0)} ms wall`);
console.log(`shiftwise plan --stack production:                                         median ${median(figures(full, "wall")).toFixed(0)} ms wall`);
console.log(`wall: ratio of medians ${(median(figures(full, "wall")) / median(figures(base, "wall"))).toFixed(2)}; median of paired ratios ${median(ratios("wall")).toFixed(2)}`);
if (base.every((run) => run.cpu !== undefined)) {
    console.log(`cpu:  baseline median ${median(figures(base, "cpu")).toFixed(0)} ms, plan median ${median(figures(full, "cpu")).toFixed(0)} ms; ratio of medians ${(median(figures(full, "cpu")) / median(figures(base, "cpu"))).toFixed(2)}; median of paired ratios ${median(ratios("cpu")).toFixed(2)}`);
}
