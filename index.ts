// The shiftwise program: parse the config once, wire the components and export the outputs.
import * as pulumi from "@pulumi/pulumi";
import { AccessLogBucket } from "./components/accessLogBucket";
import { BlueGreenEnvironment, ColourArgs } from "./components/blueGreenEnvironment";
import type { ColourWorkload } from "./components/colourTarget";
import { Database } from "./components/database";
import { DeploymentAlarms } from "./components/deploymentAlarms";
import { MigrationTask } from "./components/migrationTask";
import { Network } from "./components/network";
import { Notifications } from "./components/notifications";
import { ReleaseGuard } from "./components/releaseGuard";
import { ReleaseLedger } from "./components/releaseLedger";
import { SnapshotBackup } from "./components/snapshotBackup";
import { accountFacts } from "./components/accountFacts";
import { StackKey } from "./components/stackKey";
import { TaskSecrets } from "./components/taskSecrets";
import { TEST_HEADER, TEST_TOKEN_HEADER, WeightedListener } from "./components/weightedListener";
import { maintenancePage } from "./config/maintenancePage";
import { guardHandlerArchive } from "./guard/bundle";
import { checkTrips } from "./guard/tripGate";
import { programTripReader } from "./ports/tripReader";
import { COLOURS, Colour, DEFAULT_ACCESS_LOG_RETENTION_DAYS, DEFAULT_FLOW_LOG_RETENTION_DAYS, loadConfig, migrationRelease, otherColour, releaseColours, secretValues, stableColour } from "./config";

// Validate everything first: a bad config fails here, before any resource is registered.
const { config, region, awsProfile, secretSections } = loadConfig();
const stack = pulumi.getStack();
const service = config.service;
const tags = { "shiftwise:service": service.name, "shiftwise:stack": stack, "managed-by": "shiftwise" };

// The account, partition and region, asked of the provider once for every component's policies.
const account = accountFacts();

// Secure by default: one customer-managed key for the stack's logs and database insights, and a log bucket for the
// load balancer's access logs unless the config names an existing one.
const stackKey = new StackKey(`${service.name}-key`, { description: `${service.name}-${stack}: log groups and database insights`, region, account, tags });
const accessLogs = service.accessLogs;
const flowLogsToS3 = config.network.create?.flowLogs.destination === "s3";
const logBucket = accessLogs.bucketName === undefined
    ? new AccessLogBucket(`${service.name}-logs`, {
        region,
        account,
        albPrefix: accessLogs.prefix,
        flowLogPrefix: flowLogsToS3 ? "vpc-flow-logs" : undefined,
        retentionDays: accessLogs.retentionDays ?? DEFAULT_ACCESS_LOG_RETENTION_DAYS,
        protect: config.protect,
        tags,
    })
    : undefined;
const logBucketArn = logBucket ? logBucket.bucketArn : pulumi.output(`arn:aws:s3:::${accessLogs.bucketName}`);

const createVpc = config.network.create;
const network = new Network(`${service.name}-net`, createVpc
    ? {
        account,
        create: {
            cidr: createVpc.cidr,
            azCount: createVpc.azCount,
            natGateways: createVpc.natGateways,
            flowLogs: createVpc.flowLogs.destination === "s3"
                ? { destination: "s3", bucketArn: logBucketArn, prefix: "vpc-flow-logs", dependsOn: logBucket?.ready }
                : {
                    destination: "cloudwatch",
                    logGroupName: `/shiftwise/${stack}/${service.name}/vpc-flow-logs`,
                    retentionDays: createVpc.flowLogs.retentionDays ?? DEFAULT_FLOW_LOG_RETENTION_DAYS,
                    kmsKeyArn: stackKey.arn,
                },
        },
    }
    : { account, existing: { vpcId: config.network.vpcId!, publicSubnetIds: config.network.publicSubnetIds!, privateSubnetIds: config.network.privateSubnetIds! } });

