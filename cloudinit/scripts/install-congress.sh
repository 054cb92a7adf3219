#!/usr/bin/env bash
# install-congress.sh: install the pinned OpenStack Congress 11.0.0 runtime
# into a Python virtualenv and make it work on Python 3.11.
#
# Settings come from the environment; the options below override them.
#   CONGRESS_VENV            --venv DIR          virtualenv to use or create
#                                                (default /opt/congress)
#   CONGRESS_INSTALL_SOURCE  --source MODE       index | wheelhouse | preinstalled
#                                                (default index)
#       index         pip install from the package index CONGRESS_INSTALL_URL
#       wheelhouse    pip install --no-index --find-links CONGRESS_INSTALL_URL
#                     (a directory or an http(s) URL holding every wheel)
#       preinstalled  install nothing from pip: only check that the venv has
#                     bin/congress-server and the pinned openstack-congress
#                     (the shim of step 4 is still put in place if missing)
#   CONGRESS_INSTALL_URL     --url URL           index URL (default
#                                                https://pypi.org/simple) or
#                                                wheelhouse location (required)
#   CONGRESS_CONSTRAINTS     --constraints FILE  pinned constraints file
#                                                (default /etc/congress-tf/congress-constraints.txt)
#   CONGRESS_SHIM            --shim FILE         congress_py311_compat.py
#                                                (default /etc/congress-tf/congress_py311_compat.py)
#   CONGRESS_PYTHON          --python EXE        interpreter that creates the
#                                                venv (default python3)
#   CONGRESS_PIP_ARGS        --pip-args "ARGS"   extra pip install arguments,
#                                                split on spaces (e.g. "--cert FILE")
#
# Steps (one log line each, on stdout):
#   1. read the pinned openstack-congress version from the constraints file;
#   2. create the venv with "$CONGRESS_PYTHON -m venv" when it is missing
#      (not in preinstalled mode);
#   3. pip install -c CONSTRAINTS openstack-congress PyMySQL, skipped when the
#      venv already has the pinned openstack-congress and was installed from
#      this same constraints file (stamp file .congress-tf-constraints.sha256);
#      in preinstalled mode: check instead, and fail clearly on a mismatch;
#   4. install the shim and the .pth file that imports it into the venv's
#      site-packages (only rewritten when their content differs);
#   5. check that the console scripts exist and congress imports with the shim.
# Host needs: python3-venv; libpq5 at run time (psycopg2, which openstack-congress
# requires and congress-server imports); for CONGRESS_INSTALL_SOURCE=index also
# gcc, libpq-dev and python3-dev, because PyPI has psycopg2 only as source.
# pip runs with --isolated (no pip.conf, no PIP_* variables) so the result
# depends only on these settings; its output goes to INSTALL_LOG in the venv
# and its tail is printed on failure.  A second run changes nothing.
# Nothing secret is read or printed.  Exit status: 0 done, 1 failed, 2 usage.
set -euo pipefail

PROG=install-congress
VENV=${CONGRESS_VENV:-/opt/congress}
SOURCE=${CONGRESS_INSTALL_SOURCE:-index}
URL=${CONGRESS_INSTALL_URL:-}
CONSTRAINTS=${CONGRESS_CONSTRAINTS:-/etc/congress-tf/congress-constraints.txt}
SHIM=${CONGRESS_SHIM:-/etc/congress-tf/congress_py311_compat.py}
PYTHON=${CONGRESS_PYTHON:-python3}
PIP_ARGS=${CONGRESS_PIP_ARGS:-}

