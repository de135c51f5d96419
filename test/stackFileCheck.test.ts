// Tests of the config check `plan` runs before it loads Pulumi: the same problems as the program's own check, the ESC warning, and checkStackConfig's rules.
import * as assert from "assert";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { ConfigError, checkStackConfig, loadConfig, shiftwiseSections } from "../config";
import { ProgramError, evaluateProgram } from "../evaluation/mockRuntime";
import { readStackFile } from "../evaluation/stackFile";
import { checkPlanStackFile, escWarning } from "../plan/stackFileCheck";
import { EXAMPLE_STACKS, PROJECT, PROJECT_DIR, StackDocument, editedStackFile, evaluate, stackConfig } from "./harness";

/** The problems `checkPlanStackFile` reports for `file`, or undefined when it passes. */
function checkProblems(stack: string, file: string): readonly string[] | undefined {
    try {
        checkPlanStackFile({ projectDir: PROJECT_DIR, stack, configFile: file });
        return undefined;
    } catch (error) {
        if (error instanceof ConfigError) return error.problems;
        throw error;
    }
}

/** The problems the program itself reports for `file` under the mock runtime (as `plan` used to find them), or undefined when it evaluates. */
async function programProblems(stack: string, file: string): Promise<readonly string[] | undefined> {
    const stackFile = readStackFile(file, PROJECT);
    try {
        await evaluateProgram({ project: PROJECT, stack, config: stackFile.config, secretKeys: stackFile.secretKeys, programDir: PROJECT_DIR, preview: true });
        return undefined;
    } catch (error) {
        if (error instanceof ProgramError && error.cause instanceof ConfigError) return error.cause.problems;
        throw error;
    }
}

const STAGING = path.join(PROJECT_DIR, "Pulumi.staging.yaml");
const PRODUCTION = path.join(PROJECT_DIR, "Pulumi.production.yaml");
const PLAIN_KUBECONFIG = "apiVersion: v1\nkind: Config\nusers:\n  - name: ci\n    user:\n      token: abc123\n";

describe("plan's config check before Pulumi loads (plan/stackFileCheck.ts)", function () {
    this.timeout(60_000);

    const cases: { name: string; stack: string; source: string; edit: (d: StackDocument) => void }[] = [
        { name: "weights that do not sum to 100", stack: "staging", source: STAGING, edit: (d) => (d.config["shiftwise:traffic"] = { blue: 70, green: 20 }) },
        { name: "a typo'd key and a wrong type", stack: "staging", source: STAGING, edit: (d) => ((d.config["shiftwise:trafic"] = { blue: 100 }), ((d.config["shiftwise:rollout"] as Record<string, unknown>).bakeMinutes = "ten")) },
        { name: "no aws:region", stack: "staging", source: STAGING, edit: (d) => delete d.config["aws:region"] },
        { name: "a stack moved to another region than its certificate and web ACL", stack: "production", source: PRODUCTION, edit: (d) => (d.config["aws:region"] = "us-east-1") },
        {
            name: "a plain-text kubeconfig with a token",
            stack: "eks-staging",
            source: EXAMPLE_STACKS["eks-staging"],
            edit: (d) => ((d.config["shiftwise:kubernetes"] as Record<string, unknown>).kubeconfig = PLAIN_KUBECONFIG),
        },
    ];
    for (const { name, stack, source, edit } of cases) {
        it(`${name}: the same problems as the program's own check, before any evaluation`, async () => {
            const file = editedStackFile(edit, source);
            const before = checkProblems(stack, file);
            assert.ok(before && before.length > 0, "the check finds the problem");
            assert.deepStrictEqual(before, await programProblems(stack, file));
        });
    }

    it("takes a section with a secure value inside as secret, as the engine does: a kubeconfig with a token beside it passes, as in the program", async () => {
        const file = editedStackFile((d) => {
            const kubernetes = d.config["shiftwise:kubernetes"] as Record<string, unknown>;
            kubernetes.kubeconfig = PLAIN_KUBECONFIG;
            kubernetes.context = { secure: "v1:c2VjcmV0" };
        }, EXAMPLE_STACKS["eks-staging"]);
        assert.ok(readStackFile(file, PROJECT).secretKeys.includes("shiftwise:kubernetes"), "the section holds a secure value");
        assert.strictEqual(checkProblems("eks-staging", file), undefined);
        assert.strictEqual(await programProblems("eks-staging", file), undefined);
    });

    it("passes the committed stacks and the EKS example, as the program does", async () => {
        for (const [stack, source] of [["staging", STAGING], ["production", PRODUCTION], ["eks-staging", EXAMPLE_STACKS["eks-staging"]]] as const) {
            assert.strictEqual(checkProblems(stack, source), undefined, stack);
        }
    });

    it("adds the ESC warning, word for word, to the problems of a stack file that imports environments", () => {
        const file = editedStackFile((d) => {
            d.environment = ["shop/aws", "shop/secrets"];
            delete d.config["aws:region"];
        });
        assert.deepStrictEqual(checkProblems("staging", file), [
            "aws:region is missing: shiftwise names regions in alarms and restore commands; run `pulumi config set aws:region eu-west-1`",
            "Pulumi.edited.yaml imports the Pulumi ESC environment(s) shop/aws, shop/secrets, which cannot be resolved offline: their values are missing from this plan. " +
                "`pulumi config --stack staging --show-secrets` shows the resolved config; pass it with --config-file to plan with those values",
        ]);
        assert.strictEqual(escWarning("Pulumi.x.yaml", ["a"], "x").startsWith("Pulumi.x.yaml imports the Pulumi ESC environment(s) a, "), true);
    });

    it("without ESC environments, throws the check's own error, so --debug shows the line in config/index.ts that raised it", () => {
        const file = editedStackFile((d) => delete d.config["aws:region"]);
        assert.throws(
            () => checkPlanStackFile({ projectDir: PROJECT_DIR, stack: "staging", configFile: file }),
            (error: ConfigError) => error instanceof ConfigError && /\n {4}at checkStackConfig \(.*config[/\\]index\.ts:\d+:\d+\)/.test(error.stack ?? ""),
        );
    });

    it("returns the stack file it read and checked, which plan then evaluates without reading it again", () => {
        const read = checkPlanStackFile({ projectDir: PROJECT_DIR, stack: "production" });
        assert.deepStrictEqual({ project: read.project, file: read.file }, { project: PROJECT, file: PRODUCTION });
        assert.deepStrictEqual(read.stackFile, readStackFile(PRODUCTION, PROJECT));
    });
});

