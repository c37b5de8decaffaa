// SPDX-License-Identifier: GPL-2.0

//! The module's KUnit suite, `delayed_rmap`: it runs when the module is
//! loaded (`CONFIG_KUNIT=y`).
//!
//! Each case gives its test thread a KUnit test mm (`kunit_vm_mmap()`), maps
//! shared pages into it (the module's own pages through its device, or the
//! pages of a shmem file), writes to them so that the CPU sets the dirty bit
//! of their PTEs, and zaps them through the real zap path
//! (`zap_vma_range()`, the `MADV_DONTNEED` path), for page counts on both
//! sides of every mmu_gather batch boundary.
//!
//! The flush-order cases watch the zap with an mmu_notifier: x86
//! `flush_tlb_mm_range()` calls `arch_invalidate_secondary_tlbs()` after the
//! CPU TLB flush, with the range that was flushed.  At every flush, for
//! every page that no flush has covered yet (its stale TLB entries may
//! still be written through), the recorder checks the two things writeback
//! needs to find it: the page is still mapped (in the rmap), and the PMD of
//! its address still points to the PTE table that mapped it.  A dirty file
//! page must pass both: writeback (`folio_mkclean()`) goes through the rmap
//! to the VMA, walks the page tables down to the PTE lock and waits there
//! for the flush, so no CPU can still write through a stale TLB entry once
//! the page is cleaned.  Without the upstream fix (patches/7.2-mutation) the
//! cases fail with "out of the rmap at its TLB flush, expected in".
//!
//! `shmem_table_flush_order` zaps whole PTE tables the way `MADV_DONTNEED`
//! does (`do_madvise()`), which frees the tables it empties.  Without the
//! fix of patches/7.2-fix the PMD is cleared before the flush and the case
//! fails with "page table detached at its TLB flush, expected attached".
//!
//! `lru_page_pageout_unlock_order` checks reclaim's batched flush: a dirty
//! file folio that `MADV_PAGEOUT` unmapped with its TLB flush deferred must
//! stay locked until that flush (the C parts are in `reclaim.c`).  Without
//! the fix of patches/7.2-fix it fails with "unlocked before its deferred
//! TLB flush".
//!
//! Each case is gated on what it relies on, and reports SKIPPED where that
//! is missing: the recorder's cases on x86_64 (the constants are its 4 KiB
//! pages and 64-bit pointers, and its flush is the one seen to pass the
//! flushed range to `arch_invalidate_secondary_tlbs()`; an architecture
//! that does not call it would fail them, "never flushed"), the table case
//! also on `CONFIG_PT_RECLAIM` (without it `MADV_DONTNEED` frees no table),
//! the reclaim case on `CONFIG_ARCH_WANT_BATCHED_UNMAP_TLB_FLUSH` and
//! `CONFIG_KPROBES`.

// Where a gate is off, the helpers of its cases are unused.
#![cfg_attr(
    not(all(
        CONFIG_X86_64,
        CONFIG_PT_RECLAIM,
        CONFIG_ARCH_WANT_BATCHED_UNMAP_TLB_FLUSH,
        CONFIG_KPROBES
    )),
    allow(dead_code, unused_imports)
)]
use super::{
    kunit_support::{self, madvise, Advice},
    module_ref,
    page_state::{get_page, put_page, Inspect as _},
    page_table::pte_table_pfn,
    reclaim::{lru_file, page_locked, FlushWatch, Flushes, MmHolder},
    DelayedRmapDevice, Range, MAX_PAGES,
};
use core::ptr::NonNull;
use kernel::{
    alloc::flags::GFP_KERNEL,
    bindings,
    error::{from_err_ptr, to_result},
    fs::File,
    mm::MmWithUser,
    new_spinlock,
    page::{BorrowedPage, Page, PAGE_SIZE},
    prelude::*,
    sync::{aref::ARef, SpinLock},
    types::{ForeignOwnable, Opaque},
    uaccess::{UserPtr, UserSlice},
};

/// Entries of one mmu_gather page batch: `MAX_GATHER_BATCH` for 4 KiB
/// pages on 64-bit, `(PAGE_SIZE - sizeof(struct mmu_gather_batch)) /
/// sizeof(void *)`.
const BATCH: usize = (PAGE_SIZE - 16) / 8;

/// Pages with a delayed rmap one gather holds before it must flush: the
/// on-stack batch (`MMU_GATHER_BUNDLE`) and one page batch
/// (`tlb_next_batch()` refuses a third while rmaps are delayed).
const DELAYED_CAPACITY: usize = 8 + BATCH;

/// PTEs per page table: a dirty file page forces a flush at the end of
/// each table.
const PTRS_PER_PTE: usize = 512;

/// Bytes one PTE table maps.
const PMD_SIZE: usize = PTRS_PER_PTE * PAGE_SIZE;

/// The end x86 passes for a flush of the whole mm (`TLB_FLUSH_ALL`, -1UL),
/// with start 0.
const TLB_FLUSH_ALL: usize = usize::MAX;

/// Page counts zapped with `MADV_DONTNEED` from the start of a PTE table:
/// one page short of a table (nothing to free), one table, two tables.
const TABLE_SIZES: [usize; 3] = [PTRS_PER_PTE - 1, PTRS_PER_PTE, 2 * PTRS_PER_PTE];

/// Times each of `TABLE_SIZES` is zapped: a zap that has to reschedule
/// midway frees the table only after the flush whatever the kernel does,
/// so one zap alone could miss the wrong order.
const TABLE_ROUNDS: usize = 4;

/// Page counts zapped in one go: one page, both sides of the page batch and
/// of the delayed-rmap capacity, and more than `MAX_GATHER_BATCH_COUNT`
/// batches hold (10 000 pages).
const SIZES: [usize; 7] = [
    1,
    BATCH - 1,
    BATCH,
    BATCH + 1,
    DELAYED_CAPACITY,
    DELAYED_CAPACITY + 1,
    10007,
];

