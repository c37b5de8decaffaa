// SPDX-License-Identifier: GPL-2.0
/*
 * lost_write - lose a write to a MAP_SHARED file page through a stale TLB
 *		entry, while the mapping is zapped and the file written back.
 *
 * Four actors share one file on the file system under test (ext4 on brd):
 *
 *   writer   (thread)  writes an increasing counter to the first word of
 *                      page 0 and checks that it reads back what it wrote;
 *   dirtier  (thread)  keeps the other pages of the mapping dirty, so every
 *                      zap has dirty file pages to deal with;
 *   zapper   (thread)  tears the mapping down, in one of three ways (the
 *                      variants): mmap(MAP_FIXED) over it, munmap() and
 *                      mmap() again, or madvise(MADV_DONTNEED); back to
 *                      back, except in madv_dontneed_paced (below);
 *   flusher  (process) msync(MS_SYNC)s page 0 and drops it from the page
 *                      cache with posix_fadvise(POSIX_FADV_DONTNEED), in a
 *                      loop, through its own mapping that it never touches.
 *
 * On a kernel whose zap_pte_range() removes the rmap of a dirty file page
 * before the TLB flush (Linux <= 6.1), the flusher can clean page 0 while the
 * writer's CPU still writes through its stale TLB entry; the page is then
 * dropped and the writer reads an older value back from disk.  That is
 * reported as a failure with the value written and the value read back.
 *
 * Why the writer reads first: under QEMU TCG an interrupt, and so the TLB
 * flush IPI, is only taken between translation blocks.  A checker that
 * stores a value and loads it straight back has both accesses in one block:
 * the page cannot change between them, so it never sees the loss (0 hits in
 * 4 x 60 s on stock 6.1).  Comparing at the top of the iteration what the
 * page holds now with what the previous iteration wrote puts the loop's
 * back edge, where interrupts are taken, between the store and the check.
 * Real hardware can take the interrupt anywhere, so this works there too.
 *
 * madv_dontneed_paced is the setup of a prototype reported to lose writes
 * on Linux 7.2, where the delayed rmap is upstream: no dirtier, and madvise(MADV_DONTNEED) every 10 us (busy-waited: usleep()
 * sleeps 50 us or more).  Options vary one factor at a time for that
 * investigation: -i (zap interval), -n (no dirtier), -m (flusher without
 * fadvise), -w (flusher on the whole file), -o (run only the variants
 * named, comma-separated; the others are reported as skipped).
 *
 * madv_dontneed_table maps exactly one PTE table: PMD_SIZE of the file
 * (512 pages with 4 KiB pages on x86_64) at a PMD_SIZE-aligned address,
 * checked; the dirtier keeps pages 1..511 dirty and the zapper calls
 * madvise(MADV_DONTNEED) on the whole table every 10 us.  A zap that empties
 * a whole table lets the kernel free the table (CONFIG_PT_RECLAIM, on in
 * every x86_64 build since Linux 6.14), a path of its own: Linux 7.2 clears
 * the PMD there before the TLB flush, and writeback (folio_mkclean()) finds
 * no page table to wait on.  -l zaps one page less than the table (no table
 * is freed: the control of that path).  The table variants mark the range
 * MADV_NOHUGEPAGE, so that a kernel with THP cannot map it with one PMD.
 *
 * madv_pageout_table is the same setup with madvise(MADV_PAGEOUT) as the
 * zapper: reclaim unmaps the pages with try_to_unmap(TTU_BATCH_FLUSH),
 * which defers the TLB flush to the end of its list of folios and removes
 * the rmap at once.  A dirty file folio is not written by that caller: it
 * is put back, unlocked, before the list's flush; writeback can then lock
 * it, find no mapping in folio_mkclean() and clean it while the writer's
 * CPU still stores through its stale TLB entry.
 *
 * If the window amplifier module (tlb_flush_delay) is loaded, the test
 * asks it to delay the TLB flushes of this process, see
 * selftests/amplifier/.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "race_util.h"

#define AMPLIFIER_TGID "/sys/module/tlb_flush_delay/parameters/target_tgid"
#define AMPLIFIER_FAULT "/sys/module/tlb_flush_delay/parameters/fault_addr"
#define MAX_SECONDS 3600

static unsigned int opt_seconds = 10;
static unsigned int opt_pages = 16;
static const char *opt_dir;
static const char *opt_only;		/* -o: the variants to run, comma-separated */
static int opt_interval_us = -1;	/* -i: zap interval for every variant */
static bool opt_no_dirtier;		/* -n */
static bool opt_msync_only;		/* -m: the flusher does not fadvise */
static bool opt_whole_file;		/* -w: the flusher works on the whole file */
static bool opt_leave_one;		/* -l: table variants zap one page less */

