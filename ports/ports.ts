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

/** The stack operations the driver needs. Every preview and up runs the project's policy pack (policy/). */
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
    /** The stack outputs of the last update, plain values (secret ones masked). */
    outputs(): Promise<Record<string, unknown>>;
    /** One secret stack output's value (e.g. `testToken`), never written to records; undefined when absent. */
    secretOutput(name: string): Promise<string | undefined>;
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
    /**
     * The type of the forwarding listener's default action as AWS serves it:
     * `forward` (by the weights), `fixed-response` (the maintenance page), or
     * another ELB action type; rejects when the listener cannot be read.
     */
    listenerAction(listenerArn: string): Promise<string>;
    /** The sum of `AWS/ApplicationELB` `RequestCount` for one target group over [from, to). */
    requestCount(query: { readonly loadBalancerArnSuffix: string; readonly targetGroupArnSuffix: string; readonly from: Date; readonly to: Date }): Promise<number>;
    /**
     * Whether an EKS cluster serves a CustomResourceDefinition, e.g. the AWS
     * Load Balancer Controller's `targetgroupbindings.elbv2.k8s.aws`; rejects
     * when it cannot tell (no access, cluster unreachable).
     */
    customResourceDefinitionExists(clusterName: string, crdName: string): Promise<boolean>;
}

