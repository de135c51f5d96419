// Tests of the policy pack against both stacks and bad resources.
import * as assert from "assert";
import { PolicyResource, ResourceValidationArgs, ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";
import { allPolicies, resourcePolicies, stackPolicies } from "../policy/policies";
import { CapturedResource, ProgramEvaluation, evaluate, stackConfig, withFields as withFieldsOf } from "./harness";

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
async function violations(resource: Parameters<typeof policyArgs>[0], policies: ResourceValidationPolicy[] = resourcePolicies): Promise<string[]> {
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
            fake("aws:lb/loadBalancer:LoadBalancer", { loadBalancerType: "application", dropInvalidHeaderFields: false, accessLogs: { enabled: true, bucket: "logs" } }),
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
                "shiftwise-database-monitoring: set performanceInsightsEnabled: true",
                "shiftwise-database-monitoring: set monitoringInterval (1 to 60 seconds) and a monitoringRoleArn",
                "shiftwise-database-monitoring: set caCertIdentifier to a current CA, e.g. rds-ca-rsa2048-g1",
                "shiftwise-database-monitoring: export the engine's logs with enabledCloudwatchLogsExports",
            ],
        ],
        [
            "an unencrypted topic",
            fake("aws:sns/topic:Topic", {}),
            ["shiftwise-encrypted-topic: set kmsMasterKeyId: use a customer-managed KMS key whose key policy lets cloudwatch.amazonaws.com call kms:Decrypt and kms:GenerateDataKey*"],
        ],
        [
            "a topic on the AWS managed SNS key",
            fake("aws:sns/topic:Topic", { kmsMasterKeyId: "alias/aws/sns" }),
            ["shiftwise-encrypted-topic: kmsMasterKeyId is the AWS managed alias/aws/sns, to which CloudWatch alarms cannot publish; use a customer-managed KMS key whose key policy lets cloudwatch.amazonaws.com call kms:Decrypt and kms:GenerateDataKey*"],
        ],
        [
            "a password in a plain environment variable",
            fake("aws:ecs/taskDefinition:TaskDefinition", { containerDefinitions: JSON.stringify([{ name: "shop", readonlyRootFilesystem: true, environment: [{ name: "DB_PASSWORD", value: "x" }] }]) }),
            ["shiftwise-no-plaintext-container-secrets: container shop: DB_PASSWORD is a plain environment variable; move it to secrets (Secrets Manager or SSM)"],
        ],
        [
            "a Deployment whose pod may run as root, escalate, keep capabilities and share the host network",
            fake("kubernetes:apps/v1:Deployment", {
                spec: { template: { spec: { hostNetwork: true, securityContext: { runAsUser: 0 }, containers: [{ name: "app", securityContext: { privileged: true } }] } } },
            }),
            [
                "shiftwise-restricted-pods: shares the node's network, PID or IPC namespace",
                "shiftwise-restricted-pods: container app: set runAsNonRoot: true",
                "shiftwise-restricted-pods: container app: runs as uid 0",
                "shiftwise-restricted-pods: container app: set allowPrivilegeEscalation: false",
                "shiftwise-restricted-pods: container app: must not be privileged",
                "shiftwise-restricted-pods: container app: drop ALL capabilities",
                "shiftwise-restricted-pods: container app: set seccompProfile RuntimeDefault",
            ],
        ],
    ];
    for (const [name, resource, expected] of CASES) {
        it(`reports ${name}`, async () => {
            assert.deepStrictEqual(await violations(resource), expected);
        });
    }
});

/** A resource of a graph as the policy tests edit it: plain data, so a break never touches the cached evaluation. */
type GraphResource = Pick<CapturedResource, "type" | "name" | "urn" | "inputs"> & { options: Partial<CapturedResource["options"]> };

function graphOf(evaluation: ProgramEvaluation): GraphResource[] {
    return evaluation.resources
        .filter((resource) => resource.custom)
        .map((resource) => ({ ...structuredClone({ type: resource.type, name: resource.name, urn: resource.urn, inputs: resource.inputs }), options: { ...resource.options } }));
}

