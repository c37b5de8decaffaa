#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Does MADV_DONTNEED of whole PTE tables free them, per kernel?
# (selftests/pt_reclaim.c; 7.x frees the tables a MADV_DONTNEED
# empties, the path of the whole-table race; 6.1 has no such reclaim.)
#
#   pt-reclaim.sh <result-file> <label>=<kernel>=kept|freed...
#
# <kernel>: a build directory or a kernel image (see vng-run.sh).  Boots
# each, runs the probe on a tmpfs file in the guest, and fails unless every
# kernel does what its entry expects.  A one-line summary in <result-file>.

set -euo pipefail
PROG=pt-reclaim
here=$(dirname "$(realpath "$0")")
repo=$(realpath "$here/..")
# shellcheck source=lib.sh
. "$here/lib.sh"

[[ $# -ge 2 ]] || die "usage: $0 <result-file> <label>=<kernel>=kept|freed..."
result=$1
shift
need gcc gcc
# Each entry parsed once, all checked before the first boot.
labels=() kernels=() expects=()
for entry in "$@"; do
	[[ $entry =~ ^([a-z0-9.-]+)=([^=]+)=(kept|freed)$ ]] ||
		die "bad entry '$entry' (want <label>=<kernel>=kept|freed)"
	labels+=("${BASH_REMATCH[1]}") kernels+=("${BASH_REMATCH[2]}") expects+=("${BASH_REMATCH[3]}")
	[[ -e ${kernels[-1]} ]] || die "${labels[-1]}: ${kernels[-1]} not found"
done
rm -f "$result"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
gcc -O2 -Wall -Wextra -Werror -o "$work/pt_reclaim" "$repo/selftests/pt_reclaim.c"

lines=() bad=0
# The figures as data, next to the result: kernel, expected, VmPTE before
# and after (kB), verdict.
tsv=${result%.txt}.tsv
printf 'kernel\texpected\tvmpte_before_kb\tvmpte_after_kb\tverdict\n' >"$tsv"
for i in "${!labels[@]}"; do
	label=${labels[i]} kernel=${kernels[i]} expect=${expects[i]}
	rc=0
	out=$(VNG_CONSOLE=$(dirname "$result")/console-$label.log VNG_TIMEOUT=${VNG_TIMEOUT:-300} \
		"$here/vng-run.sh" "$kernel" "$work/pt_reclaim /tmp/pt_reclaim $expect" 2>&1) || rc=$?
	printf '%s\n' "$out" >"$(dirname "$result")/$label.log"
	line=$(grep -m1 '^pt_reclaim: ' <<<"$out" || true)
	if [[ -z $line ]]; then
		tail -n 20 <<<"$out" >&2
		line="pt_reclaim: no result (guest exit status $rc)"
	fi
	((rc == 0)) || bad=1
	printf '%-12s %s %s\n' "$label" "$( ((rc == 0)) && echo ok || echo FAIL)" "${line#pt_reclaim: }"
	# "VmPTE 168 kB, after MADV_DONTNEED of them all 168 kB: kept" -> "168 -> 168 kB"
	kb=$(sed -n 's/.*VmPTE \([0-9]*\) kB, after MADV_DONTNEED of them all \([0-9]*\) kB.*/\1 -> \2 kB/p' <<<"$line")
	lines+=("$label $expect (VmPTE ${kb:-?})")
	printf '%s\t%s\t%s\t%s\t%s\n' "$label" "$expect" "${kb%% *}" "$(sed -n 's/.*-> \([0-9]*\) kB/\1/p' <<<"$kb")" \
		"$( ((rc == 0)) && echo ok || echo FAIL)" >>"$tsv"
done
((bad == 0)) || die "not every kernel did what was expected (see above)"
summary="${#lines[@]} kernels as expected: $(printf '%s, ' "${lines[@]}")"
echo "pt-reclaim: ${summary%, }" | tee "$result"
