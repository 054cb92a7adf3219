#!/usr/bin/env bash
# detect-vrrp-interface.sh: find the network interface that holds this node's address
# (NODE_IP) and write it for keepalived as $VRRP_INTERFACE in
# /etc/keepalived/vrrp-interface.conf (included by keepalived.conf). Idempotent.
set -euo pipefail
PROG=detect-vrrp-interface
# shellcheck source=congress-tf-lib.sh
. "$(dirname "$0")/congress-tf-lib.sh"
load_settings

OUT=${VRRP_INTERFACE_FILE:-/etc/keepalived/vrrp-interface.conf}
iface=$(ip -o -4 addr show to "$NODE_IP/32" | awk '{print $2; exit}')
[ -n "$iface" ] || die "no interface holds $NODE_IP"
line="\$VRRP_INTERFACE=$iface"
if [ "$(cat "$OUT" 2>/dev/null || true)" = "$line" ]; then
    log "VRRP interface $iface already set"
else
    install -d -m 0755 "$(dirname "$OUT")"
    printf '%s\n' "$line" >"$OUT"
    log "VRRP interface $iface (holds $NODE_IP) written to $OUT"
fi
