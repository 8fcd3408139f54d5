#!/bin/bash
# make demo's script runs to its end and its own data check passes, so
# the README's first command cannot rot unnoticed.
# SPDX-License-Identifier: GPL-2.0-or-later
# timeout: 900

set -u
out=$(timeout 300 "$TOP/scripts/demo.sh" 2>&1)
rc=$?
if [ $rc = 0 ] && grep -q '^Demo OK' <<<"$out" &&
   grep -q '"status": "paused"' <<<"$out" &&
   grep -q 'event DRIVE_REOPEN_COMPLETED' <<<"$out" &&
   grep -q 'ACK .*(paused by drive-reopen)' <<<"$out" &&
   grep -q 'ACK .*(running on disk-b.raw)' <<<"$out"; then
    echo "ok 1 - demo: real guest pivoted with pause-guest, counter shown, images verified"
else
    echo "not ok 1 - demo: exit $rc"
    tail -n 20 <<<"$out" | sed 's/^/#   /'
fi
