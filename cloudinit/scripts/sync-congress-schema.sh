#!/usr/bin/env bash
# sync-congress-schema.sh: bring the shared Congress schema to head exactly once at a time:
# `congress-db-manage upgrade head` runs while this node holds the MariaDB named lock
# congress_tf_schema_sync (GET_LOCK), so concurrent boots queue up and the later ones find
# the schema at head (the upgrade is idempotent). The lock dies with the client session.
# A schema already at the installed Congress's head revision (its migrations' versions/HEAD, which
# `congress-db-manage check_migration` checks) needs no upgrade: then neither the lock nor
# congress-db-manage is used, so the nodes booting after the first one do not queue for nothing.
set -euo pipefail
PROG=sync-congress-schema
# shellcheck source=congress-tf-lib.sh
. "$(dirname "$0")/congress-tf-lib.sh"
load_settings

DB_CNF=${CONGRESS_TF_DB_CNF:-/etc/congress-tf/congress-db.cnf}
heads=("$CONGRESS_VENV"/lib/python3*/site-packages/congress/db/migration/alembic_migrations/versions/HEAD)
HEAD_REVISION=$(cat "${heads[0]}" 2>/dev/null || true)

at_head() {
    local current
    [ -n "$HEAD_REVISION" ] || return 1
    current=$(mariadb --defaults-extra-file="$DB_CNF" --batch --skip-column-names \
        -e 'SELECT version_num FROM alembic_version' 2>/dev/null) || return 1
    [ "$current" = "$HEAD_REVISION" ]
}

upgrade() {
    local started=$SECONDS
    if at_head; then
        log "schema already at head ($HEAD_REVISION)"
        return 0
    fi
    runuser -u congress -- "$CONGRESS_VENV/bin/congress-db-manage" --config-file "$CONGRESS_CONFIG" upgrade head \
        || die "congress-db-manage upgrade head failed"
    log "schema at head ($((SECONDS - started)) s)"
}

if at_head; then
    log "schema already at head ($HEAD_REVISION): nothing to upgrade"
    exit 0
fi
# While the Galera members are still forming (a member donating its state is not synced) the
# local HAProxy can close the lock's session at once: that is tried again, not given up.
locked_upgrade() { (with_db_lock congress_tf_schema_sync 600 upgrade); }
wait_until "the schema at head ($HEAD_REVISION)" "$GATE_TIMEOUT_S" locked_upgrade
