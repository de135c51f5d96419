// The AWS-side guard's decision and its listener arithmetic: exact outcomes for each reading, and properties over all weights.
import * as assert from "assert";
import fc from "fast-check";
import type { Action } from "@aws-sdk/client-elastic-load-balancing-v2";
import { GuardReading, decide, forwardWeights, otherGuardColour, withWeights } from "../guard/decision";

const ARNS = { blue: "arn:tg/blue", green: "arn:tg/green" };

describe("guard decision", () => {
    const table: [string, GuardReading, ReturnType<typeof decide>][] = [
        ["green serving, blue healthy: move", { tripped: "green", weights: { blue: 75, green: 25 }, healthyTargets: { blue: 2 } }, { kind: "move", weights: { blue: 100, green: 0 }, reason: "green had weight 25; blue has 2 healthy targets" }],
        ["blue serving alone, one healthy green target: move", { tripped: "blue", weights: { blue: 100, green: 0 }, healthyTargets: { green: 1 } }, { kind: "move", weights: { blue: 0, green: 100 }, reason: "blue had weight 100; green has 1 healthy target" }],
        ["weights that do not sum to 100 keep their total", { tripped: "green", weights: { blue: 3, green: 1 }, healthyTargets: { blue: 1, green: 5 } }, { kind: "move", weights: { blue: 4, green: 0 }, reason: "green had weight 1; blue has 1 healthy target" }],
        ["green at 0 already: not serving", { tripped: "green", weights: { blue: 100, green: 0 }, healthyTargets: { blue: 0 } }, { kind: "not-serving", reason: "green has weight 0 in the listener already" }],
        ["green not in the forward action: not serving", { tripped: "green", weights: { blue: 100 }, healthyTargets: {} }, { kind: "not-serving", reason: "green has weight 0 in the listener already" }],
        ["no forward action: not serving", { tripped: "blue", weights: undefined, healthyTargets: { green: 3 } }, { kind: "not-serving", reason: "the listener forwards to no target group (maintenance page or changed by hand)" }],
        ["blue not in the forward action: leave", { tripped: "green", weights: { green: 100 }, healthyTargets: { blue: 3 } }, { kind: "leave", reason: "blue's target group is not in the listener's forward action, so traffic cannot move to it" }],
        ["blue's health unknown: leave", { tripped: "green", weights: { blue: 50, green: 50 }, healthyTargets: { green: 3 } }, { kind: "leave", reason: "blue's target health could not be read" }],
        ["blue has no healthy targets: leave", { tripped: "green", weights: { blue: 50, green: 50 }, healthyTargets: { blue: 0, green: 3 } }, { kind: "leave", reason: "blue has no healthy targets" }],
        ["green unhealthy itself does not matter, blue does", { tripped: "blue", weights: { blue: 60, green: 40 }, healthyTargets: { blue: 0, green: 0 } }, { kind: "leave", reason: "green has no healthy targets" }],
    ];
    for (const [name, reading, expected] of table) {
        it(name, () => assert.deepStrictEqual(decide(reading), expected));
    }

    it("never leaves traffic on the tripped colour when it moves, and never moves it to an unhealthy colour (property)", () => {
        const colour = fc.constantFrom("blue" as const, "green" as const);
        const weight = fc.option(fc.integer({ min: 0, max: 999 }), { nil: undefined });
        fc.assert(
            fc.property(colour, weight, weight, fc.option(fc.integer({ min: 0, max: 10 }), { nil: undefined }), (tripped, a, b, healthy) => {
                const other = otherGuardColour(tripped);
                const weights = { [tripped]: a, [other]: b };
                const decision = decide({ tripped, weights: Object.fromEntries(Object.entries(weights).filter(([, value]) => value !== undefined)), healthyTargets: { [other]: healthy } });
                if (decision.kind !== "move") return;
                assert.strictEqual(decision.weights[tripped], 0);
                assert.strictEqual(decision.weights[other], (a ?? 0) + (b ?? 0));
                assert.ok((healthy ?? 0) >= 1 && (a ?? 0) > 0 && b !== undefined);
            }),
        );
    });
});

describe("guard listener arithmetic", () => {
    const sticky: Action = { Type: "forward", Order: 1, ForwardConfig: { TargetGroups: [{ TargetGroupArn: ARNS.blue, Weight: 90 }, { TargetGroupArn: ARNS.green, Weight: 10 }], TargetGroupStickinessConfig: { Enabled: true, DurationSeconds: 60 } } };

    it("reads both colours' weights from the forward action, ignoring other target groups and actions", () => {
        const actions: Action[] = [{ Type: "authenticate-oidc", Order: 0 }, { ...sticky, ForwardConfig: { ...sticky.ForwardConfig, TargetGroups: [...sticky.ForwardConfig!.TargetGroups!, { TargetGroupArn: "arn:tg/other", Weight: 5 }] } }];
        assert.deepStrictEqual(forwardWeights(actions, ARNS).weights, { blue: 90, green: 10 });
        assert.strictEqual(forwardWeights(actions, ARNS).action, actions[1]);
    });

    it("a group without a reported weight counts as ELB's default 1; a plain forward to one group is that group alone", () => {
        assert.deepStrictEqual(forwardWeights([{ Type: "forward", ForwardConfig: { TargetGroups: [{ TargetGroupArn: ARNS.blue }, { TargetGroupArn: ARNS.green, Weight: 0 }] } }], ARNS).weights, { blue: 1, green: 0 });
        assert.deepStrictEqual(forwardWeights([{ Type: "forward", TargetGroupArn: ARNS.blue }], ARNS).weights, { blue: 1 });
        assert.deepStrictEqual(forwardWeights([{ Type: "forward", ForwardConfig: { TargetGroups: [] }, TargetGroupArn: ARNS.green }], ARNS).weights, { green: 1 });
        assert.deepStrictEqual(forwardWeights([{ Type: "forward", ForwardConfig: {}, TargetGroupArn: ARNS.green }], ARNS).weights, { green: 1 });
    });

    it("no forward action: no weights at all (not zeros)", () => {
        assert.deepStrictEqual(forwardWeights([{ Type: "fixed-response" }], ARNS), {});
        assert.deepStrictEqual(forwardWeights(undefined, ARNS), {});
    });

    it("replaces only the forward action's weights: order, stickiness and other actions stay as ELB reported them", () => {
        const other: Action = { Type: "authenticate-cognito", Order: 0 };
        assert.deepStrictEqual(withWeights([other, sticky], ARNS, { blue: 100, green: 0 }), [
            other,
            { Type: "forward", Order: 1, ForwardConfig: { TargetGroups: [{ TargetGroupArn: ARNS.blue, Weight: 100 }, { TargetGroupArn: ARNS.green, Weight: 0 }], TargetGroupStickinessConfig: { Enabled: true, DurationSeconds: 60 } } },
        ]);
    });

    it("a single-group forward becomes a weighted ForwardConfig without the top-level TargetGroupArn (ELB refuses both with different groups)", () => {
        assert.deepStrictEqual(withWeights([{ Type: "forward", TargetGroupArn: ARNS.green }], ARNS, { blue: 1, green: 0 }), [
            { Type: "forward", ForwardConfig: { TargetGroups: [{ TargetGroupArn: ARNS.blue, Weight: 1 }, { TargetGroupArn: ARNS.green, Weight: 0 }] } },
        ]);
    });
});
