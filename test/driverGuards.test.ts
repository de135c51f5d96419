// Unit tests of the driver's pure judgement: poll verdicts, error budget, preview scope, responses, freeze windows in zones, and the adapters' safety settings.
import * as assert from "assert";
import { ConfigError, parseStackConfig } from "../config";
import { AutomationStack } from "../ports/automationStack";
import { AwsSdkPort, RETRY_SETTINGS } from "../ports/awsSdk";
import { inWindow, describeWindow, localTime } from "../rollout/freeze";
import { ErrorBudget, beyondPreview, cleanPreviewProblems, describeSteps, healthVerdict, judgePoll, judgeWithHealth, listenerOnlyProblems, releasePreviewProblems, urnName, urnTypeChain } from "../rollout/guards";
import { responseProblem } from "../rollout/smoke";
import { productionConfig } from "./fakes/rollout";
import { probeExposureSeconds } from "../plan/exposure";
import { renderRunbook } from "../plan/runbook";
import { shiftwiseSections } from "../config";

const NAMES = { blue: "b-alarm", green: "g-alarm" };

describe("driver: poll verdicts", () => {
    const judge = (alarms: Parameters<typeof judgePoll>[0]["alarms"], traffic = { blue: 75, green: 25 }, weightProblems: string[] = []) =>
        judgePoll({ alarms, weightProblems }, { candidate: "green", alarmNames: NAMES, traffic });

    it("passes only when every colour that carries traffic is OK", () => {
        assert.deepStrictEqual(judge({ blue: "OK", green: "OK" }), { kind: "ok" });
    });

    it("drift comes first: a human's move wins over any alarm", () => {
        const verdict = judge({ blue: "ALARM", green: "ALARM" }, undefined, ["arn:tg/green has weight 0 in AWS, expected 25"]);
        assert.deepStrictEqual(verdict, { kind: "drift", reason: "the listener in AWS does not show the config's weights (blue 75%, green 25%): arn:tg/green has weight 0 in AWS, expected 25" });
    });

    it("the candidate's alarm (or a missing one) is judged before the stable colour's, and names the colour", () => {
        assert.deepStrictEqual(judge({ blue: "ALARM", green: "ALARM" }), { kind: "alarm", colour: "green", reason: "the candidate green's composite alarm g-alarm is ALARM at 25%" });
        assert.deepStrictEqual(judge({ blue: "OK", green: undefined }), { kind: "alarm", colour: "green", reason: "the candidate green's composite alarm g-alarm is missing at 25%" });
        assert.deepStrictEqual(judge({ blue: "ALARM", green: "OK" }), { kind: "alarm", colour: "blue", reason: "the stable colour blue's composite alarm b-alarm is ALARM at 75%" });
        assert.deepStrictEqual(judge({ blue: undefined, green: "OK" }), { kind: "alarm", colour: "blue", reason: "the stable colour blue's composite alarm b-alarm is missing at 75%" });
    });

    it("an alarm on a colour without traffic is not judged; INSUFFICIENT_DATA on one with traffic is inconclusive", () => {
        assert.deepStrictEqual(judge({ blue: "OK", green: "ALARM" }, { blue: 100, green: 0 }), { kind: "ok" });
        assert.deepStrictEqual(judge({ blue: "INSUFFICIENT_DATA", green: "OK" }, { blue: 0, green: 100 }), { kind: "ok" });
        assert.deepStrictEqual(judge({ blue: "INSUFFICIENT_DATA", green: "INSUFFICIENT_DATA" }), { kind: "inconclusive", reason: "g-alarm is INSUFFICIENT_DATA; b-alarm is INSUFFICIENT_DATA" });
        assert.deepStrictEqual(judge({ blue: "OK", green: "INSUFFICIENT_DATA" }), { kind: "inconclusive", reason: "g-alarm is INSUFFICIENT_DATA" });
    });

    it("the error budget tolerates `budget` failures in a row and resets on success", () => {
        const budget = new ErrorBudget(2);
        assert.deepStrictEqual([budget.fail(new Error("a")), budget.fail(new Error("b"))], [false, false]);
        budget.succeed();
        assert.deepStrictEqual([budget.fail(new Error("c")), budget.fail(new Error("d")), budget.fail(Object.assign(new Error("Rate exceeded"), { name: "ThrottlingException" }))], [false, false, true]);
        assert.strictEqual(budget.describe(), "3 AWS read(s) in a row failed (rollout.readErrorBudget 2); last: ThrottlingException: Rate exceeded");
        assert.strictEqual(new ErrorBudget(0).fail("x"), true);
    });
});

