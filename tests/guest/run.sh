#!/bin/bash
# The real-guest scenarios: tests/guest/run.sh [SCENARIO...] runs the named
# ones (default: all, in this order), each printing TAP lines, then a table
# of what they did.
#
#   verifier   0  the verifier finds damaged blocks and a stale image
#   pingpong   1  ping-pong under load (PIVOTS=52 per disk, DISKS=...)
#   crash      2  management client killed (CRASHES=24, CRASH_SEED=1)
#   qemu-kill  3  QEMU killed, the witness decides (KILL_RUNS=3)
#   faults     4  target faults during the pivot
#   bad-input  5  malformed drive-reopen arguments
#   stop-cont  7  stop and cont under load on the IOThread disks (CYCLES=200)
#   set        8  four disks, one write order, drive-reopen-group
#                 (SET_PIVOTS=20 sets, and one that fails after the stop)
#
# Each runs under scripts/bounded.py with the "# timeout: N" of its script
# (about 3x its usual time; TIMEOUT_SCALE=N multiplies it, as the
# sanitizer suite does): one that outlives it is killed with its QEMUs and
# reported as "not ok SCENARIO timed out", with its stacks and last lines.
#
# QEMU=... runs them on another binary (make check-sanitizers does);
# KEEP=1 keeps their work directories under build/check/guest.
# SPDX-License-Identifier: GPL-2.0-or-later

set -u
here=$(cd "$(dirname "$0")" && pwd)
export TOP=${TOP:-$(cd "$here/../.." && pwd)}
export BUILD=${BUILD:-$TOP/build}
ALL="verifier pingpong crash qemu-kill faults bad-input stop-cont set"

"$here/build.sh" >&2 || { echo "not ok guest: tests/guest/build.sh failed"; exit 1; }
mkdir -p "$BUILD/check"
export RESULTS=${RESULTS:-$BUILD/check/guest-results.jsonl}
rm -f "$RESULTS"

status=0
for s in ${*:-$ALL}; do
    script=$here/scenario_${s//-/_}.py
    [ -f "$script" ] || { echo "not ok $s: no such scenario (known: $ALL)"; status=1; continue; }
    echo "# scenario $s"
    limit=$(sed -n 's/^# timeout: \([0-9]*\)$/\1/p' "$script")
    limit=$(( ${limit:-300} * ${TIMEOUT_SCALE:-1} ))
    out=$(PYTHONDONTWRITEBYTECODE=1 "$TOP/scripts/bounded.py" "$s" "$limit" -- \
              python3 "$script" 2>&1)
    rc=$?
    printf '%s\n' "$out" | sed "s/^\(not \)\?ok [0-9]* - /&$s: /"
    if [ $rc != 0 ]; then
        status=1
        grep -q '^not ok' <<<"$out" || echo "not ok $s: exited $rc"
    fi
done

# The table: one row per scenario, from the counts the scenarios saved.
python3 - "$RESULTS" <<'EOF'
import json, sys
rows = []
try:
    with open(sys.argv[1]) as f:
        rows = [json.loads(l) for l in f]
except FileNotFoundError:
    pass
cols = [('scenario', 'scenario', '<22'), ('pivots', 'pivots', '>6'),
        ('acked', 'writes acked', '>12'), ('images', 'images verified', '>15'),
        ('verified', 'blocks verified', '>15'), ('lost', 'lost', '>5'),
        ('torn', 'torn', '>5'), ('foreign', 'foreign', '>7')]
line = lambda vals: '  '.join(format(v, c[2]) for v, c in zip(vals, cols))
print('# ' + line([c[1] for c in cols]))
tot = {c[0]: 0 for c in cols[1:]}
for r in sorted(rows, key=lambda r: r['scenario']):
    print('# ' + line([r[c[0]] for c in cols]))
    for k in tot:
        tot[k] += r[k]
print('# ' + line(['total'] + [tot[c[0]] for c in cols[1:]]))
EOF
exit $status
