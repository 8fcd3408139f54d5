#!/bin/bash
# make check-patches: every patch in patches/series passes QEMU's
# scripts/checkpatch.pl (no ERROR; WARNINGs are printed, and fail with
# STRICT=1), and the series applies with git am, in order, to a fresh copy
# of the pristine source.  BUILD_EACH=1 also builds every prefix of the
# series there (one cold build, then incremental ones).
# make libvirt-check-patches runs it on the libvirt series (TREE, PRISTINE
# and PATCHES in the environment, see lib.sh) with PATCH_CHECK=syntax-check:
# instead of checkpatch.pl, libvirt's own syntax-check (meson test --suite
# syntax-check) passes on the tree after each patch.
# SPDX-License-Identifier: GPL-2.0-or-later

. "$(dirname "$0")/lib.sh"

PATCH_CHECK=${PATCH_CHECK:-checkpatch}
case $PATCH_CHECK in
checkpatch|syntax-check) ;;
*) die "PATCH_CHECK=$PATCH_CHECK: checkpatch or syntax-check" ;;
esac
[ -d "$PRISTINE" ] || die "no pristine source: run make ${TARGET_PREFIX}source"

mapfile -t series < <(sed -e 's/#.*//' -e 's/[[:space:]]*$//' -e '/^$/d' \
                          "$PATCHES/series" 2>/dev/null || true)
bad=0

# 1. checkpatch.pl, run from the pristine tree so it knows it is in QEMU.
checkpatch_one() {
    local p=$1 out rc=0
    out=$(cd "$PRISTINE" && perl scripts/checkpatch.pl --no-color "$p" 2>&1) || rc=$?
    if [ $rc != 0 ]; then
        printf '%s\n' "$out" >&2
        echo "checkpatch: FAIL $(basename "$p")" >&2
        return 1
    fi
    if grep -q '^WARNING' <<<"$out"; then
        printf '%s\n' "$out" | grep -A3 '^WARNING' >&2
        if [ -n "${STRICT:-}" ]; then
            echo "checkpatch: FAIL (STRICT) $(basename "$p")" >&2
            return 1
        fi
        echo "checkpatch: warnings in $(basename "$p")" >&2
    else
        echo "checkpatch: ok $(basename "$p")" >&2
    fi
}

for p in "${series[@]}"; do
    if [ ! -f "$PATCHES/$p" ]; then
        echo "series: $(rel "$PATCHES/$p") does not exist" >&2
        bad=1
        continue
    fi
    if [ "$PATCH_CHECK" = checkpatch ]; then
        checkpatch_one "$PATCHES/$p" || bad=1
    fi
done

# 2. The series applies, in order, to the pristine source.
work=$BUILD/${TARGET_PREFIX}check-patches
rm -rf "$work"
cp -a "$PRISTINE" "$work"
printf '/build/\n' >"$work/.gitignore.local"
git -C "$work" init -q
# No background "gc --auto" racing with git am (see make-tree.sh).
git -C "$work" config gc.auto 0
git -C "$work" config maintenance.auto false
git -C "$work" config core.excludesFile .gitignore.local
git -C "$work" add -A
git -C "$work" -c user.name=pipeline -c user.email=pipeline@localhost \
    commit -q --no-verify -m pristine
for p in "${series[@]}"; do
    [ -f "$PATCHES/$p" ] || continue
    if ! git -C "$work" -c user.name=pipeline -c user.email=pipeline@localhost \
            am -q "$PATCHES/$p" >"$work/.am.log" 2>&1; then
        cat "$work/.am.log" >&2
        echo "apply: FAIL $(rel "$PATCHES/$p") does not apply" >&2
        bad=1
        break
    fi
    echo "apply: ok $p" >&2
done

