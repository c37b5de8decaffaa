// SPDX-License-Identifier: GPL-2.0
/*
 * Drive /dev/delayed-rmap-test (rust/delayed_rmap_test.rs) from user space:
 * map the module's pages, write them, zap ranges through the module, and
 * check that every bad argument gets its error code and nothing else.
 *
 * Needs the module loaded (selftests/run_rust_device.sh does that).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
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
	}
	ASSERT_EQ(0, zap(self->fd, 0, n * self->page));
	/* Zapped: unmapped, dirty (from the PTE), only the module's reference. */
	for (i = 0; i < n; i++) {
		ASSERT_EQ(0, page_state(self->fd, i, &st));
		EXPECT_EQ(0, st.mapcount) TH_LOG("page %zu", i);
		EXPECT_EQ(1, st.refcount) TH_LOG("page %zu", i);
		EXPECT_EQ(1U, st.dirty) TH_LOG("page %zu", i);
	}
	ASSERT_EQ(0, zap(self->fd, 8 * self->page, self->page));
	/* A zapped mixed map faults with SIGBUS: nothing to read back here. */
	ASSERT_EQ(0, munmap(p, n * self->page));
}

TEST_F(dev, bad_arguments)
{
	struct delayed_rmap_page_state st;
	const size_t n = 8;
	void *p;

	/* No mapping yet. */
	EXPECT_EQ(-ENXIO, zap(self->fd, 0, self->page));
	EXPECT_EQ(-ENXIO, page_state(self->fd, 0, &st));
	/* Private and oversized mappings are refused. */
	EXPECT_EQ(MAP_FAILED, mmap(NULL, self->page, PROT_READ, MAP_PRIVATE, self->fd, 0));
	EXPECT_EQ(MAP_FAILED, mmap(NULL, (self->info.max_pages + 1) * self->page,
				   PROT_READ, MAP_SHARED, self->fd, 0));

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

TEST_HARNESS_MAIN