/// Page counts of the other zap paths (`munmap()`, `MAP_FIXED`, truncate):
/// one page, past one page batch, past the delayed-rmap capacity.
const PATH_SIZES: [usize; 3] = [1, BATCH + 1, DELAYED_CAPACITY + 1];

/// What a failing flush-order case prints (scripts/kunit-verdict.py
/// requires it under the mutation).
const ORDER_FAILURE: &str = "out of the rmap at its TLB flush, expected in";

/// What a flush-order case prints when a page's table was gone at a flush
/// (scripts/kunit-verdict.py requires it without patches/7.2-fix).
const TABLE_FAILURE: &str = "page table detached at its TLB flush, expected attached";

/// What a case prints when a ranged flush reached outside the zap: the
/// recorder cannot tell what that flush covered.
const OUTSIDE_FAILURE: &str = "a flush range the recorder cannot trust";

/// Pages of the zap-half control: their first half is zapped, 8 pages, a
/// ranged flush on x86 (it flushes ranges of up to
/// `tlb_single_page_flush_ceiling`, 33 pages by default, page by page).
const HALF_NR: usize = 16;

/// What the reclaim case prints when reclaim unlocked the dirty folio
/// before the flush of its TLB entry (scripts/kunit-verdict.py requires it
/// without patches/7.2-fix).
const UNLOCK_FAILURE: &str = "unlocked before its deferred TLB flush";

/// What a page holds at offset 0 after the test wrote it.
fn marker(index: usize) -> u64 {
    0x6465_6c61_7900_0000 ^ index as u64
}

/// A counted reference to a page owned elsewhere (the page cache, the
/// device).  Dropping it puts the reference.
///
/// # Invariants
///
/// The pointer is a valid page on which `self` holds one reference.
struct PageRef(NonNull<bindings::page>);

// SAFETY: A page reference may be taken and put from any thread: the count
// is atomic.
unsafe impl Send for PageRef {}

impl PageRef {
    /// Takes another reference to `page`.
    fn get(page: &Page) -> Self {
        let ptr = page.as_ptr();
        // SAFETY: `page` is a valid page, referenced by its owner, for the
        // duration of the call; the new reference is ours, put in `drop()`,
        // and keeps the page valid for the life of `Self`.
        unsafe { get_page(ptr) };
        // INVARIANT: The reference just taken is ours.
        // SAFETY: `Page::as_ptr()` is never null (type invariant of `Page`).
        Self(unsafe { NonNull::new_unchecked(ptr) })
    }

    /// Takes over a reference the caller owns.
    ///
    /// # Safety
    ///
    /// `ptr` is a valid page on which the caller holds a reference that it
    /// hands over to the returned value.
    unsafe fn from_owned(ptr: NonNull<bindings::page>) -> Self {
        // INVARIANT: The caller hands its reference over.
        Self(ptr)
    }

    fn page(&self) -> BorrowedPage<'_> {
        // SAFETY: Our reference keeps the page valid for as long as `self`
        // is borrowed.
        unsafe { BorrowedPage::from_raw(self.0) }
    }
}

impl Drop for PageRef {
    fn drop(&mut self) {
        // SAFETY: We own one reference to this page (type invariant) and
        // give it up here, once.
        unsafe { put_page(self.0.as_ptr()) };
    }
}

/// What the recorder saw of the watched pages, by page index.
struct FlushLog {
    start: usize,
    /// End of the zapped range: the watched pages from here on are not
    /// zapped (a control), and no flush may cover them but a full one.
    zap_end: usize,
    pages: KVVec<PageRef>,
    /// The PTE table that mapped the page before the zap (its pfn).
    tables: KVVec<usize>,
    /// A TLB flush covered the page.
    flushed: KVVec<bool>,
    /// The page was mapped at every flush up to the first that covered it.
    mapped_at_flush: KVVec<bool>,
    /// Its PTE table was attached (the PMD pointed to it) at every flush up
    /// to the first that covered the page.
    attached_at_flush: KVVec<bool>,
    /// Flushes that covered at least one page for the first time.
    flushes: usize,
    /// Flushes of the whole mm (`TLB_FLUSH_ALL`: x86 flushes everything
    /// past `tlb_single_page_flush_ceiling` pages).
    full: usize,
    /// Other flushes that covered a watched page for the first time and
    /// whose range reaches outside the zapped range, and the first of
    /// them: the recorder's premise is that a flush covers what the zap
    /// flushed and nothing more, so these fail the case (a range wider
    /// than the real flush would mark pages flushed early and hide a page
    /// out of the rmap at its flush).  A flush that covers no page not
    /// flushed yet cannot (`munmap()` ends with one for the freed page
    /// tables, from the address of their PMD).
    outside: usize,
    first_outside: Option<(usize, usize)>,
}

impl FlushLog {
    /// A flush of `[start, end)` in `mm` has just happened.
    ///
    /// # Safety
    ///
    /// Called while the zapper holds the mmap lock of `mm`, or the VMA lock
    /// of the watched pages' VMA (see `pte_table_pfn()`).
    unsafe fn record(&mut self, mm: &MmWithUser, start: usize, end: usize) {
        let full = start == 0 && end == TLB_FLUSH_ALL;
        if full {
            self.full += 1;
        }
        let mut counted = false;
        // The pfn of the table last walked to, by PMD: one walk per table.
        let mut walked: Option<(usize, Option<usize>)> = None;
        for i in 0..self.pages.len() {
            if self.flushed[i] {
                continue;
            }
            // No flush covered this page before: a CPU may still write to
            // it through a stale TLB entry, so writeback must find it.
            let addr = self.start + i * PAGE_SIZE;
            let pmd = addr / PMD_SIZE;
            let table = match walked {
                Some((at, table)) if at == pmd => table,
                _ => {
                    // SAFETY: The zapper holds the lock our caller promises.
                    let table = unsafe { pte_table_pfn(mm, addr) };
                    walked = Some((pmd, table));
                    table
                }
            };
            if self.pages[i].page().folio_mapcount() == 0 {
                self.mapped_at_flush[i] = false;
            }
            if table != Some(self.tables[i]) {
                self.attached_at_flush[i] = false;
            }
            if (start..end).contains(&addr) {
                self.flushed[i] = true;
                counted = true;
            }
        }
        if counted {
            self.flushes += 1;
            if !full && (start < self.start || end > self.zap_end) {
                self.outside += 1;
                self.first_outside.get_or_insert((start, end));
            }
        }
    }
}