log() { printf '%s: %s\n' "$PROG" "$*"; }
# URL for logs: any user:password@ part hidden.
shown_url() { printf '%s' "$1" | sed -E 's#(://)[^/@]*@#\1***@#'; }
die() { printf '%s: ERROR: %s\n' "$PROG" "$*" >&2; exit 1; }
usage() { sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"; }

while [ $# -gt 0 ]; do
    case $1 in
        --venv) VENV=${2:?--venv needs a value}; shift 2 ;;
        --source) SOURCE=${2:?--source needs a value}; shift 2 ;;
        --url) URL=${2:?--url needs a value}; shift 2 ;;
        --constraints) CONSTRAINTS=${2:?--constraints needs a value}; shift 2 ;;
        --shim) SHIM=${2:?--shim needs a value}; shift 2 ;;
        --python) PYTHON=${2:?--python needs a value}; shift 2 ;;
        --pip-args) PIP_ARGS=${2?--pip-args needs a value}; shift 2 ;;
        -h|--help) usage; exit 0 ;;
        *) printf '%s: unknown argument %s (see --help)\n' "$PROG" "$1" >&2; exit 2 ;;
    esac
done

case $SOURCE in
    index) URL=${URL:-https://pypi.org/simple} ;;
    wheelhouse) [ -n "$URL" ] || die "CONGRESS_INSTALL_SOURCE=wheelhouse needs CONGRESS_INSTALL_URL (directory or URL of the wheels)" ;;
    preinstalled) ;;
    *) die "CONGRESS_INSTALL_SOURCE must be index, wheelhouse or preinstalled, not '$SOURCE'" ;;
esac
case $VENV in
    /*) ;;
    *) VENV=$PWD/$VENV ;;
esac
VENV=${VENV%/}
INSTALL_LOG=$VENV/install-congress.log
STAMP=$VENV/.congress-tf-constraints.sha256

# 1. pinned version ---------------------------------------------------------
[ -r "$CONSTRAINTS" ] || die "constraints file $CONSTRAINTS not found or not readable"
PINNED=$(sed -n -E 's/^[[:space:]]*openstack[-_.]congress[[:space:]]*==[[:space:]]*([^[:space:];#]+).*/\1/Ip' "$CONSTRAINTS" | head -n 1)
[ -n "$PINNED" ] || die "$CONSTRAINTS pins no openstack-congress==VERSION"
CONSTRAINTS_SHA=$(sha256sum "$CONSTRAINTS" | cut -d ' ' -f 1)
log "source=$SOURCE venv=$VENV pinned openstack-congress==$PINNED"

# Version of openstack-congress in the venv, or nothing.
installed_version() {
    [ -x "$VENV/bin/python" ] || return 0
    "$VENV/bin/python" -c 'import importlib.metadata as m
try:
    print(m.version("openstack-congress"))
except m.PackageNotFoundError:
    pass' 2>/dev/null || true
}

# 2 + 3. venv and packages ----------------------------------------------------
if [ "$SOURCE" = preinstalled ]; then
    [ -x "$VENV/bin/congress-server" ] \
        || die "preinstalled: $VENV/bin/congress-server not found: Congress is not installed in $VENV (install it there or use CONGRESS_INSTALL_SOURCE=index|wheelhouse)"
    HAVE=$(installed_version)
    [ "$HAVE" = "$PINNED" ] \
        || die "preinstalled: $VENV has openstack-congress '${HAVE:-none}', but $CONSTRAINTS pins $PINNED"
    log "preinstalled: openstack-congress $HAVE and bin/congress-server found, nothing installed"
