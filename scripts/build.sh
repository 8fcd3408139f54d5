#!/bin/bash
# make build: configure build/qemu once with config.mk's flags, then ninja.
# SANITIZERS=1 (make build-sanitizers): the same in a second build
# directory, build/qemu/build-san, with ASan and UBSan.
# QEMU_SRC=DIR QEMU_BUILD_DIR=DIR configures another source tree the same
# way, out of tree (make check's pristine build: build/src/pristine, the
# tree's first commit, in build/qemu-pristine); BUILD_TARGETS names the
# ninja targets (default: all), BUILD_LOGS where the logs go.
# ccache is used when installed (never required).
# SPDX-License-Identifier: GPL-2.0-or-later

. "$(dirname "$0")/lib.sh"
: "${QEMU_CONFIGURE_FLAGS:?}"

src=${QEMU_SRC:-$TREE}
[ -x "$src/configure" ] || die "no $src/configure: run make tree"
if [ -d /usr/lib/ccache ]; then
    export PATH=/usr/lib/ccache:$PATH
fi
python=$TOOLS_DIR/venv/bin/python3
[ -x "$python" ] || python=/usr/bin/python3
flags="$QEMU_CONFIGURE_FLAGS --python=$python"
logs=${BUILD_LOGS:-$BUILD}
targets=${BUILD_TARGETS:-}
mkdir -p "$logs"
if [ -n "${SANITIZERS:-}" ]; then
    QBUILD=$QBUILD_SAN
    flags="$flags $QEMU_SANITIZER_FLAGS"
    logs=$BUILD/san
    mkdir -p "$logs"
    # Only what the iotests and the guest scenarios run: about half of
    # the build (no unit tests, qtests or other helpers).
    targets="qemu-system-x86_64 qemu-img qemu-io qemu-nbd
             storage-daemon/qemu-storage-daemon"
fi

mkdir -p "$QBUILD"
if [ "$(cat "$QBUILD/.configured" 2>/dev/null)" != "$flags" ] ||
   [ ! -f "$QBUILD/build.ninja" ]; then
    log "build: configure $flags"
    # shellcheck disable=SC2086   # flags are words
    (cd "$QBUILD" && "$src/configure" $flags) >"$logs/configure.log" 2>&1 ||
        { tail -n 30 "$logs/configure.log" >&2; die "configure failed (see $logs/configure.log)"; }
    echo "$flags" > "$QBUILD/.configured"
fi
log "build: ninja -C $QBUILD"
SECONDS=0
# shellcheck disable=SC2086   # targets are words
if ! ninja -C "$QBUILD" ${NINJA_JOBS:+-j "$NINJA_JOBS"} $targets >"$logs/ninja.log" 2>&1; then
    grep -v '^\[[0-9]*/[0-9]*\]' "$logs/ninja.log" | tail -n 40 >&2
    die "build failed (see $logs/ninja.log)"
fi
tail -n 1 "$logs/ninja.log" >&2
log "build: ninja took ${SECONDS}s"
