// SPDX-License-Identifier: GPL-2.0
/*
 * Drive /dev/delayed-rmap-test (rust/delayed_rmap_main.rs) from user space:
 * map the module's pages, write them, zap ranges through the module (also
 * from several threads at once while others keep writing, and while
 * another thread maps the same file), check that every bad argument gets
 * its error code and nothing else, and that open files and mappings hold
 * the module.
 *
 * With the device's watches, check what writeback depends on while this
 * process's dirty pages are zapped or reclaimed, with other threads of the
 * process running on the other CPUs (so the TLB flushes are real
 * shootdowns): at each TLB flush, every dirty page not flushed yet is
 * still in the rmap with its PTE table attached (module pages zapped
 * through the device; shmem pages zapped by MADV_DONTNEED of whole PTE
 * tables, which frees them), and reclaim keeps a dirty folio locked until
 * its deferred flush (MADV_PAGEOUT).  Without the fixes these fail, each
 * with its message (scripts/kunit-verdict.py requires them on the kernels
 * without the fixes).
 *
 * Needs the module loaded (scripts/rust-module.sh does that in a guest).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "../rust/delayed_rmap_test.h"

#define DEVICE "/dev/delayed-rmap-test"

FIXTURE(dev)
{
	int fd;
	long page;
	struct delayed_rmap_info info;
};

FIXTURE_SETUP(dev)
{
	self->page = sysconf(_SC_PAGESIZE);
	self->fd = open(DEVICE, O_RDWR);
	ASSERT_LE(0, self->fd) TH_LOG("open %s: %s (module loaded?)", DEVICE, strerror(errno));
	ASSERT_EQ(0, ioctl(self->fd, DELAYED_RMAP_INFO, &self->info));
	ASSERT_EQ(0ULL, self->info.nr_pages);
	ASSERT_LT(10000ULL, self->info.max_pages);
}

FIXTURE_TEARDOWN(dev)
{
	if (self->fd >= 0)
		close(self->fd);
}

static int page_state(int fd, uint64_t index, struct delayed_rmap_page_state *st)
{
	memset(st, 0xa5, sizeof(*st));
	st->index = index;
	return ioctl(fd, DELAYED_RMAP_PAGE_STATE, st) ? -errno : 0;
}

static int zap(int fd, uint64_t offset, uint64_t length)
{
	struct delayed_rmap_range r = { .offset = offset, .length = length };

	return ioctl(fd, DELAYED_RMAP_ZAP, &r) ? -errno : 0;
}

/*
 * Map, write every page, zap all of it, zap one page again (a range with
 * nothing mapped any more), unmap.  After the zap the range is not mapped:
 * the module has no fault handler, so an access would get SIGBUS.
 */
TEST_F(dev, map_write_zap)
{
	const size_t n = 64;
	struct delayed_rmap_info info;
	struct delayed_rmap_page_state st;
	uint32_t *p;
	size_t i;

	p = mmap(NULL, n * self->page, PROT_READ | PROT_WRITE, MAP_SHARED, self->fd, 0);
	ASSERT_NE(MAP_FAILED, p) TH_LOG("mmap: %s", strerror(errno));
	ASSERT_EQ(0, ioctl(self->fd, DELAYED_RMAP_INFO, &info));
	ASSERT_EQ((__u64)n, info.nr_pages);
	ASSERT_EQ((__u64)(uintptr_t)p, info.start);

	/* Written through the mapping: PTE dirty, the page itself not yet. */
	for (i = 0; i < n; i++)
		p[i * self->page / 4] = 0x52760000 + i;
	for (i = 0; i < n; i++) {
		ASSERT_EQ(0, page_state(self->fd, i, &st));
		EXPECT_EQ(1, st.mapcount) TH_LOG("page %zu", i);
		EXPECT_EQ(2, st.refcount) TH_LOG("page %zu: module + mapping", i);
		EXPECT_EQ(0U, st.dirty) TH_LOG("page %zu", i);
		EXPECT_EQ(0U, st.word_valid) TH_LOG("page %zu: mapped, not read", i);
	}
	ASSERT_EQ(0, zap(self->fd, 0, n * self->page));
	/*
	 * Zapped: unmapped, dirty (from the PTE), only the module's reference,
	 * and what was written.
	 */
	for (i = 0; i < n; i++) {
		ASSERT_EQ(0, page_state(self->fd, i, &st));
		EXPECT_EQ(0, st.mapcount) TH_LOG("page %zu", i);
		EXPECT_EQ(1, st.refcount) TH_LOG("page %zu", i);
		EXPECT_EQ(1U, st.dirty) TH_LOG("page %zu", i);
		EXPECT_EQ(1U, st.word_valid) TH_LOG("page %zu", i);
		EXPECT_EQ(0x52760000 + i, (uint32_t)st.word) TH_LOG("page %zu", i);
	}
	ASSERT_EQ(0, zap(self->fd, 8 * self->page, self->page));
	/* A zapped mixed map faults with SIGBUS: nothing to read back here. */
	ASSERT_EQ(0, munmap(p, n * self->page));
}

