#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Runs in the guest (scripts/soak.sh boots it as root):
#   soak.sh <kselftest dir> <amplifier.ko> <fsx config dir> <workdir>
# Environment (set by scripts/soak.sh): SOAK_SECONDS (each stress-ng run),
# SOAK_LW_SECONDS (each lost-write variant), SOAK_FSX_OPS (operations of
# each fsx run), SOAK_FSX_SIZES (file sizes), SOAK_WORKLOADS (which of
# lost-write, fsx, stress-ng), SOAK_INJECT (fsx: corrupt the file under
# one fsx run, the harness's negative control).
#
# While the workloads run, a loop forces writeback and eviction (sync;
# drop_caches=1 every 200 ms).  Each workload run prints one line
#   soak: <workload>: PASS|FAIL <what it did>
# and the guest ends with "soak: done (<n> pressure rounds)".
set -uo pipefail
ksft=$1 amp=$2 fsxcfg=$3 work=$4
mkdir -p "$work"

result() {
	echo "soak: $1: $2"
}

wanted() {
	[[ " $SOAK_WORKLOADS " == *" $1 "* ]]
}

# Writeback and eviction pressure, in the background.
pressure() {
	local n=0
	while :; do
		sync
		echo 1 >/proc/sys/vm/drop_caches
		n=$((n + 1))
		echo "$n" >"$work/pressure.count"
		sleep 0.2
	done
}
pressure &
pressure_pid=$!

