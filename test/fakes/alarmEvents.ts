// EventBridge events of the stack's composite rollback alarms, as the AWS-side guard receives them, and a trip as it records one.
import type { AlarmStateChangeEvent } from "../../guard/guard";
import type { LedgerTrip } from "../../ports/ports";

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

/** A trip as the guard leaves it after taking green off (guard/guard.ts). */
export const GREEN_TRIP: LedgerTrip = {
    id: "2026-11-27T22:00:00.000Z#green",
    colour: "green",
    at: "2026-11-27T22:00:30.000Z",
    alarmName: "shop-production-green-rollback",
    alarmAt: "2026-11-27T22:00:00.000Z",
    status: "moved",
    blocking: true,
    reason: "took green off: green had weight 10; blue has 3 healthy targets",
};