/*
 * Writers and zappers at once.  Each writer thread owns every NR_WRITERS-th
 * page and keeps storing a new value into each of its pages, noting the
 * last value whose store completed; once a page is zapped its next store
 * faults (SIGBUS: the module has no fault handler) and the writer leaves
 * that page alone.  Meanwhile NR_ZAPPERS threads zap random ranges, most
 * longer than an mmu_gather batch, and a last zap takes the rest.  Every
 * page must end unmapped, dirty, with only the module's reference, and
 * holding the last value its writer stored.
 */
#define NR_PAGES	2048
#define NR_WRITERS	3
#define NR_ZAPPERS	2
#define ZAPS		200

struct race {
	int fd;
	long page;
	char *map;
	uint64_t last[NR_PAGES];	/* last completed store per page */
	int zap_errors;
};

struct writer {
	struct race *race;
	int id;
};

static __thread sigjmp_buf bus_jmp;
static __thread volatile sig_atomic_t in_store;

static void on_sigbus(int sig)
{
	(void)sig;
	if (!in_store)
		abort();	/* a SIGBUS outside a store is a bug */
	siglongjmp(bus_jmp, 1);
}

/* Store v to *p; -1 if the page is gone (SIGBUS). */
static int try_store(volatile uint64_t *p, uint64_t v)
{
	if (sigsetjmp(bus_jmp, 1)) {
		in_store = 0;
		return -1;
	}
	in_store = 1;
	*p = v;
	in_store = 0;
	return 0;
}

static void *write_pages(void *arg)
{
	struct writer *w = arg;
	struct race *r = w->race;
	char gone[NR_PAGES] = { 0 };
	uint64_t v = (uint64_t)(w->id + 1) << 48;
	size_t i, alive = 0;

	for (i = w->id; i < NR_PAGES; i += NR_WRITERS)
		alive++;
	while (alive) {
		for (i = w->id; i < NR_PAGES; i += NR_WRITERS) {
			if (gone[i])
				continue;
			if (try_store((volatile uint64_t *)(r->map + i * r->page), ++v)) {
				gone[i] = 1;
				alive--;
			} else {
				r->last[i] = v;
			}
		}
	}
	return NULL;
}

static void *zap_ranges(void *arg)
{
	struct race *r = arg;
	unsigned int seed = (unsigned int)(uintptr_t)&seed;
	int k;

	for (k = 0; k < ZAPS; k++) {
		uint64_t first = rand_r(&seed) % NR_PAGES;
		uint64_t len = 1 + rand_r(&seed) % 1100;

		if (first + len > NR_PAGES)
			len = NR_PAGES - first;
		if (zap(r->fd, first * r->page, len * r->page))
			__atomic_add_fetch(&r->zap_errors, 1, __ATOMIC_RELAXED);
	}
	return NULL;
}

TEST_F(dev, concurrent_writers_and_zaps)
{
	pthread_t writers[NR_WRITERS], zappers[NR_ZAPPERS];
	struct writer w[NR_WRITERS];
	struct delayed_rmap_page_state st;
	struct sigaction sa = { .sa_handler = on_sigbus };
	struct race *r;
	size_t i, bad = 0, raced = 0;

	r = calloc(1, sizeof(*r));
	ASSERT_NE(NULL, r);
	r->fd = self->fd;
	r->page = self->page;
	r->map = mmap(NULL, NR_PAGES * self->page, PROT_READ | PROT_WRITE, MAP_SHARED,
		      self->fd, 0);
	ASSERT_NE(MAP_FAILED, r->map) TH_LOG("mmap: %s", strerror(errno));
	sigemptyset(&sa.sa_mask);
	ASSERT_EQ(0, sigaction(SIGBUS, &sa, NULL));

	/* Every page dirty before the race starts. */
	for (i = 0; i < NR_PAGES; i++) {
		*(uint64_t *)(r->map + i * self->page) = i;
		r->last[i] = i;
	}
	for (i = 0; i < NR_WRITERS; i++) {
		w[i].race = r;
		w[i].id = i;
		ASSERT_EQ(0, pthread_create(&writers[i], NULL, write_pages, &w[i]));
	}
	for (i = 0; i < NR_ZAPPERS; i++)
		ASSERT_EQ(0, pthread_create(&zappers[i], NULL, zap_ranges, r));
	for (i = 0; i < NR_ZAPPERS; i++)
		ASSERT_EQ(0, pthread_join(zappers[i], NULL));
	/* The race must have happened: pages zapped under the writers. */
	for (i = 0; i < NR_PAGES; i++) {
		ASSERT_EQ(0, page_state(self->fd, i, &st));
		raced += st.mapcount == 0;
	}
	TH_LOG("%zu of %d pages zapped while the writers wrote", raced, NR_PAGES);
	EXPECT_LT(0U, raced);
	/* The rest: the writers stop once all their pages are gone. */
	ASSERT_EQ(0, zap(self->fd, 0, NR_PAGES * self->page));
	for (i = 0; i < NR_WRITERS; i++)
		ASSERT_EQ(0, pthread_join(writers[i], NULL));
	EXPECT_EQ(0, r->zap_errors);

	for (i = 0; i < NR_PAGES; i++) {
		ASSERT_EQ(0, page_state(self->fd, i, &st));
		if (st.mapcount != 0 || st.refcount != 1 || st.dirty != 1 ||
		    st.word_valid != 1 || st.word != r->last[i]) {
			if (bad++ < 5)
				TH_LOG("page %zu: mapcount %d refcount %d dirty %u word %#llx, last stored %#llx",
				       i, st.mapcount, st.refcount, st.dirty,
				       (unsigned long long)st.word,
				       (unsigned long long)r->last[i]);
		}
	}
	EXPECT_EQ(0U, bad);
	signal(SIGBUS, SIG_DFL);
	EXPECT_EQ(0, munmap(r->map, NR_PAGES * self->page));
	free(r);
}

