// The deployed stack as the driver sees it: parsed config and the shiftwise outputs.
import { COLOURS, Colour, StackConfig, parseStackConfig, shiftwiseSections } from "../config";
import { engineConfig } from "./configPaths";
import type { StackConfigEntries, StackPort } from "../ports/ports";

/** Typed reads of the stack's outputs and config that the driver relies on (see index.ts). */

/** One colour's object in the stack outputs. */
export interface ColourOutputs {
    readonly version?: string;
    readonly image?: string;
    readonly desiredCount?: number;
    readonly weight?: number;
    readonly targetGroupArn: string;
    readonly targetGroupArnSuffix: string;
    readonly serviceName?: string;
    /** Added by the deployment-safety work; see `rollbackAlarmName`. */
    readonly rollbackAlarmName?: string;
}

/** The outputs the driver needs, checked. */
export interface DriverOutputs {
    readonly listenerArn: string;
    readonly loadBalancerArnSuffix: string;
    readonly testUrl?: string;
    readonly testHeader: string;
    /** The header that carries the stack's test token (`testTokenHeader`); its value is read with `StackPort.secretOutput("testToken")`. */
    readonly testTokenHeader?: string;
    readonly blue: ColourOutputs;
    readonly green: ColourOutputs;
}

/** Reads the outputs the driver needs; throws naming every missing one. */
export function driverOutputs(outputs: Record<string, unknown>): DriverOutputs {
    const missing: string[] = [];
    const text = (value: unknown, name: string) => {
        if (typeof value !== "string" || value === "") missing.push(name);
        return value as string;
    };
    text(outputs.listenerArn, "listenerArn");
    text(outputs.loadBalancerArnSuffix, "loadBalancerArnSuffix");
    for (const colour of COLOURS) {
        const value = (outputs[colour] ?? {}) as Record<string, unknown>;
        text(value.targetGroupArn, `${colour}.targetGroupArn`);
        text(value.targetGroupArnSuffix, `${colour}.targetGroupArnSuffix`);
    }
    if (missing.length > 0) {
        throw new Error(`the stack outputs lack ${missing.join(", ")}; run \`pulumi up\` once with this version of shiftwise so the outputs exist`);
    }
    return {
        listenerArn: outputs.listenerArn as string,
        loadBalancerArnSuffix: outputs.loadBalancerArnSuffix as string,
        testUrl: typeof outputs.testUrl === "string" ? outputs.testUrl : undefined,
        testHeader: typeof outputs.testHeader === "string" ? outputs.testHeader : "x-shiftwise-colour",
        testTokenHeader: typeof outputs.testTokenHeader === "string" ? outputs.testTokenHeader : undefined,
        blue: outputs.blue as ColourOutputs,
        green: outputs.green as ColourOutputs,
    };
}

/** The headers that authenticate requests to the test listener: the stack's token, when the stack has one. */
export async function testListenerHeaders(stack: Pick<StackPort, "secretOutput">, outputs: DriverOutputs): Promise<Record<string, string>> {
    if (!outputs.testTokenHeader) return {};
    const token = await stack.secretOutput("testToken");
    return token ? { [outputs.testTokenHeader]: token } : {};
}

/** The colour's composite alarm: the `rollbackAlarmName` output, else the naming convention `<service>-<stack>-<colour>-rollback`. */
export function rollbackAlarmName(outputs: DriverOutputs, colour: Colour, serviceName: string, stack: string): string {
    return outputs[colour].rollbackAlarmName ?? `${serviceName}-${stack}-${colour}-rollback`;
}

/** Validates the `shiftwise:*` keys of a stack config (throws `ConfigError` with every problem). */
export function shiftwiseConfig(entries: StackConfigEntries): StackConfig {
    return parseStackConfig(shiftwiseSections(engineConfig(entries)));
}

/** The listener weights the config asks for, by target group ARN. */
export function expectedWeights(outputs: DriverOutputs, traffic: Record<Colour, number>): Record<string, number> {
    return { [outputs.blue.targetGroupArn]: traffic.blue, [outputs.green.targetGroupArn]: traffic.green };
}

/** Differences between the weights AWS reports and the expected ones. */
export function weightProblems(actual: Record<string, number>, expected: Record<string, number>): string[] {
    const problems: string[] = [];
    for (const [arn, weight] of Object.entries(expected)) {
        if ((actual[arn] ?? 0) !== weight) problems.push(`${arn} has weight ${actual[arn] ?? "none"} in AWS, expected ${weight}`);
    }
    for (const arn of Object.keys(actual)) {
        if (!(arn in expected) && actual[arn] !== 0) problems.push(`the listener also forwards to ${arn} (weight ${actual[arn]})`);
    }
    return problems;
}
