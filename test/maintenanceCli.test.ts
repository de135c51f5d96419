// `shiftwise maintenance on|off` over the fake stack (the real program graph) and as a child process for its usage errors.
import * as assert from "assert";
import { execFile } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { promisify } from "util";
import { main } from "../cli/main";
import { maintenancePage } from "../config/maintenancePage";
import { ExitCode } from "../rollout/exitCodes";
import { cliContext } from "./fakes/cliContext";
import { FakeStack } from "./fakes/fakeStack";
import { productionConfig } from "./fakes/rollout";
import { PROJECT_DIR } from "./harness";

const LISTENER = "aws:lb/listener:Listener";
const REASON = "database upgrade: expand-and-contract is not possible for this one";

describe("shiftwise maintenance", function () {
    this.timeout(60_000);

    function cli(config = productionConfig()) {
        const stack = new FakeStack({ stackName: "production", config });
        const out: string[] = [];
        const err: string[] = [];
        const context = cliContext("shiftwise-maintenance-", {
            openStack: async () => stack,
            openAws: () => {
                throw new Error("maintenance reads no AWS");
            },
        });
        const projectDir = context.projectDir;
        const run = (...args: string[]) => main(["node", "shiftwise", "maintenance", ...args, "--stack", "production"], { stdout: (t) => out.push(t), stderr: (t) => err.push(t) }, context);
        const entries = () => {
            const dir = path.join(projectDir, ".shiftwise", "records", "production", "maintenance");
            return fs.readdirSync(dir).sort().map((name) => JSON.parse(fs.readFileSync(path.join(dir, name), "utf8")));
        };
        return { stack, run, out, err, entries };
    }

    it("on: previews, then one up targeted at the forwarding listener, which answers 503 with the page; recorded", async () => {
        const c = cli();
        const listenerBefore = await c.stack.deployedResource(LISTENER, "shop");
        const testListenerBefore = await c.stack.deployedResource(LISTENER, "shop-test");
        assert.strictEqual(await c.run("on", "--reason", REASON), ExitCode.success, c.err.join(""));
        assert.deepStrictEqual(c.stack.operations.map((o) => [o.op, o.targets, o.config]), [["preview", undefined, true], ["up", [listenerBefore!.urn], undefined]]);
        const listener = await c.stack.deployedResource(LISTENER, "shop");
        assert.deepStrictEqual(listener?.inputs.defaultActions, [{ type: "fixed-response", fixedResponse: { contentType: "text/html", statusCode: "503", messageBody: maintenancePage(REASON) } }]);
        assert.deepStrictEqual(c.stack.ups.map((up) => up.changes.steps.filter((s) => s.op !== "same").map((s) => [s.op, s.urn, s.diffs])), [[["update", listenerBefore!.urn, ["defaultActions"]]]]);
        assert.deepStrictEqual((await c.stack.deployedResource(LISTENER, "shop-test"))?.inputs, testListenerBefore?.inputs);
        const [entry] = c.entries();
        assert.deepStrictEqual([entry.kind, entry.enabled, entry.reason, entry.outcome, entry.changed], ["maintenance", true, REASON, "applied", [`update ${listenerBefore!.urn}`]]);
        assert.match(c.out.join(""), /\[production\] maintenance: maintenance on: the service answers 503/);

        assert.strictEqual(await c.run("off"), ExitCode.success, c.err.join(""));
        assert.deepStrictEqual((await c.stack.deployedResource(LISTENER, "shop"))?.inputs, listenerBefore?.inputs);
        // The fake clock stands still, so both entries carry the same time: compare them unordered.
        assert.deepStrictEqual(c.entries().map((e) => [e.enabled, e.outcome]).sort(), [[false, "applied"], [true, "applied"]]);
    });

    it("changes nothing when maintenance is already in the asked state", async () => {
        const c = cli();
        assert.strictEqual(await c.run("off"), ExitCode.success);
        assert.deepStrictEqual(c.stack.operations, []);
        assert.strictEqual(c.entries()[0].outcome, "unchanged");
    });

    it("refuses, changing nothing, when the stack has other pending changes", async () => {
        const c = cli();
        await c.stack.setConfig({ "shiftwise:blue.desiredCount": "5" }, { path: true });
        assert.strictEqual(await c.run("on", "--reason", REASON), ExitCode.refused);
        assert.deepStrictEqual(c.stack.operations.map((o) => o.op), ["preview"]);
        assert.match(c.err.join(""), /refused; nothing was changed: the update changed more than the forwarding listener: update .*ecs\/service:Service::shop-blue/);
        assert.strictEqual(JSON.parse((await c.stack.getAllConfig())["shiftwise:maintenance"]?.value ?? '{"enabled":false}').enabled, false);
    });

    it("puts the config back when the up fails", async () => {
        const c = cli();
        c.stack.failUp = () => new Error("ModifyListener: AccessDenied");
        assert.strictEqual(await c.run("on", "--reason", REASON), ExitCode.error);
        assert.strictEqual(JSON.parse((await c.stack.getAllConfig())["shiftwise:maintenance"].value).enabled, false);
        assert.deepStrictEqual([c.entries()[0].outcome, c.entries()[0].problems], ["failed", ["ModifyListener: AccessDenied"]]);
    });

    describe("as a child process", () => {
        const run = (...args: string[]) =>
            promisify(execFile)(process.execPath, [path.join(PROJECT_DIR, "bin", "shiftwise.js"), "--cwd", PROJECT_DIR, ...args], { cwd: os.tmpdir() }).then(
                () => ({ code: 0, stderr: "" }),
                (error: { code: number; stderr: string }) => ({ code: error.code, stderr: error.stderr }),
            );

        it("exits 2 without a reason, and for a state that is not on or off, before opening the stack", async () => {
            const noReason = await run("maintenance", "on", "--stack", "production");
            assert.strictEqual(noReason.code, ExitCode.invalid);
            assert.match(noReason.stderr, /shiftwise maintenance on: --reason "<why>" is required/);
            const sideways = await run("maintenance", "sideways", "--stack", "production");
            assert.strictEqual(sideways.code, ExitCode.invalid);
            assert.match(sideways.stderr, /must be "on" or "off"/);
        });
    });
});
