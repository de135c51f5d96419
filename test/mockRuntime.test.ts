// Tests of the mock runtime's stack-trace formatter: Pulumi's call-site probes cost nothing, real errors keep V8's trace.
import * as assert from "assert";
import { ProgramError, callSiteStackTrace, evaluateProgram } from "../evaluation/mockRuntime";
import { PROJECT, PROJECT_DIR, evaluateFailure, stackConfig, withFields } from "./harness";

/**
 * Formats `error`'s stack with `format` in place of V8's (or V8's own when
 * undefined). Node's source-map support (on in the tests, as under `--debug`)
 * is off meanwhile: it would replace V8's own format with Node's mapped one.
 */
function stackWith(format: ((error: Error, frames: NodeJS.CallSite[]) => string) | undefined, message: string): string {
    const saved = Error.prepareStackTrace;
    const sourceMaps = process.sourceMapsEnabled;
    process.setSourceMapsEnabled(false);
    (Error as { prepareStackTrace?: unknown }).prepareStackTrace = format;
    try {
        const error = message === "" ? new Error() : new TypeError(message);
        return error.stack ?? "";
    } finally {
        Error.prepareStackTrace = saved;
        process.setSourceMapsEnabled(sourceMaps);
    }
}

describe("mock runtime: stack traces during an evaluation", () => {
    it("gives Pulumi's message-less call-site errors an empty trace", () => {
        assert.strictEqual(stackWith(callSiteStackTrace, ""), "");
        assert.notStrictEqual(stackWith(undefined, ""), "", "V8 itself would format the frames");
    });

    it("formats an error with a message exactly as V8 does", () => {
        // Same line, so the frames are the same.
        const [ours, v8] = [callSiteStackTrace, undefined].map((format) => stackWith(format, "boom"));
        assert.match(ours, /^TypeError: boom\n {4}at /);
        assert.strictEqual(ours.split("\n").length, v8.split("\n").length);
        assert.strictEqual(ours.replace(/:\d+:\d+\)?$/gm, ""), v8.replace(/:\d+:\d+\)?$/gm, ""));
    });

    it("records no frames for errors raised during an evaluation, unless stackTraces is set (what --debug prints)", async () => {
        const config = withFields(stackConfig("staging"), "traffic", { blue: 70, green: 20 });
        const plain = await evaluateFailure(config);
        assert.strictEqual((plain.cause as Error).stack, `ConfigError: ${(plain.cause as Error).message}`);
        const traced = await evaluateProgram({ project: PROJECT, stack: "staging", config, programDir: PROJECT_DIR, stackTraces: true }).then(
            () => assert.fail("the program must fail"),
            (error: ProgramError) => error,
        );
        const stack = (traced.cause as Error).stack ?? "";
        assert.match(stack, /^ConfigError: Invalid shiftwise stack config/);
        assert.match(stack, /\n {4}at .*config[/\\]index\.ts/);
        assert.ok(Error.stackTraceLimit > 0, "the limit is restored after the evaluation");
        assert.match(new Error("after").stack ?? "", /\n {4}at /);
    });
});
