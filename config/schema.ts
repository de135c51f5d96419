// The zod schema of every `shiftwise:*` key, with all defaults.
import { z } from "zod";
import { ALB_TLS13_POLICIES, KMS_KEY_ARN, SECRET_REFERENCE, SECRET_REFERENCE_RULE, SECURITY_GROUP_RULES_PER_DIRECTION, backupScheduleProblem, matcherProblem, minimumMaxStorage } from "./awsRules";
import { pinnedImage, versionLabel } from "./releaseRules";
import { LONGEST_DERIVED, SERVICE_NAME_MAX, derivedNameProblems, serviceDerivedNames } from "./derivedNames";
import { kubernetesSchema } from "./kubernetes";
import { MAX_FIXED_RESPONSE_BODY, maintenancePage } from "./maintenancePage";
import { DAYS, LOG_RETENTION_DAYS, boolean, cidr, clockTime, distinct, integer, matching, numberAbove } from "./rules";
import { accessLogsSchema, containerUser, flowLogsSchema, monitoringIntervalSeconds, readonlyRootFilesystem, webAclArn } from "./security";

export { LOG_RETENTION_DAYS } from "./rules";

/**
 * The zod schema of every `shiftwise:*` stack-config key (see DESIGN.md, "The
 * config contract"). Each top-level key has its own schema so that every key
 * is validated and every problem reported, even when another key is broken.
 * All defaults live here.
 */

/** The two colours, in a fixed order. */
export const COLOURS = ["blue", "green"] as const;
export type Colour = (typeof COLOURS)[number];

/** The TLS policy used when `shiftwise:tls.sslPolicy` is not set: TLS 1.3, with TLS 1.2 for older clients. */
export const DEFAULT_SSL_POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06";

/** Variables the program sets in every container itself. */
const RESERVED_VARIABLES = ["SHIFTWISE_COLOUR", "SHIFTWISE_VERSION", "DATABASE_HOST", "DATABASE_PORT", "DATABASE_NAME", "DATABASE_USER", "DATABASE_PASSWORD"];

const serviceNameLength = `must be 2 to ${SERVICE_NAME_MAX} characters; the longest name built from it, the ${LONGEST_DERIVED.limit.what} ${LONGEST_DERIVED.name.replace(/0+$/, "<7 random characters>")}, must fit AWS's ${LONGEST_DERIVED.limit.maxLength}`;

const serviceName = z
    .string({ error: "must be a string; set the service name, e.g. shop" })
    .regex(/^[a-z][a-z0-9-]*[a-z0-9]$/, {
        error: "must be lowercase letters, digits and hyphens, start with a letter and not end with a hyphen; AWS resource names are built from it",
        abort: true,
    })
    .min(2, { error: serviceNameLength, abort: true })
    .max(SERVICE_NAME_MAX, { error: serviceNameLength, abort: true })
    // Reserved prefixes: a service called "internal" or "sg" yields names AWS refuses.
    .superRefine((name, ctx) => {
        for (const problem of derivedNameProblems(serviceDerivedNames(name))) {
            ctx.addIssue({ code: "custom", input: name, message: `${problem}; pick another service name` });
        }
    });


const urlPath = matching(/^\/[^\s]*$/, "must be a URL path starting with /", "for example /healthz");

