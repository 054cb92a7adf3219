#!/usr/bin/env bash
# configure-datasource-cluster.sh: once both VMs of the pair are in the cluster, the leader
# (CLUSTER_LEADER, the lowest-named VM) loads /etc/congress-tf/datasource.crm with
# `crm configure load update` (ds-node and, when fencing is on, the fence_openstack devices);
# the other VM leaves it alone. With fencing, each VM then sets its own server id (the
# cloud-init instance id) on its fence device. Idempotent: load update of the same file
# changes nothing.
set -euo pipefail
PROG=configure-datasource-cluster
# shellcheck source=congress-tf-lib.sh
. "$(dirname "$0")/congress-tf-lib.sh"
load_settings

CRM_FILE=/etc/congress-tf/datasource.crm
read -r -a pair <<<"$CLUSTER_NODES"

pair_online() {
    local online node
    online=$(crm_node --list 2>/dev/null | awk '$3 == "member" {print $2}')
    for node in "${pair[@]}"; do
        grep -qxF "$node" <<<"$online" || return 1
    done
    # crmadmin's own --timeout is not kept when it asks before the controller is up: it then
    # waits forever (seen on a booted VM), so timeout(1) bounds it.
    timeout 10 crmadmin --dc_lookup --timeout 5000 >/dev/null 2>&1
}
wait_until "both datasource VMs (${pair[*]}) in the cluster with a DC" "$GATE_TIMEOUT_S" pair_online

if [ "$NODE_NAME" = "$CLUSTER_LEADER" ]; then
    # crmsh rejects the agent's undeclared `user` parameter in its strict check; it is set on
    # purpose (run Congress as congress, not root), so this one load uses the relaxed check.
    crm -o core.check_mode=relaxed configure load update "$CRM_FILE" \
        || die "crm configure load update $CRM_FILE failed"
    log "Pacemaker configuration loaded from $CRM_FILE (resource ds-node)"
else
    log "Pacemaker configuration is loaded by $CLUSTER_LEADER"
fi

if [ "$FENCING" = enabled ]; then
    device=fence-$NODE_NAME
    device_defined() { crm_resource --resource "$device" --get-parameter pcmk_host_list >/dev/null 2>&1; }
    wait_until "fence device $device" "$GATE_TIMEOUT_S" device_defined
    server_id=$(cat /var/lib/cloud/data/instance-id)
    crm_resource --resource "$device" --set-parameter uuid --parameter-value "$server_id" >/dev/null
    log "STONITH enabled: $device fences $NODE_NAME (server $server_id) with fence_openstack"
else
    log "STONITH disabled: no fencing credentials were given (fencing = null); a network split could run ds-node on both VMs"
fi
