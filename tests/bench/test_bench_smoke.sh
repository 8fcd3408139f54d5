#!/bin/bash
# The benchmark cannot rot: make bench's smoke variant (3 pivots of each
# method on two configurations, no thresholds) must run, and its outputs
# must hold what the full run's do: every sample, a table row per
# configuration, a PNG.
# SPDX-License-Identifier: GPL-2.0-or-later
# timeout: 600

set -u
tmp=$(mktemp -d /tmp/bench-smoke.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
n=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
notok() { n=$((n + 1)); echo "not ok $n - $1"; tail -n 15 "$tmp/out" | sed 's/^/#   /'; }

if "$TOP/scripts/bench.sh" --smoke --out "$tmp/res" >"$tmp/out" 2>&1; then
    ok "make bench's smoke variant runs"
else
    notok "make bench's smoke variant runs"
    exit 0
fi

# Every round has A's and B's pause windows (and A's parts), C's latency;
# the 4-disk configuration also A-seq's, and its A is one set.
if /usr/bin/python3 - "$tmp/res/samples.json" >"$tmp/out" 2>&1 <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
assert sorted(d['samples']) == ['1G-high-1', '1G-high-4'], d['samples'].keys()
for name, rounds in d['samples'].items():
    assert len(rounds) == 3, (name, len(rounds))
    methods = ['A', 'A-seq'] if name.endswith('-4') else ['A']
    for r in rounds:
        assert sorted(r) == sorted(methods + ['B', 'C']), (name, r.keys())
        for m in methods:
            assert 0 < r[m]['window'] < 10000, r
            assert 0 < r[m]['stop'] <= r[m]['in_qemu'], r
            # where A's time went, from the trace: all parts there
            assert r[m]['sync'] >= 0 and 0 <= r[m]['vcpus'], r
            assert 0 <= r[m]['flush'] <= r[m]['stop'], r
            # the client's share: from the reply to cont, within the window
            assert 0 < r[m]['client'] < r[m]['window'], r
            assert r[m]['latency'] > 0, r
        assert 0 < r['B']['window'] < 10000, r
        assert r['C']['latency'] > 0, r
    for m in methods:
        assert d['results'][name][m + '_ratio'] > 0
PY
then
    ok "samples.json: 3 rounds of A (A-seq with 4 disks), B and C on each configuration"
else
    notok "samples.json: 3 rounds of A (A-seq with 4 disks), B and C on each configuration"
fi

rows=$(grep -cE '^\| 1G-high-[14] \| 3 \| [0-9]' "$tmp/res/results.md" 2>/dev/null)
if [ "$rows" = 2 ] && grep -q '^Command: `bench/bench.py --smoke' "$tmp/res/results.md" &&
    grep -qE '^\| 1G-high-4 \| A-seq \| [0-9]' "$tmp/res/results.md" &&
    grep -qE '^- A\(4 disks\) <= 2 x A\(1 disk\) p50, 1G-' "$tmp/res/results.md"; then
    ok "results.md: a row per configuration, the command"
else
    cp "$tmp/res/results.md" "$tmp/out" 2>/dev/null
    notok "results.md: a row per configuration, the command"
fi

if [ "$(head -c 8 "$tmp/res/pause-window.png" 2>/dev/null | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ]; then
    ok "pause-window.png is a PNG"
else
    notok "pause-window.png is a PNG"
fi