TEST_F(dev, bad_arguments)
{
	struct delayed_rmap_page_state st;
	const size_t n = 8;
	void *p;

	/* No mapping yet. */
	EXPECT_EQ(-ENXIO, zap(self->fd, 0, self->page));
	EXPECT_EQ(-ENXIO, page_state(self->fd, 0, &st));
	/* Private, oversized and offset mappings are refused. */
	EXPECT_EQ(MAP_FAILED, mmap(NULL, self->page, PROT_READ, MAP_PRIVATE, self->fd, 0));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(MAP_FAILED, mmap(NULL, (self->info.max_pages + 1) * self->page,
				   PROT_READ, MAP_SHARED, self->fd, 0));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(MAP_FAILED, mmap(NULL, self->page, PROT_READ, MAP_SHARED, self->fd, self->page));
	EXPECT_EQ(EINVAL, errno);

	p = mmap(NULL, n * self->page, PROT_READ | PROT_WRITE, MAP_SHARED, self->fd, 0);
	ASSERT_NE(MAP_FAILED, p);
	/* One mapping per open file. */
	EXPECT_EQ(MAP_FAILED, mmap(NULL, self->page, PROT_READ, MAP_SHARED, self->fd, 0));
	EXPECT_EQ(EBUSY, errno);

	EXPECT_EQ(-EINVAL, zap(self->fd, 0, 0));
	EXPECT_EQ(-EINVAL, zap(self->fd, 1, self->page));
	EXPECT_EQ(-EINVAL, zap(self->fd, 0, self->page + 1));
	EXPECT_EQ(-EINVAL, zap(self->fd, 0, (n + 1) * self->page));
	EXPECT_EQ(-EINVAL, zap(self->fd, n * self->page, self->page));
	EXPECT_EQ(-EINVAL, zap(self->fd, UINT64_MAX & ~(uint64_t)(self->page - 1), self->page));
	EXPECT_EQ(-EINVAL, zap(self->fd, self->page, UINT64_MAX & ~(uint64_t)(self->page - 1)));
	EXPECT_EQ(0, zap(self->fd, (n - 1) * self->page, self->page));

	EXPECT_EQ(0, page_state(self->fd, n - 1, &st));
	EXPECT_EQ(-EINVAL, page_state(self->fd, n, &st));
	EXPECT_EQ(-EINVAL, page_state(self->fd, UINT64_MAX, &st));

	/* Unreadable and unwritable arguments. */
	EXPECT_EQ(-1, ioctl(self->fd, DELAYED_RMAP_ZAP, (void *)8));
	EXPECT_EQ(EFAULT, errno);
	EXPECT_EQ(-1, ioctl(self->fd, DELAYED_RMAP_INFO, (void *)8));
	EXPECT_EQ(EFAULT, errno);
	EXPECT_EQ(-1, ioctl(self->fd, DELAYED_RMAP_PAGE_STATE, (void *)8));
	EXPECT_EQ(EFAULT, errno);
	/* Unknown command, and a known number with the wrong size. */
	EXPECT_EQ(-1, ioctl(self->fd, _IO(DELAYED_RMAP_IOC_MAGIC, 99), 0));
	EXPECT_EQ(ENOTTY, errno);
	EXPECT_EQ(-1, ioctl(self->fd, _IOW(DELAYED_RMAP_IOC_MAGIC, 2, uint32_t), p));
	EXPECT_EQ(ENOTTY, errno);

	/* Unmapped: the zap finds no mapping any more. */
	ASSERT_EQ(0, munmap(p, n * self->page));
	EXPECT_EQ(-ENXIO, zap(self->fd, 0, self->page));
}

/*
 * A zap acts on this file's mapping only.  This file maps n pages and
 * unmaps them; a second file of the device maps n pages of its own at the
 * same address.  A zap through the first file must be refused (-ENXIO) and
 * leave the second file's pages mapped; the second file's own zap is the
 * control (it unmaps them).
 */
