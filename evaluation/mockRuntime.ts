// Evaluates the real program under Pulumi's mock runtime and records every registration.
import { createHash } from "crypto";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import type { LedgerTrip } from "../ports/ports";
import { useProgramTripReader } from "../ports/tripReader";
import { markProgramError } from "./programErrors";

export { isProgramError } from "./programErrors";

/**
 * Evaluates the real Pulumi program (`index.ts`) under Pulumi's mock runtime
 * (`pulumi.runtime.setMocks`) and captures every resource registration with
 * its inputs and resource options. No Pulumi CLI, engine or cloud is needed.
 *
 * This is what `shiftwise plan` runs, what the test harness runs, and what the
 * fake `StackPort` diffs, so all three see the program's real resource graph.
 */

/** The fake AWS account that mock ARNs belong to. */
export const MOCK_ACCOUNT_ID = "123456789012";

/** Marks a value that came from a Pulumi secret. */
export interface SecretValue {
    readonly __secret: unknown;
}

/** One registered resource, as the engine would have received it. */
export interface CapturedResource {
    readonly urn: string;
    readonly type: string;
    readonly name: string;
    /** URN of the parent; undefined only for the stack itself. */
    readonly parent?: string;
    /** True for cloud resources, false for components. */
    readonly custom: boolean;
    readonly inputs: Record<string, unknown>;
    /** State the mock returned, including computed outputs such as `arn`. */
    readonly state: Record<string, unknown>;
    readonly options: CapturedOptions;
}

/** The resource options that matter for safety checks. */
export interface CapturedOptions {
    readonly protect: boolean;
    readonly retainOnDelete: boolean;
    readonly deleteBeforeReplace: boolean;
    readonly ignoreChanges: readonly string[];
    readonly replaceOnChanges: readonly string[];
    /** URNs this resource depends on (explicit `dependsOn` plus input dependencies). */
    readonly dependencies: readonly string[];
    /** The explicit provider reference (`<provider urn>::<id>`), when one was given. */
    readonly provider?: string;
    /** The former identities the engine adopts in place: a whole URN, or the parts of it that changed. */
    readonly aliases: readonly CapturedAlias[];
}

/** One alias as the engine receives it: a URN, or a spec whose empty parts keep the resource's own. */
export type CapturedAlias = string | { readonly name?: string; readonly type?: string; readonly parentUrn?: string; readonly noParent?: boolean };

/** What one evaluation of the program produced. */
export interface ProgramEvaluation {
    readonly resources: readonly CapturedResource[];
    /** The stack outputs: the program module's exports, fully resolved. */
    readonly outputs: Record<string, unknown>;
}

/** Input to `evaluateProgram`. */
export interface EvaluationRequest {
    /** Pulumi project name. */
    readonly project: string;
    /** Stack name, e.g. `staging`. */
    readonly stack: string;
    /** Full config keys (`shiftwise:traffic`) to the strings the engine passes programs (JSON for structured values). */
    readonly config: Readonly<Record<string, string>>;
    /** Keys whose values are secrets. */
    readonly secretKeys?: readonly string[];
    /** Directory that holds the program's `index.ts`. */
    readonly programDir: string;
    /** Evaluate as `pulumi preview` rather than `pulumi up`. @default false */
    readonly preview?: boolean;
    /**
     * Let errors raised during the evaluation (the program's own included)
     * record their stack frames, for `--debug`. Off, no error records frames
     * until the evaluation ends: Pulumi's runtime creates an error for every
     * promise it tracks, and recording their frames was about a quarter of an
     * evaluation. @default false
     */
    readonly stackTraces?: boolean;
    /** The active guard trips the program's trip check reads from the release ledger. @default none */
    readonly trips?: readonly LedgerTrip[];
}

/** Raised when the program failed; `resources` holds what it registered before failing. */
export class ProgramError extends Error {
    constructor(
        readonly cause: unknown,
        readonly resources: readonly CapturedResource[],
    ) {
        super(cause instanceof Error ? cause.message : String(cause));
        this.name = "ProgramError";
    }
}

