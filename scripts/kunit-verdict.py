#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Judge the KUnit results of the mmu_gather suite in a kernel log.

    kunit-verdict.py --tree <srcdir> --mode patched|nofix <kernel log>

Parses the log with the tree's own KUnit parser (tools/testing/kunit, the
code behind `kunit.py parse`, which also prints the usual report), then
checks the "mmu_gather" suite against what the mode expects:

  patched  every case of the suite ran and passed; nothing skipped.
  nofix    the suite without the fix: the flush-order cases fail, and fail
           because a dirty file page was out of the rmap at its TLB flush;
           every other case (encoded pointers, gather batches, the anon and
           clean-file controls) passes; nothing skipped.

The list of cases comes from the suite's source (KUNIT_CASE*() lines of
mm/mmu_gather_kunit.c), so a case that silently stops running is an error.
Exit status: 0 as expected, 1 not as expected, 2 could not judge.
"""

import argparse
import os
import re
import sys

SUITE = 'mmu_gather'
SOURCE = 'mm/mmu_gather_kunit.c'
# Cases that check the flush order of dirty file pages: they must fail
# without the fix, with this message (zap_env_check()).
ORDER_CASES = {
    'zap_dirty_file_page_flush_order',
    'munmap_dirty_file_page_flush_order',
    'zap_dirty_file_pages_batch_sizes',
}
ORDER_FAILURE = 'out of the rmap at its TLB flush, expected in'


def error(msg):
    print(f'kunit-verdict: error: {msg}', file=sys.stderr)
    sys.exit(2)


def cases_in_source(tree):
    path = os.path.join(tree, SOURCE)
    try:
        with open(path, encoding='utf-8') as f:
            text = f.read()
    except OSError as e:
        error(f'cannot read {path}: {e}')
    names = re.findall(r'KUNIT_CASE(?:_PARAM)?\(\s*(\w+)', text)
    if not names:
        error(f'no KUNIT_CASE in {path}')
    missing = ORDER_CASES - set(names)
    if missing:
        error(f'{path} lacks the flush-order cases {sorted(missing)}')
    return names


def find_suite(test):
    if test.name == SUITE:
        return test
    for sub in test.subtests:
        found = find_suite(sub)
        if found:
            return found
    return None


def all_log(test):
    lines = list(test.log)
    for sub in test.subtests:
        lines += all_log(sub)
    return lines


def leaves(test):
    if not test.subtests:
        return [test]
    out = []
    for sub in test.subtests:
        out += leaves(sub)
    return out


def suite_seconds(lines):
    """Time between the suite's header and its result (printk timestamps)."""
    stamp = re.compile(r'^\[\s*(\d+\.\d+)\]')
    begin = end = None
    for line in lines:
        m = stamp.match(line)
        if not m:
            continue
        if begin is None and f'# Subtest: {SUITE}' in line:
            begin = float(m.group(1))
        elif begin is not None and re.search(rf'\bok \d+ {SUITE}\b', line):
            end = float(m.group(1))
            break
    return None if begin is None or end is None else end - begin


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--tree', required=True, help='kernel source tree')
    ap.add_argument('--mode', required=True, choices=['patched', 'nofix'])
    ap.add_argument('log', help='kernel log (dmesg) of the boot')
    args = ap.parse_args()

    sys.path.insert(0, os.path.join(args.tree, 'tools/testing/kunit'))
    try:
        import kunit_parser  # pylint: disable=import-outside-toplevel
    except ImportError as e:
        error(f'no KUnit parser in {args.tree}: {e}')
    status = kunit_parser.TestStatus

    expected = cases_in_source(args.tree)
    try:
        with open(args.log, encoding='utf-8', errors='replace') as f:
            lines = f.readlines()
    except OSError as e:
        error(f'cannot read {args.log}: {e}')

    root = kunit_parser.parse_run_tests(lines)
    suite = find_suite(root)
    if suite is None:
        error(f'suite "{SUITE}" not in the log (not built in, or the boot failed)')

    results = {case.name: case for case in suite.subtests}
    problems = []
    counts = {'PASS': 0, 'FAIL': 0, 'SKIP': 0, 'OTHER': 0}

    for name in expected:
        case = results.get(name)
        if case is None:
            problems.append(f'{name}: did not run')
            continue
        # A parameterised case: every parameter counts.
        runs = leaves(case)
        if case.subtests and len(runs) < 2:
            problems.append(f'{name}: only {len(runs)} parameter(s) ran')
        for run in runs:
            if run.status == status.SUCCESS:
                counts['PASS'] += 1
            elif run.status == status.FAILURE:
                counts['FAIL'] += 1
            elif run.status == status.SKIPPED:
                counts['SKIP'] += 1
            else:
                counts['OTHER'] += 1
            label = name if run is case else f'{name} ({run.name})'
            want_fail = args.mode == 'nofix' and name in ORDER_CASES
            if run.status == status.SKIPPED:
                problems.append(f'{label}: skipped')
            elif want_fail and run.status != status.FAILURE:
                problems.append(f'{label}: {run.status.name}, expected to fail without the fix')
            elif want_fail and not any(ORDER_FAILURE in line for line in all_log(run)):
                problems.append(f'{label}: failed, but not on the flush order')
            elif not want_fail and run.status != status.SUCCESS:
                problems.append(f'{label}: {run.status.name}')

    for name in results:
        if name not in expected:
            problems.append(f'{name}: ran but is not in {SOURCE}')

    total = sum(counts.values())
    tally = (f'{total} results: {counts["PASS"]} passed, {counts["FAIL"]} failed, '
             f'{counts["SKIP"]} skipped, {counts["OTHER"]} crashed')
    took = suite_seconds(lines)
    if took is not None:
        tally += f'; suite ran {took:.1f} s'

    print()
    for p in problems:
        print(f'kunit-verdict: {p}')
    if problems:
        print(f'kunit {args.mode}: NOT AS EXPECTED ({len(problems)} problem(s)); {tally}')
        return 1
    if args.mode == 'patched':
        print(f'kunit patched: suite {SUITE}: {len(expected)} cases, {tally}')
    else:
        print(f'kunit nofix: suite {SUITE}: flush-order cases fail as required '
              f'({counts["FAIL"]} results), the other cases pass; {tally}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
