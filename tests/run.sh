#!/bin/bash
# The project's own tests: every executable tests/*/test_* in turn.  Each
# prints TAP lines ("ok N - what", "not ok N - what"); a test that exits
# non-zero without saying "not ok" is reported as one failure.
# Each runs under scripts/bounded.py with the "# timeout: N" of the test
# (about 3x its usual time; 300 s without one).
# TESTS="pipeline/test_firmware.sh ..." runs only those.
# SPDX-License-Identifier: GPL-2.0-or-later

set -u
here=$(cd "$(dirname "$0")" && pwd)
export TOP=${TOP:-$(dirname "$here")}
export BUILD=${BUILD:-$TOP/build}
export QBUILD=$BUILD/qemu/build

if [ -n "${TESTS:-}" ]; then
    list=$TESTS
else
    list=$(cd "$here" && ls -d */test_* 2>/dev/null | sort)
fi
status=0
for t in $list; do
    [ -x "$here/$t" ] || continue
    echo "# $t"
    limit=$(sed -n 's/^# timeout: \([0-9]*\)$/\1/p' "$here/$t")
    out=$("$TOP/scripts/bounded.py" - "${limit:-300}" -- "$here/$t" 2>&1)
    rc=$?
    printf '%s\n' "$out" | sed "s|^\(not \)\?ok \([0-9]* \)\?-\? \?|&$t: |"
    if [ $rc != 0 ]; then
        status=1
        grep -q '^not ok' <<<"$out" || echo "not ok - $t: exited $rc"
    fi
done
exit $status
