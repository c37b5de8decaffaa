#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Runs the lost-write selftest on ext4 over a brd RAM disk.  Meant to run as
# root inside a throw-away guest (virtme-ng), like a kselftest target:
#
#   run_lost_write.sh -b BIN [-a AMPLIFIER.ko] [-u DELAY_US] [-f FAULT_DELAY_US] [-s SECONDS]
#                     [-r RESULT_FILE] [-F ext4|tmpfs] [-x "LOST_WRITE ARGS"]
#
#   -b  the lost_write binary (default: $LOST_WRITE_BIN, set by the kselftest
#       Makefile, else lost_write next to this script, as a kselftest
#       install puts it)
#   -a  window amplifier module to insmod for the run (tlb_flush_delay.ko)
#   -u  its delay_us (default 2000)
#   -f  its fault_delay_us (default 2000; only the table variants use it)
#   -s  time limit per variant (default 10)
#   -r  also write the TAP output there (for the host to parse)
#   -F  file system under test: ext4 on brd (default), or tmpfs (an
#       experiment: shmem has no writeback to race with)
#   -x  more arguments for lost_write (e.g. "-o madv_dontneed_paced -n");
#       variants it skips get no verdict line; default: $LOST_WRITE_ARGS
#
# Under kselftest's runner (run_kselftest.sh) the options go in
# KSELFTEST_RUN_LOST_WRITE_SH_ARGS, which the runner splits at blanks: give
# the arguments of -x, which contain blanks, in LOST_WRITE_ARGS instead.
#
# Prints the TAP of the test, then one verdict line per variant:
#   lost-write: <variant>: LOST (after T s: wrote X, read back Y)
#   lost-write: <variant>: no loss (in T s)
#   lost-write: <variant>: ERROR (...)
# Exit status, kselftest style: 0 no write lost, 1 a write was lost (the
# kernel under test has the bug), 2 set-up failure or a variant that could
# not run, 4 (KSFT_SKIP) a prerequisite is missing (not root, fewer than 2
# CPUs, no brd, no mkfs.ext4), with the reason on a "SKIP" line.  Whether a loss is expected (stock kernel) or a failure (patched
# kernel) is for the caller to judge.

set -euo pipefail

die() {
	echo "run_lost_write: error: $*" >&2
	exit 2
}

# skip <reason>: a prerequisite is missing: nothing was tested (kselftest's
# SKIP; whoever expects a verdict must treat it as a failure).
skip() {
	echo "run_lost_write: SKIP: $*"
	exit 4
}

bin=${LOST_WRITE_BIN:-$(dirname "$(realpath "$0")")/lost_write} amp='' delay=2000 secs=10 result=''
fs=ext4 extra=()
read -ra extra <<<"${LOST_WRITE_ARGS:-}"
fault_delay=2000
while getopts "b:a:u:f:s:r:F:x:" opt; do
	case $opt in
	b) bin=$OPTARG ;;
	a) amp=$OPTARG ;;
	u) delay=$OPTARG ;;
	f) fault_delay=$OPTARG ;;
	s) secs=$OPTARG ;;
	r) result=$OPTARG ;;
	F) fs=$OPTARG ;;
	x) read -ra extra <<<"$OPTARG" ;;
	*) die "usage: $0 -b BIN [-a AMPLIFIER.ko] [-u DELAY_US] [-f FAULT_DELAY_US] [-s SECONDS] [-r FILE] [-F ext4|tmpfs] [-x ARGS]" ;;
	esac
done
[[ $fs == ext4 || $fs == tmpfs ]] || die "-F: ext4 or tmpfs, not '$fs'"
[[ -n $bin && -x $bin ]] || die "no executable lost_write binary given (-b)"
[[ -z $amp || -f $amp ]] || die "amplifier module $amp not found"
[[ $(id -u) == 0 ]] || skip "must run as root (brd, mkfs, mount, insmod)"
(($(nproc) >= 2)) || skip "needs at least 2 CPUs (writer, zapper and flusher race each other), has $(nproc)"
for tool in mkfs.ext4 mount umount; do
	command -v "$tool" >/dev/null || skip "'$tool' not found"
done

mnt=$(mktemp -d /tmp/lost-write.XXXXXX)
dev=
loaded_brd=0
loaded_amp=0
# shellcheck disable=SC2317 # called through the EXIT trap
cleanup() {
	mountpoint -q "$mnt" && umount "$mnt"
	rmdir "$mnt" 2>/dev/null || true
	[[ $loaded_amp == 1 ]] && rmmod tlb_flush_delay
	[[ $loaded_brd == 1 ]] && rmmod brd
	return 0
}
trap cleanup EXIT

