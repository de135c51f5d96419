// Tests of the secure-by-default resources: key, log bucket, access and flow logs, containers, database monitoring, WAF.
import * as assert from "assert";
import { ELB_LOG_DELIVERY_SERVICE, elbLogDeliveryPrincipal } from "../components/logDelivery";
import { PERFORMANCE_INSIGHTS_UNSUPPORTED, performanceInsightsSupported } from "../components/database";
import { WRITABLE_ROOT_TAG } from "../components/colourService";
import { NO_PERFORMANCE_INSIGHTS, WRITABLE_ROOT_TAG as POLICY_WRITABLE_ROOT_TAG } from "../policy/secureByDefault";
import { CapturedResource, ProgramEvaluation, evaluate, ofType, one, sectionValue, stackConfig, withFields, withSection } from "./harness";

const KEY = "aws:kms/key:Key";
const LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup";
const LOAD_BALANCER = "aws:lb/loadBalancer:LoadBalancer";
const BUCKET = "aws:s3/bucket:Bucket";
const BUCKET_POLICY = "aws:s3/bucketPolicy:BucketPolicy";
const TASK_DEFINITION = "aws:ecs/taskDefinition:TaskDefinition";
const FLOW_LOG = "aws:ec2/flowLog:FlowLog";
const DB = "aws:rds/instance:Instance";
const WAF_ASSOCIATION = "aws:wafv2/webAclAssociation:WebAclAssociation";

type Json = Record<string, any>;

function stackKey(evaluation: ProgramEvaluation): CapturedResource {
    return one(evaluation, KEY, "shop-key");
}

function containers(task: CapturedResource): Json[] {
    return JSON.parse(String(task.inputs.containerDefinitions)) as Json[];
}

function taskOf(evaluation: ProgramEvaluation, colour: string): CapturedResource {
    return one(evaluation, TASK_DEFINITION, `shop-${colour}`);
}

