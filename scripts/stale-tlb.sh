#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The TLB-guarantee check (selftests/stale_tlb.c, installed as a kselftest
# and run by kselftest's runner) on a kernel under virtme-ng: once munmap(), mmap(MAP_FIXED) or madvise(MADV_DONTNEED) has
# returned, the old page gets no more stores; and the control (no_zap)
# sees the stores of a page that stays mapped.
#
#   stale-tlb.sh <builddir or kernel image> <harness dir> <workdir> [<result>]
#
# <harness dir> holds kselftest_harness.h (tools/testing/selftests of the
# kernel's tree).  Environment: STALE_SECONDS (per variant, default 5),
# STALE_RUNS (boots, default 1), VNG_CPUS (default 4; at least 2).  Passes
# only if every variant passed in every run and the guest used VNG_CPUS
# CPUs.

set -euo pipefail
PROG=stale-tlb
here=$(dirname "$(realpath "$0")")
# shellcheck source=lib.sh
. "$here/lib.sh"

[[ $# -ge 3 && $# -le 4 ]] || die "usage: $0 <kernel> <harness dir> <workdir> [<result>]"
kernel=$1 harness=$2 work=$3 result=${4:-}
STALE_SECONDS=${STALE_SECONDS:-5}
STALE_RUNS=${STALE_RUNS:-1}
cpus_wanted=${VNG_CPUS:-4}
[[ $STALE_SECONDS =~ ^[1-9][0-9]*$ && $STALE_RUNS =~ ^[1-9][0-9]*$ ]] ||
	die "STALE_SECONDS and STALE_RUNS must be positive integers"
((cpus_wanted >= 2)) || die "VNG_CPUS must be at least 2 (the writer and the checker)"
[[ -e $kernel ]] || die "$kernel not found"
[[ -f $harness/kselftest_harness.h ]] || die "no kselftest_harness.h in $harness"
need gcc gcc
[[ -z $result ]] || rm -f "$result"

mkdir -p "$work"
work=$(realpath "$work")
# The kselftest install: run_kselftest.sh runs stale_tlb in the guest,
# with a timeout for five variants and the set-up.
ksft_timeout=$((STALE_SECONDS * 5 + 60))
install_kselftests "$harness" "$work" "$ksft_timeout"
# Each run's output, console and TAP: next to the result file.
art=$work
[[ -z $result ]] || art=$(dirname "$result")
mkdir -p "$art"

variants="no_zap madv_dontneed munmap_mmap remap_fixed truncate"
rm -f "$work/summary"
# The figures as data, next to the result (or in the work directory): run,
# variant, rounds, writes, faults, rounds whose old page changed after the
# call, verdict.
tsv=$art/rounds.tsv
printf 'run\tvariant\trounds\twrites\tfaults\tchanged_after\tverdict\n' >"$tsv"
for ((i = 1; i <= STALE_RUNS; i++)); do
	out=$work/run-$i.log
	test_out=$work/run-$i.out
	log "run $i/$STALE_RUNS: booting $(basename "$kernel"), $cpus_wanted vCPUs, $STALE_SECONDS s per variant"
	vrc=0
	VNG_CONSOLE=$art/console-$i.log VNG_TIMEOUT=$((ksft_timeout + 240)) "$here/vng-run.sh" "$kernel" \
		"echo stale-tlb: kernel \$(uname -r), \$(nproc) CPUs; KSELFTEST_STALE_TLB_ARGS='-s $STALE_SECONDS' $work/kselftest/run_kselftest.sh -t delayed-rmap:stale_tlb" \
		>"$out" 2>&1 || vrc=$?
	rc=$(ksft_result "$out" stale_tlb "$test_out")
	[[ $art == "$work" ]] || cp "$out" "$art/run-$i.log"
	save_ktap "$harness/../kunit" "$out" "$art/run-$i.ktap"
	die_if_skipped "$rc" "run $i: stale_tlb" "$out"
	cpus=$(sed -n 's/^stale-tlb: kernel [^,]*, \([0-9]*\) CPUs$/\1/p' "$out")
	[[ -n $cpus ]] || {
		tail -n 30 "$out" | sed 's/^/    /'
		die "run $i: the guest did not start the test (vng exit status $vrc, log: $out)"
	}
	[[ $cpus == "$cpus_wanted" ]] ||
		die "run $i: the guest ran on $cpus CPUs, not VNG_CPUS=$cpus_wanted (log: $out)"
	# Each variant's result as the KUnit parser reads the TAP.
	results=$(python3 "$here/ktap.py" results --kunit-dir "$harness/../kunit" "$out" 2>/dev/null || true)
	for v in $variants; do
		line=$(grep -E "^# .*check:$v: [0-9]+ rounds" "$test_out" | sed 's/^# [^ ]*check:/    /' || true)
		verdict=FAIL
		[[ $(awk -F'\t' -v n="stale_tlb.$v.check" '$1 == n { print $2 }' <<<"$results") != SUCCESS ]] || verdict=ok
		sed -nE "s/^# .*check:$v: ([0-9]+) rounds in [0-9.]+ s, ([0-9]+) writes, ([0-9]+) faults;.* old page changed after the call in ([0-9]+).*/\1\t\2\t\3\t\4/p" "$test_out" |
			head -n1 | sed "s/^/$i\t$v\t/; s/\$/\t$verdict/" >>"$tsv"
		if [[ $verdict == ok ]]; then
			echo "run $i: $v: ok${line:+ -${line#*"$v":}}" | tee -a "$work/summary"
		else
			why=$(grep -m1 -E "STALE WRITE|CONTROL FAILED|Expected|round [0-9]+:" "$test_out" || echo "no result")
			echo "run $i: $v: FAIL (${why#\# })" | tee -a "$work/summary"
		fi
	done
	((rc == 0 || rc == 1)) ||
		die "run $i: the test did not run to the end (kselftest result: $(ksft_status_text "$rc"), vng exit status $vrc, log: $out)"
done

nfail=$(grep -c ': FAIL' "$work/summary" || true)
total=$(grep -c . "$work/summary")
if ((nfail)); then
	summary="stale-tlb: FAIL: $nfail of $total variant runs failed (log: $work)"
	echo "$summary"
	[[ -z $result ]] || echo "$summary" >"$result"
	exit 1
fi
# Rounds of the variants that unmap (all but the control).
rounds=$(grep -v ': no_zap: ' "$work/summary" | sed -n 's/.*: ok - \([0-9]*\) rounds.*/\1/p' |
	awk '{ s += $1 } END { print s + 0 }')
summary="stale-tlb: $total variant runs passed ($STALE_RUNS x $STALE_SECONDS s, $cpus_wanted CPUs): no store reached a page after its unmap returned, in $rounds rounds; the control saw the stores of a mapped page"
echo "$summary"
[[ -z $result ]] || echo "$summary" >"$result"
