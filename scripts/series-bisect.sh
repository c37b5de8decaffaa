#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Every patch of the series must build on its own (git bisect must never
# land on a broken tree).  For every prefix of the applied series but the
# whole of it (which `make compile-matrix` builds), in every configuration
# of the compile matrix (scripts/compile-matrix.sh, no warning allowed),
# builds what a prefix can break: the objects of the C files the series
# changes that the configuration builds (as the compile matrix's build of
# the whole series shows: <build-root>/matrix-<config>), and the arch mm
# code of an architecture whose headers the series changes (s390: its
# asm/tlb.h).  A change to a header every file includes breaks those
# objects too; a caller the series does not change builds with the whole
# series (the compile matrix), so a prefix can only break it through a
# header that the changed files include as well.  Building all of mm/ for
# every prefix cost 16 of the ~85 minutes of a cold make check (each
# prefix rebuilds nearly everything: the series changes mm_types.h,
# asm-generic/tlb.h and mm/internal.h).  BISECT_FULL=1 builds the
# configurations' whole directories for every prefix, as before.
#
#   series-bisect.sh <srcdir> <build-root> <jobs> [<result-file>]
#
# <srcdir> is the git tree prepared by kernel-tree.sh (tag "pristine",
# series applied on top).  The prefixes are checked out one after the other
# in a separate worktree, <srcdir>-bisect, and built in
# <build-root>/bisect/matrix-<config>, so the main tree and its builds stay
# untouched and every build here is incremental.  A series whose prefixes
# all passed once is not built again (stamp keyed by the trees built).
# Prints "series bisect: patches 1-<n-1> of <n> build in <configurations>"
# (patch n, the whole series, is the compile matrix's job).

set -euo pipefail
PROG=series-bisect
here=$(dirname "$(realpath "$0")")
# shellcheck source=lib.sh
. "$here/lib.sh"

[[ $# -ge 3 && $# -le 4 ]] || die "usage: $0 <srcdir> <build-root> <jobs> [<result-file>]"
src=$(realpath "$1") root=$2 jobs=$3 result=${4:-}
need git git
[[ -d $src/.git ]] || die "$src is not a git tree prepared by kernel-tree.sh"
git -C "$src" rev-parse -q --verify pristine >/dev/null || die "$src has no 'pristine' tag"
lock_cache
BISECT_FULL=${BISECT_FULL:-0}
[[ $BISECT_FULL == 0 || $BISECT_FULL == 1 ]] || die "BISECT_FULL must be 0 or 1 (got '$BISECT_FULL')"
MATRIX=${MATRIX:-x86_64-smp x86_64-up arm64 s390x}
scope="what a prefix can break"
((!BISECT_FULL)) || scope="every directory of the matrix"

mapfile -t commits < <(git -C "$src" rev-list --reverse pristine..HEAD)
n=${#commits[@]}
((n > 0)) || die "no patch applied on top of pristine in $src"

report() {
	echo "$1"
	[[ -z $result ]] || echo "$1" >"$result"
}

if ((n == 1)); then
	report "series bisect: 1 patch, nothing to bisect (the whole series is the compile matrix's job)"
	exit 0
fi

# Contents only, not paths or commit ids: the source trees of the prefixes
# that are built (patches 1 to n-1) and the matrix.  The same series checked
# from another clone, or applied again with git am (new commit ids), or with
# only its last patch changed, is the same check.
key=$({
	for ((i = 0; i < n - 1; i++)); do
		git -C "$src" rev-parse "${commits[i]}^{tree}"
	done
	cat "$here/compile-matrix.sh" "$here"/../configs/matrix-*.config | sha256sum
	echo "$MATRIX $BISECT_FULL"
} | sha256sum | cut -d' ' -f1)
stamp=$root/bisect/.passed
if [[ -f $stamp && $(cat "$stamp") == "$key" ]]; then
	report "series bisect: patches 1-$((n - 1)) of $n build ($scope) in ${MATRIX// /, } (cached: the same trees passed before)"
	exit 0
fi
rm -f "$stamp"

# The C files the series changes, and the architectures whose own files it
# changes.
mapfile -t cfiles < <(git -C "$src" diff --name-only pristine HEAD -- '*.c')
archs=$(git -C "$src" diff --name-only pristine HEAD -- 'arch/*' | cut -d/ -f2 | sort -u)
# prefix_targets <config> [<tree>]: what a prefix can break in <config>:
# the objects of those C files the compile matrix built for the whole
# series (and that exist in the prefix's <tree>: a later patch may add
# one), and arch/<arch>/mm/ if the series changes that architecture.
prefix_targets() {
	local name=$1 tree=${2:-} f t=() arch
	[[ -d $root/matrix-$name ]] ||
		die "no compile matrix build in $root/matrix-$name: run make compile-matrix first"
	for f in "${cfiles[@]}"; do
		[[ -f $root/matrix-$name/${f%.c}.o ]] || continue
		[[ -z $tree || -f $tree/$f ]] || continue
		t+=("${f%.c}.o")
	done
	case $name in
	x86_64-*) arch=x86 ;;
	arm64) arch=arm64 ;;
	s390x) arch=s390 ;;
	esac
	grep -qx "$arch" <<<"$archs" && t+=("arch/$arch/mm/")
	echo "${t[*]}"
}
for name in $MATRIX; do
	((BISECT_FULL)) || prefix_targets "$name" >/dev/null
done

wt=$src-bisect
ensure_worktree "$src" "$wt" pristine

ok=0 failed=()
log "building patches 1-$((n - 1)) of $n (patch $n, the whole series, is the compile matrix's job)"
for ((i = 0; i < n - 1; i++)); do
	c=${commits[i]}
	subject=$(git -C "$src" log -1 --format=%s "$c")
	# checkout only rewrites the files that differ: builds stay incremental
	git -C "$wt" checkout -q --detach "$c"
	log "patch $((i + 1))/$n: $subject"
	good=1
	for name in $MATRIX; do
		targets=
		if ((!BISECT_FULL)); then
			targets=$(prefix_targets "$name" "$wt")
			[[ -n $targets ]] || continue
		fi
		MATRIX=$name MATRIX_TARGETS=$targets "$here/compile-matrix.sh" "$wt" "$root/bisect" "$jobs" |
			grep -v '^compile matrix: ' | sed 's/^/    /' || good=0
	done
	if ((good)); then
		ok=$((ok + 1))
	else
		failed+=("$((i + 1))")
	fi
done
if ((ok == n - 1)); then
	mkdir -p "$root/bisect"
	echo "$key" >"$stamp"
	report "series bisect: patches 1-$((n - 1)) of $n build ($scope) in ${MATRIX// /, }"
else
	report "series bisect: $ok of patches 1-$((n - 1)) of $n build ($scope) in ${MATRIX// /, } (failed: patch ${failed[*]})"
	exit 1
fi
