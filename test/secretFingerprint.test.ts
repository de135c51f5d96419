// Records never hold a secret or its unsalted hash: the salted scrypt fingerprints of rollout/configPaths.ts.
import * as assert from "assert";
import { createHash } from "crypto";
import { redactSecrets, secretMatches } from "../rollout/configPaths";

describe("secret fingerprints in records", () => {
    const entries = {
        "shiftwise:service": { value: '{"name":"shop"}' },
        "shiftwise:apiToken": { value: "hunter2", secret: true },
    };

    it("holds neither the value nor its plain sha256, anywhere in the record copy", () => {
        const text = JSON.stringify(redactSecrets(entries));
        assert.ok(!text.includes("hunter2"));
        assert.ok(!text.includes(createHash("sha256").update("hunter2").digest("hex")));
        assert.deepStrictEqual(redactSecrets(entries)["shiftwise:service"], { value: '{"name":"shop"}' });
        assert.strictEqual(redactSecrets(entries)["shiftwise:apiToken"].secret, true);
    });

    it("salts each copy, so two records of one secret do not show it is the same", () => {
        const first = redactSecrets(entries)["shiftwise:apiToken"].value;
        const second = redactSecrets(entries)["shiftwise:apiToken"].value;
        assert.notStrictEqual(first, second);
        assert.match(first, /^scrypt:[0-9a-f]{32}:[0-9a-f]{64}$/);
    });

    it("still tells whether a value is the fingerprinted secret", () => {
        const fingerprint = redactSecrets(entries)["shiftwise:apiToken"].value;
        assert.strictEqual(secretMatches(fingerprint, "hunter2"), true);
        assert.strictEqual(secretMatches(fingerprint, "hunter3"), false);
        assert.strictEqual(secretMatches(`sha256:${createHash("sha256").update("hunter2").digest("hex")}`, "hunter2"), false);
        assert.strictEqual(secretMatches("scrypt:00:", "hunter2"), false);
    });
});
