#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
# timeout: 240
"""
Scenario 5, bad QMP input: malformed drive-reopen argument sets sent to a
running guest whose disk has a READY mirror job.  Each must get an error
reply, and leave the runstate, the disk's node, the job and the records
as they were; QEMU stays up and the writer goes on.  At the end the
image the guest used throughout holds every acknowledged write.
"""

import json
import os
import socket
import stat

import guestlib as gl

DROP = object()     # a member left out

work = gl.workdir('bad-input')
A = os.path.join(work, 'A.raw')
B = os.path.join(work, 'B.raw')
SHORT = os.path.join(work, 'short.raw')
FIFO = os.path.join(work, 'fifo')
SOCK = os.path.join(work, 'sock')
RAW_MON = os.path.join(work, 'raw-mon.sock')


def cases(g, nodes):
    """(what, arguments) of every malformed call.  The base arguments
    are valid except for what each case changes."""
    base = {'device': 'disk0', 'request-id': 'bad', 'job-id': 'copy'}
    c = [
        ('no arguments', {'device': DROP, 'request-id': DROP,
                          'job-id': DROP}),
        ('device missing', {'device': DROP}),
        ('request-id missing', {'request-id': DROP}),
        ('device is a number', {'device': 42}),
        ('device is null', {'device': None}),
        ('device is a list', {'device': ['disk0']}),
        ('device is empty', {'device': ''}),
        ('device names nothing', {'device': 'no-such-disk'}),
        ('device is a path under /proc', {'device': '/proc/self/mem'}),
        ('device is a QOM container', {'device': '/machine/peripheral'}),
        ('device is 64 KiB long', {'device': 'd' * 65536}),
        ('device has a lone UTF-16 surrogate', {'device': '\udcff'}),
        ('device has a NUL character', {'device': 'disk0\u0000'}),
        ('request-id is empty', {'request-id': ''}),
        ('request-id is a number', {'request-id': 1}),
        ('request-id is an object', {'request-id': {}}),
        ('no job-id, new-image-file or node-name', {'job-id': DROP}),
        ('job-id and node-name', {'node-name': nodes['copy']}),
        ('job-id and new-image-file', {'new-image-file': B}),
        ('job-id is empty', {'job-id': ''}),
        ('job-id names no job', {'job-id': 'no-such-job'}),
        ('job-id is a boolean', {'job-id': True}),
        ('new-image-file is empty', {'job-id': DROP, 'new-image-file': ''}),
        ('new-image-file is relative', {'job-id': DROP,
                                        'new-image-file': 'B.raw'}),
        ('new-image-file is the disk\'s own image',
         {'job-id': DROP, 'new-image-file': A}),
        ('new-image-file is a symlink to the disk\'s image',
         {'job-id': DROP, 'new-image-file': os.path.join(work, 'link-A')}),
        ('new-image-file is a dangling symlink',
         {'job-id': DROP, 'new-image-file': os.path.join(work, 'dangling')}),
        ('new-image-file is /dev/null', {'job-id': DROP,
                                         'new-image-file': '/dev/null'}),
        ('new-image-file is a FIFO', {'job-id': DROP,
                                      'new-image-file': FIFO}),
        ('new-image-file is a socket', {'job-id': DROP,
                                        'new-image-file': SOCK}),
        ('new-image-file is under /proc',
         {'job-id': DROP, 'new-image-file': '/proc/self/fd/0'}),
        ('new-image-file is 64 KiB long',
         {'job-id': DROP, 'new-image-file': '/x' * 32768}),
        ('new-image-file is a number', {'job-id': DROP,
                                        'new-image-file': 5}),
        ('node-name is empty', {'job-id': DROP, 'node-name': ''}),
        ('node-name names no node', {'job-id': DROP, 'node-name': 'nope'}),
        ('node-name is the disk\'s node', {'job-id': DROP,
                                           'node-name': g.node}),
        ('node-name is the mirror job\'s target',
         {'job-id': DROP, 'node-name': nodes['copy']}),
        ('node-name is shorter than the disk',
         {'job-id': DROP, 'node-name': nodes['short']}),
        ('node-name is read-only', {'job-id': DROP,
                                    'node-name': nodes['ro']}),
        ('pause-guest is a string', {'pause-guest': 'yes'}),
        ('pause-guest is a number', {'pause-guest': 1}),
        ('pause-guest is null', {'pause-guest': None}),
        ('timeout is negative', {'timeout': -1}),
        ('timeout is too large', {'timeout': 1 << 40}),
        ('timeout is a fraction', {'timeout': 1.5}),
        ('timeout is a string', {'timeout': '30'}),
        ('witness names no fd', {'pause-guest': True, 'witness': 'nofd'}),
        ('witness without pause-guest', {'witness': 'w'}),
        ('an unknown member', {'force': True}),
    ]
    for what, change in c:
        args = dict(base)
        args.update(change)
        yield what, {k: v for k, v in args.items() if v is not DROP}


def raw_cases():
    """Byte strings no JSON library produces: invalid UTF-8 and broken
    JSON, sent on a second monitor connection."""
    return [
        ('device is invalid UTF-8',
         b'{"execute": "drive-reopen", "arguments": {"device": "\xff\xfe",'
         b' "request-id": "bad", "job-id": "copy"}}'),
        ('new-image-file is invalid UTF-8',
         b'{"execute": "drive-reopen", "arguments": {"device": "disk0",'
         b' "request-id": "bad", "new-image-file": "/tmp/\xc3("}}'),
        ('arguments is a list',
         b'{"execute": "drive-reopen", "arguments": ["disk0"]}'),
        ('an unterminated object',
         b'{"execute": "drive-reopen", "arguments": {"device": "disk0"]}'),
    ]


