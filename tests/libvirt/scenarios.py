#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""
The libvirt end-to-end scenarios (run them with tests/libvirt/run.sh, which
sets up the private configuration and the mount namespace; see there).

1. virsh blockcopy --pivot of the writing test guest: libvirt's live XML and
   QEMU's query-block name the new image, the guest writes on, the
   verifier passes on the new image.
2. virtqemud killed in the pivot's crash window: the pivot command
   (drive-reopen with the libvirt series, job-complete without it) reaches
   QEMU, QEMU pivots, virtqemud is stopped before it reads the reply and
   then SIGKILLed and started again.  libvirt must then name the image
   QEMU uses, and the guest must run and write on; the verifier passes.
   Fails until the libvirt series lands (libvirt settles the job as
   aborted and keeps naming the old image).
3. The same with the capability masked by qemu.conf's capability_filters:
   libvirt pivots with job-complete and, after the restart, names the old
   image while QEMU writes to the new one.  The case asserts that this
   mismatch happens: the test can tell the bug from the fix.

SCENARIOS="1 3" runs only those; LIBVIRT_CAPABILITY=... names the capability
another way (default: CAPABILITY below).
"""

import os
import signal
import subprocess
import sys
import time

import libvirtlib as lv

# libvirt's name of QEMU's drive-reopen pause-guest capability (the libvirt
# series probes drive-reopen/arg-type/*pause-guest in the QMP schema)
CAPABILITY = os.environ.get('LIBVIRT_CAPABILITY', 'drive-reopen.pause-guest')
# What libvirt sends to QEMU for the pivot, with and without the series
PIVOT_COMMANDS = ('drive-reopen', 'job-complete')

gl = lv.gl
check = lv.check
log = lv.log
Failure = lv.Failure

RUN_ID = os.environ.get('QAP_LV_RUN') or os.getpid()


def domain_name(n):
    return f'qap-lv-{RUN_ID}-{n}'


def new_work(n):
    work = os.path.join(lv.WORK, f'scenario{n}')
    os.makedirs(work, exist_ok=True)
    return work


def start_guest(lib, n, image):
    """A transient domain of the test guest on a new raw image, writing."""
    work = new_work(n)
    gl.create_image(image)
    dom = lv.Domain(lib, domain_name(n), work, image, seed=n)
    try:
        dom.create()
        src, mirror, alias = dom.live_disk()
        check(src == image and mirror is None, f'live XML: vda is {src}')
        dom.alias = alias
        t0 = time.monotonic()
        dom.wait_writes(1, timeout=120)     # booted (TCG), the writer runs
        dom.wait_writes(32)
        log(f'{dom.name}: QEMU {dom.qemu_pid}, writing on {image} '
            f'{time.monotonic() - t0:.1f} s after the start')
    except BaseException:
        dom.kill()
        raise
    return dom


def truth(dom):
    """The image QEMU's disk writes to (the harness's own monitor)."""
    return dom.harness.disk(dom.alias)[0]


def finish(dom, res, image, what):
    """Shut the guest down and verify the image it wrote last."""
    acked = dom.shutdown()
    res.acked(acked)
    counts = gl.verify(image, acked, seed=dom.seed)
    res.verified(counts, what)
    log(f'{what}: verifier: {counts["verified"]} blocks verified, lost '
        f'{counts["lost"]}, torn {counts["torn"]}, foreign '
        f'{counts["foreign"]} (acked {acked})')
    return counts


# --- scenario 1

def scenario_pivot(lib, res):
    work = new_work(1)
    a, b = os.path.join(work, 'A.raw'), os.path.join(work, 'B.raw')
    dom = start_guest(lib, 1, a)
    try:
        lower = dom.ack()
        t0 = time.monotonic()
        proc = lib.virsh('blockcopy', dom.name, 'vda', b, '--format', 'raw',
                         '--transient-job', '--wait', '--pivot', '--verbose',
                         timeout=180)
        upper = dom.ack()
        log(f'virsh blockcopy --pivot took {time.monotonic() - t0:.1f} s: '
            + proc.stdout.strip().splitlines()[-1])
        check('Successfully pivoted' in proc.stdout,
              f'virsh blockcopy: {proc.stdout.strip()}')
        res.pivot()
        src, mirror, _ = dom.live_disk()
        qemu = truth(dom)
        log(f'libvirt: vda is {src}; QEMU: {qemu}')
        check(src == b and mirror is None,
              f'libvirt\'s live XML names {src} (mirror {mirror}), not {b}')
        check(qemu == b, f'QEMU\'s disk is on {qemu}, not {b}')
        n = dom.wait_writes(32)
        log(f'the guest wrote on: ACK {upper} after the pivot, now {n}')
        # Every write acknowledged before the copy started is on A
        res.verified(gl.verify(a, lower, upper - lower + gl.SLACK,
                               seed=dom.seed),
                     'the old image')
        finish(dom, res, b, 'the new image')
    finally:
        dom.kill()


# --- scenarios 2 and 3

def let_qemu_answer(lib, dom):
    """virtqemud has written a command that is not the pivot to the
    stopped QEMU: let QEMU (and only QEMU) run until it has answered, then
    stop it again, and let virtqemud read the answer."""
    qpid, dpid = dom.qemu_pid, lib.virtqemud.pid
    lv.sigstop(dpid, 'virtqemud')
    lv.sigcont(qpid)

    def read():
        q = lv.socket_queues(qpid)
        check(q is not None, 'ss shows no monitor connection to QEMU')
        return q[0] == 0
    lv.wait_until('QEMU to read libvirt\'s command', read, 30)
    dom.harness.runstate()      # a round trip after libvirt's command

    def answered():
        return lv.socket_queues(qpid)[1] > 0
    lv.wait_until('QEMU\'s answer to libvirt', answered, 30)
    dom.harness.runstate()
    lv.sigstop(qpid, 'QEMU')
    lv.sigcont(dpid)


def crash_in_pivot(lib, dom, new, res):
    """
    Kill virtqemud in the pivot's crash window, deterministically:
    QEMU stopped, `virsh blockjob --pivot`; each command virtqemud sends
    before the pivot's is let through alone (let_qemu_answer); once the
    pivot command is written to QEMU's socket, virtqemud is stopped, QEMU
    continued and watched until it has pivoted, then virtqemud is
    SIGKILLed (it never read the answer) and started again.
    Returns what virtqemud sent before and after the restart, and the last
    write acknowledged when QEMU had pivoted.
    """
    qpid, dpid = dom.qemu_pid, lib.virtqemud.pid
    pos = lib.log_pos()
    status_before = dom.status_xml()
    lv.sigstop(qpid, 'QEMU')
    client, client_out = lib.virsh_background('blockjob', dom.name, 'vda',
                                              '--pivot')
    sent = []
    deadline = time.monotonic() + 60
    while not any(c in PIVOT_COMMANDS for c, _ in sent):
        if time.monotonic() > deadline:
            raise Failure(f'virtqemud sent no pivot command in 60 s (sent: '
                          f'{[c for c, _ in sent]}; virsh: '
                          f'{open(client_out, encoding="utf-8").read()})')
        if client.poll() is not None:
            raise Failure(f'virsh blockjob --pivot exited {client.returncode}'
                          f' before a pivot command was sent: '
                          f'{open(client_out, encoding="utf-8").read()}')
        new_cmds, pos = lib.sent_commands(pos)
        for c in new_cmds:
            sent.append(c)
            log(f'virtqemud sent {c[0]} {c[1] if c[1] else ""}')
        if new_cmds and new_cmds[-1][0] not in PIVOT_COMMANDS:
            let_qemu_answer(lib, dom)
        time.sleep(0.02)
    lv.sigstop(dpid, 'virtqemud')
    status_at_send = dom.status_xml()
    log('the status XML was ' + ('rewritten' if status_at_send !=
                                 status_before else 'not rewritten')
        + ' before the pivot command; its block jobs: '
        + '; '.join(dom.status_blockjobs()))
    # QEMU, alone, does the pivot
    lv.sigcont(qpid)

    def pivoted():
        return (truth(dom) == new and
                all(j['status'] == 'concluded'
                    for j in dom.harness.cmd('query-jobs')))
    lv.wait_until('QEMU to pivot to ' + new, pivoted, 60)
    jobs = dom.harness.cmd('query-jobs')
    upper = dom.ack()       # every write acknowledged later is on new
    log(f'QEMU pivoted: disk on {truth(dom)}, runstate '
        f'{dom.harness.runstate()}, jobs ' +
        ', '.join(f'{j["id"]} {j["status"]}' for j in jobs))
    res.pivot()
    # the crash
    lib.virtqemud.kill()
    try:
        client.wait(timeout=30)
    except subprocess.TimeoutExpired:
        client.kill()
        client.wait()
    log(f'virsh blockjob --pivot: exit {client.returncode}: '
        + open(client_out, encoding='utf-8').read().strip().replace(
            '\n', ' | '))
    # the restart
    pos = lib.log_pos()
    lib.start_virtqemud()

    def reconnected():
        # a QUERY job: waits for the reconnect's job to end
        p = lib.virsh('blockjob', dom.name, 'vda', '--info', check_rc=False)
        return p.returncode == 0 and not p.stdout.strip().startswith(
            'Block Copy')
    lv.wait_until('virtqemud to reconnect and settle the job', reconnected,
                  60, 0.5)
    # settled: the live XML no longer changes
    prev = None
    for _ in range(40):
        xml = dom.live_xml()
        if xml == prev:
            break
        prev = xml
        time.sleep(0.5)
    else:
        raise Failure('libvirt\'s live XML keeps changing after the restart')
    after, _ = lib.sent_commands(pos)
    log('after the restart virtqemud sent: '
        + ', '.join(c for c, _ in after))
    # how libvirt settled the job (its block job handlers, and the
    # series' drive-reopen recovery, whatever its functions are called)
    lines = [l for l in lib.log_since(
        pos, r'qemuBlockJobProcessEvent|ConcludedCopy|[Dd]rive_?[Rr]eopen')
        if 'QEMU_MONITOR_' not in l]
    for l in lines[:12]:
        log('  virtqemud: ' + l.split(': ', 1)[-1][:200])
    return sent, after, upper


def scenario_restart(lib, res, n, masked):
    """Scenarios 2 (masked False) and 3 (masked True).  Returns the list of
    problems found, the first of them the mismatch if there is one;
    raises on a failure of the test itself."""
    work = new_work(n)
    a, b = os.path.join(work, 'A.raw'), os.path.join(work, 'B.raw')
    filters = [CAPABILITY] if masked else []
    lib.restart_virtqemud(filters)
    # A libvirt without the series does not know the capability and
    # refuses the filter: that is a failure here.
    dom = start_guest(lib, n, a)
    problems = []
    try:
        has_cap = dom.status_has_cap(CAPABILITY)
        log(f'libvirt\'s status XML {"lists" if has_cap else "does not list"}'
            f' the capability {CAPABILITY}'
            + (' (masked by capability_filters)' if lib.filters else ''))
        if masked:
            check(not has_cap, 'capability_filters did not mask '
                  + CAPABILITY)
        lower = dom.ack()
        t0 = time.monotonic()
        proc = lib.virsh('blockcopy', dom.name, 'vda', b, '--format', 'raw',
                         '--transient-job', '--wait', '--verbose',
                         timeout=180)
        log(f'virsh blockcopy (no pivot) took {time.monotonic() - t0:.1f} s: '
            + proc.stdout.strip().splitlines()[-1])
        src, mirror, _ = dom.live_disk()
        check(src == a and mirror == b, f'live XML while READY: vda {src}, '
              f'mirror {mirror}')
        sent, _, upper = crash_in_pivot(lib, dom, b, res)
        pivot_cmd = [c for c, _ in sent if c in PIVOT_COMMANDS][-1]

        src, mirror, _ = dom.live_disk()
        qemu = truth(dom)
        log(f'libvirt: vda is {src}' + (f' (mirror {mirror})' if mirror
                                        else '') + f'; QEMU: {qemu}')
        if src != qemu:
            msg = (f'MISMATCH: libvirt reports {os.path.basename(src)} '
                   f'({src}) but QEMU writes to {os.path.basename(qemu)} '
                   f'({qemu}); libvirt pivoted with {pivot_cmd}')
            msg += (f' although its status XML lists {CAPABILITY}' if has_cap
                    else f', its status XML has no {CAPABILITY}')
            print('# ' + msg, flush=True)
            problems.append(msg)
        state = dom.domstate()
        runstate = dom.harness.runstate()
        log(f'virsh domstate: {state}; QEMU: {runstate}')
        if state != 'running' or runstate != 'running':
            problems.append(f'the guest is not running: virsh domstate '
                            f'{state}, QEMU {runstate}')
        else:
            before = dom.ack()
            try:
                now = dom.wait_writes(32)
                log(f'the guest writes on: ACK {before} -> {now}')
            except Failure as e:
                problems.append(f'the guest writes no more: {e}')
        if runstate == 'paused':
            dom.harness.cmd('cont')     # for the verifier's sake
        res.verified(gl.verify(a, lower, upper - lower + gl.SLACK,
                               seed=dom.seed),
                     'the old image')
        try:
            finish(dom, res, qemu, 'the image QEMU used')
        except Failure as e:
            problems.append(str(e))
    finally:
        dom.kill()
    return problems


def scenario_fixed(lib, res):
    problems = scenario_restart(lib, res, 2, masked=False)
    check(not problems, '; '.join(problems))


def scenario_masked(lib, res):
    problems = scenario_restart(lib, res, 3, masked=True)
    check(problems and problems[0].startswith('MISMATCH'),
          'no mismatch: libvirt names the image QEMU uses although it '
          'pivoted without drive-reopen' + (f' ({"; ".join(problems)})'
                                            if problems else ''))
    check(len(problems) == 1, 'besides the mismatch: '
          + '; '.join(problems[1:]))


SCENARIOS = [
    ('1', 'virsh blockcopy --pivot: libvirt and QEMU name the new image, '
     'the guest writes on, no acknowledged write lost', scenario_pivot),
    ('2', 'virtqemud killed after sending the pivot and restarted: libvirt '
     'names the image QEMU uses, the guest runs and writes, no write lost',
     scenario_fixed),
    ('3', f'masked capability ({CAPABILITY}): libvirt reports the old image '
     'after the restart (the bug the series fixes)', scenario_masked),
]


def raise_(e):
    raise e


def main():
    def term(signum, _frame):
        raise KeyboardInterrupt(f'signal {signum}')
    signal.signal(signal.SIGTERM, term)
    signal.signal(signal.SIGHUP, term)

    only = os.environ.get('SCENARIOS', '').split()
    tap = gl.Tap()
    res = gl.Results('libvirt')
    lib = lv.Libvirt()
    try:
        broken = None
        try:
            lib.write_config()
            t0 = time.monotonic()
            lib.start()
            log(f'virtlogd {lib.virtlogd.pid} and virtqemud '
                f'{lib.virtqemud.pid} up in {time.monotonic() - t0:.1f} s')
        except Failure as e:
            broken = Failure(f'the daemons did not start: {e}')
        for n, what, fn in SCENARIOS:
            if only and n not in only:
                continue
            log(f'scenario {n}')
            if broken:
                tap.case(f'{n}. {what}', raise_, broken)
            else:
                tap.case(f'{n}. {what}', fn, lib, res)
    except KeyboardInterrupt as e:
        log(f'interrupted ({e}): stopping what was started')
        print(f'1..{tap.n}', flush=True)
        return 130
    finally:
        lib.stop()
    log('acknowledged writes {acked}, images verified {images}, blocks '
        'verified {verified}, lost {lost}, torn {torn}, foreign {foreign}'
        .format(**res.row))
    tap.exit()
    return 0


if __name__ == '__main__':
    sys.exit(main())
