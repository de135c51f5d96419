// Tests of the safety config keys: alarms, database, snapshot and backups.
import * as assert from "assert";
import { ConfigError, parseStackConfig, shiftwiseSections } from "../config";
import { evaluateFailure, stackConfig, withSection } from "./harness";

/** The committed staging config as parseStackConfig takes it: section names to values. */
function stagingSections(): Record<string, unknown> {
    return shiftwiseSections(stackConfig("staging"));
}

function problems(overrides: Record<string, unknown>): readonly string[] {
    try {
        parseStackConfig({ ...stagingSections(), ...overrides });
    } catch (error) {
        if (error instanceof ConfigError) return error.problems;
        throw error;
    }
    return [];
}

const ALARM_KEYS =
    "maxErrorRatePercent, maxErrorRateVsBaseline, baselineFloorPercent, maxP99LatencyMs, latencyPercentile, minRequests, maxElb5xxCount, evaluationPeriods, datapointsToAlarm, notify";

const invalid: [string, Record<string, unknown>, string[]][] = [
    ["zero error rate", { alarms: { maxErrorRatePercent: 0 } }, ["shiftwise:alarms.maxErrorRatePercent = 0: must be a number > 0 and <= 100; the 5xx percent that rolls back, e.g. 1"]],
    ["error rate above 100%", { alarms: { maxErrorRatePercent: 150 } }, ["shiftwise:alarms.maxErrorRatePercent = 150: must be a number > 0 and <= 100; the 5xx percent that rolls back, e.g. 1"]],
    [
        "baseline ratio below 1",
        { alarms: { maxErrorRateVsBaseline: 0.5 } },
        ["shiftwise:alarms.maxErrorRateVsBaseline = 0.5: must be a number >= 1; how many times the other colour's error rate is tolerated, e.g. 2"],
    ],
    [
        "baseline floor above 100%",
        { alarms: { baselineFloorPercent: 101 } },
        ["shiftwise:alarms.baselineFloorPercent = 101: must be a number >= 0 and <= 100; the error rate below which the baseline comparison never alarms"],
    ],
    ["negative latency", { alarms: { maxP99LatencyMs: -5 } }, ["shiftwise:alarms.maxP99LatencyMs = -5: must be a number > 0; the latency in ms that rolls back, e.g. 800"]],
    [
        "latency statistic that is not a percentile",
        { alarms: { latencyPercentile: "avg" } },
        ['shiftwise:alarms.latencyPercentile = "avg": must be a percentile statistic such as p99 or p99.9; e.g. p99'],
    ],
    ["no request guard", { alarms: { minRequests: 0 } }, ["shiftwise:alarms.minRequests = 0: must be an integer >= 1; requests per period before error rates count"]],
    [
        "more datapoints than periods",
        { alarms: { evaluationPeriods: 2, datapointsToAlarm: 3 } },
        ["shiftwise:alarms.datapointsToAlarm = 3: must be at most evaluationPeriods (2); lower it or raise evaluationPeriods"],
    ],
    [
        "bad notification endpoints",
        { alarms: { notify: { emails: ["oncall"], httpsEndpoints: ["http://hooks.example.com"] } } },
        [
            'shiftwise:alarms.notify.emails[0] = "oncall": must be an email address; e.g. oncall@example.com',
            'shiftwise:alarms.notify.httpsEndpoints[0] = "http://hooks.example.com": must be an https:// URL; SNS delivers only to HTTPS endpoints here',
        ],
    ],
    [
        "misspelt alarm key",
        { alarms: { maxErrorRate: 1 } },
        [`shiftwise:alarms.maxErrorRate: is not a known key; remove it or fix its spelling (known keys: ${ALARM_KEYS})`],
    ],
    ["another engine", { database: { engine: "mysql" } }, ['shiftwise:database.engine = "mysql": must be "postgres"; it is the only engine supported']],
    [
        "bad instance identifier",
        { database: { existingInstanceId: "Shop_DB" } },
        ['shiftwise:database.existingInstanceId = "Shop_DB": must be an RDS instance identifier; copy it from the RDS console'],
    ],
    [
        "snapshot label with a space",
        { database: { preReleaseSnapshot: "v 1.5" } },
        [`shiftwise:database.preReleaseSnapshot = "v 1.5": must be a release label of up to 41 letters, digits, '.', '+', '_' or '-'; use the version being released, e.g. v1.5.0`],
    ],
    [
        "snapshot colour without a label",
        { database: { snapshotColour: "green" } },
        [
            'shiftwise:database.snapshotColour = "green": names a colour to wait for a snapshot, but preReleaseSnapshot is not set; set preReleaseSnapshot to the release label or remove snapshotColour',
        ],
    ],
    [
        "storage ceiling below the allocation",
        { database: { allocatedStorageGb: 100, maxAllocatedStorageGb: 50 } },
        ["shiftwise:database.maxAllocatedStorageGb = 50: must be at least 10% above allocatedStorageGb (100), as RDS storage autoscaling requires; raise it to 110 or more"],
    ],
    ["backup retention over RDS's limit", { database: { backupRetentionDays: 40 } }, ["shiftwise:database.backupRetentionDays = 40: must be an integer from 1 to 35; RDS keeps automated backups 1 to 35 days"]],
    [
        "backup schedule that is not cron",
        { database: { backupPlan: { schedule: "daily" } } },
        ['shiftwise:database.backupPlan.schedule = "daily": must be cron(minutes hours day-of-month month day-of-week year); e.g. cron(0 3 * * ? *) for 03:00 UTC daily'],
    ],
    [
        "short backups on a protected stack",
        { database: { backupRetentionDays: 3 }, protect: true, blue: { ...(stagingSections().blue as object), desiredCount: 2 }, green: { ...(stagingSections().green as object), desiredCount: 2 } },
        ["shiftwise:database.backupRetentionDays = 3: a protected stack keeps automated backups at least 7 days; raise it to 7 or more"],
    ],
];

