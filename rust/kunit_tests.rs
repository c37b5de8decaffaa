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
//! CPU TLB flush, with the range that was flushed.  For every page the
//! recorder notes whether the page was still mapped (in the rmap) at the
//! first flush that covered it.  A dirty file page must be: while its rmap
//! is there, writeback (`folio_mkclean()`) finds the PTE lock and waits for
//! the flush, so no CPU can still write through a stale TLB entry once the
//! page is cleaned.  Without the upstream fix (patches/7.2-mutation) these
//! cases fail with "out of the rmap at its TLB flush, expected in".

use super::{DelayedRmapDevice, Range, DEVICE_FOPS, MAX_PAGES};
use core::{ptr::NonNull, sync::atomic::Ordering};
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

/// What a failing flush-order case prints (scripts/rust-kunit-verdict.py
/// requires it under the mutation).
const ORDER_FAILURE: &str = "out of the rmap at its TLB flush, expected in";

/// Values of `<uapi/asm-generic/mman-common.h>` for `kunit_vm_mmap()`.
const PROT_RW: usize = (bindings::PROT_READ | bindings::PROT_WRITE) as usize;
const MAP_SHARED: usize = bindings::MAP_SHARED as usize;

/// What a page holds at offset 0 after the test wrote it.
fn marker(index: usize) -> u64 {
    0x6465_6c61_7900_0000 ^ index as u64
}

/// A counted reference to a page owned elsewhere (the page cache, the
/// device).  Dropping it puts the reference.
struct PageRef(NonNull<bindings::page>);

// SAFETY: A page reference may be taken and put from any thread: the count
// is atomic.
unsafe impl Send for PageRef {}

impl PageRef {
    /// Takes another reference to `page`.
    fn get(page: &Page) -> Self {
        let ptr = page.as_ptr();
        // SAFETY: `page` is a valid page for the duration of the call; the
        // new reference keeps it valid for the life of `Self`.
        unsafe { bindings::get_page(ptr) };
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
        // SAFETY: We own one reference to this page (type invariant).
        unsafe { bindings::put_page(self.0.as_ptr()) };
    }
}

/// What the recorder saw of the watched pages, by page index.
struct FlushLog {
    start: usize,
    pages: KVVec<PageRef>,
    /// A TLB flush covered the page.
    flushed: KVVec<bool>,
    /// The page was mapped at the first such flush.
    mapped_at_flush: KVVec<bool>,
    /// Flushes that covered at least one page for the first time.
    flushes: usize,
}

impl FlushLog {
    fn record(&mut self, start: usize, end: usize) {
        let last = self.start + self.pages.len() * PAGE_SIZE;
        let (first, stop) = (start.max(self.start), end.min(last));
        let mut counted = false;
        let mut addr = first;
        while addr < stop {
            let i = (addr - self.start) / PAGE_SIZE;
            if !self.flushed[i] {
                self.flushed[i] = true;
                self.mapped_at_flush[i] = self.pages[i].page().mapcount() > 0;
                counted = true;
            }
            addr += PAGE_SIZE;
        }
        if counted {
            self.flushes += 1;
        }
    }
}