let evaluationQueue: Promise<unknown> = Promise.resolve();

/**
 * Runs the program once under mocks. Evaluations are serialised because
 * Pulumi's runtime state is process-wide.
 */
export function evaluateProgram(request: EvaluationRequest): Promise<ProgramEvaluation> {
    const run = evaluationQueue.then(() => evaluateNow(request));
    evaluationQueue = run.catch(() => undefined);
    return run;
}

async function evaluateNow(request: EvaluationRequest): Promise<ProgramEvaluation> {
    const region = request.config["aws:region"] ?? "eu-west-1";
    const captured = new Map<string, CapturedResource>();
    await pulumi.runtime.setMocks(new AwsMocks(region), request.project, request.stack, request.preview ?? false);
    captureRegistrations(captured);
    pulumi.runtime.setAllConfig({ ...request.config }, [...(request.secretKeys ?? [])]);
    // The program's trip check reads the ledger; here it reads the request, never AWS.
    const trips = request.trips ?? [];
    useProgramTripReader(async () => trips);

    const programPath = require.resolve(path.join(path.resolve(request.programDir), "index"));
    // Only the entry module registers resources when it runs; the components and config modules are
    // plain classes and functions, so they stay loaded (and compiled) across evaluations.
    delete require.cache[programPath];
    // Pulumi formats a call-site stack trace for every resource (at unlimited depth) and every promise it
    // tracks. Under ts-node each goes through source-map-support, and even V8's own formatting of them took
    // about a third of the evaluation; see callSiteStackTrace.
    const prepareStackTrace = Error.prepareStackTrace;
    const stackTraceLimit = Error.stackTraceLimit;
    (Error as { prepareStackTrace?: unknown }).prepareStackTrace = callSiteStackTrace;
    if (!request.stackTraces) Error.stackTraceLimit = 0;
    // The Pulumi language host fails the program on an unhandled rejection (an error thrown inside an `apply`,
    // such as a check on a provider function's result); do the same here instead of letting it kill the process.
    // A failed registration never completes its RPC, so the evaluation races the program against that failure.
    let onUnhandled: (reason: unknown) => void = () => undefined;
    const failed = new Promise<never>((_, reject) => (onUnhandled = reject));
    process.on("unhandledRejection", onUnhandled);
    try {
        const run = async () => {
            let module: Record<string, unknown> = {};
            const exports = await pulumi.runtime.runInPulumiStack(async () => (module = require(programPath)));
            await (pulumi.runtime as unknown as { waitForRPCs(): Promise<void> }).waitForRPCs();
            return markSecretOutputs((exports ?? {}) as Record<string, unknown>, module);
        };
        const outputs = await Promise.race([run(), failed]);
        return { resources: [...captured.values()], outputs: normalise(outputs) as Record<string, unknown> };
    } catch (error) {
        markProgramError(error);
        throw new ProgramError(error, [...captured.values()].filter((r) => r.type !== "pulumi:pulumi:Stack"));
    } finally {
        process.off("unhandledRejection", onUnhandled);
        Error.prepareStackTrace = prepareStackTrace;
        Error.stackTraceLimit = stackTraceLimit;
        forgetModule(programPath);
    }
}

/**
 * The resolved stack outputs, with each output the program exported as a
 * secret wrapped as `{ __secret }`: the engine keeps such an output encrypted,
 * and a resolved value no longer says so.
 */
async function markSecretOutputs(resolved: Record<string, unknown>, exported: Record<string, unknown>): Promise<Record<string, unknown>> {
    const marked: Record<string, unknown> = { ...resolved };
    for (const [key, value] of Object.entries(exported)) {
        if (pulumi.Output.isInstance(value) && (await (value as unknown as { isSecret: Promise<boolean> }).isSecret) && key in marked) {
            marked[key] = { __secret: marked[key] };
        }
    }
    return marked;
}

/**
 * The stack-trace formatter during an evaluation: V8's own format, except for
 * the message-less errors Pulumi's runtime creates only to read a call site
 * (a resource's source position, a promise's debug trace), which get none:
 * the mocks never read them. Errors with a message, such as the program's
 * own, keep their whole trace for `--debug`.
 */
