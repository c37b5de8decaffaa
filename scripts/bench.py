#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""The benchmark's judge: zap_bench figures side by side, and the criteria.

    bench.py [--tsv F] [--ratios F] [--table F] [--result F]
             [--pair FIXED=UNFIXED]... [--mutant MUTANT=UNFIXED]... LABEL=LOG...

Each LOG is a guest log of selftests/run_zap_bench.sh: a counting run (the
amplifier's counters) or a time-only run under QEMU -icount (one or more
rounds); a label may have one of each.  Figures are per repetition.

Criteria, for each --pair (the kernel with the fixes against the same kernel
without them), on the counting runs (ext4 and memfd alike):
  - TLB flushes (flush_tlb_mm_range() calls) equal on W1-W5, W7, W8, in
    the repetition with the fewest (flushes_min; the mean where a log has
    none): zap_pte_range() stops at need_resched() and flushes what it has,
    so a timer tick adds a flush to a repetition now and then, on any
    kernel; a cost of the fixes comes in every repetition;
  - W6 (anonymous then file memory in one munmap): at most one more per
    PTE table of the file mapping (the same floors);
  - W9 (MADV_PAGEOUT): flushes and batched (reclaim) flushes together at
    most one more per SWAP_CLUSTER_MAX (32) pages;
  - TLB shootdown IPIs: at most one per flush (flushes and batched flushes
    of the kernel with the fixes) + 2, in the repetition with the fewest
    (ipis_min; the mean where a log has no ipis_min): the TLB row of
    /proc/interrupts is system-wide, and another task's shootdowns (20 to
    45 at once seen in one repetition of 7.2's W4 and W3) land in some
    repetitions, the workload's own in every one;
  - tlb_flush_rmaps() calls with the fixes at least one per PTE table on
    W1, W2, W4, W5 (the delayed-rmap path ran and was counted);
and on the -icount runs, instructions per repetition with/without at most
1.03 on W1 and W3 and 1.01 on W8, unless the spread of the rounds is larger
than the effect (then reported as such, not judged).  A --mutant (the perf
mutant) must fail at least one flush criterion against its kernel.

--tsv: every figure, a row per workload, backing, kernel and run; --ratios:
per pair, workload and backing, each figure's ratio (with/without; flushes:
flush_tlb_mm_range() and batched flushes together; instructions: of the
whole repetition, and of its zap alone) and, for instructions, the larger
spread of the two kernels' rounds ((max-min)/mean), for scripts/plots.py;
--table: the side-by-side table printed.

Exit status 0: every criterion holds and every mutant fails; 1: not; 2: bad
input (a log without figures, a label without a log).
"""

import argparse
import math
import re
import sys
from collections import defaultdict

SWAP_CLUSTER_MAX = 32
# TLB IPIs are counted system-wide (/proc/interrupts): a few in the
# repetition with the fewest may still come from other tasks.
IPI_SLACK = 2
# Dirty shared file pages zapped: the fixed kernel removes their rmap in
# tlb_flush_rmaps(), at least once per PTE table.
DELAYED = ('W1', 'W2', 'W4', 'W5')
EQUAL = ('W1', 'W2', 'W3', 'W4', 'W5', 'W7', 'W8')
INSN_LIMITS = {'W1': 1.03, 'W3': 1.03, 'W8': 1.01}
FIELDS = ('reps', 'pages', 'tables', 'flushes', 'flushes_min', 'batched', 'rmaps', 'ipis',
          'ipis_min', 'faults', 'ns', 'zap_ns')
LINE = re.compile(r'^zapbench: (W\d) (\S+) (reps=.*) verified$')
SKIP = re.compile(r'^zapbench: (W\d) skipped: (.*)$')


def error(msg):
    print(f'bench: error: {msg}', file=sys.stderr)
    sys.exit(2)


def parse(path):
    """(kind, rows, skipped): rows are dicts; kind counts or icount."""
    try:
        with open(path, encoding='utf-8', errors='replace') as f:
            lines = f.read().splitlines()
    except OSError as e:
        error(f'cannot read {path}: {e}')
    kind = 'counts' if any('counters' in l and l.startswith('run_zap_bench:') for l in lines) \
        else 'icount'
    rows, skipped, rnd = [], {}, 1
    for line in lines:
        m = re.match(r'^zapbench-round: (\d+)$', line)
        if m:
            rnd = int(m.group(1))
            continue
        m = SKIP.match(line)
        if m:
            skipped[m.group(1)] = m.group(2)
            continue
        m = LINE.match(line)
        if not m:
            continue
        row = {'workload': m.group(1), 'backing': m.group(2), 'round': rnd}
        for kv in m.group(3).split():
            k, v = kv.split('=', 1)
            row[k] = None if v == 'none' else float(v)
        rows.append(row)
    if not rows:
        error(f'{path} has no zapbench figures (did the run finish?)')
    return kind, rows, skipped


def floor(row, fig):
    """fig in the repetition with the fewest, or its mean where the log has
    no minimum (None: not counted)."""
    return row.get(f'{fig}_min', row.get(fig))


def fewest(row, fig):
    """' [N]': the fewest of a repetition, where fewer than the mean."""
    m = row.get(f'{fig}_min')
    return '' if m is None or m >= row[fig] else f' [{m:g}]'


def spread_of(*runs):
    """The larger (max - min) / mean of the runs' rounds."""
    return max((max(x) - min(x)) / mean(x) if mean(x) else 0.0 for x in runs)