/// An mmu_notifier on the test mm that watches TLB flushes of a range.
///
/// It is registered when initialised and unregistered when dropped; it
/// must stay pinned in between, as the mm links to it.
///
/// # Invariants
///
/// `notifier` is registered on `mm` with `RECORDER_OPS` from the end of
/// its initialisation until `drop()`; only recorders register
/// `RECORDER_OPS`.
#[pin_data(PinnedDrop)]
struct FlushRecorder {
    mm: ARef<MmWithUser>,
    #[pin]
    log: SpinLock<FlushLog>,
    #[pin]
    notifier: Opaque<bindings::mmu_notifier>,
}

static RECORDER_OPS: bindings::mmu_notifier_ops = bindings::mmu_notifier_ops {
    arch_invalidate_secondary_tlbs: Some(FlushRecorder::tlb_flushed),
    ..pin_init::zeroed()
};

impl FlushRecorder {
    /// Watches the pages `pages` mapped from `start` in `mm` by the PTE
    /// tables `tables` (one pfn per page), of which the first `zapped` are
    /// zapped.
    fn new(
        mm: ARef<MmWithUser>,
        start: usize,
        zapped: usize,
        pages: KVVec<PageRef>,
        tables: KVVec<usize>,
    ) -> Result<impl PinInit<Self, Error>> {
        let n = pages.len();
        if tables.len() != n || zapped > n {
            return Err(EINVAL);
        }
        let log = FlushLog {
            start,
            zap_end: start + zapped * PAGE_SIZE,
            pages,
            tables,
            flushed: KVVec::from_elem(false, n, GFP_KERNEL)?,
            mapped_at_flush: KVVec::from_elem(true, n, GFP_KERNEL)?,
            attached_at_flush: KVVec::from_elem(true, n, GFP_KERNEL)?,
            flushes: 0,
            full: 0,
            outside: 0,
            first_outside: None,
        };
        let mm_ptr = mm.as_raw();
        Ok(try_pin_init!(Self {
            mm,
            log <- new_spinlock!(log),
            // Last: the callback may run as soon as this is registered.
            notifier <- Opaque::try_ffi_init(move |slot: *mut bindings::mmu_notifier| {
                // SAFETY: `slot` is valid for writes; a zeroed
                // `struct mmu_notifier` with `ops` set is what
                // mmu_notifier_register() expects.
                unsafe {
                    slot.write(pin_init::zeroed());
                    (*slot).ops = &RECORDER_OPS;
                }
                // SAFETY: `slot` is pinned and stays registered until
                // `PinnedDrop::drop()`; `mm_ptr` is an mm with users (we
                // hold one in `mm`).
                to_result(unsafe { bindings::mmu_notifier_register(slot, mm_ptr) })
            }),
        }? Error))
    }

    /// `arch_invalidate_secondary_tlbs()`: the CPU TLBs of `[start, end)`
    /// have just been flushed.  Runs under the PTE lock: must not sleep.
    ///
    /// # Safety
    ///
    /// Called by the mmu_notifier core only, with `subscription` registered
    /// with `RECORDER_OPS`, from a flush of the test's own zap of the
    /// watched pages (nothing else flushes the test mm while a recorder is
    /// registered), whose caller holds the mmap lock or the VMA lock (the
    /// zap itself, or the test around a truncation's
    /// `unmap_mapping_range()`, which takes neither).
    unsafe extern "C" fn tlb_flushed(
        subscription: *mut bindings::mmu_notifier,
        _mm: *mut bindings::mm_struct,
        start: usize,
        end: usize,
    ) {
        let field = Opaque::cast_from(subscription).cast_mut();
        // SAFETY: Only recorders register `RECORDER_OPS` (type invariant),
        // so `subscription` is the `notifier` field of a live, pinned
        // `FlushRecorder`: it is unregistered before it is dropped.
        let me = unsafe { &*kernel::container_of!(field, FlushRecorder, notifier) };
        // SAFETY: The flush comes from the test's zap, whose caller holds
        // the mmap lock of `me.mm` or the VMA lock of the watched pages.
        unsafe { me.log.lock().record(&me.mm, start, end) };
    }
}

#[pinned_drop]
impl PinnedDrop for FlushRecorder {
    fn drop(self: Pin<&mut Self>) {
        // SAFETY: `notifier` was registered on `mm` in `new()` (a recorder
        // whose registration failed is never fully initialised, so never
        // dropped); this waits until no callback runs any more.
        unsafe { bindings::mmu_notifier_unregister(self.notifier.get(), self.mm.as_raw()) };
    }
}

/// The KUnit test the current thread runs.
fn current_test() -> Result<*mut bindings::kunit> {
    // SAFETY: Always safe to call; null outside a KUnit test.
    let test = unsafe { bindings::kunit_get_current_test() };
    if test.is_null() {
        return Err(EINVAL);
    }
    Ok(test)
}

/// Maps `nr` pages of `file` shared and writable into the test's mm (which
/// KUnit creates on first use and tears down after the case).
fn map_shared(file: &File, nr: usize) -> Result<usize> {
    let test = current_test()?;
    // SAFETY: `test` is the test the current thread runs.
    unsafe { kunit_support::map_shared(test, file, nr * PAGE_SIZE, None) }
}

/// Maps `nr` pages of `file` shared and writable at `addr` with
/// `MAP_FIXED`, replacing (unmapping) what the test mm has there.
fn map_fixed(file: &File, addr: usize, nr: usize) -> Result {
    let test = current_test()?;
    // SAFETY: `test` is the test the current thread runs.
    unsafe { kunit_support::map_shared(test, file, nr * PAGE_SIZE, Some(addr)) }?;
    Ok(())
}

