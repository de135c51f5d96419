// Deployment records: their schema and how they are written and read on disk.
import * as fs from "fs";
import * as path from "path";
import { shortStackName } from "../evaluation/stackFile";
import { z } from "zod";
import type { Colour } from "../config";
import type { AlarmState, StackConfigEntries } from "../ports/ports";
import type { MigrationResult } from "./migration";
import type { StartedBy } from "./actor";

/**
 * Deployment records: one JSON file per deployment under
 * `<records dir>/<stack>/`, written at the checkpoint and rewritten after
 * every stage, so a crash leaves the last known state on disk.
 */

export { DEFAULT_RECORDS_DIR } from "./recordsDir";
export { startedBy } from "./actor";
export type { StartedBy } from "./actor";

/**
 * `held`: a `deploy --maintenance` release stopped after its migration may
 * have changed the schema; the maintenance page stays up (no user is routed to
 * a colour that may not work on that schema) until a person restores the
 * database (see rollout/maintenanceHold.ts).
 */
export type RecordStatus = "in-progress" | "paused" | "succeeded" | "rolled-back" | "rollback-failed" | "held";

/** A stage of the deployment with its timestamps. */
export interface StageEntry {
    readonly name: string;
    readonly startedAt: string;
    finishedAt?: string;
    outcome?: "ok" | "failed" | "paused" | "interrupted";
    detail?: string;
}

/** One traffic step. */
export interface StepEntry {
    readonly percent: number;
    readonly traffic: Record<Colour, number>;
    readonly startedAt: string;
    finishedAt?: string;
    /** Requests the candidate served while this step baked (CloudWatch RequestCount). */
    requests?: number;
    polls?: number;
    lastAlarmState?: AlarmState;
    /**
     * `stopped`: the listener was changed outside shiftwise; `stable-alarm`: the stable colour alarmed;
     * `inconclusive`: INSUFFICIENT_DATA until maxBakeMinutes; `probe-failed`: the probe failure budget was breached.
     */
    outcome?: "promoted" | "alarm" | "stable-alarm" | "low-traffic" | "inconclusive" | "probe-failed" | "stopped" | "paused" | "interrupted" | "failed";
    /** Set when a `shiftwise promote` request ended this bake early. */
    endedEarly?: { readonly by: string; readonly reason: string };
}

/** One phase of a rollback attempt. */
export interface RollbackPhase {
    /** `write` (the checkpoint config, validated), `capacity` (the serving colour's count, then its health), `traffic` (the listener only), `config` (the rest of the checkpoint), `verify` (preview, config and AWS). */
    readonly name: "write" | "capacity" | "traffic" | "config" | "verify";
    readonly startedAt: string;
    finishedAt?: string;
    /** The resources its targeted `up` changed; absent when the phase ran no `up`. */
    changed?: string[];
    problems?: string[];
}

/** One rollback attempt. */
export interface RollbackEntry {
    readonly reason: string;
    readonly startedAt: string;
    /** Who asked: `driver` (a gate, an interrupt or a failure) or `command` (`shiftwise rollback`). */
    readonly trigger: "driver" | "command";
    finishedAt?: string;
    outcome?: "succeeded" | "failed";
    /** True when the attempt wrote stack config (false on a retry that found the checkpoint config written). */
    wroteConfig?: boolean;
    phases: RollbackPhase[];
    error?: string;
}

