// The rollout driver: `deploy` and `resume` from pre-flight through checkpoint, prepare, shift and finish.
import type { Colour, StackConfig } from "../config";
import { ConfigError, otherColour, stableColour } from "../config";
import { configPatch, redactSecrets, sectionOf, trafficPaths } from "./configPaths";
import { ExitCode, ExitCodeValue } from "./exitCodes";
import { describeWindow, activeFreezeWindow } from "./freeze";
import { cleanPreviewProblems, effectiveSteps, listenerOnlyProblems, releasePreviewProblems } from "./guards";
import type { AwsPort, Clock, Fetcher, StackConfigEntries, StackPort } from "../ports/ports";
import { DeploymentRecord, RecordStore, StageEntry, StepEntry, recordId, stageDurations, startedBy } from "./records";
import type { Reporter } from "./reporter";
import { applyPatch, restoreCheckpoint, rollbackFailureMessage, verifyWeights } from "./rollback";
import { runSmokeChecks } from "./smoke";
import { DriverOutputs, driverOutputs, rollbackAlarmName, shiftwiseConfig } from "./stackView";

/**
 * The rollout driver: pre-flight, checkpoint, prepare, shift (with bake) and
 * finish, as DESIGN.md "The rollout driver" describes. It reaches Pulumi and
 * AWS only through the ports, takes time from an injected clock, and reports
 * through a `Reporter`. The CLI (`cli.ts`) only maps the outcome to an exit code.
 */

export interface DriverDeps {
    readonly stack: StackPort;
    readonly aws: AwsPort;
    readonly fetcher: Fetcher;
    readonly clock: Clock;
    readonly records: RecordStore;
    readonly reporter: Reporter;
    /** The environment, for `startedBy` (CI variables). @default {} */
    readonly env?: Readonly<Record<string, string | undefined>>;
    /** Fires on SIGINT/SIGTERM: during prepare, shift or bake the driver rolls back. */
    readonly signal?: AbortSignal;
    /** Milliseconds between target-health reads while waiting for the candidate. @default 15000 */
    readonly healthPollMs?: number;
    /** Milliseconds between smoke-check attempts. @default 5000 */
    readonly smokeRetryDelayMs?: number;
}

export interface DeployRequest {
    readonly version: string;
    readonly image: string;
    /** Deploy inside a freeze window; the reason is recorded. */
    readonly hotfix?: string;
    /** Take the pre-release snapshot (`database.preReleaseSnapshot` = the version) before the candidate starts. */
    readonly migrationSnapshot?: boolean;
    /** Stop after the step with this percent, for `shiftwise resume`. */
    readonly pauseAt?: number;
    /** Base URL for smoke checks instead of the `testUrl` output (see smoke.ts on TLS). */
    readonly smokeBaseUrl?: string;
    /** Asked after pre-flight with a summary; false refuses. Absent means go on (`--yes`). */
    readonly confirm?: (summary: string) => Promise<boolean>;
}

/** What a command ended with. */
export interface DriverOutcome {
    readonly exitCode: ExitCodeValue;
    readonly message: string;
    readonly record?: DeploymentRecord;
    readonly recordFile?: string;
    /** Pre-flight problems, one per refusal reason. */
    readonly problems?: readonly string[];
}

/** Pre-flight said no. */
class Refused extends Error {
    constructor(readonly problems: readonly string[], readonly exitCode: ExitCodeValue = ExitCode.refused) {
        super(problems.join("; "));
    }
}

/** A gate failed after the checkpoint: roll back. */
class GateFailed extends Error {}

/** A human is needed; the stack stays where it is. */
class Paused extends Error {}

const INTERRUPTED = "interrupted by a signal";

/** `shiftwise deploy`. */
export async function deploy(deps: DriverDeps, request: DeployRequest): Promise<DriverOutcome> {
    let preflight: Preflight;
    try {
        preflight = await runPreflight(deps, request);
    } catch (error) {
        if (error instanceof Refused) {
            deps.reporter.line("pre-flight", `refused: ${error.problems.join("; ")}`);
            return { exitCode: error.exitCode, message: `pre-flight refused the deployment; nothing was changed:\n  - ${error.problems.join("\n  - ")}`, problems: error.problems };
        }
        throw error;
    }
    if (request.confirm && !(await request.confirm(preflight.summary))) {
        return { exitCode: ExitCode.refused, message: "not confirmed; nothing was changed", problems: ["not confirmed"] };
    }
    const rollout = new Rollout(deps, preflight.record, preflight.config);
    return rollout.run(async () => {
        await rollout.prepare(request, preflight.releaseConfig);
        await rollout.shift(0);
    });
}