/* State shared by the threads of one test run. */
struct race {
	int fd;
	char *map;
	size_t len;
	size_t zap_len;		/* what the zapper zaps: len, or len - page (-l) */
	size_t page;
	enum zap_mode mode;
	unsigned int interval_us;	/* busy wait between zaps, 0: none */
	atomic_bool stop;
	atomic_bool lost;
	uint64_t wrote;		/* valid once lost is set */
	uint64_t read_back;
	atomic_ulong writes;
	atomic_ulong zaps;
	atomic_ulong faults;	/* SIGSEGVs taken while the range was unmapped */
	int zap_errno;
	pid_t writer_tid;	/* for kernel traces (selftests/tracer/) */
	pid_t zapper_tid;
};

static void *writer_fn(void *arg)
{
	struct race *r = arg;
	sigjmp_buf jmp;
	/* volatile: must survive siglongjmp() from the SIGSEGV handler */
	volatile uint64_t expected = 0;

	r->writer_tid = gettid();
	if (sigsetjmp(jmp, 1))
		atomic_fetch_add(&r->faults, 1);
	segv_jmp = &jmp;

	while (!atomic_load_explicit(&r->stop, memory_order_relaxed)) {
		volatile uint64_t *word = (volatile uint64_t *)r->map;
		uint64_t seen = *word;	/* read first, see the header comment */

		if (seen != expected) {
			r->wrote = expected;
			r->read_back = seen;
			atomic_store(&r->lost, true);
			atomic_store(&r->stop, true);
			break;
		}
		*word = expected + 1;
		expected = expected + 1;
		atomic_fetch_add_explicit(&r->writes, 1, memory_order_relaxed);
	}
	segv_jmp = NULL;
	return NULL;
}

static void *dirtier_fn(void *arg)
{
	struct race *r = arg;
	sigjmp_buf jmp;
	volatile size_t i = 1;

	sigsetjmp(jmp, 1);
	segv_jmp = &jmp;

	while (!atomic_load_explicit(&r->stop, memory_order_relaxed)) {
		volatile char *p = r->map + i * r->page;

		*p = *p + 1;
		i = i + 1 < r->len / r->page ? i + 1 : 1;
	}
	segv_jmp = NULL;
	return NULL;
}

static int zap_once(struct race *r)
{
	return zap_range(r->mode, r->map, r->zap_len, MAP_SHARED, r->fd);
}

static void *zapper_fn(void *arg)
{
	struct race *r = arg;

	r->zapper_tid = gettid();
	while (!atomic_load_explicit(&r->stop, memory_order_relaxed)) {
		int err;

		if (r->interval_us) {
			double until = now() + r->interval_us / 1e6;

			while (now() < until &&
			       !atomic_load_explicit(&r->stop, memory_order_relaxed))
				;
		}
		err = zap_once(r);

		if (err) {
			r->zap_errno = err;
			atomic_store(&r->stop, true);
			break;
		}
		atomic_fetch_add_explicit(&r->zaps, 1, memory_order_relaxed);
	}
	return NULL;
}

/*
 * The flusher: its own process, its own mapping of page 0 (-w: of the whole
 * file, for large folios: POSIX_FADV_DONTNEED of one page does not drop a
 * folio larger than that page), never touched.
 */
