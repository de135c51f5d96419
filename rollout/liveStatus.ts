// The live release as any machine sees it from the ledger and AWS: step, bake progress, requests, both colours' alarms, the lease and its heartbeat.
import { COLOURS, Colour, decodeConfigValue } from "../config";
import type { AwsPort, Clock, LedgerPort, LedgerRequest, LedgerTrip } from "../ports/ports";
import { leaseExpired } from "../ports/ports";
import { renderTrips } from "./trips";
import type { DeploymentRecord } from "./records";

/** What `shiftwise status --watch` shows at one poll. */
export interface LiveStatus {
    readonly stack: string;
    readonly table: string;
    readonly at: string;
    readonly lease?: { readonly owner: string; readonly command: string; readonly recordId?: string; readonly startedAt: string; readonly heartbeatAgeSeconds: number; readonly expired: boolean };
    readonly release?: {
        readonly id: string;
        readonly version: string;
        readonly status: string;
        readonly candidate: Colour;
        readonly startedBy: string;
        readonly steps: string[];
        /** The step baking now (or last): its percent, minutes baked of the bake, requests served of the minimum. */
        readonly bake?: { readonly percent: number; readonly minutes: number; readonly bakeMinutes?: number; readonly requests?: number; readonly minRequests?: number; readonly lastAlarmState?: string; readonly polls?: number };
        readonly pause?: string;
        readonly error?: string;
    };
    readonly requests: { readonly pending: number; readonly recent: Pick<LedgerRequest, "kind" | "by" | "reason" | "status" | "outcome" | "createdAt">[] };
    /** Each colour's composite alarm state now, or why it is unknown. */
    readonly alarms: Record<Colour, string>;
    /** Active guard trips (blocking, not cleared). */
    readonly trips: number;
    readonly activeTrips: Pick<LedgerTrip, "colour" | "at" | "alarmName" | "reason">[];
    /** True once nothing holds the lease and the latest release is finished. */
    readonly settled: boolean;
}

const FINAL = new Set(["succeeded", "rolled-back", "rollback-failed", "held"]);

/** Reads the ledger (lease, latest record, requests, trips) and both colours' alarms; AWS errors are shown, never thrown. */
export async function liveStatus(deps: { readonly ledger: LedgerPort; readonly aws?: AwsPort; readonly clock: Clock; readonly stack: string }): Promise<LiveStatus> {
    const now = deps.clock.now();
    const [lease, records, requests, trips] = await Promise.all([deps.ledger.readLease(), deps.ledger.records(1), deps.ledger.requests({ limit: 10 }), deps.ledger.activeTrips()]);
    const record = records[0]?.body as unknown as DeploymentRecord | undefined;
    const expired = lease !== undefined && leaseExpired(lease, now);
    return {
        stack: deps.stack,
        table: deps.ledger.tableName,
        at: now.toISOString(),
        lease: lease && { owner: lease.owner, command: lease.command, recordId: lease.recordId, startedAt: lease.startedAt, heartbeatAgeSeconds: Math.round((now.getTime() - Date.parse(lease.heartbeatAt)) / 1000), expired },
        release: record && releaseView(record, now),
        requests: {
            pending: requests.filter((request) => request.status === "pending" && request.leaseToken === lease?.token).length,
            recent: requests.slice(0, 5).map(({ kind, by, reason, status, outcome, createdAt }) => ({ kind, by, reason, status, outcome, createdAt })),
        },
        alarms: await alarmStates(deps.aws, record),
        trips: trips.length,
        activeTrips: trips.map(({ colour, at, alarmName, reason }) => ({ colour, at, alarmName, reason })),
        settled: (!lease || expired) && (!record || FINAL.has(record.status) || record.status === "paused"),
    };
}