else
    if [ -x "$VENV/bin/python" ]; then
        log "venv $VENV already exists ($("$VENV/bin/python" -c 'import platform; print(platform.python_version())'))"
    else
        command -v "$PYTHON" >/dev/null 2>&1 || die "interpreter '$PYTHON' not found (set CONGRESS_PYTHON)"
        mkdir -p "$(dirname "$VENV")"
        "$PYTHON" -m venv "$VENV" \
            || die "'$PYTHON -m venv $VENV' failed (on Debian install the python3-venv package)"
        log "venv $VENV created with $("$VENV/bin/python" -c 'import platform; print(platform.python_version())')"
    fi

    HAVE=$(installed_version)
    if [ "$HAVE" = "$PINNED" ] && [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$CONSTRAINTS_SHA" ]; then
        log "openstack-congress $HAVE already installed from these constraints: pip install skipped"
    else
        if [ "$SOURCE" = index ]; then
            where=(--index-url "$URL")
        else
            where=(--no-index --find-links "$URL")
            case $URL in
                http://*|https://*) ;;
                *)  dir=${URL#file://}
                    compgen -G "$dir/openstack_congress-$PINNED-*.whl" >/dev/null \
                        || die "wheelhouse $dir has no openstack_congress-$PINNED-*.whl (build it with: pip wheel --use-pep517 -c $CONSTRAINTS -w $dir openstack-congress PyMySQL)" ;;
            esac
        fi
        # pip ignores a plain-http index or wheelhouse unless its host:port is trusted explicitly.
        case $URL in
            http://*) trusted=${URL#http://}; trusted=${trusted%%/*}; where+=(--trusted-host "${trusted##*@}") ;;
        esac
        extra=()
        if [ -n "$PIP_ARGS" ]; then
            read -r -a extra <<<"$PIP_ARGS"
        fi
        if [ "$SOURCE" = index ] && ! { command -v pg_config && command -v cc; } >/dev/null 2>&1 \
                && ! "$VENV/bin/python" -c 'import psycopg2' >/dev/null 2>&1; then
            printf '%s: WARNING: %s\n' "$PROG" "openstack-congress requires psycopg2, which PyPI has only as source: building it needs gcc, libpq-dev and python3-dev (Debian packages); pg_config or cc is missing here" >&2
        fi
        log "pip install -c $CONSTRAINTS openstack-congress PyMySQL from $SOURCE $(shown_url "$URL") (installed before: ${HAVE:-none}; log $INSTALL_LOG)"
        started=$SECONDS
        if ! "$VENV/bin/python" -m pip install --isolated --disable-pip-version-check --no-input \
                --progress-bar off "${where[@]}" "${extra[@]}" \
                -c "$CONSTRAINTS" openstack-congress PyMySQL >"$INSTALL_LOG" 2>&1; then
            tail -n 40 "$INSTALL_LOG" >&2 || true
            die "pip install failed; full output in $INSTALL_LOG"
        fi
        HAVE=$(installed_version)
        [ "$HAVE" = "$PINNED" ] || die "after pip install $VENV has openstack-congress '${HAVE:-none}', expected $PINNED"
        printf '%s\n' "$CONSTRAINTS_SHA" >"$STAMP"
        log "openstack-congress $HAVE installed in $((SECONDS - started)) s"
    fi
fi

# 4. shim + .pth ------------------------------------------------------------
[ -r "$SHIM" ] || die "shim $SHIM not found or not readable"
SITE=$("$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
[ -d "$SITE" ] || die "site-packages $SITE of $VENV not found"
PTH_LINE='import congress_py311_compat'
changed=()
if ! cmp -s "$SHIM" "$SITE/congress_py311_compat.py"; then
    install -m 0644 "$SHIM" "$SITE/congress_py311_compat.py"
    changed+=(congress_py311_compat.py)
fi
if [ "$(cat "$SITE/congress_py311_compat.pth" 2>/dev/null || true)" != "$PTH_LINE" ]; then
    printf '%s\n' "$PTH_LINE" >"$SITE/congress_py311_compat.pth"
    chmod 0644 "$SITE/congress_py311_compat.pth"
    changed+=(congress_py311_compat.pth)
fi
if [ ${#changed[@]} -gt 0 ]; then
    log "shim installed in $SITE: ${changed[*]}"
else
    log "shim already in place in $SITE"
fi

# 5. check --------------------------------------------------------------------
for exe in congress-server congress-db-manage; do
    [ -x "$VENV/bin/$exe" ] || die "$VENV/bin/$exe missing after install"
done
# congress.harness is what congress-server loads at start; it imports psycopg2,
# whose compiled module needs libpq.so.5 (Debian package libpq5) at run time.
"$VENV/bin/python" -W ignore -c 'import congress.datalog.utility, congress.server.congress_server, congress.harness' \
    || die "congress does not import in $VENV (see the error above: a missing collections/inspect name means the shim's .pth is not loaded; libpq.so.5 means the libpq5 package is missing)"
log "ok: openstack-congress $PINNED ready in $VENV (bin/congress-server)"
