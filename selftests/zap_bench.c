// SPDX-License-Identifier: GPL-2.0
/*
 * zap_bench - what zapping dirty file pages costs, per workload: TLB
 * flushes, reclaim's batched flushes, delayed-rmap flushes
 * (tlb_flush_rmaps()), TLB shootdown IPIs, page faults and time.
 *
 *   zap_bench [-r REPS] [-w W1,W2,...] [-n] DIR
 *
 * Each workload runs REPS times (default 10) on a 32 MiB shared mapping
 * (16 PTE tables: mappings are 2 MiB aligned) of a file in DIR ("ext4": the
 * guest mounts ext4 over brd there) and of a memfd ("memfd"):
 *
 *   W1  map, write a byte to every page, munmap (will-it-scale page_fault3)
 *   W2  write a byte to every page, MADV_DONTNEED of the whole range
 *   W3  write a byte to every page, MADV_DONTNEED of each page (tlb_flush3)
 *   W4  write a byte to every page, ftruncate to 0 and back (mapped)
 *   W5  W1 while a second thread of the process spins on another CPU
 *       (the flushes become remote shootdowns)
 *   W6  one munmap of 32 MiB of dirty anonymous memory followed by 32 MiB
 *       of the dirty file mapping (the gather already holds pages when the
 *       first delayed-rmap page comes)
 *   W7  a child maps, writes a byte to every page and exits (fullmm)
 *   W8  W1 on anonymous memory (the control: a path the fixes do not touch)
 *   W9  write a byte to every page, MADV_PAGEOUT of the range while a second
 *       thread spins on another CPU (reclaim defers its flush)
 *
 * After each repetition the file is read back (pread) and every page must
 * hold what was written (W4: zeros, after the truncation; W8: the mapping is
 * read before the munmap); a mismatch fails the run (exit status 1).  W5
 * and W9 need two CPUs: with one they print "skipped" and the reason.
 *
 * Counters: the window amplifier (selftests/amplifier, loaded by the runner
 * with delay_us=0 fault_delay_us=0 count_symbol=tlb_flush_rmaps) counts this
 * process's flush_tlb_mm_range() calls, pending batched flushes and
 * tlb_flush_rmaps() calls (-1: the kernel has none); the IPIs are the TLB
 * row of /proc/interrupts (all CPUs); the faults getrusage()'s minor and
 * major faults.  With -n no counter is read (the amplifier is not loaded:
 * its kprobes would be measured too): only time, which under QEMU
 * -icount shift=0 is the guest's instruction count (1 ns per instruction).
 *
 * One line per workload and backing, the counts per repetition:
 *
 *   zapbench: W1 ext4 reps=10 pages=8192 tables=16 ns=... zap_ns=...
 *	flushes=16.0 batched=0.0 rmaps=16.0 ipis=0.0 faults=8192.0 verified
 *
 * ns: the repetition (mapping, writes, zap); zap_ns: the zap call alone.
 * Root (the amplifier's parameters), unless -n.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef MADV_PAGEOUT
#define MADV_PAGEOUT 21
#endif

#define PARAM "/sys/module/tlb_flush_delay/parameters/"
#define TABLE (2UL << 20)
#define SIZE (16 * TABLE)

enum { C_FLUSHES, C_BATCHED, C_RMAPS, C_IPIS, C_FAULTS, C_NS, C_ZAP_NS, NR_COUNTERS };

static const char *const counter_names[NR_COUNTERS] = {
	"flushes", "batched", "rmaps", "ipis", "faults", "ns", "zap_ns",
};

struct bench {
	const char *backing;	/* "ext4" or "memfd" */
	int fd;
	char *base;		/* 2 MiB aligned, 2 * SIZE reserved */
	long page;
	bool counting;
	bool no_rmaps;		/* the kernel has no tlb_flush_rmaps() to count */
	bool no_ipis;		/* /proc/interrupts has no TLB row */
	long rep;
	long long sum[NR_COUNTERS];
	long long min[NR_COUNTERS];	/* the least of a repetition */
	long long snap[NR_COUNTERS];
	long long zap_start;
};

static void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "zap_bench: error: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	exit(2);
}

