// Tests of the `shiftwise` executable run as users run it, a separate process: every failure class exits cleanly with its code, one JSON document with --json, traces only with --debug.
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { ExitCode } from "../rollout/exitCodes";
import { PROJECT_DIR, editedStackFile, writtenStackFile } from "./harness";
import { BinResult as Result, STACK_TRACE, fakePulumiPath, shiftwise, tempDir } from "./fakes/binProcess";

function assertCleanFailure(result: Result, code: number, message: RegExp): void {
    assert.strictEqual(result.code, code, `exit code; stderr: ${result.stderr}`);
    assert.match(result.stderr, message);
    assert.doesNotMatch(result.stderr, STACK_TRACE, "no stack trace without --debug");
}

function singleJson(result: Result): Record<string, any> {
    // JSON.parse fails on anything but exactly one document.
    return JSON.parse(result.stdout);
}

describe("shiftwise as a process: invalid stack files", function () {
    this.timeout(120_000);
    const cases: { name: string; file: () => string; message: RegExp; problems?: RegExp[] }[] = [
        {
            name: "traffic that does not sum to 100",
            file: () => editedStackFile((d) => (d.config["shiftwise:traffic"] = { blue: 70, green: 20 })),
            message: /^Invalid shiftwise stack config \(1 problem\):\n {2}- shiftwise:traffic: blue \(70\) \+ green \(20\) = 90; weights must sum to 100\n$/,
        },
        {
            name: "a typo'd key",
            file: () => editedStackFile((d) => (d.config["shiftwise:rolout"] = { steps: [100] })),
            message: /- shiftwise:rolout: is not a shiftwise config key; remove it or fix its spelling/,
        },
        {
            name: "a wrong type",
            file: () =>
                editedStackFile((d) => {
                    d.config["shiftwise:blue"].desiredCount = "three";
                }),
            message: /- shiftwise:blue\.desiredCount = "three": /,
        },
        {
            name: "a missing aws:region",
            file: () => editedStackFile((d) => delete d.config["aws:region"]),
            message: /- aws:region is missing: .*pulumi config set aws:region/,
        },
        { name: "an empty file", file: () => writtenStackFile(""), message: /^Invalid shiftwise stack config \(7 problems\):\n {2}- shiftwise:service is missing/ },
        { name: "unparsable YAML", file: () => writtenStackFile("config:\n  shiftwise:traffic: {blue: 90, green: 10\n"), message: /^shiftwise: .*Pulumi\.edited\.yaml: is not valid YAML: / },
        { name: "a YAML list instead of a map", file: () => writtenStackFile("- config\n"), message: /^shiftwise: .*Pulumi\.edited\.yaml: must be a YAML map with a "config" key\n$/ },
        { name: "a missing file", file: () => path.join(tempDir(), "Pulumi.absent.yaml"), message: /^shiftwise: .*Pulumi\.absent\.yaml does not exist; create it with `pulumi stack init` or pass --config-file\n$/ },
    ];
    const results = new Map<string, Result>();

    before(async () => {
        // Two at a time: each is a whole CLI start on a shared 2-core machine.
        for (let i = 0; i < cases.length; i += 2) {
            await Promise.all(
                cases.slice(i, i + 2).map(async (c) => {
                    const file = c.file();
                    const args = ["--cwd", PROJECT_DIR, "plan", "--stack", "staging", "--config-file", file];
                    results.set(c.name, await shiftwise([...args, "--json"]));
                }),
            );
        }
    });

    for (const c of cases) {
        it(`${c.name}: the problem list on stderr, exit 2, no stack trace; --json prints one document`, () => {
            const result = results.get(c.name)!;
            assertCleanFailure(result, ExitCode.invalid, c.message);
            const document = singleJson(result);
            assert.strictEqual(document.exitCode, ExitCode.invalid);
            assert.strictEqual(`${/^Invalid /.test(document.message) ? "" : "shiftwise: "}${document.message}\n`, result.stderr, "the same message, printed once");
        });
    }
});

