#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Boot a kernel built by scripts/build-kernel.sh with virtme-ng and run one
# command in the guest; exit with the command's exit status.
#
#   vng-run.sh <builddir> <command>
#   vng-run.sh <kernel image> <command>
#
# A kernel image (e.g. Debian's stock kernel unpacked by stock-kernel.sh
# into <root>/boot/vmlinuz-<release>) boots with its modules from
# <root>/lib/modules/<release>.
#
# The guest sees the host's root file system read-only (virtiofs, or 9p when
# no usable virtiofsd exists); /tmp is a writable tmpfs.  If the guest dies
# (panic, oops: "oops=panic panic=-1" is on the command line by default) vng
# exits with 255.
#
# A guest that dies or hangs before its command starts tested nothing: QEMU
# under TCG aborts now and then while the guest kernel boots (seen: an
# assertion in hw/pci/msix.c, about one boot in a few hundred).  vng-run.sh
# knows the command started from a line the guest writes to stderr just
# before it ("vng-run: guest command starting"); without that line it boots
# once more (VNG_BOOT_TRIES), saying why.  A failure after the command
# started is never retried.  A boot can also hang (seen: a 7.x test kernel
# under TCG stopped printing 1 s into its boot, after "vgaarb: loaded", and
# sat there until the step's whole timeout ran out, 390 s): a boot whose
# command has not started within VNG_START_TIMEOUT is killed and counts as
# one that died.
#
# Environment:
#   ACCEL=auto|kvm|tcg  accelerator; auto (default) probes whether KVM really
#                       works (scripts/kvm-probe.S: a tiny BIOS that enters
#                       long mode and exits QEMU through isa-debug-exit) and
#                       falls back to TCG otherwise.
#   VNG_CPUS=4          guest vCPUs (the race tests need >= 2)
#   VNG_MEMORY=2G       guest memory
#   VNG_APPEND=...      extra kernel command line (default "oops=panic panic=-1")
#   VNG_TCG_DETECTORS=yes  under TCG, stall detectors scaled as syzbot does
#                       for emulation (below); no: the kernel's defaults
#   VNG_TIMEOUT=0       seconds before the whole run is killed (0: none)
#   VNG_RWDIRS=...      space-separated host directories made writable in the guest
#   VNG_OPTS=...        further vng options, word-split
#   VNG_BOOT_TRIES=2    boots tried when the guest dies before its command
#                       starts (1: no retry)
#   VNG_START_TIMEOUT   seconds a boot may take to start the command (0: no
#                       bound); default 180, 900 for a KASAN kernel (its
#                       .config, or the config of a variant's image, says)
#   VNG_CONSOLE=<file>  keep the guest kernel's console in <file> (vng
#                       --verbose: boot messages, warnings, oopses, the panic
#                       that ended a boot), each boot under a header line;
#                       its lines are kept out of the command's stderr
#   CACHE_DIR           where the KVM probe's verdict is cached (per host boot)

set -euo pipefail
PROG=vng-run
here=$(dirname "$(realpath "$0")")
# shellcheck source=lib.sh
. "$here/lib.sh"

