// Tests of the Automation API stack port's pieces that run without the pulumi CLI.
import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import YAML from "yaml";
import { writePreviewStackFile } from "../ports/automationStack";
import { readStackFile, stackFilePath } from "../evaluation/stackFile";
import { PROJECT_DIR } from "./harness";

describe("stack port: preview of a config without writing the stack file", () => {
    it("copies the stack file with the given non-secret keys, keeping secure values and the encryption salt, and leaves the stack file alone", () => {
        const folder = fs.mkdtempSync(path.join(os.tmpdir(), "shiftwise-port-"));
        const stackFile = path.join(folder, "Pulumi.production.yaml");
        const original = fs.readFileSync(stackFilePath(PROJECT_DIR, "production"), "utf8").replace("config:\n", "encryptionsalt: v1:abc:def\nconfig:\n  shiftwise:token:\n    secure: v1:cipher\n");
        fs.writeFileSync(stackFile, original);
        const config = readStackFile(stackFile, "shiftwise").config;
        const entries = Object.fromEntries(Object.entries(config).map(([key, value]) => [key, { value }]));
        entries["shiftwise:traffic"] = { value: '{"blue":75,"green":25}' };
        entries["shiftwise:token"] = { value: "plain-text-must-not-be-written", secret: true } as never;
        delete entries["shiftwise:protect"];

        const written = writePreviewStackFile(stackFile, "shiftwise", entries);
        try {
            assert.strictEqual(fs.readFileSync(stackFile, "utf8"), original, "the stack file is untouched");
            const copy = YAML.parse(fs.readFileSync(written, "utf8"));
            assert.strictEqual(copy.encryptionsalt, "v1:abc:def");
            assert.deepStrictEqual(copy.config["shiftwise:token"], { secure: "v1:cipher" });
            assert.deepStrictEqual(copy.config["shiftwise:traffic"], { blue: 75, green: 25 });
            assert.deepStrictEqual(copy.config["shiftwise:blue"], JSON.parse(config["shiftwise:blue"]));
            assert.strictEqual(copy.config["aws:region"], "eu-west-1");
            assert.ok(!("shiftwise:protect" in copy.config), "a key the config lacks is not previewed");
            assert.ok(!fs.readFileSync(written, "utf8").includes("plain-text"), "secret plain text never reaches the disk");
            assert.notStrictEqual(path.dirname(written), folder);
        } finally {
            fs.rmSync(path.dirname(written), { recursive: true, force: true });
        }
    });
});
