#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# One lost-write run with the kprobe tracer (selftests/tracer/lw_trace.c)
# loaded: what happened to page 0 of the test file (writeback, rmap,
# eviction, the new page) and the test's TLB flushes, in order, up to the
# end of the run.  For explaining a lost write, not for judging one: no
# verdict beyond the selftest's own.
#
#   lost-write-trace.sh <kernel> <headers dir> <harness dir> <workdir>
#
# <kernel> is a build directory or an image with its modules next to it
# (see vng-run.sh); <headers dir> is what the tracer is built against.
# Environment: TRACE_SECONDS (default 30), LW_ARGS (lost_write options,
# default "-o madv_dontneed_paced"), TRACE_DUMP (events kept, default 1500),
# VNG_CPUS (default 4), TRACE_AMPLIFY (1: load the window amplifier too,
# selftests/amplifier, with LW_DELAY_US and LW_FAULT_DELAY_US, default 2000
# each; its kprobes and the tracer's share flush_tlb_mm_range(); default 0).  Writes <workdir>/trace.log (the events) and
# <workdir>/run.log (the selftest), and prints the selftest's verdict, its
# task ids, the last events of page 0 (flush events are counted, not
# shown) and two counts (see the end of this script).

set -euo pipefail
PROG=lost-write-trace
here=$(dirname "$(realpath "$0")")
repo=$(realpath "$here/..")
# shellcheck source=lib.sh
. "$here/lib.sh"

[[ $# -eq 4 ]] || die "usage: $0 <kernel> <headers dir> <harness dir> <workdir>"
kernel=$1 headers=$2 harness=$3 work=$4
TRACE_SECONDS=${TRACE_SECONDS:-30}
TRACE_DUMP=${TRACE_DUMP:-1500}
LW_ARGS=${LW_ARGS:--o madv_dontneed_paced}
TRACE_AMPLIFY=${TRACE_AMPLIFY:-0}
[[ $TRACE_SECONDS =~ ^[1-9][0-9]*$ && $TRACE_DUMP =~ ^[1-9][0-9]*$ ]] ||
	die "TRACE_SECONDS and TRACE_DUMP must be positive integers"
[[ $TRACE_AMPLIFY == [01] ]] || die "TRACE_AMPLIFY must be 0 or 1 (got '$TRACE_AMPLIFY')"
LW_DELAY_US=${LW_DELAY_US:-2000} LW_FAULT_DELAY_US=${LW_FAULT_DELAY_US:-2000}
[[ $LW_DELAY_US =~ ^[0-9]+$ && $LW_FAULT_DELAY_US =~ ^[0-9]+$ ]] ||
	die "LW_DELAY_US and LW_FAULT_DELAY_US must be numbers of microseconds"
[[ $LW_ARGS =~ ^[-a-z0-9_,\ ]*$ ]] || die "LW_ARGS may hold only options, variant names and numbers (got '$LW_ARGS')"
[[ -e $kernel ]] || die "$kernel not found"
[[ -f $headers/Makefile ]] || die "no kernel build in $headers"
[[ -f $harness/kselftest_harness.h ]] || die "no kselftest_harness.h in $harness"
need gcc gcc

mkdir -p "$work"
work=$(realpath "$work")
rm -f "$work/trace.log" "$work/run.log"
build_race_selftest lost_write "$harness" "$work"
build_test_module tracer "$headers" "$work"
amp_args=
if ((TRACE_AMPLIFY)); then
	build_test_module amplifier "$headers" "$work"
	amp_args="-a $work/amplifier/tlb_flush_delay.ko -u $LW_DELAY_US -f $LW_FAULT_DELAY_US"
fi

# In the guest: scripts/guest/lost-write-trace.sh.
rc=0
VNG_OPTS="${VNG_OPTS:-} --user root" VNG_RWDIRS="${VNG_RWDIRS:-} $work" \
	VNG_APPEND="${VNG_APPEND-oops=panic panic=-1} log_buf_len=16M" \
	VNG_TIMEOUT=$((TRACE_SECONDS * 3 + 240)) "$here/vng-run.sh" "$kernel" \
	"sh $here/guest/lost-write-trace.sh $work/tracer/lw_trace.ko $repo/selftests/run_lost_write.sh $work/lost_write $TRACE_SECONDS $TRACE_DUMP '$LW_ARGS' $work/trace.log '$amp_args'" \
	>"$work/run.log" 2>&1 || rc=$?
if ! grep -q '^lost-write-trace: selftest exit' "$work/run.log" || [[ ! -s $work/trace.log ]]; then
	tail -n 30 "$work/run.log" | sed 's/^/    /'
	die "the guest did not finish (vng exit status $rc; log: $work/run.log)"
fi
grep -E '^lost-write: |tasks: writer' "$work/run.log" | sed 's/^# [^ ]*race:/    /'
grep -m1 " events, the last " "$work/trace.log"
echo "flush events kept: $(grep -cE ' flush-(req|cpu) ' "$work/trace.log" || true); events of page 0:"
grep -E "^ *[0-9]+\.[0-9]+ cpu" "$work/trace.log" | grep -vE " flush-(req|cpu) " | tail -n 60
# Four counts over the events kept.  A flush-nopmd is a zap whose PTE
# table was detached (PMD clear) before the TLB flush of its PTEs.  An
# unlock with arg 1 is reclaim (MADV_PAGEOUT) unlocking page 0 while the
# flush of a possibly writable entry is still pending (before its
# batch-flush).  A mkclean that has a rmap-del of the
# same page inside it ran into a zap in progress and waited for its PTE
# lock (the delayed-rmap ordering at work).  An eviction by the flusher
# (POSIX_FADV_DONTNEED) whose word differs from the page's last wb-write
# dropped a store made after the page was written back: a lost write.
# (The test's own unlink at the end evicts too, whatever the page holds.)
flusher=$(sed -n 's/.*tasks: writer [0-9]*, zapper [0-9]*, flusher \([0-9]*\)$/\1/p' "$work/run.log" | tail -n1)
[[ -n $flusher ]] || die "no task ids in $work/run.log"
awk -v flusher="lost_write/$flusher" '
	$4 == "mkclean>" { inside[$6] = 1; overlap[$6] = 0; calls++ }
	$4 == "rmap-del" && inside[$6] { overlap[$6] = 1 }
	$4 == "mkclean<" { inside[$6] = 0; if (overlap[$6]) waited++; if ($10 > 0) cleaned++ }
	$4 == "add" { haswb[$6] = 0 }
	$4 == "wb-write" { written[$6] = $8; haswb[$6] = 1 }
	$4 == "evict" && $3 == flusher && haswb[$6] { evicts++; if ($8 != written[$6]) { newer++; ex = ex sprintf("\n    %s: page %s evicted holding %s, written back as %s", $1, $6, $8, written[$6]) } }
	$4 == "flush-nopmd" { nopmd++ }
	$4 == "unlock" { unlocks++; if ($10 == 1) pending++ }
	$4 == "batch-flush" { batch++ }
	END {
		printf "TLB flushes of PTEs whose PTE table was already detached (flush-nopmd): %d\n", nopmd
		printf "reclaim: batched flushes: %d; unlocks of page 0 with a flush pending: %d, of a writable entry: %d\n", batch, unlocks, pending
		printf "mkclean calls: %d, cleaning a mapping: %d, with a zap of the page finishing inside: %d\n", calls, cleaned, waited
		printf "evictions by the flusher after a writeback: %d, holding a store newer than the writeback: %d%s\n", evicts, newer, ex
	}' "$work/trace.log"
log "trace: $work/trace.log"
