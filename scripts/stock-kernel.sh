#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Debian's stock 6.1 kernel, for the negative control of the lost-write test.
#
#   stock-kernel.sh <debdir> <rootdir> [<abi>]
#
# Downloads linux-image-<abi>-amd64 (default: the one linux-image-amd64
# depends on, i.e. Debian 12's current kernel) into <debdir> and unpacks it
# under <rootdir> (boot/vmlinuz-*, lib/modules/*): the host is not touched,
# no boot entry is created.  virtme-ng finds the modules next to the image
# (<rootdir>/lib/modules/<release>), so modprobe works in the guest.
# Prints the path of the kernel image on stdout.
#
# The matching headers, needed to build the window amplifier module against
# this kernel, are a Debian package (linux-headers-<abi>-amd64) installed by
# `make deps`; this script checks they are there.

set -euo pipefail
PROG=stock-kernel
here=$(dirname "$(realpath "$0")")
# shellcheck source=lib.sh
. "$here/lib.sh"

[[ $# -ge 2 && $# -le 3 ]] || die "usage: $0 <debdir> <rootdir> [<abi>]"
debdir=$1 root=$2 abi=${3:-}
need apt-get apt
need apt-cache apt
need dpkg-deb dpkg

if [[ -z $abi ]]; then
	abi=$(stock_abi)
	[[ -n $abi ]] || die "cannot find Debian 12's 6.1 kernel (apt-cache depends linux-image-amd64; is 'apt-get update' done?)"
fi
release=$abi-amd64
kimg=$root/boot/vmlinuz-$release

if [[ ! -f $root/.complete-$release ]]; then
	mkdir -p "$debdir"
	deb=$(find "$debdir" -maxdepth 1 -name "linux-image-${release}_*.deb" | sort -V | tail -n1)
	if [[ -z $deb ]]; then
		log "downloading linux-image-$release" >&2
		(cd "$debdir" && apt-get download "linux-image-$release") >&2 ||
			die "apt-get download linux-image-$release failed"
		deb=$(find "$debdir" -maxdepth 1 -name "linux-image-${release}_*.deb" | sort -V | tail -n1)
	fi
	[[ -n $deb ]] || die "no linux-image-$release package in $debdir"
	log "unpacking $(basename "$deb") into $root" >&2
	rm -rf "$root.tmp"
	mkdir -p "$root.tmp"
	dpkg-deb -x "$deb" "$root.tmp"
	[[ -f $root.tmp/boot/vmlinuz-$release && -d $root.tmp/lib/modules/$release ]] ||
		die "$deb does not contain boot/vmlinuz-$release and its modules"
	need depmod kmod
	depmod -b "$root.tmp" "$release" || die "depmod for $release failed"
	rm -rf "$root"
	mv "$root.tmp" "$root"
	touch "$root/.complete-$release"
fi
[[ -f $kimg ]] || die "$kimg missing"
echo "$kimg"
