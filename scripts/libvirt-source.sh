#!/bin/bash
# make libvirt-source: the pinned libvirt source package (config.mk's
# LIBVIRT_DEB_VERSION), unpacked with Debian's patches applied into
# build/src/libvirt-pristine.  Its .dsc is missing from the archive (404),
# so neither apt-get source nor dpkg-source -x can be used: the file names,
# URIs and SHA256 sums come from the private apt configuration's Sources
# index (verified by apt against the signed Release file), apt-helper
# downloads the orig and debian tarballs and checks their sums, and Debian's
# patches are applied in the order of debian/patches/series.  A second run
# is offline.
# SPDX-License-Identifier: GPL-2.0-or-later

. "$(dirname "$0")/lib.sh"
: "${LIBVIRT_DEB_VERSION:?}" "${DEB_SUITE:?}" "${LIBVIRT_PRISTINE:?}"
PRISTINE=$LIBVIRT_PRISTINE
PRISTINE_STAMP=$PRISTINE.stamp

want="debian:libvirt=$LIBVIRT_DEB_VERSION"
if [ -d "$PRISTINE" ] && [ "$(cat "$PRISTINE_STAMP" 2>/dev/null)" = "$want" ]; then
    log "libvirt-source: $want already unpacked in $(rel "$PRISTINE")"
    exit 0
fi
rm -rf "$PRISTINE" "$PRISTINE_STAMP"
mkdir -p "$SRC_DIR"

upstream=$(deb_upstream_version "$LIBVIRT_DEB_VERSION")
orig=libvirt_$upstream.orig.tar.xz
debian=libvirt_${LIBVIRT_DEB_VERSION#*:}.debian.tar.xz

# have FILE SUM: FILE is in SRC_DIR with that SHA256 (an earlier run's).
have() {
    [ -f "$SRC_DIR/$1" ] && [ "$(sha256sum "$SRC_DIR/$1" | cut -d' ' -f1)" = "$2" ]
}

apt_private_setup
apt_private_ensure_lists
if ! apt_private_has_source libvirt "$LIBVIRT_DEB_VERSION"; then
    minor=$(echo "$upstream" | cut -d. -f1,2)
    newest=$(apt_private_source_versions libvirt | grep -E "^${minor//./\\.}\\." |
             sort -V | tail -n 1 || true)
    die "libvirt $LIBVIRT_DEB_VERSION is not in $DEB_SUITE.
       Newest $minor.x there: ${newest:-none}.
       To re-pin: set LIBVIRT_DEB_VERSION := ${newest:-<version>} in config.mk
       (and check that libvirt/patches still applies: make libvirt-check-patches)"
fi

# apt's own resolution of the index's Directory and Checksums-Sha256 against
# the mirror it came from: lines "'URI' NAME SIZE SHA256:SUM".  Nothing is
# downloaded here.  (Run in an empty directory: apt-get source leaves out
# the files it finds in the current one.)
tmp=$SRC_DIR/libvirt-unpack.tmp
rm -rf "$tmp" && mkdir -p "$tmp"
uris=$(cd "$tmp" && apt-get -q source --print-uris --only-source \
           "libvirt=$LIBVIRT_DEB_VERSION" 2>/dev/null | grep "^'") ||
    die "apt-get source --print-uris libvirt=$LIBVIRT_DEB_VERSION listed no files"
for f in "$orig" "$debian"; do
    line=$(awk -v f="$f" '$2 == f' <<<"$uris")
    [ -n "$line" ] || die "the Sources index lists no $f for libvirt $LIBVIRT_DEB_VERSION"
    read -r uri _ _ hash <<<"$line"
    uri=${uri//\'/}
    [[ $hash == SHA256:* ]] || die "no SHA256 sum for $f in the Sources index"
    if have "$f" "${hash#SHA256:}"; then
        continue
    fi
    log "libvirt-source: download $f (${hash:0:19}...)"
    rm -f "$SRC_DIR/$f".part*
    # apt-helper fails on a size or SHA256 mismatch, like apt-get source.
    /usr/lib/apt/apt-helper -q download-file "$uri" "$SRC_DIR/$f.part" "$hash" \
        >"$SRC_DIR/$f.log" 2>&1 ||
        { cat "$SRC_DIR/$f.log" >&2; rm -f "$SRC_DIR/$f".part*; die "download of $f failed"; }
    mv "$SRC_DIR/$f.part" "$SRC_DIR/$f"
    rm -f "$SRC_DIR/$f.log"
done

log "libvirt-source: unpack $orig and $debian"
tar --no-same-owner -C "$tmp" -xf "$SRC_DIR/$orig"
top=$(find "$tmp" -mindepth 1 -maxdepth 1)
[ "$(echo "$top" | wc -l)" = 1 ] && [ -f "$top/meson.build" ] ||
    die "$orig does not unpack to one libvirt directory"
tar --no-same-owner -C "$top" -xf "$SRC_DIR/$debian"

# Debian's patches, as dpkg-source applies them: in series order, no fuzz,
# each fully or not at all.
n=0
while read -r p opt; do
    [ -f "$top/debian/patches/$p" ] || die "debian/patches/series names $p, which does not exist"
    level=${opt:--p1}
    if ! patch -d "$top" -s -t -N -F 0 -E "$level" --no-backup-if-mismatch \
            --reject-file=- --dry-run -i "debian/patches/$p" >"$tmp/patch.log" 2>&1; then
        cat "$tmp/patch.log" >&2
        die "Debian patch does not apply: debian/patches/$p"
    fi
    patch -d "$top" -s -t -N -F 0 -E "$level" --no-backup-if-mismatch \
        -i "debian/patches/$p"
    n=$((n + 1))
done < <(sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$top/debian/patches/series")
rm -f "$tmp/patch.log"

mv "$top" "$PRISTINE"
rmdir "$tmp"
echo "$want" >"$PRISTINE_STAMP"
log "libvirt-source: libvirt $upstream with $n Debian patch(es) in $(rel "$PRISTINE")"
