#!/bin/bash
# make export: regenerate patches/NNNN-*.patch and patches/series from the
# commits in build/qemu on top of the pristine base.  Output is stable:
# zero commit ids in the From lines, no version signature, fixed
# abbreviation, so that git diff of patches/ shows only real changes.
# patches/cover-letter.txt (subject line, blank line, text) is written by
# hand; the cover letter patches/0000-cover-letter.patch is made from it
# with the series' shortlog and diffstat.
# make libvirt-export runs it on the libvirt series (TREE, PRISTINE and
# PATCHES in the environment, see lib.sh).
# SPDX-License-Identifier: GPL-2.0-or-later

. "$(dirname "$0")/lib.sh"

[ -d "$TREE/.git" ] || die "no $TREE: run make ${TARGET_PREFIX}tree"
if [ -n "$(git -C "$TREE" status --porcelain --untracked-files=no)" ]; then
    die "$(rel "$TREE") has uncommitted changes: commit them first"
fi
base=$(git -C "$TREE" rev-list --max-parents=0 HEAD)

mkdir -p "$PATCHES"
find "$PATCHES" -maxdepth 1 -name '[0-9][0-9][0-9][0-9]-*.patch' \
    ! -name '0000-*' -delete
git -C "$TREE" format-patch -q --zero-commit --no-signature --abbrev=12 \
    --no-numbered --subject-prefix=PATCH -o "$PATCHES" "$base..HEAD" >/dev/null
(cd "$PATCHES" && ls [0-9][0-9][0-9][0-9]-*.patch 2>/dev/null | grep -v '^0000-' || true) \
    >"$PATCHES/series"
n=$(wc -l <"$PATCHES/series")

if [ -f "$PATCHES/cover-letter.txt" ] && [ "$n" -gt 0 ]; then
    tmp=$(mktemp -d)
    git -C "$TREE" format-patch -q --cover-letter --zero-commit \
        --no-signature --abbrev=12 -o "$tmp" "$base..HEAD" >/dev/null
    subject=$(sed -n 1p "$PATCHES/cover-letter.txt")
    date=$(git -C "$TREE" log -1 --format=%aD HEAD)
    SUBJECT=$subject DATE=$date BODY=$PATCHES/cover-letter.txt python3 -c '
import os, sys
text = sys.stdin.read()
body = open(os.environ["BODY"]).read().split("\n", 2)[2].rstrip("\n")
text = text.replace("*** SUBJECT HERE ***", os.environ["SUBJECT"])
text = text.replace("*** BLURB HERE ***", body)
lines = text.split("\n")
lines = ["Date: " + os.environ["DATE"] if l.startswith("Date: ") else l
         for l in lines]
sys.stdout.write("\n".join(lines))
' <"$tmp"/0000-cover-letter.patch >"$PATCHES/0000-cover-letter.patch"
    rm -rf "$tmp"
fi
# The tree now matches patches/: make tree has nothing to re-apply.
stamp_hash=$("$TOP/scripts/make-tree.sh" --hash)
{ echo "$stamp_hash"; git -C "$TREE" rev-parse HEAD; } >"$TREE/.git/atomic-pivot.applied"
log "export: $n patch(es) in $PATCHES"
