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
# stress-ng run, default 20), SOAK_LW_SECONDS (each lost-write variant,
# default 2), SOAK_FSX_OPS (each fsx run, default 3000), SOAK_FSX_SIZES
# (default "262144 4194304"), SOAK_WORKLOADS (default "lost-write fsx
# stress-ng"), SOAK_EXPECT:
#   pass      (default) every workload passes and the kernel log has no
#             report;
#   fail:fsx  the harness's negative control: SOAK_INJECT=fsx corrupts the
#             file under the first fsx run; that run must fail and the
#             step says how it was reported;
#   fail:klog a mutant kernel: the kernel log must have a report (quoted).
# Kept next to <result>: console.log, guest.log, workloads.tsv (workload,
# verdict, what it did), klog.txt (the log judge's output).

set -euo pipefail
PROG=soak
here=$(dirname "$(realpath "$0")")
# shellcheck source=lib.sh
. "$here/lib.sh"

[[ $# -eq 5 ]] || die "usage: $0 <kernel> <harness dir> <headers> <workdir> <result>"
kernel=$1 harness=$2 headers=$3 work=$4 result=$5
SOAK_SECONDS=${SOAK_SECONDS:-20}
SOAK_LW_SECONDS=${SOAK_LW_SECONDS:-2}
SOAK_FSX_OPS=${SOAK_FSX_OPS:-3000}
SOAK_FSX_SIZES=${SOAK_FSX_SIZES:-262144 4194304}
SOAK_WORKLOADS=${SOAK_WORKLOADS:-lost-write fsx stress-ng}
SOAK_EXPECT=${SOAK_EXPECT:-pass}
for v in SOAK_SECONDS SOAK_LW_SECONDS SOAK_FSX_OPS; do
	[[ ${!v} =~ ^[1-9][0-9]*$ ]] || die "$v must be a positive number (got '${!v}')"
done
[[ $SOAK_FSX_SIZES =~ ^[1-9][0-9]*( [1-9][0-9]*)*$ ]] ||
	die "SOAK_FSX_SIZES must be file sizes in bytes separated by blanks (got '$SOAK_FSX_SIZES')"
for w in $SOAK_WORKLOADS; do
	[[ $w == lost-write || $w == fsx || $w == stress-ng ]] ||
		die "SOAK_WORKLOADS: unknown workload '$w' (lost-write, fsx, stress-ng)"
done
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
rm -f "$result" "$art/workloads.tsv" "$art/klog.txt"

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
expected=0
[[ " $SOAK_WORKLOADS " != *" lost-write "* ]] || expected=$((expected + 4))
[[ " $SOAK_WORKLOADS " != *" fsx "* ]] || expected=$((expected + 4 * nsizes))
[[ " $SOAK_WORKLOADS " != *" stress-ng "* ]] || expected=$((expected + 2))
# A bound, not an estimate: TCG with KASAN is slow.
timeout=$((4 * (SOAK_LW_SECONDS * 6 + 600) + 4 * nsizes * (SOAK_FSX_OPS / 20 + 30) + 2 * (SOAK_SECONDS + 60) + 300))

log "booting $(basename "$kernel"): ${SOAK_WORKLOADS// /, } (lost-write ${SOAK_LW_SECONDS}s per variant, fsx $SOAK_FSX_OPS ops x $nsizes sizes, stress-ng ${SOAK_SECONDS}s), writeback and eviction every 200 ms${inject/none/}"
guest=$art/guest.log
rc=0
VNG_CONSOLE=$art/console.log VNG_OPTS="${VNG_OPTS:-} --user root" VNG_RWDIRS="${VNG_RWDIRS:-} $work" \
	VNG_TIMEOUT=$timeout "$here/vng-run.sh" "$kernel" \
	"PATH=\$PATH:$(dirname "$fsx") SOAK_SECONDS=$SOAK_SECONDS SOAK_LW_SECONDS=$SOAK_LW_SECONDS SOAK_FSX_OPS=$SOAK_FSX_OPS SOAK_FSX_SIZES='$SOAK_FSX_SIZES' SOAK_WORKLOADS='$SOAK_WORKLOADS' SOAK_INJECT=$inject bash $here/guest/soak.sh $work/kselftest $work/amplifier/tlb_flush_delay.ko $work/fsx $work/guest" \
	>"$guest" 2>&1 || rc=$?
grep '^soak: ' "$guest" || true
grep '^    ' "$guest" || true

# The workloads' lines, as data.
printf 'workload\tverdict\twhat\n' >"$art/workloads.tsv"
sed -nE 's/^soak: ([a-z-]+( [a-z0-9]+)*): (PASS|FAIL) (.*)/\1\t\3\t\4/p' "$guest" >>"$art/workloads.tsv"
nlines=$(($(wc -l <"$art/workloads.tsv") - 1))
nfail=$(grep -c $'\tFAIL\t' "$art/workloads.tsv" || true)
grep -q '^soak: done' "$guest" ||
	die "the guest did not finish the soak (vng exit status $rc; log: $guest, console: $art/console.log)"
klog_rc=0
python3 "$here/klog.py" judge "$art/console.log" >"$art/klog.txt" || klog_rc=$?
((klog_rc != 2)) || die "cannot judge the kernel log (see $art/klog.txt)"
cat "$art/klog.txt" >&2
rounds=$(sed -n 's/^soak: done (\([0-9]*\) pressure rounds)/\1/p' "$guest")
what="$nlines workload runs, $(grep -c $'\tPASS\t' "$art/workloads.tsv" || true) passed, $rounds writeback/eviction rounds"

case $SOAK_EXPECT in
pass)
	((nlines == expected)) || die "$nlines workload lines, $expected expected: a workload did not report (log: $guest)"
	((nfail == 0)) || {
		echo "soak: FAIL: $nfail of $nlines workload runs failed ($what)" | tee "$result"
		exit 1
	}
	((klog_rc == 0)) || {
		echo "soak: FAIL: the kernel log has $(grep -c '^klog: .*:[0-9]*: ' "$art/klog.txt") report(s) (quoted above; $what)" | tee "$result"
		exit 1
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
	summary="soak control: the kernel log judge caught the mutant: $(grep -m1 '^klog: .*:[0-9]*: ' "$art/klog.txt" | sed 's/^klog: [^:]*:[0-9]*: //') ($what)"
	;;
esac
echo "$summary" | tee "$result"
