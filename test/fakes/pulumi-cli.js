#!/usr/bin/env node
// A stand-in `pulumi` executable for CLI tests: answers the Automation API's calls as a logged-out backend, a missing stack, or a stack without outputs would.
"use strict";
// FAKE_PULUMI_MODE: logged-out | no-stack | no-outputs. Every call is appended to FAKE_PULUMI_LOG.
// FAKE_PULUMI_CONFIG / FAKE_PULUMI_OUTPUTS serve a stack's config and outputs; a config write fails (FAKE_PULUMI_FAIL_WRITES says why).
const fs = require("fs");
const args = process.argv.slice(2);
if (process.env.FAKE_PULUMI_LOG) fs.appendFileSync(process.env.FAKE_PULUMI_LOG, `${args.join(" ")}\n`);
const mode = process.env.FAKE_PULUMI_MODE;
const fail = (message) => {
    process.stderr.write(`error: ${message}\n`);
    process.exit(255);
};
if (args[0] === "version") {
    process.stdout.write("v3.210.0\n");
} else if (mode === "logged-out") {
    fail("PULUMI_ACCESS_TOKEN must be set for login during non-interactive CLI sessions");
} else if (mode === "no-stack" && args.includes("select")) {
    fail(`no stack named '${args[args.indexOf("--stack") + 1]}' found`);
} else if (args[0] === "config" && args[1] === "set-all" && process.env.FAKE_PULUMI_FAIL_WRITES) {
    fail("the backend refused the config write (FAKE_PULUMI_FAIL_WRITES)");
} else if (args[0] === "config" && (args[1] === "set-all" || args[1] === "rm")) {
    fail("this stand-in stores no config; set FAKE_PULUMI_FAIL_WRITES or expect no write");
} else if (args[0] === "config") {
    // FAKE_PULUMI_CONFIG: a JSON file of key -> engine string, served as `pulumi config --json` serves a stack file.
    const config = process.env.FAKE_PULUMI_CONFIG ? JSON.parse(fs.readFileSync(process.env.FAKE_PULUMI_CONFIG, "utf8")) : { "aws:region": "eu-west-1" };
    process.stdout.write(JSON.stringify(Object.fromEntries(Object.entries(config).map(([key, value]) => [key, { value, secret: false }]))));
} else if (args[0] === "stack" && args[1] === "output") {
    // FAKE_PULUMI_OUTPUTS: a JSON file of the stack outputs.
    process.stdout.write(process.env.FAKE_PULUMI_OUTPUTS ? fs.readFileSync(process.env.FAKE_PULUMI_OUTPUTS, "utf8") : "{}");
}
