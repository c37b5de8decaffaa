#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Tools the pipeline needs, in one place.
#
#   deps.sh install   install what is missing (Debian packages, virtme-ng
#                     from PyPI); idempotent; needs root only if something
#                     is missing
#   deps.sh check     only check that every tool is there; name the Debian
#                     package (or pip package) of each missing one
#
# Environment: VNG_VERSION (virtme-ng version to install, default 1.42),
# BINDGEN_VERSION (bindgen-cli from crates.io, default 0.73.2).

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
	# exit status; busybox builds vng's initramfs when one is needed.
	udev:/lib/systemd/systemd-udevd busybox-static:/bin/busybox
	e2fsprogs:mkfs.ext4 shellcheck:shellcheck
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

missing_debs() {
	local entry
	for entry in "${DEB_TOOLS[@]}" "${RUST_DEB_TOOLS[@]}" "$(stock_headers_entry)"; do
		have "${entry#*:}" || echo "${entry%%:*}"
	done | sort -u
}

check() {
	local entry bad=0
	for entry in "${DEB_TOOLS[@]}" "${RUST_DEB_TOOLS[@]}" "$(stock_headers_entry)"; do
		if ! have "${entry#*:}"; then
			echo "deps: missing '${entry#*:}': install Debian package '${entry%%:*}'" >&2
			bad=1
		fi
	done
	if ! vng_path >/dev/null; then
		echo "deps: missing 'vng': pip install virtme-ng==$VNG_VERSION" >&2
		bad=1
	fi
	if [[ $(bindgen_version) != "$BINDGEN_VERSION" ]]; then
		echo "deps: missing 'bindgen' $BINDGEN_VERSION: cargo install --locked bindgen-cli --version $BINDGEN_VERSION" >&2
		bad=1
	fi
	((bad == 0)) || die "tools missing: run 'make deps' (as root)"
	log "all tools present"
}

apt_lists_fresh() {
	[[ -n $(find /var/lib/apt/lists -maxdepth 1 -name '*_Packages*' -mmin -1440 -print -quit 2>/dev/null) ]]
}

install_debs() {
	local -a pkgs
	# Without package lists the stock kernel's ABI is unknown.
	if [[ -z $(stock_abi) ]] && ((EUID == 0)); then
		log "Debian 12's kernel ABI unknown (no apt lists?): apt-get update"
		apt-get update -q
	fi
	[[ -n $(stock_abi) ]] ||
		die "cannot find linux-image-amd64's 6.1 kernel in the apt lists (apt-get update as root; bookworm in sources.list?)"
	mapfile -t pkgs < <(missing_debs)
	if ((${#pkgs[@]} == 0)); then
		log "Debian packages: all present"
		return 0
	fi
	((EUID == 0)) || die "missing Debian packages (${pkgs[*]}): run 'make deps' as root"
	export DEBIAN_FRONTEND=noninteractive
	local updated=0
	if ! apt_lists_fresh; then
		log "apt lists missing or older than a day: apt-get update"
		apt-get update -q
		updated=1
	fi
	log "installing ${pkgs[*]}"
	if ! apt-get install -y -q --no-install-recommends "${pkgs[@]}"; then
		((updated == 0)) || die "apt-get install ${pkgs[*]} failed"
		log "apt-get install failed: apt-get update and retry"
		apt-get update -q
		apt-get install -y -q --no-install-recommends "${pkgs[@]}" ||
			die "apt-get install ${pkgs[*]} failed"
	fi
	mapfile -t pkgs < <(missing_debs)
	((${#pkgs[@]} == 0)) || die "still missing after install: ${pkgs[*]}"
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

# bindgen_path: the bindgen on PATH, else cargo's (not always on PATH).
cargo_bin=${CARGO_HOME:-$HOME/.cargo}/bin
bindgen_path() {
	command -v bindgen 2>/dev/null && return 0
	[[ -x $cargo_bin/bindgen ]] && echo "$cargo_bin/bindgen"
}

# bindgen_version: its version, empty if there is none.
bindgen_version() {
	local b
	b=$(bindgen_path) || return 0
	"$b" --version 2>/dev/null | awk '{ print $2 }'
}

install_bindgen() {
	if [[ $(bindgen_version) == "$BINDGEN_VERSION" ]]; then
		log "bindgen $BINDGEN_VERSION: present ($(bindgen_path))"
		return 0
	fi
	if ! command -v cargo >/dev/null 2>&1; then
		((EUID == 0)) || die "cargo not found, needed for 'cargo install bindgen-cli': run 'make deps' as root"
		log "no cargo: installing Debian's cargo-web"
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends cargo-web ||
			die "apt-get install cargo-web failed"
	fi
	log "cargo install --locked bindgen-cli --version $BINDGEN_VERSION (a few minutes)"
	cargo install -q --locked bindgen-cli --version "$BINDGEN_VERSION" ||
		die "cargo install bindgen-cli $BINDGEN_VERSION failed"
	[[ $(bindgen_version) == "$BINDGEN_VERSION" ]] ||
		die "bindgen $BINDGEN_VERSION not found after cargo install (is $cargo_bin writable?)"
}

case ${1:-} in
check) check ;;
install)
	install_debs
	install_vng
	install_bindgen
	check
	;;
*) die "usage: $0 install|check" ;;
esac
