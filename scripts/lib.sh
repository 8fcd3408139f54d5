# Shared helpers for the pipeline scripts.  Sourced, not run.
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Every script is called by the Makefile with these in the environment:
#   TOP                 the repository
#   BUILD               where everything generated goes (default TOP/build)
#   QEMU_DEB_VERSION    DEB_SUITE  MESON_DEB_VERSION   (config.mk)
#   LIBVIRT_*           the libvirt series' pin, flags and paths (config.mk,
#                       Makefile)

set -euo pipefail

: "${TOP:?}" "${BUILD:?}"
APT_DIR=$BUILD/apt
# What the private apt configuration in APT_DIR indexes: DEB_SUITE's binary
# and source packages.  tests/guest/build.sh points these three at
# build/apt-guest and the machine's own suite, binaries only.
APT_SUITE=${DEB_SUITE:-}
APT_TYPES="deb deb-src"
SRC_DIR=$BUILD/src            # downloaded source package and pristine tree
TOOLS_DIR=$BUILD/tools        # meson venv
FW_DIR=$BUILD/firmware        # firmware files, one directory for -L
# The series the generic steps (make-tree.sh, export-patches.sh,
# check-patches.sh) work on: QEMU's, unless make libvirt-* points these at
# the libvirt series (TARGET_PREFIX=libvirt- names its make targets in
# messages, PATCH_CHECK=syntax-check its per-patch check).
TREE=${TREE:-$BUILD/qemu}     # the development tree (git)
PRISTINE=${PRISTINE:-$SRC_DIR/pristine}   # the tree's first commit
PRISTINE_STAMP=$PRISTINE.stamp            # what it is: that commit's subject
PATCHES=${PATCHES:-$TOP/patches}          # the series and its series file
TARGET_PREFIX=${TARGET_PREFIX:-}
QBUILD=${QEMU_BUILD_DIR:-$TREE/build}   # QEMU's build directory
QBUILD_SAN=$TREE/build-san    # the same with ASan and UBSan

log() { printf '==> %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# A path as messages show it: relative to the repository when inside it.
rel() { echo "${1#"$TOP"/}"; }

# The upstream version part of a Debian version: 1:10.0.13+ds-0+deb13u1
# -> 10.0.13+ds
deb_upstream_version() {
    local v=${1#*:}
    echo "${v%-*}"
}

# Run a command as root: directly, or through sudo.
as_root() {
    if [ "$(id -u)" = 0 ]; then
        "$@"
    elif command -v sudo >/dev/null; then
        sudo "$@"
    else
        die "need root (or sudo) for: $*"
    fi
}

# The Debian mirror and security mirror this machine's apt uses, read from
# its configuration at run time: never written into the repository.
# DEBIAN_MIRROR / DEBIAN_SECURITY_MIRROR in the environment override them.
system_codename() {
    . /etc/os-release && echo "${VERSION_CODENAME:-}"
}

# Print "URI suite" pairs of the machine's binary sources (deb822 and
# one-line formats).
system_apt_sources() {
    local f
    for f in /etc/apt/sources.list.d/*.sources; do
        [ -r "$f" ] || continue
        awk '
            function flush() {
                if (deb && uris != "") {
                    n = split(uris, u, " "); m = split(suites, s, " ")
                    for (i = 1; i <= m; i++) print u[1], s[i]
                }
                deb = 0; uris = ""; suites = ""
            }
            /^[[:space:]]*$/ { flush(); next }
            /^Types:/   { deb = ($0 ~ /[[:space:]]deb([[:space:]]|$)/) }
            /^URIs:/    { sub(/^URIs:[[:space:]]*/, ""); uris = $0 }
            /^Suites:/  { sub(/^Suites:[[:space:]]*/, ""); suites = $0 }
            /^Enabled:[[:space:]]*no/ { deb = 0 }
            END { flush() }' "$f"
    done
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
        [ -r "$f" ] || continue
        sed -n 's/\[[^]]*\]//; s/^[[:space:]]*deb[[:space:]]\+\([^[:space:]]\+\)[[:space:]]\+\([^[:space:]]\+\).*/\1 \2/p' "$f"
    done
}

debian_mirrors() {
    local code
    code=$(system_codename)
    if [ -z "${DEBIAN_MIRROR:-}" ]; then
        DEBIAN_MIRROR=$(system_apt_sources | awk -v c="$code" '$2 == c { print $1; exit }')
    fi
    if [ -z "${DEBIAN_SECURITY_MIRROR:-}" ]; then
        DEBIAN_SECURITY_MIRROR=$(system_apt_sources | awk -v c="$code-security" '$2 == c { print $1; exit }')
    fi
    [ -n "$DEBIAN_MIRROR" ] ||
        die "found no Debian mirror for '$code' in /etc/apt; set DEBIAN_MIRROR=<uri>"
}

