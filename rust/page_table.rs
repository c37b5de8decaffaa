// SPDX-License-Identifier: GPL-2.0

//! Which PTE table maps an address: the page table walk of `page_table.c`,
//! which Rust cannot do through bindings (the accessors are static inline).

use core::ffi::c_void;
use kernel::mm::MmWithUser;

extern "C" {
    /// `mm` is a `struct mm_struct *`: passed as `void *`, as
    /// `struct mm_struct` holds fields that are not FFI-safe in Rust.
    fn delayed_rmap_pte_table_pfn(mm: *mut c_void, addr: usize) -> usize;
}

/// The page frame number of the PTE table that the PMD of `addr` in `mm`
/// points to, or `None` if there is none (no PMD, an empty one, a huge page
/// mapping).  Takes no lock: the PMD may change right after.
///
/// # Safety
///
/// For the whole call, the caller holds the mmap lock of `mm`, or a VMA
/// lock of a VMA of `mm` that covers `addr`: the page tables above the PMD
/// must not be freed under the walk.
pub(crate) unsafe fn pte_table_pfn(mm: &MmWithUser, addr: usize) -> Option<usize> {
    // SAFETY: `mm` is a valid mm with users; the caller keeps the tables
    // above the PMD of `addr` alive (see above), and the walk only reads.
    let pfn = unsafe { delayed_rmap_pte_table_pfn(mm.as_raw().cast(), addr) };
    (pfn != 0).then_some(pfn)
}
