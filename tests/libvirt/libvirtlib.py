# SPDX-License-Identifier: GPL-2.0-or-later
"""
The harness of the libvirt end-to-end test (tests/libvirt/run.sh): runs
virtlogd and virtqemud from the libvirt build tree as root with a private
configuration, drives them with virsh, and asks QEMU the truth through a
second QMP monitor of its own (added by a generated emulator wrapper),
with QEMU's own Python package (qemu.qmp).

run.sh runs this in a private mount namespace in which the libvirt build's
prefix (build/libvirt-prefix: its sysconfdir, localstatedir and runstatedir)
is a bind mount of build/check/libvirt/prefix, so that qemu.conf, the
sockets, the status XML and the capability cache are all under
build/check/libvirt and nothing is shared with another libvirt on the
machine.  Environment: TOP, BUILD, LIBVIRT_BUILD (the libvirt meson build
directory), LIBVIRT_PREFIX, LVCHECK (build/check/libvirt), QEMU.
"""

import json
import os
import re
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), 'guest'))

# pylint: disable=wrong-import-position
import guestlib as gl  # noqa: E402  (puts build/qemu/python on sys.path)
from qemu.qmp.legacy import QEMUMonitorProtocol  # noqa: E402

BUILD = gl.BUILD
QEMU = gl.QEMU
LBUILD = os.environ.get('LIBVIRT_BUILD') or os.path.join(BUILD, 'libvirt',
                                                         'build')
PREFIX = os.environ.get('LIBVIRT_PREFIX') or os.path.join(BUILD,
                                                          'libvirt-prefix')
CHECK = os.environ.get('LVCHECK') or os.path.join(BUILD, 'check', 'libvirt')

# What libvirt sees (the prefix, bind-mounted from CHECK/prefix by run.sh)
ETC = os.path.join(PREFIX, 'etc', 'libvirt')
RUNDIR = os.path.join(PREFIX, 'var', 'run', 'libvirt')
STATE_DIR = os.path.join(RUNDIR, 'qemu')         # status XML, pid files
SOCK = os.path.join(RUNDIR, 'virtqemud-sock')
VIRTLOGD_SOCK = os.path.join(RUNDIR, 'virtlogd-sock')
URI = 'qemu:///system?socket=' + SOCK
# The harness's own files
LOGS = os.path.join(CHECK, 'logs')
HARNESS = os.path.join(CHECK, 'harness')         # wrapper, QMP sockets
WORK = os.path.join(CHECK, 'work')               # images, consoles, XML
PIDS = os.path.join(CHECK, 'pids')               # for run.sh's trap
WRAPPER = os.path.join(HARNESS, 'qemu-wrapper.sh')
QEMU_LOG = os.path.join(LOGS, 'virtqemud.log')

# What virtqemud logs: the monitor traffic (QEMU_MONITOR_IO_WRITE lines
# say what was written to QEMU's socket), the block jobs, the process
# start and reconnect; everything else from warnings on.
LOG_FILTERS = ('1:qemu.qemu_monitor 1:qemu.qemu_block 1:qemu.qemu_driver '
               '1:qemu.qemu_process 3:*')

Failure = gl.Failure
check = gl.check
log = gl.log


def wait_until(what, cond, timeout, interval=0.05):
    """Poll cond() until it returns something true; Failure after timeout."""
    deadline = time.monotonic() + timeout
    while True:
        v = cond()
        if v:
            return v
        if time.monotonic() > deadline:
            raise Failure(f'timed out after {timeout:g} s waiting for {what}')
        time.sleep(interval)


def start_time(pid):
    """A process's start time (clock ticks since boot): with the pid, it
    names the process (a pid can be reused, not both)."""
    try:
        with open(f'/proc/{pid}/stat', encoding='utf-8') as f:
            return f.read().rsplit(')', 1)[1].split()[19]
    except (FileNotFoundError, IndexError):
        return '-'


def track(pid, what):
    """Note a process the test started, for run.sh's trap."""
    with open(PIDS, 'a', encoding='utf-8') as f:
        f.write(f'{pid} {start_time(pid)} {what}\n')


def alive(pid):
    try:
        with open(f'/proc/{pid}/stat', encoding='utf-8') as f:
            return f.read().rsplit(')', 1)[1].split()[0] != 'Z'
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False


def stopped(pid):
    """Every thread of pid is in group stop (SIGSTOP delivered)."""
    try:
        for t in os.listdir(f'/proc/{pid}/task'):
            with open(f'/proc/{pid}/task/{t}/stat', encoding='utf-8') as f:
                if f.read().rsplit(')', 1)[1].split()[0] not in 'tT':
                    return False
        return True
    except FileNotFoundError:
        return False


