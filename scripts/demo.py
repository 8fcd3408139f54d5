#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""make demo: a live pivot with pause-guest on a throwaway VM.

Starts the built QEMU with one virtio-blk disk, writes to the disk while a
mirror copies it, pivots with drive-reopen (pause-guest, request-id),
shows the QMP exchange and the record, resumes the guest, writes again and
checks the data: the copy holds everything, later writes land on it only.
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

BUILD = os.environ['BUILD']
QBUILD = os.path.join(BUILD, 'qemu', 'build')
sys.path.insert(0, os.path.join(BUILD, 'qemu', 'python'))

from qemu.machine import QEMUMachine  # noqa: E402

QEMU = os.path.join(QBUILD, 'qemu-system-x86_64')
QEMU_IMG = os.path.join(QBUILD, 'qemu-img')
QEMU_IO = os.path.join(QBUILD, 'qemu-io')
MiB = 1024 * 1024

BOLD, DIM, RESET = ('\033[1m', '\033[2m', '\033[0m') \
    if sys.stdout.isatty() else ('', '', '')


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
        self.tmp = tmp
        self.src = os.path.join(tmp, 'disk-a.qcow2')
        self.dst = os.path.join(tmp, 'disk-b.qcow2')
        subprocess.run([QEMU_IMG, 'create', '-q', '-f', 'qcow2', self.src,
                        str(64 * MiB)], check=True)
        self.vm = QEMUMachine(QEMU, base_temp_dir=tmp, args=[
            '-accel', 'qtest', '-nodefaults', '-display', 'none',
            '-blockdev', f'driver=qcow2,node-name=disk-a,'
                         f'file.driver=file,file.filename={self.src}',
            '-device', 'virtio-blk-pci,id=vda,drive=disk-a'])

    def cmd(self, name, **args):
        msg = {'execute': name}
        if args:
            msg['arguments'] = args
        show('->', msg)
        reply = self.vm.qmp(name, **args)
        self.events()
        show('<-', reply)
        if 'error' in reply:
            raise RuntimeError(reply['error']['desc'])
        return reply['return']

    def events(self):
        for ev in self.vm.get_qmp_events():
            show_event(ev)

    def write(self, offset, length, pattern):
        # What a guest write does, through the device's BlockBackend.
        out = self.vm.cmd('human-monitor-command', command_line=(
            f'qemu-io -d vda/virtio-backend '
            f'"write -P {pattern:#x} {offset} {length}"'))
        if out:   # qemu-io's own output goes to QEMU's stdout, errors here
            raise RuntimeError(f'guest write failed: {out}')

    def run(self):
        say('1. A VM with one disk (disk-a.qcow2), running')
        self.vm.launch()
        self.cmd('query-status')

        say('\n2. The guest writes; a mirror copies the disk to disk-b.qcow2')
        for i in range(8):
            self.write(i * 4 * MiB, MiB, 0x10 + i)
        self.cmd('drive-mirror', device='disk-a', **{'job-id': 'copy-vda'},
                 target=self.dst, format='qcow2', sync='full',
                 mode='absolute-paths')
        self.vm.event_wait('BLOCK_JOB_READY', timeout=60)
        self.events()
        print('<- event BLOCK_JOB_READY: the copy is in sync; '
              'the guest goes on writing')
        for i in range(8):
            self.write(i * 4 * MiB + MiB, 512 * 1024, 0x30 + i)

        request_id = f'demo-{int(time.time())}'
        say(f'\n3. Pivot: persist request-id {request_id}, then drive-reopen')
        rec = self.cmd('drive-reopen', device='vda',
                       **{'request-id': request_id, 'job-id': 'copy-vda',
                          'pause-guest': True})
        self.print_record(rec)
        status = self.cmd('query-status')
        assert status['status'] == 'paused', status

        say('\n4. A management app that lost the reply would ask:')
        show('->', {'execute': 'query-drive-reopen',
                    'arguments': {'request-id': request_id}})
        again = self.vm.cmd('query-drive-reopen',
                            **{'request-id': request_id})
        assert again == [rec], 'the stored record differs from the reply'
        print('<- {"return": [ the same record as the reply above ]}')

        say('\n5. Resume; the guest writes to the new image')
        self.cmd('cont')
        self.write(60 * MiB, MiB, 0x77)
        self.vm.shutdown()

        say('\n6. Check the data')
        self.check(rec)

    def print_record(self, rec):
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

    def io_read(self, image, offset, length, pattern):
        r = subprocess.run([QEMU_IO, '-f', 'qcow2', '-r', '-c',
                            f'read -P {pattern:#x} {offset} {length}', image],
                           capture_output=True, text=True)
        return 'Pattern verification failed' not in r.stdout + r.stderr

    def check(self, rec):
        ok = rec['status'] == 'completed' and rec['switched']
        for i in range(8):
            ok &= self.io_read(self.dst, i * 4 * MiB, MiB, 0x10 + i)
            ok &= self.io_read(self.dst, i * 4 * MiB + MiB, 512 * 1024,
                               0x30 + i)
        after_in_new = self.io_read(self.dst, 60 * MiB, MiB, 0x77)
        after_in_old = self.io_read(self.src, 60 * MiB, MiB, 0x77)
        print(f'   every write before the pivot is in disk-b: {ok}')
        print(f'   the write after cont is in disk-b: {after_in_new}, '
              f'in disk-a: {after_in_old}')
        if not (ok and after_in_new and not after_in_old):
            say('DEMO FAILED')
            sys.exit(1)
        say('Demo OK: one command paused, pivoted and recorded; '
            'nothing was lost.')


def main():
    tmp = tempfile.mkdtemp(prefix='pivot-demo.')
    demo = None
    try:
        demo = Demo(tmp)
        demo.run()
    finally:
        # A failed step must not leave the VM behind.
        if demo is not None and demo.vm.is_running():
            demo.vm.kill()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == '__main__':
    main()
