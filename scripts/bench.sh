#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# What the fixes cost: selftests/zap_bench.c (W1-W9) on each kernel, for
# scripts/bench.py to judge side by side.
#
#   bench.sh <short|long> <result-dir> <label>=<kernel>=<headers>...
#
# short: one boot per kernel, the counting run (the window amplifier at
# delay 0 as the counter: TLB flushes, batched flushes, tlb_flush_rmaps()
# calls; the TLB IPIs; faults), BENCH_REPS repetitions (default 3): the
# exact-count criteria.  long: the same with BENCH_REPS (default 10), and a
# second boot per kernel under QEMU TCG with -icount shift=0 on one vCPU,
# BENCH_ROUNDS (default 3) time-only rounds: instructions per operation and
# their spread.
#
# <kernel>: a build directory or a kernel image (vng-run.sh); <headers>:
# what the amplifier is built against (with KMAKE_ARGS: one call per
# compiler).  Writes the guest logs <label>.counts.log and (long)
# <label>.icount.log in <result-dir>, replacing that label's earlier ones:
# bench.py's <label>=<log> arguments.

set -euo pipefail
PROG=bench
here=$(dirname "$(realpath "$0")")
repo=$(realpath "$here/..")
# shellcheck source=lib.sh
. "$here/lib.sh"

[[ $# -ge 3 ]] || die "usage: $0 <short|long> <result-dir> <label>=<kernel>=<headers>..."
mode=$1 out=$2
shift 2
[[ $mode == short || $mode == long ]] || die "mode must be short or long, not '$mode'"
reps=${BENCH_REPS:-$([[ $mode == short ]] && echo 3 || echo 10)}
rounds=${BENCH_ROUNDS:-3}
[[ $reps =~ ^[1-9][0-9]*$ ]] || die "BENCH_REPS must be a positive number, not '$reps'"
[[ $rounds =~ ^[1-9][0-9]*$ ]] || die "BENCH_ROUNDS must be a positive number, not '$rounds'"
labels=() kernels=() headers=()
for entry in "$@"; do
	[[ $entry =~ ^([A-Za-z0-9._-]+)=([^=]+)=([^=]+)$ ]] ||
		die "bad kernel '$entry' (want <label>=<kernel>=<headers>)"
	labels+=("${BASH_REMATCH[1]}") kernels+=("${BASH_REMATCH[2]}") headers+=("${BASH_REMATCH[3]}")
	[[ -e ${kernels[-1]} ]] || die "${kernels[-1]} not found"
	[[ -f ${headers[-1]}/Makefile ]] || die "no kernel build or headers in ${headers[-1]}"
done
need gcc gcc

work=${CACHE_DIR:?}/build/selftests/bench
mkdir -p "$work" "$out"
for label in "${labels[@]}"; do
	rm -f "$out/$label".*.log "$out/console-$label".*.log
done
# -z now: every symbol bound at start.  Lazily bound, W7's child resolved
# _exit() on its first call, after its counting began: the dynamic
# linker's write to the GOT is a copy-on-write fault, and one more TLB flush
# or two, as many as the parent had not already copied.
gcc -O2 -Wall -Wextra -Wno-unused-parameter -Werror -Wl,-z,now -o "$work/zap_bench" \
	"$repo/selftests/zap_bench.c" -lpthread

# boot <label> <kind> <kernel> <runner args...>: one guest run, its
# "zapbench" lines kept in <out>/<label>.<kind>.log.
boot() {
	local label=$1 kind=$2 kernel=$3 rc=0
	shift 3
	log "$label: $kind run, booting $(basename "$kernel")"
	VNG_CONSOLE=$out/console-$label.$kind.log VNG_OPTS="${VNG_OPTS:-} --user root ${BOOT_OPTS:-}" \
		VNG_TIMEOUT=${VNG_TIMEOUT:-1200} "$here/vng-run.sh" "$kernel" \
		"$repo/selftests/run_zap_bench.sh -b $work/zap_bench $*" >"$out/$label.$kind.log" 2>&1 || rc=$?
	if ((rc != 0)) || ! grep -q '^zapbench: W' "$out/$label.$kind.log"; then
		tail -n 20 "$out/$label.$kind.log" >&2
		die "$label: the $kind run did not finish (guest exit status $rc; log: $out/$label.$kind.log)"
	fi
	if grep -q '^zapbench: .*FAIL' "$out/$label.$kind.log"; then
		grep '^zapbench: .*FAIL' "$out/$label.$kind.log" >&2
		die "$label: the file contents were wrong after a workload (above)"
	fi
}

for i in "${!labels[@]}"; do
	label=${labels[i]}
	mkdir -p "$work/$label"
	build_test_module amplifier "${headers[i]}" "$work/$label"
	BOOT_OPTS='' boot "$label" counts "${kernels[i]}" \
		-a "$work/$label/amplifier/tlb_flush_delay.ko" -r "$reps"
	if [[ $mode == long ]]; then
		# One vCPU, single-threaded TCG counting instructions: the guest's
		# clock advances 1 ns per instruction.  W5 and W9 need two CPUs:
		# zap_bench says they were skipped, and the judge expects that.
		ACCEL=tcg VNG_CPUS=1 BOOT_OPTS='--qemu-opts=-icount --qemu-opts=shift=0' \
			boot "$label" icount "${kernels[i]}" -r "$reps" -R "$rounds"
	fi
done