static long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static long long param_get(const char *name)
{
	char path[128];
	long long v;
	FILE *f;

	snprintf(path, sizeof(path), PARAM "%s", name);
	f = fopen(path, "r");
	if (!f || fscanf(f, "%lld", &v) != 1)
		die("cannot read %s: %s (is the amplifier loaded?)", path, strerror(errno));
	fclose(f);
	return v;
}

static void param_set(const char *name, long long v)
{
	char path[128];
	FILE *f;

	snprintf(path, sizeof(path), PARAM "%s", name);
	f = fopen(path, "w");
	if (!f || fprintf(f, "%lld\n", v) < 0 || fclose(f))
		die("cannot write %s: %s", path, strerror(errno));
}

/* The TLB shootdown IPIs received so far, all CPUs (x86: "TLB:"). */
static long long tlb_ipis(void)
{
	char line[4096];
	long long sum = -1;
	FILE *f = fopen("/proc/interrupts", "r");

	if (!f)
		die("cannot read /proc/interrupts: %s", strerror(errno));
	while (fgets(line, sizeof(line), f)) {
		char *p = line, *end;

		while (*p == ' ')
			p++;
		if (strncmp(p, "TLB:", 4))
			continue;
		sum = 0;
		for (p += 4;; p = end) {
			long long v = strtoll(p, &end, 10);

			if (end == p)
				break;
			sum += v;
		}
	}
	fclose(f);
	return sum;
}

static long long faults(int who)
{
	struct rusage ru;

	if (getrusage(who, &ru))
		die("getrusage: %s", strerror(errno));
	return ru.ru_minflt + ru.ru_majflt;
}

/* Counters at the start and end of what is measured of a repetition. */
static void snapshot(struct bench *b, long long *v, int who)
{
	v[C_NS] = now_ns();
	v[C_FAULTS] = faults(who);
	if (!b->counting)
		return;
	v[C_FLUSHES] = param_get("hits");
	v[C_BATCHED] = param_get("batch_hits");
	v[C_RMAPS] = param_get("count_hits");
	v[C_IPIS] = tlb_ipis();
}

static void rep_start(struct bench *b, int who)
{
	snapshot(b, b->snap, who);
}

static void rep_end(struct bench *b, int who)
{
	long long v[NR_COUNTERS] = { 0 };

	snapshot(b, v, who);
	/*
	 * The least of a repetition, printed for the flushes and the IPIs:
	 * zap_pte_range() stops at need_resched() and flushes what it has
	 * before going on, so a tick that finds another task runnable adds a
	 * flush to that repetition (1 in 30 on one kernel, 0 in 30 on
	 * another), whatever the kernel; and the TLB row of /proc/interrupts
	 * is system-wide: another task's shootdowns land in some
	 * repetitions, the workload's own in every one.
	 */
	for (int i = 0; i < NR_COUNTERS; i++) {
		long long d = v[i] - b->snap[i];

		if (i == C_ZAP_NS)
			continue;
		b->sum[i] += d;
		if (b->rep == 0 || d < b->min[i])
			b->min[i] = d;
	}
}

static void zap_start(struct bench *b)
{
	b->zap_start = now_ns();
}

static void zap_end(struct bench *b)
{
	b->sum[C_ZAP_NS] += now_ns() - b->zap_start;
}

static unsigned char value(long rep, size_t page)
{
	return (rep * 7 + page) % 251 + 1;
}

static void write_pages(struct bench *b, char *p)
{
	for (size_t i = 0; i < SIZE / b->page; i++)
		p[i * b->page] = value(b->rep, i);
}

/* Every page of the file holds what the repetition wrote (or 0). */
static void verify_file(struct bench *b, const char *w, bool zeros)
{
	static char buf[1 << 20];

	for (off_t off = 0; off < (off_t)SIZE; off += sizeof(buf)) {
		if (pread(b->fd, buf, sizeof(buf), off) != sizeof(buf))
			die("%s %s: pread: %s", w, b->backing, strerror(errno));
		for (size_t i = 0; i < sizeof(buf); i += b->page) {
			size_t pg = (off + i) / b->page;
			unsigned char want = zeros ? 0 : value(b->rep, pg);

			if ((unsigned char)buf[i] != want) {
				printf("zapbench: %s %s: FAIL: repetition %ld, page %zu holds %u, not %u\n",
				       w, b->backing, b->rep, pg, (unsigned char)buf[i], want);
				exit(1);
			}
		}
	}
}