describe("driver: an up against its preview", () => {
    const step = (op: string, urn: string) => ({ op, urn, type: "t", diffs: [] });
    it("reports changes the preview did not show and ops that grew", () => {
        const preview = { steps: [step("update", "u1"), step("same", "u2")] };
        assert.deepStrictEqual(beyondPreview({ steps: [step("update", "u1"), step("same", "u2")] }, preview), []);
        assert.deepStrictEqual(beyondPreview({ steps: [step("replace", "u1")] }, preview), ["the update did what its preview did not show: replace u1"]);
        assert.deepStrictEqual(beyondPreview({ steps: [step("update", "u1"), step("delete", "u2")] }, preview), ["the update did what its preview did not show: delete u2"]);
    });
});

describe("driver: response expectations", () => {
    const expect = { version: "v1.6.0", versionHeader: "X-App-Version", versionJsonField: "version", bodyIncludes: "ready" };
    const cases: [string, Parameters<typeof responseProblem>[0], Parameters<typeof responseProblem>[1], string | undefined][] = [
        ["2xx with nothing expected", { status: 204 }, {}, undefined],
        ["a 3xx", { status: 301 }, {}, "HTTP 301"],
        ["a 199", { status: 199 }, {}, "HTTP 199"],
        ["a 300", { status: 300 }, {}, "HTTP 300"],
        ["everything as expected", { status: 200, headers: { "x-app-version": "v1.6.0" }, body: '{"version":"v1.6.0","status":"ready"}' }, expect, undefined],
        ["the old version in the header", { status: 200, headers: { "x-app-version": "v1.5.0" } }, expect, 'HTTP 200 but header X-App-Version is "v1.5.0", expected "v1.6.0"'],
        ["no version header", { status: 200 }, expect, 'HTTP 200 but header X-App-Version is missing, expected "v1.6.0"'],
        ["the old version in the JSON", { status: 200, headers: { "x-app-version": "v1.6.0" }, body: '{"version":"v1.5.0"}' }, expect, 'HTTP 200 but the body\'s version is "v1.5.0", expected "v1.6.0"'],
        ["a body that is not JSON", { status: 200, headers: { "x-app-version": "v1.6.0" }, body: "ok" }, expect, "HTTP 200 but the body's version is missing, expected \"v1.6.0\""],
        ["a JSON null body", { status: 200, body: "null" }, { version: "v1", versionJsonField: "version" }, "HTTP 200 but the body's version is missing, expected \"v1\""],
        ["a body without the text", { status: 200, body: "starting" }, { bodyIncludes: "ready" }, 'HTTP 200 but the body does not contain "ready"'],
        ["a missing body", { status: 200 }, { bodyIncludes: "ready" }, 'HTTP 200 but the body does not contain "ready"'],
    ];
    for (const [name, response, expectation, problem] of cases) {
        it(name, () => assert.strictEqual(responseProblem(response, expectation), problem));
    }
});

