// Release events published to the stack's SNS topic (AWS SDK v3), with message attributes for subscription filters.
import { PublishCommand, SNSClient } from "@aws-sdk/client-sns";
import type { ReleaseEvent, ReleaseEventSink, ReleasePlan } from "../rollout/releaseEvents";
import { releaseMessage } from "../rollout/releaseEvents";

/**
 * Publishes each release event to the stack's topic (the `notificationTopicArn`
 * output), whose email and HTTPS subscribers come from config. Publishing never
 * blocks or fails a release: errors are collected and reported by `flush`.
 *
 * IAM: sns:Publish on the topic, kms:GenerateDataKey and kms:Decrypt on its key.
 */
export class SnsReleaseEvents implements ReleaseEventSink {
    private sending: Promise<void> = Promise.resolve();
    readonly failures: string[] = [];

    constructor(
        private readonly client: SNSClient,
        private readonly topicArn: string,
        private readonly plan: ReleasePlan,
    ) {}

    publish(event: ReleaseEvent): void {
        const message = releaseMessage(event, this.plan);
        this.sending = this.sending.then(async () => {
            try {
                await this.client.send(
                    new PublishCommand({
                        TopicArn: this.topicArn,
                        Subject: message.subject,
                        Message: message.message,
                        MessageAttributes: Object.fromEntries(Object.entries(message.attributes).map(([name, value]) => [name, { DataType: "String", StringValue: value }])),
                    }),
                );
            } catch (error) {
                this.failures.push(`${event.kind}: ${(error as Error).message}`);
            }
        });
    }

    flush(): Promise<void> {
        return this.sending;
    }
}
