// SPDX-License-Identifier: GPL-2.0

//! A user page table, through the C functions of `page_table.c`, which Rust
//! cannot write with bindings (the accessors are static inline): which PTE
//! table maps an address, and which page.

use super::page_state::PageRef;
use core::{
    ffi::{c_int, c_void},
    ptr::{self, NonNull},
};
use kernel::{
    alloc::flags::GFP_KERNEL, bindings, error::to_result, mm::Mm, page::PAGE_SIZE, prelude::*,
};

extern "C" {
    /// `mm` is a `struct mm_struct *` and `pagep` a `struct page **`: passed
    /// as `void *`, as those structs hold fields that are not FFI-safe in
    /// Rust.
    fn delayed_rmap_pte_table_pfn(mm: *mut c_void, addr: usize) -> usize;
    fn delayed_rmap_get_user_page(addr: usize, pagep: *mut *mut c_void) -> c_int;
}

/// The page frame number of the PTE table that the PMD of `addr` in `mm`
/// points to, or `None` if there is none (no PMD, an empty one, a huge page
/// mapping, or an architecture without GUP-fast, whose lockless walk this
/// is).  Takes no lock and may run concurrently with anything that changes
/// or frees the page tables: the PMD may change right after.
pub(crate) fn pte_table_pfn(mm: &Mm, addr: usize) -> Option<usize> {
    // SAFETY: `mm` is a valid mm, its pgd allocated, while borrowed; the
    // walk keeps every lower table it reads alive by itself (interrupts
    // off, as GUP-fast) and only reads.
    let pfn = unsafe { delayed_rmap_pte_table_pfn(mm.as_raw().cast(), addr) };
    (pfn != 0).then_some(pfn)
}

/// The PTE table (pfn) of each of the `nr` pages from `start` in `mm`;
/// `EFAULT` if a page has none.
pub(crate) fn pte_tables(mm: &Mm, start: usize, nr: usize) -> Result<KVVec<usize>> {
    let mut tables = KVVec::with_capacity(nr, GFP_KERNEL)?;
    for i in 0..nr {
        let table = pte_table_pfn(mm, start + i * PAGE_SIZE).ok_or(EFAULT)?;
        tables.push(table, GFP_KERNEL)?;
    }
    Ok(tables)
}

/// A reference to the page mapped at user address `addr` of the current
/// task (GUP, not for writing; a page not present is faulted in); `EFAULT`
/// if there is none GUP can take.
pub(crate) fn user_page(addr: usize) -> Result<PageRef> {
    let mut page: *mut c_void = ptr::null_mut();
    // SAFETY: `page` is valid for writes; the function checks `addr`
    // against the current task's mm and takes the locks it needs.
    to_result(unsafe { delayed_rmap_get_user_page(addr, &mut page) })?;
    let page = NonNull::new(page.cast::<bindings::page>()).ok_or(EFAULT)?;
    // SAFETY: GUP returned a valid page with a reference for us, which the
    // `PageRef` takes over.
    Ok(unsafe { PageRef::from_owned(page) })
}
