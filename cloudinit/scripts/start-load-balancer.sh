#!/usr/bin/env bash
# start-load-balancer.sh: let HAProxy bind the VIP while not holding it
# (net.ipv4.ip_nonlocal_bind), check haproxy.cfg and keepalived.conf, then (re)load HAProxy
# and keepalived with them and wait until both run. Idempotent.
set -euo pipefail
PROG=start-load-balancer
# shellcheck source=congress-tf-lib.sh
. "$(dirname "$0")/congress-tf-lib.sh"
load_settings

sysctl --quiet --load=/etc/sysctl.d/60-congress-vip.conf
haproxy -c -q -f /etc/haproxy/haproxy.cfg || die "haproxy.cfg does not pass haproxy -c"
keepalived -t -f /etc/keepalived/keepalived.conf || die "keepalived.conf does not pass keepalived -t"

for unit in haproxy.service keepalived.service; do
    systemctl enable "$unit"
    systemctl reload-or-restart "$unit"
    log "$unit (re)loaded"
done
both_active() { systemctl is-active --quiet haproxy.service && systemctl is-active --quiet keepalived.service; }
wait_until "haproxy and keepalived running" "$GATE_TIMEOUT_S" both_active
