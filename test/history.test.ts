// The release history and the four delivery metrics computed from ledger records.
import * as assert from "assert";
import { deliveryMetrics, formatDuration, historyEntry, leadTimeSeconds, renderHistory, restoreSeconds } from "../rollout/history";
import type { DeploymentRecord } from "../rollout/records";

/** A finished release: started at `start`, 100 % at `start` + 40 min unless it failed at the 25 % step (start + 10 min). */
function release(id: string, start: string, status: DeploymentRecord["status"], extra: Partial<DeploymentRecord> = {}): DeploymentRecord {
    const t = (minutes: number) => new Date(Date.parse(start) + minutes * 60_000).toISOString();
    const failed = status !== "succeeded";
    return {
        schemaVersion: 1,
        id,
        stack: "production",
        status,
        version: id,
        image: `shop:${id}`,
        stable: "blue",
        candidate: "green",
        startedAt: t(0),
        finishedAt: t(failed ? 14 : 45),
        startedBy: { user: "octocat", host: "runner" },
        checkpoint: { config: {}, outputs: {}, versions: { blue: "a", green: "b" }, traffic: { blue: 100, green: 0 } },
        stages: failed ? [] : [{ name: "shift 100%", startedAt: t(39), finishedAt: t(40), outcome: "ok" }],
        steps: failed ? [{ percent: 5, traffic: { blue: 95, green: 5 }, startedAt: t(2) }, { percent: 25, traffic: { blue: 75, green: 25 }, startedAt: t(10) }] : [],
        rollbacks: failed ? [{ reason: "alarm", trigger: "driver", startedAt: t(12), finishedAt: t(14), outcome: status === "rolled-back" ? "succeeded" : "failed", phases: [] }] : [],
        ...extra,
    };
}

describe("delivery metrics", () => {
    const window = { from: new Date("2025-03-01T00:00:00Z"), to: new Date("2025-03-11T00:00:00Z") };
    const records = [
        release("v1", "2025-03-01T10:00:00Z", "succeeded", { commit: { sha: "a", committedAt: "2025-03-01T09:00:00Z" } }),
        release("v2", "2025-03-02T10:00:00Z", "succeeded", { commit: { sha: "b", committedAt: "2025-03-02T07:40:00Z" } }),
        release("v3", "2025-03-03T10:00:00Z", "rolled-back"),
        release("v4", "2025-03-04T10:00:00Z", "succeeded", { commit: { sha: "c", committedAt: "2025-03-04T09:20:00Z" } }),
        release("v5", "2025-03-05T10:00:00Z", "rollback-failed"),
        release("v6", "2025-03-06T10:00:00Z", "in-progress"),
        release("v0", "2025-02-20T10:00:00Z", "rolled-back"),
        release("v9", "2025-03-11T00:00:00Z", "succeeded"),
    ];

    it("counts frequency, median lead time, change failure rate and median time to restore over the window only", () => {
        assert.deepStrictEqual(deliveryMetrics(records, window), {
            from: "2025-03-01T00:00:00.000Z",
            to: "2025-03-11T00:00:00.000Z",
            days: 10,
            releases: 6,
            succeeded: 3,
            failed: 2,
            deploymentsPerDay: 0.3,
            leadTimeSeconds: 100 * 60,
            leadTimeSamples: 3,
            changeFailureRate: 0.4,
            timeToRestoreSeconds: 4 * 60,
            restoreSamples: 1,
        });
    });

    it("leaves metrics without data undefined instead of zero", () => {
        const metrics = deliveryMetrics([release("v6", "2025-03-06T10:00:00Z", "in-progress")], window);
        assert.deepStrictEqual([metrics.leadTimeSeconds, metrics.changeFailureRate, metrics.timeToRestoreSeconds, metrics.deploymentsPerDay], [undefined, undefined, undefined, 0]);
    });

    it("measures lead time to the end of the 100 % step, and restore from the step that caught the failure", () => {
        assert.strictEqual(leadTimeSeconds(release("v1", "2025-03-01T10:00:00Z", "succeeded", { commit: { sha: "a", committedAt: "2025-03-01T09:00:00Z" } })), 100 * 60);
        assert.strictEqual(leadTimeSeconds(release("v1", "2025-03-01T10:00:00Z", "succeeded")), undefined);
        assert.strictEqual(restoreSeconds(release("v3", "2025-03-03T10:00:00Z", "rolled-back")), 4 * 60);
        assert.strictEqual(restoreSeconds(release("v5", "2025-03-05T10:00:00Z", "rollback-failed")), undefined);
    });

    it("lists who, what, when, outcome, duration and what happened, and renders all four metrics", () => {
        const entry = historyEntry(release("v3", "2025-03-03T10:00:00Z", "rolled-back", { ledger: { lease: { owner: "ci", command: "deploy", token: "t" }, events: [], requests: [{ id: "r", kind: "abort", by: "bob", reason: "x", createdAt: "", servedAt: "", outcome: "" }] } }));
        assert.deepStrictEqual([entry.who, entry.version, entry.startedAt, entry.status, entry.durationSeconds, entry.notes], ["octocat", "v3", "2025-03-03T10:00:00.000Z", "rolled-back", 14 * 60, ["abort by bob", "rollback (driver): alarm"]]);
        const text = renderHistory("production", [entry], deliveryMetrics(records, window));
        assert.match(text, /deployment frequency {3}0\.30 per day \(3 succeeded\)/);
        assert.match(text, /lead time for changes {2}1 h 40 min median/);
        assert.match(text, /change failure rate {4}40\.0 % \(2 of 5 finished\)/);
        assert.match(text, /time to restore {8}4 min 0 s median \(1 restore\(s\)\)/);
        assert.deepStrictEqual([formatDuration(59), formatDuration(3 * 86_400 + 4 * 3600), formatDuration(undefined)], ["0 min 59 s", "3 d 4 h", "n/a"]);
    });
});

