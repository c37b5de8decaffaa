// SPDX-License-Identifier: GPL-2.0

//! The reclaim watch, the parts `reclaim.c` does in C as the kernel crate
//! has no API for them: a file whose folios go to the file LRU (a pseudo
//! filesystem), and a kprobe that looks at a folio when the watched
//! thread's deferred (batched) TLB flush runs.
//!
//! `shrink_folio_list()` unmaps a mapped folio with `TTU_BATCH_FLUSH`:
//! when another CPU has the mm loaded, the TLB flush of the cleared PTE is
//! deferred, and until that flush the folio is out of the rmap while a
//! stale, writable TLB entry may still be written through.  A dirty folio
//! must stay locked until the flush: unlocked, writeback could lock it,
//! find no mapping to clean in `folio_mkclean()`, write it and mark it
//! clean while the other CPU keeps writing.

use super::page_state::PageRef;
use core::{
    ffi::{c_int, c_void},
    ptr::NonNull,
};
use kernel::{
    error::{from_err_ptr, to_result},
    fs::File,
    page::Page,
    prelude::*,
    sync::aref::ARef,
};

/// What a watch saw (`struct delayed_rmap_flushes`).
#[repr(C)]
#[derive(Clone, Copy, Default)]
pub(crate) struct Flushes {
    /// Deferred (batched) TLB flushes the thread ran: `arch_tlbbatch_flush()`.
    pub(crate) batch_flushes: u32,
    /// Those of them that ran with the folio out of the rmap: the first is
    /// the flush of the PTE reclaim cleared.
    pub(crate) flushes_unmapped: u32,
    /// At the first of those: the folio was locked.
    pub(crate) locked_at_flush: bool,
    /// At the first of those: the folio was dirty.
    pub(crate) dirty_at_flush: bool,
}

// Pages and files are passed as `void *`: `struct page` and `struct file`
// hold fields that are not FFI-safe in Rust.
extern "C" {
    fn delayed_rmap_lru_file() -> *mut c_void;
    fn delayed_rmap_page_locked(page: *mut c_void) -> bool;
    fn delayed_rmap_watch_flushes(page: *mut c_void) -> c_int;
    fn delayed_rmap_unwatch_flushes(seen: *mut Flushes);
}

/// A file of one page (uptodate, zeroed, clean), read-write, whose folio is
/// in the page cache and goes to the file LRU, through the current CPU's
/// LRU batch; no writeback.  Mapping it shared and writing the page only
/// sets the dirty bit of the PTE (no `page_mkwrite`).
pub(crate) fn lru_file() -> Result<ARef<File>> {
    // SAFETY: Always safe to call; it returns a file or an ERR_PTR.
    let file = from_err_ptr(unsafe { delayed_rmap_lru_file() })?;
    let file = NonNull::new(file.cast::<File>()).ok_or(ENOMEM)?;
    // SAFETY: The file is valid with one reference, which we hand over to
    // the `ARef`; `File` is a transparent `struct file`.
    Ok(unsafe { ARef::from_raw(file) })
}

/// Whether the folio of `page` is locked.
pub(crate) fn page_locked(page: &Page) -> bool {
    // SAFETY: `page` is a valid page for the duration of the call.
    unsafe { delayed_rmap_page_locked(page.as_ptr().cast()) }
}

/// Counts, while it lives, the deferred TLB flushes of the thread that
/// created it, and looks at the folio of a page at them (see `Flushes`).
/// One watch at a time in the module (`EBUSY`); `EOPNOTSUPP` where reclaim
/// has no batched flush or no kprobes.
///
/// # Invariants
///
/// The module's one watch (`delayed_rmap_watch_flushes()`) is running, for
/// the thread that created `self` and the page of `page` (which our
/// reference keeps valid), until `stop()` or `drop()` ends it, once.
pub(crate) struct FlushWatch {
    page: PageRef,
}

impl FlushWatch {
    /// Starts watching the current thread's deferred flushes, and `page`'s
    /// folio at them.
    pub(crate) fn new(page: PageRef) -> Result<Self> {
        // SAFETY: `page` is a valid page, and stays valid while the watch
        // runs: the watch owns the reference (the probe looks at the
        // folio only until the watch ends).
        to_result(unsafe { delayed_rmap_watch_flushes(page.page().as_ptr().cast()) })?;
        // INVARIANT: The watch runs, for this thread and `page`.
        Ok(Self { page })
    }

    /// The watched page.
    pub(crate) fn page(&self) -> &PageRef {
        &self.page
    }

    /// Ends the watch: what it saw, and the page.
    pub(crate) fn stop(self) -> (Flushes, PageRef) {
        let seen = Self::end();
        let me = core::mem::ManuallyDrop::new(self);
        // SAFETY: `me` is not dropped (`ManuallyDrop`): the page reference
        // is moved out once, and `drop()`, which must not end a watch that
        // may be another's now, does not run.
        let page = unsafe { core::ptr::read(&me.page) };
        (seen, page)
    }

    fn end() -> Flushes {
        let mut seen = Flushes::default();
        // SAFETY: `seen` is valid for writes; our watch is the one running
        // (only `stop()` and `drop()` end it, once).
        unsafe { delayed_rmap_unwatch_flushes(&mut seen) };
        seen
    }
}

impl Drop for FlushWatch {
    fn drop(&mut self) {
        Self::end();
    }
}
