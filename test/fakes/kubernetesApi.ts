// A fake Kubernetes API server over real HTTPS on 127.0.0.1 (the committed self-signed test certificate in tls/): CronJobs, Jobs whose pods follow a script, pods by label selector, deletes; plus the EKS client that points at it.
import * as fs from "fs";
import * as https from "https";
import * as path from "path";
import { AddressInfo } from "net";
import { DescribeClusterCommand, EKSClient } from "@aws-sdk/client-eks";
import { mockClient } from "aws-sdk-client-mock";

const TLS = path.join(__dirname, "tls");
/** The fake API server's certificate (self-signed for IP 127.0.0.1, test only) and one of someone else. */
export const API_SERVER_CA = fs.readFileSync(path.join(TLS, "apiserver.crt"));
export const OTHER_CA = fs.readFileSync(path.join(TLS, "other.crt"));

/** One state of a Job's life, as the Job controller and the kubelet would report it. */
export interface JobScriptState {
    /** The Job's true terminal condition, if any. */
    readonly condition?: { readonly type: "Complete" | "Failed"; readonly reason?: string; readonly message?: string };
    /** The pod's container state; undefined means the Job has no pod (yet, or any more). */
    readonly container?: Record<string, unknown>;
    /** The pod's own reason (Evicted, DeadlineExceeded). */
    readonly podReason?: string;
}

export const RUNNING: JobScriptState = { container: { running: { startedAt: "2025-03-04T10:01:00Z" } } };
export const PULLING: JobScriptState = { container: { waiting: { reason: "ContainerCreating" } } };
export const SUCCEEDED: JobScriptState = {
    condition: { type: "Complete", reason: "CompletionsReached", message: "Reached expected number of succeeded pods" },
    container: { terminated: { exitCode: 0, reason: "Completed", startedAt: "2025-03-04T10:01:00Z", finishedAt: "2025-03-04T10:01:25Z" } },
};
/** A Job that ran and succeeded: a pod is running, then it completed. */
export const JOB_SUCCEEDS: readonly JobScriptState[] = [RUNNING, SUCCEEDED];

/** What the server saw. */
export interface SeenRequest {
    readonly method: string;
    readonly path: string;
    readonly authorization?: string;
    readonly accept?: string;
    readonly contentType?: string;
    readonly body?: any;
}

/** A raw answer that overrides the server's own, for one request. */
export interface RawAnswer {
    readonly status: number;
    readonly body?: unknown;
}

/**
 * The API paths the task port uses, served like kube-apiserver: JSON bodies,
 * `Status` objects on errors (404 NotFound, 409 AlreadyExists, 401 without a
 * `k8s-aws-v1.` bearer token), foreground deletes.
 */
export class FakeKubernetesApi {
    readonly requests: SeenRequest[] = [];
    readonly cronJobs = new Map<string, any>();
    /** The CustomResourceDefinitions the cluster serves, by name. */
    readonly crds = new Set<string>();
    readonly jobs = new Map<string, { job: any; script: readonly JobScriptState[]; reads: number }>();
    /** The script the next created Job follows (each GET of the Job moves one state on; the last repeats). */
    script: readonly JobScriptState[] = JOB_SUCCEEDS;
    /** Answers instead of the server, when it returns one (an outage, a 403, a proxy page). */
    answer?: (request: SeenRequest) => RawAnswer | undefined;
    /** Serves CronJobs from elsewhere (the fake stack's deployed program), before `cronJobs`. */
    cronJobSource?: (namespace: string, name: string) => Promise<unknown>;
    /** Called when a Job is created, with the stored Job. */
    onCreate?: (job: any) => void | Promise<void>;
    private server?: https.Server;

    /** Starts on a free port of 127.0.0.1; resolves to the endpoint (`https://127.0.0.1:<port>`). */
    async start(): Promise<string> {
        this.server = https.createServer({ key: fs.readFileSync(path.join(TLS, "apiserver.key")), cert: API_SERVER_CA }, (request, response) => {
            let text = "";
            request.setEncoding("utf8");
            request.on("data", (chunk: string) => (text += chunk));
            request.on("end", () => {
                void this.handle({
                    method: request.method ?? "GET",
                    path: request.url ?? "/",
                    authorization: request.headers.authorization,
                    accept: request.headers.accept,
                    contentType: request.headers["content-type"],
                    body: text ? JSON.parse(text) : undefined,
                }).then(({ status, body }) => {
                    response.statusCode = status;
                    response.setHeader("Content-Type", "application/json");
                    response.end(typeof body === "string" ? body : JSON.stringify(body ?? {}));
                });
            });
        });
        await new Promise<void>((resolve) => this.server!.listen(0, "127.0.0.1", resolve));
        return this.endpoint();
    }

    endpoint(): string {
        return `https://127.0.0.1:${(this.server!.address() as AddressInfo).port}`;
    }

