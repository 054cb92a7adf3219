#!/usr/bin/env bash
# congress-tf-lib.sh: helpers sourced by the congress-tf boot scripts (not run on its own).
#   log MSG...                 one line on stdout and in the journal (tag = $PROG)
#   die MSG...                 log to stderr and the journal, exit 1
#   load_settings              source /etc/congress-tf/node.env (CONGRESS_TF_SETTINGS overrides)
#   wait_until WHAT TIMEOUT_S CMD...   run CMD every 5 s until it succeeds or TIMEOUT_S pass
# Nothing here prints a secret; callers never pass one to log.

log() {
    printf '%s: %s\n' "${PROG:-congress-tf}" "$*"
    logger -t "${PROG:-congress-tf}" -- "$*" 2>/dev/null || true
}

die() {
    printf '%s: ERROR: %s\n' "${PROG:-congress-tf}" "$*" >&2
    logger -p user.err -t "${PROG:-congress-tf}" -- "ERROR: $*" 2>/dev/null || true
    exit 1
}

load_settings() {
    local settings=${CONGRESS_TF_SETTINGS:-/etc/congress-tf/node.env}
    [ -r "$settings" ] || die "settings file $settings not found"
    # shellcheck source=/dev/null
    . "$settings"
}

wait_until() {
    local what=$1 timeout_s=$2
    shift 2
    local deadline=$((SECONDS + timeout_s)) waited=0
    until "$@"; do
        if [ "$SECONDS" -ge "$deadline" ]; then
            die "gave up waiting for $what after ${timeout_s} s"
        fi
        if [ $((waited % 60)) -eq 0 ]; then
            log "waiting for $what (up to ${timeout_s} s)"
        fi
        sleep 5
        waited=$((waited + 5))
    done
    log "ready: $what"
}
