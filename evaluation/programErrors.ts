// The errors a program evaluated under the mock runtime threw, kept apart from mockRuntime.ts so the CLI can recognise them without loading Pulumi.

/**
 * Errors the program threw. Pulumi's runtime also rejects promises of its own
 * with them that nobody awaits; a process that has reported the error (the
 * CLI) uses `isProgramError` to ignore those instead of crashing on them.
 */
const programErrors = new WeakSet<object>();

/** Remembers `error` as one a program threw; values that are not objects cannot be remembered (nor rejected as such). */
export function markProgramError(error: unknown): void {
    if (error !== null && typeof error === "object") programErrors.add(error);
}

/** True for an error a program evaluated by `evaluateProgram` threw (and it rejected with, as `ProgramError.cause`). */
export function isProgramError(reason: unknown): boolean {
    return reason !== null && typeof reason === "object" && programErrors.has(reason);
}
