#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""
make bench: how long the guest is paused by a pivot, on the same
patched QEMU, with the real test guest writing (tests/guest):

  A      this series: drive-reopen with pause-guest (one disk) or one
         drive-reopen-group with pause-guest (several), then cont on
         the reply
  A-seq  several disks only: one drive-reopen with pause-guest per disk
         (the first stops the guest, the others find it paused), then
         cont: the per-disk loop a set replaces
  B      stop, job-complete for every job, wait for every
         BLOCK_JOB_COMPLETED, cont (the external flow of management
         applications today)
  C      job-complete with the guest running (no pause): the guest
         writer's longest write around the pivot instead

The pause window is RESUME - STOP, from the events' own timestamps.  Each
configuration (image size, guest load, number of disks) runs one guest;
the methods are interleaved A A-seq B C A A-seq B C ... on it.  Every
method pauses at most once per round, however many disks pivot.

  bench.py [--pivots N] [--configs 1G-high-1,...] [--out DIR] [--smoke]

Writes DIR/results.md (the table, the machine, the date, the command),
DIR/pause-window.png and DIR/samples.json.  --smoke: 3 pivots each of
two configurations, for CI; no thresholds anywhere.
"""

import argparse
import datetime
import gc
import json
import logging
import math
import os
import platform
import re
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), 'tests', 'guest'))
import guestlib as gl  # noqa: E402  pylint: disable=wrong-import-position

QEMU_IMG = os.path.join(os.path.dirname(gl.QEMU), 'qemu-img')
SIZES = {'1G': 1 << 30, '64G': 64 << 30}
LOADS = {'low': 100, 'high': 0}         # writer.rate: writes/s, 0 = no limit
ALL_CONFIGS = [f'{s}-{l}-{d}' for s in SIZES for l in LOADS for d in (1, 4)]
# --configs also takes e.g. 1G-low-1-buf1M: the mirror jobs' copy buffer
# is 1 MiB instead of the default 16 MiB.  Not a target configuration.
SMOKE_CONFIGS = ['1G-high-1', '1G-high-4']


def unformatted_qmp_log(vm):
    """qemu.qmp formats every message it sends or receives for its debug
    log (json.dumps with indent=2, in pure Python) even with that log off,
    in the hooks _cb_outbound and _cb_inbound, which it has for subclasses
    to override.  With the log off, do without: that time is the
    client's, not the pivot's, for A and B alike."""
    # pylint: disable=protected-access
    client = vm._qmp._qmp      # QEMUMachine's QEMUMonitorProtocol's client
    if not client.logger.isEnabledFor(logging.DEBUG):
        client._cb_outbound = client._cb_inbound = lambda msg: msg


def stamp(ev):
    t = ev['timestamp']
    return t['seconds'] + t['microseconds'] / 1e6


class Bench:
    """One guest with NDISKS qcow2 disks (cache.direct), the writer on the
    first; its disks pivot between two image files each."""

    def __init__(self, work, size, load, ndisks, buf_size=None):
        self.work, self.size, self.ndisks = work, SIZES[size], ndisks
        self.mirror_args = {'buf-size': buf_size} if buf_size else {}
        self.g = gl.Guest(work, 'virtio-blk')
        self.files = [os.path.join(work, f'd{d}-0.qcow2')
                      for d in range(ndisks)]
        self.nodes = [f'd{d}n0' for d in range(ndisks)]
        self.gen = 0
        for f in self.files:
            self.create(f)
        # Where A's time goes: drive-reopen's trace points say how long
        # the wait for the job to get in sync took (with the guest
        # running) and the vCPU stop (with the drain and flush of every
        # disk); the vm_* ones, with timestamps, split the stop.
        self.trace = os.path.join(work, 'trace.log')
        self.trace_pos = 0
        self.g.vm.add_args('-msg', 'timestamp=on', '-D', self.trace,
                           '-trace', 'drive_reopen_synced',
                           '-trace', 'drive_reopen_stopped',
                           '-trace', 'vm_state_notify',
                           '-trace', 'vm_stop_flush_all',
                           # The client's share of the pause: from each
                           # reply to the next command
                           '-trace', 'monitor_qmp_respond',
                           '-trace', 'handle_qmp_command')
        # Guest.launch adds the disks with raw options: give them ours.
        # disk0, the first in PCI order, is the guest's vda, the one the
        # writer writes to.
        self.g.node_options = lambda image, name=None: self.node_options(
            image, self.nodes[self.files.index(image)])
        rate = LOADS[load]
        self.g.launch(self.files[0], f'writer.rate={rate}' if rate else '',
                      more=self.files[1:])
        unformatted_qmp_log(self.g.vm)
        self.g.wait_writes(1)
        writes = {s['qdev']: s['stats']['wr_operations']
                  for s in self.g.vm.cmd('query-blockstats')}
        gl.check(all((n > 0) == ('/disk0/' in q) for q, n in writes.items()),
                 f'the writer must write to disk0 only: {writes}')

    def create(self, path):
        if os.path.exists(path):
            os.unlink(path)
        subprocess.run([QEMU_IMG, 'create', '-q', '-f', 'qcow2', path,
                        str(self.size)], check=True)

    @staticmethod
    def node_options(path, name):
        return {'driver': 'qcow2', 'node-name': name,
                'file': {'driver': 'file', 'filename': path, 'aio': 'threads',
                         'cache': {'direct': True}}}

    def trace_parts(self):
        """Where the first drive-reopen (or drive-reopen-group) since
        the last call spent its time, from the trace, in ms: 'sync'
        (waiting for the jobs to get in sync, guest running: a set waits
        for all of its jobs at once), 'stop' (the whole vCPU stop),
        'vcpus' (its part until the vCPUs stood still) and 'flush' (the
        rest: draining and flushing every disk)."""
        with open(self.trace, encoding='utf-8', errors='replace') as f:
            f.seek(self.trace_pos)
            text = f.read()
            self.trace_pos = f.tell()
        stamp_of = lambda name: [
            float(m) for m in re.findall(r'^\d+@(\d+\.\d+):' + name,
                                         text, re.M)]
        sync = re.findall(r'actively synced 1 after (\d+) ns', text)
        stop = re.findall(r'drained and flushed in (\d+) ns', text)
        gl.check(sync and stop, f'trace of drive-reopen: {text[-300:]!r}')
        # A set traces each member after the one wait for all of them
        sync = max(int(n) for n in sync[:self.ndisks])
        stopped = stamp_of('drive_reopen_stopped')[0]
        notify = [t for t in stamp_of(r'vm_state_notify running 0')
                  if t <= stopped][-1]
        flushed = [t for t in stamp_of('vm_stop_flush_all')
                   if t <= stopped][-1]
        # While the guest is stopped: from each reply to the next
        # command, up to cont
        client, reply = 0.0, None
        for m in re.finditer(r'^\d+@(\d+\.\d+):(monitor_qmp_respond|'
                             r'handle_qmp_command) mon \S+ \w+: (.*)$',
                             text, re.M):
            t = float(m.group(1))
            if t < notify:
                continue
            if m.group(2) == 'monitor_qmp_respond':
                # Not an event: a reply
                if '"return"' in m.group(3) or '"error"' in m.group(3):
                    reply = t
            elif reply is not None:
                client += (t - reply) * 1000
                reply = None
                if '"execute": "cont"' in m.group(3):
                    break
        else:
            gl.check(False, f'no cont in the trace: {text[-300:]!r}')
        return {'sync': sync / 1e6, 'stop': int(stop[0]) / 1e6,
                'client': client,
                'vcpus': int(stop[0]) / 1e6 - (stopped - notify) * 1000,
                'flush': (flushed - notify) * 1000}

    def prepare(self):
        """A READY mirror of every disk to a new image: the job ids."""
        self.gen += 1
        jobs, self.targets = [], []
        vm = self.g.vm
        for d in range(self.ndisks):
            path = os.path.join(self.work, f'd{d}-{self.gen % 2}.qcow2')
            self.create(path)
            node = f'd{d}n{self.gen}'
            vm.cmd('blockdev-add', self.node_options(path, node))
            job = f'copy{d}-{self.gen}'
            vm.cmd('blockdev-mirror', {'job-id': job, 'device': self.nodes[d],
                                       'target': node, 'sync': 'full',
                                       **self.mirror_args})
            jobs.append(job)
            self.targets.append((path, node))
        for job in jobs:
            self.g.wait_job_ready(job)
        self.g.wait_writes(8)       # the copies converged under load
        vm.get_qmp_events(wait=False)
        return jobs

    def finish(self):
        """Drop the old nodes; the guest must go on writing."""
        for d, (path, node) in enumerate(self.targets):
            self.g.vm.cmd('blockdev-del', node_name=self.nodes[d])
            self.files[d], self.nodes[d] = path, node
        self.g.wait_writes(16, timeout=30)

    def window(self):
        vm = self.g.vm
        stop = vm.event_wait('STOP', timeout=30.0)
        resume = vm.event_wait('RESUME', timeout=30.0)
        gl.check(stop and resume, 'no STOP or RESUME event')
        return (stamp(resume) - stamp(stop)) * 1000

    def wait_ended(self, jobs):
        for job in jobs:
            ev = self.g.vm.event_wait('BLOCK_JOB_COMPLETED', timeout=60.0,
                                      match={'data': {'device': job}})
            gl.check(ev and 'error' not in ev['data'],
                     f'{job}: BLOCK_JOB_COMPLETED: {ev}')

    def settle(self):
        """Until the writer has reported the writes around the pivot: it
        reports the longest write with its next ACK line, at least every
        100 ms."""
        self.g.wait_writes(1)
        time.sleep(0.25)

    def run(self, method):
        """One pivot of every disk: a sample dict.  Python's garbage
        collector stays off meanwhile: its pauses would be the client's
        share of the windows."""
        gc.collect()
        gc.disable()
        try:
            return self._run(method)
        finally:
            gc.enable()

    def reopen_set(self, jobs):
        """A: one drive-reopen-group for every disk; the time it spent
        with the guest paused, in ms."""
        r = self.g.vm.cmd('drive-reopen-group', {
            'request-id': f'{jobs[0]}-A', 'pause-guest': True,
            'devices': [{'device': f'disk{d}', 'job-id': job}
                        for d, job in enumerate(jobs)]})
        gl.check(r['status'] == 'completed' and r['switched'] and
                 r['paused-by-command'] and
                 len(r['devices']) == len(jobs) and
                 all(m['switched'] for m in r['devices']),
                 f'drive-reopen-group: {r}')
        return r['pause-ns'] / 1e6

    def reopen_each(self, jobs, method):
        """A with one disk, A-seq with several: one drive-reopen per
        disk; the time they spent with the guest paused, in ms."""
        in_qemu = 0
        for d, job in enumerate(jobs):
            r = self.g.vm.cmd('drive-reopen', {'device': f'disk{d}',
                                               'request-id': f'{job}-{method}',
                                               'job-id': job,
                                               'pause-guest': True})
            gl.check(r['status'] == 'completed', f'drive-reopen: {r}')
            gl.check(r['paused-by-command'] == (d == 0),
                     f'drive-reopen of disk{d}: {r}')
            # The first stopped the guest; the others ran while paused
            in_qemu += (r['pause-ns'] if d == 0 else r['duration-ns']) / 1e6
        return in_qemu

    def _run(self, method):
        jobs = self.prepare()
        vm = self.g.vm
        sample = {'method': method}
        if method in ('A', 'A-seq'):
            self.g.max_latency()            # forget what came before
            if method == 'A' and self.ndisks > 1:
                in_qemu = self.reopen_set(jobs)
            else:
                in_qemu = self.reopen_each(jobs, method)
            # The reply is the outcome: the manager resumes on it (as
            # libvirt does) and reads the jobs' events, all sent before
            # the reply, afterwards.  A set's jobs ended without pivoting:
            # the set switched the disks.
            vm.cmd('cont')
            self.wait_ended(jobs)
            sample['window'] = self.window()
            sample['in_qemu'] = in_qemu
            sample.update(self.trace_parts())
            self.settle()
            # Not the pause (guest time stands still while stopped), but
            # what the guest saw of the wait for the job to get in sync
            sample['latency'] = self.g.max_latency() / 1000
        elif method == 'B':
            vm.cmd('stop')
            for job in jobs:
                vm.cmd('job-complete', id=job)
            self.wait_ended(jobs)
            vm.cmd('cont')
            sample['window'] = self.window()
        else:
            self.g.max_latency()            # forget what came before
            for job in jobs:
                vm.cmd('job-complete', id=job)
            self.wait_ended(jobs)
            self.settle()
            sample['latency'] = self.g.max_latency() / 1000
        self.finish()
        return sample

    def close(self):
        if self.g.vm.is_running():
            self.g.kill()


def pct(values, p):
    """Nearest-rank percentile."""
    v = sorted(values)
    return v[max(0, math.ceil(p / 100 * len(v)) - 1)]


def run_config(name, pivots, work):
    size, load, ndisks, *extra = name.split('-')
    b = Bench(work, size, load, int(ndisks),
              buf_size=(1 << 20) if extra == ['buf1M'] else None)
    methods = ('A', 'A-seq', 'B', 'C') if int(ndisks) > 1 else \
        ('A', 'B', 'C')
    rounds = []
    try:
        for i in range(pivots):
            rounds.append({m: b.run(m) for m in methods})
            r = rounds[-1]
            print(f'# {name} round {i + 1}/{pivots}: ' + ', '.join(
                f"{m} {r[m]['window' if m != 'C' else 'latency']:.1f} ms"
                for m in methods), flush=True)
    finally:
        b.close()
        gl.cleanup(work)
    return rounds


def summary(rounds):
    """Per method its window (or C's longest write) and, for A and
    A-seq, where its time went and its ratio to B in the same rounds."""
    stats = lambda v: {'p50': statistics.median(v), 'p90': pct(v, 90),
                       'p99': pct(v, 99), 'max': max(v), 'n': len(v)}
    col = lambda m, k: [r[m][k] for r in rounds]
    b = col('B', 'window')
    s = {'B': stats(b), 'C': stats(col('C', 'latency'))}
    for m in ('A', 'A-seq'):
        if m not in rounds[0]:
            continue
        a, q, st = col(m, 'window'), col(m, 'in_qemu'), col(m, 'stop')
        s[m] = stats(a)
        s[m + '_latency'] = stats(col(m, 'latency'))
        s[m + '_ratio'] = statistics.median([x / y for x, y in zip(a, b)])
        # Not a target: the window less the client's reply-to-command gaps
        s[m + '_ratio_noclient'] = statistics.median(
            [(x - c) / y for x, c, y in zip(a, col(m, 'client'), b)])
        s[m + '_parts'] = {
            'sync': stats(col(m, 'sync')), 'vcpus': stats(col(m, 'vcpus')),
            'flush': stats(col(m, 'flush')),
            'switch': stats([x - y for x, y in zip(q, st)]),
            'client': stats(col(m, 'client')),
            'outside': stats([x - y - c for x, y, c in
                              zip(a, q, col(m, 'client'))])}
    return s


# The parts of A's time, in the order they happen; all but 'sync' are in
# the pause window.
PARTS = (('sync', 'sync (guest running)'), ('vcpus', 'vCPU stop'),
         ('flush', 'drain + flush'), ('switch', 'switch'),
         ('outside', 'reply + cont in QEMU'), ('client', 'client'))


def machine():
    model = ''
    with open('/proc/cpuinfo', encoding='utf-8') as f:
        for line in f:
            if line.startswith('model name'):
                model = line.split(':', 1)[1].strip()
                break
    qemu = subprocess.run([gl.QEMU, '--version'], capture_output=True,
                          text=True, check=False).stdout.splitlines()[0]
    return (f'{os.cpu_count()} CPUs ({model}), Linux {platform.release()}, '
            f'{qemu} with the series, TCG guest')


def report(results, out, meta):
    lines = [
        '# Pause-window benchmark', '',
        f"Command: `{meta['command']}`  ",
        f"Date: {meta['date']} UTC ({meta['seconds']} s)  ",
        f"Machine: {meta['machine']}", '',
        'A: this series, `cont` on the reply: with one disk '
        '`drive-reopen`, with 4 disks one `drive-reopen-group`, both with '
        '`pause-guest`; the jobs\' events, sent before the reply, are read '
        'after `cont`, since the reply says what happened.  A-seq (4 '
        'disks): one `drive-reopen` with `pause-guest` per disk, then '
        '`cont` (the first stops the guest).  '
        'B: `stop`, `job-complete` of every job, every '
        '`BLOCK_JOB_COMPLETED`, `cont`.  '
        'Window: `RESUME` - `STOP` from the events\' timestamps, in ms.  '
        'C: `job-complete` with the guest running (no pause).  '
        '*longest write*: the guest writer\'s longest write around the '
        'pivot, in ms, by the guest\'s clock, which stands still while '
        'the vCPUs are stopped: for C the cost of the pivot to the guest, '
        'for A what the guest saw of the wait for the jobs to get in sync '
        '(write-blocking mode makes its writes wait for the target).  '
        'A/B, A-seq/B: median of the per-round ratios (rounds interleave '
        'the methods).  Disks are qcow2 with `cache.direct`; the guest '
        'writes 4 KiB O_DIRECT blocks to the first disk (low: 100/s, '
        'high: no limit).',
        '',
        '| config | n | A p50 | A p90 | A p99 | A max | A-seq p50 / p99 '
        '| B p50 | B p90 | B p99 | B max | A/B | A-seq/B '
        '| A longest write p50 / max | C longest write p50 / max |',
        '|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|']
    for name, s in results.items():
        a, b, c, al = s['A'], s['B'], s['C'], s['A_latency']
        seq = s.get('A-seq')
        lines.append(
            f"| {name} | {a['n']} | {a['p50']:.1f} | {a['p90']:.1f} | "
            f"{a['p99']:.1f} | {a['max']:.1f} | "
            + (f"{seq['p50']:.1f} / {seq['p99']:.1f} | " if seq else '- | ')
            + f"{b['p50']:.1f} | {b['p90']:.1f} | {b['p99']:.1f} | "
            f"{b['max']:.1f} | {s['A_ratio']:.2f} | "
            + (f"{s['A-seq_ratio']:.2f} | " if seq else '- | ')
            + f"{al['p50']:.1f} / {al['max']:.1f} | "
            f"{c['p50']:.1f} / {c['max']:.1f} |")
    lines += [
        '', '## Where A\'s time goes', '',
        'p50 in ms.  *sync*: the command waits, with the guest running, '
        'until the jobs (switched to write-blocking mode) are actively '
        'synced (trace point `drive_reopen_synced`; a set waits for all '
        'of its jobs at once); outside the pause.  '
        'The pause: *vCPU stop*, until the vCPUs stand still '
        '(`drive_reopen_stopped` minus the rest); *drain + flush*, '
        'draining and flushing every disk, which `vm_stop()` does '
        '(`vm_state_notify` to `vm_stop_flush_all`); *switch*, the rest '
        'of the record\'s `pause-ns`: ending the jobs and switching '
        'the graph (for A-seq, the other three `drive-reopen` calls '
        'too); *client*, the client\'s time from each reply to its next '
        'command, up to `cont` (trace points `monitor_qmp_respond` and '
        '`handle_qmp_command`; for A-seq four of them): QEMU\'s Python '
        'QMP client (`qemu.qmp`) reading the events and the reply and '
        'sending the next command; *reply + cont in QEMU*, the rest '
        'of the window: sending the reply, running `cont`.  The vCPUs '
        'stop before `STOP` is sent, so the parts of the pause add up to '
        'a little more than the window.  For every method the bench '
        'turns off `qemu.qmp`\'s formatting of every message for its '
        'debug log, which it does even with that log off.', '',
        '| config | method | ' + ' | '.join(t for _, t in PARTS) + ' |',
        '|---|---|' + '---|' * len(PARTS)]
    for name, s in results.items():
        for m in ('A', 'A-seq'):
            if m in s:
                lines.append(f"| {name} | {m} | " + ' | '.join(
                    f"{s[m + '_parts'][k]['p50']:.1f}" for k, _ in PARTS)
                    + ' |')
    lines += ['', '## Against the targets', '']
    lines += targets(results)
    with open(os.path.join(out, 'results.md'), 'w', encoding='utf-8') as f:
        f.write('\n'.join(lines) + '\n')


def met(ok):
    return 'met' if ok else 'not met'


def targets(results):
    """The issues' targets, each met or not, and what dominates A."""
    out = []
    ratios = {n: s['A_ratio'] for n, s in results.items()
              if n in ALL_CONFIGS}
    if not ratios:
        return out
    worst = max(ratios, key=ratios.get)
    for limit in (0.3, 0.5):
        out.append(f"- A/B <= {limit} in every configuration: "
                   f"{met(ratios[worst] <= limit)} "
                   f"(highest {ratios[worst]:.2f}, {worst}; lowest "
                   f"{min(ratios.values()):.2f}).")
    for size in SIZES:
        for load in LOADS:
            one = results.get(f'{size}-{load}-1')
            four = results.get(f'{size}-{load}-4')
            if one and four:
                a1, a4 = one['A']['p50'], four['A']['p50']
                out.append(f"- A(4 disks) <= 2 x A(1 disk) p50, "
                           f"{size}-{load}: {met(a4 <= 2 * a1)} "
                           f"({a4:.1f} ms against {a1:.1f} ms, "
                           f"{a4 / a1:.2f} x; A-seq "
                           f"{four['A-seq']['p50']:.1f} ms).")
    if '1G-high-1' in results:
        p99 = results['1G-high-1']['A']['p99']
        out.append(f"- p99 of A < 10 ms with 1 GiB under high load: "
                   f"{met(p99 < 10)} ({p99:.1f} ms).")
    for rest in ('low-1', 'low-4', 'high-1', 'high-4'):
        big, small = results.get('64G-' + rest), results.get('1G-' + rest)
        if big and small:
            r = big['A']['p50'] / small['A']['p50']
            out.append(f"- A(64 GiB)/A(1 GiB) <= 1.2, {rest}: "
                       f"{met(r <= 1.2)} ({r:.2f}).")
    base, small = results.get('1G-low-1'), results.get('1G-low-1-buf1M')
    if base and small:
        out.append(
            f"- With a 1 MiB copy buffer instead of the default 16 MiB "
            f"(1G-low-1-buf1M, not a target configuration) A's "
            f"switch takes {small['A_parts']['switch']['p50']:.1f} ms "
            f"instead of {base['A_parts']['switch']['p50']:.1f}, "
            f"A {small['A']['p50']:.1f} ms instead of "
            f"{base['A']['p50']:.1f}, and A/B is {small['A_ratio']:.2f}.")
    out += ['', 'Not a target, for reading the above: A/B when A\'s '
            'window is taken without the client\'s share (its time from '
            'each reply to its next command; B keeps its own): ' +
            ', '.join(f"{n} {s['A_ratio_noclient']:.2f}"
                      for n, s in results.items()) + '.']
    out += ['', 'The largest part of A\'s pause (p50, ms):', '']
    for name, s in results.items():
        v, k = max((s['A_parts'][k]['p50'], t) for k, t in PARTS
                   if k != 'sync')
        out.append(f"- {name}: {k} {v:.1f} of {s['A']['p50']:.1f}")
    return out


def plot(samples, out):
    import matplotlib                   # pylint: disable=import-outside-toplevel
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt     # pylint: disable=import-outside-toplevel
    names = list(samples)
    fig, axes = plt.subplots(1, len(names), figsize=(3 * len(names), 4),
                             sharey=True, squeeze=False)
    for ax, name in zip(axes[0], names):
        rounds = samples[name]
        methods = [m for m in ('A', 'A-seq', 'B') if m in rounds[0]]
        ax.boxplot([[r[m]['window'] for r in rounds] for m in methods] +
                   [[r['C']['latency'] for r in rounds]],
                   labels=methods + ['C\n(write)'])
        ax.set_title(name, fontsize=9)
    axes[0][0].set_ylabel('pause window (A, A-seq, B) / longest write '
                          '(C), ms')
    fig.suptitle('Pivot: drive-reopen(-group) pause-guest (A), one '
                 'drive-reopen per disk (A-seq), stop/complete/cont (B), '
                 'no pause (C)', fontsize=10)
    fig.tight_layout()
    fig.savefig(os.path.join(out, 'pause-window.png'), dpi=100)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('--pivots', type=int, default=30)
    ap.add_argument('--configs', default=','.join(ALL_CONFIGS))
    ap.add_argument('--out', default=HERE)
    ap.add_argument('--smoke', action='store_true')
    ap.add_argument('--from-samples', metavar='JSON',
                    help='only write results.md and the plot again from '
                    'the samples.json of an earlier run')
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    if args.from_samples:
        with open(args.from_samples, encoding='utf-8') as f:
            d = json.load(f)
        report({n: summary(r) for n, r in d['samples'].items()}, args.out,
               d['meta'])
        plot(d['samples'], args.out)
        return
    if args.smoke:
        args.pivots, args.configs = 3, ','.join(SMOKE_CONFIGS)
    started = datetime.datetime.now(datetime.timezone.utc)
    os.makedirs(args.out, exist_ok=True)
    samples, results = {}, {}
    t0 = time.monotonic()
    for name in args.configs.split(','):
        samples[name] = run_config(name, args.pivots,
                                   gl.workdir('bench-' + name))
        results[name] = summary(samples[name])
    command = 'make bench' if not args.smoke and args.pivots == 30 and \
        args.configs == ','.join(ALL_CONFIGS) else \
        'bench/bench.py ' + ' '.join(sys.argv[1:])
    meta = {'command': command, 'date': f'{started:%Y-%m-%d %H:%M}',
            'machine': machine(), 'seconds': round(time.monotonic() - t0)}
    with open(os.path.join(args.out, 'samples.json'), 'w',
              encoding='utf-8') as f:
        json.dump({'meta': meta, 'results': results, 'samples': samples},
                  f, indent=1)
    report(results, args.out, meta)
    plot(samples, args.out)
    print(open(os.path.join(args.out, 'results.md'), encoding='utf-8').read())
    print(f'# {time.monotonic() - t0:.0f} s')


if __name__ == '__main__':
    main()