/** `shiftwise resume`: continues the paused deployment of the stack. */
export async function resume(deps: DriverDeps, recordFile?: string): Promise<DriverOutcome> {
    const record = recordFile ? deps.records.read(recordFile) : deps.records.unfinished();
    if (!record || record.status !== "paused" || !record.pause) {
        return { exitCode: ExitCode.invalid, message: `no paused deployment of ${deps.stack.stackName}${record ? ` (the latest unfinished one, ${record.id}, is ${record.status})` : ""}` };
    }
    const entries = await deps.stack.getAllConfig();
    const config = shiftwiseConfig(entries);
    const outputs = driverOutputs(await deps.stack.outputs());
    const problems: string[] = [];
    const pausedStep = record.steps[record.steps.length - 1];
    if (config.traffic[record.candidate] !== record.pause.afterPercent) {
        problems.push(`shiftwise:traffic gives ${record.candidate} ${config.traffic[record.candidate]}%, but the deployment paused at ${record.pause.afterPercent}%; run \`shiftwise rollback\``);
    }
    if (config[record.candidate].version !== record.version) {
        problems.push(`${record.candidate} runs ${config[record.candidate].version}, not the paused release ${record.version}`);
    }
    problems.push(...cleanPreviewProblems(await deps.stack.preview()));
    const alarm = await deps.aws.compositeAlarmState(rollbackAlarmName(outputs, record.candidate, config.service.name, deps.stack.stackName));
    if (alarm === "ALARM") problems.push(`the ${record.candidate} composite alarm is in ALARM; run \`shiftwise rollback\``);
    if (problems.length > 0) {
        deps.reporter.line("resume", `refused: ${problems.join("; ")}`);
        return { exitCode: ExitCode.refused, message: `cannot resume ${record.id}:\n  - ${problems.join("\n  - ")}`, problems, record };
    }
    record.status = "in-progress";
    record.resumes = [...(record.resumes ?? []), { at: deps.clock.now().toISOString(), by: startedBy(deps.env ?? {}) }];
    record.pause = undefined;
    deps.records.save(record);
    deps.reporter.line("resume", `continuing ${record.id} after ${pausedStep?.percent}%`);
    const rollout = new Rollout(deps, record, config);
    const next = config.rollout.steps.findIndex((percent) => percent > (pausedStep?.percent ?? 0));
    return rollout.run(() => rollout.shift(next < 0 ? config.rollout.steps.length : next));
}

interface Preflight {
    readonly record: DeploymentRecord;
    readonly config: StackConfig;
    readonly releaseConfig: StackConfigEntries;
    readonly summary: string;
}

/** The checkpoint config with the candidate on the new version (and the snapshot label when migrating). */
export function releaseConfig(entries: StackConfigEntries, candidate: Colour, request: Pick<DeployRequest, "version" | "image" | "migrationSnapshot">): StackConfigEntries {
    const release: StackConfigEntries = { ...entries };
    const colour = sectionOf(entries, candidate) ?? {};
    release[`shiftwise:${candidate}`] = { value: JSON.stringify({ ...colour, version: request.version, image: request.image }) };
    if (request.migrationSnapshot) {
        const database = sectionOf(entries, "database") ?? {};
        // snapshotColour keeps the config valid after a rollback, which keeps the label (and the snapshot) but reverts the version.
        release["shiftwise:database"] = { value: JSON.stringify({ ...database, preReleaseSnapshot: request.version, snapshotColour: candidate }) };
    }
    return release;
}

