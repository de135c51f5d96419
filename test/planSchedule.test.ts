// Tests of the plan's schedule (text picture and SVG chart), of `plan --json` against the text plan, of ESC imports and of stable/candidate at an even split.
import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parseStackConfig, shiftwiseSections } from "../config";
import { main } from "../cli/main";
import { readStackFile, stackFilePath } from "../evaluation/stackFile";
import { chartRows, chartSpec, renderChartSvg } from "../plan/chart";
import { layOutSchedule, renderSchedule } from "../plan/schedule";
import { ExitCode } from "../rollout/exitCodes";
import { PROJECT_DIR, editedStackFile } from "./harness";

function productionConfig(edit: (sections: Record<string, any>) => void = () => undefined) {
    const sections = shiftwiseSections(readStackFile(stackFilePath(PROJECT_DIR, "production"), "shiftwise").config) as Record<string, any>;
    edit(sections);
    return parseStackConfig(sections);
}

async function plan(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    let stdout = "";
    let stderr = "";
    const context = { projectDir: PROJECT_DIR } as never;
    const code = await main(["node", "shiftwise", ...args], { stdout: (t) => (stdout += t), stderr: (t) => (stderr += t) }, context);
    return { code, stdout, stderr };
}

describe("plan: the release schedule", () => {
    it("lays the phases out on the shortest and the longest timeline from the rollout config", () => {
        const schedule = layOutSchedule(productionConfig((s) => (s.rollout = { steps: [10, 40, 100], bakeMinutes: 5, maxBakeMinutes: 30, healthyWaitMinutes: 12 })));
        assert.deepStrictEqual(
            schedule.phases.map((p) => [p.name, p.candidatePercent, p.shortest.start, p.shortest.end, p.longest.start, p.longest.end]),
            [
                ["prepare", 0, 0, 0, 0, 12],
                ["step 10%", 10, 0, 5, 12, 42],
                ["step 40%", 40, 5, 10, 42, 72],
                ["step 100%", 100, 10, 15, 72, 102],
            ],
        );
        assert.deepStrictEqual(schedule.totalMinutes, { shortest: 15, longest: 102 });
        assert.deepStrictEqual(schedule.detectionSeconds, { steady: 270, worst: 330 });
    });

    it("draws the steps as a staircase in the terminal, with windows, gates, detection bound and totals", () => {
        const text = renderSchedule(layOutSchedule(productionConfig()));
        const rows = text.split("\n");
        assert.strictEqual(rows[0], "Schedule (candidate weight over time; shortest 40m, longest 4h15m before a pause)");
        // Each step fills its quarter of the 60 columns on its own row.
        assert.strictEqual(rows[1], `  100% |${" ".repeat(45)}${"█".repeat(15)}|`);
        assert.strictEqual(rows[4], `    5% |${"█".repeat(15)}${" ".repeat(45)}|`);
        assert.match(text, /^ {2}step 25% {4}25% {2}10m-20m \(longest 1h15m-2h15m\) +gate: composite alarm not in ALARM, at least 200 candidate requests$/m);
        assert.match(text, /detection: a bad release is rolled back at most 5m30s after a step's up \(4m30s when every minute breaches\)/);
    });

    it("renders an SVG chart that holds every step of the stack's config", async function () {
        this.timeout(30_000);
        const config = productionConfig((s) => (s.rollout = { ...s.rollout, steps: [3, 33, 66, 100] }));
        const schedule = layOutSchedule(config);
        assert.deepStrictEqual(
            chartRows(schedule).filter((row) => row.timeline === "shortest").map((row) => row.label),
            ["3%", "33%", "66%", "100%"],
        );
        const svg = await renderChartSvg(chartSpec(schedule, "release of shop"));
        assert.match(svg, /^<svg [^>]*xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
        const texts = [...svg.matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((match) => match[1]);
        for (const label of ["3%", "33%", "66%", "100%"]) assert.ok(texts.includes(label), `the chart labels step ${label}: ${texts.join("|")}`);
        assert.ok(!texts.includes("5%"), "and no step that is not in the config");
        assert.ok(texts.includes("release of shop"));
        assert.ok(texts.some((t) => /shortest 40m, longest 4h15m/.test(t)), "the subtitle gives the totals");
    });

    it("plan --chart writes the SVG next to the text plan", async function () {
        this.timeout(60_000);
        const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "shiftwise-chart-")), "schedule.svg");
        const result = await plan("plan", "--stack", "production", "--chart", file);
        assert.strictEqual(result.code, ExitCode.success, result.stderr);
        assert.match(result.stdout, /^Schedule \(candidate weight over time; shortest 40m, longest 4h15m before a pause\)$/m);
        const svg = fs.readFileSync(file, "utf8");
        for (const label of ["5%", "25%", "50%", "100%"]) assert.ok(svg.includes(`>${label}</text>`), label);
    });
});

