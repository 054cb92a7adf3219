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

upgrade() {
    local started=$SECONDS
    runuser -u congress -- "$CONGRESS_VENV/bin/congress-db-manage" --config-file "$CONGRESS_CONFIG" upgrade head \
        || die "congress-db-manage upgrade head failed"
    log "schema at head ($((SECONDS - started)) s)"
}

with_db_lock congress_tf_schema_sync 600 upgrade