async function runPreflight(deps: DriverDeps, request: DeployRequest): Promise<Preflight> {
    const now = deps.clock.now();
    const stackName = deps.stack.stackName;
    const entries = await deps.stack.getAllConfig();
    let config: StackConfig;
    try {
        config = shiftwiseConfig(entries);
    } catch (error) {
        if (error instanceof ConfigError) throw new Refused(error.problems, ExitCode.invalid);
        throw error;
    }
    const stable = stableColour(config.traffic);
    const candidate = otherColour(stable);
    const problems: string[] = [];
    const invalid: string[] = [];
    if (request.hotfix !== undefined && request.hotfix.trim() === "") invalid.push("--hotfix needs a reason");
    if (request.pauseAt !== undefined && !config.rollout.steps.includes(request.pauseAt)) {
        invalid.push(`--pause-at ${request.pauseAt} is not one of the steps ${config.rollout.steps.join(", ")}`);
    }
    if (request.migrationSnapshot && !config.database) invalid.push("--migration-snapshot needs a database: shiftwise:database is not set");
    const release = releaseConfig(entries, candidate, request);
    try {
        shiftwiseConfig(release);
    } catch (error) {
        if (!(error instanceof ConfigError)) throw error;
        invalid.push(...error.problems.map((problem) => `the release config is invalid: ${problem}`));
    }
    if (invalid.length > 0) throw new Refused(invalid, ExitCode.invalid);

    const window = activeFreezeWindow(config.rollout.freezeWindows, now);
    if (window && request.hotfix === undefined) problems.push(`inside the freeze window ${describeWindow(window)}; pass --hotfix "<reason>" to deploy anyway`);
    if (config.traffic[candidate] !== 0) {
        problems.push(`the candidate colour ${candidate} carries ${config.traffic[candidate]}% of traffic; a deployment starts from 100/0: finish the last one (\`shiftwise resume\`) or move traffic back (\`shiftwise rollback\`)`);
    }
    const unfinished = deps.records.unfinished();
    if (unfinished) problems.push(`deployment ${unfinished.id} (${unfinished.version}) is ${unfinished.status}: \`shiftwise resume\` or \`shiftwise rollback\` it first`);
    if (config[candidate].version === request.version && config[candidate].image === request.image) {
        problems.push(`${candidate} already runs ${request.version} (${request.image})`);
    }

    const rawOutputs = await deps.stack.outputs();
    let outputs: DriverOutputs;
    try {
        outputs = driverOutputs(rawOutputs);
    } catch (error) {
        throw new Refused([...problems, (error as Error).message]);
    }
    const stableAlarm = rollbackAlarmName(outputs, stable, config.service.name, stackName);
    const candidateAlarm = rollbackAlarmName(outputs, candidate, config.service.name, stackName);
    const stableState = await deps.aws.compositeAlarmState(stableAlarm);
    if (stableState !== "OK") problems.push(`the stable colour's composite alarm ${stableAlarm} is ${stableState ?? "missing"}, not OK`);
    if ((await deps.aws.compositeAlarmState(candidateAlarm)) === undefined) problems.push(`the candidate's composite alarm ${candidateAlarm} does not exist, so the release could not be judged`);
    const health = await deps.aws.targetHealth(outputs[stable].targetGroupArn);
    if (health.healthy < config[stable].desiredCount) {
        problems.push(`the stable colour ${stable} has ${health.healthy} healthy target(s), fewer than its desiredCount ${config[stable].desiredCount}`);
    }
    if (problems.length > 0) throw new Refused(problems);

    // The checkpoint preview proves the rollback path: restoring this config is a no-op for the engine.
    const checkpointProblems = cleanPreviewProblems(await deps.stack.preview());
    if (checkpointProblems.length > 0) throw new Refused(checkpointProblems);
    const releasePreview = await previewWith(deps.stack, entries, release);
    const scopeProblems = releasePreviewProblems(releasePreview, { serviceName: config.service.name, candidate, allowSnapshot: request.migrationSnapshot ?? false });
    if (scopeProblems.length > 0) throw new Refused(scopeProblems);

    const hotfix = window && request.hotfix !== undefined ? { reason: request.hotfix, freezeWindow: describeWindow(window) } : undefined;
    const record: DeploymentRecord = {
        schemaVersion: 1,
        id: recordId(now, request.version),
        stack: stackName,
        status: "in-progress",
        version: request.version,
        image: request.image,
        stable,
        candidate,
        ...(hotfix ? { hotfix } : {}),
        ...(request.migrationSnapshot ? { migrationSnapshot: request.version } : {}),
        ...(request.pauseAt !== undefined ? { pauseAt: request.pauseAt } : {}),
        startedAt: now.toISOString(),
        startedBy: startedBy(deps.env ?? {}),
        checkpoint: {
            config: redactSecrets(entries),
            outputs: rawOutputs,
            versions: { blue: config.blue.version, green: config.green.version },
            traffic: { blue: config.traffic.blue, green: config.traffic.green },
        },
        stages: [{ name: "pre-flight", startedAt: now.toISOString(), finishedAt: deps.clock.now().toISOString(), outcome: "ok", ...(hotfix ? { detail: `hotfix: ${hotfix.reason}` } : {}) }],
        steps: [],
        rollbacks: [],
    };
    const changed = effectiveSteps(releasePreview).length;
    const summary = `${stackName}: ${candidate} ${config[candidate].version} -> ${request.version} at weight 0, then steps ${config.rollout.steps.join(", ")}% (bake ${config.rollout.bakeMinutes} min, >= ${config.rollout.minRequestsPerStep} requests each); the release changes ${changed} resource(s) of ${candidate}${hotfix ? `; HOTFIX during ${hotfix.freezeWindow}: ${hotfix.reason}` : ""}`;
    deps.reporter.line("pre-flight", `ok: ${summary}`);
    return { record, config, releaseConfig: release, summary };
}

