#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
# timeout: 300
"""
Scenario 7, stop and cont under load: the regression test of the series'
two virtio patches.  A request that an IOThread completes while the vCPUs
stop used to send its interrupt after the guest notifier was gone: the
guest then waited forever for a completed request (seen as a stall after
pivots, with or without drive-reopen).  Here the guest writes while
`stop` and `cont` alternate CYCLES times on each dataplane disk, with
BUSY host processes spinning so that the IOThread gets preempted; after
each cont the guest must go on writing, and at the end the image must
hold every acknowledged write.
"""

import multiprocessing
import os

import guestlib as gl

CYCLES = int(os.environ.get('CYCLES', '200'))
BUSY = int(os.environ.get('BUSY', '2'))
DATAPLANE = ['virtio-blk-iothread', 'virtio-blk-vq-mapping',
             'virtio-scsi-iothread']


def spin():
    while True:
        pass


def stop_cont(disk, res):
    work = gl.workdir('stop-cont-' + disk)
    g = gl.Guest(work, disk)
    busy = [multiprocessing.Process(target=spin, daemon=True)
            for _ in range(BUSY)]
    try:
        image = os.path.join(work, 'A.raw')
        gl.create_image(image)
        g.launch(image)
        g.wait_writes(1)
        for p in busy:
            p.start()
        for i in range(CYCLES):
            g.wait_writes(2, timeout=30)
            g.vm.cmd('stop')
            g.vm.cmd('cont')
        g.wait_writes(16, timeout=30)
        acked = g.shutdown()
        res.acked(acked)
        res.verified(gl.verify(g.image, acked), 'final image')
        gl.log(f'{disk}: {CYCLES} stop/cont cycles, {acked} writes '
               'acknowledged')
    finally:
        for p in busy:
            if p.is_alive():
                p.terminate()
        g.close()


def main():
    def cases(tap, res):
        for disk in os.environ.get('DISKS', ' '.join(DATAPLANE)).split():
            tap.case(f'stop/cont {disk}: {CYCLES} cycles under load with '
                     f'{BUSY} busy host processes, no write lost, no stall',
                     stop_cont, disk, res)

    gl.run_scenario('7 stop/cont', cases)


if __name__ == '__main__':
    main()