export function callSiteStackTrace(error: Error, frames: readonly NodeJS.CallSite[]): string {
    if (error.message === "") return "";
    return [`${error.name}: ${error.message}`, ...frames.map((frame) => `    at ${frame}`)].join("\n");
}

/** Unloads a module completely: Node also keeps each loaded module in its parent's `children`, which would hold every evaluated graph alive. */
function forgetModule(file: string): void {
    delete require.cache[file];
    module.children = module.children.filter((child) => child.id !== file);
}

interface RegisterRequest {
    getType(): string;
    getName(): string;
    getParent(): string;
    getCustom(): boolean;
    getProtect(): boolean | undefined;
    getRetainondelete(): boolean | undefined;
    getDeletebeforereplace(): boolean;
    getIgnorechangesList(): string[];
    getReplaceonchangesList(): string[];
    getDependenciesList(): string[];
    getProvider(): string;
    getAliasesList(): AliasMessage[];
}

interface AliasMessage {
    getUrn(): string;
    getSpec(): { getName(): string; getType(): string; getParenturn(): string; getNoparent(): boolean } | undefined;
}

function capturedAlias(alias: AliasMessage): CapturedAlias {
    const spec = alias.getSpec();
    if (!spec) return alias.getUrn();
    const parts = { name: spec.getName(), type: spec.getType(), parentUrn: spec.getParenturn(), noParent: spec.getNoparent() };
    return Object.fromEntries(Object.entries(parts).filter(([, value]) => value !== "" && value !== false));
}

/** Wraps the mock monitor so that every registration's options are recorded next to its inputs. */
function captureRegistrations(captured: Map<string, CapturedResource>): void {
    const monitor = pulumi.runtime.getMonitor() as unknown as {
        registerResource(req: RegisterRequest, callback: (err: unknown, response: unknown) => void): Promise<void>;
        resources: Map<string, { urn: string; state: unknown }>;
    };
    const original = monitor.registerResource.bind(monitor);
    monitor.registerResource = (req, callback) =>
        original(req, (err, response) => {
            if (!err && response) {
                const urn = (response as { getUrn(): string }).getUrn();
                const stored = monitor.resources.get(urn);
                captured.set(urn, {
                    urn,
                    type: req.getType(),
                    name: req.getName(),
                    parent: req.getParent() || undefined,
                    custom: req.getCustom(),
                    inputs: normalise(pulumi.runtime.deserializeProperties((req as unknown as { getObject(): Struct }).getObject())) as Record<string, unknown>,
                    state: normalise(stored ? pulumi.runtime.deserializeProperties(asStruct(stored.state)) : {}) as Record<string, unknown>,
                    options: {
                        protect: req.getProtect() ?? false,
                        retainOnDelete: req.getRetainondelete() ?? false,
                        deleteBeforeReplace: req.getDeletebeforereplace(),
                        ignoreChanges: req.getIgnorechangesList(),
                        replaceOnChanges: req.getReplaceonchangesList(),
                        dependencies: [...new Set(req.getDependenciesList())].sort(),
                        provider: req.getProvider() || undefined,
                        aliases: req.getAliasesList().map(capturedAlias),
                    },
                });
            }
            callback(err, response);
        });
}

type Struct = Parameters<typeof pulumi.runtime.deserializeProperties>[0];

function asStruct(state: unknown): Struct {
    // The mock monitor stores serialized state; deserializeProperties expects a protobuf Struct.
    return { toJavaScript: () => state } as unknown as Struct;
}

const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";
const SIG_KEY = "4dabf18193072939515e22adb298388d";

/** Turns runtime wrappers into plain data: secrets become `{ __secret }`, resources their URN. */
function normalise(value: unknown): unknown {
    if (Array.isArray(value)) return value.map(normalise);
    if (value && typeof value === "object") {
        const record = value as Record<string, unknown>;
        if (record[SIG_KEY] === SECRET_SIG) return { __secret: normalise(record.value) };
        if (pulumi.Resource.isInstance(value)) return { __resource: (value as unknown as { __name?: string }).__name };
        const result: Record<string, unknown> = {};
        for (const key of Object.keys(record).sort()) {
            if (record[key] !== undefined) result[key] = normalise(record[key]);
        }
        return result;
    }
    return value;
}

