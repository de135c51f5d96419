// Reads an EKS cluster's Kubernetes API with the driver's AWS identity: the cluster's endpoint and CA from EKS, a token presigned with SigV4.
import * as https from "https";
import { DescribeClusterCommand, EKSClient } from "@aws-sdk/client-eks";
import { Hash } from "@smithy/hash-node";
import { HttpRequest } from "@smithy/protocol-http";
import { SignatureV4 } from "@smithy/signature-v4";

/** AWS credentials as the SDK's providers resolve them. */
type AwsCredentialIdentity = Awaited<ReturnType<EKSClient["config"]["credentials"]>>;

/** One GET against the Kubernetes API: what came back. */
export interface KubernetesResponse {
    readonly status: number;
    readonly body: string;
}

/** A GET of `url` with a bearer token, trusting only `ca`: node's https in production, a fake in tests. */
export type KubernetesGet = (request: { readonly url: string; readonly token: string; readonly ca: Buffer }) => Promise<KubernetesResponse>;

/** The real GET: TLS verified against the cluster's own CA, ten seconds at most. */
export const httpsGet: KubernetesGet = ({ url, token, ca }) =>
    new Promise((resolve, reject) => {
        const request = https.get(url, { ca, headers: { Authorization: `Bearer ${token}`, Accept: "application/json" }, timeout: 10_000 }, (response) => {
            let body = "";
            response.setEncoding("utf8");
            response.on("data", (chunk: string) => (body += chunk));
            response.on("end", () => resolve({ status: response.statusCode ?? 0, body }));
        });
        request.on("timeout", () => request.destroy(new Error(`GET ${url} timed out after 10 s`)));
        request.on("error", reject);
    });

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
        const { cluster } = await this.eks.send(new DescribeClusterCommand({ name: clusterName }));
        const endpoint = cluster?.endpoint;
        const caData = cluster?.certificateAuthority?.data;
        if (!endpoint || !caData) throw new Error(`EKS cluster ${clusterName} has no endpoint or CA yet (status ${cluster?.status ?? "unknown"})`);
        const region = await this.eks.config.region();
        const credentials = await this.eks.config.credentials();
        const token = await eksToken(clusterName, region, credentials);
        const url = `${endpoint}/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${encodeURIComponent(name)}`;
        const response = await this.get({ url, token, ca: Buffer.from(caData, "base64") });
        if (response.status === 200) return true;
        if (response.status === 404) return false;
        throw new Error(
            `cannot read CRD ${name} in EKS cluster ${clusterName} (HTTP ${response.status})` +
                (response.status === 401 || response.status === 403 ? ": give the deploy role an EKS access entry that may get customresourcedefinitions" : ""),
        );
    }
}
