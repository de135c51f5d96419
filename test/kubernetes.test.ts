// Tests of Kubernetes colours: the config section, the exact objects each colour declares, secrets through the CSI driver, and the example stack.
import * as assert from "assert";
import { execFile } from "child_process";
import * as path from "path";
import { promisify } from "util";
import { DescribeClusterCommand, EKSClient } from "@aws-sdk/client-eks";
import { mockClient } from "aws-sdk-client-mock";
import { EksClusterApi, eksToken } from "../ports/eksApi";
import { platformPrerequisiteProblems } from "../rollout/prerequisites";
import { csiSecretObjects, parseSecretReference, secretReadResources } from "../components/secretsStore";
import { cpuQuantity, shutdownTimings, versionLabel } from "../components/kubernetesColour";
import { secretReadPolicy } from "../components/kubernetesEnvironment";
import { evaluateProgram } from "../evaluation/mockRuntime";
import { ConfigError, kubeconfigProblems, parseStackConfig, shiftwiseSections } from "../config";
import { ConfigMap, EXAMPLE_STACKS, PROJECT_DIR, ProgramEvaluation, evaluate, evaluateFailure, ofType, one, stackConfig, unwrap, withFields, withSection } from "./harness";

const DEPLOYMENT = "kubernetes:apps/v1:Deployment";
const SERVICE = "kubernetes:core/v1:Service";
const BINDING = "kubernetes:elbv2.k8s.aws/v1beta1:TargetGroupBinding";
const PDB = "kubernetes:policy/v1:PodDisruptionBudget";
const PROVIDER = "pulumi:providers:kubernetes";
const PROVIDER_CLASS = "kubernetes:secrets-store.csi.x-k8s.io/v1:SecretProviderClass";

function sections(edit: (s: Record<string, any>) => void = () => undefined): Record<string, any> {
    const result = shiftwiseSections(stackConfig("eks-staging")) as Record<string, any>;
    edit(result);
    return result;
}

function problems(edit: (s: Record<string, any>) => void): readonly string[] {
    try {
        parseStackConfig(sections(edit));
    } catch (error) {
        if (error instanceof ConfigError) return error.problems;
        throw error;
    }
    return [];
}

const FIX_SG =
    "use the cluster security group (aws eks describe-cluster --query cluster.resourcesVpcConfig.clusterSecurityGroupId), the node group's or a pod security group";

const INVALID: [string, (s: Record<string, any>) => void, string[]][] = [
    [
        "a cluster name EKS would reject",
        (s) => (s.kubernetes.clusterName = "-platform"),
        ['shiftwise:kubernetes.clusterName = "-platform": must be an EKS cluster name: letters, digits, - and _, starting with a letter or digit; copy it from `aws eks list-clusters`'],
    ],
    [
        "a cluster name over 100 characters",
        (s) => (s.kubernetes.clusterName = "c".repeat(101)),
        [`shiftwise:kubernetes.clusterName = "${"c".repeat(76)}...: must be at most 100 characters, the EKS limit for cluster names; copy it from \`aws eks list-clusters\``],
    ],
    [
        "a namespace that is not a DNS label",
        (s) => (s.kubernetes.namespace = "Shop_Staging"),
        ['shiftwise:kubernetes.namespace = "Shop_Staging": must be a DNS-1123 label: lowercase letters, digits and -, starting and ending with a letter or digit; e.g. shop'],
    ],
    [
        "a namespace over 63 characters",
        (s) => (s.kubernetes.namespace = "n".repeat(64)),
        [`shiftwise:kubernetes.namespace = "${"n".repeat(64)}": must be at most 63 characters (a DNS-1123 label); shorten it`],
    ],
    [
        "a security group id that is not one",
        (s) => (s.kubernetes.securityGroupId = "sg-123"),
        [`shiftwise:kubernetes.securityGroupId = "sg-123": must be a security group id like sg-0123456789abcdef0; ${FIX_SG}`],
    ],
    [
        "a context without a kubeconfig",
        (s) => (s.kubernetes.context = "platform-staging"),
        [
            'shiftwise:kubernetes.context = "platform-staging": selects a context inside kubeconfig, but kubeconfig is not set; shiftwise never falls back to the ambient ~/.kube/config: set kubeconfig, or remove context to use a kubeconfig built from clusterName',
        ],
    ],
    [
        "an empty kubeconfig",
        (s) => (s.kubernetes.kubeconfig = ""),
        ['shiftwise:kubernetes.kubeconfig = "": must not be empty; remove it to let shiftwise build a kubeconfig from clusterName'],
    ],
    [
        "a misspelt key",
        (s) => (s.kubernetes.namspace = "shop"),
        ["shiftwise:kubernetes.namspace: is not a known key; remove it or fix its spelling (known keys: clusterName, kubeconfig, context, namespace, createNamespace, securityGroupId)"],
    ],
    [
        "a missing cluster, namespace and security group",
        (s) => (s.kubernetes = {}),
        [
            "shiftwise:kubernetes.clusterName is missing: must be the EKS cluster's name; copy it from `aws eks list-clusters`",
            "shiftwise:kubernetes.namespace is missing: must be a Kubernetes namespace name, e.g. shop",
            `shiftwise:kubernetes.securityGroupId is missing: must be a security group id like sg-0123456789abcdef0; ${FIX_SG}`,
        ],
    ],
    [
        "the section on an ECS stack",
        (s) => (s.service.platform = "ecs"),
        ['shiftwise:kubernetes: is set, but shiftwise:service.platform is "ecs", which ignores it; set platform to "kubernetes" or remove shiftwise:kubernetes'],
    ],
    [
        "an unknown platform",
        (s) => (s.service.platform = "lambda"),
        ['shiftwise:service.platform = "lambda": must be "ecs" (Fargate) or "kubernetes" (an existing EKS cluster, with shiftwise:kubernetes)'],
    ],
    [
        "a user name on Kubernetes, which needs numbers",
        (s) => (s.green.user = "app"),
        ['shiftwise:green.user = "app": Kubernetes runs containers as a numeric uid[:gid] so it can prove they are not root; use e.g. 1000:1000'],
    ],
    [
        "a Kubernetes stack without its section and named users, all at once (its migration is accepted)",
        (s) => {
            delete s.kubernetes;
            s.database.migration = { command: ["npm", "run", "migrate"] };
            s.blue.user = "app";
            s.green.user = "1000:www";
        },
        [
            'shiftwise:kubernetes is missing: shiftwise:service.platform is "kubernetes", so shiftwise needs the cluster; set { clusterName, namespace, securityGroupId } (see README, Kubernetes colours) or set platform to "ecs"',
            'shiftwise:blue.user = "app": Kubernetes runs containers as a numeric uid[:gid] so it can prove they are not root; use e.g. 1000:1000',
            'shiftwise:green.user = "1000:www": Kubernetes runs containers as a numeric uid[:gid] so it can prove they are not root; use e.g. 1000:1000',
        ],
    ],
];

