#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The kernel's own mm selftests (6.1: tools/testing/selftests/vm, 7.x:
# .../mm), built from the tree under test and installed as its kselftest
# install does, run with its runner on two kernels of one configuration:
# with the fixes and without them.  Every test that passes on the kernel
# without the fixes must pass with them (a pass-set comparison: a test
# that fails or skips on both says nothing about the fixes, and is
# listed, not judged).  One run of each kernel cannot tell a flaky test
# from a regression: a test that passed without the fixes and not with
# them runs again, alone, MM_RERUNS times (default 3; 0: none, the one
# difference fails) on each kernel, and fails the step only when it
# passed in every run without the fixes and did not pass in more than
# half of the runs with them; otherwise it is flaky, named in <result>
# with every run's result, not judged.
#
#   mm-selftests.sh <tree> <headers build dir> <kernel with> <kernel without> <workdir> <result>
#   mm-selftests.sh judge <log with> <log without> <result> [<rerun log with> <rerun log without>]
#   mm-selftests.sh categories <tree>   (7.x: run_vmtests.sh's categories)
#
# <tree>: the kernel tree (its tools/testing/selftests); <headers build
# dir>: a build directory of it (headers_install goes to <workdir>);
# <kernel ...>: a build directory or an image (scripts/vng-run.sh).
# Environment: MM_TESTS (runner arguments; default on 6.1 the whole
# collection, "-c vm"; on 7.x the runner test of each category of
# MM_CATEGORIES: its ksft_<category>.sh, which runs "run_vmtests.sh -t
# <category>"), MM_TIMEOUT (each runner test's timeout in seconds, default
# 3600: the 6.1 collection is one script), MM_CATEGORIES (7.x only, not
# with MM_TESTS: the categories of run_vmtests.sh to run; "all" for every
# one, "-c mm"; default: those that unmap, zap, move, remap,
# write-protect, reap, migrate or collapse user memory, the paths the
# fixes touch - see DEFAULT_CATEGORIES; left out: hugetlb, ksm, huge
# address spaces, compaction, in-kernel test modules (vmalloc, hmm,
# page_frag), memory failure, pkeys, memfd_secret, mdwe, pfnmap, which
# take no path the fixes change or need hardware and modules the guest
# lacks).  6.1's run_vmtests.sh has no categories: it runs whole.
#
# The kernel logs are compared the same way (scripts/klog.py compare): a
# report with the fixes fails unless the run without them has it too (the
# tree's own bugs, which a test may provoke: 6.1.192's hugetlb_split()
# asserts an i_mmap_rwsem __vma_adjust() takes only after it); those are
# named in <result>.  Each boot copies the install into a tmpfs of the
# guest and runs it there, in MM_MEMORY (default 4G).
#
# MM_COUNT=yes (7.x and 6.1 alike; default no): the window amplifier
# (selftests/amplifier), built against <headers build dir>, is loaded in
# the guest at delay 0 and counts in every task the batched TLB flushes
# (arch_tlbbatch_flush()) and how many of them covered a dirty PTE:
# reclaim's, whose dirty case is the only one in which patches/7.2-fix's
# reclaim patch changes what shrink_folio_list() does, and migration's
# (compaction batches its flushes too), so an upper bound.  The runner's
# tests then run one at a time, each followed by a line
# "mm-selftests-count: <test> seconds=N batched=N writable=N" (the
# counters since the boot) in <kernel>.log,
# and both kernels' lines are listed in counts.txt.  With MM_COUNT=yes,
# MM_BOOTS=with (or without) boots that kernel alone: its counts and test
# results, no comparison and no verdict (an experiment, not a step).
#
# A test is a run_test of run_vmtests.sh: its "running <command>" title
# (framed by dashes) and the [PASS], [FAIL] or [SKIP] that follows; both
# versions print them.  Kept next to <result>: <kernel>.log (the guest's
# output), <kernel>.console.log, <kernel>.tsv (test, result, runner
# test), compare.tsv (test, without, with, runner test); with reruns, <kernel>-rerun.log
# (and .console.log), reruns.tsv (test, every result without, with) and
# <kernel>-all.console.log (both boots' consoles, the ones compared);
# klog.txt (the comparison), klog-without.txt (the reports of the run
# without the fixes, quoted whole).

