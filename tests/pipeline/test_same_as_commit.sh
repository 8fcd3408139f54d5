#!/bin/bash
# same_as_commit (scripts/lib.sh), which make check uses before it builds
# build/src/pristine as "the tree's first commit": the same files pass,
# ignored ones are not compared, and a changed, missing or extra file
# fails.  The tree's own index is not touched.
# SPDX-License-Identifier: GPL-2.0-or-later
# timeout: 60

. "$(dirname "$0")/tap.sh"
t=$tmp/tree d=$tmp/dir
mkdir -p "$t/sub" && cd "$t" || exit 1
git init -q && echo a >a && echo b >sub/b && printf '/ignored/\n' >.gitignore
git add -A && git -c user.name=t -c user.email=t@localhost commit -qm base
first=$(git rev-parse HEAD)
echo c >c && git add c && git -c user.name=t -c user.email=t@localhost commit -qm next
cd "$TOP" || exit 1
index_before=$(md5sum "$t/.git/index")

# same WHAT EXPECT: same_as_commit $d $first returns EXPECT (0 or 1)
same() {
    TOP=$TOP BUILD=$tmp/build TREE=$t bash -c '. "$TOP/scripts/lib.sh"; same_as_commit "$1" "$2"' \
        _ "$d" "$first" >"$tmp/out" 2>&1
    if [ $? = "$2" ]; then ok "$1"; else nok "$1"; fi
}
fresh() { rm -rf "$d" && git -C "$t" archive "$first" | { mkdir -p "$d" && tar -x -C "$d"; }; }

fresh
same "the first commit's files: the same" 0
mkdir -p "$d/ignored" && echo x >"$d/ignored/x"
same "an ignored directory is not compared" 0
echo changed >"$d/sub/b"
same "a changed file: not the same" 1
fresh; rm "$d/a"
same "a missing file: not the same" 1
fresh; echo c >"$d/c"
same "a file the commit does not have: not the same" 1
if [ "$(md5sum "$t/.git/index")" = "$index_before" ]; then
    ok "the tree's index is untouched"
else
    echo "index changed" >"$tmp/out"; nok "the tree's index is untouched"
fi
echo "1..$n"
exit $failed
