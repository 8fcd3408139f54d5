#!/bin/bash
# make libvirt-build: configure build/libvirt/build once with config.mk's
# LIBVIRT_MESON_OPTIONS (again, from scratch, when they change), then ninja.
# meson is build/tools' (make tools).  Every compile runs under
# flock BUILD_LOCK so that it never overlaps another build of the
# pipeline's on this 2-core machine, with ninja -j2 (NINJA_JOBS).
# SPDX-License-Identifier: GPL-2.0-or-later

. "$(dirname "$0")/lib.sh"
: "${LIBVIRT_MESON_OPTIONS:?}" "${LIBVIRT_TREE:?}"

LBUILD=$LIBVIRT_TREE/build
[ -d "$LIBVIRT_TREE/.git" ] || die "no $LIBVIRT_TREE: run make libvirt-tree"
libvirt_tools_env
logs=$BUILD/libvirt-logs
mkdir -p "$logs"

# meson's own path is part of the configuration: a new venv reconfigures.
flags="$LIBVIRT_MESON_OPTIONS (meson ${MESON[*]})"
if [ "$(cat "$LBUILD/.configured" 2>/dev/null)" != "$flags" ] ||
   [ ! -f "$LBUILD/build.ninja" ]; then
    # From scratch: an option dropped from config.mk must not keep its
    # old value, as it would with meson setup --reconfigure.
    rm -rf "$LBUILD"
    log "libvirt-build: meson setup $LIBVIRT_MESON_OPTIONS"
    SECONDS=0
    # shellcheck disable=SC2086   # options are words
    locked "${MESON[@]}" setup $LIBVIRT_MESON_OPTIONS "$LBUILD" "$LIBVIRT_TREE" \
        >"$logs/configure.log" 2>&1 ||
        { tail -n 30 "$logs/configure.log" >&2; die "meson setup failed (see $logs/configure.log)"; }
    echo "$flags" >"$LBUILD/.configured"
    log "libvirt-build: meson setup took ${SECONDS}s"
fi
log "libvirt-build: ninja -C $LBUILD -j$NINJA_JOBS"
SECONDS=0
if ! locked ninja -C "$LBUILD" -j "$NINJA_JOBS" >"$logs/ninja.log" 2>&1; then
    grep -v '^\[[0-9]*/[0-9]*\]' "$logs/ninja.log" | tail -n 40 >&2
    die "libvirt build failed (see $logs/ninja.log)"
fi
tail -n 1 "$logs/ninja.log" >&2
log "libvirt-build: ninja took ${SECONDS}s"