describe("secure by default", () => {
    describe("the stack key", () => {
        it("rotates and admits only this region's CloudWatch Logs for this account's log groups", async () => {
            const key = stackKey(await evaluate(stackConfig("production"), "production"));
            assert.strictEqual(key.inputs.enableKeyRotation, true);
            const statement = (JSON.parse(String(key.inputs.policy)).Statement as Json[]).find((s) => s.Sid === "CloudWatchLogsEncrypts")!;
            assert.deepStrictEqual(statement.Principal, { Service: "logs.eu-west-1.amazonaws.com" });
            assert.deepStrictEqual(statement.Condition, {
                ArnLike: { "kms:EncryptionContext:aws:logs:arn": "arn:aws:logs:eu-west-1:123456789012:log-group:*" },
            });
        });

        for (const stack of ["staging", "production"]) {
            it(`encrypts every log group of ${stack} with it`, async () => {
                const evaluation = await evaluate(stackConfig(stack), stack);
                const keyArn = stackKey(evaluation).state.arn;
                const groups = ofType(evaluation, LOG_GROUP);
                assert.ok(groups.length >= 4, `expected the colours' and the database's log groups, found ${groups.length}`);
                assert.deepStrictEqual(groups.map((g) => [g.inputs.name, g.inputs.kmsKeyId]), groups.map((g) => [g.inputs.name, keyArn]));
            });
        }
    });

    describe("load balancer access logs", () => {
        it("go to the stack's bucket under alb/, and the load balancer waits for the bucket policy", async () => {
            const evaluation = await evaluate(stackConfig("staging"));
            const bucket = one(evaluation, BUCKET);
            const policy = one(evaluation, BUCKET_POLICY);
            const loadBalancer = one(evaluation, LOAD_BALANCER);
            assert.deepStrictEqual(loadBalancer.inputs.accessLogs, { enabled: true, bucket: bucket.state.bucket, prefix: "alb" });
            assert.ok(loadBalancer.options.dependencies.includes(policy.urn), "the ALB must wait for the bucket policy");
        });

        it("are written by eu-west-1's ELB account, and nothing reaches the bucket without TLS", async () => {
            const evaluation = await evaluate(stackConfig("staging"));
            const bucket = one(evaluation, BUCKET);
            const statements = JSON.parse(String(one(evaluation, BUCKET_POLICY).inputs.policy)).Statement as Json[];
            assert.deepStrictEqual(statements.map((s) => s.Sid), ["DenyInsecureTransport", "ElbLogDelivery"]);
            assert.deepStrictEqual(statements[0], {
                Sid: "DenyInsecureTransport",
                Effect: "Deny",
                Principal: "*",
                Action: "s3:*",
                Resource: [bucket.state.arn, `${bucket.state.arn}/*`],
                Condition: { Bool: { "aws:SecureTransport": "false" } },
            });
            assert.deepStrictEqual(statements[1].Principal, { AWS: "arn:aws:iam::156460612806:root" });
            assert.strictEqual(statements[1].Resource, `${bucket.state.arn}/alb/AWSLogs/123456789012/*`);
        });

        it("block public access, encrypt with SSE-S3 and expire after the configured days", async () => {
            const evaluation = await evaluate(withFields(stackConfig("staging"), "service", { accessLogs: { retentionDays: 30 } }));
            assert.deepStrictEqual(
                one(evaluation, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock").inputs,
                { ...one(evaluation, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock").inputs, blockPublicAcls: true, blockPublicPolicy: true, ignorePublicAcls: true, restrictPublicBuckets: true },
            );
            const encryption = one(evaluation, "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration");
            assert.strictEqual((encryption.inputs.rules as Json[])[0].applyServerSideEncryptionByDefault.sseAlgorithm, "AES256");
            const lifecycle = one(evaluation, "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration");
            assert.deepStrictEqual((lifecycle.inputs.rules as Json[])[0].expiration, { days: 30 });
        });

        it("are kept on stack deletion when protect is set, and emptied with the stack otherwise", async () => {
            const production = one(await evaluate(stackConfig("production"), "production"), BUCKET);
            const staging = one(await evaluate(stackConfig("staging")), BUCKET);
            assert.deepStrictEqual([production.options.retainOnDelete, production.inputs.forceDestroy], [true, false]);
            assert.deepStrictEqual([staging.options.retainOnDelete, staging.inputs.forceDestroy], [false, true]);
        });

        it("go to an existing bucket named in config, and the stack creates none", async () => {
            const evaluation = await evaluate(withFields(stackConfig("staging"), "service", { accessLogs: { bucketName: "corp-alb-logs", prefix: "shop/staging" } }));
            assert.deepStrictEqual(ofType(evaluation, BUCKET), []);
            assert.deepStrictEqual(one(evaluation, LOAD_BALANCER).inputs.accessLogs, { enabled: true, bucket: "corp-alb-logs", prefix: "shop/staging" });
        });

        it("name the ELB account of an older region and the log delivery service in a newer one", () => {
            assert.deepStrictEqual(elbLogDeliveryPrincipal("us-east-1"), { AWS: "arn:aws:iam::127311923021:root" });
            assert.deepStrictEqual(elbLogDeliveryPrincipal("us-gov-west-1", "aws-us-gov"), { AWS: "arn:aws-us-gov:iam::048591011584:root" });
            assert.deepStrictEqual(elbLogDeliveryPrincipal("ap-southeast-5"), { Service: ELB_LOG_DELIVERY_SERVICE });
            assert.deepStrictEqual(elbLogDeliveryPrincipal("mx-central-1"), { Service: "logdelivery.elasticloadbalancing.amazonaws.com" });
        });
    });

    describe("VPC flow logs", () => {
        it("record all traffic of a created VPC into an encrypted log group through a role scoped to it", async () => {
            const evaluation = await evaluate(stackConfig("staging"));
            const flowLog = one(evaluation, FLOW_LOG);
            const group = one(evaluation, LOG_GROUP, "shop-net-flow-logs");
            assert.deepStrictEqual(
                [flowLog.inputs.trafficType, flowLog.inputs.logDestinationType, flowLog.inputs.logDestination, flowLog.inputs.vpcId],
                ["ALL", "cloud-watch-logs", group.state.arn, one(evaluation, "aws:ec2/vpc:Vpc").state.id],
            );
            assert.deepStrictEqual([group.inputs.name, group.inputs.retentionInDays], ["/shiftwise/staging/shop/vpc-flow-logs", 90]);
            const policy = JSON.parse(String(one(evaluation, "aws:iam/rolePolicy:RolePolicy", "shop-net-flow-logs").inputs.policy));
            assert.deepStrictEqual(policy.Statement[0].Resource, [group.state.arn, `${group.state.arn}:log-stream:*`]);
        });

        it("go to the log bucket under vpc-flow-logs/ with destination s3, and the bucket admits the log delivery service", async () => {
            const network = sectionValue(stackConfig("staging"), "network") as Json;
            const evaluation = await evaluate(withSection(stackConfig("staging"), "network", { create: { ...network.create, flowLogs: { destination: "s3" } } }));
            const bucket = one(evaluation, BUCKET);
            const flowLog = one(evaluation, FLOW_LOG);
            assert.deepStrictEqual([flowLog.inputs.logDestinationType, flowLog.inputs.logDestination], ["s3", `${bucket.state.arn}/vpc-flow-logs/`]);
            const statements = JSON.parse(String(one(evaluation, BUCKET_POLICY).inputs.policy)).Statement as Json[];
            assert.deepStrictEqual(statements.map((s) => s.Sid), ["DenyInsecureTransport", "ElbLogDelivery", "FlowLogDeliveryWrite", "FlowLogDeliveryAclCheck"]);
            assert.strictEqual(statements[2].Resource, `${bucket.state.arn}/vpc-flow-logs/AWSLogs/123456789012/*`);
            assert.deepStrictEqual(ofType(evaluation, LOG_GROUP).filter((g) => g.name.includes("flow")), []);
        });

        it("are not declared for an adopted VPC, which the stack does not own", async () => {
            assert.deepStrictEqual(ofType(await evaluate(stackConfig("production"), "production"), FLOW_LOG), []);
        });
    });

    describe("containers", () => {
        it("run with a read-only root filesystem, a writable /tmp scratch volume, unprivileged, as the image's user", async () => {
            const evaluation = await evaluate(stackConfig("production"), "production");
            for (const colour of ["blue", "green"]) {
                const task = taskOf(evaluation, colour);
                assert.deepStrictEqual(task.inputs.volumes, [{ name: "scratch" }]);
                const [container] = containers(task);
                assert.strictEqual(container.readonlyRootFilesystem, true);
                assert.deepStrictEqual(container.mountPoints, [{ sourceVolume: "scratch", containerPath: "/tmp", readOnly: false }]);
                assert.strictEqual(container.privileged, undefined);
                assert.strictEqual(container.user, undefined);
            }
        });

        // That the edit touches only green's resources is invariant 2's table in program.test.ts.
        it("opt out of the read-only root and set a user per colour, and the task definition records the opt-out", async () => {
            const after = await evaluate(withFields(stackConfig("production"), "green", { readonlyRootFilesystem: false, user: "1000:1000" }), "production");
            const [green] = containers(taskOf(after, "green"));
            const [blue] = containers(taskOf(after, "blue"));
            assert.deepStrictEqual([green.readonlyRootFilesystem, green.user], [false, "1000:1000"]);
            assert.deepStrictEqual([blue.readonlyRootFilesystem, blue.user], [true, undefined]);
            assert.strictEqual((taskOf(after, "green").inputs.tags as Json)["shiftwise:writable-root-filesystem"], "opted out for green");
            assert.strictEqual((taskOf(after, "blue").inputs.tags as Json)["shiftwise:writable-root-filesystem"], undefined);
            assert.strictEqual(WRITABLE_ROOT_TAG, POLICY_WRITABLE_ROOT_TAG, "the policy pack must recognise the opt-out tag");
        });
    });

    describe("database", () => {
        it("has Performance Insights encrypted with the stack key, Enhanced Monitoring, the current CA, TLS required and logs exported", async () => {
            const evaluation = await evaluate(stackConfig("production"), "production");
            const db = one(evaluation, DB);
            const keyArn = stackKey(evaluation).state.arn;
            const role = one(evaluation, "aws:iam/role:Role", "shop-db-monitoring");
            const parameters = one(evaluation, "aws:rds/parameterGroup:ParameterGroup");
            assert.deepStrictEqual(
                [db.inputs.performanceInsightsEnabled, db.inputs.performanceInsightsKmsKeyId, db.inputs.performanceInsightsRetentionPeriod],
                [true, keyArn, 7],
            );
            assert.deepStrictEqual([db.inputs.monitoringInterval, db.inputs.monitoringRoleArn], [60, role.state.arn]);
            assert.strictEqual(db.inputs.caCertIdentifier, "rds-ca-rsa2048-g1");
            assert.strictEqual(db.inputs.parameterGroupName, parameters.state.name);
            assert.deepStrictEqual([parameters.inputs.family, parameters.inputs.parameters], ["postgres16", [{ name: "rds.force_ssl", value: "1", applyMethod: "immediate" }]]);
            assert.deepStrictEqual(db.inputs.enabledCloudwatchLogsExports, ["postgresql", "upgrade"]);
            const exported = ofType(evaluation, LOG_GROUP).filter((g) => String(g.inputs.name).startsWith("/aws/rds/instance/"));
            assert.deepStrictEqual(exported.map((g) => g.inputs.name), ["/aws/rds/instance/shop-production/postgresql", "/aws/rds/instance/shop-production/upgrade"]);
            assert.ok(exported.every((g) => db.options.dependencies.includes(g.urn)), "the instance must wait for its log groups");
        });

        it("monitors through a role that RDS alone assumes and that writes only RDSOSMetrics in this account and region", async () => {
            const evaluation = await evaluate(stackConfig("production"), "production");
            const trust = JSON.parse(String(one(evaluation, "aws:iam/role:Role", "shop-db-monitoring").inputs.assumeRolePolicy));
            assert.deepStrictEqual(trust.Statement[0].Principal, { Service: "monitoring.rds.amazonaws.com" });
            const policy = JSON.parse(String(one(evaluation, "aws:iam/rolePolicy:RolePolicy", "shop-db-monitoring").inputs.policy));
            assert.deepStrictEqual(policy.Statement.map((s: Json) => s.Resource), [
                "arn:aws:logs:eu-west-1:123456789012:log-group:RDSOSMetrics",
                "arn:aws:logs:eu-west-1:123456789012:log-group:RDSOSMetrics:log-stream:*",
            ]);
        });

        it("knows which instance classes lack Performance Insights", () => {
            assert.strictEqual(performanceInsightsSupported("postgres", "db.t4g.micro"), true);
            assert.strictEqual(performanceInsightsSupported("mysql", "db.t4g.micro"), false);
            assert.strictEqual(performanceInsightsSupported("mariadb", "db.t3.small"), false);
            assert.strictEqual(performanceInsightsSupported("mysql", "db.t4g.medium"), true);
        });

        it("and the policy pack knows the same classes", () => {
            assert.deepStrictEqual(NO_PERFORMANCE_INSIGHTS, Object.fromEntries(Object.entries(PERFORMANCE_INSIGHTS_UNSUPPORTED).filter(([, classes]) => classes.length > 0)));
        });
    });

    describe("WAF", () => {
        it("associates the configured web ACL with the load balancer", async () => {
            const evaluation = await evaluate(stackConfig("production"), "production");
            const association = one(evaluation, WAF_ASSOCIATION);
            assert.deepStrictEqual(association.inputs, {
                resourceArn: one(evaluation, LOAD_BALANCER).state.arn,
                webAclArn: "arn:aws:wafv2:eu-west-1:123456789012:regional/webacl/shop-production/4f6c2a1e-8b3d-4e5f-9a7b-1c2d3e4f5a6b",
            });
        });

        it("associates nothing without service.webAclArn", async () => {
            assert.deepStrictEqual(ofType(await evaluate(stackConfig("staging")), WAF_ASSOCIATION), []);
        });
    });
});