def sigstop(pid, what):
    """SIGSTOP pid and wait until all its threads are actually stopped."""
    os.kill(pid, signal.SIGSTOP)
    wait_until(f'{what} ({pid}) to stop', lambda: stopped(pid), 10)


def sigcont(pid):
    os.kill(pid, signal.SIGCONT)


# --- daemons

class Daemon:
    """virtlogd or virtqemud from the build tree, in the foreground."""

    def __init__(self, name, conf):
        self.name = name
        self.conf = conf
        self.proc = None

    @property
    def pid(self):
        return self.proc.pid

    def start(self):
        out = open(os.path.join(LOGS, self.name + '.out'), 'ab')
        # build/run sets up the build tree's libraries and helpers (and
        # execs the daemon: the pid is the daemon's).
        self.proc = subprocess.Popen(
            [os.path.join(LBUILD, 'run'),
             os.path.join(LBUILD, 'src', self.name), '-f', self.conf],
            stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True)
        out.close()
        track(self.proc.pid, self.name)

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def kill(self):
        """SIGKILL (what a crash is) and reap."""
        if self.running():
            self.proc.kill()
            self.proc.wait(timeout=30)

    def stop(self):
        """SIGTERM, SIGKILL after 15 s."""
        if not self.running():
            return
        self.proc.terminate()
        sigcont(self.proc.pid)          # in case it is stopped
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            log(f'{self.name} ignored SIGTERM: SIGKILL')
            self.kill()


