// Smoke checks through the test listener, with retries.
import type { Colour } from "../config";
import type { Clock, Fetcher } from "../ports/ports";

/**
 * Smoke checks through the test listener: HTTP GET of each path with the
 * `x-shiftwise-colour` header, expecting 2xx, with bounded retries.
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
    /** Extra attempts per path after the first. */
    readonly retries: number;
    /** @default 5000 */
    readonly retryDelayMs?: number;
    /** @default 10000 */
    readonly timeoutMs?: number;
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
            try {
                const timeout = AbortSignal.timeout(request.timeoutMs ?? 10_000);
                const response = await fetcher(url, { headers: { [request.header]: request.colour }, signal: signal ? AbortSignal.any([signal, timeout]) : timeout });
                last = `HTTP ${response.status}`;
                ok = response.status >= 200 && response.status < 300;
            } catch (error) {
                if (signal?.aborted) throw signal.reason;
                last = describeError(error);
            }
        }
        results.push({ url, ok, attempts, last });
    }
    return results;
}

/** Node's global fetch; redirects are not followed, so a 3xx fails the check. */
export const nodeFetcher: Fetcher = async (url, init) => {
    const response = await fetch(url, { method: "GET", headers: { ...init.headers }, signal: init.signal, redirect: "manual" });
    await response.arrayBuffer();
    return { status: response.status };
};

function describeError(error: unknown): string {
    // fetch reports network failures as "fetch failed" with the socket error (or an AggregateError of them) as its cause.
    const cause = (error as { cause?: { code?: string; message?: string; errors?: { code?: string }[] } })?.cause;
    const base = error instanceof Error ? error.message : String(error);
    const detail = cause?.code ?? cause?.errors?.[0]?.code ?? cause?.message;
    return detail ? `${base} (${detail})` : base;
}
