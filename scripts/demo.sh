#!/bin/bash
# make demo: build the test guest if needed, then run scripts/demo.py with
# the tree's own QMP Python package.
# SPDX-License-Identifier: GPL-2.0-or-later
. "$(dirname "$0")/lib.sh"
"$TOP/tests/guest/build.sh" >&2 || die "building the test guest failed"
exec /usr/bin/python3 "$TOP/scripts/demo.py" "$@"
