#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Manage a kernel source tree kept as a git repository in the cache.
#
#   kernel-tree.sh fetch  <pkg> <srcdir> <debdir>
#       Download the Debian source package <pkg> (e.g. linux-source-6.1)
#       into <debdir> and unpack it into <srcdir> as a git repository whose
#       first commit, tagged "pristine", is the untouched source.
#
#   kernel-tree.sh fetch-sid <pkg> <version> <srcdir> <debdir>
#       The same for a package that only Debian sid has (linux-source-7.x),
#       pinned to <version>.  The machine's apt configuration is left alone:
#       apt runs with a private sources list and state directory under
#       <debdir>/apt-sid (mirror: $SID_MIRROR, default deb.debian.org).  The
#       .deb stays in <debdir>, so a later fetch needs no network.  If sid no
#       longer has <version>, it fails naming the versions sid offers.
#
#   kernel-tree.sh apply  <srcdir> <series-dir>...
#       Reset <srcdir> to "pristine" and apply every patch listed in
#       <series-dir>/series with git am, one series directory after the
#       other.  Stops at the first patch that does
#       not apply and names it.  Does nothing if the same series is already
#       applied (the working tree is left untouched, so builds stay
#       incremental).
#
# The tree only appears under its final name once it is complete: an
# interrupted fetch leaves a *.tmp directory behind, never a half tree.

set -euo pipefail
PROG=kernel-tree
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

git_tree() {
	git -C "$1" -c user.name="delayed-rmap pipeline" \
		-c user.email="pipeline@delayed-rmap.invalid" "${@:2}"
}

have_tree() {
	local srcdir=$1
	if [[ -d $srcdir/.git ]] && git -C "$srcdir" rev-parse -q --verify pristine >/dev/null; then
		echo "kernel-tree: $srcdir already present ($(git -C "$srcdir" log -1 --format=%s pristine))"
		return 0
	fi
	return 1
}

# apt_opts: as root, apt downloads as user _apt, which cannot write to our
# cache: let it download as root instead of warning about it.
apt_opts=()
[[ $EUID -ne 0 ]] || apt_opts=(-o APT::Sandbox::User=root)

fetch() {
	local pkg=$1 srcdir=$2 debdir=$3 deb

	have_tree "$srcdir" && return 0
	need apt-get apt
	mkdir -p "$debdir"
	deb=$(find "$debdir" -maxdepth 1 -name "${pkg}_*.deb" -print | sort -V | tail -n1)
	if [[ -z $deb ]]; then
		echo "kernel-tree: downloading $pkg"
		if ! (cd "$debdir" && apt-get "${apt_opts[@]}" download "$pkg"); then
			# Stale or missing package lists are the usual cause.
			[[ $EUID -eq 0 ]] ||
				die "apt-get download $pkg failed (run 'apt-get update' as root; is its suite in sources.list?)"
			echo "kernel-tree: apt-get download failed: apt-get update and retry"
			apt-get update -q
			(cd "$debdir" && apt-get "${apt_opts[@]}" download "$pkg") ||
				die "apt-get download $pkg failed (is its suite, e.g. bookworm-security, in sources.list?)"
		fi
		deb=$(find "$debdir" -maxdepth 1 -name "${pkg}_*.deb" -print | sort -V | tail -n1)
		[[ -n $deb ]] || die "apt-get download $pkg produced no .deb in $debdir"
	fi
	unpack "$deb" "$srcdir"
}

fetch_sid() {
	local pkg=$1 version=$2 srcdir=$3 debdir=$4 deb offered
	# apt writes "~" and ":" in file names as is, "+" too; the epoch is %3a.
	local debname=${pkg}_${version/:/%3a}_all.deb

	if have_tree "$srcdir"; then
		# One tree per 7.x series: another pinned version replaces it.
		git -C "$srcdir" log -1 --format=%s pristine | grep -qF "$debname" &&
			return 0
		echo "kernel-tree: $srcdir is not $pkg $version: replacing it"
		rm -rf "$srcdir"
	fi
	need apt-get apt
	mkdir -p "$debdir"
	deb=$debdir/$debname
	if [[ ! -f $deb ]]; then
		sid_apt "$debdir"
		if ! sid_has "$pkg" "$version"; then
			offered=$(sid_offered '^linux-source-[0-9.]+$')
			die "sid does not have $pkg=$version any more; sid offers: ${offered:-no linux-source package}. Set LINUX7_VERSION to one of those versions."
		fi
		echo "kernel-tree: downloading $pkg=$version from sid"
		(cd "$debdir" && apt-get -q "${SID_APT[@]}" download "$pkg=$version") ||
			die "apt-get download $pkg=$version from sid failed"
		[[ -f $deb ]] || die "apt-get download produced no $deb"
	fi
	unpack "$deb" "$srcdir"
}

