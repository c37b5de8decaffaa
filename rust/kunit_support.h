/* SPDX-License-Identifier: GPL-2.0 */
/* rust/kunit_support.c, for the KUnit suite (kunit_tests.rs). */
#ifndef DELAYED_RMAP_KUNIT_SUPPORT_H
#define DELAYED_RMAP_KUNIT_SUPPORT_H

#include <linux/types.h>

struct file;
struct kunit;
struct page;

struct file *delayed_rmap_shmem_file(loff_t size);
struct page *delayed_rmap_shmem_page(struct file *file, pgoff_t index);
int delayed_rmap_map_shared(struct kunit *test, struct file *file, unsigned long *addr,
			    unsigned long len, bool fixed);
void delayed_rmap_shmem_truncate(struct file *file);

#endif
