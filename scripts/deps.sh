#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Tools the pipeline needs, in one place.
#
#   deps.sh install [6.1|all|plots]  install what is missing (Debian
#                               packages, virtme-ng from PyPI, bindgen-cli
#                               and fsx from crates.io); idempotent; needs root only
#                               if something is missing
#   deps.sh check [6.1|all|plots]  only check that every tool is there; name
#                               the Debian package (or pip/cargo package) of
#                               each missing one
#   deps.sh plan [6.1|all|plots]  what install would do, without installing:
#                               refresh the apt lists if they are stale,
#                               resolve the stock kernel's ABI, check every
#                               missing package is in the archive, and
#                               simulate the install (apt-get -s)
#
# The set: 6.1 = the 6.1 series, its kernels, the compile matrix, the
# selftests, the soak's workloads (stress-ng, fsx) and Debian 12's stock
# kernel (no Rust, no clang 19, no bindgen);
# all (the default) = 6.1 + the 7.2 kernel with Rust and the Rust module;
# plots = what `make plots` needs (Debian's matplotlib), nothing else.
#
# Order matters on a machine whose apt lists are stale or missing: the lists
# are refreshed first, and the stock ABI and the missing packages are only
# ever computed from the lists as they are after the last refresh (the ABI
# moves every few weeks; old lists name headers the archive no longer has).
#
# Environment: VNG_VERSION (virtme-ng version to install, default 1.42),
# BINDGEN_VERSION (bindgen-cli from crates.io, default 0.73.2), FSX_VERSION
# (fsx from crates.io, default 0.3.2), STOCK_ABI
# (6.1.0-N: pin the stock kernel), APT_CONFIG (apt's own: a private apt
# configuration, used by the deps test), APT_MAX_AGE_MIN (lists older than
# this many minutes are refreshed first, default 1440).

set -euo pipefail
PROG=deps
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

VNG_VERSION=${VNG_VERSION:-1.42}

# Debian packages, and for each a file or command that shows it is there
# ("package:probe"; a probe with a / is a path, otherwise a command).
DEB_TOOLS=(
	build-essential:make build-essential:gcc binutils:as binutils:ld
	bc:bc bison:bison flex:flex perl:perl
	libelf-dev:/usr/include/libelf.h libssl-dev:/usr/include/openssl/ssl.h
	openssl:openssl dwarves:pahole cpio:cpio kmod:depmod rsync:rsync git:git
	xz-utils:xz zstd:zstd dpkg:dpkg-deb apt:apt-get coreutils:timeout
	python3:python3 python3-pip:/usr/lib/python3/dist-packages/pip
	gcc-aarch64-linux-gnu:aarch64-linux-gnu-gcc
	gcc-s390x-linux-gnu:s390x-linux-gnu-gcc
	qemu-system-x86:qemu-system-x86_64
	# virtme-ng: the guest's init needs the host's udevd to create
	# /dev/virtio-ports/*, without which vng cannot return the command's
	# exit status; busybox builds vng's initramfs when one is needed, and
	# vng runs file(1) on it and on the kernel image (without it, booting
	# Debian's stock kernel ends in a Python traceback: found by make
	# fresh-machine-test).
	udev:/lib/systemd/systemd-udevd busybox-static:/bin/busybox file:file
	e2fsprogs:mkfs.ext4 shellcheck:shellcheck
	# The soaks: stress-ng's mm stressors with --verify.
	stress-ng:stress-ng
	# The trees' own mm selftests (make mm-selftests-6.1, -7.2): -lcap,
	# -lnuma, and liburing for 7.x's gup_longterm.
	libcap-dev:/usr/include/sys/capability.h libnuma-dev:/usr/include/numa.h
	liburing-dev:/usr/include/liburing.h
	# run_vmtests.sh runs on-fault-limit as "sudo -u nobody".
	sudo:sudo
)

# Rust for the 7.2 kernel and its Rust module: Debian's rustc-web (1.96)
# with the matching core/alloc sources (rust-web-src), libclang >= 17 for
# 7.2's bindgen (libclang-19-dev; use LIBCLANG_PATH=/usr/lib/llvm-19/lib),
# clang/lld/llvm 19 to build that kernel (LLVM=-19, see the Makefile),
# clippy and rustfmt of the same release for `make CLIPPY=1` and the style
# check of rust/ (rust-web-clippy, rustfmt-web), and bindgen-cli from
# crates.io (built with cargo: the rustup toolchain's if there is one, else
# Debian's cargo-web; rustup's rustc itself is not used for the kernel).
RUST_DEB_TOOLS=(
	rustc-web:/usr/bin/rustc rustc-web:/usr/bin/rustdoc
	rust-web-src:/usr/lib/rustlib/src/rust/library/core/src/lib.rs
	rust-web-clippy:/usr/bin/clippy-driver rustfmt-web:/usr/bin/rustfmt
	libclang-19-dev:/usr/lib/llvm-19/lib/libclang.so
	clang-19:/usr/bin/clang-19 lld-19:/usr/bin/ld.lld-19 llvm-19:/usr/bin/llvm-ar-19
)
BINDGEN_VERSION=${BINDGEN_VERSION:-0.73.2}

