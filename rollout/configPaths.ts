// Reads and writes stack-config keys by path, and fingerprints secret values for records.
import { randomBytes, scryptSync, timingSafeEqual } from "crypto";
import { isDeepStrictEqual } from "util";
import { decodeConfigValue } from "../config";
import type { StackConfigEntries } from "../ports/ports";

/**
 * Pure helpers for stack config as `pulumi config` sees it: decoding values,
 * property paths (`shiftwise:traffic.blue`, `shiftwise:rollout.steps[0]`), and
 * the smallest set of `config set --path` / `config rm --path` calls that
 * turns one config into another.
 */

/** Full keys to the engine's string form, as `evaluateProgram` takes them. */
export function engineConfig(entries: StackConfigEntries): Record<string, string> {
    return Object.fromEntries(Object.entries(entries).map(([key, entry]) => [key, entry.value]));
}

/** The `config set --path` values of one traffic step: both weights in one call, so they change together. */
export function trafficPaths(traffic: Readonly<Record<"blue" | "green", number>>): Record<string, string> {
    return { "shiftwise:traffic.blue": String(traffic.blue), "shiftwise:traffic.green": String(traffic.green) };
}

/** The value of a `shiftwise:<section>` key, decoded. */
export function sectionOf<T = Record<string, unknown>>(entries: StackConfigEntries, section: string): T | undefined {
    const entry = entries[`shiftwise:${section}`];
    return entry === undefined ? undefined : (decodeConfigValue(entry.value) as T);
}

/** One segment of a property path: an object key or an array index. */
export type PathSegment = string | number;

/** Renders a property path the way `pulumi config --path` reads it. */
export function formatPath(key: string, segments: readonly PathSegment[]): string {
    let text = key;
    for (const segment of segments) {
        if (typeof segment === "number") text += `[${segment}]`;
        else if (/^[A-Za-z_][A-Za-z0-9_-]*$/.test(segment)) text += `.${segment}`;
        else text += `[${JSON.stringify(segment)}]`;
    }
    return text;
}

/** Splits `shiftwise:rollout.steps[0]` into the key `shiftwise:rollout` and its segments. */
export function parsePath(path: string): { key: string; segments: PathSegment[] } {
    const colon = path.indexOf(":");
    const match = /[.[]/.exec(path.slice(colon + 1));
    const keyEnd = match ? colon + 1 + match.index : path.length;
    const key = path.slice(0, keyEnd);
    const segments: PathSegment[] = [];
    const pattern = /\.([A-Za-z_][A-Za-z0-9_-]*)|\[(\d+)\]|\[("(?:[^"\\]|\\.)*")\]/gy;
    pattern.lastIndex = keyEnd;
    while (pattern.lastIndex < path.length) {
        const part = pattern.exec(path);
        if (!part) throw new Error(`${path}: not a config property path`);
        segments.push(part[1] ?? (part[2] !== undefined ? Number(part[2]) : (JSON.parse(part[3]) as string)));
    }
    return { key, segments };
}

/** Every leaf of a value as a path to its string form; empty objects and lists have no leaves. */
export function leaves(key: string, value: unknown, segments: PathSegment[] = []): Record<string, string> {
    if (Array.isArray(value)) {
        return Object.assign({}, ...value.map((item, index) => leaves(key, item, [...segments, index])));
    }
    if (value !== null && typeof value === "object") {
        return Object.assign({}, ...Object.entries(value).map(([name, item]) => leaves(key, item, [...segments, name])));
    }
    return { [formatPath(key, segments)]: value === null ? "null" : String(value) };
}

/** The `config set --path` and `config rm --path` calls that turn `current` into `target`. */
export interface ConfigPatch {
    readonly set: Record<string, string>;
    /** Paths to remove, deepest and highest index first so that earlier removals do not shift later ones. */
    readonly remove: string[];
}

/**
 * The smallest patch from `current` to `target`, leaving `keepKeys` and every
 * secret key alone (a deployment never changes secrets, and a record never
 * holds their plain text).
 */
export function configPatch(current: StackConfigEntries, target: StackConfigEntries, keepKeys: readonly string[] = []): ConfigPatch {
    const set: Record<string, string> = {};
    const remove: string[] = [];
    const keys = new Set([...Object.keys(current), ...Object.keys(target)]);
    for (const key of [...keys].sort()) {
        if (keepKeys.includes(key) || current[key]?.secret || target[key]?.secret) continue;
        const before = current[key] === undefined ? undefined : decodeConfigValue(current[key].value);
        const after = target[key] === undefined ? undefined : decodeConfigValue(target[key].value);
        if (isDeepStrictEqual(before, after)) continue;
        if (after === undefined) {
            remove.push(key);
            continue;
        }
        const oldLeaves = before === undefined ? {} : leaves(key, before);
        const newLeaves = leaves(key, after);
        for (const [path, value] of Object.entries(newLeaves)) {
            if (oldLeaves[path] !== value) set[path] = value;
        }
        remove.push(...Object.keys(oldLeaves).filter((path) => !(path in newLeaves)));
    }
    remove.sort((a, b) => b.localeCompare(a, "en", { numeric: true }));
    return { set, remove };
}

/** True when the patch changes nothing. */
export function isEmptyPatch(patch: ConfigPatch): boolean {
    return Object.keys(patch.set).length === 0 && patch.remove.length === 0;
}

/**
 * A record-safe copy of a config: each secret value becomes a salted scrypt
 * fingerprint (`scrypt:<salt>:<hash>`, a fresh 16-byte salt per copy), so a
 * record never holds a secret or an unsalted hash of it: a leaked record cannot
 * be matched against precomputed hashes, and two records of one secret do not
 * show that it is the same. `secretMatches` tells whether a value is the one
 * fingerprinted.
 */
export function redactSecrets(entries: StackConfigEntries, salt: Buffer = randomBytes(16)): StackConfigEntries {
    return Object.fromEntries(
        Object.entries(entries).map(([key, entry]) => [key, entry.secret ? { value: secretFingerprint(entry.value, salt), secret: true } : { value: entry.value }]),
    );
}

/** scrypt with Node's defaults (N = 16384, r = 8, p = 1): slow enough to make guessing a fingerprinted secret costly. */
export function secretFingerprint(value: string, salt: Buffer): string {
    return `scrypt:${salt.toString("hex")}:${scryptSync(value, salt, 32).toString("hex")}`;
}

/** True when `value` is the secret `fingerprint` was made from. */
export function secretMatches(fingerprint: string, value: string): boolean {
    const [scheme, saltHex, hashHex] = fingerprint.split(":");
    if (scheme !== "scrypt" || !saltHex || !hashHex) return false;
    const expected = Buffer.from(hashHex, "hex");
    const actual = scryptSync(value, Buffer.from(saltHex, "hex"), expected.length);
    return expected.length === 32 && timingSafeEqual(expected, actual);
}
