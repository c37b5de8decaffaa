#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The tools of make check, checked without a kernel, in seconds:
#
#   check-tools.sh <kernel tree> [<recorded logs dir>] [<result>]
#
# 1. shellcheck on every shell script (scripts/, scripts/guest/, the
#    selftest runners, .ci/run) and py_compile on every Python script;
# 2. every judge run on recorded logs (default tests/judges/), each with
#    the verdict it must give: a passing run passes; a kernel without the
#    fix judged as fixed fails; a case that fails for the wrong reason, a
#    missing case, a crash (a log cut short), a skipped case, a lost write
#    on the patched kernel, a control that did not lose, a variant that
#    could not run, an amplifier that never fired: each fails, saying so;
#    and check.ktap of a recorded run reads with the tree's kunit.py parse.
#
# <kernel tree>: a tree with tools/testing/kunit (the judges use its KUnit
# parser).  The recorded logs are real runs (tests/judges/README); the
# broken ones are made from them here, by the edit each case names.

set -euo pipefail
PROG=check-tools
here=$(dirname "$(realpath "$0")")
repo=$(realpath "$here/..")
# shellcheck source=lib.sh
. "$here/lib.sh"

[[ $# -ge 1 && $# -le 3 ]] || die "usage: $0 <kernel tree> [<recorded logs dir>] [<result>]"
tree=$1 J=${2:-$repo/tests/judges} result=${3:-}
[[ -f $tree/tools/testing/kunit/kunit_parser.py ]] || die "$tree has no tools/testing/kunit/kunit_parser.py"
[[ -d $J ]] || die "no recorded logs in $J"
need shellcheck shellcheck
need python3 python3
[[ -z $result ]] || rm -f "$result"
J=$(realpath "$J")
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT

# 1. Static checks.
mapfile -t shells < <(cd "$repo" && ls scripts/*.sh scripts/guest/*.sh selftests/*.sh .ci/run)
(cd "$repo" && shellcheck -x "${shells[@]}") || die "shellcheck found problems (above)"
mapfile -t pys < <(cd "$repo" && ls scripts/*.py)
(cd "$repo" && PYTHONPYCACHEPREFIX=$T/pycache python3 -m py_compile "${pys[@]}") ||
	die "py_compile failed (above)"
log "shellcheck: ${#shells[@]} shell scripts clean; py_compile: ${#pys[@]} Python scripts"

# 2. The judges on recorded logs.
pass=0 fail=0
# expect <name> <status> <text> <command...>: the command must exit with
# <status> and print <text> (stdout or stderr).
expect() {
	local name=$1 want=$2 text=$3 out rc=0
	shift 3
	out=$("$@" 2>&1) || rc=$?
	# The whole text, newlines included (grep -F would take each line of a
	# multi-line text as a pattern of its own, any one of them enough).
	if [[ $rc == "$want" && $out == *"$text"* ]]; then
		pass=$((pass + 1))
		printf '  ok    %s\n' "$name"
	else
		fail=$((fail + 1))
		printf '  FAIL  %s: exit status %s (want %s), output %s "%s":\n' "$name" "$rc" "$want" \
			"$([[ $out == *"$text"* ]] && echo has || echo lacks)" "$text"
		printf '%s\n' "$out" | tail -n 8 | sed 's/^/        /'
	fi
}
# edit <out> <in> <sed expression>: a broken copy of a recorded log.
edit() {
	sed -e "$3" "$2" >"$T/$1"
	cmp -s "$2" "$T/$1" && die "the edit '$3' changes nothing in $2: the recorded log moved on"
	return 0
}

kv() {
	python3 "$here/kunit-verdict.py" --tree "$tree" "$@"
}
mg=(--suite mmu_gather --source "$J/kunit/mmu_gather-cases.c")
dr=(--suite delayed_rmap --source "$J/kunit/delayed_rmap-cases.rs")
log "KUnit judge (kunit-verdict.py):"
expect "mmu_gather, patched kernel: passes" 0 "17 results: 17 passed" \
	kv "${mg[@]}" --mode patched "$J/kunit/mmu_gather-patched.log"
expect "mmu_gather, kernel without the fixes: the fix cases fail as required" 0 "fail as required" \
	kv "${mg[@]}" --mode nofix "$J/kunit/mmu_gather-nofix.log"
expect "mmu_gather, kernel without the fixes judged as patched: fails" 1 "NOT AS EXPECTED" \
	kv "${mg[@]}" --mode patched "$J/kunit/mmu_gather-nofix.log"
expect "mmu_gather, patched kernel judged as without the fixes: fails" 1 "expected to fail without the fix" \
	kv "${mg[@]}" --mode nofix "$J/kunit/mmu_gather-patched.log"
edit wrong-reason.log "$J/kunit/mmu_gather-nofix.log" 's/unlocked before its deferred TLB flush/unlocked too early/'
expect "mmu_gather, a fix case failing for another reason: fails" 1 'failed, but not with "unlocked before its deferred TLB flush"' \
	kv "${mg[@]}" --mode nofix "$T/wrong-reason.log"
edit missing.log "$J/kunit/mmu_gather-patched.log" '/ok [0-9]* reclaim_dirty_file_folio_unlock_order/d'
expect "mmu_gather, a case missing from the log: fails" 1 "reclaim_dirty_file_folio_unlock_order: did not run" \
	kv "${mg[@]}" --mode patched "$T/missing.log"
# shellcheck disable=SC2016 # a sed address, not a shell expansion
edit crash.log "$J/kunit/mmu_gather-patched.log" '/ok [0-9]* zap_clean_file_page_not_delayed/,$d'
expect "mmu_gather, a boot that died in the suite: fails" 1 "did not run" \
	kv "${mg[@]}" --mode patched "$T/crash.log"
edit skip.log "$J/kunit/mmu_gather-patched.log" 's/\(ok [0-9]* reclaim_dirty_file_folio_unlock_order\)$/\1 # SKIP no batched TLB flush to probe/'
expect "mmu_gather, a skipped case: fails" 1 "reclaim_dirty_file_folio_unlock_order: skipped" \
	kv "${mg[@]}" --mode patched "$T/skip.log"
expect "mmu_gather, no suite in the log: cannot judge" 2 'suite "mmu_gather" not in the log' \
	kv "${mg[@]}" --mode patched "$J/kunit/delayed_rmap-upstream.log"
expect "delayed_rmap, 7.2 with the fixes: passes" 0 "7 results: 7 passed" \
	kv "${dr[@]}" --mode upstream "$J/kunit/delayed_rmap-upstream.log"
expect "delayed_rmap, 7.2 without patches/7.2-fix: no case checks them, all pass" 0 "no case checks what this kernel lacks, all 7 pass" \
	kv "${dr[@]}" --mode nofix "$J/kunit/delayed_rmap-nofix.log"
expect "delayed_rmap, the mutation kernel: fails as required" 0 "shmem_truncate_flush_order fail as required" \
	kv "${dr[@]}" --mode mutation "$J/kunit/delayed_rmap-mutation.log"
expect "delayed_rmap, the mutation kernel judged as the kernel without 7.2-fix: fails" 1 "NOT AS EXPECTED" \
	kv "${dr[@]}" --mode nofix "$J/kunit/delayed_rmap-mutation.log"
rd=(--suite rust_device --source "$J/kunit/rust_device-cases.c")
expect "rust_device, 7.2 with the fixes: passes" 0 "kselftest upstream: suite rust_device: 10 cases, 10 results: 10 passed" \
	kv "${rd[@]}" --mode upstream "$J/kunit/rust_device-upstream.log"
expect "rust_device, 7.2 without patches/7.2-fix: the table and pageout cases fail as required" 0 \
	"dev.lru_page_pageout_unlock_order, dev.shmem_table_flush_order fail as required" \
	kv "${rd[@]}" --mode nofix "$J/kunit/rust_device-nofix.log"
expect "rust_device, the mutation kernel: the module-page and table cases fail as required" 0 \
	"dev.module_pages_flush_order, dev.shmem_table_flush_order fail as required" \
	kv "${rd[@]}" --mode mutation "$J/kunit/rust_device-mutation.log"
expect "rust_device, the mutation kernel judged as without 7.2-fix: fails" 1 \
	'dev.shmem_table_flush_order: failed, but not with "page table detached at its TLB flush, expected attached"' \
	kv "${rd[@]}" --mode nofix "$J/kunit/rust_device-mutation.log"
expect "rust_device, 7.2 with the fixes judged as without them: fails" 1 \
	"dev.lru_page_pageout_unlock_order: SUCCESS, expected to fail without the fix" \
	kv "${rd[@]}" --mode nofix "$J/kunit/rust_device-upstream.log"
edit rd-missing.log "$J/kunit/rust_device-upstream.log" '/^ok [0-9]* dev.lru_page_pageout_unlock_order/d'
expect "rust_device, a test missing from the TAP: fails" 1 "dev.lru_page_pageout_unlock_order: did not run" \
	kv "${rd[@]}" --mode upstream "$T/rd-missing.log"

lw() {
	"$here/lost-write.sh" judge "$@"
}
log "lost-write judge (lost-write.sh judge):"
expect "patched kernel, no loss in 12 variant runs: passes" 0 "0 lost writes in 12 variant runs" \
	lw patched "$J/lost-write/patched.verdicts"
edit lost.verdicts "$J/lost-write/patched.verdicts" '0,/madv_pageout_table: no loss (in \([0-9.]*\) s)/s//madv_pageout_table: LOST (after \1 s: wrote 9, read back 8)/'
expect "patched kernel with one lost write: fails" 1 "FAIL: 1 lost write(s) in 12 variant runs" \
	lw patched "$T/lost.verdicts"
expect "kernel without the fixes, every required variant lost: passes" 0 "required, first loss: remap_fixed: run 1 amplified" \
	env LW_MUST_LOSE='remap_fixed munmap_mmap madv_pageout_table' "$here/lost-write.sh" judge nofix "$J/lost-write/nofix.verdicts"
edit noloss.verdicts "$J/lost-write/nofix.verdicts" 's/madv_pageout_table: LOST (after \([0-9.]*\) s.*/madv_pageout_table: no loss (in \1 s)/'
expect "kernel without the fixes, MADV_PAGEOUT variant did not lose: fails" 1 "FAIL: no lost write in madv_pageout_table" \
	env LW_MUST_LOSE='remap_fixed munmap_mmap madv_pageout_table' "$here/lost-write.sh" judge nofix "$T/noloss.verdicts"
expect "stock 6.1, the zap variants lost: passes" 0 "required, first loss" \
	lw stock "$J/lost-write/stock.verdicts"
# shellcheck disable=SC2016 # a sed address, not a shell expansion
edit error.verdicts "$J/lost-write/patched.verdicts" '$s/: no loss (.*/: ERROR (mount \/dev\/ram0 failed)/'
expect "a variant that could not run: fails" 1 "a variant could not run" \
	lw patched "$T/error.verdicts"
printf 'stock-amplified-1: ERROR (the amplifier never fired: it tested nothing)\n' >"$T/amp.verdicts"
expect "an amplifier that never fired: fails" 1 "a variant could not run" \
	lw stock "$T/amp.verdicts"
: >"$T/empty.verdicts"
expect "no verdict at all: fails" 1 "nothing ran" \
	lw patched "$T/empty.verdicts"

log "selftest TAP (ktap.py results, the KUnit parser):"
kr() {
	python3 "$here/ktap.py" results --kunit-dir "$tree/tools/testing/kunit" "$@"
}
expect "stale_tlb, every variant passed: read as such" 0 $'stale_tlb.truncate.check\tSUCCESS' \
	kr "$J/stale-tlb/6.1-run-1.log"
edit stale.log "$J/stale-tlb/6.1-run-1.log" 's/^# ok 3 stale_tlb.munmap_mmap.check/# not ok 3 stale_tlb.munmap_mmap.check/'
expect "stale_tlb, one variant failed: read as a failure" 0 $'stale_tlb.munmap_mmap.check\tFAILURE' \
	kr "$T/stale.log"
# shellcheck disable=SC2016 # a sed address, not a shell expansion
edit stale-cut.log "$J/stale-tlb/6.1-run-1.log" '/# ok 4 stale_tlb.remap_fixed.check/,$d'
expect "stale_tlb, a run cut short: the missing variants are not read as passed" 0 "totals	pass 3 fail 0 skip 0 other 2" \
	kr "$T/stale-cut.log"
printf 'vng-run: guest command starting\n' >"$T/notap.log"
expect "a log without TAP: no result" 1 "no KTAP/TAP output" kr "$T/notap.log"


log "benchmark judge (bench.py):"
B=$J/bench
bj() {
	python3 "$here/bench.py" "$@"
}
# bj_patched <log>: <log> (an edited copy of patched-6.1's) judged against
# the recorded nofix-6.1 log.
bj_patched() {
	bj --pair patched-6.1=nofix-6.1 patched-6.1="$1" nofix-6.1="$B/nofix-6.1.counts.log"
}
b61=(patched-6.1="$B/patched-6.1.counts.log" nofix-6.1="$B/nofix-6.1.counts.log" perf-mutant-6.1="$B/perf-mutant-6.1.counts.log")
expect "6.1 and 7.x with the fixes within the criteria, the perf mutant caught: passes" 0 "2 kernel pair(s) within the criteria on 17 workload runs; 1 mutant(s) caught" \
	bj --pair patched-6.1=nofix-6.1 --mutant perf-mutant-6.1=nofix-6.1 --pair fixed-7.2=nofix-7.2 "${b61[@]}" \
	fixed-7.2="$B/fixed-7.2.counts.log" nofix-7.2="$B/nofix-7.2.counts.log"
expect "the perf mutant judged as a fixed kernel: fails on its flushes" 1 "W1 ext4: 1025 flushes with, 17 without, in the repetition with the fewest (must be equal)" \
	bj --pair perf-mutant-6.1=nofix-6.1 "${b61[@]}"
expect "a mutant the criteria cannot tell from the kernel without the fix: fails" 1 "passes every flush criterion" \
	bj --mutant patched-6.1=nofix-6.1 "${b61[@]}"
edit flush.log "$B/patched-6.1.counts.log" 's/^\(zapbench: W4 ext4 .*\) flushes=16.0 flushes_min=16 /\1 flushes=17.0 flushes_min=17 /'
expect "one more flush on W4 with the fixes, in every repetition: fails" 1 "W4 ext4: 17 flushes with, 16 without, in the repetition with the fewest (must be equal)" \
	bj_patched "$T/flush.log"
edit resched.log "$B/patched-6.1.counts.log" 's/^\(zapbench: W1 ext4 .*\) flushes=17.0 flushes_min=17 /\1 flushes=17.3 flushes_min=17 /'
expect "one more flush in one of three repetitions (need_resched()): passes" 0 "1 kernel pair(s) within the criteria" \
	bj_patched "$T/resched.log"
edit oldflush.log "$B/patched-6.1.counts.log" 's/^\(zapbench: W1 ext4 .*\) flushes=17.0 flushes_min=17 /\1 flushes=17.2 /'
expect "a log without flushes_min: its mean judged" 1 "W1 ext4: 17.2 flushes with, 17 without (must be equal)" \
	bj_patched "$T/oldflush.log"
edit rmaps.log "$B/patched-6.1.counts.log" 's/^\(zapbench: W1 ext4 .*\) rmaps=16.0 /\1 rmaps=0.0 /'
expect "no tlb_flush_rmaps() call counted with the fixes: fails" 1 "W1 ext4: 0 tlb_flush_rmaps() calls with the fixes" \
	bj_patched "$T/rmaps.log"
edit ipis.log "$B/patched-6.1.counts.log" 's/^\(zapbench: W5 memfd .*\) ipis=17.0 ipis_min=17 /\1 ipis=34.0 ipis_min=34 /'
expect "two TLB IPIs per flush: fails" 1 "W5 memfd: 34 TLB IPIs with, in the repetition with the fewest, for 17+0 flushes" \
	bj_patched "$T/ipis.log"
edit burst.log "$B/patched-6.1.counts.log" 's/^\(zapbench: W4 ext4 .*\) ipis=0.0 ipis_min=0 /\1 ipis=14.7 ipis_min=0 /'
expect "44 TLB IPIs in one of three repetitions (another task's): passes" 0 "1 kernel pair(s) within the criteria" \
	bj_patched "$T/burst.log"
edit oldipis.log "$B/patched-6.1.counts.log" 's/^\(zapbench: W4 ext4 .*\) ipis=0.0 ipis_min=0 /\1 ipis=22.0 /'
expect "a log without ipis_min: its mean judged" 1 "W4 ext4: 22 TLB IPIs with, for 16+0 flushes" \
	bj_patched "$T/oldipis.log"
edit w9.log "$B/patched-6.1.counts.log" 's/^\(zapbench: W9 ext4 .*\) batched=256.0 /\1 batched=512.0 /'
expect "MADV_PAGEOUT flushing twice per SWAP_CLUSTER_MAX folios: fails" 1 "W9 ext4: 16+512 flushes with, 16+16 without (at most 288)" \
	bj_patched "$T/w9.log"
# shellcheck disable=SC2016 # a sed address, not a shell expansion
edit cut.log "$B/patched-6.1.counts.log" '/^zapbench: W6 /,$d'
expect "a run cut short: the workloads it lacks fail" 1 "W6 ext4: counted on nofix-6.1 only" \
	bj_patched "$T/cut.log"
printf 'vng-run: guest command starting\n' >"$T/nobench.log"
expect "a log without figures: cannot judge" 2 "has no zapbench figures" \
	bj_patched "$T/nobench.log"

log "soak judge (soak.sh judge):"
# soak_copy: a copy of the recorded soak (tests/judges/soak: the host's
# files next to the result, and the guest's in guest/).
soak_copy() {
	rm -rf "$T/soak"
	mkdir -p "$T/soak/art" "$T/soak/work"
	cp "$J/soak/soak.conf" "$J/soak/guest.log" "$J/soak/console.log" "$T/soak/art/"
	cp -r "$J/soak/guest" "$T/soak/work/"
}
# soak_edit <file of the copy> <sed expression>: break one file of it.
soak_edit() {
	cp "$T/soak/$1" "$T/soak.orig"
	sed -i -e "$2" "$T/soak/$1"
	cmp -s "$T/soak.orig" "$T/soak/$1" && die "the edit '$2' changes nothing in $1: the recorded soak moved on"
	return 0
}
sj() {
	"$here/soak.sh" judge "$T/soak/work" "$T/soak/art/summary.txt"
}
# soak_case <file of the copy> <sed expression> <what> <status> <expected
# output>: a fresh copy broken by one edit, judged.
soak_case() {
	soak_copy
	soak_edit "$1" "$2"
	expect "$3" "$4" "$5" sj
}
soak_copy
expect "a recorded soak (every workload, kernel log clean): passes" 0 "kernel log clean" sj
soak_case work/guest/lost-write-ext4-amplified.log '0,/^# lost-write: [a-z_]*: no loss/s/^# lost-write: \([a-z_]*\): no loss (in \([0-9.]*\) s)/# lost-write: \1: LOST (after \2 s: wrote 7, read back 6)/' \
	"a lost write in one lost-write run: fails, names the run" 1 "lost-write ext4 amplified: FAIL"
soak_case work/guest/lost-write-tmpfs-amplified.log '0,/^# lost-write: [a-z_]*: no loss/{/^# lost-write: [a-z_]*: no loss/d}' \
	"a variant without its verdict line: fails" 1 "lost-write tmpfs amplified: FAIL"
soak_case work/guest/lost-write-tmpfs-amplified.log 's/^ok 1 selftests: delayed-rmap: run_lost_write.sh$/not ok 1 selftests: delayed-rmap: run_lost_write.sh # TIMEOUT 620 seconds/' \
	"a lost-write run the runner timed out: fails" 1 "TIMEOUT"
soak_case work/guest/runs.tsv '0,/^fsx /s/^\(fsx [^\t]*\)\t0\t/\1\t1\t/' \
	"an fsx run that exited 1: fails" 1 "exit status 1 after"
soak_case work/guest/stress-ng-ext4-mmap.log 's/^\(stress-ng: metrc: \[[0-9]*\] mmap  *\)[0-9][0-9]*/\10/' \
	"a stressor that did no operation: fails" 1 "stress-ng ext4 mmap: FAIL"
# shellcheck disable=SC2016 # a sed command, not a shell expansion
soak_case work/guest/stress-ng-tmpfs-msync.log '$a stress-ng: fail:  [123] msync: data verification failed at offset 0x1000' \
	"a stress-ng verify failure: fails" 1 "stress-ng tmpfs msync: FAIL"
soak_case work/guest/runs.tsv '/^stress-ng tmpfs remap\t/d' \
	"a run missing from runs.tsv: an error" 1 "expected: the guest skipped some"
# shellcheck disable=SC2016 # a sed command, not a shell expansion
soak_case art/console.log '$a [  99.123456] BUG: KASAN: use-after-free in folio_mkclean+0x4a/0x1c0' \
	"a KASAN report in the console: fails, quoted" 1 "BUG: KASAN: use-after-free in folio_mkclean"
soak_case art/guest.log '/^soak: done/d' \
	"a guest that did not finish: an error" 1 "the guest did not finish the soak"
soak_case art/soak.conf 's/^expect=pass$/expect=fail:klog/' \
	"a mutant's soak with a clean kernel log: the mutant was not caught" 1 "the mutant was not caught"
# (The guest log cut at the start of a run: the guest died there.)
# shellcheck disable=SC2016 # a sed command, not a shell expansion
soak_cut='/^soak: running stress-ng ext4 madvise$/,$d'
soak_copy
soak_edit art/soak.conf 's/^expect=pass$/expect=fail:klog/'
soak_edit art/guest.log "$soak_cut"
# shellcheck disable=SC2016 # a sed command, not a shell expansion
soak_edit art/console.log '$a [  71.002345] BUG: Bad page state in process kworker/u8:2  pfn:0a8f3'
expect "a mutant that took the kernel down mid-soak, reported in the log: caught" 0 \
	"caught the mutant (the guest did not finish the soak): " sj
soak_copy
soak_edit art/soak.conf 's/^expect=pass$/expect=fail:klog/'
soak_edit art/guest.log "$soak_cut"
expect "a mutant's soak that stopped without a report: an error" 1 "did not finish the soak and the kernel log has no report" sj
soak_case art/soak.conf 's/^expect=pass$/expect=fail:fsx/' \
	"the fsx control whose corrupted run passed: the harness would miss it" 1 "was not reported as failed"

log "mm selftests' pass-set comparison (mm-selftests.sh judge) and kernel log comparison (klog.py compare):"
M=$J/mm-selftests
mj() {
	rm -rf "$T/mm"
	"$here/mm-selftests.sh" judge "$1" "$2" "$T/mm/summary.txt" "${@:3}"
}
expect "a recorded pair (6.1 debug kernel without and with the fixes): passes" 0 \
	"every test that passed without the fixes passed with them" mj "$M/with.log" "$M/without.log"
# shellcheck disable=SC2016 # a sed address, not a shell expansion
edit mm-regress.log "$M/with.log" '/^# running \.\/mremap_dontunmap$/,/^# \[PASS\]$/s/^# \[PASS\]$/# [FAIL]/'
expect "a test that passed without the fixes fails with them: fails, named" 1 \
	"not with them: ./mremap_dontunmap (FAIL)" mj "$T/mm-regress.log" "$M/without.log"
# mm_runners <log>: the test, result, runner test rows the judge read
# from <log> (judged against itself).
mm_runners() {
	rm -rf "$T/mm"
	"$here/mm-selftests.sh" judge "$1" "$1" "$T/mm/summary.txt" >/dev/null
	cat "$T/mm/with.tsv"
}
expect "7.x: the last test of a runner test is that runner's (its rerun runs it), not the next one's" 0 \
	$'./droppable\tPASS\tksft_mmap.sh' mm_runners "$M/7.2-two-runners.log"
# mm_rerun <log> <result>...: a rerun boot's log of ./mremap_dontunmap,
# one run per result, as mm-selftests.sh's rerun script prints them.
mm_rerun() {
	local out=$T/$1 i=0 r
	shift
	: >"$out"
	for r in "$@"; do
		i=$((i + 1))
		printf '%s\n' "mm-selftests-rerun: $i run_vmtests.sh: ./mremap_dontunmap" "# # --------------------------" \
			"# # running ./mremap_dontunmap" "# # --------------------------" "# # OK" "# # [$r]" >>"$out"
	done
}
mm_rerun rerun-without.log PASS PASS PASS
mm_rerun rerun-fail.log FAIL FAIL PASS
expect "that test again fails in most reruns with the fixes, passes in every one without: fails, with the runs" 1 \
	"not with them: ./mremap_dontunmap (with the fixes 3 of 4 runs did not pass: FAIL FAIL FAIL PASS; without them 0 of 4" \
	mj "$T/mm-regress.log" "$M/without.log" "$T/rerun-fail.log" "$T/rerun-without.log"
mm_rerun rerun-flaky.log PASS FAIL PASS
expect "that test fails in half the runs with the fixes: flaky, named, not judged" 0 \
	"flaky, not judged: ./mremap_dontunmap (with the fixes 2 of 4 runs did not pass" \
	mj "$T/mm-regress.log" "$M/without.log" "$T/rerun-flaky.log" "$T/rerun-without.log"
mm_rerun rerun-without-fail.log PASS FAIL PASS
expect "that test fails in most runs with the fixes and in one without them: flaky, not a regression" 0 \
	"flaky, not judged: ./mremap_dontunmap (with the fixes 3 of 4" \
	mj "$T/mm-regress.log" "$M/without.log" "$T/rerun-fail.log" "$T/rerun-without-fail.log"
mm_rerun rerun-died.log FAIL
printf '%s\n' "mm-selftests-rerun: 2 run_vmtests.sh: ./mremap_dontunmap" "# # running ./mremap_dontunmap" >>"$T/rerun-died.log"
expect "the rerun boot with the fixes died in a run: that run did not pass" 1 \
	"(with the fixes 3 of 3 runs did not pass: FAIL FAIL NONE" \
	mj "$T/mm-regress.log" "$M/without.log" "$T/rerun-died.log" "$T/rerun-without.log"
mm_rerun rerun-none.log
expect "a rerun log without that test: an error, not a verdict" 1 "no rerun of ./mremap_dontunmap" \
	mj "$T/mm-regress.log" "$M/without.log" "$T/rerun-none.log" "$T/rerun-without.log"
# shellcheck disable=SC2016 # a sed address, not a shell expansion
edit mm-died.log "$M/with.log" '/^# running \.\/madv_populate$/,$d'
expect "a run with the fixes cut short (the guest died): the tests not run fail, named" 1 \
	"./madv_populate (MISSING)" mj "$T/mm-died.log" "$M/without.log"
edit mm-none.log "$M/without.log" '/^# running /d'
expect "a run without the fixes with no result: an error, not a pass" 1 "nothing to compare against" \
	mj "$M/with.log" "$T/mm-none.log"
kc() {
	python3 "$here/klog.py" compare "$@"
}
expect "kernel logs whose reports are all in the run without the fixes: no new report, listed" 0 \
	"also without the change" kc "$M/with.console.log" "$M/without.console.log"
# shellcheck disable=SC2016 # a sed address, not a shell expansion
edit mm-kasan.log "$M/with.console.log" '/vng-run: guest command starting/a [  77.123456] BUG: KASAN: use-after-free in zap_pte_range+0x1b2/0x9c0'
expect "a report with the fixes the run without them has not: fails, quoted" 1 \
	"NEW (not in" kc "$T/mm-kasan.log" "$M/without.console.log"
expect "the reports of the run without the fixes, judged against a clean log: new" 1 \
	"kernel report(s) in" kc "$M/without.console.log" "$J/klog/clean-console.log"
# shellcheck disable=SC2016 # a sed address, not a shell expansion
edit lockup-without.log "$J/klog/clean-console.log" '200a [ 1401.011215] watchdog: BUG: soft lockup - CPU#2 stuck for 22s! [khugepaged:3558]'
# shellcheck disable=SC2016 # a sed address, not a shell expansion
edit lockup-with.log "$J/klog/clean-console.log" '200a [  977.402113] watchdog: BUG: soft lockup - CPU#0 stuck for 26s! [khugepaged:3601]'
expect "the same report in both boots, other PID, CPU and time: known, not new" 0 \
	"also without the change" kc "$T/lockup-with.log" "$T/lockup-without.log"
# shellcheck disable=SC2016 # a sed address, not a shell expansion
edit lockup-other.log "$J/klog/clean-console.log" '200a [  977.402113] watchdog: BUG: soft lockup - CPU#0 stuck for 26s! [kcompactd0:52]'
expect "a soft lockup of another task than the one without the fixes: new" 1 \
	"NEW (not in" kc "$T/lockup-other.log" "$T/lockup-without.log"

log "kselftest runner results (ksft_result of lib.sh):"
# kr_status <log> <program>: the status ksft_result reads and the program's
# own output, as the host scripts judge them.
kr_status() {
	local rc
	rc=$(ksft_result "$1" "$2" "$T/prog.out")
	echo "status $rc"
	cat "$T/prog.out"
}
expect "a lost write: exit=1 read" 0 "status 1" \
	kr_status "$J/lost-write/nofix-amplified-1.log" run_lost_write.sh
expect "a lost write: the verdict lines of the program kept" 0 "lost-write: remap_fixed: LOST (after 0.204 s" \
	kr_status "$J/lost-write/nofix-amplified-1.log" run_lost_write.sh
expect "a passed program: status 0" 0 "status 0" kr_status "$J/stale-tlb/6.1-run-1.log" stale_tlb
edit skip.log "$J/stale-tlb/6.1-run-1.log" 's/^ok 1 selftests: delayed-rmap: stale_tlb$/ok 1 selftests: delayed-rmap: stale_tlb # SKIP/'
expect "a skipped program: status 4 (SKIP)" 0 "status 4" kr_status "$T/skip.log" stale_tlb
edit timeout.log "$J/stale-tlb/6.1-run-1.log" 's/^ok 1 selftests: delayed-rmap: stale_tlb$/not ok 1 selftests: delayed-rmap: stale_tlb # TIMEOUT 85 seconds/'
expect "a program the runner timed out: status 124" 0 "status 124" kr_status "$T/timeout.log" stale_tlb
# shellcheck disable=SC2016 # a sed address, not a shell expansion
edit died.log "$J/stale-tlb/6.1-run-1.log" '/^# ok 4 stale_tlb.remap_fixed.check/,$d'
expect "a guest that died in the program (no result line): status 255" 0 "status 255" kr_status "$T/died.log" stale_tlb
expect "another program than the one run: status 255" 0 "status 255" \
	kr_status "$J/stale-tlb/6.1-run-1.log" run_lost_write.sh

log "KTAP extraction (ktap.py extract, read by kunit.py parse):"
kx() {
	python3 "$here/ktap.py" extract --kunit-dir "$tree/tools/testing/kunit" "$1" -o "$T/x.ktap" &&
		python3 "$tree/tools/testing/kunit/kunit.py" parse "$T/x.ktap"
}
expect "a kernel log with an empty boot document and a module's: the module's suite" 0 "Ran 7 tests: passed: 7" \
	kx "$J/kunit/delayed_rmap-upstream.log"
expect "a 6.1 harness run under the runner, variants skipped (nameless SKIP lines): every test read" 1 "Ran 6 tests: failed: 3, skipped: 3" \
	kx "$J/lost-write/nofix-amplified-1.log"
expect "a runner's program nested in its test" 0 "[PASSED] selftests: delayed-rmap: stale_tlb" \
	kx "$J/stale-tlb/6.1-run-1.log"

log "kernel log judge (klog.py judge):"
kl() {
	python3 "$here/klog.py" judge "$@"
}
expect "a clean guest console (9p and virtio lines, no report): clean" 0 "klog: clean: 1 log(s)" \
	kl "$J/klog/clean-console.log"
for report in 'BUG: KASAN: slab-use-after-free in zap_pte_range+0x1b2/0x9c0' \
	'WARNING: possible circular locking dependency detected' \
	'BUG: Bad page state in process fsx  pfn:1234a' \
	'BUG: sleeping function called from invalid context at mm/memory.c:1520' \
	'INFO: task kworker/1:2:87 blocked for more than 120 seconds.' \
	'rcu: INFO: rcu_preempt self-detected stall on CPU' \
	'list_del corruption. prev->next should be ffff888003a1c0c8, but was 0000000000000000'; do
	# shellcheck disable=SC2016 # a sed address, not a shell expansion
	edit report.log "$J/klog/clean-console.log" "200a [   12.345678] $report"
	expect "a report in the console ($report): fails, quoted" 1 "$report" kl "$T/report.log"
done
expect "a real lockdep report (the Rust module's old lock order): fails, named" 1 \
	"lockdep:" kl "$J/klog/rust-lock-order-lockdep.log"
expect "a log that cannot be read: an error, not a pass" 2 "cannot read" kl "$T/no-such.log"

log "check.ktap (ktap.py check, read by kunit.py parse):"
mkdir -p "$T/results/kunit-6.1" "$T/results/lost-write-patched"
python3 "$here/ktap.py" extract --kunit-dir "$tree/tools/testing/kunit" "$J/kunit/mmu_gather-patched.log" \
	-o "$T/results/kunit-6.1/kunit.ktap"
printf 'TAP version 13\n1..1\nok 1 lost_write.remap_fixed.race\n' >"$T/results/lost-write-patched/patched-amplified-1.ktap"
printf 'TAP version 13\n1..1\nok 1 lost_write.remap_fixed.race\n' >"$T/results/lost-write-patched/patched-plain-1.ktap"
printf 'kunit-6.1\tPASS\t20\tkunit patched\nlost-write-patched\tPASS\t60\t0 lost writes\ncheckpatch\tSKIP\t0\tnot run\n' \
	>"$T/results/steps.tsv"
python3 "$here/ktap.py" check "$T/results" "$T/results/steps.tsv" -o "$T/results/check.ktap"
expect "check.ktap of a recorded run parses, every case counted" 0 "Ran 20 tests: passed: 19, skipped: 1" \
	python3 "$tree/tools/testing/kunit/kunit.py" parse "$T/results/check.ktap"

log "rust/Makefile (the module's own build) refuses a bad KDIR:"
mkdir -p "$T/kdir"
touch "$T/kdir/Makefile"
printf 'CONFIG_KUNIT=y\n# CONFIG_RUST is not set\n' >"$T/kdir/.config"
expect "a KDIR that is no build directory: an error naming it" 2 "KDIR=$T/no-kdir: not a kernel build directory" \
	make -s -C "$repo/rust" KDIR="$T/no-kdir"
expect "a build directory without Rust and mmu_notifier: an error naming the options" 2 \
	"CONFIG_RUST CONFIG_MMU_NOTIFIER not set to y" make -s -C "$repo/rust" KDIR="$T/kdir"

# 3. Every step of the table is described in Documentation/testing.rst (its
# table of steps, where a long name is split over two lines after a '-').
undocumented=$(python3 - "$repo/scripts/steps.tsv" "$repo/Documentation/testing.rst" <<'PY'
import re, sys
steps = [l.split('\t')[0] for l in open(sys.argv[1]) if l.strip() and not l.startswith('#')]
text = open(sys.argv[2]).read()
names, prev = set(), ''
for line in text.splitlines():
    m = re.match(r'^``([a-z0-9.-]+)``', line)
    if not m:
        prev = ''
        continue
    name = prev + m.group(1) if prev else m.group(1)
    names.add(name)
    prev = name if name.endswith('-') else ''
print(' '.join(s for s in steps if s not in names and f'``{s}``' not in text))
PY
)
[[ -z $undocumented ]] || die "steps of scripts/steps.tsv not described in Documentation/testing.rst: $undocumented"
log "every step of scripts/steps.tsv is described in Documentation/testing.rst"

summary="check-tools: ${#shells[@]} shell and ${#pys[@]} Python scripts clean; judges on recorded logs: $pass of $((pass + fail)) as expected; every step documented"
echo "$summary"
((fail == 0)) || die "$fail judge case(s) not as expected"
[[ -z $result ]] || echo "$summary" >"$result"
