#!/usr/bin/env bash
# start-congress-policy-engine.sh: enable and start congress-policy-engine.service (its
# ExecStartPre gates wait for MariaDB, RabbitMQ and the schema), then wait until the API
# answers GET / with 200 on this node. Idempotent.
# Policy engines start one at a time, under the MariaDB lock congress_tf_first_start: on an
# empty database each one checks for, then creates, the default policies ("classification",
# "action"); two at once race, and the loser dies or stays up without its API.
set -euo pipefail
PROG=start-congress-policy-engine
# shellcheck source=congress-tf-lib.sh
. "$(dirname "$0")/congress-tf-lib.sh"
load_settings

UNIT=congress-policy-engine.service

api_ok() {
    [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "http://$NODE_IP:$API_PORT/")" = 200 ]
}

start_and_wait() {
    systemctl daemon-reload
    systemctl enable "$UNIT"
    if systemctl is-active --quiet "$UNIT"; then
        log "$UNIT already running"
    else
        systemctl start "$UNIT"
        log "$UNIT started (node id $CONGRESS_NODE_ID)"
    fi
    wait_until "the Congress API at http://$NODE_IP:$API_PORT/" "$GATE_TIMEOUT_S" api_ok
}

# A lock session closed while the Galera members are still forming is tried again.
locked_start() { (with_db_lock congress_tf_first_start "$GATE_TIMEOUT_S" start_and_wait); }
wait_until "the first start under the lock congress_tf_first_start" "$GATE_TIMEOUT_S" locked_start
