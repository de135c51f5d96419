// Table tests of the RDS reading before a migration: go, wait or stop, with the exact reasons; and the SDK adapter's answers for missing resources.
import * as assert from "assert";
import { DBInstanceNotFoundFault, DBSnapshotNotFoundFault, DescribeDBInstancesCommand, DescribeDBSnapshotsCommand, RDSClient } from "@aws-sdk/client-rds";
import { mockClient } from "aws-sdk-client-mock";
import { DatabaseReading, Readiness, TRANSIENT_INSTANCE_STATES, migrationReadiness } from "../rollout/databaseReadiness";
import { RdsDatabaseState } from "../ports/databaseState";

const IDS = { snapshotIdentifier: "shop-production-pre-v1-6-0", databaseIdentifier: "shop-production" };
const SAME = "db-ORIGINAL7KQ";

function reading(snapshot: DatabaseReading["snapshot"], instance: DatabaseReading["instance"]): DatabaseReading {
    return { ...IDS, snapshot, instance };
}

describe("migrationReadiness: what RDS says just before the migration", () => {
    const cases: [string, DatabaseReading, Readiness][] = [
        ["both available, same instance", reading({ status: "available", sourceResourceId: SAME }, { status: "available", resourceId: SAME }), { verdict: "go" }],
        ["a snapshot without a source id is judged on its status", reading({ status: "available" }, { status: "available", resourceId: SAME }), { verdict: "go" }],
        ["snapshot missing", reading(undefined, { status: "available", resourceId: SAME }), { verdict: "stop", reason: "the pre-release snapshot shop-production-pre-v1-6-0 does not exist in RDS (deleted by hand?); no migration runs without its backup" }],
        ["database missing", reading({ status: "available", sourceResourceId: SAME }, undefined), { verdict: "stop", reason: "the database shop-production does not exist in RDS" }],
        [
            "restored by hand",
            reading({ status: "available", sourceResourceId: SAME }, { status: "available", resourceId: "db-NEW" }),
            { verdict: "stop", reason: "the database shop-production (DbiResourceId db-NEW) is not the instance the pre-release snapshot shop-production-pre-v1-6-0 was taken of (db-ORIGINAL7KQ): it was restored or replaced by hand" },
        ],
        ["restored by hand beats a creating snapshot", reading({ status: "creating", sourceResourceId: SAME }, { status: "available", resourceId: "db-NEW" }), { verdict: "stop", reason: "the database shop-production (DbiResourceId db-NEW) is not the instance the pre-release snapshot shop-production-pre-v1-6-0 was taken of (db-ORIGINAL7KQ): it was restored or replaced by hand" }],
        ["creating with progress", reading({ status: "creating", sourceResourceId: SAME, percentProgress: 40 }, { status: "backing-up", resourceId: SAME }), { verdict: "wait", reason: "the pre-release snapshot shop-production-pre-v1-6-0 is still creating (40%)" }],
        ["creating without progress", reading({ status: "creating" }, { status: "available", resourceId: SAME }), { verdict: "wait", reason: "the pre-release snapshot shop-production-pre-v1-6-0 is still creating" }],
        ["snapshot failed", reading({ status: "failed", sourceResourceId: SAME }, { status: "available", resourceId: SAME }), { verdict: "stop", reason: "the pre-release snapshot shop-production-pre-v1-6-0 is failed, not available; no migration runs without its backup" }],
        ["database stopped", reading({ status: "available", sourceResourceId: SAME }, { status: "stopped", resourceId: SAME }), { verdict: "stop", reason: "the database shop-production is stopped, not available" }],
        ["database storage-full", reading({ status: "available" }, { status: "storage-full", resourceId: SAME }), { verdict: "stop", reason: "the database shop-production is storage-full, not available" }],
    ];
    for (const [name, input, expected] of cases) {
        it(name, () => assert.deepStrictEqual(migrationReadiness(input), expected));
    }

    it("waits in every state that ends by itself (RDS User Guide, DB instance status), and only in those", () => {
        assert.deepStrictEqual([...TRANSIENT_INSTANCE_STATES].sort(), [
            "backing-up", "configuring-enhanced-monitoring", "configuring-iam-database-auth", "configuring-log-exports", "maintenance", "modifying",
            "rebooting", "renaming", "resetting-master-credentials", "starting", "storage-optimization", "upgrading",
        ]);
        for (const status of TRANSIENT_INSTANCE_STATES) {
            assert.deepStrictEqual(migrationReadiness(reading({ status: "available", sourceResourceId: SAME }, { status, resourceId: SAME })), { verdict: "wait", reason: `the database shop-production is ${status}` });
        }
    });
});

describe("RdsDatabaseState (RDS through aws-sdk-client-mock)", () => {
    it("reads the snapshot's status, source and progress, and the instance's status and DbiResourceId, by exact identifier", async () => {
        const client = new RDSClient({ region: "eu-west-1", credentials: { accessKeyId: "test", secretAccessKey: "test" } });
        const rds = mockClient(client);
        rds.on(DescribeDBSnapshotsCommand).resolves({ DBSnapshots: [{ DBSnapshotIdentifier: "other" }, { DBSnapshotIdentifier: IDS.snapshotIdentifier, Status: "creating", DbiResourceId: SAME, PercentProgress: 40 }] });
        rds.on(DescribeDBInstancesCommand).resolves({ DBInstances: [{ DBInstanceIdentifier: IDS.databaseIdentifier, DBInstanceStatus: "available", DbiResourceId: SAME, InstanceCreateTime: new Date("2024-01-02T03:04:05Z") }] });
        const port = new RdsDatabaseState(client);
        assert.deepStrictEqual(await port.snapshot(IDS.snapshotIdentifier), { status: "creating", sourceResourceId: SAME, percentProgress: 40 });
        assert.deepStrictEqual(await port.instance(IDS.databaseIdentifier), { status: "available", resourceId: SAME, createdAt: new Date("2024-01-02T03:04:05Z") });
        assert.deepStrictEqual(rds.commandCalls(DescribeDBSnapshotsCommand)[0].args[0].input, { DBSnapshotIdentifier: IDS.snapshotIdentifier });
        assert.deepStrictEqual(rds.commandCalls(DescribeDBInstancesCommand)[0].args[0].input, { DBInstanceIdentifier: IDS.databaseIdentifier });
    });

    it("a snapshot or instance RDS does not know is undefined; any other error is thrown", async () => {
        const client = new RDSClient({ region: "eu-west-1", credentials: { accessKeyId: "test", secretAccessKey: "test" } });
        const rds = mockClient(client);
        rds.on(DescribeDBSnapshotsCommand).rejects(new DBSnapshotNotFoundFault({ message: "not found", $metadata: {} }));
        rds.on(DescribeDBInstancesCommand).rejects(new DBInstanceNotFoundFault({ message: "not found", $metadata: {} }));
        const port = new RdsDatabaseState(client);
        assert.strictEqual(await port.snapshot("gone"), undefined);
        assert.strictEqual(await port.instance("gone"), undefined);
        rds.on(DescribeDBInstancesCommand).rejects(new Error("AccessDenied"));
        await assert.rejects(port.instance("shop-production"), /AccessDenied/);
    });
});