set -euo pipefail
PROG=mm-selftests
here=$(dirname "$(realpath "$0")")
# shellcheck source=lib.sh
. "$here/lib.sh"

# results <runner log> <tsv>: the tests of run_vmtests.sh in the log
# (any depth of the runners' "# "), one line each: command, PASS|FAIL|SKIP
# or NONE when the run ended before its result (a timeout, a crash), and
# the kselftest runner's test that ran it (ksft_<category>.sh on 7.x,
# run_vmtests.sh on 6.1; empty when the log has no runner header).  A
# [PASS] whose kselftest programs' "Totals:" lines count no pass, no
# failure and a skip is a SKIP: the program ran none of its tests (7.x's
# gup_test without /sys/kernel/debug/gup_test exits 0 so).
results() {
	awk '
		{ sub(/^(# )+/, ""); sub(/^#$/, "") }
		/^selftests: [^ ]+: [^ ]+$/ { runner = $3 }
		/^running / && prev ~ /^-+$/ && length(prev) == length($0) {
			if (cur != "") out()
			cur = substr($0, 9); cur_runner = runner; res = "NONE"; tot = kpass = kfail = kskip = 0
		}
		cur != "" && /^Totals: pass:[0-9]+ fail:[0-9]+ / {
			tot++
			for (i = 2; i <= NF; i++) {
				split($i, kv, ":")
				if (kv[1] == "pass" || kv[1] == "xpass") kpass += kv[2]
				else if (kv[1] == "fail" || kv[1] == "error") kfail += kv[2]
				else if (kv[1] == "skip") kskip += kv[2]
			}
		}
		cur != "" && /^\[(PASS|FAIL|SKIP)\]$/ {
			res = substr($0, 2, 4)
			if (res == "PASS" && tot && !kpass && !kfail && kskip) res = "SKIP"
		}
		{ prev = $0 }
		function out(   k) {
			k = cur; n[k]++
			if (n[k] > 1) k = k " #" n[k]
			printf "%s\t%s\t%s\n", k, res, cur_runner
		}
		END { if (cur != "") out() }' "$1" >"$2"
}

# rerun_results <rerun log> <tsv>: the reruns in a log of the rerun boot,
# one line each: test, PASS|FAIL|SKIP|NONE.  Each rerun starts with a line
# "mm-selftests-rerun: <n> <runner test>: <test>" (the rerun script's); its
# result is that test's in the output up to the next such line, NONE when
# the output has none (the run died first).
rerun_results() {
	local log=$1 out=$2 tmp n key res
	tmp=$(mktemp -d)
	awk -v d="$tmp" '
		/^mm-selftests-rerun: [0-9]+ [^ ]+: / {
			n++; k = $0; sub(/^mm-selftests-rerun: [0-9]+ [^ ]+: /, "", k)
			print k >(d "/" n ".test"); printf "" >(d "/" n ".log"); next
		}
		n { print >(d "/" n ".log") }' "$log"
	: >"$out"
	while read -r n; do
		key=$(<"$tmp/$n.test")
		results "$tmp/$n.log" "$tmp/$n.tsv"
		res=$(awk -F'\t' -v k="$key" '$1 == k { print $2; exit }' "$tmp/$n.tsv")
		printf '%s\t%s\n' "$key" "${res:-NONE}" >>"$out"
	done < <(find "$tmp" -name '*.test' -printf '%f\n' | sed 's/\.test$//' | sort -n)
	rm -rf "$tmp"
}

# rerun_pick regress|flaky <reruns.tsv>: its tests of that kind, each
# with its counts, comma-separated: a regression passed in every run
# without the fixes and did not pass in more than half of those with them.
rerun_pick() {
	awk -F'\t' -v what="$1" '
		{
			no = split($2, o, " "); nw = split($3, w, " "); fo = fw = 0
			for (i = 1; i <= no; i++) fo += o[i] != "PASS"
			for (i = 1; i <= nw; i++) fw += w[i] != "PASS"
			r = (fo == 0 && 2 * fw > nw) ? "regress" : "flaky"
			if (r == what)
				printf "%s (with the fixes %d of %d runs did not pass: %s; without them %d of %d: %s), ", $1, fw, nw, $3, fo, no, $2
		}' "$2"
}

# judge <log with> <log without> <result> [<rerun log with> <rerun log
# without>]: the pass-set comparison.  A test that passed without the
# fixes and not with them fails the step; with the logs of its reruns
# (the same test alone, several times on each kernel), only when it
# passed in every run without the fixes and did not pass in most (more
# than half) of the runs with them.  Any other such test is flaky: named
# in <result> with its results, not judged (a failure in one run in four
# with the fixes and none in four without cannot be told from chance).
# compare <log with> <log without> <dir>: <dir>/with.tsv and without.tsv
# (results()) and compare.tsv: test, result without the fixes, result
# with them (MISSING: not run), its runner test.
compare() {
	local with=$1 without=$2 art=$3
	results "$with" "$art/with.tsv"
	results "$without" "$art/without.tsv"
	[[ -s $art/without.tsv ]] || die "no test result in $without: nothing to compare against"
	[[ -s $art/with.tsv ]] || die "no test result in $with"
	awk -F'\t' '
		NR == FNR { w[$1] = $2; wr[$1] = $3; next }
		{ o[$1] = $2; r[$1] = $3; order[++n] = $1 }
		END {
			for (i = 1; i <= n; i++) {
				k = order[i]; printf "%s\t%s\t%s\t%s\n", k, o[k], (k in w) ? w[k] : "MISSING", r[k]
			}
			for (k in w) if (!(k in o)) printf "%s\tMISSING\t%s\t%s\n", k, w[k], wr[k]
		}' "$art/with.tsv" "$art/without.tsv" >"$art/compare.tsv"
}

# regressed <compare.tsv>: its rows of the tests that passed without the
# fixes and not with them.
regressed() {
	awk -F'\t' '$2 == "PASS" && $3 != "PASS"' "$1"
}

judge() {
	local with=$1 without=$2 result=$3 rwith=${4:-} rwithout=${5:-} art nwith nwithout npass regress flaky
	art=$(dirname "$result")
	mkdir -p "$art"
	compare "$with" "$without" "$art"
	nwith=$(wc -l <"$art/with.tsv")
	nwithout=$(wc -l <"$art/without.tsv")
	npass=$(awk -F'\t' '$2 == "PASS" && $3 == "PASS"' "$art/compare.tsv" | wc -l)
	echo "tests whose result differs, or that did not pass on both (without -> with):"
	awk -F'\t' '!($2 == "PASS" && $3 == "PASS") { printf "    %-60s %s -> %s\n", $1, $2, $3 }' "$art/compare.tsv"
	rm -f "$art/reruns.tsv"
	if [[ -z $rwith ]]; then
		regress=$(regressed "$art/compare.tsv" | awk -F'\t' '{ printf "%s (%s), ", $1, $3 }')
		flaky=
	else
		rerun_results "$rwith" "$art/with-rerun.tsv"
		rerun_results "$rwithout" "$art/without-rerun.tsv"
		# test, the results without the fixes, with them (the first run's first).
		regressed "$art/compare.tsv" | awk -F'\t' '
			FILENAME ~ /\/with-rerun\.tsv$/ { rw[$1] = rw[$1] " " $2; next }
			FILENAME ~ /\/without-rerun\.tsv$/ { ro[$1] = ro[$1] " " $2; next }
			{ printf "%s\t%s%s\t%s%s\n", $1, $2, ro[$1], $3, rw[$1] }' \
			"$art/with-rerun.tsv" "$art/without-rerun.tsv" - >"$art/reruns.tsv"
		local t o w
		while IFS=$'\t' read -r t o w; do
			[[ $o == *" "* ]] || die "no rerun of $t in $rwithout: cannot tell a flaky test from a regression"
			[[ $w == *" "* ]] || die "no rerun of $t in $rwith: cannot tell a flaky test from a regression"
		done <"$art/reruns.tsv"
		echo "reruns of the tests that passed without the fixes and not with them (each run's result, the first run's first):"
		awk -F'\t' '{ printf "    %-60s without: %s; with: %s\n", $1, $2, $3 }' "$art/reruns.tsv"
		regress=$(rerun_pick regress "$art/reruns.tsv")
		flaky=$(rerun_pick flaky "$art/reruns.tsv")
	fi
	rm -f "$result"
	[[ -z $flaky ]] || echo "mm-selftests: flaky, not judged: ${flaky%, }" | tee -a "$result"
	if [[ -n $regress ]]; then
		echo "mm-selftests: FAIL: passed without the fixes, not with them: ${regress%, }" | tee -a "$result"
		return 1
	fi
	echo "mm-selftests: every test that passed without the fixes passed with them${flaky:+ or is flaky (above)}: $npass of $nwithout tests pass on both ($(awk -F'\t' '$2 != "PASS"' "$art/compare.tsv" | wc -l) did not pass without the fixes; $nwith results with them)" |
		tee -a "$result"
}

# categories <run_vmtests.sh>: its categories (CATEGORY="..."), sorted,
# one line.
categories() {
	sed -n 's/.*CATEGORY="\([a-z_-]*\)".*/\1/p' "$1" | sort -u | xargs
}

if [[ ${1:-} == categories ]]; then
	[[ $# -eq 2 ]] || die "usage: $0 categories <tree>"
	[[ -f $2/tools/testing/selftests/mm/run_vmtests.sh ]] ||
		die "$2 has no tools/testing/selftests/mm/run_vmtests.sh (the 7.x collection)"
	categories "$2/tools/testing/selftests/mm/run_vmtests.sh"
	exit
fi

if [[ ${1:-} == judge ]]; then
	[[ $# -eq 4 || $# -eq 6 ]] ||
		die "usage: $0 judge <log with> <log without> <result> [<rerun log with> <rerun log without>]"
	for f in "$2" "$3" "${@:5}"; do
		[[ -f $f ]] || die "no such log: $f"
	done
	judge "${@:2}"
	exit
fi

[[ $# -eq 6 ]] || die "usage: $0 <tree> <headers build dir> <kernel with> <kernel without> <workdir> <result> | judge <log with> <log without> <result>"
tree=$1 hdrbuild=$2 with=$3 without=$4 work=$5 result=$6
MM_TIMEOUT=${MM_TIMEOUT:-3600}
MM_MEMORY=${MM_MEMORY:-4G}
[[ $MM_MEMORY =~ ^[1-9][0-9]*[MG]$ ]] || die "MM_MEMORY must be a size like 4G or 3072M (got '$MM_MEMORY')"
[[ $MM_TIMEOUT =~ ^[1-9][0-9]*$ ]] || die "MM_TIMEOUT must be a positive number of seconds (got '$MM_TIMEOUT')"
sel=$tree/tools/testing/selftests
if [[ -f $sel/mm/run_vmtests.sh ]]; then
	col=mm
elif [[ -f $sel/vm/run_vmtests.sh ]]; then
	col=vm
else
	die "$tree has no tools/testing/selftests/{mm,vm}/run_vmtests.sh"
fi
DEFAULT_CATEGORIES="mmap mremap mlock gup_test userfaultfd madv_guard madv_populate process_madv process_mrelease vma_merge soft_dirty pagemap cow thp migration mkdirty rmap"
if [[ $col == vm ]]; then
	[[ -z ${MM_CATEGORIES:-} ]] ||
		die "MM_CATEGORIES: the vm collection's run_vmtests.sh (6.1) has no categories; it runs whole"
	MM_TESTS=${MM_TESTS:--c $col}
elif [[ -n ${MM_TESTS:-} ]]; then
	[[ -z ${MM_CATEGORIES:-} ]] || die "MM_TESTS and MM_CATEGORIES: give one of them, not both"
else
	# Each category is a test of the runner: ksft_<category>.sh.
	known=$(categories "$sel/$col/run_vmtests.sh")
	MM_CATEGORIES=${MM_CATEGORIES:-$DEFAULT_CATEGORIES}
	if [[ $MM_CATEGORIES == all ]]; then
		MM_TESTS="-c $col"
	else
		MM_TESTS=
		for c in $MM_CATEGORIES; do
			[[ " $known " == *" $c "* ]] ||
				die "MM_CATEGORIES: '$c' is not a category of $sel/$col/run_vmtests.sh ($known)"
			t=ksft_${c//-/_}.sh
			[[ -f $sel/$col/$t ]] || die "MM_CATEGORIES: category '$c' has no runner test $sel/$col/$t"
			MM_TESTS+="${MM_TESTS:+ }-t $col:$t"
		done
	fi
fi
[[ $MM_TESTS =~ ^(-[ct]\ $col(:[a-z0-9_.-]+)?)(\ -[ct]\ $col(:[a-z0-9_.-]+)?)*$ ]] ||
	die "MM_TESTS must be runner arguments of the $col collection, like '-c $col' or '-t $col:ksft_mmap.sh' (got '$MM_TESTS')"
MM_RERUNS=${MM_RERUNS:-3}
[[ $MM_RERUNS =~ ^([0-9]|1[0-9]|20)$ ]] || die "MM_RERUNS must be a number of reruns from 0 to 20 (got '$MM_RERUNS')"
MM_COUNT=${MM_COUNT:-no}
[[ $MM_COUNT == yes || $MM_COUNT == no ]] || die "MM_COUNT must be yes or no (got '$MM_COUNT')"
MM_BOOTS=${MM_BOOTS:-without with}
case $MM_BOOTS in
"without with") ;;
with | without)
	[[ $MM_COUNT == yes ]] || die "MM_BOOTS=$MM_BOOTS (one kernel, no comparison) is for MM_COUNT=yes runs only"
	;;
*) die "MM_BOOTS must be 'without with', 'with' or 'without' (got '$MM_BOOTS')" ;;
esac
for k in "$with" "$without"; do
	[[ -e $k ]] || die "kernel $k not found"
done
[[ -f $hdrbuild/.config ]] || die "no configured kernel build in $hdrbuild"
need gcc gcc
need make make

mkdir -p "$work"
work=$(realpath "$work")
art=$(dirname "$result")
mkdir -p "$art"
art=$(realpath "$art")
rm -f "$result" "$art"/*.tsv "$art"/*.log "$art/klog.txt"

# The tree's UAPI headers, then its kselftest install of the collection
# (run_kselftest.sh, kselftest-list.txt, the programs and scripts).
log "building the $col selftests of $tree"
make -s -C "$tree" O="$hdrbuild" ARCH=x86_64 "${KMAKE_EXTRA[@]}" INSTALL_HDR_PATH="$work/usr" headers_install \
	>"$work/headers.log" 2>&1 || { cat "$work/headers.log" >&2; die "headers_install failed"; }
rm -rf "$work/kselftest" "$work/build"
make -C "$sel" TARGETS=$col O="$work/build" KHDR_INCLUDES="-isystem $work/usr/include" \
	INSTALL_PATH="$work/kselftest" install >"$work/build.log" 2>&1 ||
	{ tail -n 30 "$work/build.log" >&2; die "the $col selftests do not build (log: $work/build.log)"; }
[[ -x $work/kselftest/run_kselftest.sh && -f $work/kselftest/$col/run_vmtests.sh ]] ||
	die "the install has no run_kselftest.sh or $col/run_vmtests.sh (log: $work/build.log)"
for t in $MM_TESTS; do
	[[ $t != "$col:"* ]] || grep -qxF "$t" "$work/kselftest/kselftest-list.txt" ||
		die "MM_TESTS: $t is not a test of the install (kselftest-list.txt)"
done
run_tests="./run_kselftest.sh $MM_TESTS 2>&1 | cat"
if [[ $MM_COUNT == yes ]]; then
	log "MM_COUNT=yes: building the amplifier against $hdrbuild"
	build_test_module amplifier "$hdrbuild" "$work"
	p=/sys/module/tlb_flush_delay/parameters
	# A script: too long for the kernel command line (vng-run.sh).
	cat >"$work/count-tests.sh" <<-EOF
		#!/bin/sh
		set -e
		insmod $work/amplifier/tlb_flush_delay.ko delay_us=0 fault_delay_us=0 batch_symbol= \\
			count_symbol=arch_tlbbatch_flush target_tgid=-1
		[ "\$(cat $p/count_hits)" = 0 ] || { echo "the amplifier does not count arch_tlbbatch_flush"; exit 1; }
		for t in ${MM_TESTS//-[ct] /}; do
			s=\$(date +%s)
			case \$t in *:*) ./run_kselftest.sh -t \$t 2>&1 | cat ;; *) ./run_kselftest.sh -c \$t 2>&1 | cat ;; esac
			echo "mm-selftests-count: \$t seconds=\$((\$(date +%s) - s)) batched=\$(cat $p/count_hits) writable=\$(cat $p/count_writable_hits)"
		done
	EOF
	run_tests="sh $work/count-tests.sh"
fi
nprog=$(find "$work/kselftest/$col" -maxdepth 1 -type f -executable | wc -l)
log "$nprog programs and scripts installed in $work/kselftest/$col"
sed -i "s/^timeout=.*/timeout=$MM_TIMEOUT/" "$work/kselftest/$col/settings"
# The runner's tests selected (a bound for the boot's timeout).
if [[ $MM_TESTS == "-c $col" ]]; then
	nsel=$(grep -c "^$col:" "$work/kselftest/kselftest-list.txt")
else
	nsel=$(wc -w <<<"$MM_TESTS")
	nsel=$((nsel / 2))
fi

# One boot per kernel, the same install, copied into a tmpfs of the guest
# and run there: the tests write in their directory (6.1's run_vmtests.sh
# mounts hugetlbfs at ./huge, soft-dirty maps a file of "." MAP_SHARED,
# which the host directory shared over 9p cannot give).  MM_MEMORY (the
# guest's memory, default 4G, not the 2G of the other steps): mremap_test
# maps 2 GiB regions, refused (ENOMEM) in 2G.
VNG_MEMORY=$MM_MEMORY
export VNG_MEMORY
dir=/tmp/mm-selftests
# run_on <name> <kernel> <what it runs, for the log>
run_on() {
	local name=$1 kernel=$2 rc=0
	log "$name: booting $(basename "$kernel") ($VNG_MEMORY): $3"
	VNG_CONSOLE=$art/$name.console.log VNG_OPTS="${VNG_OPTS:-} --user root" VNG_TIMEOUT=$((MM_TIMEOUT * nsel + 600)) \
		"$here/vng-run.sh" "$kernel" "mkdir -p $dir && mount -t tmpfs mm-selftests $dir && cp -a $work/kselftest/. $dir/ &&
			cd $dir && $run_tests" \
		>"$art/$name.log" 2>&1 || rc=$?
	grep -q 'vng-run: guest command starting' "$art/$name.log" ||
		die "$name: the guest did not start the tests (vng exit status $rc; log: $art/$name.log)"
	results "$art/$name.log" "$art/$name.tsv"
	log "$name: $(wc -l <"$art/$name.tsv") tests: $(cut -f2 "$art/$name.tsv" | sort | uniq -c | awk '{ printf "%s%s %s", s, $1, $2; s = ", " }')"
}
for name in $MM_BOOTS; do
	if [[ $name == with ]]; then k=$with; else k=$without; fi
	run_on "$name" "$k" "run_kselftest.sh $MM_TESTS"
done
if [[ $MM_COUNT == yes ]]; then
	for name in $MM_BOOTS; do
		grep -h '^mm-selftests-count: ' "$art/$name.log" | sed "s/^/$name: /"
	done | tee "$art/counts.txt" >&2
	[[ -s $art/counts.txt ]] || die "MM_COUNT=yes: no mm-selftests-count line in the logs (the amplifier did not load?)"
	if [[ $MM_BOOTS != "without with" ]]; then
		echo "mm-selftests: MM_BOOTS=$MM_BOOTS: one kernel, counts in $art/counts.txt; not compared, no verdict" | tee "$result"
		exit 0
	fi
fi

# The tests that passed without the fixes and not with them, each run
# again MM_RERUNS times on both kernels, alone: its runner test (the
# ksft_<category>.sh or run_vmtests.sh that ran it) with run_vmtests.sh's
# run_test() told to run only that test (MM_RERUN_ONLY, its "running"
# title): the same setup as in the whole run, without the other tests.
reruns=()
compare "$art/with.log" "$art/without.log" "$art"
mapfile -t cand < <(regressed "$art/compare.tsv" | awk -F'\t' '{ printf "%s\t%s\n", $4, $1 }')
if ((${#cand[@]} && MM_RERUNS > 0)); then
	{
		echo '#!/bin/sh'
		echo "# ${#cand[@]} test(s), $MM_RERUNS rerun(s) each, from $dir/$col."
		echo 'set -e'
		echo "cd $dir/$col"
		# shellcheck disable=SC2016 # the guest's shell expands them
		echo 'sed -i '\''/^run_test() {$/a [ -z "${MM_RERUN_ONLY:-}" ] || [ "$*" = "$MM_RERUN_ONLY" ] || return 0'\'' run_vmtests.sh'
		echo 'grep -q MM_RERUN_ONLY run_vmtests.sh || { echo "mm-selftests-rerun: run_vmtests.sh has no run_test() to filter"; exit 1; }'
		for i in $(seq "$MM_RERUNS"); do
			for c in "${cand[@]}"; do
				runner=${c%%$'\t'*} key=${c#*$'\t'}
				[[ -n $runner && $runner =~ ^[A-Za-z0-9_.-]+$ ]] ||
					die "cannot rerun $key: no runner test (its \"selftests: $col: ...\" header) in $art/with.log"
				[[ $key != *"'"* ]] || die "cannot rerun $key: a quote in its title"
				echo "echo 'mm-selftests-rerun: $i $runner: $key'"
				echo "MM_RERUN_ONLY='${key% #[0-9]*}' ./$runner 2>&1 | cat"
			done
		done
	} >"$work/rerun.sh"
	log "${#cand[@]} test(s) passed without the fixes and not with them: running each $MM_RERUNS more times on both kernels: $(printf '%s\n' "${cand[@]}" | cut -f2 | paste -sd, | sed 's/,/, /g')"
	run_tests="sh $work/rerun.sh" nsel=$((${#cand[@]} * MM_RERUNS))
	run_on without-rerun "$without" "the rerun script $work/rerun.sh"
	run_on with-rerun "$with" "the rerun script $work/rerun.sh"
	reruns=("$art/with-rerun.log" "$art/without-rerun.log")
fi
rc=0
judge "$art/with.log" "$art/without.log" "$result" "${reruns[@]}" || rc=$?
# The kernel logs: a report with the fixes that the run without them does
# not have fails, quoted (scripts/klog.py compare); one it has too comes
# from the tree or the tests, not from the fixes: listed, in the result.
# With reruns, each kernel's two boots are one log (<kernel>-all.console.log).
kwith=$art/with.console.log kwithout=$art/without.console.log
if ((${#reruns[@]})); then
	cat "$art/with.console.log" "$art/with-rerun.console.log" >"$art/with-all.console.log"
	cat "$art/without.console.log" "$art/without-rerun.console.log" >"$art/without-all.console.log"
	kwith=$art/with-all.console.log kwithout=$art/without-all.console.log
fi
klog_rc=0
python3 "$here/klog.py" compare "$kwith" "$kwithout" >"$art/klog.txt" || klog_rc=$?
klog_judge "$kwithout" "$art/klog-without.txt" >/dev/null
cat "$art/klog.txt" >&2
case $klog_rc in
0) ;;
1)
	echo "mm-selftests: FAIL: the kernel log of the run with the fixes has a report the run without them has not (quoted above)" |
		tee -a "$result"
	exit 1
	;;
*) die "cannot compare the kernel logs $kwith and $kwithout" ;;
esac
# klog.py's last line: "... each also in <ref>: <signature> xN; ...".
same=$(sed -n 's/^klog: no new report: \([0-9]*\) report(s) in .*, each also in .*\/without[a-z-]*\.console\.log: /\1 report(s) with the fixes, each also without them (/p' "$art/klog.txt")
if [[ -n $same ]]; then
	echo "mm-selftests: the kernel logs: $same); none new" | tee -a "$result"
else
	echo "mm-selftests: the kernel log with the fixes is clean" | tee -a "$result"
fi
exit "$rc"
