// The types of cache/diskCache.js, the disk cache for files shiftwise derives from its sources.

/** The cache folder: SHIFTWISE_CACHE_DIR, else node_modules/.cache/shiftwise in the install folder. */
export function cacheDir(env?: NodeJS.ProcessEnv): string;
/** The SHA-256 of the parts, each followed by a NUL, in hex. */
export function sha256(...parts: string[]): string;
/** Writes `text` to `file` atomically; false, having written nothing, when the folder cannot be created or written. */
export function writeAtomically(file: string, text: string): boolean;
/** The entry's text, or undefined when it is missing or unreadable. */
export function readEntry(file: string): string | undefined;
