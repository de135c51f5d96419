// Reaches an EKS cluster's Kubernetes API with the driver's AWS identity: the cluster's endpoint and CA from EKS, a token presigned with SigV4, JSON over verified HTTPS.
import * as https from "https";
import { DescribeClusterCommand, EKSClient } from "@aws-sdk/client-eks";
import { Hash } from "@smithy/hash-node";
import { HttpRequest } from "@smithy/protocol-http";
import { SignatureV4 } from "@smithy/signature-v4";

/** AWS credentials as the SDK's providers resolve them. */
type AwsCredentialIdentity = Awaited<ReturnType<EKSClient["config"]["credentials"]>>;

/** One request to the Kubernetes API: what came back. */
export interface KubernetesResponse {
    readonly status: number;
    readonly body: string;
}

/** One request to the Kubernetes API server with a bearer token, trusting only `ca`. */
export interface KubernetesRequest {
    readonly url: string;
    readonly token: string;
    readonly ca: Buffer;
    /** @default "GET" */
    readonly method?: "GET" | "POST" | "DELETE";
    /** Sent as JSON. @default no body */
    readonly body?: unknown;
}

/** A request against the Kubernetes API: node's https in production, a fake in tests. */
export type KubernetesCall = (request: KubernetesRequest) => Promise<KubernetesResponse>;
/** The read-only pre-flight's name for the same call. */
export type KubernetesGet = KubernetesCall;

/** Seconds one request to the API server may take. */
const REQUEST_TIMEOUT_MS = 10_000;

/** The real request: TLS verified against the cluster's own CA (never the system's), ten seconds at most, JSON both ways. */
export const httpsRequest: KubernetesCall = ({ url, token, ca, method = "GET", body }) =>
    new Promise((resolve, reject) => {
        const payload = body === undefined ? undefined : JSON.stringify(body);
        const headers: Record<string, string | number> = { Authorization: `Bearer ${token}`, Accept: "application/json" };
        if (payload !== undefined) {
            headers["Content-Type"] = "application/json";
            headers["Content-Length"] = Buffer.byteLength(payload);
        }
        const request = https.request(url, { method, ca, headers, timeout: REQUEST_TIMEOUT_MS }, (response) => {
            let text = "";
            response.setEncoding("utf8");
            response.on("data", (chunk: string) => (text += chunk));
            response.on("end", () => resolve({ status: response.statusCode ?? 0, body: text }));
            response.on("error", reject);
        });
        request.on("timeout", () => request.destroy(new Error(`${method} ${url} timed out after ${REQUEST_TIMEOUT_MS / 1000} s`)));
        request.on("error", reject);
        request.end(payload);
    });

/** The pre-flight's GET. */
export const httpsGet: KubernetesGet = httpsRequest;

/**
 * The bearer token EKS accepts for an IAM identity (what `aws eks get-token`
 * prints): `k8s-aws-v1.` and the base64url of an STS GetCallerIdentity URL
 * presigned for 60 s, with the cluster's name in the signed `x-k8s-aws-id`
 * header (EKS user guide, "Cluster authentication"; aws-iam-authenticator).
 */
export async function eksToken(clusterName: string, region: string, credentials: AwsCredentialIdentity): Promise<string> {
    const signer = new SignatureV4({ service: "sts", region, credentials, sha256: Hash.bind(null, "sha256") });
    const hostname = `sts.${region}.amazonaws.com`;
    const request = new HttpRequest({
        method: "GET",
        protocol: "https:",
        hostname,
        path: "/",
        query: { Action: "GetCallerIdentity", Version: "2011-06-15" },
        headers: { host: hostname, "x-k8s-aws-id": clusterName },
    });
    const signed = await signer.presign(request, { expiresIn: 60 });
    const query = Object.entries(signed.query ?? {})
        .map(([key, value]) => `${encodeURIComponent(key)}=${encodeURIComponent(String(value))}`)
        .join("&");
    const url = `https://${hostname}/?${query}`;
    return `k8s-aws-v1.${Buffer.from(url).toString("base64url")}`;
}

/**
 * The Kubernetes API of one EKS cluster as the driver's AWS identity: the
 * endpoint and CA from DescribeCluster (read once), and a fresh token for
 * every request, so a wait longer than a token's 15 minutes never fails on an
 * expired one. Minting a token is a local SigV4 presign (the SDK caches the
 * credentials), no call to STS.
 */
export class EksConnection {
    private cluster?: Promise<{ readonly endpoint: string; readonly ca: Buffer }>;

    constructor(
        private readonly eks: EKSClient,
        readonly clusterName: string,
        private readonly call: KubernetesCall = httpsRequest,
    ) {}

    /** One request to `path` (e.g. `/apis/batch/v1/namespaces/shop/jobs`) on the cluster's API server. */
    async request(path: string, options: { readonly method?: KubernetesRequest["method"]; readonly body?: unknown } = {}): Promise<KubernetesResponse> {
        const { endpoint, ca } = await this.endpoint();
        const token = await eksToken(this.clusterName, await this.eks.config.region(), await this.eks.config.credentials());
        return this.call({ url: `${endpoint}${path}`, token, ca, ...options });
    }

    private endpoint(): Promise<{ readonly endpoint: string; readonly ca: Buffer }> {
        this.cluster ??= this.describe().catch((error: unknown) => {
            // A failed read is not remembered: the next request asks EKS again.
            this.cluster = undefined;
            throw error;
        });
        return this.cluster;
    }

    private async describe(): Promise<{ readonly endpoint: string; readonly ca: Buffer }> {
        const { cluster } = await this.eks.send(new DescribeClusterCommand({ name: this.clusterName }));
        const endpoint = cluster?.endpoint;
        const caData = cluster?.certificateAuthority?.data;
        if (!endpoint || !caData) throw new Error(`EKS cluster ${this.clusterName} has no endpoint or CA yet (status ${cluster?.status ?? "unknown"})`);
        return { endpoint, ca: Buffer.from(caData, "base64") };
    }
}

/**
 * Read-only access to an EKS cluster's Kubernetes API for pre-flight checks.
 * IAM: eks:DescribeCluster; in the cluster, the identity needs an access entry
 * (or aws-auth mapping) that may `get` customresourcedefinitions.
 */
export class EksClusterApi {
    constructor(
        private readonly eks: EKSClient,
        private readonly get: KubernetesGet = httpsGet,
    ) {}

    /** True when the cluster serves the CRD `name` (e.g. `targetgroupbindings.elbv2.k8s.aws`); throws when it cannot tell. */
    async customResourceDefinitionExists(clusterName: string, name: string): Promise<boolean> {
        const connection = new EksConnection(this.eks, clusterName, this.get);
        const response = await connection.request(`/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${encodeURIComponent(name)}`);
        if (response.status === 200) return true;
        if (response.status === 404) return false;
        throw new Error(
            `cannot read CRD ${name} in EKS cluster ${clusterName} (HTTP ${response.status})` +
                (response.status === 401 || response.status === 403 ? ": give the deploy role an EKS access entry that may get customresourcedefinitions" : ""),
        );
    }
}
