// Tests of the database component on the real program graph.
import * as assert from "assert";
import { diffGraphs } from "../evaluation/graphDiff";
import { secretResourceArn } from "../components/blueGreenEnvironment";
import { ALL_STACKS, ConfigMap, ProgramEvaluation, ofType, one, platformOf, stackConfig, withFields, withSection, evaluate } from "./harness";

const INSTANCE = "aws:rds/instance:Instance";
const INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule";
const SECURITY_GROUP = "aws:ec2/securityGroup:SecurityGroup";
/** Every resource that holds or guards the data; none may ever be replaced or deleted by a step. */
const DATA_TYPES = [INSTANCE, "aws:rds/subnetGroup:SubnetGroup", "aws:backup/vault:Vault", "aws:rds/snapshot:Snapshot"];

function containerDefinition(evaluation: ProgramEvaluation, colour: string) {
    return JSON.parse(String(one(evaluation, "aws:ecs/taskDefinition:TaskDefinition", `shop-${colour}`).inputs.containerDefinitions))[0];
}

/** The security groups the database admits: each colour's on ECS, the pods' configured group on Kubernetes. */
function clientGroups(evaluation: ProgramEvaluation, config: ConfigMap): string[] {
    if (platformOf(config) === "kubernetes") return [JSON.parse(config["shiftwise:kubernetes"]).securityGroupId];
    return ["blue", "green"].map((colour) => one(evaluation, SECURITY_GROUP, `shop-${colour}`).state.id as string);
}

