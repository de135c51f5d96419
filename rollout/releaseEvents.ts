// Release events for stakeholders: what changed in a record (start, pause, rollback, outcome), and how each is worded for the stack's topic.
import type { DeploymentRecord } from "./records";

/** What stakeholders hear about. Trips are published by the AWS-side guard. */
/** `maintenance`: a `deploy --maintenance` release put its page up, took it down, or holds it up. */
export type ReleaseEventKind = "start" | "pause" | "resume" | "request" | "rollback" | "outcome" | "trip" | "maintenance";

export interface ReleaseEvent {
    readonly kind: ReleaseEventKind;
    readonly record: DeploymentRecord;
    /** The reason or what happened, for request, pause, rollback and trip. */
    readonly detail?: string;
}

/** Where events go; `flush` waits until they are sent. */
export interface ReleaseEventSink {
    publish(event: ReleaseEvent): void;
    flush(): Promise<void>;
    /** Events that could not be sent, with why. @default [] */
    readonly failures?: readonly string[];
}

/** What the announcement of a start says beyond the record. */
export interface ReleasePlan {
    readonly service: string;
    readonly steps: readonly number[];
    readonly bakeMinutes: number;
    readonly maxBakeMinutes: number;
    /** Release notes or a link to them (`--notes`); else the commit is named. @default undefined */
    readonly notes?: string;
}

/** The events between two saves of one record (`before` undefined: its first save). */
export function recordEvents(before: DeploymentRecord | undefined, after: DeploymentRecord): ReleaseEvent[] {
    const events: ReleaseEvent[] = [];
    if (!before && after.status === "in-progress") events.push({ kind: "start", record: after });
    if (before?.status === "paused" && after.status === "in-progress") events.push({ kind: "resume", record: after, detail: `resumed by ${after.resumes?.at(-1)?.by.user ?? "someone"}` });
    if (after.status === "paused" && before?.status !== "paused") events.push({ kind: "pause", record: after, detail: after.pause?.reason });
    for (const rollback of after.rollbacks.slice(before?.rollbacks.length ?? 0)) events.push({ kind: "rollback", record: after, detail: rollback.reason });
    events.push(...maintenanceEvents(before, after));
    const final = after.status === "succeeded" || after.status === "rolled-back" || after.status === "rollback-failed" || after.status === "held";
    if (final && before?.status !== after.status) events.push({ kind: "outcome", record: after, detail: after.error });
    return events;
}

/** The page of a `deploy --maintenance` release going up, coming down, or held up (put back up) between two saves. */
function maintenanceEvents(before: DeploymentRecord | undefined, after: DeploymentRecord): ReleaseEvent[] {
    const window = after.maintenance;
    if (!window) return [];
    const events: ReleaseEvent[] = [];
    if (window.on && !before?.maintenance?.on) events.push({ kind: "maintenance", record: after, detail: `the maintenance page is up (${window.reason}) for the migration` });
    if (window.held && !before?.maintenance?.held) events.push({ kind: "maintenance", record: after, detail: `the maintenance page is ${window.held.page} and stays up: ${window.held.reason}` });
    if (window.off && !before?.maintenance?.off) events.push({ kind: "maintenance", record: after, detail: "the maintenance page is down; the candidate serves 100%" });
    return events;
}

/** An SNS message: subject (at most 100 ASCII characters, SNS Publish), body and filterable attributes. */
export interface ReleaseMessage {
    readonly subject: string;
    readonly message: string;
    readonly attributes: Record<string, string>;
}

/** SNS Publish: "Subject ... must be ASCII text that begins with a letter, number, or punctuation mark; must not include line breaks or control characters; and must be less than 100 characters long." */
export const SNS_SUBJECT_MAX = 99;

/** Words an event for the topic: a subject for email, a body for people, attributes for subscription filter policies. */
export function releaseMessage(event: ReleaseEvent, plan: ReleasePlan): ReleaseMessage {
    const { record } = event;
    const who = record.startedBy.user;
    const head = `${plan.service} ${record.stack} ${record.version}`;
    const lines = [`${head}: ${describe(event)}`, "", `stack: ${record.stack}`, `service: ${plan.service}`, `version: ${record.version} (${record.image})`, `colour: ${record.candidate} (stable ${record.stable})`, `by: ${who}${record.startedBy.ci?.runUrl ? ` ${record.startedBy.ci.runUrl}` : ""}`, `record: ${record.id}`];
    if (event.kind === "start") lines.push(...startLines(record, plan));
    if (event.detail) lines.push(`reason: ${event.detail}`);
    return {
        subject: ascii(`[shiftwise] ${head} ${describe(event)}`).slice(0, SNS_SUBJECT_MAX),
        message: lines.join("\n"),
        attributes: { event: event.kind, service: plan.service, stack: record.stack, version: record.version, status: record.status },
    };
}

function describe(event: ReleaseEvent): string {
    switch (event.kind) {
        case "start":
            return "release starting";
        case "outcome":
            return event.record.status === "succeeded" ? "released" : event.record.status === "rolled-back" ? "rolled back" : event.record.status === "held" ? "HELD behind the maintenance page" : "ROLLBACK FAILED";
        case "rollback":
            return "rolling back";
        case "pause":
            return "paused";
        case "resume":
            return "resumed";
        case "trip":
            return "guard trip";
        case "maintenance":
            return event.record.maintenance?.held ? "MAINTENANCE PAGE HELD UP" : event.record.maintenance?.off ? "maintenance page down" : "maintenance page up";
        case "request":
            return "request";
    }
}

function startLines(record: DeploymentRecord, plan: ReleasePlan): string[] {
    const sha = record.startedBy.ci?.sha;
    const shortest = plan.steps.length * plan.bakeMinutes;
    const longest = plan.steps.length * plan.maxBakeMinutes;
    return [
        `release notes: ${plan.notes ?? (sha ? `commit ${sha}` : "none given")}`,
        `database: ${record.migrationSnapshot ? `migrates; snapshot ${record.migrationSnapshot} is taken before the candidate starts` : "no migration snapshot"}`,
        ...(record.maintenance ? [`MAINTENANCE WINDOW: the service answers 503 with a maintenance page (${record.maintenance.reason}) from after the snapshot until the new version serves 100% (not backwards compatible: no stepwise shift)`] : []),
        `steps: ${plan.steps.join(", ")}% (bake ${plan.bakeMinutes} min each, up to ${plan.maxBakeMinutes} min on low traffic)`,
        `expected duration: ${shortest}-${longest} min of baking, plus prepare`,
        ...(record.hotfix ? [`HOTFIX during ${record.hotfix.freezeWindow}: ${record.hotfix.reason}`] : []),
    ];
}

function ascii(text: string): string {
    return text.replace(/[^\x20-\x7e]/g, "?");
}
