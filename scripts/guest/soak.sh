#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Runs in the guest (scripts/soak.sh boots it as root):
#   soak.sh <kselftest dir> <amplifier.ko> <fsx config dir> <workdir>
#   soak.sh stressors      (anywhere: the stress-ng stressors it knows)
# Environment (set by scripts/soak.sh): SOAK_SECONDS (each stress-ng
# stressor), SOAK_LW_SECONDS (each lost-write variant), SOAK_FSX_OPS
# (operations of each fsx run), SOAK_FSX_SIZES (file sizes),
# SOAK_WORKLOADS (which of lost-write, fsx, stress-ng), SOAK_FS (which of
# ext4, tmpfs), SOAK_LW_MODES (lost-write: amplified, plain),
# SOAK_STRESSORS (stress-ng stressors, names of the list at the top),
# SOAK_INJECT (fsx: corrupt the file under one fsx run, the harness's
# negative control).
#
# While the workloads run, a loop forces writeback and eviction (sync;
# drop_caches=1 every 200 ms).  This script runs; it judges nothing: each
# workload run leaves its output in <workdir>/<name>.log and a line in
# <workdir>/runs.tsv (workload, exit status, seconds, log, what it did),
# which scripts/soak.sh judges on the host ("soak.sh judge" judges them
# again from the saved files).  The guest ends with
# "soak: done (<n> pressure rounds)".
set -uo pipefail

# stress-ng's mm stressors with --verify, one after the other (all at
# once, some did not finish one operation on a debug kernel under TCG), as
# an unprivileged user, on files of ext4 and of tmpfs; sizes small enough
# for that kernel (the defaults are hundreds of MiB).
stressors=(
	"mmap --mmap 2 --mmap-file --mmap-bytes 1M"
	"msync --msync 1 --msync-bytes 4M"
	"msyncmany --msyncmany 1"
	"madvise --madvise 1"
	"mremap --mremap 1 --mremap-bytes 4M"
	"mmapfork --mmapfork 1"
	"mmapmany --mmapmany 1"
	"tlb-shootdown --tlb-shootdown 1"
	"memfd --memfd 1 --memfd-bytes 4M --memfd-fds 16"
	"userfaultfd --userfaultfd 1"
	"remap --remap 1"
	"munmap --munmap 1"
)

# "soak.sh stressors": the names of the list, one per line (scripts/soak.sh
# and the Makefile read them here).
if [[ ${1:-} == stressors ]]; then
	printf '%s\n' "${stressors[@]%% *}"
	exit 0
fi

