// The test listener forwards only with the stack's secret token, and the driver sends it.
import * as assert from "assert";
import { deploy } from "../rollout/driver";
import { ExitCode } from "../rollout/exitCodes";
import { summariseResource } from "../plan/resourceSummary";
import { RELEASE, SmokeServer, harness } from "./fakes/rollout";
import { evaluate, ofType, stackConfig } from "./harness";

describe("test listener token", function () {
    this.timeout(60_000);

    it("every test-listener rule requires the colour header and the stack's secret token; the token is a secret output", async () => {
        const evaluation = await evaluate(stackConfig("production"), "production");
        const rules = ofType(evaluation, "aws:lb/listenerRule:ListenerRule").filter((rule) => rule.name.includes("-test-"));
        const token = evaluation.outputs.testToken as { __secret?: string };
        assert.match(token.__secret ?? "", /^[A-Za-z0-9]{48}$/, "the token output is a Pulumi secret");
        assert.strictEqual(evaluation.outputs.testTokenHeader, "x-shiftwise-test-token");
        assert.deepStrictEqual(
            rules.map((rule) => rule.inputs.conditions),
            // The token makes the whole condition list a secret in state and previews.
            ["blue", "green"].map((colour) => ({
                __secret: [
                    { httpHeader: { httpHeaderName: "x-shiftwise-colour", values: [colour] } },
                    { httpHeader: { httpHeaderName: "x-shiftwise-test-token", values: [token.__secret] } },
                ],
            })),
        );
        const password = ofType(evaluation, "random:index/randomPassword:RandomPassword");
        assert.deepStrictEqual(password.map((p) => [p.inputs.length, p.inputs.special]), [[48, false]], "letters and digits only: ALB header values treat * and ? as wildcards");
    });

    describe("the driver's smoke checks", () => {
        const server = new SmokeServer();
        let smokeBaseUrl = "";
        before(async () => (smokeBaseUrl = await server.start()));
        after(() => server.stop());

        it("a listener that demands another token fails the smoke checks, so the release rolls back", async () => {
            const h = harness({ smokeBaseUrl });
            server.requiredToken = "not-the-stack-token";
            const outcome = await deploy(h.deps, { ...RELEASE, smokeBaseUrl });
            assert.strictEqual(outcome.exitCode, ExitCode.rolledBack, outcome.message);
            assert.match(outcome.message, /smoke checks failed: .*HTTP 404/);
            assert.ok(server.requests.length > 0 && server.requests.every((request) => request.token === server.requests[0].token && request.token !== undefined));
        });
    });
});

describe("plan summaries of inputs a secret made secret", () => {
    const resource = (type: string, inputs: Record<string, unknown>) => ({ urn: "urn", type, name: "r", custom: true, inputs, state: {}, options: {} as never });

    it("a task definition with a secret in its container definitions still shows image, cpu, memory and port, never the secret", () => {
        const containers = JSON.stringify([{ name: "shop", image: "ghcr.io/acme/shop:v1.5.0", portMappings: [{ containerPort: 8080 }], environment: [{ name: "API_TOKEN", value: "s3cr3t" }] }]);
        const line = summariseResource(resource("aws:ecs/taskDefinition:TaskDefinition", { cpu: "256", memory: "512", containerDefinitions: { __secret: containers } }));
        assert.strictEqual(line, "ghcr.io/acme/shop:v1.5.0 cpu 256 memory 512, port 8080");
    });

    it("a test-listener rule shows the routing header and hides the token", () => {
        const conditions = { __secret: [{ httpHeader: { httpHeaderName: "x-shiftwise-colour", values: ["green"] } }, { httpHeader: { httpHeaderName: "x-shiftwise-test-token", values: ["tok3n"] } }] };
        const line = summariseResource(resource("aws:lb/listenerRule:ListenerRule", { priority: 20, conditions, actions: [{ type: "forward", targetGroupArn: "arn:aws:elasticloadbalancing:eu-west-1:1:targetgroup/shop-green/abc" }] }));
        assert.strictEqual(line, "priority 20: x-shiftwise-colour: green and x-shiftwise-test-token: [secret] -> forward shop-green");
    });
});
