#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Runs in the guest (scripts/rust-module.sh boots it as root):
#   rust-module.sh <module.ko> <rust_device binary> <kernel log out>
# Loads the module (its KUnit suite runs at load), runs the selftest
# against its device, unloads it and writes the kernel log; exits with the
# selftest's status, or 2 if the module would not load or unload (and says
# so: "rust-module: insmod failed" / "rmmod failed").  The host judges the
# kernel log (scripts/klog.py), the suite and the selftest's TAP.
set -u
rc=0
if insmod "$1"; then
	"$2" || rc=$?
	# Each open file holds the module; a file the selftest closed last
	# may still wait for its delayed fput().
	n=0
	until rmmod delayed_rmap_test; do
		n=$((n + 1))
		[ $n -lt 5 ] || { echo "rust-module: rmmod failed (refcnt $(cat /sys/module/delayed_rmap_test/refcnt))"; rc=2; break; }
		sleep 1
	done
else
	echo "rust-module: insmod failed"
	rc=2
fi
dmesg >"$3"
echo "rust-module: tests exit $rc"
exit $rc
