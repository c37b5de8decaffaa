// SPDX-License-Identifier: GPL-2.0
/*
 * lw_trace - test-only kprobe tracer for the lost-write selftest: records
 * what happens to page 0 of the test file, and the TLB flushes of the test
 * process, so that a lost write can be explained event by event.
 *
 * Events on the folio at index 0 of a regular file on the device dev
 * (default 1:0, /dev/ram0), each with the first word of the page (the
 * writer's counter) at that moment:
 *
 *   mkclean>      folio_mkclean() entered (writeback write-protects the
 *                 mappings it finds through the rmap and cleans them)
 *   mkclean<      it returned; arg: how many mappings it cleaned
 *   wb-write      ext4_bio_write_folio(): the page goes to disk, with
 *                 this word: what a later read of the page returns
 *   rmap-del      folio_remove_rmap_ptes(): a mapping leaves the rmap
 *   evict         __filemap_remove_folio(): the page leaves the page cache
 *   add           filemap_add_folio(): a new page for index 0 (to be read);
 *                 arg: its size in pages (more than 1: a large folio)
 *   unlock        folio_unlock() by a task named comm that has a deferred
 *                 TLB flush pending (reclaim, in the zapper's
 *                 madvise(MADV_PAGEOUT)); arg: 1 if that flush covers a
 *                 possibly writable entry (tlb_ubc.writable), the order
 *                 reclaim must not allow for a dirty folio.  Unlocks by
 *                 tasks with nothing pending are not recorded.
 *
 * and, for tasks named comm (default "lost_write"):
 *
 *   flush-req     flush_tlb_mm_range() called; arg: the mm
 *   flush-nopmd   that call flushes cleared PTEs (no page table freed in
 *                 its gather yet: freed_tables is false) of a range whose
 *                 PMD entry is already clear: the PTE table was detached
 *                 before the flush of its PTEs (empty-table reclaim in the
 *                 wrong order); arg: the range's start.  The later flush
 *                 for the freed table itself is not counted.
 *   batch-flush   arch_tlbbatch_flush(), called by try_to_unmap_flush()
 *                 with a flush pending: reclaim's deferred (TTU_BATCH_FLUSH)
 *                 flush; arg: 1 if it covers a possibly writable entry
 *   flush-cpu     flush_tlb_func() ran on this CPU while a task of the
 *                 test was the one interrupted: that CPU's TLB entries of
 *                 the mm in arg are flushed
 *
 * Events go to a ring of RING_SIZE entries; at unload the last dump of
 * them are printed ("lw_trace: ..."), with times relative to the first.
 * The code under test is not changed.
 */
#include <linux/atomic.h>
#include <linux/bits.h>
#include <linux/fs.h>
#include <linux/highmem.h>
#include <linux/kdev_t.h>
#include <linux/kprobes.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/pagemap.h>
#include <linux/sched.h>
#include <linux/string.h>
#include <linux/vmalloc.h>

#define RING_SIZE BIT(16)

static unsigned int dev_major = 1;
module_param(dev_major, uint, 0444);
MODULE_PARM_DESC(dev_major, "major of the test file system's device (default 1: brd)");

static unsigned int dev_minor;
module_param(dev_minor, uint, 0444);
MODULE_PARM_DESC(dev_minor, "minor of that device (default 0: /dev/ram0)");

static char *comm = "lost_write";
module_param(comm, charp, 0444);
MODULE_PARM_DESC(comm, "name of the test's tasks (flush events)");

static unsigned int dump = 1500;
module_param(dump, uint, 0444);
MODULE_PARM_DESC(dump, "events printed at unload (the last ones)");

enum lw_event {
	EV_MKCLEAN_IN,
	EV_MKCLEAN_OUT,
	EV_WB_WRITE,
	EV_RMAP_DEL,
	EV_EVICT,
	EV_ADD,
	EV_FLUSH_REQ,
	EV_FLUSH_CPU,
	EV_FLUSH_NOPMD,
	EV_UNLOCK,
	EV_BATCH_FLUSH,
};

static const char * const lw_event_name[] = {
	[EV_MKCLEAN_IN] = "mkclean>",
	[EV_MKCLEAN_OUT] = "mkclean<",
	[EV_WB_WRITE] = "wb-write",
	[EV_RMAP_DEL] = "rmap-del",
	[EV_EVICT] = "evict",
	[EV_ADD] = "add",
	[EV_FLUSH_REQ] = "flush-req",
	[EV_FLUSH_CPU] = "flush-cpu",
	[EV_FLUSH_NOPMD] = "flush-nopmd",
	[EV_UNLOCK] = "unlock",
	[EV_BATCH_FLUSH] = "batch-flush",
};

struct lw_record {
	u64 ns;
	u64 word;
	unsigned long pfn;
	unsigned long arg;
	pid_t pid;
	u16 cpu;
	u8 event;
	u8 has_word;
	char comm[TASK_COMM_LEN];
};

