// SPDX-License-Identifier: GPL-2.0

//! The module's KUnit suite, `delayed_rmap`: it runs when the module is
//! loaded (`CONFIG_KUNIT=y`).
//!
//! Each case gives its test thread a KUnit test mm (`kunit_vm_mmap()`),
//! maps the pages of a shmem file shared into it, writes to them so that
//! the CPU sets the dirty bit of their PTEs, and zaps them through a real
//! zap path (`zap_vma_range()`, the `MADV_DONTNEED` path; `munmap()`; a
//! `MAP_FIXED` mapping over them; a truncation of the file), for page
//! counts on both sides of every mmu_gather batch boundary.
//!
//! A flush recorder (`flush_recorder.rs`) watches each zap: at every TLB
//! flush, every dirty page that no flush has covered yet must still be in
//! the rmap with its PTE table attached, which writeback needs to find it.
//! Without the upstream fix (patches/7.2-mutation) the cases fail with "out
//! of the rmap at its TLB flush, expected in".
//!
//! The module's own pages, the whole-PTE-table `MADV_DONTNEED` and
//! reclaim's batched flush are checked from user space, through the
//! device's watch ioctls (`selftests/rust_device.c`): those paths start
//! with a system call.
//!
//! Each case is gated on x86_64 and reports SKIPPED elsewhere: the
//! constants are its 4 KiB pages and 64-bit pointers, and its flush is the
//! one seen to pass the flushed range to `arch_invalidate_secondary_tlbs()`
//! (an architecture that does not call it would fail the cases, "never
//! flushed").

// Where the gate is off, the helpers of the cases are unused.
#![cfg_attr(not(CONFIG_X86_64), allow(dead_code, unused_imports))]
use super::{
    flush_recorder::{EndState, FlushRecorder, Summary},
    kunit_support,
    page_state::{Inspect as _, PageRef},
    page_table::pte_tables,
};
use kernel::{
    alloc::flags::GFP_KERNEL,
    bindings,
    error::to_result,
    fs::File,
    page::PAGE_SIZE,
    prelude::*,
    uaccess::{UserPtr, UserSlice},
};

/// Entries of one mmu_gather page batch: `MAX_GATHER_BATCH` for 4 KiB
/// pages on 64-bit, `(PAGE_SIZE - sizeof(struct mmu_gather_batch)) /
/// sizeof(void *)`.
const BATCH: usize = (PAGE_SIZE - 16) / 8;

/// Pages with a delayed rmap one gather holds before it must flush: the
/// on-stack batch (`MMU_GATHER_BUNDLE`) and one page batch
/// (`tlb_next_batch()` refuses a third while rmaps are delayed).
const DELAYED_CAPACITY: usize = 8 + BATCH;

/// Page counts zapped in one go: one page, both sides of the page batch and
/// of the delayed-rmap capacity, and more than `MAX_GATHER_BATCH_COUNT`
/// batches hold (10 000 pages).
const SIZES: [usize; 7] = [
    1,
    BATCH - 1,
    BATCH,
    BATCH + 1,
    DELAYED_CAPACITY,
    DELAYED_CAPACITY + 1,
    10007,
];

/// Page counts of the other zap paths (`munmap()`, `MAP_FIXED`, truncate):
/// one page, past one page batch, past the delayed-rmap capacity.
const PATH_SIZES: [usize; 3] = [1, BATCH + 1, DELAYED_CAPACITY + 1];

/// What a failing flush-order case prints (scripts/kunit-verdict.py
/// requires it under the mutation).
const ORDER_FAILURE: &str = "out of the rmap at its TLB flush, expected in";

/// What a case prints when a ranged flush reached outside the zap: the
/// recorder cannot tell what that flush covered.
const OUTSIDE_FAILURE: &str = "a flush range the recorder cannot trust";

/// Pages of the zap-half control: their first half is zapped, 8 pages, a
/// ranged flush on x86 (it flushes ranges of up to
/// `tlb_single_page_flush_ceiling`, 33 pages by default, page by page).
const HALF_NR: usize = 16;

