#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Runs in the guest (scripts/lost-write-trace.sh boots it as root):
#   lost-write-trace.sh <lw_trace.ko> <run_lost_write.sh> <lost_write> <seconds>
#                       <events kept> <lost_write args> <trace out> <amplifier args>
# (ext4 first: on a kernel that has it as a module, e.g. Debian's, the
# tracer's probe on ext4_bio_write_folio needs it loaded.)
set -u
modprobe -q ext4 2>/dev/null || true
insmod "$1" dump="$5" || { echo "lost-write-trace: insmod failed"; exit 2; }
rc=0
# shellcheck disable=SC2086 # $8 holds the amplifier's options: word-split
"$2" -b "$3" -s "$4" -x "$6" $8 || rc=$?
rmmod lw_trace || { echo "lost-write-trace: rmmod failed"; exit 2; }
dmesg | sed -n "s/^\[[^]]*\] lw_trace: //p" >"$7"
echo "lost-write-trace: selftest exit $rc"
exit $rc
