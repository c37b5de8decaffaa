#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The soak: boot a kernel (a debug kernel: make kernel-6.1-debug,
# kernel-7.2-debug) and run, while a loop forces writeback and eviction,
# the lost-write selftest (every variant, ext4 and tmpfs, amplified and
# plain), fsx (mapped I/O with and without msync, truncate, punch hole,
# fadvise, invalidate; fixed seeds, several file sizes, ext4 and tmpfs) and
# stress-ng's mm stressors with --verify as an unprivileged user; then judge
# every workload's line and the guest kernel's console (scripts/klog.py).
#
#   soak.sh <kernel> <harness dir> <headers> <workdir> <result>
#
# <kernel>: a build directory or an image; <harness dir>: the tree's
# tools/testing/selftests (kselftest runner and harness); <headers>: what
# the amplifier module is built against.  Environment: SOAK_SECONDS (each
# stress-ng stressor, one after the other, default 20), SOAK_LW_SECONDS
# (each lost-write variant, default 2), SOAK_FSX_OPS (each fsx run,
# default 3000), SOAK_FSX_SIZES (default "262144 4194304"), SOAK_WORKLOADS
# (default "lost-write fsx stress-ng"), SOAK_FS (file systems of every
# workload, default "ext4 tmpfs"), SOAK_LW_MODES (lost-write, default
# "amplified plain"), SOAK_STRESSORS (default: all twelve of
# scripts/guest/soak.sh), SOAK_EXPECT:
#   pass      (default) every workload passes and the kernel log has no
#             report;
#   fail:fsx  the harness's negative control: SOAK_INJECT=fsx corrupts the
#             file under the first fsx run; that run must fail and the
#             step says how it was reported;
#   fail:klog a mutant kernel: the kernel log must have a report (quoted).
# Kept next to <result>: console.log, guest.log, soak.conf (what was
# expected), workloads.tsv (workload, verdict, what it did), klog.txt (the
# log judge's output); the guest's logs of each run in <workdir>/guest.
#
#   soak.sh judge <workdir> <result>
#
# judges again what a soak left in <workdir>/guest and next to <result>
# (the guest only runs the workloads; every verdict is made here).

set -euo pipefail
PROG=soak
here=$(dirname "$(realpath "$0")")
# shellcheck source=lib.sh
. "$here/lib.sh"

# The stress-ng stressors scripts/guest/soak.sh knows (its list).
ALL_STRESSORS=$(bash "$here/guest/soak.sh" stressors | xargs)
[[ -n $ALL_STRESSORS ]] || die "no stress-ng stressor list in $here/guest/soak.sh"

# judge_lost_write <log> <what>: one lost-write run: kselftest's runner
# passed it, and the program has a "no loss" line for every test of its
# plan.
judge_lost_write() {
	local log=$1 out=$1.out rc plan nvar nlost nerr
	rc=$(ksft_result "$log" run_lost_write.sh "$out")
	plan=$(sed -n 's/^1\.\.\([0-9]*\)$/\1/p' "$out" | head -n1)
	nvar=$(grep -c '^lost-write: [a-z_]*: ' "$out" || true)
	nlost=$(grep -c '^lost-write: [a-z_]*: LOST' "$out" || true)
	nerr=$(grep -c '^lost-write: [a-z_]*: ERROR' "$out" || true)
	if ((rc == 0 && nvar > 0 && nlost == 0 && nerr == 0)) && [[ $nvar == "$plan" ]]; then
		printf 'PASS\t0 lost writes in %s variants (%s)\n' "$nvar" "$2"
	else
		printf 'FAIL\tkselftest result: %s; %s lost, %s errors, %s of %s variants reported (%s)\n' \
			"$(ksft_status_text "$rc")" "$nlost" "$nerr" "$nvar" "${plan:-?}" "$2"
	fi
}

# judge_fsx <status> <secs> <what>: fsx exits 0 when every read matched.
judge_fsx() {
	if (($1 == 0)); then
		printf 'PASS\t%s s (%s)\n' "$2" "$3"
	else
		printf 'FAIL\texit status %s after %s s (%s)\n' "$1" "$2" "$3"
	fi
}

