// The maintenance page the forwarding listener serves in maintenance mode, and the ALB's limit on its size.

/** ALB fixed responses carry at most 1024 characters of body (ELB API Reference, FixedResponseActionConfig.MessageBody). */
export const MAX_FIXED_RESPONSE_BODY = 1024;

const ESCAPES: Readonly<Record<string, string>> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };

/** The HTML page (status 503) with `reason` escaped, so a reason can never inject markup. */
export function maintenancePage(reason: string): string {
    const text = reason.replace(/[&<>"']/g, (character) => ESCAPES[character]);
    return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Down for maintenance</title></head><body><h1>Down for maintenance</h1><p>${text}</p><p>Please try again in a few minutes.</p></body></html>`;
}
