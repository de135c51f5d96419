// Tests of `shiftwise plan`.
import * as assert from "assert";
import { execFile } from "child_process";
import * as os from "os";
import * as path from "path";
import { promisify } from "util";
import { main } from "../cli/main";
import { renderSecurity } from "../plan/security";
import { ExitCode } from "../rollout/exitCodes";
import { PROJECT_DIR, StackDocument, editedStackFile } from "./harness";

/** Runs the CLI in-process and captures what it prints. */
async function run(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    let stdout = "";
    let stderr = "";
    const code = await main(["node", "shiftwise", ...args], { stdout: (t) => (stdout += t), stderr: (t) => (stderr += t) });
    return { code, stdout, stderr };
}

/** A copy of the staging stack file with `edit` applied to its config. */
function writeStackFile(edit: (config: StackDocument["config"]) => void): string {
    return editedStackFile((document) => edit(document.config), undefined, "Pulumi.broken.yaml");
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
        // The secret value lives in Secrets Manager; the task definition only names it, so its settings stay visible.
        const version = plan.resources.find((r: { type: string }) => r.type === "aws:secretsmanager/secretVersion:SecretVersion");
        assert.strictEqual(version.inputs.secretString, "[secret]");
        const task = plan.resources.find((r: { name: string; type: string }) => r.type === "aws:ecs/taskDefinition:TaskDefinition" && r.name === "shop-blue");
        const [container] = JSON.parse(task.inputs.containerDefinitions);
        assert.match(container.secrets.find((s: { name: string }) => s.name === "API_TOKEN").valueFrom, /^arn:aws:secretsmanager:eu-west-1:123456789012:secret:shop-env-[0-9a-f]{6}:API_TOKEN::$/);
        assert.strictEqual(container.image, "123456789012.dkr.ecr.eu-west-1.amazonaws.com/shop:v1.4.2");
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
                "  - shiftwise:rolout: is not a shiftwise config key; remove it or fix its spelling (known keys: service, network, tls, blue, green, traffic, rollout, alarms, database, maintenance, kubernetes, protect, releaseColour)",
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
        const { stdout } = await promisify(execFile)(process.execPath, [path.join(PROJECT_DIR, "bin", "shiftwise.js"), "--cwd", PROJECT_DIR, "plan", "--stack", "staging"], { cwd: os.tmpdir() });
        assert.match(stdout, /^  blue    90%/m);
    });
});

describe("shiftwise plan: secure-by-default section", () => {
    it("shows where production's logs go, how its containers and database are hardened, and its web ACL", async () => {
        const result = await run("plan", "--stack", "production");
        const section = result.stdout.slice(result.stdout.indexOf("Secure by default\n")).split("\n\n")[0].split("\n");
        assert.deepStrictEqual(section.slice(1).map((line) => line.replace(/shop-logs-[0-9a-f]{7}/, "shop-logs-<id>")), [
            "  access logs: s3://shop-logs-<id>/alb/AWSLogs/ in the stack's bucket (SSE-S3, public access blocked, TLS only, expires after 90 days, kept when the stack is destroyed)",
            "  flow logs: the VPC is adopted, not created here; its flow logs are managed where it is",
            "  log groups: 5 of 5 encrypted with a customer-managed key; 4 of 4 KMS keys rotate yearly",
            "  container shop-blue/shop: read-only root, scratch /tmp, unprivileged, user from the image",
            "  container shop-green/shop: read-only root, scratch /tmp, unprivileged, user from the image",
            "  database shop-production: Performance Insights 7 days (customer-managed key), Enhanced Monitoring every 60 s, CA rds-ca-rsa2048-g1, TLS required (rds.force_ssl=1), logs exported: postgresql, upgrade",
            "  web ACL: arn:aws:wafv2:eu-west-1:123456789012:regional/webacl/shop-production/4f6c2a1e-8b3d-4e5f-9a7b-1c2d3e4f5a6b",
        ]);
    });

    it("notes a public load balancer without a web ACL, a writable root and flow logs to CloudWatch", async () => {
        const file = writeStackFile((config) => {
            config["shiftwise:green"] = { ...config["shiftwise:green"], readonlyRootFilesystem: false, user: "1000:1000" };
        });
        const result = await run("plan", "--stack", "staging", "--config-file", file);
        assert.strictEqual(result.code, ExitCode.success, result.stderr);
        assert.match(result.stdout, /^  flow logs: ALL traffic to CloudWatch Logs \/shiftwise\/staging\/shop\/vpc-flow-logs, 90 days$/m);
        assert.match(result.stdout, /^  container shop-green\/shop: WRITABLE root \(opted out\), scratch \/tmp, unprivileged, user 1000:1000$/m);
        assert.match(result.stdout, /^  note: the internet-facing load balancer shop has no web ACL; set shiftwise:service\.webAclArn to an existing regional AWS WAF web ACL$/m);
    });
});

describe("plan: security notes", () => {
    it("says when the instance class has no Performance Insights", () => {
        const db = {
            urn: "urn:db", type: "aws:rds/instance:Instance", name: "db", custom: true, state: {},
            options: { protect: false, retainOnDelete: false, deleteBeforeReplace: false, ignoreChanges: [], replaceOnChanges: [], dependencies: [], aliases: [] },
            inputs: { identifier: "legacy", engine: "mysql", instanceClass: "db.t3.micro", performanceInsightsEnabled: false, monitoringInterval: 60, caCertIdentifier: "rds-ca-rsa2048-g1", enabledCloudwatchLogsExports: ["error"] },
        };
        const text = renderSecurity({ evaluation: { resources: [db], outputs: {} }, config: {} as never });
        assert.ok(text.includes("  database legacy: Performance Insights off, Enhanced Monitoring every 60 s, CA rds-ca-rsa2048-g1, TLS not required, logs exported: error\n"), text);
        assert.ok(text.endsWith("  note: RDS offers no Performance Insights for mysql on db.t3.micro; choose a larger class to have it"), text);
    });
});

describe("plan: security section with secrets", () => {
    it("reads a container definition that carries a secret", () => {
        const task = {
            urn: "urn:task", type: "aws:ecs/taskDefinition:TaskDefinition", name: "shop-blue", custom: true, state: {},
            options: { protect: false, retainOnDelete: false, deleteBeforeReplace: false, ignoreChanges: [], replaceOnChanges: [], dependencies: [], aliases: [] },
            inputs: { family: "shop-blue", containerDefinitions: { __secret: JSON.stringify([{ name: "shop", readonlyRootFilesystem: true, mountPoints: [{ containerPath: "/tmp" }] }]) } },
        };
        const text = renderSecurity({ evaluation: { resources: [task], outputs: {} }, config: {} as never });
        assert.ok(text.includes("  container shop-blue/shop: read-only root, scratch /tmp, unprivileged, user from the image"), text);
    });
});
