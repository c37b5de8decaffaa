#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Boot the built kernel with virtme-ng and check that the guest runs it.
#
#   boot-smoke.sh <srcdir> <builddir> [<result-file>]
#
# Fails if the guest does not come up (or its command fails), or if its
# `uname -r` differs from `make kernelrelease` of <builddir>.

set -euo pipefail
PROG=boot-smoke
here=$(dirname "$(realpath "$0")")
# shellcheck source=lib.sh
. "$here/lib.sh"

[[ $# -ge 2 && $# -le 3 ]] || die "usage: $0 <srcdir> <builddir> [<result-file>]"
src=$1 out=$2 result=${3:-}
[[ -z $result ]] || rm -f "$result"

want=$(make -s -C "$src" O="$out" ARCH=x86_64 kernelrelease) ||
	die "cannot get the kernel release of $out"
log "expecting uname -r = $want"

# show: copy stdin to stdout and to our stderr.  (Not "tee /dev/stderr":
# that reopens stderr with O_TRUNC and wipes a log file it points to.)
show() {
	local line
	while IFS= read -r line; do
		printf '%s\n' "$line" >&2
		printf '%s\n' "$line"
	done
}

start=$SECONDS
rc=0
# The marker keeps the answer apart from boot noise; the command reaches the
# guest base64-encoded, so the marker cannot match the echoed command line.
# shellcheck disable=SC2016 # expanded in the guest
output=$(VNG_CONSOLE=${result:+$(dirname "$result")/console.log} VNG_TIMEOUT=${VNG_TIMEOUT:-600} "$here/vng-run.sh" "$out" \
	'echo "boot-smoke: uname -r = $(uname -r), $(nproc) CPUs"' 2>&1 | show) || rc=$?
got=$(sed -n 's/^boot-smoke: uname -r = \([^,]*\),.*/\1/p' <<<"$output" | tr -d '\r' | tail -n1)
cpus=$(sed -n 's/^boot-smoke: uname -r = [^,]*, \([0-9]*\) CPUs.*/\1/p' <<<"$output" | tr -d '\r' | tail -n1)
accel=$(sed -n 's/^vng-run: accelerator: \([a-z]*\).*/\1/p' <<<"$output" | tail -n1)

((rc == 0)) || die "guest failed (vng exit status $rc)"
[[ -n $got ]] || die "the guest never printed its uname -r"
[[ $got == "$want" ]] || die "guest runs '$got', the build is '$want'"
summary="booted: uname -r = $got ($cpus vCPUs, ${accel:-?}, $((SECONDS - start)) s)"
echo "$summary"
[[ -z $result ]] || echo "$summary" >"$result"
