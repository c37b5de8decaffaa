#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Run the steps of `make check` (or check-6.1, check-7.2, STEPS=...) and
# print the verdict block.
#
#   check.sh <results-dir> <set> <make-command>...
#
# The steps, their order, what each needs and whether a failure stops the
# run come from scripts/steps.tsv, the one list of them.  <set>:
#   all    every step (groups deps, tools, 6.1, 7.2)
#   6.1    the 6.1 series only (deps-6.1, tools, 6.1), which needs only
#          `make deps-6.1`'s tools; the 7.2 steps are listed as left out
#   7.2    Linux 7.x and the Rust module only (deps, tools, 7.2)
#   steps  the steps named in $CHECK_STEPS, in the table's order
# Runs "<make-command> <step>" for each step.  A step whose on-fail column
# says stop ends the run when it fails; a step whose needed step did not
# pass in this run is skipped (skipped counts as failed).  The verdict's
# first column is the step, the target to re-run.
#
# What a run leaves in <results-dir> (the previous run's is moved to
# <results-dir>.prev first, one generation kept; the results of targets
# that are no step stay):
#   <step>/output.log   everything the step printed
#   <step>/summary.txt  its one-line summary (written by the step's target)
#   <step>/...          its logs, consoles, KTAP and TSV data
#   steps.tsv           step, PASS|FAIL|SKIP, seconds, summary
#   check.ktap          one test per step, with the step's KTAP nested
#                       (scripts/ktap.py; reads with `kunit.py parse`)
#   verdict.txt         the verdict block printed at the end

set -euo pipefail
PROG=check
KEEP_MAKEFLAGS=1 # the steps are run by the top-level make: keep its variables
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

[[ $# -ge 3 ]] || die "usage: $0 <results-dir> <all|6.1|7.2|steps> <make-command>..."
results=$1 set=$2
shift 2
lock_cache
table=$(dirname "$0")/steps.tsv
[[ -f $table ]] || die "$table not found"

declare -A group needs on_fail
all_steps=()
while IFS=$'\t' read -r step grp need fail _expects _what; do
	[[ -z $step || $step == \#* ]] && continue
	[[ -n $_what ]] || die "$table: row '$step' has not six tab-separated columns"
	all_steps+=("$step")
	group[$step]=$grp
	needs[$step]=${need#-}
	on_fail[$step]=$fail
done <"$table"

# The steps of a run, in table order: those whose group is listed.
select_groups() {
	local step g
	for step in "${all_steps[@]}"; do
		for g in "$@"; do
			[[ ${group[$step]} == "$g" ]] && printf '%s\n' "$step"
		done
	done
}
left_out=()
case $set in
all) mapfile -t steps < <(select_groups deps tools 6.1 7.2) ;;
6.1)
	mapfile -t steps < <(select_groups deps-6.1 tools 6.1)
	mapfile -t left_out < <(select_groups 7.2)
	;;
7.2) mapfile -t steps < <(select_groups deps tools 7.2) ;;
steps)
	read -ra wanted <<<"${CHECK_STEPS:-}"
	((${#wanted[@]})) || die "set 'steps' needs the steps in CHECK_STEPS"
	for w in "${wanted[@]}"; do
		[[ -n ${group[$w]:-} ]] || die "unknown step '$w' (the steps are in scripts/steps.tsv)"
	done
	steps=()
	for step in "${all_steps[@]}"; do
		[[ " ${wanted[*]} " == *" $step "* ]] && steps+=("$step")
	done
	;;
*) die "unknown set '$set' (all, 6.1, 7.2 or steps)" ;;
esac

# Nothing of the last run is lost silently: it becomes the previous one.
# Only a check's own results move (its steps' directories, steps.tsv,
# check.ktap, verdict.txt); those of the targets outside make check (the
# long soaks, mm-selftests, bench) stay where they are.
if [[ -e $results ]]; then
	rm -rf "$results.prev"
	mkdir -p "$results.prev"
	for f in "${all_steps[@]}" steps.tsv check.ktap verdict.txt; do
		[[ ! -e $results/$f ]] || mv "$results/$f" "$results.prev/"
	done
	log "the previous run's results are in $results.prev"
fi
mkdir -p "$results"
# The time of each step's last passing run, one line per step, kept across
# runs.
times=${results%/}-times.tsv
declare -A status seconds
passed=0 total_start=$SECONDS k=0
for step in "${steps[@]}"; do
	k=$((k + 1))
	need=${needs[$step]}
	# A needed step that is not part of this run is make's business (the
	# target's prerequisites); one that ran must have passed.
	if [[ -n $need && -n ${status[$need]:-} && ${status[$need]} != PASS ]]; then
		status[$step]=SKIP
		echo "=== check [$k/${#steps[@]}]: $step: skipped ($need did not pass)"
		continue
	fi
	echo
	last=$(awk -F'\t' -v s="$step" '$1 == s { t = $2 } END { print t }' "$times" 2>/dev/null || true)
	echo "=== check [$k/${#steps[@]}]: $step${last:+ (last run: $last s)}"
	start=$SECONDS
	mkdir -p "$results/$step"
	rc=0
	"$@" "$step" 2>&1 | tee "$results/$step/output.log" || rc=${PIPESTATUS[0]}
	if ((rc == 0)); then
		status[$step]=PASS
		passed=$((passed + 1))
	else
		status[$step]=FAIL
	fi
	seconds[$step]=$((SECONDS - start))
	echo "=== check [$k/${#steps[@]}]: $step: ${status[$step]} (${seconds[$step]} s)"
	if [[ ${status[$step]} == PASS ]]; then
		{
			awk -F'\t' -v s="$step" '$1 != s' "$times" 2>/dev/null || true
			printf '%s\t%s\n' "$step" "${seconds[$step]}"
		} >"$times.new"
		mv "$times.new" "$times"
	fi
	if [[ ${status[$step]} == FAIL && ${on_fail[$step]} == stop ]]; then
		break
	fi
done

# Each step's line: its summary file, or why there is none.
declare -A summary
for step in "${steps[@]}"; do
	text=$(head -n1 "$results/$step/summary.txt" 2>/dev/null || true)
	case ${status[$step]:-SKIP} in
	FAIL) text=${text:-failed (output: $results/$step/output.log)} ;;
	SKIP) text=${text:-not run${needs[$step]:+ (needs ${needs[$step]})}} ;;
	esac
	summary[$step]=${text:--}
	printf '%s\t%s\t%s\t%s\n' "$step" "${status[$step]:-SKIP}" "${seconds[$step]:-0}" "${summary[$step]}"
done >"$results/steps.tsv"
if ! python3 "$(dirname "$0")/ktap.py" check "$results" "$results/steps.tsv" -o "$results/check.ktap"; then
	log "could not write $results/check.ktap"
fi

{
	echo
	case $set in
	all) echo "==================== delayed-rmap: make check ====================" ;;
	steps) echo "============ delayed-rmap: make check STEPS='${CHECK_STEPS}' ============" ;;
	*) echo "================== delayed-rmap: make check-$set ==================" ;;
	esac
	for step in "${steps[@]}"; do
		printf '  %-4s  %-24s %s\n' "${status[$step]:-SKIP}" "$step" "${summary[$step]}"
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
	echo "  results: $results (check.ktap, steps.tsv, <step>/)"
	echo "=================================================================="
	# Steps skipped or never reached count as failed.
	echo "check: $passed passed, $((${#steps[@]} - passed)) failed"
} | tee "$results/verdict.txt"
((passed == ${#steps[@]}))
