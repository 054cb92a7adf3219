#!/usr/bin/env bash
# configure-rabbitmq.sh: RabbitMQ with the Congress vhost and user (password from
# /etc/congress-tf/rabbitmq-password, passed on stdin, never on a command line), full
# permissions on that vhost only, and the default guest user deleted. Idempotent.
# Backing mode cluster (BACKING_PEERS lists three nodes, named rabbit@<address>): the first
# node does the above once for the whole cluster; the others join it.
set -euo pipefail
PROG=configure-rabbitmq
# shellcheck source=congress-tf-lib.sh
. "$(dirname "$0")/congress-tf-lib.sh"
load_settings

PASSWORD_FILE=/etc/congress-tf/rabbitmq-password
[ -s "$PASSWORD_FILE" ] || die "$PASSWORD_FILE missing"

# The cluster's cookie is written as root's before the packages install, and the package's
# postinst makes it rabbitmq's. On an image with rabbitmq-server already installed no postinst
# runs: the node cannot read the cookie and fails at boot until it is rabbitmq's.
COOKIE=/var/lib/rabbitmq/.erlang.cookie
if [ -f "$COOKIE" ] && [ "$(stat -c %U "$COOKIE")" != rabbitmq ]; then
    chown rabbitmq:rabbitmq "$COOKIE"
    systemctl reset-failed rabbitmq-server.service
    systemctl restart rabbitmq-server.service
    log "the cluster's Erlang cookie made rabbitmq's, RabbitMQ restarted"
fi
systemctl enable --now rabbitmq-server.service
rabbit_up() { rabbitmqctl --quiet await_startup --timeout 10 >/dev/null 2>&1; }
wait_until "RabbitMQ on this node" "$GATE_TIMEOUT_S" rabbit_up

read -r -a peers <<<"${BACKING_PEERS:-}"
first="rabbit@${peers[0]:-}"
first_up() { rabbitmqctl --quiet -n "$first" await_startup --timeout 10 >/dev/null 2>&1; }
if [ "${#peers[@]}" -gt 1 ] && [ "${peers[0]}" != "$NODE_IP" ]; then
    if rabbitmqctl --quiet cluster_status --formatter json | grep -qF "\"$first\""; then
        log "already in the cluster of $first"
    else
        wait_until "RabbitMQ on $first" "$GATE_TIMEOUT_S" first_up
        rabbitmqctl --quiet stop_app
        rabbitmqctl --quiet reset
        rabbitmqctl --quiet join_cluster "$first"
        rabbitmqctl --quiet start_app
        log "joined the cluster of $first"
    fi
    exit 0      # the vhost, user and permissions are the cluster's: set up by $first
fi

if rabbitmqctl --quiet list_vhosts --no-table-headers | grep -qxF "$RABBIT_VHOST"; then
    log "vhost $RABBIT_VHOST exists"
else
    rabbitmqctl --quiet add_vhost "$RABBIT_VHOST"
    log "vhost $RABBIT_VHOST added"
fi

users=$(rabbitmqctl --quiet list_users --no-table-headers | cut -f 1)
if grep -qxF "$RABBIT_USER" <<<"$users"; then
    rabbitmqctl --quiet change_password "$RABBIT_USER" <"$PASSWORD_FILE" >/dev/null
    log "user $RABBIT_USER exists, password set"
else
    rabbitmqctl --quiet add_user "$RABBIT_USER" <"$PASSWORD_FILE" >/dev/null
    log "user $RABBIT_USER added"
fi
rabbitmqctl --quiet set_permissions -p "$RABBIT_VHOST" "$RABBIT_USER" '.*' '.*' '.*'
log "user $RABBIT_USER may configure, write and read in $RABBIT_VHOST"

if grep -qxF guest <<<"$users"; then
    rabbitmqctl --quiet delete_user guest
    log "default user guest deleted"
fi