describe("config validation: shiftwise:kubernetes", () => {
    it("accepts the example EKS stack and fills the defaults", () => {
        assert.deepStrictEqual(parseStackConfig(sections()).kubernetes, {
            clusterName: "platform-staging",
            namespace: "shop-staging",
            createNamespace: true,
            securityGroupId: "sg-0a1b2c3d4e5f60718",
        });
    });

    for (const [what, edit, expected] of INVALID) {
        it(`rejects ${what} with the exact message`, () => assert.deepStrictEqual(problems(edit), expected));
    }

    it("reports every Kubernetes problem at once, with the other sections' problems", () => {
        assert.deepStrictEqual(
            problems((s) => {
                s.kubernetes = { clusterName: "-x", namespace: "A", securityGroupId: "sg-1", context: "c" };
                s.traffic = { blue: 50, green: 40 };
            }),
            [
                "shiftwise:traffic: blue (50) + green (40) = 90; weights must sum to 100",
                'shiftwise:kubernetes.clusterName = "-x": must be an EKS cluster name: letters, digits, - and _, starting with a letter or digit; copy it from `aws eks list-clusters`',
                'shiftwise:kubernetes.namespace = "A": must be a DNS-1123 label: lowercase letters, digits and -, starting and ending with a letter or digit; e.g. shop',
                `shiftwise:kubernetes.securityGroupId = "sg-1": must be a security group id like sg-0123456789abcdef0; ${FIX_SG}`,
                'shiftwise:kubernetes.context = "c": selects a context inside kubeconfig, but kubeconfig is not set; shiftwise never falls back to the ambient ~/.kube/config: set kubeconfig, or remove context to use a kubeconfig built from clusterName',
            ],
        );
    });

    it("refuses a kubeconfig that holds credentials unless it is a Pulumi secret", () => {
        const withToken = { ...parseStackConfig(sections()).kubernetes!, kubeconfig: "users:\n- name: ci\n  user:\n    token: abc\n" };
        assert.deepStrictEqual(kubeconfigProblems(withToken, false), [
            "shiftwise:kubernetes.kubeconfig holds credentials (token) in plain text; store it as a secret: `pulumi config set --secret --path shiftwise:kubernetes.kubeconfig < kubeconfig.yaml`, or use an exec kubeconfig (aws eks get-token)",
        ]);
        assert.deepStrictEqual(kubeconfigProblems(withToken, true), []);
        const withKey = { ...withToken, kubeconfig: "users:\n- user:\n    client-key-data: LS0t\n" };
        assert.match(kubeconfigProblems(withKey, false)[0], /holds credentials \(client-key-data\)/);
        const execOnly = { ...withToken, kubeconfig: "users:\n- user:\n    exec:\n      command: aws\n      args: [eks, get-token]\n" };
        assert.deepStrictEqual(kubeconfigProblems(execOnly, false), []);
    });

    it("registers no resource when the Kubernetes config is invalid, and says why", async () => {
        const failure = await evaluateFailure(withFields(stackConfig("eks-staging"), "kubernetes", { securityGroupId: "sg-zz" }), "eks-staging");
        assert.deepStrictEqual((failure.cause as ConfigError).problems, [`shiftwise:kubernetes.securityGroupId = "sg-zz": must be a security group id like sg-0123456789abcdef0; ${FIX_SG}`]);
        assert.deepStrictEqual(failure.resources, []);
    });

    it("registers no resource for a plain-text kubeconfig with a token", async () => {
        const failure = await evaluateFailure(withFields(stackConfig("eks-staging"), "kubernetes", { kubeconfig: "users:\n- user:\n    token: abc\n" }), "eks-staging");
        assert.match((failure.cause as ConfigError).problems.join("\n"), /kubeconfig holds credentials \(token\) in plain text/);
        assert.deepStrictEqual(failure.resources, []);
    });
});

describe("secret references for the Secrets Store CSI driver", () => {
    const secret = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:rds!db-1234-AbCdEf";
    it("parses ECS references: whole secrets, JSON keys, versions and SSM parameters", () => {
        assert.deepStrictEqual(parseSecretReference(secret), { arn: secret, type: "secretsmanager", jsonKey: undefined, versionStage: undefined, versionId: undefined });
        assert.deepStrictEqual(parseSecretReference(`${secret}:password::`), { arn: secret, type: "secretsmanager", jsonKey: "password", versionStage: undefined, versionId: undefined });
        assert.deepStrictEqual(parseSecretReference(`${secret}:password:AWSPREVIOUS:`), { arn: secret, type: "secretsmanager", jsonKey: "password", versionStage: "AWSPREVIOUS", versionId: undefined });
        const parameter = "arn:aws:ssm:eu-west-1:123456789012:parameter/shop/api-key";
        assert.deepStrictEqual(parseSecretReference(parameter), { arn: parameter, type: "ssmparameter" });
        assert.throws(() => parseSecretReference("plain-text-password"), /is not a Secrets Manager or SSM parameter ARN/);
        assert.throws(() => parseSecretReference("arn:aws:s3:::bucket/key"), /is not a Secrets Manager or SSM parameter ARN/);
    });

    it("fetches each secret once, with one alias per variable", () => {
        assert.deepStrictEqual(
            csiSecretObjects({ DATABASE_USER: `${secret}:username::`, DATABASE_PASSWORD: `${secret}:password::`, API_KEY: "arn:aws:ssm:eu-west-1:123456789012:parameter/shop/api-key" }),
            [
                { objectName: "arn:aws:ssm:eu-west-1:123456789012:parameter/shop/api-key", objectType: "ssmparameter", objectAlias: "API_KEY" },
                {
                    objectName: secret,
                    objectType: "secretsmanager",
                    jmesPath: [
                        { path: "password", objectAlias: "DATABASE_PASSWORD" },
                        { path: "username", objectAlias: "DATABASE_USER" },
                    ],
                },
            ],
        );
        assert.deepStrictEqual(secretReadResources({ A: `${secret}:username::`, B: `${secret}:password::`, C: "arn:aws:ssm:eu-west-1:123456789012:parameter/p" }), {
            secretsManager: [secret],
            ssm: ["arn:aws:ssm:eu-west-1:123456789012:parameter/p"],
        });
    });
});

