// The AWS-side release guard: an EventBridge rule on the colours' composite rollback alarms invoking a least-privilege Lambda.
import * as cloudwatch from "@pulumi/aws/cloudwatch";
import * as iam from "@pulumi/aws/iam";
import * as lambda from "@pulumi/aws/lambda";
import * as pulumi from "@pulumi/pulumi";
import { GUARD_ENVIRONMENT } from "../guard/environment";
import { LEDGER_KEY } from "../ports/ledgerKey";

type Colours<T> = { readonly blue: T; readonly green: T };

export interface ReleaseGuardArgs {
    /** The Lambda function's name, e.g. `shop-production-guard`: 1–64 of `a-z A-Z 0-9 - _` (Lambda CreateFunction, FunctionName). */
    readonly functionName: string;
    /** The stack: the ledger partition the function may write (`STACK#<stack>`). */
    readonly stackName: string;
    /** The service, for notifications. */
    readonly serviceName: string;
    /** The stack's region, for the KMS `kms:ViaService` conditions. */
    readonly region: string;
    /** The function's code: an archive whose `index.js` exports `handler` (guard/bundle.ts). */
    readonly code: pulumi.asset.Archive;
    /** The forwarding listener: the only listener the function may modify. */
    readonly listenerArn: pulumi.Input<string>;
    readonly targetGroupArns: Colours<pulumi.Input<string>>;
    /** Each colour's composite rollback alarm name; the rule matches only these going to ALARM. */
    readonly alarmNames: Colours<pulumi.Input<string>>;
    /** The release ledger table and its customer-managed key. */
    readonly ledgerTableName: pulumi.Input<string>;
    readonly ledgerTableArn: pulumi.Input<string>;
    readonly ledgerKeyArn: pulumi.Input<string>;
    /** The stack's topic and its key: trips are announced there, and failed invocations land there. */
    readonly topicArn: pulumi.Input<string>;
    readonly topicKeyArn: pulumi.Input<string>;
    /** The stack key that encrypts the function's log group, like the stack's other log groups. */
    readonly logKmsKeyArn: pulumi.Input<string>;
    /** Days the function's logs are kept. @default 30 */
    readonly logRetentionDays?: number;
    /** Tags for every resource. @default {} */
    readonly tags?: Record<string, string>;
}

/** Lambda CreateFunction: FunctionName (a plain name) is 1–64 characters of letters, digits, hyphens and underscores. */
export const FUNCTION_NAME_PATTERN = /^[a-zA-Z0-9-_]{1,64}$/;

/** What the guard's role may do, resolved to ARNs: the exact statements of its policy. */
export interface GuardPolicyInputs {
    readonly listenerArn: string;
    readonly ledgerTableArn: string;
    readonly ledgerKeyArn: string;
    readonly topicArn: string;
    readonly topicKeyArn: string;
    readonly logGroupArn: string;
    readonly stackName: string;
    readonly region: string;
}

/**
 * The guard's least-privilege policy. Resources are this stack's listener,
 * ledger table (its own partition only), topic, their keys (only through
 * DynamoDB and SNS) and the function's own log group.
 */
