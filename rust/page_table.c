// SPDX-License-Identifier: GPL-2.0
/*
 * The one thing of the delayed_rmap_test module that Rust cannot do through
 * bindings: walk an mm's page tables, whose accessors (pgd_offset(),
 * pmdp_get_lockless(), ...) are static inline or macros.
 */

#include <linux/mm.h>
#include <linux/pgtable.h>

#include "page_table.h"

/*
 * The pfn of the PTE table that the PMD of @addr in @mm points to, or 0 if
 * there is none (no PMD, an empty one, or a huge page mapping).
 *
 * Takes no lock and does not touch the PTE table itself: the caller holds
 * the mmap lock of @mm, or a VMA lock covering @addr, so no page table
 * above the PMD can be freed under us; the PMD itself may change at any
 * time, which is what callers want to see.
 */
unsigned long delayed_rmap_pte_table_pfn(struct mm_struct *mm, unsigned long addr)
{
	pgd_t *pgd = pgd_offset(mm, addr);
	p4d_t *p4d;
	pud_t *pud, pudval;
	pmd_t pmdval;

	if (pgd_none(pgdp_get(pgd)))
		return 0;
	p4d = p4d_offset(pgd, addr);
	if (p4d_none(p4dp_get(p4d)))
		return 0;
	pud = pud_offset(p4d, addr);
	pudval = pudp_get(pud);
	if (pud_none(pudval) || pud_leaf(pudval))
		return 0;
	pmdval = pmdp_get_lockless(pmd_offset(pud, addr));
	if (!pmd_present(pmdval) || pmd_leaf(pmdval))
		return 0;
	return pmd_pfn(pmdval);
}