/// `munmap(addr, len)` in the current mm.
fn munmap(addr: usize, len: usize) -> Result {
    // SAFETY: Always safe to call: `vm_munmap()` checks the range against
    // the current task's mm and takes its mmap lock.
    to_result(unsafe { bindings::vm_munmap(addr, len) })
}

/// Truncates shmem file `file` to nothing, as `shmem_setattr()` does: the
/// file's mappings zapped (`unmap_mapping_range()`, with COWed pages), then
/// its page cache emptied; `i_size` is left as it is.
fn truncate_shmem(file: &File) -> Result {
    let task = kernel::current!();
    let mm = task.mm().ok_or(ENXIO)?;
    {
        // The recorder walks this mm's page tables at the zap's flushes,
        // which needs its mmap lock held (`FlushLog::record()`); the mmap
        // lock comes before `i_mmap_rwsem`, which the zap takes, in the
        // kernel's lock order.
        let _mmap = mm.mmap_read_lock();
        // SAFETY: `file` is a valid file; its `f_mapping`, set at open, does
        // not change; the function takes the locks it needs.
        unsafe { bindings::unmap_mapping_range((*file.as_ptr()).f_mapping, 0, 0, 1) };
    }
    // SAFETY: `file` comes from `kunit_support::shmem_file()` (every
    // caller's does).
    unsafe { kunit_support::shmem_truncate(file) };
    Ok(())
}

/// Opens the module's own device.
fn open_device() -> Result<ARef<File>> {
    // SAFETY: The path is a NUL-terminated string; the flags are valid.
    let ptr = from_err_ptr(unsafe {
        bindings::filp_open(
            c"/dev/delayed-rmap-test".as_char_ptr(),
            bindings::O_RDWR as i32,
            0,
        )
    })?;
    // SAFETY: filp_open() returned a valid file with one reference, which
    // we hand over to the `ARef`; `File` is a transparent `struct file`.
    Ok(unsafe { ARef::from_raw(NonNull::new_unchecked(ptr.cast::<File>())) })
}

/// The device state behind a file of our device.
fn device_of(file: &File) -> Result<Pin<&DelayedRmapDevice>> {
    if !module_ref::is_ours(file) {
        pr_err!("/dev/delayed-rmap-test is not this module's device\n");
        return Err(ENODEV);
    }
    // SAFETY: The file was opened through our misc device (its operations
    // are ours), whose open stored the foreign form of
    // `Pin<KBox<DelayedRmapDevice>>` in `private_data`; it stays valid
    // until the file is released, which cannot happen while `file` is
    // borrowed.
    Ok(unsafe {
        <Pin<KBox<DelayedRmapDevice>> as ForeignOwnable>::borrow((*file.as_ptr()).private_data)
    })
}

/// Zaps `[addr, addr + len)` of the current mm the way `MADV_DONTNEED`
/// does: `do_madvise()`, which frees the PTE tables it empties.
fn madvise_dontneed(addr: usize, len: usize) -> Result {
    madvise(addr, len, Advice::DontNeed)
}

/// The PTE table (pfn) of every page of `[addr, addr + nr pages)` in the
/// current mm; `ENXIO` if a page has none.
fn tables_of(addr: usize, nr: usize) -> Result<KVVec<usize>> {
    let task = kernel::current!();
    let mm = task.mm().ok_or(ENXIO)?;
    let mut tables = KVVec::with_capacity(nr, GFP_KERNEL)?;
    let _mmap = mm.mmap_read_lock();
    for i in 0..nr {
        // SAFETY: We hold the mmap lock of `mm` (`_mmap`).
        let table = unsafe { pte_table_pfn(mm, addr + i * PAGE_SIZE) };
        tables.push(table.ok_or(ENXIO)?, GFP_KERNEL)?;
    }
    Ok(tables)
}

/// Zaps `[addr, addr + len)` of the current mm: `zap_vma_range()`.
fn zap(addr: usize, len: usize) -> Result {
    let task = kernel::current!();
    let mm = task.mm().ok_or(ENXIO)?;
    let mmap = mm.mmap_read_lock();
    let vma = mmap.vma_lookup(addr).ok_or(ENXIO)?;
    if vma.end() < addr + len {
        return Err(EINVAL);
    }
    vma.zap_vma_range(addr, len);
    Ok(())
}

/// Which pages a scenario maps.
#[derive(Clone, Copy, PartialEq)]
enum Kind {
    /// The module's pages, through its device (`vm_insert_page()`).
    Module,
    /// A shmem file's page cache pages.
    Shmem,
}

/// How the test touches the pages before the zap.
#[derive(Clone, Copy, PartialEq)]
enum Access {
    /// Writes: dirty PTEs.
    Write,
    /// Reads only: clean PTEs (a control).
    Read,
}

/// How a scenario zaps.
#[derive(Clone, Copy, PartialEq)]
enum Zap {
    /// `zap_vma_range()` (the device's ioctl for module pages): frees no
    /// page table.
    Range,
    /// `MADV_DONTNEED` (`do_madvise()`) of pages that start a PTE table
    /// (shmem only): frees every table it empties.
    Madvise,
    /// `munmap()` of the pages.
    Munmap,
    /// A new mapping (of another shmem file) over the pages with
    /// `MAP_FIXED`: `mmap()` unmaps them first.
    MapFixed,
    /// A truncation of the shmem file to nothing (shmem only; every page
    /// of the file is zapped, so the whole mapping is).
    Truncate,
}

/// What one zap did to `nr` pages (the zapped ones: all, or those before
/// `zapped` when a control zaps part of the mapping).
struct Outcome {
    nr: usize,
    flushes: usize,
    max_flushes: usize,
    /// Flushes of the whole mm, and ranged flushes reaching outside the
    /// zap (the first one's range).
    full: usize,
    outside: usize,
    first_outside: Option<(usize, usize)>,
    /// Watched pages after the zapped ones: those a flush covered (a
    /// ranged one, or a full one), and those still mapped at the end.
    rest: usize,
    rest_flushed: usize,
    rest_mapped: usize,
    not_flushed: usize,
    out_at_flush: usize,
    first_out_at_flush: Option<usize>,
    in_at_flush: usize,
    detached_at_flush: usize,
    first_detached_at_flush: Option<usize>,
    /// PTE tables that mapped the pages, and those of them that the PMDs
    /// still point to after the zap.
    tables: usize,
    tables_left: usize,
    still_mapped: usize,
    clean: usize,
    /// Whether the zap leaves the pages dirty (all but a truncation, which
    /// drops the dirty flag with the page).
    dirty_kept: bool,
    corrupt: usize,
    bad_refs: usize,
}

