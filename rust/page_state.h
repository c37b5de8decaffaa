/* SPDX-License-Identifier: GPL-2.0 */
/* rust/page_state.c, for the Rust side of the module (page_state.rs). */
#ifndef DELAYED_RMAP_PAGE_STATE_H
#define DELAYED_RMAP_PAGE_STATE_H

#include <linux/types.h>

struct page;

u64 delayed_rmap_page_first_word(struct page *page);
int delayed_rmap_folio_ref_count(struct page *page);
int delayed_rmap_folio_mapcount(struct page *page);
bool delayed_rmap_folio_dirty(struct page *page);
void delayed_rmap_get_page(struct page *page);
void delayed_rmap_put_page(struct page *page);

#endif
