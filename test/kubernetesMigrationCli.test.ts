// A Kubernetes stack with a migration through the bin as a child process: plan shows the Job stage (before: exit 2, refused), and deploy gets the Kubernetes task runner.
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { stringify } from "yaml";
import { readStackFile } from "../evaluation/stackFile";
import { ExitCode } from "../rollout/exitCodes";
import { EXAMPLE_STACKS, PROJECT_DIR } from "./harness";
import { fakePulumiStack, pulumiCalls, shiftwise, tempDir } from "./fakes/binProcess";
import { RELEASE, productionConfig } from "./fakes/rollout";
import { MIGRATION } from "./fakes/migrationTasks";
import { kubernetesCluster, processContext } from "../cli/commands";
import { EcsTaskPort } from "../ports/ecsTasks";
import { KubernetesJobPort } from "../ports/kubernetesJobs";

describe("a Kubernetes stack with database.migration (bin as a child process)", function () {
    this.timeout(120_000);

    it("plan exits 0 and shows the migration stage as a Kubernetes Job, with its worst case", async () => {
        const example = readStackFile(EXAMPLE_STACKS["eks-staging"], "shiftwise").config;
        const database = { ...JSON.parse(example["shiftwise:database"]), migration: { command: ["npm", "run", "migrate"], timeoutMinutes: 15, stableSoakMinutes: 5 } };
        const config = Object.fromEntries(Object.entries({ ...example, "shiftwise:database": JSON.stringify(database) }).map(([key, value]) => [key, key.startsWith("shiftwise:") ? JSON.parse(value) : value]));
        const file = path.join(tempDir(), "Pulumi.staging.yaml");
        fs.writeFileSync(file, stringify({ config }));
        const result = await shiftwise(["--cwd", PROJECT_DIR, "plan", "--stack", "staging", "--config-file", file]);
        assert.strictEqual(result.code, ExitCode.success, result.stderr + result.stdout);
        assert.match(
            result.stdout,
            /migration, before the candidate starts: pre-release snapshot, then a Kubernetes Job \(from the job template CronJob shop-migration, backoffLimit 0, activeDeadlineSeconds 900\) in namespace shop-staging of EKS cluster platform-staging running `npm run migrate` \(250m CPU \/ 512Mi, the release's image unless --migration-image\), at most 15 min/,
        );
        assert.match(result.stdout, /migration worst case before prepare: 35 min \(snapshot available within 15 \+ task timeout 15 \+ soak 5\)/);
        assert.doesNotMatch(result.stdout + result.stderr, /runs on ECS Fargate/);
    });

    it("deploy gets the Kubernetes task runner: pre-flight goes past the runner check", async () => {
        const { env, log } = fakePulumiStack(productionConfig({ database: { migration: MIGRATION } }, "kubernetes"));
        const result = await shiftwise(["--cwd", PROJECT_DIR, "deploy", "--stack", "production", "--version", "v1.6.0", "--image", RELEASE.image, "--yes", "--records-dir", tempDir()], {
            env: { ...env, AWS_ACCESS_KEY_ID: "testing", AWS_SECRET_ACCESS_KEY: "testing" },
        });
        const printed = result.stdout + result.stderr;
        assert.doesNotMatch(printed, /no task runner was given/);
        assert.doesNotMatch(printed, /migration task runs on ECS Fargate/);
        // The stand-in has no outputs, so pre-flight stops at the next read, after the config and runner checks passed.
        assert.strictEqual(result.code, ExitCode.refused, printed);
        assert.match(result.stdout, /pre-flight: refused: .*the stack outputs lack listenerArn/);
        assert.ok(pulumiCalls(log).length > 0);
    });
});

describe("the CLI's task runner per platform", () => {
    const entries = (config: Record<string, string>) => Object.fromEntries(Object.entries(config).map(([key, value]) => [key, { value }]));

    it("builds the Kubernetes Job port for the stack's EKS cluster and region, and the ECS port otherwise", async () => {
        const context = processContext(PROJECT_DIR);
        const kubernetes = context.openTasks?.("eu-central-1", entries(productionConfig({}, "kubernetes")));
        assert.ok(kubernetes instanceof KubernetesJobPort);
        const connection = (kubernetes as unknown as { cluster: { clusterName: string; eks: { config: { region(): Promise<string> } } } }).cluster;
        assert.strictEqual(connection.clusterName, "platform-production");
        assert.strictEqual(await connection.eks.config.region(), "eu-central-1");
        assert.ok(context.openTasks?.("eu-central-1", entries(productionConfig())) instanceof EcsTaskPort);
    });

    it("kubernetesCluster: only a kubernetes platform with a cluster name; unreadable sections are not Kubernetes", () => {
        assert.strictEqual(kubernetesCluster(entries(productionConfig({}, "kubernetes"))), "platform-production");
        assert.strictEqual(kubernetesCluster(entries(productionConfig())), undefined);
        assert.strictEqual(kubernetesCluster({ "shiftwise:service": { value: '{"platform":"kubernetes"}' } }), undefined);
        assert.strictEqual(kubernetesCluster({ "shiftwise:service": { value: "{not json" }, "shiftwise:kubernetes": { value: '{"clusterName":"c"}' } }), undefined);
        assert.strictEqual(kubernetesCluster({ "shiftwise:service": { value: '{"platform":"kubernetes"}' }, "shiftwise:kubernetes": { value: '{"clusterName":"c"}' } }), "c");
        assert.strictEqual(kubernetesCluster({ "shiftwise:service": { value: '{"platform":"kubernetes"}' }, "shiftwise:kubernetes": { value: '{"clusterName":42}' } }), undefined);
    });
});
