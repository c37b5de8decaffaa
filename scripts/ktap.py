#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""KTAP documents of the steps of `make check`: extract, read, write check.ktap.

    ktap.py extract --kunit-dir <dir> <log> [-o <out.ktap>]
    ktap.py check <results-dir> <status.tsv> [-o <out.ktap>]
    ktap.py results --kunit-dir <dir> <log>

extract: the (K)TAP document of a kernel or guest log, found by the
         kernel tree's own KUnit parser (<dir> = tools/testing/kunit of the
         tree: kunit_parser.extract_tap_lines, what `kunit.py parse`
         reads): of several (a kernel log has one per module with suites,
         and one at boot, maybe empty) the last with tests, up to its last
         result, the header made "KTAP version 1", and the 6.1 harness's
         nameless "ok N # SKIP" lines given their test's name.  Exit
         status 1 if the log holds none.
results: the result of every test of the first (K)TAP document in a log,
         as the tree's KUnit parser reads it: one line per test without
         subtests, "<name><TAB><SUCCESS|FAILURE|SKIPPED|...>", then
         "totals<TAB>pass N fail N skip N other N".  For the scripts that
         judge a selftest's TAP (the one parser for all of them).  Exit
         status 1 if the log holds no (K)TAP.

Both read the output of kselftest's runner (run_kselftest.sh, each
program's TAP inside its test with "# " before every line) with each
program's document nested in its test.
check:   results/check.ktap: one test per step of the run (status.tsv:
         step, PASS|FAIL|SKIP, seconds, summary; tab-separated), each with
         the KTAP documents its step left in <results-dir>/<step>/*.ktap
         nested (one document: its tests are the step's subtests; several:
         one subtest per document, named after its file without .ktap, "not
         ok" when one of its top-level results is).  A skipped step is "not
         ok ... # SKIP" (a step that did not run counts as failed).

The output reads with `kunit.py parse <file>` of a kernel tree.
"""

import argparse
import glob
import inspect
import os
import re
import sys

HEADER = re.compile(r'^\s*K?TAP version \d+\s*$')
TOP_HEADER = re.compile(r'^K?TAP version \d+\s*$')
TOP_RESULT = re.compile(r'^(not ok|ok) \d+\b')
PLAN = re.compile(r'^1\.\.(\d+)')
NAMELESS = re.compile(r'^((?:not )?ok \d+) # (.*)$')
RUN = re.compile(r'^#\s+RUN\s+(\S+)')
RUNNER_TEST = re.compile(r'^# selftests: (\S+): (\S+)$')
RUNNER_RESULT = re.compile(r'^(?:not )?ok \d+ selftests: (\S+): (\S+)')


def die(msg):
    print(f'ktap: error: {msg}', file=sys.stderr)
    sys.exit(2)


def body(path):
    """The lines of a KTAP document after its version line."""
    try:
        with open(path, encoding='utf-8', errors='replace') as f:
            lines = [line.rstrip('\n') for line in f]
    except OSError as e:
        die(f'cannot read {path}: {e}')
    for i, line in enumerate(lines):
        if HEADER.match(line):
            return lines[i + 1:]
    die(f'{path}: no KTAP/TAP version line')
    return []


def failed(lines):
    return any(m.group(1) == 'not ok' for m in map(TOP_RESULT.match, lines) if m)


def subtest(name, lines, indent):
    pad = ' ' * indent
    out = [f'{pad}KTAP version 1', f'{pad}# Subtest: {name}']
    out += [f'{pad}{line}' if line else '' for line in lines]
    return out


def nested(name, paths, indent):
    """Subtest <name> holding the documents <paths>."""
    if len(paths) == 1:
        return subtest(name, body(paths[0]), indent)
    return subtest(name, documents(paths), indent)


def documents(paths):
    """The lines (after the version line) of a document whose tests are the
    documents <paths>."""
    lines = [f'1..{len(paths)}']
    for i, path in enumerate(paths, 1):
        stem = os.path.basename(path)
        stem = stem[:-len('.ktap')] if stem.endswith('.ktap') else stem
        sub = body(path)
        lines += subtest(stem, sub, 4)
        lines.append(f'{"not ok" if failed(sub) else "ok"} {i} {stem}')
    return lines


def write(lines, out):
    text = '\n'.join(lines) + '\n'
    if out:
        with open(out, 'w', encoding='utf-8') as f:
            f.write(text)
    else:
        sys.stdout.write(text)


def parser(kunit_dir):
    sys.path.insert(0, kunit_dir)
    try:
        import kunit_parser  # pylint: disable=import-outside-toplevel
    except ImportError as e:
        die(f'no KUnit parser in {kunit_dir}: {e}')
    return kunit_parser


def parse(kunit_parser, lines, output):
    """kunit_parser.parse_run_tests() of any tree, its report to <output>:
    6.1's parser prints through a module-level printer, newer ones take one
    as an argument.  (kunit-verdict.py uses it too.)"""
    import kunit_printer  # pylint: disable=import-outside-toplevel
    printer = kunit_printer.Printer(output=output)
    if 'printer' in inspect.signature(kunit_parser.parse_run_tests).parameters:
        return kunit_parser.parse_run_tests(lines, printer)
    kunit_parser.stdout = printer
    return kunit_parser.parse_run_tests(lines)


def cmd_results(args):
    kunit_parser = parser(args.kunit_dir)
    lines = tap_lines(kunit_parser, args.log)
    if not any(HEADER.search(line) for line in lines):
        print(f'ktap: {args.log}: no KTAP/TAP output', file=sys.stderr)
        return 1
    # The parser's own report goes to stderr.
    root = parse(kunit_parser, lines, sys.stderr)
    counts = {'SUCCESS': 0, 'FAILURE': 0, 'SKIPPED': 0}
    other = 0

    def walk(test):
        nonlocal other
        if not test.subtests:
            status = test.status.name
            print(f'{test.name}\t{status}')
            if status in counts:
                counts[status] += 1
            else:
                other += 1
        for sub in test.subtests:
            walk(sub)
    for sub in root.subtests:
        walk(sub)
    print(f'totals\tpass {counts["SUCCESS"]} fail {counts["FAILURE"]} skip {counts["SKIPPED"]} other {other}')
    return 0


def documents_of(lines):
    """The top-level documents in the lines extract_tap_lines() kept: each
    from its version line to its last top-level result (the plan says how
    many), what follows (kernel messages, a verdict) left out."""
    docs, cur = [], None
    for line in lines:
        if TOP_HEADER.match(line):
            cur = [line]
            docs.append(cur)
        elif cur is not None:
            cur.append(line)
    out = []
    for doc in docs:
        plan = next((int(m.group(1)) for m in map(PLAN.match, doc[1:4]) if m), None)
        if not plan:
            continue
        results, end = 0, len(doc)
        for i, line in enumerate(doc):
            if TOP_RESULT.match(line):
                results += 1
                if results == plan:
                    end = i + 1
                    break
        out.append(doc[:end])
    return out


def name_skips(lines):
    """The 6.1 kselftest harness prints a skipped test as "ok 3 # SKIP
    why", without its name, which the KUnit parser does not take for a
    result: give it the name of the test its "#  RUN" line started."""
    name, out = None, []
    for line in lines:
        stripped = line.lstrip(' ')
        pad = line[:len(line) - len(stripped)]
        m = RUN.match(stripped)
        if m:
            name = m.group(1)
        m = NAMELESS.match(stripped)
        if m and name:
            line = f'{pad}{m.group(1)} {name} # {m.group(2)}'
        out.append(line)
    return out


def unwrap(lines):
    """kselftest's runner (run_kselftest.sh) prints a TAP document with one
    test per program, each program's own output before its result line with
    "# " in front of every line: make each program's (K)TAP document a
    subtest of the runner's test, as KTAP nests them (the runner's other
    lines kept), so that the parser sees the program's own tests."""
    out, inner, name = [], None, None
    for line in lines:
        m = RUNNER_TEST.match(line)
        if m and inner is None:
            name, inner = f'selftests: {m.group(1)}: {m.group(2)}', []
            out.append(line)
            continue
        if inner is not None and RUNNER_RESULT.match(line):
            out += nest_program(name, inner)
            out.append(line)
            inner = None
            continue
        if inner is not None:
            inner.append(line)
        else:
            out.append(line)
    # A log cut short in a program (the guest died): its tests so far,
    # without the runner's result.
    if inner is not None:
        out += nest_program(name, inner)
    return out


def nest_program(name, inner):
    """The program's lines <inner> (with the runner's "# ") as subtest
    <name>: its last (K)TAP document, or the lines as they were if it has
    none."""
    docs = documents_of([line[2:] if line.startswith('# ') else line[1:] if line == '#' else line
                         for line in inner])
    if not docs:
        return inner
    return subtest(name, name_skips(docs[-1])[1:], 4)


def tap_lines(kunit_parser, path):
    """The (K)TAP lines of a log, as the tree's parser extracts them, a
    kselftest runner's output unwrapped (see unwrap)."""
    try:
        with open(path, encoding='utf-8', errors='replace') as f:
            stream = kunit_parser.extract_tap_lines(f.readlines())
            lines = []
            while stream:
                lines.append(stream.pop())
    except OSError as e:
        die(f'cannot read {path}: {e}')
    return unwrap(lines)


def cmd_extract(args):
    kunit_parser = parser(args.kunit_dir)
    lines = tap_lines(kunit_parser, args.log)
    # A kernel log can hold several documents (the built-in suites at boot,
    # maybe none, then one per module loaded): keep the last one with tests.
    docs = documents_of(lines)
    if not docs:
        print(f'ktap: {args.log}: no KTAP/TAP output with tests', file=sys.stderr)
        return 1
    doc = name_skips(docs[-1])
    write(['KTAP version 1'] + doc[1:], args.o)
    return 0


def cmd_check(args):
    rows = []
    try:
        with open(args.status, encoding='utf-8') as f:
            for line in f:
                fields = line.rstrip('\n').split('\t')
                if len(fields) != 4 or fields[1] not in ('PASS', 'FAIL', 'SKIP'):
                    die(f'{args.status}: bad line {line!r}')
                rows.append(fields)
    except OSError as e:
        die(f'cannot read {args.status}: {e}')
    lines = ['KTAP version 1', f'1..{len(rows)}']
    for k, (step, status, secs, summary) in enumerate(rows, 1):
        docs = sorted(glob.glob(os.path.join(args.results, step, '*.ktap')))
        if docs:
            lines += nested(step, docs, 4)
        if summary:
            lines.append(f'# {step}: {summary}')
        if status == 'PASS':
            lines.append(f'ok {k} {step} # {secs} s')
        elif status == 'FAIL':
            lines.append(f'not ok {k} {step} # {secs} s')
        else:
            lines.append(f'not ok {k} {step} # SKIP {summary or "not run"}')
    write(lines, args.o)
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest='cmd', required=True)
    p = sub.add_parser('extract')
    p.add_argument('--kunit-dir', required=True)
    p.add_argument('log')
    p.add_argument('-o')
    p.set_defaults(func=cmd_extract)
    p = sub.add_parser('results')
    p.add_argument('--kunit-dir', required=True)
    p.add_argument('log')
    p.set_defaults(func=cmd_results)
    p = sub.add_parser('check')
    p.add_argument('results')
    p.add_argument('status')
    p.add_argument('-o')
    p.set_defaults(func=cmd_check)
    args = ap.parse_args()
    return args.func(args)


if __name__ == '__main__':
    sys.exit(main())
