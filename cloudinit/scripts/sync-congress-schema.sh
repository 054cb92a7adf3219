#!/usr/bin/env bash
# sync-congress-schema.sh: bring the shared Congress schema to head exactly once at a time:
# `congress-db-manage upgrade head` runs while this node holds the MariaDB named lock
# congress_tf_schema_sync (GET_LOCK), so concurrent boots queue up and the later ones find
# the schema at head (the upgrade is idempotent). The lock dies with the client session.
set -euo pipefail
PROG=sync-congress-schema
# shellcheck source=congress-tf-lib.sh
. "$(dirname "$0")/congress-tf-lib.sh"
load_settings

DB_CNF=${CONGRESS_TF_DB_CNF:-/etc/congress-tf/congress-db.cnf}
LOCK=congress_tf_schema_sync
LOCK_WAIT_S=600

# One client session holds the lock while congress-db-manage runs.
coproc SQL { mariadb --defaults-extra-file="$DB_CNF" --batch --skip-column-names --unbuffered 2>&1; }
sql() {
    local reply
    printf '%s\n' "$1" >&"${SQL[1]}"
    IFS= read -r -t "$2" reply <&"${SQL[0]}" || die "no answer from MariaDB to: $1"
    printf '%s\n' "$reply"
}

log "waiting for the schema lock $LOCK (up to ${LOCK_WAIT_S} s)"
got=$(sql "SELECT GET_LOCK('$LOCK', $LOCK_WAIT_S);" $((LOCK_WAIT_S + 10)))
[ "$got" = 1 ] || die "could not take the schema lock $LOCK (GET_LOCK answered: $got)"
log "schema lock taken: congress-db-manage upgrade head"
started=$SECONDS
runuser -u congress -- "$CONGRESS_VENV/bin/congress-db-manage" --config-file "$CONGRESS_CONFIG" upgrade head \
    || die "congress-db-manage upgrade head failed"
sql "SELECT RELEASE_LOCK('$LOCK');" 30 >/dev/null
log "schema at head ($((SECONDS - started)) s), lock released"
