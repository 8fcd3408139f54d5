#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
# timeout: 300
"""
Scenario 4, target faults during the pivot: the copy fails while it
converges (blkdebug write errors, ENOSPC on a small tmpfs), cannot keep up
(a throttled target: the timeout), or is truncated or of the wrong
format before the pivot.  Each case ends with an error reply or a
'failed' record, the guest on its source image, and, after 'cont' and
more writes, the verifier passing on that image.  (A copy deleted or made read-only behind QEMU's back is not
refused: QEMU checks through its open node, not by the file's name, and
its descriptor keeps such a file usable; see the series' docs.)
"""

import os
import subprocess

import guestlib as gl

EIO, ENOSPC = 5, 28


def raw_over(file_opts, name):
    return {'driver': 'raw', 'node-name': name, 'file': file_opts}


def file_opts(path):
    return {'driver': 'file', 'filename': path, 'aio': 'threads'}


class Case:
    """One fault on a fresh guest: set_up() returns the drive-reopen
    arguments after injecting the fault."""

    def __init__(self, res, name):
        self.res = res
        self.work = gl.workdir('faults-' + name)
        self.g = gl.Guest(self.work)
        self.a = os.path.join(self.work, 'A.raw')
        self.b = os.path.join(self.work, 'B.raw')
        self.mounts = []

    def __enter__(self):
        gl.create_image(self.a)
        self.g.launch(self.a)
        self.g.wait_writes(1)
        return self

    def __exit__(self, *exc):
        if self.g.vm.is_running():
            self.g.kill()
        for m in self.mounts:
            subprocess.run(['chattr', '-R', '-i', m], check=False,
                           capture_output=True)
            subprocess.run(['umount', '-l', m], check=False)
        gl.cleanup(self.work)

    def small_fs(self, size):
        """A tmpfs of this size, for ENOSPC."""
        d = os.path.join(self.work, 'small')
        os.mkdir(d)
        subprocess.run(['mount', '-t', 'tmpfs', '-o', f'size={size}',
                        'tmpfs', d], check=True)
        self.mounts.append(d)
        return d

    def start_mirror(self, target_node, job='copy', wait_ready=True,
                     **extra):
        args = {'job-id': job, 'device': self.g.node, 'target': target_node,
                'sync': 'full', 'auto-dismiss': False}
        args.update({k.replace('_', '-'): v for k, v in extra.items()})
        self.g.vm.cmd('blockdev-mirror', args)
        if wait_ready:
            self.g.wait_job_ready(job)

    def outcome(self, args, want, after=None, paused=True):
        """Send drive-reopen (pause-guest); want 'error' or 'failed'
        (paused: the failure came after the vCPUs were stopped, which
        the guest then waits for cont).  Then: the disk on its source,
        cont, more writes, verify."""
        g = self.g
        node, image = g.node, g.image
        acked = g.ack()
        resp = g.drive_reopen(request_id='fault', pause_guest=True, **args)
        if want == 'error':
            gl.check('error' in resp, f'want an error reply: {resp}')
            gl.check(g.vm.cmd('query-drive-reopen') == [],
                     'an error reply left a record')
            gl.check(g.runstate() == 'running', 'the guest was paused')
            what = resp['error']['desc']
        else:
            rec = resp.get('return', {})
            gl.check(rec.get('status') == 'failed' and
                     not rec.get('switched') and rec.get('error'),
                     f'want a failed record: {resp}')
            gl.check(rec['paused-by-command'] == paused, f'{rec}')
            gl.check(g.runstate() == ('paused' if paused else 'running'),
                     f'runstate {g.runstate()} after {rec}')
            if paused:
                g.vm.cmd('cont')
            what = rec['error']
        gl.log(f'-> {want}: {what[:200]}')
        if after:
            after()
        gl.check(g.active_node() == node, 'the disk left its source')
        g.wait_writes(200)      # the guest goes on on the source
        last = g.shutdown()
        gl.check(last > acked, 'no write after the fault')
        self.res.acked(last)
        self.res.verified(gl.verify(image, last), 'source after the fault')


def blkdebug_errors(res, policy):
    """Writes to the target fail while the mirror converges."""
    with Case(res, 'blkdebug-' + policy) as c:
        c.g.wait_writes(500)
        gl.create_image(c.b)
        c.g.vm.cmd('blockdev-add', raw_over({
            'driver': 'blkdebug', 'node-name': 'dbg',
            'inject-error': [{'event': 'write_aio', 'iotype': 'write',
                              'errno': EIO, 'once': False}],
            'image': file_opts(c.b)}, 'target'))
        c.start_mirror('target', wait_ready=False, on_target_error=policy)
        # 'report': the job fails; 'stop': it pauses with an I/O error
        ev = 'BLOCK_JOB_COMPLETED' if policy == 'report' else 'BLOCK_JOB_ERROR'
        gl.check(c.g.vm.event_wait(ev, timeout=60.0) is not None, f'no {ev}')
        c.outcome({'job_id': 'copy'}, 'error')


