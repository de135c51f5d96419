// The guard function's environment variables: set by components/releaseGuard.ts, read by guard/handler.ts.
export const GUARD_ENVIRONMENT = {
    service: "SHIFTWISE_SERVICE",
    stack: "SHIFTWISE_STACK",
    listenerArn: "SHIFTWISE_LISTENER_ARN",
    blueTargetGroupArn: "SHIFTWISE_BLUE_TARGET_GROUP_ARN",
    greenTargetGroupArn: "SHIFTWISE_GREEN_TARGET_GROUP_ARN",
    blueAlarmName: "SHIFTWISE_BLUE_ALARM_NAME",
    greenAlarmName: "SHIFTWISE_GREEN_ALARM_NAME",
    tableName: "SHIFTWISE_LEDGER_TABLE",
    topicArn: "SHIFTWISE_TOPIC_ARN",
} as const;
