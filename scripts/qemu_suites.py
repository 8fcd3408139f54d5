#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""
QEMU's own test suites in make check: meson's results as TAP lines, and
the comparison of a failure with the pristine build.

  qemu_suites.py tap SUITE TESTLOG.json
      meson test's log (--logbase) as TAP lines "ok SUITE TEST SUBTEST":
      one per subtest of a TAP test (its "# SKIP" and reason kept), one
      per test for the others; a test that meson failed without a failing
      subtest (a crash, a timeout, a short plan) gets a line of its own.

  qemu_suites.py failed TAP...
      The tests with a "not ok" line: "SUITE TEST" (an iotest: "FMT NAME").
      A line about a whole suite (it timed out, its harness stopped) names
      no test: it stays a failure and is not listed.

  qemu_suites.py targets BUILDDIR TEST...
      The ninja targets that meson tests TEST need (the test program and
      what it depends on), from meson introspect.

  qemu_suites.py iotests-skips TAP TEST_DIR
      Rewrite TAP in place: check -tap says "ok FMT NAME # SKIP" without
      the reason that "[not run]" has; it is in the test's scratch
      directory, TEST_DIR/FMT-PROTO-NAME/NAME.notrun.

  qemu_suites.py compare TAP PRISTINE_TAP WHAT
      Rewrite TAP in place: a "not ok" line whose test also fails in
      PRISTINE_TAP becomes "ok ... # SKIP fails without the series too
      (WHAT)"; the others stay failures and say that the pristine build
      passes them.  Prints one line per failure on stderr.
"""

import glob
import json
import re
import subprocess
import sys

RESULT = re.compile(r'^(not ok|ok)\b\s*(.*)$')
# A subtest line of a TAP test: "ok 3 /path # SKIP why" (number optional)
SUBTEST = re.compile(r'^(not ok|ok)(?:\s+\d+)?\s*(?:-\s*)?([^#]*?)\s*(#.*)?$')
SKIP = re.compile(r'^#\s*skip\b\s*', re.I)
PLAN_SKIP = re.compile(r'^1\.\.0\s*#\s*skip\w*\s*(.*)$', re.I)


def short(name):
    """'qemu:unit / test-aio' -> 'test-aio'; 'qtest-x86_64/qos-test' -> 'qos-test'"""
    return name.split(' / ')[-1].split('/')[-1]


def tap_of_test(suite, rec):
    """The TAP lines of one entry of meson's JSON test log."""
    name = short(rec['name'])
    result = rec.get('result', 'ERROR')
    out = rec.get('stdout') or ''
    lines, failed_sub, skip_reason = [], False, ''
    is_tap = '--tap' in (rec.get('command') or []) or \
        re.search(r'^1\.\.\d+', out, re.M)
    if is_tap:
        for raw in out.splitlines():
            plan = PLAN_SKIP.match(raw)
            if plan:
                skip_reason = plan.group(1).strip()
                continue
            m = SUBTEST.match(raw)
            if not m:
                continue
            status, what, directive = m.groups()
            what = what.strip().replace(' ', '_') or '(unnamed)'
            line = f'{status} {suite} {name} {what}'
            if directive and SKIP.match(directive):
                reason = SKIP.sub('', directive).strip()
                line = f'ok {suite} {name} {what} # SKIP {reason or "skipped by the test"}'
            elif status == 'not ok':
                failed_sub = True
            lines.append(line)
    if result in ('OK', 'EXPECTEDFAIL'):
        if not lines:
            lines.append(f'ok {suite} {name}')
    elif result == 'SKIP':
        if not any(' # SKIP ' in x for x in lines):
            last = (out.strip().splitlines() or ['exit status 77'])[-1]
            if re.match(r'^1\.\.0\s*$', last):
                last = 'the test has no case for this target or set-up (plan 1..0)'
            why = skip_reason or last
            lines.append(f'ok {suite} {name} # SKIP {why}')
    elif not failed_sub:
        # Nothing above says why meson failed it: say it here, with where
        # it stopped and GLib's message ("Bail out! ERROR:...: assertion")
        how = result
        if result == 'TIMEOUT':
            how = f'timed out after {rec.get("duration", 0):.0f} s'
        elif rec.get('returncode') not in (None, 0):
            how = f'{result} (exit status {rec["returncode"]})'
        if lines:
            how += ' after ' + lines[-1].split(' # ')[0].split()[-1]
        bail = [x for x in out.splitlines() if x.startswith('Bail out!')]
        if bail:
            how += ': ' + bail[-1].replace('#', '')
        lines.append(f'not ok {suite} {name}: {how}')
    return lines


def cmd_tap(suite, log):
    with open(log, encoding='utf-8', errors='replace') as f:
        for text in f:
            text = text.strip()
            if text:
                for line in tap_of_test(suite, json.loads(text)):
                    print(line)


