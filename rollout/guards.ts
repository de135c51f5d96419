// The guards that check a preview or an update changed only the resources a stage expects.
import type { Colour } from "../config";
import type { AlarmState, ResourceStep, StackChanges } from "../ports/ports";

/**
 * The driver's guards over the engine's per-resource steps. Each returns the
 * problems it found, one sentence each; an empty list means the guard passed.
 */

/** The type token of the component that owns the forwarding listener. */
export const WEIGHTED_LISTENER_TYPE = "shiftwise:traffic:WeightedListener";
/** The type token of one colour's component on ECS. */
export const COLOUR_SERVICE_TYPE = "shiftwise:ecs:ColourService";
/** The type tokens of one colour's component, one per platform: a release may change only what lies under it. */
export const COLOUR_COMPONENT_TYPES: readonly string[] = [COLOUR_SERVICE_TYPE, "shiftwise:kubernetes:KubernetesColour"];
export const LISTENER_TYPE = "aws:lb/listener:Listener";
export const SNAPSHOT_TYPE = "aws:rds/snapshot:Snapshot";
/** The type token of the release's migration task component. */
export const MIGRATION_TASK_TYPE = "shiftwise:data:MigrationTask";
/** The type token of the migration's job template on Kubernetes. */
export const MIGRATION_JOB_TYPE = "shiftwise:kubernetes:MigrationJob";
const INGRESS_RULE_TYPE = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule";

/**
 * A resource of the release's migration: anything under the `MigrationTask`
 * component (its task definition is replaced with each release image) or, on
 * Kubernetes, the `MigrationJob` component (its CronJob's job template is
 * updated), and the database's ingress rule for the migration's security group.
 */
export function isMigrationStep(step: ResourceStep, serviceName: string): boolean {
    const chain = urnTypeChain(step.urn);
    if (chain.includes(MIGRATION_TASK_TYPE) || chain.includes(MIGRATION_JOB_TYPE)) return true;
    return step.type === INGRESS_RULE_TYPE && urnName(step.urn) === `${serviceName}-db-from-migration` && step.op === "create";
}

/** Ops that leave a resource alone. */
const NO_OPS = new Set(["same", "read", "refresh"]);

/** The steps that change something. */
export function effectiveSteps(changes: StackChanges): ResourceStep[] {
    return changes.steps.filter((step) => !NO_OPS.has(step.op));
}

/** `op urn` lines for messages. */
export function describeSteps(steps: readonly ResourceStep[]): string {
    return steps.map((step) => `${step.op} ${step.urn}${step.diffs.length ? ` (${step.diffs.join(", ")})` : ""}`).join("; ");
}

/** The type chain of a URN: `shiftwise:traffic:WeightedListener$aws:lb/listener:Listener`. */
export function urnTypeChain(urn: string): string[] {
    const parts = urn.split("::");
    return parts.length >= 4 ? parts[2].split("$") : [];
}

/** The logical name at the end of a URN. */
export function urnName(urn: string): string {
    const parts = urn.split("::");
    return parts[parts.length - 1];
}

/**
 * A traffic step (or a traffic-only rollback) must update exactly one
 * resource, the forwarding listener: an `aws:lb/listener:Listener` under the
 * `WeightedListener` component whose ARN is the stack's `listenerArn` output,
 * and nothing else may be created, replaced or deleted.
 */
export function listenerOnlyProblems(changes: StackChanges, listenerArn: string): string[] {
    const steps = effectiveSteps(changes);
    if (steps.length === 0) return ["the update changed nothing, so the listener weights did not move"];
    const problems: string[] = [];
    const others = steps.filter((step) => !isForwardingListener(step, listenerArn));
    if (others.length > 0) problems.push(`the update changed more than the forwarding listener: ${describeSteps(others)}`);
    for (const step of steps.filter((s) => isForwardingListener(s, listenerArn))) {
        if (step.op !== "update") problems.push(`the forwarding listener was ${step.op}d, not updated in place: ${step.urn}`);
        const unexpected = step.diffs.filter((key) => key !== "defaultActions");
        if (unexpected.length > 0) problems.push(`the forwarding listener changed ${unexpected.join(", ")} besides defaultActions`);
    }
    const listeners = steps.filter((s) => isForwardingListener(s, listenerArn));
    if (listeners.length > 1) problems.push(`${listeners.length} steps touched the forwarding listener; expected one`);
    return problems;
}

