#!/bin/bash
# The libvirt end-to-end test: libvirt 11.3.0 from build/libvirt/build
# drives the patched QEMU running the test guest (tests/guest), and the
# harness checks libvirt's view against QEMU's own through a second QMP
# monitor.  Scenarios (tests/libvirt/scenarios.py says more):
#
#   1  virsh blockcopy --pivot: libvirt and QEMU agree on the new image,
#      the guest writes on, the verifier passes on the new image
#   2  virtqemud SIGKILLed after it sent the pivot to QEMU, before it read
#      the answer, then started again: libvirt must name the image QEMU
#      uses, the guest must run and write, the verifier pass.  FAILS with
#      "MISMATCH: libvirt reports A.raw ... but QEMU writes to B.raw" until
#      the libvirt series (drive-reopen + pause-guest + query-drive-reopen
#      on reconnect) lands in build/libvirt
#   3  the same with the capability masked (qemu.conf capability_filters;
#      its name is CAPABILITY at the top of scenarios.py): asserts that
#      libvirt then names the OLD image (the bug the series fixes), which
#      shows that the test can fail
#
# The crash window is hit deterministically, with signals: QEMU is
# SIGSTOPped and `virsh blockjob --pivot` started; every command virtqemud
# writes to QEMU's monitor (QEMU_MONITOR_IO_WRITE in its debug log) before
# the pivot's (today the bitmap `transaction` before `job-complete`) is let
# through alone: virtqemud stopped, QEMU continued until ss shows that it
# has read the command and answered, QEMU stopped, virtqemud continued.
# Once job-complete or drive-reopen is written, virtqemud is SIGSTOPped,
# QEMU continued until the harness's monitor shows the pivot done, then
# virtqemud is SIGKILLed (it never read the answer) and started again.
#
# Run, as root, under the build lock like every guest run on this machine:
#
#   flock /tmp/qap-build.lock tests/libvirt/run.sh
#   SCENARIOS="1 3" flock /tmp/qap-build.lock tests/libvirt/run.sh
#
# Needs: build/qemu/build/qemu-system-x86_64 (make build), the libvirt
# build (make libvirt-build), the test guest (built here by
# tests/guest/build.sh if missing), ss and unshare.  Prints TAP ("ok N -",
# "not ok N -", "1..N") and one summary line; exits non-zero on a failure.
# Takes about 30 s (each guest boots in ~3 s under TCG).
# LIBVIRT_E2E_TIMEOUT (600 s) bounds the whole run; every wait inside has
# its own deadline.
#
# Everything libvirt reads and writes is under build/check/libvirt (wiped
# at the start; logs/virtqemud.log holds the monitor traffic, tap.log this
# output; KEEP=1 also keeps the images): the test re-executes itself in a
# private mount namespace (unshare -m) in which the libvirt build's prefix,
# build/libvirt-prefix (etc/, var/run/, var/lib/, var/cache/, var/log/ of a
# root virtqemud), is a bind mount of build/check/libvirt/prefix; outside
# it stays an empty directory.  The domains' <emulator>, a wrapper that
# adds the harness's QMP monitor, is generated at run time in
# build/check/libvirt/harness.  Every process the test starts (virtlogd,
# virtqemud, the domains' QEMU, background virsh) is noted in
# build/check/libvirt/pids and killed on any exit; the domains are
# transient (virsh create) and named qap-lv-<pid>-<scenario>.
# SPDX-License-Identifier: GPL-2.0-or-later

set -u
here=$(cd "$(dirname "$0")" && pwd)
export TOP=${TOP:-$(cd "$here/../.." && pwd)}
export BUILD=${BUILD:-$TOP/build}
export QEMU=${QEMU:-$BUILD/qemu/build/qemu-system-x86_64}
export LIBVIRT_BUILD=${LIBVIRT_BUILD:-$BUILD/libvirt/build}
export LIBVIRT_PREFIX=${LIBVIRT_PREFIX:-$BUILD/libvirt-prefix}
export LVCHECK=${LVCHECK:-$BUILD/check/libvirt}
TIMEOUT=${LIBVIRT_E2E_TIMEOUT:-600}

# A failure before any scenario ran: one TAP case that says why.
setup_failed() {
    echo "not ok 1 - libvirt end-to-end set-up: $*"
    echo "1..1"
    echo "libvirt end-to-end: 0 passed, 1 failed"
    exit 1
}