// The workloads must wait for the forwarding listener, which in turn needs the colours' target groups: they
// depend on a promise of it (`dependsOn` takes one), kept once the listener exists. A promise, not an Output:
// Pulumi searches every Output's value for unknowns, and an Output of a resource reaches the whole graph.
let resolveForwardingListener: (listener: pulumi.Resource) => void = () => undefined;
const forwardingListener = new Promise<pulumi.Resource>((resolve) => (resolveForwardingListener = resolve));
// Kubernetes colours admit the ALB's security group in their TargetGroupBindings; the ALB needs their target groups.
const [loadBalancerSecurityGroupId, resolveLoadBalancerSecurityGroupId] = pulumi.deferredOutput<string>();
const kubernetes = service.platform === "kubernetes" ? config.kubernetes : undefined;

const notifications = new Notifications(`${service.name}-notify`, {
    topicName: `${service.name}-${stack}-deployments`,
    account,
    emails: config.alarms.notify.emails,
    httpsEndpoints: config.alarms.notify.httpsEndpoints,
    tags,
});

// The release ledger every actor shares: records, the lease, requests and guard trips.
const ledgerTableName = `${service.name}-${stack}-releases`;
const ledger = new ReleaseLedger(`${service.name}-ledger`, {
    tableName: ledgerTableName,
    protect: config.protect,
    tags,
});