function isForwardingListener(step: ResourceStep, listenerArn: string): boolean {
    const chain = urnTypeChain(step.urn);
    return step.type === LISTENER_TYPE && chain.includes(WEIGHTED_LISTENER_TYPE) && step.arn === listenerArn;
}

/** What a release may touch. */
export interface ReleaseScope {
    readonly serviceName: string;
    readonly candidate: Colour;
    /** With `--migration-snapshot`: the pre-release snapshot may be created, and an older one dropped from the state if it is retained in AWS. */
    readonly allowSnapshot: boolean;
    /** With `database.migration`: the migration task's resources may change (see `isMigrationStep`). @default false */
    readonly allowMigration?: boolean;
}

/**
 * The release preview may change only the candidate colour's resources (those
 * under the `ColourService` named `<service>-<candidate>`) and, with a
 * migration snapshot, the snapshot; it replaces or deletes nothing else.
 */
export function releasePreviewProblems(changes: StackChanges, scope: ReleaseScope): string[] {
    const candidateUrn = changes.steps.find((step) => COLOUR_COMPONENT_TYPES.includes(step.type) && urnName(step.urn) === `${scope.serviceName}-${scope.candidate}`)?.urn;
    const parents = new Map(changes.steps.map((step) => [step.urn, step.parent]));
    const underCandidate = (step: ResourceStep) => {
        for (let urn: string | undefined = step.urn; urn; urn = parents.get(urn)) {
            if (urn === candidateUrn) return true;
        }
        return false;
    };
    const outside = effectiveSteps(changes).filter((step) => {
        if (candidateUrn !== undefined && underCandidate(step)) return false;
        // A new snapshot may be created; an old one may leave the state only if AWS keeps it (retainOnDelete).
        if (scope.allowSnapshot && step.type === SNAPSHOT_TYPE) return !(step.op === "create" || step.retainOnDelete === true);
        if (scope.allowMigration && isMigrationStep(step, scope.serviceName)) return false;
        return true;
    });
    const problems: string[] = [];
    if (candidateUrn === undefined) problems.push(`the preview has no colour component (${COLOUR_COMPONENT_TYPES.join(" or ")}) named ${scope.serviceName}-${scope.candidate}`);
    const allowed = [`the ${scope.candidate} colour`, ...(scope.allowSnapshot ? ["the snapshot"] : []), ...(scope.allowMigration ? ["the migration task"] : [])];
    if (outside.length > 0) problems.push(`the release would change more than ${allowed.join(", ").replace(/, ([^,]*)$/, " and $1")}: ${describeSteps(outside)}`);
    return problems;
}

/**
 * What an up did beyond its preview: a change to a resource the preview did
 * not show, or a different op (an update that became a replace). The up was
 * restricted to the previewed URNs, so the engine should never report any.
 */
export function beyondPreview(changes: StackChanges, preview: StackChanges): string[] {
    const previewed = new Map(effectiveSteps(preview).map((step) => [step.urn, step.op]));
    const beyond = effectiveSteps(changes).filter((step) => previewed.get(step.urn) !== step.op);
    return beyond.length === 0 ? [] : [`the update did what its preview did not show: ${describeSteps(beyond)}`];
}

/** The checkpoint preview must show no changes: then restoring the checkpoint config restores exactly this state. */
export function cleanPreviewProblems(changes: StackChanges): string[] {
    const steps = effectiveSteps(changes);
    return steps.length === 0 ? [] : [`the current config does not match the deployed stack (${steps.length} pending change(s): ${describeSteps(steps)}); run \`pulumi preview\` and reconcile before deploying`];
}

/** What the driver read from AWS in one poll. */
export interface PollReading {
    /** Each colour's composite alarm state; undefined: the alarm does not exist. */
    readonly alarms: Readonly<Record<Colour, AlarmState | undefined>>;
    /** The listener weights in AWS against the weights the stack config asks for; empty when they agree. */
    readonly weightProblems: readonly string[];
}

/** What one poll means for the release. */
export type PollVerdict =
    /** The listener does not show the config's weights: someone moved traffic by hand; stop, never undo it. */
    | { readonly kind: "drift"; readonly reason: string }
    /** A colour that carries traffic is in ALARM (or has no alarm): the candidate's rolls back, the stable's stops. */
    | { readonly kind: "alarm"; readonly colour: Colour; readonly reason: string }
    /** A colour that carries traffic is INSUFFICIENT_DATA: nothing to judge, never a pass. */
    | { readonly kind: "inconclusive"; readonly reason: string }
    | { readonly kind: "ok" };

