#!/bin/bash
# make deps: the Debian packages the build and the tests need, installed
# with the system's own apt (root, or through sudo), only when one is
# missing.  Nothing else on the system changes; meson comes from
# scripts/tools.sh into build/.
# SPDX-License-Identifier: GPL-2.0-or-later

set -euo pipefail

PACKAGES=(
    # toolchain and build system
    build-essential pkgconf ninja-build flex bison git
    python3 python3-venv
    # QEMU's libraries for x86_64-softmmu + tools
    libglib2.0-dev libpixman-1-dev libslirp-dev libfdt-dev zlib1g-dev
    libaio-dev
    # unpacking the Debian source package and the firmware package
    dpkg-dev xz-utils debian-archive-keyring
    # firmware: NIC option ROMs (the BIOS is seabios of the pinned suite,
    # config.mk)
    ipxe-qemu
    # qemu-iotests
    gawk diffutils
    # QEMU's qtests and unit tests: cdrom-test builds its ISO images with
    # xorrisofs, test-io-channel-command talks to socat
    xorriso socat
    # make bench: the plot (its smoke variant runs in make check)
    python3-matplotlib
    # libvirt 11.3.0 (make libvirt-build), QEMU driver and unit tests;
    # without libnl its build fails (RTM_DELLINK undeclared)
    libxml2-dev libxml2-utils xsltproc libgnutls28-dev libtirpc-dev
    libjson-c-dev libnl-3-dev libnl-route-3-dev libreadline-dev
    libselinux1-dev libblkid-dev libacl1-dev perl
    # tests/libvirt: ss and unshare
    iproute2 util-linux
)

missing=()
for p in "${PACKAGES[@]}"; do
    status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
    [ "$status" = "install ok installed" ] || missing+=("$p")
done
if [ ${#missing[@]} = 0 ]; then
    echo "==> deps: all ${#PACKAGES[@]} packages installed" >&2
    exit 0
fi

sudo=
[ "$(id -u)" = 0 ] || sudo=sudo
echo "==> deps: installing ${missing[*]}" >&2
$sudo apt-get -qq update
DEBIAN_FRONTEND=noninteractive $sudo apt-get -qq install -y --no-install-recommends "${missing[@]}"