/// What a page holds at offset 0 after the test wrote it.
fn marker(index: usize) -> u64 {
    0x6465_6c61_7900_0000 ^ index as u64
}

/// The KUnit test the current thread runs.
fn current_test() -> Result<*mut bindings::kunit> {
    // SAFETY: Always safe to call; null outside a KUnit test.
    let test = unsafe { bindings::kunit_get_current_test() };
    if test.is_null() {
        return Err(EINVAL);
    }
    Ok(test)
}

/// Maps `nr` pages of `file` shared and writable into the test's mm (which
/// KUnit creates on first use and tears down after the case).
fn map_shared(file: &File, nr: usize) -> Result<usize> {
    let test = current_test()?;
    // SAFETY: `test` is the test the current thread runs.
    unsafe { kunit_support::map_shared(test, file, nr * PAGE_SIZE, None) }
}

/// Maps `nr` pages of `file` shared and writable at `addr` with
/// `MAP_FIXED`, replacing (unmapping) what the test mm has there.
fn map_fixed(file: &File, addr: usize, nr: usize) -> Result {
    let test = current_test()?;
    // SAFETY: `test` is the test the current thread runs.
    unsafe { kunit_support::map_shared(test, file, nr * PAGE_SIZE, Some(addr)) }?;
    Ok(())
}

/// `munmap(addr, len)` in the current mm.
fn munmap(addr: usize, len: usize) -> Result {
    // SAFETY: Always safe to call: `vm_munmap()` checks the range against
    // the current task's mm and takes its mmap lock.
    to_result(unsafe { bindings::vm_munmap(addr, len) })
}

/// Truncates shmem file `file` to nothing, as `shmem_setattr()` does: the
/// file's mappings zapped (`unmap_mapping_range()`, with COWed pages), then
/// its page cache emptied; `i_size` is left as it is.
fn truncate_shmem(file: &File) {
    // SAFETY: `file` is a valid file; its `f_mapping`, set at open, does
    // not change; the function takes the locks it needs.
    unsafe { bindings::unmap_mapping_range((*file.as_ptr()).f_mapping, 0, 0, 1) };
    // SAFETY: `file` comes from `kunit_support::shmem_file()` (every
    // caller's does).
    unsafe { kunit_support::shmem_truncate(file) };
}

/// Zaps `[addr, addr + len)` of the current mm: `zap_vma_range()`.
fn zap(addr: usize, len: usize) -> Result {
    let task = kernel::current!();
    let mm = task.mm().ok_or(ENXIO)?;
    let mmap = mm.mmap_read_lock();
    let vma = mmap.vma_lookup(addr).ok_or(ENXIO)?;
    if vma.end() < addr + len {
        return Err(EINVAL);
    }
    vma.zap_vma_range(addr, len);
    Ok(())
}

/// How the test touches the pages before the zap.
#[derive(Clone, Copy, PartialEq)]
enum Access {
    /// Writes: dirty PTEs.
    Write,
    /// Reads only: clean PTEs (a control).
    Read,
}

/// How a scenario zaps.
#[derive(Clone, Copy, PartialEq)]
enum Zap {
    /// `zap_vma_range()`: frees no page table.
    Range,
    /// `munmap()` of the pages.
    Munmap,
    /// A new mapping (of another shmem file) over the pages with
    /// `MAP_FIXED`: `mmap()` unmaps them first.
    MapFixed,
    /// A truncation of the shmem file to nothing (every page of the file is
    /// zapped, so the whole mapping is).
    Truncate,
}

/// What one zap did to `nr` shmem pages (the zapped ones: all, or those
/// before `zapped` when a control zaps part of the mapping).
struct Outcome {
    nr: usize,
    /// What the recorder saw (`rest*`: the pages after the zapped ones),
    /// and the pages and tables after the zap.
    seen: Summary,
    end: EndState,
    max_flushes: usize,
    /// Whether the zap leaves the pages dirty (all but a truncation, which
    /// drops the dirty flag with the page).
    dirty_kept: bool,
    corrupt: usize,
}