static char *map_file(struct bench *b, char *at)
{
	char *p = mmap(at, SIZE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, b->fd, 0);

	if (p != at)
		die("mmap of the %s file: %s", b->backing, strerror(errno));
	return p;
}

static char *map_anon(char *at)
{
	char *p = mmap(at, SIZE, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);

	if (p != at)
		die("anonymous mmap: %s", strerror(errno));
	return p;
}

/* Back to the PROT_NONE reservation (outside what is measured). */
static void unreserve(struct bench *b)
{
	if (mmap(b->base, 2 * SIZE, PROT_NONE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_NORESERVE, -1, 0) != b->base)
		die("mmap of the reservation: %s", strerror(errno));
}

static void do_munmap(struct bench *b, char *p, size_t len)
{
	zap_start(b);
	if (munmap(p, len))
		die("munmap: %s", strerror(errno));
	zap_end(b);
}

static void do_madvise(struct bench *b, char *p, size_t len, int advice)
{
	if (madvise(p, len, advice))
		die("madvise(%d): %s", advice, strerror(errno));
}

static atomic_bool spin_stop;

static void *spin(void *arg)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(1, &set);
	sched_setaffinity(0, sizeof(set), &set);
	while (!atomic_load_explicit(&spin_stop, memory_order_relaxed))
		;
	return NULL;
}

static pthread_t spinner_start(void)
{
	pthread_t t;
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(0, &set);
	if (sched_setaffinity(0, sizeof(set), &set))
		die("sched_setaffinity: %s", strerror(errno));
	atomic_store(&spin_stop, false);
	if (pthread_create(&t, NULL, spin, NULL))
		die("pthread_create failed");
	return t;
}

static void spinner_stop(pthread_t t)
{
	cpu_set_t set;

	atomic_store(&spin_stop, true);
	pthread_join(t, NULL);
	CPU_ZERO(&set);
	for (int i = 0; i < CPU_SETSIZE; i++)
		CPU_SET(i, &set);
	sched_setaffinity(0, sizeof(set), &set);
}

static void w1(struct bench *b, const char *w)
{
	char *p;

	rep_start(b, RUSAGE_SELF);
	p = map_file(b, b->base);
	write_pages(b, p);
	do_munmap(b, p, SIZE);
	rep_end(b, RUSAGE_SELF);
	verify_file(b, w, false);
}

/*
 * One repetition on the mapping of the file kept across the zap: write every
 * page, zap(b, p) (timed as the zap), then read the file back (zeros: what a
 * truncation leaves).  Returns the mapping.
 */
static char *zap_mapped(struct bench *b, const char *w, void (*zap)(struct bench *b, char *p),
			bool zeros)
{
	char *p = map_file(b, b->base);

	rep_start(b, RUSAGE_SELF);
	write_pages(b, p);
	zap_start(b);
	zap(b, p);
	zap_end(b);
	rep_end(b, RUSAGE_SELF);
	verify_file(b, w, zeros);
	return p;
}

static void dontneed_all(struct bench *b, char *p)
{
	do_madvise(b, p, SIZE, MADV_DONTNEED);
}

static void dontneed_each(struct bench *b, char *p)
{
	for (size_t off = 0; off < SIZE; off += b->page)
		do_madvise(b, p + off, b->page, MADV_DONTNEED);
}

static void truncate_and_extend(struct bench *b, char *p)
{
	if (ftruncate(b->fd, 0) || ftruncate(b->fd, SIZE))
		die("ftruncate: %s", strerror(errno));
}

static void pageout_all(struct bench *b, char *p)
{
	do_madvise(b, p, SIZE, MADV_PAGEOUT);
}

static void w2(struct bench *b, const char *w)
{
	zap_mapped(b, w, dontneed_all, false);
}

static void w3(struct bench *b, const char *w)
{
	zap_mapped(b, w, dontneed_each, false);
}

