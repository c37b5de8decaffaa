// SPDX-License-Identifier: GPL-2.0
/*
 * zap_flush_count - how many TLB flushes one MADV_DONTNEED or MADV_PAGEOUT
 * of a dirty PTE table costs (the fixes of patches/7.2-fix must not add
 * any to the first, and may add one per SWAP_CLUSTER_MAX dirty folios to
 * the second).
 *
 *   zap_flush_count FILE [PAGES [dontneed|pageout]]
 *
 * Maps 2 MiB of FILE (created, sized) at a 2 MiB-aligned address: one PTE
 * table.  200 times: writes a byte to each of its 512 pages, then
 * madvise(MADV_DONTNEED) (default) or madvise(MADV_PAGEOUT) of the first
 * PAGES pages (default 512: the whole table, which MADV_DONTNEED may then
 * free).  For pageout a second thread spins meanwhile, so that the mm runs
 * on another CPU and reclaim defers its flush (TTU_BATCH_FLUSH) as it does
 * for a multi-threaded process.  The window amplifier (selftests/amplifier,
 * loaded with delay_us=0) counts this process's flush_tlb_mm_range() calls
 * (hits) and reclaim's batched flushes (batch_hits); the program prints
 * them per zap.  Root.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <string.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#define PARAM "/sys/module/tlb_flush_delay/parameters/"
#define TABLE (2UL << 20)
#define ZAPS 200

static long param_get(const char *name)
{
	FILE *f = fopen(name, "r");
	long v;

	if (!f || fscanf(f, "%ld", &v) != 1) {
		perror(name);
		exit(1);
	}
	fclose(f);
	return v;
}

static void param_set(const char *name, long v)
{
	FILE *f = fopen(name, "w");

	if (!f || fprintf(f, "%ld\n", v) < 0 || fclose(f)) {
		perror(name);
		exit(1);
	}
}

static atomic_bool spin_stop;

static void *spin(void *arg)
{
	while (!atomic_load_explicit(&spin_stop, memory_order_relaxed))
		;
	return NULL;
}

int main(int argc, char **argv)
{
	long page = sysconf(_SC_PAGESIZE), before, after, batch_before, batch_after;
	size_t zap = argc > 2 ? strtoul(argv[2], NULL, 0) * page : TABLE;
	const char *how = argc > 3 ? argv[3] : "dontneed";
	int advice = !strcmp(how, "pageout") ? MADV_PAGEOUT : MADV_DONTNEED;
	pthread_t spinner;
	char *res, *p;
	int fd;

	if (argc < 2 || argc > 4 || zap == 0 || zap > TABLE ||
	    (strcmp(how, "dontneed") && strcmp(how, "pageout"))) {
		fprintf(stderr, "usage: %s FILE [PAGES (1-%lu) [dontneed|pageout]]\n",
			argv[0], TABLE / page);
		return 1;
	}
	fd = open(argv[1], O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || ftruncate(fd, TABLE)) {
		perror(argv[1]);
		return 1;
	}
	res = mmap(NULL, 2 * TABLE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (res == MAP_FAILED)
		return 1;
	p = (char *)(((uintptr_t)res + TABLE - 1) & ~(TABLE - 1));
	if (mmap(p, TABLE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, fd, 0) != p)
		return 1;
	if (advice == MADV_PAGEOUT && pthread_create(&spinner, NULL, spin, NULL))
		return 1;
	param_set(PARAM "delay_us", 0);
	param_set(PARAM "target_tgid", getpid());
	before = param_get(PARAM "hits");
	batch_before = param_get(PARAM "batch_hits");
	for (int i = 0; i < ZAPS; i++) {
		for (size_t off = 0; off < TABLE; off += page)
			p[off] = i;
		if (madvise(p, zap, advice)) {
			perror("madvise");
			return 1;
		}
	}
	after = param_get(PARAM "hits");
	batch_after = param_get(PARAM "batch_hits");
	param_set(PARAM "target_tgid", 0);
	if (advice == MADV_PAGEOUT) {
		atomic_store(&spin_stop, true);
		pthread_join(spinner, NULL);
	}
	printf("flushcount: %d %s zaps of %zu dirty pages (of %lu): %ld flush_tlb_mm_range calls, %.2f per zap; %ld batched (reclaim) flushes, %.2f per zap\n",
	       ZAPS, how, zap / page, TABLE / page, after - before,
	       (double)(after - before) / ZAPS, batch_after - batch_before,
	       (double)(batch_after - batch_before) / ZAPS);
	return 0;
}