TEST_F(dev, zap_refuses_another_files_mapping)
{
	const size_t n = 4;
	struct delayed_rmap_page_state st;
	void *p, *q;
	size_t i;
	int other;

	p = mmap(NULL, n * self->page, PROT_READ | PROT_WRITE, MAP_SHARED, self->fd, 0);
	ASSERT_NE(MAP_FAILED, p) TH_LOG("mmap: %s", strerror(errno));
	ASSERT_EQ(0, munmap(p, n * self->page));
	other = open(DEVICE, O_RDWR);
	ASSERT_LE(0, other) TH_LOG("open %s: %s", DEVICE, strerror(errno));
	q = mmap(p, n * self->page, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED_NOREPLACE,
		 other, 0);
	ASSERT_EQ(p, q) TH_LOG("mmap at %p: %s", p, strerror(errno));
	for (i = 0; i < n; i++)
		((uint64_t *)q)[i * self->page / 8] = i + 1;

	EXPECT_EQ(-ENXIO, zap(self->fd, 0, n * self->page));
	for (i = 0; i < n; i++) {
		ASSERT_EQ(0, page_state(other, i, &st));
		EXPECT_EQ(1, st.mapcount) TH_LOG("page %zu of the other file: zapped", i);
	}

	EXPECT_EQ(0, zap(other, 0, n * self->page));
	for (i = 0; i < n; i++) {
		ASSERT_EQ(0, page_state(other, i, &st));
		EXPECT_EQ(0, st.mapcount) TH_LOG("page %zu", i);
		EXPECT_EQ(1U, st.word_valid) TH_LOG("page %zu", i);
		EXPECT_EQ(i + 1, st.word) TH_LOG("page %zu", i);
	}
	EXPECT_EQ(0, munmap(q, n * self->page));
	EXPECT_EQ(0, close(other));
}

/* The module's reference count (CONFIG_MODULE_UNLOAD's refcnt), or -1. */
static long module_refcnt(void)
{
	FILE *f = fopen("/sys/module/delayed_rmap_test/refcnt", "r");
	long n = -1;

	if (!f)
		return -1;
	if (fscanf(f, "%ld", &n) != 1)
		n = -1;
	fclose(f);
	return n;
}

/*
 * Every open file of the device holds a module reference until its final
 * fput(), which a mapping of the file delays: rmmod must not free the
 * module's code while a file or a mapping can still call into it.  The
 * fixture's own file holds one already.
 */
TEST_F(dev, module_reference_while_open_or_mapped)
{
	long base = module_refcnt();
	void *p;
	int fd;

	ASSERT_LE(0, base) TH_LOG("cannot read /sys/module/delayed_rmap_test/refcnt");
	EXPECT_LE(1, base) TH_LOG("the fixture's open file holds no module reference");
	fd = open(DEVICE, O_RDWR);
	ASSERT_LE(0, fd) TH_LOG("open %s: %s", DEVICE, strerror(errno));
	EXPECT_EQ(base + 1, module_refcnt()) TH_LOG("after a second open()");
	p = mmap(NULL, 2 * self->page, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, p) TH_LOG("mmap: %s", strerror(errno));
	ASSERT_EQ(0, close(fd));
	EXPECT_EQ(base + 1, module_refcnt()) TH_LOG("closed, still mapped");
	((volatile char *)p)[0] = 1;
	ASSERT_EQ(0, munmap(p, 2 * self->page));
	/* The final fput() ran as the task returned from munmap(). */
	EXPECT_EQ(base, module_refcnt()) TH_LOG("unmapped: the file's reference not put");
}

/*
 * One file, two threads: one zaps the file's mapping again and again (the
 * ioctl takes the file's mapping mutex and the mmap lock for read), the
 * other calls mmap() on the same file (the mmap lock held for write while
 * the driver takes the mutex; the second mapping is refused with EBUSY).
 * Were the two locks taken in opposite orders, this would deadlock (the
 * harness's timeout ends it) and lockdep would report it at once.
 */
#define LOCK_ORDER_SECONDS 2

struct lock_order {
	int fd;
	long page;
	int stop;
	long zaps, zap_errors;
};

static void *zap_loop(void *arg)
{
	struct lock_order *o = arg;

	while (!__atomic_load_n(&o->stop, __ATOMIC_RELAXED)) {
		if (zap(o->fd, 0, o->page))
			o->zap_errors++;
		o->zaps++;
	}
	return NULL;
}

TEST_F(dev, zap_and_mmap_on_one_file)
{
	struct lock_order o = { .fd = self->fd, .page = self->page };
	long mmaps = 0, not_busy = 0;
	struct timespec t0, t;
	pthread_t zapper;
	void *p, *q;

	p = mmap(NULL, 4 * self->page, PROT_READ | PROT_WRITE, MAP_SHARED, self->fd, 0);
	ASSERT_NE(MAP_FAILED, p) TH_LOG("mmap: %s", strerror(errno));
	ASSERT_EQ(0, pthread_create(&zapper, NULL, zap_loop, &o));
	clock_gettime(CLOCK_MONOTONIC, &t0);
	do {
		q = mmap(NULL, self->page, PROT_READ, MAP_SHARED, self->fd, 0);
		if (q != MAP_FAILED) {
			munmap(q, self->page);
			not_busy++;
		} else if (errno != EBUSY) {
			not_busy++;
		}
		mmaps++;
		clock_gettime(CLOCK_MONOTONIC, &t);
	} while (t.tv_sec - t0.tv_sec < LOCK_ORDER_SECONDS);
	__atomic_store_n(&o.stop, 1, __ATOMIC_RELAXED);
	ASSERT_EQ(0, pthread_join(zapper, NULL));
	TH_LOG("%ld zaps and %ld mmap() calls on one file in %d s", o.zaps, mmaps, LOCK_ORDER_SECONDS);
	EXPECT_LT(0, o.zaps);
	EXPECT_EQ(0, o.zap_errors);
	EXPECT_EQ(0, not_busy);
	EXPECT_EQ(0, munmap(p, 4 * self->page));
}

