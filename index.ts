import * as pulumi from "@pulumi/pulumi";
import { BlueGreenEnvironment } from "./components/blueGreenEnvironment";
import { Network } from "./components/network";
import { TEST_HEADER, WeightedListener } from "./components/weightedListener";
import { loadConfig, otherColour, stableColour } from "./config";

// Validate everything first: a bad config fails here, before any resource is registered.
const { config, region } = loadConfig();
const stack = pulumi.getStack();
const service = config.service;
const tags = { "shiftwise:service": service.name, "shiftwise:stack": stack, "managed-by": "shiftwise" };

const network = new Network(`${service.name}-net`, config.network.create
    ? { create: config.network.create }
    : { existing: { vpcId: config.network.vpcId!, publicSubnetIds: config.network.publicSubnetIds!, privateSubnetIds: config.network.privateSubnetIds! } });

// The ECS services must wait for the forwarding listener, which in turn needs the colours' target groups.
const [forwardingListenerArn, resolveForwardingListenerArn] = pulumi.deferredOutput<string>();

const environment = new BlueGreenEnvironment(service.name, {
    serviceName: service.name,
    environmentName: stack,
    region,
    vpcId: network.vpcId,
    privateSubnetIds: network.privateSubnetIds,
    port: service.port,
    healthCheck: { path: service.healthCheckPath, ...service.healthCheck },
    blue: config.blue,
    green: config.green,
    listenerArn: forwardingListenerArn,
    deregistrationDelaySeconds: service.deregistrationDelaySeconds,
    healthCheckGraceSeconds: service.healthCheckGraceSeconds,
    logRetentionDays: service.logRetentionDays,
    environment: service.environment,
    tags,
});

const traffic = new WeightedListener(service.name, {
    vpcId: network.vpcId,
    publicSubnetIds: network.publicSubnetIds,
    certificateArn: config.tls.certificateArn,
    sslPolicy: config.tls.sslPolicy,
    blue: { targetGroupArn: environment.blue.targetGroup.arn, securityGroupId: environment.blue.securityGroup.id, weight: config.traffic.blue },
    green: { targetGroupArn: environment.green.targetGroup.arn, securityGroupId: environment.green.securityGroup.id, weight: config.traffic.green },
    appPort: service.port,
    ingressCidrs: service.ingressCidrs,
    testPort: service.testPort,
    testCidrs: service.testCidrs,
    stickySeconds: service.stickySeconds,
    deletionProtection: config.protect,
    tags,
});
resolveForwardingListenerArn(traffic.listener.arn);

const colourOutputs = (colour: "blue" | "green") => ({
    version: config[colour].version,
    image: config[colour].image,
    desiredCount: config[colour].desiredCount,
    weight: config.traffic[colour],
    targetGroupArn: environment[colour].targetGroup.arn,
    targetGroupArnSuffix: environment[colour].targetGroup.arnSuffix,
    serviceName: environment[colour].service.name,
    securityGroupId: environment[colour].securityGroup.id,
});

/** Public HTTPS address of the service. */
export const serviceUrl = traffic.serviceUrl;
/** Test listener address; add the header `x-shiftwise-colour: blue|green`. */
export const testUrl = traffic.testUrl;
export const testHeader = TEST_HEADER;
/** The forwarding listener that every traffic step updates. */
export const listenerArn = traffic.listener.arn;
export const loadBalancerArnSuffix = traffic.loadBalancer.arnSuffix;
export const clusterName = environment.cluster.name;
export const weights = { blue: config.traffic.blue, green: config.traffic.green };
export const stable = stableColour(config.traffic);
export const candidate = otherColour(stable);
export const blue = colourOutputs("blue");
export const green = colourOutputs("green");
