#!/usr/bin/env bash
# configure-rabbitmq.sh: RabbitMQ with the Congress vhost and user (password from
# /etc/congress-tf/rabbitmq-password, passed on stdin, never on a command line), full
# permissions on that vhost only, and the default guest user deleted. Idempotent.
# Backing mode cluster (BACKING_PEERS lists three nodes, named rabbit@<address>): the first
# node does the above for the whole cluster; the others join it (a rebuilt first node joins
# the others first).
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
me="rabbit@$NODE_IP"
lists() { rabbitmqctl --quiet -n "$1" cluster_status --formatter json | grep -qF "\"$2\""; }  # node $1's cluster lists $2
# The node to join: the first one; for the first node itself, none, unless another node already
# serves the Congress vhost (this VM was rebuilt, its disk new, while the cluster ran on).
join=
if [ "${#peers[@]}" -gt 1 ]; then
    if [ "${peers[0]}" != "$NODE_IP" ]; then
        join="rabbit@${peers[0]}"
    else
        for peer in "${peers[@]:1}"; do
            if timeout 20 rabbitmqctl --quiet -n "rabbit@$peer" list_vhosts --no-table-headers 2>/dev/null |
                grep -qxF "$RABBIT_VHOST"; then
                join="rabbit@$peer"
                break
            fi
        done
    fi
fi
join_up() { rabbitmqctl --quiet -n "$join" await_startup --timeout 10 >/dev/null 2>&1; }
if [ -n "$join" ]; then
    if lists "$me" "$join"; then
        log "already in the cluster of $join"
    else
        wait_until "RabbitMQ on $join" "$GATE_TIMEOUT_S" join_up
        rabbitmqctl --quiet stop_app
        rabbitmqctl --quiet reset
        # A rebuilt node has the name of a member the cluster still lists: that member is forgotten
        # first (with its quorum queue replicas), then this node joins as a new one.
        if lists "$join" "$me"; then
            rabbitmqctl --quiet -n "$join" forget_cluster_node "$me"
            log "the cluster's old $me forgotten (this VM was rebuilt)"
        fi
        rabbitmqctl --quiet join_cluster "$join"
        rabbitmqctl --quiet start_app
        log "joined the cluster of $join"
    fi
    # A quorum queue's members are the nodes in the cluster when it is declared: the queues the
    # Congress nodes declared before this node joined get their replica here too. Again twice, for
    # the declarations still in flight when it joined (stored after the first grow had listed).
    for wait_s in 10 10 0; do
        rabbitmq-queues --quiet grow "$me" all >/dev/null ||
            log "warning: rabbitmq-queues grow failed: some quorum queues may have no replica here"
        sleep "$wait_s"
    done
    log "quorum queues declared without this node given a replica here"
    # The vhost, user and permissions are the cluster's: the first node sets them (rebuilt, again).
    [ "${peers[0]}" = "$NODE_IP" ] || exit 0
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
