// SPDX-License-Identifier: GPL-2.0

//! The parts of the reclaim case that `reclaim.c` does in C, as the kernel
//! crate has no API for them: a kthread that keeps the test mm loaded on a
//! second CPU (so that reclaim defers its TLB flush), a file whose folios
//! go to the file LRU (a pseudo filesystem), and a kprobe that looks at a
//! folio when the test thread's deferred TLB flush runs.

use core::{
    ffi::{c_int, c_void},
    marker::PhantomData,
    ptr::NonNull,
};
use kernel::{
    bindings,
    error::{from_err_ptr, to_result},
    page::Page,
    prelude::*,
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
    fn delayed_rmap_hold_mm() -> *mut c_void;
    fn delayed_rmap_release_mm(holder: *mut c_void);
    fn delayed_rmap_lru_file(pagep: *mut *mut c_void) -> *mut c_void;
    fn delayed_rmap_page_locked(page: *mut c_void) -> bool;
    fn delayed_rmap_watch_flushes(page: *mut c_void) -> c_int;
    fn delayed_rmap_unwatch_flushes(seen: *mut Flushes);
}

/// The current KUnit test thread's mm, loaded on a second CPU by a kthread
/// that sleeps there, while the test thread stays on the CPU it ran on when
/// this was created.  Dropping it stops the kthread and gives the thread
/// back its affinity.  Not `Send`: it must be dropped by the thread that
/// created it.
///
/// # Invariants
///
/// The pointer is a holder that `delayed_rmap_hold_mm()` returned on the
/// thread that owns `self`, not released yet.
pub(crate) struct MmHolder(NonNull<c_void>);

impl MmHolder {
    /// Gives the current KUnit test thread its test mm if it has none yet
    /// (`kunit_attach_mm()`), then holds it as described above.  `EINVAL`
    /// outside a KUnit test, `ENODEV` with a single online CPU.
    pub(crate) fn new() -> Result<Self> {
        // SAFETY: Always safe to call; null outside a KUnit test.
        if unsafe { bindings::kunit_get_current_test() }.is_null() {
            return Err(EINVAL);
        }
        // SAFETY: We run as a KUnit test thread (checked above), for which
        // delayed_rmap_hold_mm() is made; it returns a holder or an ERR_PTR.
        let holder = from_err_ptr(unsafe { delayed_rmap_hold_mm() })?;
        // INVARIANT: A holder of this thread, released only by `drop()`.
        NonNull::new(holder).map(Self).ok_or(EINVAL)
    }
}

impl Drop for MmHolder {
    fn drop(&mut self) {
        // SAFETY: `self.0` came from delayed_rmap_hold_mm() on this thread
        // (`Self` is not `Send`) and is released once, here.
        unsafe { delayed_rmap_release_mm(self.0.as_ptr()) };
    }
}

/// A file of one page (uptodate, zeroed, clean) whose folio is in the page
/// cache and goes to the file LRU; no writeback.  Returns the file's raw
/// pointer (one reference) and the page (a reference of its own), for the
/// caller to wrap.
///
/// # Safety
///
/// The caller takes over both references: it must put each exactly once.
pub(crate) unsafe fn lru_file() -> Result<(NonNull<bindings::file>, NonNull<bindings::page>)> {
    let mut page: *mut c_void = core::ptr::null_mut();
    // SAFETY: `page` is valid for writes; the function returns a file or
    // an ERR_PTR, and sets `page` only on success.
    let file = from_err_ptr(unsafe { delayed_rmap_lru_file(&mut page) })?;
    match (NonNull::new(file), NonNull::new(page)) {
        (Some(file), Some(page)) => Ok((file.cast(), page.cast())),
        _ => Err(EINVAL),
    }
}

/// Whether the folio of `page` is locked.
pub(crate) fn page_locked(page: &Page) -> bool {
    // SAFETY: `page` is a valid page for the duration of the call.
    unsafe { delayed_rmap_page_locked(page.as_ptr().cast()) }
}

/// Counts, while it lives, the deferred TLB flushes of the thread that
/// created it, and looks at the folio of a page at them (see `Flushes`).
/// One watch at a time (`EBUSY`); `EOPNOTSUPP` where reclaim has no
/// batched flush or no kprobes.  Not `Send`: it watches the thread that
/// created it.
///
/// # Invariants
///
/// The module's one watch (`delayed_rmap_watch_flushes()`) is running, for
/// the thread that owns `self` and a page that outlives `'a`, until
/// `stop()` or `drop()` ends it, once.
pub(crate) struct FlushWatch<'a> {
    _page: PhantomData<&'a Page>,
    _thread: PhantomData<*mut ()>,
}

impl<'a> FlushWatch<'a> {
    /// Starts watching the current thread's deferred flushes, and `page`'s
    /// folio at them.
    pub(crate) fn new(page: &'a Page) -> Result<Self> {
        // SAFETY: `page` is a valid page, and stays valid while the watch
        // (which borrows it) runs: the probe looks at its folio only then.
        to_result(unsafe { delayed_rmap_watch_flushes(page.as_ptr().cast()) })?;
        // INVARIANT: The watch runs, for this thread and `page`.
        Ok(Self {
            _page: PhantomData,
            _thread: PhantomData,
        })
    }

    /// Ends the watch: what it saw.
    pub(crate) fn stop(self) -> Flushes {
        let seen = Self::end();
        // Ended: `drop()` must not end a watch that may be another's now.
        core::mem::forget(self);
        seen
    }

    fn end() -> Flushes {
        let mut seen = Flushes::default();
        // SAFETY: `seen` is valid for writes; our watch is the one running
        // (only `stop()` and `drop()` end it, once).
        unsafe { delayed_rmap_unwatch_flushes(&mut seen) };
        seen
    }
}

impl Drop for FlushWatch<'_> {
    fn drop(&mut self) {
        Self::end();
    }
}
