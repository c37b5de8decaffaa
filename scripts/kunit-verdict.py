#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Judge the results of one of the project's KUnit suites in a kernel log.

    kunit-verdict.py --tree <srcdir> [--suite mmu_gather|delayed_rmap|rust_device]
                     [--source <file>] --mode patched|nofix|upstream|mutation <log>

Parses the log with the tree's own KUnit parser (tools/testing/kunit, the
code behind `kunit.py parse`, which also prints the usual report; it reads
kselftest TAP too), then checks the suite against what the mode expects:

  patched, upstream   every case of the suite ran and passed; nothing
                      skipped (the kernel has the fixes: the 6.1 series, or
                      Linux 7.x with patches/7.2-fix).
  mutation, nofix     a kernel without one of the fixes: the cases that
                      check it fail, each with its own message; every other
                      case passes; nothing skipped.
                      mmu_gather nofix: the 6.1 series with both fixes
                      reverted (the delayed rmap and reclaim's unlock after
                      the flush): the flush-order cases fail, a dirty file
                      page out of the rmap at its TLB flush, and the reclaim
                      case fails, a dirty folio unlocked before its deferred
                      TLB flush.
                      delayed_rmap mutation: 7.x with patches/7.2-mutation:
                      the same, in the Rust suite's flush-order cases.
                      delayed_rmap nofix: 7.x without patches/7.2-fix: no
                      case of the suite checks those fixes, all pass.
                      rust_device mutation: the module's pages
                      (module_pages_flush_order) and the whole-table
                      MADV_DONTNEED (shmem_table_flush_order) fail, out of
                      the rmap at the flush.
                      rust_device nofix: shmem_table_flush_order fails, a
                      page table detached (the PMD cleared) at its TLB
                      flush, and lru_page_pageout_unlock_order fails, a
                      dirty folio unlocked by reclaim before its deferred
                      TLB flush.