/** The part of an HTTP response a smoke check looks at. */
export interface FetchResponse {
    readonly status: number;
    /** Response headers, lower-case names. @default {} */
    readonly headers?: Readonly<Record<string, string>>;
    /** The body as text (the first 64 KiB). @default "" */
    readonly body?: string;
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

/** The stack's lease in the release ledger: who may change the stack right now. */
export interface Lease {
    /** Who holds it: `octocat (github-actions run 42)`, `alice@laptop`. */
    readonly owner: string;
    /** The command that holds it: deploy, resume, rollback. */
    readonly command: string;
    /** The release it runs, once known. */
    readonly recordId?: string;
    readonly startedAt: string;
    readonly heartbeatAt: string;
    readonly expiresAt: string;
    /** A random id of this holding: renewals, releases and requests name it, so a taken-over lease cannot be renewed by its old holder. */
    readonly token: string;
}

/**
 * Seconds by which two machines' clocks may disagree. Expiry is judged on the
 * reader's clock against times the holder's clock wrote, so a reader counts a
 * lease expired only this long after its `expiresAt`, and a holder that cannot
 * renew stops this long before it (rollout/ledgerSession.ts). Together they
 * keep two actors from both believing they hold the lease while the clocks
 * disagree by less than twice this.
 */
export const LEASE_CLOCK_TOLERANCE_SECONDS = 30;

/** Whether `lease` counts as abandoned at `now` (the reader's clock), allowing for clock skew. */
export function leaseExpired(lease: Pick<Lease, "expiresAt">, now: Date): boolean {
    return Date.parse(lease.expiresAt) + LEASE_CLOCK_TOLERANCE_SECONDS * 1000 <= now.getTime();
}

/** What an actor did to a lease it did not hold: took over an expired one, or forced a live one. */
export interface LeaseEvent {
    readonly kind: "take-over" | "force";
    readonly at: string;
    readonly by: string;
    readonly command: string;
    readonly previous: Lease;
    /** `--force "<reason>"`; for a take-over, why it was allowed (the expiry). */
    readonly reason: string;
}

/** The answer to a lease request. */
export type LeaseAttempt =
    | { readonly acquired: true; readonly lease: Lease; readonly event?: LeaseEvent }
    | { readonly acquired: false; readonly holder: Lease };

/** A request to the lease holder, obeyed at its next poll. */
export interface LedgerRequest {
    readonly id: string;
    readonly kind: "abort" | "pause" | "promote";
    readonly reason: string;
    readonly by: string;
    readonly createdAt: string;
    /** The lease holding it is addressed to; a new holder does not act on an older holder's requests. */
    readonly leaseToken: string;
    readonly status: "pending" | "served";
    readonly servedAt?: string;
    /** What the holder did: `rolled back at 25%`, `bake of 50% ended early`. */
    readonly outcome?: string;
}

/**
 * What the AWS-side guard did about one alarm transition: `moving` (it claimed
 * the trip and is taking the traffic off), `moved` (done), `left` (the colour
 * serves but the guard could not act: no healthy other colour, data missing),
 * `not-serving` (the colour had no traffic in the listener; nothing to do).
 */
export type TripStatus = "moving" | "moved" | "left" | "not-serving";

/** Who cleared a trip, when and why: `shiftwise clear-trip --reason`, or a deploy that found the config reverted. */
export interface TripClearing {
    readonly at: string;
    readonly by: string;
    readonly reason: string;
}

/** A trip written by the AWS-side guard (guard/guard.ts) when a colour's composite rollback alarm went to ALARM. */
export interface LedgerTrip {
    /** The item's id within the stack's trips: `<alarm transition time>#<colour>`. */
    readonly id?: string;
    readonly colour: "blue" | "green";
    /** When the guard acted. */
    readonly at: string;
    readonly reason: string;
    /** The alarm and its transition time: with the colour, the trip's identity (duplicate deliveries name the same one). */
    readonly alarmName?: string;
    readonly alarmAt?: string;
    readonly status?: TripStatus;
    /**
     * True when the guard took (or is taking) traffic off the colour: until it
     * is cleared, the program and the driver refuse a config that gives the
     * colour traffic. @default false
     */
    readonly blocking?: boolean;
    /** The listener's weights the guard read, and those it set. */
    readonly weightsBefore?: Readonly<Partial<Record<"blue" | "green", number>>>;
    readonly weightsAfter?: Readonly<Partial<Record<"blue" | "green", number>>>;
    readonly cleared?: TripClearing;
}

/**
 * The stack's release ledger (a DynamoDB table the stack declares; see
 * components/releaseLedger.ts): the lease, requests, deployment records and
 * guard trips, shared by every actor. Times come from the caller's clock.
 */
export interface LedgerPort {
    /** The table, for messages. */
    readonly tableName: string;
    /**
     * Takes the lease when it is free or expired; with `force`, also a live
     * one. Never takes a lease it did not see: a race is lost, not shared.
     */
    acquireLease(request: { readonly owner: string; readonly command: string; readonly now: Date; readonly ttlSeconds: number; readonly force?: string }): Promise<LeaseAttempt>;
    /** Extends the lease (and names its release); throws `LeaseLost` when another actor holds it now. */
    renewLease(lease: Lease, update: { readonly now: Date; readonly ttlSeconds: number; readonly recordId?: string }): Promise<Lease>;
    /** Gives the lease up; a no-op when another actor holds it now. */
    releaseLease(lease: Lease): Promise<void>;
    /** The current lease, expired or not; undefined when free. */
    readLease(): Promise<Lease | undefined>;
    /** Take-overs and forced leases, newest first. */
    leaseEvents(limit: number): Promise<LeaseEvent[]>;
    putRequest(request: Omit<LedgerRequest, "id" | "status">): Promise<LedgerRequest>;
    /** Requests, newest first; only the pending ones addressed to `leaseToken` when given. */
    requests(filter: { readonly pendingFor?: string; readonly limit?: number }): Promise<LedgerRequest[]>;
    /** Marks a pending request served; false when it was served already. */
    serveRequest(request: LedgerRequest, served: { readonly at: string; readonly outcome: string }): Promise<boolean>;
    /** Writes a deployment record; with `lease`, only while that lease is held (one transaction), and names that holding as the record's last writer. */
    putRecord(record: LedgerRecordItem, lease?: Lease): Promise<void>;
    /**
     * Writes a record after `lease` was lost to another actor: only when that
     * holding is still the record's last writer (or the record is new), so a
     * stale runner never overwrites what the new holder wrote. False when not written.
     */
    putRecordAsLastWriter(record: LedgerRecordItem, lease: Lease): Promise<boolean>;
    /** Deployment records, newest first. */
    records(limit: number): Promise<LedgerRecordItem[]>;
    /** Guard trips, newest first. */
    trips(limit: number): Promise<LedgerTrip[]>;
    /** Every trip that blocks (the guard took traffic off its colour) and is not cleared, newest first. */
    activeTrips(): Promise<LedgerTrip[]>;
    /** Records who cleared a trip, when and why; false when it was cleared already (or is gone). */
    clearTrip(trip: LedgerTrip, clearing: TripClearing): Promise<boolean>;
}

/** A deployment record as the ledger stores it: its JSON, keyed by start time and id. */
export interface LedgerRecordItem {
    readonly id: string;
    readonly startedAt: string;
    readonly status: string;
    /** The whole record (rollout/records.ts `DeploymentRecord`). */
    readonly body: Record<string, unknown>;
}

/** The lease is held by another actor now: stop without touching the stack. */
export class LeaseLost extends Error {
    constructor(readonly holder: Lease | undefined) {
        super(holder ? `the lease was taken by ${holder.owner} (${holder.command}) at ${holder.startedAt}` : "the lease was released by another actor");
        this.name = "LeaseLost";
    }
}
