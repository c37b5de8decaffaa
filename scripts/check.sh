#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Run the steps of `make check` (or `make check-6.1`) and print the verdict
# block.
#
#   check.sh <results-dir> <set> <make-command>...
#
# <set>: all (every step: the 6.1 series and 7.2 with Rust) or 6.1 (only the
# steps of the 6.1 series, which need only `make deps-6.1`'s tools; the
# others are listed as left out, with the reason).
# Runs "<make-command> <step>" for each step.  deps-check, source-6.1 and
# apply-6.1 stop the run when they fail; checkpatch, compile-matrix and
# kernel-6.1 are independent, so a failure is recorded and the next step
# still runs (the steps that need a kernel are skipped when it did not
# build: skipped counts as failed).  The 7.2 steps (Rust module) follow the
# 6.1 ones.  Each
# step leaves a one-line summary in <results-dir>/<step>.txt.

set -euo pipefail
PROG=check
KEEP_MAKEFLAGS=1 # the steps are run by the top-level make: keep its variables
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

[[ $# -ge 3 ]] || die "usage: $0 <results-dir> <6.1|all> <make-command>..."
results=$1 set=$2
shift 2
lock_cache
steps_6_1=(source-6.1 apply-6.1 checkpatch compile-matrix series-bisect kernel-6.1 typecheck boot-smoke
	kunit-6.1 lostwrite-stock lostwrite-patched kernel-6.1-nofix kunit-6.1-nofix lostwrite-nofix stale-tlb-6.1)
steps_7_2=(kernel-7.2 style-7.2 rust-module-7.2 lostwrite-7.2 stale-tlb-7.2 lostwrite-stock-7.2 pt-reclaim
	kernel-7.2-nofix rust-module-7.2-nofix lostwrite-7.2-nofix kernel-7.2-mutation
	rust-module-7.2-mutation lostwrite-7.2-mutation)
case $set in
all) steps=(deps-check "${steps_6_1[@]}" "${steps_7_2[@]}") left_out=() ;;
6.1) steps=(deps-check-6.1 "${steps_6_1[@]}") left_out=("${steps_7_2[@]}") ;;
*) die "unknown set '$set' (6.1 or all)" ;;
esac
fatal=" deps-check deps-check-6.1 source-6.1 apply-6.1 "
# A step that needs a kernel is skipped (and counts as failed) when the step
# building that kernel did not pass.
declare -A needs=(
	[typecheck]=kernel-6.1 [boot-smoke]=kernel-6.1 [kunit-6.1]=kernel-6.1
	[lostwrite-patched]=kernel-6.1 [stale-tlb-6.1]=kernel-6.1
	[kunit-6.1-nofix]=kernel-6.1-nofix [lostwrite-nofix]=kernel-6.1-nofix
	[style-7.2]=kernel-7.2 [rust-module-7.2]=kernel-7.2 [kernel-7.2-mutation]=kernel-7.2
	[lostwrite-7.2]=kernel-7.2 [stale-tlb-7.2]=kernel-7.2 [pt-reclaim]=kernel-7.2
	[kernel-7.2-nofix]=kernel-7.2 [lostwrite-7.2-nofix]=kernel-7.2-nofix
	[rust-module-7.2-nofix]=kernel-7.2-nofix
	[rust-module-7.2-mutation]=kernel-7.2-mutation [lostwrite-7.2-mutation]=kernel-7.2-mutation
)

rm -rf "$results"
mkdir -p "$results"
declare -A status
passed=0 total_start=$SECONDS
for step in "${steps[@]}"; do
	if [[ -n ${needs[$step]:-} && ${status[${needs[$step]}]:-} != PASS ]]; then
		status[$step]=SKIP
		continue
	fi
	echo
	echo "=== check: $step"
	start=$SECONDS
	if "$@" "$step"; then
		status[$step]=PASS
		passed=$((passed + 1))
	else
		status[$step]=FAIL
	fi
	echo "=== check: $step: ${status[$step]} ($((SECONDS - start)) s)"
	if [[ ${status[$step]} == FAIL && $fatal == *" $step "* ]]; then
		break
	fi
done

line() {
	local step=$1 label=$2 text
	text=$(cat "$results/$step.txt" 2>/dev/null || true)
	case ${status[$step]:-SKIP} in
	FAIL) text=${text:-failed (see its output above)} ;;
	SKIP) text=${text:-not run} ;;
	esac
	printf '  %-4s  %-15s %s\n' "${status[$step]:-SKIP}" "$label" "${text:--}"
}

declare -A label=(
	[apply-6.1]="series" [checkpatch]="checkpatch" [compile-matrix]="compile matrix"
	[series-bisect]="each patch" [kernel-6.1]="kernel" [typecheck]="encoded ptrs" [boot-smoke]="boot"
	[kunit-6.1]="KUnit" [lostwrite-stock]="stock 6.1" [lostwrite-patched]="patched 6.1"
	[kernel-6.1-nofix]="kernel, no fix" [kunit-6.1-nofix]="KUnit, no fix" [lostwrite-nofix]="6.1 no fix"
	[stale-tlb-6.1]="TLB, 6.1" [kernel-7.2]="7.2 kernel" [style-7.2]="7.2 style"
	[rust-module-7.2]="Rust module" [lostwrite-7.2]="7.2 lost-write" [stale-tlb-7.2]="TLB, 7.2"
	[lostwrite-stock-7.2]="stock 7.2" [pt-reclaim]="PT reclaim" [kernel-7.2-nofix]="7.2, no fix" [lostwrite-7.2-nofix]="7.2 no fix lw"
	[rust-module-7.2-nofix]="Rust, no fix"
	[kernel-7.2-mutation]="7.2 mutant" [rust-module-7.2-mutation]="Rust, mutant"
	[lostwrite-7.2-mutation]="7.2 mutant lw"
)

echo
if [[ $set == all ]]; then
	echo "==================== delayed-rmap: make check ===================="
else
	echo "================== delayed-rmap: make check-$set =================="
fi
for step in "${steps[@]}"; do
	[[ -n ${label[$step]:-} ]] && line "$step" "${label[$step]}"
done
if ((${#left_out[@]} > 0)); then
	echo "  left out (Linux 7.2 with Rust: needs 'make deps' and 'make check'):"
	echo "    ${left_out[*]}"
fi
elapsed=$((SECONDS - total_start))
echo "  took $((elapsed / 60)) min $((elapsed % 60)) s"
if ((passed == ${#steps[@]})); then
	echo "  VERDICT: PASS"
else
	echo "  VERDICT: FAIL"
fi
echo "=================================================================="
# Steps skipped or never reached count as failed.
echo "check: $passed passed, $((${#steps[@]} - passed)) failed"
((passed == ${#steps[@]}))
