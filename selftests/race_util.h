/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers shared by the race selftests (lost_write.c, stale_tlb.c).
 *
 * Their writer threads store to a range that another thread unmaps or
 * truncates, and take SIGSEGV or SIGBUS while it is gone.  A thread that
 * sets segv_jmp recovers by jumping back to the top of its loop: a store
 * that faulted did not happen, so nothing is lost or counted twice.  Any
 * other thread gets the default action.
 */
#ifndef RACE_UTIL_H
#define RACE_UTIL_H

#include <setjmp.h>
#include <signal.h>
#include <time.h>

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