/// Maps `nr` pages of `kind`, touches them, zaps them all with `how` while
/// a recorder watches the flushes, and reports.
fn run(kind: Kind, access: Access, how: Zap, nr: usize) -> Result<Outcome> {
    run_part(kind, access, how, nr, nr)
}

/// As [`run`], but zaps only the first `zapped` of the `nr` pages; the
/// outcome's counts are of those, and `rest*` of the others.
fn run_part(kind: Kind, access: Access, how: Zap, nr: usize, zapped: usize) -> Result<Outcome> {
    if zapped == 0 || zapped > nr {
        return Err(EINVAL);
    }
    // MADV_DONTNEED zaps from the start of a PTE table: map a table more
    // than needed and use the part that starts at a PMD boundary.
    let (mapped, aligned) = match how {
        Zap::Range | Zap::Munmap | Zap::MapFixed => (nr, false),
        Zap::Truncate if kind == Kind::Shmem && zapped == nr => (nr, false),
        Zap::Madvise if kind == Kind::Shmem => (nr + PTRS_PER_PTE, true),
        Zap::Madvise | Zap::Truncate => return Err(EINVAL),
    };
    let file = match kind {
        Kind::Module => open_device()?,
        Kind::Shmem => kunit_support::shmem_file(mapped * PAGE_SIZE)?,
    };
    let base = map_shared(&file, mapped)?;
    let addr = if aligned {
        base.next_multiple_of(PMD_SIZE)
    } else {
        base
    };
    // The file's page index of the first page zapped.
    let first = (addr - base) / PAGE_SIZE;

    // Touch every page through the user mapping.
    for i in 0..nr {
        let user = UserSlice::new(UserPtr::from_addr(addr + i * PAGE_SIZE), 8);
        match access {
            Access::Write => user.writer().write(&marker(i))?,
            Access::Read => {
                let _: u64 = user.reader().read()?;
            }
        }
    }

    let mut pages = KVVec::with_capacity(nr, GFP_KERNEL)?;
    let mut watched = KVVec::with_capacity(nr, GFP_KERNEL)?;
    match kind {
        Kind::Module => {
            let dev = device_of(&file)?;
            let guard = dev.mapping.lock();
            let m = guard.as_ref().ok_or(ENXIO)?;
            if m.start != addr || m.pages.len() != nr {
                return Err(ENXIO);
            }
            for page in m.pages.iter() {
                pages.push(PageRef::get(page), GFP_KERNEL)?;
            }
        }
        Kind::Shmem => {
            for i in 0..nr {
                pages.push(shmem_page(&file, first + i)?, GFP_KERNEL)?;
            }
        }
    }
    let tables = tables_of(addr, nr)?;
    let nr_tables = (addr + nr * PAGE_SIZE - 1) / PMD_SIZE - addr / PMD_SIZE + 1;
    // Each table once: (a page it maps, its pfn).
    let mut distinct = KVVec::with_capacity(nr_tables, GFP_KERNEL)?;
    let mut i = 0;
    while i < nr {
        distinct.push((i, tables[i]), GFP_KERNEL)?;
        // On to the first page of the next table.
        i += PTRS_PER_PTE - (addr / PAGE_SIZE + i) % PTRS_PER_PTE;
    }
    let mut refs_before = KVVec::with_capacity(nr, GFP_KERNEL)?;
    for p in pages.iter() {
        refs_before.push(p.page().folio_ref_count(), GFP_KERNEL)?;
        // The recorder's own references, dropped with it before the checks.
        watched.push(PageRef::get(&p.page()), GFP_KERNEL)?;
    }

    let task = kernel::current!();
    let mm = task.mm().ok_or(ENXIO)?;
    let recorder = KBox::pin_init(
        FlushRecorder::new(ARef::from(mm), addr, zapped, watched, tables)?,
        GFP_KERNEL,
    )?;
    // The file mapped over the pages by `Zap::MapFixed`.
    let over = match how {
        Zap::MapFixed => Some(kunit_support::shmem_file(zapped * PAGE_SIZE)?),
        _ => None,
    };
    match (kind, how) {
        (_, Zap::Munmap) => munmap(addr, zapped * PAGE_SIZE)?,
        (_, Zap::MapFixed) => map_fixed(over.as_deref().ok_or(EINVAL)?, addr, zapped)?,
        (Kind::Shmem, Zap::Truncate) => truncate_shmem(&file)?,
        // The device's own zap: what its ioctl does.
        (Kind::Module, _) => device_of(&file)?.zap(
            &file,
            Range {
                offset: 0,
                length: (zapped * PAGE_SIZE) as u64,
            },
        )?,
        (Kind::Shmem, Zap::Range) => zap(addr, zapped * PAGE_SIZE)?,
        (Kind::Shmem, Zap::Madvise) => madvise_dontneed(addr, zapped * PAGE_SIZE)?,
    }

    let mut out = Outcome {
        nr: zapped,
        flushes: 0,
        max_flushes: nr_tables + zapped.div_ceil(DELAYED_CAPACITY),
        full: 0,
        outside: 0,
        first_outside: None,
        rest: nr - zapped,
        rest_flushed: 0,
        rest_mapped: 0,
        not_flushed: 0,
        out_at_flush: 0,
        first_out_at_flush: None,
        in_at_flush: 0,
        detached_at_flush: 0,
        first_detached_at_flush: None,
        tables: nr_tables,
        tables_left: 0,
        still_mapped: 0,
        clean: 0,
        dirty_kept: how != Zap::Truncate,
        corrupt: 0,
        bad_refs: 0,
    };
    {
        let log = recorder.log.lock();
        out.flushes = log.flushes;
        out.full = log.full;
        out.outside = log.outside;
        out.first_outside = log.first_outside;
        out.rest_flushed = log.flushed[zapped..].iter().filter(|&&f| f).count();
        for i in 0..zapped {
            if !log.flushed[i] {
                out.not_flushed += 1;
                continue;
            }
            if log.mapped_at_flush[i] {
                out.in_at_flush += 1;
            } else {
                out.out_at_flush += 1;
                out.first_out_at_flush.get_or_insert(i);
            }
            if !log.attached_at_flush[i] {
                out.detached_at_flush += 1;
                out.first_detached_at_flush.get_or_insert(i);
            }
        }
    }
    // Which of the tables are still there.
    {
        let _mmap = mm.mmap_read_lock();
        for &(i, pfn) in distinct.iter() {
            // SAFETY: We hold the mmap lock of `mm` (`_mmap`).
            if unsafe { pte_table_pfn(mm, addr + i * PAGE_SIZE) } == Some(pfn) {
                out.tables_left += 1;
            }
        }
    }
    // Unregister; its page references go with it.
    drop(recorder);

    for (i, p) in pages.iter().enumerate() {
        let page = p.page();
        if i >= zapped {
            if page.folio_mapcount() != 0 {
                out.rest_mapped += 1;
            }
            continue;
        }
        if page.folio_mapcount() != 0 {
            out.still_mapped += 1;
        }
        if !page.folio_dirty() {
            out.clean += 1;
        }
        if access == Access::Write && page.first_word() != marker(i) {
            out.corrupt += 1;
        }
        // The zap drops exactly the mapping's reference.  Only checked for
        // the module's pages: page cache pages may also sit in per-CPU LRU
        // batches, whose references come and go.
        if kind == Kind::Module && page.folio_ref_count() != refs_before[i] - 1 {
            out.bad_refs += 1;
        }
    }
    Ok(out)
}

