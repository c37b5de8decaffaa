// SPDX-License-Identifier: GPL-2.0
/*
 * pt_reclaim - does MADV_DONTNEED of whole PTE tables free them?  (issue
 * 13: Linux 7.x frees the PTE tables a MADV_DONTNEED empties, which is the
 * path of the whole-table race; 6.1 has no such reclaim.  Shown here, not
 * assumed.)
 *
 *   pt_reclaim FILE kept|freed
 *
 * Maps TABLES x 2 MiB of FILE (created, sized; on tmpfs or any file
 * system) shared at a 2 MiB-aligned address, writes to every page (dirty
 * file pages: every PTE table filled), reads VmPTE (the page-table memory
 * of the process, /proc/self/status), calls madvise(MADV_DONTNEED) on the
 * whole range, and reads VmPTE again.  "freed": it dropped by at least the
 * TABLES PTE tables (4 kB each); "kept": it did not change.  Prints what
 * it saw; exit status 0 when that is what the second argument expects, 1
 * when not, 2 on an error.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define TABLE (2UL << 20)
#define TABLES 32
#define PAGE 4096UL

static void die(const char *what)
{
	perror(what);
	exit(2);
}

/* VmPTE of this process, in kB. */
static long vm_pte(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	long kb = -1;

	if (!f)
		die("/proc/self/status");
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmPTE: %ld kB", &kb) == 1)
			break;
	fclose(f);
	if (kb < 0) {
		fprintf(stderr, "pt_reclaim: no VmPTE in /proc/self/status\n");
		exit(2);
	}
	return kb;
}

int main(int argc, char **argv)
{
	size_t len = TABLES * TABLE;
	long before, after;
	const char *saw;
	char *raw, *p;
	int fd;

	if (argc != 3 || (strcmp(argv[2], "kept") && strcmp(argv[2], "freed"))) {
		fprintf(stderr, "usage: %s FILE kept|freed\n", argv[0]);
		return 2;
	}
	fd = open(argv[1], O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0)
		die(argv[1]);
	if (ftruncate(fd, len))
		die("ftruncate");
	/* Reserve a table more, then map the file at the first boundary. */
	raw = mmap(NULL, len + TABLE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (raw == MAP_FAILED)
		die("mmap reserve");
	p = (char *)(((unsigned long)raw + TABLE - 1) & ~(TABLE - 1));
	if (mmap(p, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, fd, 0) != p)
		die("mmap file");
	for (size_t off = 0; off < len; off += PAGE)
		p[off] = 1;
	before = vm_pte();
	if (madvise(p, len, MADV_DONTNEED))
		die("madvise");
	after = vm_pte();
	if (before - after >= (long)(TABLES * PAGE / 1024))
		saw = "freed";
	else if (before == after)
		saw = "kept";
	else
		saw = "partly freed";
	printf("pt_reclaim: %d PTE tables of dirty file pages: VmPTE %ld kB, ",
	       TABLES, before);
	printf("after MADV_DONTNEED of them all %ld kB: %s (expected %s)\n",
	       after, saw, argv[2]);
	unlink(argv[1]);
	return strcmp(saw, argv[2]) ? 1 : 0;
}
