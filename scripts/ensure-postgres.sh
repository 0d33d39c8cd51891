#!/bin/sh
# Make sure PostgreSQL's server binaries (initdb, postgres, pg_ctl) are installed for the tests.
# Installs Debian's `postgresql` package only when no /usr/lib/postgresql/*/bin/initdb exists;
# quiet and idempotent. Installing needs root (CI runs as root) or sudo.
set -eu

have_initdb() {
    for candidate in /usr/lib/postgresql/*/bin/initdb; do
        [ -x "$candidate" ] && return 0
    done
    return 1
}

have_initdb && exit 0

if [ "$(id -u)" -eq 0 ]; then
    as_root=""
elif command -v sudo >/dev/null 2>&1; then
    as_root="sudo"
else
    echo "ensure-postgres: PostgreSQL is missing and installing it needs root (apt-get install postgresql)" >&2
    exit 1
fi

log=$(mktemp)
trap 'rm -f "$log"' EXIT
echo "ensure-postgres: installing Debian's postgresql package for the tests" >&2
if ! { $as_root apt-get update -q && $as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql; } >"$log" 2>&1; then
    cat "$log" >&2
    echo "ensure-postgres: apt-get failed" >&2
    exit 1
fi

if ! have_initdb; then
    echo "ensure-postgres: postgresql installed but no /usr/lib/postgresql/*/bin/initdb" >&2
    exit 1
fi
