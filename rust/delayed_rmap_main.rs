// SPDX-License-Identifier: GPL-2.0

//! Exercise the mmu_gather paths of Linux 7.x from Rust.
//!
//! A misc device, `/dev/delayed-rmap-test`. `mmap()` of it (shared, offset 0)
//! maps pages the module owns with `vm_insert_page()`; ioctls zap a range of
//! that mapping through the real zap path (`zap_vma_range()`) and report what
//! the module knows. The user-visible interface is `rust/delayed_rmap_test.h`.
//!
//! Every ioctl argument is checked: an unknown command is `-ENOTTY`, a bad
//! range, size or alignment `-EINVAL`, an unreadable or unwritable argument
//! `-EFAULT`, a zap without a mapping of this file `-ENXIO`.  A zap touches
//! only a VMA that maps this very file (its `vm_file`), whole, as `mmap()`
//! made it: never another file's mapping that took its place.
//!
//! With `CONFIG_KUNIT=y` the module carries a KUnit suite, `delayed_rmap`
//! (`kunit_tests.rs`), which runs when the module is loaded; it walks page
//! tables with the C function of `page_table.c` (`page_table.rs`) and zaps
//! like `MADV_DONTNEED` with `do_madvise()`, which the kernel exports to
//! KUnit tests only (patches/7.2: the namespace the module imports).

use kernel::{
    alloc::flags::{__GFP_ZERO, GFP_KERNEL},
    fs::File,
    ioctl::{_IOC_SIZE, _IOR, _IOW, _IOWR},
    miscdevice::{MiscDevice, MiscDeviceRegistration},
    mm::virt::{flags as vm, VmaNew},
    new_mutex,
    page::{Page, PAGE_SIZE},
    prelude::*,
    sync::Mutex,
    uaccess::{UserPtr, UserSlice},
};
use page_state::Inspect as _;

/// `struct delayed_rmap_info` of the header.
#[repr(C)]
#[derive(Clone, Copy, Default)]
struct Info {
    /// Pages mapped by the current mapping (0: none).
    nr_pages: u64,
    /// User address of the mapping.
    start: u64,
    /// The most pages one mapping may have.
    max_pages: u64,
}

// SAFETY: `Info` is `repr(C)` with only integer fields and no padding.
unsafe impl kernel::transmute::AsBytes for Info {}

/// `struct delayed_rmap_range` of the header: byte offset and length in the
/// mapping, both page aligned, length not zero.
#[repr(C)]
#[derive(Clone, Copy, Default)]
struct Range {
    offset: u64,
    length: u64,
}

// SAFETY: `Range` is `repr(C)` with only integer fields and no padding; any
// bit pattern is a valid value.
unsafe impl kernel::transmute::FromBytes for Range {}

/// `struct delayed_rmap_page_state` of the header: `index` in, the rest out.
#[repr(C)]
#[derive(Clone, Copy, Default)]
struct PageState {
    index: u64,
    mapcount: i32,
    refcount: i32,
    dirty: u32,
    word_valid: u32,
    word: u64,
}

// SAFETY: `PageState` is `repr(C)` with only integer fields and no padding
// (8 + 4 + 4 + 4 + 4 + 8 bytes, every field at its natural alignment).
unsafe impl kernel::transmute::AsBytes for PageState {}
// SAFETY: As above; any bit pattern is a valid value.
unsafe impl kernel::transmute::FromBytes for PageState {}

const IOC_MAGIC: u32 = b'D' as u32;
/// Describe the current mapping.
const DELAYED_RMAP_INFO: u32 = _IOR::<Info>(IOC_MAGIC, 1);
/// Zap a range of the current mapping (the `MADV_DONTNEED` path).
const DELAYED_RMAP_ZAP: u32 = _IOW::<Range>(IOC_MAGIC, 2);
/// What the module sees of one page: mapcount, references, dirty flag.
const DELAYED_RMAP_PAGE_STATE: u32 = _IOWR::<PageState>(IOC_MAGIC, 3);

/// The most pages a mapping may have: more than the 10 000 pages the gather
/// frees at most in one go, so that tests can cross every batch boundary.
const MAX_PAGES: usize = 16384;

