// The ledger port on DynamoDB (AWS SDK v3): the lease by conditional writes, requests, records and trips.
import { randomUUID } from "crypto";
import { ConditionalCheckFailedException, DynamoDBClient, TransactionCanceledException } from "@aws-sdk/client-dynamodb";
import { DeleteCommand, DynamoDBDocumentClient, GetCommand, PutCommand, QueryCommand, TransactWriteCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { LEDGER_KEY } from "./ledgerKey";
import { Lease, LeaseAttempt, LeaseEvent, LeaseLost, LedgerPort, LedgerRecordItem, LedgerRequest, LedgerTrip, TripClearing, leaseExpired } from "./ports";

/**
 * The release ledger on DynamoDB. Every decision about the lease is one
 * conditional write on the lease item, so two actors can never both believe
 * they hold it: the loser's condition fails and it re-reads who won. Reads are
 * strongly consistent. Served requests and lease events expire after
 * `HISTORY_DAYS` (the table's TTL); records never expire.
 *
 * IAM actions it needs on the table: dynamodb:GetItem, PutItem, UpdateItem,
 * DeleteItem, Query, and kms:Decrypt / kms:GenerateDataKey on its key.
 */
export class DynamoLedger implements LedgerPort {
    private readonly client: DynamoDBDocumentClient;
    private readonly pk: string;

    constructor(
        client: DynamoDBClient,
        readonly tableName: string,
        readonly stack: string,
    ) {
        this.client = DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
        this.pk = LEDGER_KEY.partition(stack);
    }

    /** A client for `region` with the default credential chain. */
    static forRegion(region: string, tableName: string, stack: string): DynamoLedger {
        return new DynamoLedger(new DynamoDBClient({ region, maxAttempts: 5 }), tableName, stack);
    }

    async readLease(): Promise<Lease | undefined> {
        const response = await this.client.send(new GetCommand({ TableName: this.tableName, Key: this.key(LEDGER_KEY.lease), ConsistentRead: true }));
        return response.Item ? leaseOf(response.Item) : undefined;
    }

    async acquireLease(request: { owner: string; command: string; now: Date; ttlSeconds: number; force?: string }): Promise<LeaseAttempt> {
        const current = await this.readLease();
        // Expiry allows for clock skew (LEASE_CLOCK_TOLERANCE_SECONDS): the holder wrote expiresAt by its clock.
        const expired = current !== undefined && leaseExpired(current, request.now);
        if (current && !expired && request.force === undefined) return { acquired: false, holder: current };
        const lease: Lease = {
            owner: request.owner,
            command: request.command,
            startedAt: request.now.toISOString(),
            heartbeatAt: request.now.toISOString(),
            expiresAt: new Date(request.now.getTime() + request.ttlSeconds * 1000).toISOString(),
            token: randomUUID(),
        };
        try {
            // Replace exactly the lease that was read (or none): a concurrent winner changes the token and fails this condition.
            await this.client.send(
                new PutCommand({
                    TableName: this.tableName,
                    Item: { ...this.key(LEDGER_KEY.lease), ...lease },
                    ConditionExpression: current ? "#token = :seen" : "attribute_not_exists(#pk)",
                    ExpressionAttributeNames: current ? { "#token": "token" } : { "#pk": LEDGER_KEY.partitionKey },
                    ExpressionAttributeValues: current ? { ":seen": current.token } : undefined,
                }),
            );
        } catch (error) {
            if (!(error instanceof ConditionalCheckFailedException)) throw error;
            const winner = await this.readLease();
            if (!winner) return this.acquireLease(request);
            return { acquired: false, holder: winner };
        }
        if (!current) return { acquired: true, lease };
        const event: LeaseEvent = {
            kind: expired ? "take-over" : "force",
            at: request.now.toISOString(),
            by: request.owner,
            command: request.command,
            previous: current,
            reason: expired ? `the lease expired at ${current.expiresAt} (last heartbeat ${current.heartbeatAt})${request.force ? `; --force: ${request.force}` : ""}` : (request.force as string),
        };
        await this.client.send(
            new PutCommand({
                TableName: this.tableName,
                Item: { ...this.key(`${LEDGER_KEY.eventPrefix}${event.at}#${randomUUID()}`), ...event, ttl: expiry(request.now) },
            }),
        );
        return { acquired: true, lease, event };
    }

    async renewLease(lease: Lease, update: { now: Date; ttlSeconds: number; recordId?: string }): Promise<Lease> {
        const renewed: Lease = {
            ...lease,
            heartbeatAt: update.now.toISOString(),
            expiresAt: new Date(update.now.getTime() + update.ttlSeconds * 1000).toISOString(),
            ...(update.recordId ? { recordId: update.recordId } : {}),
        };
        try {
            await this.client.send(
                new UpdateCommand({
                    TableName: this.tableName,
                    Key: this.key(LEDGER_KEY.lease),
                    UpdateExpression: renewed.recordId ? "SET heartbeatAt = :beat, expiresAt = :expires, recordId = :record" : "SET heartbeatAt = :beat, expiresAt = :expires",
                    ConditionExpression: "#token = :token",
                    ExpressionAttributeNames: { "#token": "token" },
                    ExpressionAttributeValues: { ":beat": renewed.heartbeatAt, ":expires": renewed.expiresAt, ":token": lease.token, ...(renewed.recordId ? { ":record": renewed.recordId } : {}) },
                }),
            );
        } catch (error) {
            if (error instanceof ConditionalCheckFailedException) throw new LeaseLost(await this.readLease());
            throw error;
        }
        return renewed;
    }

    async releaseLease(lease: Lease): Promise<void> {
        try {
            await this.client.send(
                new DeleteCommand({
                    TableName: this.tableName,
                    Key: this.key(LEDGER_KEY.lease),
                    ConditionExpression: "#token = :token",
                    ExpressionAttributeNames: { "#token": "token" },
                    ExpressionAttributeValues: { ":token": lease.token },
                }),
            );
        } catch (error) {
            // Another actor took the lease over: it is theirs now, and not ours to delete.
            if (!(error instanceof ConditionalCheckFailedException)) throw error;
        }
    }

    async leaseEvents(limit: number): Promise<LeaseEvent[]> {
        return (await this.query(LEDGER_KEY.eventPrefix, limit)).map((item) => strip(item) as unknown as LeaseEvent);
    }

    async putRequest(request: Omit<LedgerRequest, "id" | "status">): Promise<LedgerRequest> {
        const stored: LedgerRequest = { ...request, id: `${request.createdAt}#${randomUUID()}`, status: "pending" };
        await this.client.send(
            new PutCommand({
                TableName: this.tableName,
                Item: { ...this.key(`${LEDGER_KEY.requestPrefix}${stored.id}`), ...stored },
                ConditionExpression: "attribute_not_exists(#pk)",
                ExpressionAttributeNames: { "#pk": LEDGER_KEY.partitionKey },
            }),
        );
        return stored;
    }

    async requests(filter: { pendingFor?: string; limit?: number }): Promise<LedgerRequest[]> {
        const items = (await this.query(LEDGER_KEY.requestPrefix, filter.limit)).map((item) => strip(item) as unknown as LedgerRequest);
        const pending = filter.pendingFor;
        // Oldest first for the holder, so requests are obeyed in the order they were made.
        return pending === undefined ? items : items.filter((item) => item.status === "pending" && item.leaseToken === pending).reverse();
    }

    async serveRequest(request: LedgerRequest, served: { at: string; outcome: string }): Promise<boolean> {
        try {
            await this.client.send(
                new UpdateCommand({
                    TableName: this.tableName,
                    Key: this.key(`${LEDGER_KEY.requestPrefix}${request.id}`),
                    UpdateExpression: "SET #status = :served, servedAt = :at, outcome = :outcome, #ttl = :ttl",
                    ConditionExpression: "#status = :pending",
                    ExpressionAttributeNames: { "#status": "status", "#ttl": LEDGER_KEY.ttlAttribute },
                    ExpressionAttributeValues: { ":served": "served", ":pending": "pending", ":at": served.at, ":outcome": served.outcome, ":ttl": expiry(new Date(served.at)) },
                }),
            );
            return true;
        } catch (error) {
            if (error instanceof ConditionalCheckFailedException) return false;
            throw error;
        }
    }

    async putRecord(record: LedgerRecordItem, lease?: Lease): Promise<void> {
        const item = this.recordItem(record, lease);
        if (!lease) {
            await this.client.send(new PutCommand({ TableName: this.tableName, Item: item }));
            return;
        }
        try {
            await this.client.send(
                new TransactWriteCommand({
                    TransactItems: [
                        {
                            ConditionCheck: {
                                TableName: this.tableName,
                                Key: this.key(LEDGER_KEY.lease),
                                ConditionExpression: "#token = :token",
                                ExpressionAttributeNames: { "#token": "token" },
                                ExpressionAttributeValues: { ":token": lease.token },
                            },
                        },
                        { Put: { TableName: this.tableName, Item: item } },
                    ],
                }),
            );
        } catch (error) {
            if (error instanceof TransactionCanceledException && error.CancellationReasons?.[0]?.Code === "ConditionalCheckFailed") throw new LeaseLost(await this.readLease());
            throw error;
        }
    }

    async putRecordAsLastWriter(record: LedgerRecordItem, lease: Lease): Promise<boolean> {
        try {
            await this.client.send(
                new PutCommand({
                    TableName: this.tableName,
                    Item: this.recordItem(record, lease),
                    ConditionExpression: "attribute_not_exists(#pk) OR #writer = :token",
                    ExpressionAttributeNames: { "#pk": LEDGER_KEY.partitionKey, "#writer": "writer" },
                    ExpressionAttributeValues: { ":token": lease.token },
                }),
            );
            return true;
        } catch (error) {
            if (error instanceof ConditionalCheckFailedException) return false;
            throw error;
        }
    }

    /** A record's item: its JSON body, and the lease holding that wrote it last (`writer`). */
    private recordItem(record: LedgerRecordItem, lease: Lease | undefined): Record<string, unknown> {
        return { ...this.key(`${LEDGER_KEY.recordPrefix}${record.startedAt}#${record.id}`), id: record.id, startedAt: record.startedAt, status: record.status, body: JSON.stringify(record.body), writer: lease?.token };
    }

    async records(limit: number): Promise<LedgerRecordItem[]> {
        return (await this.query(LEDGER_KEY.recordPrefix, limit)).map((item) => ({
            id: String(item.id),
            startedAt: String(item.startedAt),
            status: String(item.status),
            body: this.recordBody(item),
        }));
    }

    async trips(limit: number): Promise<LedgerTrip[]> {
        return (await this.query(LEDGER_KEY.tripPrefix, limit)).map(tripOf);
    }

    async activeTrips(): Promise<LedgerTrip[]> {
        // The filter runs after the key condition, so every page is read; a stack has a handful of trips.
        return (await this.query(LEDGER_KEY.tripPrefix, undefined, { expression: "#blocking = :true AND attribute_not_exists(#cleared)", names: { "#blocking": "blocking", "#cleared": "cleared" }, values: { ":true": true } })).map(tripOf);
    }

    async clearTrip(trip: LedgerTrip, clearing: TripClearing): Promise<boolean> {
        if (!trip.id) throw new Error(`the ${trip.colour} trip at ${trip.at} has no id; read it from the ledger first`);
        try {
            await this.client.send(
                new UpdateCommand({
                    TableName: this.tableName,
                    Key: this.key(`${LEDGER_KEY.tripPrefix}${trip.id}`),
                    UpdateExpression: "SET #cleared = :clearing",
                    ConditionExpression: "attribute_exists(#pk) AND attribute_not_exists(#cleared)",
                    ExpressionAttributeNames: { "#pk": LEDGER_KEY.partitionKey, "#cleared": "cleared" },
                    ExpressionAttributeValues: { ":clearing": { at: clearing.at, by: clearing.by, reason: clearing.reason } },
                }),
            );
            return true;
        } catch (error) {
            if (error instanceof ConditionalCheckFailedException) return false;
            throw error;
        }
    }

    /** A record's body; an item edited by hand into something that is not JSON is named with the way out. */
    private recordBody(item: Record<string, unknown>): Record<string, unknown> {
        try {
            const body: unknown = JSON.parse(String(item.body));
            if (body !== null && typeof body === "object" && !Array.isArray(body)) return body as Record<string, unknown>;
        } catch {
            // reported below
        }
        throw new Error(
            `the ledger item ${String(item[LEDGER_KEY.sortKey])} in ${this.tableName} has no deployment record in its body attribute (edited by hand?); ` +
                `restore it from the local copy in .shiftwise/records or from the table's point-in-time recovery, or delete the item`,
        );
    }

    private key(sortKey: string): Record<string, string> {
        return { [LEDGER_KEY.partitionKey]: this.pk, [LEDGER_KEY.sortKey]: sortKey };
    }

    /** Items whose sort key starts with `prefix` (and pass `filter`), newest first, following pages up to `limit`. */
    private async query(prefix: string, limit = Number.MAX_SAFE_INTEGER, filter?: { expression: string; names: Record<string, string>; values: Record<string, unknown> }): Promise<Record<string, unknown>[]> {
        const items: Record<string, unknown>[] = [];
        let start: Record<string, unknown> | undefined;
        do {
            const response = await this.client.send(
                new QueryCommand({
                    TableName: this.tableName,
                    KeyConditionExpression: "#pk = :pk AND begins_with(#sk, :prefix)",
                    ExpressionAttributeNames: { "#pk": LEDGER_KEY.partitionKey, "#sk": LEDGER_KEY.sortKey, ...filter?.names },
                    ExpressionAttributeValues: { ":pk": this.pk, ":prefix": prefix, ...filter?.values },
                    FilterExpression: filter?.expression,
                    ScanIndexForward: false,
                    ConsistentRead: true,
                    Limit: Math.min(limit - items.length, 100),
                    ExclusiveStartKey: start,
                }),
            );
            items.push(...(response.Items ?? []));
            start = response.LastEvaluatedKey;
        } while (start && items.length < limit);
        return items;
    }
}

/** Days a served request or a lease event stays in the table. */
export const HISTORY_DAYS = 400;

function expiry(from: Date): number {
    return Math.floor(from.getTime() / 1000) + HISTORY_DAYS * 86_400;
}

function strip(item: Record<string, unknown>): Record<string, unknown> {
    const { [LEDGER_KEY.partitionKey]: _pk, [LEDGER_KEY.sortKey]: _sk, [LEDGER_KEY.ttlAttribute]: _ttl, ...rest } = item;
    return rest;
}

function tripOf(item: Record<string, unknown>): LedgerTrip {
    return { ...(strip(item) as unknown as LedgerTrip), id: String(item[LEDGER_KEY.sortKey]).slice(LEDGER_KEY.tripPrefix.length) };
}

function leaseOf(item: Record<string, unknown>): Lease {
    return strip(item) as unknown as Lease;
}
