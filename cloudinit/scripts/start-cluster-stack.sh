#!/usr/bin/env bash
# start-cluster-stack.sh: this datasource VM can now run ds-node (Congress, its config and
# the OCF agent are in place), so let corosync and pacemaker start (their drop-ins wait for
# the ready file), start them, and wait until the local CIB answers. Idempotent.
set -euo pipefail
PROG=start-cluster-stack
# shellcheck source=congress-tf-lib.sh
. "$(dirname "$0")/congress-tf-lib.sh"
load_settings

READY=/var/lib/congress-tf/datasource-ready
[ -x /usr/lib/ocf/resource.d/openstack/congress-datasource ] || die "OCF agent congress-datasource missing"
[ -x "$CONGRESS_VENV/bin/congress-server" ] || die "$CONGRESS_VENV/bin/congress-server missing"
[ -s /etc/corosync/authkey ] || die "/etc/corosync/authkey missing"

install -d -m 0755 "$(dirname "$READY")"
if [ ! -e "$READY" ]; then
    # On an image with the cluster packages already installed, Debian has enabled corosync and
    # pacemaker, and they started at boot with its default one-node cluster (node1 on 127.0.0.1)
    # before the drop-ins above were written: stop them and drop the CIB they made, so they start
    # below with this VM's configuration.
    for unit in pacemaker.service corosync.service; do
        if systemctl is-active --quiet "$unit"; then
            systemctl stop "$unit"
            log "$unit was running with the image's default configuration: stopped"
        fi
    done
    rm -f /var/lib/pacemaker/cib/*
    : >"$READY"
    log "node ready for ds-node: cluster stack may start"
fi
systemctl daemon-reload
systemctl enable corosync.service pacemaker.service
for unit in corosync.service pacemaker.service; do
    if systemctl is-active --quiet "$unit"; then
        log "$unit already running"
    else
        systemctl start "$unit"
        log "$unit started"
    fi
done

cib_answers() { cibadmin --query --scope nodes >/dev/null 2>&1; }
wait_until "the local Pacemaker CIB" "$GATE_TIMEOUT_S" cib_answers
