// Tests of the pre-release snapshot and backups.
import * as assert from "assert";
import { restoreCommand, restoredInstanceIdentifier, snapshotIdentifier } from "../components/snapshotBackup";
import { diffGraphs } from "../evaluation/graphDiff";
import { renderBackups, renderSnapshot } from "../plan/safety";
import { ConfigMap, ProgramEvaluation, ofType, one, stackConfig, withFields, withSection, evaluate } from "./harness";

const SNAPSHOT = "aws:rds/snapshot:Snapshot";
const SERVICE = "aws:ecs/service:Service";

describe("pre-release snapshot (production)", () => {
    let config: ConfigMap;
    let evaluation: ProgramEvaluation;

    before(async () => {
        config = stackConfig("production");
        evaluation = await evaluate(config, "production");
    });

    it("snapshots the database under a name derived from service, stack and label, retained on delete", () => {
        const snapshot = one(evaluation, SNAPSHOT);
        assert.strictEqual(snapshot.name, "shop-backup-pre-v1-5-0");
        assert.deepStrictEqual(
            [snapshot.inputs.dbInstanceIdentifier, snapshot.inputs.dbSnapshotIdentifier, snapshot.options.retainOnDelete],
            [one(evaluation, "aws:rds/instance:Instance").state.identifier, "shop-production-pre-v1-5-0", true],
        );
    });

    it("makes only the release colour's ECS service wait for the snapshot", () => {
        const snapshot = one(evaluation, SNAPSHOT);
        assert.ok(one(evaluation, SERVICE, "shop-green").options.dependencies.includes(snapshot.urn));
        assert.ok(!one(evaluation, SERVICE, "shop-blue").options.dependencies.includes(snapshot.urn));
    });

    it("picks the release colour by version when snapshotColour is not set", async () => {
        const byVersion = await evaluate(withFields(config, "database", { snapshotColour: undefined, preReleaseSnapshot: "v1.4.2" }), "production");
        const snapshot = one(byVersion, SNAPSHOT);
        assert.ok(one(byVersion, SERVICE, "shop-blue").options.dependencies.includes(snapshot.urn));
        assert.ok(!one(byVersion, SERVICE, "shop-green").options.dependencies.includes(snapshot.urn));
    });

    it("exports the identifier, ARN and exact restore command", () => {
        const subnetGroup = one(evaluation, "aws:rds/subnetGroup:SubnetGroup").state.name;
        const securityGroup = one(evaluation, "aws:ec2/securityGroup:SecurityGroup", "shop-db").state.id;
        assert.deepStrictEqual(evaluation.outputs.preReleaseSnapshot, {
            label: "v1.5.0",
            identifier: "shop-production-pre-v1-5-0",
            arn: "arn:aws:rds:eu-west-1:123456789012:snapshot:shop-production-pre-v1-5-0",
            colours: ["green"],
            restoreCommand:
                "aws rds restore-db-instance-from-db-snapshot --region eu-west-1 --db-snapshot-identifier shop-production-pre-v1-5-0 " +
                `--db-instance-identifier shop-production-restored-v1-5-0 --db-instance-class db.t4g.medium --db-subnet-group-name ${subnetGroup} ` +
                `--vpc-security-group-ids ${securityGroup} --no-publicly-accessible --enable-iam-database-authentication --manage-master-user-password --copy-tags-to-snapshot --multi-az --deletion-protection`,
        });
    });

    it("a new label creates a new snapshot, and the old one leaves the program without being deleted in AWS", async () => {
        const next = await evaluate(
            withFields(withFields(config, "green", { version: "v1.6.0", image: "123456789012.dkr.ecr.eu-west-1.amazonaws.com/shop:v1.6.0" }), "database", { preReleaseSnapshot: "v1.6.0" }),
            "production",
        );
        const created = one(next, SNAPSHOT);
        assert.deepStrictEqual([created.name, created.inputs.dbSnapshotIdentifier, created.options.retainOnDelete], ["shop-backup-pre-v1-6-0", "shop-production-pre-v1-6-0", true]);
        const changes = diffGraphs(evaluation.resources, next.resources);
        const previous = new Map(evaluation.resources.map((r) => [r.urn, r]));
        // A new image is always a new task definition revision (ECS deregisters the old one; it holds no data).
        assert.deepStrictEqual(changes.filter((c) => c.op === "replace").map((c) => [c.type, c.urn.split("::").pop()]), [["aws:ecs/taskDefinition:TaskDefinition", "shop-green"]]);
        const deleted = changes.filter((c) => c.op === "delete");
        // Only the old snapshot leaves the graph, and it is retainOnDelete, so AWS keeps it.
        assert.deepStrictEqual(deleted.map((c) => [c.type, c.op]), [[SNAPSHOT, "delete"]]);
        assert.ok(deleted.every((c) => previous.get(c.urn)!.options.retainOnDelete));
        assert.deepStrictEqual(changes.filter((c) => c.op === "create").map((c) => c.type), [SNAPSHOT]);
        for (const type of ["aws:rds/instance:Instance", "aws:rds/subnetGroup:SubnetGroup", "aws:backup/vault:Vault", "aws:backup/plan:Plan"]) {
            assert.deepStrictEqual(changes.filter((c) => c.type === type).map((c) => c.op), ["same"], type);
        }
        assert.ok(one(next, SERVICE, "shop-green").options.dependencies.includes(created.urn));
    });
});

