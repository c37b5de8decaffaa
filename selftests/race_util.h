/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers shared by the race selftests (lost_write.c, stale_tlb.c): the
 * zaps they race a writer against, the writers' fault recovery, a clock,
 * the CPUs they may run on.  (The includer defines _GNU_SOURCE.)
 *
 * Their writer threads store to a range that another thread unmaps or
 * truncates, and take SIGSEGV or SIGBUS while it is gone.  A thread that
 * sets segv_jmp recovers by jumping back to the top of its loop: a store
 * that faulted did not happen, so nothing is lost or counted twice.  Any
 * other thread gets the default action.
 */
#ifndef RACE_UTIL_H
#define RACE_UTIL_H

#include <errno.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <sys/mman.h>
#include <time.h>

/* The CPUs this process may run on (its affinity mask), 0 if unknown. */
static inline int usable_cpus(void)
{
	cpu_set_t set;

	if (sched_getaffinity(0, sizeof(set), &set))
		return 0;
	return CPU_COUNT(&set);
}

/* Whether this process may run on CPU @cpu. */
static inline int usable_cpu(int cpu)
{
	cpu_set_t set;

	return !sched_getaffinity(0, sizeof(set), &set) && CPU_ISSET(cpu, &set);
}

/*
 * The ways a test tears a mapping down under its writer; zap_range() does
 * the first four, ZAP_TRUNCATE and ZAP_NONE (a control: no zap) are the
 * caller's.
 */
enum zap_mode {
	ZAP_REMAP_FIXED,	/* mmap(MAP_FIXED) of the same thing over it */
	ZAP_MUNMAP_MMAP,	/* munmap(), then mmap() at the same address */
	ZAP_MADV_DONTNEED,	/* madvise(MADV_DONTNEED) */
	ZAP_MADV_PAGEOUT,	/* madvise(MADV_PAGEOUT): reclaim unmaps the pages */
	ZAP_TRUNCATE,		/* ftruncate() the file to 0 and back */
	ZAP_NONE,
};

/*
 * Zaps [addr, addr + len) the way @mode says and, for the modes that unmap,
 * maps it again as it was mapped: read-write, @flags (MAP_SHARED of @fd, or
 * MAP_PRIVATE | MAP_ANONYMOUS with fd -1), offset 0.  Returns 0 or an errno.
 */
static inline int zap_range(enum zap_mode mode, void *addr, size_t len,
			    int flags, int fd)
{
	void *p;

	switch (mode) {
	case ZAP_REMAP_FIXED:
		p = mmap(addr, len, PROT_READ | PROT_WRITE, flags | MAP_FIXED, fd, 0);
		return p == MAP_FAILED ? errno : 0;
	case ZAP_MUNMAP_MMAP:
		if (munmap(addr, len))
			return errno;
		p = mmap(addr, len, PROT_READ | PROT_WRITE,
			 flags | MAP_FIXED_NOREPLACE, fd, 0);
		if (p == MAP_FAILED)
			return errno;
		return p == addr ? 0 : EADDRINUSE;
	case ZAP_MADV_DONTNEED:
		return madvise(addr, len, MADV_DONTNEED) ? errno : 0;
	case ZAP_MADV_PAGEOUT:
		return madvise(addr, len, MADV_PAGEOUT) ? errno : 0;
	default:
		return EINVAL;
	}
}

static __thread sigjmp_buf *segv_jmp;

static inline void segv_handler(int sig, siginfo_t *si, void *uc)
{
	if (segv_jmp)
		siglongjmp(*segv_jmp, 1);
	signal(sig, SIG_DFL);
	raise(sig);
}

static inline double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

#endif /* RACE_UTIL_H */
