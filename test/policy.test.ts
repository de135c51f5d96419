// Tests of the policy pack against both stacks and bad resources.
import * as assert from "assert";
import { ResourceValidationArgs, ResourceValidationPolicy } from "@pulumi/policy";
import { allPolicies } from "../policy/policies";
import { CapturedResource, evaluate, stackConfig } from "./harness";

class NotApplicable extends Error {}

/** Plain values, with `{ __secret }` markers unwrapped, as the policy engine sees them. */
function reveal(value: unknown): unknown {
    if (Array.isArray(value)) return value.map(reveal);
    if (value && typeof value === "object") {
        if ("__secret" in value) return reveal((value as { __secret: unknown }).__secret);
        return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, reveal(v)]));
    }
    return value;
}

/** The arguments the policy engine would pass for one registered resource. */
function policyArgs(resource: Pick<CapturedResource, "type" | "name" | "urn" | "inputs"> & { options?: Partial<CapturedResource["options"]> }): ResourceValidationArgs {
    const props = reveal(resource.inputs) as Record<string, unknown>;
    const matches = (resourceClass: unknown) => (resourceClass as { __pulumiType?: string }).__pulumiType === resource.type;
    return {
        type: resource.type,
        props,
        urn: resource.urn,
        name: resource.name,
        opts: {
            protect: resource.options?.protect ?? false,
            ignoreChanges: [...(resource.options?.ignoreChanges ?? [])],
            aliases: [],
            customTimeouts: { createSeconds: 0, updateSeconds: 0, deleteSeconds: 0 },
            additionalSecretOutputs: [],
        },
        stackTags: new Map(),
        isType: matches,
        asType: ((resourceClass: unknown) => (matches(resourceClass) ? props : undefined)) as ResourceValidationArgs["asType"],
        getConfig: <T extends object>() => ({}) as T,
        notApplicable: (reason?: string): never => {
            throw new NotApplicable(reason);
        },
    };
}

/** Runs every policy against one resource; returns "policy: message" per violation. */
async function violations(resource: Parameters<typeof policyArgs>[0], policies: ResourceValidationPolicy[] = allPolicies): Promise<string[]> {
    const found: string[] = [];
    for (const policy of policies) {
        const validations = [policy.validateResource ?? []].flat();
        for (const validate of validations) {
            try {
                await validate(policyArgs(resource), (message) => found.push(`${policy.name}: ${message}`));
            } catch (error) {
                if (!(error instanceof NotApplicable)) throw error;
            }
        }
    }
    return found;
}

function fake(type: string, inputs: Record<string, unknown>, options: Partial<CapturedResource["options"]> = {}) {
    return { type, name: "fake", urn: `urn:pulumi:test::shiftwise::${type}::fake`, inputs, options };
}

