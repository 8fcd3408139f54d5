#!/bin/bash
# make source: the pinned QEMU source package, fetched through apt with the
# private configuration, verified by apt, unpacked with Debian's patches
# applied.  With QEMU_SRC=<tarball or tree> the download is skipped.
# SPDX-License-Identifier: GPL-2.0-or-later

. "$(dirname "$0")/lib.sh"
: "${QEMU_DEB_VERSION:?}" "${DEB_SUITE:?}"

PRISTINE=$SRC_DIR/pristine
STAMP=$SRC_DIR/pristine.stamp

if [ -n "${QEMU_SRC:-}" ]; then
    want="override:$(realpath "$QEMU_SRC")"
else
    want="debian:$QEMU_DEB_VERSION"
fi
if [ -d "$PRISTINE" ] && [ "$(cat "$STAMP" 2>/dev/null)" = "$want" ]; then
    log "source: $want already unpacked in $PRISTINE"
    exit 0
fi
rm -rf "$PRISTINE" "$STAMP"
mkdir -p "$SRC_DIR"

if [ -n "${QEMU_SRC:-}" ]; then
    log "source: using QEMU_SRC=$QEMU_SRC instead of Debian's package"
    if [ -d "$QEMU_SRC" ]; then
        mkdir -p "$PRISTINE"
        (cd "$QEMU_SRC" && tar --exclude=./.git --exclude=./build \
            --exclude=./.pc -cf - .) | tar -C "$PRISTINE" -xf -
    elif [ -f "$QEMU_SRC" ]; then
        tmp=$SRC_DIR/override.tmp
        rm -rf "$tmp" && mkdir -p "$tmp"
        tar -C "$tmp" -xf "$QEMU_SRC"
        top=$(find "$tmp" -mindepth 1 -maxdepth 1)
        [ "$(echo "$top" | wc -l)" = 1 ] && [ -d "$top" ] ||
            die "$QEMU_SRC does not unpack to one directory"
        mv "$top" "$PRISTINE" && rmdir "$tmp"
    else
        die "QEMU_SRC=$QEMU_SRC is neither a tarball nor a directory"
    fi
    [ -f "$PRISTINE/VERSION" ] || die "$QEMU_SRC does not look like QEMU's source"
    echo "$want" > "$STAMP"
    exit 0
fi

command -v dpkg-source >/dev/null || die "dpkg-source missing: run make deps"
apt_private_setup
apt_private_ensure_lists

dsc_name="qemu_${QEMU_DEB_VERSION#*:}.dsc"
if [ ! -f "$SRC_DIR/$dsc_name" ]; then
    if ! apt_private_has_source qemu "$QEMU_DEB_VERSION"; then
        newest=$(apt_private_source_versions qemu | grep -E '^(1:)?10\.0\.' |
                 sort -V | tail -n 1 || true)
        die "qemu $QEMU_DEB_VERSION has left $DEB_SUITE.
       Newest 10.0.x there: ${newest:-none}.
       To re-pin: set QEMU_DEB_VERSION := ${newest:-<version>} in config.mk
       (and check that patches/ still applies: make check-patches),
       or build from an upstream tarball: make QEMU_SRC=qemu-10.0.13.tar.xz ..."
    fi
    log "source: apt-get source qemu=$QEMU_DEB_VERSION"
    (cd "$SRC_DIR" && apt-get -qq source --download-only "qemu=$QEMU_DEB_VERSION" >&2)
fi

log "source: dpkg-source -x (with Debian's patches)"
rm -rf "$SRC_DIR/unpack.tmp"
(cd "$SRC_DIR" && dpkg-source -q -x "$dsc_name" unpack.tmp >&2)
rm -rf "$SRC_DIR/unpack.tmp/.pc"
mv "$SRC_DIR/unpack.tmp" "$PRISTINE"
echo "$want" > "$STAMP"
log "source: $(cat "$PRISTINE/VERSION") in $PRISTINE"
