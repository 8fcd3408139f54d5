# SPDX-License-Identifier: GPL-2.0-or-later
"""
The real-guest scenarios' harness: start the test guest (tests/guest/build.sh
built it) under TCG with its writer running, copy and pivot its disk over
QMP, read what the writer acknowledged from the serial console, and check
images with the verifier.

QMP goes through QEMU's own Python packages (qemu.machine, qemu.qmp) of the
patched tree.  Environment: TOP, BUILD, QEMU (the binary: the sanitizer
suite points it at build-san), RESULTS (a file the scenarios append their
counts to, as JSON lines), KEEP=1 (keep the work directories).
"""

import asyncio
import faulthandler
import json
import os
import re
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback

TOP = os.environ.get('TOP') or os.path.dirname(os.path.dirname(
    os.path.dirname(os.path.abspath(__file__))))
BUILD = os.environ.get('BUILD') or os.path.join(TOP, 'build')
QEMU = os.environ.get('QEMU') or os.path.join(
    BUILD, 'qemu', 'build', 'qemu-system-x86_64')
GUEST = os.path.join(BUILD, 'guest')
VERIFIER = os.path.join(GUEST, 'verifier')
sys.path.insert(0, os.path.join(BUILD, 'qemu', 'python'))

# pylint: disable=wrong-import-position
from qemu.machine import QEMUMachine  # noqa: E402

BLOCK = 4096
BLOCKS = 4096                   # the writer's walk: 16 MiB
IMAGE_SIZE = BLOCKS * BLOCK
SLACK = 64                      # the writer reports at most 32 writes late
# Every QMP command waits this long at most for its reply (drive-reopen's
# own bound is its timeout plus the vCPU stop): a QEMU that died or hung
# fails the case instead of hanging it.
QMP_TIMEOUT = float(os.environ.get('QMP_TIMEOUT', '60'))
# Every case has this long (times TIMEOUT_SCALE, as its scenario); the
# longest takes about 30 s.  One that outlives it fails with where it
# waited, and the scenario goes on with its next case.
CASE_TIMEOUT = (float(os.environ.get('CASE_TIMEOUT', '150')) *
                int(os.environ.get('TIMEOUT_SCALE', '1')))
# After that, its clean-up (the case's finally: killing QEMU) has this long
CLEANUP_TIMEOUT = 60.0

# scripts/bounded.py sends SIGUSR1 before it kills a scenario that ran out
# of time: the stacks of every thread show where it waited.
faulthandler.register(signal.SIGUSR1, all_threads=True)

# The guest disk configurations of scenario 1.  The dataplane ones only a
# real guest exercises: qtest never starts an iothread's virtqueue handler.
DISKS = {
    'virtio-blk': {
        'objects': [],
        'devices': [{'driver': 'virtio-blk-pci', 'id': 'disk0'}],
    },
    'virtio-blk-iothread': {
        'objects': [{'qom-type': 'iothread', 'id': 'io0'}],
        'devices': [{'driver': 'virtio-blk-pci', 'id': 'disk0',
                     'iothread': 'io0'}],
    },
    'virtio-blk-vq-mapping': {
        'objects': [{'qom-type': 'iothread', 'id': 'io0'},
                    {'qom-type': 'iothread', 'id': 'io1'}],
        'devices': [{'driver': 'virtio-blk-pci', 'id': 'disk0',
                     'num-queues': 2,
                     'iothread-vq-mapping': [{'iothread': 'io0'},
                                             {'iothread': 'io1'}]}],
    },
    'virtio-scsi-iothread': {
        'objects': [{'qom-type': 'iothread', 'id': 'io0'}],
        'devices': [{'driver': 'virtio-scsi-pci', 'id': 'scsi0',
                     'iothread': 'io0'},
                    {'driver': 'scsi-hd', 'id': 'disk0'}],
    },
}