for (const stack of ALL_STACKS) {
    const protect = stack.endsWith("production");
    const platform = platformOf(stackConfig(stack));
    describe(`database (${stack}, ${platform})`, () => {
        let config: ConfigMap;
        let evaluation: ProgramEvaluation;

        before(async () => {
            config = stackConfig(stack);
            evaluation = await evaluate(config, stack);
        });

        it("creates a private, encrypted PostgreSQL instance with an AWS-managed password and IAM authentication", () => {
            const database = JSON.parse(config["shiftwise:database"]);
            const instance = one(evaluation, INSTANCE, "shop-db").inputs;
            assert.deepStrictEqual(
                {
                    identifier: instance.identifier,
                    engine: instance.engine,
                    engineVersion: instance.engineVersion,
                    instanceClass: instance.instanceClass,
                    dbName: instance.dbName,
                    port: instance.port,
                    storageEncrypted: instance.storageEncrypted,
                    publiclyAccessible: instance.publiclyAccessible,
                    manageMasterUserPassword: instance.manageMasterUserPassword,
                    password: instance.password,
                    iamDatabaseAuthenticationEnabled: instance.iamDatabaseAuthenticationEnabled,
                    backupRetentionPeriod: instance.backupRetentionPeriod,
                    deleteAutomatedBackups: instance.deleteAutomatedBackups,
                    copyTagsToSnapshot: instance.copyTagsToSnapshot,
                    skipFinalSnapshot: instance.skipFinalSnapshot,
                    finalSnapshotIdentifier: instance.finalSnapshotIdentifier,
                    deletionProtection: instance.deletionProtection,
                    multiAz: instance.multiAz,
                },
                {
                    identifier: `shop-${stack}`,
                    engine: "postgres",
                    engineVersion: database.engineVersion,
                    instanceClass: database.instanceClass,
                    dbName: "shop",
                    port: 5432,
                    storageEncrypted: true,
                    publiclyAccessible: false,
                    manageMasterUserPassword: true,
                    password: undefined,
                    iamDatabaseAuthenticationEnabled: true,
                    backupRetentionPeriod: database.backupRetentionDays,
                    deleteAutomatedBackups: false,
                    copyTagsToSnapshot: true,
                    skipFinalSnapshot: false,
                    finalSnapshotIdentifier: `shop-${stack}-final`,
                    deletionProtection: protect,
                    multiAz: protect,
                },
            );
        });

        it(`is ${protect ? "" : "not "}Pulumi-protected`, () => {
            const instance = one(evaluation, INSTANCE, "shop-db");
            assert.strictEqual(instance.options.protect, protect);
            assert.strictEqual(instance.options.retainOnDelete, protect);
        });

        it("lives in the private subnets and admits only the two colours' security groups, on the database port", () => {
            const instance = one(evaluation, INSTANCE, "shop-db");
            const subnetGroup = one(evaluation, "aws:rds/subnetGroup:SubnetGroup", "shop-db");
            assert.strictEqual(instance.inputs.dbSubnetGroupName, subnetGroup.state.name);
            const network = JSON.parse(config["shiftwise:network"]);
            if (network.privateSubnetIds) {
                assert.deepStrictEqual(subnetGroup.inputs.subnetIds, network.privateSubnetIds);
            } else {
                const privateSubnets = ofType(evaluation, "aws:ec2/subnet:Subnet").filter((s) => s.name.includes("-private-")).map((s) => s.state.id);
                assert.deepStrictEqual(subnetGroup.inputs.subnetIds, privateSubnets);
            }
            const databaseGroup = one(evaluation, SECURITY_GROUP, "shop-db");
            assert.deepStrictEqual(instance.inputs.vpcSecurityGroupIds, [databaseGroup.state.id]);
            assert.strictEqual(databaseGroup.inputs.ingress, undefined);
            const rules = ofType(evaluation, INGRESS).filter((rule) => rule.inputs.securityGroupId === databaseGroup.state.id);
            const colourGroups = clientGroups(evaluation, config);
            assert.deepStrictEqual(
                rules.map((rule) => [rule.inputs.ipProtocol, rule.inputs.fromPort, rule.inputs.toPort, rule.inputs.referencedSecurityGroupId, rule.inputs.cidrIpv4]).sort(),
                colourGroups.map((group) => ["tcp", 5432, 5432, group, undefined]).sort(),
            );
            assert.deepStrictEqual(ofType(evaluation, "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule").filter((r) => r.inputs.securityGroupId === databaseGroup.state.id), []);
        });

        if (platform === "ecs") it("gives the colours the endpoint as environment and the managed secret's keys, not the password, as ECS secrets", () => {
            const instance = one(evaluation, INSTANCE, "shop-db").state;
            const secretArn = (instance.masterUserSecrets as { secretArn: string }[])[0].secretArn;
            for (const colour of ["blue", "green"]) {
                const container = containerDefinition(evaluation, colour);
                const environment = Object.fromEntries(container.environment.map((e: { name: string; value: string }) => [e.name, e.value]));
                assert.deepStrictEqual(
                    [environment.DATABASE_HOST, environment.DATABASE_PORT, environment.DATABASE_NAME],
                    [instance.address, "5432", "shop"],
                );
                assert.deepStrictEqual(container.secrets, [
                    { name: "DATABASE_PASSWORD", valueFrom: `${secretArn}:password::` },
                    { name: "DATABASE_USER", valueFrom: `${secretArn}:username::` },
                ]);
            }
            const policy = JSON.parse(String(one(evaluation, "aws:iam/rolePolicy:RolePolicy", "shop-execution").inputs.policy));
            const taskSecrets = policy.Statement.find((s: { Sid: string }) => s.Sid === "TaskSecrets");
            assert.deepStrictEqual(taskSecrets, { Sid: "TaskSecrets", Effect: "Allow", Action: ["secretsmanager:GetSecretValue"], Resource: [secretArn] });
        });

        const steps: [string, (c: ConfigMap) => ConfigMap][] = [
            ["a weight step", (c) => withFields(c, "traffic", { blue: 50, green: 50 })],
            ["a rollback to 100/0", (c) => withFields(c, "traffic", { blue: 100, green: 0 })],
            ["a new green version and image", (c) => withFields(c, "green", { version: "v1.6.0", image: "123456789012.dkr.ecr.eu-west-1.amazonaws.com/shop:v1.6.0" })],
            ["a new blue image", (c) => withFields(c, "blue", { image: "123456789012.dkr.ecr.eu-west-1.amazonaws.com/shop:v1.4.3" })],
            ["a blue count change", (c) => withFields(c, "blue", { desiredCount: 4 })],
        ];
        for (const [what, change] of steps) {
            it(`${what} never replaces or deletes the database or its backups`, async () => {
                const after = await evaluate(change(config), stack);
                const touched = diffGraphs(evaluation.resources, after.resources).filter((c) => DATA_TYPES.includes(c.type));
                assert.ok(touched.some((c) => c.type === INSTANCE));
                assert.deepStrictEqual(touched.filter((c) => c.op !== "same"), []);
                const databaseRules = diffGraphs(evaluation.resources, after.resources).filter((c) => c.urn.includes("shop-db-from-"));
                assert.deepStrictEqual(databaseRules.map((c) => c.op), clientGroups(evaluation, config).map(() => "same"));
            });
        }
    });
}