/** The resources as the policy engine hands them to stack policies, with their dependencies resolved to resources. */
function policyResources(graph: GraphResource[]): PolicyResource[] {
    const byUrn = new Map<string, PolicyResource>();
    const resources = graph.map((resource) => {
        const args = policyArgs(resource);
        const policyResource = { type: args.type, props: args.props, urn: args.urn, name: args.name, opts: args.opts, dependencies: [], propertyDependencies: {}, isType: args.isType, asType: args.asType } as unknown as PolicyResource;
        byUrn.set(resource.urn, policyResource);
        return policyResource;
    });
    graph.forEach((resource, i) => {
        resources[i].dependencies = (resource.options.dependencies ?? []).flatMap((urn) => byUrn.get(urn) ?? []);
    });
    return resources;
}

/** Every violation of every policy in a whole graph, as "level policy: message". */
async function graphViolations(graph: GraphResource[]): Promise<string[]> {
    const found: string[] = [];
    for (const resource of graph) {
        for (const policy of resourcePolicies) {
            for (const validate of [policy.validateResource ?? []].flat()) {
                try {
                    await validate(policyArgs(resource), (message) => found.push(`${policy.enforcementLevel} ${policy.name}: ${resource.name}: ${message}`));
                } catch (error) {
                    if (!(error instanceof NotApplicable)) throw error;
                }
            }
        }
    }
    const resources = policyResources(graph);
    for (const policy of stackPolicies as StackValidationPolicy[]) {
        await policy.validateStack(
            { resources, stackTags: new Map(), getConfig: <T extends object>() => ({}) as T, notApplicable: (reason?: string): never => { throw new NotApplicable(reason); } },
            (message) => found.push(`${policy.enforcementLevel} ${policy.name}: ${message}`),
        );
    }
    return found;
}

function named(graph: GraphResource[], type: string, name?: string): GraphResource {
    const matches = graph.filter((resource) => resource.type === type && (name === undefined || resource.name === name));
    assert.strictEqual(matches.length, 1, `expected one ${type} ${name ?? ""}, found ${matches.map((m) => m.name).join(", ")}`);
    return matches[0];
}

function without(graph: GraphResource[], type: string): GraphResource[] {
    return graph.filter((resource) => resource.type !== type);
}

const TASK = "aws:ecs/taskDefinition:TaskDefinition";
const DB = "aws:rds/instance:Instance";

function editContainers(task: GraphResource, edit: (container: Record<string, unknown>) => void): void {
    const containers = JSON.parse(String(task.inputs.containerDefinitions)) as Record<string, unknown>[];
    containers.forEach(edit);
    task.inputs.containerDefinitions = JSON.stringify(containers);
}

function editJson(resource: GraphResource, key: string, edit: (document: any) => void): void {
    const document = JSON.parse(String(resource.inputs[key]));
    edit(document);
    resource.inputs[key] = JSON.stringify(document);
}

