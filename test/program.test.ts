// Tests of the program graph and the invariants.
import * as assert from "assert";
import { diffGraphs, effectiveChanges } from "../evaluation/graphDiff";
import {
    CapturedResource,
    ConfigMap,
    ProgramEvaluation,
    ALL_STACKS,
    COLOUR_COMPONENT,
    descendants,
    evaluate,
    ofType,
    one,
    platformOf,
    stackConfig,
    withFields,
} from "./harness";

const LISTENER = "aws:lb/listener:Listener";
const TARGET_GROUP = "aws:lb/targetGroup:TargetGroup";
const INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule";
const EGRESS = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule";
const SECURITY_GROUP = "aws:ec2/securityGroup:SecurityGroup";

function forwardingListener(evaluation: ProgramEvaluation): CapturedResource {
    return one(evaluation, LISTENER, "shop");
}

function targetGroupArn(evaluation: ProgramEvaluation, colour: string): string {
    return one(evaluation, TARGET_GROUP, `shop-${colour}`).state.arn as string;
}

function securityGroupId(evaluation: ProgramEvaluation, name: string): string {
    return one(evaluation, SECURITY_GROUP, name).state.id as string;
}

/** A listener's inputs with the forward weights blanked, to compare everything else. */
function withoutWeights(resource: CapturedResource): unknown {
    const copy = JSON.parse(JSON.stringify(resource.inputs));
    for (const action of copy.defaultActions ?? []) {
        for (const group of action.forward?.targetGroups ?? []) delete group.weight;
    }
    return copy;
}

/** The security groups of the colours' targets: each colour's own on ECS, the one configured pod group on Kubernetes. */
function targetSecurityGroups(evaluation: ProgramEvaluation, config: ConfigMap): { key: string; id: string }[] {
    if (platformOf(config) === "kubernetes") return [{ key: "pods", id: JSON.parse(config["shiftwise:kubernetes"]).securityGroupId }];
    return ["blue", "green"].map((colour) => ({ key: colour, id: securityGroupId(evaluation, `shop-${colour}`) }));
}