describe("shiftwise as a process: flags, Pulumi and the project directory", function () {
    this.timeout(120_000);

    it("rejects bad deploy flags at once (exit 2) without running pulumi", async () => {
        const log = path.join(tempDir(), "pulumi-calls.log");
        const env = fakePulumiPath(log);
        const deploy = ["--cwd", PROJECT_DIR, "deploy", "--stack", "production", "--yes"];
        const [pauseAt, latest, emptyVersion] = await Promise.all([
            shiftwise([...deploy, "--version", "v1.6.0", "--image", "shop:v1.6.0", "--pause-at", "7"], { env }),
            shiftwise([...deploy, "--version", "v1.6.0", "--image", "shop:latest", "--json"], { env }),
            shiftwise([...deploy, "--version", "", "--image", "shop:v1.6.0"], { env }),
        ]);
        assertCleanFailure(pauseAt, ExitCode.invalid, /--pause-at 7 is not one of the steps 5, 25, 50, 100 \(shiftwise:rollout\.steps in Pulumi\.production\.yaml\)/);
        assertCleanFailure(latest, ExitCode.invalid, /option '--image <ref>' argument 'shop:latest' is invalid\. "shop:latest" must not use :latest/);
        assert.strictEqual(singleJson(latest).exitCode, ExitCode.invalid);
        assertCleanFailure(emptyVersion, ExitCode.invalid, /option '--version <version>' argument '' is invalid\. "" must be a non-empty version label/);
        assert.ok(!fs.existsSync(log), "pulumi was never run");
    });

    it("says the pulumi CLI is missing (exit 1) without a stack trace, and shows the trace with --debug", async () => {
        const env = { PATH: path.dirname(process.execPath) };
        const [plain, debug, json] = await Promise.all([
            shiftwise(["--cwd", PROJECT_DIR, "status", "--stack", "production"], { env }),
            shiftwise(["--cwd", PROJECT_DIR, "status", "--stack", "production", "--debug"], { env }),
            shiftwise(["--cwd", PROJECT_DIR, "status", "--stack", "production", "--json"], { env: { ...env, SHIFTWISE_DEBUG: "1" } }),
        ]);
        assertCleanFailure(plain, ExitCode.error, /^shiftwise: the pulumi CLI is not on PATH; install it/);
        assert.match(debug.stderr, STACK_TRACE);
        assert.strictEqual(debug.code, ExitCode.error);
        assert.match(json.stderr, STACK_TRACE, "SHIFTWISE_DEBUG shows the trace too");
        assert.strictEqual(singleJson(json).message.split("\n")[0], "the pulumi CLI is not on PATH; install it (https://www.pulumi.com/docs/install/) and log in to your backend (`pulumi login`)");
    });

    it("plan --debug shows where the program raised an invalid config; without it, the problem list alone", async () => {
        const file = editedStackFile((d) => (d.config["shiftwise:traffic"] = { blue: 70, green: 20 }));
        const args = ["--cwd", PROJECT_DIR, "plan", "--stack", "staging", "--config-file", file];
        const [plain, debug] = await Promise.all([shiftwise(args), shiftwise([...args, "--debug"])]);
        assertCleanFailure(plain, ExitCode.invalid, /^Invalid shiftwise stack config \(1 problem\)/);
        assert.strictEqual(debug.code, ExitCode.invalid);
        assert.match(debug.stderr, /\nConfigError: Invalid shiftwise stack config[^\n]*\n(.*\n)* {4}at .*config[/\\]index\.ts/);
    });

    it("reports a logged-out backend, a missing stack and a stack without shiftwise outputs in one sentence each", async () => {
        const env = fakePulumiPath(path.join(tempDir(), "calls.log"));
        const status = ["--cwd", PROJECT_DIR, "status", "--stack", "production"];
        const [loggedOut, noStack, noOutputs] = await Promise.all([
            shiftwise(status, { env: { ...env, FAKE_PULUMI_MODE: "logged-out" } }),
            shiftwise([...status, "--json"], { env: { ...env, FAKE_PULUMI_MODE: "no-stack" } }),
            shiftwise(status, { env: { ...env, FAKE_PULUMI_MODE: "no-outputs" } }),
        ]);
        assertCleanFailure(loggedOut, ExitCode.error, /^shiftwise: the pulumi CLI is not logged in: PULUMI_ACCESS_TOKEN must be set .*; run `pulumi login` or set PULUMI_ACCESS_TOKEN\n$/);
        assertCleanFailure(noStack, ExitCode.invalid, /^shiftwise: no stack named production in this project's backend; .*`pulumi stack init production`\n$/);
        assert.strictEqual(singleJson(noStack).exitCode, ExitCode.invalid);
        assertCleanFailure(noOutputs, ExitCode.error, /^shiftwise: the stack outputs lack listenerArn, .*run `pulumi up` once/);
    });

    it("works on the project in the current directory or --cwd, with relative paths from the current directory", async () => {
        const here = tempDir();
        fs.copyFileSync(path.join(PROJECT_DIR, "Pulumi.staging.yaml"), path.join(here, "next.yaml"));
        const [outside, withCwd, inProject] = await Promise.all([
            shiftwise(["plan", "--stack", "staging"], { cwd: here }),
            shiftwise(["--cwd", PROJECT_DIR, "plan", "--stack", "staging", "--config-file", "next.yaml", "--json"], { cwd: here }),
            shiftwise(["plan", "--stack", "staging", "--json"], { cwd: PROJECT_DIR }),
        ]);
        assertCleanFailure(outside, ExitCode.invalid, /^shiftwise: the current directory \(.+\) has no Pulumi\.yaml; run shiftwise in your Pulumi project's directory or pass --cwd <dir>\n$/);
        assert.strictEqual(withCwd.code, ExitCode.success, withCwd.stderr);
        assert.strictEqual(singleJson(withCwd).file, path.join(fs.realpathSync(here), "next.yaml"));
        assert.strictEqual(singleJson(inProject).file, path.join(PROJECT_DIR, "Pulumi.staging.yaml"));
    });

    it("prints its version, and help marks required options, shows examples and lists the exit codes", async () => {
        const [version, help, deployHelp, usage] = await Promise.all([
            shiftwise(["--version"]),
            shiftwise(["--help"]),
            shiftwise(["deploy", "--help"]),
            shiftwise(["plan", "--json"]),
        ]);
        const manifest = JSON.parse(fs.readFileSync(path.join(PROJECT_DIR, "package.json"), "utf8"));
        assert.strictEqual(version.stdout, `${manifest.version}\n`);
        assert.match(help.stdout, /--cwd <dir>/);
        assert.match(help.stdout, /Exit codes:\n {2}0 {2}success[\s\S]* 6 {2}rollback failed/);
        assert.match(deployHelp.stdout, /--version <version> +\(required\) release label/);
        assert.match(deployHelp.stdout, /Example:\n {2}shiftwise deploy --stack production --version v1\.6\.0/);
        assert.match(deployHelp.stdout, /Exit codes:/);
        assert.strictEqual(usage.code, ExitCode.invalid);
        assert.deepStrictEqual(singleJson(usage), { exitCode: ExitCode.invalid, message: "required option '-s, --stack <name>' not specified", problems: [] });
    });
});
