#!/usr/bin/env bash
# configure-congress-node.sh: what every Congress node needs besides congress.conf: the log
# and state directories owned by the congress user, api-paste.ini from the installed
# Congress (the venv's etc/congress/api-paste.ini), and a check of the shared encryption key
# (/etc/congress/keys/aes_key). Idempotent.
set -euo pipefail
PROG=configure-congress-node
# shellcheck source=congress-tf-lib.sh
. "$(dirname "$0")/congress-tf-lib.sh"
load_settings

id congress >/dev/null 2>&1 || die "user congress missing (cloud-config users: creates it)"
install -d -o congress -g congress -m 0750 /var/log/congress /var/lib/congress
install -d -o root -g congress -m 0750 /etc/congress

paste_src=$CONGRESS_VENV/etc/congress/api-paste.ini
[ -r "$paste_src" ] || die "$paste_src not found: is Congress installed in $CONGRESS_VENV?"
if cmp -s "$paste_src" /etc/congress/api-paste.ini; then
    log "api-paste.ini already in place"
else
    install -o root -g congress -m 0640 "$paste_src" /etc/congress/api-paste.ini
    log "api-paste.ini installed from $paste_src"
fi

[ "$(stat -c '%U:%G %a' "$CONGRESS_CONFIG")" = "root:congress 640" ] \
    || die "$CONGRESS_CONFIG must be root:congress 0640"

# Datasource secrets are encrypted with this key: every Congress node must hold the same one
# (written by cloud-init from secrets.encryption_key). Congress would make a key of its own
# where the file is missing, and no other node could then read those secrets.
install -d -o congress -g congress -m 0700 /etc/congress/keys
key=/etc/congress/keys/aes_key
[ -s "$key" ] || die "$key missing: it must come from the environment's secrets.encryption_key"
[ "$(stat -c '%U:%G %a' "$key")" = "congress:congress 600" ] || die "$key must be congress:congress 0600"
log "node $NODE_NAME ready to run Congress (node id $CONGRESS_NODE_ID)"