/* --- The watches ------------------------------------------------------ */

/* What the failing checks print (scripts/kunit-verdict.py requires them). */
#define ORDER_FAILURE	"out of the rmap at its TLB flush, expected in"
#define TABLE_FAILURE	"page table detached at its TLB flush, expected attached"
#define UNLOCK_FAILURE	"unlocked before its deferred TLB flush"
#define OUTSIDE_FAILURE	"a flush range the recorder cannot trust"

/* mmu_gather's page batch and delayed-rmap capacity (x86_64, 4 KiB pages). */
#define BATCH		((4096 - 16) / 8)
#define DELAYED_CAPACITY (8 + BATCH)
#define PTRS_PER_PTE	512
#define PMD_BYTES	(PTRS_PER_PTE * 4096UL)

static uint64_t marker(size_t i)
{
	return 0x6465c61790000000ULL ^ i;
}

static int watch(int fd, void *start, size_t length, size_t zap_length)
{
	struct delayed_rmap_watch w = {
		.start = (uintptr_t)start, .length = length, .zap_length = zap_length,
	};

	return ioctl(fd, DELAYED_RMAP_WATCH, &w) ? -errno : 0;
}

static int watch_end(int fd, struct delayed_rmap_watch_result *r)
{
	memset(r, 0xa5, sizeof(*r));
	return ioctl(fd, DELAYED_RMAP_WATCH_END, r) ? -errno : 0;
}

/*
 * The most flushes a zap of n pages from p may take: one per PTE table
 * (dirty file pages force a flush at the end of each) and one per full
 * delayed-rmap gather.
 */
static uint64_t max_flushes(const void *p, size_t n, long page)
{
	uintptr_t first = (uintptr_t)p / PMD_BYTES;
	uintptr_t last = ((uintptr_t)p + n * page - 1) / PMD_BYTES;

	return (last - first + 1) + (n + DELAYED_CAPACITY - 1) / DELAYED_CAPACITY;
}

/*
 * Threads of this process that keep running on the other CPUs while a
 * watched zap runs, each counting in a variable of its own: the mm is live
 * there, so each TLB flush of the zap is a shootdown.
 */
#define NR_SPINNERS 2

struct spinners {
	pthread_t thread[NR_SPINNERS];
	int stop;
};

static void *spin(void *arg)
{
	struct spinners *s = arg;
	volatile uint64_t n = 0;

	while (!__atomic_load_n(&s->stop, __ATOMIC_RELAXED))
		n++;
	return NULL;
}

static int spinners_start(struct spinners *s)
{
	int i;

	s->stop = 0;
	for (i = 0; i < NR_SPINNERS; i++)
		if (pthread_create(&s->thread[i], NULL, spin, s))
			return -1;
	return 0;
}

static void spinners_stop(struct spinners *s)
{
	int i;

	__atomic_store_n(&s->stop, 1, __ATOMIC_RELAXED);
	for (i = 0; i < NR_SPINNERS; i++)
		pthread_join(s->thread[i], NULL);
}

/*
 * Reports a watch's result for a zap of nr pages; returns
 * the number of failed checks: every zapped page flushed, in the rmap with
 * its table attached at its flush; no ranged flush outside the zap; at
 * least one flush and at most most; the pages unmapped and dirty.
 */
static int watch_failures(struct __test_metadata *_metadata, size_t nr,
			  const struct delayed_rmap_watch_result *r, uint64_t most)
{
	int bad = 0;

	if (r->out_of_rmap_at_flush) {
		TH_LOG("%zu pages: page %lld: %s (%llu of %zu pages)", nr,
		       (long long)r->first_out_of_rmap, ORDER_FAILURE,
		       (unsigned long long)r->out_of_rmap_at_flush, nr);
		bad++;
	}
	if (r->detached_at_flush) {
		TH_LOG("%zu pages: page %lld: %s (%llu of %zu pages)", nr,
		       (long long)r->first_detached, TABLE_FAILURE,
		       (unsigned long long)r->detached_at_flush, nr);
		bad++;
	}
	if (r->outside_flushes) {
		TH_LOG("%zu pages: %llu flushes reached outside the zap, the first [%#llx, %#llx): %s",
		       nr, (unsigned long long)r->outside_flushes,
		       (unsigned long long)r->first_outside_start,
		       (unsigned long long)r->first_outside_end, OUTSIDE_FAILURE);
		bad++;
	}
	if (r->pages != nr || r->zapped != nr || r->not_flushed ||
	    r->in_rmap_at_flush + r->out_of_rmap_at_flush != nr ||
	    r->flushes < 1 || r->flushes > most || r->still_mapped || r->clean) {
		TH_LOG("%zu pages: %llu watched, %llu never flushed, %llu flushes (expected 1..%llu), %llu still mapped, %llu clean",
		       nr, (unsigned long long)r->pages,
		       (unsigned long long)r->not_flushed, (unsigned long long)r->flushes,
		       (unsigned long long)most, (unsigned long long)r->still_mapped,
		       (unsigned long long)r->clean);
		bad++;
	}
	return bad;
}

/* Page counts zapped in one go: both sides of each mmu_gather boundary. */
static const size_t zap_sizes[] = {
	1, BATCH - 1, BATCH, BATCH + 1, DELAYED_CAPACITY, DELAYED_CAPACITY + 1, 10007,
};

