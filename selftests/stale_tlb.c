// SPDX-License-Identifier: GPL-2.0
/*
 * stale_tlb - once munmap(), mmap(MAP_FIXED) or madvise(MADV_DONTNEED) has
 *	       returned, no CPU writes through the mapping it removed any more.
 *
 * That is the guarantee every TLB shootdown gives: the kernel does not
 * return from the call before every CPU that may cache a translation of
 * the range has flushed it.  The delayed-rmap fix relies on the same
 * flush, one step earlier (before the PTE lock is dropped).  The test
 * checks the guarantee on whatever runs the guest: a broken one (a remote
 * flush that does not reach the writing CPU, a store that goes through a
 * translation after it was flushed) shows up here without writeback,
 * rmap or any file system in the way.
 *
 * A writer thread, pinned to one CPU, stores an increasing counter to a
 * private anonymous page.  The checker, pinned to another CPU, repeats:
 *
 *   1. vmsplice() the page's first word into a pipe: the pipe now holds a
 *      reference to the page itself, not a copy, and a read() of the pipe
 *      returns what the page holds at the time of the read; tee() gives
 *      two more such references (pipes "after" and "later");
 *   2. remove the mapping (the variant's call); the page stays allocated
 *      because the pipes hold it;
 *   3. read the "after" pipe: the old page's word just after the call;
 *   4. wait until the writer has done WAIT_WRITES more stores (it writes
 *      to a new page now, or takes SIGSEGV until the range is mapped
 *      again), then read the "later" pipe.
 *
 * If 3 and 4 differ, a store reached the old page after the call that
 * removed its mapping had returned: the guarantee is broken, and the test
 * fails with both values.  The "before" pipe (read before step 2) shows
 * whether the writer was still storing to the page up to the call.
 *
 * The variants remove a private anonymous page's mapping, except
 * truncate: a shared page of a shmem file (memfd), which the kernel
 * handles as a file page (with a dirty PTE, its rmap stays until the
 * flush under the PTE lock: the delayed-rmap path), removed from the file
 * and its mappings by ftruncate() to 0; the file is extended again at
 * once, so the writer faults a new page in (SIGBUS while it is short).
 *
 * The control variant, no_zap, skips step 2: the writer keeps the page
 * mapped, so 3 and 4 must differ in most rounds.  It fails unless they
 * do: it shows that the check sees the writer's stores when there are
 * any, so the other variants' zeros mean something.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "race_util.h"

#define MAX_SECONDS 3600
#define WAIT_WRITES 64		/* writer stores between "after" and "later" */

static unsigned int opt_seconds = 5;

struct stale {
	uint64_t *map;
	size_t page;
	int fd;			/* truncate: the memfd */
	int writer_cpu;
	atomic_bool stop;
	atomic_ulong writes;
	atomic_ulong faults;	/* SIGSEGV/SIGBUS while the page was gone */
};

static int pin_to(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return sched_setaffinity(0, sizeof(set), &set) ? -errno : 0;
}

/*
 * The writer: stores only (no load it could compare), one store per loop
 * iteration; the loop's back edge is where TCG takes interrupts, so the
 * flush IPI can land between any two stores.
 */
static void *writer_fn(void *arg)
{
	struct stale *s = arg;
	sigjmp_buf jmp;
	volatile uint64_t value = 0;

	if (pin_to(s->writer_cpu))
		return (void *)1;
	if (sigsetjmp(jmp, 1))	/* SIGSEGV or SIGBUS: no store happened */
		atomic_fetch_add(&s->faults, 1);
	segv_jmp = &jmp;
	while (!atomic_load_explicit(&s->stop, memory_order_relaxed)) {
		value = value + 1;
		*(volatile uint64_t *)s->map = value;
		atomic_fetch_add_explicit(&s->writes, 1, memory_order_relaxed);
	}
	segv_jmp = NULL;
	return NULL;
}