describe("plan --json", function () {
    this.timeout(60_000);

    it("holds everything the text plan shows: traffic, alarms, snapshot, backups, security, runbook, exposure and schedule", async () => {
        const [text, json] = await Promise.all([plan("plan", "--stack", "production"), plan("plan", "--stack", "production", "--json")]);
        assert.strictEqual(json.code, ExitCode.success, json.stderr);
        const document = JSON.parse(json.stdout);
        assert.deepStrictEqual([document.stable, document.candidate, document.colours.blue.weight, document.colours.green.version], ["blue", "green", 90, "v1.5.0"]);
        for (const line of document.runbook) assert.ok(text.stdout.includes(`  ${line}\n`), `runbook line in the text plan: ${line}`);
        assert.strictEqual(document.alarms.length, 2);
        for (const group of document.alarms) {
            assert.ok(text.stdout.includes(`  ${group.composite}: ALARM when any of these is`));
            for (const alarm of group.alarms) assert.ok(text.stdout.includes(alarm.name) && text.stdout.includes(alarm.threshold), alarm.name);
        }
        assert.ok(text.stdout.includes(`restore: ${document.snapshot.restoreCommand}`));
        assert.ok(document.backups.rules.length > 0 && text.stdout.includes(`rule ${document.backups.rules[0].rule}: ${document.backups.rules[0].schedule}`));
        // the secure-by-default section, finding for finding, notes marked as in the text
        const security = text.stdout.slice(text.stdout.indexOf("Secure by default\n")).split("\n\n")[0].split("\n").slice(1);
        assert.deepStrictEqual(document.security.map((finding: { note: boolean; text: string }) => `  ${finding.note ? "note: " : ""}${finding.text}`), security);
        assert.deepStrictEqual(document.security.slice(0, 2).map((finding: { note: boolean; text: string }) => [finding.note, finding.text.split(":")[0]]), [[false, "access logs"], [false, "flow logs"]]);
        assert.ok(security.length >= 7, security.join("\n"));
        assert.strictEqual(document.exposure.worst.total, 330);
        assert.deepStrictEqual(document.schedule.totalMinutes, { shortest: 40, longest: 255 });
        assert.deepStrictEqual(document.warnings, []);
    });
});

describe("plan: what it cannot know offline, and which colour is stable", function () {
    this.timeout(60_000);

    it("says that Pulumi ESC environments cannot be resolved offline, with the plan and next to config problems", async () => {
        const imports = editedStackFile((d) => (d.environment = ["shop/staging-secrets"]));
        const ok = await plan("plan", "--stack", "staging", "--config-file", imports);
        assert.strictEqual(ok.code, ExitCode.success);
        assert.match(ok.stderr, /^shiftwise plan: Pulumi\.edited\.yaml imports the Pulumi ESC environment\(s\) shop\/staging-secrets, which cannot be resolved offline/);

        const missing = editedStackFile((d) => {
            d.environment = { imports: ["shop/aws"] };
            delete d.config["aws:region"];
        });
        const failed = await plan("plan", "--stack", "staging", "--config-file", missing, "--json");
        assert.strictEqual(failed.code, ExitCode.invalid);
        const problems = JSON.parse(failed.stdout).problems as string[];
        assert.match(problems[0], /^aws:region is missing/);
        assert.match(problems[1], /imports the Pulumi ESC environment\(s\) shop\/aws, which cannot be resolved offline/);
    });

    it("at an even split takes the candidate from shiftwise:releaseColour, not from colour order, in the plan and the stack outputs", async () => {
        for (const releaseColour of ["blue", "green"]) {
            const file = editedStackFile((d) => {
                d.config["shiftwise:traffic"] = { blue: 50, green: 50 };
                d.config["shiftwise:releaseColour"] = releaseColour;
            });
            const result = await plan("plan", "--stack", "staging", "--config-file", file, "--json");
            assert.strictEqual(result.code, ExitCode.success, result.stderr);
            const document = JSON.parse(result.stdout);
            const stable = releaseColour === "blue" ? "green" : "blue";
            assert.deepStrictEqual([document.stable, document.candidate], [stable, releaseColour]);
            assert.deepStrictEqual([document.outputs.stable, document.outputs.candidate], [stable, releaseColour]);
            assert.deepStrictEqual(document.warnings, []);
        }
        const unnamed = editedStackFile((d) => (d.config["shiftwise:traffic"] = { blue: 50, green: 50 }));
        const guessed = await plan("plan", "--stack", "staging", "--config-file", unnamed);
        assert.match(guessed.stderr, /the traffic is an even split and shiftwise:releaseColour is not set, so blue is shown as stable/);
    });
});
