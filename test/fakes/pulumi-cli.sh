#!/bin/sh
# A stand-in `pulumi` executable for CLI tests: answers the Automation API's calls as a logged-out backend, a missing stack, or a stack without outputs would.
# POSIX sh, so each of the hundred or so calls per test run starts a shell, not a Node process (about 20 ms of CPU each).
# FAKE_PULUMI_MODE: logged-out | no-stack | no-outputs. Every call is appended to FAKE_PULUMI_LOG.
# FAKE_PULUMI_CONFIG / FAKE_PULUMI_OUTPUTS: files served as `pulumi config --json` and `pulumi stack output --json` print them
# (test/fakes/binProcess.ts writes them); a config write fails (FAKE_PULUMI_FAIL_WRITES says why).
[ -n "$FAKE_PULUMI_LOG" ] && printf '%s\n' "$*" >> "$FAKE_PULUMI_LOG"
fail() {
    printf 'error: %s\n' "$1" >&2
    exit 255
}
if [ "$1" = version ]; then
    echo "v3.210.0"
    exit 0
fi
[ "$FAKE_PULUMI_MODE" = logged-out ] && fail "PULUMI_ACCESS_TOKEN must be set for login during non-interactive CLI sessions"
if [ "$FAKE_PULUMI_MODE" = no-stack ]; then
    selecting=""
    stack=""
    previous=""
    for arg in "$@"; do
        [ "$arg" = select ] && selecting=yes
        [ "$previous" = --stack ] && stack="$arg"
        previous="$arg"
    done
    [ -n "$selecting" ] && fail "no stack named '$stack' found"
fi
if [ "$1" = config ]; then
    [ "$2" = set-all ] && [ -n "$FAKE_PULUMI_FAIL_WRITES" ] && fail "the backend refused the config write (FAKE_PULUMI_FAIL_WRITES)"
    { [ "$2" = set-all ] || [ "$2" = rm ]; } && fail "this stand-in stores no config; set FAKE_PULUMI_FAIL_WRITES or expect no write"
    if [ -n "$FAKE_PULUMI_CONFIG" ]; then cat "$FAKE_PULUMI_CONFIG"; else printf '%s' '{"aws:region":{"value":"eu-west-1","secret":false}}'; fi
    exit 0
fi
if [ "$1" = stack ] && [ "$2" = output ]; then
    if [ -n "$FAKE_PULUMI_OUTPUTS" ]; then cat "$FAKE_PULUMI_OUTPUTS"; else printf '{}'; fi
fi
exit 0
