// The AWS-side guard's Lambda entry point: settings from the function's environment, SDK clients with retries, one run per event.
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { ElasticLoadBalancingV2Client } from "@aws-sdk/client-elastic-load-balancing-v2";
import { SNSClient } from "@aws-sdk/client-sns";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { GUARD_ENVIRONMENT } from "./environment";
import { AlarmStateChangeEvent, GuardDeps, GuardResult, GuardSettings, runGuard } from "./guard";

export { GUARD_ENVIRONMENT };

/**
 * The SDK's standard retry mode: exponential backoff with jitter, and
 * throttling errors (ThrottlingException, Throttling, RequestLimitExceeded,
 * ProvisionedThroughputExceededException) and 5xx retried. Six attempts fit
 * the function's 60 s timeout even at the mode's 20 s backoff cap.
 */
export const GUARD_RETRY = { retryMode: "standard", maxAttempts: 6 } as const;

/** Reads the settings; every missing variable is named at once. */
export function settingsFromEnvironment(env: Readonly<Record<string, string | undefined>>): GuardSettings {
    const missing = Object.values(GUARD_ENVIRONMENT).filter((name) => !env[name]);
    if (missing.length > 0) throw new Error(`shiftwise guard: missing environment variables ${missing.join(", ")}`);
    const get = (key: keyof typeof GUARD_ENVIRONMENT) => env[GUARD_ENVIRONMENT[key]] as string;
    return {
        service: get("service"),
        stack: get("stack"),
        listenerArn: get("listenerArn"),
        targetGroupArns: { blue: get("blueTargetGroupArn"), green: get("greenTargetGroupArn") },
        alarmNames: { blue: get("blueAlarmName"), green: get("greenAlarmName") },
        tableName: get("tableName"),
        topicArn: get("topicArn"),
        actor: `aws-guard (${env.AWS_LAMBDA_FUNCTION_NAME ?? "shiftwise guard"})`,
    };
}

/** SDK clients for the function's region with the guard's retry settings; `endpoint` only for tests (moto_server). */
export function guardClients(options: { readonly region?: string; readonly endpoint?: string; readonly credentials?: { accessKeyId: string; secretAccessKey: string } } = {}) {
    const config = { ...GUARD_RETRY, ...options };
    return {
        elb: new ElasticLoadBalancingV2Client(config),
        documents: DynamoDBDocumentClient.from(new DynamoDBClient(config), { marshallOptions: { removeUndefinedValues: true } }),
        sns: new SNSClient(config),
    };
}

let deps: GuardDeps | undefined;

/** The Lambda handler: clients are made once per execution environment and reused across invocations. */
export async function handler(event: AlarmStateChangeEvent): Promise<GuardResult> {
    deps ??= { ...guardClients(), settings: settingsFromEnvironment(process.env), now: () => new Date() };
    const result = await runGuard(deps, event);
    console.log(JSON.stringify({ message: "shiftwise guard", ...result }));
    return result;
}
