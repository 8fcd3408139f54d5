#!/bin/bash
# The tiny test guest of the real-guest tests: Debian's cloud kernel and
# busybox-static from the machine's own release (Debian 12), fetched with
# apt through a private configuration in build/apt-guest (apt verifies the
# signed index and the checksums; the system's apt state is not touched),
# plus the writer, in an initramfs whose /init runs it on the first disk.
#
# Outputs, in $BUILD/guest:
#   vmlinuz  initramfs.gz   boot with -kernel/-initrd (see init for the
#                           kernel command line)
#   verifier                the host-side checker of the disk image
# Rebuilt only when an input changes (stamp: a hash of every input).
# SPDX-License-Identifier: GPL-2.0-or-later

set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
export TOP=${TOP:-$(cd "$here/../.." && pwd)}
export BUILD=${BUILD:-$TOP/build}
# shellcheck source=../../scripts/lib.sh
. "$TOP/scripts/lib.sh"

G=$BUILD/guest
APT_DIR=$BUILD/apt-guest
APT_SUITE=$(system_codename)
APT_TYPES=deb
# Built-in in this kernel: devtmpfs, the serial console.  Modules: the
# disks' drivers (virtio-blk, virtio-scsi); their dependencies are added.
MODULES="virtio_blk virtio_pci virtio_scsi sd_mod"
CFLAGS=(-O2 -Wall -Wextra -Werror -std=c11)

# What apt would install (from the private lists): the kernel that the
# cloud kernel metapackage depends on (one version of the current ABI's
# image), and busybox-static.  Prints "KERNEL-PACKAGE VERSION BUSYBOX-VERSION".
resolve() {
    apt-cache show --no-all-versions linux-image-cloud-amd64 busybox-static 2>/dev/null | awk '
        /^Package:/ { p = $2 }
        p == "busybox-static" && /^Version:/ { bv = $2 }
        p == "linux-image-cloud-amd64" && /^Depends:/ {
            for (i = 2; i + 2 <= NF; i++)
                if ($i ~ /^linux-image-[0-9].*-cloud-amd64$/ && $(i + 1) == "(=") {
                    k = $i; kv = $(i + 2); gsub(/[),]/, "", kv)
                }
        }
        END { if (k != "" && bv != "") print k, kv, bv }'
}

[ -n "$APT_SUITE" ] || die "no VERSION_CODENAME in /etc/os-release"
apt_private_setup
apt_private_ensure_lists
guest=$(resolve)
[ -n "$guest" ] || { apt_private_update; guest=$(resolve); }
[ -n "$guest" ] || die "no linux-image-cloud-amd64 and busybox-static in $APT_SUITE"
read -r kpkg kver bver <<<"$guest"
kdeb=$(apt_private_download "$kpkg" "$kver" "$G/debs")
bdeb=$(apt_private_download busybox-static "$bver" "$G/debs")

stamp=$(cat "$here/build.sh" "$here/init" "$here/pattern.h" "$here/writer.c" \
            "$here/verifier.c" "$kdeb" "$bdeb" <(gcc --version) | sha256sum)
if [ "$(cat "$G/stamp" 2>/dev/null)" = "$stamp" ] &&
   [ -f "$G/vmlinuz" ] && [ -f "$G/initramfs.gz" ] && [ -x "$G/verifier" ]; then
    log "guest: up to date ($G)"
    exit 0
fi

log "guest: ${kdeb##*/}, ${bdeb##*/}"
tmp=$G/tmp
root=$tmp/root
rm -rf "$tmp"
mkdir -p "$root"/{bin,dev,proc,sys,tmp,lib/modules}
dpkg-deb -x "$kdeb" "$tmp/kernel"
dpkg-deb -x "$bdeb" "$tmp/busybox"

# The kernel's modules by name (as modprobe spells them: '-' is '_'), .ko
# or .ko.xz.  The package has no modules.dep (depmod makes it when it is
# installed): dependencies are read from each module's .modinfo section.
builtin=$(find "$tmp/kernel" -name modules.builtin | head -n 1)
[ -n "$builtin" ] || die "no modules.builtin in $kpkg"
declare -A ko=() loaded=()
while read -r f; do
    m=${f##*/}
    m=${m%.xz}
    m=${m%.ko}
    ko[${m//-/_}]=$f
done < <(find "${builtin%/*}" -name '*.ko' -o -name '*.ko.xz')
order=()
add_module() {
    local m=${1//-/_} f d
    [ -z "${loaded[$m]:-}" ] || return 0
    loaded[$m]=1
    f=${ko[$m]:-}
    if [ -z "$f" ]; then
        sed 's|.*/||; s|\.ko.*||; s|-|_|g' "$builtin" | grep -qxF "$m" ||
            die "module $m is in neither $kpkg's modules nor its built-ins"
        return 0
    fi
    case $f in
    *.xz) xz -dc "$f" > "$root/lib/modules/$m.ko" ;;
    *)    cp "$f" "$root/lib/modules/$m.ko" ;;
    esac
    for d in $(objcopy -O binary --only-section=.modinfo "$root/lib/modules/$m.ko" /dev/stdout |
               tr '\0' '\n' | sed -n 's/^depends=//p' | tr ',' ' '); do
        add_module "$d"
    done
    order+=("$m.ko")
}
for m in $MODULES; do
    add_module "$m"
done
printf '%s\n' "${order[@]}" > "$root/lib/modules/order"
log "guest: modules ${order[*]}"

# busybox is static and runs on the host too: it lists its applets and
# writes the cpio archive (the host has no cpio).
bb=$tmp/busybox/bin/busybox
cp "$bb" "$root/bin/busybox"
for a in $("$bb" --list); do
    [ "$a" = busybox ] || ln -s busybox "$root/bin/$a"
done
install -m 755 "$here/init" "$root/init"
gcc -static "${CFLAGS[@]}" -o "$root/bin/writer" "$here/writer.c"
gcc "${CFLAGS[@]}" -o "$tmp/verifier" "$here/verifier.c"

find "$tmp/kernel" -path '*/boot/vmlinuz-*' -exec cp {} "$tmp/vmlinuz" \;
[ -f "$tmp/vmlinuz" ] || die "no vmlinuz in $kpkg"
# Fixed times and order: the same inputs make the same archive.
find "$root" -exec touch -h -d @0 {} +
(cd "$root" && find . -mindepth 1 | LC_ALL=C sort | "$bb" cpio -o -H newc 2>"$tmp/cpio.log") |
    gzip -9n > "$tmp/initramfs.gz"

mv "$tmp/vmlinuz" "$tmp/initramfs.gz" "$tmp/verifier" "$G/"
cp "$root/bin/writer" "$G/writer"
rm -rf "$tmp"
echo "$stamp" > "$G/stamp"
log "guest: $G/vmlinuz, $G/initramfs.gz ($(du -k "$G/initramfs.gz" | cut -f1) KiB), $G/verifier"
