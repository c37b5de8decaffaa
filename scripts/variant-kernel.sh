#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Build a variant of the kernel: with a test-only mutation
# (patches/7.2-mutation) or without some of its fixes, incrementally, in the
# build directory of the unmodified kernel, and keep its image apart.
#
#   variant-kernel.sh <srcdir> <builddir> <jobs> <mutation> <outdir>
#
# <mutation>: a directory whose series file lists the patches to apply
# (patches/7.2-mutation), or revert:<subject>[|<subject>...], which reverts
# the commits of the series with those subjects, latest first (fixes: the
# kernel without them is their control).
#
# <srcdir> holds the series (branch "series", scripts/kernel-tree.sh apply)
# and <builddir> its complete build (scripts/build-kernel.sh).  The patches
# listed in <mutation-dir>/series go on a branch "mutation" on top of
# "series"; make rebuilds what they touch (mm/memory.o and the link); the
# image is copied to <outdir>/boot/vmlinuz-<release> (scripts/vng-run.sh
# boots it), its configuration to <outdir>/config, and what it is to
# <outdir>/variant.info (release, uts: the build's UTS_VERSION, source,
# head: the commit of "series" it was built on).  Then the tree goes back to "series" and make rebuilds the
# same files, so <builddir> again holds the unmodified kernel, whose
# modules are installed to <outdir>/lib/modules/<release> for the variant
# to load (brd for the lost-write test): the mutation touches built-in mm
# code only, so the modules of both kernels are the same.
#
# Nothing is rebuilt while the series, the mutation and the configuration
# are those <outdir>/.delayed-rmap-variant records.  <builddir>'s
# completeness stamp is removed while it holds the variant, so an interrupted
# run never leaves it looking like the unmodified kernel: the next
# build-kernel.sh run rebuilds it.

set -euo pipefail
PROG=variant-kernel
here=$(dirname "$(realpath "$0")")
# shellcheck source=lib.sh
. "$here/lib.sh"

