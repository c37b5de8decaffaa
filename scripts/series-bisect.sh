#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Every patch of the series must build on its own (git bisect must never
# land on a broken tree).  Runs the compile matrix (scripts/compile-matrix.sh,
# no warning allowed) on every prefix of the applied series but the whole
# of it, which `make compile-matrix` already covers, in the configurations
# of BISECT_MATRIX: by default x86_64 SMP, x86_64 !SMP and s390x, the
# configurations whose code the series changes (generic mm with and
# without SMP; s390 has its own asm/tlb.h, changed by patch 3).  arm64 uses
# the generic code the two x86_64 ones build; the whole series is built for
# it by the compile matrix.  Each prefix is nearly a full build of mm/ (the
# series changes headers all of mm includes): arm64 would add a fifth of the
# cold time of make check.  BISECT_MATRIX="x86_64-smp x86_64-up arm64
# s390x" builds every configuration.
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
BISECT_MATRIX=${BISECT_MATRIX:-x86_64-smp x86_64-up s390x}
[[ $BISECT_MATRIX =~ ^(x86_64-smp|x86_64-up|arm64|s390x)(\ (x86_64-smp|x86_64-up|arm64|s390x))*$ ]] ||
	die "BISECT_MATRIX must name configurations of the compile matrix: x86_64-smp x86_64-up arm64 s390x (got '$BISECT_MATRIX')"

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
	echo "$BISECT_MATRIX"
} | sha256sum | cut -d' ' -f1)
stamp=$root/bisect/.passed
if [[ -f $stamp && $(cat "$stamp") == "$key" ]]; then
	report "series bisect: patches 1-$((n - 1)) of $n build in ${BISECT_MATRIX// /, } (cached: the same trees passed before)"
	exit 0
fi
rm -f "$stamp"

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
	if MATRIX=$BISECT_MATRIX "$here/compile-matrix.sh" "$wt" "$root/bisect" "$jobs" | sed 's/^/    /'; then
		ok=$((ok + 1))
	else
		failed+=("$((i + 1))")
	fi
done
if ((ok == n - 1)); then
	mkdir -p "$root/bisect"
	echo "$key" >"$stamp"
	report "series bisect: patches 1-$((n - 1)) of $n build in ${BISECT_MATRIX// /, }"
else
	report "series bisect: $ok of patches 1-$((n - 1)) of $n build in ${BISECT_MATRIX// /, } (failed: patch ${failed[*]})"
	exit 1
fi
