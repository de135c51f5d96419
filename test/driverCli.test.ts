// Tests of the CLI's commands, flags and exit codes.
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { main } from "../cli/main";
import type { CommandContext } from "../cli/commands";
import { ExitCode } from "../rollout/exitCodes";
import { cliContext } from "./fakes/cliContext";
import { fakeAws } from "./fakes/fakeAws";
import { FakeClock } from "./fakes/fakeClock";
import { FakeStack } from "./fakes/fakeStack";
import { memoryLedgerContext } from "./fakes/memoryLedger";
import { ALARMS, RELEASE, SmokeServer, productionConfig } from "./fakes/rollout";

/** The CLI over the same fakes: flags, stage lines, exit codes, JSON and signals. */
describe("shiftwise deploy/rollback/status CLI", function () {
    this.timeout(60_000);
    const server = new SmokeServer();
    let smokeBaseUrl = "";
    before(async () => (smokeBaseUrl = await server.start()));
    after(() => server.stop());

    function cli(options: { stdinIsTty?: boolean } = {}) {
        const stack = new FakeStack({ stackName: "production", config: productionConfig() });
        const aws = fakeAws(stack, { alarms: { [ALARMS.blue]: "OK", [ALARMS.green]: "OK" } });
        const clock = new FakeClock();
        const out: string[] = [];
        const err: string[] = [];
        let signalHandler: ((signal: string) => void) | undefined;
        const base = cliContext("shiftwise-cli-", {
            clock,
            stdinIsTty: options.stdinIsTty ?? false,
            openStack: async () => stack,
            openAws: (region) => {
                assert.strictEqual(region, "eu-west-1");
                return aws.port;
            },
            onSignal: (handler) => {
                signalHandler = handler;
                return () => (signalHandler = undefined);
            },
        });
        const context: CommandContext = { ...base, ledger: memoryLedgerContext(base) };
        const run = (...args: string[]) => main(["node", "shiftwise", ...args], { stdout: (t) => out.push(t), stderr: (t) => err.push(t) }, context);
        return { stack, aws, clock, out, err, run, context, signal: (name: string) => signalHandler?.(name) };
    }
    const deployArgs = ["deploy", "--stack", "production", "--version", RELEASE.version, "--image", RELEASE.image];

    it("deploys with one timestamped line per stage and exit 0; status shows the result", async () => {
        const c = cli();
        assert.strictEqual(await c.run(...deployArgs, "--yes", "--smoke-base-url", smokeBaseUrl), ExitCode.success, c.err.join(""));
        const lines = c.out.join("").trim().split("\n");
        assert.match(lines[0], /^2025-03-04T10:00:00Z \[production\] pre-flight: ok: production: green v1\.5\.0 -> v1\.6\.0 at weight 0/);
        assert.deepStrictEqual(
            lines.slice(0, -1).map((line) => line.replace(/^\S+ \[production\] ([^:]+):.*$/, "$1")),
            ["pre-flight", "checkpoint", "prepare", "shift 5%", "bake 5%", "shift 25%", "bake 25%", "shift 50%", "bake 50%", "shift 100%", "bake 100%", "watch 10 min", "finish"],
        );
        assert.strictEqual(lines[lines.length - 1], "v1.6.0 is live on green");
        assert.ok(fs.existsSync(path.join(c.context.projectDir, ".shiftwise", "records", "production")));

        c.out.length = 0;
        assert.strictEqual(await c.run("status", "--stack", "production", "--json"), ExitCode.success);
        const status = JSON.parse(c.out.join(""));
        assert.deepStrictEqual(status.listener, { blue: 0, green: 100 });
        assert.deepStrictEqual([status.colours.green.version, status.colours.green.alarm, status.colours.green.healthy], ["v1.6.0", "OK", "3/3"]);
        assert.strictEqual(status.record.status, "succeeded");
    });

    it("refuses to deploy without --yes when stdin is not a terminal, and when the answer is no", async () => {
        const c = cli();
        assert.strictEqual(await c.run(...deployArgs), ExitCode.invalid);
        assert.match(c.err.join(""), /pass --yes to deploy without a terminal/);
        assert.deepStrictEqual(c.stack.calls, []);

        const tty = cli({ stdinIsTty: true });
        assert.strictEqual(await tty.run(...deployArgs, "--smoke-base-url", smokeBaseUrl), ExitCode.refused);
        assert.deepStrictEqual(tty.stack.ups, [], "no up after a no");
    });

    it("rejects bad flags with the invalid exit code", async () => {
        const c = cli();
        assert.strictEqual(await c.run(...deployArgs, "--yes", "--pause-at", "0"), ExitCode.invalid);
        assert.match(c.err.join(""), /must be a step percent from 1 to 100/);
        assert.strictEqual(await c.run(...deployArgs, "--yes", "--pause-at", "30"), ExitCode.invalid);
        assert.match(c.err.join(""), /--pause-at 30 is not one of the steps 5, 25, 50, 100/);
    });

    it("a second SIGINT does not interrupt the rollback the first one started: it says so, and the rollback finishes (exit 4)", async () => {
        const c = cli();
        let fired = 0;
        c.clock.onSleep = () => {
            if (c.stack.ups.length === 3 && fired === 0) {
                fired = 1;
                c.signal("SIGINT");
            }
        };
        // The rollback's first up (capacity or traffic) is the first after the signal: the second signal arrives there.
        c.stack.beforeUp = () => {
            if (fired === 1) {
                fired = 2;
                c.signal("SIGINT");
            }
        };
        assert.strictEqual(await c.run(...deployArgs, "--yes", "--smoke-base-url", smokeBaseUrl), ExitCode.rolledBack, c.err.join(""));
        assert.strictEqual(fired, 2, "the second signal arrived during the rollback");
        const err = c.err.join("");
        assert.match(err, /^SIGINT: stopping; the deployment will roll back to its checkpoint\n/m);
        assert.match(err, /^SIGINT: a rollback or update is running and is not interrupted; wait for it to finish\n/m);
        assert.deepStrictEqual(c.stack.engineConfig(), productionConfig());
        assert.match(c.err.join("") + c.out.join(""), /rolled back to the checkpoint: interrupted by a signal/);
    });

    it("SIGINT during `shiftwise rollback` does not interrupt it: the rollback finishes (exit 0)", async () => {
        const c = cli();
        assert.strictEqual(await c.run(...deployArgs, "--yes", "--smoke-base-url", smokeBaseUrl), ExitCode.success, c.err.join(""));
        let fired = false;
        c.stack.beforeUp = () => {
            if (!fired) {
                fired = true;
                c.signal("SIGINT");
            }
        };
        assert.strictEqual(await c.run("rollback", "--stack", "production"), ExitCode.success, c.err.join(""));
        assert.ok(fired);
        assert.match(c.err.join(""), /SIGINT: a rollback or update is running and is not interrupted; wait for it to finish/);
        assert.deepStrictEqual(c.stack.engineConfig(), productionConfig());
    });

    it("SIGTERM during a bake rolls back and exits 4; --json prints the outcome", async () => {
        const c = cli();
        c.clock.onSleep = () => {
            if (c.stack.ups.length === 3) c.signal("SIGTERM");
        };
        assert.strictEqual(await c.run(...deployArgs, "--yes", "--json", "--smoke-base-url", smokeBaseUrl), ExitCode.rolledBack);
        const outcome = JSON.parse(c.out.join(""));
        assert.strictEqual(outcome.exitCode, ExitCode.rolledBack);
        assert.strictEqual(outcome.record.status, "rolled-back");
        assert.strictEqual(outcome.record.rollbacks[0].reason, "interrupted by a signal");
        assert.match(c.err.join(""), /SIGTERM: stopping; the deployment will roll back to its checkpoint/);
        assert.deepStrictEqual(c.stack.engineConfig(), productionConfig());
    });
});