describe("CrossGuard policies", () => {
    for (const stack of ["staging", "production"]) {
        it(`the ${stack} program passes every mandatory policy`, async () => {
            const evaluation = await evaluate(stackConfig(stack), stack);
            const found: string[] = [];
            for (const resource of evaluation.resources.filter((r) => r.custom)) {
                for (const violation of await violations(resource)) found.push(`${resource.name}: ${violation}`);
            }
            assert.deepStrictEqual(found, []);
        });
    }

    const CASES: [string, ReturnType<typeof fake>, string[]][] = [
        [
            "an HTTPS listener with a TLS 1.2-only policy",
            fake("aws:lb/listener:Listener", { protocol: "HTTPS", port: 443, sslPolicy: "ELBSecurityPolicy-2016-08", defaultActions: [] }),
            ["shiftwise-https-tls13: HTTPS listener on port 443 uses ELBSecurityPolicy-2016-08; use ELBSecurityPolicy-TLS13-1-2-2021-06"],
        ],
        [
            "an HTTP listener that forwards",
            fake("aws:lb/listener:Listener", { protocol: "HTTP", port: 80, defaultActions: [{ type: "forward", targetGroupArn: "arn" }] }),
            ["shiftwise-http-redirects-only: HTTP listener on port 80 must only redirect to HTTPS"],
        ],
        [
            "a weighted forward without stickiness and with a missing weight, weights ignored",
            fake(
                "aws:lb/listener:Listener",
                { protocol: "HTTPS", port: 443, sslPolicy: "ELBSecurityPolicy-TLS13-1-2-2021-06", defaultActions: [{ type: "forward", forward: { targetGroups: [{ arn: "a", weight: 90 }, { arn: "b" }] } }] },
                { ignoreChanges: ["defaultActions"] },
            ),
            [
                "shiftwise-explicit-forward-weights: set a weight on every target group of the forward action",
                "shiftwise-explicit-forward-weights: set forward.stickiness explicitly, so AWS and the state agree and a step shows no spurious diff",
                "shiftwise-explicit-forward-weights: never ignore changes to defaultActions: the weights must follow the stack config (pulumi-aws issues 5772 and 5798)",
            ],
        ],
        [
            "an ALB that keeps invalid headers",
            fake("aws:lb/loadBalancer:LoadBalancer", { loadBalancerType: "application", dropInvalidHeaderFields: false }),
            ["shiftwise-alb-drops-invalid-headers: set dropInvalidHeaderFields: true so request smuggling through malformed headers is rejected at the edge"],
        ],
        [
            "the app port open to the internet",
            fake("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", { ipProtocol: "tcp", fromPort: 8080, toPort: 8080, cidrIpv4: "0.0.0.0/0" }),
            ["shiftwise-no-open-ingress: opens ports 8080-8080 to the internet; only 80 and 443 on the load balancer may be open to 0.0.0.0/0"],
        ],
        [
            "an inline all-ports IPv6 rule",
            fake("aws:ec2/securityGroup:SecurityGroup", { ingress: [{ protocol: "-1", fromPort: 0, toPort: 0, ipv6CidrBlocks: ["::/0"] }] }),
            ["shiftwise-no-open-ingress: opens ports 0-0 to the internet; only 80 and 443 on the load balancer may be open to 0.0.0.0/0"],
        ],
        [
            "a task with a public IP",
            fake("aws:ecs/service:Service", { networkConfiguration: { subnets: [], assignPublicIp: true } }),
            ["shiftwise-private-tasks: set networkConfiguration.assignPublicIp: false"],
        ],
        [
            "a public, unencrypted database with a password in config and no final snapshot",
            fake("aws:rds/instance:Instance", { storageEncrypted: false, publiclyAccessible: true, password: "hunter2", skipFinalSnapshot: true, deletionProtection: true }),
            [
                "shiftwise-database-encrypted-private: set storageEncrypted: true",
                "shiftwise-database-encrypted-private: set publiclyAccessible: false",
                "shiftwise-database-encrypted-private: set manageMasterUserPassword: true and no password, so the password lives in Secrets Manager, not in config or state",
                "shiftwise-database-final-snapshot: set skipFinalSnapshot: false and a finalSnapshotIdentifier",
                "shiftwise-protected-database: deletionProtection is on but the resource option protect is off",
            ],
        ],
        [
            "an unencrypted topic",
            fake("aws:sns/topic:Topic", {}),
            ["shiftwise-encrypted-topic: set kmsMasterKeyId, e.g. alias/aws/sns"],
        ],
        [
            "a password in a plain environment variable",
            fake("aws:ecs/taskDefinition:TaskDefinition", { containerDefinitions: JSON.stringify([{ name: "shop", environment: [{ name: "DB_PASSWORD", value: "x" }] }]) }),
            ["shiftwise-no-plaintext-container-secrets: container shop: DB_PASSWORD is a plain environment variable; move it to secrets (Secrets Manager or SSM)"],
        ],
    ];
    for (const [name, resource, expected] of CASES) {
        it(`reports ${name}`, async () => {
            assert.deepStrictEqual(await violations(resource), expected);
        });
    }
});
