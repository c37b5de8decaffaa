#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Build the objects the series touches for several configurations, failing
# on any error or warning.
#
#   compile-matrix.sh <srcdir> <build-root> <jobs> [<result-file>]
#
# Each configuration is built incrementally in <build-root>/matrix-<name>
# from <srcdir> (O= builds: the tree stays clean).  Configurations:
#
#   x86_64-smp  x86_64 defconfig + THP, KSM, ...    mm/ arch/x86/mm/
#   x86_64-up   x86_64 tinyconfig, !SMP, !SWAP      mm/ arch/x86/mm/
#   arm64       arm64 defconfig (aarch64-linux-gnu-) mm/ arch/arm64/mm/
#   s390x       s390 defconfig (s390x-linux-gnu-)   mm/ arch/s390/mm/
#
# all with configs/matrix-common.config (CONFIG_WERROR=y) and, where it
# exists, configs/matrix-<name>.config.  Besides -Werror, any "warning:" in
# the configure or build log fails the configuration (objtool, Kconfig, ...).
#
# Environment: MATRIX="x86_64-smp ..." to build a subset; MATRIX_EXTRA_DIRS
# to build more directories (e.g. "kernel/ fs/") in every configuration;
# MATRIX_TARGETS to build those make targets (objects such as mm/memory.o,
# directories) instead of the configuration's directories
# (scripts/series-bisect.sh).
# Prints "compile matrix: k/n OK" (also written to <result-file>).

set -euo pipefail
PROG=compile-matrix
here=$(dirname "$(realpath "$0")")
# shellcheck source=lib.sh
. "$here/lib.sh"

[[ $# -ge 3 && $# -le 4 ]] || die "usage: $0 <srcdir> <build-root> <jobs> [<result-file>]"
src=$(realpath "$1") root=$2 jobs=$3 result=${4:-}
configs=$(realpath "$here/../configs")
MATRIX=${MATRIX:-x86_64-smp x86_64-up arm64 s390x}
MATRIX_EXTRA_DIRS=${MATRIX_EXTRA_DIRS:-}

[[ -f $src/Makefile && -d $src/mm ]] || die "$src is not a kernel source tree"
need_kbuild_tools
lock_cache

# matrix_entry <name>: set arch, cross, base and dirs for a configuration.
matrix_entry() {
	case $1 in
	x86_64-smp) arch=x86_64 cross='' base=defconfig dirs="mm/ arch/x86/mm/" ;;
	x86_64-up) arch=x86_64 cross='' base=tinyconfig dirs="mm/ arch/x86/mm/" ;;
	arm64) arch=arm64 cross=aarch64-linux-gnu- base=defconfig dirs="mm/ arch/arm64/mm/" ;;
	s390x) arch=s390 cross=s390x-linux-gnu- base=defconfig dirs="mm/ arch/s390/mm/" ;;
	*) die "unknown matrix configuration '$1'" ;;
	esac
}

# Check every toolchain before building anything.
for name in $MATRIX; do
	matrix_entry "$name"
	case $cross in
	aarch64-linux-gnu-) need aarch64-linux-gnu-gcc gcc-aarch64-linux-gnu ;;
	s390x-linux-gnu-) need s390x-linux-gnu-gcc gcc-s390x-linux-gnu ;;
	esac
done

ok=0 total=0 failed=()
for name in $MATRIX; do
	matrix_entry "$name"
	[[ -z ${MATRIX_TARGETS:-} ]] || dirs=$MATRIX_TARGETS
	out=$root/matrix-$name
	log=$out/.matrix.log
	frags=("$configs/matrix-common.config")
	[[ -f $configs/matrix-$name.config ]] && frags+=("$configs/matrix-$name.config")
	total=$((total + 1))
	mkdir -p "$out"
	start=$SECONDS
	echo "compile-matrix: [$name] ARCH=$arch${cross:+ CROSS_COMPILE=$cross} $base + ${frags[*]##*/}: $dirs $MATRIX_EXTRA_DIRS"
	rc=0
	# shellcheck disable=SC2086 # dirs are word lists
	(
		kconfig_setup "$src" "$out" "$arch" "$cross" "$base" "${frags[@]}"
		make -C "$src" O="$out" ARCH="$arch" ${cross:+CROSS_COMPILE="$cross"} \
			-j"$jobs" $dirs $MATRIX_EXTRA_DIRS
	) >"$log" 2>&1 || rc=$?
	nwarn=$(count_warnings "$log" "$src" "$out")
	if ((rc == 0 && nwarn == 0)); then
		ok=$((ok + 1))
		echo "compile-matrix: [$name] OK ($((SECONDS - start)) s)"
	else
		failed+=("$name")
		echo "compile-matrix: [$name] FAILED: exit status $rc, $nwarn warning(s) ($((SECONDS - start)) s); log: $log"
		grep -iE -B2 -A3 'warning:|error' "$log" | head -n 60 | sed 's/^/    /'
	fi
done

summary="compile matrix: $ok/$total OK"
((ok == total)) || summary+=" (failed: ${failed[*]})"
echo "$summary"
[[ -z $result ]] || echo "$summary" >"$result"
((ok == total))
