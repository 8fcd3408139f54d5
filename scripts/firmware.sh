#!/bin/bash
# Firmware for the built QEMU: Debian's source has no blobs.  BIOS images
# come from the seabios package, NIC ROMs from ipxe-qemu, and the option
# ROMs (kvmvapic.bin, linuxboot_dma.bin, ...) from qemu-system-data of the
# pinned version, unpacked under build/.  They are linked into the build's
# qemu-bundle data directory, which the binary searches by itself, so
# neither QEMU nor its test harness is changed, and into build/firmware for
# anyone who prefers -L.  SANITIZERS=1: the same for build/qemu/build-san.
# SPDX-License-Identifier: GPL-2.0-or-later

. "$(dirname "$0")/lib.sh"
: "${QEMU_DEB_VERSION:?}"

[ -z "${SANITIZERS:-}" ] || QBUILD=$QBUILD_SAN
bundle=$QBUILD/qemu-bundle/usr/local/share/qemu
[ -d "$QBUILD" ] || die "no $QBUILD: run make build"

if [ ! -d "$FW_DIR/qemu-system-data" ]; then
    deb=$(apt_private_download qemu-system-data "$QEMU_DEB_VERSION" "$FW_DIR/debs")
    rm -rf "$FW_DIR/qemu-system-data.tmp"
    dpkg-deb -x "$deb" "$FW_DIR/qemu-system-data.tmp"
    mv "$FW_DIR/qemu-system-data.tmp" "$FW_DIR/qemu-system-data"
fi

mkdir -p "$FW_DIR/share" "$bundle"
n=0
for f in /usr/share/seabios/*.bin /usr/lib/ipxe/qemu/*.rom \
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
    [ -e "$bundle/$need" ] || die "firmware $need missing (make deps installs seabios and ipxe-qemu)"
done
log "firmware: $n files linked into $bundle"