ksft=$1 amp=$2 fsxcfg=$3 work=$4
mkdir -p "$work"
rm -f "$work"/*.log "$work/runs.tsv"
printf 'workload\tstatus\tseconds\tlog\twhat\n' >"$work/runs.tsv"

wanted() {
	[[ " $SOAK_WORKLOADS " == *" $1 "* ]]
}

# run <workload> <log name> <what> <command...>: run it, its output to
# <workdir>/<log name>, and record it in runs.tsv.
run() {
	local workload=$1 name=$2 what=$3 start rc=0 secs
	shift 3
	echo "soak: running $workload"
	start=$(date +%s.%N)
	"$@" >"$work/$name" 2>&1 || rc=$?
	secs=$(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN { printf "%.1f", e - s }')
	printf '%s\t%s\t%s\t%s\t%s\n' "$workload" "$rc" "$secs" "$name" "$what" >>"$work/runs.tsv"
}

# Writeback and eviction pressure, in the background.  (Writing 4 to
# drop_caches first stops the kernel's line per drop: thousands in a soak;
# the count is in pressure.count.)
echo 4 >/proc/sys/vm/drop_caches
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

# kselftest's runner writes each program's output to /dev/stdout
# (logfile=/dev/stdout, opened as fd 4), which must be this process's fd 1
# for the output to land in the run's log.  virtme-ng's init links
# /dev/stdout and /dev/stderr to a virtio port of its own (the host's
# stdout: the program's lines went to the guest log, not the run's log);
# and on a slow debug kernel a missing /dev/stdout would make the
# redirection create a regular file that swallows the output.  Link them
# to the process's own descriptors.
for fd in 0:stdin 1:stdout 2:stderr; do
	ln -sfn "/proc/self/fd/${fd%%:*}" "/dev/${fd#*:}"
done
[[ -L /dev/fd ]] || ln -sfn /proc/self/fd /dev/fd

echo "soak: kernel $(uname -r), $(nproc) CPUs, $(awk '/MemTotal/ { print $2 " kB" }' /proc/meminfo)"

# The runner's output through a pipe: it writes the program's output to
# /dev/stdout, which for a regular file would be a new open of it,
# overwriting the runner's own lines.
lost_write() {
	KSELFTEST_RUN_LOST_WRITE_SH_ARGS=$1 "$ksft/run_kselftest.sh" \
		-t delayed-rmap:run_lost_write.sh 2>&1 | cat
}

# 1. The lost-write selftest, every variant, on ext4 (brd) and tmpfs,
# amplified and plain, through kselftest's runner.
if wanted lost-write; then
	for fs in $SOAK_FS; do
		for how in $SOAK_LW_MODES; do
			args="-s $SOAK_LW_SECONDS -F $fs"
			[[ $how == plain ]] || args+=" -a $amp"
			run "lost-write $fs $how" "lost-write-$fs-$how.log" \
				"$fs, $how, ${SOAK_LW_SECONDS}s per variant" lost_write "$args"
		done
	done
fi

# The file systems of fsx and stress-ng: ext4 on a brd RAM disk, and tmpfs.
# A set-up failure leaves the runs of that file system failing (the host
# reports their logs).
mnt=/tmp/soak-mnt
mkdir -p "$mnt/ext4" "$mnt/tmpfs"
if [[ ! -b /dev/ram0 ]]; then
	modprobe brd rd_nr=1 rd_size=262144 || echo "soak: set-up: cannot load brd"
	# devtmpfs makes the node; udev can take minutes on a debug kernel.
	for _ in $(seq 100); do
		[[ -b /dev/ram0 ]] && break
		sleep 0.1
	done
fi
if ! mkfs.ext4 -q -F /dev/ram0 >/dev/null || ! mount -t ext4 /dev/ram0 "$mnt/ext4"; then
	echo "soak: set-up: mkfs.ext4/mount of /dev/ram0 failed"
fi
mount -t tmpfs -o size=256m tmpfs "$mnt/tmpfs" || echo "soak: set-up: mount tmpfs failed"

# fsx_corrupted <file> <fsx args...>: the harness's control: another
# process overwrites the first 64 KiB of the file under test with random
# bytes now and then (a few bytes would rarely be read back before fsx
# rewrites them); fsx must report the difference.
fsx_corrupted() {
	local file=$1 injector rc=0
	shift
	(
		sleep 1
		while :; do
			head -c 65536 /dev/urandom |
				dd of="$file" bs=65536 count=1 conv=notrunc status=none 2>/dev/null
			sleep 0.3
		done
	) &
	injector=$!
	fsx "$@" "$file" || rc=$?
	kill "$injector"
	wait "$injector" 2>/dev/null
	return "$rc"
}

# 2. fsx: mapped reads and writes (with msync, and without: config
# nomsync), truncate, punch hole, fadvise, msync(MS_INVALIDATE), fixed
# seeds, several file sizes.
if wanted fsx; then
	seed=1
	for fs in $SOAK_FS; do
		for cfg in msync nomsync; do
			for size in $SOAK_FSX_SIZES; do
				file=$mnt/$fs/fsx-$cfg-$size
				args=(-q -f "$fsxcfg/$cfg-$size.toml" -N "$SOAK_FSX_OPS" -S "$seed" -P "$work")
				what="$fs, $cfg, flen $size, seed $seed, $SOAK_FSX_OPS ops"
				if [[ $SOAK_INJECT == fsx && $seed == 1 ]]; then
					run "fsx $fs $cfg $size" "fsx-$fs-$cfg-$size.log" \
						"$what, file corrupted by another process" fsx_corrupted "$file" "${args[@]}"
				else
					run "fsx $fs $cfg $size" "fsx-$fs-$cfg-$size.log" "$what" fsx "${args[@]}" "$file"
				fi
				rm -f "$file"
				seed=$((seed + 1))
			done
		done
	done
fi

# 3. stress-ng's stressors (the list at the top).
stress() (
	dir=$1
	shift
	cd "$dir" && setpriv --reuid=65534 --regid=65534 --clear-groups \
		stress-ng --temp-path "$dir" --verify --timeout "${SOAK_SECONDS}s" --metrics-brief "$@"
)
if wanted stress-ng; then
	# (A kernel without CONFIG_USERFAULTFD has no such file; its run of
	# the userfaultfd stressor fails, as it should.)
	[[ ! -e /proc/sys/vm/unprivileged_userfaultfd ]] || echo 1 >/proc/sys/vm/unprivileged_userfaultfd
	for fs in $SOAK_FS; do
		dir=$mnt/$fs/stress
		mkdir -p "$dir"
		chown 65534:65534 "$dir"
		for s in "${stressors[@]}"; do
			[[ " $SOAK_STRESSORS " == *" ${s%% *} "* ]] || continue
			read -ra opts <<<"${s#* }"
			run "stress-ng $fs ${s%% *}" "stress-ng-$fs-${s%% *}.log" \
				"$fs, ${SOAK_SECONDS}s, ${s#* }, --verify, uid 65534" stress "$dir" "${opts[@]}"
		done
	done
fi

kill "$pressure_pid"
wait "$pressure_pid" 2>/dev/null
umount "$mnt/ext4" "$mnt/tmpfs" 2>/dev/null
echo "soak: done ($(cat "$work/pressure.count" 2>/dev/null || echo 0) pressure rounds)"