export function guardPolicy(inputs: GuardPolicyInputs): { Version: string; Statement: Record<string, unknown>[] } {
    return {
        Version: "2012-10-17",
        Statement: [
            {
                Sid: "ReadListenerAndTargetHealth",
                Effect: "Allow",
                Action: ["elasticloadbalancing:DescribeListeners", "elasticloadbalancing:DescribeTargetHealth"],
                // "*" because ELB's Describe* actions support no resource-level permissions: the Service Authorization
                // Reference lists no resource type for them, and IAM denies them on any narrower Resource. Read-only.
                Resource: "*",
            },
            { Sid: "ModifyThisListener", Effect: "Allow", Action: "elasticloadbalancing:ModifyListener", Resource: inputs.listenerArn },
            {
                Sid: "WriteThisStacksTrips",
                Effect: "Allow",
                Action: ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"],
                Resource: inputs.ledgerTableArn,
                Condition: { "ForAllValues:StringEquals": { "dynamodb:LeadingKeys": [LEDGER_KEY.partition(inputs.stackName)] } },
            },
            {
                Sid: "UseLedgerKeyThroughDynamoDB",
                Effect: "Allow",
                Action: ["kms:Decrypt", "kms:GenerateDataKey"],
                Resource: inputs.ledgerKeyArn,
                Condition: { StringEquals: { "kms:ViaService": `dynamodb.${inputs.region}.amazonaws.com` } },
            },
            { Sid: "PublishToTheStacksTopic", Effect: "Allow", Action: "sns:Publish", Resource: inputs.topicArn },
            {
                Sid: "UseTopicKeyThroughSns",
                Effect: "Allow",
                Action: ["kms:Decrypt", "kms:GenerateDataKey"],
                Resource: inputs.topicKeyArn,
                Condition: { StringEquals: { "kms:ViaService": `sns.${inputs.region}.amazonaws.com` } },
            },
            {
                Sid: "WriteOwnLogs",
                Effect: "Allow",
                Action: ["logs:CreateLogStream", "logs:PutLogEvents"],
                // Lambda names each execution environment's stream itself (date/[version]id), so streams are matched by "*"
                // within this one log group only.
                Resource: `${inputs.logGroupArn}:log-stream:*`,
            },
        ],
    };
}

/** The EventBridge pattern: either colour's composite rollback alarm going to ALARM (OK and INSUFFICIENT_DATA never invoke). */
export function guardEventPattern(alarmNames: readonly string[]): object {
    return {
        source: ["aws.cloudwatch"],
        "detail-type": ["CloudWatch Alarm State Change"],
        detail: { alarmName: [...alarmNames], state: { value: ["ALARM"] } },
    };
}

/**
 * The runner-independent rollback. When a colour's composite rollback alarm
 * goes to ALARM, EventBridge invokes the guard function, which takes that
 * colour's weight to 0 when the other colour has healthy targets, records the
 * trip in the release ledger and announces it on the stack's topic
 * (guard/guard.ts). The function may modify this stack's forwarding listener
 * and nothing else; it writes only this stack's ledger partition.
 */
export class ReleaseGuard extends pulumi.ComponentResource {
    public readonly logGroup: cloudwatch.LogGroup;
    public readonly role: iam.Role;
    public readonly policy: iam.RolePolicy;
    public readonly function: lambda.Function;
    public readonly rule: cloudwatch.EventRule;
    public readonly target: cloudwatch.EventTarget;
    public readonly permission: lambda.Permission;
    public readonly functionName: pulumi.Output<string>;
    public readonly ruleName: pulumi.Output<string>;