static void w4(struct bench *b, const char *w)
{
	char *p = zap_mapped(b, w, truncate_and_extend, true);

	for (size_t off = 0; off < SIZE; off += b->page)
		if (p[off]) {
			printf("zapbench: %s %s: FAIL: repetition %ld: the mapping still shows %u at offset %zu after the truncation\n",
			       w, b->backing, b->rep, (unsigned char)p[off], off);
			exit(1);
		}
}

static void w6(struct bench *b, const char *w)
{
	char *anon, *file;

	rep_start(b, RUSAGE_SELF);
	anon = map_anon(b->base);
	file = map_file(b, b->base + SIZE);
	write_pages(b, anon);
	write_pages(b, file);
	do_munmap(b, b->base, 2 * SIZE);
	rep_end(b, RUSAGE_SELF);
	verify_file(b, w, false);
}

static void w7(struct bench *b, const char *w)
{
	int status;
	pid_t pid;

	rep_start(b, RUSAGE_CHILDREN);
	/*
	 * Count the child's exit alone: its teardown of the mapping (fullmm)
	 * is what W7 measures.  A copy-on-write fault after fork() flushes the
	 * TLB too, and how many there are depends on which of parent and
	 * child writes a shared page first, so neither process is counted
	 * until the child's last write is done.  Built with -z now
	 * (scripts/bench.sh): lazily bound, the child's first _exit() call
	 * wrote the GOT, a copy-on-write fault after its counting began.
	 */
	if (b->counting)
		param_set("target_tgid", 0);
	pid = fork();
	if (pid < 0)
		die("fork: %s", strerror(errno));
	if (pid == 0) {
		write_pages(b, map_file(b, b->base));
		if (b->counting)
			param_set("target_tgid", getpid());
		_exit(0);
	}
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status))
		die("%s: the child failed (status %#x)", w, status);
	if (b->counting)
		param_set("target_tgid", getpid());
	rep_end(b, RUSAGE_CHILDREN);
	verify_file(b, w, false);
}

static void w8(struct bench *b, const char *w)
{
	long long t;
	char *p;

	rep_start(b, RUSAGE_SELF);
	p = map_anon(b->base);
	write_pages(b, p);
	/* Read back before the munmap, not counted as time. */
	t = now_ns();
	for (size_t i = 0; i < SIZE / b->page; i++)
		if ((unsigned char)p[i * b->page] != value(b->rep, i)) {
			printf("zapbench: %s anon: FAIL: repetition %ld, page %zu\n", w, b->rep, i);
			exit(1);
		}
	b->snap[C_NS] += now_ns() - t;
	do_munmap(b, p, SIZE);
	rep_end(b, RUSAGE_SELF);
}

static void w9(struct bench *b, const char *w)
{
	zap_mapped(b, w, pageout_all, false);
}

struct workload {
	const char *name;
	void (*run)(struct bench *b, const char *w);
	bool spinner;	/* a second thread spins on CPU 1 */
	bool file;	/* runs on the file and on the memfd, else on neither */
};

static const struct workload workloads[] = {
	{ "W1", w1, false, true },
	{ "W2", w2, false, true },
	{ "W3", w3, false, true },
	{ "W4", w4, false, true },
	{ "W5", w1, true, true },
	{ "W6", w6, false, true },
	{ "W7", w7, false, true },
	{ "W8", w8, false, false },
	{ "W9", w9, true, true },
};

#define NR_WORKLOADS (sizeof(workloads) / sizeof(workloads[0]))

static void run(const struct workload *wl, struct bench *b, long reps)
{
	pthread_t spinner = 0;

	memset(b->sum, 0, sizeof(b->sum));
	if (b->fd >= 0 && (ftruncate(b->fd, 0) || ftruncate(b->fd, SIZE)))
		die("ftruncate: %s", strerror(errno));
	if (wl->spinner)
		spinner = spinner_start();
	for (b->rep = 0; b->rep < reps; b->rep++) {
		wl->run(b, wl->name);
		unreserve(b);
	}
	if (wl->spinner)
		spinner_stop(spinner);
	printf("zapbench: %s %s reps=%ld pages=%lu tables=%lu", wl->name, b->backing, reps,
	       SIZE / b->page, SIZE / TABLE);
	for (int i = 0; i < NR_COUNTERS; i++) {
		if (!b->counting && i != C_NS && i != C_ZAP_NS && i != C_FAULTS)
			continue;
		if ((i == C_RMAPS && b->no_rmaps) || (i == C_IPIS && b->no_ipis))
			printf(" %s=none", counter_names[i]);
		else
			printf(" %s=%.1f", counter_names[i], (double)b->sum[i] / reps);
		if (i == C_FLUSHES || (i == C_IPIS && !b->no_ipis))
			printf(" %s_min=%lld", counter_names[i], b->min[i]);
	}
	printf(" verified\n");
	fflush(stdout);
}