export const serviceSchema = z
    .object(
        {
            name: serviceName,
            platform: z
                .enum(["ecs", "kubernetes"], { error: 'must be "ecs" (Fargate) or "kubernetes" (an existing EKS cluster, with shiftwise:kubernetes)' })
                .default("ecs"),
            port: integer(1, 65535, "set the port the container listens on, e.g. 8080"),
            // ELBv2 API reference, HealthCheckPath: 1 to 1024 characters.
            healthCheckPath: urlPath.max(1024, { error: "must be at most 1024 characters, the ALB health check path limit; use a shorter path" }),
            healthCheck: z
                .object(
                    {
                        intervalSeconds: integer(5, 300, "ALB health checks run every 5 to 300 seconds").default(15),
                        timeoutSeconds: integer(2, 120, "ALB health check timeouts are 2 to 120 seconds").default(5),
                        healthyThreshold: integer(2, 10, "ALB accepts 2 to 10 checks").default(3),
                        unhealthyThreshold: integer(2, 10, "ALB accepts 2 to 10 checks").default(3),
                        matcher: matching(
                            /^\d{3}(-\d{3})?(,\d{3}(-\d{3})?)*$/,
                            "must be HTTP codes such as 200 or 200-299",
                            "use a code, a range or a comma-separated list",
                        )
                            .superRefine((matcher, ctx) => {
                                const problem = matcherProblem(matcher);
                                if (problem) ctx.addIssue({ code: "custom", input: matcher, message: `${problem}; e.g. 200-299` });
                            })
                            .default("200-299"),
                    },
                    { error: "must be an object; see README for the health check keys" },
                )
                .strict()
                .refine((hc) => hc.timeoutSeconds < hc.intervalSeconds, {
                    error: "timeoutSeconds must be less than intervalSeconds; lower the timeout or raise the interval",
                })
                .prefault({}),
            deregistrationDelaySeconds: integer(0, 3600, "ALB allows 0 to 3600 seconds").default(30),
            healthCheckGraceSeconds: integer(0, 2147483647, "seconds ECS ignores failing health checks after a task starts").default(60),
            stickySeconds: integer(0, 604800, "0 turns listener stickiness off; up to 604800 seconds keeps a client on one colour").default(0),
            logRetentionDays: z
                .preprocess(
                    (v) => (typeof v === "string" && /^\d+$/.test(v) ? Number(v) : v),
                    z.number({ error: `must be a CloudWatch Logs retention: ${LOG_RETENTION_DAYS.join(", ")}` }).refine((days) => LOG_RETENTION_DAYS.includes(days), {
                        error: `must be a CloudWatch Logs retention: ${LOG_RETENTION_DAYS.join(", ")}`,
                    }),
                )
                .default(30),
            testPort: integer(1, 65535, "pick a free port for the test listener, e.g. 8443").default(8443),
            testCidrs: distinct(cidr(0, 32, "e.g. 10.0.0.0/8 for your CI runners"), 0, "CIDR blocks", "list the networks allowed to reach the test listener").default([]),
            ingressCidrs: distinct(cidr(0, 32, "e.g. 0.0.0.0/0 for a public service"), 1, "CIDR blocks", "list who may reach the service on 80 and 443").default(["0.0.0.0/0"]),
            accessLogs: accessLogsSchema.prefault({}),
            webAclArn: webAclArn.optional(),
            environment: z
                .record(
                    z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, { error: "environment variable names are letters, digits and _" }),
                    z.string({ error: "environment values must be strings; quote them" }),
                    { error: "must be a map of environment variable names to strings" },
                )
                .default({}),
            // Existing secrets: ECS reads only Secrets Manager secrets and SSM parameters (see awsRules.ts).
            secrets: z
                .record(
                    z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, { error: "environment variable names are letters, digits and _" }),
                    z.string({ error: `must be a string; ${SECRET_REFERENCE_RULE}` }).regex(SECRET_REFERENCE, { error: SECRET_REFERENCE_RULE }),
                    { error: "must be a map of environment variable names to Secrets Manager or SSM parameter ARNs" },
                )
                .default({}),
            secretsKmsKeyArns: distinct(
                matching(KMS_KEY_ARN, "must be a KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>)", "IAM grants kms:Decrypt by key ARN, not alias"),
                0,
                "KMS key ARNs",
                "list the customer-managed keys that encrypt the secrets in service.secrets",
            ).default([]),
        },
        { error: "must be an object with name, port and healthCheckPath; see the README's config reference" },
    )
    .strict()
    .superRefine((service, ctx) => {
        // The ALB's security group gets one inbound rule per ingress CIDR on 80 and on 443, and one per test CIDR.
        const inboundRules = 2 * service.ingressCidrs.length + service.testCidrs.length;
        if (inboundRules > SECURITY_GROUP_RULES_PER_DIRECTION) {
            ctx.addIssue({
                code: "custom",
                path: ["ingressCidrs"],
                input: service.ingressCidrs,
                message: `with testCidrs gives the load balancer's security group ${inboundRules} inbound rules (2 per ingress CIDR, 1 per test CIDR); a security group holds ${SECURITY_GROUP_RULES_PER_DIRECTION} by default, so merge CIDRs into larger blocks`,
            });
        }
        for (const name of Object.keys(service.secrets)) {
            if (name in service.environment || RESERVED_VARIABLES.includes(name)) {
                ctx.addIssue({
                    code: "custom",
                    path: ["secrets", name],
                    input: service.secrets[name],
                    message: `names a variable that ${name in service.environment ? "service.environment also sets" : "shiftwise sets itself"}; a container gets each variable once, so rename it`,
                });
            }
        }
        for (const reserved of [80, 443, service.port]) {
            if (service.testPort === reserved) {
                ctx.addIssue({
                    code: "custom",
                    path: ["testPort"],
                    input: service.testPort,
                    message: `must differ from 80, 443 and the service port (${service.port}); pick another port such as 8443`,
                });
            }
        }
    });

