// Packages the guard's Lambda handler at program time: esbuild bundles guard/handler.ts into one CommonJS file, no network, kept in the disk cache while its inputs are unchanged.
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { cacheDir, readEntry, sha256, writeAtomically } from "../cache/diskCache";

/** The file the archive holds and the handler Lambda calls: `index.js`, export `handler`. */
export const GUARD_HANDLER = "index.handler";

/**
 * The AWS SDK v3 clients the handler imports are part of the Lambda Node.js
 * runtime (nodejs18.x and later), so they stay out of the bundle: a few
 * kilobytes instead of 650 KB, which keeps every `pulumi preview` and mock
 * evaluation cheap. The runtime's SDK is AWS's to patch.
 */
export const GUARD_EXTERNALS = ["@aws-sdk/*"];

/** What esbuild is asked for (relative to the project folder); part of the cache key. */
const BUILD_OPTIONS = {
    entryPoints: [path.join("guard", "handler.ts")],
    bundle: true,
    platform: "node",
    target: "node22",
    format: "cjs",
    minify: true,
    legalComments: "none",
    external: GUARD_EXTERNALS,
} as const;

/** Files besides the bundle's inputs that change what esbuild emits. */
const BUILD_SETTINGS = ["tsconfig.json", "package.json"];

/** Where a bundle comes from and where its cache entry lives. */
export interface GuardBundleRequest {
    /** The project folder holding guard/handler.ts. @default the folder this file's project is installed in */
    readonly root?: string;
    /** The disk cache folder. @default cache/diskCache.js `cacheDir()` (SHIFTWISE_CACHE_DIR, else node_modules/.cache/shiftwise) */
    readonly cacheDir?: string;
}

/** A bundled handler and how it was made. */
export interface GuardBundle {
    readonly code: string;
    /** `cache` when the entry matched every input; `esbuild` when it was bundled now. */
    readonly from: "cache" | "esbuild";
}

/** A cache entry: the key it was built under, each input's SHA-256 (paths relative to the project folder), and the code. */
interface CacheEntry {
    readonly key: string;
    readonly inputs: Readonly<Record<string, string>>;
    readonly code: string;
}

let bundled: string | undefined;

/**
 * The handler as one minified CommonJS file. Deterministic for the same
 * sources (no comments or absolute paths in the output), so an unchanged
 * handler is no diff in `pulumi preview`. Made once per process, and taken
 * from the disk cache when every file esbuild read for it is unchanged.
 */
export function guardHandlerCode(): string {
    bundled ??= bundleGuardHandler().code;
    return bundled;
}

/** The function's code package: `index.js` holding the bundled handler. */
export function guardHandlerArchive(): pulumi.asset.AssetArchive {
    return new pulumi.asset.AssetArchive({ "index.js": new pulumi.asset.StringAsset(guardHandlerCode()) });
}

/**
 * Bundles the handler, or reads it from the cache. An entry is used only
 * when the esbuild version, the options, the project's build settings and the
 * content of every input esbuild read for it (its metafile, so a file outside
 * guard/ such as ports/ledgerKey.ts counts too) are what they were: editing
 * any of them bundles again. A cache that cannot be written is skipped.
 */
export function bundleGuardHandler(request: GuardBundleRequest = {}): GuardBundle {
    const root = path.resolve(request.root ?? path.join(__dirname, ".."));
    const file = path.join(request.cacheDir ?? cacheDir(), "guard", `${sha256(root).slice(0, 16)}.json`);
    const key = sha256(esbuildVersion(), JSON.stringify(BUILD_OPTIONS), ...BUILD_SETTINGS.map((name) => readEntry(path.join(root, name)) ?? ""));
    const entry = parseEntry(readEntry(file));
    if (entry && entry.key === key && unchanged(root, entry.inputs)) return { code: entry.code, from: "cache" };

    // Required here, not at the top: only a bundling needs esbuild. Its service process is unref'd,
    // so it never keeps `pulumi up` or `shiftwise plan` alive.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const esbuild = require("esbuild") as typeof import("esbuild");
    const result = esbuild.buildSync({ ...BUILD_OPTIONS, entryPoints: [...BUILD_OPTIONS.entryPoints], external: [...GUARD_EXTERNALS], absWorkingDir: root, write: false, metafile: true, logLevel: "silent" });
    const code = result.outputFiles[0].text;
    const inputs = Object.fromEntries(Object.keys(result.metafile.inputs).map((input) => [input, contentHash(root, input) ?? ""]));
    writeAtomically(file, JSON.stringify({ key, inputs, code } satisfies CacheEntry));
    return { code, from: "esbuild" };
}

function esbuildVersion(): string {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return (require("esbuild/package.json") as { version: string }).version;
}

function contentHash(root: string, input: string): string | undefined {
    const text = readEntry(path.join(root, input));
    return text === undefined ? undefined : sha256(text);
}

function unchanged(root: string, inputs: Readonly<Record<string, string>>): boolean {
    const names = Object.keys(inputs);
    return names.length > 0 && names.every((input) => contentHash(root, input) === inputs[input]);
}

function parseEntry(text: string | undefined): CacheEntry | undefined {
    if (text === undefined) return undefined;
    try {
        const entry = JSON.parse(text) as Partial<CacheEntry>;
        const valid = typeof entry.key === "string" && typeof entry.code === "string" && entry.inputs !== null && typeof entry.inputs === "object";
        return valid ? (entry as CacheEntry) : undefined;
    } catch {
        return undefined;
    }
}