# 3. Optionally, every prefix of the series builds (QEMU's).
if [ -n "${BUILD_EACH:-}" ] && [ "$PATCH_CHECK" = checkpatch ] && [ $bad = 0 ] &&
   [ ${#series[@]} -gt 0 ]; then
    python=$TOOLS_DIR/venv/bin/python3
    [ -x "$python" ] || python=/usr/bin/python3
    [ -d /usr/lib/ccache ] && export PATH=/usr/lib/ccache:$PATH
    n=${#series[@]}
    tip=$(git -C "$work" rev-parse HEAD)
    for ((i = n - 1; i >= 0; i--)); do
        git -C "$work" checkout -q "$tip~$i"
        if [ ! -f "$work/build/build.ninja" ]; then
            mkdir -p "$work/build"
            # shellcheck disable=SC2086
            (cd "$work/build" && ../configure $QEMU_CONFIGURE_FLAGS --python=$python) \
                >"$work/configure.log" 2>&1 || { tail -20 "$work/configure.log" >&2; bad=1; break; }
        fi
        if ninja -C "$work/build" >"$work/ninja.log" 2>&1; then
            echo "build: ok after ${series[n - 1 - i]}" >&2
        else
            grep -v '^\[' "$work/ninja.log" | tail -30 >&2
            echo "build: FAIL after ${series[n - 1 - i]}" >&2
            bad=1
            break
        fi
    done
fi

# 4. libvirt: syntax-check after each patch.  It checks the files that
# git ls-tree lists for HEAD, which in upstream's git are neither debian/
# nor the keycodemapdb submodule's: those (which fail 14 of its rules as
# they are) are left out as upstream's checkout leaves them out.
syntax_check_each() {
    local n=${#series[@]} tip i
    libvirt_tools_env
    # shellcheck disable=SC2086   # options are words
    locked "${MESON[@]}" setup $LIBVIRT_MESON_OPTIONS "$work/build" "$work" \
        >"$work/configure.log" 2>&1 ||
        { tail -n 20 "$work/configure.log" >&2; echo "syntax-check: meson setup failed" >&2; return 1; }
    tip=$(git -C "$work" rev-parse HEAD)
    for ((i = n - 1; i >= 0; i--)); do
        git -C "$work" checkout -q "$tip~$i"
        # The generated sources its po check reads, then the rules.
        if ! locked ninja -C "$work/build" -j "$NINJA_JOBS" libvirt-pot-dep \
                >"$work/ninja.log" 2>&1; then
            grep -v '^\[' "$work/ninja.log" | tail -n 20 >&2
            echo "syntax-check: FAIL after ${series[n - 1 - i]}: the generated sources do not build" >&2
            return 1
        fi
        if ! MAKEFLAGS='VC_LIST_ALWAYS_EXCLUDE_REGEX=^(debian|subprojects/keycodemapdb)/|[.](po|ico|png)$$' \
                locked "${MESON[@]}" test -C "$work/build" --no-rebuild --num-processes 2 \
                --print-errorlogs --suite syntax-check >"$work/syntax-check.log" 2>&1; then
            # The failed rules with what they found.
            grep -vE '^ *[0-9]+/[0-9]+ .* OK |^>>> |^make(\[[0-9]+\])?: (Entering|Leaving)' \
                "$work/syntax-check.log" | sed '/^Summary of Failures:/,$d' | head -n 60 >&2
            echo "syntax-check: FAIL after ${series[n - 1 - i]}" >&2
            return 1
        fi
        echo "syntax-check: ok after ${series[n - 1 - i]}" >&2
    done
}
if [ "$PATCH_CHECK" = syntax-check ] && [ $bad = 0 ] && [ ${#series[@]} -gt 0 ]; then
    syntax_check_each || bad=1
fi

[ $bad = 0 ] && rm -rf "$work"
if [ $bad != 0 ]; then
    die "check-patches failed"
fi
if [ "$PATCH_CHECK" = checkpatch ]; then
    log "check-patches: ${#series[@]} patch(es): checkpatch clean, series applies"
else
    log "check-patches: ${#series[@]} patch(es): series applies, syntax-check clean after each"
fi