# judge_stress <log> <status> <stressor> <secs> <what>: stress-ng exited
# 0, the stressor did operations, no verify failure, nothing skipped.
judge_stress() {
	local ops fails skipped
	ops=$(awk -v s="$3" '/ metrc: / && $4 == s && $5 ~ /^[0-9]+$/ { print $5; exit }' "$1")
	fails=$(grep -cE ' fail: |FAILED' "$1" || true)
	skipped=$(grep -ciE 'skipp' "$1" || true)
	if (($2 == 0 && ${ops:-0} > 0 && fails == 0 && skipped == 0)); then
		printf 'PASS\t%s bogo ops in %s s (%s)\n' "$ops" "$4" "$5"
	else
		printf 'FAIL\texit status %s, %s bogo ops, %s failure and %s skip lines, %s s (%s)\n' \
			"$2" "${ops:-no metrics line:}" "$fails" "$skipped" "$4" "$5"
	fi
}

# first_report <klog.txt>: the kind and first line of the first report
# scripts/klog.py quoted, without its time stamp.
first_report() {
	awk '/^klog: .*:[0-9]+: / { sub(/^klog: .*:[0-9]+: /, ""); kind = $0; getline
		sub(/^ *\[ *[0-9.]+\] /, ""); print kind " " $0; exit }' "$1"
}

# judge <guest dir> <artifact dir> <result>: every run the guest recorded
# in <guest dir>/runs.tsv, the guest's log and the kernel's console, as
# <artifact dir>/soak.conf says they should be.
judge() {
	local gdir=$1 art=$2 result=$3 expect expected guest=$2/guest.log
	local workload status secs name what v nlines nfail klog_rc rounds summary first
	[[ -f $art/soak.conf && -f $guest ]] || die "no soak in $art (soak.conf, guest.log)"
	expect=$(sed -n 's/^expect=//p' "$art/soak.conf")
	expected=$(sed -n 's/^runs=//p' "$art/soak.conf")
	[[ -n $expect && $expected =~ ^[0-9]+$ ]] || die "$art/soak.conf is not one of this script's"
	klog_rc=$(klog_judge "$art/console.log" "$art/klog.txt")
	cat "$art/klog.txt" >&2
	if ! grep -q '^soak: done' "$guest"; then
		# A mutant may take the kernel down before the soak ends: its
		# report in the kernel log is what the control wants.
		[[ $expect == fail:klog ]] ||
			die "the guest did not finish the soak (log: $guest, console: $art/console.log)"
		((klog_rc == 1)) ||
			die "the guest did not finish the soak and the kernel log has no report (log: $guest, console: $art/console.log)"
		echo "soak control: the kernel log judge caught the mutant (the guest did not finish the soak): $(first_report "$art/klog.txt")" |
			tee "$result"
		return 0
	fi
	[[ -f $gdir/runs.tsv ]] || die "no $gdir/runs.tsv: the guest recorded no run"
	grep '^soak: set-up: ' "$guest" >&2 || true

	printf 'workload\tverdict\twhat\n' >"$art/workloads.tsv"
	while IFS=$'\t' read -r workload status secs name what; do
		[[ $workload == workload ]] && continue
		case $workload in
		lost-write\ *) v=$(judge_lost_write "$gdir/$name" "$secs s, $what") ;;
		fsx\ *) v=$(judge_fsx "$status" "$secs" "$what") ;;
		stress-ng\ *) v=$(judge_stress "$gdir/$name" "$status" "${workload##* }" "$secs" "$what") ;;
		*) die "$gdir/runs.tsv: unknown workload '$workload'" ;;
		esac
		printf '%s\t%s\n' "$workload" "$v" >>"$art/workloads.tsv"
		echo "soak: $workload: ${v/$'\t'/ }"
		if [[ $v == FAIL* ]]; then
			tail -n 15 "$gdir/$name" | sed 's/^/    /'
			echo "    (log: $gdir/$name)"
		fi
	done <"$gdir/runs.tsv"
	nlines=$(($(wc -l <"$art/workloads.tsv") - 1))
	nfail=$(grep -c $'\tFAIL\t' "$art/workloads.tsv" || true)

	rounds=$(sed -n 's/^soak: done (\([0-9]*\) pressure rounds)/\1/p' "$guest")
	what="$nlines workload runs, $((nlines - nfail)) passed, $rounds writeback/eviction rounds"

	case $expect in
	pass)
		((nlines == expected)) ||
			die "$nlines workload runs recorded, $expected expected: the guest skipped some (log: $guest)"
		((nfail == 0)) || {
			echo "soak: FAIL: $nfail of $nlines workload runs failed ($what)" | tee "$result"
			return 1
		}
		((klog_rc == 0)) || {
			echo "soak: FAIL: the kernel log has $(grep -c '^klog: .*:[0-9]*: ' "$art/klog.txt") report(s) (quoted above; $what)" | tee "$result"
			return 1
		}
		summary="soak: $what; kernel log clean"
		;;
	fail:fsx)
		first=$(awk -F'\t' '$1 ~ /^fsx / { print; exit }' "$art/workloads.tsv")
		[[ $first == *$'\tFAIL\t'* ]] ||
			die "the corrupted fsx run was not reported as failed: '${first:-no fsx line}' (the harness would miss a corruption)"
		summary="soak control: the fsx run whose file was corrupted failed as required: $(cut -f1,3 <<<"$first" | tr '\t' ' ')"
		;;
	fail:klog)
		((klog_rc == 1)) || die "the kernel log has no report: the mutant was not caught ($what)"
		summary="soak control: the kernel log judge caught the mutant: $(first_report "$art/klog.txt") ($what)"
		;;
	*) die "$art/soak.conf: unknown expect=$expect" ;;
	esac
	echo "$summary" | tee "$result"
}