describe("config validation: alarms and database", () => {
    for (const [what, overrides, expected] of invalid) {
        it(`rejects ${what} with the exact message`, () => assert.deepStrictEqual(problems(overrides), expected));
    }

    it("reports every alarm and database problem at once", () => {
        assert.deepStrictEqual(problems({ alarms: { maxErrorRatePercent: 0, maxP99LatencyMs: 0 }, database: { engine: "mysql" } }), [
            "shiftwise:alarms.maxErrorRatePercent = 0: must be a number > 0 and <= 100; the 5xx percent that rolls back, e.g. 1",
            "shiftwise:alarms.maxP99LatencyMs = 0: must be a number > 0; the latency in ms that rolls back, e.g. 800",
            'shiftwise:database.engine = "mysql": must be "postgres"; it is the only engine supported',
        ]);
    });

    it("fills the alarm and database defaults", () => {
        const config = parseStackConfig({ ...stagingSections(), alarms: {}, database: {} });
        assert.deepStrictEqual(config.alarms, {
            maxErrorRatePercent: 1,
            maxErrorRateVsBaseline: 2,
            baselineFloorPercent: 0.5,
            maxP99LatencyMs: 800,
            latencyPercentile: "p99",
            minRequests: 50,
            maxElb5xxCount: 10,
            evaluationPeriods: 3,
            datapointsToAlarm: 2,
            notify: { emails: [], httpsEndpoints: [] },
        });
        assert.deepStrictEqual(config.database, {
            engine: "postgres",
            engineVersion: "16",
            instanceClass: "db.t4g.medium",
            allocatedStorageGb: 20,
            maxAllocatedStorageGb: 100,
            port: 5432,
            backupRetentionDays: 7,
            monitoringIntervalSeconds: 60,
            backupPlan: { schedule: "cron(0 3 * * ? *)", retentionDays: 35 },
        });
    });

    it("registers no resource when the database config is invalid", async () => {
        const failure = await evaluateFailure(withSection(stackConfig("staging"), "database", { snapshotColour: "blue" }));
        assert.deepStrictEqual((failure.cause as ConfigError).problems, [
            'shiftwise:database.snapshotColour = "blue": names a colour to wait for a snapshot, but preReleaseSnapshot is not set; set preReleaseSnapshot to the release label or remove snapshotColour',
        ]);
        assert.deepStrictEqual(failure.resources, []);
    });
});
