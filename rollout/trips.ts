// The AWS-side guard's trips as the driver and the CLI see them: the driver's trip check, clear-trip, and how a trip is shown.
import type { Clock, LedgerPort, LedgerTrip } from "../ports/ports";
import { revertedTrips, tripProblems } from "../guard/tripGate";
import { ExitCode, ExitCodeValue } from "./exitCodes";

type Traffic = { readonly blue: number; readonly green: number };

/** What `shiftwise clear-trip` ended with. */
export interface ClearTripOutcome {
    readonly exitCode: ExitCodeValue;
    readonly message: string;
    readonly cleared: LedgerTrip[];
}

/**
 * Clears the stack's active trips (only `colour`'s when given) on purpose,
 * recording who, when and why on each. A trip another actor cleared a moment
 * earlier is reported, not cleared twice.
 */
export async function clearTrips(ledger: LedgerPort, clock: Clock, request: { readonly reason: string; readonly by: string; readonly colour?: "blue" | "green"; readonly stack: string }): Promise<ClearTripOutcome> {
    if (request.reason.trim() === "") return { exitCode: ExitCode.invalid, message: "shiftwise clear-trip needs a reason: what was found and fixed", cleared: [] };
    const active = (await ledger.activeTrips()).filter((trip) => request.colour === undefined || trip.colour === request.colour);
    if (active.length === 0) return { exitCode: ExitCode.success, message: `no active guard trip on ${request.stack}${request.colour ? ` for ${request.colour}` : ""}; nothing to clear`, cleared: [] };
    const clearing = { at: clock.now().toISOString(), by: request.by, reason: request.reason };
    const cleared: LedgerTrip[] = [];
    const lost: LedgerTrip[] = [];
    for (const trip of active) {
        if (await ledger.clearTrip(trip, clearing)) cleared.push({ ...trip, cleared: clearing });
        else lost.push(trip);
    }
    const lines = cleared.map((trip) => `cleared the ${trip.colour} trip of ${trip.at} (${trip.reason}); ${trip.colour} may take traffic again`);
    lines.push(...lost.map((trip) => `the ${trip.colour} trip of ${trip.at} was cleared by someone else meanwhile`));
    return { exitCode: ExitCode.success, message: lines.join("\n"), cleared };
}

/** The driver's check before deploy or resume takes the lease: refused while a trip blocks the config's traffic. */
export interface TripCheck {
    /** Set when a trip blocks: every blocking trip, one line each. */
    readonly problems: string[];
    /** Trips the config had already reverted, now cleared on record by this command. */
    readonly clearedAsReverted: LedgerTrip[];
}

/**
 * Reads the active trips now. A trip whose colour the config still gives
 * traffic refuses the command (the program would refuse its `up` anyway);
 * a trip whose colour the config has taken to 0 was answered by reverting the
 * config, and is cleared on record by the command's actor so the release can
 * give that colour traffic again.
 */
export async function checkDriverTrips(ledger: LedgerPort, clock: Clock, request: { readonly traffic: Traffic; readonly stack: string; readonly by: string; readonly command: string }): Promise<TripCheck> {
    const active = await ledger.activeTrips();
    const problems = tripProblems(active, request.traffic, request.stack);
    if (problems.length > 0) return { problems, clearedAsReverted: [] };
    const clearedAsReverted: LedgerTrip[] = [];
    for (const trip of revertedTrips(active, request.traffic)) {
        const clearing = { at: clock.now().toISOString(), by: request.by, reason: `config reverted: shiftwise:traffic.${trip.colour} is 0 when ${request.command} started` };
        if (await ledger.clearTrip(trip, clearing)) clearedAsReverted.push({ ...trip, cleared: clearing });
    }
    return { problems: [], clearedAsReverted };
}

/** One line per active trip, for `status`. */
export function renderTrips(trips: readonly LedgerTrip[]): string[] {
    return trips.map(
        (trip) => `guard trip: ${trip.colour} taken off at ${trip.at} (${trip.alarmName ?? "rollback alarm"} in ALARM): ${trip.reason}; blocks traffic to ${trip.colour} until the config is reverted or \`shiftwise clear-trip\` is run`,
    );
}