Suites: mmu_gather, the C suite of the 6.1 series (cases from the
KUNIT_CASE*() lines of mm/mmu_gather_kunit.c in the tree); delayed_rmap,
the Rust module's suite (cases from the #[test] functions of
rust/kunit_tests.rs in this repository); rust_device, the module's
selftest (cases <fixture>.<test> from the TEST_F() lines of
selftests/rust_device.c; the log is the selftest's output, whose whole TAP
run is the suite).  --source reads the cases from another file, e.g. the
copy a recorded log was made with.  A case that silently stops running is
an error.
Exit status: 0 as expected, 1 not as expected, 2 could not judge.
"""

import argparse
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
import ktap  # noqa: E402  pylint: disable=wrong-import-position

REPO = os.path.realpath(os.path.join(os.path.dirname(__file__), '..'))

ORDER_FAILURE = 'out of the rmap at its TLB flush, expected in'
TABLE_FAILURE = 'page table detached at its TLB flush, expected attached'
UNLOCK_FAILURE = 'unlocked before its deferred TLB flush'

# Per suite: where its cases are listed (relative to the tree or to this
# repository), how a case is declared (the groups of a match joined with
# '.' name it), whether the suite is the log's whole TAP run, and per
# unfixed mode the cases that must fail there, with the message their log
# must hold (an empty table: every case passes in that mode).
SUITES = {
    'mmu_gather': {
        'source': ('tree', 'mm/mmu_gather_kunit.c'),
        'case': r'KUNIT_CASE(?:_PARAM)?\(\s*(\w+)',
        'fail': {
            'nofix': {
                'zap_dirty_file_page_flush_order': ORDER_FAILURE,
                'munmap_dirty_file_page_flush_order': ORDER_FAILURE,
                'zap_dirty_file_pages_batch_sizes': ORDER_FAILURE,
                'reclaim_dirty_file_folio_unlock_order': UNLOCK_FAILURE,
            },
        },
    },
    'delayed_rmap': {
        'source': ('repo', 'rust/kunit_tests.rs'),
        # A case may carry attributes after #[test] (its #[cfg(...)] gate).
        'case': r'#\[test\]\s*(?:#\[[^\]]*\]\s*)*fn\s+(\w+)',
        'fail': {
            'mutation': {
                'shmem_pages_flush_order': ORDER_FAILURE,
                'munmap_flush_order': ORDER_FAILURE,
                'map_fixed_flush_order': ORDER_FAILURE,
                'shmem_truncate_flush_order': ORDER_FAILURE,
            },
            'nofix': {},
        },
    },
    'rust_device': {
        'source': ('repo', 'selftests/rust_device.c'),
        'case': r'^TEST_F\(\s*(\w+),\s*(\w+)\)',
        'top': True,
        'fail': {
            'mutation': {
                'dev.module_pages_flush_order': ORDER_FAILURE,
                'dev.shmem_table_flush_order': ORDER_FAILURE,
            },
            'nofix': {
                'dev.shmem_table_flush_order': TABLE_FAILURE,
                'dev.lru_page_pageout_unlock_order': UNLOCK_FAILURE,
            },
        },
    },
}
FIXED_MODES = ('patched', 'upstream')
UNFIXED_MODES = ('nofix', 'mutation')


def error(msg):
    print(f'kunit-verdict: error: {msg}', file=sys.stderr)
    sys.exit(2)


def source_path(tree, suite):
    base, rel = SUITES[suite]['source']
    return os.path.join(tree if base == 'tree' else REPO, rel)


def cases_in_source(tree, suite, path=None):
    path = path or source_path(tree, suite)
    try:
        with open(path, encoding='utf-8') as f:
            text = f.read()
    except OSError as e:
        error(f'cannot read {path}: {e}')
    names = ['.'.join(m) if isinstance(m, tuple) else m
             for m in re.findall(SUITES[suite]['case'], text, re.MULTILINE)]
    if not names:
        error(f'no test case in {path}')
    for mode, cases in SUITES[suite]['fail'].items():
        missing = set(cases) - set(names)
        if missing:
            error(f'{path} lacks the cases that must fail in mode {mode}: {sorted(missing)}')
    return names


def run_start(lines, name):
    """Index of the top-level KTAP header of the run holding suite name."""
    header = re.compile(r'^(\[\s*\d+\.\d+\]\s?)?(K?TAP) version \d+\s*$')
    start = 0
    for i, line in enumerate(lines):
        if header.match(line):
            start = i
        elif re.search(rf'# Subtest: {re.escape(name)}\s*$', line):
            return start
    return 0


def find_suite(test, name):
    if test.name == name:
        return test
    for sub in test.subtests:
        found = find_suite(sub, name)
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


def suite_seconds(lines, name):
    """Time between the suite's header and its result (printk timestamps)."""
    stamp = re.compile(r'^\[\s*(\d+\.\d+)\]')
    begin = end = None
    for line in lines:
        m = stamp.match(line)
        if not m:
            continue
        if begin is None and f'# Subtest: {name}' in line:
            begin = float(m.group(1))
        elif begin is not None and re.search(rf'\bok \d+ {name}\b', line):
            end = float(m.group(1))
            break
    return None if begin is None or end is None else end - begin


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--tree', required=True, help='kernel source tree')
    ap.add_argument('--suite', default='mmu_gather', choices=sorted(SUITES))
    ap.add_argument('--mode', required=True, choices=FIXED_MODES + UNFIXED_MODES)
    ap.add_argument('--source', help='file the cases are read from (default: the suite\'s source)')
    ap.add_argument('log', help='kernel log (dmesg) of the boot')
    args = ap.parse_args()

    sys.path.insert(0, os.path.join(args.tree, 'tools/testing/kunit'))
    try:
        import kunit_parser  # pylint: disable=import-outside-toplevel
    except ImportError as e:
        error(f'no KUnit parser in {args.tree}: {e}')
    status = kunit_parser.TestStatus

    suite_name = args.suite
    if args.mode in UNFIXED_MODES and args.mode not in SUITES[suite_name]['fail']:
        error(f'suite {suite_name} has no mode {args.mode}')
    must_fail = SUITES[suite_name]['fail'].get(args.mode, {})
    source = SUITES[suite_name]['source'][1]
    expected = cases_in_source(args.tree, suite_name, args.source)
    try:
        with open(args.log, encoding='utf-8', errors='replace') as f:
            lines = f.readlines()
    except OSError as e:
        error(f'cannot read {args.log}: {e}')

    # A log can hold several KTAP runs: the built-in suites at boot (maybe
    # none), then one per module with suites.  Parse the run of this suite.
    top = SUITES[suite_name].get('top', False)
    if not top:
        lines = lines[run_start(lines, suite_name):]

    root = ktap.parse(kunit_parser, lines, sys.stdout)
    suite = root if top else find_suite(root, suite_name)
    if suite is None:
        error(f'suite "{suite_name}" not in the log (not built in, or the boot failed)')

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
            why = must_fail.get(name)
            want_fail = why is not None
            if run.status == status.SKIPPED:
                problems.append(f'{label}: skipped')
            elif want_fail and run.status != status.FAILURE:
                problems.append(f'{label}: {run.status.name}, expected to fail without the fix')
            elif want_fail and not any(why in line for line in all_log(run)):
                problems.append(f'{label}: failed, but not with "{why}"')
            elif not want_fail and run.status != status.SUCCESS:
                problems.append(f'{label}: {run.status.name}')

    for name in results:
        if name not in expected:
            problems.append(f'{name}: ran but is not in {source}')

    total = sum(counts.values())
    tally = (f'{total} results: {counts["PASS"]} passed, {counts["FAIL"]} failed, '
             f'{counts["SKIP"]} skipped, {counts["OTHER"]} crashed')
    took = suite_seconds(lines, suite_name)
    if took is not None:
        tally += f'; suite ran {took:.1f} s'

    kind = 'kselftest' if top else 'kunit'
    print()
    for p in problems:
        print(f'kunit-verdict: {p}')
    if problems:
        print(f'{kind} {args.mode}: NOT AS EXPECTED ({len(problems)} problem(s)); {tally}')
        return 1
    if args.mode in FIXED_MODES:
        print(f'{kind} {args.mode}: suite {suite_name}: {len(expected)} cases, {tally}')
    elif must_fail:
        print(f'{kind} {args.mode}: suite {suite_name}: {", ".join(sorted(must_fail))} fail as '
              f'required ({counts["FAIL"]} results), the other cases pass; {tally}')
    else:
        print(f'{kind} {args.mode}: suite {suite_name}: no case checks what this kernel lacks, '
              f'all {len(expected)} pass; {tally}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