describe("driver: freeze windows in IANA zones and on dates", () => {
    const berlin = { reason: "evening", start: "17:00", end: "23:00", timeZone: "Europe/Berlin" };
    const cases: [string, Parameters<typeof inWindow>[0], string, boolean][] = [
        ["Berlin 17:00 in winter is 16:00 UTC", berlin, "2025-03-04T16:00:00Z", true],
        ["Berlin 16:59 in winter", berlin, "2025-03-04T15:59:00Z", false],
        ["Berlin 17:00 in summer is 15:00 UTC (DST from the tz database)", berlin, "2025-07-01T15:00:00Z", true],
        ["Berlin 16:00 in summer", berlin, "2025-07-01T14:00:00Z", false],
        ["a holiday date, all day, in the zone's calendar", { reason: "xmas", dates: ["2025-12-24"], timeZone: "Europe/Berlin" }, "2025-12-23T23:30:00Z", true],
        ["the day before the holiday in the zone", { reason: "xmas", dates: ["2025-12-24"], timeZone: "Europe/Berlin" }, "2025-12-23T22:59:00Z", false],
        ["a UTC holiday date", { reason: "xmas", dates: ["2025-12-24"] }, "2025-12-24T23:59:00Z", true],
        ["an overnight range past midnight belongs to its start date", { reason: "nye", dates: ["2025-12-31"], start: "22:00", end: "06:00", timeZone: "America/New_York" }, "2026-01-01T10:59:00Z", true],
        ["an overnight range ends on time", { reason: "nye", dates: ["2025-12-31"], start: "22:00", end: "06:00", timeZone: "America/New_York" }, "2026-01-01T11:00:00Z", false],
        ["days and dates both must match", { reason: "r", days: ["mon"], dates: ["2025-03-04"] }, "2025-03-04T12:00:00Z", false],
        ["a Tokyo Monday that is Sunday in UTC", { reason: "r", days: ["mon"], timeZone: "Asia/Tokyo" }, "2025-03-02T20:00:00Z", true],
    ];
    for (const [name, window, at, expected] of cases) {
        it(`${name}: ${at} -> ${expected}`, () => assert.strictEqual(inWindow(window, new Date(at)), expected));
    }

    it("reads local time with Intl and describes windows with their zone", () => {
        assert.deepStrictEqual(localTime(new Date("2025-03-30T01:30:00Z"), "Europe/Berlin"), { day: "sun", date: "2025-03-30", minute: 3 * 60 + 30 });
        assert.strictEqual(describeWindow(berlin), "every day 17:00-23:00 Europe/Berlin (evening)");
        assert.strictEqual(describeWindow({ reason: "xmas", days: ["wed"], dates: ["2025-12-24"] }), "wed 2025-12-24 all day (UTC) (xmas)");
    });

    it("config rejects an unknown time zone and impossible dates, naming the key", () => {
        const config = productionConfig({ rollout: { freezeWindows: [{ reason: "r", dates: ["2025-02-30", "2025-13-01"], timeZone: "Europe/Atlantis" }] } });
        const error = (() => {
            try {
                parseStackConfig(shiftwiseSections(config));
            } catch (caught) {
                return caught as ConfigError;
            }
            throw new Error("accepted");
        })();
        assert.ok(error instanceof ConfigError);
        const text = error.problems.join("\n");
        assert.match(text, /shiftwise:rollout.freezeWindows\[0\].dates\[0\] = "2025-02-30": must be a date that exists in the calendar/);
        assert.match(text, /shiftwise:rollout.freezeWindows\[0\].dates\[1\] = "2025-13-01": must be a date that exists in the calendar/);
        assert.match(text, /shiftwise:rollout.freezeWindows\[0\].timeZone = "Europe\/Atlantis": must be an IANA time zone/);
    });
});

describe("driver: adapter safety settings", () => {
    it("every preview and up runs the policy pack, passes the targets and the signal, and never widens an empty target list", async () => {
        const calls: { kind: string; options: Record<string, unknown> }[] = [];
        const stand = {
            name: "production",
            preview: async (options: Record<string, unknown>) => (calls.push({ kind: "preview", options }), {}),
            up: async (options: Record<string, unknown>) => (calls.push({ kind: "up", options }), {}),
        } as unknown as ConstructorParameters<typeof AutomationStack>[0];
        const stack = new AutomationStack(stand, "/work/project", () => undefined);
        const signal = new AbortController().signal;
        await stack.preview();
        await stack.up({ targets: ["urn:a"], signal });
        await assert.rejects(stack.up({ targets: [] }), /refusing an operation restricted to no resources/);
        assert.deepStrictEqual(
            calls.map((call) => [call.kind, call.options.policyPacks, call.options.target, call.options.signal === signal, call.options.refresh]),
            [["preview", ["/work/project/policy"], undefined, false, false], ["up", ["/work/project/policy"], ["urn:a"], true, false]],
        );
    });

    it("the SDK clients use adaptive retries with 5 attempts", async () => {
        type Config = { config: { maxAttempts: () => Promise<number>; retryMode: string } };
        const port = AwsSdkPort.forRegion("eu-west-1") as unknown as { clients: { cloudWatch: Config; elb: Config } };
        assert.deepStrictEqual(RETRY_SETTINGS, { maxAttempts: 5, retryMode: "adaptive" });
        for (const client of [port.clients.cloudWatch, port.clients.elb]) {
            assert.deepStrictEqual([await client.config.maxAttempts(), client.config.retryMode], [5, "adaptive"]);
        }
    });
});

