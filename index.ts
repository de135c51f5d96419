// The shiftwise program: parse the config once, wire the components and export the outputs.
import * as pulumi from "@pulumi/pulumi";
import { BlueGreenEnvironment, ColourArgs } from "./components/blueGreenEnvironment";
import { Database } from "./components/database";
import { DeploymentAlarms } from "./components/deploymentAlarms";
import { MigrationTask } from "./components/migrationTask";
import { Network } from "./components/network";
import { Notifications } from "./components/notifications";
import { ReleaseLedger } from "./components/releaseLedger";
import { SnapshotBackup } from "./components/snapshotBackup";
import { TEST_HEADER, WeightedListener } from "./components/weightedListener";
import { COLOURS, Colour, loadConfig, migrationRelease, otherColour, releaseColours, secretValues, stableColour } from "./config";

// Validate everything first: a bad config fails here, before any resource is registered.
const { config, region, secretSections } = loadConfig();
const stack = pulumi.getStack();
const service = config.service;
const tags = { "shiftwise:service": service.name, "shiftwise:stack": stack, "managed-by": "shiftwise" };

const network = new Network(`${service.name}-net`, config.network.create
    ? { create: config.network.create }
    : { existing: { vpcId: config.network.vpcId!, publicSubnetIds: config.network.publicSubnetIds!, privateSubnetIds: config.network.privateSubnetIds! } });

// The ECS services must wait for the forwarding listener, which in turn needs the colours' target groups.
const [forwardingListenerArn, resolveForwardingListenerArn] = pulumi.deferredOutput<string>();

const notifications = new Notifications(`${service.name}-notify`, {
    topicName: `${service.name}-${stack}-deployments`,
    emails: config.alarms.notify.emails,
    httpsEndpoints: config.alarms.notify.httpsEndpoints,
    tags,
});

// The release ledger every actor shares: records, the lease, requests and guard trips.
const ledger = new ReleaseLedger(`${service.name}-ledger`, {
    tableName: `${service.name}-${stack}-releases`,
    protect: config.protect,
    tags,
});

// The database admits the colours' security groups, which exist only once the colours do; the colours in turn
// receive the database's endpoint and wait for its snapshot. The rules are separate resources, so this is no cycle.
const [blueSecurityGroupId, resolveBlueSecurityGroupId] = pulumi.deferredOutput<string>();
const [greenSecurityGroupId, resolveGreenSecurityGroupId] = pulumi.deferredOutput<string>();
const databaseConfig = config.database;
// The migration task, when a migration is configured and its image is known, is the database's third client.
const migrationImage = migrationRelease(config);
const [migrationSecurityGroupId, resolveMigrationSecurityGroupId] = pulumi.deferredOutput<string>();
const rdsDatabase = databaseConfig && new Database(`${service.name}-db`, {
    ...(databaseConfig.existingInstanceId
        ? { existing: { instanceId: databaseConfig.existingInstanceId } }
        : {
            create: {
                identifier: `${service.name}-${stack}`.toLowerCase().replace(/[^a-z0-9]+/g, "-").slice(0, 63).replace(/-+$/, ""),
                engineVersion: databaseConfig.engineVersion,
                instanceClass: databaseConfig.instanceClass,
                allocatedStorageGb: databaseConfig.allocatedStorageGb,
                maxAllocatedStorageGb: databaseConfig.maxAllocatedStorageGb,
                databaseName: databaseConfig.databaseName ?? service.name.replace(/-/g, "_"),
                backupRetentionDays: databaseConfig.backupRetentionDays,
                vpcId: network.vpcId,
                subnetIds: network.privateSubnetIds,
            },
        }),
    port: databaseConfig.port,
    clientSecurityGroupIds: {
        blue: blueSecurityGroupId,
        green: greenSecurityGroupId,
        ...(migrationImage ? { migration: migrationSecurityGroupId } : {}),
    },
    protect: config.protect,
    tags,
});
const backup = databaseConfig && rdsDatabase && new SnapshotBackup(`${service.name}-backup`, {
    serviceName: service.name,
    stackName: stack,
    region,
    dbInstanceIdentifier: rdsDatabase.identifier,
    dbInstanceArn: rdsDatabase.arn,
    preReleaseLabel: databaseConfig.preReleaseSnapshot,
    restore: {
        subnetGroupName: rdsDatabase.subnetGroupName,
        securityGroupId: rdsDatabase.securityGroupId,
        instanceClass: rdsDatabase.instanceClass,
        protect: config.protect,
    },
    backupSchedule: databaseConfig.backupPlan.schedule,
    backupRetentionDays: databaseConfig.backupPlan.retentionDays,
    protect: config.protect,
    tags,
});

