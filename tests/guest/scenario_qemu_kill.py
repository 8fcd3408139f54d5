#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
# timeout: 300
"""
Scenario 3, QEMU killed: drive-reopen with pause-guest and a witness file
(passed with getfd), then SIGKILL to QEMU, either right after the reply or
after 'cont' and more writes.  The pivot either succeeds or fails (a
throttled target that does not get in sync within the timeout; the
guest is not stopped then, and the client cancels the job, as a
management application gives up on a copy).  With no record left to ask,
the witness file decides which image is the disk:

  - byte present: the new image holds every acknowledged write;
  - no byte: the old image holds every acknowledged write.

When the guest ran on after the pivot, the other image is stale: the
verifier finds writes lost on it, so choosing without the witness would
lose data.  Killed right after a successful pivot's reply, both images
are complete: the guest never ran between the switch and the kill.
"""

import os

import guestlib as gl

RUNS = int(os.environ.get('KILL_RUNS', '3'))


def one(res, succeed, cont, n):
    name = f'kill-{"ok" if succeed else "fail"}-{"cont" if cont else "now"}'
    work = gl.workdir(f'{name}-{n}')
    g = gl.Guest(work)
    try:
        a, b = os.path.join(work, 'A.raw'), os.path.join(work, 'B.raw')
        witness = os.path.join(work, 'witness')
        gl.create_image(a)
        gl.create_image(b)
        g.launch(a)
        g.wait_writes(200)
        if succeed:
            target = g.add_node(b)
        else:
            g.vm.cmd('object-add', qom_type='throttle-group', id='tg')
            g.vm.cmd('blockdev-add', {
                'driver': 'throttle', 'node-name': 'slow',
                'throttle-group': 'tg', 'file': g.node_options(b)})
            target = 'slow'
        g.vm.cmd('blockdev-mirror', job_id='copy', device=g.node,
                 target=target, sync='full')
        g.wait_job_ready('copy')
        if not succeed:
            g.vm.cmd('qom-set', path='tg', property='limits',
                     value={'iops-write': 10})
        g.wait_writes(100)
        with open(witness, 'wb') as f:
            g.vm.send_fd_scm(fd=f.fileno())
        g.vm.cmd('getfd', fdname='witness')
        resp = g.drive_reopen(request_id=name, job_id='copy',
                              pause_guest=True, witness='witness', timeout=1)
        rec = resp.get('return', {})
        gl.check(rec.get('status') == ('completed' if succeed else 'failed'),
                 f'{resp}')
        gl.check(rec['paused-by-command'] == succeed, f'{rec}')
        if not succeed:
            # The job goes on in write-blocking mode, which keeps B up to
            # date: give up on the copy
            g.vm.cmd('block-job-cancel', device='copy', force=True)
            g.vm.cmd('qom-set', path='tg', property='limits', value={})
            ev = g.vm.event_wait('BLOCK_JOB_CANCELLED', timeout=30.0,
                                 match={'data': {'device': 'copy'}})
            gl.check(ev is not None, 'the cancelled job did not end in 30 s: '
                     f'{g.vm.cmd("query-jobs")}')
        if cont:
            if rec['paused-by-command']:
                g.vm.cmd('cont')
            g.wait_writes(300)
        g.kill()
        res.pivot()
        acked = g.ack()
        res.acked(acked)

        present = os.path.getsize(witness) == 1
        gl.log(f'{name}: {rec["status"]}, witness byte '
               f'{"present" if present else "absent"}, {acked} acked')
        gl.check(present == succeed, f'witness {present} after {rec}')
        chosen, other = (b, a) if present else (a, b)
        res.verified(gl.verify(chosen, acked), 'the image the witness chose')
        stale = gl.verify(other, acked)
        if cont:
            gl.check(not stale['ok'] and stale['lost'] > 0,
                     f'the other image is not stale: {stale}')
        elif succeed:
            res.verified(stale, 'the old image, killed right after the reply')
    finally:
        g.close()


def main():
    def cases(tap, res):
        for n in range(RUNS):
            for succeed in (True, False):
                for cont in (False, True):
                    when = 'after cont' if cont else 'after the reply'
                    what = 'successful' if succeed else 'failed'
                    tap.case(f'SIGKILL {when} of a {what} pivot: the witness '
                             'chooses the complete image',
                             one, res, succeed, cont, n)

    gl.run_scenario('3 QEMU killed', cases)


if __name__ == '__main__':
    main()
