#!/bin/bash
# make bench: the pause-window benchmark (bench/bench.py) on the built QEMU
# with the test guest; BENCH_ARGS="--smoke" or "--pivots 10 --configs
# 1G-high-1" for shorter runs.  Writes bench/results.md and
# bench/pause-window.png unless --out says otherwise.
# SPDX-License-Identifier: GPL-2.0-or-later

. "$(dirname "$0")/lib.sh"

"$TOP/tests/guest/build.sh" >&2 || die "the test guest did not build"
# The system's python3: Debian's python3-matplotlib draws the plot.
# shellcheck disable=SC2086
exec env TOP="$TOP" BUILD="$BUILD" PYTHONDONTWRITEBYTECODE=1 \
    /usr/bin/python3 "$TOP/bench/bench.py" ${BENCH_ARGS:-} "$@"
