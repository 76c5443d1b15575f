//! Allocation accounting for INFO `used_memory` (Redis: `zmalloc.c`).
//!
//! Redis wraps its allocator to count every byte it hands out. [`CountingAllocator`] does the
//! same around the system allocator; the binary installs it as the global allocator. The count
//! is of requested bytes, like Redis's `used_memory` with `zmalloc_size` accounting.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

static ALLOCATED: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

pub struct CountingAllocator;

// SAFETY: every method forwards to `System` with the caller's arguments unchanged, so the
// GlobalAlloc contract (layout validity, returned pointer ownership) is upheld by `System`; the
// only addition is a relaxed counter update, which touches no memory the allocator manages.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded unchanged; the caller guarantees `layout` has non-zero size.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            record_alloc(layout.size());
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded unchanged; `ptr` was allocated by `System` with `layout`.
        unsafe { System.dealloc(ptr, layout) };
        ALLOCATED.fetch_sub(layout.size(), Ordering::Relaxed);
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as for `alloc`.
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            record_alloc(layout.size());
        }
        p
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: forwarded unchanged; the caller guarantees `ptr`/`layout` describe a live
        // allocation and `new_size` is valid for `layout.align()`.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            ALLOCATED.fetch_sub(layout.size(), Ordering::Relaxed);
            record_alloc(new_size);
        }
        p
    }
}

fn record_alloc(size: usize) {
    let now = ALLOCATED.fetch_add(size, Ordering::Relaxed) + size;
    if now > PEAK.load(Ordering::Relaxed) {
        PEAK.store(now, Ordering::Relaxed);
    }
}

/// Bytes currently allocated through the global allocator (0 if it is not installed).
pub fn used_memory() -> usize {
    ALLOCATED.load(Ordering::Relaxed)
}

/// Highest `used_memory` seen.
pub fn peak_memory() -> usize {
    PEAK.load(Ordering::Relaxed)
}

/// Resident set size of this process, from /proc (0 where unavailable).
pub fn rss_bytes() -> usize {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| {
            s.split_whitespace()
                .nth(1)
                .and_then(|p| p.parse::<usize>().ok())
        })
        .map(|pages| pages * 4096)
        .unwrap_or(0)
}

/// What the allocator itself reports (INFO `allocator_*`, MEMORY STATS). Redis reads these
/// from jemalloc; with glibc's malloc they come from `mallinfo2`:
/// `allocated` = bytes in use (small chunks + mmapped), `active` = bytes the heap spans (in
/// use and free chunks, + mmapped), `resident` = `active` (glibc does not say which free
/// pages are still resident).
#[derive(Clone, Copy, Default, Debug)]
pub struct AllocatorStats {
    pub allocated: usize,
    pub active: usize,
    pub resident: usize,
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
mod glibc {
    /// glibc's `struct mallinfo2` (glibc 2.33+): ten `size_t` counters.
    #[repr(C)]
    pub struct MallInfo2 {
        pub arena: usize,
        pub ordblks: usize,
        pub smblks: usize,
        pub hblks: usize,
        pub hblkhd: usize,
        pub usmblks: usize,
        pub fsmblks: usize,
        pub uordblks: usize,
        pub fordblks: usize,
        pub keepcost: usize,
    }

    extern "C" {
        pub fn mallinfo2() -> MallInfo2;
        pub fn malloc_trim(pad: usize) -> i32;
    }
}

/// The allocator's own counters, where it offers them (glibc on Linux).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
pub fn allocator_stats() -> Option<(AllocatorStats, String)> {
    // SAFETY: `mallinfo2` takes no arguments and returns a plain struct by value; it only
    // reads the allocator's own bookkeeping under its lock.
    let m = unsafe { glibc::mallinfo2() };
    let stats = AllocatorStats {
        allocated: m.uordblks + m.hblkhd,
        active: m.arena + m.hblkhd,
        resident: m.arena + m.hblkhd,
    };
    let report = format!(
        "___ glibc malloc statistics (mallinfo2) ___\n\
         arena (bytes obtained with sbrk): {}\n\
         ordblks (free chunks): {}\n\
         smblks (free fastbin blocks): {}\n\
         hblks (mmapped regions): {}\n\
         hblkhd (bytes in mmapped regions): {}\n\
         fsmblks (bytes in free fastbin blocks): {}\n\
         uordblks (bytes in use): {}\n\
         fordblks (bytes free): {}\n\
         keepcost (releasable from the top): {}\n\
         --- End glibc malloc statistics ---\n",
        m.arena,
        m.ordblks,
        m.smblks,
        m.hblks,
        m.hblkhd,
        m.fsmblks,
        m.uordblks,
        m.fordblks,
        m.keepcost
    );
    Some((stats, report))
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub fn allocator_stats() -> Option<(AllocatorStats, String)> {
    None
}

/// Gives free heap memory back to the system (MEMORY PURGE; Redis purges jemalloc's arenas).
pub fn purge() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: `malloc_trim` takes a padding size and only releases free memory the allocator
    // owns; it touches no live allocation.
    unsafe {
        glibc::malloc_trim(0);
    }
}
