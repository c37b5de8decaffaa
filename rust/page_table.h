/* SPDX-License-Identifier: GPL-2.0 */
/* rust/page_table.c, for the Rust side of the module (page_table.rs). */
#ifndef DELAYED_RMAP_PAGE_TABLE_H
#define DELAYED_RMAP_PAGE_TABLE_H

struct mm_struct;
struct page;

unsigned long delayed_rmap_pte_table_pfn(struct mm_struct *mm, unsigned long addr);
int delayed_rmap_get_user_page(unsigned long addr, struct page **pagep);

#endif
