// Who runs a command: the user, host and CI run from the environment, and the one line the ledger and the records name them by; light, so the CLI's ledger commands load neither the records' schema nor the lease.
import * as os from "os";

/** Who or what started a deployment. */
export interface StartedBy {
    readonly user: string;
    readonly host: string;
    readonly ci?: Record<string, string>;
}

/** Who started this, from the CI environment when there is one. */
export function startedBy(env: Readonly<Record<string, string | undefined>>, user = safeUser(), host = os.hostname()): StartedBy {
    const pick = (keys: Record<string, string>) => {
        const found: Record<string, string> = {};
        for (const [label, key] of Object.entries(keys)) if (env[key]) found[label] = env[key] as string;
        return found;
    };
    if (env.GITHUB_ACTIONS === "true") {
        const ci: Record<string, string> = { system: "github-actions", ...pick({ actor: "GITHUB_ACTOR", repository: "GITHUB_REPOSITORY", workflow: "GITHUB_WORKFLOW", runId: "GITHUB_RUN_ID", runAttempt: "GITHUB_RUN_ATTEMPT", ref: "GITHUB_REF", sha: "GITHUB_SHA", environment: "GITHUB_ENVIRONMENT" }) };
        if (env.GITHUB_SERVER_URL && env.GITHUB_REPOSITORY && env.GITHUB_RUN_ID) ci.runUrl = `${env.GITHUB_SERVER_URL}/${env.GITHUB_REPOSITORY}/actions/runs/${env.GITHUB_RUN_ID}`;
        return { user: env.GITHUB_ACTOR ?? user, host, ci };
    }
    if (env.GITLAB_CI === "true") {
        return { user: env.GITLAB_USER_LOGIN ?? user, host, ci: { system: "gitlab-ci", ...pick({ pipelineUrl: "CI_PIPELINE_URL", jobUrl: "CI_JOB_URL", sha: "CI_COMMIT_SHA", ref: "CI_COMMIT_REF_NAME", project: "CI_PROJECT_PATH" }) } };
    }
    if (env.CI) return { user, host, ci: { system: "ci", ...pick({ buildUrl: "BUILD_URL", sha: "GIT_COMMIT" }) } };
    return { user, host };
}

function safeUser(): string {
    try {
        return os.userInfo().username;
    } catch {
        return "unknown";
    }
}

/** Who a `startedBy` is, in one line. */
export function actorName(by: StartedBy): string {
    const run = by.ci?.runUrl ?? by.ci?.pipelineUrl ?? by.ci?.buildUrl;
    return `${by.user}@${by.host}${by.ci ? ` (${by.ci.system}${by.ci.runId ? ` run ${by.ci.runId}` : ""})` : ""}${run ? ` ${run}` : ""}`;
}