/// A reference to page `index` of shmem file `file`.
fn shmem_page(file: &File, index: usize) -> Result<PageRef> {
    // SAFETY: `file` comes from `kunit_support::shmem_file()` (every
    // caller's does).
    let ptr = unsafe { kunit_support::shmem_page(file, index)? };
    // SAFETY: The page has a reference for us, which `PageRef` takes over.
    Ok(unsafe { PageRef::from_owned(ptr) })
}

/// A file of one page on the file LRU (`reclaim.c`), and its page.
fn lru_file_page() -> Result<(ARef<File>, PageRef)> {
    // SAFETY: We take over both references, to put them once when dropped.
    let (file, page) = unsafe { lru_file()? };
    // SAFETY: `file` is a valid file with a reference we own, which the
    // `ARef` takes over; `File` is a transparent `struct file`.
    let file = unsafe { ARef::from_raw(file.cast::<File>()) };
    // SAFETY: `page` is a valid page with a reference we own.
    Ok((file, unsafe { PageRef::from_owned(page) }))
}

/// What `MADV_PAGEOUT` did to a dirty page of a file on the file LRU.
struct Pageout {
    seen: Flushes,
    mapcount: i32,
    dirty: bool,
    locked: bool,
    value: u64,
}

/// Maps the page of a file on the file LRU shared, reads it (clean PTE),
/// writes it (the CPU sets the dirty bit, the page stays clean) and pages
/// it out with `MADV_PAGEOUT` while a kthread has the mm loaded on a second
/// CPU, so that reclaim defers the TLB flush of the PTE it clears; the
/// folio is looked at when that flush runs.  Returns
/// before any assertion: the holder and the watch must end first.
fn pageout_dirty_lru_page() -> Result<Pageout> {
    let holder = MmHolder::new()?;
    // After the holder: the new folio waits in this CPU's LRU batch, which
    // MADV_PAGEOUT drains on the CPU the holder keeps us on.
    let (file, page) = lru_file_page()?;
    let addr = map_shared(&file, 1)?;
    let _: u64 = UserSlice::new(UserPtr::from_addr(addr), 8)
        .reader()
        .read()?;
    UserSlice::new(UserPtr::from_addr(addr), 8)
        .writer()
        .write(&marker(0))?;
    let p = page.page();
    if p.folio_mapcount() != 1 || p.folio_dirty() {
        pr_err!(
            "    # lru_page_pageout_unlock_order: before MADV_PAGEOUT: mapcount {}, {}\n",
            p.folio_mapcount(),
            if p.folio_dirty() { "dirty" } else { "clean" }
        );
        return Err(EINVAL);
    }

    let watch = FlushWatch::new(&p)?;
    let advised = madvise(addr, PAGE_SIZE, Advice::PageOut);
    let seen = watch.stop();
    drop(holder);
    advised?;

    Ok(Pageout {
        seen,
        mapcount: p.folio_mapcount(),
        dirty: p.folio_dirty(),
        locked: page_locked(&p),
        value: p.first_word(),
    })
}

/// Reports the flush order of `out`; true if every page was in the rmap,
/// its page table attached, at every flush up to its own.
fn in_rmap_at_flush(name: &str, out: &Outcome) -> bool {
    if let Some(first) = out.first_out_at_flush {
        pr_err!(
            "    # {}: {} pages: page {}: {} ({} of {} pages)\n",
            name,
            out.nr,
            first,
            ORDER_FAILURE,
            out.out_at_flush,
            out.nr
        );
    }
    if let Some(first) = out.first_detached_at_flush {
        pr_err!(
            "    # {}: {} pages: page {}: {} ({} of {} pages)\n",
            name,
            out.nr,
            first,
            TABLE_FAILURE,
            out.detached_at_flush,
            out.nr
        );
    }
    let ok = out.not_flushed == 0 && out.in_at_flush == out.nr && out.detached_at_flush == 0;
    if ok {
        pr_info!(
            "    # {}: {} pages: all in the rmap, page table attached, at their TLB flush; {} flushes (at most {})\n",
            name,
            out.nr,
            out.flushes,
            out.max_flushes
        );
    }
    ok
}