def key(line):
    """What a TAP line is about: (suite or format, test, subtest); None
    for a line about a whole suite ("SUITE timed out after N s" from
    bounded.py, "SUITE: no result", "SUITE harness: ..."), which names no
    test to run again."""
    m = RESULT.match(line)
    if not m:
        return None
    words = m.group(2).split('#')[0].split()
    if len(words) < 2 or words[0].endswith(':') or \
            words[1] == 'harness:' or words[1:3] == ['timed', 'out']:
        return None
    sub = words[2] if len(words) > 2 and words[2].startswith('/') else ''
    return (words[0], words[1].rstrip(':'), sub)


def read_tap(path):
    try:
        with open(path, encoding='utf-8', errors='replace') as f:
            return f.read().splitlines()
    except FileNotFoundError:
        return []


def cmd_failed(paths):
    seen = []
    for path in paths:
        for line in read_tap(path):
            k = key(line)
            if line.startswith('not ok ') and k:
                test = f'{k[0]} {k[1]}'
                if test not in seen:
                    seen.append(test)
    print('\n'.join(seen))


def cmd_targets(builddir, names):
    def introspect(what):
        return json.loads(subprocess.run(
            [f'{builddir}/pyvenv/bin/meson', 'introspect', f'--{what}'],
            cwd=builddir, check=True, stdout=subprocess.PIPE,
            timeout=300).stdout)
    tests = {short(t['name']): t for t in introspect('tests')}
    files = {}
    for t in introspect('targets'):
        files[t['id']] = [f[len(builddir) + 1:] for f in t['filename']
                          if f.startswith(builddir + '/')]
    out = []
    for name in names:
        test = tests.get(short(name))
        if test is None:
            continue            # not in this build: the caller's rerun fails
        prog = test['cmd'][0]
        wanted = [prog[len(builddir) + 1:]] if prog.startswith(builddir + '/') else []
        for dep in test['depends']:
            wanted += files.get(dep, [])
        for w in wanted:
            if w not in out:
                out.append(w)
    print('\n'.join(out))


def cmd_compare(path, pristine_path, what):
    pristine = {}
    for line in read_tap(pristine_path):
        k = key(line)
        if k:
            pristine.setdefault(k, line.startswith('not ok '))
    # A test that failed as a whole there (a crash) fails every subtest
    # it did not reach
    whole = {(k[0], k[1]) for k, bad in pristine.items() if bad and not k[2]}
    ran = {(k[0], k[1]) for k in pristine}
    bad_there = {(k[0], k[1]) for k, bad in pristine.items() if bad}
    out = []
    for line in read_tap(path):
        k = key(line)
        if line.startswith('not ok ') and k:
            test = (k[0], k[1])
            there = pristine.get(k)
            if there is None and test in whole:
                there = True
            body = line[len('not ok '):]
            if there:
                line = f'ok {body} # SKIP fails without the series too ({what})'
                print(f'  fails without the series too: {body}', file=sys.stderr)
            else:
                # A crash here (no subtest named) is the same failure
                # only if the pristine build crashes too
                if there is False or (test in ran and test not in bad_there):
                    state = 'passes it'
                elif test in ran:
                    state = 'fails it differently'
                else:
                    state = 'does not run it'
                line = f'{line} (the pristine build {state})'
                print(f'  fails only with the series: {body}', file=sys.stderr)
        out.append(line)
    with open(path, 'w', encoding='utf-8') as f:
        f.write(''.join(x + '\n' for x in out))


def cmd_iotests_skips(path, test_dir):
    out = []
    for line in read_tap(path):
        m = re.match(r'^ok (\S+) (\S+) # SKIP$', line)
        if m:
            fmt, name = m.groups()
            why = ''
            for f in glob.glob(f'{test_dir}/{fmt}-*-{name}/{name}.notrun'):
                with open(f, encoding='utf-8', errors='replace') as notrun:
                    why = ' '.join(notrun.read().split())
            line += ' ' + (why or 'not run (no reason given)')
        out.append(line)
    with open(path, 'w', encoding='utf-8') as f:
        f.write(''.join(x + '\n' for x in out))


def main():
    args = sys.argv[1:]
    if len(args) == 3 and args[0] == 'tap':
        cmd_tap(args[1], args[2])
    elif args and args[0] == 'failed':
        cmd_failed(args[1:])
    elif len(args) >= 2 and args[0] == 'targets':
        cmd_targets(args[1], args[2:])
    elif len(args) == 3 and args[0] == 'iotests-skips':
        cmd_iotests_skips(args[1], args[2])
    elif len(args) == 4 and args[0] == 'compare':
        cmd_compare(args[1], args[2], args[3])
    else:
        sys.exit(__doc__)


if __name__ == '__main__':
    main()