static int open_backing(const char *backing, const char *dir)
{
	char path[4096];
	int fd;

	if (!strcmp(backing, "memfd")) {
		fd = memfd_create("zap_bench", 0);
		if (fd < 0)
			die("memfd_create: %s", strerror(errno));
		return fd;
	}
	snprintf(path, sizeof(path), "%s/zap_bench.data", dir);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0)
		die("%s: %s", path, strerror(errno));
	return fd;
}

int main(int argc, char **argv)
{
	const char *list = NULL;
	bool want[NR_WORKLOADS];
	struct bench b = { .fd = -1 };
	long reps = 10;
	char *res, *end;
	int opt;

	b.counting = true;
	while ((opt = getopt(argc, argv, "r:w:n")) != -1) {
		switch (opt) {
		case 'r':
			reps = strtol(optarg, &end, 10);
			if (*end || reps < 1 || reps > 100000)
				die("-r: a repetition count from 1 to 100000, not '%s'", optarg);
			break;
		case 'w':
			list = optarg;
			break;
		case 'n':
			b.counting = false;
			break;
		default:
			die("usage: %s [-r REPS] [-w W1,W2,...] [-n] DIR", argv[0]);
		}
	}
	if (optind != argc - 1)
		die("usage: %s [-r REPS] [-w W1,W2,...] [-n] DIR", argv[0]);
	for (size_t i = 0; i < NR_WORKLOADS; i++)
		want[i] = !list;
	if (list) {
		char *copy = strdup(list), *tok, *save = NULL;

		for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
			size_t i;

			for (i = 0; i < NR_WORKLOADS; i++)
				if (!strcmp(tok, workloads[i].name))
					break;
			if (i == NR_WORKLOADS)
				die("-w: no workload '%s' (W1 to W9)", tok);
			want[i] = true;
		}
		free(copy);
	}
	b.page = sysconf(_SC_PAGESIZE);
	res = mmap(NULL, 2 * SIZE + TABLE, PROT_NONE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (res == MAP_FAILED)
		die("cannot reserve the address range: %s", strerror(errno));
	b.base = (char *)(((uintptr_t)res + TABLE - 1) & ~(TABLE - 1));
	if (b.counting) {
		param_set("delay_us", 0);
		param_set("fault_delay_us", 0);
		param_set("fault_addr", 0);
		param_set("target_tgid", getpid());
		b.no_rmaps = param_get("count_hits") < 0;
		b.no_ipis = tlb_ipis() < 0;
	}
	printf("zapbench: %ld CPUs, page %ld, %s, %ld repetitions\n",
	       sysconf(_SC_NPROCESSORS_ONLN), b.page,
	       b.counting ? "counters from the amplifier" : "no counters (time only)", reps);
	for (size_t i = 0; i < NR_WORKLOADS; i++) {
		const struct workload *wl = &workloads[i];
		const char *backings[] = { "ext4", "memfd" };

		if (!want[i])
			continue;
		if (wl->spinner && sysconf(_SC_NPROCESSORS_ONLN) < 2) {
			printf("zapbench: %s skipped: needs 2 CPUs (a second thread spins on CPU 1)\n",
			       wl->name);
			continue;
		}
		if (!wl->file) {
			b.backing = "anon";
			b.fd = -1;
			run(wl, &b, reps);
			continue;
		}
		for (int k = 0; k < 2; k++) {
			b.backing = backings[k];
			b.fd = open_backing(backings[k], argv[optind]);
			run(wl, &b, reps);
			close(b.fd);
		}
	}
	if (b.counting)
		param_set("target_tgid", 0);
	return 0;
}