// The suite's helpers serve cases that are gated on the configuration
// (`kunit_tests`): where a gate is off, some of them are unused.
#[cfg(CONFIG_KUNIT = "y")]
#[cfg_attr(not(all(CONFIG_X86_64, CONFIG_PT_RECLAIM)), allow(dead_code))]
mod kunit_support;
#[cfg(CONFIG_KUNIT = "y")]
mod kunit_tests;
mod module_ref;
mod page_state;
#[cfg(CONFIG_KUNIT = "y")]
#[cfg_attr(not(CONFIG_X86_64), allow(dead_code))]
mod page_table;
#[cfg(CONFIG_KUNIT = "y")]
#[cfg_attr(
    not(all(CONFIG_ARCH_WANT_BATCHED_UNMAP_TLB_FLUSH, CONFIG_KPROBES)),
    allow(dead_code)
)]
mod reclaim;

module! {
    type: DelayedRmapModule,
    name: "delayed_rmap_test",
    authors: ["delayed-rmap maintainers"],
    description: "Exercise the mmu_gather delayed rmap paths from Rust",
    license: "GPL",
    imports_ns: ["EXPORTED_FOR_KUNIT_TESTING"],
}

#[pin_data]
struct DelayedRmapModule {
    #[pin]
    miscdev: MiscDeviceRegistration<DelayedRmapDevice>,
}

impl kernel::InPlaceModule for DelayedRmapModule {
    fn init(_module: &'static ThisModule) -> impl PinInit<Self, Error> {
        try_pin_init!(Self {
            miscdev <- MiscDeviceRegistration::register(module_ref::OPTIONS),
        })
    }
}

/// What one open file has mapped.
///
/// # Invariants
///
/// `pages` are the pages `mmap()` inserted from `start`, one per page of
/// the VMA it set up, in order; they stay allocated while `self` lives
/// (the device's state, freed when the file is released).
struct Mapping {
    /// The pages, in mapping order; they stay allocated until the file is
    /// released (the zap drops the mapping's references, not ours).
    pages: KVVec<Page>,
    /// User address of the mapping.
    start: usize,
}

/// One open file of the device.
///
/// Lock order: `mmap_lock` before `mapping`. `mmap()` is called with the
/// caller's `mmap_lock` held for write and takes `mapping`; so nothing may
/// take `mmap_lock` while it holds `mapping` (the zap ioctl copies what it
/// needs out of `mapping` and drops it before it takes `mmap_lock`).
#[pin_data]
struct DelayedRmapDevice {
    #[pin]
    mapping: Mutex<Option<Mapping>>,
}

#[vtable]
impl MiscDevice for DelayedRmapDevice {
    type Ptr = Pin<KBox<Self>>;

    fn open(file: &File, _misc: &MiscDeviceRegistration<Self>) -> Result<Pin<KBox<Self>>> {
        let me = KBox::try_pin_init(
            try_pin_init!(DelayedRmapDevice {
                mapping <- new_mutex!(None),
            }),
            GFP_KERNEL,
        )?;
        // The file (and any mapping of it, which holds the file) keeps the
        // module loaded until its final fput(): see `module_ref`.
        // SAFETY: `file` is being opened by this `open()`.
        unsafe { module_ref::hold_module(file) }?;
        Ok(me)
    }

    fn mmap(me: Pin<&DelayedRmapDevice>, _file: &File, vma: &VmaNew) -> Result {
        // SAFETY: `vma` is being set up by this `mmap()` call (type
        // invariant of `VmaNew`): nothing else writes its `vm_pgoff`.
        let pgoff = unsafe { (*vma.as_ptr()).vm_pgoff };
        // The pages are the mapping's own, from offset 0 (the header says
        // so): an offset would name pages that do not exist.
        if vma.flags() & vm::SHARED == 0 || pgoff != 0 {
            return Err(EINVAL);
        }
        let len = vma.end() - vma.start();
        let nr = len / PAGE_SIZE;
        if nr == 0 || nr > MAX_PAGES {
            return Err(EINVAL);
        }
        let mut guard = me.mapping.lock();
        if guard.is_some() {
            // One mapping per open file: its pages are what the ioctls
            // describe.
            return Err(EBUSY);
        }

        let mut pages = KVVec::with_capacity(nr, GFP_KERNEL)?;
        for _ in 0..nr {
            pages.push(Page::alloc_page(GFP_KERNEL | __GFP_ZERO)?, GFP_KERNEL)?;
        }
        vma.set_dontexpand();
        vma.set_dontcopy();
        let mixed = vma.set_mixedmap();
        for (i, page) in pages.iter().enumerate() {
            mixed.vm_insert_page(vma.start() + i * PAGE_SIZE, page)?;
        }
        // INVARIANT: The pages just inserted, from the VMA's start.
        *guard = Some(Mapping {
            pages,
            start: vma.start(),
        });
        Ok(())
    }