const vpcId = matching(/^vpc-[0-9a-f]{8,17}$/, "must be a VPC id like vpc-0123456789abcdef0", "copy it from the VPC console");
const subnetId = matching(/^subnet-[0-9a-f]{8,17}$/, "must be a subnet id like subnet-0123456789abcdef0", "copy it from the VPC console");

export const networkSchema = z
    .object(
        {
            vpcId: vpcId.optional(),
            publicSubnetIds: distinct(subnetId, 2, "distinct subnet ids", "list public subnets in at least two AZs").optional(),
            privateSubnetIds: distinct(subnetId, 2, "distinct subnet ids", "list private subnets in at least two AZs").optional(),
            create: z
                .object(
                    {
                        cidr: cidr(16, 24, "e.g. 10.0.0.0/16"),
                        azCount: integer(2, 6, "spread the VPC over 2 to 6 availability zones"),
                        natGateways: z
                            .enum(["one", "perAz"], { error: 'must be "one" or "perAz"; "perAz" survives the loss of an AZ' })
                            .default("perAz"),
                        flowLogs: flowLogsSchema.prefault({}),
                    },
                    { error: "must be an object with cidr and azCount" },
                )
                .strict()
                .optional(),
        },
        { error: "must be an object: either { vpcId, publicSubnetIds, privateSubnetIds } or { create: { cidr, azCount } }" },
    )
    .strict()
    .superRefine((network, ctx) => {
        const adopts = network.vpcId !== undefined || network.publicSubnetIds !== undefined || network.privateSubnetIds !== undefined;
        if (adopts && network.create) {
            ctx.addIssue({
                code: "custom",
                input: network,
                message: `sets both an existing VPC (vpcId ${network.vpcId ?? "unset"}) and create (cidr ${network.create.cidr}); keep either { vpcId, publicSubnetIds, privateSubnetIds } or { create }`,
                params: { formatted: true },
            });
            return;
        }
        if (!adopts && !network.create) {
            ctx.addIssue({
                code: "custom",
                input: network,
                message: "names no VPC; set { vpcId, publicSubnetIds, privateSubnetIds } or { create: { cidr, azCount } }",
                params: { formatted: true },
            });
            return;
        }
        if (adopts) {
            for (const key of ["vpcId", "publicSubnetIds", "privateSubnetIds"] as const) {
                if (network[key] === undefined) {
                    ctx.addIssue({ code: "custom", path: [key], input: undefined, message: "is required when adopting an existing VPC; add it or use { create }" });
                }
            }
            const overlap = (network.publicSubnetIds ?? []).filter((id) => (network.privateSubnetIds ?? []).includes(id));
            if (overlap.length > 0) {
                ctx.addIssue({
                    code: "custom",
                    path: ["privateSubnetIds"],
                    input: network.privateSubnetIds,
                    message: `repeats public subnet ${overlap.join(", ")}; targets and the database belong in private subnets only`,
                });
            }
        }
    });

export const tlsSchema = z
    .object(
        {
            certificateArn: matching(
                /^arn:aws[a-z-]*:acm:[a-z]{2}(-[a-z]+)+-\d:\d{12}:certificate\/[0-9a-f-]{36}$/,
                "must be an ACM certificate ARN",
                "e.g. arn:aws:acm:eu-west-1:123456789012:certificate/<uuid>",
            ),
            // A fixed list: a name that only looks like a TLS 1.3 policy fails CreateListener (see awsRules.ts).
            sslPolicy: z
                .enum(ALB_TLS13_POLICIES, {
                    error: `must be one of the ALB's TLS 1.3 security policies (${ALB_TLS13_POLICIES.length} names, e.g. ELBSecurityPolicy-TLS13-1-3-2021-06; see the README); use ${DEFAULT_SSL_POLICY}`,
                })
                .default(DEFAULT_SSL_POLICY),
        },
        { error: "must be an object with certificateArn" },
    )
    .strict();

