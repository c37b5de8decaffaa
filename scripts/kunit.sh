#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Boot a kernel with the mmu_gather KUnit suite built in and judge its
# results.
#
#   kunit.sh <patched|nofix> <srcdir> <builddir> [<result-file>]
#   kunit.sh <patched|nofix> <srcdir> <variant image> [<result-file>]
#
# A variant image is one scripts/variant-kernel.sh built (the kernel
# without the fixes: <outdir>/boot/vmlinuz-<release>); its configuration
# and what it is (release, UTS_VERSION, the commit it was built on) are in
# <outdir>/config and <outdir>/variant.info.
#
# The suite (CONFIG_MMU_GATHER_KUNIT_TEST=y) runs at boot; the guest prints
# its kernel log, which is kept next to the result file (or in the build
# directory) as kunit-<mode>.log, the guest's console as
# console-<mode>.log, the suite's KTAP as kunit.ktap, and judged by kunit-verdict.py with the
# tree's own KUnit parser:
#   patched  every case passes, none skipped;
#   nofix    (the series without the fixes) the flush-order cases fail on
#            the flush order and the reclaim case on the unlock order, all
#            others pass, none skipped.
#
# KUNIT_FROM=<console log>: a boot of this very build already holds the
# suite's output (make check: the boot of boot-smoke, whose console is
# kept): judge that log instead of booting once more, when its "Linux
# version" line has the release and the build stamp (UTS_VERSION, "#N SMP
# <date>") of the kernel and it was built from the tree as it is now; any
# other log is not used (and said so), and the kernel is booted.

set -euo pipefail
PROG=kunit
here=$(dirname "$(realpath "$0")")
# shellcheck source=lib.sh
. "$here/lib.sh"

[[ $# -ge 3 && $# -le 4 ]] || die "usage: $0 <patched|nofix> <srcdir> <builddir>|<variant image> [<result-file>]"
mode=$1 src=$2 out=$3 result=${4:-}
case $mode in
patched | nofix) ;;
*) die "mode must be patched or nofix (got '$mode')" ;;
esac
[[ -z $result ]] || rm -f "$result"
need python3 python3
[[ -f $src/mm/mmu_gather_kunit.c ]] ||
	die "$src has no mm/mmu_gather_kunit.c: is the series (with its KUnit patch) applied?"
if [[ -f $out ]]; then
	vdir=$(dirname "$(dirname "$out")")
	config=$vdir/config info=$vdir/variant.info
	[[ -f $info && -f $config ]] || die "$out is not a kernel scripts/variant-kernel.sh built (no $info)"
else
	config=$out/.config info=$out/.delayed-rmap-built
fi
[[ -f $config ]] || die "no kernel configuration in $config (build the kernel first)"
grep -qx 'CONFIG_MMU_GATHER_KUNIT_TEST=y' "$config" ||
	die "$config lacks CONFIG_MMU_GATHER_KUNIT_TEST=y (configs/6.1-test.config sets it)"

logdir=${result:+$(dirname "$result")}
if [[ -z $logdir ]]; then
	logdir=$out
	[[ ! -f $out ]] || logdir=$vdir
fi
mkdir -p "$logdir"
klog=$logdir/kunit-$mode.log

start=$SECONDS
# The suite has finished before init starts: its results are in the log
# (with printk timestamps, from which the verdict reports its run time),
# and in the console of any boot of the build.
from=${KUNIT_FROM:-}
if [[ -n $from ]]; then
	require_current_build "$out"
	if [[ -f $out ]]; then
		uts=$(sed -n 's/^uts=//p' "$info")
	else
		uts=$(sed -n 's/^#define UTS_VERSION "\(.*\)"$/\1/p' "$out/include/generated/utsversion.h" 2>/dev/null || true)
	fi
	release=$(sed -n 's/^release=//p' "$info")
	if [[ -f $from && -n $uts ]] &&
		grep -m1 'Linux version ' "$from" | grep -F "Linux version $release " | grep -qF " $uts"; then
		log "judging the boot in $from (the same build: $release $uts), not booting again"
		cp "$from" "$klog"
		rm -f "$logdir/console-$mode.log"
	else
		log "$from is not a boot of this build ($release ${uts:-without UTS_VERSION}): booting"
		from=
	fi
fi
if [[ -z $from ]]; then
	rc=0
	VNG_CONSOLE=$logdir/console-$mode.log VNG_TIMEOUT=${VNG_TIMEOUT:-900} "$here/vng-run.sh" "$out" dmesg >"$klog" || rc=$?
	((rc == 0)) || die "guest failed (vng exit status $rc); kernel log so far: $klog, console: $logdir/console-$mode.log"
fi
secs=$((SECONDS - start))
# The suite's KTAP, for make check's check.ktap.
[[ -z $result ]] || save_ktap "$src/tools/testing/kunit" "$klog" "$logdir/kunit.ktap"

rc=0
verdict=$(python3 "$here/kunit-verdict.py" --tree "$src" --mode "$mode" "$klog") || rc=$?
printf '%s\n' "$verdict"
((rc == 0)) || die "mmu_gather KUnit suite on the $mode kernel: not as expected (log: $klog)"
if [[ -n $from ]]; then
	summary="$(tail -n1 <<<"$verdict") (judged on the boot of $(basename "$(dirname "$from")"))"
else
	summary="$(tail -n1 <<<"$verdict") (boot and suite: $secs s)"
fi
[[ -z $result ]] || echo "$summary" >"$result"
