// The rollout's pre-flight: validate, refuse in a freeze or on an unhealthy stable colour, preview the checkpoint and the release, build the record.
import * as os from "os";
import type { Colour, StackConfig } from "../../config";
import { ConfigError, otherColour, stableColour } from "../../config";
import { redactSecrets, sectionOf } from "../configPaths";
import { ExitCode } from "../exitCodes";
import { describeWindow, activeFreezeWindow } from "../freeze";
import { cleanPreviewProblems, describeSteps, effectiveSteps, releasePreviewProblems } from "../guards";
import type { StackChanges, StackConfigEntries } from "../../ports/ports";
import { DeploymentRecord, recordId, startedBy } from "../records";
import { platformPrerequisiteProblems } from "../prerequisites";
import { DriverOutputs, driverOutputs, expectedWeights, rollbackAlarmName, shiftwiseConfig, weightProblems } from "../stackView";
import { DeployRequest, DriverDeps, Refused } from "./context";
import { maintenanceRequestProblems } from "../maintenanceRequest";

export interface Preflight {
    readonly record: DeploymentRecord;
    readonly config: StackConfig;
    readonly releaseConfig: StackConfigEntries;
    readonly summary: string;
    /** Every check made, in order, for the go/no-go table. */
    readonly checks: readonly PreflightCheck[];
    /** The release preview: what the prepare stage will change. */
    readonly releasePreview: StackChanges;
}

/** One pre-flight check: what was checked, whether it passed, and what it read to decide. */
export interface PreflightCheck {
    readonly check: string;
    readonly ok: boolean;
    readonly evidence: string;
}

/** How pre-flight runs. */
export interface PreflightOptions {
    /**
     * Make every check even after one failed (`deploy --dry-run`): the stack
     * and AWS reads and both previews run whatever the earlier checks said, and
     * `Refused` carries every problem at the end. @default false
     */
    readonly collectAll?: boolean;
    /** Receives each check as it is made (also when pre-flight then refuses). @default none */
    readonly onCheck?: (check: PreflightCheck) => void;
}

/** The message of a pre-flight stopped by SIGINT/SIGTERM. */
export const PREFLIGHT_INTERRUPTED = "interrupted by a signal during pre-flight; nothing was changed";

/**
 * The checkpoint config with the candidate on the new version, named as the
 * release's colour (`shiftwise:releaseColour`, so an even split keeps it the
 * candidate in the plan, the stack outputs and the driver), and the snapshot
 * label when migrating.
 */
export function releaseConfig(entries: StackConfigEntries, candidate: Colour, request: Pick<DeployRequest, "version" | "image" | "migrationSnapshot" | "migrationImage">): StackConfigEntries {
    const release: StackConfigEntries = { ...entries };
    const colour = sectionOf(entries, candidate) ?? {};
    release[`shiftwise:${candidate}`] = { value: JSON.stringify({ ...colour, version: request.version, image: request.image }) };
    release["shiftwise:releaseColour"] = { value: candidate };
    const database = sectionOf(entries, "database") ?? {};
    const migration = database.migration as Record<string, unknown> | undefined;
    if (request.migrationSnapshot || migration) {
        // snapshotColour keeps the config valid after a rollback, which keeps the label (and the snapshot) but reverts the version.
        // The migration image is pinned in the database section, which a rollback keeps, so `rollback --migrate-down`
        // still finds the release's down-migration after the colour went back to the old image.
        release["shiftwise:database"] = {
            value: JSON.stringify({
                ...database,
                preReleaseSnapshot: request.version,
                snapshotColour: candidate,
                ...(migration ? { migration: { ...migration, image: request.migrationImage ?? request.image } } : {}),
            }),
        };
    }
    return release;
}

/**
 * Pre-flight: reads the stack config, the stack's outputs, AWS and two
 * previews, and changes nothing: the release is previewed from a temporary
 * copy of the stack file (`StackPort.preview({ config })`), so a process killed
 * here leaves the stack file as it was. A signal stops it at the next read
 * with `Refused` (exit 3) and the engine cancels a preview in flight.
 */
