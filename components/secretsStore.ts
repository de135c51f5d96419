// Turns ECS-style secret references into the AWS provider's objects for the Secrets Store CSI driver.

/** One entry of a SecretProviderClass's `objects` for the AWS provider (secrets-store-csi-driver-provider-aws). */
export interface CsiSecretObject {
    readonly objectName: string;
    readonly objectType: "secretsmanager" | "ssmparameter";
    /** The file name (and synced key) when the whole value is used. */
    readonly objectAlias?: string;
    readonly objectVersion?: string;
    readonly objectVersionLabel?: string;
    /** Keys of a JSON secret, each under its own alias. */
    readonly jmesPath?: { readonly path: string; readonly objectAlias: string }[];
}

/** One parsed ECS `valueFrom`: a Secrets Manager ARN with an optional JSON key and version, or an SSM parameter ARN. */
export interface SecretReference {
    readonly arn: string;
    readonly type: "secretsmanager" | "ssmparameter";
    readonly jsonKey?: string;
    readonly versionStage?: string;
    readonly versionId?: string;
}

/**
 * Parses an ECS secret reference: `arn:aws:secretsmanager:<region>:<account>:secret:<name>[:<json-key>:<version-stage>:<version-id>]`
 * (ECS developer guide, "Pass Secrets Manager secrets through environment variables") or an SSM parameter ARN.
 */
export function parseSecretReference(valueFrom: string): SecretReference {
    const parts = valueFrom.split(":");
    if (parts[0] !== "arn" || parts.length < 6) throw new Error(`${valueFrom} is not a Secrets Manager or SSM parameter ARN`);
    if (parts[2] === "ssm") return { arn: valueFrom, type: "ssmparameter" };
    if (parts[2] !== "secretsmanager" || parts[5] !== "secret" || parts.length < 7) throw new Error(`${valueFrom} is not a Secrets Manager or SSM parameter ARN`);
    const [jsonKey, versionStage, versionId] = parts.slice(7).map((part) => (part === "" ? undefined : part));
    return { arn: parts.slice(0, 7).join(":"), type: "secretsmanager", jsonKey, versionStage, versionId };
}

/**
 * The CSI objects for a map of environment variable names to secret
 * references. References to keys of one JSON secret (and version) share one
 * object, because the provider fetches each object once; every variable
 * becomes an alias, which is also the key in the synced Kubernetes Secret.
 */
export function csiSecretObjects(secrets: Readonly<Record<string, string>>): CsiSecretObject[] {
    const objects = new Map<string, { reference: SecretReference; aliases: string[]; keys: { path: string; objectAlias: string }[] }>();
    for (const [variable, valueFrom] of Object.entries(secrets).sort(([a], [b]) => a.localeCompare(b))) {
        const reference = parseSecretReference(valueFrom);
        const id = JSON.stringify([reference.arn, reference.versionStage, reference.versionId, reference.jsonKey === undefined ? variable : ""]);
        const entry = objects.get(id) ?? { reference, aliases: [], keys: [] };
        if (reference.jsonKey === undefined) entry.aliases.push(variable);
        else entry.keys.push({ path: reference.jsonKey, objectAlias: variable });
        objects.set(id, entry);
    }
    return [...objects.values()].map(({ reference, aliases, keys }) => ({
        objectName: reference.arn,
        objectType: reference.type,
        ...(aliases.length > 0 ? { objectAlias: aliases[0] } : {}),
        ...(reference.versionId ? { objectVersion: reference.versionId } : {}),
        ...(reference.versionStage ? { objectVersionLabel: reference.versionStage } : {}),
        ...(keys.length > 0 ? { jmesPath: keys } : {}),
    }));
}

/** The IAM resources the pods must read: each secret's ARN without key and version, or the parameter's ARN. */
export function secretReadResources(secrets: Readonly<Record<string, string>>): { secretsManager: string[]; ssm: string[] } {
    const references = Object.values(secrets).map(parseSecretReference);
    const unique = (type: SecretReference["type"]) => [...new Set(references.filter((r) => r.type === type).map((r) => r.arn))].sort();
    return { secretsManager: unique("secretsmanager"), ssm: unique("ssmparameter") };
}

/**
 * The `kms:ViaService` values under which a role may decrypt its secrets: each
 * Secrets Manager or Parameter Store endpoint, in the secret's own region, that
 * calls KMS on the role's behalf (KMS Developer Guide, "kms:ViaService";
 * the value is `<service>.<region>.amazonaws.com`). Other ARNs are ignored.
 */
export function kmsViaServices(arns: readonly string[]): string[] {
    const services = arns.flatMap((arn) => {
        const [, , service, region] = arn.split(":");
        return service === "secretsmanager" || service === "ssm" ? [`${service}.${region}.amazonaws.com`] : [];
    });
    return [...new Set(services)].sort();
}
