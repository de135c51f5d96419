// The release ledger's key design, shared by the table, its adapter and the AWS-side guard; free of Pulumi so the guard's Lambda bundle can import it.
/**
 * The ledger's key design. One partition per stack (`STACK#<stack>`) so that a
 * single strongly consistent Query reads a stack's whole state; the sort key
 * says what an item is. Shared by the table declaration and the adapter
 * (`ports/dynamoLedger.ts`) and the AWS-side guard (`guard/`) so they cannot drift.
 *
 * | item | sort key | written by |
 * | --- | --- | --- |
 * | the lease | `LEASE` | deploy, resume, rollback (conditional writes) |
 * | a deployment record | `RECORD#<startedAt>#<id>` | the lease holder |
 * | a request (abort, pause, promote) | `REQUEST#<createdAt>#<id>` | any actor; served by the lease holder |
 * | a lease event (take-over, force) | `EVENT#<at>#<id>` | the actor that took the lease |
 * | a guard trip | `TRIP#<alarm transition time>#<colour>` | the AWS-side guard (conditional writes); cleared by `shiftwise clear-trip` |
 */
export const LEDGER_KEY = {
    partitionKey: "pk",
    sortKey: "sk",
    /** Items that may expire (served requests, lease events) carry this epoch-seconds attribute; records never do. */
    ttlAttribute: "ttl",
    partition: (stack: string) => `STACK#${stack}`,
    lease: "LEASE",
    recordPrefix: "RECORD#",
    requestPrefix: "REQUEST#",
    eventPrefix: "EVENT#",
    tripPrefix: "TRIP#",
} as const;
