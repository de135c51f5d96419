// The error an invalid stack config raises, with every problem found; apart from config/index.ts so the CLI can recognise it without loading the schema or Pulumi.

/** Thrown when the stack config is invalid. `problems` lists every problem found, one message each. */
export class ConfigError extends Error {
    constructor(readonly problems: readonly string[]) {
        super(`Invalid shiftwise stack config (${problems.length} problem${problems.length === 1 ? "" : "s"}):\n${problems.map((p) => `  - ${p}`).join("\n")}`);
        this.name = "ConfigError";
    }
}
