// Smoke checks and bake probes through the test listener: status, and optionally the served version or body.
import type { Colour, StackConfig } from "../config";
import type { Clock, FetchResponse, Fetcher, StackPort } from "../ports/ports";
import { DriverOutputs, testListenerHeaders } from "./stackView";

/**
 * Smoke checks through the test listener: HTTP GET of each path with the
 * `x-shiftwise-colour` header, expecting 2xx and, when `expect` says so, the
 * release's version in a header or a JSON field, or a text in the body; with
 * bounded retries. A probe is one such GET without retries (the bake's probes).
 *
 * TLS: the real fetcher is Node's global `fetch`, which verifies the server
 * certificate against Node's CA store and the URL's host name. The test
 * listener serves the stack's ACM certificate (`shiftwise:tls.certificateArn`),
 * so the check passes only when the URL's host is a name that certificate
 * covers. The `testUrl` output uses the ALB's own DNS name
 * (`*.elb.amazonaws.com`), which an ACM certificate never covers: point a
 * name the certificate covers at the load balancer (a CNAME such as
 * `test.shop.example.com`) and pass `--smoke-base-url
 * https://test.shop.example.com:8443`. Verification is never turned off;
 * a private CA can be added with `NODE_EXTRA_CA_CERTS`.
 */

export interface SmokeRequest {
    /** `https://host:port` of the test listener. */
    readonly baseUrl: string;
    readonly paths: readonly string[];
    /** The routing header and the colour it selects. */
    readonly header: string;
    readonly colour: Colour;
    /** Headers every request also carries: the stack's test token. @default {} */
    readonly extraHeaders?: Readonly<Record<string, string>>;
    /** Extra attempts per path after the first. */
    readonly retries: number;
    /** @default 5000 */
    readonly retryDelayMs?: number;
    /** @default 10000 */
    readonly timeoutMs?: number;
    /** What the response must show besides a 2xx status. @default {} */
    readonly expect?: ResponseExpectation;
}

/** `shiftwise:rollout.smokeExpect` with the version the candidate must serve. */
export interface ResponseExpectation {
    /** The release's version. */
    readonly version?: string;
    readonly versionHeader?: string;
    readonly versionJsonField?: string;
    readonly bodyIncludes?: string;
}

/** One path's outcome. */
export interface SmokeResult {
    readonly url: string;
    readonly ok: boolean;
    readonly attempts: number;
    /** The last status, or the last error's message. */
    readonly last: string;
}

/** Checks every path; each is retried up to `retries` times. Rejects only on abort. */
export async function runSmokeChecks(fetcher: Fetcher, clock: Clock, request: SmokeRequest, signal?: AbortSignal): Promise<SmokeResult[]> {
    const results: SmokeResult[] = [];
    for (const path of request.paths) {
        const url = new URL(path, request.baseUrl).toString();
        let last = "";
        let ok = false;
        let attempts = 0;
        while (!ok && attempts <= request.retries) {
            if (attempts > 0) await clock.sleep(request.retryDelayMs ?? 5000, signal);
            attempts += 1;
            ({ ok, last } = await probe(fetcher, url, request, signal));
        }
        results.push({ url, ok, attempts, last });
    }
    return results;
}

/** What `smokeCheckColour` reads: the driver's ports and waits. */
export interface SmokeDeps {
    readonly fetcher: Fetcher;
    readonly clock: Clock;
    readonly stack: Pick<StackPort, "secretOutput">;
    readonly signal?: AbortSignal;
    /** @default 5000 */
    readonly smokeRetryDelayMs?: number;
}

/** Which colour a stage smoke-checks, where, and the version it must serve (none for the stable colour's soak). */
export interface ColourSmokeCheck {
    readonly colour: Colour;
    readonly baseUrl: string;
    /** The release's version, checked with `rollout.smokeExpect`; absent checks status only. */
    readonly version?: string;
    /** The test token header, when a polling stage read it once already. @default read from the stack outputs */
    readonly testHeaders?: Readonly<Record<string, string>>;
}

/**
 * The stages' smoke check of one colour through the test listener: the health
 * check path and `rollout.smokePaths`, with the stack's test token and the
 * stack's retries. Returns every path's result, failed ones included.
 */
