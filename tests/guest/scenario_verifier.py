#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
# timeout: 120
"""
Scenario 0, the checker checked: the scenarios' zeros mean something only
if the verifier finds damage.  The guest writes, then copies of its image
are damaged in one block each, and the verifier must count exactly that
block: zeroed or reverted to an older write (lost), a flipped payload byte
(torn), another block's data (foreign).  A copy of the image taken earlier
in the run must show writes lost.  And the check of a set of disks
(scenario 8) must refuse a set whose disks stop at different points of
the guest's write order, and one that lacks acknowledged writes.
"""

import os
import shutil

import guestlib as gl
import scenario_set as gs

BLOCK = gl.BLOCK


def read_block(path, b):
    with open(path, 'rb') as f:
        f.seek(b * BLOCK)
        return f.read(BLOCK)


def write_block(path, b, data):
    with open(path, 'r+b') as f:
        f.seek(b * BLOCK)
        f.write(data)


def damaged(res):
    work = gl.workdir('verifier')
    g = gl.Guest(work)
    try:
        img = os.path.join(work, 'A.raw')
        gl.create_image(img)
        g.launch(img)
        g.wait_writes(gl.BLOCKS + 500)      # every block written, some twice
        g.vm.cmd('stop')
        early_acked = g.ack()
        early = os.path.join(work, 'early.raw')
        shutil.copyfile(img, early)
        g.vm.cmd('cont')
        g.wait_writes(gl.BLOCKS)            # every block rewritten since
        acked = g.shutdown()
        res.acked(acked)
        good = gl.verify(img, acked)
        res.verified(good, 'the undamaged image')
        gl.check(good['written'] == gl.BLOCKS, f'{good}')

        _, block, _ = g.last_write()
        other = (block + 1) % gl.BLOCKS
        cases = {
            'zeroed': ('lost', b'\0' * BLOCK),
            'torn': ('torn', None),
            'foreign': ('foreign', read_block(img, other)),
            'older': ('lost', read_block(early, block)),
        }
        for what, (want, data) in cases.items():
            copy = os.path.join(work, what + '.raw')
            shutil.copyfile(img, copy)
            if data is None:
                data = bytearray(read_block(img, block))
                data[1000] ^= 0xff
            write_block(copy, block, bytes(data))
            c = gl.verify(copy, acked)
            gl.log(f'block {block} {what}: lost {c["lost"]} torn '
                   f'{c["torn"]} foreign {c["foreign"]}')
            gl.check(not c['ok'] and c[want] == 1 and
                     c['lost'] + c['torn'] + c['foreign'] == 1,
                     f'{what}: want {want} 1: {c}')
        c = gl.verify(early, acked)
        gl.log(f'a copy taken {acked - early_acked} writes early: lost '
               f'{c["lost"]}')
        gl.check(not c['ok'] and c['lost'] > 0, f'early copy: {c}')
    finally:
        g.close()


def refused(what, why, fn, *args):
    """fn(*args) must fail its check, saying why"""
    try:
        fn(*args)
    except gl.Failure as e:
        gl.log(f'{what}: refused: {str(e)[:200]}')
        gl.check(why in str(e), f'{what}: refused for another reason: {e}')
        return
    raise gl.Failure(f'{what}: the set check passed')


def mixed_set(res):
    work = gl.workdir('verifier-set')
    g = gs.SetGuest(work)
    try:
        imgs = [os.path.join(work, f'A{d}.raw') for d in range(gs.N)]
        early = [os.path.join(work, f'early{d}.raw') for d in range(gs.N)]
        for img in imgs:
            gl.create_image(img)
        g.launch(imgs)
        g.wait_writes(200)
        g.vm.cmd('stop')
        early_acked = g.ack()
        for img, copy in zip(imgs, early):
            shutil.copyfile(img, copy)
        g.vm.cmd('cont')
        g.wait_writes(200)
        acked = g.shutdown()
        res.acked(acked)
        point = gs.set_point(res, early, early_acked, 'the early set')
        gl.check(point >= early_acked, f'point {point}')
        gs.set_point(res, imgs, acked, 'the final set')
        # The last disk from the early copy, the others from the end
        refused('a set of two points', 'does not hold exactly the writes',
                gs.set_point, gl.Results('x'), imgs[:-1] + early[-1:],
                early_acked, 'mixed')
        refused('a set without the acknowledged writes', 'lost',
                gs.set_point, gl.Results('x'), early, acked, 'stale')
    finally:
        g.close()


def main():
    def cases(tap, res):
        tap.case('the verifier finds a zeroed, older, torn and foreign block '
                 'and a stale image', damaged, res)
        tap.case('the set check refuses disks that stop at different points '
                 'of the write order', mixed_set, res)

    gl.run_scenario('0 verifier check', cases)


if __name__ == '__main__':
    main()
