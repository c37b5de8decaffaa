#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# In the guest (root): count the TLB flushes of one MADV_DONTNEED and one
# MADV_PAGEOUT of a dirty PTE table of an ext4 file (selftests/
# zap_flush_count.c), with the window amplifier loaded at delay 0 as the
# counter.  One "flushcount: ..." line per measurement.
#
#   run_flush_count.sh -b ZAP_FLUSH_COUNT -a AMPLIFIER.ko

set -euo pipefail
die() {
	echo "run_flush_count: error: $*" >&2
	exit 2
}

bin='' amp=''
while getopts "b:a:" opt; do
	case $opt in
	b) bin=$OPTARG ;;
	a) amp=$OPTARG ;;
	*) die "usage: $0 -b ZAP_FLUSH_COUNT -a AMPLIFIER.ko" ;;
	esac
done
[[ -n $bin && -x $bin && -f $amp ]] || die "usage: $0 -b ZAP_FLUSH_COUNT -a AMPLIFIER.ko"
[[ $(id -u) == 0 ]] || die "must run as root (brd, mkfs, mount, insmod)"

# shellcheck source=brd_ext4.sh
. "$(dirname "$(realpath "$0")")/brd_ext4.sh"
mount_brd_ext4 /tmp/flush-count.XXXXXX
insmod "$amp" delay_us=0 fault_delay_us=0 || die "insmod $amp failed"
echo "run_flush_count: kernel $(uname -r), $(nproc) CPUs, ext4 on /dev/ram0"
"$bin" "$mnt/f" 512 dontneed
"$bin" "$mnt/f" 511 dontneed
"$bin" "$mnt/f" 512 pageout
