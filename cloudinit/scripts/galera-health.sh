#!/usr/bin/env bash
# galera-health.sh: one answer of the Galera health check that the Congress nodes' HAProxy
# asks on port 9200 (systemd socket congress-galera-health, one run per connection, the
# connection on stdin/stdout): HTTP 200 when this member is in the primary component, synced
# and ready for queries; 503 otherwise (joining, donor, non-primary, MariaDB down). Changes nothing.
set -euo pipefail

# Read the request up to its blank line first: closing with unread bytes would reset the
# connection before HAProxy reads the answer.
while IFS= read -r -t 2 line && [ -n "${line%$'\r'}" ]; do :; done

# Bounded well below the unit's RuntimeMaxSec: a MariaDB that hangs (starting, in a state
# transfer) gets a 503, not a killed and failed unit.
state=$(timeout 4 mariadb --connect-timeout=2 --batch --skip-column-names -e "SHOW GLOBAL STATUS WHERE Variable_name IN
    ('wsrep_cluster_status', 'wsrep_local_state_comment', 'wsrep_ready')" 2>/dev/null | sort | cut -f 2 | tr '\n' ' ') \
    || state=
# Sorted by name: wsrep_cluster_status, wsrep_local_state_comment, wsrep_ready.
if [ "$state" = "Primary Synced ON " ]; then
    code="200 OK" body="synced"
else
    code="503 Service Unavailable" body="not synced: ${state:-MariaDB not answering}"
fi
# An asker that has gone (its check timed out, or it read only the status line) makes the write
# fail: not a fault of this member, and no reason to leave a failed unit behind.
printf 'HTTP/1.1 %s\r\nContent-Type: text/plain\r\nConnection: close\r\nContent-Length: %d\r\n\r\n%s' \
    "$code" "${#body}" "$body" || true