# unpack <deb> <srcdir>: the linux-source tarball inside <deb> becomes a git
# tree at <srcdir>, first commit tagged "pristine".
unpack() {
	local deb=$1 srcdir=$2 tarball tmp version

	need dpkg-deb dpkg
	need git git
	need xz xz-utils
	tmp=$srcdir.tmp
	rm -rf "$tmp"
	mkdir -p "$tmp"
	echo "kernel-tree: unpacking $(basename "$deb")"
	tarball=$(dpkg-deb --contents "$deb" | awk '{print $6}' |
		grep -E '^\./usr/src/linux-source-[0-9.]+\.tar\.xz$' | head -n1)
	[[ -n $tarball ]] || die "$deb does not contain a linux-source tarball"
	dpkg-deb --fsys-tarfile "$deb" | tar -xO "$tarball" |
		tar -xJ -C "$tmp" --strip-components=1

	[[ -f $tmp/Makefile && -d $tmp/mm ]] || die "unpacked tree in $tmp does not look like Linux"
	version=$(make -s -C "$tmp" kernelversion 2>/dev/null) || version=unknown
	echo "kernel-tree: committing pristine $version source"
	git_tree "$tmp" init -q -b pristine-src
	# Some 80,000 loose objects: without this, the commit below (and later
	# git am, revert, checkout) start "git gc --auto", which repacks the
	# whole tree in the background for minutes while the kernel builds.
	git -C "$tmp" config gc.auto 0
	git -C "$tmp" config maintenance.auto false
	# The tarball's .gitignore files are part of the source: keep them, but
	# commit every file that is actually in the tarball.
	git_tree "$tmp" add -A -f .
	git_tree "$tmp" commit -q -m "Linux $version (pristine, from $(basename "$deb"))"
	git_tree "$tmp" tag pristine
	rm -rf "$srcdir"
	mv "$tmp" "$srcdir"
	echo "kernel-tree: $srcdir ready"
}

# restore_mtimes <srcdir> <old-commit> <mtimes-file>: give back its recorded
# modification time to every file whose content is the same in HEAD as in
# <old-commit>.
restore_mtimes() {
	local srcdir=$1 old=$2 list=$3 mtime file
	[[ -s $list ]] || return 0
	while IFS= read -r -d '' mtime && IFS= read -r -d '' file; do
		[[ -f $srcdir/$file ]] || continue
		git -C "$srcdir" diff --quiet "$old" HEAD -- "$file" || continue
		touch -m -d "@$mtime" -- "$srcdir/$file"
	done <"$list"
	rm -f "$list"
}

apply() {
	local srcdir=$1 series_dir stamp want patch n=0 old mtimes
	shift

	[[ -d $srcdir/.git ]] || die "$srcdir is not a git tree (run the fetch step first)"
	git -C "$srcdir" rev-parse -q --verify pristine >/dev/null ||
		die "$srcdir has no 'pristine' tag"
	for series_dir in "$@"; do
		[[ -f $series_dir/series ]] || die "$series_dir/series not found"
	done

	# Identity of the series: the content of every listed patch, in order.
	want=$(for series_dir in "$@"; do
		(
			cd "$series_dir"
			while read -r patch; do
				[[ -z $patch || $patch == \#* ]] && continue
				[[ -f $patch ]] || die "patch '$patch' listed in $series_dir/series does not exist"
				sha256sum "$patch"
			done <series
		)
	done | sha256sum | cut -d' ' -f1)
	stamp=$srcdir/.git/delayed-rmap-series
	if [[ -f $stamp && $(cat "$stamp") == "$want" ]] &&
		[[ -z $(git -C "$srcdir" status --porcelain --untracked-files=no) ]]; then
		n=$(git -C "$srcdir" rev-list --count pristine..HEAD)
		echo "kernel-tree: series already applied ($n patches)"
		return 0
	fi

	rm -f "$stamp"
	git -C "$srcdir" am --abort >/dev/null 2>&1 || true
	# Re-applying rewrites every file the old series touched.  Remember their
	# modification times so the ones the new series leaves byte-identical can
	# get them back afterwards: then make rebuilds only what really changed
	# (a header like tlb.h is included by most of the kernel).
	old=$(git -C "$srcdir" rev-parse -q --verify HEAD) || old=pristine
	mtimes=$srcdir/.git/delayed-rmap-mtimes
	git -C "$srcdir" diff -z --name-only pristine "$old" -- |
		(cd "$srcdir" && xargs -0r stat --printf '%.9Y\0%n\0' -- 2>/dev/null) >"$mtimes" || true
	git -C "$srcdir" checkout -q -f -B series pristine
	git -C "$srcdir" reset -q --hard pristine
	for series_dir in "$@"; do
		while read -r patch; do
			[[ -z $patch || $patch == \#* ]] && continue
			if ! git_tree "$srcdir" am -q --keep-cr "$(realpath "$series_dir/$patch")"; then
				git -C "$srcdir" am --abort >/dev/null 2>&1 || true
				git -C "$srcdir" reset -q --hard pristine
				die "patch $series_dir/$patch does not apply to $(git -C "$srcdir" log -1 --format=%s)"
			fi
			n=$((n + 1))
			echo "kernel-tree: applied $(basename "$series_dir")/$patch"
		done <"$series_dir/series"
	done
	restore_mtimes "$srcdir" "$old" "$mtimes"
	echo "$want" >"$stamp"
	echo "kernel-tree: series applied ($n patches)"
}

[[ $# -ge 1 ]] || die "usage: $0 fetch <pkg> <srcdir> <debdir> | fetch-sid <pkg> <version> <srcdir> <debdir> | apply <srcdir> <series-dir>..."
cmd=$1
shift
lock_cache
case $cmd in
fetch)
	[[ $# -eq 3 ]] || die "usage: $0 fetch <pkg> <srcdir> <debdir>"
	fetch "$@"
	;;
fetch-sid)
	[[ $# -eq 4 ]] || die "usage: $0 fetch-sid <pkg> <version> <srcdir> <debdir>"
	fetch_sid "$@"
	;;
apply)
	[[ $# -ge 2 ]] || die "usage: $0 apply <srcdir> <series-dir>..."
	apply "$@"
	;;
*)
	die "unknown command '$cmd'"
	;;
esac
