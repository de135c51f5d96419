// deploy --maintenance's flags, run as users run them: the package bin as a separate process, refused (exit 2) before pulumi runs.
import * as assert from "assert";
import { ExitCode } from "../rollout/exitCodes";
import { PROJECT_DIR } from "./harness";
import { STACK_TRACE, fakePulumiStack, pulumiCalls, shiftwise } from "./fakes/binProcess";
import { RELEASE, productionConfig } from "./fakes/rollout";

const DEPLOY = ["--cwd", PROJECT_DIR, "deploy", "--stack", "production", "--version", RELEASE.version, "--image", RELEASE.image, "--yes"];

describe("shiftwise as a process: deploy --maintenance", function () {
    this.timeout(60_000);

    for (const [name, flags, message] of [
        // The committed production stack file has no database.migration: the flag is for a migration only.
        ["on a stack without database.migration", ["--maintenance"], /^shiftwise deploy: --maintenance needs shiftwise:database\.migration: it is for a migration that cannot be backwards compatible; a release without one keeps serving users on the old colour; nothing was changed$/m],
        ["with --pause-at", ["--maintenance", "schema upgrade", "--pause-at", "25"], /--pause-at 25 cannot be used with --maintenance: the release goes to 100% in one step behind the page \(the old colour cannot serve the new schema\), so there is no step to pause after/],
        ["with a reason longer than the page carries", ["--maintenance", "x".repeat(1000)], /--maintenance "x{1000}": the page's reason makes the maintenance page longer than the 1024 characters an ALB fixed response carries; shorten it/],
        ["with a blank reason", ["--maintenance", "   "], /--maintenance " {3}": the page's reason must not be empty; say why the service is down, e\.g\. database upgrade/],
    ] as const) {
        it(`${name}: exit 2, one line naming the rule, no pulumi call`, async () => {
            const { env, log } = fakePulumiStack(productionConfig());
            const result = await shiftwise([...DEPLOY, ...flags], { env });
            assert.strictEqual(result.code, ExitCode.invalid, result.stderr);
            assert.match(result.stderr, message);
            assert.doesNotMatch(result.stderr, STACK_TRACE);
            assert.deepStrictEqual(pulumiCalls(log), [], "pulumi never ran");
        });
    }

    it("--help describes the flag and exit code 7", async () => {
        const result = await shiftwise(["deploy", "--help"]);
        assert.strictEqual(result.code, ExitCode.success, result.stderr);
        assert.match(result.stdout, /--maintenance \[reason\] +for a migration that cannot be backwards compatible/);
        const top = await shiftwise(["--help"]);
        assert.match(top.stdout, /^ {2}7 {2}held {10}deploy --maintenance \(or its rollback\) stopped with the maintenance page up/m);
    });
});
