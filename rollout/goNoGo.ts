// The runbooks' go/no-go from the ledger and AWS: staging first, and fresh backups before a migration.
import type { DeploymentRecord } from "./records";
import type { RecoveryPoint } from "../ports/recoveryPoints";
import { formatDuration } from "./history";

/** Refuses a version and image that have not completed a release on the predecessor stack. */
export function predecessorProblems(records: readonly DeploymentRecord[], predecessor: string, release: { readonly version: string; readonly image: string }): string[] {
    const done = records.find((record) => record.status === "succeeded" && record.version === release.version && record.image === release.image);
    if (done) return [];
    const sameVersion = records.find((record) => record.version === release.version);
    const seen = sameVersion ? ` (its latest release of ${release.version} is ${sameVersion.status}${sameVersion.image !== release.image ? ` with another image, ${sameVersion.image}` : ""})` : "";
    return [`rollout.requiresSuccessOn: ${release.version} (${release.image}) has not completed a release on ${predecessor}${seen}; release it there first, or pass --hotfix "<reason>"`];
}

/** The age of the newest recovery point as evidence, and a refusal when it is older than the limit or missing. */
export function recoveryPointVerdict(point: RecoveryPoint | undefined, limitHours: number, now: Date): { readonly evidence: string; readonly problems: string[] } {
    if (!point) return { evidence: "no recovery point found", problems: [`the database has no completed recovery point (automated backup or AWS Backup); a migrating release needs one younger than ${limitHours} h (rollout.maxRecoveryPointAgeHours)`] };
    const ageSeconds = (now.getTime() - point.at.getTime()) / 1000;
    const evidence = `newest recovery point ${formatDuration(ageSeconds)} old: ${point.source} at ${point.at.toISOString()}`;
    if (ageSeconds <= limitHours * 3600) return { evidence, problems: [] };
    return { evidence, problems: [`${evidence}, older than rollout.maxRecoveryPointAgeHours (${limitHours} h); take a backup (AWS Backup on-demand job or an RDS snapshot) or raise the limit`] };
}
