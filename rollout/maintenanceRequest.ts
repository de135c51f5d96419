// The checks of `deploy --maintenance` that need no stack, shared by the CLI (before Pulumi is touched) and pre-flight; light, so the CLI loads no rollout.
import { maintenanceSchema } from "../config";

/**
 * Problems with `deploy --maintenance <reason>` that need no stack: an empty
 * reason, a page longer than an ALB fixed response carries, and `--pause-at`
 * (the release has one step, 100 %, so there is nothing to pause after).
 * `migrating` is whether the stack has `database.migration`; undefined when
 * unknown (no local stack file: pre-flight checks it).
 */
export function maintenanceRequestProblems(request: { readonly maintenance?: string; readonly pauseAt?: number }, migrating?: boolean): string[] {
    if (request.maintenance === undefined) return [];
    const problems: string[] = [];
    const reason = maintenanceSchema.safeParse({ enabled: true, reason: request.maintenance.trim() });
    if (!reason.success) problems.push(`--maintenance ${JSON.stringify(request.maintenance)}: the page's reason ${reason.error.issues[0].message}`);
    if (request.pauseAt !== undefined) problems.push(`--pause-at ${request.pauseAt} cannot be used with --maintenance: the release goes to 100% in one step behind the page (the old colour cannot serve the new schema), so there is no step to pause after`);
    if (migrating === false) problems.push("--maintenance needs shiftwise:database.migration: it is for a migration that cannot be backwards compatible; a release without one keeps serving users on the old colour");
    return problems;
}
