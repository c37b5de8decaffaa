// SPDX-License-Identifier: GPL-2.0
/*
 * zap_flush_count - how many TLB flushes one MADV_DONTNEED of a dirty PTE
 * table costs (issue 13: the fix of patches/7.2-fix must not add any).
 *
 *   zap_flush_count FILE [PAGES]
 *
 * Maps 2 MiB of FILE (created, sized) at a 2 MiB-aligned address: one PTE
 * table.  200 times: writes a byte to each of its 512 pages, then
 * madvise(MADV_DONTNEED) of the first PAGES pages (default 512: the whole
 * table, which the kernel may then free).  The window amplifier
 * (selftests/amplifier, loaded with delay_us=0) counts this process's
 * flush_tlb_mm_range() calls; the program prints them per zap.  Root.
 */
#define _GNU_SOURCE
#include <fcntl.h>
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

int main(int argc, char **argv)
{
	long page = sysconf(_SC_PAGESIZE), before, after;
	size_t zap = argc > 2 ? strtoul(argv[2], NULL, 0) * page : TABLE;
	char *res, *p;
	int fd;

	if (argc < 2 || zap == 0 || zap > TABLE) {
		fprintf(stderr, "usage: %s FILE [PAGES (1-%lu)]\n", argv[0], TABLE / page);
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
	param_set(PARAM "delay_us", 0);
	param_set(PARAM "target_tgid", getpid());
	before = param_get(PARAM "hits");
	for (int i = 0; i < ZAPS; i++) {
		for (size_t off = 0; off < TABLE; off += page)
			p[off] = i;
		if (madvise(p, zap, MADV_DONTNEED)) {
			perror("madvise");
			return 1;
		}
	}
	after = param_get(PARAM "hits");
	param_set(PARAM "target_tgid", 0);
	printf("flushcount: %d zaps of %zu dirty pages (of %lu): %ld flush_tlb_mm_range calls, %.2f per zap\n",
	       ZAPS, zap / page, TABLE / page, after - before, (double)(after - before) / ZAPS);
	return 0;
}
