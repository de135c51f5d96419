// The platform-neutral part of one colour: its target group, its security group and the inputs its alarms read.
import * as ec2 from "@pulumi/aws/ec2";
import * as lb from "@pulumi/aws/lb";
import * as vpc from "@pulumi/aws/vpc";
import * as pulumi from "@pulumi/pulumi";

/** ALB health check settings for a colour's target group. */
export interface HealthCheckArgs {
    /** Path the ALB requests, e.g. `/healthz`. */
    readonly path: string;
    /** Seconds between checks. @default 15 */
    readonly intervalSeconds?: number;
    /** Seconds before a check fails. @default 5 */
    readonly timeoutSeconds?: number;
    /** Consecutive successes before a target is healthy. @default 3 */
    readonly healthyThreshold?: number;
    /** Consecutive failures before a target is unhealthy. @default 3 */
    readonly unhealthyThreshold?: number;
    /** HTTP codes that count as healthy. @default "200-299" */
    readonly matcher?: string;
}

/** Seconds the ALB waits before deregistering a draining target, when nothing else is said. */
export const DEFAULT_DEREGISTRATION_DELAY_SECONDS = 30;

/**
 * A CloudWatch metric that counts the targets a colour is expected to have
 * registered. The healthy-hosts alarm compares it with the target group's
 * `HealthyHostCount`; it must come from the platform (never from the
 * config), so a count change or a weight step leaves the alarm untouched.
 */
export interface ExpectedTargetsMetric {
    readonly namespace: string;
    readonly metricName: string;
    /** The statistic taken per minute, e.g. `Maximum`. */
    readonly stat: string;
    readonly dimensions: Record<string, pulumi.Input<string>>;
    /** What the number is, for alarm descriptions: `the ECS service's desired tasks`. */
    readonly description: string;
}

/** What the rest of the program reads from a colour, whichever platform runs it. */
export interface ColourWorkload {
    readonly target: ColourTarget;
    /** The live count the healthy-hosts alarm expects. */
    readonly expectedTargets: ExpectedTargetsMetric;
    /** The platform's name for the colour's workload: the ECS service or the Kubernetes Deployment. */
    readonly workloadName: pulumi.Output<string>;
}

export interface ColourTargetArgs {
    /** `blue` or `green`; tags carry it. */
    readonly colour: string;
    /** The service name, e.g. `shop`; descriptions carry it. */
    readonly serviceName: string;
    /** The port the targets listen on. */
    readonly port: number;
    readonly vpcId: pulumi.Input<string>;
    readonly healthCheck: HealthCheckArgs;
    /** Seconds the ALB waits before deregistering a draining target. @default 30 */
    readonly deregistrationDelaySeconds?: number;
    /**
     * The security group the colour's targets already sit in (on Kubernetes:
     * the cluster, node or pod security group). When set, no security group is
     * created and the colour adopts this one. @default a new group per colour
     */
    readonly existingSecurityGroupId?: pulumi.Input<string>;
    /**
     * The component these resources were direct children of before this
     * component existed (the ECS `ColourService`): aliases keep their URNs, so
     * existing stacks adopt them in place instead of replacing the target group
     * under the listener. @default no aliases
     */
    readonly formerParent?: pulumi.Resource;
    /** Tags for every resource. @default {} */
    readonly tags?: Record<string, string>;
}

/**
 * The parts of a colour that do not depend on where it runs: the `ip` target
 * group the weighted listener forwards to, and the security group of its
 * targets (a new one with outbound access only, or an adopted one). ECS and
 * Kubernetes colours both build on it, so the two platforms cannot drift on
 * health checks, draining or what the alarms read.
 */
export class ColourTarget extends pulumi.ComponentResource {
    public readonly targetGroup: lb.TargetGroup;
    /** The created security group; undefined when an existing group was adopted. */
    public readonly securityGroup?: ec2.SecurityGroup;
    /** The id of the targets' security group, created or adopted. */
    public readonly securityGroupId: pulumi.Output<string>;
    /** Seconds the ALB drains a target before deregistering it: the workload's shutdown must outlast it. */
    public readonly deregistrationDelaySeconds: number;

    constructor(name: string, args: ColourTargetArgs, opts?: pulumi.ComponentResourceOptions) {
        super("shiftwise:colour:ColourTarget", name, {}, opts);
        const tags = { ...args.tags, "shiftwise:colour": args.colour };
        const healthCheck = args.healthCheck;
        const formerParent = args.formerParent;
        // The former parent by URN, the same alias as by the resource: Pulumi searches an alias's value for
        // unknowns, and from a resource that search walks every resource reachable from it.
        const childOptions = (): pulumi.CustomResourceOptions => ({ parent: this, ...(formerParent ? { aliases: [{ parent: formerParent.urn }] } : {}) });
        this.deregistrationDelaySeconds = args.deregistrationDelaySeconds ?? DEFAULT_DEREGISTRATION_DELAY_SECONDS;

        this.targetGroup = new lb.TargetGroup(name, {
            port: args.port,
            protocol: "HTTP",
            protocolVersion: "HTTP1",
            targetType: "ip",
            vpcId: args.vpcId,
            deregistrationDelay: this.deregistrationDelaySeconds,
            loadBalancingAlgorithmType: "round_robin",
            healthCheck: {
                enabled: true,
                protocol: "HTTP",
                port: "traffic-port",
                path: healthCheck.path,
                interval: healthCheck.intervalSeconds ?? 15,
                timeout: healthCheck.timeoutSeconds ?? 5,
                healthyThreshold: healthCheck.healthyThreshold ?? 3,
                unhealthyThreshold: healthCheck.unhealthyThreshold ?? 3,
                matcher: healthCheck.matcher ?? "200-299",
            },
            // Stickiness between colours is decided on the listener; within a colour requests spread freely.
            stickiness: { enabled: false, type: "lb_cookie" },
            tags,
        }, childOptions());

        if (args.existingSecurityGroupId !== undefined) {
            this.securityGroupId = pulumi.output(args.existingSecurityGroupId);
        } else {
            this.securityGroup = new ec2.SecurityGroup(name, {
                vpcId: args.vpcId,
                description: `${args.serviceName} ${args.colour} tasks; ingress only from the load balancer`,
                tags: { ...tags, Name: name },
            }, childOptions());
            // Targets pull images, write logs and call their own dependencies through NAT.
            new vpc.SecurityGroupEgressRule(`${name}-egress`, {
                securityGroupId: this.securityGroup.id,
                ipProtocol: "-1",
                cidrIpv4: "0.0.0.0/0",
                description: "outbound through NAT",
            }, childOptions());
            this.securityGroupId = this.securityGroup.id;
        }

        this.registerOutputs({
            targetGroup: this.targetGroup,
            securityGroup: this.securityGroup,
            securityGroupId: this.securityGroupId,
        });
    }
}