[[ $# -eq 5 ]] || die "usage: $0 <srcdir> <builddir> <jobs> <mutation-dir|revert:subject> <outdir>"
src=$1 build=$2 jobs=$3 mdir=$4 out=$5

need_kbuild_tools
lock_cache
[[ -d $src/.git ]] || die "$src is not a git tree (make source-7.2)"
git -C "$src" rev-parse -q --verify series >/dev/null ||
	die "$src has no 'series' branch (make apply-7.2)"
built=$build/.delayed-rmap-built
[[ -f $built ]] || die "no complete kernel build in $build (make kernel-7.2)"
patches=() revert=
if [[ $mdir == revert:* ]]; then
	IFS='|' read -ra subjects <<<"${mdir#revert:}"
	((${#subjects[@]})) || die "revert: names no subject"
	revert=$(commits_by_subjects "$src" pristine..series "${subjects[@]}")
else
	[[ -f $mdir/series ]] || die "$mdir/series not found"
	while read -r p; do
		[[ -z $p || $p == \#* ]] && continue
		[[ -f $mdir/$p ]] || die "patch '$p' listed in $mdir/series does not exist"
		patches+=("$(realpath "$mdir/$p")")
	done <"$mdir/series"
	((${#patches[@]})) || die "$mdir/series lists no patch"
fi

release=$(sed -n 's/^release=//p' "$built")
mkdir -p "$out/boot" "$out/lib/modules"
out=$(realpath "$out")
image=$out/boot/vmlinuz-$release
stamp=$out/.delayed-rmap-variant
want=$({
	git -C "$src" rev-parse series
	if [[ -n $revert ]]; then
		echo "revert $revert"
	else
		sha256sum "${patches[@]}" | cut -d' ' -f1
	fi
	sha256sum "$build/.config" | cut -d' ' -f1
} | sha256sum | cut -d' ' -f1)
if [[ -f $stamp && -f $image && -f $out/lib/modules/$release/modules.dep && -f $out/variant.info &&
	$(<"$stamp") == "$want" ]]; then
	log "variant kernel up to date ($image)"
	exit 0
fi
rm -f "$stamp" "$out/variant.info"

kmake=(make -C "$src" O="$build" ARCH=x86_64 "${KMAKE_EXTRA[@]}")
saved_stamp=$(<"$built")

# The restore's shortcut.  The variant changes a few C files and headers;
# make rebuilds every object that depends on one of them (their .cmd files
# list the dependencies), twice: for the variant, and again for the
# unmodified kernel.  Those objects of the unmodified kernel are kept
# here, and put back after the variant (with their .cmd files, the changed
# files' own modification times restored): the unmodified kernel is then
# relinked, not recompiled.  Only when every changed file is a .c or .h
# file and every dependent target an object; otherwise make rebuilds.
keep=$build/.delayed-rmap-variant-keep
rm -rf "$keep"
changed=()
if [[ -n $revert ]]; then
	for fix in $revert; do
		mapfile -t -O "${#changed[@]}" changed < <(git -C "$src" diff-tree --no-commit-id --name-only -r "$fix")
	done
else
	mapfile -t changed < <(sed -n 's|^diff --git a/\([^ ]*\) b/.*|\1|p' "${patches[@]}")
fi
mapfile -t changed < <(printf '%s\n' "${changed[@]}" | sort -u)
shortcut=1
for f in "${changed[@]}"; do
	[[ $f == *.[ch] && -f $src/$f ]] || shortcut=0
done
if ((shortcut)); then
	mkdir -p "$keep"
	for f in "${changed[@]}"; do
		printf '%s\t%s\n' "$f" "$(stat -c %.9Y "$src/$f")"
	done >"$keep/mtimes"
	# Targets whose .cmd names a changed file: <dir>/.<name>.cmd -> <dir>/<name>.
	(cd "$build" && grep -rlF --include='.*.cmd' -f <(printf '%s\n' "${changed[@]/#/$src/}") .) |
		sed 's|^\./||; s|\(.*/\)\{0,1\}\.\([^/]*\)\.cmd$|\1\2|' | sort -u >"$keep/targets"
	while read -r t; do
		[[ $t == *.o && -f $build/$t ]] || { shortcut=0; break; }
		cmd=$(dirname "$t")/.$(basename "$t").cmd
		mkdir -p "$keep/files/$(dirname "$t")"
		cp "$build/$t" "$build/$cmd" "$keep/files/$(dirname "$t")/"
	done <"$keep/targets"
	((shortcut)) || rm -rf "$keep"
fi

# Whatever happens from here, the tree goes back to "series".
restore_tree() {
	git -C "$src" am --abort >/dev/null 2>&1 || true
	git -C "$src" revert --abort >/dev/null 2>&1 || true
	git -C "$src" checkout -q -f series
}
trap restore_tree EXIT

rm -f "$built"
git -C "$src" checkout -q -f -B mutation series
for p in "${patches[@]}"; do
	git -C "$src" -c user.name="delayed-rmap pipeline" \
		-c user.email="pipeline@delayed-rmap.invalid" am -q --keep-cr "$p" ||
		die "mutation patch $(basename "$p") does not apply to $(git -C "$src" log -1 --format=%s series)"
done
for fix in $revert; do
	git -C "$src" -c user.name="delayed-rmap pipeline" \
		-c user.email="pipeline@delayed-rmap.invalid" revert --no-edit "$fix" >/dev/null ||
		die "'$(git -C "$src" log -1 --format=%s "$fix")' does not revert cleanly on top of the series"
done
log "building the variant in $build ($(git -C "$src" log -1 --format=%s))"
start=$SECONDS
"${kmake[@]}" -j"$jobs" bzImage >"$out/.build.log" 2>&1 ||
	die "variant build failed (log: $out/.build.log)"
nwarn=$(count_warnings "$out/.build.log" "$src" "$build")
((nwarn == 0)) || die "$nwarn warning(s) in the variant build ($out/.build.log)"
got=$("${kmake[@]}" -s kernelrelease)
[[ $got == "$release" ]] || die "variant release $got differs from $release"
cp "$build/arch/x86/boot/bzImage" "$image.tmp"
# What the variant is, as build-kernel.sh's marker says it of a build
# (scripts/kunit.sh matches a boot's "Linux version" line with release and
# uts; require_current_build compares head with the tree's HEAD).
uts=$(sed -n 's/^#define UTS_VERSION "\(.*\)"$/\1/p' "$build/include/generated/utsversion.h" 2>/dev/null || true)
printf 'release=%s\nuts=%s\nsource=%s\nhead=%s\n' "$release" "$uts" "$src" \
	"$(git -C "$src" rev-parse series)" >"$out/variant.info.tmp"
cp "$build/.config" "$out/config"
variant_secs=$((SECONDS - start))

restore_tree
trap - EXIT
if [[ -d $keep ]]; then
	# The kept objects first, then the sources' old times: should a copy
	# fail, the sources stay newer than the variant's objects and make
	# recompiles them.
	(cd "$keep/files" && find . -type f -print0 | xargs -0 cp --parents -t "$build")
	while IFS=$'\t' read -r f t; do
		touch -m -d "@$t" "$src/$f"
	done <"$keep/mtimes"
	log "relinking the unmodified kernel in $build ($(wc -l <"$keep/targets") objects of ${#changed[@]} changed files kept)"
	rm -rf "$keep"
else
	log "rebuilding the unmodified kernel in $build"
fi
start=$SECONDS
"${kmake[@]}" -j"$jobs" bzImage >"$out/.restore.log" 2>&1 ||
	die "rebuilding the unmodified kernel failed (log: $out/.restore.log; make kernel-7.2 retries)"
printf '%s\n' "$saved_stamp" >"$built"
rm -rf "${out:?}/lib/modules/$release"
"${kmake[@]}" INSTALL_MOD_PATH="$out" modules_install >"$out/.modules.log" 2>&1 ||
	die "installing the modules to $out failed (log: $out/.modules.log)"
mv "$image.tmp" "$image"
mv "$out/variant.info.tmp" "$out/variant.info"
echo "$want" >"$stamp"
log "variant kernel $image ($variant_secs s; unmodified kernel back in $((SECONDS - start)) s)"