/// Maps `nr` shmem pages, touches them, zaps them all with `how` while a
/// recorder watches the flushes, and reports.
fn run(access: Access, how: Zap, nr: usize) -> Result<Outcome> {
    run_part(access, how, nr, nr)
}

/// As [`run`], but zaps only the first `zapped` of the `nr` pages; the
/// outcome's counts are of those, and `rest*` of the others.
fn run_part(access: Access, how: Zap, nr: usize, zapped: usize) -> Result<Outcome> {
    if zapped == 0 || zapped > nr || (how == Zap::Truncate && zapped != nr) {
        return Err(EINVAL);
    }
    let file = kunit_support::shmem_file(nr * PAGE_SIZE)?;
    let addr = map_shared(&file, nr)?;

    // Touch every page through the user mapping.
    for i in 0..nr {
        let user = UserSlice::new(UserPtr::from_addr(addr + i * PAGE_SIZE), 8);
        match access {
            Access::Write => user.writer().write(&marker(i))?,
            Access::Read => {
                let _: u64 = user.reader().read()?;
            }
        }
    }

    let mut pages = KVVec::with_capacity(nr, GFP_KERNEL)?;
    let mut watched = KVVec::with_capacity(nr, GFP_KERNEL)?;
    for i in 0..nr {
        let page = shmem_page(&file, i)?;
        // The recorder's own references, dropped with it before the checks.
        watched.push(PageRef::get(&page.page()), GFP_KERNEL)?;
        pages.push(page, GFP_KERNEL)?;
    }
    let task = kernel::current!();
    let mm = task.mm().ok_or(ENXIO)?;
    let tables = pte_tables(mm, addr, nr)?;
    let recorder = KBox::pin_init(
        FlushRecorder::new(mm, addr, zapped, watched, tables)?,
        GFP_KERNEL,
    )?;
    // The file mapped over the pages by `Zap::MapFixed`.
    let over = match how {
        Zap::MapFixed => Some(kunit_support::shmem_file(zapped * PAGE_SIZE)?),
        _ => None,
    };
    match how {
        Zap::Munmap => munmap(addr, zapped * PAGE_SIZE)?,
        Zap::MapFixed => map_fixed(over.as_deref().ok_or(EINVAL)?, addr, zapped)?,
        Zap::Truncate => truncate_shmem(&file),
        Zap::Range => zap(addr, zapped * PAGE_SIZE)?,
    }
    let seen = recorder.summary();
    let end = recorder.end_state();
    // Unregister; its page references go with it.
    drop(recorder);

    let corrupt = match access {
        Access::Write => pages
            .iter()
            .take(zapped)
            .enumerate()
            .filter(|(i, p)| p.page().first_word() != marker(*i))
            .count(),
        Access::Read => 0,
    };
    Ok(Outcome {
        nr: zapped,
        seen,
        end,
        // One per PTE table the pages were mapped by, one per full gather.
        max_flushes: end.tables + zapped.div_ceil(DELAYED_CAPACITY),
        dirty_kept: how != Zap::Truncate,
        corrupt,
    })
}

/// A reference to page `index` of shmem file `file`.
fn shmem_page(file: &File, index: usize) -> Result<PageRef> {
    // SAFETY: `file` comes from `kunit_support::shmem_file()` (every
    // caller's does).
    let ptr = unsafe { kunit_support::shmem_page(file, index)? };
    // SAFETY: The page has a reference for us, which `PageRef` takes over.
    Ok(unsafe { PageRef::from_owned(ptr) })
}