# ACK <seq> <block> <generation> [<longest write since the last ACK, us>]
ACK_RE = re.compile(rb'^ACK (\d+) (\d+) (\d+)(?: (\d+))?\r?$', re.M)


class Failure(Exception):
    """A check of a scenario failed."""


def proc_state(pid):
    """A process's state and its threads' wait channels, from /proc."""
    try:
        with open(f'/proc/{pid}/status', encoding='utf-8') as f:
            state = [l.strip() for l in f if l.startswith('State:')]
        chans = set()
        for tid in os.listdir(f'/proc/{pid}/task'):
            with open(f'/proc/{pid}/task/{tid}/wchan', encoding='utf-8') as f:
                chans.add(f.read())
        return f'{state}, threads waiting in {sorted(chans)}'
    except OSError as e:
        return f'no /proc entry ({e})'


# A QEMU that crashes exits at once with its signal (the scenario reports
# it) instead of lingering while a core dump is written or piped to a
# handler, with its monitor socket open: a soft RLIMIT_CORE of 1 makes the
# kernel skip the dump for both kinds of core_pattern.  The hard limit
# stays: virtqemud raises the soft one for the QEMU it starts.
resource.setrlimit(resource.RLIMIT_CORE,
                   (1, resource.getrlimit(resource.RLIMIT_CORE)[1]))


class Stalled(Failure):
    """The guest stopped completing writes."""


class CaseTimeout(Failure):
    """A case outlived CASE_TIMEOUT: it names the line it waited on."""


def _case_timed_out(_signum, frame):
    # Raised from whatever the main thread waits in (a select(), a
    # subprocess wait): the case's finally runs, itself bounded, and the
    # scenario goes on.  The stacks of every thread go to stderr.
    signal.setitimer(signal.ITIMER_REAL, CLEANUP_TIMEOUT)
    faulthandler.dump_traceback(all_threads=True)
    where = ' <- '.join(
        f'{os.path.basename(f.filename)}:{f.lineno} {f.name}'
        for f in reversed(traceback.extract_stack(frame)[-4:]))
    raise CaseTimeout(f'timed out after {CASE_TIMEOUT:g} s in {where}')


def check(cond, what):
    if not cond:
        raise Failure(what)


def log(*args):
    print('#', *args, flush=True)


def workdir(name):
    """A scratch directory for one scenario, removed at exit unless KEEP."""
    base = os.path.join(BUILD, 'check', 'guest')
    os.makedirs(base, exist_ok=True)
    return tempfile.mkdtemp(prefix=name + '.', dir=base)


def cleanup(work):
    if not os.environ.get('KEEP'):
        shutil.rmtree(work, ignore_errors=True)


def create_image(path, size=IMAGE_SIZE):
    """A new empty raw image (any old file at path is replaced)."""
    if os.path.lexists(path):
        os.unlink(path)
    with open(path, 'wb') as f:
        f.truncate(size)


def verify(image, acked, slack=SLACK, seed=1, blocks=BLOCKS):
    """Run the verifier on a raw image: a dict of its counts (and 'ok')."""
    proc = subprocess.run([VERIFIER, image, '--blocks', str(blocks),
                           '--seed', str(seed), '--acked', str(acked),
                           '--slack', str(slack)],
                          capture_output=True, text=True, check=False,
                          timeout=120)
    words = proc.stdout.split()
    if proc.returncode not in (0, 1) or len(words) != 14:
        raise Failure(f'verifier on {image}: exit {proc.returncode}: '
                      f'{proc.stdout} {proc.stderr}')
    counts = {words[i]: int(words[i + 1]) for i in range(0, 14, 2)}
    counts['ok'] = proc.returncode == 0
    counts['acked'] = acked
    counts['detail'] = proc.stderr.strip()
    return counts


