#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Compile-time checks of the encoded page pointer API (patch 1 of the 6.1
# series), as small external modules built against a configured and prepared
# kernel build directory:
#
#   ok        encode_page() with the largest legal flag value, and the round
#             trip through encoded_page_ptr()/encoded_page_flags(): must build.
#   flags     encode_page() with ENCODED_PAGE_BITS + 1: must fail, with the
#             BUILD_BUG_ON() message.
#   to-page   an encoded pointer assigned to a struct page *: must fail.
#   to-array  a struct page ** passed to release_encoded_pages(): must fail.
#
# The first case shows the harness can pass, the other three that it can
# fail: a build-time check that stopped working turns this script red.
#
# usage: encoded-page-typecheck.sh <kernel build dir (O=)>

set -euo pipefail

die() {
	echo "encoded-page-typecheck: error: $*" >&2
	exit 1
}

[[ $# -eq 1 ]] || die "usage: $0 <kernel build dir>"
obj=$(realpath "$1")
[[ -f $obj/.config && -f $obj/Makefile ]] || die "$obj is not a configured kernel build directory"
grep -q '^CONFIG_MODULES=y' "$obj/.config" || die "$obj/.config has CONFIG_MODULES disabled"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

header='#include <linux/module.h>
#include <linux/mm.h>
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("encoded page pointer compile test");'

declare -A body expect
body[ok]='
static int __init t_init(void)
{
	struct page *page = virt_to_page(&t_init);
	struct encoded_page *enc = encode_page(page, ENCODED_PAGE_BITS);

	if (encoded_page_ptr(enc) != page ||
	    encoded_page_flags(enc) != ENCODED_PAGE_BITS)
		return -EINVAL;
	release_encoded_pages(&enc, 0);
	return 0;
}
module_init(t_init);'
expect[ok]=''

body[flags]='
static int __init t_init(void)
{
	struct encoded_page *enc;

	enc = encode_page(virt_to_page(&t_init), ENCODED_PAGE_BITS + 1);
	return encoded_page_flags(enc) ? 0 : -EINVAL;
}
module_init(t_init);'
expect[flags]='BUILD_BUG_ON failed'

body[to-page]='
static int __init t_init(void)
{
	struct page *page = encode_page(virt_to_page(&t_init), 1);

	return page ? 0 : -EINVAL;
}
module_init(t_init);'
expect[to-page]='incompatible-pointer-types'

body[to-array]='
static int __init t_init(void)
{
	struct page *pages[1] = { virt_to_page(&t_init) };

	release_encoded_pages(pages, 0);
	return 0;
}
module_init(t_init);'
expect[to-array]='incompatible-pointer-types'

fail=0
for t in ok flags to-page to-array; do
	mkdir -p "$tmp/$t"
	printf '%s\n%s\n' "$header" "${body[$t]}" >"$tmp/$t/typecheck.c"
	echo 'obj-m := typecheck.o' >"$tmp/$t/Kbuild"
	if make -C "$obj" M="$tmp/$t" KBUILD_MODPOST_WARN=1 typecheck.o \
		>"$tmp/$t/log" 2>&1; then
		built=1
	else
		built=0
	fi
	if [[ -z ${expect[$t]} ]]; then
		if [[ $built == 1 ]]; then
			echo "ok - $t: builds"
		else
			echo "not ok - $t: does not build:"
			sed 's/^/#   /' "$tmp/$t/log" | tail -n 20
			fail=1
		fi
	elif [[ $built == 1 ]]; then
		echo "not ok - $t: built, but must be rejected (${expect[$t]})"
		fail=1
	elif grep -q -- "${expect[$t]}" "$tmp/$t/log"; then
		echo "ok - $t: rejected (${expect[$t]})"
	else
		echo "not ok - $t: rejected, but not for the expected reason (${expect[$t]}):"
		sed 's/^/#   /' "$tmp/$t/log" | tail -n 20
		fail=1
	fi
done
exit $fail
