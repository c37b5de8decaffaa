#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Run the steps of `make check` and print the verdict block.
#
#   check.sh <results-dir> <make-command>...
#
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

[[ $# -ge 2 ]] || die "usage: $0 <results-dir> <make-command>..."
results=$1
shift
lock_cache
steps=(deps-check source-6.1 apply-6.1 checkpatch compile-matrix series-bisect kernel-6.1 typecheck boot-smoke
	kunit-6.1 lostwrite-stock lostwrite-patched kernel-6.1-nofix kunit-6.1-nofix lostwrite-nofix stale-tlb-6.1
	kernel-7.2 style-7.2 rust-module-7.2 lostwrite-7.2 stale-tlb-7.2 kernel-7.2-mutation rust-module-7.2-mutation
	lostwrite-7.2-mutation)
fatal=" deps-check source-6.1 apply-6.1 "
# A step that needs a kernel is skipped (and counts as failed) when the step
# building that kernel did not pass.
declare -A needs=(
	[typecheck]=kernel-6.1 [boot-smoke]=kernel-6.1 [kunit-6.1]=kernel-6.1
	[lostwrite-patched]=kernel-6.1 [stale-tlb-6.1]=kernel-6.1
	[kunit-6.1-nofix]=kernel-6.1-nofix [lostwrite-nofix]=kernel-6.1-nofix
	[style-7.2]=kernel-7.2 [rust-module-7.2]=kernel-7.2 [kernel-7.2-mutation]=kernel-7.2
	[lostwrite-7.2]=kernel-7.2 [stale-tlb-7.2]=kernel-7.2
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

echo
echo "==================== delayed-rmap: make check ===================="
line apply-6.1 "series"
line checkpatch "checkpatch"
line compile-matrix "compile matrix"
line series-bisect "each patch"
line kernel-6.1 "kernel"
line typecheck "encoded ptrs"
line boot-smoke "boot"
line kunit-6.1 "KUnit"
line lostwrite-stock "stock 6.1"
line lostwrite-patched "patched 6.1"
line kernel-6.1-nofix "kernel, no fix"
line kunit-6.1-nofix "KUnit, no fix"
line lostwrite-nofix "6.1 no fix"
line stale-tlb-6.1 "TLB, 6.1"
line kernel-7.2 "7.2 kernel"
line style-7.2 "7.2 style"
line rust-module-7.2 "Rust module"
line lostwrite-7.2 "7.2 lost-write"
line stale-tlb-7.2 "TLB, 7.2"
line kernel-7.2-mutation "7.2 mutant"
line rust-module-7.2-mutation "Rust, mutant"
line lostwrite-7.2-mutation "7.2 mutant lw"
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
