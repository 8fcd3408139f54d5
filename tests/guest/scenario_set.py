#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
# timeout: 400
"""
Scenario 8, sets of disks: a guest with four virtio-blk disks whose writer
writes one sequence round-robin over all four (write g goes to disk
(g - 1) % 4).  SET_PIVOTS times, every disk is mirrored to a new image and
the four are switched by one drive-reopen-group with pause-guest; once in
the middle, the target of member 3 fails its flushes, so that its job fails
after the stop and the set must switch nothing.

Beyond lost = torn = foreign = 0 on every image, the check is on the set:
the images left behind hold exactly the writes up to one point G of the
guest's write order (no disk lacks a write that is older than a write
another disk holds), G is at least the last write acknowledged before the
pause, and at the end the images in use hold every acknowledged write.
After the failed set the old images, still in use, pass the same check,
and so do the targets of the jobs that ended: copies as of the stop.
"""

import os

import guestlib as gl

N = 4
PIVOTS = int(os.environ.get('SET_PIVOTS', '20'))
FAULT_AT = PIVOTS // 2
FAULTY = 2              # member 3 of 4


def dseq(g, d):
    """How many of the writes up to g went to disk d"""
    return (g - d - 1) // N + 1 if g > d else 0


def gseq(s, d):
    """The number in the whole sequence of disk d's write s"""
    return (s - 1) * N + d + 1 if s else 0


class SetGuest(gl.Guest):
    """The test guest with N virtio-blk disks, disk0 ... disk{N-1}"""

    def __init__(self, work):
        super().__init__(work, 'virtio-blk')
        self.dnodes = [None] * N
        self.dimages = [None] * N

    def launch(self, images):       # pylint: disable=arguments-differ
        devs = ','.join(f'/dev/vd{chr(ord("a") + d)}' for d in range(N))
        super().launch(images[0], f'writer.devs={devs}', more=images[1:])
        self.dnodes = [self.node] + self.more_nodes
        self.dimages = list(images)

    def active_nodes(self):
        nodes = {}
        for b in self.vm.cmd('query-block'):
            for d in range(N):
                if b.get('qdev', '').startswith(f'/machine/peripheral/disk{d}/'):
                    nodes[d] = b['inserted']['node-name']
        return [nodes.get(d) for d in range(N)]


def set_point(res, images, lower, what):
    """Check that @images hold exactly the writes up to one point G of the
    write order, with G >= lower (every write acknowledged before the
    pause).  Returns G."""
    lasts = []
    for d, image in enumerate(images):
        # Any later write is fine here: the exact check follows
        counts = gl.verify(image, dseq(lower, d), slack=1 << 40, seed=1 + d)
        res.verified(counts, f'{what}: disk{d} ({os.path.basename(image)})')
        lasts.append(counts['last'])
    point = max(gseq(s, d) for d, s in enumerate(lasts))
    gl.check(point >= lower, f'{what}: the images end at write {point}, '
             f'before write {lower}, acknowledged before the pause')
    for d, image in enumerate(images):
        counts = gl.verify(image, dseq(point, d), slack=0, seed=1 + d)
        gl.check(counts['ok'] and counts['last'] == dseq(point, d),
                 f'{what}: disk{d} does not hold exactly the writes up to '
                 f'write {point} of the set (it ends at its write '
                 f'{counts["last"]}, want {dseq(point, d)}): '
                 f'{counts["detail"][:300]}')
    return point


def start_copies(g, i, targets, faulty=False):
    """Mirror every disk to its target; wait until all are READY.
    Returns the targets' node names."""
    nodes = []
    for d in range(N):
        gl.create_image(targets[d])
        opts = g.node_options(targets[d])
        if faulty and d == FAULTY:
            # Every flush after the one that makes the job READY fails
            opts['file'] = {
                'driver': 'blkdebug', 'image': opts['file'],
                'set-state': [{'event': 'flush_to_disk', 'state': 1,
                               'new_state': 2}],
                'inject-error': [{'event': 'flush_to_disk', 'state': 2,
                                  'iotype': 'flush', 'errno': 5,
                                  'once': False}]}
        g.vm.cmd('blockdev-add', opts)
        nodes.append(opts['node-name'])
        g.vm.cmd('blockdev-mirror', {'job-id': f'copy{i}-{d}',
                                     'device': g.dnodes[d],
                                     'target': opts['node-name'],
                                     'sync': 'full'})
    for d in range(N):
        g.wait_job_ready(f'copy{i}-{d}')
    return nodes


