// SPDX-License-Identifier: GPL-2.0

//! The flush recorder: an mmu_notifier that watches the TLB flushes of a
//! range of an mm, for the KUnit suite and for the device's watch ioctls.
//!
//! x86 `flush_tlb_mm_range()` calls `arch_invalidate_secondary_tlbs()`
//! after the CPU TLB flush, with the range that was flushed.  At every
//! flush, for every watched page that no flush has covered yet (its stale
//! TLB entries may still be written through), the recorder checks the two
//! things writeback needs to find the page: it is still mapped (in the
//! rmap), and the PMD of its address still points to the PTE table that
//! mapped it.  A dirty file page must pass both: writeback
//! (`folio_mkclean()`) goes through the rmap to the VMA, walks the page
//! tables down to the PTE lock and waits there for the flush, so no CPU
//! can still write through a stale TLB entry once the page is cleaned.
//!
//! The recorder trusts the ranges it is given: a flush of a range wider
//! than the zap's could mark pages flushed too early and hide a page out of
//! the rmap at its real flush.  So a ranged flush that reaches outside the
//! zapped range while it covers a watched page for the first time is
//! counted (`outside`) and fails a case; pages watched past the zapped
//! range are a control that no ranged flush may cover.

use super::{page_state::Inspect as _, page_state::PageRef, page_table::pte_table_pfn};
use kernel::{
    alloc::flags::GFP_KERNEL,
    bindings,
    error::to_result,
    mm::{Mm, MmWithUser},
    new_spinlock,
    page::PAGE_SIZE,
    prelude::*,
    sync::{aref::ARef, SpinLock},
    types::Opaque,
};

/// PTEs per page table (4 KiB pages, 64-bit).
const PTRS_PER_PTE: usize = 512;

/// Bytes one PTE table maps.
const PMD_SIZE: usize = PTRS_PER_PTE * PAGE_SIZE;

/// The end x86 passes for a flush of the whole mm (`TLB_FLUSH_ALL`, -1UL),
/// with start 0.
const TLB_FLUSH_ALL: usize = usize::MAX;

/// What the recorder saw of the watched pages, by page index.
///
/// # Invariants
///
/// `pages`, `tables`, `flushed`, `mapped_at_flush` and `attached_at_flush`
/// have one entry per watched page; `start <= zap_end <= start + pages.len()
/// * PAGE_SIZE`.
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
    /// whose range reaches outside the zapped range, and the first of them.
    /// A flush that covers no page not flushed yet is not counted
    /// (`munmap()` ends with one for the freed page tables, from the
    /// address of their PMD).
    outside: usize,
    first_outside: Option<(usize, usize)>,
}