/*
 * The fix (the delayed rmap), for the module's pages: written through the
 * mapping (dirty PTEs), zapped through the device (zap_vma_range()) while
 * the watch records each TLB flush; every page must be in the rmap at its
 * flush, and end unmapped, dirty, with only the module's reference and
 * what was written.
 */
TEST_F(dev, module_pages_flush_order)
{
	struct delayed_rmap_watch_result r;
	struct delayed_rmap_page_state st;
	struct spinners sp;
	size_t k, i, n, bad_pages;
	int failures = 0;

	for (k = 0; k < sizeof(zap_sizes) / sizeof(zap_sizes[0]); k++) {
		uint64_t most;
		char *p;
		int fd;

		n = zap_sizes[k];
		fd = open(DEVICE, O_RDWR);
		ASSERT_LE(0, fd);
		p = mmap(NULL, n * self->page, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		ASSERT_NE(MAP_FAILED, p) TH_LOG("mmap of %zu pages: %s", n, strerror(errno));
		for (i = 0; i < n; i++)
			*(uint64_t *)(p + i * self->page) = marker(i);
		ASSERT_EQ(0, watch(fd, p, n * self->page, n * self->page));
		ASSERT_EQ(0, spinners_start(&sp));
		EXPECT_EQ(0, zap(fd, 0, n * self->page));
		spinners_stop(&sp);
		ASSERT_EQ(0, watch_end(fd, &r));
		most = max_flushes(p, n, self->page);
		failures += watch_failures(_metadata, n, &r, most);
		if (!r.out_of_rmap_at_flush && !r.detached_at_flush)
			TH_LOG("%zu pages: all in the rmap, page table attached, at their TLB flush; %llu flushes (at most %llu)",
			       n, (unsigned long long)r.flushes, (unsigned long long)most);
		bad_pages = 0;
		for (i = 0; i < n; i++) {
			ASSERT_EQ(0, page_state(fd, i, &st));
			if (st.mapcount || st.refcount != 1 || st.dirty != 1 ||
			    !st.word_valid || st.word != marker(i)) {
				if (!bad_pages++)
					TH_LOG("%zu pages: page %zu: mapcount %d refcount %d dirty %u word %#llx",
					       n, i, st.mapcount, st.refcount, st.dirty,
					       (unsigned long long)st.word);
			}
		}
		failures += bad_pages != 0;
		EXPECT_EQ(0, munmap(p, n * self->page));
		EXPECT_EQ(0, close(fd));
	}
	EXPECT_EQ(0, failures);
}

/* Page counts of MADV_DONTNEED from a PTE table boundary, and rounds. */
static const size_t table_sizes[] = { PTRS_PER_PTE - 1, PTRS_PER_PTE, 2 * PTRS_PER_PTE };
#define TABLE_ROUNDS 4

/*
 * The fix of patches/7.2-fix: MADV_DONTNEED of whole PTE tables of dirty
 * shmem pages frees the tables it empties, but only after the TLB flush:
 * at every flush each dirty page not flushed yet is in the rmap with its
 * table attached.  One page short of a table frees nothing (a control of
 * the table count); the pages end unmapped, dirty and with what was
 * written (read back from the file).  A zap that has to reschedule midway
 * frees its table only after the flush whatever the kernel does, so each
 * size runs several times.
 */
TEST_F(dev, shmem_table_flush_order)
{
	struct delayed_rmap_watch_result r;
	struct spinners sp;
	int failures = 0;
	size_t k, i, n;
	int round;

	for (k = 0; k < sizeof(table_sizes) / sizeof(table_sizes[0]); k++) {
		for (round = 0; round < TABLE_ROUNDS; round++) {
			size_t mapped, first, corrupt = 0;
			uint64_t word;
			char *base, *p;
			int mfd;

			n = table_sizes[k];
			mapped = n + PTRS_PER_PTE;
			mfd = memfd_create("delayed-rmap-table", MFD_CLOEXEC);
			ASSERT_LE(0, mfd);
			ASSERT_EQ(0, ftruncate(mfd, mapped * self->page));
			base = mmap(NULL, mapped * self->page, PROT_READ | PROT_WRITE,
				    MAP_SHARED, mfd, 0);
			ASSERT_NE(MAP_FAILED, base);
			/* From the first PTE table boundary in the mapping. */
			p = (char *)(((uintptr_t)base + PMD_BYTES - 1) & ~(PMD_BYTES - 1));
			first = (p - base) / self->page;
			for (i = 0; i < n; i++)
				*(uint64_t *)(p + i * self->page) = marker(i);
			ASSERT_EQ(0, watch(self->fd, p, n * self->page, n * self->page));
			ASSERT_EQ(0, spinners_start(&sp));
			EXPECT_EQ(0, madvise(p, n * self->page, MADV_DONTNEED));
			spinners_stop(&sp);
			ASSERT_EQ(0, watch_end(self->fd, &r));
			failures += watch_failures(_metadata, n, &r,
						   max_flushes(p, n, self->page));
			if (r.tables - r.tables_left != n / PTRS_PER_PTE) {
				TH_LOG("%zu pages: %llu of %llu page tables freed, expected %zu",
				       n, (unsigned long long)(r.tables - r.tables_left),
				       (unsigned long long)r.tables, n / PTRS_PER_PTE);
				failures++;
			}
			for (i = 0; i < n; i++) {
				if (pread(mfd, &word, sizeof(word), (first + i) * self->page) !=
				    sizeof(word) || word != marker(i))
					corrupt++;
			}
			if (corrupt) {
				TH_LOG("%zu pages: %zu corrupt", n, corrupt);
				failures++;
			}
			if (!round && !r.out_of_rmap_at_flush && !r.detached_at_flush)
				TH_LOG("%zu pages: all in the rmap, page table attached, at their TLB flush; %llu flushes, %llu of %llu tables freed",
				       n, (unsigned long long)r.flushes,
				       (unsigned long long)(r.tables - r.tables_left),
				       (unsigned long long)r.tables);
			EXPECT_EQ(0, munmap(base, mapped * self->page));
			EXPECT_EQ(0, close(mfd));
		}
	}
	EXPECT_EQ(0, failures);
}

/* Holds this process's mm on another CPU: sleeps there on a pipe. */
struct holder {
	int cpu;
	int pipe[2];
	int ready;
};

static void *hold_mm(void *arg)
{
	struct holder *h = arg;
	cpu_set_t set;
	char c;

	CPU_ZERO(&set);
	CPU_SET(h->cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set))
		return (void *)1;
	while (sched_getcpu() != h->cpu)
		sched_yield();
	__atomic_store_n(&h->ready, 1, __ATOMIC_RELEASE);
	/*
	 * Asleep, the CPU goes idle with this mm still loaded (lazily): it
	 * stays in the mm's CPU mask, and reclaim, which sees a remote CPU
	 * to flush, defers the flush.
	 */
	if (read(h->pipe[0], &c, 1) != 1)
		return (void *)1;
	return NULL;
}

