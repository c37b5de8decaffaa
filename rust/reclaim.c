// SPDX-License-Identifier: GPL-2.0
/*
 * What the reclaim watch of the delayed_rmap_test module (reclaim.rs, the
 * DELAYED_RMAP_LRU_FILE and DELAYED_RMAP_PAGEOUT_* ioctls) needs and the
 * kernel crate has no API for: a file whose folios are on the file LRU,
 * and a kprobe that looks at a folio when the watched thread's deferred
 * TLB flush runs.
 *
 * shrink_folio_list() unmaps a mapped folio with TTU_BATCH_FLUSH: when
 * another CPU has the mm loaded, the TLB flush of the cleared PTE is
 * deferred, and from then until that flush the folio is out of the rmap
 * while a stale, writable TLB entry may still be written through.  A dirty
 * folio must stay locked until the flush: unlocked, writeback could lock
 * it, find no mapping to clean in folio_mkclean(), write it and mark it
 * clean while the other CPU keeps writing.
 */

#include <linux/file.h>
#include <linux/fs.h>
#include <linux/fs_context.h>
#include <linux/highmem.h>
#include <linux/kprobes.h>
#include <linux/mm.h>
#include <linux/mount.h>
#include <linux/mutex.h>
#include <linux/pagemap.h>
#include <linux/pseudo_fs.h>
#include <linux/sched.h>

#include "reclaim.h"

/* --- A file on the file LRU ---------------------------------------------- */

#define LRU_FS_MAGIC	0x64726c72

static int lru_fs_init_fs_context(struct fs_context *fc)
{
	return init_pseudo(fc, LRU_FS_MAGIC) ? 0 : -ENOMEM;
}

static struct file_system_type lru_fs_type = {
	.name = "delayed_rmap_lru",
	.init_fs_context = lru_fs_init_fs_context,
	.kill_sb = kill_anon_super,
};

/*
 * No writeback (the superblock's noop_backing_dev_info cannot write back):
 * a dirty folio only carries its dirty flag, and reclaim, which does not
 * write dirty file folios from a task, keeps it.  No ->page_mkwrite: a read
 * fault maps the page writable, and a write then only sets the dirty bit
 * of the PTE.
 */
static const struct address_space_operations lru_aops = {
	.dirty_folio = noop_dirty_folio,
};

static const struct vm_operations_struct lru_vm_ops = {
	.fault = filemap_fault,
	.map_pages = filemap_map_pages,
};

static int lru_file_mmap(struct file *file, struct vm_area_struct *vma)
{
	vma->vm_ops = &lru_vm_ops;
	return 0;
}

static const struct file_operations lru_fops = {
	.mmap = lru_file_mmap,
};

/*
 * A file of one page, read-write, on a pseudo filesystem of its own, whose
 * page (uptodate, zeroed, clean) is in the page cache and goes to the file
 * LRU through this CPU's LRU batch (which MADV_PAGEOUT drains on this CPU
 * before it isolates).  Returns the file (one reference) or an ERR_PTR().
 * Swap-backed (shmem) folios would not do: reclaim writes those with
 * pageout(), which flushes first.
 */
struct file *delayed_rmap_lru_file(void)
{
	struct vfsmount *mnt;
	struct inode *inode;
	struct folio *folio;
	struct file *file;

	mnt = kern_mount(&lru_fs_type);
	if (IS_ERR(mnt))
		return ERR_CAST(mnt);
	inode = alloc_anon_inode(mnt->mnt_sb);
	if (IS_ERR(inode)) {
		file = ERR_CAST(inode);
		goto unmount;
	}
	inode->i_mapping->a_ops = &lru_aops;
	i_size_write(inode, PAGE_SIZE);
	/* The file holds its own reference to the mount. */
	file = alloc_file_pseudo(inode, mnt, "delayed_rmap_lru", O_RDWR,
				 &lru_fops);
	if (IS_ERR(file)) {
		iput(inode);
		goto unmount;
	}
	folio = __filemap_get_folio(inode->i_mapping, 0, FGP_LOCK | FGP_CREAT,
				    mapping_gfp_mask(inode->i_mapping));
	if (IS_ERR(folio)) {
		fput(file);
		file = ERR_CAST(folio);
		goto unmount;
	}
	folio_zero_range(folio, 0, folio_size(folio));
	folio_mark_uptodate(folio);
	folio_unlock(folio);
	folio_put(folio);	/* the page cache keeps its own */
unmount:
	kern_unmount(mnt);
	return file;
}

