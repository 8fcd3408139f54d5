#!/bin/bash
# make check's reading of QEMU's own suites (scripts/qemu_suites.py):
# meson's log becomes one TAP line per subtest, a skip keeps its reason, a
# crash or a timeout that no subtest explains is a failure of its own; an
# iotest's "[not run]" gets its reason; and a failure is a skip only when
# the pristine build fails the same test, never when it passes it.
# SPDX-License-Identifier: GPL-2.0-or-later
# timeout: 60

. "$(dirname "$0")/tap.sh"
Q=$TOP/scripts/qemu_suites.py
# expect WHAT: $tmp/out must equal $tmp/want
expect() {
    if diff -u "$tmp/want" "$tmp/out" >"$tmp/diff"; then
        ok "$1"
    else
        cp "$tmp/diff" "$tmp/out"
        nok "$1"
    fi
}

# A meson test log (one JSON object per line) with the cases that matter
python3 - "$tmp/testlog.json" <<'EOF'
import json, sys
tap = ['--tap', '-k']
recs = [
    {'name': 'qemu:unit / test-good', 'result': 'OK', 'returncode': 0,
     'command': ['/b/tests/unit/test-good'] + tap,
     'stdout': '# random seed: X\n1..2\n# Start of good tests\n'
               'ok 1 /good/one\nok 2 /good/two # SKIP no /dev/kvm here\n'},
    {'name': 'qemu:unit / test-sub', 'result': 'FAIL', 'returncode': 1,
     'command': ['/b/tests/unit/test-sub'] + tap,
     'stdout': '1..2\nok 1 /sub/a\nnot ok 2 /sub/b\n# assertion failed\n'},
    {'name': 'qemu:unit / test-crash', 'result': 'ERROR', 'returncode': -6,
     'command': ['/b/tests/unit/test-crash'] + tap,
     'stdout': '1..3\nok 1 /crash/a\nBail out! ERROR:x.c:1: assertion\n'},
    {'name': 'qemu:qtest+qtest-x86_64 / qtest-x86_64/slow-test',
     'result': 'TIMEOUT', 'returncode': -15, 'duration': 240.2,
     'command': ['/b/tests/qtest/slow-test'] + tap, 'stdout': '1..1\n'},
    {'name': 'qemu:unit / test-skipped', 'result': 'SKIP', 'returncode': 0,
     'command': ['/b/tests/unit/test-skipped'] + tap,
     'stdout': '1..0 # SKIP needs a TPM emulator\n'},
    {'name': 'qemu:unit / test-none', 'result': 'SKIP', 'returncode': 0,
     'command': ['/b/tests/unit/test-none'] + tap,
     'stdout': '# random seed: X\n1..0\n'},
    {'name': 'qemu:unit / plain', 'result': 'OK', 'returncode': 0,
     'command': ['/b/plain'], 'stdout': ''},
    {'name': 'qemu:unit / plain-skip', 'result': 'SKIP', 'returncode': 77,
     'command': ['/b/plain-skip'], 'stdout': 'no such device\n'},
]
with open(sys.argv[1], 'w') as f:
    for r in recs:
        f.write(json.dumps(r) + '\n')
EOF
cat >"$tmp/want" <<'EOF'
ok s test-good /good/one
ok s test-good /good/two # SKIP no /dev/kvm here
ok s test-sub /sub/a
not ok s test-sub /sub/b
ok s test-crash /crash/a
not ok s test-crash: ERROR (exit status -6) after /crash/a: Bail out! ERROR:x.c:1: assertion
not ok s slow-test: timed out after 240 s
ok s test-skipped # SKIP needs a TPM emulator
ok s test-none # SKIP the test has no case for this target or set-up (plan 1..0)
ok s plain
ok s plain-skip # SKIP no such device
EOF
"$Q" tap s "$tmp/testlog.json" >"$tmp/out" 2>&1
expect "meson's log: a line per subtest, skips with their reason, a crash and a timeout no subtest explains"

printf '%s\n' 'not ok s test-sub /sub/b' 'not ok s test-crash: ERROR (exit status -6)' \
    'ok s test-good /good/one' 'not ok s test-sub /sub/c' \
    'not ok s timed out after 2400 s' 'not ok s: no result (see x)' \
    'not ok iotests-raw harness: planned 3, reported 2' >"$tmp/tap"
