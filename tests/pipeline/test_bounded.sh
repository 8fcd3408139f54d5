#!/bin/bash
# A hang is a failure that names itself: scripts/bounded.py kills a
# command's whole process group at its limit and says so; in --iotests
# mode a hung test is named and the tests after it still run; the guest
# harness fails a QMP command that QEMU never answers, and reaps a QEMU
# it killed, instead of waiting for ever.
# SPDX-License-Identifier: GPL-2.0-or-later
# timeout: 300

. "$(dirname "$0")/tap.sh"
B=$TOP/scripts/bounded.py

marker=bounded-test-$$
"$B" hung 2 -- bash -c "echo started; exec -a $marker-a sleep 600 & exec -a $marker-b sleep 600" \
    >"$tmp/out" 2>&1
rc=$?
sleep 0.5
if [ $rc = 124 ] && grep -q '^not ok hung timed out after 2 s$' "$tmp/out" &&
   grep -q '^#  started$' "$tmp/out" && ! pgrep -f "$marker" >/dev/null; then
    ok "a command past its limit: 'timed out', its output's tail, its group killed"
else
    nok "a command past its limit (status $rc; left: $(pgrep -f "$marker" | tr '\n' ' '))"
    pkill -f "$marker"
fi

"$B" fine 30 -- bash -c 'echo out; exit 3' >"$tmp/out" 2>&1
rc=$?
if [ $rc = 3 ] && [ "$(cat "$tmp/out")" = out ]; then
    ok "a command within its limit: its output and status, nothing added"
else
    nok "a command within its limit (status $rc)"
fi

# An outer bound reaches an inner one's group through it.
"$B" outer 3 -- "$B" inner 600 -- bash -c "exec -a $marker-c sleep 600" \
    >"$tmp/out" 2>&1
rc=$?
sleep 0.5
if [ $rc = 124 ] && grep -q '^not ok inner stopped by signal' "$tmp/out" &&
   ! pgrep -f "$marker" >/dev/null; then
    ok "nested limits: the outer one stops the inner one's group"
else
    nok "nested limits (status $rc)"
    pkill -f "$marker"
fi

# A stand-in for QEMU's check: -n lists t1 t2 t3, and t2 hangs.
cat >"$tmp/check" <<EOF
#!/bin/bash
if [ "\$1" = -n ]; then echo t1; echo t2; echo t3; exit 0; fi
shift 2
echo "1..\$#"
for t in "\$@"; do
    echo "# running raw \$t"
    [ \$t = t2 ] && exec -a $marker-d sleep 600
    echo "ok raw \$t"
done
EOF
chmod +x "$tmp/check"
"$B" --iotests 2 -- "$tmp/check" -raw -g quick >"$tmp/out" 2>&1
rc=$?
if [ $rc = 1 ] && [ "$(grep -cE '^(not )?ok ' "$tmp/out")" = 3 ] &&
   grep -q '^1\.\.3$' "$tmp/out" && [ "$(grep -c '^1\.\.' "$tmp/out")" = 1 ] &&
   grep -q '^not ok raw t2 timed out after 2 s$' "$tmp/out" &&
   grep -q '^ok raw t3$' "$tmp/out" && ! pgrep -f "$marker" >/dev/null; then
    ok "iotests: a hung test is named and killed, the next ones still run"
else
    nok "iotests with a hung test (status $rc)"
    pkill -f "$marker"
fi

# The guest harness on a QEMU that stops answering (SIGSTOP): the QMP
# command fails within QMP_TIMEOUT, and kill() reaps it.
if "$TOP/tests/guest/build.sh" >"$tmp/out" 2>&1; then
    cat >"$tmp/stopped.py" <<EOF
import os, signal, sys, time
sys.path.insert(0, '$TOP/tests/guest')
import guestlib as gl
g = gl.Guest(sys.argv[1])
a = os.path.join(sys.argv[1], 'A.raw')
gl.create_image(a)
g.launch(a)
g.wait_writes(10)
pid = g.vm.get_pid()
os.kill(pid, signal.SIGSTOP)
start = time.monotonic()
try:
    g.vm.cmd('query-status')
    print('answered')
except Exception as e:  # the timeout, whatever its class
    print(f'failed after {time.monotonic() - start:.0f} s: {type(e).__name__}')
g.kill()
print('reaped' if not os.path.exists(f'/proc/{pid}') else 'left')
EOF
    QMP_TIMEOUT=3 PYTHONDONTWRITEBYTECODE=1 "$B" qmp-timeout 120 -- \
        python3 "$tmp/stopped.py" "$tmp" >"$tmp/out" 2>&1
    rc=$?
    if [ $rc = 0 ] && grep -qE '^failed after [34] s' "$tmp/out" &&
       grep -q '^reaped$' "$tmp/out"; then
        ok "a QEMU that does not answer: the command times out, kill() reaps it"
    else
        nok "a QEMU that does not answer (status $rc)"
    fi
else
    nok "tests/guest/build.sh failed"
fi
# A case that waits for ever fails by itself within CASE_TIMEOUT, naming
# the line it waited on, and the scenario goes on with its next case.
cat >"$tmp/case.py" <<EOF
import os, sys
sys.path.insert(0, '$TOP/tests/guest')
import guestlib as gl
def hang():
    r, _ = os.pipe()
    os.read(r, 1)               # nobody writes: for ever
tap = gl.Tap()
tap.case('hangs', hang)
tap.case('runs after it', lambda: None)
tap.exit()
EOF
CASE_TIMEOUT=2 PYTHONDONTWRITEBYTECODE=1 "$B" case-timeout 60 -- \
    python3 "$tmp/case.py" >"$tmp/out" 2>&1
rc=$?
if [ $rc = 1 ] &&
   grep -qE '^not ok 1 - hangs: CaseTimeout: timed out after 2 s in case\.py:6 hang' "$tmp/out" &&
   grep -q '^ok 2 - runs after it' "$tmp/out" && grep -q '^1\.\.2$' "$tmp/out"; then
    ok "guest harness: a case that hangs fails by itself, naming where, and the next one runs"
else
    nok "guest harness: a hanging case (status $rc)"
    sed 's/^/# /' "$tmp/out"
fi
# An event wait ends at its timeout, an int one too, although events
# that do not match keep arriving (query-status's none; STOP/RESUME
# cycles from a loop of stop and cont do)
cat >"$tmp/events.py" <<EOF
import os, sys, time
sys.path.insert(0, '$TOP/tests/guest')
import guestlib as gl
vm = gl.Machine(gl.QEMU, base_temp_dir=sys.argv[1])
vm.add_args('-machine', 'none', '-nodefaults')
vm.launch()
start = time.monotonic()
for _ in range(3):
    vm.cmd('stop')
    vm.cmd('cont')
ev = vm.event_wait('NO_SUCH_EVENT', timeout=2)
print(f'{ev} after {time.monotonic() - start:.0f} s')
vm.shutdown()
EOF
PYTHONDONTWRITEBYTECODE=1 "$B" event-timeout 60 -- \
    python3 "$tmp/events.py" "$tmp" >"$tmp/out" 2>&1
rc=$?
if [ $rc = 0 ] && grep -qE '^None after [23] s$' "$tmp/out"; then
    ok "guest harness: an event wait with an int timeout ends at it, returning None"
else
    nok "guest harness: an event wait's timeout (status $rc)"
    sed 's/^/# /' "$tmp/out"
fi
echo "1..$n"
exit $failed
