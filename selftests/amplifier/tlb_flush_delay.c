// SPDX-License-Identifier: GPL-2.0
/*
 * tlb_flush_delay - test-only window amplifier for the lost-write selftests.
 *
 * Busy-waits for delay_us microseconds at the entry of the architecture's
 * TLB flush function (x86: flush_tlb_mm_range()) when it is called by a
 * task of the process target_tgid.  In zap_pte_range() that flush runs with
 * the PTE lock held, after the PTEs were cleared:
 *
 *  - on a kernel that removes the rmap of dirty file pages before the flush
 *    (stock 6.1), the delay holds open the window in which writeback cannot
 *    see the mapping while other CPUs still write through stale TLB entries;
 *  - on a kernel with the fix, the rmap is still there during the delay and
 *    writeback waits for the PTE lock: the delay changes timing, not
 *    correctness.
 *
 * It also busy-waits delay_us at the entry of reclaim's batched flush
 * (batch_symbol, default arch_tlbbatch_flush(), which try_to_unmap_flush()
 * calls when a flush is pending; the compiler may inline
 * try_to_unmap_flush() into try_to_unmap_flush_dirty(), so a probe on it
 * would miss those flushes) when the caller is a task of target_tgid and
 * a flush is pending: madvise(MADV_PAGEOUT)
 * unmaps pages with try_to_unmap(TTU_BATCH_FLUSH), which defers the flush
 * of the PTEs it cleared to that call.  On a kernel that unlocks a dirty
 * file folio before that flush, writeback can clean the folio meanwhile
 * while another CPU still writes through its stale TLB entry; on a kernel
 * that flushes before unlocking, it is again timing.  batch_symbol="" turns
 * this probe off.
 *
 * With fault_addr set (by the selftest, to the address of the page its
 * writer checks), it also busy-waits fault_delay_us at the entry of
 * handle_mm_fault() when a task of target_tgid faults on that page.  That
 * widens a window the flush delay cannot: between the flush that ended a
 * stale TLB entry and the writer's next fault on the page, the page is
 * unmapped and may be clean, and it is only then that writeback's
 * POSIX_FADV_DONTNEED can drop it.  On a correct kernel no stale write can
 * exist at that point, so the page dropped holds the last value written
 * and the fault reads it back: again timing, not correctness.
 *
 * With count_symbol set at load time (the benchmark, selftests/zap_bench.c:
 * "tlb_flush_rmaps"), it counts that function's calls by target_tgid in
 * count_hits, without delay; count_hits reads -1 when the kernel has no
 * such function to probe (stock 6.1 has no tlb_flush_rmaps()), which is
 * not an error.
 *
 * target_tgid -1 selects every task: with delay_us=0 and count_symbol=
 * arch_tlbbatch_flush, count_hits and count_writable_hits count reclaim's
 * batched flushes over a whole workload (a test suite), and how many of
 * them covered a dirty PTE.
 *
 * The code under test is not modified: these are kprobes.  Nothing happens
 * while target_tgid is 0; the selftest writes its own PID there.
 */
#include <linux/atomic.h>
#include <linux/delay.h>
#include <linux/kprobes.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/sched.h>

static char *symbol = "flush_tlb_mm_range";
module_param(symbol, charp, 0444);
MODULE_PARM_DESC(symbol, "function to delay (default: flush_tlb_mm_range)");

static unsigned int delay_us = 2000;
module_param(delay_us, uint, 0644);
MODULE_PARM_DESC(delay_us, "busy-wait before each flush, in microseconds (max 100000)");

static char *batch_symbol = "arch_tlbbatch_flush";
module_param(batch_symbol, charp, 0444);
MODULE_PARM_DESC(batch_symbol, "reclaim's batched flush to delay when pending (default: arch_tlbbatch_flush; empty: none)");

static int target_tgid;
module_param(target_tgid, int, 0644);
MODULE_PARM_DESC(target_tgid, "process whose flushes are delayed (0: none; -1: every task, to count with delay_us=0)");

