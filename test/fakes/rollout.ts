// Builds a driver with fake ports for the scenario tests.
import * as fs from "fs";
import * as http from "http";
import * as os from "os";
import * as path from "path";
import { AddressInfo } from "net";
import type { DriverDeps } from "../../rollout/driver";
import type { Fetcher } from "../../ports/ports";
import { RecordStore } from "../../rollout/records";
import { silentReporter } from "../../rollout/reporter";
import { nodeFetcher } from "../../rollout/smoke";
import { readStackFile, stackFilePath } from "../../evaluation/stackFile";
import { FakeAws, fakeAws, AwsScenario } from "./fakeAws";
import { FakeClock } from "./fakeClock";
import { FakeStack } from "./fakeStack";
import { PROJECT_DIR } from "../harness";

/** The platforms the scenarios run on. */
export type Platform = "ecs" | "kubernetes";
export const PLATFORMS: readonly Platform[] = ["ecs", "kubernetes"];

/** What production looks like on Kubernetes: the same stack, its colours as Deployments on an EKS cluster. */
const KUBERNETES_SECTIONS: Record<string, Record<string, unknown>> = {
    service: { platform: "kubernetes" },
    kubernetes: { clusterName: "platform-production", namespace: "shop", securityGroupId: "sg-0a1b2c3d4e5f60718" },
};

/**
 * The committed production stack file, with traffic at 100/0 (blue stable, green the candidate), a weekend freeze,
 * and the given sections merged in; on `kubernetes`, with its colours on an EKS cluster.
 */
export function productionConfig(sections: Record<string, Record<string, unknown>> = {}, platform: Platform = "ecs"): Record<string, string> {
    const config = { ...readStackFile(stackFilePath(PROJECT_DIR, "production"), "shiftwise").config };
    const merged: Record<string, Record<string, unknown>> = {
        traffic: { blue: 100, green: 0 },
        rollout: { pollSeconds: 30, maxBakeMinutes: 60, freezeWindows: [{ reason: "weekend", days: ["sat", "sun"] }] },
        ...(platform === "kubernetes" ? KUBERNETES_SECTIONS : {}),
        ...sections,
    };
    for (const [section, fields] of Object.entries(merged)) {
        const key = `shiftwise:${section}`;
        const current = config[key] ? (JSON.parse(config[key]) as Record<string, unknown>) : {};
        config[key] = JSON.stringify(section === "traffic" ? fields : { ...current, ...fields });
    }
    return config;
}

/** The composite alarm names by the convention the driver falls back to. */
export const ALARMS = { blue: "shop-production-blue-rollback", green: "shop-production-green-rollback" };

/** What the smoke server answers; `undefined` from `respond` means the normal answer. */
export interface SmokeAnswer {
    readonly status: number;
    readonly headers?: Record<string, string>;
    readonly body?: string;
}

/** The smoke servers this process runs, by base URL, for `scenarioFetcher`. */
const runningSmokeServers = new Map<string, SmokeServer>();

/** A local smoke-check target: 200 on the known paths for the colour in the routing header. */
export class SmokeServer {
    readonly requests: { path: string; colour?: string; token?: string }[] = [];
    /** Like the test listener's rules: without this `x-shiftwise-test-token`, every request gets the default 404. */
    requiredToken?: string;
    /** Status codes to answer first, one per request, before the normal answer. */
    failFirst: number[] = [];
    /** Overrides the answer (a broken release, a version header). */
    respond?: (path: string, colour: string | undefined) => SmokeAnswer | undefined;
    private server?: http.Server;
    private baseUrl = "";

    /** The answer to a GET of `path` (with its query) with these request headers (lower-case names); recorded in `requests`. */
    answer(path: string, headers: Readonly<Record<string, string | string[] | undefined>>): Required<SmokeAnswer> {
        const colour = headers["x-shiftwise-colour"] as string | undefined;
        const token = headers["x-shiftwise-test-token"] as string | undefined;
        this.requests.push({ path, colour, token });
        const forced = this.failFirst.shift();
        const answer = this.respond?.(path, colour);
        const routed = (colour === "green" || colour === "blue") && (this.requiredToken === undefined || token === this.requiredToken);
        return { status: forced ?? answer?.status ?? (routed ? 200 : 404), headers: answer?.headers ?? {}, body: answer?.body ?? "ok" };
    }

    async start(): Promise<string> {
        this.server = http.createServer((request, response) => {
            const answer = this.answer(request.url ?? "", request.headers);
            response.statusCode = answer.status;
            for (const [name, value] of Object.entries(answer.headers)) response.setHeader(name, value);
            response.end(answer.body);
        });
        await new Promise<void>((resolve) => this.server!.listen(0, "127.0.0.1", resolve));
        this.baseUrl = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
        runningSmokeServers.set(this.baseUrl, this);
        return this.baseUrl;
    }