# A private apt configuration in APT_DIR (build/apt): its own sources, lists
# and cache, for APT_SUITE (the suite the pinned source comes from).  The
# system's apt state is not touched; apt verifies the Release signatures and
# checksums as usual.
apt_private_setup() {
    : "${APT_SUITE:?no suite for the private apt configuration (DEB_SUITE)}"
    debian_mirrors
    mkdir -p "$APT_DIR"/{lists/partial,cache/archives/partial,sources.list.d,preferences.d}
    local keyring=/usr/share/keyrings/debian-archive-keyring.gpg
    [ -r "$keyring" ] || die "$keyring missing: apt-get install debian-archive-keyring"
    {
        printf 'Types: %s\nURIs: %s\nSuites: %s %s-updates\n' \
            "$APT_TYPES" "$DEBIAN_MIRROR" "$APT_SUITE" "$APT_SUITE"
        printf 'Components: main\nArchitectures: amd64\nSigned-By: %s\n' "$keyring"
        if [ -n "${DEBIAN_SECURITY_MIRROR:-}" ]; then
            printf '\nTypes: %s\nURIs: %s\nSuites: %s-security\n' \
                "$APT_TYPES" "$DEBIAN_SECURITY_MIRROR" "$APT_SUITE"
            printf 'Components: main\nArchitectures: amd64\nSigned-By: %s\n' "$keyring"
        fi
    } > "$APT_DIR/private.sources.new"
    # Written on every run (the mirror may change); moved only if different
    # so that an unchanged configuration keeps its lists.
    if ! cmp -s "$APT_DIR/private.sources.new" "$APT_DIR/sources.list.d/private.sources"; then
        mv "$APT_DIR/private.sources.new" "$APT_DIR/sources.list.d/private.sources"
        rm -f "$APT_DIR/lists/"*_* "$APT_DIR/updated"
    else
        rm -f "$APT_DIR/private.sources.new"
    fi
    cat > "$APT_DIR/apt.conf" <<EOF
Dir::Etc::SourceList "/dev/null";
Dir::Etc::SourceParts "$APT_DIR/sources.list.d";
Dir::Etc::Preferences "/dev/null";
Dir::Etc::PreferencesParts "$APT_DIR/preferences.d";
Dir::State::Lists "$APT_DIR/lists";
Dir::Cache "$APT_DIR/cache";
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
Acquire::Languages "none";
APT::Sandbox::User "root";
EOF
    export APT_CONFIG=$APT_DIR/apt.conf
}

apt_private_update() {
    log "apt-get update (private configuration in $APT_DIR)"
    apt-get -q update >"$APT_DIR/update.log" 2>&1 ||
        { cat "$APT_DIR/update.log" >&2; die "apt-get update failed"; }
    if grep -q '^[WE]:' "$APT_DIR/update.log"; then
        grep '^[WE]:' "$APT_DIR/update.log" >&2
    fi
    touch "$APT_DIR/updated"
}

# Lists are fetched once; again only when asked for something they lack.
apt_private_ensure_lists() {
    [ -e "$APT_DIR/updated" ] || apt_private_update
}

# same_as_commit DIR COMMIT: DIR holds exactly the files COMMIT of $TREE
# has, and nothing git would track besides (what $TREE ignores, such as
# QEMU's subprojects/, is not compared).  Reads DIR; writes nothing there.
same_as_commit() {
    local -x GIT_INDEX_FILE     # a scratch index: $TREE's own is untouched
    local git=(git -C "$TREE" --work-tree="$1") rc=0
    GIT_INDEX_FILE=$(mktemp)
    "${git[@]}" read-tree "$2" &&
        { "${git[@]}" update-index -q --refresh >/dev/null || true; } &&
        "${git[@]}" diff-files --quiet &&
        [ -z "$("${git[@]}" ls-files --others --exclude-standard | head -n 1)" ] ||
        rc=1
    rm -f "$GIT_INDEX_FILE"
    return $rc
}

# Download a binary package of an exact version into $3 (verified by apt
# against the signed Release file), once per version.  Prints the .deb's
# path.  (apt names it PKG_VERSION_ARCH.deb, with the epoch's ':' as %3a.)
apt_private_download() {
    local pkg=$1 ver=$2 dest=$3 deb name
    name="${pkg}_${ver//:/%3a}_*.deb"
    mkdir -p "$dest"
    deb=$(find "$dest" -maxdepth 1 -name "$name" | head -n 1)
    if [ -z "$deb" ]; then
        apt_private_setup
        apt_private_ensure_lists
        if ! apt-cache show "$pkg=$ver" >/dev/null 2>&1; then
            # lists older than the pin: refresh once
            apt_private_update
        fi
        apt-cache show "$pkg=$ver" >/dev/null 2>&1 ||
            die "$pkg $ver is not in $APT_SUITE any more (see config.mk)"
        (cd "$dest" && apt-get -q download "$pkg=$ver" >&2)
        deb=$(find "$dest" -maxdepth 1 -name "$name" | head -n 1)
        [ -n "$deb" ] || die "apt-get download $pkg=$ver left no $name in $dest"
    fi
    echo "$deb"
}

# The versions of source package $1 in the private Sources index.
apt_private_source_versions() {
    apt-cache showsrc --only-source "$1" 2>/dev/null | sed -n 's/^Version: //p'
}

# Whether the private Sources index has source package $1 at version $2;
# lists older than the pin are refreshed once before saying no.
apt_private_has_source() {
    apt_private_source_versions "$1" | grep -qxF "$2" && return 0
    apt_private_update
    apt_private_source_versions "$1" | grep -qxF "$2"
}

# The libvirt steps' compiles (meson setup, ninja, meson test) never overlap
# another build on this 2-core machine: each holds this lock while it runs.
BUILD_LOCK=${BUILD_LOCK:-/tmp/qap-build.lock}
locked() { flock "$BUILD_LOCK" "$@"; }

# What the libvirt steps build with: the meson of build/tools (make tools;
# its venv has the module, no meson script), the venv's python3 first in
# PATH so that libvirt's scripts run on the same interpreter, ccache when
# installed, ninja -j2 unless NINJA_JOBS says otherwise.
libvirt_tools_env() {
    MESON=("$TOOLS_DIR/venv/bin/python3" -m mesonbuild.mesonmain)
    "${MESON[@]}" --version >/dev/null 2>&1 || die "no meson in $TOOLS_DIR/venv: run make tools"
    export PATH=$TOOLS_DIR/venv/bin:$PATH
    if [ -d /usr/lib/ccache ]; then
        export PATH=/usr/lib/ccache:$PATH
    fi
    NINJA_JOBS=${NINJA_JOBS:-2}
}
