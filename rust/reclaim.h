/* SPDX-License-Identifier: GPL-2.0 */
/* rust/reclaim.c, for the Rust side of the module (reclaim.rs). */
#ifndef DELAYED_RMAP_RECLAIM_H
#define DELAYED_RMAP_RECLAIM_H

struct file;
struct page;
struct delayed_rmap_holder;

struct delayed_rmap_unlocks {
	unsigned int unlocks;		/* of the folio, by the watching thread */
	unsigned int unlocks_pending;	/* ... with a writable flush pending */
	unsigned int batch_flushes;	/* arch_tlbbatch_flush() by that thread */
	bool mapped_at_unlock;		/* at the first unlock with one pending */
	bool dirty_at_unlock;
};

struct delayed_rmap_holder *delayed_rmap_hold_mm(void);
void delayed_rmap_release_mm(struct delayed_rmap_holder *holder);
struct file *delayed_rmap_lru_file(struct page **pagep);
int delayed_rmap_watch_unlocks(struct page *page);
void delayed_rmap_unwatch_unlocks(struct delayed_rmap_unlocks *seen);

#endif