# kselftest's runner writes each program's output to /dev/stdout.  On a
# slow debug kernel the guest's init may not have made the /dev/std*
# links (systemd-tmpfiles makes them; its run can fail there), and a
# redirection to a missing /dev/stdout creates a regular file that
# swallows the output: make them here if they are not links.
for fd in 0:stdin 1:stdout 2:stderr; do
	[[ -L /dev/${fd#*:} ]] || ln -sfn "/proc/self/fd/${fd%%:*}" "/dev/${fd#*:}"
done
[[ -L /dev/fd ]] || ln -sfn /proc/self/fd /dev/fd

echo "soak: kernel $(uname -r), $(nproc) CPUs, $(awk '/MemTotal/ { print $2 " kB" }' /proc/meminfo)"

# 1. The lost-write selftest, every variant, on ext4 (brd) and tmpfs,
# amplified and plain, through kselftest's runner.
if wanted lost-write; then
	for fs in ext4 tmpfs; do
		for how in amplified plain; do
			args="-s $SOAK_LW_SECONDS -F $fs"
			[[ $how == plain ]] || args+=" -a $amp"
			log=$work/lost-write-$fs-$how.log
			# Through a pipe: the runner writes the program's output
			# to /dev/stdout, which for a regular file would be a new
			# open of it, overwriting the runner's own lines.
			KSELFTEST_RUN_LOST_WRITE_SH_ARGS=$args "$ksft/run_kselftest.sh" \
				-t delayed-rmap:run_lost_write.sh 2>&1 | cat >"$log"
			nvar=$(grep -c '^# lost-write: [a-z_]*: ' "$log")
			nlost=$(grep -c '^# lost-write: [a-z_]*: LOST' "$log")
			if grep -q '^ok 1 selftests: delayed-rmap: run_lost_write.sh$' "$log" && ((nvar >= 6 && nlost == 0)); then
				result "lost-write $fs $how" "PASS 0 lost writes in $nvar variants of ${SOAK_LW_SECONDS}s"
			else
				result "lost-write $fs $how" "FAIL $nlost lost writes in $nvar variants; $(grep -E '^(not )?ok 1 ' "$log" || echo 'no result line') (log: $log)"
				grep '^# lost-write: ' "$log" | sed 's/^# /    /'
			fi
		done
	done
fi

# The file systems of fsx and stress-ng: ext4 on a brd RAM disk, and tmpfs.
mnt=/tmp/soak-mnt
mkdir -p "$mnt/ext4" "$mnt/tmpfs"
if [[ ! -b /dev/ram0 ]]; then
	modprobe brd rd_nr=1 rd_size=262144 || result setup "FAIL cannot load brd"
	# devtmpfs makes the node; udev can take minutes on a debug kernel.
	for _ in $(seq 100); do
		[[ -b /dev/ram0 ]] && break
		sleep 0.1
	done
fi
if ! mkfs.ext4 -q -F /dev/ram0 >/dev/null || ! mount -t ext4 /dev/ram0 "$mnt/ext4"; then
	result setup "FAIL mkfs.ext4/mount of /dev/ram0"
fi
mount -t tmpfs -o size=256m tmpfs "$mnt/tmpfs" || result setup "FAIL mount tmpfs"

# 2. fsx: mapped reads and writes (with msync, and without: config
# nomsync), truncate, punch hole, fadvise, msync(MS_INVALIDATE), fixed
# seeds, several file sizes; each run must exit 0.
if wanted fsx; then
	seed=1
	for fs in ext4 tmpfs; do
		for cfg in msync nomsync; do
			for size in $SOAK_FSX_SIZES; do
				file=$mnt/$fs/fsx-$cfg-$size
				log=$work/fsx-$fs-$cfg-$size.log
				injector=
				if [[ $SOAK_INJECT == fsx && $seed == 1 ]]; then
					# The control: another process overwrites the
					# first 64 KiB of the file under test with
					# random bytes now and then (a few bytes would
					# rarely be read back before fsx rewrites them);
					# fsx must report the difference.
					(
						sleep 1
						while :; do
							head -c 65536 /dev/urandom |
								dd of="$file" bs=65536 count=1 conv=notrunc status=none 2>/dev/null
							sleep 0.3
						done
					) &
					injector=$!
				fi
				start=$(date +%s.%N)
				rc=0
				fsx -q -f "$fsxcfg/$cfg-$size.toml" -N "$SOAK_FSX_OPS" -S "$seed" -P "$work" "$file" >"$log" 2>&1 || rc=$?
				secs=$(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN { printf "%.1f", e - s }')
				[[ -z $injector ]] || { kill "$injector"; wait "$injector" 2>/dev/null; }
				what="$fs, $cfg, flen $size, seed $seed, $SOAK_FSX_OPS ops, $secs s${injector:+, file corrupted by another process}"
				if ((rc == 0)); then
					result "fsx $fs $cfg $size" "PASS $what"
				else
					result "fsx $fs $cfg $size" "FAIL exit status $rc: $what (log: $log)"
					tail -n 15 "$log" | sed 's/^/    /'
				fi
				rm -f "$file"
				seed=$((seed + 1))
			done
		done
	done
fi

# 3. stress-ng's mm stressors with --verify, as an unprivileged user, on
# files of ext4 and of tmpfs.
if wanted stress-ng; then
	echo 1 >/proc/sys/vm/unprivileged_userfaultfd
	for fs in ext4 tmpfs; do
		dir=$mnt/$fs/stress
		mkdir -p "$dir"
		chown 65534:65534 "$dir"
		log=$work/stress-ng-$fs.log
		rc=0
		# Sizes small enough for every stressor to finish operations on a
		# debug kernel under TCG (the defaults are hundreds of MiB).
		(cd "$dir" && setpriv --reuid=65534 --regid=65534 --clear-groups \
			stress-ng --temp-path "$dir" --verify --timeout "${SOAK_SECONDS}s" --metrics-brief \
			--mmap 2 --mmap-file --mmap-bytes 16M --msync 1 --msync-bytes 8M \
			--msyncmany 1 --madvise 1 --mremap 1 --mremap-bytes 8M \
			--mmapfork 1 --mmapmany 1 --tlb-shootdown 1 --memfd 1 --memfd-bytes 8M \
			--userfaultfd 1 --remap 1 --munmap 1) >"$log" 2>&1 || rc=$?
		# "metrc: [pid] <stressor> <bogo ops> ...": each stressor's ops.
		ops=$(awk '/ metrc: / && $5 ~ /^[0-9]+$/ { n += $5 } END { print n + 0 }' "$log")
		nstress=$(awk '/ metrc: / && $5 ~ /^[0-9]+$/ { n++ } END { print n + 0 }' "$log")
		idle=$(awk '/ metrc: / && $5 == "0" { printf "%s ", $4 }' "$log")
		fails=$(grep -cE ' fail: |FAILED' "$log")
		skipped=$(grep -ciE 'skipp' "$log")
		if ((rc == 0 && fails == 0 && skipped == 0 && nstress == 12)) && [[ -z $idle ]]; then
			result "stress-ng $fs" "PASS $nstress stressors, ${SOAK_SECONDS}s, $ops bogo ops, --verify, uid 65534"
		else
			result "stress-ng $fs" "FAIL exit status $rc, $nstress of 12 stressors reported${idle:+, no operation done by: $idle}, $fails failure and $skipped skip lines (log: $log)"
			grep -iE ' fail: |FAILED|skipp|error' "$log" | head -n 15 | sed 's/^/    /'
		fi
	done
fi

kill "$pressure_pid"
wait "$pressure_pid" 2>/dev/null
umount "$mnt/ext4" "$mnt/tmpfs" 2>/dev/null
echo "soak: done ($(cat "$work/pressure.count" 2>/dev/null || echo 0) pressure rounds)"
