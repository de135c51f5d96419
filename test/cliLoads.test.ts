// What the bin loads for a command that needs no stack: --version, help and flag errors load neither Pulumi, @pulumi/aws, the plan, the mock runtime nor an AWS SDK client; ledger commands with --table load the DynamoDB client but not Pulumi.
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { ExitCode } from "../rollout/exitCodes";
import { PROJECT_DIR } from "./harness";
import { BinResult, shiftwise, tempDir } from "./fakes/binProcess";

const PRELOAD = path.join(__dirname, "fakes", "loadedModules.js");

/** Runs the bin with the preload that records the files it loads; returns its result and those files, relative to the project. */
async function loadedBy(args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<{ result: BinResult; loaded: string[] }> {
    const list = path.join(tempDir(), "loaded.txt");
    const nodeOptions = [process.env.NODE_OPTIONS, `--require ${JSON.stringify(PRELOAD)}`].filter(Boolean).join(" ");
    const result = await shiftwise(args, { cwd: PROJECT_DIR, env: { ...env, NODE_OPTIONS: nodeOptions, SHIFTWISE_LOADED_MODULES: list } });
    assert.ok(fs.existsSync(list), `the preload wrote no list; stderr: ${result.stderr}`);
    return { result, loaded: fs.readFileSync(list, "utf8").split("\n").filter(Boolean).map((file) => path.relative(PROJECT_DIR, file)) };
}

/** Heavy modules a command that needs no stack must not load, each with the test that finds it in the list. */
const HEAVY: readonly { what: string; test: (file: string) => boolean }[] = [
    // The Automation API's error classes (automation/errors.js, which requires nothing) are allowed: failures.ts classifies with them.
    // So is the cache entry of typescript-shim.js, which is bin/defer-typescript.js's stand-in (no file of Pulumi's is read for it).
    {
        what: "@pulumi/pulumi",
        test: (file) => inPackage(file, "@pulumi/pulumi") && !file.endsWith("node_modules/@pulumi/pulumi/automation/errors.js") && !file.endsWith("node_modules/@pulumi/pulumi/typescript-shim.js"),
    },
    { what: "@pulumi/aws", test: (file) => inPackage(file, "@pulumi/aws") },
    { what: "@pulumi/kubernetes", test: (file) => inPackage(file, "@pulumi/kubernetes") },
    { what: "plan/", test: (file) => file.startsWith("plan/") },
    { what: "evaluation/mockRuntime.ts", test: (file) => file === "evaluation/mockRuntime.ts" },
    { what: "the program (index.ts, components/)", test: (file) => file === "index.ts" || file.startsWith("components/") },
];

/**
 * True for a file of `name` in any node_modules: the project's own, or where a
 * symlinked node_modules (a Stryker sandbox's) resolves to.
 */
function inPackage(file: string, name: string): boolean {
    return file.split(path.sep).join("/").includes(`node_modules/${name}/`);
}

const SDK_CLIENT = (file: string) => /(^|\/)node_modules\/@aws-sdk\/client-/.test(file.split(path.sep).join("/"));

function assertNoneOf(loaded: readonly string[], forbidden: readonly { what: string; test: (file: string) => boolean }[]): void {
    for (const { what, test } of forbidden) {
        const found = loaded.filter(test);
        assert.deepStrictEqual(found.slice(0, 3), [], `loaded ${what} (${found.length} files)`);
    }
}

describe("shiftwise as a process: what a command loads", function () {
    this.timeout(60_000);
    const image = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/shop:v1.6.0";
    const light: { name: string; args: string[]; code: number; output: RegExp }[] = [
        { name: "--version", args: ["--version"], code: ExitCode.success, output: /^\d+\.\d+\.\d+\n$/ },
        { name: "--help", args: ["--help"], code: ExitCode.success, output: /Usage: shiftwise/ },
        { name: "deploy --help", args: ["deploy", "--help"], code: ExitCode.success, output: /Usage: shiftwise deploy/ },
        { name: "a missing required option", args: ["deploy", "--stack", "staging", "--pause-at", "7"], code: ExitCode.invalid, output: /required option '--version <version>' not specified/ },
        { name: "a --pause-at that is not a percent", args: ["deploy", "--stack", "production", "--version", "v1.6.0", "--image", image, "--pause-at", "0"], code: ExitCode.invalid, output: /--pause-at <percent>' argument '0' is invalid/ },
        {
            name: "a --pause-at that is not one of the stack file's steps",
            args: ["deploy", "--stack", "production", "--yes", "--version", "v1.6.0", "--image", image, "--pause-at", "7"],
            code: ExitCode.invalid,
            output: /--pause-at 7 is not one of the steps 5, 25, 50, 100/,
        },
        { name: "an unpinned --image", args: ["deploy", "--stack", "production", "--yes", "--version", "v1.6.0", "--image", "shop:latest"], code: ExitCode.invalid, output: /must not use :latest/ },
        { name: "an empty --version", args: ["deploy", "--stack", "production", "--yes", "--version", "", "--image", image], code: ExitCode.invalid, output: /must be a non-empty version label/ },
        {
            name: "--maintenance with --pause-at",
            args: ["deploy", "--stack", "production", "--yes", "--version", "v1.6.0", "--image", image, "--maintenance", "--pause-at", "25"],
            code: ExitCode.invalid,
            output: /--pause-at 25 cannot be used with --maintenance/,
        },
        { name: "an unknown option", args: ["rollback", "--stack", "production", "--replace-servingg"], code: ExitCode.invalid, output: /unknown option '--replace-servingg'/ },
        { name: "maintenance on without a reason", args: ["maintenance", "on", "--stack", "production"], code: ExitCode.invalid, output: /--reason "<why>" is required/ },
        { name: "clear-trip without --reason", args: ["clear-trip", "--stack", "production", "--table", "shop-production-releases"], code: ExitCode.invalid, output: /required option '--reason <text>' not specified/ },
        { name: "a bad --colour", args: ["clear-trip", "--stack", "production", "--table", "shop-production-releases", "--reason", "x", "--colour", "purple"], code: ExitCode.invalid, output: /must be blue or green/ },
    ];
    for (const { name, args, code, output } of light) {
        it(`${name} loads neither Pulumi, @pulumi/aws, the plan, the mock runtime nor an AWS SDK client`, async () => {
            const { result, loaded } = await loadedBy(args);
            assert.strictEqual(result.code, code, `exit code; stderr: ${result.stderr}`);
            assert.match(result.stdout + result.stderr, output);
            assert.ok(loaded.includes("cli/main.ts"), "the list holds what the bin loaded");
            assertNoneOf(loaded, [...HEAVY, { what: "an @aws-sdk client", test: SDK_CLIENT }]);
        });
    }

    it("plan of an invalid stack file reports the program's problem list (exit 2) and loads neither Pulumi, @pulumi/aws, the program, the mock runtime nor the rest of plan/", async () => {
        const file = path.join(tempDir(), "Pulumi.edited.yaml");
        const staging = fs.readFileSync(path.join(PROJECT_DIR, "Pulumi.staging.yaml"), "utf8");
        fs.writeFileSync(file, staging.replace(/shiftwise:traffic:[^\n]*\n\s+blue: \d+/, (m) => m.replace(/\d+$/, "70")).replace(/\n  aws:region: [^\n]*/, ""));
        const { result, loaded } = await loadedBy(["plan", "--stack", "staging", "--config-file", file, "--json"]);
        assert.strictEqual(result.code, ExitCode.invalid, `exit code; stderr: ${result.stderr}`);
        const problems = (JSON.parse(result.stdout) as { problems: string[] }).problems;
        assert.deepStrictEqual(problems, [
            "shiftwise:traffic: blue (70) + green (10) = 80; weights must sum to 100",
            "aws:region is missing: shiftwise names regions in alarms and restore commands; run `pulumi config set aws:region eu-west-1`",
        ]);
        assert.ok(loaded.includes("plan/stackFileCheck.ts"), "the check ran");
        const plan = HEAVY.find(({ what }) => what === "plan/")!;
        assertNoneOf(loaded, [...HEAVY.filter((heavy) => heavy !== plan), { what: "plan/ beyond its stack file check", test: (f) => plan.test(f) && f !== "plan/stackFileCheck.ts" }]);
    });

    // Nothing listens on port 9: each command fails on its first AWS request, after loading what it needs.
    const unreachableAws = { AWS_ACCESS_KEY_ID: "test", AWS_SECRET_ACCESS_KEY: "test", AWS_ENDPOINT_URL: "http://127.0.0.1:9", AWS_MAX_ATTEMPTS: "1", AWS_REGION: "eu-west-1" };
    const ledgerOnly: { name: string; args: string[]; message: RegExp }[] = [
        { name: "clear-trip --table", args: ["clear-trip", "--stack", "production", "--table", "shop-production-releases", "--reason", "fixed"], message: /^shiftwise clear-trip: .*ECONNREFUSED/ },
        // Its failure is classified by cli/failures.ts, which must not load the Automation API to do it.
        { name: "status --watch --table", args: ["status", "--stack", "production", "--watch", "--table", "shop-production-releases", "--region", "eu-west-1"], message: /^shiftwise: .*ECONNREFUSED/ },
    ];
    for (const { name, args, message } of ledgerOnly) {
        it(`${name} loads the DynamoDB client, and neither Pulumi, @pulumi/aws nor the plan`, async () => {
            const { result, loaded } = await loadedBy(args, unreachableAws);
            assert.strictEqual(result.code, ExitCode.error, `exit code; stderr: ${result.stderr}`);
            assert.match(result.stderr, message);
            assert.ok(loaded.some((file) => inPackage(file, "@aws-sdk/client-dynamodb")), "the DynamoDB client was loaded");
            assertNoneOf(loaded, HEAVY);
        });
    }
});