/** Previews `target` and puts `current` back, whatever happens. */
async function previewWith(stack: StackPort, current: StackConfigEntries, target: StackConfigEntries) {
    await applyPatch(stack, configPatch(current, target));
    try {
        return await stack.preview();
    } finally {
        await applyPatch(stack, configPatch(await stack.getAllConfig(), current));
    }
}

/** One deployment from the checkpoint on. */
class Rollout {
    private readonly outputs: DriverOutputs;
    private readonly candidate: Colour;
    private readonly stable: Colour;

    constructor(
        private readonly deps: DriverDeps,
        private readonly record: DeploymentRecord,
        private readonly config: StackConfig,
    ) {
        this.outputs = driverOutputs(record.checkpoint.outputs);
        this.candidate = record.candidate;
        this.stable = record.stable;
    }

    /** Runs `body` after the checkpoint; pauses, rolls back on any failure, or finishes. */
    async run(body: () => Promise<void>): Promise<DriverOutcome> {
        const { deps, record } = this;
        const file = deps.records.save(record);
        if (record.stages.every((stage) => stage.name !== "checkpoint")) {
            await this.stage("checkpoint", async () => `config, outputs and versions recorded in ${file}`);
        }
        try {
            await body();
        } catch (error) {
            if (error instanceof Paused) {
                record.status = "paused";
                deps.records.save(record);
                return { exitCode: ExitCode.paused, message: `${error.message}; continue with \`shiftwise resume --stack ${record.stack}\` or undo with \`shiftwise rollback --stack ${record.stack}\``, record, recordFile: file };
            }
            const reason = deps.signal?.aborted ? INTERRUPTED : error instanceof Error ? error.message : String(error);
            record.error = reason;
            try {
                await restoreCheckpoint(deps, record, reason, "driver");
                record.status = "rolled-back";
                this.finish();
                return { exitCode: ExitCode.rolledBack, message: `rolled back to the checkpoint: ${reason}`, record, recordFile: file };
            } catch (rollbackError) {
                record.status = "rollback-failed";
                this.finish();
                return { exitCode: ExitCode.rollbackFailed, message: `${reason}\n${rollbackFailureMessage(rollbackError)}`, record, recordFile: file };
            }
        }
        record.status = "succeeded";
        await this.stage("finish", async () => `${record.version} serves 100% on ${this.candidate}; ${this.stable} stays warm for \`shiftwise rollback\``);
        this.finish();
        return { exitCode: ExitCode.success, message: `${record.version} is live on ${this.candidate}`, record, recordFile: file };
    }

