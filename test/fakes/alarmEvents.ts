// EventBridge events of the stack's composite rollback alarms, as the AWS-side guard receives them.
import type { AlarmStateChangeEvent } from "../../guard/guard";

export const ALARMS = { blue: "shop-production-blue-rollback", green: "shop-production-green-rollback" };
const ALARM_AT = "2026-11-27T22:00:00.000+0000";

/** The event EventBridge delivers when a composite alarm goes to ALARM (or back to OK). */
export function alarmEvent(colour: "blue" | "green", value = "ALARM", timestamp = ALARM_AT): AlarmStateChangeEvent {
    return {
        id: "7bf73129-1428-4cd3-a780-95db273d1602",
        source: "aws.cloudwatch",
        "detail-type": "CloudWatch Alarm State Change",
        detail: { alarmName: ALARMS[colour], state: { value, timestamp, reason: `ALARM("shop-production-${colour}-error-rate")` } },
    };
}
