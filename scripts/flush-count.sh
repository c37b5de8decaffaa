#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# What the fixes cost in TLB flushes: selftests/zap_flush_count.c in one boot
# per kernel (selftests/run_flush_count.sh in the guest), for MADV_DONTNEED
# of a whole dirty PTE table and of one page less, and MADV_PAGEOUT of the
# whole table with the mm running on a second CPU.
#
#   flush-count.sh <result-file> <label>=<kernel>=<headers>...
#
# <kernel>: a build directory or a kernel image (see vng-run.sh); <headers>:
# what the amplifier (the counter) is built against.  Prints and writes the
# "flushcount:" lines per kernel, and writes them as TSV to <result> with
# .tsv for .txt.  No judgement: a measurement.

set -euo pipefail
PROG=flush-count
here=$(dirname "$(realpath "$0")")
repo=$(realpath "$here/..")
# shellcheck source=lib.sh
. "$here/lib.sh"

[[ $# -ge 2 ]] || die "usage: $0 <result-file> <label>=<kernel>=<headers>..."
result=$1
shift
labels=() kernels=() headers=()
for entry in "$@"; do
	[[ $entry =~ ^([^=]+)=([^=]+)=([^=]+)$ ]] || die "bad entry '$entry' (want <label>=<kernel>=<headers>)"
	labels+=("${BASH_REMATCH[1]}") kernels+=("${BASH_REMATCH[2]}") headers+=("${BASH_REMATCH[3]}")
	[[ -e ${kernels[-1]} ]] || die "${kernels[-1]} not found"
	[[ -f ${headers[-1]}/Makefile ]] || die "no kernel build or headers in ${headers[-1]}"
done
need gcc gcc

work=${CACHE_DIR:?}/build/selftests/flush-count
mkdir -p "$work"
gcc -O2 -Wall -Wextra -Wno-unused-parameter -Werror -o "$work/zap_flush_count" \
	"$repo/selftests/zap_flush_count.c" -lpthread
rm -f "$result"
# The same figures as data, next to the result: one row per measurement.
tsv=${result%.txt}.tsv
printf 'kernel\tzaps\tzap\tdirty_pages\ttable_pages\tflushes\tper_zap\tbatched_flushes\tbatched_per_zap\n' >"$tsv"
for i in "${!labels[@]}"; do
	label=${labels[i]}
	mkdir -p "$work/$label"
	build_test_module amplifier "${headers[i]}" "$work/$label"
	log "$label: booting $(basename "${kernels[i]}")"
	rc=0
	out=$(VNG_CONSOLE=$(dirname "$result")/console-$label.log VNG_OPTS="${VNG_OPTS:-} --user root" \
		VNG_TIMEOUT=${VNG_TIMEOUT:-300} "$here/vng-run.sh" "${kernels[i]}" \
		"$repo/selftests/run_flush_count.sh -b $work/zap_flush_count -a $work/$label/amplifier/tlb_flush_delay.ko" 2>&1) || rc=$?
	lines=$(grep '^flushcount: ' <<<"$out" || true)
	if ((rc != 0)) || [[ $(grep -c . <<<"$lines") != 3 ]]; then
		tail -n 20 <<<"$out" >&2
		die "$label: the measurement did not finish (guest exit status $rc)"
	fi
	printf '%s\n' "${lines//flushcount: /$label: }" | tee -a "$result"
	sed -nE 's/^flushcount: ([0-9]+) (.*) zaps of ([0-9]+) dirty pages \(of ([0-9]+)\): ([0-9]+) flush_tlb_mm_range calls, ([0-9.]+) per zap; ([0-9]+) batched \(reclaim\) flushes, ([0-9.]+) per zap$/\1\t\2\t\3\t\4\t\5\t\6\t\7\t\8/p' <<<"$lines" |
		sed "s/^/$label\t/" >>"$tsv"
done
