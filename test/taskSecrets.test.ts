// Secret environment values go to Secrets Manager under their own KMS key; the task definition names them, never holds them.
import * as assert from "assert";
import { ConfigError, parseStackConfig, shiftwiseSections } from "../config";
import { ProgramEvaluation, evaluateProgram } from "../evaluation/mockRuntime";
import { summariseResource } from "../plan/resourceSummary";
import { PROJECT, PROJECT_DIR, ofType, one, stackConfig, withFields } from "./harness";

const SSM = "arn:aws:ssm:eu-west-1:123456789012:parameter/shop/stripe-key";
const EXISTING = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:shop/sentry-AbCdEf";
const KEY = "arn:aws:kms:eu-west-1:123456789012:key/0b5e2f7a-3c1d-4e8f-9a6b-2d4c6e8f0a1b";

function withService(fields: Record<string, unknown>) {
    return withFields(stackConfig("production"), "service", fields);
}

describe("task secrets", function () {
    this.timeout(60_000);
    let evaluation: ProgramEvaluation;
    before(async () => {
        const config = withService({ environment: { API_TOKEN: "s3cr3t-value", FEATURE_FLAGS: "a,b" }, secrets: { STRIPE_KEY: SSM, SENTRY_DSN: EXISTING }, secretsKmsKeyArns: [KEY] });
        evaluation = await evaluateProgram({ project: PROJECT, stack: "production", config, programDir: PROJECT_DIR, secretKeys: ["shiftwise:service"] });
    });

    it("stores the secret environment as one JSON secret encrypted with its own rotating key", () => {
        const key = one(evaluation, "aws:kms/key:Key", "shop-env");
        assert.strictEqual(key.inputs.enableKeyRotation, true);
        const secret = one(evaluation, "aws:secretsmanager/secret:Secret", "shop-env");
        assert.strictEqual(secret.inputs.kmsKeyId, key.state.arn);
        const version = one(evaluation, "aws:secretsmanager/secretVersion:SecretVersion", "shop-env");
        assert.deepStrictEqual(version.inputs.secretString, { __secret: JSON.stringify({ API_TOKEN: "s3cr3t-value", FEATURE_FLAGS: "a,b" }) });
    });

    it("the task definitions name the secrets and never hold a value", () => {
        const secretArn = one(evaluation, "aws:secretsmanager/secret:Secret", "shop-env").state.arn as string;
        for (const definition of ofType(evaluation, "aws:ecs/taskDefinition:TaskDefinition")) {
            const text = JSON.stringify(definition.inputs.containerDefinitions);
            assert.ok(!text.includes("s3cr3t-value"), `${definition.name} holds the value`);
            const [container] = JSON.parse(definition.inputs.containerDefinitions as string) as { environment: { name: string }[]; secrets: { name: string; valueFrom: string }[] }[];
            assert.ok(!container.environment.some((variable) => variable.name === "API_TOKEN"));
            const secrets = Object.fromEntries(container.secrets.map((s) => [s.name, s.valueFrom]));
            assert.strictEqual(secrets.API_TOKEN, `${secretArn}:API_TOKEN::`);
            assert.strictEqual(secrets.FEATURE_FLAGS, `${secretArn}:FEATURE_FLAGS::`);
            assert.strictEqual(secrets.STRIPE_KEY, SSM);
            assert.strictEqual(secrets.SENTRY_DSN, EXISTING);
        }
    });

    it("the execution role reads exactly those secrets and decrypts with exactly those keys", () => {
        const secretArn = one(evaluation, "aws:secretsmanager/secret:Secret", "shop-env").state.arn as string;
        const keyArn = one(evaluation, "aws:kms/key:Key", "shop-env").state.arn as string;
        const databaseSecret = ((evaluation.outputs.database as { masterSecretArn: string }).masterSecretArn);
        const policy = JSON.parse(one(evaluation, "aws:iam/rolePolicy:RolePolicy", "shop-execution").inputs.policy as string) as { Statement: { Sid: string; Action: string[]; Resource: unknown }[] };
        const bySid = Object.fromEntries(policy.Statement.map((statement) => [statement.Sid, statement]));
        assert.deepStrictEqual(bySid.TaskSecrets.Resource, [databaseSecret, secretArn, EXISTING].sort());
        assert.deepStrictEqual(bySid.TaskParameters, { Sid: "TaskParameters", Effect: "Allow", Action: ["ssm:GetParameters"], Resource: [SSM] });
        // decrypting only when Secrets Manager or Parameter Store asks KMS on the task's behalf, in their region
        assert.deepStrictEqual(bySid.SecretKeys, {
            Sid: "SecretKeys",
            Effect: "Allow",
            Action: ["kms:Decrypt"],
            Resource: [KEY, keyArn].sort(),
            Condition: { StringEquals: { "kms:ViaService": ["secretsmanager.eu-west-1.amazonaws.com", "ssm.eu-west-1.amazonaws.com"] } },
        });
    });

    it("plan shows the task definition's image, cpu, memory and port", () => {
        const definition = ofType(evaluation, "aws:ecs/taskDefinition:TaskDefinition").find((d) => d.name.endsWith("-green"))!;
        assert.match(summariseResource(definition), /^123456789012\.dkr\.ecr\.eu-west-1\.amazonaws\.com\/shop:v1\.5\.0 cpu 256 memory 512, port 8080$/);
    });

    it("without secrets no key, secret or KMS grant exists", async () => {
        const plain = await evaluateProgram({ project: PROJECT, stack: "production", config: stackConfig("production"), programDir: PROJECT_DIR });
        assert.deepStrictEqual(ofType(plain, "aws:secretsmanager/secret:Secret"), []);
        const policy = JSON.parse(one(plain, "aws:iam/rolePolicy:RolePolicy", "shop-execution").inputs.policy as string) as { Statement: { Sid: string }[] };
        assert.deepStrictEqual(policy.Statement.map((s) => s.Sid).filter((sid) => sid === "SecretKeys" || sid === "TaskParameters"), []);
    });
});

