// Tests of the plain-text table layout (cli-table3 without borders) the CLI prints.
import * as assert from "assert";
import { textTable } from "../rollout/textTable";

describe("textTable", () => {
    it("lays out columns two spaces apart, each as wide as its widest cell, without trailing spaces or colours", () => {
        assert.deepStrictEqual(textTable(["check", "result", "evidence"], [["stack config is valid", "ok", "14 keys"], ["outputs", "FAIL", "the stack outputs lack listenerArn"]]), [
            "check                  result  evidence",
            "stack config is valid  ok      14 keys",
            "outputs                FAIL    the stack outputs lack listenerArn",
        ]);
    });

    it("indents every line, measures wide characters by their terminal width, and puts a multi-line cell on lines of its own", () => {
        assert.deepStrictEqual(textTable(["a", "b"], [["日本", "x"], ["one\ntwo", "y"]], "  "), ["  a     b", "  日本  x", "  one   y", "  two"]);
    });

    it("prints no head line for an empty head, and right-aligns the columns asked for", () => {
        assert.deepStrictEqual(textTable([], [["step 5%", "5%", "gate: x"], ["step 100%", "100%", "gate: y"]], "  ", ["left", "right"]), ["  step 5%      5%  gate: x", "  step 100%  100%  gate: y"]);
    });
});
