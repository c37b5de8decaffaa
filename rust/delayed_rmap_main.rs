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
//! Its watches let a test in user space check what writeback depends on
//! while the kernel zaps or reclaims that process's pages: a flush
//! recorder (`flush_recorder.rs`, an mmu_notifier) over a range of the
//! caller's mm, from `DELAYED_RMAP_WATCH` to `DELAYED_RMAP_WATCH_END`, and
//! a watch of the caller's deferred TLB flushes and of one folio at them
//! (`reclaim.rs`), from `DELAYED_RMAP_PAGEOUT_WATCH` to
//! `DELAYED_RMAP_PAGEOUT_END`, with a file whose folio is on the file LRU
//! to page out (`DELAYED_RMAP_LRU_FILE`).
//!
//! With `CONFIG_KUNIT=y` the module carries a KUnit suite, `delayed_rmap`
//! (`kunit_tests.rs`), which runs when the module is loaded and watches
//! the zaps of shmem pages in a KUnit test mm with the same recorder.
//!
//! Nothing of the kernel is needed beyond what Linux 7.2 exports: what the
//! kernel crate lacks is in the module's C files.

use flush_recorder::FlushRecorder;
use kernel::{
    alloc::flags::{__GFP_ZERO, GFP_KERNEL},
    bindings,
    fs::{file::FileDescriptorReservation, File},
    ioctl::{_IO, _IOC_SIZE, _IOR, _IOW, _IOWR},
    miscdevice::{MiscDevice, MiscDeviceRegistration},
    mm::virt::{flags as vm, VmaNew},
    new_mutex,
    page::{Page, PAGE_SIZE},
    prelude::*,
    sync::Mutex,
    uaccess::{UserPtr, UserSlice},
};
use page_state::Inspect as _;
use reclaim::{FlushWatch, Flushes};

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

/// `struct delayed_rmap_watch` of the header: a range of the caller's mm,
/// page aligned, the first `zap_length` bytes to be zapped.
#[repr(C)]
#[derive(Clone, Copy, Default)]
struct Watch {
    start: u64,
    length: u64,
    zap_length: u64,
}

// SAFETY: `Watch` is `repr(C)` with only integer fields and no padding;
// any bit pattern is a valid value.
unsafe impl kernel::transmute::FromBytes for Watch {}

/// `struct delayed_rmap_watch_result` of the header (-1: none).
#[repr(C)]
#[derive(Clone, Copy, Default)]
struct WatchResult {
    pages: u64,
    zapped: u64,
    flushes: u64,
    full_flushes: u64,
    outside_flushes: u64,
    first_outside_start: u64,
    first_outside_end: u64,
    not_flushed: u64,
    in_rmap_at_flush: u64,
    out_of_rmap_at_flush: u64,
    first_out_of_rmap: i64,
    detached_at_flush: u64,
    first_detached: i64,
    rest_flushed: u64,
    rest_mapped: u64,
    tables: u64,
    tables_left: u64,
    still_mapped: u64,
    clean: u64,
}

// SAFETY: `WatchResult` is `repr(C)` with only 64-bit integer fields and no
// padding.
unsafe impl kernel::transmute::AsBytes for WatchResult {}

/// `struct delayed_rmap_pageout` of the header.
#[repr(C)]
#[derive(Clone, Copy, Default)]
struct PageoutState {
    addr: u64,
    mapcount: i32,
    dirty: u32,
    locked: u32,
    batch_flushes: u32,
    flushes_unmapped: u32,
    locked_at_flush: u32,
    dirty_at_flush: u32,
    pad: u32,
    word: u64,
}

// SAFETY: `PageoutState` is `repr(C)` with only integer fields and no
// padding (8 + 8 * 4 + 8 bytes, every field at its natural alignment).
unsafe impl kernel::transmute::AsBytes for PageoutState {}
// SAFETY: As above; any bit pattern is a valid value.
unsafe impl kernel::transmute::FromBytes for PageoutState {}

const IOC_MAGIC: u32 = b'D' as u32;
/// Describe the current mapping.
const DELAYED_RMAP_INFO: u32 = _IOR::<Info>(IOC_MAGIC, 1);
/// Zap a range of the current mapping (the `MADV_DONTNEED` path).
const DELAYED_RMAP_ZAP: u32 = _IOW::<Range>(IOC_MAGIC, 2);
/// What the module sees of one page: mapcount, references, dirty flag.
const DELAYED_RMAP_PAGE_STATE: u32 = _IOWR::<PageState>(IOC_MAGIC, 3);
/// Watch the TLB flushes of a range of the caller's mm.
const DELAYED_RMAP_WATCH: u32 = _IOW::<Watch>(IOC_MAGIC, 4);
/// End the watch: what it saw.
const DELAYED_RMAP_WATCH_END: u32 = _IOR::<WatchResult>(IOC_MAGIC, 5);
/// A new file whose folio is on the file LRU: its fd.
const DELAYED_RMAP_LRU_FILE: u32 = _IO(IOC_MAGIC, 6);
/// Watch the caller's deferred TLB flushes and a folio at them.
const DELAYED_RMAP_PAGEOUT_WATCH: u32 = _IOWR::<PageoutState>(IOC_MAGIC, 7);
/// End that watch: what it saw.
const DELAYED_RMAP_PAGEOUT_END: u32 = _IOR::<PageoutState>(IOC_MAGIC, 8);