export interface DeploymentRecord {
    readonly schemaVersion: 1;
    readonly id: string;
    readonly stack: string;
    status: RecordStatus;
    readonly version: string;
    readonly image: string;
    readonly stable: Colour;
    readonly candidate: Colour;
    /** Given with --hotfix (at deploy or resume): the release may run inside freeze windows. */
    hotfix?: { readonly reason: string; readonly freezeWindow: string };
    /** The test listener URL the driver smoke-checks and probes (`--smoke-base-url`, else the testUrl output). */
    probeBaseUrl?: string;
    /** The judgement of the new stable colour after the last step (`rollout.watchMinutes`). */
    watch?: StepEntry;
    /**
     * Set when the old colour was scaled down after the release
     * (`rollout.scaleDownAfterMinutes`): `colour` now runs 0 tasks and ran
     * `desiredCount` (its checkpoint count). A rollback scales it back to
     * `desiredCount` and waits for healthy targets before traffic moves.
     */
    scaledDown?: { readonly colour: Colour; readonly desiredCount: number; readonly at: string };
    readonly migrationSnapshot?: string;
    readonly pauseAt?: number;
    readonly startedAt: string;
    finishedAt?: string;
    readonly startedBy: StartedBy;
    /** The state a rollback restores. Secret values are salted scrypt fingerprints (`redactSecrets`). */
    readonly checkpoint: {
        readonly config: StackConfigEntries;
        readonly outputs: Record<string, unknown>;
        readonly versions: Record<Colour, string>;
        readonly traffic: Record<Colour, number>;
    };
    readonly stages: StageEntry[];
    readonly steps: StepEntry[];
    readonly rollbacks: RollbackEntry[];
    pause?: { readonly afterPercent: number; readonly reason: string; readonly at: string };
    /** Each `shiftwise resume`: of a pause, or of a release whose runner died (`crash`, with what it read). */
    resumes?: { readonly at: string; readonly by: StartedBy; readonly after?: "pause" | "crash"; readonly found?: string }[];
    /** The process that runs the release, so a resume on the same host can tell a live runner from a dead one. */
    runner?: { readonly host: string; readonly pid: number };
    /** The commit released and its commit time, for the lead-time metric (set by the CLI from git). */
    commit?: { readonly sha: string; readonly committedAt: string };
    /** The release's migration task: outcome, exit code, duration, logs link (rollout/stages/migrate.ts). */
    migration?: MigrationResult;
    /** The stable colour watched on the new schema after the migration, before the candidate started (`skipped` with --maintenance). */
    stableSoak?: StableSoakEntry;
    /** A `deploy --maintenance` release: the page's reason, when it went up and came down, and a hold behind it. */
    maintenance?: MaintenanceWindowEntry;
    /** What RDS said of the snapshot and the database right before the migration ran (or a resumed one went on). */
    databaseCheck?: DatabaseCheckEntry;
    /** The down-migration, run only by `shiftwise rollback --migrate-down`. */
    migrationDown?: MigrationResult;
    /** The release ledger's notes: the lease that ran it, take-overs, requests served (rollout/ledgerSession.ts). */
    ledger?: LedgerNotes;
    /** Seconds per stage, filled at the end. */
    durationsSeconds?: Record<string, number>;
    error?: string;
}

/** The last reading of RDS before a migration, and its verdict (rollout/databaseReadiness.ts). */
export interface DatabaseCheckEntry {
    readonly at: string;
    readonly snapshot: string;
    readonly snapshotStatus?: string;
    readonly database: string;
    readonly databaseStatus?: string;
    readonly resourceId?: string;
    readonly snapshotSourceResourceId?: string;
    readonly polls: number;
    readonly verdict: "go" | "wait" | "stop";
    readonly reason?: string;
}

/** The stable colour's soak on the new schema: what each poll read, and the verdict. */
export interface StableSoakEntry {
    readonly colour: Colour;
    readonly minutes: number;
    polls: number;
    lastAlarmState?: AlarmState;
    healthy?: number;
    smokeChecks?: number;
    /** `skipped`: a `deploy --maintenance` release, whose stable colour is not expected to work on the new schema (`problem` says so). */
    outcome?: "ok" | "broken" | "inconclusive" | "skipped";
    problem?: string;
}

/** One listener update of the maintenance page during a release. */
export interface MaintenancePageChange {
    readonly at: string;
    /** `op urn` of every resource the update changed: the forwarding listener only. */
    readonly changed: readonly string[];
}

