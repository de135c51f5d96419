// The stage reporter: one timestamped line per stage, and a progress line on a terminal.
import type { Clock } from "../ports/ports";

/** Where the driver reports progress. */
export interface Reporter {
    /** One timestamped line per stage, for CI logs. */
    line(stage: string, message: string): void;
    /** A transient progress indicator (bake polls); shown only on a terminal. */
    progress(message: string): void;
}

/** Writes `2025-01-01T12:00:00Z [production] shift 25%: ...` lines; progress is redrawn in place on a TTY and dropped otherwise. */
export function lineReporter(options: { stack: string; clock: Clock; write: (text: string) => void; progressWrite?: (text: string) => void; isTty: boolean }): Reporter {
    let progressShown = false;
    const clearProgress = () => {
        if (progressShown && options.progressWrite) options.progressWrite("\r\x1b[2K");
        progressShown = false;
    };
    return {
        line(stage, message) {
            clearProgress();
            const stamp = options.clock.now().toISOString().replace(/\.\d{3}Z$/, "Z");
            options.write(`${stamp} [${options.stack}] ${stage}: ${message}\n`);
        },
        progress(message) {
            if (!options.isTty || !options.progressWrite) return;
            options.progressWrite(`\r\x1b[2K${message}`);
            progressShown = true;
        },
    };
}

/** Reports nothing (tests that assert only records and calls). */
export const silentReporter: Reporter = { line: () => undefined, progress: () => undefined };