// The release colour starts its new tasks (which may migrate the schema) only once the snapshot exists.
const waitsForSnapshot = releaseColours(config);
const colourArgs = (colour: Colour): ColourArgs => ({
    ...config[colour],
    dependsOn: backup?.snapshot && waitsForSnapshot.includes(colour) ? [backup.snapshot] : [],
});
const databaseEnvironment: Record<string, pulumi.Input<string>> = rdsDatabase
    ? { DATABASE_HOST: rdsDatabase.address, DATABASE_PORT: rdsDatabase.port.apply(String), DATABASE_NAME: rdsDatabase.databaseName }
    : {};
// The RDS-managed secret is JSON; ECS extracts single keys with the `<arn>:<key>::` form, so the password never
// appears in config, state or the task definition.
const databaseSecrets = rdsDatabase
    ? rdsDatabase.masterSecretArn.apply((arn): Record<string, string> => (arn ? { DATABASE_USER: `${arn}:username::`, DATABASE_PASSWORD: `${arn}:password::` } : {}))
    : {};

const applicationEnvironment = { ...secretValues(service.environment, secretSections.has("service")), ...databaseEnvironment };
const environment = new BlueGreenEnvironment(service.name, {
    serviceName: service.name,
    environmentName: stack,
    region,
    vpcId: network.vpcId,
    privateSubnetIds: network.privateSubnetIds,
    port: service.port,
    healthCheck: { path: service.healthCheckPath, ...service.healthCheck },
    blue: colourArgs("blue"),
    green: colourArgs("green"),
    listenerArn: forwardingListenerArn,
    deregistrationDelaySeconds: service.deregistrationDelaySeconds,
    healthCheckGraceSeconds: service.healthCheckGraceSeconds,
    logRetentionDays: service.logRetentionDays,
    environment: applicationEnvironment,
    secrets: databaseSecrets,
    tags,
});
resolveBlueSecurityGroupId(environment.blue.securityGroup.id);
resolveGreenSecurityGroupId(environment.green.securityGroup.id);

// The release's migration: same network, environment and secrets as the colours, its own roles and logs.
const migrationConfig = databaseConfig?.migration;
const migrationTask = rdsDatabase && migrationConfig && migrationImage && new MigrationTask(`${service.name}-migration`, {
    serviceName: service.name,
    environmentName: stack,
    region,
    release: migrationImage.release,
    image: migrationImage.image,
    command: migrationConfig.command,
    cpu: migrationConfig.cpu,
    memory: migrationConfig.memory,
    cpuArchitecture: migrationImage.cpuArchitecture,
    vpcId: network.vpcId,
    subnetIds: network.privateSubnetIds,
    clusterArn: environment.cluster.arn,
    clusterName: environment.cluster.name,
    databaseSecurityGroupId: rdsDatabase.securityGroupId,
    databasePort: databaseConfig.port,
    environment: applicationEnvironment,
    secrets: databaseSecrets,
    logRetentionDays: service.logRetentionDays,
    tags,
});
if (migrationTask) resolveMigrationSecurityGroupId(migrationTask.securityGroupId);

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

