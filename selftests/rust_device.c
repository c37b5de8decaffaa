// SPDX-License-Identifier: GPL-2.0
/*
 * Drive /dev/delayed-rmap-test (rust/delayed_rmap_main.rs) from user space:
 * map the module's pages, write them, zap ranges through the module (also
 * from several threads at once while others keep writing, and while
 * another thread maps the same file), check that every bad argument gets
 * its error code and nothing else, and that open files and mappings hold
 * the module.
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

TEST_HARNESS_MAIN
