#!/usr/bin/env bash
# congress-tf-lib.sh: helpers sourced by the congress-tf boot scripts (not run on its own).
#   log MSG...                 one line on stdout and in the journal (tag = $PROG)
#   die MSG...                 log to stderr and the journal, exit 1
#   load_settings              source /etc/congress-tf/node.env (CONGRESS_TF_SETTINGS overrides)
#   wait_until WHAT TIMEOUT_S CMD...   run CMD every 5 s until it succeeds or TIMEOUT_S pass
#   with_db_lock LOCK WAIT_S CMD...    run CMD while holding the MariaDB named lock LOCK
#                              (GET_LOCK), so one node at a time runs it; the lock dies
#                              with the client session if this script dies
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

with_db_lock() {
    local lock=$1 wait_s=$2 got status=0
    shift 2
    # One client session holds the lock while CMD runs.
    coproc DB_LOCK { mariadb --defaults-extra-file="${CONGRESS_TF_DB_CNF:-/etc/congress-tf/congress-db.cnf}" \
        --batch --skip-column-names --unbuffered 2>&1; }
    log "waiting for the lock $lock (up to ${wait_s} s)"
    printf "SELECT GET_LOCK('%s', %d);\n" "$lock" "$wait_s" >&"${DB_LOCK[1]}"
    IFS= read -r -t "$((wait_s + 10))" got <&"${DB_LOCK[0]}" || die "no answer from MariaDB for the lock $lock"
    [ "$got" = 1 ] || die "could not take the lock $lock (GET_LOCK answered: $got)"
    log "lock $lock taken"
    "$@" || status=$?
    printf "SELECT RELEASE_LOCK('%s');\n" "$lock" >&"${DB_LOCK[1]}"
    IFS= read -r -t 30 got <&"${DB_LOCK[0]}" || true
    log "lock $lock released"
    return "$status"
}
