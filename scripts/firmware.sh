#!/bin/bash
# Firmware for the built QEMU: Debian's source has no blobs.  BIOS images
# come from seabios of the version the pinned QEMU depends on, and the
# option ROMs (kvmvapic.bin, linuxboot_dma.bin, ...) from qemu-system-data
# of the pinned version, both unpacked under build/; NIC ROMs from the
# machine's ipxe-qemu (an unversioned dependency).  They are linked into
# the build's qemu-bundle data directory, which the binary searches by
# itself, so neither QEMU nor its test harness is changed, and into
# build/firmware for anyone who prefers -L.  SANITIZERS=1: the same for build/qemu/build-san.
# SPDX-License-Identifier: GPL-2.0-or-later

. "$(dirname "$0")/lib.sh"
: "${QEMU_DEB_VERSION:?}" "${SEABIOS_DEB_VERSION:?}"

[ -z "${SANITIZERS:-}" ] || QBUILD=$QBUILD_SAN
bundle=$QBUILD/qemu-bundle/usr/local/share/qemu
[ -d "$QBUILD" ] || die "no $QBUILD: run make build"

# unpack PKG VERSION: the package's files under FW_DIR/PKG, once per version
unpack() {
    local pkg=$1 ver=$2 deb
    [ "$(cat "$FW_DIR/$pkg/.version" 2>/dev/null)" = "$ver" ] && return 0
    deb=$(apt_private_download "$pkg" "$ver" "$FW_DIR/debs")
    rm -rf "$FW_DIR/$pkg" "$FW_DIR/$pkg.tmp"
    dpkg-deb -x "$deb" "$FW_DIR/$pkg.tmp"
    echo "$ver" >"$FW_DIR/$pkg.tmp/.version"
    mv "$FW_DIR/$pkg.tmp" "$FW_DIR/$pkg"
}
unpack qemu-system-data "$QEMU_DEB_VERSION"
unpack seabios "$SEABIOS_DEB_VERSION"

mkdir -p "$FW_DIR/share" "$bundle"
n=0
for f in "$FW_DIR"/seabios/usr/share/seabios/*.bin /usr/lib/ipxe/qemu/*.rom \
         "$FW_DIR"/qemu-system-data/usr/share/qemu/*; do
    [ -f "$f" ] || continue
    name=${f##*/}
    ln -sfn "$f" "$FW_DIR/share/$name"
    # What the build installed itself (keymaps, descriptors) stays.
    if [ ! -e "$bundle/$name" ] || [ -L "$bundle/$name" ]; then
        ln -sfn "$f" "$bundle/$name"
        n=$((n + 1))
    fi
done
for need in bios-256k.bin kvmvapic.bin linuxboot_dma.bin efi-virtio.rom; do
    [ -e "$bundle/$need" ] || die "firmware $need missing (make deps installs ipxe-qemu)"
done
log "firmware: $n files linked into $bundle"