describe("AWS Backup", () => {
    for (const stack of ["staging", "production"]) {
        it(`${stack}: backs the database up daily into a KMS-encrypted vault, with a role holding the AWS managed backup policy`, async () => {
            const config = stackConfig(stack);
            const evaluation = await evaluate(config, stack);
            const { backupPlan } = JSON.parse(config["shiftwise:database"]);
            const key = one(evaluation, "aws:kms/key:Key", "shop-backup-backup");
            const vault = one(evaluation, "aws:backup/vault:Vault");
            assert.deepStrictEqual([key.inputs.enableKeyRotation, vault.inputs.kmsKeyArn, vault.inputs.name, vault.inputs.forceDestroy], [true, key.state.arn, `shop-${stack}`, false]);
            assert.deepStrictEqual([key.options.protect, vault.options.protect], [stack === "production", stack === "production"]);
            const plan = one(evaluation, "aws:backup/plan:Plan");
            assert.deepStrictEqual(
                (plan.inputs.rules as Record<string, unknown>[]).map((rule) => [rule.ruleName, rule.schedule, rule.targetVaultName, (rule.lifecycle as { deleteAfter: number }).deleteAfter]),
                [["daily", backupPlan.schedule, vault.state.name, backupPlan.retentionDays]],
            );
            const selection = one(evaluation, "aws:backup/selection:Selection");
            const role = one(evaluation, "aws:iam/role:Role", "shop-backup-backup");
            assert.deepStrictEqual(
                [selection.inputs.planId, selection.inputs.iamRoleArn, selection.inputs.resources],
                [plan.state.id, role.state.arn, [one(evaluation, "aws:rds/instance:Instance").state.arn]],
            );
            assert.deepStrictEqual(JSON.parse(String(role.inputs.assumeRolePolicy)).Statement[0].Principal, { Service: "backup.amazonaws.com" });
            const attachment = one(evaluation, "aws:iam/rolePolicyAttachment:RolePolicyAttachment", "shop-backup-backup");
            assert.deepStrictEqual(
                [attachment.inputs.role, attachment.inputs.policyArn],
                [role.state.name, "arn:aws:iam::aws:policy/service-role/AWSBackupServiceRolePolicyForBackup"],
            );
            assert.strictEqual(ofType(evaluation, SNAPSHOT).length, stack === "production" ? 1 : 0);
            assert.strictEqual(evaluation.outputs.backupVaultName, `shop-${stack}`);
        });
    }
});

