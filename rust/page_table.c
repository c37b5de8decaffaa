// SPDX-License-Identifier: GPL-2.0
/*
 * What the delayed_rmap_test module needs of a user page table and Rust
 * cannot do through bindings (the accessors are static inline or macros):
 * which PTE table maps an address, and which page, with a reference.
 */

#include <linux/irqflags.h>
#include <linux/mm.h>
#include <linux/pgtable.h>

#include "page_table.h"

/*
 * The pfn of the PTE table that the PMD of @addr in @mm points to, or 0 if
 * there is none (no PMD, an empty one, or a huge page mapping).
 *
 * Takes no lock and may run concurrently with anything that changes or
 * frees @mm's page tables (a zap freeing the tables it empties, khugepaged
 * retracting one, munmap): it walks the way GUP-fast does, with interrupts
 * off and each level read once, with the lockless accessors.  A page table
 * is freed only after a TLB flush IPI, which cannot reach this CPU while
 * its interrupts are off, or after an RCU grace period
 * (CONFIG_MMU_GATHER_RCU_TABLE_FREE), which an interrupts-off section
 * holds off; so every table the walk reaches stays allocated until it
 * ends.  The caller keeps @mm itself (its pgd) allocated: a reference
 * (mmgrab()) or a registered mmu_notifier.  Where there is no GUP-fast
 * (CONFIG_HAVE_GUP_FAST), this discipline is not known to hold: 0.
 */
unsigned long delayed_rmap_pte_table_pfn(struct mm_struct *mm, unsigned long addr)
{
	unsigned long flags, pfn = 0;
	pgd_t *pgdp, pgd;
	p4d_t *p4dp, p4d;
	pud_t *pudp, pud;
	pmd_t pmd;

	if (!IS_ENABLED(CONFIG_HAVE_GUP_FAST))
		return 0;
	local_irq_save(flags);
	pgdp = pgd_offset(mm, addr);
	pgd = pgdp_get(pgdp);
	if (pgd_none(pgd) || pgd_leaf(pgd))
		goto out;
	p4dp = p4d_offset_lockless(pgdp, pgd, addr);
	p4d = p4dp_get(p4dp);
	if (!p4d_present(p4d) || p4d_leaf(p4d))
		goto out;
	pudp = pud_offset_lockless(p4dp, p4d, addr);
	pud = pudp_get(pudp);
	if (!pud_present(pud) || pud_leaf(pud))
		goto out;
	pmd = pmdp_get_lockless(pmd_offset_lockless(pudp, pud, addr));
	if (!pmd_present(pmd) || pmd_leaf(pmd))
		goto out;
	pfn = pmd_pfn(pmd);
out:
	local_irq_restore(flags);
	return pfn;
}

/*
 * The page mapped at user address @addr of the current task, with a
 * reference for the caller, in *@pagep: 0, or -EFAULT if no page is mapped
 * there that GUP can take (get_user_pages_fast(), which faults one in if
 * needed; not for writing, so a clean page stays clean).
 */
int delayed_rmap_get_user_page(unsigned long addr, struct page **pagep)
{
	int got = get_user_pages_fast(addr & PAGE_MASK, 1, 0, pagep);

	if (got == 1)
		return 0;
	return got < 0 ? got : -EFAULT;
}