# The soaks' file-system exerciser: fsx, the Rust rewrite of the fsx tool
# (mapped reads and writes, with and without msync, truncate, punch hole,
# fadvise, msync(MS_INVALIDATE)), from crates.io with its own Cargo.lock.
FSX_VERSION=${FSX_VERSION:-0.3.2}

# cargo_tools: "crate:binary:version" of the tools of the chosen set that
# come from crates.io.
cargo_tools() {
	case $SET in
	6.1) echo "fsx:fsx:$FSX_VERSION" ;;
	all) printf '%s\n' "bindgen-cli:bindgen:$BINDGEN_VERSION" "fsx:fsx:$FSX_VERSION" ;;
	esac
}

# make plots (not part of make check): Debian's matplotlib, for Debian's
# python3 (/usr/bin/python3).
PLOT_DEB_TOOLS=(python3-matplotlib:/usr/lib/python3/dist-packages/matplotlib/__init__.py)

# Only for the tests of the set-up itself: `make fresh-machine-test` (a
# minimal bookworm root, as a new user's machine would be) and `make
# deps-test` (lz4, to make a copy of the apt lists stale).
FRESH_DEB_TOOLS=(debootstrap:debootstrap lz4:lz4)

# Debian 12's stock 6.1 kernel: the lost-write test's negative control boots
# it (unpacked into the cache by stock-kernel.sh, not installed) and builds
# the window amplifier against its headers, which are installed here.
# STOCK_ABI=6.1.0-N picks one; default: what linux-image-amd64 depends on
# (stock_abi in lib.sh).

stock_headers_entry() {
	local abi
	abi=$(stock_abi)
	if [[ -z $abi ]]; then
		echo "linux-headers-6.1.0-N-amd64:/nonexistent/stock-abi-unknown"
	else
		echo "linux-headers-$abi-amd64:/usr/src/linux-headers-$abi-amd64/Makefile"
	fi
}

