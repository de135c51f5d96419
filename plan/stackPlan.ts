// What `shiftwise plan` evaluates: the request and the program evaluated offline for one stack.
import type { StackConfig } from "../config";
import type { ProgramEvaluation } from "../evaluation/mockRuntime";

/** Input to `planStack`. */
export interface PlanRequest {
    /** The directory with Pulumi.yaml and index.ts. */
    readonly projectDir: string;
    readonly stack: string;
    /** A stack file to read instead of `Pulumi.<stack>.yaml`. */
    readonly configFile?: string;
    /** Keep the stack frames of errors the program raises (`--debug`). @default false */
    readonly stackTraces?: boolean;
}

/** The program evaluated offline for one stack. */
export interface StackPlan {
    readonly project: string;
    readonly stack: string;
    readonly file: string;
    readonly region: string;
    readonly config: StackConfig;
    readonly evaluation: ProgramEvaluation;
    /** What the plan could not do offline (Pulumi ESC environments), printed before it. */
    readonly warnings: readonly string[];
}
