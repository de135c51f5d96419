// The exit codes of every `shiftwise` command and the error that carries one.
/**
 * The `shiftwise` CLI's exit codes. CI branches on them, so they never change
 * meaning; the README documents them.
 */
export const ExitCode = {
    /** The command did what it was asked: plan printed, deployment completed, rollback verified. */
    success: 0,
    /** Something unexpected failed; nothing was changed after the failure, see the message. */
    error: 1,
    /** The stack config or the command line is invalid; nothing was changed. */
    invalid: 2,
    /** Pre-flight refused the deployment (freeze window, alarm, unclean preview, deployment in progress); nothing was changed. */
    refused: 3,
    /** The deployment failed a gate and was rolled back to its checkpoint; the stack is on the old version. */
    rolledBack: 4,
    /** The deployment paused and needs a human: `shiftwise resume` or `shiftwise rollback`. */
    paused: 5,
    /** The rollback itself failed; the message says what state the stack is in and how to retry. */
    rollbackFailed: 6,
    /**
     * A `deploy --maintenance` release (or the rollback of one) stopped with the maintenance page up: the migration may
     * have changed the schema, and no colour is known to work on it, so no user is routed anywhere. The message names the
     * restore command, `shiftwise rollback --migrate-down` and what takes the page down afterwards.
     */
    held: 7,
} as const;

export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];
