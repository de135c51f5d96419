// The disk cache for files shiftwise derives from its sources (compiled TypeScript, the guard's Lambda bundle): where it lives and how an entry is written safely.
"use strict";
// Plain CommonJS with no dependencies: bin/shiftwise.js loads it before any TypeScript can load, and
// TypeScript modules import it through cache/diskCache.d.ts. Nothing here is ever committed:
// node_modules/ is git-ignored, and every entry can be rebuilt from the sources.
const crypto = require("crypto");
const fs = require("fs");
const path = require("path");

const PROJECT_DIR = path.resolve(__dirname, "..");

/** The cache folder: SHIFTWISE_CACHE_DIR, else node_modules/.cache/shiftwise in the install folder (the convention of babel, eslint and others). */
function cacheDir(env = process.env) {
    return env.SHIFTWISE_CACHE_DIR ? path.resolve(env.SHIFTWISE_CACHE_DIR) : path.join(PROJECT_DIR, "node_modules", ".cache", "shiftwise");
}

/** The SHA-256 of the parts, each followed by a NUL (so ["ab", "c"] and ["a", "bc"] differ), in hex. */
function sha256(...parts) {
    const hash = crypto.createHash("sha256");
    for (const part of parts) hash.update(part).update("\0");
    return hash.digest("hex");
}

/**
 * Writes `text` to `file` through a temporary file and a rename, so a process
 * reading at the same time sees the old file or the whole new one, never half.
 * Returns false, having written nothing, when the folder cannot be created or
 * written (read-only install, full disk): the caller keeps its result in memory.
 */
function writeAtomically(file, text) {
    const temporary = `${file}.${process.pid}.${crypto.randomBytes(4).toString("hex")}.tmp`;
    try {
        fs.mkdirSync(path.dirname(file), { recursive: true });
        fs.writeFileSync(temporary, text);
        fs.renameSync(temporary, file);
        return true;
    } catch (error) {
        try {
            fs.rmSync(temporary, { force: true });
        } catch (cleanup) {
            // The temporary file was never created.
        }
        return false;
    }
}

/** The entry's text, or undefined when it is missing or unreadable. */
function readEntry(file) {
    try {
        return fs.readFileSync(file, "utf8");
    } catch (error) {
        return undefined;
    }
}

module.exports = { cacheDir, readEntry, sha256, writeAtomically };
