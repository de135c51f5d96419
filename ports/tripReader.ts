// How the program reads the release ledger's active guard trips at `pulumi preview`/`up` time (AWS SDK v3), and the seam the mock runtime replaces.
import type { LedgerTrip } from "./ports";

/** Where the stack's ledger is; `profile` is `aws:profile` when the stack sets one, as the AWS provider uses it. */
export interface TripLedgerLocation {
    readonly region: string;
    readonly profile?: string;
    readonly tableName: string;
    readonly stack: string;
}

export type ProgramTripReader = (location: TripLedgerLocation) => Promise<readonly LedgerTrip[]>;

/**
 * The real reader: one strongly consistent Query of the stack's partition with
 * the default credential chain (the identity that runs `pulumi up`). Before the
 * first `up` the table does not exist: no table, no trips. Any other error is
 * thrown, and the program refuses to change weights (guard/tripGate.ts).
 *
 * IAM: dynamodb:Query on the ledger table and kms:Decrypt on its key.
 */
export const dynamoTripReader: ProgramTripReader = async (location) => {
    // Required here, not at the top: the SDK client is a large load that `shiftwise plan` and the tests
    // (whose mock runtime replaces this reader) never use.
    /* eslint-disable @typescript-eslint/no-require-imports */
    const { DynamoDBClient } = require("@aws-sdk/client-dynamodb") as typeof import("@aws-sdk/client-dynamodb");
    const { DynamoLedger } = require("./dynamoLedger") as typeof import("./dynamoLedger");
    /* eslint-enable @typescript-eslint/no-require-imports */
    const client = new DynamoDBClient({ region: location.region, maxAttempts: 5, ...(location.profile ? { profile: location.profile } : {}) });
    try {
        return await new DynamoLedger(client, location.tableName, location.stack).activeTrips();
    } catch (error) {
        if ((error as { name?: string }).name === "ResourceNotFoundException") return [];
        throw error;
    } finally {
        client.destroy();
    }
};

let reader: ProgramTripReader = dynamoTripReader;

/** The reader the program uses now. */
export function programTripReader(): ProgramTripReader {
    return reader;
}

/**
 * Replaces the reader: the mock runtime (evaluation/mockRuntime.ts) answers
 * from its request, so `shiftwise plan` and the tests never reach AWS.
 */
export function useProgramTripReader(replacement: ProgramTripReader): void {
    reader = replacement;
}
