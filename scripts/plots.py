#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Pictures of the measurements (make plots; not part of any verdict).

    plots.py --out <dir> [--loss <tsv>]... [--timeline <tsv>]...
             [--flushes <kernel log>]... [--bench <ratios.tsv>]

time-to-loss.png  time to the first lost write per boot, per variant,
                  kernel and mode (log scale); a boot without a loss is
                  drawn as an open marker at the time it ran.  --loss: TSV
                  files with a header line naming at least the columns
                  variant, kernel, mode, result (lost or none) and seconds
                  (Documentation/data/time-to-loss.tsv; the runs.tsv that
                  scripts/lost-write.sh leaves, whose "set" column is added
                  to the kernel's name).
check-timeline.png  the steps of make check runs, one bar per run, each
                  step a segment as long as it took.  --timeline: TSV files
                  of lines "run, step, seconds" (with a header line), or a
                  run's results/steps.tsv (step, status, seconds, summary;
                  the run is named after the file's directory).
flushes.png       TLB flushes against the pages zapped, with the bound the
                  KUnit case checks, from the kernel logs of boots of the
                  6.1 kernel with the mmu_gather suite (its
                  zap_dirty_file_pages_batch_sizes case prints one line per
                  size: "N pages in T PTE tables: F TLB flushes (bound B)").
                  The kernel is named after the log's file name.

bench.png         what the fixes cost (make bench): per workload, the
                  ratio with/without the fixes of the TLB flushes, the TLB
                  IPIs, the instructions of a repetition and of its zap
                  alone (the error bar: the larger
                  spread of the two kernels' -icount rounds), one panel
                  per kernel pair, the perf mutant's among them.  --bench:
                  the ratios.tsv scripts/bench.py wrote.

Needs Debian's python3-matplotlib (make deps-plots).  Lines starting with
'#' in a TSV file are comments.  An input that yields nothing is an error:
a picture of nothing is not drawn.
"""

import argparse
import csv
import os
import re
import sys

try:
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt  # pylint: disable=wrong-import-position
except ImportError:
    print('plots: error: matplotlib not found: install Debian package python3-matplotlib '
          '(make deps-plots, as root) and run this with /usr/bin/python3', file=sys.stderr)
    sys.exit(2)


def die(msg):
    print(f'plots: error: {msg}', file=sys.stderr)
    sys.exit(1)


def read_tsv(path):
    try:
        with open(path, encoding='utf-8') as f:
            lines = [line for line in f if line.strip() and not line.startswith('#')]
    except OSError as e:
        die(f'cannot read {path}: {e}')
    return list(csv.DictReader(lines, delimiter='\t'))


# ------------------------------------------------------------ time to loss
def loss_rows(paths):
    rows = []
    for path in paths:
        for r in read_tsv(path):
            missing = {'variant', 'kernel', 'mode', 'result', 'seconds'} - set(r)
            if missing:
                die(f'{path}: no column(s) {sorted(missing)}')
            if r['result'] not in ('lost', 'none'):
                continue  # an error: the run tested nothing
            kernel = r['kernel']
            if r.get('set'):
                kernel = f"{r['set']} ({kernel})"
            try:
                secs = float(r['seconds'])
            except ValueError:
                die(f'{path}: bad seconds {r["seconds"]!r}')
            rows.append((r['variant'], kernel, r['mode'], r['result'] == 'lost', secs))
    return rows


def plot_loss(rows, out):
    groups = {}
    for variant, kernel, mode, lost, secs in rows:
        groups.setdefault((variant, kernel, mode), []).append((lost, secs))
    keys = sorted(groups, key=lambda k: (k[0], k[1], k[2]))
    fig, ax = plt.subplots(figsize=(9, 0.42 * len(keys) + 1.6))
    for y, key in enumerate(keys):
        runs = groups[key]
        lost = [s for hit, s in runs if hit]
        none = [s for hit, s in runs if not hit]
        ax.scatter(lost, [y] * len(lost), marker='o', color='tab:red', alpha=0.7, zorder=3,
                   label='lost a write')
        ax.scatter(none, [y] * len(none), marker='>', facecolors='none', edgecolors='tab:blue',
                   zorder=3, label='no loss within the run')
        ax.annotate(f'{len(lost)}/{len(runs)}', xy=(1.01, y), xycoords=('axes fraction', 'data'),
                    va='center', fontsize=8)
    ax.set_yticks(range(len(keys)))
    ax.set_yticklabels([f'{v}: {k}, {m}' for v, k, m in keys], fontsize=8)
    ax.set_xscale('log')
    ax.set_xlabel('seconds to the first lost write (log scale)')
    ax.grid(axis='x', which='both', alpha=0.3)
    ax.invert_yaxis()
    handles, labels = ax.get_legend_handles_labels()
    seen = {}
    for h, lab in zip(handles, labels):
        if lab and lab not in seen:
            seen[lab] = h
    ax.legend(seen.values(), seen.keys(), loc='upper center', bbox_to_anchor=(0.5, -0.1), ncol=2,
              fontsize=8)
    ax.set_title('lost_write: time to the first lost write per boot (ext4 on brd, 4 vCPUs, TCG)',
                 fontsize=10)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)


# ------------------------------------------------------------------ timeline
def timeline_runs(paths):
    runs = {}
    for path in paths:
        rows = read_tsv(path)
        if rows and 'run' in rows[0]:
            for r in rows:
                runs.setdefault(r['run'], []).append((r['step'], int(r['seconds'])))
            continue
        # A results/steps.tsv: no header, step status seconds summary.
        name = os.path.basename(os.path.dirname(os.path.abspath(path)))
        name = {'results': 'last make check here',
                'results.prev': 'the make check before it'}.get(name, name)
        with open(path, encoding='utf-8') as f:
            for line in f:
                fields = line.rstrip('\n').split('\t')
                if len(fields) != 4:
                    die(f'{path}: not a steps.tsv line: {line!r}')
                if fields[1] != 'SKIP':
                    runs.setdefault(name, []).append((fields[0], int(fields[2])))
    return runs


def plot_timeline(runs, out):
    names = list(runs)
    colours = plt.get_cmap('tab20')
    steps = []
    for name in names:
        for step, _ in runs[name]:
            if step not in steps:
                steps.append(step)
    fig, ax = plt.subplots(figsize=(11, 0.7 * len(names) + 2.2))
    for y, name in enumerate(names):
        t = 0
        for step, secs in runs[name]:
            minutes = secs / 60
            ax.barh(y, minutes, left=t, color=colours(steps.index(step) % 20), edgecolor='white',
                    linewidth=0.5)
            if minutes >= 2.5:
                ax.text(t + minutes / 2, y, step, ha='center', va='center', fontsize=6, rotation=90)
            t += minutes
        ax.annotate(f'{t:.0f} min', xy=(t, y), xytext=(4, 0), textcoords='offset points',
                    va='center', fontsize=8)
    ax.set_yticks(range(len(names)))
    ax.set_yticklabels(names, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel('minutes')
    ax.set_title('make check: time per step (segments in the order the steps ran)', fontsize=10)
    ax.grid(axis='x', alpha=0.3)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)


# ------------------------------------------------------------------- flushes
FLUSH_LINE = re.compile(r'(\d+) pages in (\d+) PTE tables: (\d+) TLB flushes \(bound (\d+)\)')


def flush_points(paths):
    series = {}
    for path in paths:
        name = os.path.basename(path)
        name = name[:-len('.log')] if name.endswith('.log') else name
        try:
            with open(path, encoding='utf-8', errors='replace') as f:
                for line in f:
                    m = FLUSH_LINE.search(line)
                    if m:
                        series.setdefault(name, []).append(tuple(int(g) for g in m.groups()))
        except OSError as e:
            die(f'cannot read {path}: {e}')
        if name not in series:
            die(f'{path}: no "N pages in T PTE tables: F TLB flushes (bound B)" line')
    return series


def plot_flushes(series, out):
    fig, ax = plt.subplots(figsize=(8, 5))
    markers = 'osd^v'
    bound_drawn = False
    for i, (name, points) in enumerate(sorted(series.items())):
        points.sort()
        pages = [p[0] for p in points]
        # Hollow and growing markers: series with the same counts stay visible.
        ax.plot(pages, [p[2] for p in points], marker=markers[i % len(markers)], linestyle='none',
                markerfacecolor='none', markersize=7 + 5 * i, markeredgewidth=1.5,
                label=f'{name}: TLB flushes')
        if not bound_drawn:
            ax.plot(pages, [p[3] for p in points], linestyle='--', color='grey',
                    label='bound: PTE tables + pages / delayed-rmap batch')
            bound_drawn = True
    ax.set_xscale('log')
    ax.set_yscale('log')
    ax.set_xlabel('dirty file pages zapped in one unmap (log scale)')
    ax.set_ylabel('TLB flushes (log scale)')
    ax.set_title('zap_dirty_file_pages_batch_sizes: flushes against pages', fontsize=10)
    ax.grid(which='both', alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)


# --------------------------------------------------------------------- bench
def bench_pairs(path):
    pairs = {}
    for r in read_tsv(path):
        try:
            key = (r['fixed'], r['unfixed'])
            pairs.setdefault(key, []).append((f'{r["workload"]} {r["backing"]}', r['figure'],
                                              float(r['ratio']), float(r['spread'])))
        except (KeyError, ValueError):
            die(f'{path}: not a ratios.tsv of scripts/bench.py (columns fixed, unfixed, '
                'workload, backing, figure, ratio, spread)')
    if not pairs:
        die(f'{path}: no ratio')
    return pairs


def plot_bench(pairs, out):
    figures = ('flushes', 'ipis', 'instructions', 'zap instructions')
    # pylint: disable=too-many-locals
    fig, axes = plt.subplots(len(pairs), 1, figsize=(11, 3.2 * len(pairs)), squeeze=False)
    for ax, ((f, u), rows) in zip(axes[:, 0], sorted(pairs.items())):
        names = sorted({r[0] for r in rows})
        width = 0.8 / len(figures)
        mid = (len(figures) - 1) / 2
        lo, hi = 0.9, 1.1
        for j, figure in enumerate(figures):
            xs, ys, errs = [], [], []
            for i, name in enumerate(names):
                for r in rows:
                    # A ratio of 0 (none with, some without: IPIs of
                    # other tasks) has no place on a log scale.
                    if r[0] == name and r[1] == figure and r[2] > 0:
                        xs.append(i + (j - mid) * width)
                        ys.append(r[2])
                        errs.append(r[3])
            if xs:
                ax.errorbar(xs, ys, yerr=errs, fmt='os^v'[j], capsize=3, linestyle='none',
                            label=figure)
                # On a log scale 1.07 and 1.00 look alike: the ratios
                # that are not within 2 % are written next to their mark.
                for x, y in zip(xs, ys):
                    if abs(y - 1) > 0.02:
                        ax.annotate(f'{y:.3g}', (x, y), textcoords='offset points',
                                    xytext=(0, 6), ha='center', fontsize=6)
                lo, hi = min(lo, *ys), max(hi, *ys)
        ax.axhline(1.0, color='grey', linestyle='--', linewidth=1)
        ax.set_xticks(range(len(names)))
        ax.set_xticklabels(names, rotation=45, ha='right', fontsize=8)
        ax.set_yscale('log')
        ax.set_ylim(lo / 1.1, hi * 1.1)
        ax.set_ylabel('with / without (log)')
        ax.set_title(f'{f} against {u}', fontsize=10)
        ax.grid(axis='y', which='both', alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--out', required=True)
    ap.add_argument('--loss', action='append', default=[])
    ap.add_argument('--timeline', action='append', default=[])
    ap.add_argument('--flushes', action='append', default=[])
    ap.add_argument('--bench')
    args = ap.parse_args()
    if not (args.loss or args.timeline or args.flushes or args.bench):
        die('nothing to draw: give --loss, --timeline, --flushes or --bench')
    os.makedirs(args.out, exist_ok=True)
    made = []
    if args.loss:
        rows = loss_rows(args.loss)
        if not rows:
            die('no lost-write runs in ' + ', '.join(args.loss))
        plot_loss(rows, os.path.join(args.out, 'time-to-loss.png'))
        made.append(f'time-to-loss.png ({len(rows)} boots)')
    if args.timeline:
        runs = timeline_runs(args.timeline)
        if not runs:
            die('no make check run in ' + ', '.join(args.timeline))
        plot_timeline(runs, os.path.join(args.out, 'check-timeline.png'))
        made.append(f'check-timeline.png ({len(runs)} runs)')
    if args.flushes:
        series = flush_points(args.flushes)
        plot_flushes(series, os.path.join(args.out, 'flushes.png'))
        made.append(f'flushes.png ({", ".join(sorted(series))})')
    if args.bench:
        pairs = bench_pairs(args.bench)
        plot_bench(pairs, os.path.join(args.out, 'bench.png'))
        made.append(f'bench.png ({len(pairs)} kernel pairs)')
    print(f'plots: {args.out}: ' + '; '.join(made))
    return 0


if __name__ == '__main__':
    sys.exit(main())
