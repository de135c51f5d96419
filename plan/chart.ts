// The release schedule as an SVG chart: a vega-lite spec made from the schedule's data, rendered headless by vega.
import * as fs from "fs";
import type { StackConfig } from "../config";
import { Schedule, formatMinutes, layOutSchedule } from "./schedule";
import { formatSeconds } from "./exposure";

/** One row of the chart's data: a phase on one of the two timelines, or a detection bound. */
export interface ChartRow {
    readonly timeline: "shortest" | "longest";
    readonly phase: string;
    readonly percent: number;
    readonly start: number;
    readonly end: number;
    readonly label: string;
}

/** The chart's data: a plain function of the schedule, so stages that add phases appear without touching the chart. */
export function chartRows(schedule: Schedule): ChartRow[] {
    const rows: ChartRow[] = [];
    for (const timeline of ["longest", "shortest"] as const) {
        for (const phase of schedule.phases) {
            const window = phase[timeline];
            if (window.end > window.start) rows.push({ timeline, phase: phase.name, percent: phase.candidatePercent, start: window.start, end: window.end, label: `${phase.candidatePercent}%` });
        }
    }
    return rows;
}

/** The phases before the candidate takes traffic (snapshot, migration, stable soak, prepare) on the longest timeline, as labelled bands. */
export function preTrafficRows(schedule: Schedule): ChartRow[] {
    return schedule.phases
        .filter((phase) => phase.candidatePercent === 0 && phase.longest.end > phase.longest.start)
        .map((phase) => ({ timeline: "longest", phase: phase.name, percent: 0, start: phase.longest.start, end: phase.longest.end, label: phase.name }));
}

/** The vega-lite spec: weight steps over minutes on both timelines, the step labels, and each step's worst-case rollback time. */
export function chartSpec(schedule: Schedule, title: string): Record<string, unknown> {
    const detectMinutes = schedule.detectionSeconds.worst / 60;
    const steps = schedule.phases.filter((phase) => phase.candidatePercent > 0);
    const bounds = steps.map((phase) => ({ at: phase.shortest.start + detectMinutes, percent: phase.candidatePercent, label: `rollback by +${formatSeconds(schedule.detectionSeconds.worst)}` }));
    return {
        $schema: "https://vega.github.io/schema/vega-lite/v6.json",
        title: {
            text: title,
            subtitle: `candidate weight over time: shortest ${formatMinutes(schedule.totalMinutes.shortest)}, longest ${formatMinutes(schedule.totalMinutes.longest)} before a pause; a bad release is rolled back within ${formatSeconds(schedule.detectionSeconds.worst)} of a step`,
        },
        width: 720,
        height: 300,
        layer: [
            {
                data: { values: chartRows(schedule) },
                mark: { type: "rect", opacity: 0.45, stroke: "white" },
                encoding: {
                    x: { field: "start", type: "quantitative", title: "minutes from the start of the release" },
                    x2: { field: "end" },
                    y: { field: "percent", type: "quantitative", title: "candidate weight (%)", scale: { domain: [0, 100] } },
                    y2: { datum: 0 },
                    color: { field: "timeline", type: "nominal", title: "timeline", scale: { domain: ["shortest", "longest"], range: ["#2b7bba", "#bbbbbb"] } },
                    tooltip: [{ field: "phase", type: "nominal" }, { field: "start", type: "quantitative" }, { field: "end", type: "quantitative" }],
                },
            },
            {
                data: { values: chartRows(schedule).filter((row) => row.timeline === "shortest") },
                mark: { type: "text", dy: -8, fontWeight: "bold" },
                encoding: {
                    x: { field: "start", type: "quantitative" },
                    y: { field: "percent", type: "quantitative" },
                    text: { field: "label" },
                },
            },
            {
                // Weight 0 has no height: the phases before the first step are bands across the chart, named at the top.
                data: { values: preTrafficRows(schedule) },
                mark: { type: "rect", opacity: 0.15, color: "#9467bd", stroke: "white" },
                encoding: {
                    x: { field: "start", type: "quantitative" },
                    x2: { field: "end" },
                    y: { datum: 0 },
                    y2: { datum: 100 },
                    tooltip: [{ field: "phase", type: "nominal" }, { field: "start", type: "quantitative" }, { field: "end", type: "quantitative" }],
                },
            },
            {
                data: { values: preTrafficRows(schedule) },
                mark: { type: "text", angle: 270, align: "right", baseline: "middle", dy: 0, fontSize: 10, color: "#5a3d8a" },
                encoding: {
                    x: { field: "start", type: "quantitative" },
                    y: { datum: 98 },
                    text: { field: "label" },
                },
            },
            {
                data: { values: bounds },
                mark: { type: "rule", color: "#d62728", strokeDash: [4, 3] },
                encoding: { x: { field: "at", type: "quantitative" }, y: { field: "percent", type: "quantitative" }, y2: { datum: 0 } },
            },
        ],
    };
}

// A real dynamic import: vega and vega-lite are ES modules, and this project compiles to CommonJS.
const importModule = new Function("specifier", "return import(specifier)") as (specifier: string) => Promise<any>;

/** Renders the spec to SVG headless (vega's renderer "none" needs no canvas or browser). */
export async function renderChartSvg(spec: Record<string, unknown>): Promise<string> {
    const [vega, vegaLite] = await Promise.all([importModule("vega"), importModule("vega-lite")]);
    const view = new vega.View(vega.parse(vegaLite.compile(spec).spec), { renderer: "none" });
    try {
        return await view.toSVG();
    } finally {
        view.finalize();
    }
}

/** Draws the schedule of `config` into `file` as SVG. */
export async function writeScheduleChart(config: StackConfig, file: string, title = `shiftwise release schedule: ${config.service.name}`): Promise<void> {
    fs.writeFileSync(file, await renderChartSvg(chartSpec(layOutSchedule(config), title)));
}
