#!/usr/bin/env bash
# configure-galera.sh: this VM's MariaDB as one member of the three-node Galera cluster
# (the [galera] section of 60-congress.cnf; BACKING_PEERS in node.env, first = bootstrapper).
# The first member starts the new cluster exactly once (stamp file below; never again by
# itself, see galera-recover.sh), then loads the congress database and user
# (/etc/congress-tf/congress-database.sql), which Galera replicates; the others wait for a
# running member and join it with a state transfer (rsync). A rebuilt first member (its stamp
# gone with its disk) finds another member synced and joins too. Also enables the health check
# socket (port 9200) the Congress nodes' HAProxy asks. Idempotent: a synced member is left alone.
set -euo pipefail
PROG=configure-galera
# shellcheck source=congress-tf-lib.sh
. "$(dirname "$0")/congress-tf-lib.sh"
load_settings

SQL_FILE=/etc/congress-tf/congress-database.sql
STAMP=/var/lib/congress-tf/galera-bootstrapped
read -r -a peers <<<"$BACKING_PEERS"
[ "${#peers[@]}" -ge 3 ] || die "BACKING_PEERS must list the three Galera members (got '${BACKING_PEERS}')"
leader=${peers[0]}

wsrep_status() { mariadb --batch --skip-column-names -e "SHOW GLOBAL STATUS LIKE '$1'" 2>/dev/null | cut -f 2; }
synced() { [ "$(wsrep_status wsrep_cluster_status)" = Primary ] && [ "$(wsrep_status wsrep_local_state_comment)" = Synced ]; }
galera_port_open() {
    # shellcheck disable=SC2016  # $1 belongs to the inner bash
    timeout 3 bash -c 'exec 3<>"/dev/tcp/$1/4567"' port-check "$1" 2>/dev/null
}
health_check_synced() {     # the member's health check (galera-health.sh) answers 200
    local answer
    # The whole answer is read: leaving after the status line would cut the check's reply short.
    # shellcheck disable=SC2016  # $1 belongs to the inner bash
    answer=$(timeout 3 bash -c 'exec 3<>"/dev/tcp/$1/9200" && printf "GET / HTTP/1.0\r\n\r\n" >&3 && cat <&3' \
        health-check "$1" 2>/dev/null) || true
    [[ $answer == "HTTP/1.1 200 "* ]]
}
any_peer() {    # another member passes the check named by $1
    local peer
    for peer in "${peers[@]}"; do
        [ "$peer" != "$NODE_IP" ] && "$1" "$peer" && return 0
    done
    return 1
}
write_stamp() {
    install -d -m 0755 "$(dirname "$STAMP")"
    date -u +%FT%TZ >"$STAMP"
}

systemctl daemon-reload     # the mariadb drop-in and the health check units
systemctl enable mariadb.service congress-galera-health.socket
systemctl start congress-galera-health.socket

if synced; then
    log "already a synced member of the cluster"
elif [ "$NODE_IP" = "$leader" ] && [ ! -e "$STAMP" ] && ! any_peer health_check_synced; then
    # The package started a standalone MariaDB: its data directory seeds the cluster.
    systemctl stop mariadb.service
    galera_new_cluster
    write_stamp
    log "new Galera cluster bootstrapped on $NODE_NAME"
else
    wait_until "a running Galera member to join" "$GATE_TIMEOUT_S" any_peer galera_port_open
    # Joining replaces the standalone data directory by a state transfer; if it fails now,
    # systemd tries again (Restart=on-failure) and the wait below decides.
    systemctl restart mariadb.service || log "joining failed for now; systemd retries"
fi
wait_until "$NODE_NAME synced in the primary component" "$GATE_TIMEOUT_S" synced

if [ "$NODE_IP" = "$leader" ]; then
    # A rebuilt first member that joined: it never bootstraps by itself either.
    [ -e "$STAMP" ] || write_stamp
    mariadb --batch <"$SQL_FILE" || die "applying $SQL_FILE failed"
    log "database $DB_NAME and user $DB_USER (cluster subnet only) in place, replicated to every member"
fi
log "Galera member $NODE_NAME synced; cluster size $(wsrep_status wsrep_cluster_size)"
