// The ALB with its weighted HTTPS listener, HTTP redirect and test listener.
import * as ec2 from "@pulumi/aws/ec2";
import * as lb from "@pulumi/aws/lb";
import * as vpc from "@pulumi/aws/vpc";
import * as wafv2 from "@pulumi/aws/wafv2";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";

/** The request header the test listener routes on; its value is the colour. */
export const TEST_HEADER = "x-shiftwise-colour";

/** The request header that must carry the stack's test token for the test listener to forward at all. */
export const TEST_TOKEN_HEADER = "x-shiftwise-test-token";

/** What the listener needs to know about one colour. */
export interface ListenerColourArgs {
    /** The colour's target group ARN. */
    readonly targetGroupArn: pulumi.Input<string>;
    /** The colour's security group, which gets an ingress rule from the ALB on the app port. @default none: see `targetSecurityGroups` */
    readonly securityGroupId?: pulumi.Input<string>;
    /** Percent of production traffic forwarded to this colour, 0 to 100. */
    readonly weight: pulumi.Input<number>;
}

/** A security group the ALB sends requests to. */
export interface TargetSecurityGroup {
    /** Names its rules (`<name>-to-<key>`, `<name>-from-alb-<key>`) and descriptions, e.g. `blue`. */
    readonly key: string;
    readonly securityGroupId: pulumi.Input<string>;
    /** Who sits in the group, for the egress rule's description. @default "the <key> tasks" */
    readonly description?: string;
    /**
     * Declare the group's ingress rule from the ALB here. False when something
     * else owns that rule: the AWS Load Balancer Controller adds it from a
     * TargetGroupBinding's networking rules, and two owners of one rule fight.
     * @default true
     */
    readonly declareIngress?: boolean;
}

export interface WeightedListenerArgs {
    readonly vpcId: pulumi.Input<string>;
    /** Subnets for the ALB, in at least two AZs. */
    readonly publicSubnetIds: pulumi.Input<pulumi.Input<string>[]>;
    /** ACM certificate for the HTTPS and test listeners. */
    readonly certificateArn: pulumi.Input<string>;
    /** ELB TLS policy. @default "ELBSecurityPolicy-TLS13-1-2-2021-06" */
    readonly sslPolicy?: pulumi.Input<string>;
    readonly blue: ListenerColourArgs;
    readonly green: ListenerColourArgs;
    /** Port the targets listen on. */
    readonly appPort: number;
    /** The security groups the ALB may reach on `appPort`. @default one per colour, from `blue.securityGroupId` and `green.securityGroupId` */
    readonly targetSecurityGroups?: readonly TargetSecurityGroup[];
    /** Networks that may reach ports 80 and 443. @default ["0.0.0.0/0"] */
    readonly ingressCidrs?: string[];
    /** Port of the test listener that reaches each colour directly. @default 8443 */
    readonly testPort?: number;
    /** Networks that may reach the test listener; none means only from inside the VPC's peers you add later. @default [] */
    readonly testCidrs?: string[];
    /** Seconds a client stays on the colour it first reached; 0 turns stickiness off. @default 0 */
    readonly stickySeconds?: pulumi.Input<number>;
    /** Refuse to delete the ALB (production). @default false */
    readonly deletionProtection?: boolean;
    /** Seconds an idle connection stays open. @default 60 */
    readonly idleTimeoutSeconds?: number;
    /**
     * Where the load balancer writes its access logs (S3 bucket and key prefix), and what it waits for before
     * switching them on (AWS checks the bucket policy). Unset leaves access logs off. @default undefined
     */
    readonly accessLogs?: AccessLogsArgs;
    /** ARN of an existing regional AWS WAF web ACL to associate with the load balancer. @default undefined (no web ACL) */
    readonly webAclArn?: pulumi.Input<string>;
    /**
     * Maintenance mode: the forwarding listener answers every request with 503
     * and this HTML page instead of forwarding. The weights, the target groups
     * and the test listener stay as they are, so turning it on or off changes
     * only `listener`, and the test path still reaches both colours.
     * @default undefined (forward by weight)
     */
    readonly maintenance?: { readonly messageBody: pulumi.Input<string> };
    /** Tags for every resource. @default {} */
    readonly tags?: Record<string, string>;
}

