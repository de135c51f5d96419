// An in-memory ledger port for CLI tests whose subject is not the ledger (the ledger itself is tested against moto_server).
import { randomUUID } from "crypto";
import type { Lease, LeaseAttempt, LeaseEvent, LedgerPort, LedgerRecordItem, LedgerRequest, LedgerTrip, TripClearing } from "../../ports/ports";
import { LeaseLost, leaseExpired } from "../../ports/ports";
import type { LedgerContext } from "../../cli/ledgerCommands";
import type { ReleaseEvent } from "../../rollout/releaseEvents";
import type { RecoveryPoint } from "../../ports/recoveryPoints";

/** The same contract as `DynamoLedger`, in one process: tokens, expiry and force as the adapter decides them. */
export class MemoryLedger implements LedgerPort {
    readonly tableName = "memory";
    lease?: Lease;
    readonly events: LeaseEvent[] = [];
    readonly requestItems: LedgerRequest[] = [];
    readonly recordItems = new Map<string, LedgerRecordItem>();
    /** The lease token that last wrote each record, as `writer` on the DynamoDB item. */
    readonly writers = new Map<string, string | undefined>();

    async readLease() {
        return this.lease;
    }
    async acquireLease(request: { owner: string; command: string; now: Date; ttlSeconds: number; force?: string }): Promise<LeaseAttempt> {
        const current = this.lease;
        const expired = current !== undefined && leaseExpired(current, request.now);
        if (current && !expired && request.force === undefined) return { acquired: false, holder: current };
        const at = request.now.toISOString();
        this.lease = { owner: request.owner, command: request.command, startedAt: at, heartbeatAt: at, expiresAt: new Date(request.now.getTime() + request.ttlSeconds * 1000).toISOString(), token: randomUUID() };
        if (!current) return { acquired: true, lease: this.lease };
        const event: LeaseEvent = { kind: expired ? "take-over" : "force", at, by: request.owner, command: request.command, previous: current, reason: expired ? "expired" : (request.force as string) };
        this.events.unshift(event);
        return { acquired: true, lease: this.lease, event };
    }
    async renewLease(lease: Lease, update: { now: Date; ttlSeconds: number; recordId?: string }) {
        if (this.lease?.token !== lease.token) throw new LeaseLost(this.lease);
        this.lease = { ...lease, heartbeatAt: update.now.toISOString(), expiresAt: new Date(update.now.getTime() + update.ttlSeconds * 1000).toISOString(), ...(update.recordId ? { recordId: update.recordId } : {}) };
        return this.lease;
    }
    async releaseLease(lease: Lease) {
        if (this.lease?.token === lease.token) this.lease = undefined;
    }
    async leaseEvents(limit: number) {
        return this.events.slice(0, limit);
    }
    async putRequest(request: Omit<LedgerRequest, "id" | "status">) {
        const stored: LedgerRequest = { ...request, id: `${request.createdAt}#${randomUUID()}`, status: "pending" };
        this.requestItems.unshift(stored);
        return stored;
    }
    async requests(filter: { pendingFor?: string; limit?: number }) {
        const items = this.requestItems.slice(0, filter.limit);
        return filter.pendingFor === undefined ? items : items.filter((r) => r.status === "pending" && r.leaseToken === filter.pendingFor).reverse();
    }
    async serveRequest(request: LedgerRequest, served: { at: string; outcome: string }) {
        const index = this.requestItems.findIndex((item) => item.id === request.id && item.status === "pending");
        if (index < 0) return false;
        this.requestItems[index] = { ...this.requestItems[index], status: "served", servedAt: served.at, outcome: served.outcome };
        return true;
    }
    async putRecord(record: LedgerRecordItem, lease?: Lease) {
        if (lease && this.lease?.token !== lease.token) throw new LeaseLost(this.lease);
        this.store(record, lease);
    }
    async putRecordAsLastWriter(record: LedgerRecordItem, lease: Lease) {
        const key = `${record.startedAt}#${record.id}`;
        if (this.recordItems.has(key) && this.writers.get(key) !== lease.token) return false;
        this.store(record, lease);
        return true;
    }
    private store(record: LedgerRecordItem, lease: Lease | undefined) {
        const key = `${record.startedAt}#${record.id}`;
        this.recordItems.set(key, JSON.parse(JSON.stringify(record)) as LedgerRecordItem);
        this.writers.set(key, lease?.token);
    }
    async records(limit: number) {
        return [...this.recordItems.entries()].sort(([a], [b]) => b.localeCompare(a)).slice(0, limit).map(([, item]) => item);
    }
    /** Guard trips, newest first, as the guard writes them (`id` = `<alarm transition time>#<colour>`). */
    readonly tripItems: LedgerTrip[] = [];
    async trips(limit: number): Promise<LedgerTrip[]> {
        return this.tripItems.slice(0, limit);
    }
    async activeTrips(): Promise<LedgerTrip[]> {
        return this.tripItems.filter((trip) => trip.blocking === true && !trip.cleared);
    }
    async clearTrip(trip: LedgerTrip, clearing: TripClearing): Promise<boolean> {
        const index = this.tripItems.findIndex((item) => item.id === trip.id && !item.cleared);
        if (index < 0) return false;
        this.tripItems[index] = { ...this.tripItems[index], cleared: clearing };
        return true;
    }
}

/** A ledger context over one `MemoryLedger`, collecting published events. */
export function memoryLedgerContext(
    base: Omit<LedgerContext, "openLedger" | "openEvents" | "openRecoveryPoints">,
    ledger = new MemoryLedger(),
    published: ReleaseEvent[] = [],
    more: { readonly ledgers?: Record<string, MemoryLedger>; readonly recoveryPoint?: RecoveryPoint } = {},
): LedgerContext {
    return {
        ...base,
        openLedger: (_region, _table, stack) => more.ledgers?.[stack] ?? ledger,
        openEvents: () => ({ publish: (event) => void published.push(event), flush: async () => undefined }),
        openRecoveryPoints: () => ({ newestRecoveryPoint: async () => more.recoveryPoint }),
    };
}
