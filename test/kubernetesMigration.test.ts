// The migration on the Kubernetes platform: the validator accepts it, the program declares the Job template (a suspended CronJob) and the driver's Role, and the invariants hold on the real program graph.
import * as assert from "assert";
import { parseStackConfig, shiftwiseSections } from "../config";
import { isMigrationStep } from "../rollout/guards";
import type { ResourceStep } from "../ports/ports";
import { diffGraphs, effectiveChanges } from "../evaluation/graphDiff";
import { ConfigMap, ProgramEvaluation, descendants, evaluate, ofType, one, sectionValue, stackConfig, withFields } from "./harness";

const CRON_JOB = "kubernetes:batch/v1:CronJob";
const ROLE = "kubernetes:rbac.authorization.k8s.io/v1:Role";
const ROLE_BINDING = "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding";
const DEPLOYMENT = "kubernetes:apps/v1:Deployment";
const MIGRATE = ["npm", "run", "migrate"];
const V160 = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/shop:v1.6.0";

/** The EKS example with a migration configured and a release of green (v1.5.0) under way. */
function migratingConfig(stack: string, migration: Record<string, unknown> = {}): ConfigMap {
    return withFields(stackConfig(stack), "database", { preReleaseSnapshot: "v1.5.0", migration: { command: MIGRATE, timeoutMinutes: 20, ...migration } });
}

const jobSpec = (evaluation: ProgramEvaluation) => (one(evaluation, CRON_JOB, "shop-migration").inputs.spec as any).jobTemplate.spec;

describe("config: database.migration on the Kubernetes platform", () => {
    it("is accepted with its defaults, and the ECS-only refusal is gone", () => {
        const config = parseStackConfig(shiftwiseSections(migratingConfig("eks-staging")));
        assert.deepStrictEqual(config.database?.migration, { command: MIGRATE, timeoutMinutes: 20, stableSoakMinutes: 10, cpu: 256, memory: 512 });
        assert.strictEqual(config.service.platform, "kubernetes");
    });
});

