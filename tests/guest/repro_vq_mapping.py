#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""
Not a test: reproduces a problem of the base QEMU (10.0.13) that the
ping-pong scenario reports as a known stall.  With virtio-blk and
iothread-vq-mapping, the guest's I/O sometimes never completes after
the classic external pivot, without drive-reopen:

  blockdev-mirror, BLOCK_JOB_READY, stop, block-job-complete,
  BLOCK_JOB_COMPLETED, cont

It happens once in some tens of pivots, more often with the host's CPUs
busy (run two busy loops alongside).  At the stall, every virtqueue's
indices say that QEMU completed all it saw.

  repro_vq_mapping.py [PIVOTS]   (default 100)
"""

import os
import sys

import guestlib as gl


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100
    work = gl.workdir('repro-vq-mapping')
    g = gl.Guest(work, 'virtio-blk-vq-mapping')
    a, b = os.path.join(work, 'A.raw'), os.path.join(work, 'B.raw')
    i = 0
    try:
        gl.create_image(a)
        g.launch(a)
        g.wait_writes(1)
        for i in range(n):
            target = b if g.image == a else a
            gl.create_image(target)
            old, new = g.node, g.mirror(target, f'copy{i}')
            g.wait_writes(8)
            g.vm.cmd('stop')
            g.vm.cmd('block-job-complete', device=f'copy{i}')
            g.vm.event_wait('BLOCK_JOB_COMPLETED', timeout=30)
            g.vm.cmd('cont')
            g.node, g.image = new, target
            g.forget_node(old)
            g.wait_writes(16, timeout=20)
        print(f'no stall in {n} pivots')
    except gl.Stalled as e:
        print(f'stalled after pivot {i}: {str(e)[:120]}')
        for q in (0, 1):
            st = g.vm.cmd('x-query-virtio-queue-status', queue=q,
                          path='/machine/peripheral/disk0/virtio-backend')
            print(f'  queue {q}:', {k: v for k, v in st.items()
                                    if k.endswith(('-idx', 'inuse'))})
        sys.exit(1)
    finally:
        if g.vm.is_running():
            g.kill()
        gl.cleanup(work)


if __name__ == '__main__':
    main()
