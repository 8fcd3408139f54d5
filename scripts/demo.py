#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""make demo: a live pivot with pause-guest on a real, throwaway guest.

Boots the test guest (tests/guest: Debian's kernel, busybox and a writer
that writes 4 KiB blocks with O_DIRECT and reports each acknowledged write
on the serial console) under TCG, copies its disk with a mirror while it
writes, pivots with drive-reopen (pause-guest, request-id), shows the QMP
exchange, the record and the write counter standing still, resumes the
guest and shows the counter going on, on the new image.  Then the
verifier checks both images: nothing acknowledged was lost.

With DISKS=4 (make demo DISKS=4) a second part follows: a guest with four
disks and one write order over all of them pivots all four with one
drive-reopen-group under one pause, shows the set's record, and the
verifier checks that the images left behind stop at one point of the
guest's write order.
"""

import json
import os
import shutil
import sys
import tempfile
import time

TOP = os.environ.get('TOP') or os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(TOP, 'tests', 'guest'))

import guestlib as gl  # noqa: E402
import scenario_set as gs  # noqa: E402

BOLD, RESET = ('\033[1m', '\033[0m') if sys.stdout.isatty() else ('', '')


def say(text):
    print(f'{BOLD}{text}{RESET}', flush=True)


def show(direction, obj):
    """One QMP message as the monitor sees it; long ones indented."""
    text = json.dumps(obj, separators=(', ', ': '))
    if len(text) > 110:
        text = json.dumps(obj, indent=2).replace('\n', '\n   ')
    print(f'{direction} {text}', flush=True)


def show_event(ev):
    """Events on one line, their data abbreviated."""
    data = ev.get('data', {})
    brief = ', '.join(f'{k}={v}' for k, v in data.items()
                      if k in ('id', 'status', 'device', 'request-id',
                               'switched', 'type'))
    print(f'<- event {ev["event"]}' + (f' ({brief})' if brief else ''),
          flush=True)


class Demo:
    def __init__(self, tmp):
        self.g = gl.Guest(tmp, name='demo')
        self.a = os.path.join(tmp, 'disk-a.raw')
        self.b = os.path.join(tmp, 'disk-b.raw')

    def cmd(self, name, args=None):
        msg = {'execute': name}
        if args:
            msg['arguments'] = args
        show('->', msg)
        reply = self.g.vm.qmp(name, args_dict=args or {})
        self.events()
        show('<-', reply)
        if 'error' in reply:
            raise RuntimeError(reply['error']['desc'])
        return reply['return']

    def events(self):
        for ev in self.g.vm.get_qmp_events():
            show_event(ev)

    def counter(self, seconds, what):
        """Show the guest's write counter from its console for a while."""
        end = time.monotonic() + seconds
        while True:
            print(f'   guest console: ACK {self.g.ack():6d}   ({what})',
                  flush=True)
            if time.monotonic() >= end:
                return self.g.ack()
            time.sleep(0.5)

    def run(self):
        g = self.g
        say('1. Boot the test guest (TCG): its writer writes 4 KiB blocks '
            'to /dev/vda and\n   reports the last acknowledged write on '
            'the serial console')
        gl.create_image(self.a)
        g.launch(self.a)
        g.wait_writes(1)
        self.counter(1.5, 'running on disk-a.raw')

        say('\n2. Copy the disk to disk-b.raw while the guest writes')
        gl.create_image(self.b)
        self.cmd('blockdev-add', g.node_options(self.b, 'disk-b'))
        self.cmd('blockdev-mirror', {'job-id': 'copy-vda', 'device': g.node,
                                     'target': 'disk-b', 'sync': 'full'})
        g.wait_job_ready('copy-vda')
        self.events()
        print('<- event BLOCK_JOB_READY: the copy is in sync; the guest '
              'goes on writing')
        self.counter(1, 'running, mirrored')

        request_id = f'demo-{int(time.time())}'
        say(f'\n3. Pivot: persist request-id {request_id}, then drive-reopen')
        rec = self.cmd('drive-reopen', {'device': 'disk0',
                                        'request-id': request_id,
                                        'job-id': 'copy-vda',
                                        'pause-guest': True})
        self.print_record(rec)
        paused_at = g.ack()
        self.cmd('query-status')
        still = self.counter(1.5, 'paused by drive-reopen')
        assert rec['status'] == 'completed' and still == paused_at

        say('\n4. A management app that lost the reply would ask:')
        again = self.cmd('query-drive-reopen', {'request-id': request_id})
        assert again == [rec], 'the stored record differs from the reply'
        print('   (the same record as the reply above)')

        say('\n5. Resume: the guest goes on writing, now to disk-b.raw')
        self.cmd('cont')
        self.counter(2, 'running on disk-b.raw')
        disk = [b for b in g.vm.cmd('query-block')
                if b['qdev'].startswith('/machine/peripheral/disk0')][0]
        print(f"   query-block: the disk's image is "
              f"{disk['inserted']['image']['filename']}")
        old = rec['old-node']
        g.vm.cmd('blockdev-del', node_name=old)
        last = g.shutdown()

        say('\n6. Check both images with the verifier')
        ok = True
        for image, acked, what in ((self.a, paused_at,
                                    'every write acknowledged before the '
                                    'pause'),
                                   (self.b, last, 'every write acknowledged '
                                    'at all')):
            c = gl.verify(image, acked)
            print(f'   {os.path.basename(image)}: {what} (up to {acked}): '
                  f'verified {c["verified"]} blocks, lost {c["lost"]}, '
                  f'torn {c["torn"]}, foreign {c["foreign"]}')
            ok &= c['ok']
        if not ok:
            say('DEMO FAILED')
            sys.exit(1)
        say('Demo OK: one command paused, pivoted and recorded; '
            'nothing was lost.')

    @staticmethod
    def print_record(rec):
        print()
        print(f"   {rec['device']}: {rec['status'].upper()}, "
              f"switched={rec['switched']}")
        print(f"   {rec['old-image-file']}  ->  {rec['new-image-file']}")
        print(f"   guest paused by this command: {rec['paused-by-command']} "
              f"(was {rec['runstate-before']}), "
              f"stop-to-switch {rec['pause-ns'] / 1e6:.2f} ms, "
              f"command {rec['duration-ns'] / 1e6:.2f} ms")
        if 'error' in rec:
            print(f"   error: {rec['error']}")
        print()


