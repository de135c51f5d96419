// The AWS-side guard's resources under the mock runtime: the rule's pattern, the function, its permission, log group and the role's exact policy.
import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { spawnSync } from "child_process";
import { FUNCTION_NAME_PATTERN, ReleaseGuard, guardEventPattern, guardPolicy } from "../components/releaseGuard";
import { GUARD_ENVIRONMENT } from "../guard/environment";
import { guardHandlerArchive, guardHandlerCode } from "../guard/bundle";
import { MOCK_ACCOUNT_ID } from "../evaluation/mockRuntime";
import { ALL_STACKS, CapturedResource, ProgramEvaluation, evaluate, one, ofType, stackConfig } from "./harness";

const REGION = "eu-west-1";
const arn = (service: string, resource: string) => `arn:aws:${service}:${REGION}:${MOCK_ACCOUNT_ID}:${resource}`;

function guardOf(evaluation: ProgramEvaluation) {
    const component = one(evaluation, "shiftwise:safety:ReleaseGuard");
    const child = (type: string) => {
        const matches = ofType(evaluation, type).filter((resource) => resource.parent === component.urn);
        assert.strictEqual(matches.length, 1, `${type} under the guard`);
        return matches[0];
    };
    return {
        component,
        fn: child("aws:lambda/function:Function"),
        role: child("aws:iam/role:Role"),
        policy: child("aws:iam/rolePolicy:RolePolicy"),
        logGroup: child("aws:cloudwatch/logGroup:LogGroup"),
        rule: child("aws:cloudwatch/eventRule:EventRule"),
        target: child("aws:cloudwatch/eventTarget:EventTarget"),
        permission: child("aws:lambda/permission:Permission"),
        invokeConfig: child("aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig"),
    };
}

const arnOf = (resource: CapturedResource) => String(resource.state.arn);

