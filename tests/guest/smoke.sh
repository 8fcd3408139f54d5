#!/bin/bash
# Manual smoke test of the test guest (not run by make check): boot it on a
# raw virtio-blk disk with the built QEMU (TCG), let the writer do COUNT
# writes, then check the image with the verifier, and check that the
# verifier catches a lost and a torn block in corrupted copies.
#   QEMU=...  COUNT=2000  BLOCKS=4096  SEED=1  KEEP=1 (keep the work dir)
# SPDX-License-Identifier: GPL-2.0-or-later

set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
export TOP=${TOP:-$(cd "$here/../.." && pwd)}
export BUILD=${BUILD:-$TOP/build}
QEMU=${QEMU:-$BUILD/qemu/build/qemu-system-x86_64}
COUNT=${COUNT:-2000} BLOCKS=${BLOCKS:-4096} SEED=${SEED:-1}
G=$BUILD/guest

"$here/build.sh"
[ -x "$QEMU" ] || { echo "no $QEMU: make build" >&2; exit 1; }
work=$(mktemp -d)
qemu=
cleanup() {
    [ -z "$qemu" ] || kill "$qemu" 2>/dev/null || true
    if [ -n "${KEEP:-}" ]; then echo "kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
img=$work/disk.raw log=$work/serial.log
truncate -s 64M "$img"
: > "$log"

ms() { date +%s%3N; }
t0=$(ms)
timeout 120 "$QEMU" -accel tcg -m 256 -nodefaults -display none \
    -no-reboot -serial "file:$log" \
    -kernel "$G/vmlinuz" -initrd "$G/initramfs.gz" \
    -append "console=ttyS0 quiet panic=-1 writer.blocks=$BLOCKS writer.count=$COUNT writer.seed=$SEED" \
    -drive "file=$img,if=none,id=d0,format=raw,cache=none,aio=threads" \
    -device virtio-blk-pci,drive=d0 &
qemu=$!
t_first=
while kill -0 "$qemu" 2>/dev/null; do
    if [ -z "$t_first" ] && grep -q '^ACK ' "$log"; then
        t_first=$(ms)
    fi
    sleep 0.1
done
rc=0
wait "$qemu" || rc=$?
qemu=
t_end=$(ms)
tr -d '\r' < "$log" > "$log.txt"
[ $rc = 0 ] || { cat "$log.txt"; echo "FAIL: QEMU exited $rc (124: timeout)"; exit 1; }

read -r _ acked block _ < <(grep '^ACK ' "$log.txt" | tail -n 1) ||
    { cat "$log.txt"; echo "FAIL: no ACK line on the console"; exit 1; }
grep '^\(WRITER\|DONE\|ERR\|INIT\)' "$log.txt" | head -n 20
read -r _ _ done_ms < <(grep '^DONE ' "$log.txt") && [ "$acked" = "$COUNT" ] ||
    { echo "FAIL: the writer did not finish its $COUNT writes"; exit 1; }
# After DONE nothing but the acknowledged writes can be on the disk.
slack=0
echo "boot to first ACK $((${t_first:-$t_end} - t0)) ms, to power-off $((t_end - t0)) ms;" \
     "writer: $acked writes in $done_ms ms ($((acked * 1000 / (done_ms > 0 ? done_ms : 1))) writes/s)"

fail=0
verify() {  # verify IMAGE WANT WHAT: WANT is "lost L torn T foreign F"
    local out rc=0 want_rc=1
    out=$("$G/verifier" "$1" --blocks "$BLOCKS" --seed "$SEED" --acked "$acked" \
          --slack "$slack" 2>"$work/verifier.err") || rc=$?
    echo "$3: $out (exit $rc)"
    sed 's/^/  /' "$work/verifier.err"
    [ "$2" != "lost 0 torn 0 foreign 0" ] || want_rc=0
    if [ "$rc" != "$want_rc" ] || [[ $out != *" $2" ]]; then
        echo "FAIL: $3: want '$2', exit $want_rc"
        fail=1
    fi
}
verify "$img" "lost 0 torn 0 foreign 0" "image after the run (acked $acked, slack $slack)"

# The block of the last acknowledged write, zeroed in a copy: lost.
cp --sparse=always "$img" "$work/zeroed.raw"
dd if=/dev/zero of="$work/zeroed.raw" bs=4096 seek="$block" count=1 conv=notrunc status=none
verify "$work/zeroed.raw" "lost 1 torn 0 foreign 0" "block $block zeroed"

# One payload byte of it flipped in another copy: torn.
cp --sparse=always "$img" "$work/flipped.raw"
off=$((block * 4096 + 1000))
byte=$(od -An -tu1 -j "$off" -N1 "$img" | tr -d ' ')
printf "\\$(printf %03o $((byte ^ 0xff)))" |
    dd of="$work/flipped.raw" bs=1 seek="$off" conv=notrunc status=none
verify "$work/flipped.raw" "lost 0 torn 1 foreign 0" \
    "a payload byte of block $block flipped"

[ $fail = 0 ] && echo "PASS" || echo "FAIL"
exit $fail