/// Reports the flush order of `out`; true if every page was in the rmap,
/// its page table attached, at every flush up to its own.
fn in_rmap_at_flush(name: &str, out: &Outcome) -> bool {
    let s = &out.seen;
    if let Some(first) = s.first_out_at_flush {
        pr_err!(
            "    # {}: {} pages: page {}: {} ({} of {} pages)\n",
            name,
            out.nr,
            first,
            ORDER_FAILURE,
            s.out_at_flush,
            out.nr
        );
    }
    if let Some(first) = s.first_detached_at_flush {
        pr_err!(
            "    # {}: {} pages: page {}: page table detached at its TLB flush ({} of {} pages)\n",
            name,
            out.nr,
            first,
            s.detached_at_flush,
            out.nr
        );
    }
    let ok = s.not_flushed == 0 && s.in_at_flush == out.nr && s.detached_at_flush == 0;
    if ok {
        pr_info!(
            "    # {}: {} pages: all in the rmap, page table attached, at their TLB flush; {} flushes (at most {})\n",
            name,
            out.nr,
            s.flushes,
            out.max_flushes
        );
    }
    ok
}

/// Reports the end state of `out`; true if every page ended unmapped,
/// dirty (unless the zap drops the flag: a truncation) and intact.
fn end_state_ok(name: &str, out: &Outcome) -> bool {
    let (s, e) = (&out.seen, &out.end);
    let ok = s.not_flushed == 0
        && e.still_mapped == 0
        && (e.clean == 0 || !out.dirty_kept)
        && out.corrupt == 0;
    if !ok {
        pr_err!(
            "    # {}: {} pages: {} never flushed, {} still mapped, {} clean, {} corrupt\n",
            name,
            out.nr,
            s.not_flushed,
            e.still_mapped,
            e.clean,
            out.corrupt
        );
    }
    ok
}

/// Reports the number of flushes; true if within the bound (one per page
/// table, which dirty file pages force, and one per full delayed-rmap
/// gather) and if no flush but a full one reached outside the zap.
fn flushes_ok(name: &str, out: &Outcome) -> bool {
    let s = &out.seen;
    let ok = s.flushes >= 1 && s.flushes <= out.max_flushes;
    if !ok {
        pr_err!(
            "    # {}: {} pages: {} flushes, expected 1..={}\n",
            name,
            out.nr,
            s.flushes,
            out.max_flushes
        );
    }
    if let Some((start, end)) = s.first_outside {
        pr_err!(
            "    # {}: {} pages: {} flushes reached outside the zap, the first [{:#x}, {:#x}): {}\n",
            name,
            out.nr,
            s.outside,
            start,
            end,
            OUTSIDE_FAILURE
        );
    }
    ok && s.outside == 0
}

/// Zaps dirty shmem pages with `how` at `PATH_SIZES`, reporting each under
/// `name` before any verdict; (every page in the rmap with its table
/// attached at its flush, flush count within the bound, end state) at
/// every size.
fn path_case(how: Zap, name: &str) -> Result<(bool, bool, bool)> {
    let (mut in_rmap, mut bounded, mut end) = (true, true, true);
    for nr in PATH_SIZES {
        let out = run(Access::Write, how, nr)?;
        in_rmap &= in_rmap_at_flush(name, &out);
        bounded &= flushes_ok(name, &out);
        end &= end_state_ok(name, &out);
    }
    Ok((in_rmap, bounded, end))
}

#[kunit_tests(delayed_rmap)]
mod tests {
    use super::*;

    /// Dirty shmem pages of every size end unmapped, dirty and intact.
    #[test]
    #[cfg(CONFIG_X86_64)]
    fn shmem_pages_end_state() -> Result {
        let mut ok = true;
        for nr in SIZES {
            ok &= end_state_ok(
                "shmem_pages_end_state",
                &run(Access::Write, Zap::Range, nr)?,
            );
        }
        assert!(ok);
        Ok(())
    }