for (const stack of ["eks-staging", "eks-production"]) {
    describe(`migration Job template (${stack})`, () => {
        let evaluation: ProgramEvaluation;
        before(async () => {
            evaluation = await evaluate(migratingConfig(stack), stack);
        });

        it("declares a suspended, never-scheduled CronJob whose Job runs once, within the timeout, and is cleaned up a day later", () => {
            const cronJob = one(evaluation, CRON_JOB, "shop-migration");
            const namespace = sectionValue(stackConfig(stack), "kubernetes").namespace;
            assert.deepStrictEqual((cronJob.inputs.metadata as any).name, "shop-migration");
            assert.deepStrictEqual((cronJob.inputs.metadata as any).namespace, namespace);
            const spec = cronJob.inputs.spec as any;
            assert.deepStrictEqual([spec.suspend, spec.schedule, spec.concurrencyPolicy], [true, "0 0 31 2 *", "Forbid"]);
            const job = jobSpec(evaluation);
            assert.deepStrictEqual(
                [job.backoffLimit, job.completions, job.parallelism, job.activeDeadlineSeconds, job.ttlSecondsAfterFinished, job.template.spec.restartPolicy],
                [0, 1, 1, 1200, 86400, "Never"],
            );
            // Only through the environment's explicit provider, never the ambient kubeconfig.
            assert.strictEqual(cronJob.options.provider?.split("::").slice(0, -1).join("::"), one(evaluation, "pulumi:providers:kubernetes").urn);
        });

        it("runs the release's image with the command as args, as the colours' ServiceAccount, with their hardening and sized requests and limits", () => {
            const pod = jobSpec(evaluation).template.spec;
            const colour = (one(evaluation, DEPLOYMENT, "shop-green").inputs.spec as any).template.spec;
            assert.strictEqual(pod.serviceAccountName, colour.serviceAccountName);
            assert.strictEqual(pod.automountServiceAccountToken, false);
            assert.deepStrictEqual(pod.securityContext, colour.securityContext);
            assert.deepStrictEqual(pod.securityContext, { runAsNonRoot: true, runAsUser: 10001, runAsGroup: 10001, fsGroup: 10001, seccompProfile: { type: "RuntimeDefault" } });
            assert.deepStrictEqual(pod.nodeSelector, colour.nodeSelector);
            assert.strictEqual(pod.terminationGracePeriodSeconds, 120);
            const [container] = pod.containers;
            const [colourContainer] = colour.containers;
            assert.deepStrictEqual([container.name, container.image, container.args, container.command], ["migrate", sectionValue(stackConfig(stack), "green").image, MIGRATE, undefined]);
            assert.deepStrictEqual(container.securityContext, colourContainer.securityContext);
            assert.deepStrictEqual(container.securityContext, { allowPrivilegeEscalation: false, privileged: false, readOnlyRootFilesystem: true, runAsNonRoot: true, capabilities: { drop: ["ALL"] }, seccompProfile: { type: "RuntimeDefault" } });
            assert.deepStrictEqual(container.resources, { requests: { cpu: "250m", memory: "512Mi" }, limits: { cpu: "250m", memory: "512Mi" } });
            assert.strictEqual(container.ports, undefined);
            assert.strictEqual(container.readinessProbe, undefined);
        });

        it("gets the colours' database environment and secrets through the same synced Secret and CSI volume, and nothing else", () => {
            const container = jobSpec(evaluation).template.spec.containers[0];
            const colourContainer = (one(evaluation, DEPLOYMENT, "shop-green").inputs.spec as any).template.spec.containers[0];
            const own = (entries: { name: string }[]) => entries.filter((entry) => !entry.name.startsWith("SHIFTWISE_"));
            assert.deepStrictEqual(own(container.env), own(colourContainer.env));
            assert.deepStrictEqual(own(container.env).map((entry: { name: string }) => entry.name), ["DATABASE_HOST", "DATABASE_NAME", "DATABASE_PORT", "DATABASE_PASSWORD", "DATABASE_USER"]);
            assert.deepStrictEqual(container.env.filter((entry: { name: string }) => entry.name.startsWith("SHIFTWISE_")), [
                { name: "SHIFTWISE_MIGRATION", value: "true" },
                { name: "SHIFTWISE_VERSION", value: "v1.5.0" },
            ]);
            const pod = jobSpec(evaluation).template.spec;
            const colourPod = (one(evaluation, DEPLOYMENT, "shop-green").inputs.spec as any).template.spec;
            assert.deepStrictEqual(pod.volumes, colourPod.volumes);
            assert.deepStrictEqual(container.volumeMounts, colourContainer.volumeMounts);
        });

        it("binds a Role that may only get this CronJob, create/get/delete Jobs and list pods, in the namespace, to the runner group", () => {
            const role = one(evaluation, ROLE, "shop-migration");
            const namespace = sectionValue(stackConfig(stack), "kubernetes").namespace;
            assert.deepStrictEqual(role.inputs.metadata && [(role.inputs.metadata as any).name, (role.inputs.metadata as any).namespace], ["shop-migration-runner", namespace]);
            assert.deepStrictEqual(role.inputs.rules, [
                { apiGroups: ["batch"], resources: ["cronjobs"], resourceNames: ["shop-migration"], verbs: ["get"] },
                { apiGroups: ["batch"], resources: ["jobs"], verbs: ["create", "get", "delete"] },
                { apiGroups: [""], resources: ["pods"], verbs: ["list"] },
            ]);
            const binding = one(evaluation, ROLE_BINDING, "shop-migration");
            assert.deepStrictEqual([binding.inputs.roleRef, binding.inputs.subjects], [
                { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "shop-migration-runner" },
                [{ apiGroup: "rbac.authorization.k8s.io", kind: "Group", name: "shiftwise-shop-migration-runner" }],
            ]);
            assert.strictEqual(ofType(evaluation, "kubernetes:rbac.authorization.k8s.io/v1:ClusterRole").length, 0);
        });

        it("exports what the driver needs and declares nothing of ECS's migration task", () => {
            const kubernetes = sectionValue(stackConfig(stack), "kubernetes");
            assert.deepStrictEqual(evaluation.outputs.migration, {
                platform: "kubernetes",
                clusterName: kubernetes.clusterName,
                namespace: kubernetes.namespace,
                jobTemplate: "shop-migration",
                containerName: "migrate",
                runnerGroup: "shiftwise-shop-migration-runner",
                release: "v1.5.0",
                image: sectionValue(stackConfig(stack), "green").image,
            });
            assert.deepStrictEqual(ofType(evaluation, "aws:ecs/taskDefinition:TaskDefinition"), []);
            assert.deepStrictEqual(evaluation.resources.filter((resource) => resource.urn.includes("shiftwise:data:MigrationTask")), []);
            // Every resource of the template is a migration step the snapshot update may touch.
            const component = one(evaluation, "shiftwise:kubernetes:MigrationJob", "shop-migration");
            for (const resource of descendants(evaluation, component.urn)) assert.ok(isMigrationStep({ urn: resource.urn, type: resource.type, op: "update", diffs: [] } as unknown as ResourceStep, "shop"), resource.urn);
        });

        for (const [from, to] of [[{ blue: 90, green: 10 }, { blue: 50, green: 50 }], [{ blue: 50, green: 50 }, { blue: 0, green: 100 }]] as const) {
            it(`a traffic step ${from.green} -> ${to.green} still changes only the forwarding listener`, async () => {
                const before = await evaluate(withFields(migratingConfig(stack), "traffic", from), stack);
                const after = await evaluate(withFields(migratingConfig(stack), "traffic", to), stack);
                const changes = effectiveChanges(diffGraphs(before.resources, after.resources));
                assert.deepStrictEqual(changes.map((change) => [change.type, change.op]), [["aws:lb/listener:Listener", "update"]]);
            });
        }

        it("a new migration image (the next release) updates only the CronJob's template", async () => {
            const after = await evaluate(migratingConfig(stack, { image: V160 }), stack);
            const changes = effectiveChanges(diffGraphs(evaluation.resources, after.resources));
            assert.deepStrictEqual(changes.map((change) => [change.type, change.op]), [[CRON_JOB, "update"]]);
            assert.strictEqual(jobSpec(after).template.spec.containers[0].image, V160);
        });

        it("a colour's numeric user is the migration's, when the migration runs that colour's image", async () => {
            const after = await evaluate(withFields(migratingConfig(stack), "green", { user: "1000:2000" }), stack);
            assert.deepStrictEqual(jobSpec(after).template.spec.securityContext, { runAsNonRoot: true, runAsUser: 1000, runAsGroup: 2000, fsGroup: 2000, seccompProfile: { type: "RuntimeDefault" } });
        });
    });
}

describe("migration Job template without a release under way", () => {
    it("is not declared until an image is known, like ECS's task definition", async () => {
        const evaluation = await evaluate(withFields(stackConfig("eks-staging"), "database", { migration: { command: MIGRATE } }), "eks-staging");
        assert.deepStrictEqual([ofType(evaluation, CRON_JOB).length, evaluation.outputs.migration], [0, null]);
    });
});
