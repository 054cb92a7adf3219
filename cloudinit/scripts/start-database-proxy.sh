#!/usr/bin/env bash
# start-database-proxy.sh: backing mode cluster: this Congress node's local HAProxy
# (/etc/haproxy/haproxy.cfg) in front of the Galera members, checked, enabled and started;
# then waits until the congress database answers through it (DB_HOST:DB_PORT, the client
# options of /etc/congress-tf/congress-db.cnf). Idempotent.
set -euo pipefail
PROG=start-database-proxy
# shellcheck source=congress-tf-lib.sh
. "$(dirname "$0")/congress-tf-lib.sh"
load_settings

CONFIG=/etc/haproxy/haproxy.cfg
haproxy -c -q -f "$CONFIG" || die "$CONFIG does not pass haproxy -c"
systemctl enable haproxy.service
systemctl restart haproxy.service
log "HAProxy on $DB_HOST:$DB_PORT in front of the Galera members"

database_answers() {
    mariadb --defaults-extra-file=/etc/congress-tf/congress-db.cnf --batch --skip-column-names \
        -e 'SELECT 1' >/dev/null 2>&1
}
wait_until "the congress database through the local HAProxy" "$GATE_TIMEOUT_S" database_answers
