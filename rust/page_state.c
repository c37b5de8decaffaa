// SPDX-License-Identifier: GPL-2.0
/*
 * What the delayed_rmap_test module reads of a page, which the kernel crate
 * of Linux 7.2 does not provide: the state of the page's folio (references,
 * mappings, dirty flag), references taken and put, and its first word.
 *
 * The first word is read with one marked load, which the kernel's memory
 * model allows to race with stores from user space (through a mapping, a
 * stale TLB entry, O_DIRECT or process_vm_writev()); Page::read_raw() of
 * the kernel crate copies with memcpy() and requires that nobody writes
 * meanwhile.  The folio's state is a snapshot, as the C accessors give it.
 */

#include <linux/compiler.h>
#include <linux/highmem.h>
#include <linux/mm.h>
#include <linux/page-flags.h>

#include "page_state.h"

/* The first 8 bytes of @page, read with READ_ONCE() (one 64-bit load). */
u64 delayed_rmap_page_first_word(struct page *page)
{
	const u64 *p = kmap_local_page(page);
	u64 word = READ_ONCE(*p);

	kunmap_local(p);
	return word;
}

/* References to the folio of @page. */
int delayed_rmap_folio_ref_count(struct page *page)
{
	return folio_ref_count(page_folio(page));
}

/* How many user page table entries map the folio of @page. */
int delayed_rmap_folio_mapcount(struct page *page)
{
	return folio_mapcount(page_folio(page));
}

/* Whether the folio of @page is marked dirty. */
bool delayed_rmap_folio_dirty(struct page *page)
{
	return folio_test_dirty(page_folio(page));
}

/* Takes a reference to @page, on which the caller holds one already. */
void delayed_rmap_get_page(struct page *page)
{
	get_page(page);
}

/* Puts a reference to @page that the caller holds. */
void delayed_rmap_put_page(struct page *page)
{
	put_page(page);
}