/// Reports which page tables the zap freed; true if exactly those that it
/// emptied whole (`MADV_DONTNEED` from a table boundary: `nr / 512`).
fn tables_freed_ok(name: &str, out: &Outcome) -> bool {
    let freed = out.tables - out.tables_left;
    let ok = freed == out.nr / PTRS_PER_PTE;
    if !ok {
        pr_err!(
            "    # {}: {} pages: {} of {} page tables freed, expected {}\n",
            name,
            out.nr,
            freed,
            out.tables,
            out.nr / PTRS_PER_PTE
        );
    }
    ok
}

/// Reports the end state of `out`; true if every page ended unmapped,
/// dirty (unless the zap drops the flag: a truncation), intact and (module
/// pages) with the mapping's reference dropped.
fn end_state_ok(name: &str, out: &Outcome) -> bool {
    let ok = out.not_flushed == 0
        && out.still_mapped == 0
        && (out.clean == 0 || !out.dirty_kept)
        && out.corrupt == 0
        && out.bad_refs == 0;
    if !ok {
        pr_err!(
            "    # {}: {} pages: {} never flushed, {} still mapped, {} clean, {} corrupt, {} wrong refcount\n",
            name,
            out.nr,
            out.not_flushed,
            out.still_mapped,
            out.clean,
            out.corrupt,
            out.bad_refs
        );
    }
    ok
}

/// Reports the number of flushes; true if within the bound (one per page
/// table, which dirty file pages force, and one per full delayed-rmap
/// gather) and if no flush but a full one reached outside the zap.
fn flushes_ok(name: &str, out: &Outcome) -> bool {
    let ok = out.flushes >= 1 && out.flushes <= out.max_flushes;
    if !ok {
        pr_err!(
            "    # {}: {} pages: {} flushes, expected 1..={}\n",
            name,
            out.nr,
            out.flushes,
            out.max_flushes
        );
    }
    if let Some((start, end)) = out.first_outside {
        pr_err!(
            "    # {}: {} pages: {} flushes reached outside the zap, the first [{:#x}, {:#x}): {}\n",
            name,
            out.nr,
            out.outside,
            start,
            end,
            OUTSIDE_FAILURE
        );
    }
    ok && out.outside == 0
}

/// Zaps dirty pages of each of `kinds` with `how` at `PATH_SIZES`,
/// reporting each under `name` before any verdict; (every page in the rmap
/// with its table attached at its flush, flush count within the bound, end
/// state) at every size.
fn path_case(kinds: &[Kind], how: Zap, name: &str) -> Result<(bool, bool, bool)> {
    let (mut in_rmap, mut bounded, mut end) = (true, true, true);
    for &kind in kinds {
        for nr in PATH_SIZES {
            let out = run(kind, Access::Write, how, nr)?;
            in_rmap &= in_rmap_at_flush(name, &out);
            bounded &= flushes_ok(name, &out);
            end &= end_state_ok(name, &out);
        }
    }
    Ok((in_rmap, bounded, end))
}

/// Zaps dirty pages of `kind` at every size, reporting each under `name`;
/// true if every page of every size ended as `end_state_ok()` wants.
fn end_state_case(kind: Kind, name: &str) -> Result<bool> {
    let mut ok = true;
    for nr in SIZES {
        ok &= end_state_ok(name, &run(kind, Access::Write, Zap::Range, nr)?);
    }
    Ok(ok)
}

/// Zaps dirty pages of `kind` at every size, reporting each under `name`
/// before any verdict; (every page in the rmap at its flush, flush count
/// within the bound at every size).
fn flush_order_case(kind: Kind, name: &str) -> Result<(bool, bool)> {
    let (mut in_rmap, mut bounded) = (true, true);
    for nr in SIZES {
        let out = run(kind, Access::Write, Zap::Range, nr)?;
        in_rmap &= in_rmap_at_flush(name, &out);
        bounded &= flushes_ok(name, &out);
    }
    Ok((in_rmap, bounded))
}

#[kunit_tests(delayed_rmap)]
mod tests {
    use super::*;

    /// Dirty module pages of every size end unmapped, dirty, intact, with
    /// the mapping's reference dropped.
    #[test]
    #[cfg(CONFIG_X86_64)]
    fn module_pages_end_state() -> Result {
        assert!(SIZES[SIZES.len() - 1] <= MAX_PAGES);
        assert!(end_state_case(Kind::Module, "module_pages_end_state")?);
        Ok(())
    }

    /// Dirty shmem pages of every size end unmapped, dirty and intact.
    #[test]
    #[cfg(CONFIG_X86_64)]
    fn shmem_pages_end_state() -> Result {
        assert!(end_state_case(Kind::Shmem, "shmem_pages_end_state")?);
        Ok(())
    }

    /// The fix: dirty module pages are still in the rmap at their TLB
    /// flush, and the delayed rmaps do not multiply the flushes.
    #[test]
    #[cfg(CONFIG_X86_64)]
    fn module_pages_flush_order() -> Result {
        let (in_rmap, bounded) = flush_order_case(Kind::Module, "module_pages_flush_order")?;
        assert!(in_rmap);
        assert!(bounded);
        Ok(())
    }

    /// The fix, for page cache pages: dirty shmem pages are still in the
    /// rmap at their TLB flush.
    #[test]
    #[cfg(CONFIG_X86_64)]
    fn shmem_pages_flush_order() -> Result {
        let (in_rmap, bounded) = flush_order_case(Kind::Shmem, "shmem_pages_flush_order")?;
        assert!(in_rmap);
        assert!(bounded);
        Ok(())
    }

