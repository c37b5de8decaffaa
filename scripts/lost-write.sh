#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Both directions of the lost-write test, on the host side: build and
# install the selftests (kselftest layout, selftests/Makefile) and build
# the window amplifier, boot a kernel with virtme-ng, run
# selftests/run_lost_write.sh in it with kselftest's runner
# (run_kselftest.sh), and judge the verdict lines.
#
#   lost-write.sh stock   <kernel image> <headers dir> <harness dir> <workdir> <result>
#   lost-write.sh patched <build dir>    <build dir>   <harness dir> <workdir> <result>
#   lost-write.sh nofix   <build dir>    <build dir>   <harness dir> <workdir> <result>
#   lost-write.sh mutation <kernel image> <build dir>  <harness dir> <workdir> <result>
#   lost-write.sh upstream <build dir>   <build dir>   <harness dir> <workdir> <result>
#   lost-write.sh measure  <build dir>   <build dir>   <harness dir> <workdir> <result>
#   lost-write.sh judge <mode> <verdicts file> [<result>]
#
#   stock:   Debian's kernel with the amplifier.  Passes only if a write is
#            lost in every variant listed in LW_MUST_LOSE (default: the
#            remap_fixed and munmap_mmap variants): that the test can fail.
#            A negative control must not depend on luck: boots are repeated,
#            up to LW_MAX_RUNS (default 3), until every one of those variants
#            has lost a write in some run (in any of LW_MODES; no more boots
#            once they all have); the verdict names the run and the time of
#            each first loss.
#   nofix:   same judgement, on our kernel (same tree and config as
#            "patched") with only the fix reverted: the mutation control.
#   mutation: same judgement, on the 7.x kernel with patches/7.2-mutation
#            (make kernel-7.2-mutation): the mutation control of "upstream".
#   patched: the kernel with the series, amplified and plain.  Passes only
#            if no write is lost in any variant of either run.
#   upstream: the same judgement for a kernel that has the fix upstream
#            (Linux 7.x, make kernel-7.2).
#   measure: no judgement (plain runs by default): prints the table; for
#            experiments (make lost-write-7.2-madv), fails only if a variant
#            could not run.
#   judge:   the judgement of <mode> alone, on the verdict lines a run left
#            (the file verdicts next to its <result>: "<mode>-<amplified|
#            plain>-<run>: <variant>: LOST|no loss|ERROR ..."), with the
#            same environment; for make check-tools and for looking again
#            at a saved run.
#
# <headers dir> is what the amplifier module is built against (-C).
# <harness dir> holds kselftest_harness.h (tools/testing/selftests of a 6.1
# tree).  Environment: LW_SECONDS (per variant, default 5), LW_DELAY_US
# (amplifier delay, default 2000), LW_FAULT_DELAY_US (its fault delay in the
# table variants, default 2000), LW_RUNS (runs per kernel and mode of the
# measure, patched and upstream modes, default 1), LW_MAX_RUNS (boots a
# control may take to show its losses, default 3), LW_MUST_LOSE, LW_MODES
# (default: "amplified" for the controls, "amplified plain" for patched and
# upstream; a control's required loss counts in any of its modes), LW_ARGS (more lost_write
# options, e.g. "-o madv_dontneed_paced -i 10": see selftests/lost_write.c),
# LW_FS (ext4, default, or tmpfs), VNG_CPUS (guest vCPUs, default 4).  A
# table per mode and variant (runs with a loss, median time to detection)
# ends the output.
#
# Kept next to <result> (in its directory; the step's directory under
# make check), per boot <label> (<mode>-<amplified|plain>-<run>):
# <label>.log (the guest's output), <label>.console.log (the guest kernel's
# console), <label>.ktap (the selftest's TAP, through scripts/ktap.py), and
# for all boots verdicts (the verdict lines, see judge) and runs.tsv: set (the directory's name), kernel release, mode,
# run, variant, result (lost, none, error), seconds to the loss or of the
# run, values written and read back at a loss.

set -euo pipefail
PROG=lost-write
here=$(dirname "$(realpath "$0")")
repo=$(realpath "$here/..")
# shellcheck source=lib.sh
. "$here/lib.sh"

