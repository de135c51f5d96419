// The VPC with public and private subnets, or the ids of an existing one.
import * as cloudwatch from "@pulumi/aws/cloudwatch";
import * as ec2 from "@pulumi/aws/ec2";
import * as iam from "@pulumi/aws/iam";
import { getAvailabilityZonesOutput } from "@pulumi/aws/getAvailabilityZones";
import * as pulumi from "@pulumi/pulumi";
import type { AccountFacts } from "./accountFacts";
import { subnetCidrs } from "./subnetting";

/** Creates a new VPC. */
export interface CreateVpcArgs {
    /** The VPC's IPv4 CIDR block, /16 to /24. */
    readonly cidr: string;
    /** Availability zones to spread subnets over, 2 to 6. */
    readonly azCount: number;
    /** One NAT gateway for the VPC, or one per AZ so that losing an AZ keeps egress. @default "perAz" */
    readonly natGateways?: "one" | "perAz";
    /** Where the VPC's flow logs go (all traffic, accepted and rejected). @default undefined (no flow logs) */
    readonly flowLogs?: FlowLogsArgs;
}

/** VPC flow logs to a CloudWatch Logs group this component creates, encrypted with a customer-managed key. */
export interface CloudWatchFlowLogsArgs {
    readonly destination: "cloudwatch";
    /** The log group's name, e.g. `/shiftwise/production/shop/vpc-flow-logs`. */
    readonly logGroupName: string;
    /** Days CloudWatch Logs keeps the flow logs. @default 90 */
    readonly retentionDays?: number;
    /** The KMS key that encrypts the log group; its policy must admit this region's CloudWatch Logs. */
    readonly kmsKeyArn: pulumi.Input<string>;
}

/** VPC flow logs to an S3 bucket whose policy admits `delivery.logs.amazonaws.com` under `prefix`. */
export interface S3FlowLogsArgs {
    readonly destination: "s3";
    readonly bucketArn: pulumi.Input<string>;
    /** Key prefix in the bucket, without leading or trailing slash. */
    readonly prefix: string;
    /** Resources to wait for, such as the bucket policy. @default [] */
    readonly dependsOn?: pulumi.Resource[];
}

export type FlowLogsArgs = CloudWatchFlowLogsArgs | S3FlowLogsArgs;

/** Adopts an existing VPC. */
export interface ExistingVpcArgs {
    readonly vpcId: pulumi.Input<string>;
    /** Subnets for the load balancer, in at least two AZs. */
    readonly publicSubnetIds: pulumi.Input<string>[];
    /** Subnets for the tasks and the database, in at least two AZs, with NAT egress. */
    readonly privateSubnetIds: pulumi.Input<string>[];
}

export interface NetworkArgs {
    /** The stack's account, partition and region (`accountFacts()`, asked once per program), for the flow logs' role. */
    readonly account: AccountFacts;
    /** Exactly one of `create` or `existing`. */
    readonly create?: CreateVpcArgs;
    readonly existing?: ExistingVpcArgs;
}

/**
 * The VPC shiftwise runs in: public subnets for the load balancer, private
 * subnets with NAT egress for the tasks and the database. Either created here
 * or adopted by id.
 */
export class Network extends pulumi.ComponentResource {
    public readonly vpcId: pulumi.Output<string>;
    public readonly publicSubnetIds: pulumi.Output<string[]>;
    public readonly privateSubnetIds: pulumi.Output<string[]>;

    constructor(name: string, args: NetworkArgs, opts?: pulumi.ComponentResourceOptions) {
        super("shiftwise:network:Network", name, {}, opts);
        if ((args.create === undefined) === (args.existing === undefined)) {
            throw new Error(`Network ${name}: set exactly one of create or existing`);
        }
        if (args.existing) {
            this.vpcId = pulumi.output(args.existing.vpcId);
            this.publicSubnetIds = pulumi.output(args.existing.publicSubnetIds);
            this.privateSubnetIds = pulumi.output(args.existing.privateSubnetIds);
        } else {
            const created = this.createVpc(name, args.create!, args.account);
            this.vpcId = created.vpcId;
            this.publicSubnetIds = created.publicSubnetIds;
            this.privateSubnetIds = created.privateSubnetIds;
        }
        this.registerOutputs({ vpcId: this.vpcId, publicSubnetIds: this.publicSubnetIds, privateSubnetIds: this.privateSubnetIds });
    }