/*
 * The reclaim fix of patches/7.2-fix: MADV_PAGEOUT of a dirty page of a
 * file on the file LRU while another thread of this process has the mm
 * loaded on another CPU.  Reclaim unmaps the page with its TLB flush
 * deferred, moves the dirty bit to the folio and keeps the folio (no
 * writeback from a task); it must not unlock the folio, where writeback
 * could clean it, before that flush.  The device watches this thread's
 * deferred flushes (a kprobe on arch_tlbbatch_flush()): at the first that
 * runs with the folio out of the rmap, the folio must be locked.  The
 * other checks show that the scenario ran (the folio was unmapped, the
 * flush was deferred and ran, the folio ends unlocked) and lost nothing.
 */
TEST_F(dev, lru_page_pageout_unlock_order)
{
	struct delayed_rmap_pageout st = { 0 };
	struct holder h = { 0 };
	pthread_t holder;
	cpu_set_t set, saved;
	void *ret;
	int lfd, cpu;
	char *p;

	ASSERT_EQ(0, sched_getaffinity(0, sizeof(saved), &saved));
	ASSERT_LE(2, CPU_COUNT(&saved)) TH_LOG("needs two CPUs");
	/* This thread stays on its CPU: the new folio waits in its LRU batch. */
	cpu = sched_getcpu();
	ASSERT_LE(0, cpu);
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	ASSERT_EQ(0, sched_setaffinity(0, sizeof(set), &set));
	for (h.cpu = 0; h.cpu == cpu || !CPU_ISSET(h.cpu, &saved); h.cpu++)
		;
	ASSERT_EQ(0, pipe(h.pipe));
	ASSERT_EQ(0, pthread_create(&holder, NULL, hold_mm, &h));
	while (!__atomic_load_n(&h.ready, __ATOMIC_ACQUIRE))
		sched_yield();

	lfd = ioctl(self->fd, DELAYED_RMAP_LRU_FILE);
	ASSERT_LE(0, lfd) TH_LOG("DELAYED_RMAP_LRU_FILE: %s", strerror(errno));
	p = mmap(NULL, self->page, PROT_READ | PROT_WRITE, MAP_SHARED, lfd, 0);
	ASSERT_NE(MAP_FAILED, p) TH_LOG("mmap of the LRU file: %s", strerror(errno));
	/* A read maps it writable (no page_mkwrite); the write dirties the PTE. */
	ASSERT_EQ(0ULL, *(volatile uint64_t *)p);
	*(volatile uint64_t *)p = marker(0);

	st.addr = (uintptr_t)p;
	ASSERT_EQ(0, ioctl(self->fd, DELAYED_RMAP_PAGEOUT_WATCH, &st))
		TH_LOG("DELAYED_RMAP_PAGEOUT_WATCH: %s", strerror(errno));
	EXPECT_EQ(1, st.mapcount) TH_LOG("before MADV_PAGEOUT");
	EXPECT_EQ(0U, st.dirty) TH_LOG("before MADV_PAGEOUT: the folio is clean, the PTE dirty");
	EXPECT_EQ(0, madvise(p, self->page, MADV_PAGEOUT)) TH_LOG("MADV_PAGEOUT: %s", strerror(errno));
	memset(&st, 0xa5, sizeof(st));
	ASSERT_EQ(0, ioctl(self->fd, DELAYED_RMAP_PAGEOUT_END, &st));

	ASSERT_EQ(1, write(h.pipe[1], "x", 1));
	ASSERT_EQ(0, pthread_join(holder, &ret));
	EXPECT_EQ(NULL, ret);
	EXPECT_EQ(0, sched_setaffinity(0, sizeof(saved), &saved));

	if (st.flushes_unmapped && !st.locked_at_flush)
		TH_LOG("folio (%s, out of the rmap) %s",
		       st.dirty_at_flush ? "dirty" : "clean", UNLOCK_FAILURE);
	EXPECT_FALSE(st.flushes_unmapped && !st.locked_at_flush);
	EXPECT_EQ(0, st.mapcount);
	EXPECT_EQ(1U, st.dirty);
	EXPECT_EQ(0U, st.locked);
	EXPECT_LE(1U, st.batch_flushes);
	EXPECT_LE(1U, st.flushes_unmapped);
	EXPECT_EQ(marker(0), st.word);
	TH_LOG("%u deferred flushes, %u with the folio out of the rmap, folio %s at the first",
	       st.batch_flushes, st.flushes_unmapped, st.locked_at_flush ? "locked" : "unlocked");
	EXPECT_EQ(0, munmap(p, self->page));
	EXPECT_EQ(0, close(lfd));
	close(h.pipe[0]);
	close(h.pipe[1]);
}

