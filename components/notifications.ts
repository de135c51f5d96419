// The stack's encrypted SNS topic for alarms and deployment outcomes.
import { createHash } from "crypto";
import * as kms from "@pulumi/aws/kms";
import * as sns from "@pulumi/aws/sns";
import * as pulumi from "@pulumi/pulumi";
import type { AccountFacts } from "./accountFacts";

export interface NotificationsArgs {
    /** The stack's account and partition (`accountFacts()`, asked once per program). */
    readonly account: AccountFacts;
    /** The topic's name, e.g. `shop-production-deployments`. */
    readonly topicName: string;
    /** Addresses subscribed by email; each must confirm the subscription once. @default [] */
    readonly emails?: string[];
    /** HTTPS endpoints subscribed as webhooks. @default [] */
    readonly httpsEndpoints?: string[];
    /** Tags for every resource. @default {} */
    readonly tags?: Record<string, string>;
}

/**
 * The stack's deployment topic: every alarm sends its ALARM and OK
 * transitions here, and CI publishes deployment outcomes to it. The topic is
 * encrypted with its own KMS key, because CloudWatch cannot publish to a topic
 * encrypted with the AWS managed `alias/aws/sns` key: that key's policy cannot
 * grant `cloudwatch.amazonaws.com` the use of the key.
 */
export class Notifications extends pulumi.ComponentResource {
    public readonly key: kms.Key;
    public readonly topic: sns.Topic;
    public readonly topicArn: pulumi.Output<string>;
    public readonly subscriptions: sns.TopicSubscription[];

    constructor(name: string, args: NotificationsArgs, opts?: pulumi.ComponentResourceOptions) {
        super("shiftwise:safety:Notifications", name, {}, opts);
        const parent = { parent: this };
        const tags = args.tags ?? {};

        this.key = new kms.Key(name, {
            description: `${args.topicName}: encrypts deployment notifications`,
            enableKeyRotation: true,
            deletionWindowInDays: 30,
            policy: pulumi.all([args.account.accountId, args.account.partition]).apply(([accountId, partitionName]) =>
                JSON.stringify({
                    Version: "2012-10-17",
                    Statement: [
                        {
                            Sid: "AccountAdministers",
                            Effect: "Allow",
                            Principal: { AWS: `arn:${partitionName}:iam::${accountId}:root` },
                            Action: "kms:*",
                            Resource: "*",
                        },
                        {
                            // Alarm actions encrypt the message they publish; without this grant they fail silently.
                            Sid: "CloudWatchPublishes",
                            Effect: "Allow",
                            Principal: { Service: "cloudwatch.amazonaws.com" },
                            Action: ["kms:Decrypt", "kms:GenerateDataKey*"],
                            Resource: "*",
                            Condition: { StringEquals: { "aws:SourceAccount": accountId } },
                        },
                    ],
                }),
            ),
            tags,
        }, parent);

        this.topic = new sns.Topic(name, {
            name: args.topicName,
            kmsMasterKeyId: this.key.arn,
            tags,
        }, parent);
        this.topicArn = this.topic.arn;

        new sns.TopicPolicy(name, {
            arn: this.topic.arn,
            policy: pulumi.all([this.topic.arn, args.account.accountId]).apply(([topicArn, accountId]) =>
                JSON.stringify({
                    Version: "2012-10-17",
                    Statement: [
                        {
                            Sid: "CloudWatchAlarmsPublish",
                            Effect: "Allow",
                            Principal: { Service: "cloudwatch.amazonaws.com" },
                            Action: "sns:Publish",
                            Resource: topicArn,
                            Condition: { StringEquals: { "aws:SourceAccount": accountId } },
                        },
                    ],
                }),
            ),
        }, parent);

        // Named from the endpoint, not its position, so removing one address leaves the others' subscriptions alone.
        const subscribe = (protocol: "email" | "https", endpoint: string) =>
            new sns.TopicSubscription(`${name}-${protocol}-${shortHash(endpoint)}`, {
                topic: this.topic.arn,
                protocol,
                endpoint,
            }, parent);
        this.subscriptions = [
            ...(args.emails ?? []).map((address) => subscribe("email", address)),
            ...(args.httpsEndpoints ?? []).map((url) => subscribe("https", url)),
        ];

        this.registerOutputs({ key: this.key, topic: this.topic, topicArn: this.topicArn, subscriptions: this.subscriptions });
    }
}

function shortHash(text: string): string {
    return createHash("sha256").update(text).digest("hex").slice(0, 8);
}