if [[ ${1:-} == judge ]]; then
	[[ $# -eq 3 ]] || die "usage: $0 judge <workdir> <result>"
	need python3 python3
	judge "$(realpath "$2")/guest" "$(dirname "$(realpath "$3")")" "$3"
	exit
fi

[[ $# -eq 5 ]] || die "usage: $0 <kernel> <harness dir> <headers> <workdir> <result> | judge <workdir> <result>"
kernel=$1 harness=$2 headers=$3 work=$4 result=$5
SOAK_SECONDS=${SOAK_SECONDS:-20}
SOAK_LW_SECONDS=${SOAK_LW_SECONDS:-2}
SOAK_FSX_OPS=${SOAK_FSX_OPS:-3000}
SOAK_FSX_SIZES=${SOAK_FSX_SIZES:-262144 4194304}
SOAK_WORKLOADS=${SOAK_WORKLOADS:-lost-write fsx stress-ng}
SOAK_FS=${SOAK_FS:-ext4 tmpfs}
SOAK_LW_MODES=${SOAK_LW_MODES:-amplified plain}
SOAK_STRESSORS=${SOAK_STRESSORS:-$ALL_STRESSORS}
SOAK_EXPECT=${SOAK_EXPECT:-pass}
for v in SOAK_SECONDS SOAK_LW_SECONDS SOAK_FSX_OPS; do
	[[ ${!v} =~ ^[1-9][0-9]*$ ]] || die "$v must be a positive number (got '${!v}')"
done
[[ $SOAK_FSX_SIZES =~ ^[1-9][0-9]*( [1-9][0-9]*)*$ ]] ||
	die "SOAK_FSX_SIZES must be file sizes in bytes separated by blanks (got '$SOAK_FSX_SIZES')"
# one_of <variable> <allowed words>: its value is one or more of them.
one_of() {
	local w
	[[ -n ${!1// /} ]] || die "$1 is empty (one or more of: $2)"
	for w in ${!1}; do
		[[ " $2 " == *" $w "* ]] || die "$1: unknown '$w' (one or more of: $2)"
	done
}
one_of SOAK_WORKLOADS "lost-write fsx stress-ng"
one_of SOAK_FS "ext4 tmpfs"
one_of SOAK_LW_MODES "amplified plain"
one_of SOAK_STRESSORS "$ALL_STRESSORS"
inject=none
case $SOAK_EXPECT in
pass | fail:klog) ;;
fail:fsx)
	inject=fsx
	[[ " $SOAK_WORKLOADS " == *" fsx "* ]] || die "SOAK_EXPECT=fail:fsx needs fsx in SOAK_WORKLOADS"
	;;
*) die "SOAK_EXPECT must be pass, fail:fsx or fail:klog (got '$SOAK_EXPECT')" ;;
esac
[[ -e $kernel ]] || die "$kernel not found"
[[ -f $headers/Makefile ]] || die "no kernel build or headers in $headers"
need gcc gcc
need python3 python3
need stress-ng stress-ng
command -v fsx >/dev/null || [[ -x ${CARGO_HOME:-$HOME/.cargo}/bin/fsx ]] ||
	die "fsx not found: cargo install --locked fsx --version 0.3.2 (make deps)"
fsx=$(command -v fsx || echo "${CARGO_HOME:-$HOME/.cargo}/bin/fsx")

mkdir -p "$work"
work=$(realpath "$work")
art=$(dirname "$result")
mkdir -p "$art"
art=$(realpath "$art")
rm -f "$result" "$art/workloads.tsv" "$art/klog.txt" "$art/soak.conf" "$art/guest.log"

# The lost-write selftest as a kselftest install; the amplifier.
# (A debug kernel under TCG takes minutes for brd, mkfs and the module.)
install_kselftests "$harness" "$work" $((SOAK_LW_SECONDS * 6 + 600))
build_test_module amplifier "$headers" "$work"

# fsx's configurations: every operation it has that touches the page
# cache, mapped writes with msync (msync) and without (nomsync).
mkdir -p "$work/fsx"
for cfg in msync nomsync; do
	for size in $SOAK_FSX_SIZES; do
		cat >"$work/fsx/$cfg-$size.toml" <<-EOF
			flen = $size
			nomsyncafterwrite = $([[ $cfg == nomsync ]] && echo true || echo false)
			[opsize]
			max = 65536
			[weights]
			close_open = 1
			read = 10
			write = 10
			mapread = 10
			mapwrite = 10
			invalidate = 2
			truncate = 2
			fsync = 1
			fdatasync = 1
			posix_fallocate = 1
			punch_hole = 2
			posix_fadvise = 2
			copy_file_range = 1
		EOF
	done
done

nsizes=$(wc -w <<<"$SOAK_FSX_SIZES")
nfs=$(wc -w <<<"$SOAK_FS")
nmodes=$(wc -w <<<"$SOAK_LW_MODES")
nstressors=$(wc -w <<<"$SOAK_STRESSORS")
nlw=0 nfsx=0 nstress=0
[[ " $SOAK_WORKLOADS " != *" lost-write "* ]] || nlw=$((nfs * nmodes))
[[ " $SOAK_WORKLOADS " != *" fsx "* ]] || nfsx=$((nfs * 2 * nsizes))
[[ " $SOAK_WORKLOADS " != *" stress-ng "* ]] || nstress=$((nfs * nstressors))
expected=$((nlw + nfsx + nstress))
printf 'expect=%s\nruns=%s\nworkloads=%s\nfs=%s\nlw_modes=%s\nstressors=%s\nseconds=%s\nlw_seconds=%s\nfsx_ops=%s\nfsx_sizes=%s\nkernel=%s\n' \
	"$SOAK_EXPECT" "$expected" "$SOAK_WORKLOADS" "$SOAK_FS" "$SOAK_LW_MODES" "$SOAK_STRESSORS" "$SOAK_SECONDS" \
	"$SOAK_LW_SECONDS" "$SOAK_FSX_OPS" "$SOAK_FSX_SIZES" "$kernel" >"$art/soak.conf"
# A bound, not an estimate: TCG with KASAN is slow (a stressor's last
# operation can outlast its time by a minute).
timeout=$((nlw * (SOAK_LW_SECONDS * 6 + 600) + nfsx * (SOAK_FSX_OPS / 20 + 30) + nstress * (SOAK_SECONDS + 90) + 300))

log "booting $(basename "$kernel"): $expected runs on ${SOAK_FS// /, }: $nlw lost-write (${SOAK_LW_MODES// /, }, ${SOAK_LW_SECONDS}s per variant), $nfsx fsx ($SOAK_FSX_OPS ops), $nstress stress-ng (${SOAK_SECONDS}s each); writeback and eviction every 200 ms$([[ $inject == none ]] || echo "; the file of the first fsx run corrupted")"
rc=0
VNG_CONSOLE=$art/console.log VNG_OPTS="${VNG_OPTS:-} --user root" VNG_RWDIRS="${VNG_RWDIRS:-} $work" \
	VNG_TIMEOUT=$timeout "$here/vng-run.sh" "$kernel" \
	"PATH=\$PATH:$(dirname "$fsx") SOAK_SECONDS=$SOAK_SECONDS SOAK_LW_SECONDS=$SOAK_LW_SECONDS SOAK_FSX_OPS=$SOAK_FSX_OPS SOAK_FSX_SIZES='$SOAK_FSX_SIZES' SOAK_WORKLOADS='$SOAK_WORKLOADS' SOAK_FS='$SOAK_FS' SOAK_LW_MODES='$SOAK_LW_MODES' SOAK_STRESSORS='$SOAK_STRESSORS' SOAK_INJECT=$inject bash $here/guest/soak.sh $work/kselftest $work/amplifier/tlb_flush_delay.ko $work/fsx $work/guest" \
	>"$art/guest.log" 2>&1 || rc=$?
((rc == 0)) || log "vng exit status $rc"
judge "$work/guest" "$art" "$result"
