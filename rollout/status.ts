// `shiftwise status`: weights in config and AWS, each colour's health and alarms, and the latest record.
import { COLOURS, Colour } from "../config";
import { sectionOf } from "./configPaths";
import type { AwsPort, StackPort } from "../ports/ports";
import type { DeploymentRecord, RecordStore } from "./records";
import { driverOutputs, rollbackAlarmName } from "./stackView";

/** What `shiftwise status` shows. */
export interface StackStatus {
    readonly stack: string;
    /** `shiftwise:traffic` in the stack config. */
    readonly configTraffic?: Record<Colour, number>;
    /** The forwarding listener's weights in AWS, or the error reading them. */
    readonly listener: Record<Colour, number> | { readonly error: string };
    readonly colours: Record<Colour, { version?: string; image?: string; desiredCount?: number; alarm: string; alarmName: string; healthy: string }>;
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
    return {
        stack: deps.stack.stackName,
        configTraffic: sectionOf<Record<Colour, number>>(config, "traffic"),
        listener,
        colours,
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

/** The status for people. */
export function renderStatus(status: StackStatus): string {
    const lines = [`shiftwise status: stack ${status.stack}`];
    const listener = "error" in status.listener ? `unreadable (${status.listener.error})` : `blue ${status.listener.blue}%, green ${status.listener.green}%`;
    lines.push(`  traffic: config blue ${status.configTraffic?.blue}%, green ${status.configTraffic?.green}%; listener in AWS ${listener}`);
    for (const colour of COLOURS) {
        const c = status.colours[colour];
        lines.push(`  ${colour.padEnd(5)} ${c.version} (${c.image}), ${c.desiredCount} task(s), healthy ${c.healthy}, alarm ${c.alarmName} ${c.alarm}`);
    }
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
