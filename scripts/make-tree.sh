#!/bin/bash
# make tree: build/qemu is a git repository whose first commit is the
# pristine source and whose next commits are patches/series, applied with
# git am.  A tree with local work (commits or changes that patches/ does
# not carry) is never overwritten: export it, or say FORCE=1.
# make libvirt-tree runs it on the libvirt series: TREE, PRISTINE and
# PATCHES in the environment (see lib.sh).
# SPDX-License-Identifier: GPL-2.0-or-later

. "$(dirname "$0")/lib.sh"

SERIES=$PATCHES/series
STAMP=$TREE/.git/atomic-pivot.applied

series_list() {
    [ -f "$SERIES" ] || return 0
    sed -e 's/#.*//' -e 's/[[:space:]]*$//' -e '/^$/d' "$SERIES"
}

# What the tree is built from: the pristine source and every patch's bytes.
series_hash() {
    {
        cat "$PRISTINE_STAMP"
        series_list | while read -r p; do
            echo "$p"
            cat "$PATCHES/$p" 2>/dev/null || echo "(missing)"
        done
    } | sha256sum | cut -d' ' -f1
}

git_tree() { git -C "$TREE" "$@"; }

# git commit and git am start "gc --auto" in the background once a
# repository has some thousands of loose objects, which QEMU's tree has
# from its first commit.  That gc locks refs (reflog expire, pack-refs)
# while the next git am updates them, and git am then fails at random.
# The pipeline's repositories never collect garbage by themselves.
no_auto_gc() {
    git -C "$1" config gc.auto 0
    git -C "$1" config maintenance.auto false
}

apply_series() {
    local p n=0
    while read -r p; do
        [ -f "$PATCHES/$p" ] || die "$(rel "$SERIES") names $p, which does not exist"
        if ! git_tree -c user.name=pipeline -c user.email=pipeline@localhost \
                am -q --keep-cr --committer-date-is-author-date \
                "$PATCHES/$p" >"$TREE/.git/am.log" 2>&1; then
            cat "$TREE/.git/am.log" >&2
            git_tree am --abort >/dev/null 2>&1 || true
            # The tree is still ours: the next run resets and re-applies.
            { echo failed; git_tree rev-parse HEAD; } > "$STAMP"
            die "patch does not apply: $(rel "$PATCHES/$p")"
        fi
        n=$((n + 1))
    done < <(series_list)
    log "tree: $n patch(es) applied"
}

want=$(series_hash)
if [ "${1:-}" = --hash ]; then
    echo "$want"
    exit 0
fi

if [ -d "$TREE/.git" ]; then
    [ -f "$STAMP" ] && [ "$(sed -n 1p "$STAMP")" = "$want" ] && exit 0
    base=$(git_tree rev-list --max-parents=0 HEAD)
    if [ -z "${FORCE:-}" ]; then
        if [ -n "$(git_tree status --porcelain --untracked-files=no)" ]; then
            die "$(rel "$TREE") has uncommitted changes and $(rel "$PATCHES")/ changed:
       commit them and run make ${TARGET_PREFIX}export, or make ${TARGET_PREFIX}tree FORCE=1 to discard them"
        fi
        if [ "$(sed -n 2p "$STAMP" 2>/dev/null)" != "$(git_tree rev-parse HEAD)" ]; then
            die "$(rel "$TREE") has commits that $(rel "$PATCHES")/ does not carry:
       run make ${TARGET_PREFIX}export (then commit $(rel "$PATCHES")/), or make ${TARGET_PREFIX}tree FORCE=1 to drop them"
        fi
    fi
    if [ "$(git_tree log -1 --format=%s "$base")" != "$(cat "$PRISTINE_STAMP")" ]; then
        log "tree: the pinned source changed, recreating $(rel "$TREE")"
        rm -rf "$TREE"
    else
        log "tree: $(rel "$PATCHES")/ changed, re-applying the series"
        no_auto_gc "$TREE"
        git_tree am --abort >/dev/null 2>&1 || true
        # Untracked build/ survives: the next build is incremental.
        git_tree reset -q --hard "$base"
        apply_series
        { echo "$want"; git_tree rev-parse HEAD; } > "$STAMP"
        exit 0
    fi
fi

log "tree: creating $TREE from the pristine source"
rm -rf "$TREE.tmp"
cp -a "$PRISTINE" "$TREE.tmp"
git -C "$TREE.tmp" init -q -b master
no_auto_gc "$TREE.tmp"
printf '/build/\n/build-san/\n/.pc/\n' >> "$TREE.tmp/.git/info/exclude"
git -C "$TREE.tmp" add -A
# A fixed identity and date: the base commit's id depends only on the source.
GIT_AUTHOR_DATE='2000-01-01T00:00:00Z' GIT_COMMITTER_DATE='2000-01-01T00:00:00Z' \
    git -C "$TREE.tmp" -c user.name=pipeline -c user.email=pipeline@localhost \
    commit -q --no-verify -m "$(cat "$PRISTINE_STAMP")"
git -C "$TREE.tmp" tag pristine
mv "$TREE.tmp" "$TREE"
apply_series
{ echo "$want"; git_tree rev-parse HEAD; } > "$STAMP"
