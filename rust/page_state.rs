// SPDX-License-Identifier: GPL-2.0

//! What the module reads of a page, through the C functions of
//! `page_state.c`: the kernel crate of Linux 7.2 has no accessor for them,
//! and the C ones are static inline, which bindgen cannot call.

use core::{ffi::c_void, ptr::NonNull};
use kernel::{
    bindings,
    page::{BorrowedPage, Page},
};

// Pages are passed as `void *`: `struct page` holds fields that are not
// FFI-safe in Rust.
extern "C" {
    fn delayed_rmap_page_first_word(page: *mut c_void) -> u64;
    fn delayed_rmap_folio_ref_count(page: *mut c_void) -> i32;
    fn delayed_rmap_folio_mapcount(page: *mut c_void) -> i32;
    fn delayed_rmap_folio_dirty(page: *mut c_void) -> bool;
    fn delayed_rmap_get_page(page: *mut c_void);
    fn delayed_rmap_put_page(page: *mut c_void);
}

/// The state of a page and of its folio, as tests look at it.
///
/// The folio's values are snapshots: they can change at any time unless the
/// caller keeps the folio's other users away.  The module's pages are order
/// 0, their folio is the page; the tests' shmem pages are order 0 unless
/// shmem huge pages are enabled (`shmem_enabled`; the configurations of
/// this project leave the default, `never`).
pub(crate) trait Inspect {
    /// References to the folio (`folio_ref_count()`).
    fn folio_ref_count(&self) -> i32;
    /// User page table entries that map the folio (`folio_mapcount()`).
    fn folio_mapcount(&self) -> i32;
    /// Whether the folio is marked dirty (`folio_test_dirty()`).
    fn folio_dirty(&self) -> bool;
    /// The first 8 bytes of the page, read with one `READ_ONCE()` in C.
    ///
    /// Sound while anyone writes to the page (a user mapping, a stale TLB
    /// entry, `O_DIRECT`, `process_vm_writev()`): a marked load may race
    /// with those stores, unlike [`Page::read_raw`], whose contract
    /// excludes concurrent writers.  The value is the page's at some
    /// instant of the call.
    fn first_word(&self) -> u64;
}

impl Inspect for Page {
    fn folio_ref_count(&self) -> i32 {
        // SAFETY: `self.as_ptr()` is a valid page for the whole call (type
        // invariant of `Page`); the function only reads its folio's count.
        unsafe { delayed_rmap_folio_ref_count(self.as_ptr().cast()) }
    }

    fn folio_mapcount(&self) -> i32 {
        // SAFETY: As above; the function only reads the folio's mapcount.
        unsafe { delayed_rmap_folio_mapcount(self.as_ptr().cast()) }
    }

    fn folio_dirty(&self) -> bool {
        // SAFETY: As above; the function only reads the folio's flags.
        unsafe { delayed_rmap_folio_dirty(self.as_ptr().cast()) }
    }

    fn first_word(&self) -> u64 {
        // SAFETY: As above; the function maps the page with
        // kmap_local_page() and reads 8 bytes at offset 0, within it.
        unsafe { delayed_rmap_page_first_word(self.as_ptr().cast()) }
    }
}

/// Takes another reference to `page`.
///
/// # Safety
///
/// `page` is a valid page on which the caller holds a reference for the
/// whole call.  The new reference is the caller's, to put once with
/// [`put_page`].
unsafe fn get_page(page: *mut bindings::page) {
    // SAFETY: The caller's reference keeps `page` valid during the call.
    unsafe { delayed_rmap_get_page(page.cast()) }
}

/// Puts a reference to `page`.
///
/// # Safety
///
/// The caller owns a reference to `page` (from [`get_page`] or handed over
/// by whoever took it) and gives it up: it must not use the page through
/// that reference again.
unsafe fn put_page(page: *mut bindings::page) {
    // SAFETY: The caller's reference keeps `page` valid until this call
    // puts it.
    unsafe { delayed_rmap_put_page(page.cast()) }
}

/// A counted reference to a page owned elsewhere (the page cache, the
/// device, a user mapping).  Dropping it puts the reference.
///
/// # Invariants
///
/// The pointer is a valid page on which `self` holds one reference.
pub(crate) struct PageRef(NonNull<bindings::page>);

// SAFETY: A page reference may be taken and put from any thread: the count
// is atomic.
unsafe impl Send for PageRef {}

impl PageRef {
    /// Takes another reference to `page`.
    pub(crate) fn get(page: &Page) -> Self {
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
    pub(crate) unsafe fn from_owned(ptr: NonNull<bindings::page>) -> Self {
        // INVARIANT: The caller hands its reference over.
        Self(ptr)
    }

    /// The page, for as long as `self` is borrowed.
    pub(crate) fn page(&self) -> BorrowedPage<'_> {
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
