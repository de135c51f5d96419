// Probes of the candidate through the test listener during every bake, with a per-step failure budget.
import { testListenerHeaders } from "../stackView";
import { GateFailed, RolloutContext } from "./context";
import { probe } from "../smoke";

/**
 * Probes the candidate's probe paths (`rollout.probe.paths`, else the health
 * check path and `smokePaths`) every `rollout.probe.everySeconds`, one GET
 * each, with the smoke expectations. More than `failureBudget` failed probes
 * in one bake roll back at once, without waiting for the alarms' minutes.
 */
export class Prober {
    failures = 0;
    probes = 0;
    private nextAt: number;
    private lastFailure = "";

    constructor(
        private readonly context: RolloutContext,
        private readonly label: string,
    ) {
        this.nextAt = context.deps.clock.now().getTime();
    }

    /** Probes when one is due; throws `GateFailed` when the failure budget is breached. */
    async maybeProbe(): Promise<void> {
        const { deps, config, outputs, candidate, record } = this.context;
        const now = deps.clock.now().getTime();
        if (now < this.nextAt) return;
        this.nextAt = now + config.rollout.probe.everySeconds * 1000;
        const baseUrl = record.probeBaseUrl ?? outputs.testUrl;
        if (!baseUrl) throw new GateFailed("no testUrl output and no --smoke-base-url: the candidate cannot be probed during the bake");
        const { probe: settings, smokePaths, smokeExpect } = config.rollout;
        const paths = settings.paths.length > 0 ? settings.paths : [config.service.healthCheckPath, ...smokePaths];
        for (const path of paths) {
            const url = new URL(path, baseUrl).toString();
            const result = await probe(deps.fetcher, url, { header: outputs.testHeader, extraHeaders: await testListenerHeaders(deps.stack, outputs), colour: candidate, expect: { ...smokeExpect, version: record.version } }, deps.signal).catch(() => {
                this.context.checkInterrupt();
                return { ok: false, last: "aborted" };
            });
            this.probes += 1;
            if (result.ok) continue;
            this.failures += 1;
            this.lastFailure = `${url} -> ${result.last}`;
            if (this.failures > settings.failureBudget) {
                throw new GateFailed(`${this.label}: ${this.failures} probe(s) of ${candidate} failed, more than rollout.probe.failureBudget ${settings.failureBudget}; last: ${this.lastFailure}`);
            }
        }
    }

    describe(): string {
        return `${this.probes} probe(s), ${this.failures} failed`;
    }
}