/** The S3 destination of the load balancer's access logs. */
export interface AccessLogsArgs {
    /** Bucket name, in the load balancer's region. */
    readonly bucket: pulumi.Input<string>;
    /** Key prefix; must not contain `AWSLogs`. @default "" (the bucket's root) */
    readonly prefix?: pulumi.Input<string>;
    /** Resources to wait for, such as the bucket policy that lets ELB write. @default [] */
    readonly dependsOn?: pulumi.Resource[];
}

/**
 * The Application Load Balancer in front of both colours: an HTTPS listener
 * whose default action forwards to both target groups by weight, an HTTP
 * listener that only redirects, and a test listener that reaches each colour
 * by the `x-shiftwise-colour` header, independent of the weights. A weight
 * step changes only `listener`.
 */
export class WeightedListener extends pulumi.ComponentResource {
    public readonly securityGroup: ec2.SecurityGroup;
    public readonly loadBalancer: lb.LoadBalancer;
    /** The forwarding listener: the only resource a traffic step changes. */
    public readonly listener: lb.Listener;
    public readonly redirectListener: lb.Listener;
    public readonly testListener: lb.Listener;
    /** The WAF association, when `webAclArn` is set. */
    public readonly webAclAssociation?: wafv2.WebAclAssociation;
    public readonly serviceUrl: pulumi.Output<string>;
    public readonly testUrl: pulumi.Output<string>;
    /** The per-stack secret the test listener's rules require in `TEST_TOKEN_HEADER`: being inside `testCidrs` is not enough. */
    public readonly testToken: pulumi.Output<string>;

