// The project's policies, exported as plain arrays so tests can run them offline.
import * as ec2 from "@pulumi/aws/ec2";
import * as ecs from "@pulumi/aws/ecs";
import * as lb from "@pulumi/aws/lb";
import * as rds from "@pulumi/aws/rds";
import * as sns from "@pulumi/aws/sns";
import * as vpc from "@pulumi/aws/vpc";
import { ResourceValidationPolicy, StackValidationPolicy, validateResourceOfType } from "@pulumi/policy";
import { secureByDefaultResourcePolicies, secureByDefaultStackPolicies } from "./secureByDefault";

/**
 * shiftwise's CrossGuard policies, as plain arrays so tests can run them
 * offline (constructing a `PolicyPack` starts a gRPC server). `index.ts` in
 * this folder packs them for `pulumi preview --policy-pack policy`.
 *
 * `@pulumi/awsguard` is not used: its load-balancer rules never match
 * `aws.lb.*` resources in @pulumi/aws v7.
 */

/** Ports the internet may reach: the ALB's HTTP (which only redirects) and HTTPS. */
const PUBLIC_PORTS = [80, 443];
const OPEN_TO_ALL = ["0.0.0.0/0", "::/0"];

function openPortViolation(fromPort: unknown, toPort: unknown): string | undefined {
    const from = Number(fromPort);
    const to = Number(toPort);
    if (from === to && PUBLIC_PORTS.includes(from)) return undefined;
    return `opens ports ${fromPort ?? "all"}-${toPort ?? "all"} to the internet; only 80 and 443 on the load balancer may be open to 0.0.0.0/0`;
}