export async function runPreflight(deps: DriverDeps, request: DeployRequest, options: PreflightOptions = {}): Promise<Preflight> {
    const now = deps.clock.now();
    const stackName = deps.stack.stackName;
    const checks: PreflightCheck[] = [];
    const deferred: string[] = [];
    const note = (check: string, ok: boolean, evidence: string) => {
        const entry = { check, ok, evidence };
        checks.push(entry);
        options.onCheck?.(entry);
    };
    /** Refuses with `found` now, or (collecting) at the end. */
    const gate = (found: readonly string[]) => {
        if (options.collectAll) deferred.push(...found);
        else if (found.length > 0) throw new Refused(found);
    };
    const interrupted = () => {
        if (deps.signal?.aborted) throw new Refused([PREFLIGHT_INTERRUPTED]);
    };
    /** A preview the signal cancels: the engine stops, and pre-flight refuses as interrupted. */
    const preview = async (options: Parameters<typeof deps.stack.preview>[0]) => {
        try {
            return await deps.stack.preview({ ...options, signal: deps.signal });
        } finally {
            interrupted();
        }
    };
    const entries = await deps.stack.getAllConfig();
    interrupted();
    let config: StackConfig;
    try {
        config = shiftwiseConfig(entries);
    } catch (error) {
        if (error instanceof ConfigError) {
            note("stack config is valid", false, error.problems.join("; "));
            throw new Refused(error.problems, ExitCode.invalid);
        }
        throw error;
    }
    note("stack config is valid", true, `${Object.keys(entries).length} keys`);
    const stable = stableColour(config.traffic, config.releaseColour);
    const candidate = otherColour(stable);
    const problems: string[] = [];
    const invalid: string[] = [];
    if (request.hotfix !== undefined && request.hotfix.trim() === "") invalid.push("--hotfix needs a reason");
    if (request.pauseAt !== undefined && !config.rollout.steps.includes(request.pauseAt)) {
        invalid.push(`--pause-at ${request.pauseAt} is not one of the steps ${config.rollout.steps.join(", ")}`);
    }
    if (request.migrationSnapshot && !config.database) invalid.push("--migration-snapshot needs a database: shiftwise:database is not set");
    const migrating = config.database?.migration !== undefined;
    if (migrating && !deps.tasks) invalid.push("database.migration is set, but no task runner was given to run it (DriverDeps.tasks)");
    if (migrating && !deps.database) invalid.push("database.migration is set, but no RDS reader was given to check the snapshot and the database before it (DriverDeps.database)");
    if (request.migrationImage !== undefined && !migrating) invalid.push("--migration-image needs shiftwise:database.migration");
    invalid.push(...maintenanceRequestProblems(request, migrating));
    const release = releaseConfig(entries, candidate, request);
    try {
        shiftwiseConfig(release);
    } catch (error) {
        if (!(error instanceof ConfigError)) throw error;
        invalid.push(...error.problems.map((problem) => `the release config is invalid: ${problem}`));
    }
    note("request and release config are valid", invalid.length === 0, invalid.length === 0 ? `${candidate} ${config[candidate].version} -> ${request.version} (${request.image})` : invalid.join("; "));
    if (invalid.length > 0) throw new Refused(invalid, ExitCode.invalid);

    if (config.maintenance.enabled) {
        problems.push(
            request.maintenance === undefined
                ? `maintenance mode is on (${config.maintenance.reason}): the listener forwards nothing, so no step could be judged; turn it off with \`shiftwise maintenance off --stack ${stackName}\` first`
                : `maintenance mode is already on (${config.maintenance.reason}): deploy --maintenance puts the page up itself after the snapshot and takes it down after the cutover, so it starts from a forwarding listener; turn it off with \`shiftwise maintenance off --stack ${stackName}\` first`,
        );
    }
    if (request.maintenance !== undefined) {
        note("maintenance window", !config.maintenance.enabled, `the page (${request.maintenance.trim()}) goes up after the snapshot and before the migration; no stable soak; ${candidate} verified through the test listener, then 100% in one step and the page comes down; a failure from the migration on keeps the page up`);
    }
    const window = activeFreezeWindow(config.rollout.freezeWindows, now);
    if (window && request.hotfix === undefined) problems.push(`inside the freeze window ${describeWindow(window)}; pass --hotfix "<reason>" to deploy anyway`);
    note("outside freeze windows", !window || request.hotfix !== undefined, window ? `${describeWindow(window)} at ${now.toISOString()}${request.hotfix !== undefined ? `; --hotfix: ${request.hotfix}` : ""}` : `${now.toISOString()} is in none of ${config.rollout.freezeWindows.length} window(s)`);
    if (config.traffic[candidate] !== 0) {
        problems.push(`the candidate colour ${candidate} carries ${config.traffic[candidate]}% of traffic; a deployment starts from 100/0: finish the last one (\`shiftwise resume\`) or move traffic back (\`shiftwise rollback\`)`);
    }
    note("traffic starts from 100/0", config.traffic[candidate] === 0, `shiftwise:traffic blue ${config.traffic.blue}%, green ${config.traffic.green}%`);
    const unfinished = deps.records.unfinished();
    if (unfinished) problems.push(`deployment ${unfinished.id} (${unfinished.version}) is ${unfinished.status}: \`shiftwise resume\` or \`shiftwise rollback\` it first`);
    note("no unfinished deployment", !unfinished, unfinished ? `${unfinished.id} is ${unfinished.status}` : `no in-progress, paused or rollback-failed record in ${deps.records.dir}`);
    const already = config[candidate].version === request.version && config[candidate].image === request.image;
    if (already) problems.push(`${candidate} already runs ${request.version} (${request.image})`);
    note("the release is new", !already, `${candidate} runs ${config[candidate].version} (${config[candidate].image})`);

    const rawOutputs = await deps.stack.outputs();
    interrupted();
    let outputs: DriverOutputs;
    try {
        outputs = driverOutputs(rawOutputs);
    } catch (error) {
        note("stack outputs", false, (error as Error).message);
        throw new Refused([...deferred, ...problems, (error as Error).message]);
    }
    const stableAlarm = rollbackAlarmName(outputs, stable, config.service.name, stackName);
    const candidateAlarm = rollbackAlarmName(outputs, candidate, config.service.name, stackName);
    const stableState = await deps.aws.compositeAlarmState(stableAlarm);
    if (stableState !== "OK") problems.push(`the stable colour's composite alarm ${stableAlarm} is ${stableState ?? "missing"}, not OK`);
    note("stable colour's alarm is OK", stableState === "OK", `${stableAlarm}: ${stableState ?? "missing"}`);
    const candidateState = await deps.aws.compositeAlarmState(candidateAlarm);
    if (candidateState === undefined) problems.push(`the candidate's composite alarm ${candidateAlarm} does not exist, so the release could not be judged`);
    note("candidate's alarm exists", candidateState !== undefined, `${candidateAlarm}: ${candidateState ?? "missing"}`);
    // The traffic check above read the config; the listener in AWS is what serves. A console move (the candidate given
    // traffic by hand) would otherwise have the prepare stage replace a colour that takes traffic.
    let drift: string[];
    try {
        drift = weightProblems(await deps.aws.listenerWeights(outputs.listenerArn), expectedWeights(outputs, config.traffic));
        if (drift.length > 0) problems.push(`the listener in AWS does not show shiftwise:traffic (changed by hand?): ${drift.join("; ")}; decide which is right and make them agree first (\`pulumi up\` restores shiftwise:traffic; or set shiftwise:traffic to what AWS shows)`);
    } catch (error) {
        // Maintenance mode (a fixed response) or a listener deleted by hand: nothing a release could shift.
        drift = [`cannot read the listener's weights in AWS: ${(error as Error).message}`];
        problems.push(drift[0]);
    }
    note("the listener in AWS shows shiftwise:traffic", drift.length === 0, drift.length === 0 ? `blue ${config.traffic.blue}%, green ${config.traffic.green}% on ${outputs.listenerArn}` : drift.join("; "));
    const health = await deps.aws.targetHealth(outputs[stable].targetGroupArn);
    interrupted();
    if (health.healthy < config[stable].desiredCount) {
        problems.push(`the stable colour ${stable} has ${health.healthy} healthy target(s), fewer than its desiredCount ${config[stable].desiredCount}`);
    }
    note("stable colour is healthy", health.healthy >= config[stable].desiredCount, `${stable}: ${health.healthy}/${health.total} healthy, desiredCount ${config[stable].desiredCount}`);
    const prerequisiteProblems = await platformPrerequisiteProblems(config, deps.aws);
    problems.push(...prerequisiteProblems);
    if (config.service.platform === "kubernetes") note("AWS Load Balancer Controller installed", prerequisiteProblems.length === 0, prerequisiteProblems.join("; ") || "targetgroupbindings.elbv2.k8s.aws served");
    gate(problems);

    // The checkpoint preview proves the rollback path: restoring this config is a no-op for the engine.
    const checkpointPreview = await preview({});
    const checkpointProblems = cleanPreviewProblems(checkpointPreview);
    note("checkpoint preview is clean (the rollback path)", checkpointProblems.length === 0, checkpointProblems.length === 0 ? "pulumi preview of the current config: no changes" : checkpointProblems.join("; "));
    gate(checkpointProblems);
    // The release is previewed from a copy of the stack file: pre-flight never writes the stack's config.
    const releasePreview = await preview({ config: release });
    const scopeProblems = releasePreviewProblems(releasePreview, { serviceName: config.service.name, candidate, allowSnapshot: (request.migrationSnapshot ?? false) || migrating, allowMigration: migrating });
    const releaseSteps = effectiveSteps(releasePreview);
    note(`release preview changes only ${candidate}${request.migrationSnapshot || migrating ? " and the snapshot" : ""}${migrating ? " and the migration task" : ""}`, scopeProblems.length === 0, scopeProblems.length === 0 ? `${releaseSteps.length} change(s): ${describeSteps(releaseSteps)}` : scopeProblems.join("; "));
    gate(scopeProblems);
    if (deferred.length > 0) throw new Refused(deferred);

    // Recorded whenever given: a hotfix may also walk into a freeze window that begins during the release.
    const hotfix = request.hotfix !== undefined ? { reason: request.hotfix, freezeWindow: window ? describeWindow(window) : "none when it started" } : undefined;
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
        ...(request.migrationSnapshot || migrating ? { migrationSnapshot: request.version } : {}),
        ...(request.pauseAt !== undefined ? { pauseAt: request.pauseAt } : {}),
        ...(request.maintenance !== undefined ? { maintenance: { reason: request.maintenance.trim() } } : {}),
        // Kept from the start, so a resume after a crash before the smoke checks probes the same test listener.
        ...(request.smokeBaseUrl ? { probeBaseUrl: request.smokeBaseUrl } : {}),
        startedAt: now.toISOString(),
        startedBy: startedBy(deps.env ?? {}),
        runner: { host: os.hostname(), pid: process.pid },
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
    const shifting =
        request.maintenance === undefined
            ? `then steps ${config.rollout.steps.join(", ")}% (bake ${config.rollout.bakeMinutes} min, >= ${config.rollout.minRequestsPerStep} requests each)`
            : `behind the maintenance page (${request.maintenance.trim()}) from before the migration until ${candidate} takes 100% in one step (bake ${config.rollout.bakeMinutes} min, >= ${config.rollout.minRequestsPerStep} requests)`;
    const summary = `${stackName}: ${candidate} ${config[candidate].version} -> ${request.version} at weight 0, ${shifting}; the release changes ${changed} resource(s) of ${candidate}${hotfix ? `; HOTFIX during ${hotfix.freezeWindow}: ${hotfix.reason}` : ""}`;
    deps.reporter.line("pre-flight", `ok: ${summary}`);
    return { record, config, releaseConfig: release, summary, checks, releasePreview };
}
