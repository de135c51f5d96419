// Reusable zod rules for config values (integers, CIDRs, clock times, distinct lists).
import { z } from "zod";

/**
 * Reusable zod building blocks for the stack config. Every message states the
 * rule and the fix; `format.ts` adds the full key and the offending value.
 */

/** An integer in [min, max]. Numeric strings are accepted because `pulumi config set --path` may store them as strings. */
export function integer(min: number, max: number, fix: string) {
    const rule = max === Number.MAX_SAFE_INTEGER ? `must be an integer >= ${min}` : `must be an integer from ${min} to ${max}`;
    return z.preprocess(
        numericString,
        z.number({ error: `${rule}; ${fix}` }).int({ error: `${rule}; ${fix}` }).min(min, { error: `${rule}; ${fix}` }).max(max, { error: `${rule}; ${fix}` }),
    );
}

/** A finite number with an exclusive or inclusive lower bound. */
export function numberAbove(min: number, inclusive: boolean, max: number, fix: string) {
    const rule = `must be a number ${inclusive ? ">=" : ">"} ${min}${max === Infinity ? "" : ` and <= ${max}`}`;
    const base = z.number({ error: `${rule}; ${fix}` });
    const bounded = (inclusive ? base.gte(min, { error: `${rule}; ${fix}` }) : base.gt(min, { error: `${rule}; ${fix}` }));
    return z.preprocess(numericString, max === Infinity ? bounded : bounded.lte(max, { error: `${rule}; ${fix}` }));
}

function numericString(value: unknown): unknown {
    return typeof value === "string" && /^-?\d+(\.\d+)?$/.test(value.trim()) ? Number(value) : value;
}

/** A boolean; "true"/"false" strings are accepted for the same reason as numbers. */
export function boolean(fix: string) {
    return z.preprocess(
        (value) => (value === "true" ? true : value === "false" ? false : value),
        z.boolean({ error: `must be true or false; ${fix}` }),
    );
}

/** A string matching `pattern`, with `rule` describing it. */
export function matching(pattern: RegExp, rule: string, fix: string) {
    return z.string({ error: `${rule}; ${fix}` }).regex(pattern, { error: `${rule}; ${fix}` });
}

const IPV4_CIDR = /^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}\/(3[0-2]|[12]?\d)$/;

/** An IPv4 CIDR block whose prefix length lies in [minPrefix, maxPrefix]. */
export function cidr(minPrefix: number, maxPrefix: number, fix: string) {
    const rule = `must be an IPv4 CIDR block with a prefix from /${minPrefix} to /${maxPrefix}`;
    return z.string({ error: `${rule}; ${fix}` }).refine(
        (value) => {
            if (!IPV4_CIDR.test(value)) return false;
            const prefix = Number(value.split("/")[1]);
            return prefix >= minPrefix && prefix <= maxPrefix && hostBitsAreZero(value);
        },
        { error: `${rule} and no host bits set; ${fix}` },
    );
}

function hostBitsAreZero(block: string): boolean {
    const [address, prefixText] = block.split("/");
    const prefix = Number(prefixText);
    const value = address.split(".").reduce((acc, octet) => acc * 256 + Number(octet), 0);
    const hostBits = 32 - prefix;
    return hostBits === 0 || value % 2 ** hostBits === 0;
}

/** Lists of distinct values. */
export function distinct<T extends z.ZodTypeAny>(item: T, minItems: number, what: string, fix: string) {
    return z
        .array(item, { error: `must be a list of ${what}; ${fix}` })
        .min(minItems, { error: `must list at least ${minItems} ${what}; ${fix}` })
        .refine((values) => new Set(values.map((v) => JSON.stringify(v))).size === values.length, {
            error: `must not repeat ${what}; remove the duplicates`,
        });
}

/** The retention periods CloudWatch Logs accepts, in days (PutRetentionPolicy, retentionInDays). */
export const LOG_RETENTION_DAYS = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653];

/** The day names accepted in freeze windows, Monday first. */
export const DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"] as const;
export type Day = (typeof DAYS)[number];

/** "HH:MM" in 24-hour UTC. */
export const clockTime = matching(/^([01]\d|2[0-3]):[0-5]\d$/, "must be a UTC time HH:MM", "write it as 24-hour time such as 16:30");