    /** Prepare: the candidate on the new version at weight 0, healthy, smoke-checked. */
    async prepare(request: DeployRequest, release: StackConfigEntries): Promise<void> {
        const { deps, config } = this;
        await this.stage("prepare", async () => {
            await applyPatch(deps.stack, configPatch(await deps.stack.getAllConfig(), release));
            const changes = await this.interruptible(deps.stack.up());
            const scope = releasePreviewProblems(changes, { serviceName: config.service.name, candidate: this.candidate, allowSnapshot: request.migrationSnapshot ?? false });
            if (scope.length > 0) throw new GateFailed(scope.join("; "));
            const healthy = await this.waitHealthy(config[this.candidate].desiredCount, config.rollout.healthyWaitMinutes);
            const baseUrl = request.smokeBaseUrl ?? this.outputs.testUrl;
            if (!baseUrl) throw new GateFailed("no testUrl output and no --smoke-base-url: cannot run the smoke checks");
            const results = await runSmokeChecks(
                deps.fetcher,
                deps.clock,
                {
                    baseUrl,
                    paths: [config.service.healthCheckPath, ...config.rollout.smokePaths],
                    header: this.outputs.testHeader,
                    colour: this.candidate,
                    retries: config.rollout.smokeRetries,
                    retryDelayMs: deps.smokeRetryDelayMs,
                },
                deps.signal,
            );
            const failed = results.filter((result) => !result.ok);
            if (failed.length > 0) throw new GateFailed(`smoke checks failed: ${failed.map((r) => `${r.url} -> ${r.last} after ${r.attempts} attempt(s)`).join("; ")}`);
            return `${this.candidate} runs ${request.version} at weight 0, ${healthy} healthy target(s), ${results.length} smoke check(s) passed`;
        });
    }

    /** Shift: every step from `fromIndex`, each baked. */
    async shift(fromIndex: number): Promise<void> {
        const { deps, config, record } = this;
        const steps = config.rollout.steps;
        for (let index = fromIndex; index < steps.length; index++) {
            const percent = steps[index];
            const traffic = { [this.candidate]: percent, [this.stable]: 100 - percent } as Record<Colour, number>;
            const step: StepEntry = { percent, traffic, startedAt: deps.clock.now().toISOString() };
            record.steps.push(step);
            await this.stage(`shift ${percent}%`, async () => {
                this.checkInterrupt();
                await deps.stack.setConfig(trafficPaths(traffic), { path: true });
                const changes = await this.interruptible(deps.stack.up().catch((error) => Promise.reject(new GateFailed(`pulumi up failed at ${percent}%: ${(error as Error).message}`))));
                const problems = listenerOnlyProblems(changes, this.outputs.listenerArn);
                if (problems.length > 0) {
                    step.outcome = "failed";
                    throw new GateFailed(`step ${percent}%: ${problems.join("; ")}`);
                }
                const weightIssues = await verifyWeights(deps.aws, deps.clock, this.outputs, traffic);
                if (weightIssues.length > 0) {
                    step.outcome = "failed";
                    throw new GateFailed(`step ${percent}%: the weights did not take effect: ${weightIssues.join("; ")}`);
                }
                return `listener updated (only resource changed), AWS shows ${this.candidate} ${percent}%`;
            }, step);
            await this.stage(`bake ${percent}%`, () => this.bake(step), step);
            if (record.pauseAt === percent && index < steps.length - 1) {
                step.outcome = "paused";
                record.pause = { afterPercent: percent, reason: `--pause-at ${percent}`, at: deps.clock.now().toISOString() };
                throw new Paused(`paused after ${percent}% as asked (--pause-at ${percent})`);
            }
        }
    }