static unsigned int fault_delay_us = 2000;
module_param(fault_delay_us, uint, 0644);
MODULE_PARM_DESC(fault_delay_us, "busy-wait before each fault on fault_addr, in microseconds (max 100000)");

static unsigned long fault_addr;
module_param(fault_addr, ulong, 0644);
MODULE_PARM_DESC(fault_addr, "page whose faults by target_tgid are delayed too (0: none)");

static char *count_symbol = "";
module_param(count_symbol, charp, 0444);
MODULE_PARM_DESC(count_symbol, "function whose calls by target_tgid are counted in count_hits (default: none)");

static atomic_long_t hits = ATOMIC_LONG_INIT(0);
static atomic_long_t batch_hits = ATOMIC_LONG_INIT(0);
static atomic_long_t fault_hits = ATOMIC_LONG_INIT(0);
static atomic_long_t count_hits = ATOMIC_LONG_INIT(-1);
static atomic_long_t count_writable_hits = ATOMIC_LONG_INIT(-1);

/* Read-only counters: hits, batch_hits, fault_hits, count_hits. */
static int counter_get(char *buf, const struct kernel_param *kp)
{
	return sysfs_emit(buf, "%ld\n", atomic_long_read((atomic_long_t *)kp->arg));
}

static const struct kernel_param_ops counter_ops = {
	.get = counter_get,
};
module_param_cb(hits, &counter_ops, &hits, 0444);
MODULE_PARM_DESC(hits, "number of flushes delayed so far");
module_param_cb(batch_hits, &counter_ops, &batch_hits, 0444);
MODULE_PARM_DESC(batch_hits, "number of pending batched (reclaim) flushes delayed so far");
module_param_cb(fault_hits, &counter_ops, &fault_hits, 0444);
MODULE_PARM_DESC(fault_hits, "number of faults delayed so far");
module_param_cb(count_hits, &counter_ops, &count_hits, 0444);
MODULE_PARM_DESC(count_hits, "calls of count_symbol by target_tgid so far (-1: not probed)");
module_param_cb(count_writable_hits, &counter_ops, &count_writable_hits, 0444);
MODULE_PARM_DESC(count_writable_hits,
		 "of those, calls while the caller's batched (reclaim) flush covered a dirty PTE (-1: not probed)");

/* A task of target_tgid, or any task when target_tgid is -1. */
static bool is_target(int tgid)
{
	return tgid == -1 || (tgid && task_tgid_nr(current) == tgid);
}

static bool targeted(void)
{
	int tgid = READ_ONCE(target_tgid);

	return in_task() && is_target(tgid);
}

static void delay(unsigned int us)
{
	unsigned int left = min(us, 100000U);

	/* udelay() is only accurate for short waits: do it in slices. */
	while (left) {
		unsigned int slice = min(left, 100U);

		udelay(slice);
		left -= slice;
	}
}

static int tlb_flush_delay_pre(struct kprobe *kp, struct pt_regs *regs)
{
	if (!targeted())
		return 0;
	delay(READ_ONCE(delay_us));
	atomic_long_inc(&hits);
	return 0;
}

/*
 * arch_tlbbatch_flush(batch) or try_to_unmap_flush(void): delay only a
 * flush that will happen (the caller's tlb_ubc has one pending).
 */
static int batch_delay_pre(struct kprobe *kp, struct pt_regs *regs)
{
	if (!targeted() || !READ_ONCE(current->tlb_ubc.flush_required))
		return 0;
	delay(READ_ONCE(delay_us));
	atomic_long_inc(&batch_hits);
	return 0;
}

/* handle_mm_fault(vma, address, flags, regs) */
static int fault_delay_pre(struct kprobe *kp, struct pt_regs *regs)
{
	unsigned long page = READ_ONCE(fault_addr);

	if (!page || (regs->si & PAGE_MASK) != page || !targeted())
		return 0;
	delay(READ_ONCE(fault_delay_us));
	atomic_long_inc(&fault_hits);
	return 0;
}