if [ -z "${QAP_LIBVIRT_NS:-}" ]; then
    [ "$(id -u)" = 0 ] || setup_failed "needs root (virtqemud runs privileged)"
    for f in "$QEMU" "$LIBVIRT_BUILD/src/virtqemud" "$LIBVIRT_BUILD/src/virtlogd" \
             "$LIBVIRT_BUILD/tools/virsh" "$LIBVIRT_BUILD/run"; do
        [ -x "$f" ] || setup_failed "no $f (make build, make libvirt-build)"
    done
    command -v ss >/dev/null || setup_failed "no ss (iproute2)"
    command -v unshare >/dev/null || setup_failed "no unshare (util-linux)"
    "$TOP/tests/guest/build.sh" >&2 || setup_failed "tests/guest/build.sh failed"
    rm -rf "$LVCHECK"
    mkdir -p "$LVCHECK/prefix" "$LIBVIRT_PREFIX" ||
        setup_failed "cannot create $LVCHECK/prefix or $LIBVIRT_PREFIX"
    export QAP_LIBVIRT_NS=1
    # shellcheck disable=SC2093  # exec fails only when unshare cannot run
    exec unshare --mount --propagation private "$0" "$@"
    setup_failed "unshare --mount failed"
fi

# In the private mount namespace from here on.
mount --bind "$LVCHECK/prefix" "$LIBVIRT_PREFIX" ||
    setup_failed "mount --bind $LVCHECK/prefix $LIBVIRT_PREFIX failed"
PIDS=$LVCHECK/pids
: >"$PIDS"
# The domains of this run are qap-lv-$QAP_LV_RUN-N
export QAP_LV_RUN=$$

# Kill what is left of every process the test started: those noted in
# PIDS ("pid start-time what") that still have the same start time (a pid
# reused since is not ours).  Stopped ones too (SIGKILL works on them).
cleanup() {
    local pid start what killed=() i
    while read -r pid start what; do
        [ -d "/proc/$pid" ] || continue
        [ "$(sed 's/.*) //' "/proc/$pid/stat" 2>/dev/null | cut -d' ' -f20)" = "$start" ] ||
            continue
        echo "# cleanup: killing $what ($pid)"
        kill -KILL "$pid" 2>/dev/null
        killed+=("$pid")
    done < <(tac "$PIDS" 2>/dev/null)
    # wait (10 s at most) until they are gone, so that their cgroups empty
    for pid in "${killed[@]}"; do
        for ((i = 0; i < 100; i++)); do
            [ -d "/proc/$pid" ] || break
            [ "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" != Z ] || break
            sleep 0.1
        done
    done
    # cgroups libvirt made for the domains of this run and could not
    # remove (their QEMU was killed while virtqemud was down)
    # (with their emulator/ and vcpuN/ sub-groups; a group with a process
    # in it is not removed)
    find /sys/fs/cgroup -mindepth 2 -maxdepth 3 -type d -name "qemu-*-qap-lv-$QAP_LV_RUN-*" 2>/dev/null |
        while read -r d; do
            find "$d" -depth -type d -exec rmdir {} \; 2>/dev/null
        done
    if [ -z "${KEEP:-}" ]; then
        rm -f "$LVCHECK"/work/*/*.raw
    fi
}
trap cleanup EXIT

# The scenarios in the background, their output streamed by tail, so that
# a signal to this script is handled at once: it is passed on to them (they
# clean up what they started), then the trap kills whatever is left.
SECONDS=0
out=$LVCHECK/tap.log
: >"$out"
PYTHONDONTWRITEBYTECODE=1 timeout --kill-after=30 "$TIMEOUT" \
    python3 "$here/scenarios.py" >"$out" 2>&1 &
pypid=$!
tail -n +1 -s 0.2 -f --pid="$pypid" "$out" &
tailpid=$!
interrupted=
trap 'interrupted=1; kill -TERM "$pypid" 2>/dev/null' INT TERM HUP
while :; do
    wait "$pypid"
    rc=$?
    kill -0 "$pypid" 2>/dev/null || break
done
wait "$tailpid"
cleanup >&2
[ -n "$interrupted" ] && echo "not ok - libvirt end-to-end: interrupted" | tee -a "$out"
[ "$rc" = 124 ] && echo "not ok - libvirt end-to-end: timed out after $TIMEOUT s" | tee -a "$out"
passed=$(grep -c '^ok ' "$out")
failed=$(grep -c '^not ok ' "$out")
if [ "$rc" != 0 ] && [ "$failed" = 0 ]; then
    echo "not ok - libvirt end-to-end: scenarios.py exited $rc" | tee -a "$out"
    failed=1
fi
echo "libvirt end-to-end: $passed passed, $failed failed in ${SECONDS}s (logs in ${LVCHECK#"$TOP"/})"
[ "$failed" = 0 ] && [ "$passed" -gt 0 ]
