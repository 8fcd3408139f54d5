# Sourced by the pipeline tests: a scratch directory $tmp (removed on
# exit), and ok/nok, which number TAP lines; nok shows $tmp/out.  A test
# ends with: echo "1..$n"; exit $failed
# SPDX-License-Identifier: GPL-2.0-or-later

set -u
TOP=${TOP:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
BUILD=${BUILD:-$TOP/build}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
n=0 failed=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
nok() { n=$((n + 1)); failed=1; echo "not ok $n - $1"; sed 's/^/#  /' "$tmp/out"; }
