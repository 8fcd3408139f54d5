#!/bin/bash
# make source: a second run is offline (it works with the mirror pointed
# at a closed port); a pin that has left the archive fails with a message
# naming the newest 10.0.x and how to re-pin; no archive host name is
# written into the repository.
# SPDX-License-Identifier: GPL-2.0-or-later
# timeout: 300

set -u
tmp=$(mktemp -d /tmp/source-test.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
n=0
result() {   # result STATUS DESCRIPTION
    n=$((n + 1))
    if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; sed 's/^/#   /' "$tmp/out" | tail -n 10; fi
}
mk() { make -C "$TOP" --no-print-directory "$@"; }

# 1. Up to date: nothing is fetched (a dead mirror would fail any fetch).
start=$(date +%s)
DEBIAN_MIRROR=http://127.0.0.1:9/debian mk source >"$tmp/out" 2>&1
rc=$?
result $rc "second make source is offline"
result $(( $(date +%s) - start > 10 )) "second make source takes under 10 s"

# 2. A pin that is not in the archive (private lists shared, own source dir).
mkdir -p "$tmp/build"
ln -s "$BUILD/apt" "$tmp/build/apt"
make -C "$TOP" --no-print-directory BUILD="$tmp/build" \
    QEMU_DEB_VERSION=1:10.0.99+ds-0+deb13u1 source >"$tmp/out" 2>&1
rc=$?
if [ $rc != 0 ] && grep -q "has left" "$tmp/out" &&
   grep -q "Newest 10.0.x there: 1:10\.0\." "$tmp/out" &&
   grep -q "QEMU_DEB_VERSION := " "$tmp/out"; then
    result 0 "a pin that left the archive names the newest 10.0.x and how to re-pin"
else
    result 1 "a pin that left the archive names the newest 10.0.x and how to re-pin"
fi

# 3. No archive host from this machine's apt configuration in the repo.
hosts=$(sed -n 's#^URIs:[[:space:]]*[a-z]*://\([^/ ]*\).*#\1#p; s#^deb[^ ]* \(\[[^]]*\] \)\?[a-z]*://\([^/ ]*\).*#\2#p' \
          /etc/apt/sources.list.d/* /etc/apt/sources.list 2>/dev/null | sort -u)
found=
for h in $hosts; do
    found+=$(git -C "$TOP" grep -l -F "$h" -- . 2>/dev/null)
done
echo "$found" >"$tmp/out"
result $([ -z "$found" ]; echo $?) "no package archive host name in the repository"
exit 0
