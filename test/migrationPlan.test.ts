// The plan's runbook shows the migration stage, its worst case and the maintenance state.
import * as assert from "assert";
import { parseStackConfig, shiftwiseSections } from "../config";
import * as path from "path";
import { main } from "../cli/main";
import { chartSpec, preTrafficRows, renderChartSvg } from "../plan/chart";
import { migrationWorstCaseMinutes, renderRunbook } from "../plan/runbook";
import { layOutSchedule, renderSchedule, schedulePhases } from "../plan/schedule";
import { deploySchedule } from "../rollout/dryRun";
import { PROJECT_DIR, editedStackFile, stackConfig } from "./harness";

function config(edit: (sections: Record<string, any>) => void) {
    const sections = shiftwiseSections(stackConfig("production")) as Record<string, any>;
    edit(sections);
    return parseStackConfig(sections);
}

describe("plan: the migration stage in the runbook", () => {
    it("shows the migration, the stable soak, the worst case and the down-migration", () => {
        const migrating = config((c) => (c.database.migration = { command: ["npm", "run", "migrate"], downCommand: ["npm", "run", "migrate:down"], timeoutMinutes: 20, stableSoakMinutes: 15 }));
        const lines = renderRunbook({ stack: "production", config: migrating }).split("\n");
        assert.deepStrictEqual(lines.filter((line) => /migration|soak/.test(line)), [
            "  migration, before the candidate starts: pre-release snapshot, then ECS RunTask `npm run migrate` (256 CPU / 512 MiB, the release's image unless --migration-image) in the private subnets, at most 20 min; a failure, a timeout or a task that never starts stops the release before any traffic moves",
            "  stable soak: blue (serving 100%) on the new schema for 15 min: its alarm OK, all its targets healthy, its smoke paths through the test listener; a break stops the release and points to the restore command",
            "  migration worst case before prepare: 55 min (snapshot available within 20 + task timeout 20 + soak 15); down-migration: `shiftwise rollback --stack production --migrate-down` runs `npm run migrate:down`, never by itself",
            '  a migration that cannot be backwards compatible: `shiftwise deploy --stack production --maintenance "<reason>"`: the maintenance page goes up after the snapshot, for at most 35 min (task timeout 20 + prepare 15); no stable soak; the candidate verified through the test listener, then 100% in one step and the page comes down; a failure from the migration on keeps the page up (exit 7)',
        ]);
        assert.strictEqual(migrationWorstCaseMinutes(migrating), 55);
    });

    it("shows nothing of a migration when none is configured, and says when maintenance is on", () => {
        const plain = renderRunbook({ stack: "production", config: config(() => undefined) });
        assert.doesNotMatch(plain, /migration|soak|MAINTENANCE/);
        assert.strictEqual(migrationWorstCaseMinutes(config(() => undefined)), undefined);
        const down = renderRunbook({ stack: "production", config: config((c) => (c.maintenance = { enabled: true, reason: "schema v2" })) });
        assert.match(down, /\n  MAINTENANCE ON \(schema v2\): the service answers 503; deploy refuses until `shiftwise maintenance off --stack production`$/);
    });
});

describe("plan: the migration phases in the schedule, the chart and plan --json", () => {
    const MIGRATING = { command: ["npm", "run", "migrate"], timeoutMinutes: 20, stableSoakMinutes: 15 };

    it("lays out snapshot -> migration -> stable soak at weight 0 before prepare, with the worst case on the longest timeline", () => {
        const migrating = config((c) => {
            c.database.migration = MIGRATING;
            c.rollout = { steps: [10, 100], bakeMinutes: 5, maxBakeMinutes: 30, healthyWaitMinutes: 12 };
        });
        const schedule = layOutSchedule(migrating);
        assert.deepStrictEqual(
            schedule.phases.map((p) => [p.name, p.candidatePercent, p.shortest.start, p.shortest.end, p.longest.start, p.longest.end]),
            [
                ["snapshot", 0, 0, 0, 0, 20],
                ["migration", 0, 0, 0, 20, 40],
                ["stable soak", 0, 0, 15, 40, 55],
                ["prepare", 0, 15, 15, 55, 67],
                ["step 10%", 10, 15, 20, 67, 97],
                ["step 100%", 100, 20, 25, 97, 127],
            ],
        );
        assert.strictEqual(schedule.phases[1].gate, "`npm run migrate` exits 0 within 20 min");
        assert.deepStrictEqual(schedule.totalMinutes, { shortest: 25, longest: 127 });
        assert.match(renderSchedule(schedule), /^ {2}stable soak +0% {2}0m-15m \(longest 40m-55m\) +gate: the stable colour on the new schema: alarm OK, all targets healthy, smoke paths pass$/m);
        assert.deepStrictEqual(schedulePhases(config(() => undefined)).map((p) => p.name).slice(0, 2), ["prepare", "step 5%"], "no migration, no migration phases");
    });

    it("draws the pre-traffic phases as named bands in the SVG chart", async function () {
        this.timeout(30_000);
        const schedule = layOutSchedule(config((c) => (c.database.migration = MIGRATING)));
        assert.deepStrictEqual(preTrafficRows(schedule).map((row) => [row.label, row.start, row.end]), [["snapshot", 0, 20], ["migration", 20, 40], ["stable soak", 40, 55], ["prepare", 55, 70]]);
        const svg = await renderChartSvg(chartSpec(schedule, "release of shop"));
        const texts = [...svg.matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((match) => match[1]);
        for (const label of ["snapshot", "migration", "stable soak", "prepare", "5%", "100%"]) assert.ok(texts.includes(label), `the chart names ${label}: ${texts.join("|")}`);
    });

    it("plan --json and deploy --dry-run's schedule carry the migration phases", async function () {
        this.timeout(60_000);
        const production = path.join(PROJECT_DIR, "Pulumi.production.yaml");
        const file = editedStackFile((document) => (document.config["shiftwise:database"].migration = MIGRATING), production, "Pulumi.production.yaml");
        let stdout = "";
        const code = await main(["node", "shiftwise", "plan", "--stack", "production", "--config-file", file, "--json"], { stdout: (t) => (stdout += t), stderr: () => undefined }, { projectDir: PROJECT_DIR } as never);
        assert.strictEqual(code, 0);
        const phases = JSON.parse(stdout).schedule.phases as { name: string; longest: { end: number } }[];
        assert.deepStrictEqual(phases.slice(0, 4).map((p) => [p.name, p.longest.end]), [["snapshot", 20], ["migration", 40], ["stable soak", 55], ["prepare", 70]]);
        const dry = deploySchedule(config((c) => (c.database.migration = MIGRATING)), "green", "v1.6.0");
        assert.deepStrictEqual(dry.slice(0, 5).map((entry) => [entry.stage, entry.minMinutes, entry.maxMinutes]), [["checkpoint", 0, 0], ["snapshot", 0, 20], ["migration", 0, 20], ["stable soak", 15, 15], ["prepare", 0, 15]]);
    });
});