/** Fargate's valid memory sizes (MiB) for each CPU size (units). */
export const FARGATE_MEMORY: Readonly<Record<number, readonly number[]>> = {
    256: [512, 1024, 2048],
    512: range(1024, 4096, 1024),
    1024: range(2048, 8192, 1024),
    2048: range(4096, 16384, 1024),
    4096: range(8192, 30720, 1024),
    8192: range(16384, 61440, 4096),
    16384: range(32768, 122880, 8192),
};

function range(from: number, to: number, step: number): number[] {
    const values: number[] = [];
    for (let value = from; value <= to; value += step) values.push(value);
    return values;
}

/** A Fargate CPU size in units. */
const fargateCpu = z.preprocess(
    (v) => (typeof v === "string" && /^\d+$/.test(v) ? Number(v) : v),
    z.number({ error: `must be a Fargate CPU size: ${Object.keys(FARGATE_MEMORY).join(", ")}` }).refine((cpu) => cpu in FARGATE_MEMORY, {
        error: `must be a Fargate CPU size: ${Object.keys(FARGATE_MEMORY).join(", ")}`,
    }),
);

/** Adds an issue at `memory` when the pair is not one Fargate runs. */
function checkFargatePair(task: { readonly cpu: number; readonly memory: number }, ctx: z.RefinementCtx): void {
    const allowed = FARGATE_MEMORY[task.cpu];
    if (allowed && !allowed.includes(task.memory)) {
        ctx.addIssue({
            code: "custom",
            path: ["memory"],
            input: task.memory,
            message: `is not valid with cpu ${task.cpu} on Fargate; use one of ${summariseList(allowed)}`,
        });
    }
}

export const colourSchema = z
    .object(
        {
            version: versionLabel,
            image: pinnedImage,
            desiredCount: integer(0, 1000, "set how many tasks this colour runs"),
            cpu: fargateCpu.default(256),
            memory: integer(512, 122880, "Fargate memory is in MiB").default(512),
            cpuArchitecture: z
                .enum(["X86_64", "ARM64"], { error: 'must be "X86_64" or "ARM64"; match the architecture the image was built for' })
                .default("X86_64"),
            readonlyRootFilesystem,
            user: containerUser.optional(),
        },
        { error: "must be an object with version, image and desiredCount" },
    )
    .strict()
    .superRefine(checkFargatePair);

function summariseList(values: readonly number[]): string {
    return values.length <= 4 ? values.join(", ") : `${values[0]}, ${values[1]}, ..., ${values[values.length - 1]}`;
}

const weight = integer(0, 100, "weights are whole percents");

export const trafficSchema = z
    .object({ blue: weight, green: weight }, { error: "must be an object { blue, green } of integer percents" })
    .strict()
    .superRefine((traffic, ctx) => {
        const sum = traffic.blue + traffic.green;
        if (sum !== 100) {
            ctx.addIssue({
                code: "custom",
                input: traffic,
                message: `blue (${traffic.blue}) + green (${traffic.green}) = ${sum}; weights must sum to 100`,
                params: { formatted: true },
            });
        }
    });

/** True when Intl knows `zone` as an IANA time zone (`Europe/Berlin`, `UTC`). */
function isTimeZone(zone: string): boolean {
    try {
        new Intl.DateTimeFormat("en-US", { timeZone: zone });
        return true;
    } catch {
        return false;
    }
}

/** A calendar date YYYY-MM-DD that exists (2025-02-30 does not). */
const calendarDate = matching(/^\d{4}-\d{2}-\d{2}$/, "must be a date YYYY-MM-DD", "for example 2025-12-24").refine(
    (value) => {
        const date = new Date(`${value}T00:00:00Z`);
        return !Number.isNaN(date.getTime()) && date.toISOString().startsWith(value);
    },
    { error: "must be a date that exists in the calendar; for example 2025-12-24" },
);

