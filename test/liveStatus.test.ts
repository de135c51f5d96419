// The live status (`shiftwise status --watch`) when the holder's clock and this machine's disagree, and when the lease is past its expiry.
import * as assert from "assert";
import { liveStatus, renderLiveStatus } from "../rollout/liveStatus";
import type { Lease } from "../ports/ports";
import { FakeClock } from "./fakes/fakeClock";
import { MemoryLedger } from "./fakes/memoryLedger";

describe("live status and the lease's clock", () => {
    const lease = (heartbeatAt: string, expiresAt: string): Lease => ({ owner: "ci", command: "deploy", startedAt: "2025-03-04T10:00:00.000Z", heartbeatAt, expiresAt, token: "t" });

    it("shows a heartbeat from a clock ahead of this one as such, not as a negative age", async () => {
        const ledger = new MemoryLedger();
        ledger.lease = lease("2025-03-04T10:01:20.000Z", "2025-03-04T10:06:20.000Z");
        const status = await liveStatus({ ledger, clock: new FakeClock("2025-03-04T10:01:00Z"), stack: "production" });
        assert.strictEqual(status.lease?.heartbeatAgeSeconds, -20);
        assert.match(renderLiveStatus(status), /^ {2}lease: ci \(deploy\) since 2025-03-04T10:00:00.000Z, heartbeat 20 s ahead of this machine's clock \(the clocks disagree\)$/m);
        ledger.lease = lease("2025-03-04T10:00:40.000Z", "2025-03-04T10:05:40.000Z");
        const behind = await liveStatus({ ledger, clock: new FakeClock("2025-03-04T10:01:00Z"), stack: "production" });
        assert.match(renderLiveStatus(behind), /heartbeat 20 s ago$/m);
    });

    it("counts a lease expired, and the release settled, only 30 s past its expiry (clock skew)", async () => {
        const ledger = new MemoryLedger();
        ledger.lease = lease("2025-03-04T10:00:00.000Z", "2025-03-04T10:05:00.000Z");
        const within = await liveStatus({ ledger, clock: new FakeClock("2025-03-04T10:05:29Z"), stack: "production" });
        assert.deepStrictEqual([within.lease?.expired, within.settled], [false, false]);
        assert.doesNotMatch(renderLiveStatus(within), /EXPIRED/);
        const past = await liveStatus({ ledger, clock: new FakeClock("2025-03-04T10:05:30Z"), stack: "production" });
        assert.deepStrictEqual([past.lease?.expired, past.settled], [true, true]);
        assert.match(renderLiveStatus(past), /heartbeat 330 s ago - EXPIRED: its runner is gone/);
    });
});