describe("driver: the probe exposure bound", () => {
    it("rolls back after failureBudget + 1 failed probes, paths of them per round", () => {
        assert.strictEqual(probeExposureSeconds({ paths: 1, everySeconds: 10, failureBudget: 2 }), 30);
        assert.strictEqual(probeExposureSeconds({ paths: 2, everySeconds: 10, failureBudget: 2 }), 20);
        assert.strictEqual(probeExposureSeconds({ paths: 3, everySeconds: 5, failureBudget: 0 }), 5);
        assert.strictEqual(probeExposureSeconds({ paths: 0, everySeconds: 7, failureBudget: 1 }), 14);
    });

    it("the plan's runbook shows both bounds: the alarms' and the probes'", () => {
        const config = parseStackConfig(shiftwiseSections(productionConfig({ rollout: { probe: { paths: ["/healthz", "/api/ping"], everySeconds: 15, failureBudget: 3 } } })));
        const runbook = renderRunbook({ stack: "production", config });
        assert.match(runbook, /worst-case exposure of a bad release, from a step's up to its rollback: /);
        assert.match(runbook, /probe bound: a release that fails its probe paths \(\/healthz, \/api\/ping, every 15s, 3 failure\(s\) tolerated\) is rolled back within 30s of its first failed probe/);
    });
});

describe("driver: the step and release guards on synthetic engine steps", () => {
    const LISTENER_URN = "urn:pulumi:production::shiftwise::shiftwise:traffic:WeightedListener$aws:lb/listener:Listener::shop-https";
    const listener = (op: string, diffs: string[], extra: Record<string, unknown> = {}) => ({ op, urn: LISTENER_URN, type: "aws:lb/listener:Listener", diffs, arn: "arn:l", ...extra });

    it("listenerOnlyProblems: exactly one in-place update of the forwarding listener's defaultActions", () => {
        assert.deepStrictEqual(listenerOnlyProblems({ steps: [listener("update", ["defaultActions"])] }, "arn:l"), []);
        assert.deepStrictEqual(listenerOnlyProblems({ steps: [listener("same", [])] }, "arn:l"), ["the update changed nothing, so the listener weights did not move"]);
        assert.deepStrictEqual(listenerOnlyProblems({ steps: [listener("replace", ["defaultActions", "port"])] }, "arn:l"), [
            `the forwarding listener was replaced, not updated in place: ${LISTENER_URN}`,
            "the forwarding listener changed port besides defaultActions",
        ]);
        assert.deepStrictEqual(listenerOnlyProblems({ steps: [listener("update", ["defaultActions"]), listener("delete", [])] }, "arn:l"), [
            `the forwarding listener was deleted, not updated in place: ${LISTENER_URN}`,
            "2 steps touched the forwarding listener; expected one",
        ]);
        // another listener ARN, another type or outside WeightedListener is not the forwarding listener
        assert.deepStrictEqual(listenerOnlyProblems({ steps: [listener("update", ["defaultActions"], { arn: "arn:other" })] }, "arn:l"), [
            `the update changed more than the forwarding listener: update ${LISTENER_URN} (defaultActions)`,
        ]);
        assert.deepStrictEqual(listenerOnlyProblems({ steps: [listener("update", ["defaultActions"], { type: "aws:lb/listenerRule:ListenerRule" })] }, "arn:l"), [
            `the update changed more than the forwarding listener: update ${LISTENER_URN} (defaultActions)`,
        ]);
        const bare = "urn:pulumi:production::shiftwise::aws:lb/listener:Listener::shop-https";
        assert.deepStrictEqual(listenerOnlyProblems({ steps: [listener("update", ["defaultActions", "tags"], { urn: bare })] }, "arn:l"), [
            `the update changed more than the forwarding listener: update ${bare} (defaultActions, tags)`,
        ]);
    });

    it("urnTypeChain, urnName and describeSteps read URNs exactly", () => {
        assert.deepStrictEqual(urnTypeChain(LISTENER_URN), ["shiftwise:traffic:WeightedListener", "aws:lb/listener:Listener"]);
        assert.deepStrictEqual(urnTypeChain("not-a-urn"), []);
        assert.deepStrictEqual(urnTypeChain("a::b::c"), []);
        assert.strictEqual(urnName(LISTENER_URN), "shop-https");
        assert.strictEqual(describeSteps([{ op: "update", urn: "u1", type: "t", diffs: ["a", "b"] }, { op: "create", urn: "u2", type: "t", diffs: [] }]), "update u1 (a, b); create u2");
    });

    const COLOUR = "urn:pulumi:production::shiftwise::shiftwise:ecs:ColourService::shop-green";
    const TASK = "urn:pulumi:production::shiftwise::shiftwise:ecs:ColourService$aws:ecs/taskDefinition:TaskDefinition::shop-green";
    const SNAP = "urn:pulumi:production::shiftwise::shiftwise:data:Database$aws:rds/snapshot:Snapshot::shop-pre-v1";
    const MIGRATION = "urn:pulumi:production::shiftwise::shiftwise:data:MigrationTask$aws:ecs/taskDefinition:TaskDefinition::shop-migration";
    const INGRESS = "urn:pulumi:production::shiftwise::aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule::shop-db-from-migration";
    const base = [
        { op: "same", urn: COLOUR, type: "shiftwise:ecs:ColourService", diffs: [] },
        { op: "replace", urn: TASK, type: "aws:ecs/taskDefinition:TaskDefinition", diffs: ["containerDefinitions"], parent: COLOUR },
    ];
    const scope = { serviceName: "shop", candidate: "green" as const, allowSnapshot: false };

    it("releasePreviewProblems: the candidate's subtree, and the snapshot and migration only when allowed", () => {
        assert.deepStrictEqual(releasePreviewProblems({ steps: base }, scope), []);
        const snapshot = { op: "create", urn: SNAP, type: "aws:rds/snapshot:Snapshot", diffs: [] };
        assert.deepStrictEqual(releasePreviewProblems({ steps: [...base, snapshot] }, scope), [`the release would change more than the green colour: create ${SNAP}`]);
        assert.deepStrictEqual(releasePreviewProblems({ steps: [...base, snapshot] }, { ...scope, allowSnapshot: true }), []);
        const dropped = { op: "delete", urn: SNAP, type: "aws:rds/snapshot:Snapshot", diffs: [] };
        assert.deepStrictEqual(releasePreviewProblems({ steps: [...base, dropped] }, { ...scope, allowSnapshot: true }), [`the release would change more than the green colour and the snapshot: delete ${SNAP}`]);
        assert.deepStrictEqual(releasePreviewProblems({ steps: [...base, { ...dropped, retainOnDelete: true }] }, { ...scope, allowSnapshot: true }), []);
        const migration = [{ op: "replace", urn: MIGRATION, type: "aws:ecs/taskDefinition:TaskDefinition", diffs: [] }, { op: "create", urn: INGRESS, type: "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", diffs: [] }];
        assert.deepStrictEqual(releasePreviewProblems({ steps: [...base, ...migration] }, { ...scope, allowMigration: true }), []);
        assert.deepStrictEqual(releasePreviewProblems({ steps: [...base, ...migration] }, { ...scope, allowSnapshot: true, allowMigration: true }), []);
        assert.deepStrictEqual(releasePreviewProblems({ steps: [...base, { ...migration[1], op: "delete" }] }, { ...scope, allowSnapshot: true, allowMigration: true }), [
            `the release would change more than the green colour, the snapshot and the migration task: delete ${INGRESS}`,
        ]);
        assert.deepStrictEqual(releasePreviewProblems({ steps: base }, { ...scope, candidate: "blue" }), [
            "the preview has no colour component (shiftwise:ecs:ColourService or shiftwise:kubernetes:KubernetesColour) named shop-blue",
            `the release would change more than the blue colour: replace ${TASK} (containerDefinitions)`,
        ]);
        const impostor = [{ ...base[0], type: "shiftwise:traffic:WeightedListener" }, base[1]];
        assert.strictEqual(releasePreviewProblems({ steps: impostor }, scope)[0], "the preview has no colour component (shiftwise:ecs:ColourService or shiftwise:kubernetes:KubernetesColour) named shop-green");
    });

    it("cleanPreviewProblems: any pending change is a problem, no-ops are not", () => {
        assert.deepStrictEqual(cleanPreviewProblems({ steps: [{ op: "same", urn: "u", type: "t", diffs: [] }, { op: "read", urn: "r", type: "t", diffs: [] }, { op: "refresh", urn: "f", type: "t", diffs: [] }] }), []);
        assert.match(cleanPreviewProblems({ steps: [{ op: "update", urn: "u", type: "t", diffs: ["x"] }] })[0], /^the current config does not match the deployed stack \(1 pending change\(s\): update u \(x\)\)/);
    });
});

describe("healthVerdict and judgeWithHealth: the serving colours' targets at every poll", () => {
    const traffic = { blue: 75, green: 25 };
    const full = { blue: { healthy: 3, desired: 3 }, green: { healthy: 3, desired: 3 } };

    it("says nothing when every serving colour has its targets, or a colour without traffic is short", () => {
        assert.strictEqual(healthVerdict(full, traffic), undefined);
        assert.strictEqual(healthVerdict({ ...full, green: { healthy: 0, desired: 3 } }, { blue: 100, green: 0 }), undefined);
        assert.strictEqual(healthVerdict({ blue: { healthy: 3, desired: 3 } }, traffic), undefined, "a colour not read is not judged");
        assert.strictEqual(healthVerdict({ ...full, blue: { healthy: 4, desired: 3 } }, traffic), undefined);
    });

    it("no healthy target on a serving colour is an alarm on it; fewer than desired is inconclusive, naming each", () => {
        assert.deepStrictEqual(healthVerdict({ ...full, green: { healthy: 0, desired: 3 } }, traffic), { kind: "alarm", colour: "green", reason: "green has no healthy target while it carries 25% of traffic (desiredCount 3)" });
        assert.deepStrictEqual(healthVerdict({ blue: { healthy: 0, desired: 2 }, green: { healthy: 0, desired: 3 } }, traffic), { kind: "alarm", colour: "blue", reason: "blue has no healthy target while it carries 75% of traffic (desiredCount 2)" });
        assert.deepStrictEqual(healthVerdict({ blue: { healthy: 1, desired: 3 }, green: { healthy: 2, desired: 3 } }, traffic), {
            kind: "inconclusive",
            reason: "blue has 1 of 3 healthy target(s) at 75% (scaled down by hand?); green has 2 of 3 healthy target(s) at 25% (scaled down by hand?)",
        });
        assert.deepStrictEqual(healthVerdict({ blue: { healthy: 1, desired: 3 }, green: { healthy: 0, desired: 3 } }, traffic)?.kind, "alarm", "an empty colour outranks a short one");
    });

    it("judgeWithHealth: drift and alarms stand; an empty colour outranks inconclusive; a short colour turns only a pass into inconclusive", () => {
        const drift = { kind: "drift" as const, reason: "moved" };
        const alarm = { kind: "alarm" as const, colour: "blue" as const, reason: "alarm" };
        const unknown = { kind: "inconclusive" as const, reason: "no data" };
        const empty = { ...full, green: { healthy: 0, desired: 3 } };
        const short = { ...full, green: { healthy: 2, desired: 3 } };
        assert.deepStrictEqual(judgeWithHealth(drift, empty, traffic), drift);
        assert.deepStrictEqual(judgeWithHealth(alarm, empty, traffic), alarm);
        assert.deepStrictEqual(judgeWithHealth(unknown, empty, traffic).kind, "alarm");
        assert.deepStrictEqual(judgeWithHealth(unknown, short, traffic), unknown);
        assert.deepStrictEqual(judgeWithHealth({ kind: "ok" }, short, traffic), { kind: "inconclusive", reason: "green has 2 of 3 healthy target(s) at 25% (scaled down by hand?)" });
        assert.deepStrictEqual(judgeWithHealth({ kind: "ok" }, full, traffic), { kind: "ok" });
        assert.deepStrictEqual(judgeWithHealth(unknown, full, traffic), unknown);
    });
});