describe("Kubernetes colour settings", () => {
    it("converts Fargate CPU units to millicores", () => assert.deepStrictEqual([256, 512, 1024, 4096].map(cpuQuantity), ["250m", "500m", "1000m", "4000m"]));
    it("drains longer than the deregistration delay, and stops after the drain", () => {
        assert.deepStrictEqual(shutdownTimings(30), { preStopSeconds: 30, terminationGracePeriodSeconds: 60 });
        assert.deepStrictEqual(shutdownTimings(0), { preStopSeconds: 5, terminationGracePeriodSeconds: 35 });
        assert.deepStrictEqual(shutdownTimings(300), { preStopSeconds: 300, terminationGracePeriodSeconds: 330 });
    });
    it("turns versions into label values", async () => {
        assert.strictEqual(await unwrap(versionLabel("v1.5.0+build/7")), "v1.5.0_build_7");
        assert.strictEqual(await unwrap(versionLabel("_x_")), "x");
    });
});

for (const stack of ["eks-staging", "eks-production"]) {
    const protect = stack === "eks-production";
    describe(`Kubernetes colours (${stack})`, () => {
        let config: ConfigMap;
        let evaluation: ProgramEvaluation;
        const kubernetes = () => JSON.parse(config["shiftwise:kubernetes"]);
        const spec = (colour: string) => one(evaluation, DEPLOYMENT, `shop-${colour}`).inputs.spec as any;

        before(async () => {
            config = stackConfig(stack);
            evaluation = await evaluate(config, stack);
        });

        it("declares one explicit Kubernetes provider, built from the EKS cluster's endpoint and CA, and every object uses it", () => {
            const provider = one(evaluation, PROVIDER);
            const kubeconfig = JSON.parse(String(provider.inputs.kubeconfig));
            assert.strictEqual(kubeconfig["current-context"], "platform-staging");
            assert.match(kubeconfig.clusters[0].cluster.server, /^https:\/\/[0-9A-F]+\.gr7\.eu-west-1\.eks\.amazonaws\.com$/);
            assert.ok(kubeconfig.clusters[0].cluster["certificate-authority-data"]);
            assert.deepStrictEqual(kubeconfig.users[0].user.exec.args, ["eks", "get-token", "--cluster-name", "platform-staging", "--region", "eu-west-1", "--output", "json"]);
            assert.strictEqual(provider.inputs.clusterIdentifier, "platform-staging");
            assert.strictEqual(provider.inputs.namespace, kubernetes().namespace);
            const objects = evaluation.resources.filter((r) => r.custom && r.type.startsWith("kubernetes:"));
            assert.ok(objects.length >= 9);
            for (const object of objects) assert.strictEqual(object.options.provider?.split("::").slice(0, -1).join("::"), provider.urn, object.urn);
        });

        it("creates the namespace with the controller's pod readiness gate label", () => {
            const namespace = one(evaluation, "kubernetes:core/v1:Namespace");
            assert.deepStrictEqual((namespace.inputs.metadata as any).labels, {
                "app.kubernetes.io/managed-by": "shiftwise",
                "app.kubernetes.io/name": "shop",
                "elbv2.k8s.aws/pod-readiness-gate-inject": "enabled",
            });
            assert.strictEqual((namespace.inputs.metadata as any).name, kubernetes().namespace);
        });

        it("runs each colour's version as a Deployment with its count, sized requests and limits, and probes on the health check path", () => {
            for (const colour of ["blue", "green"]) {
                const settings = JSON.parse(config[`shiftwise:${colour}`]);
                const deployment = spec(colour);
                assert.strictEqual(deployment.replicas, settings.desiredCount);
                assert.deepStrictEqual(deployment.selector, { matchLabels: { "app.kubernetes.io/name": "shop", "shiftwise.dev/colour": colour } });
                assert.deepStrictEqual(deployment.strategy, { type: "RollingUpdate", rollingUpdate: { maxUnavailable: 0, maxSurge: "100%" } });
                const [container] = deployment.template.spec.containers;
                assert.strictEqual(container.image, settings.image);
                assert.deepStrictEqual(container.ports, [{ name: "http", containerPort: 8080, protocol: "TCP" }]);
                assert.deepStrictEqual(container.resources, { requests: { cpu: "500m", memory: "1024Mi" }, limits: { cpu: "500m", memory: "1024Mi" } });
                const httpGet = { path: "/healthz", port: "http", scheme: "HTTP" };
                assert.deepStrictEqual(container.readinessProbe, { httpGet, initialDelaySeconds: 0, periodSeconds: 15, timeoutSeconds: 5, failureThreshold: 3 });
                assert.deepStrictEqual(container.livenessProbe, { httpGet, initialDelaySeconds: 60, periodSeconds: 15, timeoutSeconds: 5, failureThreshold: 6 });
                assert.deepStrictEqual(
                    container.env.filter((e: { name: string }) => e.name.startsWith("SHIFTWISE_")),
                    [{ name: "SHIFTWISE_COLOUR", value: colour }, { name: "SHIFTWISE_VERSION", value: settings.version }],
                );
                assert.deepStrictEqual(deployment.template.spec.nodeSelector, { "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64" });
            }
        });

        it("drains through the deregistration delay: a preStop pause of 30 s and 60 s of grace", () => {
            for (const colour of ["blue", "green"]) {
                const pod = spec(colour).template.spec;
                assert.deepStrictEqual(pod.containers[0].lifecycle, { preStop: { sleep: { seconds: 30 } } });
                assert.strictEqual(pod.terminationGracePeriodSeconds, 60);
            }
        });

        it("runs restricted: non-root, no privilege escalation, read-only root with a scratch volume, no capabilities, RuntimeDefault seccomp", () => {
            for (const colour of ["blue", "green"]) {
                const pod = spec(colour).template.spec;
                assert.deepStrictEqual(pod.securityContext, { runAsNonRoot: true, runAsUser: 10001, runAsGroup: 10001, fsGroup: 10001, seccompProfile: { type: "RuntimeDefault" } });
                assert.strictEqual(pod.automountServiceAccountToken, false);
                const container = pod.containers[0];
                assert.deepStrictEqual(container.securityContext, {
                    allowPrivilegeEscalation: false,
                    privileged: false,
                    readOnlyRootFilesystem: true,
                    runAsNonRoot: true,
                    capabilities: { drop: ["ALL"] },
                    seccompProfile: { type: "RuntimeDefault" },
                });
                assert.deepStrictEqual(container.volumeMounts[0], { name: "scratch", mountPath: "/tmp" });
                assert.deepStrictEqual(pod.volumes[0], { name: "scratch", emptyDir: { sizeLimit: "256Mi" } });
            }
        });

        it("spreads each colour's pods over zones and nodes", () => {
            for (const colour of ["blue", "green"]) {
                const labelSelector = { matchLabels: { "app.kubernetes.io/name": "shop", "shiftwise.dev/colour": colour } };
                assert.deepStrictEqual(spec(colour).template.spec.topologySpreadConstraints, [
                    { maxSkew: 1, topologyKey: "topology.kubernetes.io/zone", whenUnsatisfiable: "ScheduleAnyway", labelSelector },
                    { maxSkew: 1, topologyKey: "kubernetes.io/hostname", whenUnsatisfiable: "ScheduleAnyway", labelSelector },
                ]);
            }
        });

        it("binds each colour's Service to its own target group as ip targets, and the Deployment waits for the binding and the listener", () => {
            const listener = one(evaluation, "aws:lb/listener:Listener", "shop");
            for (const colour of ["blue", "green"]) {
                const service = one(evaluation, SERVICE, `shop-${colour}`);
                assert.deepStrictEqual((service.inputs.spec as any), {
                    type: "ClusterIP",
                    selector: { "app.kubernetes.io/name": "shop", "shiftwise.dev/colour": colour },
                    ports: [{ name: "http", port: 8080, targetPort: "http", protocol: "TCP" }],
                });
                const binding = one(evaluation, BINDING, `shop-${colour}`);
                const targetGroup = one(evaluation, "aws:lb/targetGroup:TargetGroup", `shop-${colour}`);
                const bindingSpec = binding.inputs.spec as any;
                assert.strictEqual(binding.inputs.apiVersion, "elbv2.k8s.aws/v1beta1");
                assert.deepStrictEqual(bindingSpec.serviceRef, { name: `shop-${colour}`, port: 8080 });
                assert.strictEqual(bindingSpec.targetGroupARN, targetGroup.state.arn);
                assert.strictEqual(bindingSpec.targetType, "ip");
                assert.strictEqual(targetGroup.inputs.targetType, "ip");
                const deployment = one(evaluation, DEPLOYMENT, `shop-${colour}`);
                assert.ok(deployment.options.dependencies.includes(binding.urn), "the Deployment must wait for its TargetGroupBinding");
                assert.ok(deployment.options.dependencies.includes(listener.urn), "the Deployment must wait for the forwarding listener");
            }
        });

        it(`declares PodDisruptionBudgets ${protect ? "for both colours" : "for neither colour"}`, () => {
            const budgets = ofType(evaluation, PDB);
            if (!protect) return assert.deepStrictEqual(budgets, []);
            assert.deepStrictEqual(
                budgets.map((b) => [b.name, b.inputs.spec]),
                ["blue", "green"].map((colour) => [
                    `shop-${colour}`,
                    { maxUnavailable: 1, selector: { matchLabels: { "app.kubernetes.io/name": "shop", "shiftwise.dev/colour": colour } }, unhealthyPodEvictionPolicy: "AlwaysAllow" },
                ]),
            );
        });

        it("passes the database's managed secret through the CSI driver with the pods' own identity, never in plain text", () => {
            const secretArn = (one(evaluation, "aws:rds/instance:Instance").state.masterUserSecrets as { secretArn: string }[])[0].secretArn;
            const providerClass = one(evaluation, PROVIDER_CLASS);
            const classSpec = providerClass.inputs.spec as any;
            assert.strictEqual(classSpec.provider, "aws");
            assert.strictEqual(classSpec.parameters.usePodIdentity, "true");
            assert.deepStrictEqual(JSON.parse(classSpec.parameters.objects), [
                { objectName: secretArn, objectType: "secretsmanager", jmesPath: [{ path: "password", objectAlias: "DATABASE_PASSWORD" }, { path: "username", objectAlias: "DATABASE_USER" }] },
            ]);
            assert.deepStrictEqual(classSpec.secretObjects, [
                { secretName: "shop-secrets", type: "Opaque", data: [{ objectName: "DATABASE_PASSWORD", key: "DATABASE_PASSWORD" }, { objectName: "DATABASE_USER", key: "DATABASE_USER" }] },
            ]);
            const policy = JSON.parse(String(one(evaluation, "aws:iam/rolePolicy:RolePolicy", "shop-pods").inputs.policy));
            assert.deepStrictEqual(policy.Statement, [{ Sid: "Secrets", Effect: "Allow", Action: ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"], Resource: [secretArn] }]);
            const role = one(evaluation, "aws:iam/role:Role", "shop-pods");
            assert.deepStrictEqual(JSON.parse(String(role.inputs.assumeRolePolicy)).Statement, [
                { Effect: "Allow", Principal: { Service: "pods.eks.amazonaws.com" }, Action: ["sts:AssumeRole", "sts:TagSession"] },
            ]);
            const association = one(evaluation, "aws:eks/podIdentityAssociation:PodIdentityAssociation");
            assert.deepStrictEqual([association.inputs.clusterName, association.inputs.namespace, association.inputs.serviceAccount, association.inputs.roleArn], [
                "platform-staging",
                kubernetes().namespace,
                "shop",
                role.state.arn,
            ]);
            const instance = one(evaluation, "aws:rds/instance:Instance").state;
            for (const colour of ["blue", "green"]) {
                const container = spec(colour).template.spec.containers[0];
                const environment = Object.fromEntries(container.env.map((e: { name: string; value?: string; valueFrom?: unknown }) => [e.name, e.value ?? e.valueFrom]));
                assert.deepStrictEqual([environment.DATABASE_HOST, environment.DATABASE_PORT, environment.DATABASE_NAME], [instance.address, "5432", "shop"]);
                assert.deepStrictEqual(environment.DATABASE_PASSWORD, { secretKeyRef: { name: "shop-secrets", key: "DATABASE_PASSWORD" } });
                assert.deepStrictEqual(environment.DATABASE_USER, { secretKeyRef: { name: "shop-secrets", key: "DATABASE_USER" } });
                assert.deepStrictEqual(spec(colour).template.spec.volumes[1], {
                    name: "secrets-store",
                    csi: { driver: "secrets-store.csi.k8s.io", readOnly: true, volumeAttributes: { secretProviderClass: "shop-secrets" } },
                });
            }
        });

        it("judges healthy hosts against the Kubernetes Service's running pods (Container Insights), not a configured count", () => {
            for (const colour of ["blue", "green"]) {
                const alarm = one(evaluation, "aws:cloudwatch/metricAlarm:MetricAlarm", `shop-${colour}-alarms-healthy-hosts`);
                const desired = (alarm.inputs.metricQueries as any[]).find((query) => query.id === "desired");
                assert.deepStrictEqual(desired.metric, {
                    namespace: "ContainerInsights",
                    metricName: "service_number_of_running_pods",
                    stat: "Maximum",
                    period: 60,
                    dimensions: { ClusterName: "platform-staging", Namespace: kubernetes().namespace, Service: `shop-${colour}` },
                });
                assert.match(String(alarm.inputs.alarmDescription), /fewer healthy targets than the Kubernetes Service's running pods while it serves requests/);
            }
            assert.deepStrictEqual(ofType(evaluation, "aws:ecs/cluster:Cluster"), []);
        });

        it("exports the platform, the EKS cluster and namespace, and each colour's Deployment", () => {
            const outputs = evaluation.outputs as Record<string, any>;
            assert.deepStrictEqual([outputs.platform, outputs.clusterName, outputs.kubernetesNamespace], ["kubernetes", "platform-staging", kubernetes().namespace]);
            assert.deepStrictEqual([outputs.blue.serviceName, outputs.green.serviceName], ["shop-blue", "shop-green"]);
            assert.deepStrictEqual([outputs.blue.securityGroupId, outputs.green.securityGroupId], [kubernetes().securityGroupId, kubernetes().securityGroupId]);
        });
    });
}

describe("Kubernetes colours: options", () => {
    it("uses a given kubeconfig and context as a secret, and labels an existing namespace instead of creating it", async () => {
        const base = withFields(stackConfig("eks-staging"), "kubernetes", { kubeconfig: "apiVersion: v1\nkind: Config\n", context: "ci", createNamespace: false });
        const evaluation = await evaluateWithSecret(base);
        const provider = one(evaluation, PROVIDER);
        assert.deepStrictEqual(provider.inputs.kubeconfig, { __secret: "apiVersion: v1\nkind: Config\n" });
        assert.strictEqual(provider.inputs.context, "ci");
        assert.deepStrictEqual(ofType(evaluation, "kubernetes:core/v1:Namespace"), []);
        const patch = one(evaluation, "kubernetes:core/v1:NamespacePatch");
        assert.strictEqual((patch.inputs.metadata as any).labels["elbv2.k8s.aws/pod-readiness-gate-inject"], "enabled");
    });

    it("runs a colour as its numeric user, and lets it opt out of the read-only root filesystem, without touching the other colour", async () => {
        const evaluation = await evaluate(withFields(stackConfig("eks-staging"), "green", { user: "1000:2000", readonlyRootFilesystem: false }), "eks-staging");
        const pod = (colour: string) => (one(evaluation, DEPLOYMENT, `shop-${colour}`).inputs.spec as any).template.spec;
        assert.deepStrictEqual(pod("green").securityContext, { runAsNonRoot: true, runAsUser: 1000, runAsGroup: 2000, fsGroup: 2000, seccompProfile: { type: "RuntimeDefault" } });
        assert.strictEqual(pod("green").containers[0].securityContext.readOnlyRootFilesystem, false);
        assert.strictEqual(pod("blue").securityContext.runAsUser, 10001);
        assert.strictEqual(pod("blue").containers[0].securityContext.readOnlyRootFilesystem, true);
    });

    it("runs ARM64 images on arm64 nodes", async () => {
        const evaluation = await evaluate(withFields(stackConfig("eks-staging"), "green", { cpuArchitecture: "ARM64" }), "eks-staging");
        const arch = (colour: string) => (one(evaluation, DEPLOYMENT, `shop-${colour}`).inputs.spec as any).template.spec.nodeSelector["kubernetes.io/arch"];
        assert.deepStrictEqual([arch("blue"), arch("green")], ["amd64", "arm64"]);
    });

    it("declares no pod role or SecretProviderClass without secrets", async () => {
        const evaluation = await evaluate(withSection(stackConfig("eks-staging"), "database", undefined), "eks-staging");
        // The AWS-side guard's function role (shop-guard) is the stack's, not the pods'.
        assert.deepStrictEqual([PROVIDER_CLASS, "aws:eks/podIdentityAssociation:PodIdentityAssociation", "aws:iam/role:Role"].map((type) => ofType(evaluation, type).filter((resource) => resource.name !== "shop-guard").length), [0, 0, 0]);
        assert.deepStrictEqual((one(evaluation, DEPLOYMENT, "shop-blue").inputs.spec as any).template.spec.volumes, [{ name: "scratch", emptyDir: { sizeLimit: "256Mi" } }]);
    });
});

describe("the pod role decrypts the secrets' customer-managed keys", function () {
    this.timeout(60_000);
    const SSM = "arn:aws:ssm:eu-west-1:123456789012:parameter/shop/stripe-key";
    const EXISTING = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:shop/sentry-AbCdEf";
    const KEY = "arn:aws:kms:eu-west-1:123456789012:key/0b5e2f7a-3c1d-4e8f-9a6b-2d4c6e8f0a1b";
    const OTHER_KEY = "arn:aws:kms:eu-west-1:123456789012:key/1c6f3a8b-4d2e-5f90-ab7c-3e5d7f9a1b2c";
    const READ = ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"];

    it("a secret environment and service.secrets: exactly the secrets, the parameter and the keys, decrypting only through Secrets Manager and Parameter Store", async () => {
        const config = withFields(stackConfig("eks-staging"), "service", {
            environment: { API_TOKEN: "s3cr3t-value" },
            secrets: { STRIPE_KEY: SSM, SENTRY_DSN: `${EXISTING}:dsn::` },
            secretsKmsKeyArns: [OTHER_KEY, KEY],
        });
        const evaluation = await evaluateProgram({ project: "shiftwise", stack: "eks-staging", config, secretKeys: ["shiftwise:service"], programDir: PROJECT_DIR });
        const environmentSecret = one(evaluation, "aws:secretsmanager/secret:Secret", "shop-env").state.arn as string;
        const environmentKey = one(evaluation, "aws:kms/key:Key", "shop-env").state.arn as string;
        const databaseSecret = (one(evaluation, "aws:rds/instance:Instance").state.masterUserSecrets as { secretArn: string }[])[0].secretArn;
        const policy = JSON.parse(String(one(evaluation, "aws:iam/rolePolicy:RolePolicy", "shop-pods").inputs.policy));
        assert.deepStrictEqual(policy, {
            Version: "2012-10-17",
            Statement: [
                { Sid: "Secrets", Effect: "Allow", Action: READ, Resource: [databaseSecret, environmentSecret, EXISTING].sort() },
                { Sid: "Parameters", Effect: "Allow", Action: ["ssm:GetParameters"], Resource: [SSM] },
                {
                    Sid: "SecretKeys",
                    Effect: "Allow",
                    Action: ["kms:Decrypt"],
                    Resource: [environmentKey, KEY, OTHER_KEY].sort(),
                    Condition: { StringEquals: { "kms:ViaService": ["secretsmanager.eu-west-1.amazonaws.com", "ssm.eu-west-1.amazonaws.com"] } },
                },
            ],
        });
        // The role the policy is attached to is the one the pods assume.
        const role = one(evaluation, "aws:iam/role:Role", "shop-pods");
        assert.match(String(role.state.id), /^shop-pods-/);
        assert.strictEqual(one(evaluation, "aws:iam/rolePolicy:RolePolicy", "shop-pods").inputs.role, role.state.id);
        assert.strictEqual(one(evaluation, "aws:eks/podIdentityAssociation:PodIdentityAssociation").inputs.roleArn, role.state.arn);
    });

    it("secretReadPolicy: each key once, ViaService only for the services and regions the references name, no grant without references", () => {
        const statements = (secrets: Record<string, string>, keys: string[]) => JSON.parse(secretReadPolicy(secrets, keys)).Statement;
        const keysVia = (services: string[]) => ({ Sid: "SecretKeys", Effect: "Allow", Action: ["kms:Decrypt"], Resource: [KEY], Condition: { StringEquals: { "kms:ViaService": services } } });
        assert.deepStrictEqual(statements({ A: EXISTING }, [KEY, KEY]), [{ Sid: "Secrets", Effect: "Allow", Action: READ, Resource: [EXISTING] }, keysVia(["secretsmanager.eu-west-1.amazonaws.com"])]);
        assert.deepStrictEqual(statements({ A: SSM.replace("eu-west-1", "us-east-1") }, [KEY]), [
            { Sid: "Parameters", Effect: "Allow", Action: ["ssm:GetParameters"], Resource: [SSM.replace("eu-west-1", "us-east-1")] },
            keysVia(["ssm.us-east-1.amazonaws.com"]),
        ]);
        // Without customer keys (the RDS secret's aws/secretsmanager key) there is no KMS statement at all.
        assert.deepStrictEqual(statements({ A: EXISTING }, []), [{ Sid: "Secrets", Effect: "Allow", Action: READ, Resource: [EXISTING] }]);
        assert.deepStrictEqual(statements({}, [KEY]), [{ Sid: "Nothing", Effect: "Deny", Action: ["secretsmanager:GetSecretValue"], Resource: "*" }]);
    });
});

/** Evaluates with `shiftwise:kubernetes` marked secret, as `pulumi config set --secret --path` leaves it. */
async function evaluateWithSecret(config: ConfigMap): Promise<ProgramEvaluation> {
    const { evaluateProgram } = await import("../evaluation/mockRuntime");
    return evaluateProgram({ project: "shiftwise", stack: "eks-staging", config, secretKeys: ["shiftwise:kubernetes"], programDir: PROJECT_DIR });
}

describe("the EKS example stack", () => {
    it("is evaluated by `shiftwise plan --config-file` as a separate process", async function () {
        this.timeout(120_000);
        const file = path.relative(PROJECT_DIR, EXAMPLE_STACKS["eks-staging"]);
        const { stdout, stderr } = await promisify(execFile)(process.execPath, [path.join(PROJECT_DIR, "bin", "shiftwise.js"), "plan", "--stack", "staging", "--config-file", file], { cwd: PROJECT_DIR });
        assert.strictEqual(stderr, "");
        assert.match(stdout, /^shiftwise plan: stack staging of project shiftwise \(Pulumi\.eks-staging\.yaml\), region eu-west-1$/m);
        assert.match(stdout, /^ {4}shiftwise:kubernetes:KubernetesColour shop-green$/m);
        assert.match(stdout, /kubernetes:elbv2\.k8s\.aws\/v1beta1:TargetGroupBinding shop-blue/);
        assert.match(stdout, /aws:lb\/listener:Listener shop  HTTPS:443 ELBSecurityPolicy-TLS13-1-2-2021-06 -> forward shop-blue=90 shop-green=10, stickiness off/);
    });
});

describe("shiftwise:kubernetes values at their edges (exact messages)", () => {
    const kubernetesProblems = (fields: Record<string, unknown>) => problems((s) => (s.kubernetes = { ...s.kubernetes, ...fields }));
    it("anchors every pattern: a valid prefix with a bad tail, a bad head, the shortest and the longer forms", () => {
        assert.deepStrictEqual(kubernetesProblems({ clusterName: "platform!" }), [
            'shiftwise:kubernetes.clusterName = "platform!": must be an EKS cluster name: letters, digits, - and _, starting with a letter or digit; copy it from `aws eks list-clusters`',
        ]);
        assert.deepStrictEqual(kubernetesProblems({ namespace: "shop-" }), [
            'shiftwise:kubernetes.namespace = "shop-": must be a DNS-1123 label: lowercase letters, digits and -, starting and ending with a letter or digit; e.g. shop',
        ]);
        for (const securityGroupId of ["xsg-0123456789abcdef0", "sg-0123456789abcdef0x", "sg-012345678"]) {
            assert.deepStrictEqual(kubernetesProblems({ securityGroupId }), [`shiftwise:kubernetes.securityGroupId = "${securityGroupId}": must be a security group id like sg-0123456789abcdef0; ${FIX_SG}`], securityGroupId);
        }
        assert.deepStrictEqual(kubernetesProblems({ clusterName: "p", namespace: "a", securityGroupId: "sg-01234567" }), []);
        assert.deepStrictEqual(kubernetesProblems({ clusterName: "c".repeat(100), namespace: "n".repeat(63), securityGroupId: "sg-0123456789abcdef0" }), []);
    });
    it("names the rule for values of the wrong type, an empty context and a non-boolean createNamespace", () => {
        assert.deepStrictEqual(kubernetesProblems({ kubeconfig: 5, context: 7, createNamespace: "maybe" }), [
            "shiftwise:kubernetes.kubeconfig = 5: must be the text of a kubeconfig; set it with `pulumi config set --secret --path shiftwise:kubernetes.kubeconfig < kubeconfig.yaml`",
            "shiftwise:kubernetes.context = 7: must be the name of a context in kubeconfig",
            'shiftwise:kubernetes.createNamespace = "maybe": must be true or false; true creates the namespace; false labels an existing one',
        ]);
        assert.deepStrictEqual(kubernetesProblems({ kubeconfig: "apiVersion: v1", context: "" }), ['shiftwise:kubernetes.context = "": must not be empty; name a context in kubeconfig or remove context']);
        assert.deepStrictEqual(kubernetesProblems({ kubeconfig: "apiVersion: v1", context: "platform-staging" }), []);
        assert.deepStrictEqual(problems((s) => (s.kubernetes = "platform-staging")), [
            'shiftwise:kubernetes = "platform-staging": must be an object { clusterName, namespace, securityGroupId, kubeconfig?, context? }; see README, Kubernetes colours',
        ]);
    });
    it("finds credential fields at the start of a line, indented or listed, and nowhere else", () => {
        const base = parseStackConfig(sections()).kubernetes!;
        const field = (kubeconfig: string) => kubeconfigProblems({ ...base, kubeconfig }, false).map((problem) => /holds credentials \((.*?)\)/.exec(problem)?.[1]);
        assert.deepStrictEqual(field("token: abc"), ["token"]);
        assert.deepStrictEqual(field("users:\n  - password : x"), ["password"]);
        assert.deepStrictEqual(field("users:\n-\ttoken: abc"), ["token"]);
        for (const text of ["x-token: abc", "mytoken: abc", "- xtoken: a", "name: token", "tokens: 1"]) assert.deepStrictEqual(field(text), [], text);
    });
    it("accepts numeric users on Kubernetes, uid or uid:gid, with more than one digit each", () => {
        assert.deepStrictEqual(problems((s) => ((s.blue.user = "10001"), (s.green.user = "1000:2000"))), []);
        for (const user of ["x1000", "1000x", "1000:2000x"]) {
            assert.deepStrictEqual(problems((s) => (s.blue.user = user)), [`shiftwise:blue.user = ${JSON.stringify(user)}: Kubernetes runs containers as a numeric uid[:gid] so it can prove they are not root; use e.g. 1000:1000`], user);
        }
    });
});

describe("pre-flight: the AWS Load Balancer Controller must be installed", () => {
    const eksClient = () => {
        const client = new EKSClient({ region: "eu-west-1", credentials: { accessKeyId: "AKIDEXAMPLE", secretAccessKey: "secret" } });
        mockClient(client).on(DescribeClusterCommand, { name: "platform-staging" }).resolves({
            cluster: { name: "platform-staging", status: "ACTIVE", endpoint: "https://ABC.gr7.eu-west-1.eks.amazonaws.com", certificateAuthority: { data: Buffer.from("the CA").toString("base64") } },
        });
        return client;
    };

    it("signs an EKS token as aws eks get-token does: a 60 s presigned STS GetCallerIdentity naming the cluster", async () => {
        const token = await eksToken("platform-staging", "eu-west-1", { accessKeyId: "AKIDEXAMPLE", secretAccessKey: "secret" });
        assert.match(token, /^k8s-aws-v1\.[A-Za-z0-9_-]+$/);
        const url = new URL(Buffer.from(token.slice("k8s-aws-v1.".length), "base64url").toString());
        assert.strictEqual(url.origin, "https://sts.eu-west-1.amazonaws.com");
        assert.strictEqual(url.searchParams.get("Action"), "GetCallerIdentity");
        assert.strictEqual(url.searchParams.get("Version"), "2011-06-15");
        assert.strictEqual(url.searchParams.get("X-Amz-Expires"), "60");
        assert.deepStrictEqual(url.searchParams.get("X-Amz-SignedHeaders")?.split(";"), ["host", "x-k8s-aws-id"]);
        assert.match(url.searchParams.get("X-Amz-Credential") ?? "", /^AKIDEXAMPLE\/\d{8}\/eu-west-1\/sts\/aws4_request$/);
        assert.match(url.searchParams.get("X-Amz-Signature") ?? "", /^[0-9a-f]{64}$/);
    });

    it("reads the CRD from the cluster's endpoint with its CA: 200 is installed, 404 is missing, anything else cannot tell", async () => {
        const seen: { url: string; ca: string; token: string }[] = [];
        const answers = [200, 404, 403];
        const api = new EksClusterApi(eksClient(), async ({ url, ca, token }) => {
            seen.push({ url, ca: ca.toString(), token });
            return { status: answers.shift()!, body: "{}" };
        });
        assert.strictEqual(await api.customResourceDefinitionExists("platform-staging", "targetgroupbindings.elbv2.k8s.aws"), true);
        assert.strictEqual(await api.customResourceDefinitionExists("platform-staging", "targetgroupbindings.elbv2.k8s.aws"), false);
        await assert.rejects(
            api.customResourceDefinitionExists("platform-staging", "targetgroupbindings.elbv2.k8s.aws"),
            /^Error: cannot read CRD targetgroupbindings\.elbv2\.k8s\.aws in EKS cluster platform-staging \(HTTP 403\): give the deploy role an EKS access entry that may get customresourcedefinitions$/,
        );
        assert.deepStrictEqual(seen[0].url, "https://ABC.gr7.eu-west-1.eks.amazonaws.com/apis/apiextensions.k8s.io/v1/customresourcedefinitions/targetgroupbindings.elbv2.k8s.aws");
        assert.strictEqual(seen[0].ca, "the CA");
        assert.match(seen[0].token, /^k8s-aws-v1\./);
    });

    it("cannot tell without the cluster's endpoint or CA, and asks for an access entry only on 401 and 403", async () => {
        const clusterAnswering = (cluster: Record<string, unknown> | undefined) => {
            const client = new EKSClient({ region: "eu-west-1", credentials: { accessKeyId: "AKIDEXAMPLE", secretAccessKey: "secret" } });
            mockClient(client).on(DescribeClusterCommand).resolves({ cluster });
            return client;
        };
        const never = async () => assert.fail("no request without an endpoint and a CA");
        const crd = "targetgroupbindings.elbv2.k8s.aws";
        await assert.rejects(new EksClusterApi(clusterAnswering({ status: "CREATING", certificateAuthority: { data: "Q0E=" } }), never).customResourceDefinitionExists("c1", crd), /^Error: EKS cluster c1 has no endpoint or CA yet \(status CREATING\)$/);
        await assert.rejects(new EksClusterApi(clusterAnswering({ status: "ACTIVE", endpoint: "https://x" }), never).customResourceDefinitionExists("c1", crd), /^Error: EKS cluster c1 has no endpoint or CA yet \(status ACTIVE\)$/);
        await assert.rejects(new EksClusterApi(clusterAnswering({ endpoint: "https://x", certificateAuthority: {} }), never).customResourceDefinitionExists("c1", crd), /^Error: EKS cluster c1 has no endpoint or CA yet \(status unknown\)$/);
        await assert.rejects(new EksClusterApi(clusterAnswering(undefined), never).customResourceDefinitionExists("c1", crd), /^Error: EKS cluster c1 has no endpoint or CA yet \(status unknown\)$/);
        const answering = (status: number) => new EksClusterApi(eksClient(), async () => ({ status, body: "" }));
        await assert.rejects(answering(401).customResourceDefinitionExists("platform-staging", crd), /\(HTTP 401\): give the deploy role an EKS access entry that may get customresourcedefinitions$/);
        await assert.rejects(answering(500).customResourceDefinitionExists("platform-staging", crd), /^Error: cannot read CRD targetgroupbindings\.elbv2\.k8s\.aws in EKS cluster platform-staging \(HTTP 500\)$/);
    });

    it("names the missing controller, asks nothing of ECS stacks, and refuses when it cannot tell", async () => {
        const eks = parseStackConfig(sections());
        const ecs = parseStackConfig(shiftwiseSections(stackConfig("staging")));
        const asked: string[] = [];
        const port = (answer: boolean | Error) => ({
            customResourceDefinitionExists: async (cluster: string, crd: string) => {
                asked.push(`${cluster} ${crd}`);
                if (answer instanceof Error) throw answer;
                return answer;
            },
        });
        assert.deepStrictEqual(await platformPrerequisiteProblems(ecs, port(false)), []);
        assert.deepStrictEqual(asked, []);
        assert.deepStrictEqual(await platformPrerequisiteProblems(eks, port(true)), []);
        assert.deepStrictEqual(await platformPrerequisiteProblems(eks, port(false)), [
            "the AWS Load Balancer Controller is not installed in EKS cluster platform-staging: its CRD targetgroupbindings.elbv2.k8s.aws is missing, so no pod would be registered in a target group; install the controller (README, Kubernetes colours: prerequisites) and deploy again",
        ]);
        assert.deepStrictEqual(await platformPrerequisiteProblems(eks, port(new Error("HTTP 403"))), [
            "cannot check that the AWS Load Balancer Controller is installed in EKS cluster platform-staging: HTTP 403",
        ]);
        assert.deepStrictEqual(asked, Array(3).fill("platform-staging targetgroupbindings.elbv2.k8s.aws"));
    });
});