/** The alarm names and traffic a poll is judged against. */
export interface PollContext {
    readonly candidate: Colour;
    readonly alarmNames: Readonly<Record<Colour, string>>;
    /** The weights the stack config asks for. */
    readonly traffic: Readonly<Record<Colour, number>>;
}

/**
 * Judges one poll. A human's move wins (drift first); then the candidate's
 * alarm, then the stable colour's, each only while that colour carries
 * traffic; then missing data. Only a poll where every colour that carries
 * traffic is OK passes.
 */
export function judgePoll(reading: PollReading, context: PollContext): PollVerdict {
    if (reading.weightProblems.length > 0) {
        return { kind: "drift", reason: `the listener in AWS does not show the config's weights (blue ${context.traffic.blue}%, green ${context.traffic.green}%): ${reading.weightProblems.join("; ")}` };
    }
    const stable: Colour = context.candidate === "blue" ? "green" : "blue";
    const judged = [context.candidate, stable].filter((colour) => context.traffic[colour] > 0);
    for (const colour of judged) {
        const state = reading.alarms[colour];
        if (state === "ALARM" || state === undefined) {
            const role = colour === context.candidate ? "candidate" : "stable colour";
            return { kind: "alarm", colour, reason: `the ${role} ${colour}'s composite alarm ${context.alarmNames[colour]} is ${state ?? "missing"} at ${context.traffic[colour]}%` };
        }
    }
    const unknown = judged.filter((colour) => reading.alarms[colour] === "INSUFFICIENT_DATA");
    if (unknown.length > 0) return { kind: "inconclusive", reason: unknown.map((colour) => `${context.alarmNames[colour]} is INSUFFICIENT_DATA`).join("; ") };
    return { kind: "ok" };
}

/** A colour's healthy targets as AWS reports them, and the count its config asks for. */
export interface ColourHealth {
    readonly healthy: number;
    readonly desired: number;
}

/**
 * Judges the target health of the colours that carry traffic (read at every
 * poll, like the alarms): a colour with no healthy target is judged like an
 * alarm on it (someone scaled it to zero, or every task died); fewer healthy
 * targets than its `desiredCount` (scaled down by hand, tasks being replaced)
 * is inconclusive, so the step never promotes on it. Undefined: nothing to say.
 */
export function healthVerdict(health: Readonly<Partial<Record<Colour, ColourHealth>>>, traffic: Readonly<Record<Colour, number>>): PollVerdict | undefined {
    const judged = (["blue", "green"] as const).filter((colour) => traffic[colour] > 0 && health[colour] !== undefined);
    for (const colour of judged) {
        const { healthy, desired } = health[colour]!;
        if (healthy === 0) return { kind: "alarm", colour, reason: `${colour} has no healthy target while it carries ${traffic[colour]}% of traffic (desiredCount ${desired})` };
    }
    const short = judged.filter((colour) => health[colour]!.healthy < health[colour]!.desired);
    if (short.length > 0) {
        return { kind: "inconclusive", reason: short.map((colour) => `${colour} has ${health[colour]!.healthy} of ${health[colour]!.desired} healthy target(s) at ${traffic[colour]}% (scaled down by hand?)`).join("; ") };
    }
    return undefined;
}

/**
 * A poll's verdict with the serving colours' target health: drift and alarms
 * stand; a colour with no healthy target then counts like an alarm on it; a
 * colour short of targets turns a pass into inconclusive.
 */
export function judgeWithHealth(verdict: PollVerdict, health: Readonly<Partial<Record<Colour, ColourHealth>>>, traffic: Readonly<Record<Colour, number>>): PollVerdict {
    if (verdict.kind === "drift" || verdict.kind === "alarm") return verdict;
    const byHealth = healthVerdict(health, traffic);
    if (byHealth === undefined) return verdict;
    return byHealth.kind === "alarm" || verdict.kind === "ok" ? byHealth : verdict;
}

/** Tracks consecutive failed reads; `exhausted` once more than `budget` failed in a row. */
export class ErrorBudget {
    private consecutive = 0;
    private lastError = "";

    constructor(readonly budget: number) {}

    /** Records a failure; true when the budget is now exhausted. */
    fail(error: unknown): boolean {
        this.consecutive += 1;
        this.lastError = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
        return this.consecutive > this.budget;
    }

    succeed(): void {
        this.consecutive = 0;
    }

    describe(): string {
        return `${this.consecutive} AWS read(s) in a row failed (rollout.readErrorBudget ${this.budget}); last: ${this.lastError}`;
    }
}
