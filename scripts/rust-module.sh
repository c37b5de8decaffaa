#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Load the Rust module on a 7.x kernel (its KUnit suite, delayed_rmap, runs
# at load), run selftests/rust_device.c against its device, unload it, and
# judge it all.
#
#   rust-module.sh upstream <srcdir> <builddir>       <module.ko> <workdir> [<result>]
#   rust-module.sh mutation <srcdir> <kernel image>   <module.ko> <workdir> [<result>]
#   rust-module.sh nofix    <srcdir> <kernel image>   <module.ko> <workdir> [<result>]
#
#   upstream  the kernel as built by make kernel-7.2 (with patches/7.2-fix):
#             every KUnit case and every selftest passes.
#   mutation  the same kernel with patches/7.2-mutation (scripts/variant-kernel.sh):
#             the suite's flush-order cases and the selftest's
#             module_pages_flush_order and shmem_table_flush_order must
#             fail, on the flush order; everything else passes.
#   nofix     the same kernel without patches/7.2-fix: the selftest's
#             shmem_table_flush_order must fail, on a page table detached
#             at its flush, and lru_page_pageout_unlock_order, on a dirty
#             folio unlocked before its deferred TLB flush; everything else
#             passes.
#
# Both the suite (in the guest's kernel log, kept as
# <workdir>/dmesg-<mode>.log) and the selftest (its TAP) are judged by
# kunit-verdict.py.  All fail if the module does not load or unload, or if
# the kernel's console has a report (scripts/klog.py judge: a warning, BUG,
# KASAN or lockdep report, an oops...).

set -euo pipefail
PROG=rust-module
here=$(dirname "$(realpath "$0")")
repo=$(realpath "$here/..")
# shellcheck source=lib.sh
. "$here/lib.sh"

[[ $# -ge 5 && $# -le 6 ]] ||
	die "usage: $0 upstream|mutation|nofix <srcdir> <kernel> <module.ko> <workdir> [<result-file>]"
mode=$1 src=$2 kernel=$3 ko=$4 work=$5 result=${6:-}
case $mode in
upstream | mutation | nofix) ;;
*) die "mode must be upstream, mutation or nofix (got '$mode')" ;;
esac
[[ -z $result ]] || rm -f "$result"
need gcc gcc
need python3 python3
harness=$src/tools/testing/selftests
[[ -f $harness/kselftest_harness.h ]] || die "no kselftest_harness.h in $harness"
[[ -f $ko ]] || die "$ko not found (make module-7.2)"
[[ -e $kernel ]] || die "$kernel not found (make kernel-7.2 / kernel-7.2-mutation / kernel-7.2-nofix)"

mkdir -p "$work"
work=$(realpath "$work")
klog=$work/dmesg-$mode.log
rm -f "$klog"
# The step's own files (kept apart per mode): next to the result file.
art=$work/$mode
[[ -z $result ]] || art=$(dirname "$result")
mkdir -p "$art"
gcc -O2 -Wall -Wextra -Werror -pthread -I"$harness" -o "$work/rust_device" "$repo/selftests/rust_device.c"

# In the guest (scripts/guest/rust-module.sh): load (the suite runs), test,
# unload; keep the kernel log.
rc=0
# insmod and rmmod need root in the guest, whoever runs make (as in
# lost-write.sh); the kernel log is written to the work directory.
glog=$art/guest.log
VNG_CONSOLE=$art/console.log VNG_OPTS="${VNG_OPTS:-} --user root" VNG_RWDIRS="${VNG_RWDIRS:-} $work" \
	VNG_TIMEOUT=${VNG_TIMEOUT:-600} \
	"$here/vng-run.sh" "$kernel" "sh $here/guest/rust-module.sh $(realpath "$ko") $work/rust_device $klog" 2>&1 |
	tee "$glog" >&2 || rc=$?
[[ ! -f $klog ]] || cp "$klog" "$art/dmesg.log"
kunit_dir=$src/tools/testing/kunit
save_ktap "$kunit_dir" "$glog" "$art/rust_device.ktap"
[[ ! -f $klog ]] || save_ktap "$kunit_dir" "$klog" "$art/kunit.ktap"
# The guest loaded and unloaded the module (its exit status is the
# selftest's, which the verdict below judges per mode).
tests=$(python3 "$here/ktap.py" results --kunit-dir "$kunit_dir" "$glog" 2>/dev/null | sed -n 's/^totals\t//p' || true)
line=$(grep -E '^rust-module: tests exit' "$glog" | tail -n1 || true)
[[ -n $line && -f $klog ]] || die "the guest did not finish (vng exit status $rc; log: $glog, console: $art/console.log)"
! grep -qE '^rust-module: (insmod|rmmod) failed' "$glog" ||
	die "$(grep -E '^rust-module: (insmod|rmmod) failed' "$glog" | head -n1) (log: $glog, kernel log: $klog)"

# The kernel's console (the whole boot): no warning, BUG, lockdep or
# KASAN report, oops...
klog_rc=$(klog_judge "$art/console.log" "$art/klog.txt")
((klog_rc == 0)) || {
	cat "$art/klog.txt" >&2
	die "the kernel log has a report (quoted above; console: $art/console.log)"
}

rc=0
verdict=$(python3 "$here/kunit-verdict.py" --tree "$src" --suite delayed_rmap --mode "$mode" "$klog") || rc=$?
printf '%s\n' "$verdict" >&2
((rc == 0)) || die "delayed_rmap KUnit suite on the $mode kernel: not as expected (kernel log: $klog)"
rc=0
selftests=$(python3 "$here/kunit-verdict.py" --tree "$src" --suite rust_device --mode "$mode" "$glog") || rc=$?
printf '%s\n' "$selftests" >&2
((rc == 0)) || die "rust_device selftests on the $mode kernel: not as expected (${tests:-no TAP}; log: $glog)"
summary="rust module $mode: loaded; $(tail -n1 <<<"$verdict"); $(tail -n1 <<<"$selftests"); unloaded; kernel log clean"
echo "$summary"
[[ -z $result ]] || echo "$summary" >"$result"