def enospc(res, policy):
    """The target's filesystem fills up during the copy."""
    with Case(res, 'enospc-' + policy) as c:
        c.g.wait_writes(1500)       # ~6 MiB of the source written
        target = os.path.join(c.small_fs('2M'), 'B.raw')
        gl.create_image(target)
        c.g.vm.cmd('blockdev-add', c.g.node_options(target, 'target'))
        c.start_mirror('target', wait_ready=False, on_target_error=policy)
        ev = c.g.vm.event_wait('BLOCK_JOB_ERROR', timeout=60.0)
        gl.check(ev is not None and ev['data']['operation'] == 'write',
                 f'no write error: {ev}')
        if policy == 'report':
            c.g.vm.event_wait('BLOCK_JOB_COMPLETED', timeout=30.0)
        c.outcome({'new_image_file': target}, 'error')


def too_slow(res):
    """The target cannot keep up: the job does not get in sync within the
    timeout, the record says 'failed' and the guest was never stopped;
    the job goes on (in write-blocking mode), and the management
    application cancels it."""
    with Case(res, 'throttled') as c:
        g = c.g
        g.vm.cmd('object-add', qom_type='throttle-group', id='tg')
        gl.create_image(c.b)
        g.vm.cmd('blockdev-add', {
            'driver': 'throttle', 'node-name': 'target',
            'throttle-group': 'tg',
            'file': g.node_options(c.b, 'target-raw')})
        c.start_mirror('target')
        g.vm.cmd('qom-set', path='tg', property='limits',
                 value={'iops-write': 10})
        g.wait_writes(100)          # dirty data the target must take

        def unthrottle():
            # The cancelled job ends once its writes get through, and
            # leaves the disk where it is.
            g.vm.cmd('block-job-cancel', device='copy', force=True)
            g.vm.cmd('qom-set', path='tg', property='limits', value={})
            ev = g.vm.event_wait('BLOCK_JOB_CANCELLED', timeout=30.0,
                                 match={'data': {'device': 'copy'}})
            gl.check(ev is not None, 'the cancelled job did not end')
        c.outcome({'job_id': 'copy', 'timeout': 1}, 'failed', unthrottle,
                  paused=False)


def truncated(res):
    """The copy's file is truncated behind QEMU's back before the pivot."""
    with Case(res, 'truncated') as c:
        g = c.g
        b = c.b
        gl.create_image(b)
        g.vm.cmd('blockdev-add', g.node_options(b, 'target'))
        c.start_mirror('target')
        g.wait_writes(16)
        os.truncate(b, gl.IMAGE_SIZE // 2)
        c.outcome({'job_id': 'copy'}, 'error')


def wrong_format(res):
    """A qcow2 copy added as raw: not the disk's data (nor its length)."""
    with Case(res, 'format') as c:
        g = c.g
        subprocess.run([os.path.join(os.path.dirname(gl.QEMU), 'qemu-img'),
                        'create', '-q', '-f', 'qcow2', c.b,
                        str(gl.IMAGE_SIZE)], check=True)
        g.vm.cmd('blockdev-add', g.node_options(c.b, 'copy'))
        g.vm.cmd('stop')
        resp = g.drive_reopen(request_id='fault', node_name='copy')
        gl.check('error' in resp, f'want an error: {resp}')
        gl.log(f'-> error: {resp["error"]["desc"]}')
        g.vm.cmd('cont')
        gl.check(g.active_node() == 'n1', 'the disk left its source')
        g.wait_writes(200)
        last = g.shutdown()
        res.acked(last)
        res.verified(gl.verify(c.a, last), 'source after the fault')


def main():
    def cases(tap, res):
        tap.case('blkdebug write errors while converging '
                 '(on-target-error=report): error reply', blkdebug_errors, res,
                 'report')
        tap.case('blkdebug write errors while converging '
                 '(on-target-error=stop): error reply', blkdebug_errors, res,
                 'stop')
        tap.case('ENOSPC on a 2 MiB tmpfs (on-target-error=report): error '
                 'reply', enospc, res, 'report')
        tap.case('ENOSPC on a 2 MiB tmpfs (on-target-error=enospc): error '
                 'reply', enospc, res, 'enospc')
        tap.case('throttled target not in sync within the 1 s timeout: failed '
                 'record, the guest not stopped', too_slow, res)
        tap.case('target file truncated before the pivot: error reply',
                 truncated, res)
        tap.case('wrong format (a qcow2 file added as raw): error reply',
                 wrong_format, res)

    gl.run_scenario('4 target faults', cases)


if __name__ == '__main__':
    main()