describe("checkStackConfig: the program's whole config check", () => {
    const production = () => shiftwiseSections(readStackFile(PRODUCTION, PROJECT).config);
    const eks = () => shiftwiseSections(readStackFile(EXAMPLE_STACKS["eks-staging"], PROJECT).config);

    it("returns the config and the region of a valid stack", () => {
        const { config, region } = checkStackConfig({ sections: production(), secretSections: new Set(), stack: "production", region: "eu-west-1" });
        assert.deepStrictEqual([region, config.traffic], ["eu-west-1", { blue: 90, green: 10 }]);
    });

    it("reports a web ACL of another region than the stack's", () => {
        const sections = production();
        const service = sections.service as Record<string, unknown>;
        sections.service = { ...service, webAclArn: String(service.webAclArn).replace(":eu-west-1:", ":us-east-1:") };
        assert.throws(
            () => checkStackConfig({ sections, secretSections: new Set(), stack: "production", region: "eu-west-1" }),
            (error: ConfigError) => error.problems.length === 1 && /^shiftwise:service\.webAclArn = ".*": the web ACL is in us-east-1 but the stack is in eu-west-1 \(aws:region\)/.test(error.problems[0]),
        );
    });

    it("accepts credentials in a kubeconfig only when the kubernetes section is a secret", () => {
        const sections = { ...eks(), kubernetes: { ...(eks().kubernetes as Record<string, unknown>), kubeconfig: PLAIN_KUBECONFIG } };
        assert.doesNotThrow(() => checkStackConfig({ sections, secretSections: new Set(["kubernetes"]), stack: "eks-staging", region: "eu-west-1" }));
        assert.throws(
            () => checkStackConfig({ sections, secretSections: new Set(["network"]), stack: "eks-staging", region: "eu-west-1" }),
            (error: ConfigError) => error.problems.length === 1 && /^shiftwise:kubernetes\.kubeconfig holds credentials \(token\) in plain text/.test(error.problems[0]),
        );
    });

    it("lets an error that is not a config problem through as itself", () => {
        assert.throws(
            () => checkStackConfig({ sections: null as unknown as Record<string, unknown>, secretSections: new Set(), stack: "staging", region: "eu-west-1" }),
            (error: Error) => error instanceof TypeError && /Cannot convert undefined or null to object/.test(error.message),
        );
    });
});

describe("loadConfig: the program's read of the engine's config", () => {
    it("returns the checked config, the region and aws:profile, which the program's trip reader uses for the ledger", async () => {
        // An evaluation sets the runtime's project and stack; the config is then set as the engine would set it.
        await evaluate(stackConfig("staging"), "staging");
        pulumi.runtime.setAllConfig({ ...stackConfig("staging"), "aws:profile": "shop-ops" });
        const withProfile = loadConfig();
        assert.deepStrictEqual([withProfile.region, withProfile.awsProfile, withProfile.config.traffic], ["eu-west-1", "shop-ops", { blue: 90, green: 10 }]);
        pulumi.runtime.setAllConfig({ ...stackConfig("staging") });
        assert.strictEqual(loadConfig().awsProfile, undefined, "no profile: the default credential chain");
    });
});
