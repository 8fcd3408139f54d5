#!/bin/bash
# make check: every suite against the built QEMU, each writing TAP lines
# ("ok ...", "not ok ...", "ok ... # SKIP") into build/check/<suite>.tap,
# then one summary line: "N passed, N failed[, N skipped]".
#
# CHECK_SUITES="iotests-raw project" runs only the named suites; "qemu"
# stands for QEMU's own suites (make check-qemu).  A test of QEMU's that
# fails is run again on a build of the pristine source (the first commit
# of build/qemu): one that fails there too is reported as a skip that says
# so, one that passes there stays a failure.
# SPDX-License-Identifier: GPL-2.0-or-later

. "$(dirname "$0")/lib.sh"

OUT=$BUILD/check
IOTESTS_SRC=$TREE/tests/qemu-iotests
QEMU_SUITES="qemu-unit qemu-qtest iotests-raw iotests-qcow2"
ALL_SUITES="project $QEMU_SUITES guest libvirt libvirt-e2e sanitizers"
# shellcheck disable=SC2086   # suite names are words
SUITES=$(for s in ${CHECK_SUITES:-$ALL_SUITES}; do
             if [ "$s" = qemu ]; then echo $QEMU_SUITES; else echo "$s"; fi
         done)
PBUILD=$BUILD/qemu-pristine   # the pristine source's build, for comparisons
# The qtests of the block layer and of the devices and monitors the series
# changes: every x86_64 qtest whose name says block, drive, disk, scsi,
# virtio, cdrom or a disk controller, plus the QMP and HMP ones.
QEMU_QTESTS="qos-test drive_del-test cdrom-test device-plug-test qmp-cmd-test
    qmp-test test-hmp qom-test hd-geo-test ahci-test ide-test fdc-test
    fuzz-virtio-scsi-test fuzz-megasas-test
    fuzz-lsi53c895a-test virtio-balloon-test virtio-net-failover
    boot-order-test"

rm -rf "$OUT"
mkdir -p "$OUT"

