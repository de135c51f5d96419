// The AWS-side guard's run: read the listener and target health, decide, move the traffic, record the trip once, notify.
import { ConditionalCheckFailedException } from "@aws-sdk/client-dynamodb";
import { DescribeListenersCommand, DescribeTargetHealthCommand, ElasticLoadBalancingV2Client, ModifyListenerCommand } from "@aws-sdk/client-elastic-load-balancing-v2";
import type { Action } from "@aws-sdk/client-elastic-load-balancing-v2";
import { PublishCommand, SNSClient } from "@aws-sdk/client-sns";
import { DynamoDBDocumentClient, GetCommand, PutCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { LEDGER_KEY } from "../ports/ledgerKey";
import type { LedgerTrip, TripStatus } from "../ports/ports";
import { ColourWeights, GUARD_COLOURS, GuardColour, GuardDecision, decide, forwardWeights, otherGuardColour, withWeights } from "./decision";

/** What the guard guards: one stack's forwarding listener, its colours and their alarms, its ledger and topic. */
export interface GuardSettings {
    readonly service: string;
    readonly stack: string;
    readonly listenerArn: string;
    readonly targetGroupArns: Readonly<Record<GuardColour, string>>;
    /** Each colour's composite rollback alarm, `<service>-<stack>-<colour>-rollback`. */
    readonly alarmNames: Readonly<Record<GuardColour, string>>;
    readonly tableName: string;
    readonly topicArn: string;
    /** Who the ledger names as the actor, e.g. `aws-guard (shop-production-guard)`. */
    readonly actor: string;
}

/** The clients the guard calls and its clock; the Lambda handler builds them with the SDK's retry settings. */
export interface GuardDeps {
    readonly elb: ElasticLoadBalancingV2Client;
    readonly documents: DynamoDBDocumentClient;
    readonly sns: SNSClient;
    readonly settings: GuardSettings;
    readonly now: () => Date;
}

/** The EventBridge event for a CloudWatch alarm state change (composite alarms send the same shape). */
export interface AlarmStateChangeEvent {
    readonly id?: string;
    readonly source?: string;
    readonly "detail-type"?: string;
    readonly detail?: {
        readonly alarmName?: string;
        readonly state?: { readonly value?: string; readonly timestamp?: string; readonly reason?: string };
    };
}

/** What one invocation did; the handler returns it (and it lands in the function's log). */
export interface GuardResult {
    readonly outcome: "ignored" | "duplicate" | TripStatus;
    readonly reason: string;
    readonly colour?: GuardColour;
    readonly tripKey?: string;
    readonly weightsBefore?: ColourWeights;
    readonly weightsAfter?: ColourWeights;
    /** True when this invocation published the trip to the topic. */
    readonly published: boolean;
}

/** The alarm transition an event reports, or why the guard ignores it. */
export type ParsedAlarm =
    | { readonly colour: GuardColour; readonly alarmName: string; readonly alarmAt: string; readonly alarmReason: string }
    | { readonly ignored: string };

/** Reads the event defensively: EventBridge guarantees the shape for its own events, but a test event or a changed rule may not. */
export function parseAlarmEvent(event: AlarmStateChangeEvent, alarmNames: Readonly<Record<GuardColour, string>>): ParsedAlarm {
    if (event.source !== "aws.cloudwatch" || event["detail-type"] !== "CloudWatch Alarm State Change") return { ignored: `not a CloudWatch alarm state change (${event.source}/${event["detail-type"]})` };
    const alarmName = event.detail?.alarmName;
    const colour = GUARD_COLOURS.find((candidate) => alarmNames[candidate] === alarmName);
    if (!colour || !alarmName) return { ignored: `alarm ${alarmName} is not a rollback alarm of this stack` };
    const state = event.detail?.state;
    if (state?.value !== "ALARM") return { ignored: `${alarmName} is ${state?.value}, not ALARM; the guard never gives traffic back (shiftwise clear-trip and a deploy or rollback do)` };
    const at = Date.parse(normaliseTimestamp(state.timestamp ?? ""));
    if (Number.isNaN(at)) return { ignored: `${alarmName}: the event has no valid state timestamp (${state.timestamp}), so it cannot be recorded once` };
    return { colour, alarmName, alarmAt: new Date(at).toISOString(), alarmReason: state.reason ?? "" };
}

/** CloudWatch writes `2019-10-02T17:04:40.985+0000`; Date.parse wants a colon in the offset. */
function normaliseTimestamp(timestamp: string): string {
    return timestamp.replace(/([+-]\d\d)(\d\d)$/, "$1:$2");
}

/**
 * One guard run. Decides on what it reads now (the listener's weights, the
 * other colour's target health), never on memory; records the trip under the
 * alarm transition's key with conditional writes, so duplicate deliveries and
 * concurrent invocations leave one record and one notification; and leaves a
 * `moving` trip behind when ModifyListener fails, so a retry finishes it.
 */
export async function runGuard(deps: GuardDeps, event: AlarmStateChangeEvent): Promise<GuardResult> {
    const alarm = parseAlarmEvent(event, deps.settings.alarmNames);
    if ("ignored" in alarm) return { outcome: "ignored", reason: alarm.ignored, published: false };
    const trips = new TripWriter(deps, `${LEDGER_KEY.tripPrefix}${alarm.alarmAt}#${alarm.colour}`);
    const existing = await trips.read();
    if (existing && existing.status !== "moving") return duplicate(trips.key, alarm.colour, existing);
    const { action, actions, weights, reading } = await readReality(deps, alarm.colour);
    const decision = decide(reading);
    const base = { colour: alarm.colour, alarmName: alarm.alarmName, alarmAt: alarm.alarmAt, alarmReason: alarm.alarmReason, weightsBefore: weights ?? {}, healthyTargets: reading.healthyTargets };
    const result = (outcome: TripStatus, published: boolean, reason: string, weightsAfter?: ColourWeights): GuardResult => ({ outcome, reason, colour: alarm.colour, tripKey: trips.key, weightsBefore: weights, weightsAfter, published });

    if (decision.kind === "not-serving") {
        if (!existing) {
            const written = await trips.create({ ...base, status: "not-serving", blocking: false, reason: decision.reason });
            return written ? result("not-serving", false, decision.reason) : duplicate(trips.key, alarm.colour, await trips.read());
        }
        // An earlier invocation claimed the trip; the traffic is off now (its ModifyListener landed, or a person moved it).
        const reason = `${alarm.colour} carries no traffic now (${decision.reason}); an earlier attempt or a person moved it`;
        return finish(deps, trips, result, { status: "moved", reason, weightsAfter: weights ?? {} }, alarm.alarmName);
    }
    if (decision.kind === "leave") {
        const reason = `could not take traffic off ${alarm.colour}: ${decision.reason}; traffic left as it is`;
        if (!existing) {
            const written = await trips.create({ ...base, status: "left", blocking: false, reason });
            if (!written) return duplicate(trips.key, alarm.colour, await trips.read());
            return result("left", await publish(deps, "left", alarm.colour, reason, alarm.alarmName), reason);
        }
        return finish(deps, trips, result, { status: "left", reason, blocking: false }, alarm.alarmName);
    }
    return move(deps, trips, { decision, action, actions, base, existing, result, alarmName: alarm.alarmName });
}

async function move(
    deps: GuardDeps,
    trips: TripWriter,
    step: {
        readonly decision: Extract<GuardDecision, { kind: "move" }>;
        readonly action?: Action;
        readonly actions: readonly Action[];
        readonly base: Record<string, unknown>;
        readonly existing?: LedgerTrip;
        readonly result: (outcome: TripStatus, published: boolean, reason: string, weightsAfter?: ColourWeights) => GuardResult;
        readonly alarmName: string;
    },
): Promise<GuardResult> {
    const colour = step.base.colour as GuardColour;
    const reason = `took ${colour} off: ${step.decision.reason}`;
    let ledgerError: unknown;
    if (!step.existing) {
        // Claim first: a trip that blocks is on record before the traffic moves, so no crash can lose it.
        const claimed = await trips.create({ ...step.base, status: "moving", blocking: true, reason, weightsAfter: step.decision.weights }).catch((error: unknown) => {
            ledgerError = error;
            return true;
        });
        if (!claimed) {
            const winner = await trips.read();
            if (winner?.status !== "moving") return duplicate(trips.key, colour, winner);
        }
    }
    try {
        await deps.elb.send(new ModifyListenerCommand({ ListenerArn: deps.settings.listenerArn, DefaultActions: withWeights(step.actions, deps.settings.targetGroupArns, step.decision.weights) }));
    } catch (error) {
        // The trip stays `moving` and blocking; Lambda's retry of this event finds it and tries again.
        await publish(deps, "moving", colour, `could not take ${colour} off yet (ModifyListener: ${(error as Error).message}); the invocation is retried`, step.alarmName);
        throw error;
    }
    if (ledgerError !== undefined) {
        // Moving the traffic matters more than the record: done without it, said loudly, and failed so Lambda's metrics show it.
        await publish(deps, "moved", colour, `${reason}, but the trip could not be recorded in the ledger (${(ledgerError as Error).message}): nothing stops a \`pulumi up\` from giving ${colour} traffic again; revert the stack config`, step.alarmName);
        throw ledgerError;
    }
    return finish(deps, trips, step.result, { status: "moved", reason, weightsAfter: step.decision.weights }, step.alarmName);
}

/** Ends a `moving` trip with one conditional update; only the invocation that wins it publishes. */
async function finish(
    deps: GuardDeps,
    trips: TripWriter,
    result: (outcome: TripStatus, published: boolean, reason: string, weightsAfter?: ColourWeights) => GuardResult,
    end: { readonly status: TripStatus; readonly reason: string; readonly weightsAfter?: ColourWeights; readonly blocking?: boolean },
    alarmName: string,
): Promise<GuardResult> {
    const colour = trips.key.slice(trips.key.lastIndexOf("#") + 1) as GuardColour;
    const won = await trips.finish(end);
    if (!won) return duplicate(trips.key, colour, await trips.read());
    return result(end.status, await publish(deps, end.status, colour, end.reason, alarmName), end.reason, end.weightsAfter);
}

function duplicate(key: string, colour: GuardColour, existing: LedgerTrip | undefined): GuardResult {
    return { outcome: "duplicate", reason: `this alarm transition was handled already (${existing?.status ?? "record gone"})`, colour, tripKey: key, published: false };
}

/** The listener's live default actions and both colours' target health, read now; unreadable health is left out, not guessed. */
async function readReality(deps: GuardDeps, tripped: GuardColour) {
    const { settings } = deps;
    const described = await deps.elb.send(new DescribeListenersCommand({ ListenerArns: [settings.listenerArn] }));
    const listener = described.Listeners?.find((candidate) => candidate.ListenerArn === settings.listenerArn);
    if (!listener) throw new Error(`listener ${settings.listenerArn} not found`);
    const actions = listener.DefaultActions ?? [];
    const { action, weights } = forwardWeights(actions, settings.targetGroupArns);
    const healthyTargets: Partial<Record<GuardColour, number>> = {};
    // Only the other colour's health decides; the tripped colour's is recorded for the people reading the trip.
    for (const colour of [otherGuardColour(tripped), tripped]) {
        try {
            const health = await deps.elb.send(new DescribeTargetHealthCommand({ TargetGroupArn: settings.targetGroupArns[colour] }));
            healthyTargets[colour] = (health.TargetHealthDescriptions ?? []).filter((target) => target.TargetHealth?.State === "healthy").length;
        } catch (error) {
            console.warn(JSON.stringify({ message: `DescribeTargetHealth of ${colour} failed`, error: (error as Error).message }));
        }
    }
    return { action, actions, weights, reading: { tripped, weights, healthyTargets } };
}

/** Publishes the trip to the stack's topic with attributes for subscription filters; false when it could not. */
async function publish(deps: GuardDeps, status: TripStatus, colour: GuardColour, reason: string, alarmName: string): Promise<boolean> {
    const { settings } = deps;
    const subject = `${settings.service} ${settings.stack}: guard ${status === "left" ? "could not act on" : "tripped"} ${colour}`.slice(0, 99);
    const message = [
        `${settings.service} ${settings.stack}: ${reason}`,
        "",
        `alarm: ${alarmName} in ALARM`,
        `colour: ${colour}`,
        `trip: ${status}`,
        status === "left" ? "nothing was changed; a person must decide" : "the program and shiftwise refuse to give this colour traffic until the config is reverted or `shiftwise clear-trip --reason` is run",
    ].join("\n");
    const attributes = { event: "trip", service: settings.service, stack: settings.stack, colour, status };
    try {
        await deps.sns.send(
            new PublishCommand({
                TopicArn: settings.topicArn,
                Subject: subject,
                Message: message,
                MessageAttributes: Object.fromEntries(Object.entries(attributes).map(([name, value]) => [name, { DataType: "String", StringValue: value }])),
            }),
        );
        return true;
    } catch (error) {
        // The trip is recorded and the traffic moved; a lost notification must not fail (and re-run) the guard. The log keeps it.
        console.warn(JSON.stringify({ message: "shiftwise guard: could not publish the trip", error: (error as Error).message }));
        return false;
    }
}

/** The trip item of one alarm transition: created once (attribute_not_exists), finished once (status = moving). */
class TripWriter {
    constructor(
        private readonly deps: GuardDeps,
        readonly key: string,
    ) {}

    private get itemKey() {
        return { [LEDGER_KEY.partitionKey]: LEDGER_KEY.partition(this.deps.settings.stack), [LEDGER_KEY.sortKey]: this.key };
    }

    async read(): Promise<LedgerTrip | undefined> {
        const response = await this.deps.documents.send(new GetCommand({ TableName: this.deps.settings.tableName, Key: this.itemKey, ConsistentRead: true }));
        return response.Item as LedgerTrip | undefined;
    }

    /** False when another invocation created it first. */
    async create(fields: Record<string, unknown>): Promise<boolean> {
        return conditional(() =>
            this.deps.documents.send(
                new PutCommand({
                    TableName: this.deps.settings.tableName,
                    Item: { ...this.itemKey, ...fields, at: this.deps.now().toISOString(), by: this.deps.settings.actor },
                    ConditionExpression: "attribute_not_exists(#sk)",
                    ExpressionAttributeNames: { "#sk": LEDGER_KEY.sortKey },
                }),
            ),
        );
    }

    /** False when it is no longer `moving` (another invocation finished it, or it was cleared). */
    async finish(end: { readonly status: TripStatus; readonly reason: string; readonly weightsAfter?: ColourWeights; readonly blocking?: boolean }): Promise<boolean> {
        const values: Record<string, unknown> = { ":status": end.status, ":moving": "moving", ":reason": end.reason, ":at": this.deps.now().toISOString() };
        let update = "SET #status = :status, reason = :reason, finishedAt = :at";
        if (end.weightsAfter) {
            update += ", weightsAfter = :after";
            values[":after"] = end.weightsAfter;
        }
        if (end.blocking !== undefined) {
            update += ", blocking = :blocking";
            values[":blocking"] = end.blocking;
        }
        return conditional(() =>
            this.deps.documents.send(
                new UpdateCommand({
                    TableName: this.deps.settings.tableName,
                    Key: this.itemKey,
                    UpdateExpression: update,
                    ConditionExpression: "#status = :moving AND attribute_not_exists(cleared)",
                    ExpressionAttributeNames: { "#status": "status" },
                    ExpressionAttributeValues: values,
                }),
            ),
        );
    }
}

async function conditional(write: () => Promise<unknown>): Promise<boolean> {
    try {
        await write();
        return true;
    } catch (error) {
        if (error instanceof ConditionalCheckFailedException || (error as { name?: string }).name === "ConditionalCheckFailedException") return false;
        throw error;
    }
}