if [[ ${1:-} == judge ]]; then
	[[ $# -eq 3 || $# -eq 4 ]] || die "usage: $0 judge <mode> <verdicts file> [<result>]"
	mode=$2 verdicts=$3 result=${4:-/dev/null}
	[[ -f $verdicts ]] || die "$verdicts not found"
else
	[[ $# -eq 6 ]] || die "usage: $0 stock|nofix|mutation|patched|upstream|measure <kernel> <headers> <harness dir> <workdir> <result>"
	mode=$1 kernel=$2 headers=$3 harness=$4 work=$5 result=$6
	# What the run leaves (below) goes next to <result>.
	art=$(dirname "$result")
	mkdir -p "$art"
	art=$(realpath "$art")
	verdicts=$art/verdicts
fi
case $mode in
stock | nofix | mutation | patched | upstream | measure) ;;
*) die "mode must be stock, nofix, mutation, patched, upstream or measure" ;;
esac
LW_SECONDS=${LW_SECONDS:-5}
LW_DELAY_US=${LW_DELAY_US:-2000}
LW_FAULT_DELAY_US=${LW_FAULT_DELAY_US:-2000}
[[ $LW_DELAY_US =~ ^[0-9]+$ && $LW_FAULT_DELAY_US =~ ^[0-9]+$ ]] ||
	die "LW_DELAY_US and LW_FAULT_DELAY_US must be numbers of microseconds"
LW_RUNS=${LW_RUNS:-1}
LW_MAX_RUNS=${LW_MAX_RUNS:-3}
[[ $LW_MAX_RUNS =~ ^[1-9][0-9]*$ ]] || die "LW_MAX_RUNS must be a positive number (got '$LW_MAX_RUNS')"
LW_MUST_LOSE=${LW_MUST_LOSE:-remap_fixed munmap_mmap}
LW_ARGS=${LW_ARGS:-}
LW_FS=${LW_FS:-ext4}
[[ $LW_ARGS =~ ^[-a-z0-9_,\ ]*$ ]] || die "LW_ARGS may hold only options, variant names and numbers (got '$LW_ARGS')"
[[ $LW_FS == ext4 || $LW_FS == tmpfs ]] || die "LW_FS must be ext4 or tmpfs (got '$LW_FS')"
if [[ $mode == patched || $mode == upstream ]]; then
	LW_MODES=${LW_MODES:-amplified plain}
elif [[ $mode == measure ]]; then
	LW_MODES=${LW_MODES:-plain}
else
	LW_MODES=${LW_MODES:-amplified}
fi
must_lose=0
[[ $mode == stock || $mode == nofix || $mode == mutation ]] && must_lose=1

# must_lose_pending: the LW_MUST_LOSE variants without a loss so far.
must_lose_pending() {
	local v
	for v in $LW_MUST_LOSE; do
		grep -q -- "-[a-z]*-[0-9]*: $v: LOST" "$verdicts" 2>/dev/null || echo "$v"
	done
}

# judge: the summary and the verdict of the lines in $verdicts (runs: $runs).
judge() {
	# Summary: per mode and variant, runs with a lost write and the median
	# time to detection over those runs.
	echo "lost-write $mode: summary over $runs run(s) of ${LW_SECONDS}s per variant:"
	awk '
		{
			split($1, k, "-"); m = k[2]; v = $2; sub(":", "", v)
			key = m " " v; runs[key]++
			if ($3 == "LOST") { lost[key]++; t = $5; times[key] = times[key] " " t }
		}
		END {
			for (key in runs) {
				n = split(times[key], a, " "); med = "-"
				if (n) {
					for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++)
						if (a[j] + 0 < a[i] + 0) { x = a[i]; a[i] = a[j]; a[j] = x }
					med = (n % 2) ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
					med = med " s"
				}
				printf "    %-10s %-14s lost in %d/%d runs, median time to detection %s\n",
					split(key, p, " ") ? p[1] : key, p[2], lost[key] + 0, runs[key], med
			}
		}' "$verdicts" | sort

	grep -q ': ERROR' "$verdicts" && die "a variant could not run (see above)"
	local nvariants nlost missing first v
	nvariants=$(grep -c . "$verdicts" || true)
	((nvariants > 0)) || die "no verdict line in $verdicts: nothing ran"
	nlost=$(grep -c ': LOST' "$verdicts" || true)
	if [[ $mode == measure ]]; then
		echo "lost-write measure: lost writes in $nlost of $nvariants variant runs (${LW_MODES// / and }, ${LW_SECONDS}s each, ${VNG_CPUS:-4} vCPUs, $LW_FS${LW_ARGS:+, lost_write $LW_ARGS})" | tee "$result"
	elif ((must_lose)); then
		mapfile -t missing < <(must_lose_pending)
		if ((${#missing[@]})); then
			echo "lost-write $mode: FAIL: no lost write in ${missing[*]} in $runs run(s) (${LW_MODES// / and }, ${LW_SECONDS}s each): the test could not show the bug" | tee "$result"
			return 1
		fi
		first=()
		for v in $LW_MUST_LOSE; do
			first+=("$v: $(grep -m1 -- ": $v: LOST" "$verdicts" |
				sed -E 's/^[a-z0-9]+-([a-z]+)-([0-9]+): .*after ([0-9.]+ s).*/run \2 \1, \3/')")
		done
		echo "lost-write $mode: lost writes in $nlost of $nvariants variant runs (${LW_MODES// / and }, ${LW_SECONDS}s each); required, first loss: $(printf '%s; ' "${first[@]}" | sed 's/; $//')" | tee "$result"
	else
		if ((nlost)); then
			echo "lost-write $mode: FAIL: $nlost lost write(s) in $nvariants variant runs" | tee "$result"
			return 1
		fi
		echo "lost-write $mode: 0 lost writes in $nvariants variant runs (${LW_MODES// / and }, ${LW_SECONDS}s each)" | tee "$result"
	fi
}

if [[ $1 == judge ]]; then
	runs=$(sed -nE 's/^[a-z0-9]+-[a-z]+-([0-9]+): .*/\1/p' "$verdicts" | sort -n | tail -n1)
	judge
	exit
fi

need gcc gcc
[[ -f $harness/kselftest_harness.h ]] || die "no kselftest_harness.h in $harness"
[[ -f $headers/Makefile ]] ||
	die "no kernel build or headers in $headers (stock: install Debian package linux-headers-$(basename "$kernel" | sed 's/^vmlinuz-//'))"

# A kernel built here must have what the selftests need (selftests/config;
# a distro kernel may have them as modules, which the runner loads).
[[ -f $kernel ]] || verify_config "$kernel/.config" "$repo/selftests/config"

# Build the selftest and the amplifier (out of the repository).
mkdir -p "$work"
rm -f "$art"/*.ktap "$art/runs.tsv"
if [[ -f $kernel ]]; then
	release=$(basename "$kernel")
	release=${release#vmlinuz-}
else
	release=$(sed -n 's/^release=//p' "$kernel/.delayed-rmap-built" 2>/dev/null || true)
fi
printf 'set\tkernel\tmode\trun\tvariant\tresult\tseconds\twrote\tread_back\n' >"$art/runs.tsv"
# The kselftest install (run_kselftest.sh runs the test in the guest);
# its timeout: six variants and the set-up.
ksft_timeout=$((LW_SECONDS * 6 + 120))
install_kselftests "$harness" "$work" "$ksft_timeout"
build_test_module amplifier "$headers" "$work"
amp=$work/amplifier/tlb_flush_delay.ko

# run_guest <amplified|plain> <run>: one boot, one run of every variant.
# Appends the verdict lines, prefixed with the label
# <mode>-<amplified|plain>-<run>, to $verdicts, and a row per variant to
# runs.tsv.
run_guest() {
	local how=$1 run=$2 label=$mode-$1-$2 amplify=0 args out test_out rc vrc cpus
	[[ $how == amplified ]] && amplify=1
	args="-s $LW_SECONDS -F $LW_FS"
	# A control runs only the variants it requires, and its later boots
	# only those still to lose (the last -o wins in lost_write).
	local xargs=$LW_ARGS pending
	if ((must_lose)); then
		pending=$(must_lose_pending | paste -sd, -)
		[[ -z $pending ]] || xargs+="${xargs:+ }-o $pending"
	fi
	((amplify)) && args+=" -a $amp -u $LW_DELAY_US -f $LW_FAULT_DELAY_US"
	out=$art/$label.log
	test_out=$work/$label.out
	log "$label: booting $(basename "$kernel"), ${VNG_CPUS:-4} vCPUs, $LW_FS, $LW_SECONDS s per variant, amplifier $( ((amplify)) && echo "on, $LW_DELAY_US us" || echo off)${xargs:+, lost_write $xargs}"
	# brd, mkfs, mount and insmod need root in the guest, whoever runs make.
	# kselftest's runner runs run_lost_write.sh, which exits 0 (no loss)
	# or 1 (a write was lost); anything else means the test did not run
	# to the end.  (vng-run.sh boots once more a guest that died before
	# the command started.)
	vrc=0
	VNG_CONSOLE=$art/$label.console.log VNG_OPTS="${VNG_OPTS:-} --user root" \
		VNG_TIMEOUT=$((ksft_timeout + 240)) "$here/vng-run.sh" "$kernel" \
		"KSELFTEST_RUN_LOST_WRITE_SH_ARGS='$args' LOST_WRITE_ARGS='$xargs' $work/kselftest/run_kselftest.sh -t delayed-rmap:run_lost_write.sh" \
		>"$out" 2>&1 || vrc=$?
	rc=$(ksft_result "$out" run_lost_write.sh "$test_out")
	save_ktap "$harness/../kunit" "$out" "$art/$label.ktap"
	sed -n "s/^vng-run: \(the guest died before .*\)/$label: \1/p" "$out" >&2
	die_if_skipped "$rc" "$label: the selftest" "$out"
	if ((rc != 0 && rc != 1)); then
		sed 's/^/    /' "$out" | tail -n 40
		die "$label: the selftest did not run to the end (kselftest result: $(ksft_status_text "$rc"), vng exit status $vrc, log: $out)"
	fi
	# The guest must use every vCPU it was given (a kernel built with a
	# smaller NR_CPUS silently runs on fewer).
	cpus=$(sed -n 's/^run_lost_write: kernel [^,]*, \([0-9]*\) CPUs,.*/\1/p' "$test_out")
	[[ $cpus == "${VNG_CPUS:-4}" ]] ||
		die "$label: the guest ran on ${cpus:-an unknown number of} CPUs, not VNG_CPUS=${VNG_CPUS:-4} (log: $out)"
	grep '^lost-write: ' "$test_out" | sed "s/^lost-write: /$label: /" | tee -a "$verdicts"
	grep '^lost-write: [a-z_]*: ' "$test_out" | awk -v set="${art##*/}" -v k="${release:-?}" \
		-v mode="$how" -v run="$run" '
		function num(re,    s) {
			if (!match($0, re)) return ""
			s = substr($0, RSTART, RLENGTH); gsub(/[^0-9.]/, "", s); return s
		}
		{
			v = $2; sub(":", "", v)
			if ($3 == "LOST") r = "lost"; else if ($3 == "no") r = "none"; else r = "error"
			printf "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", set, k, mode, run, v, r,
				num("(after|in) [0-9.]+ s"), num("wrote [0-9]+"), num("read back [0-9]+")
		}' >>"$art/runs.tsv"
}

runs=$LW_RUNS
((must_lose == 0)) || runs=$LW_MAX_RUNS
rm -f "$verdicts"
done_early=0
for ((i = 1; i <= runs && !done_early; i++)); do
	for m in $LW_MODES; do
		[[ $m == amplified || $m == plain ]] || die "LW_MODES: unknown mode '$m'"
		run_guest "$m" "$i"
		# A control is done as soon as every required variant has lost
		# (the other modes of that run are not booted).
		if ((must_lose)) && [[ -z $(must_lose_pending) ]]; then
			runs=$i done_early=1
			break
		fi
	done
done

judge
