#!/bin/bash
# The built QEMU finds every firmware file it loads with the options
# qemu-iotests use, and with a NIC, without -L: no missing-ROM warning.
# SPDX-License-Identifier: GPL-2.0-or-later
# timeout: 300

set -u
qemu=$QBUILD/qemu-system-x86_64
n=0
check() {   # check DESCRIPTION COMMAND...
    local what=$1
    shift
    n=$((n + 1))
    if "$@"; then echo "ok $n - $what"; else echo "not ok $n - $what"; fi
}

# info roms over HMP on stdio; stderr kept apart.
run_qemu() {
    printf 'info roms\nquit\n' |
        timeout 60 "$qemu" "$@" -display none -accel qtest -monitor stdio \
            2>"$tmp/stderr" >"$tmp/stdout"
}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

run_qemu -nodefaults
check "iotests options: QEMU starts and exits cleanly" [ $? = 0 ]
check "iotests options: no warning on stderr" [ ! -s "$tmp/stderr" ]
check "iotests options: bios-256k.bin and kvmvapic.bin loaded" \
    grep -q 'kvmvapic.bin' "$tmp/stdout"

# A PCI NIC whose romfile is missing fails to start ("failed to find
# romfile"), so starting is the check.
run_qemu -nodefaults -device virtio-net-pci -device e1000 -device e1000e
check "NIC option ROMs (efi-virtio, efi-e1000, efi-e1000e): QEMU starts" [ $? = 0 ]
check "NIC option ROMs: no warning on stderr" [ ! -s "$tmp/stderr" ]

# -kernel boots need linuxboot_dma.bin (the real-guest tests boot one).
check "linuxboot_dma.bin resolvable by the built binary" \
    test -r "$QBUILD/qemu-bundle/usr/local/share/qemu/linuxboot_dma.bin"
# Debian 12's seabios hangs probing an am53c974 disk with QEMU 10.0: the
# bundle's BIOS is the one the pinned QEMU depends on (config.mk)
# (its version string: "1.16.3-debian-1.16.3-2")
bios_version=$(grep -ao -- '-debian-[[:graph:]]*' \
                   "$QBUILD/qemu-bundle/usr/local/share/qemu/bios-256k.bin" | head -n 1)
check "bios-256k.bin is seabios ${SEABIOS_DEB_VERSION:-(unset)} (it says ${bios_version#-debian-})" \
    [ "$bios_version" = "-debian-${SEABIOS_DEB_VERSION:-unset}" ]
[ -s "$tmp/stderr" ] && sed 's/^/# /' "$tmp/stderr"
exit 0
