// Tests of the migration task on the real program graph: network, secrets, roles, outputs and the invariants.
import * as assert from "assert";
import { secretResourceArn } from "../components/blueGreenEnvironment";
import { diffGraphs, effectiveChanges } from "../evaluation/graphDiff";
import { ConfigMap, ProgramEvaluation, descendants, evaluate, ofType, one, sectionValue, stackConfig, withFields } from "./harness";

const TASK_DEFINITION = "aws:ecs/taskDefinition:TaskDefinition";
const SECURITY_GROUP = "aws:ec2/securityGroup:SecurityGroup";
const INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule";
const EGRESS = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule";
const MIGRATE = ["npm", "run", "migrate"];
const V160 = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/shop:v1.6.0";

/** A stack with a migration configured and a release of green (v1.5.0) under way. */
function migratingConfig(stack: string, migration: Record<string, unknown> = {}): ConfigMap {
    return withFields(stackConfig(stack), "database", { preReleaseSnapshot: "v1.5.0", migration: { command: MIGRATE, ...migration } });
}

function containerOf(evaluation: ProgramEvaluation, name: string) {
    return JSON.parse(String(one(evaluation, TASK_DEFINITION, name).inputs.containerDefinitions))[0];
}

function groupId(evaluation: ProgramEvaluation, name: string): string {
    return one(evaluation, SECURITY_GROUP, name).state.id as string;
}