// Both colours always have alarms, each judged against the other; none reads the weights (invariant 1).
const alarms = Object.fromEntries(COLOURS.map((colour) => {
    const baseline = otherColour(colour);
    return [colour, new DeploymentAlarms(`${service.name}-${colour}-alarms`, {
        serviceName: service.name,
        stackName: stack,
        colour,
        baselineColour: baseline,
        loadBalancerArnSuffix: traffic.loadBalancer.arnSuffix,
        targetGroupArnSuffix: environment[colour].targetGroup.arnSuffix,
        baselineTargetGroupArnSuffix: environment[baseline].targetGroup.arnSuffix,
        ecsClusterName: environment.cluster.name,
        ecsServiceName: environment[colour].service.name,
        topicArn: notifications.topicArn,
        thresholds: {
            maxErrorRatePercent: config.alarms.maxErrorRatePercent,
            maxErrorRateVsBaseline: config.alarms.maxErrorRateVsBaseline,
            baselineFloorPercent: config.alarms.baselineFloorPercent,
            maxLatencyMs: config.alarms.maxP99LatencyMs,
            latencyPercentile: config.alarms.latencyPercentile,
            minRequests: config.alarms.minRequests,
            maxElb5xxCount: config.alarms.maxElb5xxCount,
            evaluationPeriods: config.alarms.evaluationPeriods,
            datapointsToAlarm: config.alarms.datapointsToAlarm,
        },
        tags,
    })];
})) as Record<Colour, DeploymentAlarms>;

const colourOutputs = (colour: "blue" | "green") => ({
    version: config[colour].version,
    image: config[colour].image,
    desiredCount: config[colour].desiredCount,
    weight: config.traffic[colour],
    targetGroupArn: environment[colour].targetGroup.arn,
    targetGroupArnSuffix: environment[colour].targetGroup.arnSuffix,
    serviceName: environment[colour].service.name,
    securityGroupId: environment[colour].securityGroup.id,
    rollbackAlarmName: alarms[colour].rollbackAlarmName,
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
/** The SNS topic every alarm notifies; CI publishes deployment outcomes to it. */
export const notificationTopicArn = notifications.topicArn;
/** The release ledger: the driver's lease, requests and records live in this DynamoDB table. */
export const releaseLedger = { tableName: ledger.tableName, tableArn: ledger.tableArn, keyArn: ledger.keyArn };
/** The composite alarm per colour that decides a rollback. */
export const rollbackAlarms = { blue: alarms.blue.rollbackAlarmName, green: alarms.green.rollbackAlarmName };
export const database = rdsDatabase ? {
    identifier: rdsDatabase.identifier,
    address: rdsDatabase.address,
    port: rdsDatabase.port,
    name: rdsDatabase.databaseName,
    masterSecretArn: rdsDatabase.masterSecretArn,
} : null;
/** The checkpoint of this release: the pre-release snapshot and how to restore it. */
export const preReleaseSnapshot = backup?.snapshot ? {
    label: databaseConfig?.preReleaseSnapshot,
    identifier: backup.snapshotIdentifier,
    arn: backup.snapshotArn,
    restoreCommand: backup.restoreCommand,
    colours: waitsForSnapshot,
} : null;
export const backupVaultName = backup ? backup.vault.name : null;
export const backupPlanId = backup ? backup.plan.id : null;
/** What the driver needs to run the release's migration with RunTask; null when no migration task is declared. */
export const migration = migrationTask ? {
    family: migrationTask.family,
    taskDefinitionArn: migrationTask.taskDefinitionArn,
    clusterArn: migrationTask.clusterArn,
    clusterName: migrationTask.clusterName,
    subnetIds: migrationTask.subnetIds,
    securityGroupId: migrationTask.securityGroupId,
    logGroupName: migrationTask.logGroupName,
    logStreamPrefix: migrationTask.logStreamPrefix,
    containerName: migrationTask.containerName,
    release: migrationImage?.release,
    image: migrationImage?.image,
} : null;
