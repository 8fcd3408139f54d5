#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""
Run a test program under a timeout that cannot be outlived.

  bounded.py NAME SECONDS -- CMD...
      CMD runs in a session (process group) of its own, its output passed
      through.  At SECONDS the group gets SIGUSR1 (the Python tests dump
      their stacks: faulthandler), 5 s later SIGKILL.  Then one line
      "not ok NAME timed out after SECONDS s" and the output's last lines
      as "# " comments; exit status 124.

  bounded.py --iotests SECONDS -- CHECK -FMT ARGS...
      QEMU's iotests harness, unchanged: the tests ARGS selects (check -n)
      run in one `check -tap` with SECONDS per test.  A test that outlives
      it is killed with its QEMUs and reported as
      "not ok FMT NAME timed out after SECONDS s"; check then starts again
      with the tests after it.  One plan line for the whole list.

A hang is a failure that names itself, never a CI run out of time.
"""

import os
import select
import signal
import subprocess
import sys
import time

GRACE = 5.0     # between SIGUSR1 and SIGKILL, and for output after exit
TAIL = 20
# Set by SIGUSR1/SIGTERM/SIGINT: an outer bounded.py (or make) gave up on
# this one, whose group it cannot reach; stop the group as on a timeout.
STOPPED = []


def on_signal(signum, _frame):
    STOPPED.append(signum)


def killgroup(proc, sig):
    try:
        os.killpg(proc.pid, sig)
    except ProcessLookupError:
        pass


class Run:
    """One process group; its output read line by line, with deadlines."""

    def __init__(self, cmd):
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL,
                                     start_new_session=True)
        self.buf = b''
        self.tail = []
        self.eof = False

    def lines(self, deadline, stoppable=True):
        """Yield output lines until EOF or deadline (a callable)."""
        fd = self.proc.stdout.fileno()
        exited_at = None
        while not self.eof:
            now = time.monotonic()
            if exited_at is None and self.proc.poll() is not None:
                exited_at = now
            # A grandchild that left the group may keep the pipe open:
            # after the exit, output is read for GRACE seconds only.
            end = deadline() if exited_at is None else exited_at + GRACE
            if STOPPED and stoppable and exited_at is None:
                end = now
            if now >= end:
                return
            r, _, _ = select.select([fd], [], [], min(end - now, 0.5))
            if not r:
                continue
            data = os.read(fd, 65536)
            if not data:
                self.eof = True
                data = b'\n' if self.buf else b''
            self.buf += data
            while b'\n' in self.buf:
                line, self.buf = self.buf.split(b'\n', 1)
                text = line.decode(errors='replace')
                self.tail = (self.tail + [text])[-TAIL:]
                yield text

    def exited(self, deadline):
        """Whether the process exits by deadline: the pipe's EOF comes a
        moment before the process can be reaped."""
        while self.proc.poll() is None:
            if time.monotonic() >= deadline() or STOPPED:
                return False
            time.sleep(0.02)
        return True

    def kill(self):
        """SIGUSR1, a grace period for stack dumps, SIGKILL: the group."""
        killgroup(self.proc, signal.SIGUSR1)
        stop = time.monotonic() + GRACE
        for line in self.lines(lambda: stop, stoppable=False):
            print(line, flush=True)
        killgroup(self.proc, signal.SIGKILL)
        self.proc.wait()

    def wait(self):
        killgroup(self.proc, signal.SIGKILL)     # leftovers of the group
        return self.proc.wait()


def report_timeout(name, secs, tail):
    if STOPPED:
        print(f'not ok {name} stopped by signal {STOPPED[0]}', flush=True)
    else:
        print(f'not ok {name} timed out after {secs:g} s', flush=True)
    for line in tail:
        print('#  ' + line)
    sys.stdout.flush()


def bounded(name, secs, cmd):
    run = Run(cmd)
    stop = time.monotonic() + secs
    for line in run.lines(lambda: stop):
        print(line, flush=True)
    if not run.exited(lambda: stop):
        run.kill()
        report_timeout(name, secs, run.tail)
        return 124
    return run.wait()


def iotests(secs, cmd):
    check, fmt, args = cmd[0], cmd[1], cmd[2:]
    listed = subprocess.run([check, '-n', fmt] + args, check=False,
                            stdout=subprocess.PIPE, text=True, timeout=120)
    tests = listed.stdout.split()
    if listed.returncode != 0 or not tests:
        print(f'not ok iotests {fmt}: check -n selected nothing '
              f'(status {listed.returncode})', flush=True)
        return 1
    print(f'1..{len(tests)}', flush=True)
    status = 0
    todo = tests
    while todo:
        run = Run([check, '-tap', fmt] + todo)
        current = [None, time.monotonic() + secs]
        for line in run.lines(lambda: current[1]):
            if line.startswith('1..'):
                continue
            print(line, flush=True)
            if line.startswith('# running '):
                current[:] = [line.split()[-1], time.monotonic() + secs]
        if not run.exited(lambda: current[1]):
            run.kill()
            status = 1
            name = current[0] or todo[0]
            report_timeout(f'{fmt.lstrip("-")} {name}', secs, run.tail)
            todo = todo[todo.index(name) + 1:] if name in todo else todo[1:]
            if STOPPED:
                break
            continue
        if run.wait() != 0:
            status = 1
        todo = []
    return status


def main():
    for sig in (signal.SIGUSR1, signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, on_signal)
    argv = sys.argv[1:]
    try:
        sep = argv.index('--')
    except ValueError:
        sys.exit(__doc__)
    opts, cmd = argv[:sep], argv[sep + 1:]
    if len(opts) == 2 and opts[0] == '--iotests' and len(cmd) >= 2:
        sys.exit(iotests(float(opts[1]), cmd))
    if len(opts) == 2 and cmd:
        sys.exit(bounded(opts[0], float(opts[1]), cmd))
    sys.exit(__doc__)


if __name__ == '__main__':
    main()