/// An mmu_notifier on the test mm that watches TLB flushes of a range.
///
/// It is registered when initialised and unregistered when dropped; it
/// must stay pinned in between, as the mm links to it.
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
    /// Watches the pages `pages` mapped from `start` in `mm`.
    fn new(
        mm: ARef<MmWithUser>,
        start: usize,
        pages: KVVec<PageRef>,
    ) -> Result<impl PinInit<Self, Error>> {
        let n = pages.len();
        let log = FlushLog {
            start,
            pages,
            flushed: KVVec::from_elem(false, n, GFP_KERNEL)?,
            mapped_at_flush: KVVec::from_elem(false, n, GFP_KERNEL)?,
            flushes: 0,
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
    /// with `RECORDER_OPS`.
    unsafe extern "C" fn tlb_flushed(
        subscription: *mut bindings::mmu_notifier,
        _mm: *mut bindings::mm_struct,
        start: usize,
        end: usize,
    ) {
        let field = Opaque::cast_from(subscription).cast_mut();
        // SAFETY: Only recorders register `RECORDER_OPS`, so `subscription`
        // is the `notifier` field of a live, pinned `FlushRecorder` (it is
        // unregistered before it is dropped).
        let me = unsafe { &*kernel::container_of!(field, FlushRecorder, notifier) };
        me.log.lock().record(start, end);
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
    // SAFETY: `test` is the running test; `file` is a valid file, which the
    // mapping takes its own reference to.
    let addr = unsafe {
        bindings::kunit_vm_mmap(
            test,
            file.as_ptr(),
            0,
            nr * PAGE_SIZE,
            PROT_RW,
            MAP_SHARED,
            0,
        )
    };
    // vm_mmap() errors come back as negative values.
    if addr == 0 || addr > usize::MAX - 4095 {
        pr_err!("kunit_vm_mmap of {} pages failed ({:#x})\n", nr, addr);
        return Err(ENOMEM);
    }
    Ok(addr)
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
    let fops = DEVICE_FOPS.load(Ordering::Acquire);
    // SAFETY: `file` is a valid file; `f_op` does not change after open.
    let f_op = unsafe { (*file.as_ptr()).f_op };
    if fops.is_null() || f_op != fops.cast_const() {
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

/// What one zap did to `nr` pages.
struct Outcome {
    nr: usize,
    flushes: usize,
    max_flushes: usize,
    not_flushed: usize,
    out_at_flush: usize,
    first_out_at_flush: Option<usize>,
    in_at_flush: usize,
    still_mapped: usize,
    clean: usize,
    corrupt: usize,
    bad_refs: usize,
}

/// Maps `nr` pages of `kind`, touches them, zaps them all while a recorder
/// watches the flushes, and reports.
fn run(kind: Kind, access: Access, nr: usize) -> Result<Outcome> {
    let file = match kind {
        Kind::Module => open_device()?,
        Kind::Shmem => shmem_file(nr)?,
    };
    let addr = map_shared(&file, nr)?;

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
                pages.push(shmem_page(&file, i)?, GFP_KERNEL)?;
            }
        }
    }
    let mut refs_before = KVVec::with_capacity(nr, GFP_KERNEL)?;
    for p in pages.iter() {
        refs_before.push(p.page().ref_count(), GFP_KERNEL)?;
        // The recorder's own references, dropped with it before the checks.
        watched.push(PageRef::get(&p.page()), GFP_KERNEL)?;
    }

    let task = kernel::current!();
    let mm = task.mm().ok_or(ENXIO)?;
    let recorder = KBox::pin_init(
        FlushRecorder::new(ARef::from(mm), addr, watched)?,
        GFP_KERNEL,
    )?;
    match kind {
        // The device's own zap: what its ioctl does.
        Kind::Module => device_of(&file)?.zap(Range {
            offset: 0,
            length: (nr * PAGE_SIZE) as u64,
        })?,
        Kind::Shmem => zap(addr, nr * PAGE_SIZE)?,
    }

    let tables = (addr + nr * PAGE_SIZE - 1) / (PTRS_PER_PTE * PAGE_SIZE)
        - addr / (PTRS_PER_PTE * PAGE_SIZE)
        + 1;
    let mut out = Outcome {
        nr,
        flushes: 0,
        max_flushes: tables + nr.div_ceil(DELAYED_CAPACITY),
        not_flushed: 0,
        out_at_flush: 0,
        first_out_at_flush: None,
        in_at_flush: 0,
        still_mapped: 0,
        clean: 0,
        corrupt: 0,
        bad_refs: 0,
    };
    {
        let log = recorder.log.lock();
        out.flushes = log.flushes;
        for i in 0..nr {
            if !log.flushed[i] {
                out.not_flushed += 1;
            } else if log.mapped_at_flush[i] {
                out.in_at_flush += 1;
            } else {
                out.out_at_flush += 1;
                out.first_out_at_flush.get_or_insert(i);
            }
        }
    }
    // Unregister; its page references go with it.
    drop(recorder);

    for (i, p) in pages.iter().enumerate() {
        let page = p.page();
        if page.mapcount() != 0 {
            out.still_mapped += 1;
        }
        if !page.is_dirty() {
            out.clean += 1;
        }
        let mut value = 0u64;
        // SAFETY: `value` is valid for 8 bytes of writes; nothing writes to
        // the page any more (it is unmapped, or the check below fails).
        unsafe { page.read_raw((&raw mut value).cast::<u8>(), 0, 8)? };
        if access == Access::Write && value != marker(i) {
            out.corrupt += 1;
        }
        // The zap drops exactly the mapping's reference.  Only checked for
        // the module's pages: page cache pages may also sit in per-CPU LRU
        // batches, whose references come and go.
        if kind == Kind::Module && page.ref_count() != refs_before[i] - 1 {
            out.bad_refs += 1;
        }
    }
    Ok(out)
}

/// A shmem file of `nr` pages.
fn shmem_file(nr: usize) -> Result<ARef<File>> {
    let size = i64::try_from(nr * PAGE_SIZE)?;
    // SAFETY: The name is a NUL-terminated string; no VMA flags.
    let ptr = from_err_ptr(unsafe {
        bindings::shmem_file_setup(
            c"delayed-rmap-kunit".as_char_ptr(),
            size,
            pin_init::zeroed(),
        )
    })?;
    // SAFETY: shmem_file_setup() returned a valid file with one reference,
    // which we hand over to the `ARef`.
    Ok(unsafe { ARef::from_raw(NonNull::new_unchecked(ptr.cast::<File>())) })
}

/// A reference to page `index` of shmem file `file`.
fn shmem_page(file: &File, index: usize) -> Result<PageRef> {
    // SAFETY: `file` is a valid shmem file, `f_mapping` its page cache.
    let ptr = from_err_ptr(unsafe {
        bindings::shmem_read_mapping_page_gfp(
            (*file.as_ptr()).f_mapping,
            index,
            bindings::GFP_KERNEL,
        )
    })?;
    // SAFETY: shmem_read_mapping_page_gfp() returned a page with a reference
    // for us; it is not null (errors were handled above).
    Ok(unsafe { PageRef::from_owned(NonNull::new_unchecked(ptr)) })
}

/// Reports the flush order of `out`; true if every page was in the rmap at
/// its flush.
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
    let ok = out.not_flushed == 0 && out.in_at_flush == out.nr;
    if ok {
        pr_info!(
            "    # {}: {} pages: all in the rmap at their TLB flush; {} flushes (at most {})\n",
            name,
            out.nr,
            out.flushes,
            out.max_flushes
        );
    }
    ok
}