static int zap(struct stale *s, enum zap_mode mode)
{
	switch (mode) {
	case ZAP_NONE:
		return 0;
	case ZAP_TRUNCATE:
		if (ftruncate(s->fd, 0))
			return errno;
		return ftruncate(s->fd, s->page) ? errno : 0;
	default:
		return zap_range(mode, s->map, s->page, MAP_PRIVATE | MAP_ANONYMOUS, -1);
	}
}

/* Waits until the writer has stored @n more times; false if it stopped. */
static bool writer_progress(struct stale *s, unsigned long n, double deadline)
{
	unsigned long from = atomic_load(&s->writes);

	while (atomic_load(&s->writes) - from < n) {
		if (now() > deadline)
			return false;
	}
	return true;
}

static int read_word(int fd, uint64_t *word)
{
	ssize_t n = read(fd, word, sizeof(*word));

	if (n < 0)
		return errno;
	return n == sizeof(*word) ? 0 : EIO;
}

FIXTURE(stale_tlb) {
	struct stale s;
	int before[2], after[2], later[2];
};

FIXTURE_VARIANT(stale_tlb) {
	const char *name;
	enum zap_mode mode;
};

FIXTURE_VARIANT_ADD(stale_tlb, no_zap) {
	.name = "no_zap",
	.mode = ZAP_NONE,
};

FIXTURE_VARIANT_ADD(stale_tlb, madv_dontneed) {
	.name = "madv_dontneed",
	.mode = ZAP_MADV_DONTNEED,
};

FIXTURE_VARIANT_ADD(stale_tlb, munmap_mmap) {
	.name = "munmap_mmap",
	.mode = ZAP_MUNMAP_MMAP,
};

FIXTURE_VARIANT_ADD(stale_tlb, remap_fixed) {
	.name = "remap_fixed",
	.mode = ZAP_REMAP_FIXED,
};

FIXTURE_VARIANT_ADD(stale_tlb, truncate) {
	.name = "truncate",
	.mode = ZAP_TRUNCATE,
};

