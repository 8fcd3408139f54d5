#!/bin/bash
# make check: every suite against the built QEMU, each writing TAP lines
# ("ok ...", "not ok ...", "ok ... # SKIP") into build/check/<suite>.tap,
# then one summary line: "N passed, N failed[, N skipped]".
#
# CHECK_SUITES="iotests-raw project" runs only the named suites.
# SPDX-License-Identifier: GPL-2.0-or-later

. "$(dirname "$0")/lib.sh"

OUT=$BUILD/check
IOTESTS_SRC=$TREE/tests/qemu-iotests
ALL_SUITES="project qtest guest libvirt libvirt-e2e iotests-raw iotests-qcow2 sanitizers"
SUITES=${CHECK_SUITES:-$ALL_SUITES}

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
    known_failures "$OUT/$suite.tap"
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

# Failures of the pinned source itself (tests/known-failures) become
# skips that say why; the diff stays in the suite's output.log.
known_failures() {
    local tap=$1 fmt name reason
    while read -r fmt name reason; do
        case $fmt in ''|'#'*) continue ;; esac
        sed -i "s|^not ok $fmt $name\$|ok $fmt $name # SKIP known failure: $reason|" "$tap"
    done <"$TOP/tests/known-failures"
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

for suite in $SUITES; do
    SECONDS=0
    case $suite in
    iotests-raw)
        # shellcheck disable=SC2046
        run_iotests "$suite" raw $(named_iotests)
        ;;
    iotests-qcow2)
        # shellcheck disable=SC2046
        run_iotests "$suite" qcow2 -g quick $(named_iotests)
        ;;
    qtest)
        # qmp-cmd-test runs every argument-less query, query-drive-reopen
        # among them, on -machine none.
        log "check: qtest qmp-cmd-test"
        (cd "$QBUILD" && QTEST_QEMU_BINARY=./qemu-system-x86_64 \
            "$TOP/scripts/bounded.py" qtest 120 -- \
            tests/qtest/qmp-cmd-test --tap -k) >"$OUT/qtest.log" 2>&1 || true
        sed -n 's|^\(not \)\?ok [0-9]* |&qtest |p' "$OUT/qtest.log" >"$OUT/qtest.tap"
        grep '^not ok qtest timed out' "$OUT/qtest.log" >>"$OUT/qtest.tap" || true
        planned=$(sed -n 's/^1\.\.\([0-9]*\)$/\1/p' "$OUT/qtest.log" | head -n 1)
        if [ -z "$planned" ] || [ "$(wc -l <"$OUT/qtest.tap")" != "$planned" ]; then
            echo "not ok qtest harness: planned ${planned:-nothing}" >>"$OUT/qtest.tap"
        fi
        grep -E '^not ok ' "$OUT/qtest.tap" >&2 || true
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
        # The series' iotests and scenario 1 on the ASan/UBSan build.
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
        log "check: sanitizers: scenario 1 (PIVOTS=${SAN_PIVOTS:=52})"
        QEMU=$QBUILD_SAN/qemu-system-x86_64 PIVOTS=$SAN_PIVOTS TIMEOUT_SCALE=3 \
            RESULTS=$OUT/sanitizers-results.jsonl \
            "$TOP/tests/guest/run.sh" pingpong >"$OUT/sanitizers-guest.log" 2>&1 || true
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
done

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
    printf '  %-16s %s\n' "$(basename "$t" .tap)" \
        "$(grep -c '^ok ' "$t" || true) ok, $(grep -c '^not ok ' "$t" || true) not ok"
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