describe("snapshot names and restore commands", () => {
    const identifiers: [string, string, string, string][] = [
        ["shop", "production", "v1.5.0", "shop-production-pre-v1-5-0"],
        ["shop", "staging", "V2.0.0-RC.1", "shop-staging-pre-v2-0-0-rc-1"],
        ["shop", "prod", "1.2.3+build_7", "shop-prod-pre-1-2-3-build-7"],
        ["shop", "prod", "v1--x-", "shop-prod-pre-v1-x"],
        ["a1", "prod", "x".repeat(41), `a1-prod-pre-${"x".repeat(41)}`],
    ];
    for (const [service, stack, label, expected] of identifiers) {
        it(`${service}/${stack}/${label} -> ${expected}`, () => {
            const identifier = snapshotIdentifier(service, stack, label);
            assert.strictEqual(identifier, expected);
            assert.match(identifier, /^[a-z](?!.*--)[a-z0-9-]{0,254}(?<!-)$/);
        });
    }

    it("keeps restored instance identifiers within RDS's 63 characters", () => {
        const identifier = restoredInstanceIdentifier("a-very-long-service", "a-long-stack-name-too", "v1.2.3-rc.45678901234567");
        assert.strictEqual(identifier, "a-very-long-service-a-long-stack-name-too-restored-v1-2-3-rc-45");
        assert.ok(identifier.length <= 63);
    });

    it("restores without multi-AZ or deletion protection for an unprotected stack", () => {
        assert.strictEqual(
            restoreCommand({
                region: "eu-west-1",
                snapshotIdentifier: "shop-staging-pre-v1-5-0",
                targetIdentifier: "shop-staging-restored-v1-5-0",
                subnetGroupName: "shop-db-1234567",
                securityGroupId: "sg-0123",
                instanceClass: "db.t4g.micro",
                protect: false,
            }),
            "aws rds restore-db-instance-from-db-snapshot --region eu-west-1 --db-snapshot-identifier shop-staging-pre-v1-5-0 --db-instance-identifier shop-staging-restored-v1-5-0 " +
                "--db-instance-class db.t4g.micro --db-subnet-group-name shop-db-1234567 --vpc-security-group-ids sg-0123 --no-publicly-accessible " +
                "--enable-iam-database-authentication --manage-master-user-password --copy-tags-to-snapshot --no-multi-az --no-deletion-protection",
        );
    });
});

describe("plan: safety section", () => {
    it("shows the snapshot the next up takes, its restore command, and the backup plan", async () => {
        const evaluation = await evaluate(stackConfig("production"), "production");
        const snapshot = renderSnapshot({ evaluation }).split("\n");
        assert.strictEqual(snapshot[0], "Pre-release snapshot for v1.5.0");
        assert.strictEqual(
            snapshot[1],
            "  shop-production-pre-v1-5-0 of shop-production: the next `up` takes it if it does not exist yet, before green starts new tasks; kept in AWS when a later label replaces it",
        );
        assert.strictEqual(snapshot[2], `  restore: ${(evaluation.outputs.preReleaseSnapshot as { restoreCommand: string }).restoreCommand}`);
        assert.deepStrictEqual(renderBackups({ evaluation }).split("\n"), [
            "Backups",
            "  AWS Backup plan shop-production-daily, rule daily: cron(0 3 * * ? *) (UTC) into vault shop-production (KMS-encrypted), kept 35 days",
            "  RDS automated backups of shop-production: kept 14 days, retained after deletion true, final snapshot shop-production-final",
        ]);
    });

    it("says so when no colour waits for the snapshot", async () => {
        const config = withSection(stackConfig("production"), "database", { ...JSON.parse(stackConfig("production")["shiftwise:database"]), preReleaseSnapshot: "v1.4.0", snapshotColour: undefined });
        const evaluation = await evaluate(config, "production");
        assert.strictEqual(
            renderSnapshot({ evaluation }).split("\n")[1],
            "  shop-production-pre-v1-4-0 of shop-production: the next `up` takes it if it does not exist yet, but no colour waits for it: " +
                "the label matches neither colour's version (set shiftwise:database.snapshotColour to gate the release colour); kept in AWS when a later label replaces it",
        );
    });
});
