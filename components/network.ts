// The VPC with public and private subnets, or the ids of an existing one.
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { subnetCidrs } from "./subnetting";

/** Creates a new VPC. */
export interface CreateVpcArgs {
    /** The VPC's IPv4 CIDR block, /16 to /24. */
    readonly cidr: string;
    /** Availability zones to spread subnets over, 2 to 6. */
    readonly azCount: number;
    /** One NAT gateway for the VPC, or one per AZ so that losing an AZ keeps egress. @default "perAz" */
    readonly natGateways?: "one" | "perAz";
}

/** Adopts an existing VPC. */
export interface ExistingVpcArgs {
    readonly vpcId: pulumi.Input<string>;
    /** Subnets for the load balancer, in at least two AZs. */
    readonly publicSubnetIds: pulumi.Input<string>[];
    /** Subnets for the tasks and the database, in at least two AZs, with NAT egress. */
    readonly privateSubnetIds: pulumi.Input<string>[];
}

export interface NetworkArgs {
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
            const created = this.createVpc(name, args.create!);
            this.vpcId = created.vpcId;
            this.publicSubnetIds = created.publicSubnetIds;
            this.privateSubnetIds = created.privateSubnetIds;
        }
        this.registerOutputs({ vpcId: this.vpcId, publicSubnetIds: this.publicSubnetIds, privateSubnetIds: this.privateSubnetIds });
    }

    private createVpc(name: string, args: CreateVpcArgs) {
        const parent = { parent: this };
        const cidrs = subnetCidrs(args.cidr, args.azCount);
        const zones = aws.getAvailabilityZonesOutput({ state: "available" }, parent);
        const vpc = new aws.ec2.Vpc(name, { cidrBlock: args.cidr, enableDnsHostnames: true, enableDnsSupport: true, tags: { Name: name } }, parent);
        // The default security group admits all traffic between its members; empty it so nothing relies on it.
        new aws.ec2.DefaultSecurityGroup(`${name}-default`, { vpcId: vpc.id, ingress: [], egress: [], tags: { Name: `${name}-default-locked` } }, parent);
        const gateway = new aws.ec2.InternetGateway(name, { vpcId: vpc.id, tags: { Name: name } }, parent);
        const publicRoutes = new aws.ec2.RouteTable(`${name}-public`, {
            vpcId: vpc.id,
            routes: [{ cidrBlock: "0.0.0.0/0", gatewayId: gateway.id }],
            tags: { Name: `${name}-public` },
        }, parent);

        const publicSubnets: aws.ec2.Subnet[] = [];
        const privateSubnets: aws.ec2.Subnet[] = [];
        const natCount = args.natGateways === "one" ? 1 : args.azCount;
        const natGateways: aws.ec2.NatGateway[] = [];
        for (let i = 0; i < args.azCount; i++) {
            const zone = zones.names[i];
            const publicSubnet = new aws.ec2.Subnet(`${name}-public-${i}`, {
                vpcId: vpc.id,
                cidrBlock: cidrs.public[i],
                availabilityZone: zone,
                mapPublicIpOnLaunch: false,
                tags: { Name: `${name}-public-${i}`, "shiftwise:tier": "public" },
            }, parent);
            new aws.ec2.RouteTableAssociation(`${name}-public-${i}`, { subnetId: publicSubnet.id, routeTableId: publicRoutes.id }, parent);
            publicSubnets.push(publicSubnet);
            if (i < natCount) {
                const address = new aws.ec2.Eip(`${name}-nat-${i}`, { domain: "vpc", tags: { Name: `${name}-nat-${i}` } }, parent);
                natGateways.push(new aws.ec2.NatGateway(`${name}-nat-${i}`, {
                    subnetId: publicSubnet.id,
                    allocationId: address.id,
                    connectivityType: "public",
                    tags: { Name: `${name}-nat-${i}` },
                }, { parent: this, dependsOn: [gateway] }));
            }
        }
        for (let i = 0; i < args.azCount; i++) {
            const privateSubnet = new aws.ec2.Subnet(`${name}-private-${i}`, {
                vpcId: vpc.id,
                cidrBlock: cidrs.private[i],
                availabilityZone: zones.names[i],
                mapPublicIpOnLaunch: false,
                tags: { Name: `${name}-private-${i}`, "shiftwise:tier": "private" },
            }, parent);
            const routes = new aws.ec2.RouteTable(`${name}-private-${i}`, {
                vpcId: vpc.id,
                routes: [{ cidrBlock: "0.0.0.0/0", natGatewayId: natGateways[i % natGateways.length].id }],
                tags: { Name: `${name}-private-${i}` },
            }, parent);
            new aws.ec2.RouteTableAssociation(`${name}-private-${i}`, { subnetId: privateSubnet.id, routeTableId: routes.id }, parent);
            privateSubnets.push(privateSubnet);
        }
        return {
            vpcId: vpc.id,
            publicSubnetIds: pulumi.all(publicSubnets.map((s) => s.id)),
            privateSubnetIds: pulumi.all(privateSubnets.map((s) => s.id)),
        };
    }
}