const freezeWindowSchema = z
    .object(
        {
            reason: z.string({ error: "must say why deployments are frozen" }).min(1, { error: "must say why deployments are frozen" }),
            days: distinct(z.enum(DAYS, { error: `must be one of ${DAYS.join(", ")}` }), 1, "days", `use ${DAYS.join(", ")}`).optional(),
            /** Calendar dates in `timeZone` (holiday freezes). */
            dates: distinct(calendarDate, 1, "dates", "list the frozen dates, e.g. [2025-12-24, 2025-12-25]").optional(),
            start: clockTime.optional(),
            end: clockTime.optional(),
            /** The IANA time zone days, dates and times are read in. */
            timeZone: z
                .string({ error: "must be an IANA time zone such as Europe/Berlin" })
                .refine(isTimeZone, { error: "must be an IANA time zone such as Europe/Berlin or UTC (see the tz database)" })
                .default("UTC"),
        },
        { error: "must be an object { reason, days?, dates?, start?, end?, timeZone? }" },
    )
    .strict()
    .superRefine((window, ctx) => {
        if (window.days === undefined && window.start === undefined && window.dates === undefined) {
            ctx.addIssue({ code: "custom", input: window, message: "needs days, dates, a start/end time range, or a combination" });
        }
        if ((window.start === undefined) !== (window.end === undefined)) {
            ctx.addIssue({ code: "custom", input: window, message: "needs both start and end, or neither" });
        }
        if (window.start !== undefined && window.start === window.end) {
            ctx.addIssue({ code: "custom", path: ["end"], input: window.end, message: "must differ from start; omit both to freeze whole days" });
        }
    });

export const rolloutSchema = z
    .object(
        {
            steps: z
                .array(integer(1, 100, "steps are candidate weights in percent"), { error: "must be a list of percents such as [5, 25, 50, 100]" })
                .min(1, { error: "must list at least one step; end with 100" })
                .refine((steps) => steps.every((step, i) => i === 0 || step > steps[i - 1]), {
                    error: "must be strictly increasing; sort them and drop duplicates",
                })
                .refine((steps) => steps[steps.length - 1] === 100, { error: "must end at 100 so the release finishes; append 100" })
                .default([5, 25, 50, 100]),
            bakeMinutes: integer(1, 1440, "bake each step for at least a minute").default(10),
            maxBakeMinutes: integer(1, 1440, "the longest a step may wait for enough requests").default(60),
            minRequestsPerStep: integer(0, Number.MAX_SAFE_INTEGER, "requests the candidate must serve before the next step").default(200),
            pollSeconds: integer(10, 600, "CloudWatch alarms evaluate once a minute; poll every 10 to 600 seconds").default(30),
            healthyWaitMinutes: integer(1, 120, "how long to wait for the candidate's targets to become healthy").default(15),
            smokePaths: distinct(urlPath, 0, "paths", "list extra paths to GET through the test listener").default([]),
            smokeRetries: integer(0, 100, "how often a failed smoke check is retried").default(5),
            freezeWindows: z.array(freezeWindowSchema, { error: "must be a list of { reason, days, dates, start, end, timeZone }" }).default([]),
            /** Minutes the new stable colour is judged after the last step before the release counts as done. */
            watchMinutes: integer(0, 1440, "how long to keep judging the release at 100%, e.g. 10").default(10),
            /** Minutes after success before the old colour is scaled to 0 tasks; absent: never (it stays warm). */
            scaleDownAfterMinutes: integer(0, 10080, "minutes after the release before the old colour is scaled to zero; omit to keep it warm").optional(),
            /**
             * A stack (e.g. `staging`) whose release ledger must show a completed release of the
             * same version and image before this stack deploys it; `--hotfix` skips the check.
             * Pulumi stack names: alphanumerics, hyphens, underscores and periods.
             */
            requiresSuccessOn: matching(/^[A-Za-z0-9_.-]{1,100}$/, "must be a stack name", "for example staging").optional(),
            /** Hours: before a release that migrates the database, its newest recovery point must be younger. */
            maxRecoveryPointAgeHours: integer(1, 8760, "the oldest recovery point a migrating release accepts, in hours, e.g. 24").default(24),
            /** Consecutive failed AWS reads tolerated before the driver stops judging and rolls back. */
            readErrorBudget: integer(0, 100, "how many failed AWS reads in a row are tolerated, e.g. 3").default(3),
            /** Probes of the candidate through the test listener during every bake. */
            probe: z
                .object(
                    {
                        /** Paths to probe; empty: the health check path and smokePaths. */
                        paths: distinct(urlPath, 0, "paths", "list the paths to probe during the bake").default([]),
                        everySeconds: integer(1, 600, "probe every 1 to 600 seconds").default(10),
                        /** Failed probes tolerated per step; one more rolls back at once. */
                        failureBudget: integer(0, 10000, "how many failed probes a step tolerates").default(2),
                    },
                    { error: "must be an object { paths?, everySeconds?, failureBudget? }" },
                )
                .strict()
                .prefault({}),
            /** What a smoke check or probe asserts besides a 2xx status. */
            smokeExpect: z
                .object(
                    {
                        /** A response header that must carry the release's version. */
                        versionHeader: matching(/^[A-Za-z0-9-]+$/, "must be an HTTP header name", "for example x-app-version").optional(),
                        /** A top-level JSON field of the body that must equal the release's version. */
                        versionJsonField: matching(/^[A-Za-z0-9_.-]+$/, "must be a JSON field name", "for example version").optional(),
                        /** Text the body must contain. */
                        bodyIncludes: z.string({ error: "must be text the body contains" }).min(1, { error: "must not be empty; omit it instead" }).optional(),
                    },
                    { error: "must be an object { versionHeader?, versionJsonField?, bodyIncludes? }" },
                )
                .strict()
                .prefault({}),
        },
        { error: "must be an object; see the README's config reference for the rollout keys" },
    )
    .strict()
    .superRefine((rollout, ctx) => {
        if (rollout.maxBakeMinutes < rollout.bakeMinutes) {
            ctx.addIssue({
                code: "custom",
                path: ["maxBakeMinutes"],
                input: rollout.maxBakeMinutes,
                message: `must be at least bakeMinutes (${rollout.bakeMinutes}); raise it or lower bakeMinutes`,
            });
        }
    });