have() {
	if [[ $1 == */* ]]; then
		[[ -e $1 ]]
	else
		command -v "$1" >/dev/null 2>&1
	fi
}

# Where pip puts console scripts (vng may be installed outside PATH).
vng_path() {
	command -v vng 2>/dev/null && return 0
	local dir
	dir=$(python3 -c 'import sysconfig; print(sysconfig.get_path("scripts"))' 2>/dev/null) || return 1
	[[ -x $dir/vng ]] && echo "$dir/vng"
}

# entries: the package:probe entries of the chosen set.
entries() {
	if [[ $SET == plots ]]; then
		printf '%s\n' "${PLOT_DEB_TOOLS[@]}"
		return 0
	fi
	printf '%s\n' "${DEB_TOOLS[@]}" "$(stock_headers_entry)"
	[[ $SET == 6.1 ]] || printf '%s\n' "${RUST_DEB_TOOLS[@]}" "${FRESH_DEB_TOOLS[@]}"
}

missing_debs() {
	local entry
	while read -r entry; do
		have "${entry#*:}" || echo "${entry%%:*}"
	done < <(entries) | sort -u
}

check() {
	local entry bad=0
	while read -r entry; do
		if ! have "${entry#*:}"; then
			echo "deps: missing '${entry#*:}': install Debian package '${entry%%:*}'" >&2
			bad=1
		fi
	done < <(entries)
	if [[ $SET != plots ]] && ! vng_path >/dev/null; then
		echo "deps: missing 'vng': pip install virtme-ng==$VNG_VERSION" >&2
		bad=1
	fi
	local crate bin version
	while IFS=: read -r crate bin version; do
		if [[ $(cargo_tool_version "$bin") != "$version" ]]; then
			echo "deps: missing '$bin' $version: cargo install --locked $crate --version $version" >&2
			bad=1
		fi
	done < <(cargo_tools)
	((bad == 0)) || die "tools missing: run 'make $DEPS_TARGET' (as root)"
	log "all tools of '$SET' present (stock kernel ABI $(stock_abi))"
}

# lists_dir: where apt keeps its package lists (APT_CONFIG may move them).
lists_dir() {
	local dir
	dir=$(apt-config shell d Dir::State::Lists/d | sed -n "s/^d='\(.*\)'$/\1/p")
	echo "${dir:-/var/lib/apt/lists/}"
}

# apt_lists_fresh: apt read its sources less than APT_MAX_AGE_MIN minutes
# ago.  apt-get update writes a source's (In)Release file each time that
# source changed, and bookworm-security's changes daily, so the newest one
# dates the last update that fetched anything.  (The Packages files keep the
# archive's dates: months old on a machine updated a minute ago.)
apt_lists_fresh() {
	local dir
	dir=$(lists_dir)
	[[ -n $(find "$dir" -maxdepth 1 -name '*_Packages*' -print -quit 2>/dev/null) ]] || return 1
	[[ -n $(find "$dir" -maxdepth 1 -name '*Release' -mmin "-$APT_MAX_AGE_MIN" -print -quit 2>/dev/null) ]]
}

apt_update() {
	log "apt-get update ($1)"
	# A source that cannot be reached (a third-party repository) only warns;
	# what matters is that Debian's lists are read: checked by the callers.
	apt-get update -q || die "apt-get update failed"
	UPDATED=1
}

# in_archive <package>: the apt lists offer an install candidate for it.
in_archive() {
	local cand
	cand=$(apt-cache policy "$1" 2>/dev/null | sed -n 's/^ *Candidate: //p')
	[[ -n $cand && $cand != "(none)" ]]
}

# resolve: stock ABI and missing packages, from the lists as they are now.
# Fills ABI and PKGS; dies naming each package the archive does not have.
resolve() {
	local p bad=()
	ABI=$(stock_abi)
	[[ -n $ABI ]] ||
		die "cannot find linux-image-amd64's 6.1 kernel in the apt lists ($(lists_dir)): is bookworm in sources.list? (apt-get update as root)"
	mapfile -t PKGS < <(missing_debs)
	for p in "${PKGS[@]}"; do
		in_archive "$p" || bad+=("$p")
	done
	((${#bad[@]} == 0)) && return 0
	if [[ -n ${STOCK_ABI:-} && " ${bad[*]} " == *" linux-headers-$ABI-amd64 "* ]]; then
		die "STOCK_ABI=$STOCK_ABI: the archive has no linux-headers-$ABI-amd64 (any more); unset STOCK_ABI to use Debian 12's current kernel ($(STOCK_ABI='' stock_abi)), or pick one 'apt-cache search linux-headers-6.1.0' lists"
	fi
	return 1
}

# refresh_and_resolve: refresh stale or missing lists first, then resolve;
# if the archive lacks a package the old lists named, refresh once more.
refresh_and_resolve() {
	UPDATED=0
	if ! apt_lists_fresh; then
		if ((EUID == 0)); then
			apt_update "lists in $(lists_dir) missing or older than $APT_MAX_AGE_MIN min"
		else
			log "apt lists are stale, and only root can refresh them: resolving from them as they are"
		fi
	fi
	if [[ -z $(stock_abi) ]] && ((EUID == 0 && UPDATED == 0)); then
		apt_update "Debian 12's kernel ABI unknown"
	fi
	resolve && return 0
	if ((EUID == 0 && UPDATED == 0)); then
		apt_update "the lists name packages the archive does not offer"
		resolve && return 0
	fi
	local p
	for p in "${PKGS[@]}"; do
		in_archive "$p" || echo "deps: package '$p' has no install candidate in the apt lists" >&2
	done
	die "packages missing from the archive (after apt-get update): is bookworm (and bookworm-security) in sources.list?"
}

install_debs() {
	refresh_and_resolve
	log "stock kernel ABI: $ABI (linux-image-$ABI-amd64)"
	if ((${#PKGS[@]} == 0)); then
		log "Debian packages: all present"
		return 0
	fi
	((EUID == 0)) || die "missing Debian packages (${PKGS[*]}): run 'make $DEPS_TARGET' as root"
	export DEBIAN_FRONTEND=noninteractive
	log "installing ${PKGS[*]}"
	apt-get install -y -q --no-install-recommends "${PKGS[@]}" ||
		die "apt-get install ${PKGS[*]} failed (the machine's packages are as apt left them; nothing else was installed)"
	mapfile -t PKGS < <(missing_debs)
	((${#PKGS[@]} == 0)) || die "still missing after install: ${PKGS[*]}"
}

plan() {
	refresh_and_resolve
	log "stock kernel ABI: $ABI (linux-image-$ABI-amd64)"
	if ((${#PKGS[@]} == 0)); then
		log "plan: Debian packages all present"
	else
		log "plan: would install ${PKGS[*]}"
		apt-get -s -q install --no-install-recommends "${PKGS[@]}" >/dev/null ||
			die "apt-get -s install ${PKGS[*]} fails: apt could not install them"
		log "plan: apt-get -s install: OK"
	fi
	in_archive "linux-image-$ABI-amd64" ||
		die "the archive has no linux-image-$ABI-amd64 (the stock kernel make stock-6.1 downloads)"
	log "plan: linux-image-$ABI-amd64 is in the archive"
}

install_vng() {
	local have_version pip_flags=()
	need python3 python3
	have_version=$(python3 -m pip show virtme-ng 2>/dev/null | sed -n 's/^Version: //p' || true)
	if [[ $have_version == "$VNG_VERSION" ]] && vng_path >/dev/null; then
		log "virtme-ng $VNG_VERSION: present ($(vng_path))"
		return 0
	fi
	python3 -m pip --version >/dev/null 2>&1 ||
		die "pip for $(command -v python3) not found: install Debian package 'python3-pip'"
	# A Debian-managed python refuses pip installs (PEP 668) unless told to.
	if [[ -f $(python3 -c 'import sysconfig; print(sysconfig.get_path("stdlib"))')/EXTERNALLY-MANAGED ]]; then
		pip_flags+=(--break-system-packages)
	fi
	log "pip install virtme-ng==$VNG_VERSION${pip_flags[*]:+ ${pip_flags[*]}}"
	python3 -m pip install -q --disable-pip-version-check --root-user-action=ignore \
		"${pip_flags[@]}" "virtme-ng==$VNG_VERSION"
	# pyenv only sees new console scripts after a rehash.
	if command -v pyenv >/dev/null 2>&1; then
		pyenv rehash || true
	fi
	vng_path >/dev/null || die "vng not found after pip install virtme-ng"
	log "virtme-ng $VNG_VERSION installed ($(vng_path))"
}

# cargo_tool_path <binary>: the one on PATH, else cargo's (not always on
# PATH).
cargo_bin=${CARGO_HOME:-$HOME/.cargo}/bin
cargo_tool_path() {
	command -v "$1" 2>/dev/null && return 0
	[[ -x $cargo_bin/$1 ]] && echo "$cargo_bin/$1"
}

# cargo_tool_version <binary>: its version ("<name> <version>" of
# --version), empty if there is none.
cargo_tool_version() {
	local b
	b=$(cargo_tool_path "$1") || return 0
	"$b" --version 2>/dev/null | awk '{ print $2 }'
}

# install_cargo_tool <crate> <binary> <version>
install_cargo_tool() {
	local crate=$1 bin=$2 version=$3
	if [[ $(cargo_tool_version "$bin") == "$version" ]]; then
		log "$bin $version: present ($(cargo_tool_path "$bin"))"
		return 0
	fi
	if ! command -v cargo >/dev/null 2>&1; then
		((EUID == 0)) || die "cargo not found, needed for 'cargo install $crate': run 'make $DEPS_TARGET' as root"
		log "no cargo: installing Debian's cargo-web"
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends cargo-web ||
			die "apt-get install cargo-web failed"
	fi
	log "cargo install --locked $crate --version $version (a few minutes)"
	cargo install -q --locked "$crate" --version "$version" ||
		die "cargo install $crate $version failed"
	[[ $(cargo_tool_version "$bin") == "$version" ]] ||
		die "$bin $version not found after cargo install (is $cargo_bin writable?)"
}

SET=${2:-all}
case $SET in
6.1) DEPS_TARGET=deps-6.1 ;;
all) DEPS_TARGET=deps ;;
plots) DEPS_TARGET=deps-plots ;;
*) die "unknown tool set '$SET' (6.1, all or plots)" ;;
esac
APT_MAX_AGE_MIN=${APT_MAX_AGE_MIN:-1440}
[[ $APT_MAX_AGE_MIN =~ ^[0-9]+$ ]] || die "APT_MAX_AGE_MIN=$APT_MAX_AGE_MIN is not a number of minutes"
need apt-get apt
need apt-cache apt

case ${1:-} in
check) check ;;
plan) plan ;;
install)
	install_debs
	[[ $SET == plots ]] || install_vng
	while IFS=: read -r crate bin version; do
		install_cargo_tool "$crate" "$bin" "$version"
	done < <(cargo_tools)
	check
	;;
*) die "usage: $0 install|check|plan [6.1|all|plots]" ;;
esac