describe("release guard (mock runtime)", function () {
    this.timeout(120_000);

    for (const stack of ALL_STACKS) {
        it(`${stack}: one guard whose rule matches only this stack's two rollback alarms going to ALARM`, async () => {
            const evaluation = await evaluate(stackConfig(stack), stack.replace(/^eks-/, ""));
            const g = guardOf(evaluation);
            const stackName = stack.replace(/^eks-/, "");
            const alarms = ofType(evaluation, "aws:cloudwatch/compositeAlarm:CompositeAlarm").map((alarm) => String(alarm.inputs.alarmName)).sort();
            assert.deepStrictEqual(alarms, [`shop-${stackName}-blue-rollback`, `shop-${stackName}-green-rollback`]);
            assert.deepStrictEqual(JSON.parse(String(g.rule.inputs.eventPattern)), {
                source: ["aws.cloudwatch"],
                "detail-type": ["CloudWatch Alarm State Change"],
                detail: { alarmName: alarms, state: { value: ["ALARM"] } },
            });
            assert.strictEqual(g.rule.inputs.name, `shop-${stackName}-guard`);
        });
    }

    it("the function: Node.js 22 on arm64, the bundled handler, its settings from the stack's own resources, JSON logs into its encrypted group", async () => {
        const evaluation = await evaluate(stackConfig("production"), "production");
        const g = guardOf(evaluation);
        const listener = ofType(evaluation, "aws:lb/listener:Listener").find((resource) => resource.name === "shop")!;
        const targetGroups = Object.fromEntries(ofType(evaluation, "aws:lb/targetGroup:TargetGroup").map((group) => [group.name.endsWith("blue") ? "blue" : "green", arnOf(group)]));
        const topic = one(evaluation, "aws:sns/topic:Topic");
        assert.deepStrictEqual(
            [g.fn.inputs.name, g.fn.inputs.runtime, g.fn.inputs.architectures, g.fn.inputs.handler, g.fn.inputs.memorySize, g.fn.inputs.timeout, g.fn.inputs.role],
            ["shop-production-guard", "nodejs22.x", ["arm64"], "index.handler", 256, 60, arnOf(g.role)],
        );
        assert.deepStrictEqual((g.fn.inputs.environment as { variables: Record<string, string> }).variables, {
            [GUARD_ENVIRONMENT.service]: "shop",
            [GUARD_ENVIRONMENT.stack]: "production",
            [GUARD_ENVIRONMENT.listenerArn]: arnOf(listener),
            [GUARD_ENVIRONMENT.blueTargetGroupArn]: targetGroups.blue,
            [GUARD_ENVIRONMENT.greenTargetGroupArn]: targetGroups.green,
            [GUARD_ENVIRONMENT.blueAlarmName]: "shop-production-blue-rollback",
            [GUARD_ENVIRONMENT.greenAlarmName]: "shop-production-green-rollback",
            [GUARD_ENVIRONMENT.tableName]: "shop-production-releases",
            [GUARD_ENVIRONMENT.topicArn]: arnOf(topic),
        });
        assert.deepStrictEqual(g.fn.inputs.loggingConfig, { logFormat: "JSON", logGroup: "/aws/lambda/shop-production-guard" });
        const stackKey = ofType(evaluation, "aws:kms/key:Key").find((key) => key.name === "shop-key")!;
        assert.deepStrictEqual([g.logGroup.inputs.name, g.logGroup.inputs.kmsKeyId, g.logGroup.inputs.retentionInDays], ["/aws/lambda/shop-production-guard", arnOf(stackKey), 30]);
        // The function waits for its policy and log group, so its first run can write both the ledger and its log.
        assert.ok(g.fn.options.dependencies.includes(g.policy.urn) && g.fn.options.dependencies.includes(g.logGroup.urn));
        // The mock runtime keeps an archive's assets behind a promise; the archive itself is checked below.
        assert.strictEqual((g.fn.inputs.code as { __pulumiArchive?: boolean }).__pulumiArchive, true);
    });

    it("the code archive holds index.js, the bundled handler", async () => {
        const assets = await guardHandlerArchive().assets;
        assert.deepStrictEqual(Object.keys(assets), ["index.js"]);
        assert.strictEqual(await (assets["index.js"] as unknown as { text: Promise<string> }).text, guardHandlerCode());
    });

    it("EventBridge may invoke the function only from this rule; failed invocations are retried twice, then announced on the topic", async () => {
        const evaluation = await evaluate(stackConfig("production"), "production");
        const g = guardOf(evaluation);
        const topic = one(evaluation, "aws:sns/topic:Topic");
        assert.deepStrictEqual(
            [g.permission.inputs.action, g.permission.inputs.principal, g.permission.inputs.sourceArn, g.permission.inputs.function],
            ["lambda:InvokeFunction", "events.amazonaws.com", arn("events", "rule/shop-production-guard"), "shop-production-guard"],
        );
        assert.deepStrictEqual([g.target.inputs.rule, g.target.inputs.arn, g.target.inputs.retryPolicy], ["shop-production-guard", arn("lambda", "function:shop-production-guard"), { maximumEventAgeInSeconds: 3600, maximumRetryAttempts: 24 }]);
        assert.ok(g.target.options.dependencies.includes(g.permission.urn));
        assert.deepStrictEqual(
            [g.invokeConfig.inputs.maximumRetryAttempts, g.invokeConfig.inputs.maximumEventAgeInSeconds, g.invokeConfig.inputs.destinationConfig],
            [2, 3600, { onFailure: { destination: arnOf(topic) } }],
        );
    });

    it("the role: only Lambda may assume it; its one policy has exactly these statements, and the only '*' is ELB's read-only Describe*", async () => {
        const evaluation = await evaluate(stackConfig("production"), "production");
        const g = guardOf(evaluation);
        assert.deepStrictEqual(JSON.parse(String(g.role.inputs.assumeRolePolicy)), { Version: "2012-10-17", Statement: [{ Effect: "Allow", Principal: { Service: "lambda.amazonaws.com" }, Action: "sts:AssumeRole" }] });
        assert.strictEqual(ofType(evaluation, "aws:iam/rolePolicyAttachment:RolePolicyAttachment").filter((attachment) => attachment.inputs.role === g.role.state.id || attachment.parent === g.component.urn).length, 0);
        const listener = ofType(evaluation, "aws:lb/listener:Listener").find((resource) => resource.name === "shop")!;
        const ledgerKey = ofType(evaluation, "aws:kms/key:Key").find((key) => key.name === "shop-ledger")!;
        const topicKey = ofType(evaluation, "aws:kms/key:Key").find((key) => key.name === "shop-notify")!;
        const statements = JSON.parse(String(g.policy.inputs.policy)).Statement;
        assert.deepStrictEqual(statements, [
            { Sid: "ReadListenerAndTargetHealth", Effect: "Allow", Action: ["elasticloadbalancing:DescribeListeners", "elasticloadbalancing:DescribeTargetHealth"], Resource: "*" },
            { Sid: "ModifyThisListener", Effect: "Allow", Action: "elasticloadbalancing:ModifyListener", Resource: arnOf(listener) },
            {
                Sid: "WriteThisStacksTrips",
                Effect: "Allow",
                Action: ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"],
                Resource: arnOf(one(evaluation, "aws:dynamodb/table:Table")),
                Condition: { "ForAllValues:StringEquals": { "dynamodb:LeadingKeys": ["STACK#production"] } },
            },
            { Sid: "UseLedgerKeyThroughDynamoDB", Effect: "Allow", Action: ["kms:Decrypt", "kms:GenerateDataKey"], Resource: arnOf(ledgerKey), Condition: { StringEquals: { "kms:ViaService": "dynamodb.eu-west-1.amazonaws.com" } } },
            { Sid: "PublishToTheStacksTopic", Effect: "Allow", Action: "sns:Publish", Resource: arn("sns", "shop-production-deployments") },
            { Sid: "UseTopicKeyThroughSns", Effect: "Allow", Action: ["kms:Decrypt", "kms:GenerateDataKey"], Resource: arnOf(topicKey), Condition: { StringEquals: { "kms:ViaService": "sns.eu-west-1.amazonaws.com" } } },
            { Sid: "WriteOwnLogs", Effect: "Allow", Action: ["logs:CreateLogStream", "logs:PutLogEvents"], Resource: arn("logs", "log-group:/aws/lambda/shop-production-guard:log-stream:*") },
        ]);
        const wildcards = statements.filter((statement: { Resource: string }) => statement.Resource.includes("*")).map((statement: { Sid: string }) => statement.Sid);
        assert.deepStrictEqual(wildcards, ["ReadListenerAndTargetHealth", "WriteOwnLogs"]);
        assert.ok(statements.every((statement: { Action: string | string[] }) => [statement.Action].flat().every((action) => !action.includes("*"))), "no wildcard actions");
    });

    it("guardPolicy and guardEventPattern are what the component declares (pure, for the README and policy reviews)", () => {
        const policy = guardPolicy({ listenerArn: "L", ledgerTableArn: "T", ledgerKeyArn: "K1", topicArn: "S", topicKeyArn: "K2", logGroupArn: "G", stackName: "qa", region: "us-east-1" });
        assert.deepStrictEqual(policy.Statement.map((statement) => statement.Resource), ["*", "L", "T", "K1", "S", "K2", "G:log-stream:*"]);
        assert.deepStrictEqual(guardEventPattern(["a", "b"]), { source: ["aws.cloudwatch"], "detail-type": ["CloudWatch Alarm State Change"], detail: { alarmName: ["a", "b"], state: { value: ["ALARM"] } } });
    });

    it("a function name Lambda refuses is refused before anything is registered", () => {
        assert.ok(FUNCTION_NAME_PATTERN.test("a".repeat(64)));
        assert.ok(!FUNCTION_NAME_PATTERN.test("a".repeat(65)));
        assert.ok(!FUNCTION_NAME_PATTERN.test("shop-prod.eu-guard"));
        assert.throws(
            () => new ReleaseGuard("g", { functionName: "shop.guard" } as never),
            { message: `ReleaseGuard g: functionName "shop.guard" must be 1-64 characters of a-z, A-Z, 0-9, '-' and '_'` },
        );
    });

    it("a weight step and a colour's new version leave every guard resource as it was (invariants 1 and 2)", async () => {
        const base = stackConfig("production");
        const before = guardOf(await evaluate(base, "production"));
        const stepped = { ...base, "shiftwise:traffic": JSON.stringify({ blue: 50, green: 50 }), "shiftwise:green": JSON.stringify({ ...JSON.parse(base["shiftwise:green"]), version: "v1.6.0", image: "123456789012.dkr.ecr.eu-west-1.amazonaws.com/shop:v1.6.0" }) };
        const after = guardOf(await evaluate(stepped, "production"));
        for (const key of Object.keys(before) as (keyof typeof before)[]) assert.deepStrictEqual(after[key].inputs, before[key].inputs, key);
    });

    it("the bundle is one CommonJS file that loads with only the runtime's AWS SDK and exports the handler", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "shiftwise-guard-bundle-"));
        fs.writeFileSync(path.join(dir, "index.js"), guardHandlerCode());
        const probe = spawnSync(process.execPath, ["-e", "const m = require(process.argv[1]); process.stdout.write(typeof m.handler)", path.join(dir, "index.js")], {
            env: { ...process.env, NODE_PATH: path.join(__dirname, "..", "node_modules") },
            encoding: "utf8",
        });
        fs.rmSync(dir, { recursive: true, force: true });
        assert.strictEqual(probe.stdout, "function", probe.stderr);
        assert.ok(!/\/work\/|node_modules\//.test(guardHandlerCode()), "no absolute or node_modules paths in the bundle");
        assert.deepStrictEqual([...new Set(guardHandlerCode().match(/require\("[^"]+"\)/g))].sort(), [
            'require("@aws-sdk/client-dynamodb")',
            'require("@aws-sdk/client-elastic-load-balancing-v2")',
            'require("@aws-sdk/client-sns")',
            'require("@aws-sdk/lib-dynamodb")',
        ]);
    });
});