function releaseView(record: DeploymentRecord, now: Date): NonNullable<LiveStatus["release"]> {
    const rollout = checkpointRollout(record);
    const step = record.steps[record.steps.length - 1];
    return {
        id: record.id,
        version: record.version,
        status: record.status,
        candidate: record.candidate,
        startedBy: record.startedBy.user,
        steps: record.steps.map((entry) => `${entry.percent}% ${entry.outcome ?? "baking"}`),
        bake: step && {
            percent: step.percent,
            minutes: Math.round(((step.finishedAt ? Date.parse(step.finishedAt) : now.getTime()) - Date.parse(step.startedAt)) / 6000) / 10,
            bakeMinutes: rollout.bakeMinutes,
            requests: step.requests,
            minRequests: rollout.minRequestsPerStep,
            lastAlarmState: step.lastAlarmState,
            polls: step.polls,
        },
        pause: record.pause?.reason,
        error: record.error,
    };
}

/** The bake settings the release ran with, from its checkpoint config. */
function checkpointRollout(record: DeploymentRecord): { bakeMinutes?: number; minRequestsPerStep?: number } {
    const entry = record.checkpoint.config["shiftwise:rollout"];
    if (!entry) return {};
    const rollout = decodeConfigValue(entry.value) as { bakeMinutes?: number; minRequestsPerStep?: number };
    return { bakeMinutes: rollout.bakeMinutes ?? 10, minRequestsPerStep: rollout.minRequestsPerStep ?? 200 };
}

async function alarmStates(aws: AwsPort | undefined, record: DeploymentRecord | undefined): Promise<Record<Colour, string>> {
    const names = (record?.checkpoint.outputs.rollbackAlarms ?? {}) as Partial<Record<Colour, string>>;
    const states = {} as Record<Colour, string>;
    for (const colour of COLOURS) {
        const name = names[colour];
        if (!aws || !name) {
            states[colour] = "unknown (no alarm name in the ledger)";
            continue;
        }
        try {
            states[colour] = `${(await aws.compositeAlarmState(name)) ?? "missing"} (${name})`;
        } catch (error) {
            states[colour] = `unknown (${(error as Error).message})`;
        }
    }
    return states;
}

/** A heartbeat's age; the holder's clock wrote it, so a negative age means the two clocks disagree. */
function heartbeatAge(seconds: number): string {
    return seconds >= 0 ? `heartbeat ${seconds} s ago` : `heartbeat ${-seconds} s ahead of this machine's clock (the clocks disagree)`;
}

/** The live status for people. */
export function renderLiveStatus(status: LiveStatus): string {
    const lines = [`shiftwise status: stack ${status.stack} at ${status.at} (ledger ${status.table})`];
    const lease = status.lease;
    lines.push(
        lease
            ? `  lease: ${lease.owner} (${lease.command}${lease.recordId ? ` of ${lease.recordId}` : ""}) since ${lease.startedAt}, ${heartbeatAge(lease.heartbeatAgeSeconds)}${lease.expired ? " - EXPIRED: its runner is gone; `shiftwise rollback` or `resume` take it over" : ""}`
            : "  lease: free (no release running)",
    );
    const release = status.release;
    if (release) {
        lines.push(`  release ${release.id}: ${release.version} on ${release.candidate}, ${release.status}, by ${release.startedBy}`);
        if (release.steps.length) lines.push(`    steps: ${release.steps.join(", ")}`);
        const bake = release.bake;
        if (bake) {
            lines.push(`    bake ${bake.percent}%: ${bake.minutes}/${bake.bakeMinutes ?? "?"} min, ${bake.requests ?? 0}/${bake.minRequests ?? "?"} requests, ${bake.polls ?? 0} polls, last alarm verdict ${bake.lastAlarmState ?? "none yet"}`);
        }
        if (release.pause) lines.push(`    paused: ${release.pause}`);
        if (release.error) lines.push(`    error: ${release.error}`);
    } else {
        lines.push("  no release in the ledger yet");
    }
    lines.push(`  alarms now: blue ${status.alarms.blue}; green ${status.alarms.green}`);
    lines.push(`  requests: ${status.requests.pending} pending${status.requests.recent.length ? `; recent: ${status.requests.recent.map((r) => `${r.kind} by ${r.by} (${r.status}${r.outcome ? `: ${r.outcome}` : ""})`).join("; ")}` : ""}`);
    lines.push(...renderTrips(status.activeTrips).map((line) => `  ${line}`));
    return `${lines.join("\n")}\n`;
}