class DemoSet(Demo):
    """The second part: four disks switched together"""

    def __init__(self, tmp):   # pylint: disable=super-init-not-called
        self.g = gs.SetGuest(tmp)
        self.a = [os.path.join(tmp, f'disk{d}-a.raw') for d in range(gs.N)]
        self.b = [os.path.join(tmp, f'disk{d}-b.raw') for d in range(gs.N)]

    def run(self):
        g = self.g
        say(f'\n7. A guest with {gs.N} disks: its writer writes one sequence '
            'round-robin over\n   /dev/vda ... /dev/vdd (write n goes to '
            f'disk (n - 1) % {gs.N})')
        for image in self.a:
            gl.create_image(image)
        g.launch(self.a)
        g.wait_writes(gs.N)
        self.counter(1.5, f'running on {gs.N} disks')

        say(f'\n8. Copy all {gs.N} disks while the guest writes')
        for d in range(gs.N):
            gl.create_image(self.b[d])
            g.vm.cmd('blockdev-add', g.node_options(self.b[d], f'disk{d}-b'))
            g.vm.cmd('blockdev-mirror', {'job-id': f'copy-vd{"abcd"[d]}',
                                         'device': g.dnodes[d],
                                         'target': f'disk{d}-b',
                                         'sync': 'full'})
        for d in range(gs.N):
            g.wait_job_ready(f'copy-vd{"abcd"[d]}')
        g.vm.get_qmp_events()
        print(f'   {gs.N} mirror jobs READY')

        request_id = f'demo-set-{int(time.time())}'
        say(f'\n9. Pivot the set with one command: drive-reopen-group '
            f'{request_id}')
        rec = self.cmd('drive-reopen-group', {
            'request-id': request_id, 'pause-guest': True,
            'devices': [{'device': f'disk{d}', 'job-id': f'copy-vd{"abcd"[d]}'}
                        for d in range(gs.N)]})
        paused_at = g.ack()
        print(f"\n   set {rec['request-id']}: {rec['status'].upper()}, "
              f"all switched={rec['switched']}, one pause of "
              f"{rec['pause-ns'] / 1e6:.2f} ms for {len(rec['devices'])} "
              f"disks")
        for m in rec['devices']:
            print(f"   {m['device']}: {m['status']}, "
                  f"{os.path.basename(m['old-image-file'])} -> "
                  f"{os.path.basename(m['new-image-file'])}, "
                  f"group-size {m['group-size']}")
        assert rec['status'] == 'completed'
        again = self.cmd('query-drive-reopen', {'request-id': request_id})
        assert again == rec['devices'], 'the stored records differ'
        print(f'   (the {len(again)} records of the set, as in the reply)')

        say('\n10. Resume, and check the images left behind as a set')
        self.cmd('cont')
        self.counter(1.5, 'running on the copies')
        for m in rec['devices']:
            g.vm.cmd('blockdev-del', node_name=m['old-node'])
        point = gs.set_point(gl.Results('demo'), self.a, paused_at,
                             'demo set')
        print(f'   the {gs.N} old images hold exactly the writes 1 ... '
              f'{point} of the guest, on every disk: none has a write '
              'that another lacks')
        last = g.shutdown()
        for d in range(gs.N):
            c = gl.verify(self.b[d], gs.dseq(last, d), seed=1 + d)
            print(f'   {os.path.basename(self.b[d])}: every write '
                  f'acknowledged: verified {c["verified"]}, lost '
                  f'{c["lost"]}, torn {c["torn"]}, foreign {c["foreign"]}')
            if not c['ok']:
                say('DEMO FAILED')
                sys.exit(1)
        say('Demo OK: one command paused the guest once and pivoted all '
            f'{gs.N} disks together.')


def main():
    tmp = tempfile.mkdtemp(prefix='pivot-demo.')
    demo = None
    try:
        demo = Demo(tmp)
        demo.run()
        if os.environ.get('DISKS', '1') == '4':
            demo = DemoSet(tmp)
            demo.run()
    finally:
        # A failed step must not leave the VM behind.
        if demo is not None and demo.g.vm.is_running():
            demo.g.vm.kill()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == '__main__':
    main()
