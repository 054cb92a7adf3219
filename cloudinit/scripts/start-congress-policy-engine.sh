#!/usr/bin/env bash
# start-congress-policy-engine.sh: enable and start congress-policy-engine.service (its
# ExecStartPre gates wait for MariaDB, RabbitMQ and the schema), then wait until the API
# answers GET / with 200 on this node. Idempotent.
set -euo pipefail
PROG=start-congress-policy-engine
# shellcheck source=congress-tf-lib.sh
. "$(dirname "$0")/congress-tf-lib.sh"
load_settings

UNIT=congress-policy-engine.service
systemctl daemon-reload
systemctl enable "$UNIT"
if systemctl is-active --quiet "$UNIT"; then
    log "$UNIT already running"
else
    systemctl start "$UNIT"
    log "$UNIT started (node id $CONGRESS_NODE_ID)"
fi

api_ok() {
    [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "http://$NODE_IP:$API_PORT/")" = 200 ]
}
wait_until "the Congress API at http://$NODE_IP:$API_PORT/" "$GATE_TIMEOUT_S" api_ok
