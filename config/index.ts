// Loads and parses the stack config once: the only reader of `pulumi.Config`.
import type * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import { ConfigError } from "./configError";
import { StackContext, stackContextProblems } from "./crossRules";
import { NAMESPACE, configKey, formatIssue } from "./format";
import { kubeconfigProblems } from "./kubernetes";
import { COLOURS, Colour, SectionName, StackConfig, sectionSchemas } from "./schema";
import { arnRegion } from "./security";

export * from "./schema";
export { ConfigError } from "./configError";
export { kubernetesSchema, kubeconfigProblems } from "./kubernetes";
export type { KubernetesConfig } from "./kubernetes";
export { DEFAULT_ACCESS_LOG_RETENTION_DAYS, DEFAULT_FLOW_LOG_RETENTION_DAYS } from "./security";
export { NAMESPACE, configKey } from "./format";
export type { StackContext } from "./crossRules";

/**
 * Validates the `shiftwise:*` part of a stack config. `raw` maps each key
 * without its namespace (`traffic`) to its value as written in the stack file.
 * `context` adds the rules that need the stack's name and region (derived
 * names, the certificate's region). Every problem is collected; the function
 * throws a single `ConfigError`.
 */
export function parseStackConfig(raw: Readonly<Record<string, unknown>>, context: StackContext = {}): StackConfig {
    const problems: string[] = [];
    const known = Object.keys(sectionSchemas);
    for (const key of Object.keys(raw)) {
        if (!known.includes(key)) {
            problems.push(`${configKey(key)}: is not a shiftwise config key; remove it or fix its spelling (known keys: ${known.join(", ")})`);
        }
    }
    const parsed: Partial<Record<SectionName, unknown>> = {};
    for (const section of known as SectionName[]) {
        const schema = sectionSchemas[section] as z.ZodType;
        const result = schema.safeParse(raw[section], { reportInput: true });
        if (result.success) {
            parsed[section] = result.data;
        } else {
            for (const issue of result.error.issues) problems.push(...formatIssue(section, schema, issue));
        }
    }
    problems.push(...crossSectionProblems(parsed as Partial<StackConfig>));
    problems.push(...platformProblems(parsed as Partial<StackConfig>, raw.kubernetes !== undefined));
    problems.push(...stackContextProblems(parsed as Partial<StackConfig>, context));
    if (problems.length > 0) throw new ConfigError(problems);
    return parsed as StackConfig;
}

/** Rules that span sections. Each runs only when the sections it reads are valid, so one mistake is reported once. */
function crossSectionProblems(config: Partial<StackConfig>): string[] {
    const problems: string[] = [];
    const { traffic, protect, database } = config;
    for (const colour of COLOURS) {
        const settings = config[colour];
        if (!traffic || !settings) continue;
        const minimum = protect ? 2 : 1;
        if (traffic[colour] > 0 && settings.desiredCount < minimum) {
            problems.push(
                protect
                    ? `${configKey(colour, ["desiredCount"])} = ${settings.desiredCount}: a protected stack needs at least 2 tasks in a colour that carries traffic (${configKey("traffic", [colour])} = ${traffic[colour]}); raise desiredCount to 2 or more`
                    : `${configKey(colour, ["desiredCount"])} = ${settings.desiredCount}: a colour that carries traffic (${configKey("traffic", [colour])} = ${traffic[colour]}) needs at least 1 task; raise desiredCount or set its weight to 0`,
            );
        }
    }
    if (database && protect && database.backupRetentionDays < 7) {
        problems.push(
            `${configKey("database", ["backupRetentionDays"])} = ${database.backupRetentionDays}: a protected stack keeps automated backups at least 7 days; raise it to 7 or more`,
        );
    }
    return problems;
}

/**
 * `shiftwise:kubernetes` is set exactly when the service runs on Kubernetes, and nothing ECS-only is asked of a
 * Kubernetes stack. An invalid section counts as set: it is reported once, by its own rules.
 */
