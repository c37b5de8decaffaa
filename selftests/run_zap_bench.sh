#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# In the guest (root): selftests/zap_bench.c on ext4 over brd (and memfd).
#
#   run_zap_bench.sh -b ZAP_BENCH [-a AMPLIFIER.ko] [-r REPS] [-w LIST] [-R ROUNDS]
#
# With -a: the counting run (the window amplifier loaded at delay 0, also
# counting tlb_flush_rmaps()).  Without: the time-only run (zap_bench -n;
# under QEMU -icount shift=0 its times are instruction counts), ROUNDS times
# (default 1) in the same boot, for the spread.  The "zapbench: ..." lines
# of each round follow a "zapbench-round: N" line.

set -euo pipefail
die() {
	echo "run_zap_bench: error: $*" >&2
	exit 2
}
usage="usage: $0 -b ZAP_BENCH [-a AMPLIFIER.ko] [-r REPS] [-w LIST] [-R ROUNDS]"

bin='' amp='' reps=10 list='' rounds=1
while getopts "b:a:r:w:R:" opt; do
	case $opt in
	b) bin=$OPTARG ;;
	a) amp=$OPTARG ;;
	r) reps=$OPTARG ;;
	w) list=$OPTARG ;;
	R) rounds=$OPTARG ;;
	*) die "$usage" ;;
	esac
done
[[ -n $bin && -x $bin ]] || die "$usage"
[[ -z $amp || -f $amp ]] || die "no amplifier module $amp"
[[ $rounds =~ ^[1-9][0-9]*$ ]] || die "-R: a number of rounds, not '$rounds'"
[[ $(id -u) == 0 ]] || die "must run as root (brd, mkfs, mount, insmod)"

# shellcheck source=brd_ext4.sh
. "$(dirname "$(realpath "$0")")/brd_ext4.sh"
# Two 32 MiB files at most (W6): 128 MiB of brd is plenty.
mount_brd_ext4 /tmp/zap-bench.XXXXXX
args=(-r "$reps")
[[ -z $list ]] || args+=(-w "$list")
if [[ -n $amp ]]; then
	insmod "$amp" delay_us=0 fault_delay_us=0 count_symbol=tlb_flush_rmaps ||
		die "insmod $amp failed"
else
	args+=(-n)
fi
what="time only"
[[ -z $amp ]] || what=counters
echo "run_zap_bench: kernel $(uname -r), $(nproc) CPUs, ext4 on /dev/ram0, $what"
for ((round = 1; round <= rounds; round++)); do
	echo "zapbench-round: $round"
	"$bin" "${args[@]}" "$mnt"
done
