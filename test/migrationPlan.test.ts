// The plan's runbook shows the migration stage, its worst case and the maintenance state.
import * as assert from "assert";
import { parseStackConfig, shiftwiseSections } from "../config";
import { migrationWorstCaseMinutes, renderRunbook } from "../plan/runbook";
import { stackConfig } from "./harness";

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
            "  migration worst case before prepare: 35 min (timeout 20 + soak 15); down-migration: `shiftwise rollback --stack production --migrate-down` runs `npm run migrate:down`, never by itself",
        ]);
        assert.strictEqual(migrationWorstCaseMinutes(migrating), 35);
    });

    it("shows nothing of a migration when none is configured, and says when maintenance is on", () => {
        const plain = renderRunbook({ stack: "production", config: config(() => undefined) });
        assert.doesNotMatch(plain, /migration|soak|MAINTENANCE/);
        assert.strictEqual(migrationWorstCaseMinutes(config(() => undefined)), undefined);
        const down = renderRunbook({ stack: "production", config: config((c) => (c.maintenance = { enabled: true, reason: "schema v2" })) });
        assert.match(down, /\n  MAINTENANCE ON \(schema v2\): the service answers 503; deploy refuses until `shiftwise maintenance off --stack production`$/);
    });
});
