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

mnt=$(mktemp -d /tmp/flush-count.XXXXXX)
# shellcheck disable=SC2317 # called through the EXIT trap
cleanup() {
	mountpoint -q "$mnt" && umount "$mnt"
	rmdir "$mnt" 2>/dev/null || true
	lsmod | grep -q '^tlb_flush_delay ' && rmmod tlb_flush_delay
	return 0
}
trap cleanup EXIT

[[ -b /dev/ram0 ]] || modprobe brd rd_nr=1 rd_size=131072 || die "cannot load brd"
udevadm settle 2>/dev/null || sleep 1
[[ -b /dev/ram0 ]] || die "/dev/ram0 did not appear"
mkfs.ext4 -q -F /dev/ram0 >/dev/null || die "mkfs.ext4 failed"
mount -t ext4 /dev/ram0 "$mnt" || die "mount failed"
insmod "$amp" delay_us=0 fault_delay_us=0 || die "insmod $amp failed"
echo "run_flush_count: kernel $(uname -r), $(nproc) CPUs, ext4 on /dev/ram0"
"$bin" "$mnt/f" 512 dontneed
"$bin" "$mnt/f" 511 dontneed
"$bin" "$mnt/f" 512 pageout
