#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
# timeout: 400
"""
Scenario 2, management crash: the reference client (pivot_client.py, on
qemu.qmp) pivots the running guest's disk and is killed with SIGKILL at a
random point: before sending, while the command runs (on its STOP event,
or 0-10 ms after sending), or after the reply and before 'cont'.
A fresh client then recovers from the state file alone.  Each time it
must determine the outcome that the graph shows, leave the guest running,
and no acknowledged write may be lost.  An attempt that had no effect is
retried by the client, as the protocol says.
"""

import json
import os
import random
import subprocess
import sys

import guestlib as gl

CRASHES = int(os.environ.get('CRASHES', '24'))
SEED = int(os.environ.get('CRASH_SEED', '1'))
POINTS = ['before-send', 'on-stop', 'after-delay', 'after-reply']
CLIENT = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                      'pivot_client.py')


def client(sock, state, *args, expect_kill=False):
    proc = subprocess.run([sys.executable, CLIENT, *args, '--socket', sock,
                           '--state', state], capture_output=True,
                          text=True, timeout=120, check=False)
    if expect_kill:
        gl.check(proc.returncode == -9, f'client {args}: exit '
                 f'{proc.returncode}, not killed: {proc.stdout} {proc.stderr}')
        return None
    gl.check(proc.returncode == 0, f'client {args}: exit {proc.returncode}: '
             f'{proc.stderr[-1000:]}')
    return json.loads(proc.stdout.splitlines()[-1])


def crashes(res):
    rng = random.Random(SEED)
    # Every point equally often, in a random order
    points = (POINTS * (CRASHES // len(POINTS) + 1))[:CRASHES]
    rng.shuffle(points)
    work = gl.workdir('crash')
    sock = os.path.join(work, 'mgmt.sock')
    state = os.path.join(work, 'client.json')
    g = gl.Guest(work, extra_args=[
        '-chardev', f'socket,id=mgmt,path={sock},server=on,wait=off',
        '-mon', 'chardev=mgmt,mode=control'])
    seen = {}
    try:
        a, b = os.path.join(work, 'A.raw'), os.path.join(work, 'B.raw')
        gl.create_image(a)
        g.launch(a)
        g.wait_writes(1)
        for i, point in enumerate(points):
            target = b if g.image == a else a
            gl.create_image(target)
            job = f'copy{i}'
            old_node, old_image = g.node, g.image
            new_node = g.mirror(target, job)
            g.wait_writes(8)
            lower = g.ack()
            delay = rng.choice([0, 0, rng.uniform(0, 10)])
            client(sock, state, 'pivot', '--device', 'disk0', '--job-id',
                   job, '--crash-at', point, '--delay-ms', f'{delay:.1f}',
                   expect_kill=True)
            out = client(sock, state, 'recover')
            outcome = out['outcome']
            seen[(point, outcome)] = seen.get((point, outcome), 0) + 1
            gl.log(f'crash {i} {point}'
                   + (f' ({delay:.1f} ms)' if point == 'after-delay' else '')
                   + f': {outcome}, resumed {out["resumed"]}')
            gl.check(g.runstate() == 'running',
                     f'crash {i}: the guest is {g.runstate()} after recovery')
            active = g.active_node()
            if outcome == 'no-effect':
                gl.check(point in ('before-send', 'after-delay'),
                         f'crash {i} at {point}: no effect')
                gl.check(active == old_node, f'crash {i}: no effect, but '
                         f'the disk is on {active}')
                jobs = {j['device']: j['status']
                        for j in g.vm.cmd('query-block-jobs')}
                gl.check(jobs.get(job) == 'ready', f'crash {i}: job {jobs}')
                # Start again with (1): the same job, a new request-id
                out = client(sock, state, 'pivot', '--device', 'disk0',
                             '--job-id', job)
                outcome = out['outcome']
                gl.check(out['resumed'], 'the retry did not resume')
                active = g.active_node()
            else:
                gl.check(point != 'before-send', f'crash {i}: a command '
                         'never sent had an effect')
                # The killed client never sent cont: the fresh one did
                gl.check(out['resumed'], f'crash {i}: not resumed: {out}')
            gl.check(outcome == 'completed', f'crash {i}: outcome {out}')
            gl.check(active == new_node, f'crash {i}: completed, but the '
                     f'disk is on {active}')
            gl.check(g.vm.cmd('query-drive-reopen',
                              request_id=out['request-id'])
                     == [out['record']], 'the record changed')
            res.pivot()
            g.node, g.image = new_node, target
            g.forget_node(old_node)
            upper = g.wait_writes(16)
            res.verified(gl.verify(old_image, lower,
                                   upper - lower + gl.SLACK),
                         f'crash {i} at {point}: the old image')
        acked = g.shutdown()
        res.acked(acked)
        res.verified(gl.verify(g.image, acked), 'final image')
        gl.log('outcomes by crash point: ' + ', '.join(
            f'{p} -> {o}: {n}' for (p, o), n in sorted(seen.items())))
        gl.check(all(any(p == q for q, _ in seen) for p in POINTS),
                 f'not every crash point was reached: {seen}')
    finally:
        g.close()


def main():
    def cases(tap, res):
        tap.case(f'management client killed {CRASHES} times at random points; '
                 'a fresh client always recovers', crashes, res)

    gl.run_scenario('2 management crash', cases)


if __name__ == '__main__':
    main()
