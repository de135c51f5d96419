// Gives one mocha run its own temporary folder (in memory, on /dev/shm, where the machine has it) and removes it when the run ends.
"use strict";
// Loaded by mocha (.mocharc.json `require`) in the main process before the worker processes start, and
// again in each worker, which finds the folder already chosen in its environment. Every temporary file of
// the tests, and of the shiftwise processes they start, goes under os.tmpdir(), so pointing TMPDIR at
// this folder means:
// - nothing a test writes outlives the run, even when a test forgets to clean up or the run is killed
//   between two of its files (the next run starts in a new folder);
// - record writes (a file renamed into place per record) cost memory operations, not journal commits:
//   2,000 write-and-rename pairs took 0.37 s and 0.52 s on the ext4 /tmp of the development machine and
//   0.04 s on /dev/shm (a small, not a large, share of a run).
const fs = require("fs");
const os = require("os");
const path = require("path");

const OWNED = "SHIFTWISE_TEST_RUN_DIR";

if (!process.env[OWNED]) {
    // Node's on-disk compile cache (bin/shiftwise.js turns it on) stays where it was, so it still helps the next run.
    process.env.NODE_COMPILE_CACHE ??= path.join(os.tmpdir(), "node-compile-cache");
    const parent = writable("/dev/shm") ? "/dev/shm" : os.tmpdir();
    const folder = fs.mkdtempSync(path.join(parent, "shiftwise-test-run-"));
    process.env[OWNED] = folder;
    process.env.TMPDIR = folder;
    process.on("exit", () => fs.rmSync(folder, { recursive: true, force: true }));
    for (const signal of ["SIGINT", "SIGTERM"]) {
        process.once(signal, () => {
            fs.rmSync(folder, { recursive: true, force: true });
            process.kill(process.pid, signal);
        });
    }
}

function writable(folder) {
    try {
        fs.accessSync(folder, fs.constants.W_OK);
        return fs.statSync(folder).isDirectory();
    } catch {
        return false;
    }
}
