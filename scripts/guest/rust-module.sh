#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Runs in the guest (scripts/rust-module.sh boots it as root):
#   rust-module.sh <module.ko> <rust_device binary> <kernel log out>
# Loads the module (its KUnit suite runs at load), runs the selftest
# against its device, unloads it, writes the kernel log, and fails (3) if
# the log has a warning, BUG or oops; 2 if the module would not load or
# unload.
set -u
rc=0
if insmod "$1"; then
	"$2" || rc=$?
	rmmod delayed_rmap_test || { echo "rust-module: rmmod failed"; rc=2; }
else
	echo "rust-module: insmod failed"
	rc=2
fi
dmesg >"$3"
bad=$(grep -cE "WARNING:|BUG:|Oops|general protection|Call Trace" "$3" || true)
echo "rust-module: tests exit $rc, kernel log complaints $bad"
grep -E -A20 "WARNING:|BUG:|Oops" "$3" | head -60
[ "$bad" = 0 ] || rc=3
exit $rc