def mean(xs):
    return sum(xs) / len(xs)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--tsv')
    ap.add_argument('--ratios')
    ap.add_argument('--table')
    ap.add_argument('--result')
    ap.add_argument('--pair', action='append', default=[])
    ap.add_argument('--mutant', action='append', default=[])
    ap.add_argument('logs', nargs='+', metavar='LABEL=LOG')
    a = ap.parse_args()

    counts, icount, skipped, order = {}, {}, defaultdict(dict), []
    for spec in a.logs:
        label, sep, path = spec.partition('=')
        if not sep or not label:
            error(f'bad log {spec!r} (want LABEL=LOG)')
        kind, rows, skip = parse(path)
        (counts if kind == 'counts' else icount)[label] = rows
        skipped[label].update(skip)
        if label not in order:
            order.append(label)
    pairs = []
    for spec, mutant in [(p, False) for p in a.pair] + [(m, True) for m in a.mutant]:
        f, sep, u = spec.partition('=')
        if not sep or f not in counts or u not in counts:
            error(f'--{"mutant" if mutant else "pair"} {spec}: both labels need a counting run')
        pairs.append((f, u, mutant))

    if a.tsv:
        with open(a.tsv, 'w', encoding='utf-8') as t:
            t.write('\t'.join(('kernel', 'run', 'round', 'workload', 'backing') + FIELDS) + '\n')
            for kind, runs in (('counts', counts), ('icount', icount)):
                for label, rows in runs.items():
                    for r in rows:
                        vals = ['' if r.get(k) is None else f'{r[k]:g}' for k in FIELDS]
                        t.write('\t'.join([label, kind, str(r['round']), r['workload'],
                                           r['backing']] + vals) + '\n')

    # Per label: (workload, backing) -> counting row; icount -> list of ns.
    cnt = {l: {(r['workload'], r['backing']): r for r in rows} for l, rows in counts.items()}
    # ins: the whole repetition (map, faults, zap); zins: the zap alone.
    ins, zins = {}, {}
    for l, rows in icount.items():
        d, z = defaultdict(list), defaultdict(list)
        for r in rows:
            d[(r['workload'], r['backing'])].append(r['ns'])
            z[(r['workload'], r['backing'])].append(r['zap_ns'])
        ins[l], zins[l] = d, z
    keys = sorted({k for d in cnt.values() for k in d} | {k for d in ins.values() for k in d})

    table = []
    head = f'{"workload":<12}' + ''.join(f'{l:>40}' for l in order)
    table.append('flushes / batched / tlb_flush_rmaps / TLB IPIs / faults, per repetition '
                 '(mean; [fewest] where a repetition had fewer flushes or IPIs than the mean)')
    table.append(head)
    for k in keys:
        cells = []
        for l in order:
            r = cnt.get(l, {}).get(k)
            if r is None:
                cells.append(f'{"-":>40}')
                continue
            rm = '-' if r.get('rmaps') is None else f'{r["rmaps"]:g}'
            ip = '-' if r.get('ipis') is None else f'{r["ipis"]:g}' + fewest(r, 'ipis')
            fl = f'{r["flushes"]:g}' + fewest(r, 'flushes')
            cells.append(' ' + f'{fl} / {r["batched"]:g} / {rm} / {ip} / {r["faults"]:g}'.rjust(39))
        table.append(f'{k[0] + " " + k[1]:<12}' + ''.join(cells))
    if ins:
        table.append('')
        table.append('instructions per repetition (QEMU -icount shift=0): mean of the rounds, '
                     '(max-min)/mean')
        table.append(f'{"workload":<12}' + ''.join(f'{l:>40}' for l in order))
        for k in keys:
            cells = []
            for l in order:
                xs = ins.get(l, {}).get(k)
                if not xs:
                    cells.append(f'{"-":>40}')
                    continue
                m = mean(xs)
                cells.append(' ' + f'{m:,.0f} ({(max(xs) - min(xs)) / m:.2%}, {len(xs)} rounds)'
                             .rjust(39))
            table.append(f'{k[0] + " " + k[1]:<12}' + ''.join(cells))
        for l in order:
            for w, why in sorted(skipped[l].items()):
                table.append(f'{l}: {w} not measured: {why}')
    text = '\n'.join(table)
    print(text)
    if a.table:
        with open(a.table, 'w', encoding='utf-8') as t:
            t.write(text + '\n')

    if a.ratios:
        with open(a.ratios, 'w', encoding='utf-8') as t:
            t.write('fixed\tunfixed\tworkload\tbacking\tfigure\tratio\tspread\n')
            for f, u, _ in pairs:
                for k in keys:
                    rf, ru = cnt[f].get(k), cnt[u].get(k)
                    for fig in ('flushes', 'ipis', 'faults'):
                        if rf and ru and rf.get(fig) is not None and ru.get(fig):
                            # flushes: flush_tlb_mm_range() and reclaim's
                            # batched flushes together.
                            vf, vu = rf[fig], ru[fig]
                            if fig == 'flushes':
                                vf, vu = vf + rf['batched'], vu + ru['batched']
                            t.write(f'{f}\t{u}\t{k[0]}\t{k[1]}\t{fig}\t{vf / vu:.4f}\t0\n')
                    for fig, d in (('instructions', ins), ('zap instructions', zins)):
                        xf, xu = d.get(f, {}).get(k), d.get(u, {}).get(k)
                        if xf and xu and mean(xu):
                            t.write(f'{f}\t{u}\t{k[0]}\t{k[1]}\t{fig}\t'
                                    f'{mean(xf) / mean(xu):.4f}\t{spread_of(xf, xu):.4f}\n')

    failures, notes, mutant_caught = [], [], {}
    for f, u, mutant in pairs:
        bad = []
        for k in keys:
            rf, ru = cnt[f].get(k), cnt[u].get(k)
            w, name = k[0], f'{k[0]} {k[1]}'
            if (rf is None) != (ru is None):
                failures.append(f'{f} vs {u}: {name}: counted on {f if rf else u} only '
                                f'({skipped[u if rf else f].get(w, "no figures in its log")})')
                continue
            if rf is None:
                continue
            ff, fu = floor(rf, 'flushes'), floor(ru, 'flushes')
            least = ', in the repetition with the fewest' \
                if 'flushes_min' in rf and 'flushes_min' in ru else ''
            if w in EQUAL and ff != fu:
                bad.append(f'{name}: {ff:g} flushes with, {fu:g} without{least} (must be equal)')
            if w == 'W6' and ff > fu + rf['tables']:
                bad.append(f'{name}: {ff:g} flushes with, {fu:g} without{least} '
                           f'(at most one more per file PTE table: {fu + rf["tables"]:g})')
            if w == 'W9':
                allowed = ru['flushes'] + ru['batched'] + math.ceil(rf['pages'] / SWAP_CLUSTER_MAX)
                if rf['flushes'] + rf['batched'] > allowed:
                    bad.append(f'{name}: {rf["flushes"]:g}+{rf["batched"]:g} flushes with, '
                               f'{ru["flushes"]:g}+{ru["batched"]:g} without (at most {allowed:g})')
            ipis = floor(rf, 'ipis')
            if ipis is not None and ipis > rf['flushes'] + rf['batched'] + IPI_SLACK:
                least = ', in the repetition with the fewest' if 'ipis_min' in rf else ''
                bad.append(f'{name}: {ipis:g} TLB IPIs with{least}, for {rf["flushes"]:g}+'
                           f'{rf["batched"]:g} flushes (at most one per flush + {IPI_SLACK})')
            if w in DELAYED and not mutant and (rf.get('rmaps') or 0) < rf['tables']:
                rm = '-' if rf.get('rmaps') is None else f'{rf["rmaps"]:g}'
                bad.append(f'{name}: {rm} tlb_flush_rmaps() calls with the fixes, '
                           f'fewer than the {rf["tables"]:g} PTE tables: the delayed-rmap path '
                           'was not seen (or not counted)')
        if mutant:
            mutant_caught[f] = bad
        else:
            failures += [f'{f} vs {u}: {b}' for b in bad]
        for w, limit in INSN_LIMITS.items():
            for k in keys:
                if k[0] != w or not ins.get(f, {}).get(k) or not ins.get(u, {}).get(k):
                    continue
                xf, xu = ins[f][k], ins[u][k]
                ratio = mean(xf) / mean(xu)
                spread = spread_of(xf, xu)
                name = f'{k[0]} {k[1]}'
                zf, zu = zins[f][k], zins[u][k]
                zap = ''
                if mean(zu):
                    zap = (f'; the zap alone x{mean(zf) / mean(zu):.4f}, '
                           f'spread {spread_of(zf, zu):.2%}')
                if mutant:
                    notes.append(f'{f} (mutant) vs {u}: {name}: instructions x{ratio:.4f} '
                                 f'(spread {spread:.2%}{zap}; not judged)')
                elif ratio <= limit:
                    notes.append(f'{f} vs {u}: {name}: instructions x{ratio:.4f} (limit {limit}, '
                                 f'spread {spread:.2%}{zap})')
                elif spread >= ratio - 1:
                    notes.append(f'{f} vs {u}: {name}: instructions x{ratio:.4f} over the limit '
                                 f'{limit}, but the spread of the rounds ({spread:.2%}) is larger '
                                 'than the effect: not judged')
                else:
                    failures.append(f'{f} vs {u}: {name}: instructions x{ratio:.4f} (limit '
                                    f'{limit}, spread {spread:.2%})')
    for f, bad in mutant_caught.items():
        if bad:
            notes.append(f'{f} (mutant) fails the flush criteria as required: {bad[0]}'
                         + (f' (and {len(bad) - 1} more)' if len(bad) > 1 else ''))
        else:
            failures.append(f'{f} (mutant) passes every flush criterion: the benchmark cannot '
                            'see the regression')

    for n in notes:
        print(f'bench: {n}')
    for x in failures:
        print(f'bench: FAIL: {x}')
    npairs = sum(1 for p in pairs if not p[2])
    if failures:
        verdict = f'bench: FAIL: {len(failures)} criteria not met (above)'
    else:
        verdict = (f'bench: {npairs} kernel pair(s) within the criteria on {len(keys)} '
                   f'workload runs' + (f'; {len(mutant_caught)} mutant(s) caught'
                                       if mutant_caught else ''))
    print(verdict)
    if a.result:
        with open(a.result, 'w', encoding='utf-8') as t:
            # The verdict first: make check's table shows the first line.
            t.write('\n'.join([verdict] + [f'bench: {n}' for n in notes]
                              + [f'bench: FAIL: {x}' for x in failures]) + '\n')
    return 1 if failures else 0


if __name__ == '__main__':
    sys.exit(main())
