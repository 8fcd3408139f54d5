#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
# timeout: 120
"""
Scenario 0, the checker checked: the scenarios' zeros mean something only
if the verifier finds damage.  The guest writes, then copies of its image
are damaged in one block each, and the verifier must count exactly that
block: zeroed or reverted to an older write (lost), a flipped payload byte
(torn), another block's data (foreign).  A copy of the image taken earlier
in the run must show writes lost.
"""

import os
import shutil

import guestlib as gl

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
        if g.vm.is_running():
            g.kill()
        gl.cleanup(work)


def main():
    tap = gl.Tap()
    res = gl.Results('0 verifier check')
    tap.case('the verifier finds a zeroed, older, torn and foreign block '
             'and a stale image', damaged, res)
    res.save()
    tap.exit()


if __name__ == '__main__':
    main()