/// Reports the end state of `out`; true if every page ended unmapped,
/// dirty, intact and (module pages) with the mapping's reference dropped.
fn end_state_ok(name: &str, out: &Outcome) -> bool {
    let ok = out.not_flushed == 0
        && out.still_mapped == 0
        && out.clean == 0
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

/// Reports the number of flushes; true if within the bound: one per page
/// table (dirty file pages force it) and one per full delayed-rmap gather.
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
    ok
}

/// Zaps dirty pages of `kind` at every size, reporting each under `name`;
/// true if every page of every size ended as `end_state_ok()` wants.
fn end_state_case(kind: Kind, name: &str) -> Result<bool> {
    let mut ok = true;
    for nr in SIZES {
        ok &= end_state_ok(name, &run(kind, Access::Write, nr)?);
    }
    Ok(ok)
}

/// Zaps dirty pages of `kind` at every size, reporting each under `name`
/// before any verdict; (every page in the rmap at its flush, flush count
/// within the bound at every size).
fn flush_order_case(kind: Kind, name: &str) -> Result<(bool, bool)> {
    let (mut in_rmap, mut bounded) = (true, true);
    for nr in SIZES {
        let out = run(kind, Access::Write, nr)?;
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
    fn module_pages_end_state() -> Result {
        assert!(SIZES[SIZES.len() - 1] <= MAX_PAGES);
        assert!(end_state_case(Kind::Module, "module_pages_end_state")?);
        Ok(())
    }

    /// Dirty shmem pages of every size end unmapped, dirty and intact.
    #[test]
    fn shmem_pages_end_state() -> Result {
        assert!(end_state_case(Kind::Shmem, "shmem_pages_end_state")?);
        Ok(())
    }

    /// The fix: dirty module pages are still in the rmap at their TLB
    /// flush, and the delayed rmaps do not multiply the flushes.
    #[test]
    fn module_pages_flush_order() -> Result {
        let (in_rmap, bounded) = flush_order_case(Kind::Module, "module_pages_flush_order")?;
        assert!(in_rmap);
        assert!(bounded);
        Ok(())
    }

    /// The fix, for page cache pages: dirty shmem pages are still in the
    /// rmap at their TLB flush.
    #[test]
    fn shmem_pages_flush_order() -> Result {
        let (in_rmap, bounded) = flush_order_case(Kind::Shmem, "shmem_pages_flush_order")?;
        assert!(in_rmap);
        assert!(bounded);
        Ok(())
    }

    /// Control: clean pages have nothing to lose, their rmap goes at once,
    /// so the recorder must see them out of the rmap at the flush.  Shows
    /// that the flush-order cases can fail.
    #[test]
    fn clean_pages_out_of_rmap_at_flush() -> Result {
        for kind in [Kind::Module, Kind::Shmem] {
            for nr in [1, BATCH + 1] {
                let out = run(kind, Access::Read, nr)?;
                assert_eq!(out.not_flushed, 0);
                assert_eq!(out.out_at_flush, nr);
                assert_eq!(out.still_mapped, 0);
            }
        }
        Ok(())
    }
}
