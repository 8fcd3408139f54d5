#!/bin/bash
# A broken series must stop the pipeline with the patch's name: make tree
# and make check-patches on a patch that does not apply, make
# check-patches on a patch checkpatch.pl rejects, and .ci/run (make check)
# before it builds anything.  Runs on a copy of this repository with its
# own build directory; the downloaded source is shared, not fetched again.
# SPDX-License-Identifier: GPL-2.0-or-later
# timeout: 600

set -u
tmp=$(mktemp -d /tmp/bad-patch.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
n=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
notok() { n=$((n + 1)); echo "not ok $n - $1"; sed 's/^/#   /' "$tmp/out" | tail -n 15; }

# expect_fail DESCRIPTION MESSAGE COMMAND...: fails, and says MESSAGE
expect_fail() {
    local what=$1 msg=$2
    shift 2
    if "$@" >"$tmp/out" 2>&1; then
        notok "$what: succeeded"
    elif grep -qF -- "$msg" "$tmp/out"; then
        ok "$what"
    else
        notok "$what: no '$msg' in its output"
    fi
}

# A copy of the work tree as git sees it (committed or not).
new_repo() {
    rm -rf "$tmp/repo" "$tmp/build"
    mkdir -p "$tmp/repo" "$tmp/build"
    (cd "$TOP" && git ls-files -z --cached --others --exclude-standard |
        tar --null -T - -cf -) | tar -C "$tmp/repo" -xf -
    mkdir -p "$tmp/repo/patches"
    for d in apt src tools; do ln -s "$BUILD/$d" "$tmp/build/$d"; done
}
mk() { make -C "$tmp/repo" --no-print-directory BUILD="$tmp/build" "$@"; }

# 1. A patch whose context is not in the source.
new_repo
cat >"$tmp/repo/patches/9999-broken.patch" <<'PATCH'
From 0000000000000000000000000000000000000000 Mon Sep 17 00:00:00 2001
From: Test <test@example.com>
Date: Sat, 1 Jan 2000 00:00:00 +0000
Subject: [PATCH] test: a patch that does not apply

Signed-off-by: Test <test@example.com>
---
 VERSION | 2 +-
 1 file changed, 1 insertion(+), 1 deletion(-)

diff --git a/VERSION b/VERSION
--- a/VERSION
+++ b/VERSION
@@ -1 +1 @@
-9.9.9
+9.9.10
PATCH
echo 9999-broken.patch >>"$tmp/repo/patches/series"
expect_fail "make tree names a patch that does not apply" \
    "patch does not apply: patches/9999-broken.patch" mk tree
expect_fail "make check-patches names a patch that does not apply" \
    "patches/9999-broken.patch does not apply" mk check-patches
expect_fail ".ci/run (make check) stops at the patch before building" \
    "patch does not apply: patches/9999-broken.patch" \
    env -C "$tmp/repo" BUILD="$tmp/build" timeout 600 bash .ci/run
if [ -e "$tmp/build/qemu/build/build.ninja" ]; then
    notok ".ci/run configured a build despite the broken series"
else
    ok ".ci/run built nothing"
fi

# 2. A patch that applies but that checkpatch.pl rejects (a new C file
#    without an SPDX line, a missing Signed-off-by).
new_repo
cat >"$tmp/repo/patches/9999-style.patch" <<'PATCH'
From 0000000000000000000000000000000000000000 Mon Sep 17 00:00:00 2001
From: Test <test@example.com>
Date: Sat, 1 Jan 2000 00:00:00 +0000
Subject: [PATCH] test: a patch checkpatch rejects

---
 block/pipeline-test.c | 3 +++
 1 file changed, 3 insertions(+)
 create mode 100644 block/pipeline-test.c

diff --git a/block/pipeline-test.c b/block/pipeline-test.c
new file mode 100644
--- /dev/null
+++ b/block/pipeline-test.c
@@ -0,0 +1,3 @@
+int pipeline_test(void) {
+	return 0;
+}
PATCH
echo 9999-style.patch >>"$tmp/repo/patches/series"
expect_fail "make check-patches rejects a patch checkpatch.pl flags" \
    "checkpatch: FAIL 9999-style.patch" mk check-patches
if mk tree >"$tmp/out" 2>&1; then
    ok "make tree applies that patch (it is well-formed)"
else
    notok "make tree applies that patch (it is well-formed)"
fi
# A background "gc --auto" after the base commit once made git am fail at
# random (it held refs/heads/master.lock): the tree must not start one.
if [ "$(git -C "$tmp/build/qemu" config gc.auto)" = 0 ] &&
   [ ! -e "$tmp/build/qemu/.git/gc.pid" ]; then
    ok "make tree starts no background gc in build/qemu"
else
    git -C "$tmp/build/qemu" config --list >"$tmp/out" 2>&1
    notok "make tree starts no background gc in build/qemu"
fi

# 3. The real series passes.
new_repo
if mk check-patches >"$tmp/out" 2>&1; then
    ok "make check-patches passes on patches/series"
else
    notok "make check-patches passes on patches/series"
fi
exit 0