    stop(): Promise<void> {
        runningSmokeServers.delete(this.baseUrl);
        return new Promise((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
    }

    /** Forgets the requests and every per-test answer, so no test sees another's setup. */
    reset(): void {
        this.requests.length = 0;
        this.failFirst = [];
        this.respond = undefined;
        this.requiredToken = undefined;
    }
}

/**
 * A smoke server for the enclosing `describe`: started before its tests,
 * reset before each, stopped after. `url()` is its base URL once started.
 */
export function useSmokeServer(): { readonly server: SmokeServer; readonly url: () => string } {
    const server = new SmokeServer();
    let baseUrl = "";
    before(async () => {
        baseUrl = await server.start();
    });
    after(() => server.stop());
    beforeEach(() => server.reset());
    return { server, url: () => baseUrl };
}

/**
 * The scenarios' fetcher. A request to a smoke server of this process gets
 * that server's answer as the HTTP server would send it, without a socket;
 * any other URL goes to Node's fetch. The scenarios make about 23,000 probe
 * and smoke requests a run, and a round trip through fetch and a local
 * socket costs about 0.4 ms of CPU. The HTTP path itself (`nodeFetcher`) is
 * tested in driverUnits.test.ts and by every CLI process test that deploys.
 */
export const scenarioFetcher: Fetcher = async (url, init) => {
    const parsed = new URL(url);
    const server = runningSmokeServers.get(parsed.origin);
    if (!server) return nodeFetcher(url, init);
    // Like a request on the wire, the answer comes in a later turn of the event loop.
    await new Promise((resolve) => setImmediate(resolve));
    if (init.signal?.aborted) throw init.signal.reason;
    const answer = server.answer(parsed.pathname + parsed.search, lowerCaseNames(init.headers));
    return { status: answer.status, headers: lowerCaseNames(answer.headers), body: answer.body };
};

/** Header names as Node's HTTP server and fetch give them: lower case. */
function lowerCaseNames(headers: Readonly<Record<string, string>>): Record<string, string> {
    return Object.fromEntries(Object.entries(headers).map(([name, value]) => [name.toLowerCase(), value]));
}

export interface Harness {
    readonly stack: FakeStack;
    readonly aws: FakeAws;
    readonly clock: FakeClock;
    readonly records: RecordStore;
    readonly deps: DriverDeps;
    readonly controller: AbortController;
    readonly smokeBaseUrl: string;
}

/** A fresh stack, AWS, clock and records folder for one scenario. */
export function harness(options: { config?: Record<string, string>; platform?: Platform; scenario?: Partial<AwsScenario>; smokeBaseUrl: string; start?: string }): Harness {
    const stack = new FakeStack({ stackName: "production", config: options.config ?? productionConfig({}, options.platform) });
    const clock = new FakeClock(options.start);
    const aws = fakeAws(stack, { alarms: { [ALARMS.blue]: "OK", [ALARMS.green]: "OK" }, ...options.scenario });
    const records = new RecordStore(fs.mkdtempSync(path.join(os.tmpdir(), "shiftwise-records-")), "production");
    const controller = new AbortController();
    const deps: DriverDeps = {
        stack,
        aws: aws.port,
        fetcher: scenarioFetcher,
        clock,
        records,
        reporter: silentReporter,
        env: { GITHUB_ACTIONS: "true", GITHUB_ACTOR: "octocat", GITHUB_RUN_ID: "42", GITHUB_REPOSITORY: "acme/shop", GITHUB_SERVER_URL: "https://github.com" },
        signal: controller.signal,
        smokeRetryDelayMs: 1000,
    };
    return { stack, aws, clock, records, deps, controller, smokeBaseUrl: options.smokeBaseUrl };
}

/** The release every scenario deploys. */
export const RELEASE = { version: "v1.6.0", image: "123456789012.dkr.ecr.eu-west-1.amazonaws.com/shop:v1.6.0" };

/** Arms a simulated kill at the nth call of `call` (`before` or `after` it); resolves once the process is "dead" there. */
export function killAt(h: Harness, call: string, number: number, when: "before" | "after"): Promise<void> {
    return new Promise((resolve) => {
        h.stack.kill = (name, n) => {
            if (name !== call || n !== number) return undefined;
            setImmediate(resolve);
            return when;
        };
    });
}

/** The weights the listener in (fake) AWS serves per colour; a target group the forward action does not name serves 0. */
export async function awsWeights(h: Harness): Promise<Record<"blue" | "green", number>> {
    const outputs = (await h.stack.outputs()) as Record<string, { targetGroupArn: string }> & { listenerArn: string };
    const weights = await h.aws.port.listenerWeights(outputs.listenerArn);
    return { blue: weights[outputs.blue.targetGroupArn] ?? 0, green: weights[outputs.green.targetGroupArn] ?? 0 };
}