static void flusher(const char *path, size_t len, bool fadvise, atomic_bool *stop)
{
	int fd = open(path, O_RDWR);
	void *p;

	if (fd < 0)
		_exit(1);
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		_exit(2);
	while (!atomic_load(stop)) {
		if (msync(p, len, MS_SYNC))
			_exit(3);
		if (fadvise && posix_fadvise(fd, 0, len, POSIX_FADV_DONTNEED))
			_exit(4);
	}
	_exit(0);
}

/* Writes @val to the amplifier's parameter @path: 1, 0 if absent, -errno. */
static int amplifier_set(const char *path, unsigned long val)
{
	FILE *f = fopen(path, "w");
	int ret;

	if (!f)
		return errno == ENOENT ? 0 : -errno;
	ret = fprintf(f, "%lu\n", val) < 0 ? -EIO : 1;
	if (fclose(f))
		ret = -errno;
	return ret;
}

/*
 * Returns 1 if the amplifier is loaded and now targets @tgid, 0 if absent.
 * @fault_page: the page whose faults it delays too (0: none), see
 * selftests/amplifier/.
 */
static int amplifier_target(pid_t tgid, void *fault_page)
{
	int ret = amplifier_set(AMPLIFIER_FAULT, (unsigned long)fault_page);

	if (ret < 0)
		return ret;
	return amplifier_set(AMPLIFIER_TGID, tgid);
}

static const char * const variant_names[] = {
	"remap_fixed", "munmap_mmap", "madv_dontneed", "madv_dontneed_paced",
	"madv_dontneed_table", "madv_pageout_table",
};

/* Whether @name is one of the comma-separated names in @list. */
static bool selected(const char *list, const char *name)
{
	size_t len = strlen(name);

	for (const char *p = list; p; p = strchr(p, ',') ? strchr(p, ',') + 1 : NULL)
		if (!strncmp(p, name, len) && (p[len] == ',' || p[len] == '\0'))
			return true;
	return false;
}

/* Whether every name in the comma-separated @list is a variant. */
static bool valid_selection(const char *list)
{
	const char *p = list;

	while (*p) {
		size_t len = strcspn(p, ",");
		bool known = false;

		for (size_t i = 0; i < sizeof(variant_names) / sizeof(variant_names[0]); i++)
			if (strlen(variant_names[i]) == len && !strncmp(p, variant_names[i], len))
				known = true;
		if (!known)
			return false;
		p += len;
		if (*p == ',' && *++p == '\0')
			return false;
	}
	return p != list;
}

FIXTURE(lost_write) {
	char path[PATH_MAX];
	struct race *r;
	atomic_bool *flusher_stop;
	pid_t flusher;
};

FIXTURE_VARIANT(lost_write) {
	const char *name;
	enum zap_mode mode;
	unsigned int interval_us;
	bool no_dirtier;
	bool pte_table;		/* the mapping is one whole, aligned PTE table */
};

FIXTURE_VARIANT_ADD(lost_write, remap_fixed) {
	.name = "remap_fixed",
	.mode = ZAP_REMAP_FIXED,
};

FIXTURE_VARIANT_ADD(lost_write, munmap_mmap) {
	.name = "munmap_mmap",
	.mode = ZAP_MUNMAP_MMAP,
};

FIXTURE_VARIANT_ADD(lost_write, madv_dontneed) {
	.name = "madv_dontneed",
	.mode = ZAP_MADV_DONTNEED,
};

/* A reported prototype's setup: no dirtier, a zap every 10 us. */
FIXTURE_VARIANT_ADD(lost_write, madv_dontneed_paced) {
	.name = "madv_dontneed_paced",
	.mode = ZAP_MADV_DONTNEED,
	.interval_us = 10,
	.no_dirtier = true,
};

/* One whole PTE table, dirtier, a zap every 10 us: PT_RECLAIM frees it. */
FIXTURE_VARIANT_ADD(lost_write, madv_dontneed_table) {
	.name = "madv_dontneed_table",
	.mode = ZAP_MADV_DONTNEED,
	.interval_us = 10,
	.pte_table = true,
};

/*
 * The prototype of the reclaim issue: the table setup, the zapper pages the
 * whole table out (reclaim's batched TLB flush).
 */
