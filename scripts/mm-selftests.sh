#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The kernel's own mm selftests (6.1: tools/testing/selftests/vm, 7.x:
# .../mm), built from the tree under test and installed as its kselftest
# install does, run with its runner on two kernels of one configuration:
# with the fixes and without them.  Every test that passes on the kernel
# without the fixes must pass with them (a pass-set comparison: a test
# that fails or skips on both says nothing about the fixes, and is
# listed, not judged).
#
#   mm-selftests.sh <tree> <headers build dir> <kernel with> <kernel without> <workdir> <result>
#   mm-selftests.sh judge <log with> <log without> <result>
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
# output), <kernel>.console.log, <kernel>.tsv (test, result), compare.tsv
# (test, without, with), klog.txt (the comparison), klog-without.txt (the
# reports of the run without the fixes, quoted whole).

set -euo pipefail
PROG=mm-selftests
here=$(dirname "$(realpath "$0")")
# shellcheck source=lib.sh
. "$here/lib.sh"

# results <runner log> <tsv>: the tests of run_vmtests.sh in the log
# (any depth of the runners' "# "), one line each: command, PASS|FAIL|SKIP,
# or NONE when the run ended before its result (a timeout, a crash).  A
# [PASS] whose kselftest programs' "Totals:" lines count no pass, no
# failure and a skip is a SKIP: the program ran none of its tests (7.x's
# gup_test without /sys/kernel/debug/gup_test exits 0 so).
results() {
	awk '
		{ sub(/^(# )+/, ""); sub(/^#$/, "") }
		/^running / && prev ~ /^-+$/ && length(prev) == length($0) {
			if (cur != "") out()
			cur = substr($0, 9); res = "NONE"; tot = kpass = kfail = kskip = 0
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
			printf "%s\t%s\n", k, res
		}
		END { if (cur != "") out() }' "$1" >"$2"
}

# judge <log with> <log without> <result>: the pass-set comparison.
judge() {
	local with=$1 without=$2 result=$3 art nwith nwithout npass regress
	art=$(dirname "$result")
	mkdir -p "$art"
	results "$with" "$art/with.tsv"
	results "$without" "$art/without.tsv"
	nwith=$(wc -l <"$art/with.tsv")
	nwithout=$(wc -l <"$art/without.tsv")
	((nwithout > 0)) || die "no test result in $without: nothing to compare against"
	((nwith > 0)) || die "no test result in $with"
	# test, result without the fixes, result with them (MISSING: not run).
	awk -F'\t' '
		NR == FNR { w[$1] = $2; next }
		{ o[$1] = $2; order[++n] = $1 }
		END {
			for (i = 1; i <= n; i++) {
				k = order[i]; printf "%s\t%s\t%s\n", k, o[k], (k in w) ? w[k] : "MISSING"
			}
			for (k in w) if (!(k in o)) printf "%s\tMISSING\t%s\n", k, w[k]
		}' "$art/with.tsv" "$art/without.tsv" >"$art/compare.tsv"
	npass=$(awk -F'\t' '$2 == "PASS" && $3 == "PASS"' "$art/compare.tsv" | wc -l)
	regress=$(awk -F'\t' '$2 == "PASS" && $3 != "PASS" { printf "%s (%s), ", $1, $3 }' "$art/compare.tsv")
	echo "tests whose result differs, or that did not pass on both (without -> with):"
	awk -F'\t' '!($2 == "PASS" && $3 == "PASS") { printf "    %-60s %s -> %s\n", $1, $2, $3 }' "$art/compare.tsv"
	if [[ -n $regress ]]; then
		echo "mm-selftests: FAIL: passed without the fixes, not with them: ${regress%, }" | tee "$result"
		return 1
	fi
	echo "mm-selftests: every test that passed without the fixes passed with them: $npass of $nwithout tests pass on both ($(awk -F'\t' '$2 != "PASS"' "$art/compare.tsv" | wc -l) did not pass without the fixes; $nwith results with them)" |
		tee "$result"
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
	[[ $# -eq 4 ]] || die "usage: $0 judge <log with> <log without> <result>"
	[[ -f $2 && -f $3 ]] || die "no such log: $2 or $3"
	judge "$2" "$3" "$4"
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
run_on() {
	local name=$1 kernel=$2 rc=0 dir=/tmp/mm-selftests
	log "$name: booting $(basename "$kernel") ($VNG_MEMORY): run_kselftest.sh $MM_TESTS"
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
	if [[ $name == with ]]; then run_on with "$with"; else run_on without "$without"; fi
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

rc=0
judge "$art/with.log" "$art/without.log" "$result" || rc=$?
# The kernel logs: a report with the fixes that the run without them does
# not have fails, quoted (scripts/klog.py compare); one it has too comes
# from the tree or the tests, not from the fixes: listed, in the result.
klog_rc=0
python3 "$here/klog.py" compare "$art/with.console.log" "$art/without.console.log" >"$art/klog.txt" || klog_rc=$?
klog_judge "$art/without.console.log" "$art/klog-without.txt" >/dev/null
cat "$art/klog.txt" >&2
case $klog_rc in
0) ;;
1)
	echo "mm-selftests: FAIL: the kernel log of the run with the fixes has a report the run without them has not (quoted above)" |
		tee -a "$result"
	exit 1
	;;
*) die "cannot compare the kernel logs $art/with.console.log and $art/without.console.log" ;;
esac
# klog.py's last line: "... each also in <ref>: <signature> xN; ...".
same=$(sed -n 's/^klog: no new report: \([0-9]*\) report(s) in .*, each also in .*\/without\.console\.log: /\1 report(s) with the fixes, each also without them (/p' "$art/klog.txt")
if [[ -n $same ]]; then
	echo "mm-selftests: the kernel logs: $same); none new" | tee -a "$result"
else
	echo "mm-selftests: the kernel log with the fixes is clean" | tee -a "$result"
fi
exit "$rc"
