// The driver's ledger session in one process: what a record announces when, what it inherits, and how a refusal reads.
import * as assert from "assert";
import { LedgerSession, actorName, heldMessage } from "../rollout/ledgerSession";
import type { DeploymentRecord } from "../rollout/records";
import type { ReleaseEvent } from "../rollout/releaseEvents";
import { recordEvents } from "../rollout/releaseEvents";
import { FakeClock } from "./fakes/fakeClock";
import { MemoryLedger } from "./fakes/memoryLedger";

function record(status: DeploymentRecord["status"], extra: Partial<DeploymentRecord> = {}): DeploymentRecord {
    return {
        schemaVersion: 1, id: "20250304T100000Z-v1.6.0", stack: "production", status, version: "v1.6.0", image: "shop:v1.6.0", stable: "blue", candidate: "green",
        startedAt: "2025-03-04T10:00:00.000Z", startedBy: { user: "octocat", host: "runner" },
        checkpoint: { config: {}, outputs: {}, versions: { blue: "a", green: "b" }, traffic: { blue: 100, green: 0 } },
        stages: [], steps: [], rollbacks: [], ...extra,
    };
}

describe("ledger session", () => {
    it("announces start, pause, resume, rollback and outcome once each, and a later holding keeps the earlier notes", async () => {
        const ledger = new MemoryLedger();
        const clock = new FakeClock();
        const published: ReleaseEvent[] = [];
        const events = { publish: (event: ReleaseEvent) => void published.push(event), flush: async () => undefined };
        const first = await LedgerSession.open({ ledger, command: "deploy", owner: "ci", events }, clock);
        assert.ok("session" in first);
        const running = record("in-progress");
        first.session.mirror(running);
        first.session.mirror(running);
        first.session.notes.requests.push({ id: "r1", kind: "pause", by: "alice", reason: "look", createdAt: "t", servedAt: "t", outcome: "paused at 25%" });
        first.session.mirror({ ...running, status: "paused", pause: { afterPercent: 25, reason: "pause requested by alice: look", at: "t" } });
        await first.session.close();
        assert.deepStrictEqual(published.map((event) => event.kind), ["start", "pause"]);
        assert.strictEqual(ledger.lease, undefined);

        const second = await LedgerSession.open({ ledger, command: "resume", owner: "bob", events }, clock);
        assert.ok("session" in second);
        const stored = (await ledger.records(1))[0].body as unknown as DeploymentRecord;
        second.session.remember(stored);
        const resumed: DeploymentRecord = { ...stored, status: "in-progress", resumes: [{ at: "t", by: { user: "bob", host: "laptop" } }] };
        second.session.mirror(resumed);
        second.session.mirror({ ...resumed, status: "rolled-back", rollbacks: [{ reason: "alarm", trigger: "driver", startedAt: "t", phases: [] }] });
        await second.session.close();
        assert.deepStrictEqual(published.map((event) => event.kind), ["start", "pause", "resume", "rollback", "outcome"]);
        const last = (await ledger.records(1))[0].body as unknown as DeploymentRecord;
        assert.strictEqual(last.ledger?.lease.owner, "bob");
        assert.deepStrictEqual(last.ledger?.requests.map((request) => request.by), ["alice"]);
    });

    it("recordEvents sees nothing new in an unchanged record", () => {
        const paused = record("paused");
        assert.deepStrictEqual(recordEvents(paused, paused), []);
        assert.deepStrictEqual(recordEvents(undefined, record("succeeded")).map((event) => event.kind), ["outcome"]);
    });

    it("names the holder, its command and release, since when, the heartbeat's age and the way out", () => {
        const holder = { owner: "alice@laptop", command: "deploy", recordId: "r-1", startedAt: "2025-03-04T10:00:00.000Z", heartbeatAt: "2025-03-04T10:04:30.000Z", expiresAt: "2025-03-04T10:09:30.000Z", token: "t" };
        assert.strictEqual(
            heldMessage(holder, new Date("2025-03-04T10:05:00Z"), "rollback"),
            "the stack's lease is held by alice@laptop (deploy of r-1) since 2025-03-04T10:00:00.000Z; last heartbeat 30 s ago, expires 2025-03-04T10:09:30.000Z. Wait for it, send a request (`shiftwise abort|pause|promote`), or take it with `shiftwise rollback --force \"<reason>\"`",
        );
        assert.strictEqual(actorName({ user: "octocat", host: "runner", ci: { system: "github-actions", runId: "42", runUrl: "https://github.com/acme/shop/actions/runs/42" } }), "octocat@runner (github-actions run 42) https://github.com/acme/shop/actions/runs/42");
        assert.strictEqual(actorName({ user: "alice", host: "laptop" }), "alice@laptop");
        assert.strictEqual(actorName({ user: "bob", host: "build-7", ci: { system: "jenkins" } }), "bob@build-7 (jenkins)");
    });
});