    /** Polls the candidate's composite alarm until bakeMinutes passed and minRequestsPerStep were served. */
    private async bake(step: StepEntry): Promise<string> {
        const { deps, config } = this;
        const { bakeMinutes, maxBakeMinutes, minRequestsPerStep, pollSeconds } = config.rollout;
        const alarmName = rollbackAlarmName(this.outputs, this.candidate, config.service.name, this.record.stack);
        const from = deps.clock.now();
        step.polls = 0;
        for (;;) {
            this.checkInterrupt();
            const state = await deps.aws.compositeAlarmState(alarmName);
            step.polls += 1;
            step.lastAlarmState = state;
            if (state === "ALARM" || state === undefined) {
                step.outcome = "alarm";
                throw new GateFailed(`${alarmName} is ${state ?? "missing"} at ${step.percent}%`);
            }
            const now = deps.clock.now();
            step.requests = await deps.aws.requestCount({
                loadBalancerArnSuffix: this.outputs.loadBalancerArnSuffix,
                targetGroupArnSuffix: this.outputs[this.candidate].targetGroupArnSuffix,
                from,
                to: now,
            });
            const minutes = (now.getTime() - from.getTime()) / 60_000;
            deps.reporter.progress(`bake ${step.percent}%: ${minutes.toFixed(1)}/${bakeMinutes} min, ${step.requests}/${minRequestsPerStep} requests, alarm ${state}`);
            if (minutes >= bakeMinutes && step.requests >= minRequestsPerStep) {
                step.outcome = "promoted";
                step.finishedAt = now.toISOString();
                return `${minutes.toFixed(1)} min, ${step.requests} requests, ${step.polls} polls, alarm ${state}`;
            }
            if (minutes >= maxBakeMinutes) {
                step.outcome = "low-traffic";
                step.finishedAt = now.toISOString();
                this.record.pause = { afterPercent: step.percent, reason: `only ${step.requests} of ${minRequestsPerStep} requests in ${maxBakeMinutes} min`, at: now.toISOString() };
                throw new Paused(`paused at ${step.percent}%: ${this.record.pause.reason} (rollout.maxBakeMinutes); too little traffic to judge the release`);
            }
            await deps.clock.sleep(pollSeconds * 1000, deps.signal).catch(() => this.checkInterrupt());
        }
    }

    private async waitHealthy(desired: number, waitMinutes: number): Promise<number> {
        const { deps } = this;
        const deadline = deps.clock.now().getTime() + waitMinutes * 60_000;
        for (;;) {
            this.checkInterrupt();
            const health = await deps.aws.targetHealth(this.outputs[this.candidate].targetGroupArn);
            if (health.healthy >= desired) return health.healthy;
            deps.reporter.progress(`prepare: ${health.healthy}/${desired} healthy target(s) in ${this.candidate}`);
            if (deps.clock.now().getTime() >= deadline) {
                throw new GateFailed(`${this.candidate} has ${health.healthy} of ${desired} healthy target(s) after ${waitMinutes} min (${JSON.stringify(health.byState)})`);
            }
            await deps.clock.sleep(deps.healthPollMs ?? 15_000, deps.signal).catch(() => this.checkInterrupt());
        }
    }

    /** Runs one stage, records it with timestamps and prints its line. */
    private async stage(name: string, body: () => Promise<string>, step?: StepEntry): Promise<void> {
        const entry: StageEntry = { name, startedAt: this.deps.clock.now().toISOString() };
        this.record.stages.push(entry);
        this.deps.records.save(this.record);
        try {
            entry.detail = await body();
            entry.outcome = "ok";
            this.deps.reporter.line(name, entry.detail);
        } catch (error) {
            const interrupted = this.deps.signal?.aborted === true;
            entry.outcome = error instanceof Paused ? "paused" : interrupted ? "interrupted" : "failed";
            entry.detail = interrupted ? INTERRUPTED : (error as Error).message;
            if (step && interrupted) step.outcome = "interrupted";
            if (step && !step.outcome) step.outcome = "failed";
            this.deps.reporter.line(name, `${entry.outcome}: ${entry.detail}`);
            throw error;
        } finally {
            entry.finishedAt = this.deps.clock.now().toISOString();
            this.deps.records.save(this.record);
        }
    }

    private finish(): void {
        this.record.finishedAt = this.deps.clock.now().toISOString();
        this.record.durationsSeconds = stageDurations(this.record.stages);
        this.deps.records.save(this.record);
    }

    private checkInterrupt(): void {
        if (this.deps.signal?.aborted) throw new GateFailed(INTERRUPTED);
    }

    /** Lets an engine operation finish (the engine cancels it on the same signal), then honours the interrupt. */
    private async interruptible<T>(operation: Promise<T>): Promise<T> {
        const result = await operation;
        this.checkInterrupt();
        return result;
    }
}
