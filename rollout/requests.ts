// Requests to the lease holder (abort, pause, promote): writing one, and waiting until the holder has obeyed it.
import type { Clock, Lease, LedgerPort, LedgerRequest } from "../ports/ports";
import { leaseExpired } from "../ports/ports";
import { ExitCode, ExitCodeValue } from "./exitCodes";

/** What `shiftwise abort|pause|promote` ended with. */
export interface RequestOutcome {
    readonly exitCode: ExitCodeValue;
    readonly message: string;
    readonly request?: LedgerRequest;
    readonly holder?: Lease;
}

/** The verbs people type, to the request kinds. */
export const REQUEST_EFFECT: Record<LedgerRequest["kind"], string> = {
    abort: "stop and roll back to the checkpoint",
    pause: "stop after this poll and keep the traffic where it is, for `shiftwise resume` or `shiftwise rollback`",
    promote: "end the current bake now (only on an OK alarm verdict) and go on with the next step",
};

/**
 * Writes a request addressed to the current lease holding. Refused when no
 * live lease exists (nothing runs to obey it), and for anything but an abort
 * sent to a rollback (a rollback is not paused or promoted).
 */
export async function sendRequest(ledger: LedgerPort, clock: Clock, request: { readonly kind: LedgerRequest["kind"]; readonly reason: string; readonly by: string }): Promise<RequestOutcome> {
    if (request.reason.trim() === "") return { exitCode: ExitCode.invalid, message: `shiftwise ${request.kind} needs a reason` };
    const now = clock.now();
    const holder = await ledger.readLease();
    // A lease just past its expiry by this clock may still be renewed by a holder whose clock is behind: it counts as live (leaseExpired).
    if (!holder || leaseExpired(holder, now)) {
        const stale = holder ? ` (the lease of ${holder.owner} expired at ${holder.expiresAt}: its runner is gone; \`shiftwise rollback\` or \`shiftwise resume\` take it over)` : "";
        return { exitCode: ExitCode.refused, message: `no release is running on this stack, so nobody would obey a ${request.kind} request${stale}`, holder };
    }
    if (holder.command === "rollback") return { exitCode: ExitCode.refused, message: `${holder.owner} is rolling the stack back (since ${holder.startedAt}); a ${request.kind} request does not apply to a rollback`, holder };
    const written = await ledger.putRequest({ kind: request.kind, reason: request.reason, by: request.by, createdAt: now.toISOString(), leaseToken: holder.token });
    return {
        exitCode: ExitCode.success,
        message: `${request.kind} request ${written.id} sent to ${holder.owner} (${holder.command}${holder.recordId ? ` of ${holder.recordId}` : ""}); at its next poll it will ${REQUEST_EFFECT[request.kind]}`,
        request: written,
        holder,
    };
}

/**
 * Waits until the holder served `request` and gave the lease up (or it
 * expired), polling every `pollMs`; resolves to the served request, or
 * undefined after `timeoutMs`.
 */
export async function awaitServed(ledger: LedgerPort, clock: Clock, request: LedgerRequest, options: { readonly pollMs: number; readonly timeoutMs: number; readonly signal?: AbortSignal }): Promise<LedgerRequest | undefined> {
    const deadline = clock.now().getTime() + options.timeoutMs;
    for (;;) {
        const served = (await ledger.requests({ limit: 50 })).find((candidate) => candidate.id === request.id && candidate.status === "served");
        const lease = await ledger.readLease();
        const released = !lease || lease.token !== request.leaseToken || leaseExpired(lease, clock.now());
        if (served && released) return served;
        if (clock.now().getTime() >= deadline) return undefined;
        await clock.sleep(options.pollMs, options.signal);
    }
}
