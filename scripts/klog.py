#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""The kernel log judge: any report of the kernel's debugging checks fails.

    klog.py judge <log> [<log>...]
    klog.py compare <log> <reference log>

Reads guest consoles or kernel logs (printk timestamps and console prefixes
allowed) and looks for the reports of the kernel's own checks: BUG: (which
KASAN, KFENCE, the sleeping-in-atomic check, the soft lockup detector, bad
page state/map/rss-counter and others print), WARNING: (WARN_ON, VM_WARN_ON,
lockdep), Oops, kernel BUG at (VM_BUG_ON), general protection fault, list
corruption, lockdep's reports, hung tasks, RCU stalls, panics.  Each report
is quoted (its first line and what follows up to the end of its trace, at
most QUOTE lines).  Exit status 0: no report ("klog: clean: ..."); 1: at
least one report; 2: a log cannot be read.

compare: the reports of <log> against those of <reference log>, a run of
the same tests on the kernel without the change under test.  A report of
<log> whose signature (its first line without the time stamp, CPU, PID,
process name, addresses and offsets, a lockup's duration: "WARNING: at
include/linux/fs.h:509 hugetlb_split", "BUG: KASAN: use-after-free in
zap_pte_range", "INFO: task khugepaged blocked for more than 120 seconds.",
"watchdog: BUG: soft lockup - CPU# stuck for Ns! [khugepaged]") is also in
the reference is there without the change: listed as such, quoted; any
other report is new and fails (exit status 1).  Exit status 0 when every
report of <log> is in the reference too; the last line then names each
signature with its count ("<signature> xN; ...").
"""

import re
import sys
from collections import Counter

QUOTE = 40

# (name, pattern) in the order they are tried on a line; the first match
# names the report.
REPORTS = [
    ('KASAN', r'BUG: KASAN: '),
    ('KFENCE', r'BUG: KFENCE: '),
    ('sleeping in atomic context', r'BUG: sleeping function called from invalid context'),
    ('scheduling while atomic', r'BUG: scheduling while atomic'),
    ('soft lockup', r'BUG: soft lockup|watchdog: BUG: soft lockup'),
    ('hard lockup', r'Watchdog detected hard LOCKUP'),
    ('bad page state', r'BUG: Bad page state'),
    ('bad page map', r'BUG: Bad page map'),
    ('bad rss-counter', r'BUG: Bad rss-counter state'),
    ('list corruption', r'list_(add|del) corruption|list corruption'),
    ('lockdep', r'possible circular locking dependency detected|possible recursive locking detected'
     r'|inconsistent lock state|suspicious RCU usage|lock held when returning to user space'
     r'|possible irq lock inversion dependency|DEBUG_LOCKS_WARN_ON|bad unlock balance detected'
     r'|held lock freed'),
    ('hung task', r'INFO: task \S+ blocked for more than \d+ seconds'),
    ('RCU stall', r'rcu: INFO: \S+ (self-)?detected stall|rcu_\w+ detected stalls'),
    ('kernel BUG', r'kernel BUG at '),
    ('Oops', r'\bOops\b'),
    ('general protection fault', r'general protection fault'),
    ('page fault in the kernel', r'BUG: unable to handle page fault|BUG: kernel NULL pointer dereference'),
    ('BUG', r'\bBUG: '),
    ('WARNING', r'\bWARNING: '),
    ('panic', r'Kernel panic - not syncing'),
]
COMPILED = [(name, re.compile(pat)) for name, pat in REPORTS]
END = re.compile(r'---\[ end (trace|Kernel panic)|^\s*(\[[ \d.]+\]\s*)?</TASK>')


def reports(lines):
    """(name, first line number, quoted lines) of every report in <lines>;
    lines inside a report already quoted do not start another one."""
    out, i = [], 0
    while i < len(lines):
        hit = next((name for name, rx in COMPILED if rx.search(lines[i])), None)
        if not hit:
            i += 1
            continue
        j = i + 1
        while j < len(lines) and j - i < QUOTE:
            j += 1
            if END.search(lines[j - 1]):
                break
        out.append((hit, i + 1, lines[i:j]))
        i = j
    return out


def signature(line):
    """A report's first line without what differs from run to run."""
    line = re.sub(r'^\s*(<\d+>)?\[\s*[\d.]+\]\s*', '', line)
    line = re.sub(r'\bCPU: \d+ PID: \d+ ', '', line)
    line = re.sub(r'\bin process \S+', 'in process', line)
    # "task khugepaged:3558 blocked", "[khugepaged:3558]": the command kept,
    # not its PID; "CPU#2 stuck for 22s": neither the CPU nor the time.
    line = re.sub(r'\b(task \S+):\d+\b', r'\1', line)
    line = re.sub(r'\[(\S+):\d+\]', r'[\1]', line)
    line = re.sub(r'\bCPU#\d+', 'CPU#', line)
    line = re.sub(r'\bstuck for \d+s\b', 'stuck for Ns', line)
    line = re.sub(r'\b(pid|Pid|PID):\s*\d+', r'\1:', line)
    line = re.sub(r'\+0x[0-9a-f]+/0x[0-9a-f]+', '', line)
    line = re.sub(r'\b(0x)?[0-9a-f]{8,}\b', '', line)
    line = re.sub(r'\b(pfn|pte|pmd|pud|addr):\s*\S+', r'\1:', line)
    return ' '.join(line.split())