def one_set(g, res, i, targets, faulty=False):
    new_nodes = start_copies(g, i, targets, faulty)
    g.wait_writes(8)            # the copies converged under load
    g.events()
    request_id = f'set-{i}'
    resp = g.vm.qmp('drive-reopen-group', {
        'request-id': request_id, 'pause-guest': True,
        'devices': [{'device': f'disk{d}', 'job-id': f'copy{i}-{d}'}
                    for d in range(N)]})
    gl.check('return' in resp, f'drive-reopen-group: {resp}')
    rec = resp['return']
    lower = g.ack()             # the vCPUs stopped before the reply
    events = [e['event'] for e in g.events()]
    seen = [e for e in events if e in ('STOP', 'RESUME',
                                       'BLOCK_JOB_COMPLETED',
                                       'BLOCK_JOB_CANCELLED',
                                       'DRIVE_REOPEN_COMPLETED')]
    want = ['STOP'] + ['BLOCK_JOB_COMPLETED'] * N + \
        ['DRIVE_REOPEN_COMPLETED'] * N
    gl.check(seen == want, f'events {seen}, want {want}')
    gl.check(len(rec['devices']) == N and rec['paused-by-command'],
             f'record: {rec}')
    gl.check(g.vm.cmd('query-drive-reopen', request_id=request_id) ==
             rec['devices'], 'query-drive-reopen differs from the reply')
    gl.check(g.runstate() == 'paused', f'runstate {g.runstate()}')
    old_nodes, old_images = list(g.dnodes), list(g.dimages)

    if not faulty:
        gl.check(rec['status'] == 'completed' and rec['switched'] and
                 all(m['switched'] for m in rec['devices']), f'record: {rec}')
        gl.check(g.active_nodes() == new_nodes,
                 f'active nodes {g.active_nodes()}, want {new_nodes}')
        g.dnodes, g.dimages = new_nodes, list(targets)
        for node in old_nodes:
            g.forget_node(node)
        set_point(res, old_images, lower, f'set {i}: the images left')
        res.pivot()
    else:
        gl.check(rec['status'] == 'failed' and not rec['switched'] and
                 f"Job 'copy{i}-{FAULTY}' failed" in rec.get('error', ''),
                 f'record: {rec}')
        gl.check(all(not m['switched'] and m['job-ended'] and
                     not m['rolled-back'] for m in rec['devices']),
                 f'records: {rec["devices"]}')
        gl.check(g.active_nodes() == old_nodes,
                 f'active nodes {g.active_nodes()}, want {old_nodes}')
        point = set_point(res, old_images, lower,
                          f'set {i} (failed): the images in use')
        # The targets of the jobs that ended are copies as of the stop
        for d in range(N):
            if d != FAULTY:
                counts = gl.verify(targets[d], dseq(point, d), slack=0,
                                   seed=1 + d)
                res.verified(counts, f'set {i} (failed): the target of '
                             f'disk{d}')
            g.forget_node(new_nodes[d])
    g.vm.cmd('cont')
    g.wait_writes(4 * N)        # the guest goes on, on the images in use


def sets(res):
    work = gl.workdir('set')
    g = SetGuest(work)
    try:
        a = [os.path.join(work, f'A{d}.raw') for d in range(N)]
        b = [os.path.join(work, f'B{d}.raw') for d in range(N)]
        for image in a:
            gl.create_image(image)
        g.launch(a)
        g.wait_writes(N)
        for i in range(PIVOTS + 1):
            targets = b if g.dimages[0] == a[0] else a
            one_set(g, res, i, targets, faulty=i == FAULT_AT)
        acked = g.shutdown()
        res.acked(acked)
        for d in range(N):
            res.verified(gl.verify(g.dimages[d], dseq(acked, d), seed=1 + d),
                         f'final image of disk{d}')
        gl.log(f'{PIVOTS} set pivots of {N} disks and one failed set, '
               f'{acked} writes acknowledged')
    finally:
        g.close()


def main():
    def cases(tap, res):
        tap.case(f'set of {N} disks: {PIVOTS} drive-reopen-group pivots '
                 'under load, one global write order, and a set whose '
                 'member 3 fails after the stop', sets, res)

    gl.run_scenario('8 set of 4 disks', cases)


if __name__ == '__main__':
    main()