/** Invariant 5 of DESIGN.md: secure by default. */
export const securityPolicies: ResourceValidationPolicy[] = [
    {
        name: "shiftwise-https-tls13",
        description: "HTTPS listeners use an ELB TLS 1.3 security policy.",
        enforcementLevel: "mandatory",
        validateResource: validateResourceOfType(lb.Listener, (listener, _args, report) => {
            if (listener.protocol === "HTTPS" && !String(listener.sslPolicy ?? "").startsWith("ELBSecurityPolicy-TLS13-")) {
                report(`HTTPS listener on port ${listener.port} uses ${listener.sslPolicy ?? "the default policy"}; use ELBSecurityPolicy-TLS13-1-2-2021-06`);
            }
        }),
    },
    {
        name: "shiftwise-http-redirects-only",
        description: "Plain-HTTP listeners only redirect to HTTPS.",
        enforcementLevel: "mandatory",
        validateResource: validateResourceOfType(lb.Listener, (listener, _args, report) => {
            if (listener.protocol !== "HTTP") return;
            const actions = listener.defaultActions ?? [];
            const redirectsToHttps = actions.length > 0 && actions.every((action) => action.type === "redirect" && action.redirect?.protocol === "HTTPS");
            if (!redirectsToHttps) report(`HTTP listener on port ${listener.port} must only redirect to HTTPS`);
        }),
    },
    {
        name: "shiftwise-alb-drops-invalid-headers",
        description: "Application load balancers drop requests with invalid header fields.",
        enforcementLevel: "mandatory",
        validateResource: validateResourceOfType(lb.LoadBalancer, (loadBalancer, _args, report) => {
            if ((loadBalancer.loadBalancerType ?? "application") === "application" && loadBalancer.dropInvalidHeaderFields !== true) {
                report("set dropInvalidHeaderFields: true so request smuggling through malformed headers is rejected at the edge");
            }
        }),
    },
    {
        name: "shiftwise-no-open-ingress",
        description: "Nothing but ports 80 and 443 is open to the internet.",
        enforcementLevel: "mandatory",
        validateResource: [
            validateResourceOfType(vpc.SecurityGroupIngressRule, (rule, _args, report) => {
                if (OPEN_TO_ALL.includes(String(rule.cidrIpv4)) || OPEN_TO_ALL.includes(String(rule.cidrIpv6))) {
                    const problem = rule.ipProtocol === "-1" ? "opens all ports to the internet" : openPortViolation(rule.fromPort, rule.toPort);
                    if (problem) report(problem);
                }
            }),
            validateResourceOfType(ec2.SecurityGroup, (group, _args, report) => {
                for (const ingress of group.ingress ?? []) {
                    const cidrs = [...(ingress.cidrBlocks ?? []), ...(ingress.ipv6CidrBlocks ?? [])];
                    if (cidrs.some((cidr) => OPEN_TO_ALL.includes(cidr))) {
                        const problem = openPortViolation(ingress.fromPort, ingress.toPort);
                        if (problem) report(problem);
                    }
                }
            }),
        ],
    },
    {
        name: "shiftwise-private-tasks",
        description: "ECS tasks get no public IP; they sit in private subnets behind the load balancer.",
        enforcementLevel: "mandatory",
        validateResource: validateResourceOfType(ecs.Service, (service, _args, report) => {
            if (service.networkConfiguration?.assignPublicIp === true) report("set networkConfiguration.assignPublicIp: false");
        }),
    },
    {
        name: "shiftwise-database-encrypted-private",
        description: "RDS instances are encrypted, not public, and their master password is managed by AWS.",
        enforcementLevel: "mandatory",
        validateResource: validateResourceOfType(rds.Instance, (database, _args, report) => {
            if (database.storageEncrypted !== true) report("set storageEncrypted: true");
            if (database.publiclyAccessible === true) report("set publiclyAccessible: false");
            if (database.password !== undefined || database.manageMasterUserPassword !== true) {
                report("set manageMasterUserPassword: true and no password, so the password lives in Secrets Manager, not in config or state");
            }
        }),
    },
    {
        name: "shiftwise-database-final-snapshot",
        description: "Deleting an RDS instance leaves a final snapshot.",
        enforcementLevel: "mandatory",
        validateResource: validateResourceOfType(rds.Instance, (database, _args, report) => {
            if (database.skipFinalSnapshot === true || !database.finalSnapshotIdentifier) {
                report("set skipFinalSnapshot: false and a finalSnapshotIdentifier");
            }
        }),
    },
    {
        name: "shiftwise-protected-database",
        description: "An RDS instance with deletion protection is also protected in Pulumi, so `pulumi destroy` cannot remove it either.",
        enforcementLevel: "mandatory",
        validateResource: validateResourceOfType(rds.Instance, (database, args, report) => {
            if (database.deletionProtection === true && !args.opts.protect) report("deletionProtection is on but the resource option protect is off");
        }),
    },
    {
        name: "shiftwise-encrypted-topic",
        description: "SNS topics are encrypted with a customer-managed KMS key that CloudWatch alarms can use (checkov CKV_AWS_26).",
        enforcementLevel: "mandatory",
        validateResource: validateResourceOfType(sns.Topic, (topic, _args, report) => {
            // The AWS managed key's policy cannot grant cloudwatch.amazonaws.com, so alarms could not publish (README, Notifications).
            const advice = "use a customer-managed KMS key whose key policy lets cloudwatch.amazonaws.com call kms:Decrypt and kms:GenerateDataKey*";
            if (!topic.kmsMasterKeyId) report(`set kmsMasterKeyId: ${advice}`);
            else if (String(topic.kmsMasterKeyId).endsWith("alias/aws/sns")) {
                report(`kmsMasterKeyId is the AWS managed alias/aws/sns, to which CloudWatch alarms cannot publish; ${advice}`);
            }
        }),
    },
    {
        name: "shiftwise-no-plaintext-container-secrets",
        description: "Container environment variables that look like credentials come from Secrets Manager (`secrets`), not plain `environment`.",
        enforcementLevel: "advisory",
        validateResource: validateResourceOfType(ecs.TaskDefinition, (task, _args, report) => {
            const containers = JSON.parse(String(task.containerDefinitions ?? "[]")) as { name: string; environment?: { name: string }[] }[];
            for (const container of containers) {
                for (const variable of container.environment ?? []) {
                    if (/(PASSWORD|SECRET|TOKEN|PRIVATE_KEY|API_KEY)/i.test(variable.name)) {
                        report(`container ${container.name}: ${variable.name} is a plain environment variable; move it to secrets (Secrets Manager or SSM)`);
                    }
                }
            }
        }),
    },
];