class Results:
    """What a scenario did, in the columns of make check's table."""

    def __init__(self, scenario):
        self.row = {'scenario': scenario, 'pivots': 0, 'acked': 0,
                    'images': 0, 'verified': 0, 'lost': 0, 'torn': 0,
                    'foreign': 0}

    def pivot(self, n=1):
        self.row['pivots'] += n

    def acked(self, n):
        self.row['acked'] += n

    def verified(self, counts, what):
        """Add a verifier run; a problem in it fails the scenario."""
        self.row['images'] += 1
        for k in ('verified', 'lost', 'torn', 'foreign'):
            self.row[k] += counts[k]
        check(counts['ok'], f'{what}: verifier: lost {counts["lost"]} torn '
              f'{counts["torn"]} foreign {counts["foreign"]} (acked '
              f'{counts["acked"]}): {counts["detail"][:500]}')

    def save(self):
        path = os.environ.get('RESULTS')
        if path:
            with open(path, 'a', encoding='utf-8') as f:
                f.write(json.dumps(self.row) + '\n')


def run_scenario(name, add_cases):
    """A scenario's main(): add_cases(tap, res) runs its TAP cases, which
    fill in the scenario's row @name of make check's table; then the row
    is saved and the TAP plan printed (the exit status)."""
    tap = Tap()
    res = Results(name)
    add_cases(tap, res)
    res.save()
    tap.exit()


class Tap:
    """TAP output of one scenario: each case is a function run in turn."""

    def __init__(self):
        self.n = 0
        self.failed = 0

    def case(self, what, fn, *args, **kwargs):
        self.n += 1
        start = time.monotonic()
        old = signal.signal(signal.SIGALRM, _case_timed_out)
        signal.setitimer(signal.ITIMER_REAL, CASE_TIMEOUT)
        try:
            fn(*args, **kwargs)
        except Exception as e:  # pylint: disable=broad-except
            self.failed += 1
            msg = str(e).replace('\n', ' | ')
            print(f'not ok {self.n} - {what}: {type(e).__name__}: {msg}',
                  flush=True)
            return False
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, old)
        print(f'ok {self.n} - {what} ({time.monotonic() - start:.1f} s)',
              flush=True)
        return True

    def exit(self):
        print(f'1..{self.n}', flush=True)
        sys.exit(1 if self.failed else 0)


class Machine(QEMUMachine):
    """QEMUMachine whose event waits end at their timeout.

    QEMUMachine.events_wait() hands its timeout to qemu.qmp's
    pull_event(), which ignores one that is not a float (timeout=30 waits
    for ever) and starts it anew with every event that does not match.
    Here one deadline covers the whole wait, and a wait that reaches it
    returns None, as the callers' checks expect.
    """

    def events_wait(self, events, timeout=60.0):
        def match(event):
            return any(event['event'] == name and self.event_match(event, m)
                       for name, m in events)

        for event in self._events:
            if match(event):
                self._events.remove(event)
                return event
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            try:
                event = self._qmp.pull_event(wait=float(left))
            except asyncio.TimeoutError:
                return None
            if match(event):
                return event
            self._events.append(event)
        return None