# The series' own iotests: every named test whose group line says "pivot".
series_iotests() {
    grep -l '^# group:.*\bpivot\b' "$IOTESTS_SRC"/tests/* 2>/dev/null |
        xargs -r -n1 basename | sort || true
}

# run_iotests SUITE FORMAT ARGS...: QEMU's own harness, unchanged, from a
# scratch directory so that neither the source tree nor build/ is written.
# QBUILD selects the build directory whose binaries it tests.  Each test
# has IOTEST_TIMEOUT seconds (scripts/bounded.py --iotests): one that hangs
# is reported by name, killed with its QEMUs, and the rest still run.
IOTEST_TIMEOUT=${IOTEST_TIMEOUT:-300}
# The groups of QEMU's iotests that run for raw and for qcow2, besides the
# named ones: "auto", what QEMU's own make check-block runs.
IOTESTS_GROUPS=${IOTESTS_GROUPS:-auto}
run_iotests() {
    local suite=$1 fmt=$2 scratch sock
    shift 2
    scratch=$OUT/$suite
    sock=$(mktemp -d /tmp/iotests-sock.XXXXXX)
    mkdir -p "$scratch/scratch"
    log "check: $suite: ./check -$fmt $*"
    (
        cd "$scratch" &&
        PYTHONDONTWRITEBYTECODE=1 TEST_DIR=$scratch/scratch SOCK_DIR=$sock \
            "$TOP/scripts/bounded.py" --iotests "$IOTEST_TIMEOUT" -- \
                "$QBUILD/tests/qemu-iotests/check" "-$fmt" "$@"
    ) >"$scratch/output.log" 2>&1 || true
    rm -rf "$sock"
    grep -E '^(not )?ok ' "$scratch/output.log" >"$OUT/$suite.tap" || true
    # check -tap says "# SKIP" without the reason it has for "[not run]"
    "$TOP/scripts/qemu_suites.py" iotests-skips "$OUT/$suite.tap" "$scratch/scratch"
    grep -E '^not ok ' "$OUT/$suite.tap" >&2 || true
    # A harness that stopped early (missing binary, bad argument) ran
    # fewer tests than it announced: that is a failure too.
    local planned ran
    planned=$(sed -n 's/^1\.\.\([0-9]*\)$/\1/p' "$scratch/output.log" | head -n 1)
    ran=$(wc -l <"$OUT/$suite.tap")
    if [ -z "$planned" ] || [ "$ran" != "$planned" ]; then
        echo "not ok $suite harness: planned ${planned:-nothing}, reported $ran" >>"$OUT/$suite.tap"
        tail -n 20 "$scratch/output.log" >&2
    fi
}

# run_meson SUITE BUILDDIR LIMIT ARGS...: QEMU's own `meson test`, with
# the timeout of each test that QEMU's meson.build gives it (times
# MESON_TIMEOUT_MULTIPLIER) and LIMIT seconds for the whole run; one TAP
# line per subtest in OUT/SUITE.tap.
run_meson() {
    local suite=$1 qbuild=$2 limit=$3 dir
    shift 3
    dir=$OUT/$suite
    mkdir -p "$dir"
    log "check: $suite: meson test $*"
    (
        cd "$qbuild" &&
        "$TOP/scripts/bounded.py" "$suite" "$limit" -- pyvenv/bin/meson test \
            --no-rebuild --print-errorlogs --logbase "$dir/testlog" \
            --timeout-multiplier "${MESON_TIMEOUT_MULTIPLIER:-2}" "$@"
    ) >"$dir/output.log" 2>&1 || true
    "$TOP/scripts/qemu_suites.py" tap "$suite" "$dir/testlog.json" \
        >"$OUT/$suite.tap" 2>>"$dir/output.log" || true
    grep "^not ok $suite timed out after" "$dir/output.log" >>"$OUT/$suite.tap" || true
    [ -s "$OUT/$suite.tap" ] ||
        echo "not ok $suite: no result (see $dir/output.log)" >"$OUT/$suite.tap"
    grep -E '^not ok ' "$OUT/$suite.tap" >&2 || true
}

# check names tests by file name, not by path.
mirror_iotests() {
    (cd "$IOTESTS_SRC/tests" && ls -d mirror-* | grep -v '\.out')
}

# QEMU's mirror tests and the series' own, each once.
named_iotests() {
    { echo 041; mirror_iotests; series_iotests; } | sort -u
}

# tap_of LOG SUITE: the TAP lines of a log, or a failure if there are none.
tap_of() {
    grep -E '^(not )?ok ' "$1" >"$OUT/$2.tap" || true
    grep -E '^not ok ' "$OUT/$2.tap" >&2 || true
    # Where a run that timed out waited: its stacks and last lines
    if grep -q '^not ok .*timed out after' "$OUT/$2.tap"; then
        grep -B 40 -A 21 '^not ok .*timed out after' "$1" | sed 's/^/#   /' >&2
    fi
    [ -s "$OUT/$2.tap" ] || echo "not ok $2: no result (see $1)" >"$OUT/$2.tap"
}

declare -A took=()
for suite in $SUITES; do
    SECONDS=0
    case $suite in
    iotests-raw|iotests-qcow2)
        # shellcheck disable=SC2046
        run_iotests "$suite" "${suite#iotests-}" -g "$IOTESTS_GROUPS" $(named_iotests)
        ;;
    qemu-unit)
        # QEMU's unit tests, all of them (test-bdrv-drain, test-blockjob,
        # test-block-iothread, ...)
        run_meson "$suite" "$QBUILD" 2400 --suite unit
        ;;
    qemu-qtest)
        # The block and device qtests, in the environment meson gives them
        # (QTEST_QEMU_BINARY, QTEST_QEMU_IMG, the storage daemon)
        # shellcheck disable=SC2046
        run_meson "$suite" "$QBUILD" 2400 $(printf 'qtest-x86_64/%s ' $QEMU_QTESTS)
        ;;
    project)
        log "check: project tests (tests/)"
        "$TOP/scripts/bounded.py" project 3600 -- "$TOP/tests/run.sh" \
            >"$OUT/project.log" 2>&1 || true
        grep -E '^(not )?ok ' "$OUT/project.log" >"$OUT/project.tap" || true
        # A failure with the diagnostics its test printed after it.
        awk '/^not ok /{p=1; print; next} p && /^#  /{print; next} {p=0}' \
            "$OUT/project.log" >&2
        [ -s "$OUT/project.tap" ] || echo "not ok project: no result" >"$OUT/project.tap"
        ;;
    guest)
        # The real-guest scenarios (tests/guest/run.sh), and their table
        log "check: real-guest scenarios (tests/guest)"
        RESULTS=$OUT/guest-results.jsonl "$TOP/scripts/bounded.py" guest 3000 -- \
            "$TOP/tests/guest/run.sh" \
            >"$OUT/guest.log" 2>&1 || true
        tap_of "$OUT/guest.log" guest
        grep '^# ' "$OUT/guest.log" | sed -n '/scenario  *pivots/,$p' \
            | sed 's/^# //' >"$OUT/guest.table"
        ;;
    libvirt)
        # libvirt's QEMU driver unit tests, with the libvirt series
        log "check: libvirt unit tests (scripts/libvirt-check.sh)"
        LIBVIRT_TAP=$OUT/libvirt.tap "$TOP/scripts/bounded.py" libvirt 600 -- \
            "$TOP/scripts/libvirt-check.sh" >"$OUT/libvirt-check.log" 2>&1 || true
        grep '^not ok libvirt timed out' "$OUT/libvirt-check.log" >>"$OUT/libvirt.tap" || true
        [ -s "$OUT/libvirt.tap" ] ||
            echo "not ok libvirt: no result (see $OUT/libvirt-check.log)" >"$OUT/libvirt.tap"
        grep -E '^not ok ' "$OUT/libvirt.tap" >&2 || true
        ;;
    libvirt-e2e)
        # virtqemud from the libvirt build drives the patched QEMU with the
        # test guest: blockcopy --pivot, and a restart in the pivot's window
        log "check: libvirt end-to-end (tests/libvirt)"
        "$TOP/scripts/bounded.py" libvirt-e2e 700 -- "$TOP/tests/libvirt/run.sh" \
            >"$OUT/libvirt-e2e.log" 2>&1 || true
        tap_of "$OUT/libvirt-e2e.log" libvirt-e2e
        sed -i 's/^\(not \)\?ok /&libvirt-e2e: /' "$OUT/libvirt-e2e.tap"
        grep '^# MISMATCH' "$OUT/libvirt-e2e.log" >&2 || true
        ;;
    sanitizers)
        # The series' iotests and scenarios 1 and 8 on the ASan/UBSan build.
        # Reports go to files: any file there is a failure.
        [ -x "$QBUILD_SAN/qemu-system-x86_64" ] ||
            die "no $QBUILD_SAN: make build-sanitizers"
        san_logs=$OUT/sanitizer-reports
        mkdir -p "$san_logs"
        # ucontext coroutines make ASan warn once per process: only errors
        # count.
        export ASAN_OPTIONS="log_path=$san_logs/asan:log_exe_name=1:detect_leaks=1:fast_unwind_on_malloc=0"
        export UBSAN_OPTIONS="log_path=$san_logs/ubsan:print_stacktrace=1"
        export LSAN_OPTIONS="suppressions=$TOP/tests/sanitizers/lsan.supp:print_suppressions=0"
        # shellcheck disable=SC2046
        QBUILD=$QBUILD_SAN IOTEST_TIMEOUT=600 run_iotests sanitizers-iotests raw $(series_iotests)
        log "check: sanitizers: scenarios 1 and 8 (PIVOTS=${SAN_PIVOTS:=52}, SET_PIVOTS=${SAN_SET_PIVOTS:=8})"
        QEMU=$QBUILD_SAN/qemu-system-x86_64 PIVOTS=$SAN_PIVOTS \
            SET_PIVOTS=$SAN_SET_PIVOTS TIMEOUT_SCALE=3 \
            RESULTS=$OUT/sanitizers-results.jsonl \
            "$TOP/tests/guest/run.sh" pingpong set >"$OUT/sanitizers-guest.log" 2>&1 || true
        tap_of "$OUT/sanitizers-guest.log" sanitizers-guest
        sed -i 's/^\(not \)\?ok /&sanitizers: /' "$OUT/sanitizers-guest.tap"
        unset ASAN_OPTIONS UBSAN_OPTIONS LSAN_OPTIONS
        # A canary: every instrumented QEMU writes ASan's warning about
        # ucontext coroutines there, so no file at all means that reports
        # would have been lost.
        if ! ldd "$QBUILD_SAN/qemu-system-x86_64" | grep -q libasan ||
           ! ls "$san_logs"/asan.qemu-system-x86_64.* >/dev/null 2>&1; then
            echo "not ok sanitizers: the ASan runtime wrote nothing to $san_logs" \
                >>"$OUT/sanitizers-reports.tap"
        fi
        for r in $(grep -lE 'ERROR: [A-Za-z]+Sanitizer|runtime error' \
                       "$san_logs"/* 2>/dev/null); do
            echo "not ok sanitizers: report $(basename "$r"): $(grep -m1 -E 'ERROR|runtime error' "$r")" \
                >>"$OUT/sanitizers-reports.tap"
            { grep -v WARNING "$r" | head -n 30 || true; } >&2
        done
        ;;
    *)
        die "unknown suite $suite (known: $ALL_SUITES)"
        ;;
    esac
    log "check: $suite took ${SECONDS}s"
    took[$suite]=$SECONDS
done

# The failures of QEMU's own tests, computed: each one runs again on a
# build of the pristine source (build/src/pristine, which is the tree's
# first commit), configured the same way in its own build directory
# (build/qemu-pristine), built only when there is something to compare and
# only with what the failing tests need.  A test that fails there too is
# a skip that says so; one that passes there stays a failure.
compare_with_pristine() {
    local suite first n=0 targets="" t
    local -A rerun=()
    first=$(git -C "$TREE" rev-list --max-parents=0 HEAD)
    for suite in $QEMU_SUITES; do
        [ -f "$OUT/$suite.tap" ] || continue
        t=""
        while read -r what name; do
            [ -n "$name" ] || continue
            case $suite in
            iotests-*)
                # Only QEMU's own: a test the series adds has nothing to
                # compare with
                [ "$what" = "${suite#iotests-}" ] || continue
                git -C "$TREE" cat-file -e "$first:tests/qemu-iotests/$name" 2>/dev/null ||
                    git -C "$TREE" cat-file -e "$first:tests/qemu-iotests/tests/$name" 2>/dev/null ||
                    continue
                ;;
            *)
                [ "$what" = "$suite" ] || continue
                ;;
            esac
            t="$t $name"
            n=$((n + 1))
        done < <("$TOP/scripts/qemu_suites.py" failed "$OUT/$suite.tap")
        [ -z "$t" ] || rerun[$suite]=$t
    done
    if [ "$n" = 0 ]; then
        log "check: no test of QEMU's failed: nothing to compare with the pristine source"
        return 0
    fi
    log "check: $n failing test(s) of QEMU's: again on the pristine commit ${first:0:12}"
    SECONDS=0
    mkdir -p "$OUT/pristine"
    if ! same_as_commit "$PRISTINE" "$first"; then
        echo "not ok pristine: $(rel "$PRISTINE") is not the tree's first commit ${first:0:12} (make tree)" \
            >"$OUT/pristine.tap"
        return 0
    fi
    # Configured as build/qemu/build is (build.sh), out of tree; then only
    # what the failing tests need is built
    local -x QEMU_SRC=$PRISTINE QEMU_BUILD_DIR=$PBUILD BUILD_LOGS=$OUT/pristine
    if ! BUILD_TARGETS=build.ninja "$TOP/scripts/build.sh" >"$OUT/pristine/build.log" 2>&1; then
        echo "not ok pristine: configure failed (see $OUT/pristine/build.log)" >"$OUT/pristine.tap"
        return 0
    fi
    for suite in "${!rerun[@]}"; do
        case $suite in
        iotests-*)
            targets="$targets qemu-system-x86_64 qemu-img qemu-io qemu-nbd
                     storage-daemon/qemu-storage-daemon" ;;
        *)
            # shellcheck disable=SC2086
            targets="$targets $("$TOP/scripts/qemu_suites.py" targets "$PBUILD" ${rerun[$suite]})" ;;
        esac
    done
    # shellcheck disable=SC2086
    targets=$(printf '%s\n' $targets | sort -u | tr '\n' ' ')
    if ! BUILD_TARGETS="$targets" "$TOP/scripts/build.sh" >>"$OUT/pristine/build.log" 2>&1 ||
       ! "$TOP/scripts/firmware.sh" >>"$OUT/pristine/build.log" 2>&1; then
        echo "not ok pristine: build failed (see $OUT/pristine/build.log)" >"$OUT/pristine.tap"
        return 0
    fi
    log "check: pristine build took ${SECONDS}s"
    for suite in "${!rerun[@]}"; do
        # shellcheck disable=SC2086
        (
            OUT=$OUT/pristine
            case $suite in
            iotests-*) QBUILD=$PBUILD run_iotests "$suite" "${suite#iotests-}" ${rerun[$suite]} ;;
            qemu-qtest) run_meson "$suite" "$PBUILD" 2400 $(printf 'qtest-x86_64/%s ' ${rerun[$suite]}) ;;
            *) run_meson "$suite" "$PBUILD" 2400 ${rerun[$suite]} ;;
            esac
        ) 2>&1 | sed 's/^/  pristine: /' >&2
        "$TOP/scripts/qemu_suites.py" compare "$OUT/$suite.tap" \
            "$OUT/pristine/$suite.tap" "pristine ${first:0:12}"
    done
}
case " $SUITES " in
*" qemu-"*|*" iotests-"*) compare_with_pristine ;;
esac

# Missing firmware shows as a warning in some test's output, or a diff.
if grep -rlE "could not load PC BIOS|failed to find romfile|rom: file " \
        "$OUT" --include='*.log' >"$OUT/firmware-warnings" 2>/dev/null; then
    sed 's/^/not ok firmware warning in /' "$OUT/firmware-warnings" >"$OUT/firmware.tap"
fi

cat "$OUT"/*.tap >"$OUT/all.tap"
skipped=$(grep -c '^ok .*# SKIP' "$OUT/all.tap" || true)
passed=$(( $(grep -c '^ok ' "$OUT/all.tap" || true) - skipped ))
failed=$(grep -c '^not ok ' "$OUT/all.tap" || true)
for t in "$OUT"/*.tap; do
    [ "$t" = "$OUT/all.tap" ] && continue
    s=$(grep -c '^ok .*# SKIP' "$t" || true)
    name=$(basename "$t" .tap)
    printf '  %-18s %5d passed, %d failed, %d skipped%s\n' "$name" \
        "$(( $(grep -c '^ok ' "$t" || true) - s ))" "$(grep -c '^not ok ' "$t" || true)" "$s" \
        "${took[$name]:+ (${took[$name]} s)}"
done
if [ -s "$OUT/guest.table" ]; then
    echo "real-guest scenarios:"
    sed 's/^/  /' "$OUT/guest.table"
fi
if [ "$failed" != 0 ]; then
    echo "failures (logs in $OUT):"
    grep '^not ok ' "$OUT/all.tap" | sed 's/^/  /'
fi
summary="$passed passed, $failed failed"
[ "$skipped" = 0 ] || summary="$summary, $skipped skipped"
echo "$summary"
[ "$failed" = 0 ] && [ "$passed" -gt 0 ]
