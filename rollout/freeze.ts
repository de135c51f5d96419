// Freeze windows: whether a moment falls inside one, and how to describe it.
import { DAYS } from "../config/rules";
import type { FreezeWindow } from "../config";

/**
 * Freeze windows (`shiftwise:rollout.freezeWindows`): days of the week and/or
 * a UTC time range, each with a reason. A range whose end is before its start
 * runs past midnight (22:00-06:00) and belongs to the day it starts on.
 */

/** The first window that contains `at`, or undefined. */
export function activeFreezeWindow(windows: readonly FreezeWindow[], at: Date): FreezeWindow | undefined {
    return windows.find((window) => inWindow(window, at));
}

/** True when `at` falls inside `window`. */
export function inWindow(window: FreezeWindow, at: Date): boolean {
    const minute = at.getUTCHours() * 60 + at.getUTCMinutes();
    const today = dayOf(at);
    const yesterday = DAYS[(DAYS.indexOf(today) + 6) % 7];
    const onDay = (day: (typeof DAYS)[number]) => window.days === undefined || window.days.includes(day);
    if (window.start === undefined || window.end === undefined) return onDay(today);
    const start = minutesOf(window.start);
    const end = minutesOf(window.end);
    if (start < end) return onDay(today) && minute >= start && minute < end;
    return (onDay(today) && minute >= start) || (onDay(yesterday) && minute < end);
}

/** The window as people read it: `fri 16:00-24:00 UTC (release freeze)`. */
export function describeWindow(window: FreezeWindow): string {
    const days = window.days ? window.days.join(",") : "every day";
    const time = window.start ? ` ${window.start}-${window.end} UTC` : " all day (UTC)";
    return `${days}${time} (${window.reason})`;
}

function dayOf(at: Date): (typeof DAYS)[number] {
    // getUTCDay: 0 is Sunday; DAYS starts on Monday.
    return DAYS[(at.getUTCDay() + 6) % 7];
}

function minutesOf(clock: string): number {
    const [hours, minutes] = clock.split(":").map(Number);
    return hours * 60 + minutes;
}
