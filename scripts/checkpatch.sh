#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Run the target tree's checkpatch.pl --strict on every patch of a series.
#
#   checkpatch.sh <kernel-tree> <series-dir> [<result-file>]
#
# Only the patches listed in <series-dir>/series are checked (not the cover
# letter).  Prints each patch's verdict, the messages of the ones that are
# not clean, and a summary line
#   checkpatch: N patches, E errors, W warnings, C checks
# which also goes to <result-file> if given.  Fails unless E, W and C are
# all 0 (with --strict, CHECKs are findings too).
#
# The tree's git history is a single "pristine" commit, so checkpatch's
# lookup of upstream commit ids quoted in changelogs ("commit 123456789abc
# ("subject")") would report every one as unknown.  GIT_DIR points nowhere
# to turn that lookup off; the format of such references is still checked.

set -euo pipefail
PROG=checkpatch
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

[[ $# -ge 2 && $# -le 3 ]] || die "usage: $0 <kernel-tree> <series-dir> [<result-file>]"
tree=$(realpath "$1") series_dir=$(realpath "$2") result=${3:-}
series=$series_dir/series

need perl perl
[[ -x $tree/scripts/checkpatch.pl ]] || die "$tree/scripts/checkpatch.pl not found"
[[ -f $series ]] || die "$series not found"

n=0 errors=0 warnings=0 checks=0
while read -r patch; do
	[[ -z $patch || $patch == \#* ]] && continue
	[[ -f $series_dir/$patch ]] || die "patch '$patch' listed in $series does not exist"
	n=$((n + 1))
	rc=0
	# The fetched trees have no upstream history, so checkpatch cannot look
	# up the commit a Fixes: tag names and would warn about every one
	# (UNKNOWN_COMMIT_ID); the tag's format is still checked.
	report=$(cd "$tree" && GIT_DIR=/nonexistent ./scripts/checkpatch.pl --strict \
		--ignore UNKNOWN_COMMIT_ID --no-summary-file --color=never "$series_dir/$patch" 2>&1) || rc=$?
	total=$(grep -E '^total: [0-9]+ errors, [0-9]+ warnings, ([0-9]+ checks, )?[0-9]+ lines checked' <<<"$report" | tail -n1 || true)
	[[ -n $total ]] || {
		echo "$report" >&2
		die "checkpatch.pl gave no verdict for $patch (exit status $rc)"
	}
	read -r e w c < <(sed -E 's/^total: ([0-9]+) errors, ([0-9]+) warnings, (([0-9]+) checks, )?.*/\1 \2 \4/' <<<"$total")
	c=${c:-0}
	errors=$((errors + e)) warnings=$((warnings + w)) checks=$((checks + c))
	printf '%-60s %s\n' "$patch" "${total#total: }"
	if ((e + w + c > 0 || rc != 0)); then
		sed -n '/^\(ERROR\|WARNING\|CHECK\):/,/^$/p' <<<"$report" | sed 's/^/    /'
	fi
done <"$series"

summary="checkpatch: $n patches, $errors errors, $warnings warnings, $checks checks"
echo "$summary"
[[ -z $result ]] || echo "$summary" >"$result"
((n > 0)) || die "the series is empty"
((errors + warnings + checks == 0)) || exit 1