for (const stack of ["staging", "production"]) {
    describe(`migration task (${stack})`, () => {
        let evaluation: ProgramEvaluation;
        before(async () => {
            evaluation = await evaluate(migratingConfig(stack), stack);
        });

        it("is a one-off Fargate task of the release's image with the migration command and no port", () => {
            const task = one(evaluation, TASK_DEFINITION, "shop-migration");
            assert.strictEqual(task.inputs.family, "shop-migration");
            assert.deepStrictEqual(task.inputs.requiresCompatibilities, ["FARGATE"]);
            assert.strictEqual(task.inputs.networkMode, "awsvpc");
            assert.deepStrictEqual([task.inputs.cpu, task.inputs.memory], ["256", "512"]);
            const container = containerOf(evaluation, "shop-migration");
            assert.strictEqual(container.name, "migrate");
            assert.strictEqual(container.image, sectionValue(stackConfig(stack), "green").image);
            assert.deepStrictEqual(container.command, MIGRATE);
            assert.strictEqual(container.portMappings, undefined);
            assert.strictEqual(container.logConfiguration.options["awslogs-group"], `/shiftwise/${stack}/shop/migration`);
            assert.strictEqual(container.logConfiguration.options["awslogs-stream-prefix"], "migration");
        });

        it("gets the colours' database environment and secrets, and nothing the colours do not get", () => {
            const migration = containerOf(evaluation, "shop-migration");
            const colour = containerOf(evaluation, "shop-green");
            const named = (entries: { name: string }[]) => entries.filter((e) => !e.name.startsWith("SHIFTWISE_"));
            assert.deepStrictEqual(named(migration.environment), named(colour.environment));
            assert.deepStrictEqual(named(migration.environment).map((e: { name: string }) => e.name), ["DATABASE_HOST", "DATABASE_NAME", "DATABASE_PORT"]);
            assert.deepStrictEqual(migration.secrets, colour.secrets);
            assert.deepStrictEqual(migration.secrets.map((s: { name: string }) => s.name), ["DATABASE_PASSWORD", "DATABASE_USER"]);
            assert.deepStrictEqual(migration.environment.filter((e: { name: string }) => e.name.startsWith("SHIFTWISE_")), [
                { name: "SHIFTWISE_MIGRATION", value: "true" },
                { name: "SHIFTWISE_VERSION", value: "v1.5.0" },
            ]);
        });

        it("has its own roles: the execution role may write only its log group and read only the database secret", () => {
            const task = one(evaluation, TASK_DEFINITION, "shop-migration");
            const execution = one(evaluation, "aws:iam/role:Role", "shop-migration-execution");
            const taskRole = one(evaluation, "aws:iam/role:Role", "shop-migration-task");
            assert.deepStrictEqual([task.inputs.executionRoleArn, task.inputs.taskRoleArn], [execution.state.arn, taskRole.state.arn]);
            assert.notStrictEqual(execution.state.arn, one(evaluation, "aws:iam/role:Role", "shop-execution").state.arn);
            const policy = JSON.parse(String(one(evaluation, "aws:iam/rolePolicy:RolePolicy", "shop-migration-execution").inputs.policy));
            const logGroup = one(evaluation, "aws:cloudwatch/logGroup:LogGroup", "shop-migration");
            const logs = policy.Statement.find((s: { Sid: string }) => s.Sid === "Logs");
            assert.deepStrictEqual(logs.Resource, [`${logGroup.state.arn}:log-stream:*`]);
            const secrets = policy.Statement.find((s: { Sid: string }) => s.Sid === "TaskSecrets");
            const databaseSecret = secretResourceArn(containerOf(evaluation, "shop-green").secrets[0].valueFrom);
            assert.match(databaseSecret, /^arn:aws:secretsmanager:eu-west-1:123456789012:secret:rds!/);
            assert.deepStrictEqual(secrets.Resource, [databaseSecret]);
            assert.deepStrictEqual(ofType(evaluation, "aws:iam/rolePolicy:RolePolicy").filter((p) => p.inputs.role === taskRole.state.id), []);
            assert.deepStrictEqual(ofType(evaluation, "aws:iam/rolePolicyAttachment:RolePolicyAttachment").filter((p) => p.inputs.role === taskRole.state.id), []);
        });

        it("admits nothing in, reaches only the database and HTTPS, and the database admits it", () => {
            const migrationGroup = groupId(evaluation, "shop-migration");
            const databaseGroup = groupId(evaluation, "shop-db");
            assert.deepStrictEqual(ofType(evaluation, INGRESS).filter((rule) => rule.inputs.securityGroupId === migrationGroup), []);
            assert.deepStrictEqual(
                ofType(evaluation, EGRESS).filter((rule) => rule.inputs.securityGroupId === migrationGroup)
                    .map((rule) => [rule.inputs.ipProtocol, rule.inputs.fromPort, rule.inputs.toPort, rule.inputs.referencedSecurityGroupId, rule.inputs.cidrIpv4])
                    .sort((a, b) => Number(b[1]) - Number(a[1])),
                [["tcp", 5432, 5432, databaseGroup, undefined], ["tcp", 443, 443, undefined, "0.0.0.0/0"]],
            );
            assert.deepStrictEqual(
                ofType(evaluation, INGRESS).filter((rule) => rule.inputs.securityGroupId === databaseGroup).map((rule) => [rule.name, rule.inputs.referencedSecurityGroupId])
                    .sort(([a], [b]) => String(a).localeCompare(String(b))),
                [["shop-db-from-blue", groupId(evaluation, "shop-blue")], ["shop-db-from-green", groupId(evaluation, "shop-green")], ["shop-db-from-migration", migrationGroup]],
            );
        });

        it("exports what RunTask needs: family, ARN, cluster, private subnets, security group, log group", () => {
            const outputs = evaluation.outputs as Record<string, any>;
            const task = one(evaluation, TASK_DEFINITION, "shop-migration");
            const cluster = one(evaluation, "aws:ecs/cluster:Cluster");
            const service = one(evaluation, "aws:ecs/service:Service", "shop-green");
            assert.deepStrictEqual(outputs.migration, {
                family: "shop-migration",
                taskDefinitionArn: task.state.arn,
                clusterArn: cluster.state.arn,
                clusterName: cluster.state.name,
                subnetIds: (service.inputs.networkConfiguration as { subnets: string[] }).subnets,
                securityGroupId: groupId(evaluation, "shop-migration"),
                logGroupName: `/shiftwise/${stack}/shop/migration`,
                logStreamPrefix: "migration",
                containerName: "migrate",
                release: "v1.5.0",
                image: sectionValue(stackConfig(stack), "green").image,
            });
        });

        // The graph diffs are the slow part; one stack shows them.
        if (stack === "staging") describe("invariants with a migration configured", () => {
            for (const [from, to] of [[{ blue: 100, green: 0 }, { blue: 75, green: 25 }], [{ blue: 50, green: 50 }, { blue: 0, green: 100 }]]) {
                it(`a traffic step ${from.green} -> ${to.green} still changes only the forwarding listener`, async () => {
                    const before = await evaluate(withFields(migratingConfig(stack), "traffic", from), stack);
                    const after = await evaluate(withFields(migratingConfig(stack), "traffic", to), stack);
                    const changes = effectiveChanges(diffGraphs(before.resources, after.resources));
                    assert.deepStrictEqual(changes, [{ urn: one(after, "aws:lb/listener:Listener", "shop").urn, type: "aws:lb/listener:Listener", op: "update", changedKeys: ["defaultActions"] }]);
                });
            }

            it("changing the other colour's image touches only that colour", async () => {
                const after = await evaluate(withFields(migratingConfig(stack), "blue", { image: V160 }), stack);
                const changes = effectiveChanges(diffGraphs(evaluation.resources, after.resources));
                const own = new Set(descendants(after, one(after, "shiftwise:ecs:ColourService", "shop-blue").urn).map((r) => r.urn));
                assert.ok(changes.length > 0);
                assert.deepStrictEqual(changes.filter((change) => !own.has(change.urn)), []);
            });

            it("changing the release colour's image changes that colour and the migration's task definition, nothing else", async () => {
                const after = await evaluate(withFields(migratingConfig(stack), "green", { image: V160 }), stack);
                const changes = effectiveChanges(diffGraphs(evaluation.resources, after.resources));
                const own = new Set(descendants(after, one(after, "shiftwise:ecs:ColourService", "shop-green").urn).map((r) => r.urn));
                const migrationTask = one(after, TASK_DEFINITION, "shop-migration");
                assert.deepStrictEqual(changes.filter((change) => !own.has(change.urn)), [{ urn: migrationTask.urn, type: TASK_DEFINITION, op: "replace", changedKeys: ["containerDefinitions"] }]);
                assert.strictEqual(containerOf(after, "shop-migration").image, V160);
            });

            it("an explicit migration image decouples the task from both colours", async () => {
                const image = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/shop-migrations:v1.5.0";
                const before = await evaluate(migratingConfig(stack, { image }), stack);
                const after = await evaluate(withFields(migratingConfig(stack, { image }), "green", { image: V160 }), stack);
                const changes = effectiveChanges(diffGraphs(before.resources, after.resources));
                const own = new Set(descendants(after, one(after, "shiftwise:ecs:ColourService", "shop-green").urn).map((r) => r.urn));
                assert.deepStrictEqual(changes.filter((change) => !own.has(change.urn)), []);
                assert.strictEqual(containerOf(after, "shop-migration").image, image);
            });
        });
    });
}

describe("migration task: when it exists", () => {
    it("is not declared without a migration, nor before a release names an image", async () => {
        for (const config of [stackConfig("staging"), withFields(stackConfig("staging"), "database", { migration: { command: MIGRATE } })]) {
            const evaluation = await evaluate(config);
            assert.deepStrictEqual(ofType(evaluation, "shiftwise:data:MigrationTask"), []);
            assert.strictEqual((evaluation.outputs as Record<string, unknown>).migration, null);
            assert.deepStrictEqual(ofType(evaluation, INGRESS).filter((rule) => rule.name === "shop-db-from-migration"), []);
        }
    });

    it("takes the size and architecture from the migration config", async () => {
        const evaluation = await evaluate(migratingConfig("staging", { cpu: 1024, memory: 4096, cpuArchitecture: "ARM64" }));
        const task = one(evaluation, TASK_DEFINITION, "shop-migration");
        assert.deepStrictEqual([task.inputs.cpu, task.inputs.memory, task.inputs.runtimePlatform], ["1024", "4096", { operatingSystemFamily: "LINUX", cpuArchitecture: "ARM64" }]);
    });
});