/** Renders a captured value for people: secrets print as `[secret]`. */
export function revealSafe(value: unknown): unknown {
    if (Array.isArray(value)) return value.map(revealSafe);
    if (value && typeof value === "object") {
        if ("__secret" in value) return "[secret]";
        return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, revealSafe(v)]));
    }
    return value;
}

/**
 * The zones `DescribeAvailabilityZones` reports as available to an account in
 * some regions, so a VPC spread over more zones than a region has fails here
 * as it would in AWS. Regions not listed get three, the most common count.
 */
const REGION_ZONE_LETTERS: Readonly<Record<string, readonly string[]>> = {
    "us-east-1": ["a", "b", "c", "d", "e", "f"],
    "us-west-2": ["a", "b", "c", "d"],
    "us-west-1": ["b", "c"],
    "eu-west-1": ["a", "b", "c"],
    "ap-northeast-1": ["a", "c", "d"],
};

/** A stable fake identifier derived from a resource's type and name, so two evaluations agree. */
function fakeId(prefix: string, ...parts: string[]): string {
    return `${prefix}${createHash("sha256").update(parts.join("/")).digest("hex").slice(0, 17)}`;
}

/**
 * Mocks for the AWS resources and functions the program uses. State echoes the
 * inputs and adds the computed outputs (ids, ARNs, DNS names) that AWS returns.
 * A function the program calls without a mock here fails the evaluation.
 */
class AwsMocks implements pulumi.runtime.Mocks {
    constructor(private readonly region: string) {}

    newResource(args: pulumi.runtime.MockResourceArgs): pulumi.runtime.MockResourceResult {
        const computed = this.computed(args.type, args.name, args.inputs);
        const id = (computed.id as string | undefined) ?? fakeId(`${args.name}-`, args.type, args.name).slice(0, args.name.length + 9);
        return { id, state: { ...args.inputs, ...computed, id } };
    }

    call(args: pulumi.runtime.MockCallArgs): pulumi.runtime.MockCallResult {
        switch (args.token) {
            case "aws:index/getAvailabilityZones:getAvailabilityZones": {
                const letters = REGION_ZONE_LETTERS[this.region] ?? ["a", "b", "c"];
                return {
                    names: letters.map((l) => `${this.region}${l}`),
                    zoneIds: letters.map((_, i) => `euw1-az${i + 1}`),
                    id: this.region,
                };
            }
            case "aws:index/getRegion:getRegion":
                return { name: this.region, region: this.region, id: this.region, endpoint: `ec2.${this.region}.amazonaws.com` };
            case "aws:index/getCallerIdentity:getCallerIdentity":
                return { accountId: MOCK_ACCOUNT_ID, arn: `arn:aws:iam::${MOCK_ACCOUNT_ID}:user/mock`, userId: "AIDAMOCK", id: MOCK_ACCOUNT_ID };
            case "aws:index/getPartition:getPartition":
                return { partition: "aws", dnsSuffix: "amazonaws.com", id: "aws" };
            case "aws:eks/getCluster:getCluster":
                return this.existingCluster(String(args.inputs.name));
            case "aws:rds/getInstance:getInstance":
                return this.existingDatabase(String(args.inputs.dbInstanceIdentifier));
            default:
                throw new Error(`shiftwise mocks: no mock for function ${args.token}; add one to evaluation/mockRuntime.ts`);
        }
    }

    /** An existing EKS cluster as DescribeCluster reports it: the endpoint and CA a kubeconfig needs. */
    private existingCluster(name: string): Record<string, unknown> {
        const suffix = fakeId("", "eks", name).toUpperCase();
        return {
            id: name,
            name,
            arn: this.arn("eks", `cluster/${name}`),
            endpoint: `https://${suffix.slice(0, 16)}.gr7.${this.region}.eks.amazonaws.com`,
            certificateAuthorities: [{ data: Buffer.from(`mock CA of ${name}`).toString("base64") }],
            status: "ACTIVE",
            version: "1.33",
            vpcConfig: [{ clusterSecurityGroupId: fakeId("sg-", "eks", name), vpcId: fakeId("vpc-", "eks", name), endpointPublicAccess: false, endpointPrivateAccess: true }],
        };
    }