[[ $# -eq 2 ]] || die "usage: $0 <builddir> <command>"
out=$1 cmd=$2
ACCEL=${ACCEL:-auto}
VNG_CPUS=${VNG_CPUS:-4}
VNG_MEMORY=${VNG_MEMORY:-2G}
VNG_APPEND=${VNG_APPEND-oops=panic panic=-1}
VNG_TIMEOUT=${VNG_TIMEOUT:-0}
VNG_RWDIRS=${VNG_RWDIRS:-}
VNG_OPTS=${VNG_OPTS:-}
VNG_BOOT_TRIES=${VNG_BOOT_TRIES:-2}
VNG_CONSOLE=${VNG_CONSOLE:-}
[[ $VNG_BOOT_TRIES =~ ^[1-9]$ ]] ||
	die "VNG_BOOT_TRIES must be a number from 1 to 9 (got '$VNG_BOOT_TRIES')"
[[ $VNG_TIMEOUT =~ ^[0-9]+$ ]] ||
	die "VNG_TIMEOUT must be a number of seconds (got '$VNG_TIMEOUT')"
[[ ${VNG_START_TIMEOUT:-0} =~ ^[0-9]+$ ]] ||
	die "VNG_START_TIMEOUT must be a number of seconds (got '$VNG_START_TIMEOUT')"

# pip may put vng outside PATH (e.g. ~/.local/bin): look where python puts scripts.
if ! command -v vng >/dev/null 2>&1 && command -v python3 >/dev/null 2>&1; then
	PATH=$PATH:$(python3 -c 'import sysconfig; print(sysconfig.get_path("scripts"))')
fi
command -v vng >/dev/null 2>&1 ||
	die "'vng' not found: install it with 'pip install virtme-ng' (or run 'make deps' as root)"
need qemu-system-x86_64 qemu-system-x86
need timeout coreutils

if [[ -f $out ]]; then
	release=$(basename "$out")
	release=${release#vmlinuz-}
else
	require_current_build "$out"
	[[ -f $out/arch/x86/boot/bzImage ]] || die "$out/arch/x86/boot/bzImage missing"
	release=$(sed -n 's/^release=//p' "$out/.delayed-rmap-built")
fi

# How long a boot may take to start the command: a KASAN kernel under TCG
# boots several times slower than a test kernel.
if [[ -z ${VNG_START_TIMEOUT:-} ]]; then
	VNG_START_TIMEOUT=180
	kconfig=$out/.config
	[[ -d $out ]] || kconfig=$(dirname "$out")/../config
	if [[ -f $kconfig ]] && grep -qx 'CONFIG_KASAN=y' "$kconfig"; then
		VNG_START_TIMEOUT=900
	fi
fi

# kvm_probe: exit status 0 if QEMU can really run a guest with KVM here.
# /dev/kvm can exist and still fail (MSR aborts, hangs), so run a guest:
# scripts/kvm-probe.S goes from the reset vector into 64-bit long mode and
# exits QEMU with status 3 through isa-debug-exit.
kvm_probe_reason=
kvm_probe() {
	local dir rc=0
	if [[ ! -c /dev/kvm ]]; then
		kvm_probe_reason="no /dev/kvm"
		return 1
	fi
	if [[ ! -r /dev/kvm || ! -w /dev/kvm ]]; then
		kvm_probe_reason="/dev/kvm not accessible to $(id -un)"
		return 1
	fi
	need as binutils
	need ld binutils
	dir=$(mktemp -d)
	as --64 -o "$dir/probe.o" "$here/kvm-probe.S"
	ld -m elf_x86_64 -Ttext 0 --oformat binary -o "$dir/probe.bin" "$dir/probe.o"
	# In a subshell: a QEMU killed by a signal (abort) would have bash
	# print "Aborted" with the whole command line ("exit" keeps the subshell
	# from exec-ing timeout, so it is the one that reports to /dev/null).
	(timeout 15 qemu-system-x86_64 -accel kvm -cpu host -machine pc \
		-display none -nodefaults -no-reboot \
		-device isa-debug-exit,iobase=0xf4,iosize=4 \
		-bios "$dir/probe.bin" >"$dir/log" 2>&1; exit $?) 2>/dev/null || rc=$?
	rm -rf "$dir"
	case $rc in
	3) return 0 ;;
	124) kvm_probe_reason="QEMU with KVM hung (long-mode probe timed out after 15 s)" ;;
	*) kvm_probe_reason="QEMU with KVM failed (probe exit status $rc)" ;;
	esac
	return 1
}

case $ACCEL in
kvm)
	accel=kvm why="ACCEL=kvm"
	[[ -c /dev/kvm ]] || die "ACCEL=kvm but there is no /dev/kvm"
	;;
