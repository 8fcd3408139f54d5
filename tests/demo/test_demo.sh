#!/bin/bash
# make demo's script runs to its end and its own data check passes, so
# the README's first command cannot rot unnoticed.
# SPDX-License-Identifier: GPL-2.0-or-later
# timeout: 900

set -u
out=$(DISKS=4 timeout 300 "$TOP/scripts/demo.sh" 2>&1)
rc=$?
if [ $rc = 0 ] && grep -q '^Demo OK' <<<"$out" &&
   grep -q '"status": "paused"' <<<"$out" &&
   grep -q 'event DRIVE_REOPEN_COMPLETED' <<<"$out" &&
   grep -q 'ACK .*(paused by drive-reopen)' <<<"$out" &&
   grep -q 'ACK .*(running on disk-b.raw)' <<<"$out" &&
   grep -q 'hold exactly the writes 1 \.\.\. ' <<<"$out" &&
   grep -q '^Demo OK: .* pivoted all 4 disks together' <<<"$out"; then
    echo "ok 1 - demo: real guest pivoted with pause-guest, counter shown, images verified; then a set of 4 disks (DISKS=4)"
else
    echo "not ok 1 - demo: exit $rc"
    tail -n 20 <<<"$out" | sed 's/^/#   /'
fi