    /** An adopted RDS instance as DescribeDBInstances reports it, with an RDS-managed master secret. */
    private existingDatabase(identifier: string): Record<string, unknown> {
        const suffix = fakeId("", "rds", identifier);
        const address = `${identifier}.${suffix.slice(0, 12)}.${this.region}.rds.amazonaws.com`;
        return {
            id: identifier,
            dbInstanceIdentifier: identifier,
            dbInstanceArn: this.arn("rds", `db:${identifier}`),
            dbInstanceClass: "db.r6g.large",
            dbName: "app",
            address,
            endpoint: `${address}:5432`,
            port: 5432,
            dbInstancePort: 0,
            engine: "postgres",
            engineVersion: "16.4",
            dbSubnetGroup: `${identifier}-subnets`,
            vpcSecurityGroups: [fakeId("sg-", "rds", identifier)],
            masterUserSecrets: [{ secretArn: this.arn("secretsmanager", `secret:rds!db-${suffix.slice(0, 8)}-${suffix.slice(8, 14)}`), secretStatus: "active", kmsKeyId: "" }],
            multiAz: true,
            publiclyAccessible: false,
            storageEncrypted: true,
        };
    }

    private arn(service: string, resource: string): string {
        return `arn:aws:${service}:${this.region}:${MOCK_ACCOUNT_ID}:${resource}`;
    }

