// Release events for the stack's topic: the start announcement's content, subjects SNS accepts, and attributes for filter policies.
import * as assert from "assert";
import { PublishCommand, SNSClient } from "@aws-sdk/client-sns";
import { mockClient } from "aws-sdk-client-mock";
import { SnsReleaseEvents } from "../ports/snsEvents";
import type { DeploymentRecord } from "../rollout/records";
import { SNS_SUBJECT_MAX, releaseMessage } from "../rollout/releaseEvents";

const plan = { service: "shop", steps: [5, 25, 50, 100], bakeMinutes: 10, maxBakeMinutes: 60 };
const started: DeploymentRecord = {
    schemaVersion: 1, id: "20250304T100000Z-v1.6.0", stack: "production", status: "in-progress", version: "v1.6.0", image: "shop:v1.6.0", stable: "blue", candidate: "green",
    migrationSnapshot: "v1.6.0", startedAt: "2025-03-04T10:00:00.000Z",
    startedBy: { user: "octocat", host: "runner", ci: { system: "github-actions", sha: "abc123", runUrl: "https://github.com/acme/shop/actions/runs/42" } },
    checkpoint: { config: {}, outputs: {}, versions: { blue: "a", green: "b" }, traffic: { blue: 100, green: 0 } },
    stages: [], steps: [], rollbacks: [],
};

describe("release events", () => {
    it("announces the start with service, stack, version, who, notes or commit, the migration snapshot, the steps and the expected duration", () => {
        const message = releaseMessage({ kind: "start", record: started }, plan);
        assert.strictEqual(message.subject, "[shiftwise] shop production v1.6.0 release starting");
        for (const line of [
            "stack: production",
            "service: shop",
            "version: v1.6.0 (shop:v1.6.0)",
            "by: octocat https://github.com/acme/shop/actions/runs/42",
            "release notes: commit abc123",
            "database: migrates; snapshot v1.6.0 is taken before the candidate starts",
            "steps: 5, 25, 50, 100% (bake 10 min each, up to 60 min on low traffic)",
            "expected duration: 40-240 min of baking, plus prepare",
        ]) assert.ok(message.message.split("\n").includes(line), `missing "${line}" in\n${message.message}`);
        assert.deepStrictEqual(message.attributes, { event: "start", service: "shop", stack: "production", version: "v1.6.0", status: "in-progress" });
        assert.match(releaseMessage({ kind: "start", record: started }, { ...plan, notes: "https://notes/1.6" }).message, /release notes: https:\/\/notes\/1\.6/);
    });

    it("words the outcome and keeps subjects within SNS's limit and ASCII", () => {
        const rolledBack = releaseMessage({ kind: "outcome", record: { ...started, status: "rolled-back", version: "v1.6.0-ünïcode-" + "x".repeat(120) }, detail: "alarm" }, plan);
        assert.ok(rolledBack.subject.length <= SNS_SUBJECT_MAX);
        assert.match(rolledBack.subject, /^[\x20-\x7e]+$/);
        assert.match(rolledBack.message, /reason: alarm/);
        assert.strictEqual(releaseMessage({ kind: "outcome", record: { ...started, status: "succeeded" } }, plan).subject, "[shiftwise] shop production v1.6.0 released");
    });

    it("publishes to the topic with string message attributes, and collects failures instead of failing the release", async () => {
        const client = new SNSClient({ region: "eu-west-1", credentials: { accessKeyId: "t", secretAccessKey: "t" } });
        const sns = mockClient(client);
        sns.on(PublishCommand).resolvesOnce({ MessageId: "1" }).rejectsOnce(new Error("KMS.AccessDeniedException"));
        const sink = new SnsReleaseEvents(client, "arn:aws:sns:eu-west-1:123456789012:shop-production-deployments", plan);
        sink.publish({ kind: "start", record: started });
        sink.publish({ kind: "pause", record: { ...started, status: "paused" }, detail: "asked" });
        await sink.flush();
        const input = sns.commandCalls(PublishCommand)[0].args[0].input;
        assert.strictEqual(input.TopicArn, "arn:aws:sns:eu-west-1:123456789012:shop-production-deployments");
        assert.deepStrictEqual(input.MessageAttributes?.event, { DataType: "String", StringValue: "start" });
        assert.deepStrictEqual(sink.failures, ["pause: KMS.AccessDeniedException"]);
    });
});
