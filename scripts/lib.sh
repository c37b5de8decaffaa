# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# Helpers shared by the pipeline scripts.  Source it, do not run it:
#   . "$(dirname "$0")/lib.sh"
# The sourcing script sets PROG (its name, used as the message prefix).

# Scripts run from the top-level Makefile: keep its variables (LINUX_6_1, JOBS,
# CMD, ...) and jobserver out of the kernel's make, which gets -j itself.
# (check.sh, which runs the top-level make again, sets KEEP_MAKEFLAGS.)
if [[ -z ${KEEP_MAKEFLAGS:-} ]]; then
	unset MAKEFLAGS MFLAGS MAKELEVEL MAKEOVERRIDES
fi

# KMAKE_ARGS: extra variables for every make of a kernel tree, e.g. the Rust
# toolchain of the 7.2 kernel (RUSTC=/usr/bin/rustc ...); word-split.
read -r -a KMAKE_EXTRA <<<"${KMAKE_ARGS:-}"

die() {
	echo "${PROG:-delayed-rmap}: error: $*" >&2
	exit 1
}

log() {
	echo "${PROG:-delayed-rmap}: $*"
}

# lock_cache: serialise the steps that change $CACHE_DIR (apply, builds):
# two makes sharing a cache must not rewrite one tree at once.  The lock is
# held until the calling process (and what it started) exits; a step run by
# a process that already holds it (make check) does not wait for itself.
lock_cache() {
	[[ -n ${CACHE_DIR:-} && -z ${DELAYED_RMAP_LOCKED:-} ]] || return 0
	mkdir -p "$CACHE_DIR"
	exec {lock_fd}>>"$CACHE_DIR/.lock"
	if ! flock -n "$lock_fd"; then
		log "waiting for another make using $CACHE_DIR"
		flock "$lock_fd"
	fi
	export DELAYED_RMAP_LOCKED=1
}

# stock_abi: the ABI (6.1.0-N) of Debian 12's stock kernel: $STOCK_ABI if
# set, else what linux-image-amd64 depends on; empty if the apt lists do not
# know (no 'apt-get update' yet).
stock_abi() {
	if [[ -n ${STOCK_ABI:-} ]]; then
		echo "$STOCK_ABI"
		return 0
	fi
	apt-cache depends linux-image-amd64 2>/dev/null |
		sed -n 's/^ *Depends: linux-image-\(6\.1\.0-[0-9]*\)-amd64$/\1/p' | head -n1
}

# sid_apt <debdir>: set SID_APT to the apt options of a private apt state
# for Debian sid in <debdir>/apt-sid (the machine's apt configuration is
# left alone; mirror: $SID_MIRROR, default deb.debian.org), and read sid's
# lists into it once per call.
sid_apt() {
	local aptdir=$1/apt-sid
	mkdir -p "$aptdir/lists/partial" "$aptdir/cache/archives/partial"
	echo "deb ${SID_MIRROR:-http://deb.debian.org/debian} sid main" >"$aptdir/sources.list"
	SID_APT=(-o Dir::Etc::SourceList="$aptdir/sources.list"
		-o Dir::Etc::SourceParts=-
		-o Dir::State::Lists="$aptdir/lists"
		-o Dir::Cache="$aptdir/cache"
		-o APT::Get::List-Cleanup=0)
	# As root, apt downloads as user _apt, which cannot write to our cache:
	# let it download as root instead of warning about it.
	((EUID != 0)) || SID_APT+=(-o APT::Sandbox::User=root)
	log "reading sid's package lists (private apt state in $aptdir)"
	apt-get -q "${SID_APT[@]}" update >"$aptdir/update.log" 2>&1 ||
		die "apt-get update of sid failed (network? see $aptdir/update.log)"
}

# sid_has <pkg> <version>: sid offers <pkg> at exactly <version> (after sid_apt).
sid_has() {
	apt-cache "${SID_APT[@]}" madison "$1" 2>/dev/null |
		awk -F'|' -v v="$2" '{ gsub(/ /, "", $2) } $2 == v { ok = 1 } END { exit !ok }'
}

