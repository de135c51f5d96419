// `shiftwise maintenance on|off`: the forwarding listener answers 503 with a page (or forwards again), as one previewed, targeted listener update, recorded.
import * as fs from "fs";
import * as path from "path";
import { ConfigError, otherColour } from "../config";
import { sectionOf } from "./configPaths";
import { ExitCode, ExitCodeValue } from "./exitCodes";
import { LISTENER_TYPE, effectiveSteps, listenerOnlyProblems } from "./guards";
import type { Clock, StackConfigEntries, StackPort } from "../ports/ports";
import { heldBehindPage } from "./pageRule";
import { RecordStore, StartedBy } from "./records";
import type { Reporter } from "./reporter";
import { driverOutputs, shiftwiseConfig } from "./stackView";

export interface MaintenanceDeps {
    readonly stack: StackPort;
    readonly clock: Clock;
    readonly reporter: Reporter;
    /** `<records dir>/<stack>`: maintenance entries go to its `maintenance/` subfolder, apart from the deployment records. */
    readonly recordsDir: string;
    /**
     * The stack's deployment records, given by `shiftwise maintenance` (a
     * person's command): `off` refuses while a release is held behind the
     * page. The driver, which takes its page down itself once that is safe,
     * gives none. @default no check
     */
    readonly records?: Pick<RecordStore, "unfinished">;
    readonly by: StartedBy;
}

export interface MaintenanceRequest {
    readonly enabled: boolean;
    /** Required to turn it on: the page and the record say why. */
    readonly reason?: string;
}

/** What one `shiftwise maintenance` did, kept as JSON. */
export interface MaintenanceEntry {
    readonly kind: "maintenance";
    readonly stack: string;
    readonly enabled: boolean;
    readonly reason?: string;
    readonly at: string;
    readonly by: StartedBy;
    outcome: "applied" | "unchanged" | "refused" | "failed";
    /** `op urn` of every resource the update changed: the forwarding listener only. */
    changed?: string[];
    problems?: string[];
}

export interface MaintenanceOutcome {
    readonly exitCode: ExitCodeValue;
    readonly message: string;
    readonly entry: MaintenanceEntry;
    readonly entryFile?: string;
}

/**
 * Turns maintenance mode on or off. It previews the new config without writing
 * it, refuses unless the preview updates only the forwarding listener, then
 * writes `shiftwise:maintenance` and runs `up` targeted at that listener, and
 * checks the engine's events again. The weights, the colours and the test
 * listener are untouched, so the test path still reaches both colours.
 */
