// Tests of `shiftwise plan`.
import * as assert from "assert";
import { execFile } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { promisify } from "util";
import YAML from "yaml";
import { main } from "../cli/main";
import { ExitCode } from "../rollout/exitCodes";
import { PROJECT_DIR } from "./harness";

/** Runs the CLI in-process and captures what it prints. */
async function run(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    let stdout = "";
    let stderr = "";
    const code = await main(["node", "shiftwise", ...args], { stdout: (t) => (stdout += t), stderr: (t) => (stderr += t) });
    return { code, stdout, stderr };
}

function writeStackFile(edit: (config: Record<string, any>) => void): string {
    const document = YAML.parse(fs.readFileSync(path.join(PROJECT_DIR, "Pulumi.staging.yaml"), "utf8"));
    edit(document.config);
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "shiftwise-plan-")), "Pulumi.broken.yaml");
    fs.writeFileSync(file, YAML.stringify(document));
    return file;
}

describe("shiftwise plan", () => {
    for (const stack of ["staging", "production"]) {
        it(`prints the ${stack} stack's resources and traffic split`, async () => {
            const result = await run("plan", "--stack", stack);
            assert.strictEqual(result.stderr, "");
            assert.strictEqual(result.code, ExitCode.success);
            assert.match(result.stdout, new RegExp(`^shiftwise plan: stack ${stack} of project shiftwise \\(Pulumi\\.${stack}\\.yaml\\), region eu-west-1$`, "m"));
            const tasks = stack === "production" ? 3 : 1;
            assert.match(result.stdout, new RegExp(`^  blue    90%  #{18}\\.{2}  v1\\.4\\.2 on ${tasks} task\\(s\\)  stable$`, "m"));
            assert.match(result.stdout, new RegExp(`^  green   10%  #{2}\\.{18}  v1\\.5\\.0 on ${tasks} task\\(s\\)  candidate$`, "m"));
            assert.match(result.stdout, /aws:lb\/listener:Listener shop  HTTPS:443 ELBSecurityPolicy-TLS13-1-2-2021-06 -> forward shop-blue=90 shop-green=10, stickiness off/);
            assert.match(result.stdout, /aws:lb\/listener:Listener shop-http  HTTP:80 -> redirect HTTP_301 to HTTPS:443/);
            assert.match(result.stdout, /aws:lb\/listenerRule:ListenerRule shop-test-green  priority 20: x-shiftwise-colour: green and x-shiftwise-test-token: \[secret\] -> forward shop-green/);
            assert.match(result.stdout, new RegExp(`aws:lb/loadBalancer:LoadBalancer shop  internet-facing ALB, dropInvalidHeaderFields true, deletionProtection ${stack === "production"}`));
            const protectedStack = stack === "production";
            assert.ok(
                result.stdout.includes(
                    `aws:rds/instance:Instance shop-db  shop-${stack}: postgres 16 on ${protectedStack ? "db.t4g.medium" : "db.t4g.micro"}, encrypted true, public false, ` +
                        `multi-AZ ${protectedStack}, deletionProtection ${protectedStack}${protectedStack ? "  [protect, retainOnDelete]" : ""}\n`,
                ),
                "the database line shows its security settings and, in production, protect",
            );
        });
    }

    it("reads another stack file with --config-file and follows its weights", async () => {
        const file = writeStackFile((config) => (config["shiftwise:traffic"] = { blue: 25, green: 75 }));
        const result = await run("plan", "--stack", "staging", "--config-file", file);
        assert.strictEqual(result.code, ExitCode.success, result.stderr);
        assert.match(result.stdout, /^  green   75%  #{15}\.{5}  v1\.5\.0 on 1 task\(s\)  stable$/m);
        assert.match(result.stdout, /forward shop-blue=25 shop-green=75/);
    });

    it("shows secure values as [secret]", async () => {
        const file = writeStackFile((config) => (config["shiftwise:service"].environment = { API_TOKEN: { secure: "v1:abc:def" } }));
        const result = await run("plan", "--stack", "staging", "--config-file", file, "--json");
        assert.strictEqual(result.code, ExitCode.success, result.stderr);
        const plan = JSON.parse(result.stdout);
        const task = plan.resources.find((r: { name: string; type: string }) => r.type === "aws:ecs/taskDefinition:TaskDefinition" && r.name === "shop-blue");
        assert.strictEqual(task.inputs.containerDefinitions, "[secret]");
        assert.ok(!result.stdout.includes("v1:abc:def"));
    });

    it("exits 2 and prints every validation error for an invalid stack file", async () => {
        const file = writeStackFile((config) => {
            config["shiftwise:traffic"] = { blue: 70, green: 20 };
            config["shiftwise:blue"].image = "shop:latest";
            config["shiftwise:rolout"] = { steps: [100] };
        });
        const result = await run("plan", "--stack", "staging", "--config-file", file);
        assert.strictEqual(result.code, ExitCode.invalid);
        assert.strictEqual(result.stdout, "");
        assert.strictEqual(
            result.stderr,
            [
                "Invalid shiftwise stack config (3 problems):",
                "  - shiftwise:rolout: is not a shiftwise config key; remove it or fix its spelling (known keys: service, network, tls, blue, green, traffic, rollout, alarms, database, maintenance, kubernetes, protect)",
                '  - shiftwise:blue.image = "shop:latest": must not use :latest; a rollback cannot restore a moving tag, so pin a version tag or digest',
                "  - shiftwise:traffic: blue (70) + green (20) = 90; weights must sum to 100",
                "",
            ].join("\n"),
        );
    });

    it("exits 2 when the stack file does not exist", async () => {
        const result = await run("plan", "--stack", "nonexistent");
        assert.strictEqual(result.code, ExitCode.invalid);
        assert.match(result.stderr, /Pulumi\.nonexistent\.yaml/);
    });

    it("exits 2 on a usage error", async () => {
        const result = await run("plan");
        assert.strictEqual(result.code, ExitCode.invalid);
        assert.match(result.stderr, /required option '-s, --stack <name>' not specified/);
    });

    it("runs as the package bin, the way `npx shiftwise plan` does", async () => {
        const { stdout } = await promisify(execFile)(process.execPath, [path.join(PROJECT_DIR, "bin", "shiftwise.js"), "plan", "--stack", "staging"], { cwd: os.tmpdir() });
        assert.match(stdout, /^  blue    90%/m);
    });
});