printf '%s\n' 's test-sub' 's test-crash' >"$tmp/want"
"$Q" failed "$tmp/tap" >"$tmp/out" 2>&1
expect "the failing tests, each once; a line about a whole suite names none"

# An iotest that did not run: its reason from the scratch directory
mkdir -p "$tmp/scratch/raw-file-051"
echo 'not suitable for this image format: raw' >"$tmp/scratch/raw-file-051/051.notrun"
printf '%s\n' 'ok raw 041' 'ok raw 051 # SKIP' 'ok raw 052 # SKIP' >"$tmp/out"
printf '%s\n' 'ok raw 041' 'ok raw 051 # SKIP not suitable for this image format: raw' \
    'ok raw 052 # SKIP not run (no reason given)' >"$tmp/want"
"$Q" iotests-skips "$tmp/out" "$tmp/scratch"
expect "an iotest's [not run] reason in its skip line"

# The comparison with the pristine build
cat >"$tmp/out" <<'EOF'
ok qcow2 041
not ok qcow2 153
not ok qcow2 040
not ok qcow2 118 timed out after 300 s
not ok qcow2 drive-reopen
EOF
cat >"$tmp/pristine" <<'EOF'
not ok qcow2 153
ok qcow2 040
not ok qcow2 118 timed out after 300 s
EOF
cat >"$tmp/want" <<'EOF'
ok qcow2 041
ok qcow2 153 # SKIP fails without the series too (pristine abc)
not ok qcow2 040 (the pristine build passes it)
ok qcow2 118 timed out after 300 s # SKIP fails without the series too (pristine abc)
not ok qcow2 drive-reopen (the pristine build does not run it)
EOF
"$Q" compare "$tmp/out" "$tmp/pristine" "pristine abc" 2>"$tmp/err"
expect "iotests: a skip only where the pristine build fails too"

cat >"$tmp/out" <<'EOF'
not ok q qos-test /x86_64/virtio-scsi/hotplug
not ok q qos-test /x86_64/virtio-blk/resize
not ok q cdrom-test /x86_64/cdrom/boot
ok q hd-geo-test /x86_64/hd-geo/ide
not ok q ahci-test: ERROR (exit status -6) after /x86_64/ahci/a: Bail out! x
not ok q ide-test: ERROR (exit status -6) after /x86_64/ide/a: Bail out! y
not ok q fdc-test: ERROR (exit status -6) after /x86_64/fdc/a: Bail out! z
EOF
cat >"$tmp/pristine" <<'EOF'
ok q qos-test /x86_64/virtio-scsi/hotplug
not ok q qos-test /x86_64/virtio-blk/resize
ok q cdrom-test /x86_64/cdrom/x
not ok q cdrom-test: ERROR (exit status -6)
ok q ahci-test /x86_64/ahci/a
ok q ahci-test /x86_64/ahci/b
ok q ide-test /x86_64/ide/a
not ok q ide-test /x86_64/ide/b
ok q fdc-test /x86_64/fdc/a
not ok q fdc-test: ERROR (exit status -6) after /x86_64/fdc/a: Bail out! z
EOF
cat >"$tmp/want" <<'EOF'
not ok q qos-test /x86_64/virtio-scsi/hotplug (the pristine build passes it)
ok q qos-test /x86_64/virtio-blk/resize # SKIP fails without the series too (pristine abc)
ok q cdrom-test /x86_64/cdrom/boot # SKIP fails without the series too (pristine abc)
ok q hd-geo-test /x86_64/hd-geo/ide
not ok q ahci-test: ERROR (exit status -6) after /x86_64/ahci/a: Bail out! x (the pristine build passes it)
not ok q ide-test: ERROR (exit status -6) after /x86_64/ide/a: Bail out! y (the pristine build fails it differently)
ok q fdc-test: ERROR (exit status -6) after /x86_64/fdc/a: Bail out! z # SKIP fails without the series too (pristine abc)
EOF
"$Q" compare "$tmp/out" "$tmp/pristine" "pristine abc" 2>"$tmp/err"
expect "subtests one by one (one a pristine crash never reached fails there too); a crash matches only a crash"

if grep -q 'fails only with the series: q qos-test /x86_64/virtio-scsi/hotplug' "$tmp/err"; then
    ok "the comparison names what fails only with the series"
else
    cp "$tmp/err" "$tmp/out"
    nok "the comparison names what fails only with the series"
fi
echo "1..$n"
exit $failed
