#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Test of `make deps` on stale apt lists, without touching the machine's own
# apt state: deps.sh runs in "plan" mode (resolve, check the archive, apt-get
# -s install) with a private apt state (APT_CONFIG) whose lists are
#
#   missing     no lists at all (a machine that never ran apt-get update);
#   stale       days old, and naming a stock kernel ABI the archive no
#               longer has (what a fresh machine's image ships with: the
#               first `make deps` failed on exactly that);
#   stock-abi   fresh, but STOCK_ABI names headers the archive does not
#               have: must fail, naming the package and the fix.
#
#   deps-test.sh [<stale-lists-dir>]
#
# <stale-lists-dir>: a real old /var/lib/apt/lists to use for "stale"
# instead of the doctored copy (e.g. a saved image's).  DEPS_SH selects the
# deps.sh under test (default: this tree's); the test must fail with a
# deps.sh that resolves before refreshing.  Needs root (apt-get update) and
# Debian's archive.

set -euo pipefail
PROG=deps-test
here=$(dirname "$(realpath "$0")")
# shellcheck source=lib.sh
. "$here/lib.sh"

deps_sh=${DEPS_SH:-$here/deps.sh}
real_stale=${1:-}
((EUID == 0)) || die "needs root (apt-get update of a private apt state)"
need apt-get apt
need lz4 lz4
[[ -z $real_stale || -d $real_stale ]] || die "$real_stale is not a directory"

work=$(mktemp -d /tmp/deps-test.XXXXXX)
trap 'rm -rf "$work"' EXIT

# apt_state <name>: a private apt state (lists and cache) named <name>;
# prints the path of its APT_CONFIG file.  Sources are the machine's.
apt_state() {
	local dir=$work/$1
	mkdir -p "$dir/lists/partial" "$dir/cache/archives/partial"
	cat >"$dir/apt.conf" <<-EOF
		Dir::State::Lists "$dir/lists";
		Dir::Cache "$dir/cache";
		APT::Sandbox::User "root";
	EOF
	echo "$dir/apt.conf"
}

# plan <apt.conf> <log> [VAR=value...]: run deps.sh plan 6.1 on that state.
plan() {
	local conf=$1 logf=$2
	shift 2
	env -u STOCK_ABI APT_CONFIG="$conf" "$@" "$deps_sh" plan 6.1 >"$logf" 2>&1
}

abi_of() {
	sed -n 's/^deps: stock kernel ABI: \(6\.1\.0-[0-9]*\) .*/\1/p' "$1" | tail -n1
}

fail=0
result() {
	echo "deps-test: $1: $2"
	[[ $2 == ok* ]] || fail=$((fail + 1))
}

# 1. missing lists.  Its result is the reference: the archive's current ABI.
conf=$(apt_state missing)
if plan "$conf" "$work/missing.log"; then
	abi=$(abi_of "$work/missing.log")
	result missing "ok: refreshed, stock ABI $abi, plan OK"
else
	cat "$work/missing.log" >&2
	result missing "FAILED (log above)"
	abi=
fi
[[ -n $abi ]] || die "no reference ABI: cannot test the stale lists"

# 2. stale lists naming a gone ABI.
conf=$(apt_state stale)
lists=$(dirname "$conf")/lists
if [[ -n $real_stale ]]; then
	cp -a "$real_stale"/*_* "$lists/"
	find "$lists" -maxdepth 1 -type f -exec touch -d '3 days ago' {} +
	gone=$(APT_CONFIG=$conf STOCK_ABI='' stock_abi)
	what="real lists from $real_stale"
else
	# The current lists, with linux-image-amd64 pointing at an ABI nine
	# uploads back, three days old.
	cp -a "$work/missing/lists"/*_* "$lists/"
	gone=$(gone_abi "$abi")
	doctor_lists "$lists" "$abi" "$gone"
	what="doctored copy"
fi
before=$(APT_CONFIG=$conf STOCK_ABI='' stock_abi)
[[ $before != "$abi" ]] || die "the stale lists already name the current ABI $abi: nothing to test"
if plan "$conf" "$work/stale.log"; then
	got=$(abi_of "$work/stale.log")
	if [[ $got == "$abi" ]]; then
		result stale "ok: lists ($what) named $before, refreshed first, resolved $got, plan OK"
	else
		cat "$work/stale.log" >&2
		result stale "FAILED: resolved $got, the archive has $abi"
	fi
else
	cat "$work/stale.log" >&2
	result stale "FAILED: deps.sh plan failed on lists naming $before (log above)"
fi

# 3. a STOCK_ABI the archive does not have: a clear error, exit status 1.
conf=$(apt_state missing) # the fresh lists of case 1
if plan "$conf" "$work/stock-abi.log" STOCK_ABI="$gone"; then
	result stock-abi "FAILED: STOCK_ABI=$gone (not in the archive) was accepted"
elif grep -q "no linux-headers-$gone-amd64.*unset STOCK_ABI" "$work/stock-abi.log"; then
	result stock-abi "ok: STOCK_ABI=$gone refused: $(grep -m1 'error:' "$work/stock-abi.log" | cut -c1-90)..."
else
	cat "$work/stock-abi.log" >&2
	result stock-abi "FAILED: STOCK_ABI=$gone refused without naming the package and the fix (log above)"
fi

((fail == 0)) || die "$fail of 3 cases failed"
log "3 of 3 cases passed (deps.sh: $deps_sh)"