const email = matching(/^[^\s@]+@[^\s@]+\.[^\s@]+$/, "must be an email address", "e.g. oncall@example.com");
const httpsUrl = matching(/^https:\/\/[^\s]+$/, "must be an https:// URL", "SNS delivers only to HTTPS endpoints here");

export const alarmsSchema = z
    .object(
        {
            maxErrorRatePercent: numberAbove(0, false, 100, "the 5xx percent that rolls back, e.g. 1").default(1),
            maxErrorRateVsBaseline: numberAbove(1, true, Infinity, "how many times the other colour's error rate is tolerated, e.g. 2").default(2),
            baselineFloorPercent: numberAbove(0, true, 100, "the error rate below which the baseline comparison never alarms").default(0.5),
            maxP99LatencyMs: numberAbove(0, false, Infinity, "the latency in ms that rolls back, e.g. 800").default(800),
            latencyPercentile: matching(/^p(\d{1,2}(\.\d{1,2})?)$/, "must be a percentile statistic such as p99 or p99.9", "e.g. p99").default("p99"),
            minRequests: integer(1, Number.MAX_SAFE_INTEGER, "requests per period before error rates count").default(50),
            maxElb5xxCount: integer(0, Number.MAX_SAFE_INTEGER, "load-balancer-generated 5xx per period").default(10),
            evaluationPeriods: integer(1, 10, "minutes of data each alarm looks at").default(3),
            datapointsToAlarm: integer(1, 10, "breaching minutes needed, at most evaluationPeriods").default(2),
            notify: z
                .object(
                    {
                        emails: distinct(email, 0, "addresses", "list who is told about alarms").default([]),
                        httpsEndpoints: distinct(httpsUrl, 0, "endpoints", "list webhooks that receive alarms").default([]),
                    },
                    { error: "must be an object { emails, httpsEndpoints }" },
                )
                .strict()
                .prefault({}),
        },
        { error: "must be an object; see the README's config reference for the alarm keys" },
    )
    .strict()
    .superRefine((alarms, ctx) => {
        if (alarms.datapointsToAlarm > alarms.evaluationPeriods) {
            ctx.addIssue({
                code: "custom",
                path: ["datapointsToAlarm"],
                input: alarms.datapointsToAlarm,
                message: `must be at most evaluationPeriods (${alarms.evaluationPeriods}); lower it or raise evaluationPeriods`,
            });
        }
    });