    /// The fix, for page cache pages: dirty shmem pages are still in the
    /// rmap at their TLB flush, and the delayed rmaps do not multiply the
    /// flushes.
    #[test]
    #[cfg(CONFIG_X86_64)]
    fn shmem_pages_flush_order() -> Result {
        let name = "shmem_pages_flush_order";
        let (mut in_rmap, mut bounded) = (true, true);
        for nr in SIZES {
            let out = run(Access::Write, Zap::Range, nr)?;
            in_rmap &= in_rmap_at_flush(name, &out);
            bounded &= flushes_ok(name, &out);
        }
        assert!(in_rmap);
        assert!(bounded);
        Ok(())
    }

    /// `munmap()` of dirty shmem pages: each page in the rmap, its table
    /// attached, at its flush (the zap flushes before `free_pgtables()`
    /// unlinks the VMA and frees the tables); the pages end unmapped,
    /// dirty and intact.
    #[test]
    #[cfg(CONFIG_X86_64)]
    fn munmap_flush_order() -> Result {
        let (in_rmap, bounded, end) = path_case(Zap::Munmap, "munmap_flush_order")?;
        assert!(in_rmap);
        assert!(bounded);
        assert!(end);
        Ok(())
    }

    /// A `MAP_FIXED` mapping over dirty shmem pages: `mmap()` unmaps them
    /// first, with the same order as `munmap()`.
    #[test]
    #[cfg(CONFIG_X86_64)]
    fn map_fixed_flush_order() -> Result {
        let (in_rmap, bounded, end) = path_case(Zap::MapFixed, "map_fixed_flush_order")?;
        assert!(in_rmap);
        assert!(bounded);
        assert!(end);
        Ok(())
    }

    /// A truncation of a shmem file whose dirty pages are mapped: its
    /// `unmap_mapping_range()` zaps them with each in the rmap at its
    /// flush; the pages end unmapped and intact.
    #[test]
    #[cfg(CONFIG_X86_64)]
    fn shmem_truncate_flush_order() -> Result {
        let (in_rmap, bounded, end) = path_case(Zap::Truncate, "shmem_truncate_flush_order")?;
        assert!(in_rmap);
        assert!(bounded);
        assert!(end);
        Ok(())
    }

    /// Control of the recorder's ranges: the first half of 16 dirty pages
    /// zapped.  That half is flushed, by one ranged flush within the zap,
    /// and unmapped; no flush covers the other half, which stays mapped.
    /// A recorder that took a flush for wider than it was would mark the
    /// other half flushed.
    #[test]
    #[cfg(CONFIG_X86_64)]
    fn zap_half_control() -> Result {
        let out = run_part(Access::Write, Zap::Range, HALF_NR, HALF_NR / 2)?;
        let (s, e) = (&out.seen, &out.end);
        if s.full != 0 || s.rest_flushed != 0 || e.rest_mapped != s.rest {
            pr_err!(
                "    # zap_half_control: {} full flushes, {} of the {} pages not zapped flushed, {} mapped\n",
                s.full,
                s.rest_flushed,
                s.rest,
                e.rest_mapped
            );
        }
        assert_eq!(s.full, 0);
        assert_eq!(s.rest_flushed, 0);
        assert_eq!(e.rest_mapped, s.rest);
        assert!(flushes_ok("zap_half_control", &out));
        assert_eq!(s.not_flushed, 0);
        assert_eq!(e.still_mapped, 0);
        assert_eq!(out.corrupt, 0);
        Ok(())
    }

    /// Control: clean pages have nothing to lose, their rmap goes at once,
    /// so the recorder must see them out of the rmap at the flush.  Shows
    /// that the flush-order cases can fail.
    #[test]
    #[cfg(CONFIG_X86_64)]
    fn clean_pages_out_of_rmap_at_flush() -> Result {
        for nr in [1, BATCH + 1] {
            let out = run(Access::Read, Zap::Range, nr)?;
            assert_eq!(out.seen.not_flushed, 0);
            assert_eq!(out.seen.out_at_flush, nr);
            assert_eq!(out.end.still_mapped, 0);
        }
        Ok(())
    }
}