describe("delivery metrics at their edges", () => {
    const window = { from: new Date("2025-03-01T00:00:00Z"), to: new Date("2025-03-11T00:00:00Z") };

    it("counts a release that started exactly at the window's start, and none in an empty window", () => {
        const atStart = release("v1", "2025-03-01T00:00:00Z", "succeeded");
        assert.strictEqual(deliveryMetrics([atStart], window).releases, 1);
        const empty = deliveryMetrics([atStart], { from: window.from, to: window.from });
        assert.deepStrictEqual([empty.days, empty.releases, empty.deploymentsPerDay], [0, 0, 0]);
    });

    it("takes the mean of the two middle lead times when the count is even", () => {
        const records = [
            release("v1", "2025-03-01T10:00:00Z", "succeeded", { commit: { sha: "a", committedAt: "2025-03-01T09:00:00Z" } }),
            release("v2", "2025-03-02T10:00:00Z", "succeeded", { commit: { sha: "b", committedAt: "2025-03-02T09:30:00Z" } }),
        ];
        // 100 min and 70 min from commit to the end of the 100 % step: the median is 85 min.
        assert.strictEqual(deliveryMetrics(records, window).leadTimeSeconds, 85 * 60);
    });

    it("reaches 100 % only at the end of a passed `shift 100%` stage", () => {
        const commit = { sha: "a", committedAt: "2025-03-01T09:00:00Z" };
        const stage = (name: string, outcome: "ok" | "failed") => ({ name, startedAt: "2025-03-01T10:30:00.000Z", finishedAt: "2025-03-01T10:31:00.000Z", outcome });
        assert.strictEqual(leadTimeSeconds(release("v1", "2025-03-01T10:00:00Z", "succeeded", { commit, stages: [stage("shift 50%", "ok")] })), undefined);
        assert.strictEqual(leadTimeSeconds(release("v1", "2025-03-01T10:00:00Z", "succeeded", { commit, stages: [stage("shift 100%", "failed")] })), undefined);
        assert.strictEqual(leadTimeSeconds(release("v1", "2025-03-01T10:00:00Z", "succeeded", { commit, stages: [stage("shift 50%", "ok"), stage("shift 100%", "ok")] })), 91 * 60);
    });

    it("restores from the last step that started before the rollback (a step starting with it counts), else from the rollback's start", () => {
        const base = release("v3", "2025-03-03T10:00:00Z", "rolled-back");
        const t = (minutes: number) => new Date(Date.parse("2025-03-03T10:00:00Z") + minutes * 60_000).toISOString();
        const step = (percent: number, minute: number) => ({ percent, traffic: { blue: 100 - percent, green: percent }, startedAt: t(minute) });
        // The rollback starts at minute 12 and ends at 14.
        assert.strictEqual(restoreSeconds({ ...base, steps: [step(5, 2), step(25, 12), step(50, 13)] }), 2 * 60);
        assert.strictEqual(restoreSeconds({ ...base, steps: [] }), 2 * 60);
        assert.strictEqual(restoreSeconds({ ...base, steps: [step(5, 2), step(25, 10)] }), 4 * 60);
    });

    it("formats durations at the hour boundary", () => {
        assert.deepStrictEqual([formatDuration(3599), formatDuration(3600), formatDuration(86_399), formatDuration(86_400)], ["59 min 59 s", "1 h 0 min", "23 h 59 min", "1 d 0 h"]);
    });
});

