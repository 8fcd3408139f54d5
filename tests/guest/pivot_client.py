#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""
A reference management client for drive-reopen, on qemu.qmp: it follows
the recovery protocol of docs/interop/live-block-operations.rst.

  pivot_client.py pivot   --socket S --state F --device D --job-id J
                          [--crash-at POINT] [--delay-ms N]
  pivot_client.py recover --socket S --state F

pivot: (1) persist a fresh request-id and what it is about to do in the
state file F, (2) send drive-reopen with pause-guest, (3) persist the
outcome, send cont if the command paused the guest, mark the state done.
recover: read F; if an attempt is pending, ask query-drive-reopen for its
request-id: a record is the outcome, continue with (3); no record means
that the attempt had no effect (the guest is as it was).  Prints the
outcome as one JSON line: {"request-id", "outcome": "completed" | "failed"
| "no-effect" | "none", "resumed": bool, "record": ...}.

--crash-at kills the client itself with SIGKILL, to test the protocol:
  before-send   after persisting the request-id, before sending
  on-stop       when the STOP event of the command arrives (the command
                is executing: after sending, before the reply)
  after-delay   --delay-ms after sending, whatever has happened by then
  after-reply   after the reply was persisted, before cont
"""

import argparse
import asyncio
import json
import os
import signal
import sys
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
BUILD = os.environ.get('BUILD') or os.path.join(os.path.dirname(
    os.path.dirname(HERE)), 'build')
sys.path.insert(0, os.path.join(BUILD, 'qemu', 'python'))

# pylint: disable=wrong-import-position
from qemu.qmp import QMPClient  # noqa: E402


def crash():
    sys.stdout.flush()
    os.kill(os.getpid(), signal.SIGKILL)


def save(path, state):
    """Write the state file atomically and durably."""
    tmp = path + '.tmp'
    with open(tmp, 'w', encoding='utf-8') as f:
        json.dump(state, f)
        f.flush()
        os.fsync(f.fileno())
    os.rename(tmp, path)
    fd = os.open(os.path.dirname(os.path.abspath(path)), os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def load(path):
    try:
        with open(path, encoding='utf-8') as f:
            return json.load(f)
    except FileNotFoundError:
        return {}


async def finish(qmp, path, state, record):
    """Step (3): persist the outcome, then resume the guest if the
    command paused it and nobody has resumed it since."""
    state.update(phase='replied', record=record)
    save(path, state)
    resumed = False
    if record['paused-by-command']:
        if state.get('crash-at') == 'after-reply':
            crash()
        status = await qmp.execute('query-status')
        if status['status'] == 'paused':
            await qmp.execute('cont')
            resumed = True
    state['phase'] = 'done'
    save(path, state)
    return {'request-id': state['request-id'], 'outcome': record['status'],
            'resumed': resumed, 'record': record}


async def pivot(args):
    qmp = QMPClient('pivot-client')
    await qmp.connect(args.socket)
    pending = load(args.state)
    if pending.get('phase') in ('sending', 'replied'):
        raise SystemExit(f'an attempt is pending in {args.state}: recover')
    state = {'request-id': 'pivot-' + uuid.uuid4().hex, 'phase': 'sending',
             'device': args.device, 'job-id': args.job_id,
             'crash-at': args.crash_at}
    save(args.state, state)                                     # (1)
    if args.crash_at == 'before-send':
        crash()
    with qmp.listener('STOP') as stops:
        cmd = asyncio.create_task(qmp.execute('drive-reopen', {     # (2)
            'device': args.device, 'request-id': state['request-id'],
            'job-id': args.job_id, 'pause-guest': True}))
        if args.crash_at == 'on-stop':
            await asyncio.wait_for(stops.get(), 30)
            crash()
        if args.crash_at == 'after-delay':
            await asyncio.sleep(args.delay_ms / 1000)
            crash()
        record = await cmd
    out = await finish(qmp, args.state, state, record)          # (3)
    await qmp.disconnect()
    return out


async def recover(args):
    qmp = QMPClient('pivot-client')
    await qmp.connect(args.socket)
    state = load(args.state)
    out = {'request-id': state.get('request-id'), 'outcome': 'none',
           'resumed': False, 'record': None}
    if state.get('phase') in ('sending', 'replied'):
        state['crash-at'] = None
        records = await qmp.execute('query-drive-reopen',       # (4)
                                    {'request-id': state['request-id']})
        if records:
            out = await finish(qmp, args.state, state, records[0])
        else:
            state['phase'] = 'no-effect'
            save(args.state, state)
            out['outcome'] = 'no-effect'
    await qmp.disconnect()
    return out


def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('action', choices=['pivot', 'recover'])
    p.add_argument('--socket', required=True)
    p.add_argument('--state', required=True)
    p.add_argument('--device')
    p.add_argument('--job-id')
    p.add_argument('--crash-at', choices=['before-send', 'on-stop',
                                          'after-delay', 'after-reply'])
    p.add_argument('--delay-ms', type=float, default=0)
    args = p.parse_args()
    fn = pivot if args.action == 'pivot' else recover
    print(json.dumps(asyncio.run(fn(args))), flush=True)


if __name__ == '__main__':
    main()
