// Tests of the release ledger's resources on the real program graph: table, key design, encryption and protection.
import * as assert from "assert";
import { diffGraphs, effectiveChanges } from "../evaluation/graphDiff";
import { LEDGER_KEY, ReleaseLedger } from "../components/releaseLedger";
import { ConfigMap, ProgramEvaluation, evaluate, one, ofType, stackConfig, withFields } from "./harness";

const TABLE = "aws:dynamodb/table:Table";
const KEY = "aws:kms/key:Key";

for (const stack of ["staging", "production"]) {
    const protect = stack === "production";
    describe(`release ledger (${stack})`, () => {
        let config: ConfigMap;
        let evaluation: ProgramEvaluation;

        before(async () => {
            config = stackConfig(stack);
            evaluation = await evaluate(config, stack);
        });

        it("declares one on-demand table keyed by stack partition and item sort key, with TTL only on the expiring attribute", () => {
            const table = one(evaluation, TABLE, "shop-ledger");
            assert.deepStrictEqual(
                {
                    name: table.inputs.name,
                    billingMode: table.inputs.billingMode,
                    hashKey: table.inputs.hashKey,
                    rangeKey: table.inputs.rangeKey,
                    attributes: table.inputs.attributes,
                    ttl: table.inputs.ttl,
                    globalSecondaryIndexes: table.inputs.globalSecondaryIndexes,
                },
                {
                    name: `shop-${stack}-releases`,
                    billingMode: "PAY_PER_REQUEST",
                    hashKey: "pk",
                    rangeKey: "sk",
                    attributes: [
                        { name: "pk", type: "S" },
                        { name: "sk", type: "S" },
                    ],
                    ttl: { attributeName: "ttl", enabled: true },
                    globalSecondaryIndexes: undefined,
                },
            );
            assert.strictEqual(ofType(evaluation, TABLE).length, 1);
        });

        it("encrypts the table with its own rotating customer-managed key and keeps point-in-time recovery", () => {
            const table = one(evaluation, TABLE, "shop-ledger");
            const key = one(evaluation, KEY, "shop-ledger");
            assert.deepStrictEqual(table.inputs.serverSideEncryption, { enabled: true, kmsKeyArn: key.state.arn });
            assert.deepStrictEqual(table.inputs.pointInTimeRecovery, { enabled: true });
            assert.strictEqual(key.inputs.enableKeyRotation, true);
            assert.strictEqual(key.inputs.deletionWindowInDays, 30);
            const component = one(evaluation, "shiftwise:release:ReleaseLedger", "shop-ledger");
            assert.strictEqual(table.parent, component.urn);
            assert.strictEqual(key.parent, component.urn);
        });

        it(`${protect ? "protects" : "does not protect"} the table and key as shiftwise:protect says`, () => {
            const table = one(evaluation, TABLE, "shop-ledger");
            const key = one(evaluation, KEY, "shop-ledger");
            assert.strictEqual(table.inputs.deletionProtectionEnabled, protect);
            assert.strictEqual(table.options.protect, protect);
            assert.strictEqual(key.options.protect, protect);
        });

        it("exports the table's name and ARN and the key's ARN", () => {
            const table = one(evaluation, TABLE, "shop-ledger");
            const key = one(evaluation, KEY, "shop-ledger");
            assert.deepStrictEqual(evaluation.outputs.releaseLedger, { tableName: `shop-${stack}-releases`, tableArn: table.state.arn, keyArn: key.state.arn });
        });

        it("is untouched by a traffic step and by a colour's release", async () => {
            for (const edited of [withFields(config, "traffic", { blue: 50, green: 50 }), withFields(config, "green", { version: "v1.6.0" })]) {
                const after = await evaluate(edited, stack);
                const ledgerUrns = new Set([one(after, TABLE, "shop-ledger").urn, one(after, KEY, "shop-ledger").urn]);
                const changes = effectiveChanges(diffGraphs(evaluation.resources, after.resources));
                assert.ok(changes.length > 0);
                assert.deepStrictEqual(changes.filter((change) => ledgerUrns.has(change.urn)), []);
            }
        });
    });
}

describe("ReleaseLedger args", () => {
    it("names the key design the adapter uses", () => {
        assert.deepStrictEqual([LEDGER_KEY.partition("production"), LEDGER_KEY.lease, LEDGER_KEY.recordPrefix, LEDGER_KEY.requestPrefix, LEDGER_KEY.tripPrefix], ["STACK#production", "LEASE", "RECORD#", "REQUEST#", "TRIP#"]);
    });

    it("refuses a table name DynamoDB would reject, before registering anything", () => {
        for (const tableName of ["ab", "shop/production", "x".repeat(256)]) {
            assert.throws(() => new ReleaseLedger("bad", { tableName }), /must be 3-255 characters/);
        }
    });
});