/*
 * The watches' arguments: each bad one gets its error code; the recorder
 * sees a page that is mapped twice (it could not tell a zapped page from
 * one still mapped elsewhere) as an error too.
 */
TEST_F(dev, watch_bad_arguments)
{
	struct delayed_rmap_watch_result r;
	struct delayed_rmap_pageout st = { 0 };
	char *p, *q;
	int mfd;

	mfd = memfd_create("delayed-rmap-args", MFD_CLOEXEC);
	ASSERT_LE(0, mfd);
	ASSERT_EQ(0, ftruncate(mfd, 4 * self->page));
	p = mmap(NULL, 4 * self->page, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
	ASSERT_NE(MAP_FAILED, p);
	memset(p, 1, 4 * self->page);

	EXPECT_EQ(-ENXIO, watch_end(self->fd, &r));
	EXPECT_EQ(-EINVAL, watch(self->fd, p, 0, 0));
	EXPECT_EQ(-EINVAL, watch(self->fd, p + 1, self->page, 0));
	EXPECT_EQ(-EINVAL, watch(self->fd, p, self->page + 1, 0));
	EXPECT_EQ(-EINVAL, watch(self->fd, p, self->page, 2 * self->page));
	EXPECT_EQ(-EINVAL, watch(self->fd, p, self->page, 1));
	EXPECT_EQ(-EINVAL, watch(self->fd, p, (self->info.max_pages + 1) * self->page, 0));
	EXPECT_EQ(-EINVAL, watch(self->fd, (void *)(UINTPTR_MAX & ~(uintptr_t)(self->page - 1)),
				 2 * self->page, 0));
	/* Nothing mapped there. */
	EXPECT_EQ(-EFAULT, watch(self->fd, (void *)(uintptr_t)self->page, self->page, 0));
	/* Page 0 of the file mapped a second time. */
	q = mmap(NULL, self->page, PROT_READ, MAP_SHARED, mfd, 0);
	ASSERT_NE(MAP_FAILED, q);
	EXPECT_EQ(0, *(volatile char *)q - 1);
	EXPECT_EQ(-EINVAL, watch(self->fd, p, 4 * self->page, 4 * self->page));
	EXPECT_EQ(0, munmap(q, self->page));
	/* One watch per file; ended, it can start again. */
	EXPECT_EQ(0, watch(self->fd, p, 4 * self->page, 0));
	EXPECT_EQ(-EBUSY, watch(self->fd, p, 4 * self->page, 0));
	EXPECT_EQ(0, watch_end(self->fd, &r));
	EXPECT_EQ(4ULL, r.pages);
	EXPECT_EQ(0ULL, r.zapped);
	EXPECT_EQ(0ULL, r.rest_flushed);
	EXPECT_EQ(4ULL, r.rest_mapped);
	EXPECT_EQ(-ENXIO, watch_end(self->fd, &r));
	EXPECT_EQ(0, watch(self->fd, p, self->page, self->page));
	/* A file closed with a watch running ends it (the fixture's close). */

	EXPECT_EQ(-1, ioctl(self->fd, DELAYED_RMAP_PAGEOUT_END, &st));
	EXPECT_EQ(ENXIO, errno);
	st.addr = self->page;
	EXPECT_EQ(-1, ioctl(self->fd, DELAYED_RMAP_PAGEOUT_WATCH, &st));
	EXPECT_EQ(EFAULT, errno);
	EXPECT_EQ(-1, ioctl(self->fd, DELAYED_RMAP_WATCH, (void *)8));
	EXPECT_EQ(EFAULT, errno);
	EXPECT_EQ(-1, ioctl(self->fd, DELAYED_RMAP_PAGEOUT_WATCH, (void *)8));
	EXPECT_EQ(EFAULT, errno);
	EXPECT_EQ(0, munmap(p, 4 * self->page));
	EXPECT_EQ(0, close(mfd));
}

TEST_HARNESS_MAIN
