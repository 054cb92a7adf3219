#!/usr/bin/env bash
# install-congress-ocf-agent.sh: install the congress-datasource OCF resource agent from
# the openstack-congress sdist (scripts/ocf/congress-datasource; the wheel does not carry
# it) into /usr/lib/ocf/resource.d/openstack/, as the Congress HA guide says.
# The version is the one pinned in CONGRESS_CONSTRAINTS; the sdist comes from the same
# source as Congress itself (CONGRESS_INSTALL_SOURCE index|wheelhouse + CONGRESS_INSTALL_URL);
# with "preinstalled" the agent must already be there. Skipped when the same version is
# installed already.
#   CONGRESS_PYTHON   interpreter with pip (default: $CONGRESS_VENV/bin/python)
#   OCF_AGENT_DIR     where to install (default /usr/lib/ocf/resource.d/openstack)
set -euo pipefail
PROG=install-congress-ocf-agent
# shellcheck source=congress-tf-lib.sh
. "$(dirname "$0")/congress-tf-lib.sh"

VENV=${CONGRESS_VENV:-/opt/congress}
SOURCE=${CONGRESS_INSTALL_SOURCE:-index}
URL=${CONGRESS_INSTALL_URL:-}
CONSTRAINTS=${CONGRESS_CONSTRAINTS:-/etc/congress-tf/congress-constraints.txt}
PYTHON=${CONGRESS_PYTHON:-$VENV/bin/python}
AGENT_DIR=${OCF_AGENT_DIR:-/usr/lib/ocf/resource.d/openstack}
AGENT=$AGENT_DIR/congress-datasource
STAMP=${OCF_AGENT_STAMP:-/var/lib/congress-tf/congress-datasource.version}

[ -r "$CONSTRAINTS" ] || die "constraints file $CONSTRAINTS not found"
VERSION=$(sed -n -E 's/^[[:space:]]*openstack[-_.]congress[[:space:]]*==[[:space:]]*([^[:space:];#]+).*/\1/Ip' "$CONSTRAINTS" | head -n 1)
[ -n "$VERSION" ] || die "$CONSTRAINTS pins no openstack-congress==VERSION"

if [ -x "$AGENT" ] && [ "$(cat "$STAMP" 2>/dev/null || true)" = "$VERSION" ]; then
    log "congress-datasource agent of openstack-congress $VERSION already in $AGENT_DIR"
    exit 0
fi

case $SOURCE in
    index) where=(--index-url "${URL:-https://pypi.org/simple}") ;;
    wheelhouse)
        [ -n "$URL" ] || die "wheelhouse source needs CONGRESS_INSTALL_URL"
        where=(--no-index --find-links "$URL") ;;
    preinstalled)
        [ -x "$AGENT" ] || die "preinstalled: $AGENT missing (the golden image must carry the agent)"
        log "preinstalled: congress-datasource agent found in $AGENT_DIR"
        exit 0 ;;
    *) die "CONGRESS_INSTALL_SOURCE must be index, wheelhouse or preinstalled, not '$SOURCE'" ;;
esac

# pip ignores a plain-http index or wheelhouse unless its host:port is trusted explicitly.
case $URL in
    http://*) trusted=${URL#http://}; trusted=${trusted%%/*}; where+=(--trusted-host "${trusted##*@}") ;;
esac

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
log "downloading the openstack-congress $VERSION sdist ($SOURCE)"
"$PYTHON" -m pip download --isolated --disable-pip-version-check --no-input --quiet \
    --no-binary :all: --no-deps --dest "$work" "${where[@]}" "openstack-congress==$VERSION" \
    || die "pip download of the openstack-congress $VERSION sdist failed"
sdist=$(find "$work" -maxdepth 1 -name "openstack*congress-$VERSION.tar.gz" | head -n 1)
[ -n "$sdist" ] || die "no openstack-congress $VERSION sdist among the downloads"
member=$(tar -tzf "$sdist" | grep -E '^[^/]+/scripts/ocf/congress-datasource$' | head -n 1) \
    || die "$sdist has no scripts/ocf/congress-datasource"
tar -xzf "$sdist" -C "$work" "$member"
install -d -m 0755 "$AGENT_DIR" "$(dirname "$STAMP")"
install -m 0755 "$work/$member" "$AGENT"
printf '%s\n' "$VERSION" >"$STAMP"
log "congress-datasource agent of openstack-congress $VERSION installed as $AGENT"