export async function setMaintenance(deps: MaintenanceDeps, request: MaintenanceRequest): Promise<MaintenanceOutcome> {
    const { stack, reporter } = deps;
    const entry: MaintenanceEntry = { kind: "maintenance", stack: stack.stackName, enabled: request.enabled, ...(request.reason ? { reason: request.reason } : {}), at: deps.clock.now().toISOString(), by: deps.by, outcome: "refused" };
    const done = (exitCode: ExitCodeValue, message: string): MaintenanceOutcome => {
        const entryFile = saveEntry(deps.recordsDir, entry);
        reporter.line("maintenance", message);
        return { exitCode, message, entry, entryFile };
    };
    if (request.enabled && !request.reason?.trim()) {
        entry.problems = ["maintenance on needs --reason"];
        return { exitCode: ExitCode.invalid, message: 'shiftwise maintenance on needs --reason "<why>"; nothing was changed', entry };
    }
    const held = request.enabled || !deps.records ? undefined : heldBehindPage(deps.records);
    if (held) {
        const old = otherColour(held.candidate);
        entry.problems = [`release ${held.version} is held behind the maintenance page`];
        return done(
            ExitCode.refused,
            `refused; nothing was changed: release ${held.version} is held behind the page: its migration may have changed the schema, and ${old} (${held.checkpoint.versions[old]}) is not expected to work on it. ` +
                `Restore the database and then run \`shiftwise rollback --stack ${stack.stackName} --schema-restored "<how>"\`, or run \`shiftwise rollback --stack ${stack.stackName} --migrate-down\`; either takes the page down when it is safe`,
        );
    }
    const entries = await stack.getAllConfig();
    const current = shiftwiseConfig(entries).maintenance;
    if (current.enabled === request.enabled && (!request.enabled || current.reason === request.reason)) {
        entry.outcome = "unchanged";
        return done(ExitCode.success, `maintenance is already ${request.enabled ? `on (${current.reason})` : "off"}; nothing was changed`);
    }
    const target = maintenanceConfig(entries, request);
    try {
        shiftwiseConfig(target);
    } catch (error) {
        if (!(error instanceof ConfigError)) throw error;
        entry.problems = [...error.problems];
        return done(ExitCode.invalid, `the maintenance config is invalid; nothing was changed:\n  - ${error.problems.join("\n  - ")}`);
    }
    const { listenerArn } = driverOutputs(await stack.outputs());
    const preview = await stack.preview({ config: target });
    const previewProblems = listenerOnlyProblems(preview, listenerArn);
    if (previewProblems.length > 0) {
        entry.problems = previewProblems;
        return done(ExitCode.refused, `refused; nothing was changed: ${previewProblems.join("; ")}`);
    }
    const listenerUrn = effectiveSteps(preview).find((step) => step.type === LISTENER_TYPE)!.urn;
    await stack.setConfig(maintenancePaths(request), { path: true });
    let problems: string[];
    try {
        const changes = await stack.up({ targets: [listenerUrn] });
        entry.changed = effectiveSteps(changes).map((step) => `${step.op} ${step.urn}`);
        problems = listenerOnlyProblems(changes, listenerArn);
    } catch (error) {
        await stack.setConfig(maintenancePaths(current.enabled ? { enabled: true, reason: current.reason } : { enabled: false, reason: request.reason }), { path: true });
        entry.outcome = "failed";
        entry.problems = [(error as Error).message];
        return done(ExitCode.error, `pulumi up failed; shiftwise:maintenance is back to ${current.enabled ? "on" : "off"}: ${(error as Error).message}`);
    }
    if (problems.length > 0) {
        entry.outcome = "failed";
        entry.problems = problems;
        return done(ExitCode.error, `the update did more than the listener: ${problems.join("; ")}; check \`pulumi stack\` and the listener`);
    }
    entry.outcome = "applied";
    return done(
        ExitCode.success,
        request.enabled
            ? `maintenance on: the service answers 503 with the maintenance page (${request.reason}); the test listener still reaches both colours`
            : "maintenance off: the listener forwards by the weights again",
    );
}

/** The stack config with `shiftwise:maintenance` set as asked, the other keys as they are. */
export function maintenanceConfig(entries: StackConfigEntries, request: MaintenanceRequest): StackConfigEntries {
    const section = sectionOf(entries, "maintenance") ?? {};
    const value = { ...section, enabled: request.enabled, ...(request.reason ? { reason: request.reason } : {}) };
    return { ...entries, "shiftwise:maintenance": { value: JSON.stringify(value) } };
}

function maintenancePaths(request: MaintenanceRequest): Record<string, string> {
    return { "shiftwise:maintenance.enabled": String(request.enabled), ...(request.reason ? { "shiftwise:maintenance.reason": request.reason } : {}) };
}

function saveEntry(recordsDir: string, entry: MaintenanceEntry): string {
    const dir = path.join(recordsDir, "maintenance");
    fs.mkdirSync(dir, { recursive: true });
    const file = path.join(dir, `${entry.at.replace(/[-:]/g, "").replace(/\.\d{3}/, "")}-${entry.enabled ? "on" : "off"}.json`);
    fs.writeFileSync(file, `${JSON.stringify(entry, null, 2)}\n`);
    return file;
}
