// Release history from the ledger: one line per release, and the four delivery (DORA) metrics over a window.
import type { DeploymentRecord } from "./records";
import { textTable } from "./textTable";

/** One release as `shiftwise history` lists it. */
export interface HistoryEntry {
    readonly id: string;
    readonly version: string;
    readonly who: string;
    readonly startedAt: string;
    readonly finishedAt?: string;
    readonly status: string;
    readonly durationSeconds?: number;
    readonly hotfix?: string;
    /** Requests served and take-overs, in a few words. */
    readonly notes: string[];
}

export function historyEntry(record: DeploymentRecord): HistoryEntry {
    const notes = [
        ...(record.ledger?.requests ?? []).map((request) => `${request.kind} by ${request.by}`),
        ...(record.ledger?.events ?? []).map((event) => `${event.kind} from ${event.previousOwner}`),
        ...record.rollbacks.map((rollback) => `rollback (${rollback.trigger}): ${rollback.reason}`),
    ];
    return {
        id: record.id,
        version: record.version,
        who: record.startedBy.user,
        startedAt: record.startedAt,
        finishedAt: record.finishedAt,
        status: record.status,
        durationSeconds: record.finishedAt ? seconds(record.startedAt, record.finishedAt) : undefined,
        hotfix: record.hotfix?.reason,
        notes,
    };
}

/**
 * The four delivery metrics of the DORA research program, from the ledger's
 * records of one stack over [from, to):
 * - deployment frequency: releases that reached 100 % and stayed (succeeded) per day;
 * - lead time for changes: median time from the release's commit to 100 % of traffic on it;
 * - change failure rate: releases that were rolled back (by a gate, a request or
 *   a later `shiftwise rollback`) or whose rollback failed, over all finished releases;
 * - time to restore service: median time from the start of the step on which a
 *   failing release was caught to the end of the rollback that restored the checkpoint.
 */
export interface DeliveryMetrics {
    readonly from: string;
    readonly to: string;
    readonly days: number;
    readonly releases: number;
    readonly succeeded: number;
    readonly failed: number;
    readonly deploymentsPerDay: number;
    /** Median seconds, when any release in the window knows its commit time. */
    readonly leadTimeSeconds?: number;
    readonly leadTimeSamples: number;
    /** failed / (succeeded + failed); undefined when nothing finished. */
    readonly changeFailureRate?: number;
    /** Median seconds, when any failed release was restored. */
    readonly timeToRestoreSeconds?: number;
    readonly restoreSamples: number;
}

const FAILED = new Set(["rolled-back", "rollback-failed", "held"]);

export function deliveryMetrics(records: readonly DeploymentRecord[], window: { readonly from: Date; readonly to: Date }): DeliveryMetrics {
    const inWindow = records.filter((record) => {
        const started = Date.parse(record.startedAt);
        return started >= window.from.getTime() && started < window.to.getTime();
    });
    const succeeded = inWindow.filter((record) => record.status === "succeeded");
    const failed = inWindow.filter((record) => FAILED.has(record.status));
    const days = (window.to.getTime() - window.from.getTime()) / 86_400_000;
    const leadTimes = inWindow.map(leadTimeSeconds).filter((value): value is number => value !== undefined);
    const restores = failed.map(restoreSeconds).filter((value): value is number => value !== undefined);
    const finished = succeeded.length + failed.length;
    return {
        from: window.from.toISOString(),
        to: window.to.toISOString(),
        days,
        releases: inWindow.length,
        succeeded: succeeded.length,
        failed: failed.length,
        deploymentsPerDay: days > 0 ? succeeded.length / days : 0,
        leadTimeSeconds: median(leadTimes),
        leadTimeSamples: leadTimes.length,
        changeFailureRate: finished > 0 ? failed.length / finished : undefined,
        timeToRestoreSeconds: median(restores),
        restoreSamples: restores.length,
    };
}

/** When the release first carried 100 %: the end of its `shift 100%` stage, when that passed. */
export function fullTrafficAt(record: DeploymentRecord): string | undefined {
    return record.stages.find((stage) => stage.name === "shift 100%" && stage.outcome === "ok")?.finishedAt;
}

/** Commit time to 100 %; needs the commit time the CLI records (`record.commit`). */
export function leadTimeSeconds(record: DeploymentRecord): number | undefined {
    const full = fullTrafficAt(record);
    const committed = record.commit?.committedAt;
    return full && committed ? seconds(committed, full) : undefined;
}

/** From the start of the step that caught the failure (or the rollback's start) to the successful rollback's end. */
export function restoreSeconds(record: DeploymentRecord): number | undefined {
    const restored = record.rollbacks.find((rollback) => rollback.outcome === "succeeded");
    if (!restored?.finishedAt) return undefined;
    const caughtOn = [...record.steps].reverse().find((step) => Date.parse(step.startedAt) <= Date.parse(restored.startedAt));
    return seconds(caughtOn?.startedAt ?? restored.startedAt, restored.finishedAt);
}

function seconds(from: string, to: string): number {
    return (Date.parse(to) - Date.parse(from)) / 1000;
}

function median(values: readonly number[]): number | undefined {
    if (values.length === 0) return undefined;
    const sorted = [...values].sort((a, b) => a - b);
    const middle = Math.floor(sorted.length / 2);
    return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

/** A duration for people: `4 min 30 s`, `2 h 5 min`, `3 d 4 h`. */
export function formatDuration(totalSeconds: number | undefined): string {
    if (totalSeconds === undefined) return "n/a";
    const s = Math.round(totalSeconds);
    if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
    if (s < 86_400) return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
    return `${Math.floor(s / 86_400)} d ${Math.floor((s % 86_400) / 3600)} h`;
}

/** `shiftwise history` for people. */
export function renderHistory(stack: string, entries: readonly HistoryEntry[], metrics: DeliveryMetrics): string {
    const lines = [`shiftwise history: stack ${stack}, ${entries.length} release(s)`];
    if (entries.length > 0) {
        // One row per release, columns as wide as their widest cell (a long version no longer shifts the row); its notes follow it.
        // A reason typed with a line break stays on its row: one line per release, then its notes.
        const oneLine = (text: string) => text.replace(/\s+/g, " ");
        const rows = entries.map((entry) => [entry.startedAt, oneLine(entry.version), entry.status, formatDuration(entry.durationSeconds), oneLine(entry.who), entry.hotfix ? `HOTFIX: ${oneLine(entry.hotfix)}` : ""]);
        const [head, ...rendered] = textTable(["started", "version", "outcome", "duration", "by", ""], rows, "  ");
        lines.push(head);
        entries.forEach((entry, index) => lines.push(rendered[index], ...entry.notes.map((note) => `      ${note}`)));
    }
    const rate = metrics.changeFailureRate === undefined ? "n/a" : `${(metrics.changeFailureRate * 100).toFixed(1)} %`;
    lines.push(
        `delivery metrics, ${metrics.from} to ${metrics.to} (${metrics.days.toFixed(0)} days):`,
        `  deployment frequency   ${metrics.deploymentsPerDay.toFixed(2)} per day (${metrics.succeeded} succeeded)`,
        `  lead time for changes  ${formatDuration(metrics.leadTimeSeconds)} median, commit to 100 % (${metrics.leadTimeSamples} release(s) with a commit time)`,
        `  change failure rate    ${rate} (${metrics.failed} of ${metrics.succeeded + metrics.failed} finished)`,
        `  time to restore        ${formatDuration(metrics.timeToRestoreSeconds)} median (${metrics.restoreSamples} restore(s))`,
    );
    return `${lines.join("\n")}\n`;
}
