// A fake clock the tests advance by hand.
import type { Clock } from "../../ports/ports";

/**
 * A clock whose `sleep` advances virtual time at once, so a ten-minute bake
 * takes microseconds. `onSleep` hooks see the new time (to raise an alarm at
 * minute 3, or fire a signal).
 */
export class FakeClock implements Clock {
    private time: number;
    readonly sleeps: number[] = [];
    onSleep?: (now: Date) => void;

    constructor(start: string | Date = "2025-03-04T10:00:00Z") {
        this.time = new Date(start).getTime();
    }

    now(): Date {
        return new Date(this.time);
    }

    async sleep(ms: number, signal?: AbortSignal): Promise<void> {
        if (signal?.aborted) throw signal.reason;
        this.sleeps.push(ms);
        this.time += ms;
        this.onSleep?.(this.now());
        await Promise.resolve();
        if (signal?.aborted) throw signal.reason;
    }

    /** Minutes since `from`. */
    minutesSince(from: string | Date): number {
        return (this.time - new Date(from).getTime()) / 60_000;
    }
}