FIXTURE_VARIANT_ADD(lost_write, madv_pageout_table) {
	.name = "madv_pageout_table",
	.mode = ZAP_MADV_PAGEOUT,
	.interval_us = 10,
	.pte_table = true,
};

/*
 * The span of one PTE table (PMD_SIZE): from THP's sysfs file where there is
 * one, else a page of page-table entries of pointer size.
 */
static size_t pmd_size(size_t page)
{
	FILE *f = fopen("/sys/kernel/mm/transparent_hugepage/hpage_pmd_size", "r");
	unsigned long v = 0;

	if (f) {
		if (fscanf(f, "%lu", &v) != 1)
			v = 0;
		fclose(f);
	}
	return v ? v : page * (page / sizeof(void *));
}

/*
 * Maps @len bytes of @fd shared at an address aligned to @len (a power of
 * two): reserve twice that, map the file over the aligned part, give the
 * rest back.  Returns MAP_FAILED on failure.
 */
static char *mmap_aligned(size_t len, int fd)
{
	char *res, *p;
	uintptr_t aligned;

	res = mmap(NULL, 2 * len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (res == MAP_FAILED)
		return MAP_FAILED;
	aligned = ((uintptr_t)res + len - 1) & ~(uintptr_t)(len - 1);
	p = mmap((void *)aligned, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, fd, 0);
	if (p == MAP_FAILED) {
		munmap(res, 2 * len);
		return MAP_FAILED;
	}
	if (p > res)
		munmap(res, p - res);
	if (res + 2 * len > p + len)
		munmap(p + len, res + 2 * len - (p + len));
	return p;
}

FIXTURE_SETUP(lost_write)
{
	struct sigaction sa = {
		.sa_sigaction = segv_handler,
		.sa_flags = SA_SIGINFO | SA_NODEFER,
	};
	struct race *r;
	char *zero;

	self->flusher = 0;
	self->path[0] = '\0';
	ASSERT_NE(NULL, opt_dir) TH_LOG("no directory given (-d)");

	r = calloc(1, sizeof(*r));
	ASSERT_NE(NULL, r);
	self->r = r;
	r->mode = variant->mode;
	r->interval_us = opt_interval_us >= 0 ? (unsigned int)opt_interval_us
					      : variant->interval_us;
	r->page = sysconf(_SC_PAGESIZE);
	r->len = variant->pte_table ? pmd_size(r->page) : opt_pages * r->page;
	r->zap_len = variant->pte_table && opt_leave_one ? r->len - r->page : r->len;

	snprintf(self->path, sizeof(self->path), "%s/lost_write.XXXXXX", opt_dir);
	r->fd = mkstemp(self->path);
	ASSERT_LE(0, r->fd) TH_LOG("mkstemp in %s: %s", opt_dir, strerror(errno));

	/*
	 * Real, allocated blocks on disk, all zero: what a dropped page reads.
	 * One write() per page: a file system with large folios (ext4 since
	 * 6.16, on kernels with THP) sizes a new folio by the write, and
	 * POSIX_FADV_DONTNEED of page 0 cannot drop page 0 if it shares a
	 * folio with pages that stay mapped.
	 */
	zero = calloc(1, r->page);
	ASSERT_NE(NULL, zero);
	for (size_t off = 0; off < r->len; off += r->page)
		ASSERT_EQ((ssize_t)r->page, write(r->fd, zero, r->page));
	free(zero);
	ASSERT_EQ(0, fsync(r->fd));

	if (variant->pte_table) {
		r->map = mmap_aligned(r->len, r->fd);
		ASSERT_NE(MAP_FAILED, r->map);
		ASSERT_EQ(0UL, (uintptr_t)r->map % r->len)
			TH_LOG("%p is not aligned to %zu: not one whole PTE table", r->map, r->len);
		/*
		 * On a kernel with THP, a PMD-sized folio of the file (ext4
		 * has large folios since 6.16; readahead makes them) can be
		 * mapped by one PMD (do_set_pmd()): the zap then goes through
		 * zap_huge_pmd(), not the PTE table this variant is about.
		 * Debian's 7.2 did that in some runs (zap_huge_pmd() in the
		 * trace of a kernel warning; no loss in 30 s).  Keep the range
		 * on PTEs; without THP (EINVAL) there is no PMD mapping.
		 */
		if (madvise(r->map, r->len, MADV_NOHUGEPAGE))
			ASSERT_EQ(EINVAL, errno)
				TH_LOG("madvise(MADV_NOHUGEPAGE): %s", strerror(errno));
	} else {
		r->map = mmap(NULL, r->len, PROT_READ | PROT_WRITE, MAP_SHARED, r->fd, 0);
		ASSERT_NE(MAP_FAILED, r->map);
	}

	ASSERT_EQ(0, sigaction(SIGSEGV, &sa, NULL));

	self->flusher_stop = mmap(NULL, sizeof(*self->flusher_stop),
				  PROT_READ | PROT_WRITE,
				  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, self->flusher_stop);
	atomic_store(self->flusher_stop, false);
}

FIXTURE_TEARDOWN(lost_write)
{
	int status;

	amplifier_target(0, NULL);
	if (self->flusher > 0) {
		atomic_store(self->flusher_stop, true);
		waitpid(self->flusher, &status, 0);
	}
	if (self->r) {
		if (self->r->map && self->r->map != MAP_FAILED)
			munmap(self->r->map, self->r->len);
		if (self->r->fd >= 0)
			close(self->r->fd);
		free(self->r);
	}
	if (self->path[0])
		unlink(self->path);
}

TEST_F_TIMEOUT(lost_write, race, MAX_SECONDS + 60)
{
	static const char * const mode_name[] = {
		[ZAP_REMAP_FIXED] = "mmap(MAP_FIXED) over the range",
		[ZAP_MUNMAP_MMAP] = "munmap() + mmap()",
		[ZAP_MADV_DONTNEED] = "madvise(MADV_DONTNEED)",
		[ZAP_MADV_PAGEOUT] = "madvise(MADV_PAGEOUT)",
	};
	struct race *r = self->r;
	pthread_t writer, dirtier, zapper;
	bool with_dirtier = !variant->no_dirtier && !opt_no_dirtier;
	double start, elapsed;
	int amp, status = 0;
	bool flusher_died = false;

	if (opt_only && !selected(opt_only, variant->name))
		SKIP(return, "not selected (-o %s)", opt_only);

	self->flusher = fork();
	ASSERT_LE(0, self->flusher);
	if (self->flusher == 0)
		flusher(self->path, opt_whole_file ? r->len : r->page, !opt_msync_only,
			self->flusher_stop);

	/*
	 * In the table variants the window to widen is after the flush, too:
	 * the writer's next fault on page 0 (see the amplifier).
	 */
	amp = amplifier_target(getpid(), variant->pte_table ? r->map : NULL);
	ASSERT_LE(0, amp) TH_LOG("cannot set the amplifier's target: %s",
				 strerror(-amp));
	TH_LOG("%s of %zu of %zu pages%s every %u us, dirtier %s, flusher msync%s of %s, up to %u s, amplifier %s",
	       mode_name[r->mode], r->zap_len / r->page, r->len / r->page,
	       variant->pte_table ? " (one PTE table, aligned)" : "", r->interval_us,
	       with_dirtier ? "on" : "off", opt_msync_only ? " only" : " + fadvise",
	       opt_whole_file ? "the file" : "page 0",
	       opt_seconds, amp ? "on" : "off");

	start = now();
	ASSERT_EQ(0, pthread_create(&writer, NULL, writer_fn, r));
	if (with_dirtier)
		ASSERT_EQ(0, pthread_create(&dirtier, NULL, dirtier_fn, r));
	ASSERT_EQ(0, pthread_create(&zapper, NULL, zapper_fn, r));

	while (!atomic_load(&r->stop) && now() - start < opt_seconds) {
		usleep(10000);
		/* The flusher must keep running: a dead one tests nothing. */
		if (waitpid(self->flusher, &status, WNOHANG) == self->flusher) {
			self->flusher = 0;
			flusher_died = true;
			break;
		}
	}
	elapsed = now() - start;
	atomic_store(&r->stop, true);
	pthread_join(writer, NULL);
	if (with_dirtier)
		pthread_join(dirtier, NULL);
	pthread_join(zapper, NULL);

	ASSERT_FALSE(flusher_died) TH_LOG("flusher died (status %#x)", status);
	TH_LOG("tasks: writer %d, zapper %d, flusher %d", r->writer_tid,
	       r->zapper_tid, self->flusher);

	ASSERT_EQ(0, r->zap_errno) TH_LOG("zap failed: %s", strerror(r->zap_errno));
	/* A run in which nothing raced proves nothing either. */
	ASSERT_LT(0UL, atomic_load(&r->zaps));
	ASSERT_LT(0UL, atomic_load(&r->writes));

	if (atomic_load(&r->lost))
		TH_LOG("LOST WRITE after %.3f s: wrote %llu, read back %llu (%lu writes, %lu zaps)",
		       elapsed, (unsigned long long)r->wrote,
		       (unsigned long long)r->read_back,
		       atomic_load(&r->writes), atomic_load(&r->zaps));
	else
		TH_LOG("no lost write in %.3f s (%lu writes, %lu zaps, %lu faults)",
		       elapsed, atomic_load(&r->writes), atomic_load(&r->zaps),
		       atomic_load(&r->faults));
	ASSERT_FALSE(atomic_load(&r->lost));
}

static void usage(const char *prog)
{
	fprintf(stderr,
		"usage: %s -d DIR [-s SECONDS] [-p PAGES] [-o VARIANT] [-i USEC] [-n] [-m] [-w] [-l]\n"
		"  -d DIR      directory on the file system under test\n"
		"  -s SECONDS  time limit of each variant (1-%d, default %u)\n"
		"  -p PAGES    pages in the mapping (2-4096, default %u; not the table variants)\n"
		"  -o VARIANT[,VARIANT...]  run only these variants (the others are skipped)\n"
		"  -i USEC     busy wait between zaps, every variant (0-100000)\n"
		"  -n          no dirtier thread\n"
		"  -m          the flusher only msync()s (no POSIX_FADV_DONTNEED)\n"
		"  -w          the flusher msync()s and drops the whole file, not page 0\n"
		"  -l          table variants zap one page less than the table\n",
		prog, MAX_SECONDS, opt_seconds, opt_pages);
	exit(KSFT_FAIL);
}

static unsigned int parse_uint(const char *s, unsigned int min,
			       unsigned int max, const char *prog)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || end == s || v < min || v > max)
		usage(prog);
	return v;
}