/* Whether @page's folio is locked (the kernel crate has no accessor). */
bool delayed_rmap_page_locked(struct page *page)
{
	return folio_test_locked(page_folio(page));
}

/* --- Watching a folio at the deferred flushes -------------------------- */

/*
 * watch_lock serialises watches (registration and unregistration of the
 * probe); it is taken with no other lock held and nothing is taken under
 * it but the kprobe core's own locks.  The handler takes no lock: it only
 * counts for the one task being watched, which is the task that set the
 * watch up and the only one that writes the counters meanwhile.  A watch
 * runs (the probe is registered) while watch.task is set.
 */
static DEFINE_MUTEX(watch_lock);
static struct {
	struct folio *folio;
	struct task_struct *task;
	struct delayed_rmap_flushes seen;
} watch;

/* arch_tlbbatch_flush(batch): a deferred flush is about to run */
static int batch_flush_pre_handler(struct kprobe *kp, struct pt_regs *regs)
{
	struct folio *folio = watch.folio;

	if (current != READ_ONCE(watch.task))
		return 0;
	watch.seen.batch_flushes++;
	/* Out of the rmap: its PTE's flush is this one (or was earlier). */
	if (!folio_mapped(folio) && !watch.seen.flushes_unmapped++) {
		watch.seen.locked_at_flush = folio_test_locked(folio);
		watch.seen.dirty_at_flush = folio_test_dirty(folio);
	}
	return 0;
}

NOKPROBE_SYMBOL(batch_flush_pre_handler);

static struct kprobe batch_flush_probe;

/*
 * From now until delayed_rmap_unwatch_flushes(), counts the deferred
 * (batched) TLB flushes of the calling thread and records, at the first
 * one that runs with @page's folio out of the rmap, whether the folio is
 * locked.  (A probe on folio_unlock() would see the unlock itself, but
 * (un)registering a probe on so hot a function while another CPU runs it
 * hung guests under QEMU TCG.)  One watch at a time (-EBUSY);
 * -EOPNOTSUPP where there is no batched flush or no kprobes (only x86 is
 * wired up).
 */
int delayed_rmap_watch_flushes(struct page *page)
{
	int err;

	if (!IS_ENABLED(CONFIG_ARCH_WANT_BATCHED_UNMAP_TLB_FLUSH) ||
	    !IS_ENABLED(CONFIG_KPROBES) || !IS_ENABLED(CONFIG_X86))
		return -EOPNOTSUPP;
	mutex_lock(&watch_lock);
	if (watch.task) {
		err = -EBUSY;
		goto unlock;
	}
	memset(&watch, 0, sizeof(watch));
	watch.folio = page_folio(page);
	/* A kprobe cannot be registered twice: a fresh one each time. */
	batch_flush_probe = (struct kprobe) {
		.symbol_name = "arch_tlbbatch_flush",
		.pre_handler = batch_flush_pre_handler,
	};
	err = register_kprobe(&batch_flush_probe);
	if (err)
		goto unlock;
	WRITE_ONCE(watch.task, current);
unlock:
	mutex_unlock(&watch_lock);
	return err;
}

/* Ends the watch (if one is running) and reports what it saw. */
void delayed_rmap_unwatch_flushes(struct delayed_rmap_flushes *seen)
{
	mutex_lock(&watch_lock);
	if (watch.task) {
		WRITE_ONCE(watch.task, NULL);
		/* Waits until no handler runs any more. */
		unregister_kprobe(&batch_flush_probe);
	}
	*seen = watch.seen;
	mutex_unlock(&watch_lock);
}