const snapshotLabel = matching(
    /^[A-Za-z0-9][A-Za-z0-9.+_-]{0,40}$/,
    "must be a release label of up to 41 letters, digits, '.', '+', '_' or '-'",
    "use the version being released, e.g. v1.5.0",
);

/**
 * RunTask accepts at most 8192 characters of overrides, JSON formatting included
 * (ECS API Reference, RunTask, request parameter `overrides`). The driver sends the
 * command as the only override next to the container name, so the command's JSON
 * must leave room for that structure.
 */
export const MAX_COMMAND_JSON_CHARS = 8000;

const argv = z
    .array(z.string({ error: "each argument must be a string; quote numbers" }).min(1, { error: "arguments must not be empty strings; drop them" }), {
        error: 'must be a list of arguments (argv), e.g. ["npm", "run", "migrate"]; ECS runs it without a shell',
    })
    .min(1, { error: 'must name a program to run, e.g. ["npm", "run", "migrate"]' })
    .refine((command) => JSON.stringify(command).length <= MAX_COMMAND_JSON_CHARS, {
        error: `must be at most ${MAX_COMMAND_JSON_CHARS} characters as JSON; ECS RunTask accepts 8192 characters of overrides in total, so move long input into the image or a file`,
    });

/** The one-off migration task a release runs after the snapshot and before the candidate takes traffic. */
export const migrationSchema = z
    .object(
        {
            command: argv,
            timeoutMinutes: integer(1, 1440, "how long the migration may run before shiftwise stops it").default(30),
            image: pinnedImage.optional(),
            downCommand: argv.optional(),
            stableSoakMinutes: integer(0, 1440, "how long the stable colour is watched on the new schema before the candidate starts").default(10),
            cpu: fargateCpu.default(256),
            memory: integer(512, 122880, "Fargate memory is in MiB").default(512),
            cpuArchitecture: z.enum(["X86_64", "ARM64"], { error: 'must be "X86_64" or "ARM64"; match the architecture the image was built for' }).optional(),
        },
        { error: 'must be an object { command, timeoutMinutes, image?, downCommand?, stableSoakMinutes }; e.g. { command: ["npm", "run", "migrate"] }' },
    )
    .strict()
    .superRefine(checkFargatePair);

export const databaseSchema = z
    .object(
        {
            engine: z.enum(["postgres"], { error: 'must be "postgres"; it is the only engine supported' }).default("postgres"),
            // A major version only, so the automatic minor upgrades RDS applies never show up as drift to undo.
            engineVersion: matching(/^\d+(\.\d+)?$/, "must be a PostgreSQL version such as 16 or 16.4", "a major version lets RDS apply minor upgrades").default("16"),
            instanceClass: matching(/^db\.[a-z0-9]+\.[a-z0-9]+$/, "must be an RDS instance class", "e.g. db.t4g.medium").default("db.t4g.medium"),
            allocatedStorageGb: integer(20, 65536, "RDS PostgreSQL needs 20 to 65536 GiB").default(20),
            maxAllocatedStorageGb: integer(20, 65536, "the storage autoscaling ceiling in GiB").default(100),
            databaseName: matching(/^[a-z][a-z0-9_]{0,62}$/, "must be a PostgreSQL database name", "lowercase letters, digits and _").optional(),
            port: integer(1150, 65535, "RDS allows ports 1150 to 65535").default(5432),
            existingInstanceId: matching(/^[a-z][a-z0-9-]{0,62}$/, "must be an RDS instance identifier", "copy it from the RDS console").optional(),
            preReleaseSnapshot: snapshotLabel.optional(),
            snapshotColour: z.enum(["blue", "green"], { error: 'must be "blue" or "green"' }).optional(),
            migration: migrationSchema.optional(),
            backupRetentionDays: integer(1, 35, "RDS keeps automated backups 1 to 35 days").default(7),
            monitoringIntervalSeconds,
            backupPlan: z
                .object(
                    {
                        schedule: z
                            .string({ error: "must be an AWS Backup cron expression; e.g. cron(0 3 * * ? *)" })
                            .superRefine((schedule, ctx) => {
                                const problem = backupScheduleProblem(schedule);
                                if (problem) ctx.addIssue({ code: "custom", input: schedule, message: `${problem}; e.g. cron(0 3 * * ? *) for 03:00 UTC daily` });
                            })
                            .default("cron(0 3 * * ? *)"),
                        retentionDays: integer(1, 36500, "how long AWS Backup keeps each recovery point").default(35),
                    },
                    { error: "must be an object { schedule, retentionDays }" },
                )
                .strict()
                .prefault({}),
        },
        { error: "must be an object; see the README's config reference for the database keys" },
    )
    .strict()
    .superRefine((database, ctx) => {
        const ceiling = minimumMaxStorage(database.allocatedStorageGb);
        if (database.maxAllocatedStorageGb < ceiling) {
            ctx.addIssue({
                code: "custom",
                path: ["maxAllocatedStorageGb"],
                input: database.maxAllocatedStorageGb,
                message: `must be at least 10% above allocatedStorageGb (${database.allocatedStorageGb}), as RDS storage autoscaling requires; raise it to ${ceiling} or more`,
            });
        }
        if (database.snapshotColour !== undefined && database.preReleaseSnapshot === undefined) {
            ctx.addIssue({
                code: "custom",
                path: ["snapshotColour"],
                input: database.snapshotColour,
                message: "names a colour to wait for a snapshot, but preReleaseSnapshot is not set; set preReleaseSnapshot to the release label or remove snapshotColour",
            });
        }
    });

