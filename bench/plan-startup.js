#!/usr/bin/env node
// Bench: `shiftwise plan --stack production` against a bare baseline (ts-node + @pulumi/pulumi + @pulumi/aws + one listener under mocks); prints both medians and the ratio.
"use strict";
// Usage: npm run bench:plan [-- <pairs>]   (default 7 pairs; run on an otherwise idle machine)
// Each pair runs the baseline and the plan back to back as fresh processes, alternating which goes
// first, so load that drifts during the run hits both sides alike. Prints figures; it is not a test.
const { spawnSync } = require("child_process");
const path = require("path");
const { performance } = require("perf_hooks");

const root = path.resolve(__dirname, "..");
const pairs = Number(process.argv[2] ?? 7);
const baseline = [process.execPath, ["-r", "ts-node/register/transpile-only", path.join(root, "bench", "baseline-listener.ts")]];
const plan = [process.execPath, [path.join(root, "bin", "shiftwise.js"), "--cwd", root, "plan", "--stack", "production"]];

function time([file, args]) {
    const start = performance.now();
    const result = spawnSync(file, args, { cwd: root, stdio: ["ignore", "ignore", "pipe"], encoding: "utf8" });
    const ms = performance.now() - start;
    if (result.status !== 0) throw new Error(`${args.join(" ")} exited ${result.status}: ${result.stderr}`);
    return ms;
}

const median = (values) => {
    const sorted = [...values].sort((a, b) => a - b);
    const middle = Math.floor(sorted.length / 2);
    return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
};

// One warm-up of each, so the first pair does not pay for a cold file cache.
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
const ratios = base.map((b, i) => full[i] / b);
console.log(`node ${process.version}, ${pairs} pairs`);
console.log(`baseline (ts-node + @pulumi/pulumi + @pulumi/aws, one listener under mocks): median ${median(base).toFixed(0)} ms`);
console.log(`shiftwise plan --stack production:                                         median ${median(full).toFixed(0)} ms`);
console.log(`ratio of medians ${(median(full) / median(base)).toFixed(2)}; median of paired ratios ${median(ratios).toFixed(2)}`);