function platformProblems(config: Partial<StackConfig>, kubernetesGiven: boolean): string[] {
    const platform = config.service?.platform;
    const problems: string[] = [];
    if (platform === "ecs" && kubernetesGiven) {
        problems.push(`${configKey("kubernetes")}: is set, but ${configKey("service", ["platform"])} is "ecs", which ignores it; set platform to "kubernetes" or remove ${configKey("kubernetes")}`);
    }
    if (platform !== "kubernetes") return problems;
    if (!kubernetesGiven) {
        problems.push(
            `${configKey("kubernetes")} is missing: ${configKey("service", ["platform"])} is "kubernetes", so shiftwise needs the cluster; set { clusterName, namespace, securityGroupId } (see README, Kubernetes colours) or set platform to "ecs"`,
        );
    }
    for (const colour of COLOURS) {
        const user = config[colour]?.user;
        if (user !== undefined && !/^\d+(:\d+)?$/.test(user)) {
            problems.push(`${configKey(colour, ["user"])} = ${JSON.stringify(user)}: Kubernetes runs containers as a numeric uid[:gid] so it can prove they are not root; use e.g. 1000:1000`);
        }
    }
    return problems;
}

/** Values that must live in the stack's region. */
export function regionProblems(config: Pick<StackConfig, "service">, region: string): string[] {
    const problems: string[] = [];
    const webAcl = config.service.webAclArn;
    if (webAcl !== undefined && arnRegion(webAcl) !== region) {
        problems.push(
            `${configKey("service", ["webAclArn"])} = ${JSON.stringify(webAcl)}: the web ACL is in ${arnRegion(webAcl)} but the stack is in ${region} (aws:region); a load balancer can use only a web ACL of its own region`,
        );
    }
    return problems;
}

/** The colours that must wait for the pre-release snapshot: `snapshotColour`, or those whose version equals the label. */
export function releaseColours(config: Pick<StackConfig, "blue" | "green" | "database">): Colour[] {
    const database = config.database;
    if (database?.preReleaseSnapshot === undefined) return [];
    if (database.snapshotColour) return [database.snapshotColour];
    return COLOURS.filter((colour) => config[colour].version === database.preReleaseSnapshot);
}

/** What the migration task runs: its image and architecture, and the release it belongs to. */
export interface MigrationRelease {
    readonly image: string;
    readonly cpuArchitecture: "X86_64" | "ARM64";
    /** The release label (`preReleaseSnapshot`), or the image when no release is under way. */
    readonly release: string;
    /** The colour whose image the migration runs, when it is not set explicitly. */
    readonly colour?: Colour;
}

/**
 * The migration task's image: `database.migration.image`, else the image of the
 * release colour (the one that waits for the pre-release snapshot). Undefined
 * when no migration is configured, or when no image is set and no release is
 * under way: then there is nothing to migrate to yet. It never reads the
 * weights, so a traffic step cannot change the migration task (invariant 1).
 */
export function migrationRelease(config: Pick<StackConfig, "blue" | "green" | "database">): MigrationRelease | undefined {
    const migration = config.database?.migration;
    if (!migration) return undefined;
    const label = config.database?.preReleaseSnapshot;
    if (migration.image) {
        return { image: migration.image, cpuArchitecture: migration.cpuArchitecture ?? "X86_64", release: label ?? migration.image };
    }
    const [colour] = releaseColours(config);
    if (!colour || !label) return undefined;
    return { image: config[colour].image, cpuArchitecture: migration.cpuArchitecture ?? config[colour].cpuArchitecture, release: label, colour };
}

/**
 * The stable colour carries the larger weight; the other is the candidate. At
 * an even split the release decides: the candidate is `releaseColour`, which
 * names the release's colour, so a 50/50 step never swaps the two. Without it
 * (no release named) blue is taken as stable, and `plan` says so.
 */
export function stableColour(traffic: StackConfig["traffic"], releaseColour?: Colour): Colour {
    if (traffic.green !== traffic.blue) return traffic.green > traffic.blue ? "green" : "blue";
    return releaseColour ? otherColour(releaseColour) : "blue";
}

/** The colour that is not `colour`. */
export function otherColour(colour: Colour): Colour {
    return colour === "blue" ? "green" : "blue";
}

/** Parses a config value the way the Pulumi engine hands it to programs: JSON for structured values, raw text otherwise. */
export function decodeConfigValue(text: string): unknown {
    try {
        return JSON.parse(text);
    } catch {
        return text;
    }
}