    private computed(type: string, name: string, inputs: Record<string, unknown>): Record<string, unknown> {
        const suffix = fakeId("", type, name).slice(0, 16);
        switch (type) {
            case "aws:lb/loadBalancer:LoadBalancer":
                return {
                    arn: this.arn("elasticloadbalancing", `loadbalancer/app/${name}/${suffix}`),
                    arnSuffix: `app/${name}/${suffix}`,
                    dnsName: `${name}-${suffix.slice(0, 10)}.${this.region}.elb.amazonaws.com`,
                    zoneId: "Z32O12XQLNTSW2",
                };
            case "aws:lb/targetGroup:TargetGroup":
                return {
                    arn: this.arn("elasticloadbalancing", `targetgroup/${name}/${suffix}`),
                    arnSuffix: `targetgroup/${name}/${suffix}`,
                    name: inputs.name ?? name,
                };
            case "aws:secretsmanager/secret:Secret":
                // Secrets Manager appends 6 random characters to the secret's name in its ARN.
                return { arn: this.arn("secretsmanager", `secret:${inputs.name ?? name}-${suffix.slice(0, 6)}`) };
            case "random:index/randomPassword:RandomPassword":
                // A stable stand-in of the requested length, letters and digits like the program asks for.
                return { result: fakeId("", type, name).repeat(4).slice(0, Number(inputs.length ?? 16)), bcryptHash: fakeId("$2a$10$", type, name) };
            case "aws:lb/listener:Listener":
                return { arn: this.arn("elasticloadbalancing", `listener/app/${name}/${suffix}`) };
            case "aws:lb/listenerRule:ListenerRule":
                return { arn: this.arn("elasticloadbalancing", `listener-rule/app/${name}/${suffix}`) };
            case "aws:ec2/vpc:Vpc":
                return { id: fakeId("vpc-", name), arn: this.arn("ec2", `vpc/${name}`) };
            case "aws:ec2/subnet:Subnet":
                return { id: fakeId("subnet-", name), arn: this.arn("ec2", `subnet/${name}`) };
            case "aws:ec2/securityGroup:SecurityGroup":
                return { id: fakeId("sg-", name), arn: this.arn("ec2", `security-group/${name}`) };
            case "aws:rds/instance:Instance": {
                const identifier = (inputs.identifier as string | undefined) ?? name;
                const address = `${identifier}.${suffix.slice(0, 12)}.${this.region}.rds.amazonaws.com`;
                return {
                    id: identifier,
                    identifier,
                    arn: this.arn("rds", `db:${identifier}`),
                    address,
                    endpoint: `${address}:${inputs.port ?? 5432}`,
                    resourceId: fakeId("db-", name).toUpperCase(),
                    masterUserSecrets: inputs.manageMasterUserPassword
                        ? [{ secretArn: this.arn("secretsmanager", `secret:rds!${identifier}-${suffix.slice(0, 6)}`), secretStatus: "active", kmsKeyId: "" }]
                        : [],
                };
            }
            case "aws:rds/subnetGroup:SubnetGroup":
                return { name: inputs.name ?? `${name}-${suffix.slice(0, 7)}`, arn: this.arn("rds", `subgrp:${inputs.name ?? name}`) };
            case "aws:sns/topicSubscription:TopicSubscription":
                return { arn: `${String(inputs.topic)}:${suffix.slice(0, 8)}-${suffix.slice(8, 12)}` };
            case "aws:rds/snapshot:Snapshot":
                return { id: inputs.dbSnapshotIdentifier, dbSnapshotArn: this.arn("rds", `snapshot:${inputs.dbSnapshotIdentifier}`) };
            case "aws:ecs/cluster:Cluster":
                return { arn: this.arn("ecs", `cluster/${name}`), name: inputs.name ?? name };
            case "aws:ecs/service:Service":
                return { arn: this.arn("ecs", `service/${name}`), name: inputs.name ?? name };
            case "aws:ecs/taskDefinition:TaskDefinition":
                return { arn: this.arn("ecs", `task-definition/${inputs.family ?? name}:1`), revision: 1 };
            case "aws:iam/role:Role":
                return { arn: `arn:aws:iam::${MOCK_ACCOUNT_ID}:role/${inputs.name ?? name}`, name: inputs.name ?? name };
            case "aws:cloudwatch/logGroup:LogGroup":
                return { arn: this.arn("logs", `log-group:${inputs.name ?? name}`), name: inputs.name ?? name };
            case "aws:sns/topic:Topic":
                return { arn: this.arn("sns", String(inputs.name ?? name)), name: inputs.name ?? name };
            case "aws:cloudwatch/metricAlarm:MetricAlarm":
            case "aws:cloudwatch/compositeAlarm:CompositeAlarm":
                return { arn: this.arn("cloudwatch", `alarm:${inputs.name ?? inputs.alarmName ?? name}`) };
            case "aws:s3/bucket:Bucket": {
                // Pulumi auto-names buckets from the logical name plus a random suffix; S3 names are lowercase.
                const bucket = String(inputs.bucket ?? `${name}-${suffix.slice(0, 7)}`).toLowerCase();
                return { id: bucket, bucket, arn: `arn:aws:s3:::${bucket}`, bucketDomainName: `${bucket}.s3.amazonaws.com` };
            }
            case "aws:rds/parameterGroup:ParameterGroup":
                return { name: inputs.name ?? `${name}-${suffix.slice(0, 7)}`, arn: this.arn("rds", `pg:${inputs.name ?? name}`) };
            case "aws:kms/key:Key":
                return { arn: this.arn("kms", `key/${suffix}`), keyId: suffix };
            case "aws:backup/vault:Vault":
                return { arn: this.arn("backup", `backup-vault:${inputs.name ?? name}`), name: inputs.name ?? name };
            case "aws:backup/plan:Plan":
                return { arn: this.arn("backup", `backup-plan:${suffix}`), id: suffix };
            case "aws:lambda/function:Function":
                return { arn: this.arn("lambda", `function:${inputs.name ?? name}`), name: inputs.name ?? name };
            case "aws:cloudwatch/eventRule:EventRule":
                return { arn: this.arn("events", `rule/${inputs.name ?? name}`), name: inputs.name ?? name };
            default:
                return { arn: this.arn(type.split(":")[1]?.split("/")[0] ?? "mock", `${name}`) };
        }
    }
}