export async function smokeCheckColour(deps: SmokeDeps, config: StackConfig, outputs: DriverOutputs, check: ColourSmokeCheck): Promise<SmokeResult[]> {
    return runSmokeChecks(
        deps.fetcher,
        deps.clock,
        {
            baseUrl: check.baseUrl,
            paths: [config.service.healthCheckPath, ...config.rollout.smokePaths],
            header: outputs.testHeader,
            // The test listener admits only requests with the stack's test token (read here, never recorded).
            extraHeaders: check.testHeaders ?? (await testListenerHeaders(deps.stack, outputs)),
            colour: check.colour,
            retries: config.rollout.smokeRetries,
            retryDelayMs: deps.smokeRetryDelayMs,
            ...(check.version !== undefined ? { expect: { ...config.rollout.smokeExpect, version: check.version } } : {}),
        },
        deps.signal,
    );
}

/** One line naming each failed check, or undefined when all passed. */
export function smokeFailures(results: readonly SmokeResult[]): string | undefined {
    const failed = results.filter((result) => !result.ok);
    return failed.length > 0 ? `smoke checks failed: ${failed.map((r) => `${r.url} -> ${r.last} after ${r.attempts} attempt(s)`).join("; ")}` : undefined;
}

/** One GET of `url` through the test listener, judged; rejects only on abort. */
export async function probe(fetcher: Fetcher, url: string, request: Pick<SmokeRequest, "header" | "colour" | "extraHeaders" | "timeoutMs" | "expect">, signal?: AbortSignal): Promise<{ ok: boolean; last: string }> {
    try {
        const timeout = AbortSignal.timeout(request.timeoutMs ?? 10_000);
        const response = await fetcher(url, { headers: { ...request.extraHeaders, [request.header]: request.colour }, signal: signal ? AbortSignal.any([signal, timeout]) : timeout });
        const problem = responseProblem(response, request.expect ?? {});
        return { ok: problem === undefined, last: problem ?? `HTTP ${response.status}` };
    } catch (error) {
        if (signal?.aborted) throw signal.reason;
        return { ok: false, last: describeError(error) };
    }
}

/** Why a response fails the check, or undefined when it passes. */
export function responseProblem(response: FetchResponse, expect: ResponseExpectation): string | undefined {
    if (response.status < 200 || response.status >= 300) return `HTTP ${response.status}`;
    const { version } = expect;
    if (expect.versionHeader && version !== undefined) {
        const served = response.headers?.[expect.versionHeader.toLowerCase()];
        if (served !== version) return `HTTP ${response.status} but header ${expect.versionHeader} is ${served === undefined ? "missing" : `"${served}"`}, expected "${version}"`;
    }
    if (expect.versionJsonField && version !== undefined) {
        const served = jsonField(response.body ?? "", expect.versionJsonField);
        if (served !== version) return `HTTP ${response.status} but the body's ${expect.versionJsonField} is ${served === undefined ? "missing" : JSON.stringify(served)}, expected "${version}"`;
    }
    if (expect.bodyIncludes !== undefined && !(response.body ?? "").includes(expect.bodyIncludes)) {
        return `HTTP ${response.status} but the body does not contain ${JSON.stringify(expect.bodyIncludes)}`;
    }
    return undefined;
}

/** A top-level field of a JSON body; undefined when the body is not a JSON object. */
function jsonField(body: string, field: string): unknown {
    try {
        const parsed: unknown = JSON.parse(body);
        return parsed !== null && typeof parsed === "object" ? (parsed as Record<string, unknown>)[field] : undefined;
    } catch {
        return undefined;
    }
}

/** The most body text a check reads. */
const MAX_BODY_BYTES = 64 * 1024;

/** Node's global fetch; redirects are not followed, so a 3xx fails the check. */
export const nodeFetcher: Fetcher = async (url, init) => {
    const response = await fetch(url, { method: "GET", headers: { ...init.headers }, signal: init.signal, redirect: "manual" });
    const bytes = new Uint8Array(await response.arrayBuffer());
    const headers: Record<string, string> = {};
    response.headers.forEach((value, name) => (headers[name] = value));
    return { status: response.status, headers, body: new TextDecoder().decode(bytes.subarray(0, MAX_BODY_BYTES)) };
};

function describeError(error: unknown): string {
    // fetch reports network failures as "fetch failed" with the socket error (or an AggregateError of them) as its cause.
    const cause = (error as { cause?: { code?: string; message?: string; errors?: { code?: string }[] } })?.cause;
    const base = error instanceof Error ? error.message : String(error);
    const detail = cause?.code ?? cause?.errors?.[0]?.code ?? cause?.message;
    return detail ? `${base} (${detail})` : base;
}
