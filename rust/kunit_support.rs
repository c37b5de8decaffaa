// SPDX-License-Identifier: GPL-2.0

//! What the KUnit suite needs and the kernel crate cannot do, through the C
//! functions of `kunit_support.c`: a shmem file, its pages and its
//! truncation, and a shared mapping of a file in the test's mm (the kernel
//! crate's bindings of Linux 7.2 have neither `<linux/shmem_fs.h>` nor the
//! values of `<linux/mman.h>`).

use core::{
    ffi::{c_int, c_void},
    ptr::NonNull,
};
use kernel::{
    bindings,
    error::{from_err_ptr, to_result},
    fs::File,
    prelude::*,
    sync::aref::ARef,
};

// Files, pages and tests are passed as `void *`: their structs hold fields
// that are not FFI-safe in Rust.
extern "C" {
    fn delayed_rmap_shmem_file(size: i64) -> *mut c_void;
    fn delayed_rmap_shmem_page(file: *mut c_void, index: usize) -> *mut c_void;
    fn delayed_rmap_map_shared(
        test: *mut c_void,
        file: *mut c_void,
        addr: *mut usize,
        len: usize,
        fixed: bool,
    ) -> c_int;
    fn delayed_rmap_shmem_truncate(file: *mut c_void);
}

/// A shmem file of `size` bytes.
pub(crate) fn shmem_file(size: usize) -> Result<ARef<File>> {
    let size = i64::try_from(size)?;
    // SAFETY: Always safe to call; it returns a file or an ERR_PTR.
    let ptr = from_err_ptr(unsafe { delayed_rmap_shmem_file(size) })?;
    let ptr = NonNull::new(ptr.cast::<File>()).ok_or(ENOMEM)?;
    // SAFETY: The file is valid with one reference, which we hand over to
    // the `ARef`; `File` is a transparent `struct file`.
    Ok(unsafe { ARef::from_raw(ptr) })
}

/// Page `index` of shmem file `file`, with a reference the caller takes
/// over (to put once).
///
/// # Safety
///
/// `file` is a shmem file (from [`shmem_file`]).
pub(crate) unsafe fn shmem_page(file: &File, index: usize) -> Result<NonNull<bindings::page>> {
    // SAFETY: `file` is a valid shmem file (the caller promises), whose
    // page cache the function reads; it returns a page or an ERR_PTR.
    let ptr = from_err_ptr(unsafe { delayed_rmap_shmem_page(file.as_ptr().cast(), index) })?;
    NonNull::new(ptr.cast::<bindings::page>()).ok_or(ENOMEM)
}

/// Maps `len` bytes of `file` shared and writable, from offset 0, into the
/// mm of the KUnit test `test` (which KUnit creates on first use and tears
/// down after the case): anywhere, or at `at` with `MAP_FIXED` (replacing
/// what is mapped there).  The mapping takes its own reference to `file`.
///
/// # Safety
///
/// `test` is the KUnit test the current thread runs.
pub(crate) unsafe fn map_shared(
    test: *mut bindings::kunit,
    file: &File,
    len: usize,
    at: Option<usize>,
) -> Result<usize> {
    let (mut addr, fixed) = at.map_or((0, false), |a| (a, true));
    // SAFETY: `test` is the running test (the caller promises); `file` is a
    // valid file for the call; `addr` is valid for reads and writes.
    let ret = unsafe {
        delayed_rmap_map_shared(test.cast(), file.as_ptr().cast(), &mut addr, len, fixed)
    };
    to_result(ret).inspect_err(|e| {
        pr_err!("kunit_vm_mmap of {} bytes failed: {:?}\n", len, e);
    })?;
    Ok(addr)
}

/// Empties the page cache of shmem file `file` (`shmem_truncate_range()`,
/// what a truncation to 0 does after it has zapped the file's mappings).
///
/// # Safety
///
/// `file` is a shmem file (from [`shmem_file`]).
pub(crate) unsafe fn shmem_truncate(file: &File) {
    // SAFETY: `file` is a valid shmem file (the caller promises); the
    // function takes the locks it needs.
    unsafe { delayed_rmap_shmem_truncate(file.as_ptr().cast()) }
}