tcg) accel=tcg why="ACCEL=tcg" ;;
auto)
	# Cache the verdict for this boot of the host: the probe costs up to 15 s
	# when KVM hangs.
	probe_cache=
	if [[ -n ${CACHE_DIR:-} && -r /proc/sys/kernel/random/boot_id ]]; then
		probe_cache=$CACHE_DIR/kvm-probe.$(</proc/sys/kernel/random/boot_id)
	fi
	if [[ -n $probe_cache && -f $probe_cache ]]; then
		read -r accel why <"$probe_cache"
		why="$why (cached probe)"
	elif kvm_probe; then
		accel=kvm why="KVM probe passed"
	else
		accel=tcg why="$kvm_probe_reason"
	fi
	if [[ -n $probe_cache && ! -f $probe_cache ]]; then
		mkdir -p "$CACHE_DIR"
		echo "$accel $why" >"$probe_cache"
	fi
	;;
*) die "ACCEL must be auto, kvm or tcg (got '$ACCEL')" ;;
esac
log "accelerator: $accel ($why)" >&2

vng_args=(--run "$out" --cpus "$VNG_CPUS" --memory "$VNG_MEMORY")
[[ $accel == tcg ]] && vng_args+=(--disable-kvm)
# Under TCG a guest runs many times slower than on hardware (a debug
# kernel with KASAN, 4 vCPUs on 2 host cores: a THP fault with direct
# compaction has held a VMA lock for over 120 s while making progress),
# and the kernel's stall detectors are set for hardware: a task blocked
# 120 s is a "hung task", 20 s on a CPU a soft lockup.  They are scaled as
# syzbot scales them for its emulated (TCG) instances: soft lockup after
# 2 x 165 s, workqueue stall 420 s, RCU stall 300 s, hung task 420 s.  A
# real deadlock never ends and is still reported; a step's VNG_TIMEOUT
# bounds the rest.  A setting given in VNG_APPEND is kept; VNG_TCG_DETECTORS=
# no leaves the kernel's own values.
VNG_TCG_DETECTORS=${VNG_TCG_DETECTORS:-yes}
[[ $VNG_TCG_DETECTORS == yes || $VNG_TCG_DETECTORS == no ]] ||
	die "VNG_TCG_DETECTORS must be yes or no (got '$VNG_TCG_DETECTORS')"
if [[ $accel == tcg && $VNG_TCG_DETECTORS == yes ]]; then
	for p in watchdog_thresh=165 workqueue.watchdog_thresh=420 rcupdate.rcu_cpu_stall_timeout=300 \
		sysctl.kernel.hung_task_timeout_secs=420; do
		[[ " $VNG_APPEND " == *" ${p%%=*}="* ]] || VNG_APPEND+="${VNG_APPEND:+ }$p"
	done
	log "TCG: stall detectors scaled for emulation (kernel command line: $VNG_APPEND)" >&2
fi
[[ -n $VNG_APPEND ]] && vng_args+=(--append "$VNG_APPEND")
for d in $VNG_RWDIRS; do
	vng_args+=(--rwdir "$d")
done
if [[ -n $VNG_CONSOLE ]]; then
	vng_args+=(--verbose)
	mkdir -p "$(dirname "$VNG_CONSOLE")"
	: >"$VNG_CONSOLE"
