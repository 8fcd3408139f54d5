#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
# timeout: 400
"""
Scenario 1, ping-pong under load: while the guest's writer runs, mirror
A->B, drive-reopen, cont, mirror B->A, ... PIVOTS times on each disk
configuration (DISKS="virtio-blk ..." selects some), cycling through job
mode (by job-id and by new-image-file) and node mode, with and without
pause-guest.  After each pivot the image the guest left is closed and
verified for the writes acknowledged before the pivot; at the end the
image in use is verified for every acknowledged write.
"""

import os

import guestlib as gl

PIVOTS = int(os.environ.get('PIVOTS', '52'))
MODES = [('job', True, 'job-id'), ('job', False, 'new-image-file'),
         ('node', True, None), ('node', False, None),
         ('job', True, 'new-image-file'), ('job', False, 'job-id')]


def one_pivot(g, disk, res, i, mode, pause, via, a, b):
    target = b if g.image == a else a
    gl.create_image(target)
    old_node, old_image, lower, upper = gl.pivot(
        g, mode, pause, target, f'copy{i}', f'{disk}-pivot-{i}', via)
    res.pivot()
    g.forget_node(old_node)
    counts = gl.verify(old_image, lower, upper - lower + gl.SLACK)
    res.verified(counts, f'pivot {i} ({mode}, pause {pause}): '
                 f'{os.path.basename(old_image)}')
    g.wait_writes(16, timeout=30)   # the guest goes on on the new image


def pingpong(disk, res):
    work = gl.workdir('pingpong-' + disk)
    g = gl.Guest(work, disk)
    try:
        a, b = os.path.join(work, 'A.raw'), os.path.join(work, 'B.raw')
        gl.create_image(a)
        g.launch(a)
        g.wait_writes(1)
        for i in range(PIVOTS):
            mode, pause, via = MODES[i % len(MODES)]
            one_pivot(g, disk, res, i, mode, pause, via, a, b)
        acked = g.shutdown()
        res.acked(acked)
        res.verified(gl.verify(g.image, acked), 'final image')
        gl.log(f'{disk}: {PIVOTS} pivots, {acked} writes acknowledged')
    finally:
        g.close()


def main():
    def cases(tap, res):
        for disk in os.environ.get('DISKS', ' '.join(gl.DISKS)).split():
            tap.case(f'ping-pong {disk}: {PIVOTS} pivots under load, job and '
                     'node mode, pause-guest on and off', pingpong, disk, res)

    gl.run_scenario('1 ping-pong', cases)


if __name__ == '__main__':
    main()