    private createVpc(name: string, args: CreateVpcArgs, account: AccountFacts) {
        const parent = { parent: this };
        const cidrs = subnetCidrs(args.cidr, args.azCount);
        // Only the cloud knows how many zones the region has: check the answer before any subnet needs one,
        // so `pulumi preview` fails with the reason instead of `up` failing halfway on an undefined zone.
        const zoneNames = getAvailabilityZonesOutput({ state: "available" }, parent).names.apply((names) => {
            if (names.length < args.azCount) {
                throw new Error(
                    `Network ${name}: azCount is ${args.azCount}, but the region has only ${names.length} available availability zones (${names.join(", ")}); lower azCount to ${names.length} or less`,
                );
            }
            return names;
        });
        const vpc = new ec2.Vpc(name, { cidrBlock: args.cidr, enableDnsHostnames: true, enableDnsSupport: true, tags: { Name: name } }, parent);
        if (args.flowLogs) this.flowLogs(name, vpc, args.flowLogs, account);
        // The default security group admits all traffic between its members; empty it so nothing relies on it.
        new ec2.DefaultSecurityGroup(`${name}-default`, { vpcId: vpc.id, ingress: [], egress: [], tags: { Name: `${name}-default-locked` } }, parent);
        const gateway = new ec2.InternetGateway(name, { vpcId: vpc.id, tags: { Name: name } }, parent);
        const publicRoutes = new ec2.RouteTable(`${name}-public`, {
            vpcId: vpc.id,
            routes: [{ cidrBlock: "0.0.0.0/0", gatewayId: gateway.id }],
            tags: { Name: `${name}-public` },
        }, parent);

        const publicSubnets: ec2.Subnet[] = [];
        const privateSubnets: ec2.Subnet[] = [];
        const natCount = args.natGateways === "one" ? 1 : args.azCount;
        const natGateways: ec2.NatGateway[] = [];
        for (let i = 0; i < args.azCount; i++) {
            const zone = zoneNames[i];
            const publicSubnet = new ec2.Subnet(`${name}-public-${i}`, {
                vpcId: vpc.id,
                cidrBlock: cidrs.public[i],
                availabilityZone: zone,
                mapPublicIpOnLaunch: false,
                tags: { Name: `${name}-public-${i}`, "shiftwise:tier": "public" },
            }, parent);
            new ec2.RouteTableAssociation(`${name}-public-${i}`, { subnetId: publicSubnet.id, routeTableId: publicRoutes.id }, parent);
            publicSubnets.push(publicSubnet);
            if (i < natCount) {
                const address = new ec2.Eip(`${name}-nat-${i}`, { domain: "vpc", tags: { Name: `${name}-nat-${i}` } }, parent);
                natGateways.push(new ec2.NatGateway(`${name}-nat-${i}`, {
                    subnetId: publicSubnet.id,
                    allocationId: address.id,
                    connectivityType: "public",
                    tags: { Name: `${name}-nat-${i}` },
                }, { parent: this, dependsOn: [gateway] }));
            }
        }
        for (let i = 0; i < args.azCount; i++) {
            const privateSubnet = new ec2.Subnet(`${name}-private-${i}`, {
                vpcId: vpc.id,
                cidrBlock: cidrs.private[i],
                availabilityZone: zoneNames[i],
                mapPublicIpOnLaunch: false,
                tags: { Name: `${name}-private-${i}`, "shiftwise:tier": "private" },
            }, parent);
            const routes = new ec2.RouteTable(`${name}-private-${i}`, {
                vpcId: vpc.id,
                routes: [{ cidrBlock: "0.0.0.0/0", natGatewayId: natGateways[i % natGateways.length].id }],
                tags: { Name: `${name}-private-${i}` },
            }, parent);
            new ec2.RouteTableAssociation(`${name}-private-${i}`, { subnetId: privateSubnet.id, routeTableId: routes.id }, parent);
            privateSubnets.push(privateSubnet);
        }
        return {
            vpcId: vpc.id,
            publicSubnetIds: pulumi.all(publicSubnets.map((s) => s.id)),
            privateSubnetIds: pulumi.all(privateSubnets.map((s) => s.id)),
        };
    }

    /** Flow logs of every ENI in the VPC (checkov CKV2_AWS_11, Security Hub EC2.6). */
    private flowLogs(name: string, vpc: ec2.Vpc, args: FlowLogsArgs, account: AccountFacts): ec2.FlowLog {
        const parent = { parent: this };
        if (args.destination === "s3") {
            return new ec2.FlowLog(`${name}-flow-logs`, {
                vpcId: vpc.id,
                trafficType: "ALL",
                logDestinationType: "s3",
                logDestination: pulumi.interpolate`${args.bucketArn}/${args.prefix}/`,
                maxAggregationInterval: 600,
                tags: { Name: `${name}-flow-logs` },
            }, { parent: this, dependsOn: args.dependsOn ?? [] });
        }
        const logGroup = new cloudwatch.LogGroup(`${name}-flow-logs`, {
            name: args.logGroupName,
            retentionInDays: args.retentionDays ?? 90,
            kmsKeyId: args.kmsKeyArn,
            tags: { Name: `${name}-flow-logs` },
        }, parent);
        const role = new iam.Role(`${name}-flow-logs`, {
            description: `${name}: lets VPC Flow Logs write to ${args.logGroupName}`,
            assumeRolePolicy: pulumi.all([account.accountId, account.partition, account.region]).apply(([accountId, partitionName, regionName]) =>
                JSON.stringify({
                    Version: "2012-10-17",
                    Statement: [{
                        Effect: "Allow",
                        Principal: { Service: "vpc-flow-logs.amazonaws.com" },
                        Action: "sts:AssumeRole",
                        // Confused-deputy guard: only this account's flow logs may assume the role.
                        Condition: {
                            StringEquals: { "aws:SourceAccount": accountId },
                            ArnLike: { "aws:SourceArn": `arn:${partitionName}:ec2:${regionName}:${accountId}:vpc-flow-log/*` },
                        },
                    }],
                }),
            ),
        }, parent);
        new iam.RolePolicy(`${name}-flow-logs`, {
            role: role.id,
            policy: logGroup.arn.apply((arn) =>
                JSON.stringify({
                    Version: "2012-10-17",
                    Statement: [{
                        Sid: "WriteFlowLogs",
                        Effect: "Allow",
                        Action: ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
                        Resource: [arn, `${arn}:log-stream:*`],
                    }],
                }),
            ),
        }, parent);
        return new ec2.FlowLog(`${name}-flow-logs`, {
            vpcId: vpc.id,
            trafficType: "ALL",
            logDestinationType: "cloud-watch-logs",
            logDestination: logGroup.arn,
            iamRoleArn: role.arn,
            maxAggregationInterval: 600,
            tags: { Name: `${name}-flow-logs` },
        }, parent);
    }
}