class Guest:
    """The test guest on one disk, with a QMP connection to its QEMU."""

    # pylint: disable=too-many-instance-attributes

    def __init__(self, work, disk='virtio-blk', seed=1, blocks=BLOCKS,
                 name='guest', qemu=None, extra_args=()):
        self.work = work
        self.disk = DISKS[disk]
        self.seed = seed
        self.blocks = blocks
        self.name = name
        self.console = os.path.join(work, name + '.console')
        self.nodes = 0
        self.node = None            # the disk's active node
        self.image = None           # and its file
        self.more_nodes = []        # launch(more=...): the other disks' nodes
        self.vm = Machine(qemu or QEMU, name=name, base_temp_dir=work,
                              log_dir=work)
        self.vm.add_args(*extra_args)
        self._console_pos = 0
        self._last_ack = (0, 0, 0)
        self._lat_max = 0

    # --- start and stop

    def node_options(self, image, name=None):
        """blockdev-add options of a raw image (the file's node inline)."""
        if name is None:
            self.nodes += 1
            name = f'n{self.nodes}'
        return {'driver': 'raw', 'node-name': name,
                'file': {'driver': 'file', 'filename': image,
                         'aio': 'threads'}}

    def launch(self, image, writer_args='', more=()):
        """Start the guest on @image (disk0, as the configuration says).
        @more: further images, each a plain virtio-blk disk (disk1, ...)
        after it; their node names are self.more_nodes."""
        self.image = image
        opts = self.node_options(image)
        self.node = opts['node-name']
        vm = self.vm
        open(self.console, 'wb').close()
        vm.add_args('-nodefaults', '-accel', 'tcg', '-m', '256',
                    '-no-shutdown', '-serial', 'file:' + self.console,
                    '-kernel', os.path.join(GUEST, 'vmlinuz'),
                    '-initrd', os.path.join(GUEST, 'initramfs.gz'),
                    '-append', 'console=ttyS0 quiet panic=-1 '
                    f'writer.blocks={self.blocks} writer.seed={self.seed} '
                    + writer_args,
                    '-blockdev', json.dumps(opts))
        for obj in self.disk['objects']:
            vm.add_args('-object', json.dumps(obj))
        for dev in self.disk['devices']:
            dev = dict(dev)
            if dev['id'] == 'disk0':
                dev['drive'] = self.node
            vm.add_args('-device', json.dumps(dev))
        self.more_nodes = []
        for d, more_image in enumerate(more, 1):
            opts = self.node_options(more_image)
            self.more_nodes.append(opts['node-name'])
            vm.add_args('-blockdev', json.dumps(opts), '-device',
                        json.dumps({'driver': 'virtio-blk-pci',
                                    'id': f'disk{d}',
                                    'drive': opts['node-name']}))
        vm.launch()
        # pylint: disable=protected-access
        vm._qmp.settimeout(QMP_TIMEOUT)

    def wait_writes(self, n=1, timeout=60.0):
        """Wait until the guest acknowledged n more writes: returns the ACK."""
        want = self.ack() + n
        deadline = time.monotonic() + timeout
        while self.ack() < want:
            if time.monotonic() > deadline:
                raise Stalled(f'the guest acknowledged no write #{want} in '
                              f'{timeout} s; virtqueues: {self.vq_state()}; '
                              f'console: {self.console_tail()}')
            if not self.vm.is_running():
                raise Failure(f'QEMU exited: {self.vm.exitcode()}: '
                              f'{self.vm.get_log()}')
            time.sleep(0.05)
        return self.ack()

    def shutdown(self):
        """Stop the vCPUs, read the last ACK, quit.  Returns the ACK."""
        if self.vm.is_running():
            self.vm.cmd('stop')
        acked = self.ack()
        self.vm.shutdown()
        self.check_log()
        return acked

    def kill(self, timeout=30.0):
        """SIGKILL QEMU and reap it, then close QMP (its EOF is certain).

        Reaping comes first, with a bound: a process that does not go away
        (a thread in uninterruptible sleep, a core dump being piped) keeps
        its end of the monitor open, and QEMUMachine's close of the QMP
        connection would wait for its EOF for ever.
        """
        # pylint: disable=protected-access
        proc = self.vm._subp if self.vm.is_running() else None
        if proc is not None:
            proc.kill()
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired as e:
                raise Failure(f'QEMU (pid {proc.pid}) not reaped {timeout:g} s '
                              f'after SIGKILL: {proc_state(proc.pid)}') from e
        self.vm.kill()

    def close(self):
        """The end of a case, whatever happened: QEMU killed if it still
        runs, the work directory removed."""
        if self.vm.is_running():
            self.kill()
        cleanup(self.work)

    def check_log(self):
        """QEMU's stderr must not hold a sanitizer report or a warning."""
        text = self.vm.get_log() or ''
        bad = [l for l in text.splitlines()
               if re.search(r'AddressSanitizer|LeakSanitizer|runtime error:|'
                            r'qemu-system-x86_64: ', l)]
        check(not bad, 'QEMU printed: ' + '\n'.join(bad[:20]))

    # --- the console

    def ack(self):
        """The last write the writer reported as acknowledged."""
        with open(self.console, 'rb') as f:
            f.seek(self._console_pos)
            data = f.read()
        # Only complete lines: a line being written is read next time.
        end = data.rfind(b'\n') + 1
        acks = ACK_RE.findall(data[:end])
        if acks:
            self._last_ack = tuple(int(x) for x in acks[-1][:3])
            self._lat_max = max([self._lat_max] +
                                [int(a[3] or 0) for a in acks])
        if re.search(rb'^(ERR|INIT) ', data[:end], re.M):
            raise Failure('the writer reported: ' +
                          data[:end].decode(errors='replace')[-500:])
        self._console_pos += end
        return self._last_ack[0]

    def max_latency(self):
        """The longest guest write (us) reported since the last call."""
        self.ack()
        lat, self._lat_max = self._lat_max, 0
        return lat

    def last_write(self):
        """(seq, block, generation) of the last reported write."""
        self.ack()
        return self._last_ack

    def console_tail(self):
        with open(self.console, 'rb') as f:
            return f.read()[-500:].decode(errors='replace')

    # --- QMP helpers

    def vq_state(self):
        """The disk's virtqueues as QEMU and the guest see them: tells a
        kick QEMU missed (guest avail > QEMU's last avail) from an
        interrupt the guest missed (used advanced, guest still waiting)."""
        dev = self.disk['devices'][0]['id']
        path = f'/machine/peripheral/{dev}/virtio-backend'
        out = []
        for q in range(16):
            try:
                st = self.vm.cmd('x-query-virtio-queue-status',
                                 path=path, queue=q)
            except Exception:       # pylint: disable=broad-except
                break               # no such queue: the last one was seen
            try:
                el = self.vm.cmd('x-query-virtio-queue-element',
                                 path=path, queue=q)
                guest = (el['avail']['idx'], el['used']['idx'])
            except Exception:       # pylint: disable=broad-except
                guest = ('?', '?')  # a queue the guest never set up
            out.append(f"q{q} avail {guest[0]} "
                       f"last-avail {st['last-avail-idx']} "
                       f"shadow {st['shadow-avail-idx']} "
                       f"used {st['used-idx']}/{guest[1]} "
                       f"inuse {st['inuse']} "
                       f"signalled {st['signalled-used']}"
                       f"{'' if st['signalled-used-valid'] else '(invalid)'}")
        return ', '.join(out) or 'unknown'

    def runstate(self):
        return self.vm.cmd('query-status')['status']

    def active_node(self):
        """The node name at the top of the guest disk's BlockBackend."""
        for b in self.vm.cmd('query-block'):
            if b.get('qdev', '').startswith('/machine/peripheral/disk0'):
                return b['inserted']['node-name']
            if b.get('qdev') == 'disk0':
                return b['inserted']['node-name']
        raise Failure('query-block: no disk0')

    def add_node(self, image, name=None):
        opts = self.node_options(image, name)
        self.vm.cmd('blockdev-add', opts)
        return opts['node-name']

    def mirror(self, target, job_id, extra=None):
        """blockdev-mirror the active node to a new node on target; wait
        for READY.  Returns the target's node name."""
        node = self.add_node(target)
        args = {'job-id': job_id, 'device': self.node, 'target': node,
                'sync': 'full'}
        args.update(extra or {})
        self.vm.cmd('blockdev-mirror', args)
        self.wait_job_ready(job_id)
        return node

    def wait_job_ready(self, job_id, timeout=120.0):
        ev = self.vm.event_wait('BLOCK_JOB_READY', timeout=timeout,
                                match={'data': {'device': job_id}})
        check(ev is not None, f'job {job_id}: no BLOCK_JOB_READY')

    def drive_reopen(self, **args):
        """drive-reopen on disk0; returns the raw QMP response."""
        args = {k.replace('_', '-'): v for k, v in args.items()}
        args.setdefault('device', 'disk0')
        return self.vm.qmp('drive-reopen', args_dict=args)

    def forget_node(self, node):
        """blockdev-del a node the disk no longer uses (closes its file)."""
        self.vm.cmd('blockdev-del', node_name=node)

    def events(self):
        return self.vm.get_qmp_events(wait=False)


