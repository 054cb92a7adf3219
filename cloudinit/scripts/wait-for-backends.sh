#!/usr/bin/env bash
# wait-for-backends.sh: readiness gate: MariaDB (DB_HOST:DB_PORT) and RabbitMQ (one of
# RABBIT_HOSTS, port RABBIT_PORT) from /etc/congress-tf/node.env accept TCP connections.
# Gives up after GATE_TIMEOUT_S seconds. Changes nothing.
set -euo pipefail
PROG=wait-for-backends
# shellcheck source=congress-tf-lib.sh
. "$(dirname "$0")/congress-tf-lib.sh"
load_settings

port_open() {
    # shellcheck disable=SC2016  # $1 and $2 belong to the inner bash
    timeout 3 bash -c 'exec 3<>"/dev/tcp/$1/$2"' port-check "$1" "$2" 2>/dev/null
}

wait_until "MariaDB at $DB_HOST:$DB_PORT" "$GATE_TIMEOUT_S" port_open "$DB_HOST" "$DB_PORT"
read -r -a brokers <<<"$RABBIT_HOSTS"
any_rabbit_open() {
    local host
    for host in "${brokers[@]}"; do
        port_open "$host" "$RABBIT_PORT" && return 0
    done
    return 1
}
wait_until "RabbitMQ at one of ${RABBIT_HOSTS} (port $RABBIT_PORT)" "$GATE_TIMEOUT_S" any_rabbit_open