static struct lw_record *ring;
static atomic_long_t head = ATOMIC_LONG_INIT(0);
static dev_t target_dev;

static void record(enum lw_event event, struct folio *folio, unsigned long arg)
{
	long n = atomic_long_inc_return(&head) - 1;
	struct lw_record *r = &ring[n & (RING_SIZE - 1)];

	r->ns = ktime_get_ns();
	r->cpu = raw_smp_processor_id();
	r->pid = current->pid;
	r->event = event;
	r->arg = arg;
	r->has_word = !!folio;
	r->pfn = folio ? folio_pfn(folio) : 0;
	r->word = 0;
	if (folio) {
		u64 *p = kmap_local_folio(folio, 0);

		r->word = READ_ONCE(*p);
		kunmap_local(p);
	}
	strscpy(r->comm, current->comm, sizeof(r->comm));
}

/* Page 0 of a regular file on the test device? */
static bool lw_folio(struct folio *folio)
{
	struct address_space *mapping;
	struct inode *host;

	if (!folio || folio_test_anon(folio) || folio->index != 0)
		return false;
	mapping = READ_ONCE(folio->mapping);
	if (!mapping)
		return false;
	host = mapping->host;
	return host && S_ISREG(host->i_mode) && host->i_sb->s_dev == target_dev;
}

static bool lw_task(void)
{
	return !strncmp(current->comm, comm, TASK_COMM_LEN - 1);
}

static int mkclean_entry(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	struct folio *folio = (struct folio *)regs->di;

	if (!lw_folio(folio))
		return 1;	/* no return event */
	*(struct folio **)ri->data = folio;
	record(EV_MKCLEAN_IN, folio, 0);
	return 0;
}

static int mkclean_ret(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	record(EV_MKCLEAN_OUT, *(struct folio **)ri->data, regs_return_value(regs));
	return 0;
}

static struct kretprobe mkclean_krp = {
	.kp.symbol_name = "folio_mkclean",
	.entry_handler = mkclean_entry,
	.handler = mkclean_ret,
	.data_size = sizeof(struct folio *),
	.maxactive = 16,
};

/* kprobes on the first argument's folio: wb-write, rmap-del, evict */
static int folio_arg2_pre(struct kprobe *kp, struct pt_regs *regs)
{
	/* ext4_bio_write_folio(io, folio, len): the folio is the 2nd argument */
	struct folio *folio = (struct folio *)regs->si;

	if (lw_folio(folio))
		record(EV_WB_WRITE, folio, 0);
	return 0;
}

static int rmap_del_pre(struct kprobe *kp, struct pt_regs *regs)
{
	struct folio *folio = (struct folio *)regs->di;

	if (lw_folio(folio))
		record(EV_RMAP_DEL, folio, regs->dx);	/* nr_pages */
	return 0;
}

static int evict_pre(struct kprobe *kp, struct pt_regs *regs)
{
	struct folio *folio = (struct folio *)regs->di;

	if (lw_folio(folio))
		record(EV_EVICT, folio, 0);
	return 0;
}

static int add_pre(struct kprobe *kp, struct pt_regs *regs)
{
	/* filemap_add_folio(mapping, folio, index, gfp) */
	struct address_space *mapping = (struct address_space *)regs->di;
	struct inode *host = mapping ? mapping->host : NULL;

	if (regs->dx == 0 && host && S_ISREG(host->i_mode) &&
	    host->i_sb->s_dev == target_dev)
		record(EV_ADD, (struct folio *)regs->si,
		       folio_nr_pages((struct folio *)regs->si));
	return 0;
}

/*
 * Is the PMD entry of @addr in @mm clear?  A lockless look, like the
 * fast GUP walk: the flushing task holds the mmap_lock, so the upper
 * levels do not go away under us.
 */
static bool pmd_clear_at(struct mm_struct *mm, unsigned long addr)
{
	pgd_t *pgd = pgd_offset(mm, addr);
	p4d_t *p4d;
	pud_t *pud;

	if (pgd_none(READ_ONCE(*pgd)))
		return true;
	p4d = p4d_offset(pgd, addr);
	if (p4d_none(READ_ONCE(*p4d)))
		return true;
	pud = pud_offset(p4d, addr);
	if (pud_none(READ_ONCE(*pud)))
		return true;
	return pmd_none(pmdp_get_lockless(pmd_offset(pud, addr)));
}

static int flush_req_pre(struct kprobe *kp, struct pt_regs *regs)
{
	/* flush_tlb_mm_range(mm, start, end, stride_shift, freed_tables) */
	struct mm_struct *mm = (struct mm_struct *)regs->di;
	unsigned long start = regs->si, end = regs->dx;
	bool freed_tables = regs->r8 & 1;

	if (!lw_task())
		return 0;
	record(EV_FLUSH_REQ, NULL, (unsigned long)mm);
	/*
	 * A flush of PTEs of a user range (not of everything, not the flush
	 * for a freed table) whose table is gone?
	 */
	if (mm && !freed_tables && start < end && end <= TASK_SIZE_MAX &&
	    pmd_clear_at(mm, start))
		record(EV_FLUSH_NOPMD, NULL, start);
	return 0;
}