impl FlushLog {
    /// A flush of `[start, end)` in `mm` has just happened.
    fn record(&mut self, mm: &Mm, start: usize, end: usize) {
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
                    let table = pte_table_pfn(mm, addr);
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

/// What a recorder saw, in counts: of the zapped pages (the first
/// `zapped`) and of the others (`rest`, the control).
#[derive(Clone, Copy, Default)]
pub(crate) struct Summary {
    pub(crate) zapped: usize,
    /// Flushes that covered a watched page first, full flushes, and ranged
    /// flushes among those that reached outside the zap (the first one's
    /// range).
    pub(crate) flushes: usize,
    pub(crate) full: usize,
    pub(crate) outside: usize,
    pub(crate) first_outside: Option<(usize, usize)>,
    /// Zapped pages no flush covered.
    pub(crate) not_flushed: usize,
    /// Zapped pages in, or out of, the rmap at every flush up to their
    /// own (the first page out).
    pub(crate) in_at_flush: usize,
    pub(crate) out_at_flush: usize,
    pub(crate) first_out_at_flush: Option<usize>,
    /// Zapped pages whose PTE table was detached at a flush up to their
    /// own (the first of them).
    pub(crate) detached_at_flush: usize,
    pub(crate) first_detached_at_flush: Option<usize>,
    /// Watched pages past the zap, and those of them a flush covered.
    pub(crate) rest: usize,
    pub(crate) rest_flushed: usize,
}

/// The state of the watched pages and their tables now.
#[derive(Clone, Copy, Default)]
pub(crate) struct EndState {
    /// PTE tables that mapped the watched pages when the watch began, and
    /// those of them that the PMDs still point to.
    pub(crate) tables: usize,
    pub(crate) tables_left: usize,
    /// Zapped pages still mapped, and not marked dirty.
    pub(crate) still_mapped: usize,
    pub(crate) clean: usize,
    /// Pages past the zap still mapped.
    pub(crate) rest_mapped: usize,
}

/// An mmu_notifier on an mm that watches TLB flushes of a range.
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
pub(crate) struct FlushRecorder {
    mm: ARef<Mm>,
    #[pin]
    log: SpinLock<FlushLog>,
    #[pin]
    notifier: Opaque<bindings::mmu_notifier>,
}

// SAFETY: The mmu_notifier core calls the callback on any CPU and
// unregisters it from any thread; the rest of the recorder is an mm
// reference (any thread may drop it) and a log behind a spinlock.
unsafe impl Send for FlushRecorder {}
// SAFETY: `&FlushRecorder` gives access to the log through its spinlock
// only; `notifier` is touched by the mmu_notifier core, which serialises
// registration, callbacks and unregistration itself.
unsafe impl Sync for FlushRecorder {}

static RECORDER_OPS: bindings::mmu_notifier_ops = bindings::mmu_notifier_ops {
    arch_invalidate_secondary_tlbs: Some(FlushRecorder::tlb_flushed),
    ..pin_init::zeroed()
};

impl FlushRecorder {
    /// Watches the pages `pages` mapped from `start` in `mm` by the PTE
    /// tables `tables` (one pfn per page), of which the first `zapped` are
    /// to be zapped.  Registering takes `mm`'s mmap lock for write: the
    /// caller must not hold it.
    pub(crate) fn new(
        mm: &MmWithUser,
        start: usize,
        zapped: usize,
        pages: KVVec<PageRef>,
        tables: KVVec<usize>,
    ) -> Result<impl PinInit<Self, Error>> {
        let n = pages.len();
        if tables.len() != n || zapped > n {
            return Err(EINVAL);
        }
        // INVARIANT: One entry per page in every vector; `zapped <= n`.
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
        // The mm itself (`mmgrab()`), not its users: a recorder kept by an
        // open file must not keep the mm's mappings, which may hold that
        // file, alive.
        let mm: ARef<Mm> = ARef::from(&**mm);
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
                // `PinnedDrop::drop()`; `mm_ptr` is a valid mm with users
                // (the caller's `&MmWithUser` for the call, our reference
                // in `mm` after it).
                to_result(unsafe { bindings::mmu_notifier_register(slot, mm_ptr) })
            }),
        }? Error))
    }

    /// `arch_invalidate_secondary_tlbs()`: the CPU TLBs of `[start, end)`
    /// have just been flushed.  May run under the PTE lock, with
    /// interrupts off, on any CPU: must not sleep.
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
        // SAFETY: Only recorders register `RECORDER_OPS` (type invariant),
        // so `subscription` is the `notifier` field of a live, pinned
        // `FlushRecorder`: it is unregistered before it is dropped.
        let me = unsafe { &*kernel::container_of!(field, FlushRecorder, notifier) };
        me.log.lock().record(&me.mm, start, end);
    }

    /// What the recorder has seen so far.
    pub(crate) fn summary(&self) -> Summary {
        let log = self.log.lock();
        let zapped = (log.zap_end - log.start) / PAGE_SIZE;
        let mut s = Summary {
            zapped,
            flushes: log.flushes,
            full: log.full,
            outside: log.outside,
            first_outside: log.first_outside,
            rest: log.pages.len() - zapped,
            rest_flushed: log.flushed[zapped..].iter().filter(|&&f| f).count(),
            ..Summary::default()
        };
        for i in 0..zapped {
            if !log.flushed[i] {
                s.not_flushed += 1;
                continue;
            }
            if log.mapped_at_flush[i] {
                s.in_at_flush += 1;
            } else {
                s.out_at_flush += 1;
                s.first_out_at_flush.get_or_insert(i);
            }
            if !log.attached_at_flush[i] {
                s.detached_at_flush += 1;
                s.first_detached_at_flush.get_or_insert(i);
            }
        }
        s
    }

    /// The watched pages and their PTE tables now.
    pub(crate) fn end_state(&self) -> EndState {
        let log = self.log.lock();
        let zapped = (log.zap_end - log.start) / PAGE_SIZE;
        let mut e = EndState::default();
        for (i, p) in log.pages.iter().enumerate() {
            let addr = log.start + i * PAGE_SIZE;
            // The first page of each table: is the table still attached?
            if i == 0 || addr % PMD_SIZE == 0 {
                e.tables += 1;
                if pte_table_pfn(&self.mm, addr) == Some(log.tables[i]) {
                    e.tables_left += 1;
                }
            }
            let page = p.page();
            if i >= zapped {
                if page.folio_mapcount() != 0 {
                    e.rest_mapped += 1;
                }
                continue;
            }
            if page.folio_mapcount() != 0 {
                e.still_mapped += 1;
            }
            if !page.folio_dirty() {
                e.clean += 1;
            }
        }
        e
    }
}

#[pinned_drop]
impl PinnedDrop for FlushRecorder {
    fn drop(self: Pin<&mut Self>) {
        // SAFETY: `notifier` was registered on `mm` in `new()` (a recorder
        // whose registration failed is never fully initialised, so never
        // dropped), and `mm` holds a reference to that mm; this waits until
        // no callback runs any more.
        unsafe { bindings::mmu_notifier_unregister(self.notifier.get(), self.mm.as_raw()) };
    }
}