    /// The fix of patches/7.2-fix: `MADV_DONTNEED` of whole PTE tables of
    /// dirty shmem pages frees the tables, but only after the TLB flush:
    /// at every flush each dirty page is still in the rmap with its table
    /// attached.  One page short of a table frees nothing (a control of
    /// the table count); every zap ends with the pages unmapped, dirty,
    /// intact.
    #[test]
    #[cfg(all(CONFIG_X86_64, CONFIG_PT_RECLAIM))]
    fn shmem_table_flush_order() -> Result {
        let name = "shmem_table_flush_order";
        let (mut in_rmap, mut bounded, mut freed, mut end) = (true, true, true, true);
        for nr in TABLE_SIZES {
            for _ in 0..TABLE_ROUNDS {
                let out = run(Kind::Shmem, Access::Write, Zap::Madvise, nr)?;
                in_rmap &= in_rmap_at_flush(name, &out);
                bounded &= flushes_ok(name, &out);
                freed &= tables_freed_ok(name, &out);
                end &= end_state_ok(name, &out);
            }
        }
        assert!(in_rmap);
        assert!(bounded);
        assert!(freed);
        assert!(end);
        Ok(())
    }

    /// The reclaim fix of patches/7.2-fix: `MADV_PAGEOUT` of a dirty page
    /// of a file on the file LRU, while another CPU has the mm loaded.
    /// Reclaim unmaps it with its TLB flush deferred, moves the dirty bit
    /// to the folio and keeps the folio (no writeback from a task); it must
    /// not unlock the folio, where writeback could clean it, before that
    /// flush.  Checked when the deferred flush runs (a kprobe on
    /// `arch_tlbbatch_flush()`): the folio, out of the rmap, is still
    /// locked.  The other checks show that the scenario ran (the folio was
    /// unmapped, the flush was deferred and ran, the folio ends unlocked)
    /// and lost nothing.
    #[test]
    #[cfg(all(CONFIG_ARCH_WANT_BATCHED_UNMAP_TLB_FLUSH, CONFIG_KPROBES))]
    fn lru_page_pageout_unlock_order() -> Result {
        let out = pageout_dirty_lru_page()?;
        let s = out.seen;
        let unlocked_early = s.flushes_unmapped != 0 && !s.locked_at_flush;
        if unlocked_early {
            pr_err!(
                "    # lru_page_pageout_unlock_order: folio ({}, out of the rmap) {}\n",
                if s.dirty_at_flush { "dirty" } else { "clean" },
                UNLOCK_FAILURE
            );
        }
        assert!(!unlocked_early);
        assert_eq!(out.mapcount, 0);
        assert!(out.dirty);
        assert!(!out.locked);
        assert!(s.batch_flushes >= 1);
        assert!(s.flushes_unmapped >= 1);
        assert_eq!(out.value, marker(0));
        Ok(())
    }

    /// `munmap()` of dirty module and shmem pages: each page in the rmap,
    /// its table attached, at its flush (the zap flushes before
    /// `free_pgtables()` unlinks the VMA and frees the tables); the pages
    /// end unmapped, dirty and intact.
    #[test]
    #[cfg(CONFIG_X86_64)]
    fn munmap_flush_order() -> Result {
        let (in_rmap, bounded, end) = path_case(
            &[Kind::Module, Kind::Shmem],
            Zap::Munmap,
            "munmap_flush_order",
        )?;
        assert!(in_rmap);
        assert!(bounded);
        assert!(end);
        Ok(())
    }

    /// A `MAP_FIXED` mapping over dirty module and shmem pages: `mmap()`
    /// unmaps them first, with the same order as `munmap()`.
    #[test]
    #[cfg(CONFIG_X86_64)]
    fn map_fixed_flush_order() -> Result {
        let (in_rmap, bounded, end) = path_case(
            &[Kind::Module, Kind::Shmem],
            Zap::MapFixed,
            "map_fixed_flush_order",
        )?;
        assert!(in_rmap);
        assert!(bounded);
        assert!(end);
        Ok(())
    }

    /// A truncation of a shmem file whose dirty pages are mapped: its
    /// `unmap_mapping_range()` zaps them with each in the rmap at its
    /// flush; the pages end unmapped and intact.
    #[test]
    #[cfg(CONFIG_X86_64)]
    fn shmem_truncate_flush_order() -> Result {
        let (in_rmap, bounded, end) =
            path_case(&[Kind::Shmem], Zap::Truncate, "shmem_truncate_flush_order")?;
        assert!(in_rmap);
        assert!(bounded);
        assert!(end);
        Ok(())
    }

    /// Control of the recorder's ranges: the first half of 16 dirty pages
    /// zapped.  That half is flushed, by one ranged flush within the zap,
    /// and unmapped; no flush covers the other half, which stays mapped.
    /// A recorder that took a flush for wider than it was would mark the
    /// other half flushed.
    #[test]
    #[cfg(CONFIG_X86_64)]
    fn zap_half_control() -> Result {
        for kind in [Kind::Module, Kind::Shmem] {
            let out = run_part(kind, Access::Write, Zap::Range, HALF_NR, HALF_NR / 2)?;
            if out.full != 0 || out.rest_flushed != 0 || out.rest_mapped != out.rest {
                pr_err!(
                    "    # zap_half_control: {} full flushes, {} of the {} pages not zapped flushed, {} mapped\n",
                    out.full,
                    out.rest_flushed,
                    out.rest,
                    out.rest_mapped
                );
            }
            assert_eq!(out.full, 0);
            assert_eq!(out.rest_flushed, 0);
            assert_eq!(out.rest_mapped, out.rest);
            assert!(flushes_ok("zap_half_control", &out));
            assert_eq!(out.not_flushed, 0);
            assert_eq!(out.still_mapped, 0);
            assert_eq!(out.corrupt, 0);
            assert_eq!(out.bad_refs, 0);
        }
        Ok(())
    }

    /// Control: clean pages have nothing to lose, their rmap goes at once,
    /// so the recorder must see them out of the rmap at the flush.  Shows
    /// that the flush-order cases can fail.
    #[test]
    #[cfg(CONFIG_X86_64)]
    fn clean_pages_out_of_rmap_at_flush() -> Result {
        for kind in [Kind::Module, Kind::Shmem] {
            for nr in [1, BATCH + 1] {
                let out = run(kind, Access::Read, Zap::Range, nr)?;
                assert_eq!(out.not_flushed, 0);
                assert_eq!(out.out_at_flush, nr);
                assert_eq!(out.still_mapped, 0);
            }
        }
        Ok(())
    }
}
