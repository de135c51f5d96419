// The AWS-side guard's decision: what to do with the forwarding listener when a colour's rollback alarm goes to ALARM.
import type { Action } from "@aws-sdk/client-elastic-load-balancing-v2";

export type GuardColour = "blue" | "green";

export const GUARD_COLOURS: readonly GuardColour[] = ["blue", "green"];

export function otherGuardColour(colour: GuardColour): GuardColour {
    return colour === "blue" ? "green" : "blue";
}

/** The listener's forward weights by colour; a colour whose target group is not in the forward action is absent. */
export type ColourWeights = Partial<Record<GuardColour, number>>;

/** What the guard read from AWS just before it decides. */
export interface GuardReading {
    /** The colour whose composite rollback alarm went to ALARM. */
    readonly tripped: GuardColour;
    /** The live forward weights; undefined when the listener forwards nothing (maintenance page, or changed by hand). */
    readonly weights: ColourWeights | undefined;
    /** Healthy targets per colour (DescribeTargetHealth); a colour is absent when its health could not be read. */
    readonly healthyTargets: Partial<Record<GuardColour, number>>;
}

/**
 * `move`: take the tripped colour's weight to 0 and give it to the other colour.
 * `leave`: the tripped colour serves, but the guard must not move traffic (record and notify).
 * `not-serving`: the tripped colour carries no traffic in the listener; nothing to do.
 */
export type GuardDecision =
    | { readonly kind: "move"; readonly weights: Record<GuardColour, number>; readonly reason: string }
    | { readonly kind: "leave"; readonly reason: string }
    | { readonly kind: "not-serving"; readonly reason: string };

/** Decides on what was read now, never on what the stack config says: a human's move in the console wins. */
export function decide(reading: GuardReading): GuardDecision {
    const { tripped, weights } = reading;
    const other = otherGuardColour(tripped);
    if (weights === undefined) return { kind: "not-serving", reason: "the listener forwards to no target group (maintenance page or changed by hand)" };
    const trippedWeight = weights[tripped] ?? 0;
    if (trippedWeight === 0) return { kind: "not-serving", reason: `${tripped} has weight 0 in the listener already` };
    const otherWeight = weights[other];
    if (otherWeight === undefined) return { kind: "leave", reason: `${other}'s target group is not in the listener's forward action, so traffic cannot move to it` };
    const healthy = reading.healthyTargets[other];
    if (healthy === undefined) return { kind: "leave", reason: `${other}'s target health could not be read` };
    if (healthy < 1) return { kind: "leave", reason: `${other} has no healthy targets` };
    return {
        kind: "move",
        weights: { [tripped]: 0, [other]: otherWeight + trippedWeight } as Record<GuardColour, number>,
        reason: `${tripped} had weight ${trippedWeight}; ${other} has ${healthy} healthy target${healthy === 1 ? "" : "s"}`,
    };
}

/** The forward action among a listener's default actions, and the weights of the two colours' target groups in it. */
export function forwardWeights(actions: readonly Action[] | undefined, targetGroupArns: Readonly<Record<GuardColour, string>>): { readonly action?: Action; readonly weights?: ColourWeights } {
    const action = actions?.find((candidate) => candidate.Type === "forward");
    if (!action) return {};
    // A forward action names one target group directly (weight: all of it) or several, weighted, in ForwardConfig.
    const groups = action.ForwardConfig?.TargetGroups?.length ? action.ForwardConfig.TargetGroups : [{ TargetGroupArn: action.TargetGroupArn, Weight: 1 }];
    const weights: ColourWeights = {};
    for (const colour of GUARD_COLOURS) {
        const group = groups.find((candidate) => candidate.TargetGroupArn === targetGroupArns[colour]);
        // ELB reports Weight for each group of a ForwardConfig; a missing one means ELB's default, 1.
        if (group) weights[colour] = group.Weight ?? 1;
    }
    return { action, weights };
}

/**
 * The listener's default actions with the forward action's weights replaced:
 * stickiness, order and every other action stay as ELB reported them, so
 * ModifyListener changes the weights and nothing else.
 */
export function withWeights(actions: readonly Action[], targetGroupArns: Readonly<Record<GuardColour, string>>, weights: Readonly<Record<GuardColour, number>>): Action[] {
    return actions.map((action) => {
        if (action.Type !== "forward") return action;
        const { TargetGroupArn: _single, ...rest } = action;
        return {
            ...rest,
            ForwardConfig: {
                ...action.ForwardConfig,
                TargetGroups: GUARD_COLOURS.map((colour) => ({ TargetGroupArn: targetGroupArns[colour], Weight: weights[colour] })),
            },
        };
    });
}