    stop(): Promise<void> {
        return new Promise((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
    }

    /** Forgets everything but the CronJobs. */
    reset(): void {
        this.requests.length = 0;
        this.jobs.clear();
        this.script = JOB_SUCCEEDS;
        this.answer = undefined;
        this.onCreate = undefined;
        this.cronJobSource = undefined;
    }

    /** Adds a Job as if someone (or an earlier run) had created it. */
    addJob(namespace: string, job: any, script: readonly JobScriptState[] = [RUNNING]): void {
        this.jobs.set(`${namespace}/${job.metadata.name}`, { job: { ...job, metadata: { ...job.metadata, namespace, creationTimestamp: "2025-03-04T09:00:00Z" } }, script, reads: 0 });
    }

    private async handle(request: SeenRequest): Promise<RawAnswer> {
        this.requests.push(request);
        const forced = this.answer?.(request);
        if (forced) return forced;
        if (!request.authorization?.startsWith("Bearer k8s-aws-v1.")) return status(401, "Unauthorized", "Unauthorized");
        const url = new URL(request.path, "https://kubernetes");
        const cronJob = /^\/apis\/batch\/v1\/namespaces\/([^/]+)\/cronjobs\/([^/]+)$/.exec(url.pathname);
        if (cronJob && request.method === "GET") {
            const found = (await this.cronJobSource?.(cronJob[1], cronJob[2])) ?? this.cronJobs.get(`${cronJob[1]}/${cronJob[2]}`);
            return found ? { status: 200, body: found } : status(404, "NotFound", `cronjobs.batch "${cronJob[2]}" not found`);
        }
        const crd = /^\/apis\/apiextensions\.k8s\.io\/v1\/customresourcedefinitions\/([^/]+)$/.exec(url.pathname);
        if (crd && request.method === "GET") return this.crds.has(crd[1]) ? { status: 200, body: { kind: "CustomResourceDefinition", metadata: { name: crd[1] } } } : status(404, "NotFound", `customresourcedefinitions.apiextensions.k8s.io "${crd[1]}" not found`);
        const jobs = /^\/apis\/batch\/v1\/namespaces\/([^/]+)\/jobs(?:\/([^/]+))?$/.exec(url.pathname);
        if (jobs) return this.jobRequest(request, jobs[1], jobs[2]);
        const pods = /^\/api\/v1\/namespaces\/([^/]+)\/pods$/.exec(url.pathname);
        if (pods && request.method === "GET") return { status: 200, body: { kind: "PodList", apiVersion: "v1", items: this.podsOf(pods[1], url.searchParams.get("labelSelector") ?? "") } };
        return status(404, "NotFound", "the server could not find the requested resource");
    }

    private async jobRequest(request: SeenRequest, namespace: string, name: string | undefined): Promise<RawAnswer> {
        if (!name && request.method === "POST") {
            const job = request.body;
            const key = `${namespace}/${job.metadata.name}`;
            if (this.jobs.has(key)) return status(409, "AlreadyExists", `jobs.batch "${job.metadata.name}" already exists`);
            const stored = { ...job, metadata: { ...job.metadata, namespace, uid: `uid-${this.jobs.size + 1}`, creationTimestamp: "2025-03-04T10:00:00Z" }, status: {} };
            this.jobs.set(key, { job: stored, script: this.script, reads: 0 });
            await this.onCreate?.(stored);
            return { status: 201, body: stored };
        }
        const entry = name ? this.jobs.get(`${namespace}/${name}`) : undefined;
        if (!entry) return status(404, "NotFound", `jobs.batch "${name}" not found`);
        if (request.method === "GET") {
            entry.reads += 1;
            const state = this.stateOf(entry);
            const conditions = state.condition ? [{ type: state.condition.type, status: "True", reason: state.condition.reason, message: state.condition.message, lastTransitionTime: "2025-03-04T10:01:30Z" }] : [];
            return { status: 200, body: { ...entry.job, status: { startTime: "2025-03-04T10:00:01Z", conditions } } };
        }
        if (request.method === "DELETE") {
            // Foreground: the Job stays, being deleted, until its pods are gone; this fake drops it at once.
            this.jobs.delete(`${namespace}/${name}`);
            return { status: 200, body: { ...entry.job, metadata: { ...entry.job.metadata, deletionTimestamp: "2025-03-04T10:02:00Z" } } };
        }
        return status(405, "MethodNotAllowed", `${request.method} is not allowed`);
    }

    private stateOf(entry: { script: readonly JobScriptState[]; reads: number }): JobScriptState {
        return entry.script[Math.min(Math.max(entry.reads - 1, 0), entry.script.length - 1)];
    }

    private podsOf(namespace: string, selector: string): unknown[] {
        const [label, value] = selector.split("=");
        if (label !== "batch.kubernetes.io/job-name") return [];
        const entry = this.jobs.get(`${namespace}/${value}`);
        if (!entry) return [];
        const state = this.stateOf(entry);
        if (!state.container) return [];
        const container = entry.job.metadata.annotations?.["shiftwise.dev/container"] ?? "migrate";
        return [{
            metadata: { name: `${value}-x7k2p`, namespace, labels: { [label]: value }, creationTimestamp: "2025-03-04T10:00:02Z" },
            status: { phase: state.condition?.type === "Complete" ? "Succeeded" : state.condition ? "Failed" : "Running", ...(state.podReason ? { reason: state.podReason } : {}), containerStatuses: [{ name: container, state: state.container }] },
        }];
    }
}

/** A `Status` object as kube-apiserver returns it. */
function status(code: number, reason: string, message: string): RawAnswer {
    return { status: code, body: { kind: "Status", apiVersion: "v1", status: "Failure", message, reason, code } };
}

/** An EKS client whose DescribeCluster points at `endpoint` with the fake's CA. */
export function eksPointingAt(endpoint: string, clusterName = "platform-production"): { client: EKSClient; describes: () => number } {
    const client = new EKSClient({ region: "eu-west-1", credentials: { accessKeyId: "AKIDEXAMPLE", secretAccessKey: "secret" } });
    const eks = mockClient(client);
    eks.on(DescribeClusterCommand, { name: clusterName }).resolves({ cluster: { name: clusterName, status: "ACTIVE", endpoint, certificateAuthority: { data: API_SERVER_CA.toString("base64") } } });
    return { client, describes: () => eks.commandCalls(DescribeClusterCommand).length };
}