/** The maintenance window of a `deploy --maintenance` release (rollout/stages/maintenance.ts). */
export interface MaintenanceWindowEntry {
    /** Shown on the page. */
    readonly reason: string;
    /** The page went up: after the snapshot, before the migration. */
    on?: MaintenancePageChange;
    /** The page came down: after the cutover to the candidate at 100 %. */
    off?: MaintenancePageChange;
    /** The release stopped behind the page: why, and whether the page had to be put back up. */
    held?: { readonly at: string; readonly reason: string; readonly page: "kept up" | "put back up" | "could not be put back up"; changed?: readonly string[] };
    /**
     * The schema is back to one the old colour works on, so a rollback may route users to it again: a succeeded
     * `rollback --migrate-down`, or a person's word (`rollback --schema-restored`).
     */
    schemaRestored?: { readonly at: string; readonly by: string; readonly how: string };
}

/** What the release ledger adds to a record: the lease that ran it, take-overs and forced leases, requests served. */
export interface LedgerNotes {
    lease: { readonly owner: string; readonly command: string; readonly token: string };
    events: { readonly kind: string; readonly at: string; readonly by: string; readonly reason: string; readonly previousOwner: string; readonly previousCommand: string }[];
    requests: { readonly id: string; readonly kind: string; readonly by: string; readonly reason: string; readonly createdAt: string; readonly servedAt: string; readonly outcome: string }[];
}

/**
 * The fields of a record that `status`, `deploy`, `resume` and `rollback` rely
 * on. Unknown fields are kept (newer shiftwise versions add some); a file that
 * fails this schema is not a record these commands can act on.
 */
const colourSchema = z.enum(["blue", "green"]);
const trafficSchema = z.object({ blue: z.number().int().min(0).max(100), green: z.number().int().min(0).max(100) });
const recordSchema = z.looseObject({
    schemaVersion: z.literal(1),
    id: z.string().min(1),
    stack: z.string().min(1),
    status: z.enum(["in-progress", "paused", "succeeded", "rolled-back", "rollback-failed", "held"]),
    version: z.string(),
    image: z.string(),
    stable: colourSchema,
    candidate: colourSchema,
    startedAt: z.iso.datetime(),
    startedBy: z.looseObject({ user: z.string(), host: z.string() }),
    checkpoint: z.looseObject({
        config: z.record(z.string(), z.looseObject({ value: z.string(), secret: z.boolean().optional() })),
        outputs: z.record(z.string(), z.unknown()),
        versions: z.object({ blue: z.string(), green: z.string() }),
        traffic: trafficSchema,
    }),
    stages: z.array(z.looseObject({ name: z.string(), startedAt: z.string() })),
    steps: z.array(z.looseObject({ percent: z.number(), traffic: trafficSchema, startedAt: z.string() })),
    rollbacks: z.array(z.looseObject({ reason: z.string(), startedAt: z.string(), phases: z.array(z.looseObject({ name: z.string() })) })),
});

/** A file in the records folder that is not a usable record of this stack. */
export class RecordFileError extends Error {
    constructor(
        readonly file: string,
        reason: string,
    ) {
        super(`${file}: ${reason}`);
        this.name = "RecordFileError";
    }
}

/** Reads a record file; throws `RecordFileError` naming the file and what is wrong with it. */
export function parseRecordFile(file: string, stack: string): DeploymentRecord {
    let text: string;
    try {
        text = fs.readFileSync(file, "utf8");
    } catch (error) {
        throw new RecordFileError(file, `cannot be read (${(error as Error).message})`);
    }
    let json: unknown;
    try {
        json = JSON.parse(text);
    } catch (error) {
        throw new RecordFileError(file, `is not JSON, perhaps truncated (${(error as Error).message})`);
    }
    const problem = recordProblem(json, stack);
    if (problem) throw new RecordFileError(file, problem);
    return json as DeploymentRecord;
}

