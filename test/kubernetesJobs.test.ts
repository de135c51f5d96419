// The migration as a Kubernetes Job: the real task port (signed EKS token, verified TLS) against a fake API server on 127.0.0.1, through the driver's runMigration and waitForMigration.
import * as assert from "assert";
import * as net from "net";
import { EksConnection, httpsRequest } from "../ports/eksApi";
import { COMMAND_ANNOTATION, KubernetesJobPort, RUN_ANNOTATION, apiProblem, jobState, migrationJobName } from "../ports/kubernetesJobs";
import { MigrationTarget, describeMigration, runMigration, stoppedOutcome, waitForMigration } from "../rollout/migration";
import { DescribeClusterCommand, EKSClient } from "@aws-sdk/client-eks";
import { mockClient } from "aws-sdk-client-mock";
import { EksClusterApi } from "../ports/eksApi";
import { FakeClock } from "./fakes/fakeClock";
import { API_SERVER_CA, FakeKubernetesApi, JOB_SUCCEEDS, OTHER_CA, PULLING, RUNNING, eksPointingAt } from "./fakes/kubernetesApi";

const NAMESPACE = "shop";
const TARGET: MigrationTarget = { platform: "kubernetes", cluster: NAMESPACE, family: "shop-migration", containerName: "migrate", subnetIds: [], region: "eu-west-1" };
const UP = { direction: "up" as const, command: ["npm", "run", "migrate"], timeoutMinutes: 10, startedBy: "shiftwise/production/v1.5.0", runId: "20250304T100000Z-production-v1.5.0/up" };
const JOB_NAME = migrationJobName({ taskDefinition: "shop-migration", runId: UP.runId, startedBy: UP.startedBy, command: UP.command });

/** The job template as the program declares it (components/kubernetesMigrationJob.ts), trimmed to what the port copies. */
const CRON_JOB = {
    apiVersion: "batch/v1",
    kind: "CronJob",
    metadata: { name: "shop-migration", namespace: NAMESPACE },
    spec: {
        suspend: true,
        schedule: "0 0 1 1 *",
        jobTemplate: {
            metadata: { labels: { "app.kubernetes.io/name": "shop", "app.kubernetes.io/component": "migration" }, annotations: { "shiftwise.dev/release": "v1.5.0" } },
            spec: {
                backoffLimit: 0,
                activeDeadlineSeconds: 600,
                ttlSecondsAfterFinished: 86400,
                template: {
                    metadata: { labels: { "app.kubernetes.io/name": "shop", "app.kubernetes.io/component": "migration" } },
                    spec: {
                        restartPolicy: "Never",
                        serviceAccountName: "shop",
                        containers: [{ name: "migrate", image: "123456789012.dkr.ecr.eu-west-1.amazonaws.com/shop:v1.5.0", args: ["npm", "run", "migrate"] }],
                    },
                },
            },
        },
    },
};