class RawMonitor:
    """Only for bytes that are not JSON: every well-formed message of the
    scenarios goes through qemu.qmp."""

    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX)
        self.sock.settimeout(30)
        self.sock.connect(path)
        self.buf = b''
        self.reply()                    # the greeting
        self.send(b'{"execute": "qmp_capabilities"}')
        self.reply()

    def send(self, data):
        self.sock.sendall(data + b'\n')

    def exchange(self, data):
        """Send data, then a marked query-status: every reply up to the
        marker's belongs to data (a parse error may cause several)."""
        self.n = getattr(self, 'n', 0) + 1
        self.send(data)
        self.send(b'{"execute": "query-status", "id": %d}' % self.n)
        replies = []
        while True:
            msg = self.reply()
            if msg.get('id') == self.n:
                gl.check('return' in msg, f'query-status: {msg}')
                return replies
            replies.append(msg)

    def reply(self):
        """The next message that is not an event."""
        while True:
            while b'\n' not in self.buf:
                chunk = self.sock.recv(65536)
                if not chunk:
                    raise gl.Failure('QEMU closed the raw monitor')
                self.buf += chunk
            line, self.buf = self.buf.split(b'\n', 1)
            msg = json.loads(line)
            if 'event' not in msg:
                return msg


def snapshot(g):
    jobs = {j['device']: j['status'] for j in g.vm.cmd('query-block-jobs')}
    return {'runstate': g.runstate(), 'node': g.active_node(),
            'records': g.vm.cmd('query-drive-reopen'), 'jobs': jobs}


def main():
    tap = gl.Tap()
    res = gl.Results('5 bad input')
    g = gl.Guest(work, 'virtio-blk', extra_args=[
        '-chardev', f'socket,id=raw,path={RAW_MON},server=on,wait=off',
        '-mon', 'chardev=raw,mode=control'])
    try:
        gl.create_image(A)
        gl.create_image(B)
        gl.create_image(SHORT, gl.IMAGE_SIZE // 2)
        os.symlink(A, os.path.join(work, 'link-A'))
        os.symlink(os.path.join(work, 'gone'), os.path.join(work, 'dangling'))
        os.mkfifo(FIFO)
        listener = socket.socket(socket.AF_UNIX)
        listener.bind(SOCK)
        gl.check(stat.S_ISSOCK(os.stat(SOCK).st_mode), 'no socket')
        g.launch(A)
        g.wait_writes(1)
        nodes = {'copy': g.mirror(B, 'copy'),
                 'short': g.add_node(SHORT),
                 'ro': 'ro'}
        ro = g.node_options(A + '.ro', 'ro')
        gl.create_image(A + '.ro')
        ro['read-only'] = True
        g.vm.cmd('blockdev-add', ro)
        with open(os.devnull, 'wb') as f:
            g.vm.send_fd_scm(fd=f.fileno())
        g.vm.cmd('getfd', fdname='w')
        raw = RawMonitor(RAW_MON)
        before = snapshot(g)
        gl.check(before['jobs'] == {'copy': 'ready'}, f'{before}')
        gl.check(before['records'] == [], f'{before}')

        def one(args=None, data=None):
            acked = g.ack()
            if data is None:
                resp = g.vm.qmp('drive-reopen', args_dict=args)
            else:
                replies = raw.exchange(data)
                gl.check(replies and all('error' in r for r in replies),
                         f'want only errors: {replies}')
                resp = replies[0]
            gl.check('error' in resp, f'no error: {resp}')
            desc = resp['error']['desc']
            gl.check(desc, f'error: {resp}')
            after = snapshot(g)
            gl.check(after == before, f'state changed: {before} -> {after}')
            g.wait_writes(1)
            gl.check(g.ack() > acked, 'the writer stopped')
            print(f'# -> {resp["error"]["class"]}: {desc[:160]}')

        for what, args in cases(g, nodes):
            tap.case(f'bad input: {what}', one, args)
        for what, data in raw_cases():
            tap.case(f'bad input: {what}', one, data=data)

        def still_works():
            # 'w' was consumed by the witness case: a good call still works
            resp = g.drive_reopen(request_id='good', job_id='copy',
                                  pause_guest=True)
            gl.check(resp.get('return', {}).get('status') == 'completed',
                     f'{resp}')
            g.vm.cmd('cont')
            g.forget_node(resp['return']['old-node'])
            acked = g.ack()
            res.pivot()
            res.verified(gl.verify(A, acked), 'A after the good pivot')
            g.wait_writes(32)
            acked = g.shutdown()
            res.acked(acked)
            res.verified(gl.verify(B, acked), 'B at the end')
        tap.case('after all that, a valid drive-reopen switches the disk; '
                 'no write lost', still_works)
        listener.close()
    except gl.Failure as e:
        tap.case(f'set-up: {e}', lambda: gl.check(False, str(e)))
    finally:
        g.close()
    res.save()
    tap.exit()


if __name__ == '__main__':
    main()
