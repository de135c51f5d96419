// A guard trip blocks the program: a config that gives a tripped colour traffic never reaches the listener, until reverted or cleared.
import * as assert from "assert";
import type { LedgerTrip } from "../ports/ports";
import { TripBlocked, blockingTrips, checkTrips, revertedTrips, tripProblems } from "../guard/tripGate";
import { ProgramError, evaluateProgram } from "../evaluation/mockRuntime";
import { GREEN_TRIP } from "./fakes/alarmEvents";
import { PROJECT, PROJECT_DIR, stackConfig, withSection } from "./harness";


const GREEN_PROBLEM =
    "shiftwise:traffic.green = 10: the AWS-side guard took green off at 2026-11-27T22:00:30.000Z (shop-production-green-rollback in ALARM: took green off: green had weight 10; blue has 3 healthy targets); " +
    'set shiftwise:traffic.green to 0 (revert the config), or after finding the cause run `shiftwise clear-trip --stack production --reason "..."`';

describe("trip block: the program", function () {
    this.timeout(120_000);
    const evaluateWith = (config: Record<string, string>, trips: readonly LedgerTrip[]) => evaluateProgram({ project: PROJECT, stack: "production", config, programDir: PROJECT_DIR, trips });
    const forwardingListener = (resources: readonly { type: string; name: string; inputs: Record<string, unknown> }[]) => resources.find((resource) => resource.type === "aws:lb/listener:Listener" && resource.name === "shop");

    it("refuses a config that still gives the tripped colour traffic (green 10): the forwarding listener is never registered, the error says why and the two ways out", async () => {
        const error = await evaluateWith(stackConfig("production"), [GREEN_TRIP]).then(
            () => assert.fail("the program accepted a config that gives a tripped colour traffic"),
            (caught: unknown) => caught as ProgramError,
        );
        assert.ok(error instanceof ProgramError, String(error));
        // Pulumi prefixes the path of properties that waited for the weights ("error serializing property ...").
        assert.ok(error.message.endsWith(`shiftwise: a guard trip blocks this config (1 problem):\n  - ${GREEN_PROBLEM}`), error.message);
        assert.strictEqual(forwardingListener(error.resources), undefined);
    });

    it("accepts the reverted config (green 0): the trip is satisfied, the listener forwards 100/0", async () => {
        const reverted = withSection(stackConfig("production"), "traffic", { blue: 100, green: 0 });
        const evaluation = await evaluateWith(reverted, [GREEN_TRIP]);
        const listener = forwardingListener(evaluation.resources)!;
        const groups = (listener.inputs.defaultActions as { forward: { targetGroups: { weight: number }[] } }[])[0].forward.targetGroups.map((group) => group.weight);
        assert.deepStrictEqual(groups, [100, 0]);
    });

    it("accepts green's traffic once the trip is cleared, and ignores trips that never moved traffic (left, not-serving)", async () => {
        const cleared = { ...GREEN_TRIP, cleared: { at: "2026-11-27T23:00:00.000Z", by: "alice@laptop", reason: "bad feature flag turned off" } };
        const left: LedgerTrip = { ...GREEN_TRIP, status: "left", blocking: false };
        const evaluation = await evaluateWith(stackConfig("production"), [cleared, left]);
        assert.ok(forwardingListener(evaluation.resources));
    });
});

describe("trip block: the rule", () => {
    const blue: LedgerTrip = { ...GREEN_TRIP, id: "2026-11-27T21:00:00.000Z#blue", colour: "blue", alarmName: undefined };

    it("blocks exactly the uncleared, blocking trips whose colour the config still gives weight", () => {
        const trips = [GREEN_TRIP, blue, { ...GREEN_TRIP, id: "x", blocking: false }, { ...GREEN_TRIP, id: "y", blocking: undefined }, { ...GREEN_TRIP, id: "z", cleared: { at: "t", by: "b", reason: "r" } }];
        assert.deepStrictEqual(blockingTrips(trips, { blue: 90, green: 10 }), [GREEN_TRIP, blue]);
        assert.deepStrictEqual(blockingTrips(trips, { blue: 100, green: 0 }), [blue]);
        assert.deepStrictEqual(blockingTrips(trips, { blue: 0, green: 100 }), [GREEN_TRIP]);
        assert.deepStrictEqual(revertedTrips(trips, { blue: 100, green: 0 }), [GREEN_TRIP]);
        assert.deepStrictEqual(revertedTrips(trips, { blue: 90, green: 10 }), []);
        assert.deepStrictEqual(revertedTrips(trips, { blue: 0, green: 100 }), [blue]);
    });

    it("names every blocking trip, with the alarm when known", () => {
        assert.deepStrictEqual(tripProblems([GREEN_TRIP, blue], { blue: 90, green: 10 }, "production"), [
            GREEN_PROBLEM,
            "shiftwise:traffic.blue = 90: the AWS-side guard took blue off at 2026-11-27T22:00:30.000Z (its rollback alarm in ALARM: took green off: green had weight 10; blue has 3 healthy targets); " +
                'set shiftwise:traffic.blue to 0 (revert the config), or after finding the cause run `shiftwise clear-trip --stack production --reason "..."`',
        ]);
    });

    it("fails closed: an unreadable ledger refuses the weights; an empty one lets them through", async () => {
        await assert.rejects(checkTrips(async () => Promise.reject(new Error("AccessDeniedException: not authorized to perform dynamodb:Query")), { blue: 100, green: 0 }, "production"), (error: unknown) => {
            assert.ok(error instanceof TripBlocked);
            assert.strictEqual(error.message, "shiftwise: a guard trip blocks this config (1 problem):\n  - the release ledger could not be read to check for guard trips (AccessDeniedException: not authorized to perform dynamodb:Query); the weights are not changed without knowing");
            return true;
        });
        await checkTrips(async () => [], { blue: 90, green: 10 }, "production");
        const problems = tripProblems([GREEN_TRIP, blue], { blue: 90, green: 10 }, "production");
        await assert.rejects(checkTrips(async () => [GREEN_TRIP, blue], { blue: 90, green: 10 }, "production"), {
            name: "TripBlocked",
            message: `shiftwise: a guard trip blocks this config (2 problems):\n  - ${problems[0]}\n  - ${problems[1]}`,
        });
    });
});