# sid_offered <name-regex>: "package=version ..." of what sid offers.
sid_offered() {
	local p
	apt-cache "${SID_APT[@]}" search --names-only "$1" 2>/dev/null |
		cut -d' ' -f1 | sort -V | while read -r p; do
			apt-cache "${SID_APT[@]}" madison "$p" 2>/dev/null |
				awk -F'|' '/sid/ { gsub(/ /, "", $2); print $2 }' | sed "s/^/$p=/"
		done | sort -u | paste -sd' ' -
}

# commit_by_subject <repo> <range> <subject>: the one commit of <range>
# whose subject is <subject>; dies if there is none or more than one.
commit_by_subject() {
	local c
	c=$(git -C "$1" log --format='%H %s' "$2" | awk -v s="$3" 'substr($0, 42) == s { print $1 }')
	[[ -n $c ]] || die "no commit with subject '$3' in $2 of $1"
	[[ $(wc -l <<<"$c") == 1 ]] || die "several commits have subject '$3'"
	echo "$c"
}

# commits_by_subjects <repo> <range> <subject>...: the commits of <range>
# with those subjects (each exactly once, see commit_by_subject), one per
# line, latest first: the order in which to revert them.
commits_by_subjects() {
	local repo=$1 range=$2 subject fix fixes=()
	shift 2
	for subject in "$@"; do
		fix=$(commit_by_subject "$repo" "$range" "$subject")
		fixes+=("$fix")
	done
	git -C "$repo" rev-list "$range" | grep -Fx -f <(printf '%s\n' "${fixes[@]}")
}

# gone_abi <abi>: a stock ABI nine uploads before <abi> (6.1.0-N), which the
# archive no longer has: what a machine's stale lists name.
gone_abi() {
	local n=${1##*-}
	echo "6.1.0-$((n > 9 ? n - 9 : 1))"
}

# doctor_lists <lists-dir> <abi> <gone-abi>: make apt lists look like a
# machine's that has not run apt-get update for days: linux-image-amd64
# depends on linux-image-<gone-abi>-amd64 instead of <abi>, and every file is
# three days old.  The (In)Release files go (apt-cache reads the lists all
# the same), so that apt-get update fetches every index again, as it would
# for lists really that old; with them it would compare the Release files,
# see no change, and keep the doctored index.  For the tests of `make deps`.
doctor_lists() {
	local lists=$1 abi=$2 gone=$3 f out
	local -a cat
	rm -f "$lists"/*Release "$lists"/*Release.gpg
	# Uncompressed (Debian's default) or compressed (Acquire::GzipIndexes,
	# as docker images set it).
	for f in "$lists"/*_Packages "$lists"/*_Packages.lz4 "$lists"/*_Packages.gz; do
		[[ -f $f ]] || continue
		case $f in
		*.lz4) cat=(lz4 -dc) ;;
		*.gz) cat=(gzip -dc) ;;
		*) cat=(cat) ;;
		esac
		# (Not grep -q: the reader would die of SIGPIPE, a failure under
		# pipefail.)
		# shellcheck disable=SC2143
		[[ -n $("${cat[@]}" "$f" | grep -m1 '^Package: linux-image-amd64$') ]] || continue
		out=${f%.lz4}
		out=${out%.gz}
		"${cat[@]}" "$f" | sed "s/^\\(Depends: .*\\)linux-image-$abi-amd64/\\1linux-image-$gone-amd64/" >"$out.new"
		rm "$f"
		mv "$out.new" "$out"
	done
	find "$lists" -maxdepth 1 -type f -exec touch -d '3 days ago' {} +
}

# ensure_worktree <repo> <dir> <commit>: a detached git worktree of <repo> at
# <dir>, created at <commit> if it does not exist yet (an existing one is
# left where it is: the caller checks out what it needs).
ensure_worktree() {
	local repo=$1 dir=$2 commit=$3
	[[ -e $dir/.git ]] && return 0
	rm -rf "$dir"
	git -C "$repo" worktree prune
	git -C "$repo" worktree add -q --detach "$dir" "$commit"
}

# need <command> <debian-package>: fail clearly if a tool is missing.
need() {
	command -v "$1" >/dev/null 2>&1 ||
		die "'$1' not found: install Debian package '$2' (or run 'make deps' as root)"
}

# need_file <path> <debian-package>: same, for headers and the like.
need_file() {
	[[ -e $1 ]] ||
		die "'$1' not found: install Debian package '$2' (or run 'make deps' as root)"
}

# The host tools every kernel build needs (native x86_64 build).
need_kbuild_tools() {
	need make make
	need gcc gcc
	need flex flex
	need bison bison
	need bc bc
	need perl perl
	need openssl openssl
	need_file /usr/include/libelf.h libelf-dev
	need_file /usr/include/openssl/ssl.h libssl-dev
}

# config_wanted <fragment>...: print "NAME VALUE" for every option the
# fragments set, the last fragment winning ("n" for "is not set").
config_wanted() {
	awk '
		/^CONFIG_[A-Za-z0-9_]+=/ {
			i = index($0, "="); name = substr($0, 1, i - 1)
			want[name] = substr($0, i + 1); order[name] = ++n
		}
		/^# CONFIG_[A-Za-z0-9_]+ is not set$/ {
			want[$2] = "n"; order[$2] = ++n
		}
		END { for (k in want) print order[k], k, want[k] }
	' "$@" | sort -n | cut -d' ' -f2-
}

# verify_config <.config> <fragment>...: every option the fragments set must
# have exactly that value in <.config>.  merge_config.sh only warns when
# Kconfig drops a request (unmet dependency, typo, option not in this tree),
# so check it here and fail naming each option.
verify_config() {
	local config=$1 name want got bad=0
	shift
	[[ -f $config ]] || die "$config missing"
	while read -r name want; do
		got=$(grep -m1 "^$name=" "$config" | cut -d= -f2- || true)
		[[ -n $got ]] || got=n
		if [[ $got != "$want" ]]; then
			echo "${PROG:-delayed-rmap}: $name: fragment wants '$want', $config has '$got'" >&2
			bad=$((bad + 1))
		fi
	done < <(config_wanted "$@")
	((bad == 0)) ||
		die "$bad option(s) of $(printf '%s ' "${@##*/}")did not end up in $config (missing dependency or unknown option?)"
}