/*
 * Not targeted(): its in_task() is false here when the kprobe is not
 * optimized (an int3 on x86, whose handler runs as an NMI), as 6.1's probe
 * on tlb_flush_rmaps() is (/sys/kernel/debug/kprobes/list: not [OPTIMIZED]),
 * and nothing was counted.
 * count_symbol is a function of task context (zap_pte_range()'s callees,
 * arch_tlbbatch_flush()), and counting, unlike delaying, is harmless
 * anywhere.  count_writable_hits: calls while the caller's tlb_ubc says its
 * pending batched flush covers a dirty, so possibly writable, TLB entry
 * (try_to_unmap_flush() clears that only after arch_tlbbatch_flush()).
 */
static int count_pre(struct kprobe *kp, struct pt_regs *regs)
{
	if (!is_target(READ_ONCE(target_tgid)))
		return 0;
	atomic_long_inc(&count_hits);
	if (READ_ONCE(current->tlb_ubc.writable))
		atomic_long_inc(&count_writable_hits);
	return 0;
}

static struct kprobe tlb_flush_delay_kp = {
	.pre_handler = tlb_flush_delay_pre,
};

static struct kprobe batch_delay_kp = {
	.pre_handler = batch_delay_pre,
};

static struct kprobe fault_delay_kp = {
	.symbol_name = "handle_mm_fault",
	.pre_handler = fault_delay_pre,
};

static struct kprobe count_kp = {
	.pre_handler = count_pre,
};
static bool counting;

static int __init tlb_flush_delay_init(void)
{
	int ret;

	tlb_flush_delay_kp.symbol_name = symbol;
	ret = register_kprobe(&tlb_flush_delay_kp);
	if (ret) {
		pr_err("tlb_flush_delay: cannot probe %s: %d\n", symbol, ret);
		return ret;
	}
	if (*batch_symbol) {
		batch_delay_kp.symbol_name = batch_symbol;
		ret = register_kprobe(&batch_delay_kp);
		if (ret) {
			pr_err("tlb_flush_delay: cannot probe %s: %d\n", batch_symbol, ret);
			goto out_flush;
		}
	}
	ret = register_kprobe(&fault_delay_kp);
	if (ret) {
		pr_err("tlb_flush_delay: cannot probe handle_mm_fault: %d\n", ret);
		goto out_batch;
	}
	if (*count_symbol) {
		count_kp.symbol_name = count_symbol;
		if (register_kprobe(&count_kp)) {
			pr_info("tlb_flush_delay: no %s to count\n", count_symbol);
		} else {
			atomic_long_set(&count_hits, 0);
			atomic_long_set(&count_writable_hits, 0);
			counting = true;
		}
	}
	pr_info("tlb_flush_delay: delaying %s%s%s by %u us for target_tgid\n",
		symbol, *batch_symbol ? " and " : "", batch_symbol, delay_us);
	return 0;

out_batch:
	if (*batch_symbol)
		unregister_kprobe(&batch_delay_kp);
out_flush:
	unregister_kprobe(&tlb_flush_delay_kp);
	return ret;
}

static void __exit tlb_flush_delay_exit(void)
{
	if (counting)
		unregister_kprobe(&count_kp);
	unregister_kprobe(&fault_delay_kp);
	if (*batch_symbol)
		unregister_kprobe(&batch_delay_kp);
	unregister_kprobe(&tlb_flush_delay_kp);
	pr_info("tlb_flush_delay: removed after %ld delayed flushes, %ld delayed batched flushes, %ld delayed faults\n",
		atomic_long_read(&hits), atomic_long_read(&batch_hits),
		atomic_long_read(&fault_hits));
}

module_init(tlb_flush_delay_init);
module_exit(tlb_flush_delay_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Test-only: delay TLB flushes of one process to widen race windows");
