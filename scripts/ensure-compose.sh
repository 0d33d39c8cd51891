#!/bin/sh
# Make a Docker Compose v2 binary available to the tests that validate compose.yaml
# (`docker compose config` needs no Docker engine). Uses `docker compose` when the machine has
# the plugin; otherwise unpacks the `docker-compose` program from Debian's package (a static
# Go binary; the package is in Debian 13 "trixie", so it is fetched by its index entry and
# checked against the index's SHA256) into .tools/bin. Never fails the build: when nothing
# can be had, it says so and the test that needs it is skipped.
set -u

tools=".tools/bin"
target="$tools/docker-compose"
suite="${KBOT_COMPOSE_SUITE:-trixie}"
mirror="${KBOT_DEBIAN_MIRROR:-http://deb.debian.org/debian}"

if docker compose version >/dev/null 2>&1 || [ -x "$target" ]; then
    exit 0
fi

give_up() {
    echo "ensure-compose: $1; the compose.yaml check will be skipped" >&2
    exit 0
}

command -v curl >/dev/null 2>&1 || give_up "curl is missing"
command -v xz >/dev/null 2>&1 || give_up "xz is missing"
command -v dpkg-deb >/dev/null 2>&1 || give_up "dpkg-deb is missing"
arch=$(dpkg --print-architecture 2>/dev/null) || give_up "unknown architecture"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

curl -fsS -m 120 -o "$work/Packages.xz" "$mirror/dists/$suite/main/binary-$arch/Packages.xz" \
    || give_up "could not read Debian's $suite package index"
entry=$(xz -dc "$work/Packages.xz" | awk '
    /^Package: / { found = ($2 == "docker-compose") }
    found && /^Filename: / { file = $2 }
    found && /^SHA256: / { sum = $2 }
    /^$/ { if (file != "" && sum != "") { print file, sum; exit } found = 0 }')
[ -n "$entry" ] || give_up "no docker-compose package in Debian $suite"
file=${entry% *}
sum=${entry#* }

curl -fsS -m 300 -o "$work/compose.deb" "$mirror/$file" || give_up "could not download $file"
echo "$sum  $work/compose.deb" | sha256sum -c --status || give_up "$file has the wrong checksum"
dpkg-deb -x "$work/compose.deb" "$work/root" || give_up "could not unpack $file"
mkdir -p "$tools"
cp "$work/root/usr/libexec/docker/cli-plugins/docker-compose" "$target" \
    || give_up "$file has no docker-compose program"
"$target" version >/dev/null 2>&1 || { rm -f "$target"; give_up "$target does not run here"; }
echo "ensure-compose: $("$target" version) in $target" >&2