    fn ioctl(me: Pin<&DelayedRmapDevice>, file: &File, cmd: u32, arg: usize) -> Result<isize> {
        let size = _IOC_SIZE(cmd);
        let user = UserSlice::new(UserPtr::from_addr(arg), size);
        match cmd {
            DELAYED_RMAP_INFO => {
                let info = me.info();
                user.writer().write(&info)?;
            }
            DELAYED_RMAP_ZAP => {
                let range: Range = user.reader().read()?;
                me.zap(file, range)?;
            }
            DELAYED_RMAP_PAGE_STATE => {
                let (mut reader, mut writer) = user.reader_writer();
                let mut state: PageState = reader.read()?;
                me.page_state(&mut state)?;
                writer.write(&state)?;
            }
            _ => return Err(ENOTTY),
        }
        Ok(0)
    }
}

impl DelayedRmapDevice {
    fn info(&self) -> Info {
        let guard = self.mapping.lock();
        match &*guard {
            Some(m) => Info {
                nr_pages: m.pages.len() as u64,
                start: m.start as u64,
                max_pages: MAX_PAGES as u64,
            },
            None => Info {
                max_pages: MAX_PAGES as u64,
                ..Info::default()
            },
        }
    }

    fn page_state(&self, state: &mut PageState) -> Result {
        let guard = self.mapping.lock();
        let m = guard.as_ref().ok_or(ENXIO)?;
        let index = usize::try_from(state.index).map_err(|_| EINVAL)?;
        let page = m.pages.get(index).ok_or(EINVAL)?;
        state.mapcount = page.folio_mapcount();
        state.refcount = page.folio_ref_count();
        state.dirty = u32::from(page.folio_dirty());
        state.word_valid = 0;
        state.word = 0;
        if state.mapcount == 0 {
            // A marked read: sound even if someone still writes to the page
            // (through a stale TLB entry without the fix, or O_DIRECT).
            state.word = page.first_word();
            state.word_valid = 1;
        }
        Ok(())
    }

    /// Zap `range` of `file`'s mapping in the caller's address space;
    /// `self` is the state of `file`.
    fn zap(&self, file: &File, range: Range) -> Result {
        let page = PAGE_SIZE as u64;
        if range.length == 0 || range.offset % page != 0 || range.length % page != 0 {
            return Err(EINVAL);
        }
        let end = range.offset.checked_add(range.length).ok_or(EINVAL)?;

        // Where the mapping is and how long, copied out: `mapping` must not
        // be held when `mmap_lock` is taken (see `DelayedRmapDevice`). A
        // file has at most one mapping and keeps its pages until it is
        // released, which the caller's reference to it prevents; whether
        // the mapping is still there is checked under `mmap_lock` below.
        let (start, len) = {
            let guard = self.mapping.lock();
            let m = guard.as_ref().ok_or(ENXIO)?;
            (m.start, m.pages.len() * PAGE_SIZE)
        };
        if end > len as u64 {
            return Err(EINVAL);
        }
        let task = kernel::current!();
        let mm = task.mm().ok_or(ENXIO)?;
        let mmap = mm.mmap_read_lock();
        // The mapping may have been unmapped, moved, split or replaced since
        // mmap(), by another file's mapping too: the VMA at `start` must map
        // this file, all of its pages, and still be a mixed map.
        let vma = mmap.vma_lookup(start).ok_or(ENXIO)?;
        // SAFETY: We hold the mmap lock of the VMA's mm (`mmap`), so the VMA
        // and its `vm_file`, set before the VMA was inserted, are stable.
        let vm_file = unsafe { (*vma.as_ptr()).vm_file };
        if !core::ptr::eq(vm_file, file.as_ptr())
            || vma.start() != start
            || vma.end() - vma.start() != len
            || vma.as_mixedmap_vma().is_none()
        {
            return Err(ENXIO);
        }
        // Both fit in usize: they are at most the mapping's length.
        vma.zap_vma_range(start + range.offset as usize, range.length as usize);
        Ok(())
    }
}