    constructor(name: string, args: ReleaseGuardArgs, opts?: pulumi.ComponentResourceOptions) {
        if (!FUNCTION_NAME_PATTERN.test(args.functionName)) {
            throw new Error(`ReleaseGuard ${name}: functionName "${args.functionName}" must be 1-64 characters of a-z, A-Z, 0-9, '-' and '_'`);
        }
        super("shiftwise:safety:ReleaseGuard", name, {}, opts);
        const parent = { parent: this };
        const tags = args.tags ?? {};

        // Lambda's own group name, created here so it is encrypted and expires; Lambda would create it unencrypted, forever.
        this.logGroup = new cloudwatch.LogGroup(name, {
            name: `/aws/lambda/${args.functionName}`,
            retentionInDays: args.logRetentionDays ?? 30,
            kmsKeyId: args.logKmsKeyArn,
            tags,
        }, parent);

        this.role = new iam.Role(name, {
            description: `${args.functionName}: takes traffic off a colour whose rollback alarm fires`,
            assumeRolePolicy: JSON.stringify({
                Version: "2012-10-17",
                Statement: [{ Effect: "Allow", Principal: { Service: "lambda.amazonaws.com" }, Action: "sts:AssumeRole" }],
            }),
            tags,
        }, parent);

        this.policy = new iam.RolePolicy(name, {
            role: this.role.id,
            policy: pulumi
                .all([args.listenerArn, args.ledgerTableArn, args.ledgerKeyArn, args.topicArn, args.topicKeyArn, this.logGroup.arn])
                .apply(([listenerArn, ledgerTableArn, ledgerKeyArn, topicArn, topicKeyArn, logGroupArn]) =>
                    JSON.stringify(guardPolicy({ listenerArn, ledgerTableArn, ledgerKeyArn, topicArn, topicKeyArn, logGroupArn, stackName: args.stackName, region: args.region })),
                ),
        }, parent);

        this.function = new lambda.Function(name, {
            name: args.functionName,
            description: `shiftwise guard of ${args.serviceName} ${args.stackName}: moves traffic off a colour in ALARM`,
            runtime: lambda.Runtime.NodeJS22dX,
            architectures: ["arm64"],
            handler: "index.handler",
            code: args.code,
            role: this.role.arn,
            memorySize: 256,
            // Six SDK attempts per call with backoff fit comfortably; a run that times out is retried by Lambda.
            timeout: 60,
            environment: {
                variables: {
                    [GUARD_ENVIRONMENT.service]: args.serviceName,
                    [GUARD_ENVIRONMENT.stack]: args.stackName,
                    [GUARD_ENVIRONMENT.listenerArn]: args.listenerArn,
                    [GUARD_ENVIRONMENT.blueTargetGroupArn]: args.targetGroupArns.blue,
                    [GUARD_ENVIRONMENT.greenTargetGroupArn]: args.targetGroupArns.green,
                    [GUARD_ENVIRONMENT.blueAlarmName]: args.alarmNames.blue,
                    [GUARD_ENVIRONMENT.greenAlarmName]: args.alarmNames.green,
                    [GUARD_ENVIRONMENT.tableName]: args.ledgerTableName,
                    [GUARD_ENVIRONMENT.topicArn]: args.topicArn,
                },
            },
            loggingConfig: { logFormat: "JSON", logGroup: this.logGroup.name },
            tags,
        }, { parent: this, dependsOn: [this.policy, this.logGroup] });

        // Asynchronous invocations: two retries over at most an hour; what still fails is announced on the stack's topic.
        new lambda.FunctionEventInvokeConfig(name, {
            functionName: this.function.name,
            maximumRetryAttempts: 2,
            maximumEventAgeInSeconds: 3600,
            destinationConfig: { onFailure: { destination: args.topicArn } },
        }, parent);

        this.rule = new cloudwatch.EventRule(name, {
            name: args.functionName,
            description: `${args.serviceName} ${args.stackName}: a colour's composite rollback alarm went to ALARM`,
            eventPattern: pulumi.all([args.alarmNames.blue, args.alarmNames.green]).apply((names) => JSON.stringify(guardEventPattern(names))),
            tags,
        }, parent);

        this.permission = new lambda.Permission(name, {
            action: "lambda:InvokeFunction",
            function: this.function.name,
            principal: "events.amazonaws.com",
            sourceArn: this.rule.arn,
        }, parent);

        this.target = new cloudwatch.EventTarget(name, {
            rule: this.rule.name,
            arn: this.function.arn,
            retryPolicy: { maximumEventAgeInSeconds: 3600, maximumRetryAttempts: 24 },
        }, { parent: this, dependsOn: [this.permission] });

        this.functionName = this.function.name;
        this.ruleName = this.rule.name;
        this.registerOutputs({
            logGroup: this.logGroup,
            role: this.role,
            policy: this.policy,
            function: this.function,
            rule: this.rule,
            target: this.target,
            permission: this.permission,
            functionName: this.functionName,
            ruleName: this.ruleName,
        });
    }
}