describe("database: adopting an existing instance", () => {
    let evaluation: ProgramEvaluation;

    before(async () => {
        evaluation = await evaluate(withSection(stackConfig("production"), "database", { existingInstanceId: "legacy-shop", preReleaseSnapshot: "v1.5.0" }), "production");
    });

    it("creates no instance, subnet group or security group, and admits the colours on the instance's own security group", () => {
        assert.deepStrictEqual(ofType(evaluation, INSTANCE), []);
        assert.deepStrictEqual(ofType(evaluation, "aws:rds/subnetGroup:SubnetGroup"), []);
        assert.throws(() => one(evaluation, SECURITY_GROUP, "shop-db"));
        const rules = ofType(evaluation, INGRESS).filter((rule) => rule.name.startsWith("shop-db-from-"));
        assert.deepStrictEqual(rules.map((r) => r.name).sort(), ["shop-db-from-blue", "shop-db-from-green"]);
        for (const rule of rules) assert.match(String(rule.inputs.securityGroupId), /^sg-[0-9a-f]{17}$/);
        assert.deepStrictEqual(
            rules.map((r) => r.inputs.referencedSecurityGroupId).sort(),
            ["blue", "green"].map((colour) => one(evaluation, SECURITY_GROUP, `shop-${colour}`).state.id).sort(),
        );
    });

    it("snapshots and backs up the adopted instance and passes its endpoint and secret to the colours", () => {
        const snapshot = one(evaluation, "aws:rds/snapshot:Snapshot");
        assert.strictEqual(snapshot.inputs.dbInstanceIdentifier, "legacy-shop");
        assert.deepStrictEqual(one(evaluation, "aws:backup/selection:Selection").inputs.resources, ["arn:aws:rds:eu-west-1:123456789012:db:legacy-shop"]);
        const container = containerDefinition(evaluation, "green");
        assert.ok(container.environment.some((e: { name: string; value: string }) => e.name === "DATABASE_HOST" && e.value.startsWith("legacy-shop.")));
        assert.match(container.secrets[0].valueFrom, /^arn:aws:secretsmanager:eu-west-1:123456789012:secret:rds!db-[0-9a-f]{8}-[0-9a-f]{6}:password::$/);
        assert.match(String((evaluation.outputs.preReleaseSnapshot as { restoreCommand: string }).restoreCommand), / --db-subnet-group-name legacy-shop-subnets /);
    });
});

describe("secretResourceArn", () => {
    const cases: [string, string][] = [
        ["arn:aws:secretsmanager:eu-west-1:123456789012:secret:rds!db-1-abcdef:password::", "arn:aws:secretsmanager:eu-west-1:123456789012:secret:rds!db-1-abcdef"],
        ["arn:aws:secretsmanager:eu-west-1:123456789012:secret:app-AbCdEf", "arn:aws:secretsmanager:eu-west-1:123456789012:secret:app-AbCdEf"],
        ["arn:aws:secretsmanager:eu-west-1:123456789012:secret:app-AbCdEf:token:AWSCURRENT:", "arn:aws:secretsmanager:eu-west-1:123456789012:secret:app-AbCdEf"],
        ["arn:aws:ssm:eu-west-1:123456789012:parameter/shop/token", "arn:aws:ssm:eu-west-1:123456789012:parameter/shop/token"],
    ];
    for (const [valueFrom, expected] of cases) {
        it(`${valueFrom} -> ${expected}`, () => assert.strictEqual(secretResourceArn(valueFrom), expected));
    }
});
