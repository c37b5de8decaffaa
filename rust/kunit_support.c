// SPDX-License-Identifier: GPL-2.0
/*
 * What the delayed_rmap_test module's KUnit suite needs and the kernel
 * crate of Linux 7.2 cannot reach: a shmem file and its pages
 * (<linux/shmem_fs.h> is not in its bindings) and a shared mapping of a
 * file in the test's mm (the PROT_* and MAP_* values of <linux/mman.h> are
 * not either).
 */

#include <kunit/test.h>
#include <linux/err.h>
#include <linux/fs.h>
#include <linux/mm.h>
#include <linux/mman.h>
#include <linux/shmem_fs.h>

#include "kunit_support.h"

/* A shmem file of @size bytes: a file with one reference, or an ERR_PTR. */
struct file *delayed_rmap_shmem_file(loff_t size)
{
	return shmem_file_setup("delayed-rmap-kunit", size, EMPTY_VMA_FLAGS);
}

/* Page @index of shmem file @file with a reference for the caller, or an ERR_PTR. */
struct page *delayed_rmap_shmem_page(struct file *file, pgoff_t index)
{
	return shmem_read_mapping_page_gfp(file->f_mapping, index, GFP_KERNEL);
}

/*
 * Maps @len bytes of @file from offset 0, shared, readable and writable,
 * into the mm of KUnit test @test (created on first use, torn down after
 * the case): anywhere, or at *@addr with MAP_FIXED when @fixed (replacing
 * what was mapped there).  0 and the address in *@addr, or a negative
 * errno (-ENOMEM if kunit_vm_mmap() failed without one).
 */
int delayed_rmap_map_shared(struct kunit *test, struct file *file, unsigned long *addr,
			    unsigned long len, bool fixed)
{
	unsigned long flags = MAP_SHARED | (fixed ? MAP_FIXED : 0);
	unsigned long got = kunit_vm_mmap(test, file, fixed ? *addr : 0, len,
					  PROT_READ | PROT_WRITE, flags, 0);

	if (IS_ERR_VALUE(got))
		return (int)got;
	if (!got || (fixed && got != *addr))
		return -ENOMEM;
	*addr = got;
	return 0;
}

/*
 * Empties the page cache of shmem file @file (shmem_truncate_range(), the
 * second half of shmem_setattr()'s truncation to 0, after its
 * unmap_mapping_range()); i_size is left as it is.
 */
void delayed_rmap_shmem_truncate(struct file *file)
{
	shmem_truncate_range(file_inode(file), 0, (loff_t)-1);
}