describe("CrossGuard policies on whole graphs", () => {
    it("every policy of the pack is a resource or a stack policy, and the WAF and plaintext-secret ones stay advisory", () => {
        assert.strictEqual(allPolicies.length, resourcePolicies.length + stackPolicies.length);
        const advisory = allPolicies.filter((policy) => policy.enforcementLevel === "advisory").map((policy) => policy.name).sort();
        assert.deepStrictEqual(advisory, ["shiftwise-no-plaintext-container-secrets", "shiftwise-waf-on-public-alb"]);
    });

    it("the production stack violates nothing, mandatory or advisory", async () => {
        assert.deepStrictEqual(await graphViolations(graphOf(await evaluate(stackConfig("production"), "production"))), []);
    });

    for (const stack of ["eks-staging", "eks-production"]) {
        it(`the ${stack} stack (Kubernetes colours) violates no mandatory policy; the advisory WAF policy notes its public ALB`, async () => {
            assert.deepStrictEqual(await graphViolations(graphOf(await evaluate(stackConfig(stack), stack))), [
                "advisory shiftwise-waf-on-public-alb: internet-facing load balancer shop has no web ACL; set shiftwise:service.webAclArn",
            ]);
        });
    }

    it("the staging stack violates no mandatory policy; the advisory WAF policy notes its public ALB", async () => {
        assert.deepStrictEqual(await graphViolations(graphOf(await evaluate(stackConfig("staging")))), [
            "advisory shiftwise-waf-on-public-alb: internet-facing load balancer shop has no web ACL; set shiftwise:service.webAclArn",
        ]);
    });

    /** Each break edits the production graph in one point and must cost exactly one violation. */
    const BREAKS: [string, (graph: GraphResource[]) => GraphResource[], string][] = [
        [
            "access logs off",
            (g) => { delete named(g, "aws:lb/loadBalancer:LoadBalancer").inputs.accessLogs; return g; },
            "mandatory shiftwise-alb-access-logs: shop: set accessLogs { enabled: true, bucket } so every request is recorded in S3",
        ],
        [
            "a log bucket without its public access block",
            (g) => without(g, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"),
            "mandatory shiftwise-log-bucket-hardened: bucket shop-logs needs a BucketPublicAccessBlock with all four settings true",
        ],
        [
            "a log bucket policy that admits plain HTTP",
            (g) => { editJson(named(g, "aws:s3/bucketPolicy:BucketPolicy"), "policy", (p) => p.Statement.shift()); return g; },
            'mandatory shiftwise-log-bucket-hardened: bucket shop-logs needs a BucketPolicy that denies every request with aws:SecureTransport "false"',
        ],
        [
            "a log bucket that keeps logs forever",
            (g) => without(g, "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration"),
            "mandatory shiftwise-log-bucket-hardened: bucket shop-logs needs a BucketLifecycleConfiguration that expires objects",
        ],
        [
            "a log group without a customer-managed key",
            (g) => { delete named(g, "aws:cloudwatch/logGroup:LogGroup", "shop-blue").inputs.kmsKeyId; return g; },
            "mandatory shiftwise-encrypted-log-groups: log group /shiftwise/production/shop/blue: set kmsKeyId to a customer-managed KMS key",
        ],
        [
            "a key that stops rotating",
            (g) => { named(g, "aws:kms/key:Key", "shop-key").inputs.enableKeyRotation = false; return g; },
            "mandatory shiftwise-kms-key-rotation: shop-key: set enableKeyRotation: true",
        ],
        [
            "a writable root filesystem without the opt-out",
            (g) => { editContainers(named(g, TASK, "shop-green"), (c) => (c.readonlyRootFilesystem = false)); return g; },
            "mandatory shiftwise-read-only-root-filesystem: shop-green: container shop: set readonlyRootFilesystem: true and mount a scratch volume for what it writes (or opt the colour out, which tags the task definition shiftwise:writable-root-filesystem)",
        ],
        [
            "a privileged container",
            (g) => { editContainers(named(g, TASK, "shop-blue"), (c) => (c.privileged = true)); return g; },
            "mandatory shiftwise-unprivileged-containers: shop-blue: container shop: remove privileged: true",
        ],
        [
            "a container configured to run as root",
            (g) => { editContainers(named(g, TASK, "shop-blue"), (c) => (c.user = "0:0")); return g; },
            "mandatory shiftwise-unprivileged-containers: shop-blue: container shop: runs as root; remove user or name an unprivileged one",
        ],
        [
            "Performance Insights off",
            (g) => { named(g, DB).inputs.performanceInsightsEnabled = false; return g; },
            "mandatory shiftwise-database-monitoring: shop-db: set performanceInsightsEnabled: true",
        ],
        [
            "Performance Insights on the AWS managed key",
            (g) => { delete named(g, DB).inputs.performanceInsightsKmsKeyId; return g; },
            "mandatory shiftwise-database-monitoring: shop-db: set performanceInsightsKmsKeyId to the stack's customer-managed key",
        ],
        [
            "Enhanced Monitoring off",
            (g) => { named(g, DB).inputs.monitoringInterval = 0; return g; },
            "mandatory shiftwise-database-monitoring: shop-db: set monitoringInterval (1 to 60 seconds) and a monitoringRoleArn",
        ],
        [
            "the old rds-ca-2019 CA",
            (g) => { named(g, DB).inputs.caCertIdentifier = "rds-ca-2019"; return g; },
            "mandatory shiftwise-database-monitoring: shop-db: set caCertIdentifier to a current CA, e.g. rds-ca-rsa2048-g1",
        ],
        [
            "no log exports",
            (g) => { named(g, DB).inputs.enabledCloudwatchLogsExports = []; return g; },
            "mandatory shiftwise-database-monitoring: shop-db: export the engine's logs with enabledCloudwatchLogsExports",
        ],
        [
            "TLS not forced by the parameter group",
            (g) => { named(g, "aws:rds/parameterGroup:ParameterGroup").inputs.parameters = [{ name: "rds.force_ssl", value: "0", applyMethod: "immediate" }]; return g; },
            "mandatory shiftwise-database-tls: database shop-db: use a parameter group of the stack with rds.force_ssl = 1, so clients cannot connect without TLS",
        ],
        [
            "the web ACL removed from the public ALB",
            (g) => without(g, "aws:wafv2/webAclAssociation:WebAclAssociation"),
            "advisory shiftwise-waf-on-public-alb: internet-facing load balancer shop has no web ACL; set shiftwise:service.webAclArn",
        ],
        [
            "a role policy that allows every S3 action",
            (g) => { editJson(named(g, "aws:iam/rolePolicy:RolePolicy", "shop-db-monitoring"), "policy", (p) => (p.Statement[0].Action = ["s3:*"])); return g; },
            "mandatory shiftwise-iam-least-privilege: shop-db-monitoring: statement MetricsLogGroup allows every action (s3:*); list the actions it needs",
        ],
        [
            "a role policy on every resource",
            (g) => { editJson(named(g, "aws:iam/rolePolicy:RolePolicy", "shop-db-monitoring"), "policy", (p) => (p.Statement[1].Resource = "*")); return g; },
            'mandatory shiftwise-iam-least-privilege: shop-db-monitoring: statement MetricsLogStreams applies to every resource; name the resources (only ecr:GetAuthorizationToken, elasticloadbalancing:DescribeListeners, elasticloadbalancing:DescribeTargetHealth need "*")',
        ],
        [
            "a pull grant on every repository of every account",
            (g) => { editJson(named(g, "aws:iam/rolePolicy:RolePolicy", "shop-blue-pull"), "policy", (p) => (p.Statement[0].Resource = "arn:aws:ecr:*:*:repository/*")); return g; },
            'mandatory shiftwise-iam-least-privilege: shop-blue-pull: statement PullColourImage applies to every resource; name the resources (only ecr:GetAuthorizationToken, elasticloadbalancing:DescribeListeners, elasticloadbalancing:DescribeTargetHealth need "*")',
        ],
    ];
    for (const [what, edit, expected] of BREAKS) {
        it(`reports ${what}, and only that`, async () => {
            const graph = edit(graphOf(await evaluate(stackConfig("production"), "production")));
            assert.deepStrictEqual(await graphViolations(graph), [expected]);
        });
    }

    it("accepts a colour's documented opt-out from the read-only root filesystem", async () => {
        const evaluation = await evaluate(withFieldsOf(stackConfig("production"), "green", { readonlyRootFilesystem: false }), "production");
        assert.deepStrictEqual(await graphViolations(graphOf(evaluation)), []);
    });

    it("reports a created VPC without flow logs, and only that", async () => {
        const graph = without(graphOf(await evaluate(stackConfig("staging"))), "aws:ec2/flowLog:FlowLog");
        const found = (await graphViolations(graph)).filter((violation) => violation.startsWith("mandatory"));
        assert.deepStrictEqual(found, ["mandatory shiftwise-vpc-flow-logs: VPC shop-net has no flow log of ALL traffic; add an aws.ec2.FlowLog"]);
    });

    it("reports a log group whose key does not admit CloudWatch Logs, and only that", async () => {
        const graph = graphOf(await evaluate(stackConfig("staging")));
        editJson(named(graph, "aws:kms/key:Key", "shop-key"), "policy", (p) => (p.Statement = p.Statement.filter((s: any) => s.Sid !== "CloudWatchLogsEncrypts")));
        const found = (await graphViolations(graph)).filter((violation) => violation.startsWith("mandatory"));
        const groups = graph.filter((r) => r.type === "aws:cloudwatch/logGroup:LogGroup").map((r) => r.inputs.name);
        assert.deepStrictEqual(found, groups.map((name) => `mandatory shiftwise-encrypted-log-groups: log group ${name}: key shop-key must admit logs.<region>.amazonaws.com in its key policy`));
    });
});
