// The go/no-go from the ledger and AWS: staging first, and a fresh recovery point before a migrating release.
import * as assert from "assert";
import { BackupClient, ListRecoveryPointsByResourceCommand } from "@aws-sdk/client-backup";
import { DescribeDBInstancesCommand, DescribeDBSnapshotsCommand, RDSClient } from "@aws-sdk/client-rds";
import { mockClient } from "aws-sdk-client-mock";
import { SdkRecoveryPoints } from "../ports/recoveryPoints";
import { predecessorProblems, recoveryPointVerdict } from "../rollout/goNoGo";
import type { DeploymentRecord } from "../rollout/records";

const release = { version: "v1.6.0", image: "shop:v1.6.0" };
const record = (status: DeploymentRecord["status"], version: string, image: string) => ({ status, version, image }) as DeploymentRecord;

describe("go/no-go: staging first", () => {
    it("goes when the same version and image completed on the predecessor", () => {
        assert.deepStrictEqual(predecessorProblems([record("rolled-back", "v1.6.0", "shop:v1.6.0"), record("succeeded", "v1.6.0", "shop:v1.6.0")], "staging", release), []);
    });

    it("refuses a version that only failed there, or ran there with another image, or never ran, saying what it found", () => {
        assert.deepStrictEqual(predecessorProblems([record("rolled-back", "v1.6.0", "shop:v1.6.0")], "staging", release), [
            'rollout.requiresSuccessOn: v1.6.0 (shop:v1.6.0) has not completed a release on staging (its latest release of v1.6.0 is rolled-back); release it there first, or pass --hotfix "<reason>"',
        ]);
        assert.match(predecessorProblems([record("succeeded", "v1.6.0", "shop:v1.6.0-rebuilt")], "staging", release)[0], /is succeeded with another image, shop:v1\.6\.0-rebuilt\)/);
        assert.match(predecessorProblems([], "staging", release)[0], /has not completed a release on staging; release it there first/);
    });
});

describe("go/no-go: recovery point age", () => {
    const now = new Date("2025-03-04T12:00:00Z");
    it("shows the age and goes at or under the limit, refuses over it or without any point", () => {
        const fresh = recoveryPointVerdict({ at: new Date("2025-03-03T12:00:00Z"), source: "RDS automated backup rds:shop-2025-03-03" }, 24, now);
        assert.deepStrictEqual(fresh, { evidence: "newest recovery point 1 d 0 h old: RDS automated backup rds:shop-2025-03-03 at 2025-03-03T12:00:00.000Z", problems: [] });
        const stale = recoveryPointVerdict({ at: new Date("2025-03-03T11:59:00Z"), source: "AWS Backup recovery point x in vault" }, 24, now);
        assert.deepStrictEqual(stale.problems, [`${stale.evidence}, older than rollout.maxRecoveryPointAgeHours (24 h); take a backup (AWS Backup on-demand job or an RDS snapshot) or raise the limit`]);
        assert.match(recoveryPointVerdict(undefined, 24, now).problems[0], /has no completed recovery point/);
    });

    it("reads the newest completed point of RDS automated snapshots and AWS Backup", async () => {
        const rds = new RDSClient({ region: "eu-west-1", credentials: { accessKeyId: "t", secretAccessKey: "t" } });
        const backup = new BackupClient({ region: "eu-west-1", credentials: { accessKeyId: "t", secretAccessKey: "t" } });
        const rdsMock = mockClient(rds);
        const backupMock = mockClient(backup);
        const arn = "arn:aws:rds:eu-west-1:123456789012:db:shop-production";
        rdsMock.on(DescribeDBInstancesCommand, { DBInstanceIdentifier: "shop-production" }).resolves({ DBInstances: [{ DBInstanceArn: arn }] });
        rdsMock.on(DescribeDBSnapshotsCommand, { DBInstanceIdentifier: "shop-production", SnapshotType: "automated" }).resolves({
            DBSnapshots: [
                { DBSnapshotIdentifier: "rds:old", Status: "available", SnapshotCreateTime: new Date("2025-03-02T03:00:00Z") },
                { DBSnapshotIdentifier: "rds:running", Status: "creating", SnapshotCreateTime: new Date("2025-03-04T11:00:00Z") },
            ],
        });
        backupMock.on(ListRecoveryPointsByResourceCommand, { ResourceArn: arn }).resolves({
            RecoveryPoints: [
                { RecoveryPointArn: "rp-1", BackupVaultName: "shop-vault", Status: "COMPLETED", CreationDate: new Date("2025-03-03T03:00:00Z") },
                { RecoveryPointArn: "rp-2", BackupVaultName: "shop-vault", Status: "PARTIAL", CreationDate: new Date("2025-03-04T03:00:00Z") },
            ],
        });
        const newest = await new SdkRecoveryPoints({ rds, backup }).newestRecoveryPoint("shop-production");
        assert.deepStrictEqual(newest, { at: new Date("2025-03-03T03:00:00Z"), source: "AWS Backup recovery point rp-1 in shop-vault" });
    });
});