describe("migration as a Kubernetes Job (task port against a fake API server over HTTPS)", function () {
    this.timeout(30_000);
    const api = new FakeKubernetesApi();
    let endpoint = "";
    let clock: FakeClock;
    before(async () => {
        endpoint = await api.start();
        api.cronJobs.set(`${NAMESPACE}/shop-migration`, CRON_JOB);
    });
    after(() => api.stop());
    beforeEach(() => {
        api.reset();
        clock = new FakeClock();
    });

    function port(): { port: KubernetesJobPort; describes: () => number } {
        const eks = eksPointingAt(endpoint);
        return { port: new KubernetesJobPort(new EksConnection(eks.client, "platform-production")), describes: eks.describes };
    }

    it("a Job that succeeds: created from the CronJob's template with the command as args, exit code 0 from the pod, the kubectl logs command", async () => {
        const { port: jobs, describes } = port();
        const result = await runMigration(jobs, clock, TARGET, UP, { pollMs: 10_000 });
        assert.deepStrictEqual(result, {
            direction: "up",
            command: ["npm", "run", "migrate"],
            outcome: "succeeded",
            exitCode: 0,
            taskArn: JOB_NAME,
            lastStatus: "STOPPED",
            reason: "CompletionsReached: Reached expected number of succeeded pods; Completed",
            logsUrl: `kubectl logs job/${JOB_NAME} -n shop -c migrate`,
            startedAt: "2025-03-04T10:00:00.000Z",
            finishedAt: "2025-03-04T10:00:10.000Z",
            durationSeconds: 10,
        });
        assert.match(JOB_NAME, /^shop-migration-[0-9a-f]{10}$/);
        const [create] = api.requests.filter((request) => request.method === "POST");
        assert.strictEqual(create.path, "/apis/batch/v1/namespaces/shop/jobs");
        assert.deepStrictEqual(create.body, {
            apiVersion: "batch/v1",
            kind: "Job",
            metadata: {
                name: JOB_NAME,
                namespace: "shop",
                labels: { "app.kubernetes.io/name": "shop", "app.kubernetes.io/component": "migration" },
                annotations: {
                    "shiftwise.dev/release": "v1.5.0",
                    "shiftwise.dev/run": UP.runId,
                    "shiftwise.dev/command": '["npm","run","migrate"]',
                    "shiftwise.dev/started-by": "shiftwise/production/v1.5.0",
                    "shiftwise.dev/container": "migrate",
                },
            },
            spec: { ...CRON_JOB.spec.jobTemplate.spec, template: { ...CRON_JOB.spec.jobTemplate.spec.template, spec: { ...CRON_JOB.spec.jobTemplate.spec.template.spec } } },
        });
        // Every request carried a fresh EKS token and asked for JSON; the cluster was described once.
        assert.ok(api.requests.every((request) => request.authorization?.startsWith("Bearer k8s-aws-v1.") && request.accept === "application/json"));
        assert.deepStrictEqual(api.requests.map((request) => request.contentType), [undefined, "application/json", undefined, undefined, undefined, undefined]);
        assert.strictEqual(describes(), 1);
        assert.deepStrictEqual(
            api.requests.map((request) => `${request.method} ${request.path}`),
            [
                "GET /apis/batch/v1/namespaces/shop/cronjobs/shop-migration",
                "POST /apis/batch/v1/namespaces/shop/jobs",
                `GET /apis/batch/v1/namespaces/shop/jobs/${JOB_NAME}`,
                `GET /api/v1/namespaces/shop/pods?labelSelector=batch.kubernetes.io%2Fjob-name%3D${JOB_NAME}`,
                `GET /apis/batch/v1/namespaces/shop/jobs/${JOB_NAME}`,
                `GET /api/v1/namespaces/shop/pods?labelSelector=batch.kubernetes.io%2Fjob-name%3D${JOB_NAME}`,
            ],
        );
    });

    it("the down command runs as args of the same template; another command is another Job name", async () => {
        const { port: jobs } = port();
        const down = { ...UP, direction: "down" as const, command: ["npm", "run", "migrate:down"], runId: "20250304T100000Z-production-v1.5.0/down" };
        const result = await runMigration(jobs, clock, TARGET, down, { pollMs: 10_000 });
        assert.strictEqual(result.outcome, "succeeded");
        const [create] = api.requests.filter((request) => request.method === "POST");
        assert.deepStrictEqual(create.body.spec.template.spec.containers[0].args, ["npm", "run", "migrate:down"]);
        assert.notStrictEqual(result.taskArn, JOB_NAME);
    });

    it("a Job that fails: BackoffLimitExceeded, the container's exit code and reason; no retry, nothing deleted", async () => {
        api.script = [
            RUNNING,
            {
                condition: { type: "Failed", reason: "BackoffLimitExceeded", message: "Job has reached the specified backoff limit" },
                container: { terminated: { exitCode: 3, reason: "Error", message: "migration 0042 failed", startedAt: "2025-03-04T10:01:00Z", finishedAt: "2025-03-04T10:01:20Z" } },
            },
        ];
        const { port: jobs } = port();
        const result = await runMigration(jobs, clock, TARGET, UP, { pollMs: 10_000 });
        assert.deepStrictEqual(
            [result.outcome, result.exitCode, result.lastStatus, result.reason],
            ["failed", 3, "STOPPED", "BackoffLimitExceeded: Job has reached the specified backoff limit; Error: migration 0042 failed"],
        );
        assert.strictEqual(describeMigration(result), `migration up failed, exit code 3 in 10 s (BackoffLimitExceeded: Job has reached the specified backoff limit; Error: migration 0042 failed); logs: kubectl logs job/${JOB_NAME} -n shop -c migrate`);
        assert.strictEqual(api.requests.filter((request) => request.method === "POST").length, 1, "one Job, never a second attempt");
        assert.strictEqual(api.requests.filter((request) => request.method === "DELETE").length, 0, "the failed Job stays for its logs");
    });

    it("a Job its activeDeadlineSeconds ended (DeadlineExceeded) timed out; one whose container never ran never started", async () => {
        const deadline = { condition: { type: "Failed" as const, reason: "DeadlineExceeded", message: "Job was active longer than specified deadline" } };
        api.script = [RUNNING, { ...deadline, container: { terminated: { exitCode: 143, reason: "Error", startedAt: "2025-03-04T10:01:00Z" } } }];
        const { port: jobs } = port();
        const ran = await runMigration(jobs, clock, TARGET, UP, { pollMs: 10_000 });
        assert.deepStrictEqual([ran.outcome, ran.exitCode, ran.reason], ["timed-out", 143, "DeadlineExceeded: Job was active longer than specified deadline; Error"]);
        api.reset();
        api.script = [PULLING, deadline];
        const never = await runMigration(jobs, clock, TARGET, { ...UP, runId: "another" }, { pollMs: 10_000 });
        assert.deepStrictEqual([never.outcome, never.reason], ["never-started", "DeadlineExceeded: Job was active longer than specified deadline"]);
        assert.ok(!("exitCode" in never), "no exit code, not even an undefined one");
    });

    it("a pod that never starts (ImagePullBackOff) is stopped at the timeout as never-started, with the kubelet's reason, and its Job deleted in the foreground", async () => {
        api.script = [{ container: { waiting: { reason: "ImagePullBackOff", message: 'Back-off pulling image "123456789012.dkr.ecr.eu-west-1.amazonaws.com/shop:v9"' } } }];
        const { port: jobs } = port();
        const progress: string[] = [];
        const result = await runMigration(jobs, clock, TARGET, UP, { pollMs: 60_000, onProgress: (line) => progress.push(line) });
        assert.deepStrictEqual(
            [result.outcome, result.lastStatus, result.reason, result.durationSeconds],
            ["never-started", "PENDING", 'the task never started within 10 min (last status PENDING: ImagePullBackOff: Back-off pulling image "123456789012.dkr.ecr.eu-west-1.amazonaws.com/shop:v9"); StopTask sent; the task is no longer known, so it does not run there', 600],
        );
        const deletes = api.requests.filter((request) => request.method === "DELETE");
        assert.deepStrictEqual(deletes.map((request) => [request.path, request.body]), [[`/apis/batch/v1/namespaces/shop/jobs/${JOB_NAME}`, { apiVersion: "v1", kind: "DeleteOptions", propagationPolicy: "Foreground" }]]);
        assert.strictEqual(api.jobs.size, 0);
        assert.match(progress[0], new RegExp(`^migration: task ${JOB_NAME} PENDING for 0\\.0/10 min$`));
    });

    it("409 on create: the Job of this very run (the driver died before recording it) is re-attached, not created twice", async () => {
        const { port: jobs } = port();
        // What a driver that died after the POST left behind: the same name, its own run and command.
        api.addJob(NAMESPACE, { metadata: { name: JOB_NAME, annotations: { [RUN_ANNOTATION]: UP.runId, [COMMAND_ANNOTATION]: '["npm","run","migrate"]', "shiftwise.dev/container": "migrate" } } }, JOB_SUCCEEDS);
        const result = await runMigration(jobs, clock, TARGET, UP, { pollMs: 10_000 });
        assert.deepStrictEqual([result.outcome, result.taskArn, result.exitCode], ["succeeded", JOB_NAME, 0]);
        assert.deepStrictEqual(
            api.requests.slice(0, 3).map((request) => `${request.method} ${request.path}`),
            ["GET /apis/batch/v1/namespaces/shop/cronjobs/shop-migration", "POST /apis/batch/v1/namespaces/shop/jobs", `GET /apis/batch/v1/namespaces/shop/jobs/${JOB_NAME}`],
        );
    });

    it("409 on create: a Job of that name that is not this run's is refused; nothing is started or deleted", async () => {
        const { port: jobs } = port();
        api.addJob(NAMESPACE, { metadata: { name: JOB_NAME, annotations: { [RUN_ANNOTATION]: "someone-else", [COMMAND_ANNOTATION]: '["npm","run","migrate"]', "shiftwise.dev/started-by": "shiftwise/production/v1.4.0" } } });
        const result = await runMigration(jobs, clock, TARGET, UP, { pollMs: 10_000 });
        assert.deepStrictEqual([result.outcome, result.taskArn], ["never-started", undefined]);
        assert.strictEqual(
            result.reason,
            `a Job named ${JOB_NAME} already exists in namespace shop (started by shiftwise/production/v1.4.0) and is not this run's; nothing was started. Look at it (kubectl describe job/${JOB_NAME} -n shop); once it is not running, delete it (kubectl delete job/${JOB_NAME} -n shop) and deploy again`,
        );
        assert.strictEqual(api.requests.filter((request) => request.method === "DELETE").length, 0);
    });

    it("a Job being deleted under the driver (kubectl delete) failed, whatever its pod said; one already gone is lost after the read budget", async () => {
        const { port: jobs } = port();
        api.onCreate = (job) => {
            job.metadata.deletionTimestamp = "2025-03-04T10:00:05Z";
        };
        const deleted = await runMigration(jobs, clock, TARGET, UP, { pollMs: 10_000 });
        assert.deepStrictEqual([deleted.outcome, deleted.reason], ["failed", `stopped by someone before it finished (UserInitiated: Job ${JOB_NAME} is being deleted (kubectl delete, or not by shiftwise))`]);
        api.reset();
        api.onCreate = (job) => {
            api.jobs.delete(`${NAMESPACE}/${job.metadata.name}`);
        };
        const gone = await runMigration(jobs, clock, TARGET, { ...UP, runId: "gone" }, { pollMs: 10_000, readErrorBudget: 2 });
        assert.deepStrictEqual([gone.outcome, gone.reason?.replace(/shop-migration-[0-9a-f]{10}/, "<job>")], ["lost", "could not read the task 2 times in a row (the cluster has no Job <job> in namespace shop: deleted, or removed by its ttlSecondsAfterFinished); StopTask sent; the task is no longer known, so it does not run there"]);
    });

    it("stopTask deletes with foreground propagation; a Job already gone is fine; a refused delete says what to grant", async () => {
        const { port: jobs } = port();
        await jobs.stopTask(NAMESPACE, "shop-migration-0000000000", "shiftwise: aborted");
        assert.deepStrictEqual(api.requests.map((request) => [request.method, request.path, request.body]), [["DELETE", "/apis/batch/v1/namespaces/shop/jobs/shop-migration-0000000000", { apiVersion: "v1", kind: "DeleteOptions", propagationPolicy: "Foreground" }]]);
        api.answer = () => ({ status: 403, body: { kind: "Status", reason: "Forbidden", message: 'jobs.batch "x" is forbidden' } });
        await assert.rejects(jobs.stopTask(NAMESPACE, "x", "r"), /^Error: could not delete Job x in namespace shop: HTTP 403 \(Forbidden: jobs\.batch "x" is forbidden\); the runner's AWS identity needs an EKS access entry in the group the program's Role `<service>-migration-runner` is bound to, which may delete jobs in namespace shop$/);
    });

    it("a missing template, a forbidden create and a 500 start nothing and say why", async () => {
        const { port: jobs } = port();
        const missing = await runMigration(jobs, clock, { ...TARGET, family: "shop-nothing" }, UP, { pollMs: 10_000 });
        assert.deepStrictEqual([missing.outcome, missing.reason], ["never-started", "the migration's job template, CronJob shop-nothing, does not exist in namespace shop of EKS cluster platform-production; run `pulumi up` so the program declares it"]);
        api.answer = (request) => (request.method === "POST" ? { status: 403, body: { kind: "Status", reason: "Forbidden", message: "forbidden" } } : undefined);
        const forbidden = await runMigration(jobs, clock, TARGET, UP, { pollMs: 10_000 });
        assert.match(forbidden.reason!, /^Kubernetes created no Job shop-migration-[0-9a-f]{10} in namespace shop: HTTP 403 \(Forbidden: forbidden\); the runner's AWS identity needs an EKS access entry .* which may create jobs in namespace shop$/);
        api.answer = (request) => (request.method === "GET" ? { status: 500, body: "<html>bad gateway</html>" } : undefined);
        const broken = await runMigration(jobs, clock, TARGET, UP, { pollMs: 10_000 });
        assert.deepStrictEqual([broken.outcome, broken.reason], ["never-started", "RunTask failed: cannot get cronjob shop-migration in namespace shop: HTTP 500"]);
    });

    it("an unreachable API server: nothing starts; during the wait, five failed reads in a row count as lost, and a read that recovers goes on", async () => {
        const closed = await freePort();
        const eks = eksPointingAt(`https://127.0.0.1:${closed}`);
        const unreachable = new KubernetesJobPort(new EksConnection(eks.client, "platform-production"));
        const result = await runMigration(unreachable, clock, TARGET, UP, { pollMs: 10_000 });
        assert.strictEqual(result.outcome, "never-started");
        assert.match(result.reason!, /^RunTask failed: connect ECONNREFUSED 127\.0\.0\.1:\d+$/);
        // Started, then the API server goes away for two reads and comes back.
        const { port: jobs } = port();
        let outage = 0;
        api.answer = (request) => (request.method === "GET" && request.path.includes("/jobs/") && outage++ < 2 ? { status: 503, body: { kind: "Status", reason: "ServiceUnavailable", message: "etcd leader changed" } } : undefined);
        const recovered = await runMigration(jobs, clock, TARGET, UP, { pollMs: 10_000 });
        assert.deepStrictEqual([recovered.outcome, recovered.exitCode], ["succeeded", 0]);
        api.reset();
        api.answer = (request) => (request.method === "GET" && request.path.includes("/jobs/") ? { status: 503, body: {} } : undefined);
        const lost = await runMigration(jobs, clock, TARGET, { ...UP, runId: "lost" }, { pollMs: 10_000 });
        assert.deepStrictEqual([lost.outcome, lost.reason?.replace(/shop-migration-[0-9a-f]{10}/, "<job>")], ["lost", "could not read the task 5 times in a row (cannot get job <job> in namespace shop: HTTP 503); StopTask sent; not readable after 180 s: it may still be running"]);
    });

    it("409 on create: a Job without annotations is not started by shiftwise; one being deleted is refused even if it was this run's", async () => {
        const { port: jobs } = port();
        api.addJob(NAMESPACE, { metadata: { name: JOB_NAME } });
        const foreign = await runMigration(jobs, clock, TARGET, UP, { pollMs: 10_000 });
        assert.match(foreign.reason!, new RegExp(`^a Job named ${JOB_NAME} already exists in namespace shop \\(not started by shiftwise\\) and is not this run's`));
        api.reset();
        api.addJob(NAMESPACE, { metadata: { name: JOB_NAME, deletionTimestamp: "2025-03-04T09:59:00Z", annotations: { "shiftwise.dev/run": UP.runId, "shiftwise.dev/command": '["npm","run","migrate"]' } } });
        const deleting = await runMigration(jobs, clock, TARGET, UP, { pollMs: 10_000 });
        assert.match(deleting.reason!, new RegExp(`^a Job named ${JOB_NAME} already exists in namespace shop \\(being deleted\\) and is not this run's`));
        api.reset();
        api.answer = (request) => (request.method === "GET" && request.path.includes("/jobs/") ? { status: 200, body: {} } : undefined);
        api.addJob(NAMESPACE, { metadata: { name: JOB_NAME } });
        const bare = await runMigration(jobs, clock, TARGET, UP, { pollMs: 10_000 });
        assert.match(bare.reason!, /\(not started by shiftwise\)/);
        api.answer = (request) => (request.method === "GET" && request.path.includes("/jobs/") ? { status: 500, body: {} } : undefined);
        const unreadable = await runMigration(jobs, clock, TARGET, UP, { pollMs: 10_000 });
        assert.strictEqual(unreadable.reason, `RunTask failed: cannot get job ${JOB_NAME} in namespace shop: HTTP 500`);
    });

    it("a create answered 200 (not 201) is a started Job; a template without a job spec or without the container starts nothing", async () => {
        const { port: jobs } = port();
        api.answer = (request) => (request.method === "POST" ? { status: 200, body: {} } : undefined);
        assert.strictEqual(await jobs.runTask({ cluster: NAMESPACE, taskDefinition: "shop-migration", containerName: "migrate", command: ["x"], subnetIds: [], securityGroupIds: [], startedBy: "s" }), migrationJobName({ taskDefinition: "shop-migration", startedBy: "s", command: ["x"] }));
        api.reset();
        api.cronJobs.set(`${NAMESPACE}/empty`, { kind: "CronJob", spec: { jobTemplate: { spec: { template: {} } } } });
        const empty = await runMigration(jobs, clock, { ...TARGET, family: "empty" }, UP, { pollMs: 10_000 });
        assert.strictEqual(empty.reason, "CronJob empty in namespace shop has no job template");
        api.cronJobs.set(`${NAMESPACE}/other`, { kind: "CronJob", spec: { jobTemplate: { spec: { template: { spec: { containers: [{ name: "app" }, { name: "sidecar" }] } } } } } });
        const other = await runMigration(jobs, clock, { ...TARGET, family: "other" }, UP, { pollMs: 10_000 });
        assert.strictEqual(other.reason, "the job template other has no container named migrate (it has app, sidecar)");
        api.cronJobs.set(`${NAMESPACE}/none`, { kind: "CronJob", spec: { jobTemplate: { spec: { template: { spec: {} } } } } });
        const none = await runMigration(jobs, clock, { ...TARGET, family: "none" }, UP, { pollMs: 10_000 });
        assert.strictEqual(none.reason, "the job template none has no container named migrate (it has none)");
        assert.strictEqual(api.requests.filter((request) => request.method === "POST").length, 0);
        api.answer = (request) => (request.path.includes("/cronjobs/") ? { status: 200, body: "<html>" } : undefined);
        const html = await runMigration(jobs, clock, TARGET, UP, { pollMs: 10_000 });
        assert.strictEqual(html.reason, "RunTask failed: cannot get cronjob shop-migration in namespace shop: the API server answered HTTP 200 with a body that is not JSON");
    });

    it("reads the newest of the Job's pods (a replacement after an eviction), and a pod list without items as none", async () => {
        const { port: jobs } = port();
        api.addJob(NAMESPACE, { metadata: { name: "j", annotations: { "shiftwise.dev/container": "migrate" } } });
        const pod = (created: string, exitCode: number) => ({ metadata: { creationTimestamp: created }, status: { containerStatuses: [{ name: "migrate", state: { terminated: { exitCode } } }] } });
        api.answer = (request) => (request.path.startsWith("/api/v1/") ? { status: 200, body: { items: [pod("2025-03-04T10:05:00Z", 2), pod("2025-03-04T10:09:00Z", 3), pod("2025-03-04T10:01:00Z", 1)] } } : undefined);
        assert.strictEqual((await jobs.describeTask(NAMESPACE, "j"))?.exitCode, 3);
        api.answer = (request) => (request.path.startsWith("/api/v1/") ? { status: 200, body: { kind: "PodList" } } : undefined);
        assert.deepStrictEqual(await jobs.describeTask(NAMESPACE, "j"), { taskArn: "j", lastStatus: "PENDING" });
        api.answer = (request) => (request.path.startsWith("/api/v1/") ? { status: 403, body: {} } : undefined);
        await assert.rejects(jobs.describeTask(NAMESPACE, "j"), /^Error: cannot list pods in namespace shop: HTTP 403; .* which may list pods in namespace shop$/);
    });

    it("stopTask accepts 200, 202 and 404 and fails on anything else", async () => {
        const { port: jobs } = port();
        for (const status of [200, 202, 404]) {
            api.answer = () => ({ status, body: {} });
            await jobs.stopTask(NAMESPACE, "j", "r");
        }
        for (const status of [201, 409, 500]) {
            api.answer = () => ({ status, body: {} });
            await assert.rejects(jobs.stopTask(NAMESPACE, "j", "r"), new RegExp(`HTTP ${status}`));
        }
    });

    it("KubernetesJobPort.forCluster: an EKS client for the region with standard retries, and the given transport", async () => {
        const seen: string[] = [];
        const built = KubernetesJobPort.forCluster("eu-central-1", "c1", async ({ url }) => (seen.push(url), { status: 404, body: "" }));
        const connection = (built as unknown as { cluster: { clusterName: string; eks: EKSClient } }).cluster;
        assert.strictEqual(connection.clusterName, "c1");
        assert.strictEqual(await connection.eks.config.region(), "eu-central-1");
        assert.strictEqual(await connection.eks.config.maxAttempts(), 5);
        const retryMode = connection.eks.config.retryMode;
        assert.strictEqual(typeof retryMode === "string" ? retryMode : await retryMode(), "standard");
    });

    it("a Job never read before the timeout (the API server answers 503 throughout) is lost, stopped, and says it may still run", async () => {
        const { port: jobs } = port();
        api.answer = (request) => (request.method === "GET" && request.path.includes("/jobs/") ? { status: 503, body: {} } : undefined);
        const result = await runMigration(jobs, clock, TARGET, UP, { pollMs: 60_000, readErrorBudget: 100 });
        assert.deepStrictEqual([result.outcome, result.lastStatus], ["lost", undefined]);
        assert.match(result.reason!, new RegExp(`^never read after 10 min \\(cannot get job ${JOB_NAME} in namespace shop: HTTP 503\\): it may have run, and may still run; StopTask sent`));
        assert.ok(api.requests.some((request) => request.method === "DELETE"));
    });

    it("a resumed driver waits for the recorded Job: the deadline counts from the first start", async () => {
        const { port: jobs } = port();
        api.addJob(NAMESPACE, { metadata: { name: JOB_NAME, annotations: {} } }, [RUNNING]);
        const started = new Date(clock.now().getTime() - 9 * 60_000);
        const result = await waitForMigration(jobs, clock, TARGET, UP, { taskArn: JOB_NAME, startedAt: started }, { pollMs: 60_000 });
        assert.deepStrictEqual([result.outcome, result.durationSeconds], ["timed-out", 600]);
        assert.strictEqual(api.requests.filter((request) => request.method === "DELETE").length, 1);
    });
});

describe("jobState: a Job and its pod as the task port reports them", () => {
    const terminated = (exitCode: number) => ({ status: { containerStatuses: [{ name: "migrate", state: { terminated: { exitCode, reason: "Error", startedAt: "2025-03-04T10:01:00Z", finishedAt: "2025-03-04T10:02:00Z" } } }] } });

    it("reads the named container, not a sidecar", () => {
        const pod = { status: { containerStatuses: [{ name: "istio-proxy", state: { running: { startedAt: "2025-03-04T10:00:30Z" } } }, { name: "migrate", state: { terminated: { exitCode: 2, reason: "Error" } } }] } };
        const state = jobState("j", { metadata: { annotations: { "shiftwise.dev/container": "migrate" } }, status: { conditions: [{ type: "Failed", status: "True", reason: "BackoffLimitExceeded" }] } }, pod);
        assert.deepStrictEqual([state.exitCode, state.containerReason, state.stopCode], [2, "Error", "BackoffLimitExceeded"]);
    });

    it("FailureTarget and SuccessCriteriaMet (Kubernetes 1.31+, before the pods have terminated) do not end the Job; only Complete or Failed do", () => {
        for (const type of ["FailureTarget", "SuccessCriteriaMet", "Suspended"]) {
            assert.deepStrictEqual(jobState("j", { status: { conditions: [{ type, status: "True" }] } }, undefined), { taskArn: "j", lastStatus: "PENDING" });
        }
    });

    it("a condition that is not True does not end the Job; Complete without a pod (cleaned up) is exit 0", () => {
        assert.strictEqual(jobState("j", { status: { conditions: [{ type: "Failed", status: "False" }] } }, terminated(1)).lastStatus, "RUNNING");
        assert.strictEqual(jobState("j", { status: { conditions: [{ type: "Complete", status: "False" }] } }, undefined).lastStatus, "PENDING");
        const complete = jobState("j", { status: { conditions: [{ type: "Complete", status: "True", lastTransitionTime: "2025-03-04T10:05:00Z" }] } }, undefined);
        assert.deepStrictEqual(complete, { taskArn: "j", lastStatus: "STOPPED", exitCode: 0, stoppedReason: "Complete", stopCode: "Complete", stoppedAt: new Date("2025-03-04T10:05:00Z") });
        assert.strictEqual(stoppedOutcome(complete, "").outcome, "succeeded");
    });

    it("an evicted pod's reason is kept; stoppedAt only once stopped", () => {
        const state = jobState("j", { status: { conditions: [] } }, { status: { reason: "Evicted", message: "The node was low on resource: memory.", containerStatuses: [{ name: "migrate", state: { terminated: { exitCode: 137, reason: "OOMKilled", startedAt: "2025-03-04T10:01:00Z", finishedAt: "2025-03-04T10:02:00Z" } } }] } });
        assert.deepStrictEqual([state.lastStatus, state.containerReason, state.stoppedAt, state.startedAt], ["RUNNING", "OOMKilled: Evicted: The node was low on resource: memory.", undefined, new Date("2025-03-04T10:01:00Z")]);
    });

    it("the Job name fits 63 characters for any template name, and the run and the command both change it", () => {
        const base = { taskDefinition: "shop-migration", startedBy: "s", runId: "r", command: ["a"] };
        assert.strictEqual(migrationJobName({ ...base, taskDefinition: "x".repeat(80) }).length, 63);
        assert.match(migrationJobName({ ...base, taskDefinition: `${"x".repeat(51)}-y` }), /^x{51}-[0-9a-f]{10}$/);
        assert.match(migrationJobName({ ...base, taskDefinition: `${"x".repeat(50)}--y` }), /^x{50}-[0-9a-f]{10}$/, "no double hyphen where the name was cut");
        assert.notStrictEqual(migrationJobName(base), migrationJobName({ ...base, runId: "r2" }));
        assert.notStrictEqual(migrationJobName(base), migrationJobName({ ...base, command: ["b"] }));
        assert.strictEqual(migrationJobName({ ...base, runId: undefined }), migrationJobName({ ...base, runId: "s" }), "without a run id, startedBy names the run");
    });

    it("apiProblem: the Status reason and message; a body that is not a Status gives the HTTP status alone", () => {
        assert.strictEqual(apiProblem({ status: 422, body: JSON.stringify({ reason: "Invalid", message: "spec.template: Required value" }) }, "x"), "HTTP 422 (Invalid: spec.template: Required value)");
        assert.strictEqual(apiProblem({ status: 502, body: "<html>" }, "x"), "HTTP 502");
        assert.match(apiProblem({ status: 401, body: "{}" }, "get jobs"), /^HTTP 401; the runner's AWS identity needs .* which may get jobs$/);
    });
});

describe("EksConnection and the pre-flight's CRD read over real HTTPS", function () {
    this.timeout(30_000);
    const api = new FakeKubernetesApi();
    let endpoint = "";
    before(async () => (endpoint = await api.start()));
    after(() => api.stop());
    beforeEach(() => api.reset());

    it("customResourceDefinitionExists: 200 is true, 404 false, 403 names the access entry, 500 the status alone", async () => {
        api.crds.add("targetgroupbindings.elbv2.k8s.aws");
        const crds = new EksClusterApi(eksPointingAt(endpoint, "c1").client);
        assert.strictEqual(await crds.customResourceDefinitionExists("c1", "targetgroupbindings.elbv2.k8s.aws"), true);
        assert.strictEqual(await crds.customResourceDefinitionExists("c1", "ingressclassparams.elbv2.k8s.aws"), false);
        assert.deepStrictEqual(api.requests.map((request) => request.path), ["/apis/apiextensions.k8s.io/v1/customresourcedefinitions/targetgroupbindings.elbv2.k8s.aws", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/ingressclassparams.elbv2.k8s.aws"]);
        for (const [status, message] of [[403, "cannot read CRD x in EKS cluster c1 (HTTP 403): give the deploy role an EKS access entry that may get customresourcedefinitions"], [401, "cannot read CRD x in EKS cluster c1 (HTTP 401): give the deploy role an EKS access entry that may get customresourcedefinitions"], [500, "cannot read CRD x in EKS cluster c1 (HTTP 500)"]] as const) {
            api.answer = () => ({ status, body: {} });
            await assert.rejects(crds.customResourceDefinitionExists("c1", "x"), (error: Error) => error.message === message);
        }
    });

    it("a cluster without an endpoint yet fails with its status, and is asked again next time (a failed read is not remembered)", async () => {
        const client = new EKSClient({ region: "eu-west-1", credentials: { accessKeyId: "AKIDEXAMPLE", secretAccessKey: "secret" } });
        const eks = mockClient(client);
        eks.on(DescribeClusterCommand).resolvesOnce({ cluster: { status: "CREATING" } }).resolvesOnce({}).resolves({ cluster: { status: "ACTIVE", endpoint, certificateAuthority: { data: API_SERVER_CA.toString("base64") } } });
        const connection = new EksConnection(client, "c1");
        await assert.rejects(connection.request("/api"), /^Error: EKS cluster c1 has no endpoint or CA yet \(status CREATING\)$/);
        await assert.rejects(connection.request("/api"), /^Error: EKS cluster c1 has no endpoint or CA yet \(status unknown\)$/);
        assert.strictEqual((await connection.request("/apis/batch/v1/namespaces/x/jobs/y")).status, 404);
        assert.strictEqual((await connection.request("/apis/batch/v1/namespaces/x/jobs/z")).status, 404);
        assert.strictEqual(eks.commandCalls(DescribeClusterCommand).length, 3, "described until it answered, then remembered");
    });
});

describe("httpsRequest: the real HTTPS transport to the API server", function () {
    this.timeout(30_000);
    const api = new FakeKubernetesApi();
    let endpoint = "";
    before(async () => (endpoint = await api.start()));
    after(() => api.stop());
    beforeEach(() => api.reset());

    it("sends the bearer token, JSON body and method; trusts the given CA", async () => {
        api.cronJobs.set("ns/c", { kind: "CronJob" });
        const got = await httpsRequest({ url: `${endpoint}/apis/batch/v1/namespaces/ns/cronjobs/c`, token: "k8s-aws-v1.abc", ca: API_SERVER_CA });
        assert.deepStrictEqual([got.status, JSON.parse(got.body)], [200, { kind: "CronJob" }]);
        const posted = await httpsRequest({ url: `${endpoint}/apis/batch/v1/namespaces/ns/jobs`, token: "k8s-aws-v1.abc", ca: API_SERVER_CA, method: "POST", body: { metadata: { name: "ü-job" } } });
        assert.strictEqual(posted.status, 201);
        assert.deepStrictEqual(api.requests.map((request) => [request.method, request.authorization, request.body]), [
            ["GET", "Bearer k8s-aws-v1.abc", undefined],
            ["POST", "Bearer k8s-aws-v1.abc", { metadata: { name: "ü-job" } }],
        ]);
    });

    it("refuses a server whose certificate the cluster's CA did not sign", async () => {
        await assert.rejects(httpsRequest({ url: `${endpoint}/api`, token: "t", ca: OTHER_CA }), (error: NodeJS.ErrnoException) => /self[- ]signed|unable to verify|certificate/i.test(error.message));
        assert.strictEqual(api.requests.length, 0, "nothing reached the server");
    });

    it("gives up on a server that does not answer within 10 s", async () => {
        const silent = net.createServer(() => undefined);
        await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
        const { port } = silent.address() as net.AddressInfo;
        const fakeTimers = installShortTimeout();
        try {
            await assert.rejects(httpsRequest({ url: `https://127.0.0.1:${port}/api`, token: "t", ca: API_SERVER_CA }), /^Error: GET https:\/\/127\.0\.0\.1:\d+\/api timed out after 10 s$/);
        } finally {
            fakeTimers.restore();
            silent.close();
        }
    });
});

/** A port nothing listens on. */
async function freePort(): Promise<number> {
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as net.AddressInfo;
    await new Promise<void>((resolve) => server.close(() => resolve()));
    return port;
}

/** Makes sockets' idle timeouts fire after 50 ms, so the 10 s timeout is exercised without waiting 10 s. */
function installShortTimeout(): { restore: () => void } {
    const original = net.Socket.prototype.setTimeout;
    net.Socket.prototype.setTimeout = function (this: net.Socket, _ms: number, callback?: () => void) {
        return original.call(this, _ms > 0 ? 50 : 0, callback);
    } as typeof original;
    return { restore: () => (net.Socket.prototype.setTimeout = original) };
}