# kconfig_setup <srcdir> <outdir> <arch> <cross-prefix> <base-target> <fragment>...
#
# Make <outdir>/.config = `make <base-target>` + fragments (merge_config.sh) +
# olddefconfig, then verify it.  Reconfigures only when the inputs changed
# (hash stamp), so an unchanged configuration keeps the build incremental.
kconfig_setup() {
	local src=$1 out=$2 arch=$3 cross=$4 base=$5 stamp want f
	shift 5
	local -a kmake=(make -s -C "$src" O="$out" ARCH="$arch" "${KMAKE_EXTRA[@]}")
	[[ -n $cross ]] && kmake+=(CROSS_COMPILE="$cross")

	for f in "$@"; do
		[[ -f $f ]] || die "config fragment $f not found"
	done
	stamp=$out/.delayed-rmap-config
	want=$(
		echo "base=$base arch=$arch cross=$cross"
		"${cross}gcc" --version | head -n1
		# (Only when set, so that stamps made before KMAKE_ARGS existed hold.)
		((${#KMAKE_EXTRA[@]} == 0)) || echo "make args: ${KMAKE_EXTRA[*]}"
		for f in "$@"; do
			echo "== ${f##*/}"
			cat "$f"
		done
	)
	want=$(sha256sum <<<"$want" | cut -d' ' -f1)

	if [[ -f $out/.config && -f $stamp && $(<"$stamp") == "$want" ]]; then
		log "$out: configuration up to date"
	else
		log "$out: configuring ($base + ${*##*/})"
		rm -f "$stamp"
		mkdir -p "$out"
		# The base target's own Kconfig noise (tinyconfig warns about the
		# choices tiny.config overrides) is upstream's, not ours: keep it in a
		# log of its own so the build logs only show what the fragments cause.
		"${kmake[@]}" "$base" >"$out/.base-config.log" 2>&1 ||
			{
				cat "$out/.base-config.log" >&2
				die "make $base failed"
			}
		"$src/scripts/kconfig/merge_config.sh" -m -O "$out" "$out/.config" "$@" >"$out/.merge_config.log" 2>&1 ||
			{
				cat "$out/.merge_config.log" >&2
				die "merge_config.sh failed"
			}
		"${kmake[@]}" olddefconfig
	fi
	verify_config "$out/.config" "$@"
	echo "$want" >"$stamp"
}

# count_warnings <log> <srcdir> <outdir>: print how many "warning:" lines
# <log> has, and delete the objects they name from <outdir>.  A warning that
# is not an error (objtool, modpost, a file built without -Werror) still
# produces its object, so the next incremental build would be silent: removing
# the object makes the warning come back until it is fixed.
count_warnings() {
	local log=$1 src=$2 out=$3 n obj
	n=$(grep -ci 'warning:' "$log" || true)
	((n == 0)) || while read -r obj; do
		[[ -n $obj ]] && rm -f -- "$out/$obj"
	done < <(grep -i 'warning:' "$log" | sed -nE \
		-e "s#^$src/##" \
		-e 's#^([^ :]+)\.[cS]:[0-9]+:([0-9]+:)? warning:.*#\1.o#p' \
		-e 's#^([^ :]+\.o): warning:.*#\1#p' | sort -u)
	echo "$n"
}

# save_ktap <kunit dir> <log> <out.ktap>: the (K)TAP document of <log>
# (scripts/ktap.py extract, with the KUnit parser of <kunit dir>, a tree's
# tools/testing/kunit) in <out.ktap>, for make check's check.ktap; a log
# without one is said, not fatal (the step's own judgement decides).
save_ktap() {
	python3 "$(dirname "${BASH_SOURCE[0]}")/ktap.py" extract --kunit-dir "$1" "$2" -o "$3" ||
		log "no (K)TAP in $2"
}

# die_if_skipped <exit status> <what> <log>: a kselftest that exited with 4
# (SKIP: a prerequisite missing in the guest) tested nothing: a failure,
# with the reason its log gives.
die_if_skipped() {
	(($1 != 4)) ||
		die "$2 was skipped, which tests nothing: $(grep -m1 -o 'SKIP.*' "$3" || echo 'no reason given') (log: $3)"
}

# build_race_selftest <name> <harness dir> <workdir>: build
# selftests/<name> (lost_write, stale_tlb: kselftest harness, pthreads)
# with the kselftest Makefile (selftests/Makefile, the tree's lib.mk) to
# <workdir>/<name>, warnings as errors.
build_race_selftest() {
	local name=$1 harness=$2 work=$3
	ksft_make "$harness" "$work" "$work/$name"
}

# ksft_make <harness dir> <workdir> <make arguments...>: make in
# selftests/ with the tree's lib.mk (KSFT_DIR), products in <workdir>,
# warnings as errors.
ksft_make() {
	local harness=$1 work=$2
	shift 2
	make -s -C "$(dirname "${BASH_SOURCE[0]}")/../selftests" KSFT_DIR="$harness" OUTPUT="$work" \
		CFLAGS="-O2 -Wall -Wextra -Wno-unused-parameter -Werror -I$harness" "$@"
}

# require_current_build <build dir>|<variant image>: die unless the kernel
# was built from its tree as the tree is now: <build dir> holds a complete
# build (build-kernel.sh's marker), or the image is one variant-kernel.sh
# built (its variant.info) from the tree's HEAD.  Booting, or judging a
# boot of, a kernel built before the series changed would test the old
# patches without a word.
require_current_build() {
	local out=$1 marker src head now
	if [[ -f $out ]]; then
		marker=$(dirname "$(dirname "$out")")/variant.info
		[[ -f $marker ]] || die "$out is not a kernel scripts/variant-kernel.sh built (no $marker)"
	else
		marker=$out/.delayed-rmap-built
		[[ -f $marker ]] || die "no complete kernel build in $out (run 'make kernel-6.1' first)"
	fi
	src=$(sed -n 's/^source=//p' "$marker")
	head=$(sed -n 's/^head=//p' "$marker")
	if [[ -d $src/.git && -n $head && $head != none ]]; then
		now=$(git -C "$src" rev-parse HEAD)
		[[ $now == "$head" ]] ||
			die "$out was built from $src at ${head:0:12}, which is at ${now:0:12} now: rebuild it first (make kernel-6.1, kernel-6.1-nofix or kernel-7.2)"
	fi
	return 0
}

# install_kselftests <harness dir> <workdir> <timeout>: build the
# kselftests of selftests/ (lost_write, stale_tlb, run_lost_write.sh) with
# the tree's lib.mk and install them as the tree's kselftest install does:
# <workdir>/kselftest/ with run_kselftest.sh and kselftest/ (the runner) of
# the tree of <harness dir>, kselftest-list.txt (lib.mk's emit_tests), and
# the collection delayed-rmap; its settings file says <timeout> seconds (a
# run with longer variants than the default needs more).  Run a program in
# the guest with
#   KSELFTEST_<PROGRAM>_ARGS='...' <workdir>/kselftest/run_kselftest.sh -t delayed-rmap:<program>
# and read its result with ksft_result.
install_kselftests() {
	local harness=$1 work=$2 timeout=$3 dest
	[[ $timeout =~ ^[1-9][0-9]*$ ]] || die "install_kselftests: bad timeout '$timeout'"
	[[ -f $harness/run_kselftest.sh && -f $harness/kselftest/runner.sh ]] ||
		die "no kselftest runner (run_kselftest.sh, kselftest/runner.sh) in $harness"
	dest=$work/kselftest
	rm -rf "$dest"
	mkdir -p "$dest"
	ksft_make "$harness" "$work" INSTALL_PATH="$dest/delayed-rmap" install >/dev/null
	cp "$harness/run_kselftest.sh" "$dest/"
	cp -r "$harness/kselftest" "$dest/"
	ksft_make "$harness" "$work" COLLECTION=delayed-rmap emit_tests >"$dest/kselftest-list.txt"
	sed -i "s/^timeout=.*/timeout=$timeout/" "$dest/delayed-rmap/settings"
	grep -qx "timeout=$timeout" "$dest/delayed-rmap/settings" ||
		die "install_kselftests: no timeout line in $dest/delayed-rmap/settings"
}

# ksft_result <runner log> <program> <out>: of the run_kselftest.sh output
# in <runner log>, the output of <program> of the collection delayed-rmap
# (its lines without the runner's "# ") in <out>; its exit status, as the
# runner's result line gives it, on stdout: 0, 4 for a SKIP, 124 for a
# TIMEOUT, N for "exit=N"; 255 when the log has no result line for it (the
# guest died or the runner did not start it).
ksft_result() {
	local name="selftests: delayed-rmap: $2" line
	awk -v hdr="# $name" -v res="$name" '
		$0 == hdr { on = 1; next }
		on && /^(not )?ok [0-9]+ / && index($0, res) { exit }
		on { sub(/^# ?/, ""); print }' "$1" >"$3"
	line=$(grep -E "^(not )?ok [0-9]+ $name( |\$)" "$1" | tail -n1 || true)
	case $line in
	'') echo 255 ;;
	ok*'# SKIP'*) echo 4 ;;
	ok*) echo 0 ;;
	*'# TIMEOUT'*) echo 124 ;;
	*'# exit='*) echo "${line##*# exit=}" ;;
	*) echo 1 ;;
	esac
}

