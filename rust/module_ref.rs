// SPDX-License-Identifier: GPL-2.0

//! A module reference for every open file of the device.
//!
//! The kernel crate of Linux 7.2 builds a misc device's `file_operations`
//! without an owner (Rust-for-Linux issue #1182), so the VFS takes no
//! module reference when the device is opened: the module could be
//! unloaded while a file of its device, or a mapping of one (which holds
//! the file), still exists, and the next call through it would run freed
//! code.
//!
//! [`OWNED_FOPS`] is the kernel crate's `file_operations` of the device
//! with this module as their owner, built at compile time.  The device's
//! `open()` takes a module reference and switches the new file to them
//! (`replace_fops()`, in `module_ref.c`); from then on the VFS holds that
//! reference as for any C driver whose operations have an owner: the final
//! `fput()` of the file, after its last mapping is gone, calls `release()`
//! and then puts the reference, outside the module's code.  An `open()`
//! that fails afterwards is undone the same way (`do_dentry_open()` puts
//! the file's operations).

use core::ffi::{c_int, c_void};
use kernel::{
    bindings,
    error::to_result,
    fs::File,
    miscdevice::{MiscDevice, MiscDeviceOptions},
    prelude::*,
};

// Files and file operations are passed as `void *`: their structures hold
// fields that are not FFI-safe in Rust.
extern "C" {
    fn delayed_rmap_file_hold_module(file: *mut c_void, fops: *const c_void) -> c_int;
}

/// `file_operations` that may be shared between threads.
///
/// # Invariants
///
/// The operations are never written: a shared `&'static` to them is what
/// the VFS keeps in `struct file`.
#[repr(transparent)]
pub(crate) struct Fops(bindings::file_operations);

// SAFETY: The operations are immutable (type invariant); the pointers in
// them are to functions and to this module's `struct module`, which any
// thread may use.
unsafe impl Sync for Fops {}

impl Fops {
    /// The kernel crate's operations of the misc device `T` with `owner`.
    const fn owned<T: MiscDevice>(options: MiscDeviceOptions, owner: &'static ThisModule) -> Self {
        let raw = options.into_raw::<T>();
        // SAFETY: `raw.fops` points to the kernel crate's static vtable of
        // `T`, valid for reads; `file_operations` is `Copy`.
        let mut fops = unsafe { *raw.fops };
        fops.owner = owner.as_ptr();
        // INVARIANT: Only ever used through a shared reference.
        Fops(fops)
    }
}

/// The options the device is registered with.
pub(crate) const OPTIONS: MiscDeviceOptions = MiscDeviceOptions {
    name: c"delayed-rmap-test",
};

/// The device's file operations with this module as their owner.
static OWNED_FOPS: Fops = Fops::owned::<crate::DelayedRmapDevice>(OPTIONS, &crate::THIS_MODULE);

/// Makes `file` hold a module reference until its final `fput()`, by
/// switching it to [`OWNED_FOPS`] (the same functions, with an owner).
/// `ENODEV` if the module is being unloaded.
///
/// # Safety
///
/// `file` is being opened by the device's `open()` (the VFS allows
/// `replace_fops()` there only).
pub(crate) unsafe fn hold_module(file: &File) -> Result {
    let fops: *const Fops = &OWNED_FOPS;
    // SAFETY: `file` is valid and being opened by our `open()`, as the
    // caller guarantees; `OWNED_FOPS` lives as long as the module, which
    // the reference taken here keeps loaded while `file` uses them.
    to_result(unsafe { delayed_rmap_file_hold_module(file.as_ptr().cast(), fops.cast()) })
}
