// `shiftwise status`: weights in config and AWS, each colour's config and deployed version, health and alarms, drift between them, and the latest record.
import { COLOURS, Colour } from "../config";
import { sectionOf } from "./configPaths";
import type { AwsPort, StackPort } from "../ports/ports";
import type { DeploymentRecord, RecordStore } from "./records";
import { PAGE_ACTION } from "./maintenanceHold";
import { knownPercents } from "./recover";
import { driverOutputs, rollbackAlarmName } from "./stackView";

/** What `shiftwise status` shows. */
export interface StackStatus {
    readonly stack: string;
    /** `shiftwise:traffic` in the stack config. */
    readonly configTraffic?: Record<Colour, number>;
    /** The forwarding listener's weights in AWS, or the error reading them. */
    readonly listener: Record<Colour, number> | { readonly error: string };
    readonly colours: Record<Colour, { version?: string; image?: string; desiredCount?: number; alarm: string; alarmName: string; healthy: string }>;
    /** Each colour's version as the last complete update deployed it (the stack outputs); `colours` holds the config's. */
    readonly deployed: Record<Colour, string | undefined>;
    /**
     * Where what is live disagrees with what is desired: the listener in AWS
     * against `shiftwise:traffic`, each colour's deployed version against its
     * config, and the unfinished record's last step against the listener.
     */
    readonly drift: readonly string[];
    /** Set when the forwarding listener answers with the maintenance page in AWS: its reason, and why it is up. */
    readonly maintenance?: { readonly reason?: string; readonly why: string };
    /** The unfinished record, else the latest. */
    readonly record?: Pick<DeploymentRecord, "id" | "status" | "version" | "candidate" | "startedAt" | "finishedAt" | "pause" | "error"> & { steps: string[] };
}

/** Reads the stack, AWS and the records. AWS errors are reported per field, never thrown. */
export async function stackStatus(deps: { stack: StackPort; aws: AwsPort; records: RecordStore }): Promise<StackStatus> {
    const config = await deps.stack.getAllConfig();
    const outputs = driverOutputs(await deps.stack.outputs());
    const service = sectionOf<{ name?: string }>(config, "service")?.name ?? "service";
    const attempt = async <T>(read: () => Promise<T>, show: (value: T) => string) => {
        try {
            return show(await read());
        } catch (error) {
            return `unknown (${(error as Error).message})`;
        }
    };
    let listener: StackStatus["listener"];
    const pageUp = await deps.aws.listenerAction(outputs.listenerArn).then(
        (action) => action === PAGE_ACTION,
        () => false,
    );
    try {
        const weights = await deps.aws.listenerWeights(outputs.listenerArn);
        listener = { blue: weights[outputs.blue.targetGroupArn] ?? 0, green: weights[outputs.green.targetGroupArn] ?? 0 };
    } catch (error) {
        listener = { error: (error as Error).message };
    }
    const colours = {} as StackStatus["colours"];
    for (const colour of COLOURS) {
        const settings = sectionOf<{ version?: string; image?: string; desiredCount?: number }>(config, colour) ?? {};
        const alarmName = rollbackAlarmName(outputs, colour, service, deps.stack.stackName);
        colours[colour] = {
            version: settings.version,
            image: settings.image,
            desiredCount: settings.desiredCount,
            alarmName,
            alarm: await attempt(() => deps.aws.compositeAlarmState(alarmName), (state) => state ?? "missing"),
            healthy: await attempt(() => deps.aws.targetHealth(outputs[colour].targetGroupArn), (health) => `${health.healthy}/${health.total}`),
        };
    }
    const record = deps.records.unfinished() ?? deps.records.latest();
    const maintenance = pageUp ? { reason: sectionOf<{ reason?: string }>(config, "maintenance")?.reason, why: whyPageIsUp(record, deps.stack.stackName) } : undefined;
    const rawOutputs = (await deps.stack.outputs()) as Record<string, { version?: string } | undefined>;
    const deployed = { blue: rawOutputs.blue?.version, green: rawOutputs.green?.version };
    const configTraffic = sectionOf<Record<Colour, number>>(config, "traffic");
    return {
        stack: deps.stack.stackName,
        configTraffic,
        listener,
        colours,
        deployed,
        drift: driftOf(configTraffic, listener, colours, deployed, record),
        ...(maintenance ? { maintenance } : {}),
        record: record && {
            id: record.id,
            status: record.status,
            version: record.version,
            candidate: record.candidate,
            startedAt: record.startedAt,
            finishedAt: record.finishedAt,
            pause: record.pause,
            error: record.error,
            steps: record.steps.map((step) => `${step.percent}% ${step.outcome ?? "running"}${step.requests !== undefined ? ` (${step.requests} requests)` : ""}`),
        },
    };
}

