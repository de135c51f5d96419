// Tests of the GitHub workflows users copy: exact commits, emergency rollbacks, OIDC, pinned CLI, no script injection.
import * as assert from "assert";
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import YAML from "yaml";

const WORKFLOWS = path.resolve(__dirname, "..", ".github", "workflows");

type Job = Record<string, any>;
type Workflow = { on: Record<string, any>; permissions?: unknown; jobs: Record<string, Job>; env?: Record<string, string> };

function workflow(file: string): Workflow {
    return YAML.parse(fs.readFileSync(path.join(WORKFLOWS, file), "utf8")) as Workflow;
}

function allWorkflows(): [string, Workflow][] {
    return fs.readdirSync(WORKFLOWS).filter((file) => file.endsWith(".yml")).map((file) => [file, workflow(file)]);
}

/** Every step of every job that runs steps. */
function steps(file: string): Job[] {
    return Object.values(workflow(file).jobs).flatMap((job) => (job.steps ?? []) as Job[]);
}

describe("GitHub workflows", function () {
    it("give no permissions at the top and name each job's own", function () {
        for (const [file, flow] of allWorkflows()) {
            assert.deepStrictEqual(flow.permissions, {}, `${file}: top-level permissions`);
            for (const [name, job] of Object.entries(flow.jobs)) assert.ok(job.permissions, `${file}: job ${name} has no permissions`);
        }
    });

    it("set timeout-minutes on every job that runs steps, and pass one to every reusable call", function () {
        for (const [file, flow] of allWorkflows()) {
            for (const [name, job] of Object.entries(flow.jobs)) {
                if (job.uses) assert.ok(job.with?.["timeout-minutes"], `${file}: ${name} passes no timeout-minutes`);
                else assert.ok(job["timeout-minutes"], `${file}: ${name} has no timeout-minutes`);
            }
        }
    });

    it("never splice inputs, variables or event text into a run script (script injection)", function () {
        for (const [file] of allWorkflows()) {
            for (const step of steps(file)) {
                if (typeof step.run !== "string") continue;
                assert.doesNotMatch(step.run, /\$\{\{/, `${file}: step "${step.name ?? step.run.split("\n")[0]}" expands an expression inside its script; pass it through env`);
            }
        }
    });

    it("deploy staging and production from the pushed commit, after the tests", function () {
        const deploy = workflow("deploy.yml");
        assert.deepStrictEqual(deploy.jobs.staging.needs, "test");
        assert.deepStrictEqual(deploy.jobs.production.needs, "staging");
        for (const stack of ["staging", "production"]) {
            assert.strictEqual(deploy.jobs[stack].with.ref, "${{ github.sha }}", `${stack} must release the pushed commit, not main at approval time`);
            assert.strictEqual(deploy.jobs[stack].with.environment, stack);
        }
        const checkout = steps("shiftwise.yml").find((step) => String(step.uses).startsWith("actions/checkout"));
        assert.strictEqual(checkout?.with?.ref, "${{ inputs.ref }}");
        const run = steps("shiftwise.yml").find((step) => typeof step.run === "string" && step.run.includes("shiftwise deploy"));
        assert.match(run!.run, /version="\$\(git rev-parse --short=12 HEAD\)"/, "the version comes from the checked-out commit");
        assert.ok(deploy.on.push["paths-ignore"]?.includes("**.md"), "a docs-only push does not deploy");
    });

    it("run rollback, abort and pause without reviewers and outside any concurrency group", function () {
        const operate = workflow("operate.yml");
        const emergency = operate.jobs.emergency;
        assert.strictEqual(emergency.concurrency, undefined, "a queued rollback must never be dropped by a concurrency group");
        assert.strictEqual(emergency.with.environment, "${{ inputs.stack }}-rollback");
        assert.match(String(emergency.if), /"rollback","abort","pause"/);
        const trust = JSON.parse(fs.readFileSync(path.resolve(WORKFLOWS, "..", "aws", "deploy-role-trust-policy.json"), "utf8"));
        const subjects: string[] = trust.Statement[0].Condition.StringEquals["token.actions.githubusercontent.com:sub"];
        assert.ok(subjects.includes("repo:OWNER/shiftwise:environment:production-rollback"), "the deploy role trusts the rollback environment");
        assert.ok(!subjects.some((subject) => subject.endsWith(":*")), "no wildcard subject");
    });

    it("offer clear-trip, behind the stack's reviewers, with its reason passed through env", function () {
        const operate = workflow("operate.yml");
        assert.ok(operate.on.workflow_dispatch.inputs.command.options.includes("clear-trip"));
        assert.match(String(operate.jobs.forward.if), /"clear-trip"/);
        assert.doesNotMatch(String(operate.jobs.emergency.if), /clear-trip/, "clearing a trip is not an emergency action without reviewers");
        assert.strictEqual(operate.jobs.forward.with.environment, "${{ inputs.stack }}");
        const run = steps("shiftwise.yml").find((step) => typeof step.run === "string" && step.run.includes("shiftwise clear-trip"));
        assert.match(run!.run, /npx shiftwise clear-trip --stack "\$PULUMI_STACK" --reason "\$REASON"/);
    });

    it("reach Pulumi through OIDC with a pinned CLI that matches the SDK, on org/stack names", function () {
        const lock = JSON.parse(fs.readFileSync(path.resolve(WORKFLOWS, "..", "..", "package-lock.json"), "utf8"));
        const sdk = lock.packages["node_modules/@pulumi/pulumi"].version;
        for (const file of ["shiftwise.yml", "pull-request.yml"]) {
            const flow = workflow(file);
            assert.strictEqual(flow.env?.PULUMI_VERSION, sdk, `${file}: the pinned Pulumi CLI follows @pulumi/pulumi ${sdk}`);
            const text = fs.readFileSync(path.join(WORKFLOWS, file), "utf8");
            assert.doesNotMatch(text, /PULUMI_ACCESS_TOKEN/, `${file}: no long-lived Pulumi token`);
            assert.ok(steps(file).some((step) => String(step.uses).startsWith("pulumi/auth-actions@")), `${file}: pulumi/auth-actions`);
            assert.match(text, /\$\{\{ vars\.PULUMI_ORG \}\}\/\$\{\{ (inputs|matrix)\.stack \}\}/, `${file}: org/stack`);
        }
    });
});

/** Each `npx shiftwise <command>` a run script calls, with the flags it passes (arrays such as `"${common[@]}"` expanded, `"$COMMAND"` read from the case label). */
function shiftwiseCalls(script: string): { command: string; flags: string[] }[] {
    const arrays = new Map([...script.matchAll(/^\s*(\w+)=\((.*)\)/gm)].map((match) => [match[1], match[2]]));
    const calls: { command: string; flags: string[] }[] = [];
    let labels: string[] = [];
    for (const line of script.split("\n")) {
        const label = /^\s*([a-z|-]+)\)\s*$/.exec(line);
        if (label) labels = label[1].split("|");
        const call = /npx shiftwise ("\$COMMAND"|[a-z-]+)(.*)/.exec(line);
        if (!call) continue;
        const expanded = call[2].replace(/"\$\{(\w+)\[@\]\}"/g, (_, name: string) => arrays.get(name) ?? "");
        const flags = [...expanded.matchAll(/(?:^|\s)(--[a-z-]+)/g)].map((match) => match[1]);
        for (const command of call[1] === '"$COMMAND"' ? labels : [call[1]]) calls.push({ command, flags });
    }
    return calls;
}

describe("the shiftwise calls in the workflows", function () {
    it("pass only flags that the command defines (the bin's own --help, run as a child process)", function () {
        const calls = allWorkflows().flatMap(([file]) => steps(file).filter((step) => typeof step.run === "string").flatMap((step) => shiftwiseCalls(step.run as string)));
        assert.deepStrictEqual([...new Set(calls.map((call) => call.command))].sort(), ["abort", "clear-trip", "deploy", "pause", "promote", "resume", "rollback", "status"]);
        const unknown = calls.flatMap(({ command, flags }) => {
            const help = execFileSync(process.execPath, [path.resolve(__dirname, "..", "bin", "shiftwise.js"), command, "--help"], { encoding: "utf8" });
            return flags.filter((flag) => !new RegExp(`(^|[ ,])${flag}( |,|$)`, "m").test(help)).map((flag) => `${command} ${flag}`);
        });
        assert.deepStrictEqual(unknown, []);
    });
});

describe("fully qualified stack names (org/stack), as the workflows pass them", function () {
    it("read and record under the short name, as Pulumi names the stack file", function () {
        // Imported here so the workflow tests above stay free of the program's modules.
        const { shortStackName, stackFilePath } = require("../evaluation/stackFile") as typeof import("../evaluation/stackFile");
        const { RecordStore } = require("../rollout/records") as typeof import("../rollout/records");
        assert.strictEqual(shortStackName("acme/production"), "production");
        assert.strictEqual(shortStackName("acme/shop/production"), "production");
        assert.strictEqual(shortStackName("production"), "production");
        assert.strictEqual(stackFilePath("/p", "acme/staging"), path.join("/p", "Pulumi.staging.yaml"));
        assert.strictEqual(new RecordStore("/records", "acme/staging").stack, "staging");
    });
});