/** The Kubernetes workload type the colours run as. */
const DEPLOYMENT_TYPE = "kubernetes:apps/v1:Deployment";

/** What a restricted pod (the Pod Security Standards' `restricted` profile) must not do, one sentence per breach. */
export function podSecurityProblems(podSpec: Record<string, any> | undefined): string[] {
    const problems: string[] = [];
    const pod = podSpec ?? {};
    if (pod.hostNetwork || pod.hostPID || pod.hostIPC) problems.push("shares the node's network, PID or IPC namespace");
    const podContext = pod.securityContext ?? {};
    for (const container of [...(pod.containers ?? []), ...(pod.initContainers ?? [])]) {
        const context = container.securityContext ?? {};
        const name = `container ${container.name}`;
        if ((context.runAsNonRoot ?? podContext.runAsNonRoot) !== true) problems.push(`${name}: set runAsNonRoot: true`);
        if ((context.runAsUser ?? podContext.runAsUser) === 0) problems.push(`${name}: runs as uid 0`);
        if (context.allowPrivilegeEscalation !== false) problems.push(`${name}: set allowPrivilegeEscalation: false`);
        if (context.privileged === true) problems.push(`${name}: must not be privileged`);
        if (!(context.capabilities?.drop ?? []).includes("ALL")) problems.push(`${name}: drop ALL capabilities`);
        const seccomp = context.seccompProfile?.type ?? podContext.seccompProfile?.type;
        if (seccomp !== "RuntimeDefault" && seccomp !== "Localhost") problems.push(`${name}: set seccompProfile RuntimeDefault`);
    }
    return problems;
}

/** Invariant 5 on Kubernetes: the colours' pods run restricted. */
export const kubernetesPolicies: ResourceValidationPolicy[] = [
    {
        name: "shiftwise-restricted-pods",
        description: "Deployments run restricted pods: non-root, no privilege escalation, no capabilities, a seccomp profile, no host namespaces.",
        enforcementLevel: "mandatory",
        validateResource: (args, report) => {
            if (args.type !== DEPLOYMENT_TYPE) return;
            for (const problem of podSecurityProblems(args.props.spec?.template?.spec)) report(problem);
        },
    },
];

/** The weight facts of DESIGN.md: a step is an in-place listener update only when both weights and stickiness are explicit. */
export const trafficPolicies: ResourceValidationPolicy[] = [
    {
        name: "shiftwise-explicit-forward-weights",
        description: "A weighted forward action names every target group's weight and an explicit stickiness block.",
        enforcementLevel: "mandatory",
        validateResource: validateResourceOfType(lb.Listener, (listener, args, report) => {
            for (const action of listener.defaultActions ?? []) {
                const forward = action.forward;
                if (action.type !== "forward" || !forward) continue;
                if (forward.targetGroups.some((group) => group.weight === undefined)) report("set a weight on every target group of the forward action");
                if (!forward.stickiness) report("set forward.stickiness explicitly, so AWS and the state agree and a step shows no spurious diff");
            }
            if ((args.opts.ignoreChanges ?? []).some((path) => path.startsWith("defaultActions"))) {
                report("never ignore changes to defaultActions: the weights must follow the stack config (pulumi-aws issues 5772 and 5798)");
            }
        }),
    },
];

/** Every resource policy. */
export const resourcePolicies: ResourceValidationPolicy[] = [...securityPolicies, ...secureByDefaultResourcePolicies, ...kubernetesPolicies, ...trafficPolicies];

/** Every stack policy: rules that relate resources (a bucket and its public access block, a VPC and its flow log). */
export const stackPolicies: StackValidationPolicy[] = [...secureByDefaultStackPolicies];

/** Every shiftwise policy, as the pack loads them. */
export const allPolicies: (ResourceValidationPolicy | StackValidationPolicy)[] = [...resourcePolicies, ...stackPolicies];
