#!/usr/bin/env bash
# galera-recover.sh: the Galera cluster after a full outage.
# Three members powered off together come back by themselves once all three run again
# (pc.recovery in 60-congress.cnf). When that cannot happen (a member lost for good, or all
# stopped cleanly one after another), run on every database VM:
#     galera-recover.sh               prints this member's last committed position
# (it stops MariaDB to read it, then starts it again, to join later), then, on the one member
# with the highest seqno (on a tie, any of them):
#     galera-recover.sh --bootstrap   starts a new primary component from this member
# and the other members join it by themselves (mariadb.service restarts until it can).
set -euo pipefail
PROG=galera-recover
# shellcheck source=congress-tf-lib.sh
. "$(dirname "$0")/congress-tf-lib.sh"
load_settings

GRASTATE=${GALERA_GRASTATE:-/var/lib/mysql/grastate.dat}     # the variable: for the process-level test

position() {
    local seqno
    seqno=$(sed -n 's/^seqno:[[:space:]]*//p' "$GRASTATE" 2>/dev/null || true)
    if [ -z "$seqno" ] || [ "$seqno" = -1 ]; then
        # Not shut down cleanly: InnoDB knows the position (galera_recovery runs mariadbd --wsrep-recover).
        galera_recovery 2>/dev/null | sed -n 's/.*--wsrep_start_position=[^:]*:\([-0-9]*\).*/\1/p'
    else
        echo "$seqno"
    fi
}

if systemctl is-active --quiet mariadb.service; then
    # No answer (still starting) counts as not primary.
    status=$(mariadb --batch --skip-column-names -e "SHOW GLOBAL STATUS LIKE 'wsrep_cluster_status'" 2>/dev/null \
        | cut -f 2) || status=
    [ "$status" != Primary ] || die "$NODE_NAME is running in the primary component: nothing to recover"
fi
# Also when systemd is still trying to start it (Restart=on-failure while no primary component
# exists): the position below is read from a stopped member.
systemctl stop mariadb.service

case "${1:-}" in
    "")
        log "$NODE_NAME ($NODE_IP): last committed seqno $(position); safe_to_bootstrap: $(sed -n 's/^safe_to_bootstrap:[[:space:]]*//p' "$GRASTATE")"
        # Started again: it keeps trying (Restart=on-failure) and joins once a member is bootstrapped.
        systemctl start --no-block mariadb.service
        log "bootstrap the member with the highest seqno: $0 --bootstrap"
        ;;
    --bootstrap)
        seqno=$(position)       # read while stopped: a running member's grastate says -1
        sed -i 's/^safe_to_bootstrap:.*/safe_to_bootstrap: 1/' "$GRASTATE"
        galera_new_cluster
        log "new primary component started on $NODE_NAME (seqno $seqno); the other members join it"
        ;;
    *)
        die "usage: $0 [--bootstrap]"
        ;;
esac
