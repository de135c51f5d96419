// Table tests of AWS's own rules in config/awsRules.ts and the derived names in config/derivedNames.ts.
import * as assert from "assert";
import {
    ALB_TLS13_POLICIES,
    LOAD_BALANCER_NAME,
    RDS_INSTANCE_IDENTIFIER,
    SECURITY_GROUP_NAME,
    TAG_VALUE,
    backupScheduleProblem,
    certificateRegion,
    matcherProblem,
    minimumMaxStorage,
    nameProblems,
} from "../config/awsRules";
import { LONGEST_DERIVED, SERVICE_NAME_MAX, derivedNameProblems, serviceDerivedNames, stackDerivedNames } from "../config/derivedNames";

describe("AWS rules", () => {
    const schedules: [string, string | undefined][] = [
        ["cron(0 3 * * ? *)", undefined],
        ["cron(59 23 L * ? 2030)", undefined],
        ["cron(0 5 ? * MON-FRI *)", undefined],
        ["cron(0 5 ? * 2#1 *)", undefined],
        ["cron(15 1,13 * * ? *)", undefined],
        ["cron(0 */6 1-15 JAN,JUL ? *)", undefined],
        ["cron(60 3 * * ? *)", 'minutes field "60" must be one number from 0 to 59; AWS Backup runs a rule at most once an hour'],
        ["cron(0,30 3 * * ? *)", 'minutes field "0,30" must be one number from 0 to 59; AWS Backup runs a rule at most once an hour'],
        ["cron(0 3 32 * ? *)", 'day-of-month field "32" is not valid cron syntax'],
        ["cron(0 3 * 13 ? *)", 'month field "13" is not valid cron syntax'],
        ["cron(0 3 ? * 8 *)", 'day-of-week field "8" is not valid cron syntax'],
        ["cron(0 3 * * ? 1969)", 'year field "1969" is not valid cron syntax'],
        ["cron(0 3 ? * ? *)", "exactly one of day-of-month and day-of-week must be ?"],
        ["cron(0 3 * * ? * *)", "has 7 fields; AWS Backup cron takes 6: minutes hours day-of-month month day-of-week year"],
        ["cron 0 3 * * ? *", "must be cron(minutes hours day-of-month month day-of-week year)"],
    ];
    for (const [schedule, problem] of schedules) {
        it(`backup schedule ${schedule}: ${problem ?? "accepted"}`, () => assert.strictEqual(backupScheduleProblem(schedule), problem));
    }

    const matchers: [string, string | undefined][] = [
        ["200", undefined],
        ["499", undefined],
        ["200-299,404", undefined],
        ["199", "code 199 is outside 200-499, the codes an ALB health check accepts"],
        ["500", "code 500 is outside 200-499, the codes an ALB health check accepts"],
        ["200,200-500", "code 200-500 is outside 200-499, the codes an ALB health check accepts"],
        ["300-299", "range 300-299 runs backwards; write it low-high"],
        ["300-300", undefined],
    ];
    for (const [matcher, problem] of matchers) {
        it(`health check matcher ${matcher}: ${problem ?? "accepted"}`, () => assert.strictEqual(matcherProblem(matcher), problem));
    }

    it("storage autoscaling needs 10% headroom, rounded up to whole GiB", () => {
        assert.deepStrictEqual([20, 100, 1000, 101].map(minimumMaxStorage), [22, 110, 1100, 112]);
    });

    it("names: length, charset and reserved prefixes", () => {
        assert.deepStrictEqual(nameProblems("a".repeat(32), LOAD_BALANCER_NAME), []);
        assert.deepStrictEqual(nameProblems("a".repeat(33), LOAD_BALANCER_NAME), ["is 33 characters, over the limit of 32"]);
        assert.deepStrictEqual(nameProblems("-shop", LOAD_BALANCER_NAME), ["breaks the rule: at most 32 letters, digits and hyphens, not starting or ending with a hyphen"]);
        assert.deepStrictEqual(nameProblems("shop-", LOAD_BALANCER_NAME), ["breaks the rule: at most 32 letters, digits and hyphens, not starting or ending with a hyphen"]);
        assert.deepStrictEqual(nameProblems("internal-shop", LOAD_BALANCER_NAME), ['starts with "internal-", which AWS reserves']);
        assert.deepStrictEqual(nameProblems("sg-shop", SECURITY_GROUP_NAME), ['starts with "sg-", which AWS reserves']);
        assert.deepStrictEqual(nameProblems("shop sg (blue)", SECURITY_GROUP_NAME), []);
        assert.deepStrictEqual(nameProblems("shop's", SECURITY_GROUP_NAME), ["breaks the rule: at most 255 characters of a-zA-Z0-9, space and ._-:/()#,@[]+=&;{}!$*"]);
        for (const bad of ["1shop", "shop--x", "shop-", "Shop"]) assert.strictEqual(nameProblems(bad, RDS_INSTANCE_IDENTIFIER).length, 1, bad);
        assert.deepStrictEqual(nameProblems("shop-production-1", RDS_INSTANCE_IDENTIFIER), []);
    });

    it("the longest service name comes from the target group: 32 - '-green' - Pulumi's 8", () => {
        assert.strictEqual(SERVICE_NAME_MAX, 18);
        assert.strictEqual(LONGEST_DERIVED.name, "<service>-green-0000000");
        assert.deepStrictEqual(derivedNameProblems(serviceDerivedNames("a".repeat(18))), []);
        assert.deepStrictEqual(derivedNameProblems(serviceDerivedNames("a".repeat(19))), [`the target group name "${"a".repeat(19)}-green-0000000" is 33 characters, over the limit of 32`]);
    });

    it("stack-derived names: backup names only with a database", () => {
        assert.deepStrictEqual(derivedNameProblems(stackDerivedNames("shop", "prod.eu", false)), [
            'the SNS topic name "shop-prod.eu-deployments" breaks the rule: at most 256 letters, digits, hyphens and underscores',
            'the Lambda function name "shop-prod.eu-guard" breaks the rule: at most 64 letters, digits, hyphens and underscores',
        ]);
        assert.strictEqual(derivedNameProblems(stackDerivedNames("shop", "prod.eu", true)).length, 3);
        assert.deepStrictEqual(derivedNameProblems(stackDerivedNames("shop", "p".repeat(54), false)), [
            `the Lambda function name "shop-${"p".repeat(54)}-guard" is 65 characters, over the limit of 64`,
            `the EventBridge rule name "shop-${"p".repeat(54)}-guard" is 65 characters, over the limit of 64`,
        ]);
        assert.deepStrictEqual(derivedNameProblems(stackDerivedNames("shop", "production", true)), []);
    });

    it("tag values, TLS policies and certificate regions", () => {
        assert.ok(TAG_VALUE.test("v1.5.0+build_7:rc/1@x=y"));
        assert.ok(!TAG_VALUE.test("v1#2"));
        assert.ok(!TAG_VALUE.test("a".repeat(257)));
        assert.strictEqual(ALB_TLS13_POLICIES.length, new Set(ALB_TLS13_POLICIES).size);
        assert.ok(ALB_TLS13_POLICIES.every((policy) => policy.startsWith("ELBSecurityPolicy-TLS13-")));
        assert.strictEqual(certificateRegion("arn:aws:acm:us-gov-west-1:123456789012:certificate/0b5e2f7a-3c1d-4e8f-9a6b-2d4c6e8f0a1b"), "us-gov-west-1");
        assert.strictEqual(certificateRegion("arn:aws:iam::123456789012:server-certificate/x"), undefined);
    });
});