def read(path):
    try:
        with open(path, encoding='utf-8', errors='replace') as f:
            return [line.rstrip('\n') for line in f]
    except OSError as e:
        print(f'klog: error: cannot read {path}: {e}', file=sys.stderr)
        return None


def quote(head, quoted):
    print(head)
    for line in quoted:
        print(f'    {line}')


def compare(path, ref):
    lines, ref_lines = read(path), read(ref)
    if lines is None or ref_lines is None:
        return 2
    known = Counter(signature(quoted[0]) for _, _, quoted in reports(ref_lines))
    new, old = 0, Counter()
    for name, lineno, quoted in reports(lines):
        sig = signature(quoted[0])
        if sig in known:
            old[sig] += 1
            print(f'klog: {path}:{lineno}: {name}, also without the change ({known[sig]} in {ref}): {sig}')
            continue
        new += 1
        quote(f'klog: {path}:{lineno}: {name}, NEW (not in {ref}):', quoted)
    nold = sum(old.values())
    if new:
        print(f'klog: FAIL: {new} kernel report(s) in {path} that {ref} does not have ({nold} it has too)')
        return 1
    if nold:
        groups = '; '.join(f'{sig} x{n}' for sig, n in sorted(old.items()))
        print(f'klog: no new report: {nold} report(s) in {path}, each also in {ref}: {groups}')
    else:
        print(f'klog: clean: {path}, {len(lines)} lines, no report')
    return 0


def judge(paths):
    total, nlines = 0, 0
    for path in paths:
        lines = read(path)
        if lines is None:
            return 2
        nlines += len(lines)
        for name, lineno, quoted in reports(lines):
            total += 1
            quote(f'klog: {path}:{lineno}: {name}:', quoted)
    if total:
        print(f'klog: FAIL: {total} kernel report(s) in {len(paths)} log(s)')
        return 1
    print(f'klog: clean: {len(paths)} log(s), {nlines} lines, no BUG, WARNING, KASAN, KFENCE, lockdep, '
          'bad page, list corruption, lockup, hung task, RCU stall or Oops report')
    return 0


def main():
    if len(sys.argv) == 4 and sys.argv[1] == 'compare':
        return compare(sys.argv[2], sys.argv[3])
    if len(sys.argv) < 3 or sys.argv[1] != 'judge':
        print('usage: ' + '\n       '.join(l.strip() for l in __doc__.strip().splitlines()[2:4]), file=sys.stderr)
        return 2
    return judge(sys.argv[2:])


if __name__ == '__main__':
    sys.exit(main())