    constructor(name: string, args: WeightedListenerArgs, opts?: pulumi.ComponentResourceOptions) {
        super("shiftwise:traffic:WeightedListener", name, {}, opts);
        const parent = { parent: this };
        const tags = args.tags ?? {};
        const testPort = args.testPort ?? 8443;
        const sslPolicy = args.sslPolicy ?? "ELBSecurityPolicy-TLS13-1-2-2021-06";
        const colours = { blue: args.blue, green: args.green };

        this.securityGroup = new ec2.SecurityGroup(`${name}-alb`, {
            vpcId: args.vpcId,
            description: "load balancer: 80/443 from the ingress CIDRs, test port from the test CIDRs, out only to the colours",
            tags: { ...tags, Name: `${name}-alb` },
        }, parent);
        const ingress = (ruleName: string, cidrs: string[], port: number, description: string) =>
            cidrs.forEach((cidr, i) =>
                new vpc.SecurityGroupIngressRule(`${name}-${ruleName}-${i}`, {
                    securityGroupId: this.securityGroup.id,
                    ipProtocol: "tcp",
                    fromPort: port,
                    toPort: port,
                    cidrIpv4: cidr,
                    description,
                }, parent),
            );
        ingress("https", args.ingressCidrs ?? ["0.0.0.0/0"], 443, "HTTPS");
        ingress("http", args.ingressCidrs ?? ["0.0.0.0/0"], 80, "HTTP, redirected to HTTPS");
        ingress("test", args.testCidrs ?? [], testPort, "test listener");
        for (const target of args.targetSecurityGroups ?? colourSecurityGroups(colours)) {
            const colour = target.key;
            new vpc.SecurityGroupEgressRule(`${name}-to-${colour}`, {
                securityGroupId: this.securityGroup.id,
                ipProtocol: "tcp",
                fromPort: args.appPort,
                toPort: args.appPort,
                referencedSecurityGroupId: target.securityGroupId,
                description: `to ${target.description ?? `the ${colour} tasks`}`,
            }, parent);
            if (target.declareIngress === false) continue;
            new vpc.SecurityGroupIngressRule(`${name}-from-alb-${colour}`, {
                securityGroupId: target.securityGroupId,
                ipProtocol: "tcp",
                fromPort: args.appPort,
                toPort: args.appPort,
                referencedSecurityGroupId: this.securityGroup.id,
                description: "from the load balancer only",
            }, parent);
        }

        this.loadBalancer = new lb.LoadBalancer(name, {
            loadBalancerType: "application",
            internal: false,
            securityGroups: [this.securityGroup.id],
            subnets: args.publicSubnetIds,
            dropInvalidHeaderFields: true,
            enableDeletionProtection: args.deletionProtection ?? false,
            enableHttp2: true,
            desyncMitigationMode: "defensive",
            idleTimeout: args.idleTimeoutSeconds ?? 60,
            // Settings of the load balancer itself, never of the weights: a traffic step leaves them alone.
            accessLogs: args.accessLogs && { enabled: true, bucket: args.accessLogs.bucket, prefix: args.accessLogs.prefix ?? "" },
            tags,
        }, { parent: this, dependsOn: args.accessLogs?.dependsOn ?? [] });
        if (args.webAclArn !== undefined) {
            this.webAclAssociation = new wafv2.WebAclAssociation(name, {
                resourceArn: this.loadBalancer.arn,
                webAclArn: args.webAclArn,
            }, parent);
        }

        const stickySeconds = pulumi.output(args.stickySeconds ?? 0);
        this.listener = new lb.Listener(name, {
            loadBalancerArn: this.loadBalancer.arn,
            port: 443,
            protocol: "HTTPS",
            sslPolicy,
            certificateArn: args.certificateArn,
            defaultActions: args.maintenance ? [{
                type: "fixed-response",
                fixedResponse: { contentType: "text/html", statusCode: "503", messageBody: args.maintenance.messageBody },
            }] : [{
                type: "forward",
                forward: {
                    // Both target groups and both weights, always: a weight of 0 keeps the colour
                    // attached so that ECS accepts its service and a later step is an in-place update.
                    targetGroups: [
                        { arn: args.blue.targetGroupArn, weight: args.blue.weight },
                        { arn: args.green.targetGroupArn, weight: args.green.weight },
                    ],
                    // Explicit, so AWS and the state agree and no step shows a spurious stickiness diff.
                    stickiness: {
                        enabled: stickySeconds.apply((seconds) => seconds > 0),
                        duration: stickySeconds.apply((seconds) => (seconds > 0 ? seconds : 1)),
                    },
                },
            }],
            tags,
        }, parent);

        this.redirectListener = new lb.Listener(`${name}-http`, {
            loadBalancerArn: this.loadBalancer.arn,
            port: 80,
            protocol: "HTTP",
            defaultActions: [{ type: "redirect", redirect: { protocol: "HTTPS", port: "443", statusCode: "HTTP_301" } }],
            tags,
        }, parent);

        this.testListener = new lb.Listener(`${name}-test`, {
            loadBalancerArn: this.loadBalancer.arn,
            port: testPort,
            protocol: "HTTPS",
            sslPolicy,
            certificateArn: args.certificateArn,
            defaultActions: [{
                type: "fixed-response",
                fixedResponse: {
                    contentType: "text/plain",
                    statusCode: "404",
                    messageBody: `shiftwise test listener: send the header ${TEST_HEADER}: blue or green`,
                },
            }],
            tags,
        }, parent);
        // Letters and digits only: ALB header conditions treat * and ? as wildcards, and a value holds at most
        // 128 characters (ELBv2 API reference, HttpHeaderConditionConfig). Generated once; a step never changes it.
        const token = new random.RandomPassword(`${name}-test-token`, { length: 48, special: false }, { parent: this, additionalSecretOutputs: ["result"] });
        this.testToken = pulumi.secret(token.result);
        Object.entries(colours).forEach(([colour, target], index) =>
            new lb.ListenerRule(`${name}-test-${colour}`, {
                listenerArn: this.testListener.arn,
                priority: 10 * (index + 1),
                conditions: [
                    { httpHeader: { httpHeaderName: TEST_HEADER, values: [colour] } },
                    { httpHeader: { httpHeaderName: TEST_TOKEN_HEADER, values: [this.testToken] } },
                ],
                actions: [{ type: "forward", targetGroupArn: target.targetGroupArn }],
                tags,
            }, parent),
        );

        this.serviceUrl = pulumi.interpolate`https://${this.loadBalancer.dnsName}`;
        this.testUrl = pulumi.interpolate`https://${this.loadBalancer.dnsName}:${testPort}`;
        this.registerOutputs({
            securityGroup: this.securityGroup,
            loadBalancer: this.loadBalancer,
            listener: this.listener,
            redirectListener: this.redirectListener,
            testListener: this.testListener,
            webAclAssociation: this.webAclAssociation,
            serviceUrl: this.serviceUrl,
            testUrl: this.testUrl,
            testToken: this.testToken,
        });
    }
}

/** The default targets: each colour's own security group, ingress declared here. */
function colourSecurityGroups(colours: Record<string, ListenerColourArgs>): TargetSecurityGroup[] {
    return Object.entries(colours).map(([key, colour]) => {
        if (colour.securityGroupId === undefined) throw new Error(`WeightedListener: ${key}.securityGroupId is required unless targetSecurityGroups is given`);
        return { key, securityGroupId: colour.securityGroupId };
    });
}