describe("service.secrets validation", () => {
    const problems = (service: Record<string, unknown>) => {
        const sections = shiftwiseSections(stackConfig("staging")) as Record<string, any>;
        sections.service = { ...sections.service, ...service };
        try {
            parseStackConfig(sections);
            return [];
        } catch (error) {
            return (error as ConfigError).problems;
        }
    };
    const RULE =
        "must be a Secrets Manager secret ARN (arn:aws:secretsmanager:<region>:<account>:secret:<name>, optionally :<json-key>:<stage>:<id>) or an SSM parameter ARN (arn:aws:ssm:<region>:<account>:parameter/<name>); ECS reads secrets only from these two services";

    it("accepts Secrets Manager (with a JSON key) and SSM parameter ARNs", () => {
        assert.deepStrictEqual(problems({ secrets: { A: SSM, B: `${EXISTING}:password::`, C: EXISTING }, secretsKmsKeyArns: [KEY] }), []);
    });

    it("refuses ARNs of other services, names and aliases, naming key, value, rule and fix", () => {
        assert.deepStrictEqual(problems({ secrets: { A: "arn:aws:s3:::bucket/key", B: "shop/sentry" }, secretsKmsKeyArns: ["arn:aws:kms:eu-west-1:123456789012:alias/shop"] }), [
            `shiftwise:service.secrets.A = "arn:aws:s3:::bucket/key": ${RULE}`,
            `shiftwise:service.secrets.B = "shop/sentry": ${RULE}`,
            'shiftwise:service.secretsKmsKeyArns[0] = "arn:aws:kms:eu-west-1:123456789012:alias/shop": must be a KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>); IAM grants kms:Decrypt by key ARN, not alias',
        ]);
    });

    it("refuses a secret that clashes with an environment variable or one shiftwise sets", () => {
        assert.deepStrictEqual(problems({ environment: { API_TOKEN: "x" }, secrets: { API_TOKEN: SSM, DATABASE_PASSWORD: EXISTING } }), [
            `shiftwise:service.secrets.API_TOKEN = "${SSM}": names a variable that service.environment also sets; a container gets each variable once, so rename it`,
            `shiftwise:service.secrets.DATABASE_PASSWORD = "${EXISTING}": names a variable that shiftwise sets itself; a container gets each variable once, so rename it`,
        ]);
    });
});
