#!/bin/bash
# make check-patches: every patch in patches/series passes QEMU's
# scripts/checkpatch.pl (no ERROR; WARNINGs are printed, and fail with
# STRICT=1), and the series applies with git am, in order, to a fresh copy
# of the pristine source.  BUILD_EACH=1 also builds every prefix of the
# series there (one cold build, then incremental ones).
# TREE, PRISTINE and PATCHES in the environment name another series (see
# lib.sh).
# SPDX-License-Identifier: GPL-2.0-or-later

. "$(dirname "$0")/lib.sh"

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
    checkpatch_one "$PATCHES/$p" || bad=1
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

# 3. Optionally, every prefix of the series builds.
if [ -n "${BUILD_EACH:-}" ] && [ $bad = 0 ] && [ ${#series[@]} -gt 0 ]; then
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

[ $bad = 0 ] && rm -rf "$work"
if [ $bad != 0 ]; then
    die "check-patches failed"
fi
log "check-patches: ${#series[@]} patch(es): checkpatch clean, series applies"