class Libvirt:
    """The two daemons, their configuration, and virsh."""

    def __init__(self):
        for d in (ETC, RUNDIR, LOGS, HARNESS, WORK):
            os.makedirs(d, exist_ok=True)
        self.virtlogd = Daemon('virtlogd', os.path.join(ETC, 'virtlogd.conf'))
        self.virtqemud = Daemon('virtqemud',
                                os.path.join(ETC, 'virtqemud.conf'))
        self.filters = ()
        self.write_wrapper()

    # --- configuration

    def write_config(self, capability_filters=()):
        """virtlogd.conf, virtqemud.conf and qemu.conf; capability_filters
        masks QEMU capabilities by libvirt's names."""
        self.filters = tuple(capability_filters)
        with open(os.path.join(ETC, 'virtlogd.conf'), 'w',
                  encoding='utf-8') as f:
            f.write(f'log_outputs = "3:file:{LOGS}/virtlogd.log"\n')
        with open(os.path.join(ETC, 'virtqemud.conf'), 'w',
                  encoding='utf-8') as f:
            f.write(f'log_filters = "{LOG_FILTERS}"\n'
                    f'log_outputs = "1:file:{QEMU_LOG}"\n')
        caps = ', '.join(f'"{c}"' for c in self.filters)
        with open(os.path.join(ETC, 'qemu.conf'), 'w', encoding='utf-8') as f:
            f.write('# Written by tests/libvirt (libvirtlib.py)\n'
                    'user = "root"\n'
                    'group = "root"\n'
                    'dynamic_ownership = 0\n'
                    'remember_owner = 0\n'
                    'security_driver = "none"\n'
                    'namespaces = [ ]\n'
                    f'capability_filters = [ {caps} ]\n')

    def write_wrapper(self):
        """The domains' <emulator>: our QEMU plus a second QMP monitor for
        the harness, at HARNESS/<domain name>.qmp (only for a domain, told
        by its -name guest=...: not for libvirt's capability probes)."""
        text = f'''#!/bin/sh
# Generated by tests/libvirt/libvirtlib.py at run time: QEMU with a second
# QMP monitor for the test harness.
# SPDX-License-Identifier: GPL-2.0-or-later
qemu='{QEMU}'
dir='{HARNESS}'
name=
prev=
for a in "$@"; do
    if [ "$prev" = -name ]; then
        name=${{a#guest=}}
        name=${{name%%,*}}
    fi
    prev=$a
done
if [ -n "$name" ]; then
    rm -f "$dir/$name.qmp"
    exec "$qemu" "$@" \\
        -chardev "socket,id=qap-harness,path=$dir/$name.qmp,server=on,\\
wait=off" \\
        -mon chardev=qap-harness,mode=control
fi
exec "$qemu" "$@"
'''
        with open(WRAPPER, 'w', encoding='utf-8') as f:
            f.write(text)
        os.chmod(WRAPPER, 0o755)

    # --- daemons

    def start(self):
        """virtlogd (if not running) and virtqemud; wait until virsh works."""
        if not self.virtlogd.running():
            self.virtlogd.start()
            wait_until('virtlogd\'s socket',
                       lambda: os.path.exists(VIRTLOGD_SOCK) or
                       not self.virtlogd.running(), 30)
            check(self.virtlogd.running(), 'virtlogd exited: ' + self.out(
                'virtlogd'))
        self.start_virtqemud()

    def start_virtqemud(self):
        self.virtqemud.start()

        def ready():
            check(self.virtqemud.running(), 'virtqemud exited: ' +
                  self.out('virtqemud'))
            proc = self.virsh('uri', check_rc=False, timeout=10)
            return proc.returncode == 0
        wait_until('virtqemud to accept connections', ready, 60, 0.2)

    def restart_virtqemud(self, capability_filters=None):
        """Stop virtqemud cleanly, rewrite qemu.conf if asked, start it."""
        self.virtqemud.stop()
        if capability_filters is not None:
            self.write_config(capability_filters)
        self.start_virtqemud()

    def stop(self):
        self.virtqemud.stop()
        self.virtlogd.stop()

    @staticmethod
    def out(name):
        try:
            with open(os.path.join(LOGS, name + '.out'), 'rb') as f:
                return f.read()[-1000:].decode(errors='replace')
        except FileNotFoundError:
            return ''

    # --- virsh

    @staticmethod
    def virsh_args(*args):
        return [os.path.join(LBUILD, 'run'),
                os.path.join(LBUILD, 'tools', 'virsh'), '-c', URI,
                *args]

    def virsh(self, *args, timeout=60, check_rc=True):
        """Run virsh; a CompletedProcess.  Failure on a non-zero exit when
        check_rc, and on the timeout."""
        try:
            proc = subprocess.run(self.virsh_args(*args), capture_output=True,
                                  text=True, timeout=timeout, check=False,
                                  stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired as e:
            raise Failure(f'virsh {" ".join(args)}: no answer in {timeout} s'
                          ) from e
        if check_rc and proc.returncode != 0:
            raise Failure(f'virsh {" ".join(args)}: exit {proc.returncode}: '
                          f'{(proc.stdout + proc.stderr).strip()[-1000:]}')
        return proc

    def virsh_background(self, *args):
        """virsh in the background: (Popen, output file)."""
        out = os.path.join(WORK, 'virsh-%d.out' % time.monotonic_ns())
        with open(out, 'wb') as f:
            proc = subprocess.Popen(self.virsh_args(*args), stdout=f,
                                    stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL,
                                    start_new_session=True)
        track(proc.pid, 'virsh')
        return proc, out

    # --- the monitor traffic in virtqemud's debug log

    @staticmethod
    def log_pos():
        try:
            return os.path.getsize(QEMU_LOG)
        except FileNotFoundError:
            return 0

    # "QEMU_MONITOR_IO_WRITE: mon=0x... buf={...}\r\n len=N ret=N errno=N":
    # the message as written to QEMU's socket (its CR LF ends the log line)
    IO_WRITE_RE = re.compile(
        rb'QEMU_MONITOR_IO_WRITE: mon=(\S+) buf=(.*?)\r?\n len=(\d+) '
        rb'ret=(-?\d+)', re.S)

    def sent_commands(self, pos):
        """The QMP commands virtqemud wrote to any QEMU since log offset
        pos: (list of (command, arguments), new offset).  Only complete
        entries are returned; the offset points after the last one."""
        with open(QEMU_LOG, 'rb') as f:
            f.seek(pos)
            data = f.read()
        out = []
        end = 0
        for m in self.IO_WRITE_RE.finditer(data):
            end = m.end()
            if int(m.group(4)) <= 0:
                continue                # EAGAIN: written again later
            try:
                msg = json.loads(m.group(2).decode(errors='replace'))
            except ValueError:
                msg = {'execute': '?' + m.group(2)[:60].decode(
                    errors='replace')}
            out.append((msg.get('execute', '?'), msg.get('arguments', {})))
        return out, pos + end

    @staticmethod
    def log_since(pos, pattern):
        """Lines of virtqemud's log after pos matching a regex."""
        with open(QEMU_LOG, 'rb') as f:
            f.seek(pos)
            text = f.read().decode(errors='replace')
        return [l for l in text.splitlines() if re.search(pattern, l)]


def socket_queues(qemu_pid):
    """(unread bytes at QEMU's end, unread bytes at libvirt's end) of
    libvirt's monitor connection to QEMU (QEMU listens on monitor.sock in
    the domain's directory under var/lib/libvirt/qemu), from ss; None if
    not found."""
    proc = subprocess.run(['ss', '-x', '-a', '-p', '-H'], capture_output=True,
                          text=True, timeout=10, check=False)
    rows = [l.split() for l in proc.stdout.splitlines()]
    qemu_side = None
    by_inode = {}
    for r in rows:
        if len(r) < 8:
            continue
        by_inode[r[5]] = r
        if (r[1] == 'ESTAB' and r[4].endswith('/monitor.sock') and
                r[4].startswith(PREFIX + '/') and
                f'pid={qemu_pid},' in ' '.join(r[8:])):
            qemu_side = r
    if qemu_side is None or qemu_side[7] not in by_inode:
        log('ss: no monitor connection of QEMU found; its sockets: ' +
            ' | '.join(' '.join(r) for r in rows
                       if f'pid={qemu_pid},' in ' '.join(r[8:])))
        return None
    return int(qemu_side[2]), int(by_inode[qemu_side[7]][2])


# --- the harness's own monitor

class Harness:
    """QMP to the domain's QEMU over the wrapper's second monitor."""

    def __init__(self, path, timeout=60):
        self.path = path
        self.qmp = None
        wait_until(f'the harness monitor {path}',
                   lambda: os.path.exists(path), timeout)

        def connect():
            qmp = QEMUMonitorProtocol(path)
            try:
                qmp.connect()
            except Exception:       # pylint: disable=broad-except
                qmp.close()
                return None
            return qmp
        self.qmp = wait_until('a QMP connection to ' + path, connect, timeout,
                              0.2)
        self.qmp.settimeout(30)

    def cmd(self, name, args=None):
        resp = self.qmp.cmd_raw(name, args)
        check('return' in resp, f'{name} {args or ""}: {resp}')
        return resp['return']

    def disk(self, alias):
        """The image QEMU's disk (libvirt's device alias) writes to, and
        its node name."""
        for b in self.cmd('query-block'):
            if b.get('qdev', '').startswith(f'/machine/peripheral/{alias}/') \
                    or b.get('qdev') == alias:
                ins = b.get('inserted') or {}
                return ins.get('file'), ins.get('node-name')
        raise Failure(f'query-block: no device {alias}')

    def runstate(self):
        return self.cmd('query-status')['status']

    def close(self):
        if self.qmp is not None:
            try:
                self.qmp.close()
            except Exception:       # pylint: disable=broad-except
                pass
            self.qmp = None


# --- a domain

DOMAIN_XML = '''<domain type='qemu'>
  <name>{name}</name>
  <memory unit='MiB'>256</memory>
  <vcpu>1</vcpu>
  <os>
    <type arch='x86_64' machine='pc'>hvm</type>
    <kernel>{kernel}</kernel>
    <initrd>{initrd}</initrd>
    <cmdline>{cmdline}</cmdline>
  </os>
  <features><acpi/></features>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>destroy</on_reboot>
  <on_crash>destroy</on_crash>
  <devices>
    <emulator>{emulator}</emulator>
    <disk type='file' device='disk'>
      <driver name='qemu' type='raw' io='threads'/>
      <source file='{image}'/>
      <target dev='vda' bus='virtio'/>
    </disk>
    <controller type='usb' model='none'/>
    <serial type='file'>
      <source path='{console}'/>
      <target port='0'/>
    </serial>
    <memballoon model='none'/>
  </devices>
</domain>
'''


class Domain:
    """A transient domain running the test guest on one raw disk."""

    # pylint: disable=too-many-instance-attributes

    def __init__(self, lv, name, work, image, seed=1):
        self.lv = lv
        self.name = name
        self.work = work
        self.image = image
        self.seed = seed
        self.console = os.path.join(work, 'console.log')
        self.harness = None
        self.qemu_pid = None
        self._console_pos = 0
        self._last_ack = 0

    def create(self):
        cmdline = (f'console=ttyS0 quiet panic=-1 writer.blocks={gl.BLOCKS} '
                   f'writer.seed={self.seed}')
        xml = DOMAIN_XML.format(
            name=self.name, kernel=os.path.join(gl.GUEST, 'vmlinuz'),
            initrd=os.path.join(gl.GUEST, 'initramfs.gz'), cmdline=cmdline,
            emulator=WRAPPER, image=self.image, console=self.console)
        path = os.path.join(self.work, self.name + '.xml')
        with open(path, 'w', encoding='utf-8') as f:
            f.write(xml)
        open(self.console, 'wb').close()
        self.lv.virsh('create', path, timeout=120)
        self.qemu_pid = self.pid()
        track(self.qemu_pid, 'qemu ' + self.name)
        self.harness = Harness(os.path.join(HARNESS, self.name + '.qmp'))

    def pid(self):
        with open(os.path.join(STATE_DIR, self.name + '.pid'),
                  encoding='utf-8') as f:
            pid = int(f.read().strip())
        with open(f'/proc/{pid}/cmdline', 'rb') as f:
            check(QEMU.encode() in f.read(), f'pid {pid} is not our QEMU')
        return pid

    # --- what libvirt says

    def live_xml(self):
        return self.lv.virsh('dumpxml', self.name).stdout

    def live_disk(self):
        """(source file, mirror file or None, device alias) of vda in
        libvirt's live XML."""
        root = ET.fromstring(self.live_xml())
        for disk in root.findall('./devices/disk'):
            if disk.find('target').get('dev') == 'vda':
                src = disk.find('source')
                mirror = disk.find('mirror')
                alias = disk.find('alias')
                mfile = None
                if mirror is not None:
                    ms = mirror.find('source')
                    mfile = (ms.get('file') if ms is not None
                             else mirror.get('file'))
                return (src.get('file') if src is not None else None, mfile,
                        alias.get('name') if alias is not None else None)
        raise Failure('virsh dumpxml: no disk vda')

    def status_xml(self):
        """libvirt's status XML of the domain (under the run dir)."""
        try:
            with open(os.path.join(STATE_DIR, self.name + '.xml'),
                      encoding='utf-8') as f:
                return f.read()
        except FileNotFoundError:
            return ''

    def status_has_cap(self, cap):
        """Whether the domain's status XML lists a libvirt capability."""
        return f"<flag name='{cap}'/>" in self.status_xml()

    def status_blockjobs(self):
        """The <blockjob .../> lines of the status XML (one per job)."""
        return [l.strip() for l in self.status_xml().splitlines()
                if '<blockjob ' in l]

    def domstate(self):
        return self.lv.virsh('domstate', self.name).stdout.strip()

    # --- the guest's console

    def ack(self):
        """The last write the writer reported as acknowledged."""
        with open(self.console, 'rb') as f:
            f.seek(self._console_pos)
            data = f.read()
        end = data.rfind(b'\n') + 1
        acks = gl.ACK_RE.findall(data[:end])
        if acks:
            self._last_ack = int(acks[-1][0])
        if re.search(rb'^(ERR|INIT) ', data[:end], re.M):
            raise Failure('the writer reported: ' +
                          data[:end].decode(errors='replace')[-500:])
        self._console_pos += end
        return self._last_ack

    def console_tail(self):
        with open(self.console, 'rb') as f:
            return f.read()[-300:].decode(errors='replace')

    def wait_writes(self, n=1, timeout=60.0):
        """Wait until the guest acknowledged n more writes."""
        want = self.ack() + n

        def more():
            check(alive(self.qemu_pid), 'QEMU exited')
            return self.ack() >= want
        try:
            wait_until(f'the guest\'s write #{want}', more, timeout)
        except Failure as e:
            raise Failure(f'{e}; console: {self.console_tail()!r}') from e
        return self.ack()

    # --- the end

    def shutdown(self):
        """Pause the guest through libvirt, read the last ACK, destroy the
        domain.  Returns the last acknowledged write."""
        self.lv.virsh('suspend', self.name)
        check(self.harness.runstate() == 'paused',
              'virsh suspend: QEMU is ' + self.harness.runstate())
        acked = self.ack()
        self.harness.close()
        self.lv.virsh('destroy', self.name, timeout=60)
        wait_until('QEMU to exit', lambda: not alive(self.qemu_pid), 30)
        return acked

    def kill(self):
        """Cleanup after a failure: destroy if libvirt can, else SIGKILL."""
        if self.harness:
            self.harness.close()
        if self.qemu_pid and alive(self.qemu_pid):
            sigcont(self.qemu_pid)
            if self.lv.virtqemud.running():
                sigcont(self.lv.virtqemud.pid)
                self.lv.virsh('destroy', self.name, timeout=30,
                              check_rc=False)
            if alive(self.qemu_pid):
                os.kill(self.qemu_pid, signal.SIGKILL)
                wait_until('QEMU to exit', lambda: not alive(self.qemu_pid),
                           30)
