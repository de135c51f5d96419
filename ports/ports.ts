// The two ports the driver reaches Pulumi and AWS through, and the types they exchange.
/**
 * The two ports the rollout driver reaches Pulumi and AWS through (STYLE rule
 * 10), plus the HTTP fetcher for smoke checks. The real adapters are
 * `automationStack.ts` (Pulumi Automation API) and `awsSdk.ts` (AWS SDK v3);
 * tests use fakes of the same interfaces.
 */

/** One stack-config value as `pulumi config --json` reports it: structured values are JSON text. */
export interface ConfigEntry {
    readonly value: string;
    readonly secret?: boolean;
}

/** A stack's whole config: full keys (`shiftwise:traffic`) to their values. */
export type StackConfigEntries = Record<string, ConfigEntry>;

/**
 * What the engine did, or would do, to one resource: one `resourcePreEvent`
 * of the engine event stream.
 */
export interface ResourceStep {
    /** The engine's op: same, create, update, replace, delete, create-replacement, ... */
    readonly op: string;
    readonly urn: string;
    readonly type: string;
    /** Top-level properties whose change caused the op. */
    readonly diffs: readonly string[];
    /** The resource's ARN (or id) from its old or new state, when the engine reported it. */
    readonly arn?: string;
    /** The parent resource's URN. */
    readonly parent?: string;
    /** True when the old state has `retainOnDelete`: deleting it from the stack leaves it in AWS. */
    readonly retainOnDelete?: boolean;
}

/** The result of a preview or an update. */
export interface StackChanges {
    readonly steps: readonly ResourceStep[];
}

/** One entry of the stack's update history. */
export interface StackHistoryEntry {
    readonly version: number;
    readonly kind: string;
    readonly result: string;
    readonly startTime: string;
    readonly endTime?: string;
    readonly message?: string;
}

/** Options of an engine operation (`preview`, `up`). */
export interface StackOperationOptions {
    /**
     * Restrict the operation to these URNs (`pulumi up --target`); every other
     * resource keeps its deployed state. @default the whole stack
     */
    readonly targets?: readonly string[];
    /**
     * Cancels the operation: the Automation API sends the `pulumi` process
     * SIGINT, and the engine finishes the resource operations in flight, writes
     * the state and exits, as one Ctrl-C at a terminal does. @default none
     */
    readonly signal?: AbortSignal;
}

/** Options of a preview. */
export interface PreviewOptions extends StackOperationOptions {
    /**
     * Preview this config instead of the stack file's, without writing it to the
     * stack file (`pulumi preview --config-file` on a temporary copy). Secret
     * keys keep the stack file's values. @default the stack file's config
     */
    readonly config?: StackConfigEntries;
}

/** The stack operations the driver needs. */
export interface StackPort {
    /** The stack's name, e.g. `production`. */
    readonly stackName: string;
    /** Every config key with its value; secrets decrypted, marked `secret`. */
    getAllConfig(): Promise<StackConfigEntries>;
    /**
     * Sets config values. With `path`, keys are property paths
     * (`shiftwise:traffic.blue`, `shiftwise:rollout.steps[0]`) and numbers and
     * booleans are stored typed, as `pulumi config set --path` does.
     */
    setConfig(values: Readonly<Record<string, string>>, options: { readonly path: boolean }): Promise<void>;
    /** Removes config keys (property paths with `path`). */
    removeConfig(keys: readonly string[], options: { readonly path: boolean }): Promise<void>;
    /** `pulumi preview` of the current config (or `options.config`): what an `up` would do. */
    preview(options?: PreviewOptions): Promise<StackChanges>;
    /** `pulumi up`: applies the current config (to `options.targets` only, when given); rejects when the update fails or is cancelled. */
    up(options?: StackOperationOptions): Promise<StackChanges>;
    /** The stack outputs of the last update, plain values. */
    outputs(): Promise<Record<string, unknown>>;
    /** The most recent updates, newest first. */
    history(limit: number): Promise<StackHistoryEntry[]>;
}

/** A CloudWatch alarm state. */
export type AlarmState = "OK" | "ALARM" | "INSUFFICIENT_DATA";

/** How many of a target group's targets are in each state. */
export interface TargetHealthSummary {
    readonly healthy: number;
    readonly total: number;
    /** Count per ELB target state (healthy, initial, unhealthy, draining, unused, unavailable). */
    readonly byState: Readonly<Record<string, number>>;
}

/** The AWS reads the driver needs. */
export interface AwsPort {
    /** The state of a composite alarm; undefined when no such alarm exists. */
    compositeAlarmState(alarmName: string): Promise<AlarmState | undefined>;
    /** The health of a target group's registered targets. */
    targetHealth(targetGroupArn: string): Promise<TargetHealthSummary>;
    /** The forwarding listener's default-action weights, target group ARN to weight. */
    listenerWeights(listenerArn: string): Promise<Record<string, number>>;
    /** The sum of `AWS/ApplicationELB` `RequestCount` for one target group over [from, to). */
    requestCount(query: { readonly loadBalancerArnSuffix: string; readonly targetGroupArnSuffix: string; readonly from: Date; readonly to: Date }): Promise<number>;
}

/** The part of an HTTP response a smoke check looks at. */
export interface FetchResponse {
    readonly status: number;
}

/** A small HTTP GET; the real one is Node's global fetch (see `smoke.ts`). */
export type Fetcher = (url: string, init: { readonly headers: Readonly<Record<string, string>>; readonly signal?: AbortSignal }) => Promise<FetchResponse>;

/** Time, injectable so that no test waits in real time. */
export interface Clock {
    now(): Date;
    /** Waits `ms`; rejects with the abort reason when `signal` fires. */
    sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

/** The wall clock. */
export const systemClock: Clock = {
    now: () => new Date(),
    sleep: (ms, signal) =>
        new Promise<void>((resolve, reject) => {
            if (signal?.aborted) return reject(signal.reason);
            const timer = setTimeout(() => {
                signal?.removeEventListener("abort", onAbort);
                resolve();
            }, ms);
            const onAbort = () => {
                clearTimeout(timer);
                reject(signal?.reason);
            };
            signal?.addEventListener("abort", onAbort, { once: true });
        }),
};
