// Freeze windows: whether a moment falls inside one, read in the window's IANA time zone, and how to describe it.
import { DAYS } from "../config/rules";
import type { FreezeWindow } from "../config";

/**
 * Freeze windows (`shiftwise:rollout.freezeWindows`): days of the week,
 * calendar dates (holiday freezes) and/or a time range, each with a reason,
 * all read in the window's IANA `timeZone` (default UTC). Local time comes
 * from `Intl.DateTimeFormat`, so daylight-saving changes follow the tz
 * database. A range whose end is before its start runs past midnight
 * (22:00-06:00) and belongs to the day (and date) it starts on.
 */

/** A window as config gives it; `timeZone` defaults to UTC. */
export type FreezeWindowInput = Omit<FreezeWindow, "timeZone"> & { readonly timeZone?: string };

type Day = (typeof DAYS)[number];

/** The wall clock in a time zone: weekday, calendar date and minute of the day. */
interface LocalTime {
    readonly day: Day;
    readonly date: string;
    readonly minute: number;
}

/** The first window that contains `at`, or undefined. */
export function activeFreezeWindow<W extends FreezeWindowInput>(windows: readonly W[], at: Date): W | undefined {
    return windows.find((window) => inWindow(window, at));
}

/** True when `at` falls inside `window`. */
export function inWindow(window: FreezeWindowInput, at: Date): boolean {
    const zone = window.timeZone ?? "UTC";
    const today = localTime(at, zone);
    // The local day before: the same wall-clock moment minus a day is within the previous calendar date in every zone.
    const yesterday = previousDay(today);
    const onDay = (local: Pick<LocalTime, "day" | "date">) =>
        (window.days === undefined || window.days.includes(local.day)) && (window.dates === undefined || window.dates.includes(local.date));
    if (window.start === undefined || window.end === undefined) return onDay(today);
    const start = minutesOf(window.start);
    const end = minutesOf(window.end);
    if (start < end) return onDay(today) && today.minute >= start && today.minute < end;
    return (onDay(today) && today.minute >= start) || (onDay(yesterday) && today.minute < end);
}

/** The window as people read it: `fri 16:00-24:00 Europe/Berlin (release freeze)`. */
export function describeWindow(window: FreezeWindowInput): string {
    const zone = window.timeZone ?? "UTC";
    const when = [window.days?.join(","), window.dates?.join(",")].filter(Boolean).join(" ") || "every day";
    const time = window.start ? ` ${window.start}-${window.end} ${zone}` : ` all day (${zone})`;
    return `${when}${time} (${window.reason})`;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

/** The weekday, date and minute of `at` on the wall clock of `zone`. */
export function localTime(at: Date, zone: string): LocalTime {
    let formatter = formatters.get(zone);
    if (!formatter) {
        formatter = new Intl.DateTimeFormat("en-US", { timeZone: zone, hourCycle: "h23", weekday: "short", year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit" });
        formatters.set(zone, formatter);
    }
    const parts = Object.fromEntries(formatter.formatToParts(at).map((part) => [part.type, part.value]));
    return {
        day: parts.weekday.toLowerCase() as Day,
        date: `${parts.year}-${parts.month}-${parts.day}`,
        minute: Number(parts.hour) * 60 + Number(parts.minute),
    };
}

function previousDay(local: LocalTime): Pick<LocalTime, "day" | "date"> {
    const date = new Date(`${local.date}T00:00:00Z`);
    date.setUTCDate(date.getUTCDate() - 1);
    return { day: DAYS[(DAYS.indexOf(local.day) + 6) % 7], date: date.toISOString().slice(0, 10) };
}

function minutesOf(clock: string): number {
    const [hours, minutes] = clock.split(":").map(Number);
    return hours * 60 + minutes;
}