int main(int argc, char **argv)
{
	int c;

	while ((c = getopt(argc, argv, "d:s:p:o:i:nmwlh")) != -1) {
		switch (c) {
		case 'd':
			opt_dir = optarg;
			break;
		case 's':
			opt_seconds = parse_uint(optarg, 1, MAX_SECONDS, argv[0]);
			break;
		case 'p':
			opt_pages = parse_uint(optarg, 2, 4096, argv[0]);
			break;
		case 'o':
			opt_only = optarg;
			break;
		case 'i':
			opt_interval_us = parse_uint(optarg, 0, 100000, argv[0]);
			break;
		case 'n':
			opt_no_dirtier = true;
			break;
		case 'm':
			opt_msync_only = true;
			break;
		case 'w':
			opt_whole_file = true;
			break;
		case 'l':
			opt_leave_one = true;
			break;
		default:
			usage(argv[0]);
		}
	}
	if (!opt_dir || optind != argc)
		usage(argv[0]);
	if (opt_only && !valid_selection(opt_only))
		usage(argv[0]);
	if (usable_cpus() < 2) {
		ksft_print_header();
		ksft_exit_skip("needs at least 2 CPUs it may run on (has %d): writer, zapper and flusher race each other\n",
			       usable_cpus());
	}
	/*
	 * The options are ours: newer harnesses parse argv themselves (and
	 * reject -d/-s/-p), so hand them the program name only.  (Their test
	 * filters, -t/-v/-f, are not in 6.1's harness: -o selects variants on
	 * both.)
	 */
	optind = 1;
	return test_harness_run(1, argv);
}