/**
 * The `shiftwise:*` keys of a config in the engine's form (full keys to
 * strings), without the namespace and decoded: what `parseStackConfig` takes.
 */
export function shiftwiseSections(config: Readonly<Record<string, string>>): Record<string, unknown> {
    const prefix = `${NAMESPACE}:`;
    const sections: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(config)) {
        if (key.startsWith(prefix)) sections[key.slice(prefix.length)] = decodeConfigValue(value);
    }
    return sections;
}

/** The deployment context a program needs besides the validated config. */
export interface LoadedConfig {
    readonly config: StackConfig;
    /** `aws:region`, used in restore commands and metric links. */
    readonly region: string;
    /** `aws:profile` when the stack sets one: the program's own AWS reads (the guard-trip check) use it as the provider does. */
    readonly awsProfile?: string;
    /** Sections that hold a Pulumi secret somewhere inside (`pulumi config set --secret`). */
    readonly secretSections: ReadonlySet<string>;
}

/**
 * `@pulumi/pulumi`, loaded by the functions that read the engine's config or make secrets, so the CLI's flag
 * checks and the rollout can use the schema and the rules above without loading Pulumi.
 */
function pulumiSdk(): typeof pulumi {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require("@pulumi/pulumi") as typeof pulumi;
}

/**
 * The values of a map, wrapped as Pulumi secrets when `secret` is true, so a
 * secret set in config stays encrypted in state and hidden in previews.
 */
export function secretValues(values: Readonly<Record<string, string>>, secret: boolean): Record<string, pulumi.Input<string>> {
    return Object.fromEntries(Object.entries(values).map(([key, value]) => [key, secret ? pulumiSdk().secret(value) : value]));
}

/** True when the engine marked a config key secret. The runtime exports this check but does not declare it. */
function isConfigSecret(key: string): boolean {
    return (pulumiSdk().runtime as unknown as { isConfigSecret(key: string): boolean }).isConfigSecret(key);
}

/** What the stack config check reads: the `shiftwise:*` sections (as `shiftwiseSections` gives them), which of them hold a secret, the stack's name and `aws:region`. */
export interface StackConfigInput {
    readonly sections: Readonly<Record<string, unknown>>;
    readonly secretSections: ReadonlySet<string>;
    readonly stack: string;
    readonly region: string | undefined;
}

/**
 * The program's whole config check: the sections, the kubeconfig's secrecy
 * and the region. `loadConfig` runs it inside the program; `shiftwise plan`
 * runs it on the stack file before it loads Pulumi, so both report the same
 * problems. Returns the config and the region; throws one `ConfigError` with
 * every problem.
 */
export function checkStackConfig(input: StackConfigInput): { config: StackConfig; region: string } {
    const { region } = input;
    const problems: string[] = [];
    let config: StackConfig | undefined;
    try {
        config = parseStackConfig(input.sections, { stack: input.stack, region });
    } catch (error) {
        if (!(error instanceof ConfigError)) throw error;
        problems.push(...error.problems);
    }
    problems.push(...kubeconfigProblems(config?.kubernetes, input.secretSections.has("kubernetes")));
    if (!region) problems.push("aws:region is missing: shiftwise names regions in alarms and restore commands; run `pulumi config set aws:region eu-west-1`");
    if (config && region) problems.push(...regionProblems(config, region));
    if (problems.length > 0 || !config || !region) throw new ConfigError(problems);
    return { config, region };
}

/**
 * Reads and validates the current stack's config. This is the only place in
 * the program that reads `pulumi.Config`; it throws before any resource is
 * registered when anything is wrong.
 */
export function loadConfig(): LoadedConfig {
    const sdk = pulumiSdk();
    const sections = shiftwiseSections(sdk.runtime.allConfig());
    const secretSections = new Set(Object.keys(sections).filter((section) => isConfigSecret(`${NAMESPACE}:${section}`)));
    const { config, region } = checkStackConfig({ sections, secretSections, stack: sdk.getStack(), region: new sdk.Config("aws").get("region") });
    return { config, region, awsProfile: new sdk.Config("aws").get("profile"), secretSections };
}