describe("history entries and their text", () => {
    it("note requests, take-overs and rollbacks; a record without ledger notes has only its rollbacks", () => {
        const notes = { lease: { owner: "ci", command: "resume", token: "t" }, events: [{ kind: "take-over", at: "", by: "ci", reason: "expired", previousOwner: "dead-runner", previousCommand: "deploy" }], requests: [] };
        assert.deepStrictEqual(historyEntry(release("v3", "2025-03-03T10:00:00Z", "rolled-back", { ledger: notes })).notes, ["take-over from dead-runner", "rollback (driver): alarm"]);
        assert.deepStrictEqual(historyEntry(release("v3", "2025-03-03T10:00:00Z", "rolled-back")).notes, ["rollback (driver): alarm"]);
        const running = historyEntry(release("v6", "2025-03-06T10:00:00Z", "in-progress", { finishedAt: undefined, hotfix: { reason: "CVE-2025-1", freezeWindow: "release freeze" } }));
        assert.deepStrictEqual([running.durationSeconds, running.finishedAt, running.hotfix], [undefined, undefined, "CVE-2025-1"]);
    });

    it("keeps each release on one row under the head, however long its version or hotfix reason", () => {
        const long = { ...historyEntry(release("v2025.03.03-build.4711", "2025-03-03T10:00:00Z", "succeeded")), hotfix: "CVE-2025-1\nand CVE-2025-2" };
        const short = historyEntry(release("v4", "2025-03-04T10:00:00Z", "succeeded"));
        const rows = renderHistory("production", [long, short], deliveryMetrics([], { from: new Date("2025-03-01T00:00:00Z"), to: new Date("2025-03-08T00:00:00Z") })).split("\n");
        assert.deepStrictEqual(rows.slice(1, 4), [
            "  started                   version                 outcome    duration    by",
            "  2025-03-03T10:00:00.000Z  v2025.03.03-build.4711  succeeded  45 min 0 s  octocat  HOTFIX: CVE-2025-1 and CVE-2025-2",
            "  2025-03-04T10:00:00.000Z  v4                      succeeded  45 min 0 s  octocat",
        ]);
    });

    it("renders every line exactly, n/a where a metric has no data", () => {
        const entry = { ...historyEntry(release("v3", "2025-03-03T10:00:00Z", "rolled-back")), hotfix: "CVE-2025-1" };
        const plain = historyEntry(release("v4", "2025-03-04T10:00:00Z", "succeeded"));
        const metrics = deliveryMetrics([], { from: new Date("2025-03-01T00:00:00Z"), to: new Date("2025-03-08T00:00:00Z") });
        assert.strictEqual(
            renderHistory("production", [entry, plain], metrics),
            [
                "shiftwise history: stack production, 2 release(s)",
                "  started                   version  outcome      duration    by",
                "  2025-03-03T10:00:00.000Z  v3       rolled-back  14 min 0 s  octocat  HOTFIX: CVE-2025-1",
                "      rollback (driver): alarm",
                "  2025-03-04T10:00:00.000Z  v4       succeeded    45 min 0 s  octocat",
                "delivery metrics, 2025-03-01T00:00:00.000Z to 2025-03-08T00:00:00.000Z (7 days):",
                "  deployment frequency   0.00 per day (0 succeeded)",
                "  lead time for changes  n/a median, commit to 100 % (0 release(s) with a commit time)",
                "  change failure rate    n/a (0 of 0 finished)",
                "  time to restore        n/a median (0 restore(s))",
                "",
            ].join("\n"),
        );
    });
});
