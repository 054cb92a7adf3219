#!/usr/bin/env bash
# wait-for-congress-schema.sh: readiness gate: the Congress schema exists in the shared
# database (alembic_version has a row). Gives up after GATE_TIMEOUT_S seconds. Changes nothing.
set -euo pipefail
PROG=wait-for-congress-schema
# shellcheck source=congress-tf-lib.sh
. "$(dirname "$0")/congress-tf-lib.sh"
load_settings

DB_CNF=${CONGRESS_TF_DB_CNF:-/etc/congress-tf/congress-db.cnf}

schema_present() {
    local rows
    rows=$(mariadb --defaults-extra-file="$DB_CNF" --batch --skip-column-names \
        -e 'SELECT COUNT(*) FROM alembic_version' 2>/dev/null) || return 1
    [ "${rows:-0}" -ge 1 ]
}

wait_until "the Congress schema in $DB_NAME at $DB_HOST" "$GATE_TIMEOUT_S" schema_present