/// The most pages a mapping may have: more than the 10 000 pages the gather
/// frees at most in one go, so that tests can cross every batch boundary.
const MAX_PAGES: usize = 16384;

// The recorder serves the watch ioctl and the suite's cases, which are
// x86_64 only: elsewhere it is unused.
#[cfg_attr(not(CONFIG_X86_64), allow(dead_code))]
mod flush_recorder;
// The suite's helpers serve cases that are gated on the configuration
// (`kunit_tests`): where a gate is off, they are unused.
#[cfg(CONFIG_KUNIT = "y")]
#[cfg_attr(not(CONFIG_X86_64), allow(dead_code))]
mod kunit_support;
#[cfg(CONFIG_KUNIT = "y")]
mod kunit_tests;
mod module_ref;
mod page_state;
mod page_table;
mod reclaim;

module! {
    type: DelayedRmapModule,
    name: "delayed_rmap_test",
    authors: ["delayed-rmap maintainers"],
    description: "Exercise the mmu_gather delayed rmap paths from Rust",
    license: "GPL",
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
/// `watch` before `mmap_lock`: the watch ioctl takes pages with GUP and
/// registers the recorder (`mmu_notifier_register()` takes `mmap_lock` for
/// write) while it holds `watch`; nothing takes `watch` under `mmap_lock`
/// or `mapping`.  `pageout` is taken with no other lock of ours held, and
/// only the pageout watch's own mutex (in C) under it.
#[pin_data]
struct DelayedRmapDevice {
    #[pin]
    mapping: Mutex<Option<Mapping>>,
    /// The flush recorder of `DELAYED_RMAP_WATCH`, until its end.
    #[pin]
    watch: Mutex<Option<Pin<KBox<FlushRecorder>>>>,
    /// The pageout watch of `DELAYED_RMAP_PAGEOUT_WATCH`, until its end.
    #[pin]
    pageout: Mutex<Option<FlushWatch>>,
}

#[vtable]
impl MiscDevice for DelayedRmapDevice {
    type Ptr = Pin<KBox<Self>>;

    fn open(file: &File, _misc: &MiscDeviceRegistration<Self>) -> Result<Pin<KBox<Self>>> {
        let me = KBox::try_pin_init(
            try_pin_init!(DelayedRmapDevice {
                mapping <- new_mutex!(None),
                watch <- new_mutex!(None),
                pageout <- new_mutex!(None),
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
            DELAYED_RMAP_WATCH => {
                let w: Watch = user.reader().read()?;
                me.watch(w)?;
            }
            DELAYED_RMAP_WATCH_END => {
                let result = me.watch_end()?;
                user.writer().write(&result)?;
            }
            DELAYED_RMAP_LRU_FILE => return lru_file_fd(),
            DELAYED_RMAP_PAGEOUT_WATCH => {
                let (mut reader, mut writer) = user.reader_writer();
                let mut state: PageoutState = reader.read()?;
                me.pageout_watch(&mut state)?;
                writer.write(&state)?;
            }
            DELAYED_RMAP_PAGEOUT_END => {
                let state = me.pageout_end()?;
                user.writer().write(&state)?;
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

    /// Starts the flush recorder over `w` in the caller's mm.
    fn watch(&self, w: Watch) -> Result {
        if !cfg!(CONFIG_X86_64) {
            // Only x86 is known to report the ranges it flushed.
            // The kernel crate has no constant for it.
            return Err(Error::from_errno(-(bindings::EOPNOTSUPP as i32)));
        }
        let (start, nr, zapped) = watch_range(&w)?;
        let mut slot = self.watch.lock();
        if slot.is_some() {
            return Err(EBUSY);
        }
        let task = kernel::current!();
        let mm = task.mm().ok_or(ENXIO)?;
        let mut pages = KVVec::with_capacity(nr, GFP_KERNEL)?;
        for i in 0..nr {
            let page = page_table::user_page(start + i * PAGE_SIZE)?;
            // Mapped once, here: the recorder's "in the rmap" is "mapped".
            if page.page().folio_mapcount() != 1 {
                return Err(EINVAL);
            }
            pages.push(page, GFP_KERNEL)?;
        }
        let tables = page_table::pte_tables(mm, start, nr)?;
        let recorder = KBox::pin_init(
            FlushRecorder::new(mm, start, zapped, pages, tables)?,
            GFP_KERNEL,
        )?;
        *slot = Some(recorder);
        Ok(())
    }

    /// Ends the flush recorder: what it saw.
    fn watch_end(&self) -> Result<WatchResult> {
        // Taken out, so that the recorder is unregistered (which waits for
        // callbacks) with no lock of ours held.
        let recorder = self.watch.lock().take().ok_or(ENXIO)?;
        let s = recorder.summary();
        let e = recorder.end_state();
        drop(recorder);
        let index = |i: Option<usize>| i.map_or(-1, |i| i as i64);
        let (outside_start, outside_end) = s.first_outside.unwrap_or((0, 0));
        Ok(WatchResult {
            pages: (s.zapped + s.rest) as u64,
            zapped: s.zapped as u64,
            flushes: s.flushes as u64,
            full_flushes: s.full as u64,
            outside_flushes: s.outside as u64,
            first_outside_start: outside_start as u64,
            first_outside_end: outside_end as u64,
            not_flushed: s.not_flushed as u64,
            in_rmap_at_flush: s.in_at_flush as u64,
            out_of_rmap_at_flush: s.out_at_flush as u64,
            first_out_of_rmap: index(s.first_out_at_flush),
            detached_at_flush: s.detached_at_flush as u64,
            first_detached: index(s.first_detached_at_flush),
            rest_flushed: s.rest_flushed as u64,
            rest_mapped: e.rest_mapped as u64,
            tables: e.tables as u64,
            tables_left: e.tables_left as u64,
            still_mapped: e.still_mapped as u64,
            clean: e.clean as u64,
        })
    }

    /// Starts watching the caller's deferred flushes and the folio at
    /// `state.addr`; writes its state now into `state`.
    fn pageout_watch(&self, state: &mut PageoutState) -> Result {
        let addr = usize::try_from(state.addr).map_err(|_| EFAULT)?;
        let mut slot = self.pageout.lock();
        if slot.is_some() {
            return Err(EBUSY);
        }
        let page = page_table::user_page(addr)?;
        let watch = FlushWatch::new(page)?;
        fill_pageout(state, watch.page(), &Flushes::default());
        *slot = Some(watch);
        Ok(())
    }

    /// Ends the pageout watch: what it saw, and the folio's state now.
    fn pageout_end(&self) -> Result<PageoutState> {
        let watch = self.pageout.lock().take().ok_or(ENXIO)?;
        let (seen, page) = watch.stop();
        let mut state = PageoutState::default();
        fill_pageout(&mut state, &page, &seen);
        Ok(state)
    }
}

/// A new LRU file (`reclaim::lru_file()`) installed as a file descriptor of
/// the caller, close-on-exec: the descriptor.
fn lru_file_fd() -> Result<isize> {
    // Reserved first: once the file exists, nothing may fail.
    let fd = FileDescriptorReservation::get_unused_fd_flags(bindings::O_CLOEXEC)?;
    let file = reclaim::lru_file()?;
    let nr = fd.reserved_fd();
    fd.fd_install(file);
    Ok(nr as isize)
}

/// Checks that `w` is a watchable range: (start, pages, zapped pages).
fn watch_range(w: &Watch) -> Result<(usize, usize, usize)> {
    let page = PAGE_SIZE as u64;
    if w.length == 0
        || w.start % page != 0
        || w.length % page != 0
        || w.zap_length % page != 0
        || w.zap_length > w.length
        || w.length / page > MAX_PAGES as u64
    {
        return Err(EINVAL);
    }
    w.start.checked_add(w.length).ok_or(EINVAL)?;
    let start = usize::try_from(w.start).map_err(|_| EINVAL)?;
    // Both at most `MAX_PAGES`.
    let (nr, zapped) = ((w.length / page) as usize, (w.zap_length / page) as usize);
    Ok((start, nr, zapped))
}

/// `state` with the state of `page`'s folio and what a watch `seen`.
fn fill_pageout(state: &mut PageoutState, page: &page_state::PageRef, seen: &Flushes) {
    let p = page.page();
    state.mapcount = p.folio_mapcount();
    state.dirty = u32::from(p.folio_dirty());
    state.locked = u32::from(reclaim::page_locked(&p));
    state.batch_flushes = seen.batch_flushes;
    state.flushes_unmapped = seen.flushes_unmapped;
    state.locked_at_flush = u32::from(seen.locked_at_flush);
    state.dirty_at_flush = u32::from(seen.dirty_at_flush);
    state.pad = 0;
    // A marked read: sound while the page is still written to.
    state.word = p.first_word();
}
