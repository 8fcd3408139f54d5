#!/bin/bash
# apt_private_download (scripts/lib.sh) keeps one .deb per version: a
# second call for the same version uses the file it has, and a .deb of
# another version (an older pin) is never taken for the one asked for.
# apt-get and apt-cache are stubs here: nothing leaves the machine.
# SPDX-License-Identifier: GPL-2.0-or-later
# timeout: 60

. "$(dirname "$0")/tap.sh"
mkdir -p "$tmp/bin" "$tmp/debs"
# apt-get download PKG=VER writes PKG_VER_all.deb (epoch ':' as %3a), as
# apt does, and logs the call
cat >"$tmp/bin/apt-get" <<'STUB'
#!/bin/bash
[ "$2" = download ] || exit 1
echo "$3" >>"$STUB_LOG"
pkg=${3%%=*} ver=${3#*=}
touch "${pkg}_${ver//:/%3a}_all.deb"
STUB
printf '#!/bin/sh\nexit 0\n' >"$tmp/bin/apt-cache"
chmod +x "$tmp/bin/apt-get" "$tmp/bin/apt-cache"

# download PKG VER: apt_private_download's output, with the stubs
download() {
    PATH=$tmp/bin:$PATH STUB_LOG=$tmp/log TOP=$TOP BUILD=$tmp/build bash -c '
        . "$TOP/scripts/lib.sh"
        apt_private_setup() { :; }
        apt_private_ensure_lists() { :; }
        apt_private_download "$1" "$2" "$3"' _ "$1" "$2" "$tmp/debs"
}

# expect WHAT VERSION DOWNLOADS: apt_private_download fw VERSION prints
# that version's .deb, and apt-get download ran DOWNLOADS times in all
expect() {
    local got
    got=$(download fw "$2" 2>"$tmp/out")
    if [ "$got" = "$tmp/debs/fw_${2//:/%3a}_all.deb" ] &&
       [ "$(cat "$tmp/log" 2>/dev/null | wc -l)" = "$3" ]; then
        ok "$1"
    else
        { echo "got: $got"; cat "$tmp/log" 2>/dev/null; } >>"$tmp/out"
        nok "$1"
    fi
}

touch "$tmp/debs/fw_1%3a1.0-1_all.deb"
expect "a new pin is downloaded, not the .deb of the old one" 1:2.0-1 1
grep -qx 'fw=1:2.0-1' "$tmp/log" && ok "it asked apt for that version" ||
    { cp "$tmp/log" "$tmp/out"; nok "it asked apt for that version"; }
expect "the same version again: the .deb it has, no second download" 1:2.0-1 1
expect "the old version: its own .deb" 1:1.0-1 1
echo "1..$n"
exit $failed