FIXTURE_SETUP(stale_tlb)
{
	struct sigaction sa = {
		.sa_sigaction = segv_handler,
		.sa_flags = SA_SIGINFO | SA_NODEFER,
	};
	int *pipes[] = { self->before, self->after, self->later };
	unsigned int i;

	for (i = 0; i < 3; i++) {
		pipes[i][0] = -1;
		pipes[i][1] = -1;
	}
	self->s.map = MAP_FAILED;
	self->s.fd = -1;
	self->s.page = sysconf(_SC_PAGESIZE);
	if (variant->mode == ZAP_TRUNCATE) {
		self->s.fd = memfd_create("stale_tlb", 0);
		ASSERT_LE(0, self->s.fd) TH_LOG("memfd_create: %s", strerror(errno));
		ASSERT_EQ(0, ftruncate(self->s.fd, self->s.page));
		self->s.map = mmap(NULL, self->s.page, PROT_READ | PROT_WRITE,
				   MAP_SHARED, self->s.fd, 0);
	} else {
		self->s.map = mmap(NULL, self->s.page, PROT_READ | PROT_WRITE,
				   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	}
	ASSERT_NE(MAP_FAILED, self->s.map);
	for (i = 0; i < 3; i++)
		ASSERT_EQ(0, pipe(pipes[i]));
	ASSERT_EQ(0, sigaction(SIGSEGV, &sa, NULL));
	ASSERT_EQ(0, sigaction(SIGBUS, &sa, NULL));
}

FIXTURE_TEARDOWN(stale_tlb)
{
	int *pipes[] = { self->before, self->after, self->later };
	unsigned int i, j;

	for (i = 0; i < 3; i++)
		for (j = 0; j < 2; j++)
			if (pipes[i][j] >= 0)
				close(pipes[i][j]);
	if (self->s.map != MAP_FAILED)
		munmap(self->s.map, self->s.page);
	if (self->s.fd >= 0)
		close(self->s.fd);
}

TEST_F_TIMEOUT(stale_tlb, check, MAX_SECONDS + 60)
{
	struct stale *s = &self->s;
	struct iovec iov = { .iov_base = s->map, .iov_len = sizeof(uint64_t) };
	unsigned long rounds = 0, live = 0, changed = 0;
	uint64_t before, after, later;
	pthread_t writer;
	void *writer_ret;
	double start, deadline;
	int err = 0;

	s->writer_cpu = 1;
	ASSERT_EQ(0, pin_to(0)) TH_LOG("cannot pin the checker to CPU 0");
	ASSERT_EQ(0, pthread_create(&writer, NULL, writer_fn, s));

	start = now();
	deadline = start + opt_seconds;
	while (now() < deadline) {
		/* The writer must be storing to the page now. */
		if (!writer_progress(s, WAIT_WRITES, deadline + 10)) {
			err = ETIMEDOUT;
			break;
		}
		errno = 0;
		if (vmsplice(self->before[1], &iov, 1, 0) != sizeof(uint64_t) ||
		    tee(self->before[0], self->after[1], sizeof(uint64_t), 0) !=
			    sizeof(uint64_t) ||
		    tee(self->before[0], self->later[1], sizeof(uint64_t), 0) !=
			    sizeof(uint64_t)) {
			err = errno ? errno : EIO;
			break;
		}
		err = read_word(self->before[0], &before);
		if (!err)
			err = zap(s, variant->mode);
		if (!err)
			err = read_word(self->after[0], &after);
		if (err)
			break;
		if (!writer_progress(s, WAIT_WRITES, deadline + 10)) {
			err = ETIMEDOUT;
			break;
		}
		err = read_word(self->later[0], &later);
		if (err)
			break;
		rounds++;
		live += after != before;
		if (after != later) {
			changed++;
			if (variant->mode != ZAP_NONE)
				break;
		}
	}
	atomic_store(&s->stop, true);
	pthread_join(writer, &writer_ret);

	ASSERT_EQ(NULL, writer_ret) TH_LOG("cannot pin the writer to CPU 1");
	ASSERT_EQ(0, err) TH_LOG("round %lu: %s", rounds, strerror(err));
	ASSERT_LT(0UL, rounds);
	TH_LOG("%s: %lu rounds in %.1f s, %lu writes, %lu faults; writer stored to the page between the vmsplice and the call in %lu rounds; old page changed after the call in %lu",
	       variant->name, rounds, now() - start, atomic_load(&s->writes),
	       atomic_load(&s->faults), live, changed);
	if (variant->mode == ZAP_NONE) {
		/* The control: the check must see the stores that go on. */
		ASSERT_LT(rounds / 2, changed)
			TH_LOG("CONTROL FAILED: the page changed in only %lu of %lu rounds while mapped",
			       changed, rounds);
	} else {
		ASSERT_EQ(0UL, changed)
			TH_LOG("STALE WRITE: old page went from %llu (just after the call) to %llu (%d writes later)",
			       (unsigned long long)after, (unsigned long long)later,
			       WAIT_WRITES);
	}
}

int main(int argc, char **argv)
{
	int c;
	char *end;
	unsigned long v;

	while ((c = getopt(argc, argv, "s:h")) != -1) {
		switch (c) {
		case 's':
			errno = 0;
			v = strtoul(optarg, &end, 10);
			if (errno || *end || end == optarg || v < 1 || v > MAX_SECONDS)
				goto usage;
			opt_seconds = v;
			break;
		default:
			goto usage;
		}
	}
	if (optind != argc)
		goto usage;
	if (!usable_cpu(0) || !usable_cpu(1)) {
		ksft_print_header();
		ksft_exit_skip("needs CPUs 0 and 1 (the checker and the writer), may run on %d CPU(s)\n",
			       usable_cpus());
	}
	optind = 1;
	return test_harness_run(1, argv);
usage:
	fprintf(stderr, "usage: %s [-s SECONDS]  (per variant, 1-%d, default %u)\n",
		argv[0], MAX_SECONDS, opt_seconds);
	return KSFT_FAIL;
}
