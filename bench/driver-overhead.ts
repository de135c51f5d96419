// Benchmark: the driver's overhead per step and the worst-case exposure.
/**
 * The driver's own overhead per traffic step, with in-memory ports (no Pulumi
 * engine, no AWS, a virtual clock), and the worst-case exposure figures of the
 * committed production config. Prints figures; it is not a test.
 *
 *   npm run bench
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { performance } from "perf_hooks";
import { decodeConfigValue, parseStackConfig, shiftwiseSections } from "../config";
import { deploy } from "../rollout/driver";
import { formatSeconds } from "../plan/exposure";
import type { AwsPort, Clock, StackChanges, StackConfigEntries, StackPort } from "../ports/ports";
import { RecordStore } from "../rollout/records";
import { silentReporter } from "../rollout/reporter";
import { stackExposure } from "../plan/runbook";
import { readStackFile, stackFilePath } from "../evaluation/stackFile";

const ROOT = path.resolve(__dirname, "..");
const LISTENER_ARN = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener/app/shop/1";
const TG = { blue: "arn:tg/shop-blue", green: "arn:tg/shop-green" };

function committedConfig(stack: string): Record<string, string> {
    return readStackFile(stackFilePath(ROOT, stack), "shiftwise").config;
}

/** A stack whose updates take no time: the engine's own cost is not the driver's. */
class InstantStack implements StackPort {
    readonly stackName = "production";
    private values: Record<string, unknown>;
    constructor(config: Record<string, string>) {
        this.values = Object.fromEntries(Object.entries(config).map(([k, v]) => [k, decodeConfigValue(v)]));
    }
    async getAllConfig(): Promise<StackConfigEntries> {
        return Object.fromEntries(Object.entries(this.values).map(([k, v]) => [k, { value: typeof v === "string" ? v : JSON.stringify(v) }]));
    }
    async setConfig(values: Readonly<Record<string, string>>): Promise<void> {
        for (const [pathKey, value] of Object.entries(values)) {
            const [key, ...fields] = pathKey.split(".");
            const section = { ...(this.values[key] as Record<string, unknown>) };
            section[fields[0]] = /^\d+$/.test(value) ? Number(value) : value;
            this.values[key] = section;
        }
    }
    async removeConfig(): Promise<void> {}
    async preview(): Promise<StackChanges> {
        return { steps: [{ op: "same", urn: "urn:pulumi:production::shiftwise::shiftwise:ecs:BlueGreenEnvironment$shiftwise:ecs:ColourService::shop-green", type: "shiftwise:ecs:ColourService", diffs: [] }] };
    }
    private ups = 0;
    async up(): Promise<StackChanges> {
        this.ups += 1;
        if (this.ups === 1) {
            // prepare: the candidate's task definition and service change
            const colourService = "urn:pulumi:production::shiftwise::shiftwise:ecs:BlueGreenEnvironment$shiftwise:ecs:ColourService::shop-green";
            return {
                steps: [
                    { op: "same", urn: colourService, type: "shiftwise:ecs:ColourService", diffs: [] },
                    { op: "replace", urn: "urn:pulumi:production::shiftwise::shiftwise:ecs:ColourService$aws:ecs/taskDefinition:TaskDefinition::shop-green", type: "aws:ecs/taskDefinition:TaskDefinition", diffs: ["containerDefinitions"], parent: colourService },
                ],
            };
        }
        return {
            steps: [
                { op: "update", urn: "urn:pulumi:production::shiftwise::shiftwise:traffic:WeightedListener$aws:lb/listener:Listener::shop", type: "aws:lb/listener:Listener", diffs: ["defaultActions"], arn: LISTENER_ARN },
            ],
        };
    }
    async outputs(): Promise<Record<string, unknown>> {
        const colour = (name: "blue" | "green") => ({ targetGroupArn: TG[name], targetGroupArnSuffix: `targetgroup/shop-${name}/1`, desiredCount: 3 });
        return { listenerArn: LISTENER_ARN, loadBalancerArnSuffix: "app/shop/1", testUrl: "https://shop.example.com:8443", testHeader: "x-shiftwise-colour", blue: colour("blue"), green: colour("green") };
    }

    async secretOutput(): Promise<string | undefined> {
        return undefined;
    }
    async history() {
        return [];
    }
    traffic(): Record<string, number> {
        return this.values["shiftwise:traffic"] as Record<string, number>;
    }
}

async function overheadPerStep(): Promise<{ perStepMs: number; steps: number; polls: number; runs: number }> {
    const base = committedConfig("production");
    base["shiftwise:traffic"] = JSON.stringify({ blue: 100, green: 0 });
    const runs = 50;
    let elapsed = 0;
    let steps = 0;
    let polls = 0;
    for (let run = 0; run < runs; run++) {
        const stack = new InstantStack(base);
        let time = Date.parse("2025-03-04T10:00:00Z");
        const clock: Clock = { now: () => new Date(time), sleep: async (ms) => void (time += ms) };
        const aws: AwsPort = {
            compositeAlarmState: async () => "OK",
            targetHealth: async () => ({ healthy: 3, total: 3, byState: { healthy: 3 } }),
            listenerWeights: async () => ({ [TG.blue]: stack.traffic().blue, [TG.green]: stack.traffic().green }),
            listenerAction: async () => "forward",
            requestCount: async ({ from, to }) => Math.floor((to.getTime() - from.getTime()) / 60_000) * 100,
            customResourceDefinitionExists: async () => true,
        };
        const records = new RecordStore(fs.mkdtempSync(path.join(os.tmpdir(), "shiftwise-bench-")), "production");
        const started = performance.now();
        const outcome = await deploy(
            { stack, aws, clock, records, reporter: silentReporter, fetcher: async () => ({ status: 200 }), healthPollMs: 15_000 },
            { version: "v1.6.0", image: "123456789012.dkr.ecr.eu-west-1.amazonaws.com/shop:v1.6.0" },
        );
        elapsed += performance.now() - started;
        if (outcome.exitCode !== 0) throw new Error(outcome.message);
        steps += outcome.record!.steps.length;
        polls += outcome.record!.steps.reduce((sum, step) => sum + (step.polls ?? 0), 0);
        fs.rmSync(records.baseDir, { recursive: true, force: true });
    }
    return { perStepMs: elapsed / steps, steps: steps / runs, polls: polls / runs, runs };
}

async function main(): Promise<void> {
    const overhead = await overheadPerStep();
    console.log(`driver overhead with in-memory ports: ${overhead.perStepMs.toFixed(2)} ms per step (mean of ${overhead.runs} deployments, ${overhead.steps} steps and ${overhead.polls} alarm polls each, records written to disk after every stage)`);

    const config = parseStackConfig(shiftwiseSections(committedConfig("production")));
    const exposure = stackExposure(config);
    console.log(`production exposure (alarm period 60s, ${config.alarms.datapointsToAlarm} of ${config.alarms.evaluationPeriods} periods, poll ${config.rollout.pollSeconds}s):`);
    console.log(`  steady failure: ${formatSeconds(exposure.steady.total)} from a step's up to the rollback; worst case (intermittent): ${formatSeconds(exposure.worst.total)}`);
    for (const step of exposure.steps) {
        console.log(`  step ${String(step.percent).padStart(3)}%: ${step.percent}% of traffic for up to ${formatSeconds(step.seconds)} = ${step.percentMinutes} percent-minutes`);
    }
}

main().catch((error) => {
    console.error(error);
    process.exitCode = 1;
});