for (const stack of ALL_STACKS) {
    const platform = platformOf(stackConfig(stack));
    const protectedStack = stack.endsWith("production");
    describe(`program (${stack}, ${platform})`, () => {
        let config: ConfigMap;
        let evaluation: ProgramEvaluation;

        before(async () => {
            config = stackConfig(stack);
            evaluation = await evaluate(config, stack);
        });

        it("forwards to both target groups with the configured weights and explicit stickiness", () => {
            const listener = forwardingListener(evaluation);
            assert.strictEqual(listener.inputs.port, 443);
            assert.strictEqual(listener.inputs.protocol, "HTTPS");
            assert.strictEqual(listener.inputs.sslPolicy, "ELBSecurityPolicy-TLS13-1-2-2021-06");
            assert.match(String(listener.inputs.certificateArn), /^arn:aws:acm:eu-west-1:123456789012:certificate\//);
            assert.deepStrictEqual(listener.inputs.defaultActions, [
                {
                    type: "forward",
                    forward: {
                        targetGroups: [
                            { arn: targetGroupArn(evaluation, "blue"), weight: 90 },
                            { arn: targetGroupArn(evaluation, "green"), weight: 10 },
                        ],
                        stickiness: { enabled: false, duration: 1 },
                    },
                },
            ]);
        });

        it("redirects HTTP to HTTPS and does nothing else on port 80", () => {
            const redirect = one(evaluation, LISTENER, "shop-http");
            assert.strictEqual(redirect.inputs.port, 80);
            assert.strictEqual(redirect.inputs.protocol, "HTTP");
            assert.deepStrictEqual(redirect.inputs.defaultActions, [
                { type: "redirect", redirect: { protocol: "HTTPS", port: "443", statusCode: "HTTP_301" } },
            ]);
        });

        it("reaches each colour through the test listener by header, and nothing without it", () => {
            const test = one(evaluation, LISTENER, "shop-test");
            assert.strictEqual(test.inputs.port, 8443);
            assert.strictEqual(test.inputs.protocol, "HTTPS");
            assert.strictEqual(test.inputs.sslPolicy, "ELBSecurityPolicy-TLS13-1-2-2021-06");
            assert.strictEqual((test.inputs.defaultActions as any[])[0].type, "fixed-response");
            assert.strictEqual((test.inputs.defaultActions as any[])[0].fixedResponse.statusCode, "404");
            const rules = ofType(evaluation, "aws:lb/listenerRule:ListenerRule");
            assert.deepStrictEqual(
                rules.map((rule) => ({ listener: rule.inputs.listenerArn, priority: rule.inputs.priority, conditions: rule.inputs.conditions, actions: rule.inputs.actions })),
                ["blue", "green"].map((colour, i) => ({
                    listener: test.state.arn,
                    priority: 10 * (i + 1),
                    // and the stack's test token, which makes the condition list a secret
                    conditions: {
                        __secret: [
                            { httpHeader: { httpHeaderName: "x-shiftwise-colour", values: [colour] } },
                            { httpHeader: { httpHeaderName: "x-shiftwise-test-token", values: [(evaluation.outputs.testToken as { __secret: string }).__secret] } },
                        ],
                    },
                    actions: [{ type: "forward", targetGroupArn: targetGroupArn(evaluation, colour) }],
                })),
            );
        });

        it("drops invalid headers and protects the ALB only when the stack is protected", () => {
            const alb = one(evaluation, "aws:lb/loadBalancer:LoadBalancer");
            assert.strictEqual(alb.inputs.dropInvalidHeaderFields, true);
            assert.strictEqual(alb.inputs.internal, false);
            assert.strictEqual(alb.inputs.enableDeletionProtection, protectedStack);
            assert.deepStrictEqual(alb.inputs.securityGroups, [securityGroupId(evaluation, "shop-alb")]);
        });

        it("gives each colour an ip target group with an explicit health check and deregistration delay", () => {
            for (const colour of ["blue", "green"]) {
                const group = one(evaluation, TARGET_GROUP, `shop-${colour}`);
                assert.strictEqual(group.inputs.targetType, "ip");
                assert.strictEqual(group.inputs.port, 8080);
                assert.strictEqual(group.inputs.protocol, "HTTP");
                assert.strictEqual(group.inputs.deregistrationDelay, 30);
                assert.deepStrictEqual(group.inputs.healthCheck, {
                    enabled: true,
                    protocol: "HTTP",
                    port: "traffic-port",
                    path: "/healthz",
                    interval: 15,
                    timeout: 5,
                    healthyThreshold: 3,
                    unhealthyThreshold: 3,
                    matcher: "200-299",
                });
            }
        });

        if (platform === "ecs") it("runs each colour's version on Fargate in the private subnets, after the listener exists", () => {
            const listenerUrn = forwardingListener(evaluation).urn;
            const colours = stackConfig(stack);
            for (const colour of ["blue", "green"]) {
                const settings = JSON.parse(colours[`shiftwise:${colour}`]);
                const task = one(evaluation, "aws:ecs/taskDefinition:TaskDefinition", `shop-${colour}`);
                assert.deepStrictEqual(task.inputs.requiresCompatibilities, ["FARGATE"]);
                assert.strictEqual(task.inputs.networkMode, "awsvpc");
                assert.deepStrictEqual(task.inputs.runtimePlatform, { operatingSystemFamily: "LINUX", cpuArchitecture: "X86_64" });
                const [container] = JSON.parse(String(task.inputs.containerDefinitions));
                assert.strictEqual(container.image, settings.image);
                assert.deepStrictEqual(container.portMappings, [{ containerPort: 8080, hostPort: 8080, protocol: "tcp" }]);
                assert.deepStrictEqual(
                    container.environment.filter((e: { name: string }) => e.name.startsWith("SHIFTWISE_")),
                    [{ name: "SHIFTWISE_COLOUR", value: colour }, { name: "SHIFTWISE_VERSION", value: settings.version }],
                );
                assert.strictEqual(container.logConfiguration.options["awslogs-group"], `/shiftwise/${stack}/shop/${colour}`);

                const service = one(evaluation, "aws:ecs/service:Service", `shop-${colour}`);
                assert.strictEqual(service.inputs.desiredCount, settings.desiredCount);
                assert.strictEqual(service.inputs.launchType, "FARGATE");
                assert.strictEqual(service.inputs.taskDefinition, task.state.arn);
                const network = service.inputs.networkConfiguration as { subnets: string[]; securityGroups: string[]; assignPublicIp: boolean };
                assert.strictEqual(network.assignPublicIp, false);
                assert.deepStrictEqual(network.securityGroups, [securityGroupId(evaluation, `shop-${colour}`)]);
                assert.deepStrictEqual(service.inputs.loadBalancers, [{ targetGroupArn: targetGroupArn(evaluation, colour), containerName: "shop", containerPort: 8080 }]);
                assert.deepStrictEqual(service.inputs.deploymentCircuitBreaker, { enable: true, rollback: true });
                assert.ok(service.options.dependencies.includes(listenerUrn), "the ECS service must wait for the forwarding listener");
            }
        });

        if (platform === "kubernetes") it("admits the ALB to the pods only through the TargetGroupBindings' networking rule, on the app port", () => {
            const albGroup = securityGroupId(evaluation, "shop-alb");
            const podGroup = targetSecurityGroups(evaluation, config)[0].id;
            // The AWS Load Balancer Controller owns the ingress rule on the pods' group; declaring it here as well would fight it.
            assert.deepStrictEqual(ofType(evaluation, INGRESS).filter((rule) => rule.inputs.securityGroupId === podGroup), []);
            for (const colour of ["blue", "green"]) {
                const binding = one(evaluation, "kubernetes:elbv2.k8s.aws/v1beta1:TargetGroupBinding", `shop-${colour}`);
                assert.deepStrictEqual((binding.inputs.spec as any).networking, {
                    ingress: [{ from: [{ securityGroup: { groupID: albGroup } }], ports: [{ port: 8080, protocol: "TCP" }] }],
                });
            }
        });

        if (platform === "ecs") it("admits traffic to the targets only from the ALB security group, on the app port", () => {
            const albGroup = securityGroupId(evaluation, "shop-alb");
            for (const colour of ["blue", "green"]) {
                const colourGroup = securityGroupId(evaluation, `shop-${colour}`);
                const rules = ofType(evaluation, INGRESS).filter((rule) => rule.inputs.securityGroupId === colourGroup);
                assert.deepStrictEqual(
                    rules.map((rule) => ({ from: rule.inputs.fromPort, to: rule.inputs.toPort, source: rule.inputs.referencedSecurityGroupId, cidr: rule.inputs.cidrIpv4 })),
                    [{ from: 8080, to: 8080, source: albGroup, cidr: undefined }],
                );
            }
        });

        it("an ECS colour's target group and security group keep the URNs they had under its ECS service (an alias to that parent); a Kubernetes colour's have no such alias", () => {
            for (const colour of ["blue", "green"]) {
                const target = one(evaluation, "shiftwise:colour:ColourTarget", `shop-${colour}`);
                const formerParent = evaluation.resources.find((resource) => resource.urn === target.parent)!;
                const children = descendants(evaluation, target.urn);
                // On Kubernetes the security group is adopted, so only the target group is the colour target's own.
                assert.deepStrictEqual(children.map((child) => child.type).sort(), platform === "ecs" ? [TARGET_GROUP, "aws:ec2/securityGroup:SecurityGroup", EGRESS].sort() : [TARGET_GROUP]);
                const parentAliases = children.map((child) => child.options.aliases.filter((alias) => typeof alias === "object" && alias.parentUrn !== undefined && alias.type === undefined));
                // ECS colours had these resources as direct children of their ColourService; Kubernetes colours never did.
                const expected = platform === "ecs" ? [{ parentUrn: formerParent.urn }] : [];
                assert.strictEqual(formerParent.type, COLOUR_COMPONENT[platform]);
                assert.deepStrictEqual(parentAliases, children.map(() => expected));
            }
        });

        it("opens nothing to the internet except the ALB's 80 and 443, and the ALB reaches only the colours", () => {
            const albGroup = securityGroupId(evaluation, "shop-alb");
            const open = ofType(evaluation, INGRESS)
                .filter((rule) => rule.inputs.cidrIpv4 === "0.0.0.0/0" || rule.inputs.cidrIpv6 === "::/0")
                .map((rule) => ({ group: rule.inputs.securityGroupId, port: rule.inputs.fromPort, toPort: rule.inputs.toPort }));
            assert.deepStrictEqual(open, [
                { group: albGroup, port: 443, toPort: 443 },
                { group: albGroup, port: 80, toPort: 80 },
            ]);
            const albEgress = ofType(evaluation, EGRESS).filter((rule) => rule.inputs.securityGroupId === albGroup);
            assert.deepStrictEqual(
                albEgress.map((rule) => ({ port: rule.inputs.fromPort, to: rule.inputs.referencedSecurityGroupId, cidr: rule.inputs.cidrIpv4 })),
                targetSecurityGroups(evaluation, config).map((group) => ({ port: 8080, to: group.id, cidr: undefined })),
            );
            const testRules = ofType(evaluation, INGRESS).filter((rule) => rule.inputs.fromPort === 8443);
            assert.deepStrictEqual(testRules.map((rule) => rule.inputs.cidrIpv4), ["10.0.0.0/8"]);
        });

        it("exports the URLs, weights, listener and each colour's version, target group and count", () => {
            const outputs = evaluation.outputs as Record<string, any>;
            assert.deepStrictEqual(outputs.weights, { blue: 90, green: 10 });
            assert.strictEqual(outputs.listenerArn, forwardingListener(evaluation).state.arn);
            assert.strictEqual(outputs.stable, "blue");
            assert.strictEqual(outputs.candidate, "green");
            assert.match(outputs.serviceUrl, /^https:\/\/shop-[0-9a-f]+\.eu-west-1\.elb\.amazonaws\.com$/);
            assert.strictEqual(outputs.testUrl, `${outputs.serviceUrl}:8443`);
            for (const colour of ["blue", "green"]) {
                const settings = JSON.parse(config[`shiftwise:${colour}`]);
                assert.strictEqual(outputs[colour].version, settings.version);
                assert.strictEqual(outputs[colour].desiredCount, settings.desiredCount);
                assert.strictEqual(outputs[colour].targetGroupArn, targetGroupArn(evaluation, colour));
            }
        });

        describe("invariant 1: a weight step changes exactly one resource", () => {
            for (const [from, to] of [
                [{ blue: 90, green: 10 }, { blue: 50, green: 50 }],
                [{ blue: 50, green: 50 }, { blue: 90, green: 10 }],
                [{ blue: 90, green: 10 }, { blue: 0, green: 100 }],
                [{ blue: 0, green: 100 }, { blue: 90, green: 10 }],
            ]) {
                it(`${from.blue}/${from.green} -> ${to.blue}/${to.green} updates only the forwarding listener's weights`, async () => {
                    const before = await evaluate(withFields(config, "traffic", from), stack);
                    const after = await evaluate(withFields(config, "traffic", to), stack);
                    const changes = effectiveChanges(diffGraphs(before.resources, after.resources));
                    const listener = forwardingListener(after);
                    assert.deepStrictEqual(changes, [{ urn: listener.urn, type: LISTENER, op: "update", changedKeys: ["defaultActions"] }]);
                    assert.deepStrictEqual(withoutWeights(forwardingListener(before)), withoutWeights(listener));
                    const weights = (listener.inputs.defaultActions as any[])[0].forward.targetGroups.map((g: { weight: number }) => g.weight);
                    assert.deepStrictEqual(weights, [to.blue, to.green]);
                });
            }
        });

        describe("invariant 2: the colours are independent", () => {
            const edits: Record<string, Record<string, unknown>> = {
                version: { version: "v1.6.0" },
                image: { image: "123456789012.dkr.ecr.eu-west-1.amazonaws.com/shop:v1.6.0" },
                desiredCount: { desiredCount: 5 },
                "CPU architecture": { cpuArchitecture: "ARM64" },
                "read-only root opt-out and user": { readonlyRootFilesystem: false, user: "1000:1000" },
                "version and image": { version: "v1.6.0", image: "123456789012.dkr.ecr.eu-west-1.amazonaws.com/shop:v1.6.0" },
            };
            for (const [what, fields] of Object.entries(edits)) {
                for (const colour of ["blue", "green"]) {
                    it(`changing ${colour}'s ${what} changes only ${colour}'s resources`, async () => {
                        const after = await evaluate(withFields(config, colour, fields), stack);
                        const changes = effectiveChanges(diffGraphs(evaluation.resources, after.resources));
                        assert.ok(changes.length > 0, "the edit must change something");
                        const colourComponent = one(after, COLOUR_COMPONENT[platform], `shop-${colour}`);
                        const own = new Set(descendants(after, colourComponent.urn).map((r) => r.urn));
                        for (const change of changes) {
                            assert.ok(own.has(change.urn), `${change.urn} (${change.op}) is not one of ${colour}'s resources`);
                            assert.ok(change.op === "update" || change.op === "replace", `${change.urn}: ${change.op}`);
                        }
                        const other = colour === "blue" ? "green" : "blue";
                        const otherComponent = one(after, COLOUR_COMPONENT[platform], `shop-${other}`);
                        const otherUrns = new Set(descendants(after, otherComponent.urn).map((r) => r.urn));
                        assert.ok(changes.every((change) => !otherUrns.has(change.urn)));
                    });
                }
            }
        });
    });
}

describe("network", () => {
    it("creates public and private subnets per AZ, with one NAT gateway when asked", async () => {
        const evaluation = await evaluate(stackConfig("staging"));
        const subnets = ofType(evaluation, "aws:ec2/subnet:Subnet");
        assert.deepStrictEqual(
            subnets.map((s) => [s.name, s.inputs.cidrBlock, s.inputs.availabilityZone, s.inputs.mapPublicIpOnLaunch]),
            [
                ["shop-net-public-0", "10.20.0.0/20", "eu-west-1a", false],
                ["shop-net-public-1", "10.20.16.0/20", "eu-west-1b", false],
                ["shop-net-private-0", "10.20.32.0/20", "eu-west-1a", false],
                ["shop-net-private-1", "10.20.48.0/20", "eu-west-1b", false],
            ],
        );
        assert.strictEqual(ofType(evaluation, "aws:ec2/natGateway:NatGateway").length, 1);
        const privateRoutes = ofType(evaluation, "aws:ec2/routeTable:RouteTable").filter((r) => r.name.includes("private"));
        const nat = one(evaluation, "aws:ec2/natGateway:NatGateway");
        for (const table of privateRoutes) assert.deepStrictEqual(table.inputs.routes, [{ cidrBlock: "0.0.0.0/0", natGatewayId: nat.state.id }]);
        const defaultGroup = one(evaluation, "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup");
        assert.deepStrictEqual([defaultGroup.inputs.ingress, defaultGroup.inputs.egress], [[], []]);
    });

    it("creates a NAT gateway per AZ by default", async () => {
        const evaluation = await evaluate(withFields(stackConfig("staging"), "network", { create: { cidr: "10.30.0.0/16", azCount: 3 } }));
        assert.strictEqual(ofType(evaluation, "aws:ec2/natGateway:NatGateway").length, 3);
        assert.strictEqual(ofType(evaluation, "aws:ec2/subnet:Subnet").length, 6);
    });

    it("adopts an existing VPC without creating network resources", async () => {
        const evaluation = await evaluate(stackConfig("production"), "production");
        for (const type of ["aws:ec2/vpc:Vpc", "aws:ec2/subnet:Subnet", "aws:ec2/natGateway:NatGateway"]) assert.deepStrictEqual(ofType(evaluation, type), []);
        const alb = one(evaluation, "aws:lb/loadBalancer:LoadBalancer");
        assert.deepStrictEqual(alb.inputs.subnets, JSON.parse(stackConfig("production")["shiftwise:network"]).publicSubnetIds);
    });
});
