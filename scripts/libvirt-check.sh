#!/bin/bash
# make libvirt-check: the unit tests of libvirt's QEMU driver that the
# libvirt series is about (capabilities, monitor, XML, block jobs, status
# XML), run with meson test on build/libvirt/build, which make libvirt-build
# has built (nothing is rebuilt here).  One TAP line per test program
# ("ok libvirt qemublocktest", "not ok libvirt ..."), in the style of
# check.sh's suites, into LIBVIRT_TAP (build/check/libvirt.tap); meson's
# output beside it in libvirt.log.  LIBVIRT_TESTS="..." runs only those.
# SPDX-License-Identifier: GPL-2.0-or-later

. "$(dirname "$0")/lib.sh"
: "${LIBVIRT_TREE:?}"

LBUILD=$LIBVIRT_TREE/build
TESTS=${LIBVIRT_TESTS:-qemucapabilitiestest qemumonitorjsontest qemuxmlconftest
    qemublocktest qemuxmlactivetest domaincapstest qemucaps2xmltest}
TAP=${LIBVIRT_TAP:-$BUILD/check/libvirt.tap}
LOG=$(dirname "$TAP")/libvirt.log
[ -f "$LBUILD/build.ninja" ] || die "no $LBUILD: run make libvirt-build"
libvirt_tools_env
mkdir -p "$(dirname "$TAP")"

# shellcheck disable=SC2086   # test names are words
log "libvirt-check: meson test" $TESTS
rm -f "$LBUILD/meson-logs/libvirt-check.json"
SECONDS=0
# shellcheck disable=SC2086   # test names are words
locked "${MESON[@]}" test -C "$LBUILD" --no-rebuild --num-processes 2 \
    --print-errorlogs --logbase libvirt-check $TESTS >"$LOG" 2>&1 || true

# meson's JSON log, one object per test: a TAP line for each test asked
# for; one that has no result (not built, unknown name) is a failure.
TESTS=$TESTS python3 - "$LBUILD/meson-logs/libvirt-check.json" >"$TAP" <<'EOF'
import json, os, sys
results = {}
try:
    with open(sys.argv[1]) as f:
        for line in f:
            t = json.loads(line)
            results[t["name"].split(" / ")[-1]] = t
except FileNotFoundError:
    pass
for name in os.environ["TESTS"].split():
    t = results.get(name)
    if t is None:
        print(f"not ok libvirt {name}: no result (see libvirt.log)")
    elif t["result"] in ("OK", "EXPECTEDFAIL"):
        print(f"ok libvirt {name}")
    elif t["result"] == "SKIP":
        print(f"ok libvirt {name} # SKIP")
    else:
        print(f"not ok libvirt {name}: {t['result']} after {t['duration']:.1f} s")
EOF
grep -E '^not ok ' "$TAP" >&2 && tail -n 30 "$LOG" >&2
log "libvirt-check: $(grep -c '^ok ' "$TAP" || true) ok, $(grep -c '^not ok ' "$TAP" || true) not ok in ${SECONDS}s ($(rel "$TAP"))"
! grep -q '^not ok ' "$TAP"