/** Why the maintenance page is up, from the record that put it up (a `deploy --maintenance` release), else by hand. */
export function whyPageIsUp(record: DeploymentRecord | undefined, stack: string): string {
    const window = record?.maintenance;
    if (!record || !window || (window.off && !window.held)) return `put up by \`shiftwise maintenance on\` (see the maintenance folder of the records); \`shiftwise maintenance off --stack ${stack}\` takes it down`;
    const migration = record.migration ? `its migration ${record.migration.outcome}` : "its migration had not started";
    if (record.status === "held" && window.held) {
        return `${record.id} (deploy --maintenance of ${record.version}) is held behind it since ${window.held.at}: ${window.held.reason.split("\n")[0]}; ${migration}. ${record.stable} (${record.checkpoint.versions[record.stable]}) is not expected to work on the schema: restore the database, then \`shiftwise rollback --stack ${stack} --schema-restored "<how>"\`, or \`shiftwise rollback --stack ${stack} --migrate-down\``;
    }
    const stage = record.stages.at(-1);
    const runner = record.status === "in-progress" ? `; if its runner (pid ${record.runner?.pid} on ${record.runner?.host}) died, \`shiftwise resume --stack ${stack}\` continues behind the page` : "";
    return `${record.id} (deploy --maintenance of ${record.version}, ${record.status}) put it up at ${window.on?.at ?? "(not recorded: its runner died during the update)"} for a migration that is not backwards compatible; ${migration}; last stage ${stage?.name} (${stage?.outcome ?? "running"})${runner}`;
}

/** What `drift` lists; see `StackStatus.drift`. */
export function driftOf(
    configTraffic: Record<Colour, number> | undefined,
    listener: StackStatus["listener"],
    colours: Readonly<Record<Colour, { readonly version?: string }>>,
    deployed: Record<Colour, string | undefined>,
    record: DeploymentRecord | undefined,
): string[] {
    const drift: string[] = [];
    const shown = (traffic: Record<Colour, number>) => `blue ${traffic.blue}%, green ${traffic.green}%`;
    if (!("error" in listener) && configTraffic && (listener.blue !== configTraffic.blue || listener.green !== configTraffic.green)) {
        drift.push(`the listener in AWS (${shown(listener)}) is not shiftwise:traffic (${shown(configTraffic)})`);
    }
    for (const colour of COLOURS) {
        const wanted = colours[colour].version;
        if (wanted !== deployed[colour]) drift.push(`${colour}: the config has ${wanted}, the last complete update deployed ${deployed[colour]}`);
    }
    if (!record || "error" in listener) return drift;
    // What the record says the listener may show: a paused release where it paused; a running (or dead) one its last promoted step or the step it started.
    const expected = record.status === "paused" && record.pause ? [record.pause.afterPercent] : record.status === "in-progress" ? knownPercents(record) : [];
    const live = listener[record.candidate];
    if (expected.length > 0 && !expected.includes(live)) {
        drift.push(`${record.id} (${record.status}) left ${record.candidate} at ${expected.join(" or ")}%, but AWS serves ${live}%: changed by hand?`);
    }
    return drift;
}

/** The status for people. */
export function renderStatus(status: StackStatus): string {
    const lines = [`shiftwise status: stack ${status.stack}`];
    const listener = "error" in status.listener ? `unreadable (${status.listener.error})` : `blue ${status.listener.blue}%, green ${status.listener.green}%`;
    lines.push(`  traffic: config blue ${status.configTraffic?.blue}%, green ${status.configTraffic?.green}%; listener in AWS ${listener}`);
    for (const colour of COLOURS) {
        const c = status.colours[colour];
        const deployed = status.deployed[colour] === c.version ? "" : ` (deployed: ${status.deployed[colour]})`;
        lines.push(`  ${colour.padEnd(5)} ${c.version}${deployed} (${c.image}), ${c.desiredCount} task(s), healthy ${c.healthy}, alarm ${c.alarmName} ${c.alarm}`);
    }
    if (status.maintenance) lines.push(`  MAINTENANCE PAGE UP (${status.maintenance.reason ?? "no reason in the config"}): ${status.maintenance.why}`);
    for (const problem of status.drift) lines.push(`  DRIFT: ${problem}`);
    if (status.record) {
        const r = status.record;
        lines.push(`  record ${r.id}: ${r.status}, ${r.version} on ${r.candidate}, started ${r.startedAt}${r.finishedAt ? `, finished ${r.finishedAt}` : ""}`);
        if (r.steps.length) lines.push(`    steps: ${r.steps.join(", ")}`);
        if (r.pause) lines.push(`    paused after ${r.pause.afterPercent}%: ${r.pause.reason}`);
        if (r.error) lines.push(`    error: ${r.error}`);
    } else {
        lines.push("  no deployment records");
    }
    return lines.join("\n") + "\n";
}