// The database admits the colours' security groups, which exist only once the colours do; the colours in turn
// receive the database's endpoint and wait for its snapshot. The rules are separate resources, so this is no cycle.
// On Kubernetes both colours' pods arrive from the one configured security group.
const [blueSecurityGroupId, resolveBlueSecurityGroupId] = pulumi.deferredOutput<string>();
const [greenSecurityGroupId, resolveGreenSecurityGroupId] = pulumi.deferredOutput<string>();
const databaseClients: Record<string, pulumi.Input<string>> = kubernetes
    ? { pods: kubernetes.securityGroupId }
    : { blue: blueSecurityGroupId, green: greenSecurityGroupId };
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
                kmsKeyArn: stackKey.arn,
                monitoringIntervalSeconds: databaseConfig.monitoringIntervalSeconds,
                logRetentionDays: service.logRetentionDays,
                region,
            },
        }),
    port: databaseConfig.port,
    account,
    clientSecurityGroupIds: {
        ...databaseClients,
        ...(migrationImage && !kubernetes ? { migration: migrationSecurityGroupId } : {}),
    },
    protect: config.protect,
    tags,
});
const backup = databaseConfig && rdsDatabase && new SnapshotBackup(`${service.name}-backup`, {
    serviceName: service.name,
    stackName: stack,
    region,
    account,
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

// A secret in shiftwise:service makes every environment value a secret (the engine marks the whole key): those
// values go to Secrets Manager and reach the containers as ECS secrets, never as task-definition plain text.
const environmentIsSecret = secretSections.has("service") && Object.keys(service.environment).length > 0;
const environmentSecrets = environmentIsSecret
    ? new TaskSecrets(`${service.name}-env`, { description: `${service.name}-${stack}: the service's secret environment`, values: secretValues(service.environment, true), tags })
    : undefined;
const applicationEnvironment = { ...(environmentIsSecret ? {} : service.environment), ...databaseEnvironment };
const applicationSecrets = pulumi
    .all([databaseSecrets, environmentSecrets?.references ?? {}])
    .apply(([database, environmentReferences]): Record<string, string> => ({ ...database, ...environmentReferences, ...service.secrets }));
const secretKmsKeyArns = pulumi.all([...(environmentSecrets ? [environmentSecrets.keyArn] : []), ...service.secretsKmsKeyArns]);
const workloadArgs = {
    serviceName: service.name,
    region,
    vpcId: network.vpcId,
    port: service.port,
    healthCheck: { path: service.healthCheckPath, ...service.healthCheck },
    blue: colourArgs("blue"),
    green: colourArgs("green"),
    listener: forwardingListener,
    deregistrationDelaySeconds: service.deregistrationDelaySeconds,
    healthCheckGraceSeconds: service.healthCheckGraceSeconds,
    environment: applicationEnvironment,
    tags,
};
// Loaded only for a Kubernetes stack, so an ECS stack (its `pulumi up` and `shiftwise plan`) never loads @pulumi/kubernetes.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const kubernetesComponents = () => require("./components/kubernetesEnvironment") as typeof import("./components/kubernetesEnvironment");
// eslint-disable-next-line @typescript-eslint/no-require-imports
const kubernetesMigrationComponents = () => require("./components/kubernetesMigrationJob") as typeof import("./components/kubernetesMigrationJob");
const kubernetesEnvironment = kubernetes && new (kubernetesComponents().KubernetesEnvironment)(service.name, {
    ...workloadArgs,
    clusterName: kubernetes.clusterName,
    kubeconfig: kubernetes.kubeconfig === undefined ? undefined : secretSections.has("kubernetes") ? pulumi.secret(kubernetes.kubeconfig) : kubernetes.kubeconfig,
    context: kubernetes.context,
    namespace: kubernetes.namespace,
    createNamespace: kubernetes.createNamespace,
    podSecurityGroupId: kubernetes.securityGroupId,
    loadBalancerSecurityGroupId,
    // The CSI driver reads the same references with the pod role, which decrypts with the same customer keys.
    secrets: rdsDatabase || environmentSecrets || Object.keys(service.secrets).length > 0 ? applicationSecrets : undefined,
    secretKmsKeyArns,
    protect: config.protect,
});
const ecsEnvironment = kubernetes ? undefined : new BlueGreenEnvironment(service.name, {
    ...workloadArgs,
    environmentName: stack,
    privateSubnetIds: network.privateSubnetIds,
    logRetentionDays: service.logRetentionDays,
    logKmsKeyArn: stackKey.arn,
    secrets: applicationSecrets,
    secretKmsKeyArns,
});
const colours: Record<Colour, ColourWorkload> = (kubernetesEnvironment ?? ecsEnvironment)!;
resolveBlueSecurityGroupId(colours.blue.target.securityGroupId);
resolveGreenSecurityGroupId(colours.green.target.securityGroupId);

// The release's migration: same network, environment and secrets as the colours, its own roles and logs.
const migrationConfig = databaseConfig?.migration;
// On ECS the migration is a Fargate task definition in the colours' cluster; on Kubernetes, a Job template (a
// suspended CronJob) in the colours' namespace, run as their ServiceAccount (same secrets, same pod security group).
const migrationTask = ecsEnvironment && rdsDatabase && migrationConfig && migrationImage && new MigrationTask(`${service.name}-migration`, {
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
    clusterArn: ecsEnvironment.cluster.arn,
    clusterName: ecsEnvironment.cluster.name,
    databaseSecurityGroupId: rdsDatabase.securityGroupId,
    databasePort: databaseConfig.port,
    environment: applicationEnvironment,
    secrets: applicationSecrets,
    secretKmsKeyArns,
    logRetentionDays: service.logRetentionDays,
    logKmsKeyArn: stackKey.arn,
    tags,
});
if (migrationTask) resolveMigrationSecurityGroupId(migrationTask.securityGroupId);
// The user the migration's container runs as: that of the colour it takes its image from, else the release colour's.
const migrationUserColour = migrationImage?.colour ?? releaseColours(config)[0];
const kubernetesMigration = kubernetesEnvironment && rdsDatabase && migrationConfig && migrationImage && new (kubernetesMigrationComponents().KubernetesMigrationJob)(`${service.name}-migration`, {
    serviceName: service.name,
    namespace: kubernetesEnvironment.namespace,
    release: migrationImage.release,
    image: migrationImage.image,
    command: migrationConfig.command,
    timeoutMinutes: migrationConfig.timeoutMinutes,
    cpu: migrationConfig.cpu,
    memory: migrationConfig.memory,
    cpuArchitecture: migrationImage.cpuArchitecture,
    user: migrationUserColour ? config[migrationUserColour].user : undefined,
    serviceAccountName: kubernetesEnvironment.serviceAccount.metadata.name,
    environment: applicationEnvironment,
    secrets: kubernetesEnvironment.podSecrets,
}, { provider: kubernetesEnvironment.provider });

// A guard trip blocks a config that still gives its colour traffic (guard/tripGate.ts). The forwarding listener's
// weights wait for this check, so a refused config never reaches the listener: `pulumi preview` and `up` fail with why.
const tripCheck = checkTrips(() => programTripReader()({ region, profile: awsProfile, tableName: ledgerTableName, stack }), config.traffic, stack);

const traffic = new WeightedListener(service.name, {
    vpcId: network.vpcId,
    publicSubnetIds: network.publicSubnetIds,
    certificateArn: config.tls.certificateArn,
    sslPolicy: config.tls.sslPolicy,
    blue: { targetGroupArn: colours.blue.target.targetGroup.arn, securityGroupId: colours.blue.target.securityGroupId, weight: tripCheck.then(() => config.traffic.blue) },
    green: { targetGroupArn: colours.green.target.targetGroup.arn, securityGroupId: colours.green.target.securityGroupId, weight: tripCheck.then(() => config.traffic.green) },
    appPort: service.port,
    // On Kubernetes the pods share one security group, and the controller adds its ingress rule from the TargetGroupBindings.
    targetSecurityGroups: kubernetes ? [{ key: "pods", securityGroupId: kubernetes.securityGroupId, description: "the pods", declareIngress: false }] : undefined,
    ingressCidrs: service.ingressCidrs,
    testPort: service.testPort,
    testCidrs: service.testCidrs,
    stickySeconds: service.stickySeconds,
    deletionProtection: config.protect,
    accessLogs: {
        bucket: logBucket ? logBucket.bucketName : accessLogs.bucketName!,
        prefix: accessLogs.prefix,
        dependsOn: logBucket?.ready,
    },
    webAclArn: service.webAclArn,
    ...(config.maintenance.enabled ? { maintenance: { messageBody: maintenancePage(config.maintenance.reason ?? "") } } : {}),
    tags,
});
resolveForwardingListener(traffic.listener);
resolveLoadBalancerSecurityGroupId(traffic.securityGroup.id);

// Both colours always have alarms, each judged against the other; none reads the weights (invariant 1).
const alarms = Object.fromEntries(COLOURS.map((colour) => {
    const baseline = otherColour(colour);
    return [colour, new DeploymentAlarms(`${service.name}-${colour}-alarms`, {
        serviceName: service.name,
        stackName: stack,
        colour,
        baselineColour: baseline,
        loadBalancerArnSuffix: traffic.loadBalancer.arnSuffix,
        targetGroupArnSuffix: colours[colour].target.targetGroup.arnSuffix,
        baselineTargetGroupArnSuffix: colours[baseline].target.targetGroup.arnSuffix,
        expectedTargets: colours[colour].expectedTargets,
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

// The runner-independent rollback: a colour's rollback alarm in ALARM takes its traffic off in AWS, with no CI runner.
const guard = new ReleaseGuard(`${service.name}-guard`, {
    functionName: `${service.name}-${stack}-guard`,
    stackName: stack,
    serviceName: service.name,
    region,
    code: guardHandlerArchive(),
    listenerArn: traffic.listener.arn,
    targetGroupArns: { blue: colours.blue.target.targetGroup.arn, green: colours.green.target.targetGroup.arn },
    alarmNames: { blue: alarms.blue.rollbackAlarmName, green: alarms.green.rollbackAlarmName },
    ledgerTableName: ledger.tableName,
    ledgerTableArn: ledger.tableArn,
    ledgerKeyArn: ledger.keyArn,
    topicArn: notifications.topicArn,
    topicKeyArn: notifications.key.arn,
    logKmsKeyArn: stackKey.arn,
    logRetentionDays: service.logRetentionDays,
    tags,
});

const colourOutputs = (colour: "blue" | "green") => ({
    version: config[colour].version,
    image: config[colour].image,
    desiredCount: config[colour].desiredCount,
    weight: config.traffic[colour],
    targetGroupArn: colours[colour].target.targetGroup.arn,
    targetGroupArnSuffix: colours[colour].target.targetGroup.arnSuffix,
    serviceName: colours[colour].workloadName,
    securityGroupId: colours[colour].target.securityGroupId,
    rollbackAlarmName: alarms[colour].rollbackAlarmName,
});

/** Public HTTPS address of the service. */
export const serviceUrl = traffic.serviceUrl;
/** Test listener address; add the header `x-shiftwise-colour: blue|green`. */
export const testUrl = traffic.testUrl;
export const testHeader = TEST_HEADER;
/** The test listener forwards only requests that also carry this header with the `testToken` secret. */
export const testTokenHeader = TEST_TOKEN_HEADER;
/** The per-stack test token (a secret): `pulumi stack output --show-secrets testToken`. */
export const testToken = traffic.testToken;
/** The forwarding listener that every traffic step updates. */
export const listenerArn = traffic.listener.arn;
export const loadBalancerArnSuffix = traffic.loadBalancer.arnSuffix;
/** Where the colours run: `ecs` or `kubernetes`. */
export const platform = service.platform;
/** The ECS cluster, or the EKS cluster the colours' Deployments run in. */
export const clusterName = ecsEnvironment ? ecsEnvironment.cluster.name : kubernetes!.clusterName;
/** The Kubernetes namespace of the colours; null on ECS. */
export const kubernetesNamespace = kubernetesEnvironment ? kubernetesEnvironment.namespace : null;
export const weights = { blue: config.traffic.blue, green: config.traffic.green };
/** Maintenance mode: when on, the forwarding listener answers 503 with the page and forwards nothing. */
export const maintenance = { enabled: config.maintenance.enabled, reason: config.maintenance.reason ?? null };
export const stable = stableColour(config.traffic, config.releaseColour);
export const candidate = otherColour(stable);
export const blue = colourOutputs("blue");
export const green = colourOutputs("green");
/** The SNS topic every alarm notifies; CI publishes deployment outcomes to it. */
export const notificationTopicArn = notifications.topicArn;
/** The release ledger: the driver's lease, requests and records live in this DynamoDB table. */
export const releaseLedger = { tableName: ledger.tableName, tableArn: ledger.tableArn, keyArn: ledger.keyArn };
/** The AWS-side guard: the function that takes traffic off a colour in ALARM, and the EventBridge rule that invokes it. */
export const releaseGuard = { functionName: guard.functionName, ruleName: guard.ruleName };
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
/** What the driver needs to run the release's migration (RunTask on ECS, a Job on Kubernetes); null when none is declared. */
export const migration = kubernetesMigration ? {
    platform: "kubernetes",
    clusterName: kubernetes!.clusterName,
    namespace: kubernetesMigration.namespace,
    jobTemplate: kubernetesMigration.templateName,
    containerName: kubernetesMigration.containerName,
    runnerGroup: kubernetesMigration.runnerGroup,
    release: migrationImage?.release,
    image: migrationImage?.image,
} : migrationTask ? {
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
/** Where the load balancer's access logs land. */
export const accessLogsLocation = pulumi.interpolate`s3://${logBucket ? logBucket.bucketName : accessLogs.bucketName}/${accessLogs.prefix}/AWSLogs/`;
