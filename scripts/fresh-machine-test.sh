#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The set-up as a new user does it, on a new Debian 12 machine: a minimal
# bookworm root (debootstrap, plus make, the one tool the README asks for
# before `make deps`) whose apt lists are stale, a clean clone of the
# repository's HEAD, and then the given make targets, in that order, as root,
# in a chroot with /dev, /proc and /sys bound (QEMU runs there; KVM if the
# host has it).  Each scenario gets a new root and an empty cache.
#
#   fresh-machine-test.sh <workdir> <scenario>...
#
# <scenario>: make targets joined with "+", e.g. deps-6.1+check-6.1+check-6.1
# (the second check-6.1 is the warm one).  Stops at the first target that
# fails.  Per scenario, <workdir>/<scenario>/ keeps the root (until the next
# run) and one log per target; <workdir>/summary.txt gets a line per target:
# its time, exit status, first and last line.
#
# The stale lists: FRESH_STALE_LISTS=<dir> copies a real old
# /var/lib/apt/lists (only deb.debian.org's); by default the root's own
# lists are made stale the way scripts/deps-test.sh does (three days old,
# naming a stock ABI nine uploads back).  FRESH_MIRROR: the Debian mirror
# (default http://deb.debian.org/debian).

set -euo pipefail
PROG=fresh-machine-test
here=$(dirname "$(realpath "$0")")
repo=$(realpath "$here/..")
# shellcheck source=lib.sh
. "$here/lib.sh"

[[ $# -ge 2 ]] || die "usage: $0 <workdir> <scenario>..."
work=$1
shift
((EUID == 0)) || die "needs root (debootstrap, chroot, mounts)"
need debootstrap debootstrap
need unshare util-linux
need git git
need lz4 lz4
mirror=${FRESH_MIRROR:-http://deb.debian.org/debian}
stale=${FRESH_STALE_LISTS:-}
[[ -z $stale || -d $stale ]] || die "FRESH_STALE_LISTS=$stale is not a directory"
for scenario in "$@"; do
	[[ $scenario =~ ^[a-z0-9.+-]+$ ]] || die "bad scenario '$scenario' (make targets joined with +)"
done
[[ -z $(git -C "$repo" status --porcelain) ]] ||
	log "note: the work tree has uncommitted changes; the test clones HEAD ($(git -C "$repo" log -1 --format=%h))"

mkdir -p "$work"
work=$(realpath "$work")
summary=$work/summary.txt
rm -f "$summary"

# The base root, made once per run: debootstrap's minbase + make, the
# sources a Debian 12 installation has, and lists fetched once.
base=$work/base
rm -rf "$base" "$base.tmp"
log "debootstrap bookworm (minbase + make) into $base"
start=$SECONDS
debootstrap --variant=minbase --include=make,ca-certificates bookworm "$base.tmp" "$mirror" \
	>"$work/debootstrap.log" 2>&1 || {
	tail -n 20 "$work/debootstrap.log" >&2
	die "debootstrap failed (log: $work/debootstrap.log)"
}
cat >"$base.tmp/etc/apt/sources.list" <<EOF
deb $mirror bookworm main
deb $mirror bookworm-updates main
deb http://deb.debian.org/debian-security bookworm-security main
EOF
mv "$base.tmp" "$base"
log "debootstrap: $((SECONDS - start)) s"

# in_root <root> <command>: run <command> (a bash string) in the root, in a
# mount namespace of its own (the binds vanish with it).
in_root() {
	local root=$1 cmd=$2
	cp /etc/resolv.conf "$root/etc/resolv.conf"
	# shellcheck disable=SC2016 # expanded by the inner bash
	unshare --mount --propagation private bash -c '
		set -e
		root=$1
		mount --rbind /dev "$root/dev"
		mount -t proc proc "$root/proc"
		mount --rbind /sys "$root/sys"
		mount -t tmpfs tmpfs "$root/tmp"
		mount -t tmpfs tmpfs "$root/run"
		exec chroot "$root" /usr/bin/env -i HOME=/root TERM=dumb LANG=C.UTF-8 \
			PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
			/bin/bash -c "$2"
	' fresh "$root" "$cmd"
}

# make_stale <root>: its lists stale, naming a gone stock ABI.
make_stale() {
	local root=$1 lists=$1/var/lib/apt/lists abi
	if [[ -n $stale ]]; then
		rm -f "$lists"/*_*
		cp -a "$stale"/deb.debian.org_* "$lists/"
		return 0
	fi
	in_root "$root" 'apt-get update -q' >"$work/lists.log" 2>&1 || {
		cat "$work/lists.log" >&2
		die "apt-get update in the new root failed"
	}
	abi=$(in_root "$root" "apt-cache depends linux-image-amd64" |
		sed -n 's/^ *Depends: linux-image-\(6\.1\.0-[0-9]*\)-amd64$/\1/p' | head -n1)
	[[ -n $abi ]] || die "the new root's lists have no linux-image-amd64"
	doctor_lists "$lists" "$abi" "$(gone_abi "$abi")"
}

# The machine's own certificate authorities (a TLS-intercepting proxy's, say):
# a new machine on this network would have them too, or PyPI and crates.io
# are unreachable from it.
if compgen -G '/usr/local/share/ca-certificates/*.crt' >/dev/null; then
	cp /usr/local/share/ca-certificates/*.crt "$base/usr/local/share/ca-certificates/"
	in_root "$base" 'update-ca-certificates >/dev/null' || die "update-ca-certificates in the new root failed"
	log "local certificate authorities: $(cd /usr/local/share/ca-certificates && echo ./*.crt)"
fi

for scenario in "$@"; do
	dir=$work/$scenario
	root=$dir/root
	rm -rf "$dir"
	mkdir -p "$dir"
	log "$scenario: new root"
	cp -a "$base" "$root"
	make_stale "$root"
	log "$scenario: stale lists: linux-image-amd64 -> $(in_root "$root" "apt-cache depends linux-image-amd64" |
		sed -n 's/^ *Depends: //p' | head -n1)"
	git clone -q "$repo" "$root/root/delayed-rmap"
	for target in ${scenario//+/ }; do
		logf=$dir/$target.log
		[[ -e $logf ]] && logf=$dir/$target.2.log
		log "$scenario: make $target (log: $logf)"
		start=$SECONDS
		rc=0
		in_root "$root" "cd /root/delayed-rmap && make $target" >"$logf" 2>&1 || rc=$?
		took=$((SECONDS - start))
		printf '%s: make %s: exit %d, %d min %d s\n  first: %s\n  last:  %s\n' \
			"$scenario" "$target" "$rc" $((took / 60)) $((took % 60)) \
			"$(grep -m1 . "$logf" || true)" "$(grep . "$logf" | tail -n1 || true)" | tee -a "$summary"
		if ((rc != 0)); then
			tail -n 30 "$logf" >&2
			die "$scenario: make $target failed (log: $logf)"
		fi
	done
done
log "all scenarios passed; summary in $summary"
