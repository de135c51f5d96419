#!/usr/bin/env node
// A stand-in `pulumi` executable for CLI tests: answers the Automation API's calls as a logged-out backend, a missing stack, or a stack without outputs would.
"use strict";
// FAKE_PULUMI_MODE: logged-out | no-stack | no-outputs. Every call is appended to FAKE_PULUMI_LOG.
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
} else if (args[0] === "config") {
    process.stdout.write(JSON.stringify({ "aws:region": { value: "eu-west-1", secret: false } }));
} else if (args[0] === "stack" && args[1] === "output") {
    process.stdout.write("{}");
}
