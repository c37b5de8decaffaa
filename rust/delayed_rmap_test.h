/* SPDX-License-Identifier: GPL-2.0 */
/*
 * User interface of the delayed_rmap_test module (rust/delayed_rmap_main.rs):
 * /dev/delayed-rmap-test.  mmap() it MAP_SHARED at offset 0 (1 to max_pages
 * pages, once per open file) to map pages the module owns.
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

#endif
