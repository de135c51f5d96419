// Maintenance mode on the real program graph: the forwarding listener answers 503, nothing else changes, the test path still reaches both colours.
import * as assert from "assert";
import { maintenancePage } from "../config/maintenancePage";
import { diffGraphs, effectiveChanges } from "../evaluation/graphDiff";
import { evaluate, ofType, one, stackConfig, withSection } from "./harness";

const LISTENER = "aws:lb/listener:Listener";
const ON = { enabled: true, reason: "database upgrade to v2 schema" };

for (const stack of ["staging", "production"]) {
    describe(`maintenance mode (${stack})`, () => {
        const off = () => stackConfig(stack);
        const on = () => withSection(stackConfig(stack), "maintenance", ON);

        it("makes the forwarding listener answer 503 with the escaped page", async () => {
            const evaluation = await evaluate(on(), stack);
            assert.deepStrictEqual(one(evaluation, LISTENER, "shop").inputs.defaultActions, [
                { type: "fixed-response", fixedResponse: { contentType: "text/html", statusCode: "503", messageBody: maintenancePage(ON.reason) } },
            ]);
            assert.deepStrictEqual((evaluation.outputs as Record<string, unknown>).maintenance, { enabled: true, reason: ON.reason });
        });

        it("keeps the test path to both colours", async () => {
            const evaluation = await evaluate(on(), stack);
            const test = one(evaluation, LISTENER, "shop-test");
            const rules = ofType(evaluation, "aws:lb/listenerRule:ListenerRule");
            assert.deepStrictEqual(
                rules.map((rule) => [rule.inputs.listenerArn, ((rule.inputs.conditions as any).__secret ?? rule.inputs.conditions)[0].httpHeader.values[0], (rule.inputs.actions as any[])[0]]),
                ["blue", "green"].map((colour) => [test.state.arn, colour, { type: "forward", targetGroupArn: one(evaluation, "aws:lb/targetGroup:TargetGroup", `shop-${colour}`).state.arn }]),
            );
        });

        for (const [name, from, to] of [["on", off, on], ["off", on, off]] as const) {
            it(`turning it ${name} updates only the forwarding listener's default action, like a step`, async () => {
                const before = await evaluate(from(), stack);
                const after = await evaluate(to(), stack);
                assert.deepStrictEqual(effectiveChanges(diffGraphs(before.resources, after.resources)), [
                    { urn: one(after, LISTENER, "shop").urn, type: LISTENER, op: "update", changedKeys: ["defaultActions"] },
                ]);
            });
        }
    });
}

describe("maintenance mode off", () => {
    it("is the default: the listener forwards and the output says so", async () => {
        const evaluation = await evaluate(withSection(stackConfig("staging"), "maintenance", { enabled: false, reason: "kept for next time" }));
        assert.strictEqual((one(evaluation, LISTENER, "shop").inputs.defaultActions as any[])[0].type, "forward");
        assert.deepStrictEqual((evaluation.outputs as Record<string, unknown>).maintenance, { enabled: false, reason: "kept for next time" });
    });
});
