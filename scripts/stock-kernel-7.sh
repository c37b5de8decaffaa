#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Debian sid's stock 7.x kernel, the real-world control of the lost-write
# test on mainline (beside Debian 12's stock 6.1 kernel).
#
#   stock-kernel-7.sh <debdir> <rootdir> <release> <version> <srcdir> <jobs>
#
# Downloads linux-binary-<release>, linux-base-<release> (modules.builtin
# and the like), linux-modules-<release> and linux-headers-<release> at
# Debian version <version> (e.g. 7.2.13+deb14-amd64
# at 7.2.13-1) from sid with the private apt state of scripts/kernel-tree.sh
# (nothing is installed; the .debs stay in <debdir>), and unpacks the kernel
# and its modules under <rootdir> (boot/vmlinuz-<release>,
# lib/modules/<release>: what scripts/vng-run.sh boots).
#
# The window amplifier and the tracer are modules and need this kernel's
# headers.  Debian's headers package runs tools built for sid's C library
# and passes options of the compiler Debian built the kernel with (gcc 16),
# neither of which bookworm has.  So <rootdir>/build is made from the same
# source (<srcdir>, Debian's linux-source of the same version, at its
# "pristine" tag) with the stock configuration and Module.symvers from the
# headers package: `make olddefconfig modules_prepare` with this machine's
# compiler.  A module built there carries the stock kernel's release and
# symbol versions and loads into it (unsigned: the stock kernel does not
# enforce signatures).  Prints the kernel image's path on stdout.

set -euo pipefail
PROG=stock-kernel-7
here=$(dirname "$(realpath "$0")")
# shellcheck source=lib.sh
. "$here/lib.sh"

[[ $# -eq 6 ]] || die "usage: $0 <debdir> <rootdir> <release> <version> <srcdir> <jobs>"
debdir=$1 root=$2 release=$3 version=$4 src=$5 jobs=$6
[[ $release =~ ^[0-9]+\.[0-9]+\.[0-9]+\+[a-z0-9]+-amd64$ ]] ||
	die "release '$release' is not like 7.2.13+deb14-amd64 (STOCK7_RELEASE)"
need apt-get apt
need dpkg-deb dpkg
need depmod kmod
need_kbuild_tools
if [[ ! -d $src/.git ]] || ! git -C "$src" rev-parse -q --verify pristine >/dev/null; then
	die "$src is not a fetched kernel tree with a 'pristine' tag (make source-7.2)"
fi

kimg=$root/boot/vmlinuz-$release
stamp=$root/.complete-$release-$version
if [[ -f $stamp && -f $kimg && -f $root/build/.prepared ]]; then
	echo "$kimg"
	exit 0
fi

pkgs=("linux-binary-$release" "linux-base-$release" "linux-modules-$release" "linux-headers-$release")
mkdir -p "$debdir"
debs=()
missing=()
for p in "${pkgs[@]}"; do
	d=$debdir/${p}_${version/:/%3a}_amd64.deb
	debs+=("$d")
	[[ -f $d ]] || missing+=("$p")
done
if ((${#missing[@]})); then
	sid_apt "$debdir" >&2
	for p in "${missing[@]}"; do
		sid_has "$p" "$version" && continue
		die "sid does not have $p=$version any more; sid offers: $(sid_offered '^linux-binary-[0-9.]+\+[a-z0-9]+-amd64$'). Set STOCK7_RELEASE and LINUX7_VERSION to one of those."
	done
	log "downloading ${missing[*]} ($version) from sid" >&2
	(cd "$debdir" && apt-get -q "${SID_APT[@]}" download "${missing[@]/%/=$version}") >&2 ||
		die "apt-get download ${missing[*]} from sid failed"
	for d in "${debs[@]}"; do
		[[ -f $d ]] || die "apt-get download produced no $d"
	done
fi

# Everything below happens in <rootdir> itself (the prepared headers record
# their source's path); the stamp, written last, says it is complete.
log "unpacking $release into $root" >&2
rm -f "$stamp"
[[ -d $root/src ]] && git -C "$src" worktree remove --force "$root/src" 2>/dev/null
rm -rf "$root"
git -C "$src" worktree prune
mkdir -p "$root/boot" "$root/lib/modules" "$root/pkg"
for d in "${debs[@]}"; do
	dpkg-deb -x "$d" "$root/pkg"
done
mods=$root/pkg/usr/lib/modules/$release
hdrs=$root/pkg/usr/src/linux-headers-$release
[[ -f $mods/vmlinuz && -d $mods/kernel ]] || die "the packages hold no $release kernel and modules"
[[ -f $hdrs/.config && -f $hdrs/Module.symvers ]] || die "linux-headers-$release has no .config and Module.symvers"
mv "$mods" "$root/lib/modules/$release"
mv "$root/lib/modules/$release/vmlinuz" "$kimg"
depmod -b "$root" "$release" || die "depmod for $release failed"

# The headers to build modules against, from the same source.
log "preparing $root/build for modules (stock .config, gcc $(gcc -dumpfullversion))" >&2
git -C "$src" worktree add -q --detach "$root/src" pristine
mkdir -p "$root/build"
cp "$hdrs/.config" "$root/build/"
kmake=(make -C "$root/src" O="$root/build" ARCH=x86_64 KERNELRELEASE="$release")
{ "${kmake[@]}" olddefconfig && "${kmake[@]}" -j"$jobs" modules_prepare; } >"$root/build/.prepare.log" 2>&1 || {
	tail -n 30 "$root/build/.prepare.log" >&2
	die "modules_prepare for $release failed (log: $root/build/.prepare.log)"
}
# The stock kernel's symbol versions, not ours.
cp "$hdrs/Module.symvers" "$root/build/"
got=$("${kmake[@]}" -s kernelrelease)
[[ $got == "$release" ]] || die "the prepared headers say $got, not $release"
rm -rf "$root/pkg"
touch "$root/build/.prepared" "$stamp"
echo "$kimg"