static int flush_cpu_pre(struct kprobe *kp, struct pt_regs *regs)
{
	/*
	 * flush_tlb_func(info): struct flush_tlb_info is private to the x86
	 * TLB code; its first member is the mm (NULL: every mm).
	 */
	const struct mm_struct * const *info = (const void *)regs->di;

	if (lw_task())
		record(EV_FLUSH_CPU, NULL, info ? (unsigned long)*info : 0);
	return 0;
}

/* folio_unlock(folio) by the test (reclaim runs in the zapper's madvise) */
static int unlock_pre(struct kprobe *kp, struct pt_regs *regs)
{
	struct folio *folio = (struct folio *)regs->di;

	if (READ_ONCE(current->tlb_ubc.flush_required) && lw_folio(folio) && lw_task())
		record(EV_UNLOCK, folio, READ_ONCE(current->tlb_ubc.writable));
	return 0;
}

/* arch_tlbbatch_flush(batch), from try_to_unmap_flush() */
static int batch_flush_pre(struct kprobe *kp, struct pt_regs *regs)
{
	if (lw_task() && READ_ONCE(current->tlb_ubc.flush_required))
		record(EV_BATCH_FLUSH, NULL, READ_ONCE(current->tlb_ubc.writable));
	return 0;
}

static struct kprobe probes[] = {
	{ .symbol_name = "ext4_bio_write_folio", .pre_handler = folio_arg2_pre },
	{ .symbol_name = "folio_remove_rmap_ptes", .pre_handler = rmap_del_pre },
	{ .symbol_name = "__filemap_remove_folio", .pre_handler = evict_pre },
	{ .symbol_name = "filemap_add_folio", .pre_handler = add_pre },
	{ .symbol_name = "flush_tlb_mm_range", .pre_handler = flush_req_pre },
	{ .symbol_name = "flush_tlb_func", .pre_handler = flush_cpu_pre },
	{ .symbol_name = "folio_unlock", .pre_handler = unlock_pre },
	{ .symbol_name = "arch_tlbbatch_flush", .pre_handler = batch_flush_pre },
};

static struct kprobe *probe_ptrs[ARRAY_SIZE(probes)];

static int __init lw_trace_init(void)
{
	unsigned int i;
	int ret;

	target_dev = MKDEV(dev_major, dev_minor);
	ring = vzalloc(array_size(RING_SIZE, sizeof(*ring)));
	if (!ring)
		return -ENOMEM;
	for (i = 0; i < ARRAY_SIZE(probes); i++)
		probe_ptrs[i] = &probes[i];
	ret = register_kprobes(probe_ptrs, ARRAY_SIZE(probes));
	if (ret) {
		pr_err("lw_trace: cannot register the kprobes: %d\n", ret);
		goto free;
	}
	ret = register_kretprobe(&mkclean_krp);
	if (ret) {
		pr_err("lw_trace: cannot probe folio_mkclean: %d\n", ret);
		unregister_kprobes(probe_ptrs, ARRAY_SIZE(probes));
		goto free;
	}
	pr_info("lw_trace: tracing page 0 of files on %u:%u and the flushes of '%s'\n",
		dev_major, dev_minor, comm);
	return 0;
free:
	vfree(ring);
	return ret;
}

static void __exit lw_trace_exit(void)
{
	long end, start, n;
	u64 t0;

	unregister_kretprobe(&mkclean_krp);
	unregister_kprobes(probe_ptrs, ARRAY_SIZE(probes));
	end = atomic_long_read(&head);
	start = max3(0L, end - (long)dump, end - (long)RING_SIZE);
	pr_info("lw_trace: %ld events, the last %ld follow\n", end, end - start);
	t0 = start < end ? ring[start & (RING_SIZE - 1)].ns : 0;
	for (n = start; n < end; n++) {
		struct lw_record *r = &ring[n & (RING_SIZE - 1)];
		u64 us = (r->ns - t0) / 1000;

		if (r->has_word)
			pr_info("lw_trace: %8llu.%06llu cpu%u %s/%d %s pfn %lx word %llu arg %lu\n",
				us / 1000000, us % 1000000, r->cpu, r->comm, r->pid,
				lw_event_name[r->event], r->pfn, r->word, r->arg);
		else
			pr_info("lw_trace: %8llu.%06llu cpu%u %s/%d %s arg %lx\n",
				us / 1000000, us % 1000000, r->cpu, r->comm, r->pid,
				lw_event_name[r->event], r->arg);
	}
	vfree(ring);
}

module_init(lw_trace_init);
module_exit(lw_trace_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Test-only: trace page 0 of the lost-write test file and the test's TLB flushes");
