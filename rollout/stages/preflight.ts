// The rollout's pre-flight: validate, refuse in a freeze or on an unhealthy stable colour, preview the checkpoint and the release, build the record.
import type { Colour, StackConfig } from "../../config";
import { ConfigError, otherColour, stableColour } from "../../config";
import { configPatch, redactSecrets, sectionOf } from "../configPaths";
import { ExitCode } from "../exitCodes";
import { describeWindow, activeFreezeWindow } from "../freeze";
import { cleanPreviewProblems, effectiveSteps, releasePreviewProblems } from "../guards";
import type { StackConfigEntries, StackPort } from "../../ports/ports";
import { DeploymentRecord, recordId, startedBy } from "../records";
import { applyPatch } from "../rollback";
import { DriverOutputs, driverOutputs, rollbackAlarmName, shiftwiseConfig } from "../stackView";
import { DeployRequest, DriverDeps, Refused } from "./context";

export interface Preflight {
    readonly record: DeploymentRecord;
    readonly config: StackConfig;
    readonly releaseConfig: StackConfigEntries;
    readonly summary: string;
}

/** The checkpoint config with the candidate on the new version (and the snapshot label when migrating). */
export function releaseConfig(entries: StackConfigEntries, candidate: Colour, request: Pick<DeployRequest, "version" | "image" | "migrationSnapshot" | "migrationImage">): StackConfigEntries {
    const release: StackConfigEntries = { ...entries };
    const colour = sectionOf(entries, candidate) ?? {};
    release[`shiftwise:${candidate}`] = { value: JSON.stringify({ ...colour, version: request.version, image: request.image }) };
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

export async function runPreflight(deps: DriverDeps, request: DeployRequest): Promise<Preflight> {
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
    const migrating = config.database?.migration !== undefined;
    if (migrating && !deps.tasks) invalid.push("database.migration is set, but no task runner was given to run it (DriverDeps.tasks)");
    if (request.migrationImage !== undefined && !migrating) invalid.push("--migration-image needs shiftwise:database.migration");
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
    const scopeProblems = releasePreviewProblems(releasePreview, { serviceName: config.service.name, candidate, allowSnapshot: (request.migrationSnapshot ?? false) || migrating, allowMigration: migrating });
    if (scopeProblems.length > 0) throw new Refused(scopeProblems);

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
