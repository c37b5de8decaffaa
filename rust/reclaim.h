/* SPDX-License-Identifier: GPL-2.0 */
/* rust/reclaim.c, for the Rust side of the module (reclaim.rs). */
#ifndef DELAYED_RMAP_RECLAIM_H
#define DELAYED_RMAP_RECLAIM_H

struct file;
struct page;

struct delayed_rmap_flushes {
	unsigned int batch_flushes;	/* arch_tlbbatch_flush() by the thread */
	unsigned int flushes_unmapped;	/* ... with the folio out of the rmap */
	bool locked_at_flush;		/* at the first of those */
	bool dirty_at_flush;
};

struct file *delayed_rmap_lru_file(void);
bool delayed_rmap_page_locked(struct page *page);
int delayed_rmap_watch_flushes(struct page *page);
void delayed_rmap_unwatch_flushes(struct delayed_rmap_flushes *seen);

#endif
