// The migration stages on the Kubernetes platform: the driver runs snapshot -> migration (a Job, through the real task port and a fake API server) -> stable soak -> candidate on the real program graph, and stops before any traffic moves when the Job fails.
import * as assert from "assert";
import { deploy } from "../rollout/driver";
import { ExitCode } from "../rollout/exitCodes";
import { EksConnection } from "../ports/eksApi";
import { KubernetesJobPort } from "../ports/kubernetesJobs";
import { RELEASE, harness, productionConfig, useSmokeServer } from "./fakes/rollout";
import { MIGRATION, mockDatabase } from "./fakes/migrationTasks";
import { FakeKubernetesApi, JobScriptState, RUNNING, eksPointingAt } from "./fakes/kubernetesApi";

const LISTENER = "aws:lb/listener:Listener";
const CRON_JOB = "kubernetes:batch/v1:CronJob";
const DEPLOYMENT = "kubernetes:apps/v1:Deployment";
const OLD_IMAGE = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/shop:v1.5.0";

describe("rollout driver: the migration stages on Kubernetes (a Job through the task port)", function () {
    this.timeout(120_000);
    const smoke = useSmokeServer();
    const api = new FakeKubernetesApi();
    before(() => api.start());
    after(() => api.stop());
    beforeEach(() => api.reset());

    /** A Kubernetes production harness whose cluster serves the deployed program's CronJob and records the stack when the Job is created. */
    function migrating(script: readonly JobScriptState[]) {
        const h = harness({ smokeBaseUrl: smoke.url(), config: productionConfig({ database: { migration: MIGRATION } }, "kubernetes") });
        api.script = script;
        // The cluster holds what the last `up` applied: the CronJob of the deployed program.
        api.cronJobSource = async (namespace, name) => {
            const cronJob = await h.stack.deployedResource(CRON_JOB, "shop-migration");
            const metadata = cronJob?.inputs.metadata as { name?: string; namespace?: string } | undefined;
            return metadata?.name === name && metadata.namespace === namespace ? cronJob!.inputs : undefined;
        };
        const seen: { atCreate?: { snapshots: string[]; candidateImage: string; job: any } } = {};
        api.onCreate = async (job) => {
            const deployed = await h.stack.deployed();
            const candidate = deployed.resources.find((r) => r.type === DEPLOYMENT && r.name === "shop-green");
            seen.atCreate = {
                snapshots: deployed.resources.filter((r) => r.type === "aws:rds/snapshot:Snapshot").map((r) => String(r.inputs.dbSnapshotIdentifier)),
                candidateImage: (candidate?.inputs.spec as any).template.spec.containers[0].image,
                job,
            };
        };
        const eks = eksPointingAt(api.endpoint(), "platform-production");
        const database = mockDatabase();
        const deps = { ...h.deps, tasks: new KubernetesJobPort(new EksConnection(eks.client, "platform-production")), database: database.port, migrationPollMs: 30_000 };
        return { ...h, deps, seen };
    }

    it("runs snapshot -> migration Job -> stable soak -> candidate, and records the Job, its exit code, duration and the kubectl logs command", async () => {
        const h = migrating([RUNNING, RUNNING, { condition: { type: "Complete", reason: "CompletionsReached" }, container: { terminated: { exitCode: 0, reason: "Completed" } } }]);
        const outcome = await deploy(h.deps, { ...RELEASE, smokeBaseUrl: smoke.url() });
        assert.strictEqual(outcome.exitCode, ExitCode.success, outcome.message);
        const record = outcome.record!;
        assert.deepStrictEqual(
            record.stages.slice(0, 6).map((stage) => [stage.name, stage.outcome]),
            [["pre-flight", "ok"], ["checkpoint", "ok"], ["snapshot", "ok"], ["migration", "ok"], ["stable soak", "ok"], ["prepare", "ok"]],
        );
        // The snapshot update touched only the snapshot and the migration's template.
        const [snapshotUp] = h.stack.ups;
        assert.ok(snapshotUp.changes.steps.some((step) => step.type === CRON_JOB), JSON.stringify(snapshotUp.changes.steps.map((s) => s.urn)));
        for (const step of snapshotUp.changes.steps) {
            assert.ok(step.type === "aws:rds/snapshot:Snapshot" || step.urn.includes("shiftwise:kubernetes:MigrationJob$"), `${step.op} ${step.urn}`);
        }
        // When the Job was created, the snapshot existed, the Job ran the release image, and the candidate still ran the old one.
        const at = h.seen.atCreate!;
        assert.ok(at.snapshots.includes("shop-production-pre-v1-6-0"), JSON.stringify(at.snapshots));
        assert.strictEqual(at.candidateImage, OLD_IMAGE);
        const container = at.job.spec.template.spec.containers[0];
        assert.deepStrictEqual([container.image, container.args, at.job.spec.backoffLimit, at.job.spec.activeDeadlineSeconds, at.job.metadata.namespace], [RELEASE.image, ["npm", "run", "migrate"], 0, 600, "shop"]);
        assert.strictEqual(at.job.metadata.annotations["shiftwise.dev/run"], `${record.id}/up`);
        const job = at.job.metadata.name as string;
        assert.match(job, /^shop-migration-[0-9a-f]{10}$/);
        assert.deepStrictEqual(
            { outcome: record.migration?.outcome, exitCode: record.migration?.exitCode, seconds: record.migration?.durationSeconds, task: record.migration?.taskArn, logs: record.migration?.logsUrl },
            { outcome: "succeeded", exitCode: 0, seconds: 60, task: job, logs: `kubectl logs job/${job} -n shop -c migrate` },
        );
        // The stable colour was soaked on the new schema before the candidate was asked anything.
        assert.deepStrictEqual([record.stableSoak?.colour, record.stableSoak?.outcome], ["blue", "ok"]);
        const firstGreen = smoke.server.requests.findIndex((request) => request.colour === "green");
        assert.strictEqual(firstGreen, 11);
        assert.deepStrictEqual(api.requests.filter((r) => r.method === "POST").length, 1);
    });

    it("a Job that fails (BackoffLimitExceeded, exit 3) stops the release before any traffic moves or the candidate starts, and says what to do", async () => {
        const h = migrating([RUNNING, { condition: { type: "Failed", reason: "BackoffLimitExceeded", message: "Job has reached the specified backoff limit" }, container: { terminated: { exitCode: 3, reason: "Error" } } }]);
        const result = await deploy(h.deps, { ...RELEASE, smokeBaseUrl: smoke.url() });
        assert.strictEqual(result.exitCode, ExitCode.rolledBack, result.message);
        assert.match(result.message, /migration up failed, exit code 3 in 30 s \(BackoffLimitExceeded: Job has reached the specified backoff limit; Error\)/);
        assert.match(result.message, /No traffic moved\. The database may be partly migrated; restore the pre-release snapshot shop-production-pre-v1-6-0 with:\n {2}aws rds restore-db-instance-from-db-snapshot /);
        assert.match(result.message, /migration logs: kubectl logs job\/shop-migration-[0-9a-f]{10} -n shop -c migrate/);
        const record = result.record!;
        assert.deepStrictEqual([record.migration?.outcome, record.migration?.exitCode], ["failed", 3]);
        assert.deepStrictEqual(record.stages.map((s) => s.name).filter((n) => n === "prepare" || n === "stable soak" || n.startsWith("shift")), []);
        for (const up of h.stack.ups) assert.ok(up.changes.steps.every((s) => s.type !== LISTENER), "no update touched the listener");
        const candidate = await h.stack.deployedResource(DEPLOYMENT, "shop-green");
        assert.strictEqual((candidate?.inputs.spec as any).template.spec.containers[0].image, OLD_IMAGE, "the candidate never started the release");
        assert.deepStrictEqual(h.stack.section("traffic"), { blue: 100, green: 0 });
        assert.strictEqual(api.requests.filter((r) => r.method === "DELETE").length, 0, "the failed Job is kept for its logs");
    });
});