fi
# shellcheck disable=SC2206 # VNG_OPTS is meant to be word-split
vng_args+=($VNG_OPTS)
started="vng-run: guest command starting"
# virtme-ng passes the command base64-encoded on the kernel command line,
# which x86 cuts at 2048 bytes: cut, it loses virtme's init= after it and
# the kernel starts the host's systemd instead, which dies at once
# ("Failed to mount API filesystems").  A long command goes in a script.
((${#cmd} <= 1000)) ||
	die "the guest command is ${#cmd} bytes; at most 1000 fit on the kernel command line (virtme-ng passes it there): put it in a script and run that"
vng_args+=(--exec "echo '$started' >&2; $cmd")

# timeout runs vng (and the QEMU it starts) in a process group of its
# own, and passes a signal it gets on to the whole group: the start
# watchdog below stops a hung boot through it ("timeout 0": no time limit).
run=(timeout --kill-after=10 "$VNG_TIMEOUT" vng "${vng_args[@]}")

# QEMU opens the guest's stdout/stderr as "/proc/self/fd/1" and "2" with
# O_TRUNC: if they are regular files (a CI log, `make ... >log`) everything
# written to them before is wiped out.  Hand vng pipes instead, keeping
# stdout and stderr apart (stderr is also copied to a file, to look for the
# guest's start line); the exit status comes back through a file.
# With VNG_CONSOLE, the console (printk lines, "[    1.234567] ...") and
# what virtme says in verbose mode ("virtme: waiting for virtiofsd", "fuse:
# ...", "virtme-ng-init: ...") share vng's stderr with the command's: they go
# to the console file only.
console_split() {
	if [[ -n $VNG_CONSOLE ]]; then
		tee -a "$VNG_CONSOLE" |
			{ grep --line-buffered -avE $'^\r?(\\[ *[0-9]+\\.[0-9]+\\]|virtme[-a-z]*: |fuse: )' || true; }
	else
		cat
	fi
}
# start_watchdog <pid>: stop the boot (timeout's <pid>) when its command
# has not started within VNG_START_TIMEOUT seconds; say so in $stall_file.
start_watchdog() {
	local pid=$1 t
	for ((t = 0; t < VNG_START_TIMEOUT; t += 2)); do
		sleep 2
		grep -qxF "$started" "$err_file" && return 0
		kill -0 "$pid" 2>/dev/null || return 0
	done
	echo "no start within $VNG_START_TIMEOUT s" >"$stall_file"
	kill -TERM "$pid" 2>/dev/null || true
}
rc_file=$(mktemp)
err_file=$(mktemp)
stall_file=$(mktemp)
trap 'rm -f "$rc_file" "$err_file" "$stall_file"' EXIT
for ((try = 1; ; try++)); do
	boot_of=
	((try == 1)) || boot_of=", boot $try of $VNG_BOOT_TRIES"
	log >&2 "booting $release with $VNG_CPUS vCPUs, $VNG_MEMORY$boot_of"
	[[ -z $VNG_CONSOLE ]] || echo "=== vng-run: boot $try: $release, $accel, $(date -u +%FT%TZ)" >>"$VNG_CONSOLE"
	: >"$rc_file"
	: >"$err_file"
	: >"$stall_file"
	{
		{
			rc=0
			"${run[@]}" </dev/null &
			pid=$!
			wdog=
			if ((VNG_START_TIMEOUT > 0)); then
				start_watchdog "$pid" >/dev/null 2>&1 &
				wdog=$!
			fi
			wait "$pid" || rc=$?
			[[ -z $wdog ]] || { kill "$wdog" 2>/dev/null || true; wait "$wdog" 2>/dev/null || true; }
			echo "$rc" >"$rc_file"
		} 2>&1 1>&3 3>&- | tee "$err_file" | console_split >&2
	} 3>&1 | cat
	rc=$(<"$rc_file")
	[[ -n $rc ]] || die "lost the exit status of vng"
	((rc != 0)) || break
	grep -qxF "$started" "$err_file" && break
	why="exit status $rc"
	((rc != 124)) || why+=": no start within $VNG_TIMEOUT s"
	[[ ! -s $stall_file ]] || why="the boot hung: $(<"$stall_file")"
	[[ -z $VNG_CONSOLE ]] || echo "=== vng-run: boot $try: ended before its command started ($why)" >>"$VNG_CONSOLE"
	((try < VNG_BOOT_TRIES)) || break
	log >&2 "the guest died before its command started ($why): booting it once more"
done
if [[ $VNG_TIMEOUT != 0 && $rc == 124 ]] && [[ ! -s $stall_file ]]; then
	die "guest did not finish within $VNG_TIMEOUT s"
fi
if ((rc != 0)) && ! grep -qxF "$started" "$err_file"; then
	log >&2 "the guest died before its command started, in each of $try boot(s) ($why)"
fi
exit "$rc"
