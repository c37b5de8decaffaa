#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Style of everything that goes into a 7.x kernel: the patches (checkpatch
# --strict of that tree) and the module (checkpatch --strict of its C files
# and headers; for its Rust code the tree's rustfmt settings,
# and a CLIPPY=1 build, which with the kernel's lints also requires a
# SAFETY comment on every unsafe block; warnings are errors).
#
#   rust-style.sh <srcdir> <builddir> <clippy-outdir> <result-file> <series-dir>...
#
# Environment: KMAKE_ARGS (the toolchain variables of make kernel-7.2),
# RUSTFMT (default /usr/bin/rustfmt, Debian's rustfmt-web: the same release
# as the compiler), CLIPPY_DRIVER (default /usr/bin/clippy-driver).

set -euo pipefail
PROG=rust-style
here=$(dirname "$(realpath "$0")")
repo=$(realpath "$here/..")
# shellcheck source=lib.sh
. "$here/lib.sh"

[[ $# -ge 5 ]] || die "usage: $0 <srcdir> <builddir> <clippy-outdir> <result-file> <series-dir>..."
src=$1 build=$2 clippy_out=$3 result=$4
shift 4
rm -f "$result"
RUSTFMT=${RUSTFMT:-/usr/bin/rustfmt}
CLIPPY_DRIVER=${CLIPPY_DRIVER:-/usr/bin/clippy-driver}
[[ -x $RUSTFMT ]] || die "$RUSTFMT not found: install Debian package 'rustfmt-web' (make deps)"
[[ -x $CLIPPY_DRIVER ]] || die "$CLIPPY_DRIVER not found: install Debian package 'rust-web-clippy' (make deps)"
[[ -f $src/.rustfmt.toml ]] || die "$src/.rustfmt.toml not found (make source-7.2)"
[[ -f $build/.delayed-rmap-built ]] || die "no complete kernel build in $build (make kernel-7.2)"

bad=0
summary=()
for series in "$@"; do
	rc=0
	out=$("$here/checkpatch.sh" "$src" "$series" 2>&1) || rc=$?
	printf '%s\n' "$out"
	((rc == 0)) || bad=1
	summary+=("$(basename "$series"): $(tail -n1 <<<"$out" | sed 's/^checkpatch: //')")
done

# The module's C files and headers: checkpatch --strict as files.
mapfile -t csources < <(find "$repo/rust" -name '*.[ch]' | sort)
((${#csources[@]})) || die "no C sources or headers in $repo/rust"
if out=$(perl "$src/scripts/checkpatch.pl" --strict --no-tree --no-summary --terse -f "${csources[@]}" 2>&1); then
	summary+=("checkpatch of rust/*.[ch]: ${#csources[@]} files clean")
else
	printf '%s\n' "$out"
	summary+=("checkpatch of rust/*.[ch]: NOT clean")
	bad=1
fi

mapfile -t sources < <(find "$repo/rust" -name '*.rs' | sort)
((${#sources[@]})) || die "no Rust sources in $repo/rust"
if "$RUSTFMT" --check --edition 2021 --config-path "$src/.rustfmt.toml" "${sources[@]}"; then
	summary+=("rustfmt: ${#sources[@]} files clean")
else
	summary+=("rustfmt: NOT clean")
	bad=1
fi

# A build of its own (the objects of make module-7.2 stay as they are):
# clippy-driver compiles every Rust file of the module.
rm -rf "$clippy_out"
mkdir -p "$clippy_out"
if make -s -C "$build" M="$repo" MO="$clippy_out" "${KMAKE_EXTRA[@]}" \
	CLIPPY=1 CLIPPY_DRIVER="$CLIPPY_DRIVER" modules 2>&1 | tee "$clippy_out/clippy.log" &&
	[[ -f $clippy_out/rust/delayed_rmap_test.ko ]] &&
	! grep -qE '^(warning|error)' "$clippy_out/clippy.log"; then
	summary+=("clippy: clean ($("$CLIPPY_DRIVER" --version | awk '{ print $2 }'))")
else
	summary+=("clippy: NOT clean (log: $clippy_out/clippy.log)")
	bad=1
fi

line="7.2 style:"
for part in "${summary[@]}"; do
	line+=" $part;"
done
line=${line%;}
echo "$line"
((bad == 0)) || die "$line"
echo "$line" >"$result"