if [[ $fs == tmpfs ]]; then
	dev=tmpfs
	mount -t tmpfs -o size=64m tmpfs "$mnt" || die "mount tmpfs failed"
else
	# brd: a module on Debian's kernel, a module or built in on ours.
	if [[ ! -b /dev/ram0 ]]; then
		modprobe brd rd_nr=1 rd_size=131072 ||
			skip "cannot load brd (CONFIG_BLK_DEV_RAM missing from this kernel? see selftests/config)"
		loaded_brd=1
		# devtmpfs creates the node when the disk is added; no need
		# to wait for udev (which can take minutes on a debug kernel).
		for _ in $(seq 100); do
			[[ -b /dev/ram0 ]] && break
			sleep 0.1
		done
	fi
	dev=/dev/ram0
	[[ -b $dev ]] || die "$dev did not appear"
	mkfs.ext4 -q -F "$dev" >/dev/null || die "mkfs.ext4 $dev failed"
	mount -t ext4 "$dev" "$mnt" || die "mount $dev failed"
fi

if [[ -n $amp ]]; then
	insmod "$amp" delay_us="$delay" fault_delay_us="$fault_delay" || die "insmod $amp failed"
	loaded_amp=1
fi

amp_state=off
[[ -n $amp ]] && amp_state="on ($delay us)"
fs_desc="ext4 on $dev"
[[ $fs == tmpfs ]] && fs_desc=tmpfs
echo "run_lost_write: kernel $(uname -r), $(nproc) CPUs, $fs_desc," \
	"${secs}s per variant, amplifier $amp_state${extra[*]:+, lost_write ${extra[*]}}"
tap=$(mktemp)
set +e
"$bin" -d "$mnt" -s "$secs" "${extra[@]}" 2>&1 | tee "$tap"
rc=${PIPESTATUS[0]}
set -e
[[ -n $result ]] && cp "$tap" "$result"

hits=
if [[ $loaded_amp == 1 ]]; then
	hits=$(cat /sys/module/tlb_flush_delay/parameters/hits)
	echo "run_lost_write: amplifier delayed $hits flushes, $(cat /sys/module/tlb_flush_delay/parameters/batch_hits) batched flushes, $(cat /sys/module/tlb_flush_delay/parameters/fault_hits) faults"
	# The amplifier must leave as cleanly as it came.
	rmmod tlb_flush_delay || die "rmmod tlb_flush_delay failed"
	loaded_amp=0
	echo "run_lost_write: amplifier unloaded"
fi

# One verdict per variant, from the TAP and the test's own log lines.
found=0 lost=0 errors=0
while read -r variant; do
	found=1
	log=$(awk -v v="lost_write.$variant.race" '
		$0 ~ "RUN +" v { on = 1; next }
		on { print }
		on && / (OK|FAIL) / { exit }' "$tap")
	if grep -q "LOST WRITE" <<<"$log"; then
		what=$(grep -o 'LOST WRITE after [0-9.]* s: wrote [0-9]*, read back [0-9]*' <<<"$log")
		echo "lost-write: $variant: LOST (${what#LOST WRITE })"
		lost=1
	elif grep -q "^ok .* lost_write.$variant.race" "$tap"; then
		what=$(grep -o 'no lost write in [0-9.]* s' <<<"$log")
		echo "lost-write: $variant: no loss (${what#no lost write })"
	else
		echo "lost-write: $variant: ERROR ($(grep -m1 -E 'Expected|error|died|failed' <<<"$log" || echo 'no result'))"
		errors=1
	fi
done < <(grep -E '(ok|not ok) [0-9]+ lost_write\.[a-z_]+\.race' "$tap" | grep -v '# SKIP' |
	grep -oE 'lost_write\.[a-z_]+\.race' | sed -E 's/lost_write\.([a-z_]+)\.race/\1/')
((rc != 4)) || skip "lost_write skipped: $(grep -m1 -o 'SKIP.*' "$tap" || echo 'no reason given')"
[[ $found == 1 ]] || die "the selftest printed no result (exit code $rc)"
if [[ $loaded_amp == 1 && $hits == 0 ]]; then
	echo "lost-write: ERROR (the amplifier never fired: it tested nothing)"
	exit 2
fi
rm -f "$tap"
((errors == 0)) || exit 2
exit $lost
