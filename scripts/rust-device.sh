#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Load the Rust module on the 7.x kernel, run selftests/rust_device.c
# against its device, unload it, and check the kernel log.
#
#   rust-device.sh <srcdir> <builddir> <module.ko> <workdir> [<result-file>]
#
# Fails if the module does not load or unload, if any test of rust_device
# fails, or if the kernel logged a warning, a BUG or an oops meanwhile.

set -euo pipefail
PROG=rust-device
here=$(dirname "$(realpath "$0")")
repo=$(realpath "$here/..")
# shellcheck source=lib.sh
. "$here/lib.sh"

[[ $# -ge 4 && $# -le 5 ]] || die "usage: $0 <srcdir> <builddir> <module.ko> <workdir> [<result-file>]"
src=$1 out=$2 ko=$3 work=$4 result=${5:-}
[[ -z $result ]] || rm -f "$result"
need gcc gcc
harness=$src/tools/testing/selftests
[[ -f $harness/kselftest_harness.h ]] || die "no kselftest_harness.h in $harness"
[[ -f $ko ]] || die "$ko not found (make module-7.2)"

mkdir -p "$work"
work=$(realpath "$work")
gcc -O2 -Wall -Wextra -Werror -I"$harness" -o "$work/rust_device" "$repo/selftests/rust_device.c"

# In the guest: load, test, unload; then report the kernel log's complaints.
# shellcheck disable=SC2016 # expanded in the guest
guest='set -u
insmod "$1" || { echo "rust-device: insmod failed"; exit 2; }
rc=0
"$2" || rc=$?
rmmod delayed_rmap_test || { echo "rust-device: rmmod failed"; rc=2; }
bad=$(dmesg | grep -cE "WARNING:|BUG:|Oops|general protection|Call Trace" || true)
echo "rust-device: tests exit $rc, kernel log complaints $bad"
dmesg | grep -E -A20 "WARNING:|BUG:|Oops" | head -60
[ "$bad" = 0 ] || rc=3
exit $rc'
printf '%s\n' "$guest" >"$work/guest.sh"
rc=0
# insmod and rmmod need root in the guest, whoever runs make (as in
# lost-write.sh).
VNG_OPTS="${VNG_OPTS:-} --user root" VNG_TIMEOUT=${VNG_TIMEOUT:-600} "$here/vng-run.sh" "$out" \
	"sh $work/guest.sh $(realpath "$ko") $work/rust_device" 2>&1 | tee "$work/log" >&2 || rc=$?
tests=$(grep -E '^# Totals:' "$work/log" | tail -n1 || true)
line=$(grep -E '^rust-device: tests exit' "$work/log" | tail -n1 || true)
[[ -n $line ]] || die "the guest did not finish (vng exit status $rc; log: $work/log)"
((rc == 0)) || die "$line; ${tests:-no TAP totals} (log: $work/log)"
summary="rust module: loaded, ${tests#\# }, unloaded, no kernel warnings"
echo "$summary"
[[ -z $result ]] || echo "$summary" >"$result"
