// The trip block: a config may not give traffic to a colour the AWS-side guard took it off, until the trip is cleared or the config reverted.
import type { LedgerTrip } from "../ports/ports";

type Traffic = { readonly blue: number; readonly green: number };

/**
 * The trips that forbid `traffic`: blocking (the guard took the colour's
 * traffic off), not cleared, and the config still gives that colour weight.
 * A trip whose colour has weight 0 in the config is satisfied: the config was
 * reverted, and the program lets it through.
 */
export function blockingTrips(trips: readonly LedgerTrip[], traffic: Traffic): LedgerTrip[] {
    return trips.filter((trip) => trip.blocking === true && trip.cleared === undefined && traffic[trip.colour] > 0);
}

/** Active trips the config has already reverted (their colour has weight 0): a deploy may clear them on record. */
export function revertedTrips(trips: readonly LedgerTrip[], traffic: Traffic): LedgerTrip[] {
    return trips.filter((trip) => trip.blocking === true && trip.cleared === undefined && traffic[trip.colour] === 0);
}

/** One line per blocking trip: what the guard did, what the config wants, and the two ways out. */
export function tripProblems(trips: readonly LedgerTrip[], traffic: Traffic, stack: string): string[] {
    return blockingTrips(trips, traffic).map(
        (trip) =>
            `shiftwise:traffic.${trip.colour} = ${traffic[trip.colour]}: the AWS-side guard took ${trip.colour} off at ${trip.at} (${trip.alarmName ?? "its rollback alarm"} in ALARM: ${trip.reason}); ` +
            `set shiftwise:traffic.${trip.colour} to 0 (revert the config), or after finding the cause run \`shiftwise clear-trip --stack ${stack} --reason "..."\``,
    );
}

/** The program refuses a config that gives traffic to a tripped colour; the message lists every blocking trip. */
export class TripBlocked extends Error {
    constructor(readonly problems: readonly string[]) {
        super(`shiftwise: a guard trip blocks this config (${problems.length} ${problems.length === 1 ? "problem" : "problems"}):\n  - ${problems.join("\n  - ")}`);
        this.name = "TripBlocked";
    }
}

/** Resolves when no trip blocks `traffic`; rejects with `TripBlocked` otherwise, and when the trips cannot be read. */
export async function checkTrips(read: () => Promise<readonly LedgerTrip[]>, traffic: Traffic, stack: string): Promise<void> {
    let trips: readonly LedgerTrip[];
    try {
        trips = await read();
    } catch (error) {
        // Fail closed: a program that cannot see the ledger cannot know the guard did not trip.
        throw new TripBlocked([`the release ledger could not be read to check for guard trips (${(error as Error).message}); the weights are not changed without knowing`]);
    }
    const problems = tripProblems(trips, traffic, stack);
    if (problems.length > 0) throw new TripBlocked(problems);
}