/** Why `json` is not a usable record of `stack` (`is not a shiftwise deployment record (…)`), or undefined when it is one. */
export function recordProblem(json: unknown, stack: string): string | undefined {
    const parsed = recordSchema.safeParse(json);
    if (!parsed.success) {
        const problems = parsed.error.issues.slice(0, 3).map((issue) => `${issue.path.join(".") || "(root)"}: ${issue.message}`);
        return `is not a shiftwise deployment record (${problems.join("; ")})`;
    }
    return parsed.data.stack === stack ? undefined : `is a record of stack ${parsed.data.stack}, not ${stack}`;
}

/** Reads and writes the records of one stack. */
export class RecordStore {
    private readonly warned = new Set<string>();

    /**
     * `baseDir` holds one folder per stack. `warn` receives one message per
     * record file that is skipped because it is truncated, foreign or
     * hand-edited beyond the schema. @default no warnings
     */
    readonly stack: string;

    constructor(
        readonly baseDir: string,
        stack: string,
        readonly warn: (message: string) => void = () => undefined,
    ) {
        // `org/stack` and `stack` share one folder, as they share one stack file.
        this.stack = shortStackName(stack);
    }

    get dir(): string {
        return path.join(this.baseDir, this.stack);
    }

    /** The file a record lives in. */
    fileOf(record: Pick<DeploymentRecord, "id">): string {
        return path.join(this.dir, `${record.id}.json`);
    }

    /** Writes atomically (temp file, then rename) so a reader never sees half a record. */
    save(record: DeploymentRecord): string {
        fs.mkdirSync(this.dir, { recursive: true });
        const file = this.fileOf(record);
        const temp = `${file}.${process.pid}.tmp`;
        fs.writeFileSync(temp, `${JSON.stringify(record, null, 2)}\n`);
        fs.renameSync(temp, file);
        return file;
    }

    /** Reads the record a user named (`--record`); throws `RecordFileError` when it is not one. */
    read(file: string): DeploymentRecord {
        return parseRecordFile(file, this.stack);
    }

    /** Every usable record, newest first. A file that is not one is skipped with a warning naming it. */
    list(): DeploymentRecord[] {
        if (!fs.existsSync(this.dir)) return [];
        const records: DeploymentRecord[] = [];
        for (const name of fs.readdirSync(this.dir).filter((entry) => entry.endsWith(".json"))) {
            const file = path.join(this.dir, name);
            try {
                records.push(parseRecordFile(file, this.stack));
            } catch (error) {
                if (!(error instanceof RecordFileError)) throw error;
                if (!this.warned.has(error.message)) this.warn(`skipped ${error.message}`);
                this.warned.add(error.message);
            }
        }
        return records.sort((a, b) => b.startedAt.localeCompare(a.startedAt));
    }

    latest(): DeploymentRecord | undefined {
        return this.list()[0];
    }

    /** The deployment that is in progress, paused, held behind the maintenance page or whose rollback failed, if any. */
    unfinished(): DeploymentRecord | undefined {
        return this.list().find((record) => record.status === "in-progress" || record.status === "paused" || record.status === "rollback-failed" || record.status === "held");
    }
}

/** A record id that sorts by time: `20250101T120000Z-v1.5.0`. */
export function recordId(startedAt: Date, version: string): string {
    const stamp = startedAt.toISOString().replace(/[-:]/g, "").replace(/\.\d{3}/, "");
    return `${stamp}-${version.replace(/[^A-Za-z0-9._-]/g, "_")}`;
}

/** Seconds per stage (first start to last finish of each stage name). */
export function stageDurations(stages: readonly StageEntry[]): Record<string, number> {
    const durations: Record<string, number> = {};
    for (const stage of stages) {
        if (!stage.finishedAt) continue;
        const seconds = (Date.parse(stage.finishedAt) - Date.parse(stage.startedAt)) / 1000;
        durations[stage.name] = (durations[stage.name] ?? 0) + seconds;
    }
    return durations;
}