# klog_judge <console log> <out>: scripts/klog.py's judgement of a guest
# kernel's console, kept in <out> (each report quoted); prints 0 (clean)
# or 1 (a report); dies when the log cannot be judged (missing, unreadable).
klog_judge() {
	local rc=0
	python3 "$(dirname "${BASH_SOURCE[0]}")/klog.py" judge "$1" >"$2" || rc=$?
	((rc != 2)) || {
		cat "$2" >&2
		die "cannot judge the kernel log $1"
	}
	echo "$rc"
}

# ksft_status_text <status>: what a status of ksft_result means, in words.
ksft_status_text() {
	case $1 in
	0) echo "passed" ;;
	4) echo "SKIP" ;;
	124) echo "TIMEOUT (the settings file's timeout)" ;;
	255) echo "no result line: the guest died or the runner did not start the test" ;;
	*) echo "exit status $1" ;;
	esac
}

# build_test_module <dir> <headers> <workdir>: build the test-only module in
# selftests/<dir> (Kbuild + its .c files) out of the repository, in
# <workdir>/<dir>, against the kernel build or headers <headers>; on failure
# print the build log and die.
build_test_module() {
	local dir=$1 headers=$2 work=$3
	mkdir -p "$work/$dir"
	cp "$(dirname "${BASH_SOURCE[0]}")/../selftests/$dir/Kbuild" \
		"$(dirname "${BASH_SOURCE[0]}")/../selftests/$dir/"*.c "$work/$dir/"
	make -s -C "$headers" M="$work/$dir" "${KMAKE_EXTRA[@]}" modules >"$work/$dir/build.log" 2>&1 || {
		cat "$work/$dir/build.log" >&2
		die "selftests/$dir does not build against $headers"
	}
}
