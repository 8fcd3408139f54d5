#!/bin/bash
# A venv with a meson new enough for QEMU 10.0 (>= 1.5), made from the
# pinned Debian package unpacked under build/tools: nothing is installed on
# the system and the system's apt configuration is not touched.
# SPDX-License-Identifier: GPL-2.0-or-later

. "$(dirname "$0")/lib.sh"
: "${MESON_DEB_VERSION:?}"

VENV=$TOOLS_DIR/venv
STAMP=$TOOLS_DIR/meson.stamp
[ "$(cat "$STAMP" 2>/dev/null)" = "$MESON_DEB_VERSION" ] && [ -x "$VENV/bin/python3" ] && exit 0

# A source that ships its own meson wheel (an upstream tarball) needs none:
# build.sh then runs configure with the system interpreter.
if compgen -G "$SRC_DIR/pristine/python/wheels/meson-*.whl" >/dev/null; then
    log "tools: the source has its own meson wheel"
    exit 0
fi
deb=$(apt_private_download meson "$MESON_DEB_VERSION" "$TOOLS_DIR/debs")
log "tools: meson $MESON_DEB_VERSION into $VENV"
rm -rf "$VENV" "$TOOLS_DIR/meson"
dpkg-deb -x "$deb" "$TOOLS_DIR/meson"
# QEMU's configure wants the system interpreter (with its site packages),
# not whatever python3 comes first in PATH.
/usr/bin/python3 -m venv --system-site-packages --without-pip "$VENV"
site=$("$VENV/bin/python3" -c 'import sysconfig; print(sysconfig.get_path("purelib"))')
cp -a "$TOOLS_DIR/meson/usr/lib/python3/dist-packages/." "$site/"
"$VENV/bin/python3" -c 'import mesonbuild.mesonmain, importlib.metadata as m; print("meson", m.version("meson"))' >&2
echo "$MESON_DEB_VERSION" > "$STAMP"