def pivot(g, mode, pause, target, job_id, request_id, via='job-id'):
    """
    Copy g's disk to target and pivot it there with drive-reopen, checking
    the reply, the events, the record, the runstate and the graph.

    mode 'job': a READY mirror job is completed by drive-reopen (named by
    via: 'job-id' or 'new-image-file').  mode 'node': the copy is a node of
    its own; a node-mode pivot needs the copy identical to the disk at the
    switch, so, as a management application would, the harness stops the
    guest, cancels the READY mirror that made the copy (which leaves a
    point-in-time copy), then calls drive-reopen.

    Returns (old node, old image, lower, upper): every write the guest
    acknowledged up to lower is on the old image, and none after upper.
    """
    # pylint: disable=too-many-arguments,too-many-locals
    old_node, old_image = g.node, g.image
    new_node = g.mirror(target, job_id)
    g.wait_writes(8)            # the copy converged under load
    g.events()
    args = {'request_id': request_id, 'pause_guest': pause}
    if mode == 'job':
        if via == 'job-id':
            args['job_id'] = job_id
        else:
            args['new_image_file'] = target
        before = g.ack()
        running = True
    else:
        g.vm.cmd('stop')
        g.vm.cmd('block-job-cancel', device=job_id)
        g.vm.event_wait('BLOCK_JOB_COMPLETED', timeout=60.0,
                        match={'data': {'device': job_id}})
        args['node_name'] = new_node
        before = g.ack()
        running = False
    g.events()
    resp = g.drive_reopen(**args)
    check('return' in resp, f'drive-reopen {args}: {resp}')
    rec = resp['return']
    after = g.ack()
    events = [e['event'] for e in g.events()]

    check(rec['status'] == 'completed' and rec['switched'],
          f'record: {rec}')
    check(rec['request-id'] == request_id and rec['new-node'] == new_node
          and rec['old-node'] == old_node, f'record: {rec}')
    check(rec['paused-by-command'] == (pause and running), f'record: {rec}')
    check(rec['runstate-before'] == ('running' if running else 'paused'),
          f'record: {rec}')
    check(rec['pause-ns'] > 0 if pause and running else rec['pause-ns'] == 0,
          f'record: {rec}')
    check(g.vm.cmd('query-drive-reopen', request_id=request_id) == [rec],
          'query-drive-reopen differs from the reply')
    # Events in order, all before the reply; never RESUME.
    want = (['STOP'] if pause and running else [])
    if mode == 'job':
        want += ['BLOCK_JOB_COMPLETED']
    want += ['DRIVE_REOPEN_COMPLETED']
    seen = [e for e in events if e in ('STOP', 'RESUME', 'BLOCK_JOB_COMPLETED',
                                       'BLOCK_JOB_CANCELLED',
                                       'DRIVE_REOPEN_COMPLETED')]
    check(seen == want, f'events {seen}, want {want}')
    state = g.runstate()
    check(state == ('paused' if pause or not running else 'running'),
          f'runstate {state}')
    check(g.active_node() == new_node, f'active node {g.active_node()}')

    g.node, g.image = new_node, target
    if pause and running:
        # The vCPUs stopped before the switch: every ACK on the console
        # when the reply came was acknowledged by the old image.
        lower = upper = after
    elif running:
        lower, upper = before, after
    else:
        lower = upper = before
    if state == 'paused':
        g.vm.cmd('cont')
    return old_node, old_image, lower, upper
