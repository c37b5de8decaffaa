#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Sourced by the guest runners of the measurements (run_flush_count.sh,
# run_zap_bench.sh), which define die(): ext4 on a 128 MiB brd RAM disk,
# mounted on a fresh directory, and a cleanup on exit that unmounts it and
# unloads the window amplifier if it was loaded.
#
#   mount_brd_ext4 <mktemp template>   sets mnt

mnt=''
# shellcheck disable=SC2317 # called through the EXIT trap
brd_ext4_cleanup() {
	[[ -n $mnt ]] || return 0
	mountpoint -q "$mnt" && umount "$mnt"
	rmdir "$mnt" 2>/dev/null || true
	lsmod | grep -q '^tlb_flush_delay ' && rmmod tlb_flush_delay
	return 0
}

mount_brd_ext4() {
	mnt=$(mktemp -d "$1")
	trap brd_ext4_cleanup EXIT
	[[ -b /dev/ram0 ]] || modprobe brd rd_nr=1 rd_size=131072 || die "cannot load brd"
	udevadm settle 2>/dev/null || sleep 1
	[[ -b /dev/ram0 ]] || die "/dev/ram0 did not appear"
	mkfs.ext4 -q -F /dev/ram0 >/dev/null || die "mkfs.ext4 failed"
	mount -t ext4 /dev/ram0 "$mnt" || die "mount failed"
}
