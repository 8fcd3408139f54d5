#!/bin/bash
# make demo: run scripts/demo.py with the tree's own QMP Python package.
# SPDX-License-Identifier: GPL-2.0-or-later
. "$(dirname "$0")/lib.sh"
exec /usr/bin/python3 "$TOP/scripts/demo.py" "$@"
