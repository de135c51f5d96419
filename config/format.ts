// Formats zod issues as the config errors users see: key, value, rule and fix.
import { z } from "zod";

/** The namespace of every shiftwise stack-config key. */
export const NAMESPACE = "shiftwise";

/** The full config key of a path inside a section: `shiftwise:network.publicSubnetIds[1]`. */
export function configKey(section: string, path: readonly PropertyKey[] = []): string {
    let key = `${NAMESPACE}:${section}`;
    for (const segment of path) {
        key += typeof segment === "number" ? `[${segment}]` : `.${String(segment)}`;
    }
    return key;
}

/** A short, single-line rendering of the value a user wrote. */
export function showValue(value: unknown): string {
    if (value === undefined) return "undefined";
    const text = typeof value === "string" ? JSON.stringify(value) : JSON.stringify(value) ?? String(value);
    return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

/** Turns one zod issue of `section` into a message that names the key, the value, the rule and the fix. */
export function formatIssue(section: string, schema: z.ZodType, issue: z.core.$ZodIssue): string[] {
    const key = configKey(section, issue.path);
    if (issue.code === "unrecognized_keys") {
        const known = knownKeys(schema, issue.path);
        return issue.keys.map(
            (unknown) =>
                `${configKey(section, [...issue.path, unknown])}: is not a known key; remove it or fix its spelling${known.length ? ` (known keys: ${known.join(", ")})` : ""}`,
        );
    }
    const params = (issue as { params?: { formatted?: boolean } }).params;
    if (params?.formatted) {
        return [`${key}: ${issue.message}`];
    }
    const input = (issue as { input?: unknown }).input;
    if (input === undefined) {
        return [`${key} is missing: ${issue.message}`];
    }
    return [`${key} = ${showValue(input)}: ${issue.message}`];
}

/** The keys an object schema at `path` accepts, looking through defaults, optionals and pipes. */
function knownKeys(schema: z.ZodType, path: readonly PropertyKey[]): string[] {
    let current: unknown = schema;
    for (const segment of [...path, undefined]) {
        current = unwrap(current);
        if (segment === undefined) break;
        if (typeof segment === "number") {
            current = (current as { element?: unknown }).element;
        } else {
            current = (current as { shape?: Record<string, unknown> }).shape?.[String(segment)];
        }
    }
    const shape = (current as { shape?: Record<string, unknown> } | undefined)?.shape;
    return shape ? Object.keys(shape) : [];
}

function unwrap(schema: unknown): unknown {
    let current = schema as { def?: { innerType?: unknown; out?: unknown; in?: unknown; type?: string } } | undefined;
    for (let depth = 0; current?.def && depth < 10; depth++) {
        const def = current.def;
        if (def.innerType) current = def.innerType as typeof current;
        else if (def.type === "pipe") current = (def.out ?? def.in) as typeof current;
        else break;
    }
    return current;
}
