// The AWS names the program derives from the service name and the stack, and the longest service name they allow.
import {
    ALARM_NAME,
    AUTONAME_SUFFIX_LENGTH,
    BACKUP_PLAN_NAME,
    BACKUP_SELECTION_NAME,
    BACKUP_VAULT_NAME,
    DYNAMODB_TABLE_NAME,
    ECS_FAMILY,
    EVENT_RULE_NAME,
    IAM_ROLE_NAME,
    KUBERNETES_JOB_NAME,
    LAMBDA_FUNCTION_NAME,
    LOAD_BALANCER_NAME,
    LOG_GROUP_NAME,
    NameLimit,
    RDS_PARAMETER_GROUP_NAME,
    SECURITY_GROUP_NAME,
    SNS_TOPIC_NAME,
    TARGET_GROUP_NAME,
    nameProblems,
} from "./awsRules";

/**
 * The physical names `index.ts` and the components give AWS resources, built
 * the same way they build them. Names Pulumi auto-names carry a stand-in for
 * the random suffix (`-0000000`), so their length is the length AWS sees.
 */

/** One derived name and the AWS limit it must meet. */
export interface DerivedName {
    readonly name: string;
    readonly limit: NameLimit;
}

const COLOURS = ["blue", "green"] as const;

/** A logical name as Pulumi auto-names it: the name, `-`, and 7 random hex characters. */
function autonamed(logicalName: string): string {
    return `${logicalName}-${"0".repeat(AUTONAME_SUFFIX_LENGTH - 1)}`;
}

/** Names built from the service name alone (logical names in index.ts and the components). */
export function serviceDerivedNames(service: string): DerivedName[] {
    return [
        { name: autonamed(service), limit: LOAD_BALANCER_NAME },
        ...COLOURS.map((colour) => ({ name: autonamed(`${service}-${colour}`), limit: TARGET_GROUP_NAME })),
        { name: autonamed(`${service}-db`), limit: RDS_PARAMETER_GROUP_NAME },
        ...["alb", "db", "migration", ...COLOURS].map((suffix) => ({ name: autonamed(`${service}-${suffix}`), limit: SECURITY_GROUP_NAME })),
        ...["execution", "task", "backup-backup", "migration-execution", "migration-task", "guard"].map((suffix) => ({ name: autonamed(`${service}-${suffix}`), limit: IAM_ROLE_NAME })),
        ...[...COLOURS, "migration"].map((suffix) => ({ name: `${service}-${suffix}`, limit: ECS_FAMILY })),
        // On Kubernetes the migration runs as the Job `<service>-migration-<10 hex>` (ports/kubernetesJobs.ts, migrationJobName).
        { name: `${service}-migration-${"0".repeat(10)}`, limit: KUBERNETES_JOB_NAME },
    ];
}

/**
 * Names built from the service name and the stack: the topic, the release
 * ledger's table, the guard's function and rule, log groups and alarms, and with a database (`withBackup`) the backup vault, plan and selection.
 */
export function stackDerivedNames(service: string, stack: string, withBackup: boolean): DerivedName[] {
    const base = `${service}-${stack}`;
    return [
        { name: `${base}-deployments`, limit: SNS_TOPIC_NAME },
        { name: `${base}-releases`, limit: DYNAMODB_TABLE_NAME },
        // The AWS-side guard's function and its EventBridge rule (components/releaseGuard.ts).
        { name: `${base}-guard`, limit: LAMBDA_FUNCTION_NAME },
        { name: `${base}-guard`, limit: EVENT_RULE_NAME },
        ...[...COLOURS, "migration"].map((suffix) => ({ name: `/shiftwise/${stack}/${service}/${suffix}`, limit: LOG_GROUP_NAME })),
        ...COLOURS.map((colour) => ({ name: `${base}-${colour}-error-rate-vs-baseline`, limit: ALARM_NAME })),
        ...(withBackup
            ? [
                { name: base, limit: BACKUP_VAULT_NAME },
                { name: `${base}-daily`, limit: BACKUP_PLAN_NAME },
                { name: `${base}-database`, limit: BACKUP_SELECTION_NAME },
            ]
            : []),
    ];
}

/**
 * The longest service name every service-derived name still fits: each limit
 * minus what the program adds around the service name. Today the target group
 * `<service>-green-<7 random>` under ELB's 32 decides it: 18.
 */
export const SERVICE_NAME_MAX = Math.min(...serviceDerivedNames("s").map(({ name, limit }) => limit.maxLength - (name.length - 1)));

/** The derived name that leaves the service name the least room, for messages. */
export const LONGEST_DERIVED = serviceDerivedNames("<service>").reduce((tightest, candidate) =>
    candidate.limit.maxLength - candidate.name.length < tightest.limit.maxLength - tightest.name.length ? candidate : tightest,
);

/** Each problem of the derived names, as "the <what> "<name>" <problem>"; one name per kind of name and problem. */
export function derivedNameProblems(names: readonly DerivedName[]): string[] {
    const problems = new Map<string, string>();
    for (const { name, limit } of names) {
        for (const problem of nameProblems(name, limit)) {
            const kind = `${limit.what}: ${problem.replace(/\d+/g, "#")}`;
            if (!problems.has(kind)) problems.set(kind, `the ${limit.what} "${name}" ${problem}`);
        }
    }
    return [...problems.values()];
}
