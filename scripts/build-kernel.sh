#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Configure and build the slim x86_64 test kernel, incrementally.
#
#   build-kernel.sh <srcdir> <outdir> <jobs> <fragment>...
#
# .config = `make tinyconfig` + the fragments (see configs/), redone only when
# the fragments change.  Builds bzImage and modules with O=<outdir>.
#
# <outdir>/.delayed-rmap-built exists only while <outdir> holds a complete
# build of the current configuration: it is removed before make starts and
# written after make succeeds, so an interrupted or failed build never looks
# complete (scripts/vng-run.sh refuses to boot without it).  Any warning
# fails the build (CONFIG_WERROR plus a scan of the log).
#
# A build is not redone (make not run) when its marker records the tree's
# HEAD, the tree has no change to a tracked file, and the .config, targets,
# make arguments and compiler versions are those of the build.
#
# Kbuild's output goes to <outdir>/.build.log, with a line a minute saying
# how far it got, and its last 40 lines shown if the build fails;
# BUILD_VERBOSE=1 shows all of it as it comes.

set -euo pipefail
PROG=build-kernel
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

[[ $# -ge 4 ]] || die "usage: $0 <srcdir> <outdir> <jobs> <fragment>..."
src=$1 out=$2 jobs=$3
shift 3

need_kbuild_tools
lock_cache
[[ -f $src/Makefile && -d $src/mm ]] || die "$src is not a kernel source tree"

mkdir -p "$out"
out=$(realpath "$out")
built=$out/.delayed-rmap-built
kmake=(make -C "$src" O="$out" ARCH=x86_64 "${KMAKE_EXTRA[@]}")

kconfig_setup "$src" "$out" x86_64 "" tinyconfig "$@"

targets=(bzImage)
grep -q '^CONFIG_MODULES=y' "$out/.config" && targets+=(modules)

# What the build is made of besides the tree's files: the .config, the
# targets, make's extra arguments and the compilers' versions.
build_inputs() {
	sha256sum "$out/.config" | cut -d' ' -f1
	echo "targets: ${targets[*]}; make args: ${KMAKE_EXTRA[*]}"
	gcc --version | head -n1
	local a
	for a in "${KMAKE_EXTRA[@]}"; do
		case $a in
		LLVM=-*) "clang${a#LLVM=}" --version | head -n1 ;;
		LLVM=1) clang --version | head -n1 ;;
		RUSTC=*) "${a#RUSTC=}" --version ;;
		esac
	done
}
head=$(git -C "$src" rev-parse -q --verify HEAD 2>/dev/null || echo none)
inputs=$(build_inputs | sha256sum | cut -d' ' -f1)

# A complete build of this tree's HEAD, with no tracked file of the tree
# changed since and the same inputs, is current: make is not run (a no-op
# make walks the whole tree, about 10 s, once per step that needs the
# kernel).  Anything else, or a tree that is not a git tree, goes through
# make.
# A build of a tree with changes records no inputs: the tree's files, once
# the changes are undone, would no longer be what was built.
changes=
[[ $head == none ]] || changes=$(git -C "$src" status --porcelain --untracked-files=no)
if [[ $head != none && -z $changes && -f $built ]] && grep -qxF "head=$head" "$built" &&
	grep -qxF "inputs=$inputs" "$built"; then
	log "$(sed -n 's/^release=//p' "$built") in $out is up to date (built at ${head:0:12}, no change in the tree, same configuration and compilers)"
	exit 0
fi

rm -f "$built"
log "building ${targets[*]} in $out with $jobs jobs"
start=$SECONDS
buildlog=$out/.build.log
rc=0
if [[ ${BUILD_VERBOSE:-0} == 1 ]]; then
	"${kmake[@]}" -j"$jobs" "${targets[@]}" 2>&1 | tee "$buildlog" || rc=${PIPESTATUS[0]}
else
	: >"$buildlog"
	# (The sleep is killed with the loop: left behind, it would hold the
	# output pipe open, and whoever reads it would wait for it.)
	(
		trap 'kill "$nap" 2>/dev/null; exit 0' TERM
		while :; do
			sleep 60 &
			nap=$!
			wait "$nap"
			log "still building ($((SECONDS - start)) s): $(grep -c '^  [A-Z]' "$buildlog" || true) files so far, log: $buildlog"
		done
	) &
	heartbeat=$!
	"${kmake[@]}" -j"$jobs" "${targets[@]}" >"$buildlog" 2>&1 || rc=$?
	kill "$heartbeat" 2>/dev/null || true
	wait "$heartbeat" 2>/dev/null || true
fi
if ((rc != 0)); then
	[[ ${BUILD_VERBOSE:-0} == 1 ]] || tail -n 40 "$buildlog" | sed 's/^/    /' >&2
	die "the build failed (exit status $rc; whole log: $buildlog)"
fi
# CONFIG_WERROR (configs/6.1-base.config) turns compiler warnings into
# errors; objtool, modpost and linker warnings are caught here.
nwarn=$(count_warnings "$buildlog" "$src" "$out")
((nwarn == 0)) || die "$nwarn warning(s) in the build (grep -i warning: $buildlog)"
# Kbuild's syncconfig may have updated .config (Kconfig changed by a patch):
# the result must still honour the fragments.
verify_config "$out/.config" "$@"

release=$("${kmake[@]}" -s kernelrelease)
{
	echo "release=$release"
	echo "source=$src"
	echo "head=$head"
	[[ -n $changes ]] || echo "inputs=$inputs"
	echo "built=$(date -u +%FT%TZ)"
} >"$built"
log "built $release ($out/arch/x86/boot/bzImage, $((SECONDS - start)) s)"
