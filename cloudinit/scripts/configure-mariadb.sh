#!/usr/bin/env bash
# configure-mariadb.sh: MariaDB listening on this node's address (60-congress.cnf), then
# the congress database and user from /etc/congress-tf/congress-database.sql. Idempotent.
set -euo pipefail
PROG=configure-mariadb
# shellcheck source=congress-tf-lib.sh
. "$(dirname "$0")/congress-tf-lib.sh"
load_settings

SQL_FILE=/etc/congress-tf/congress-database.sql
mariadb_answers() { mariadb --batch --skip-column-names -e 'SELECT 1' >/dev/null 2>&1; }

systemctl enable mariadb.service
if [ "$(mariadb --batch --skip-column-names -e 'SELECT @@bind_address' 2>/dev/null || true)" = "$NODE_IP" ]; then
    log "MariaDB already listening on $NODE_IP"
else
    systemctl restart mariadb.service
    log "MariaDB restarted to listen on $NODE_IP"
fi
wait_until "MariaDB on this node" "$GATE_TIMEOUT_S" mariadb_answers
mariadb --batch <"$SQL_FILE" || die "applying $SQL_FILE failed"
log "database $DB_NAME and user $DB_USER (cluster subnet only) in place"
