#!/bin/bash
# make build: configure build/qemu once with config.mk's flags, then ninja.
# ccache is used when installed (never required).
# SPDX-License-Identifier: GPL-2.0-or-later

. "$(dirname "$0")/lib.sh"
: "${QEMU_CONFIGURE_FLAGS:?}"

[ -d "$TREE/.git" ] || die "no $TREE: run make tree"
if [ -d /usr/lib/ccache ]; then
    export PATH=/usr/lib/ccache:$PATH
fi
python=$TOOLS_DIR/venv/bin/python3
[ -x "$python" ] || python=/usr/bin/python3
flags="$QEMU_CONFIGURE_FLAGS --python=$python"

mkdir -p "$QBUILD"
if [ "$(cat "$QBUILD/.configured" 2>/dev/null)" != "$flags" ] ||
   [ ! -f "$QBUILD/build.ninja" ]; then
    log "build: configure $flags"
    # shellcheck disable=SC2086   # flags are words
    (cd "$QBUILD" && ../configure $flags) >"$BUILD/configure.log" 2>&1 ||
        { tail -n 30 "$BUILD/configure.log" >&2; die "configure failed (see $BUILD/configure.log)"; }
    echo "$flags" > "$QBUILD/.configured"
fi
log "build: ninja -C $QBUILD"
SECONDS=0
if ! ninja -C "$QBUILD" ${NINJA_JOBS:+-j "$NINJA_JOBS"} >"$BUILD/ninja.log" 2>&1; then
    grep -v '^\[[0-9]*/[0-9]*\]' "$BUILD/ninja.log" | tail -n 40 >&2
    die "build failed (see $BUILD/ninja.log)"
fi
tail -n 1 "$BUILD/ninja.log" >&2
log "build: ninja took ${SECONDS}s"
