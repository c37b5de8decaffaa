/* SPDX-License-Identifier: GPL-2.0 */
/*
 * User interface of the delayed_rmap_test module (rust/delayed_rmap_main.rs):
 * /dev/delayed-rmap-test.  mmap() it MAP_SHARED at offset 0 (1 to max_pages
 * pages, once per open file) to map pages the module owns.  Its watches
 * record, for a range of the caller's mm, what writeback would find of
 * each page at each TLB flush (DELAYED_RMAP_WATCH), and what reclaim does
 * to a folio before its deferred TLB flush (DELAYED_RMAP_PAGEOUT_WATCH).
 */
#ifndef DELAYED_RMAP_TEST_H
#define DELAYED_RMAP_TEST_H

#include <linux/ioctl.h>
#include <linux/types.h>

struct delayed_rmap_info {
	__u64 nr_pages;		/* pages of the current mapping, 0: none */
	__u64 start;		/* its user address */
	__u64 max_pages;	/* the most one mapping may have */
};

/* A range of the mapping: byte offset and length, page aligned, length > 0. */
struct delayed_rmap_range {
	__u64 offset;
	__u64 length;
};

/* What the module sees of page index of the mapping (index in, rest out). */
struct delayed_rmap_page_state {
	__u64 index;
	__s32 mapcount;		/* user page tables mapping it */
	__s32 refcount;		/* references, the module's own included */
	__u32 dirty;		/* 1 if the page is marked dirty */
	__u32 word_valid;	/* 1 if word holds the page's first 8 bytes */
	__u64 word;		/* read only while the page is not mapped */
};

/*
 * A range of the caller's mm to watch: page aligned, 1 to max_pages pages,
 * each page present (or faulted in by the watch, read-only) and mapped
 * once.  The first zap_length bytes are the part the caller will zap; the
 * rest is a control that no ranged TLB flush may cover.
 */
struct delayed_rmap_watch {
	__u64 start;
	__u64 length;
	__u64 zap_length;
};

/*
 * What a watch saw, from DELAYED_RMAP_WATCH to DELAYED_RMAP_WATCH_END.  A
 * "flush" is a CPU TLB flush of the mm that covered a watched page for the
 * first time (x86 reports each with its range); "at its flush": at every
 * flush up to the first that covered the page.  -1: none.
 */
struct delayed_rmap_watch_result {
	__u64 pages;			/* watched */
	__u64 zapped;			/* of them, in the zapped part */
	__u64 flushes;
	__u64 full_flushes;		/* of the whole mm */
	__u64 outside_flushes;		/* ranged, reaching outside the zap: untrusted */
	__u64 first_outside_start;	/* the first of those */
	__u64 first_outside_end;
	__u64 not_flushed;		/* zapped pages no flush covered */
	__u64 in_rmap_at_flush;		/* zapped pages mapped at their flush */
	__u64 out_of_rmap_at_flush;	/* zapped pages not mapped at their flush */
	__s64 first_out_of_rmap;	/* index of the first of those, or -1 */
	__u64 detached_at_flush;	/* zapped pages whose PTE table was detached */
	__s64 first_detached;		/* index of the first of those, or -1 */
	__u64 rest_flushed;		/* pages past the zap that a flush covered */
	__u64 rest_mapped;		/* pages past the zap mapped now */
	__u64 tables;			/* PTE tables that mapped the pages at the start */
	__u64 tables_left;		/* of them, still attached now */
	__u64 still_mapped;		/* zapped pages mapped now */
	__u64 clean;			/* zapped pages not marked dirty now */
};

/*
 * A page of the caller's mm (addr in) and its folio: mapcount, dirty and
 * locked flags; at the end of a pageout watch also what the watch saw of
 * the calling thread's deferred TLB flushes, and the page's first 8 bytes.
 */
struct delayed_rmap_pageout {
	__u64 addr;
	__s32 mapcount;
	__u32 dirty;
	__u32 locked;
	__u32 batch_flushes;		/* deferred flushes the thread ran */
	__u32 flushes_unmapped;		/* ... with the folio out of the rmap */
	__u32 locked_at_flush;		/* at the first of those: locked */
	__u32 dirty_at_flush;		/* ... dirty */
	__u32 pad;			/* 0 */
	__u64 word;
};

#define DELAYED_RMAP_IOC_MAGIC	'D'
/* Describe the current mapping. */
#define DELAYED_RMAP_INFO	_IOR(DELAYED_RMAP_IOC_MAGIC, 1, struct delayed_rmap_info)
/*
 * Zap a range of the current mapping in the caller's mm (the MADV_DONTNEED
 * path).  -EINVAL: bad range; -ENXIO: no mapping of this file (any more),
 * or not whole: unmapped, moved, split, or replaced by another mapping, of
 * another file of this device too.
 */
#define DELAYED_RMAP_ZAP	_IOW(DELAYED_RMAP_IOC_MAGIC, 2, struct delayed_rmap_range)
/* -EINVAL: index out of range; -ENXIO: nothing mapped yet. */
#define DELAYED_RMAP_PAGE_STATE	_IOWR(DELAYED_RMAP_IOC_MAGIC, 3, struct delayed_rmap_page_state)

/*
 * Start watching a range of the caller's mm (struct delayed_rmap_watch):
 * an mmu_notifier records each CPU TLB flush of the mm until
 * DELAYED_RMAP_WATCH_END.  One watch per open file (-EBUSY); -EINVAL: bad
 * range, or a page mapped more than once; -EFAULT: no page GUP can take;
 * -EOPNOTSUPP: not x86_64.
 */
#define DELAYED_RMAP_WATCH	_IOW(DELAYED_RMAP_IOC_MAGIC, 4, struct delayed_rmap_watch)
/* End the watch and report (-ENXIO: no watch). */
#define DELAYED_RMAP_WATCH_END	_IOR(DELAYED_RMAP_IOC_MAGIC, 5, struct delayed_rmap_watch_result)
/*
 * A new file of one page (zeroed) whose folio goes to the file LRU through
 * the calling CPU's LRU batch, with no writeback: returns its fd
 * (read-write, close-on-exec).  mmap() it MAP_SHARED, one page.
 */
#define DELAYED_RMAP_LRU_FILE	_IO(DELAYED_RMAP_IOC_MAGIC, 6)
/*
 * Start watching the calling thread's deferred (batched) TLB flushes and,
 * at them, the folio mapped at addr (struct delayed_rmap_pageout; its state
 * now is written back).  One pageout watch in the module at a time
 * (-EBUSY); -EFAULT: no page at addr; -EOPNOTSUPP: no batched flush or no
 * kprobes.
 */
#define DELAYED_RMAP_PAGEOUT_WATCH \
	_IOWR(DELAYED_RMAP_IOC_MAGIC, 7, struct delayed_rmap_pageout)
/* End it and report (-ENXIO: no pageout watch on this file). */
#define DELAYED_RMAP_PAGEOUT_END	_IOR(DELAYED_RMAP_IOC_MAGIC, 8, struct delayed_rmap_pageout)

#endif