export const maintenanceSchema = z
    .object(
        {
            enabled: boolean("true makes the service answer 503 with the maintenance page").default(false),
            reason: z
                .string({ error: "must be a short text shown on the maintenance page" })
                .min(1, { error: "must not be empty; say why the service is down, e.g. database upgrade" })
                .refine((reason) => maintenancePage(reason).length <= MAX_FIXED_RESPONSE_BODY, {
                    error: `makes the maintenance page longer than the ${MAX_FIXED_RESPONSE_BODY} characters an ALB fixed response carries; shorten it`,
                })
                .optional(),
        },
        { error: "must be an object { enabled, reason }" },
    )
    .strict()
    .superRefine((maintenance, ctx) => {
        if (maintenance.enabled && maintenance.reason === undefined) {
            ctx.addIssue({
                code: "custom",
                path: ["reason"],
                input: undefined,
                message: 'is required when maintenance is enabled; the page and the record say why, e.g. "database upgrade"',
            });
        }
    });

export const protectSchema = boolean("true turns on deletion protection, retain and multi-AZ for production").default(false);

/**
 * The colour the current (or latest) release goes to (set it with the release, e.g. `pulumi config set shiftwise:releaseColour green`).
 * Only an even split reads it: then it, not colour order, names the candidate.
 */
export const releaseColourSchema = z.enum(COLOURS, { error: 'must be "blue" or "green": the colour the release goes to' }).optional();

/** Every top-level key, in the order errors are reported. */
export const sectionSchemas = {
    service: serviceSchema,
    network: networkSchema,
    tls: tlsSchema,
    blue: colourSchema,
    green: colourSchema,
    traffic: trafficSchema,
    rollout: rolloutSchema.prefault({}),
    alarms: alarmsSchema.prefault({}),
    database: databaseSchema.optional(),
    maintenance: maintenanceSchema.prefault({}),
    kubernetes: kubernetesSchema.optional(),
    protect: protectSchema,
    releaseColour: releaseColourSchema,
} as const;

export type SectionName = keyof typeof sectionSchemas;

/** The validated, defaulted stack config. */
export interface StackConfig {
    service: z.output<typeof serviceSchema>;
    network: z.output<typeof networkSchema>;
    tls: z.output<typeof tlsSchema>;
    blue: z.output<typeof colourSchema>;
    green: z.output<typeof colourSchema>;
    traffic: z.output<typeof trafficSchema>;
    rollout: z.output<typeof rolloutSchema>;
    alarms: z.output<typeof alarmsSchema>;
    database?: z.output<typeof databaseSchema>;
    maintenance: z.output<typeof maintenanceSchema>;
    /** Set exactly when `service.platform` is `kubernetes`. */
    kubernetes?: z.output<typeof kubernetesSchema>;
    protect: boolean;
    /** The colour the release goes to; decides stable and candidate at an even split. */
    releaseColour?: Colour;
}

export type ColourConfig = StackConfig["blue"];
export type MigrationConfig = z.output<typeof migrationSchema>;
export type FreezeWindow = StackConfig["rollout"]["freezeWindows"][number];
