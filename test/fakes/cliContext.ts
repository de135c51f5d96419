// The command context the in-process CLI tests run main() with: a fresh project folder, a fake clock, no terminal, no signals, "n" to every question.
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import type { CommandContext } from "../../cli/commands";
import { nodeFetcher } from "../../rollout/smoke";
import { FakeClock } from "./fakeClock";

/**
 * A context over the given stack and AWS openers; every other field may be
 * overridden. `prefix` names the temporary project folder.
 */
export function cliContext(prefix: string, ports: Pick<CommandContext, "openStack" | "openAws"> & Partial<CommandContext>): CommandContext {
    return {
        projectDir: fs.mkdtempSync(path.join(os.tmpdir(), prefix)),
        env: {},
        clock: new FakeClock(),
        fetcher: nodeFetcher,
        stdoutIsTty: false,
        stdinIsTty: false,
        onSignal: () => () => undefined,
        ask: async () => "n",
        ...ports,
    };
}
