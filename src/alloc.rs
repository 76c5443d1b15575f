//! Allocation accounting for INFO `used_memory`, and the allocator behind it (Redis:
//! `zmalloc.c`, the `MALLOC=` choice of its Makefile).
//!
//! Redis wraps its allocator to count every byte it hands out. [`CountingAllocator`] does the
//! same around the allocator this build was compiled with; the binary installs it as the global
//! allocator. The count is of requested bytes, like Redis's `used_memory` with `zmalloc_size`
//! accounting.
//!
//! Which allocator sits underneath is a build choice, as `make MALLOC=jemalloc|libc` is for
//! Redis: the default is glibc's malloc (`System`), `--features jemalloc` builds with jemalloc
//! 5.3 (the allocator Redis ships) and `--features mimalloc` with mimalloc. The comparison that
//! chose the default is in ARCHITECTURE.md (memory section) and `benches/allocator.sh`. Each
//! backend also answers the allocator-specific questions: its name for INFO `mem_allocator`,
//! its own counters for INFO `allocator_*` / MEMORY STATS ([`allocator_stats`]), its text report
//! for MEMORY MALLOC-STATS ([`malloc_stats_report`]) and giving free memory back to the system
//! for MEMORY PURGE ([`purge`]).

use std::alloc::{GlobalAlloc, Layout};
use std::sync::atomic::{AtomicUsize, Ordering};

#[cfg(all(feature = "jemalloc", feature = "mimalloc"))]
compile_error!("features `jemalloc` and `mimalloc` choose the allocator: enable at most one");

#[cfg(feature = "jemalloc")]
use tikv_jemallocator::Jemalloc as Inner;

#[cfg(all(feature = "mimalloc", not(feature = "jemalloc")))]
use mimalloc::MiMalloc as Inner;

#[cfg(not(any(feature = "jemalloc", feature = "mimalloc")))]
use std::alloc::System as Inner;

static ALLOCATED: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

pub struct CountingAllocator;

// SAFETY: every method forwards to the inner allocator with the caller's arguments unchanged, so
// the GlobalAlloc contract (layout validity, returned pointer ownership) is upheld by it; the
// only addition is a relaxed counter update, which touches no memory the allocator manages.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded unchanged; the caller guarantees `layout` has non-zero size.
        let p = unsafe { Inner.alloc(layout) };
        if !p.is_null() {
            record_alloc(layout.size());
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded unchanged; `ptr` was allocated by `Inner` with `layout`.
        unsafe { Inner.dealloc(ptr, layout) };
        ALLOCATED.fetch_sub(layout.size(), Ordering::Relaxed);
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as for `alloc`.
        let p = unsafe { Inner.alloc_zeroed(layout) };
        if !p.is_null() {
            record_alloc(layout.size());
        }
        p
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: forwarded unchanged; the caller guarantees `ptr`/`layout` describe a live
        // allocation and `new_size` is valid for `layout.align()`.
        let p = unsafe { Inner.realloc(ptr, layout, new_size) };
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

/// What the allocator itself reports (INFO `allocator_*`, MEMORY STATS), as Redis reads them
/// from jemalloc: `allocated` = bytes in live allocations, `active` = bytes of the pages those
/// allocations sit in (so `active / allocated` is the allocator's internal fragmentation),
/// `resident` = bytes of the allocator's memory that are resident.
#[derive(Clone, Copy, Default, Debug)]
pub struct AllocatorStats {
    pub allocated: usize,
    pub active: usize,
    pub resident: usize,
}

/// INFO `mem_allocator`: Redis prints `jemalloc-5.3.0` or `libc`.
pub fn allocator_name() -> String {
    backend::name()
}

/// The allocator's own counters, where it offers them.
pub fn allocator_stats() -> Option<AllocatorStats> {
    backend::stats()
}

/// The allocator's text report (MEMORY MALLOC-STATS); `None` where it has none, and Redis then
/// replies "Stats not supported for the current allocator".
pub fn malloc_stats_report() -> Option<String> {
    backend::report()
}

/// Gives free heap memory back to the system (MEMORY PURGE).
pub fn purge() {
    backend::purge()
}

/// The body of the allocators' report callbacks: appends a chunk of C text to the `String`
/// behind `opaque`.
///
/// # Safety
/// `opaque` is null or points to a live `String` no one else borrows; `text` is null or a
/// NUL-terminated string valid for the call.
#[cfg(any(feature = "jemalloc", feature = "mimalloc"))]
unsafe fn append_c_text(opaque: *mut std::ffi::c_void, text: *const std::ffi::c_char) {
    if opaque.is_null() || text.is_null() {
        return;
    }
    // SAFETY: as the caller guarantees.
    let (out, text) = unsafe {
        (
            &mut *(opaque as *mut String),
            std::ffi::CStr::from_ptr(text),
        )
    };
    out.push_str(&text.to_string_lossy());
}

/// glibc malloc: counters from `mallinfo2`, report from its fields, `malloc_trim` to purge.
/// `allocated` = bytes in use (small chunks + mmapped), `active` = bytes the heap spans (in
/// use and free chunks, + mmapped), `resident` = `active` (glibc does not say which free pages
/// are still resident).
#[cfg(not(any(feature = "jemalloc", feature = "mimalloc")))]
mod backend {
    use super::AllocatorStats;

    pub fn name() -> String {
        "libc".to_string()
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

        pub fn info() -> MallInfo2 {
            // SAFETY: `mallinfo2` takes no arguments and returns a plain struct by value; it
            // only reads the allocator's own bookkeeping under its lock.
            unsafe { mallinfo2() }
        }
    }

    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    pub fn stats() -> Option<AllocatorStats> {
        let m = glibc::info();
        Some(AllocatorStats {
            allocated: m.uordblks + m.hblkhd,
            active: m.arena + m.hblkhd,
            resident: m.arena + m.hblkhd,
        })
    }

    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    pub fn report() -> Option<String> {
        let m = glibc::info();
        Some(format!(
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
        ))
    }

    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    pub fn purge() {
        // SAFETY: `malloc_trim` takes a padding size and only releases free memory the
        // allocator owns; it touches no live allocation.
        unsafe {
            glibc::malloc_trim(0);
        }
    }

    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    pub fn stats() -> Option<AllocatorStats> {
        None
    }

    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    pub fn report() -> Option<String> {
        None
    }

    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    pub fn purge() {}
}

/// jemalloc (Redis's own choice): `stats.allocated/active/resident` through mallctl after an
/// `epoch` refresh, `malloc_stats_print` for the report, `arena.<all>.purge` to purge: what
/// Redis's `zmalloc_get_allocator_info`, `MEMORY MALLOC-STATS` and `jemalloc_purge` do.
#[cfg(feature = "jemalloc")]
mod backend {
    use super::AllocatorStats;
    use std::ffi::{c_char, c_void};
    use tikv_jemalloc_ctl::{epoch, stats};

    /// jemalloc's `MALLCTL_ARENAS_ALL`: the pseudo arena index meaning every arena.
    const MALLCTL_ARENAS_ALL: u32 = 4096;

    pub fn name() -> String {
        // "5.3.0-1-g<commit>" for the crate's build: Redis prints the release, "jemalloc-5.3.0".
        let version = tikv_jemalloc_ctl::version::read().unwrap_or("unknown");
        let release = version.split('-').next().unwrap_or(version);
        format!("jemalloc-{release}")
    }

    pub fn stats() -> Option<AllocatorStats> {
        // The counters are a snapshot taken at the last epoch advance.
        epoch::advance().ok()?;
        Some(AllocatorStats {
            allocated: stats::allocated::read().ok()?,
            active: stats::active::read().ok()?,
            resident: stats::resident::read().ok()?,
        })
    }

    /// `malloc_stats_print`'s write callback.
    unsafe extern "C" fn append_text(opaque: *mut c_void, text: *const c_char) {
        // SAFETY: `opaque` is the `&mut String` passed to `malloc_stats_print` below, alive for
        // the whole call; `text` is a NUL-terminated string jemalloc owns for this call.
        unsafe { super::append_c_text(opaque, text) }
    }

    pub fn report() -> Option<String> {
        let mut out = String::new();
        // SAFETY: the callback only appends to `out`, which outlives the call; a null options
        // string asks for the default (full) report, as Redis's MEMORY MALLOC-STATS does.
        unsafe {
            tikv_jemalloc_sys::malloc_stats_print(
                Some(append_text),
                &mut out as *mut String as *mut c_void,
                std::ptr::null(),
            );
        }
        Some(out)
    }

    pub fn purge() {
        let name = format!("arena.{MALLCTL_ARENAS_ALL}.purge\0");
        // SAFETY: `name` is NUL-terminated; `arena.<i>.purge` reads and writes no value, so
        // null old/new pointers with zero lengths are what mallctl expects.
        unsafe {
            tikv_jemalloc_sys::mallctl(
                name.as_ptr() as *const c_char,
                std::ptr::null_mut(),
                std::ptr::null_mut(),
                std::ptr::null_mut(),
                0,
            );
        }
    }
}

/// mimalloc: committed memory from `mi_process_info` as active/resident, its statistics
/// printer for the report, `mi_collect(true)` to purge.
#[cfg(all(feature = "mimalloc", not(feature = "jemalloc")))]
mod backend {
    use super::AllocatorStats;
    use std::ffi::{c_char, c_void};

    pub fn name() -> String {
        // SAFETY: `mi_version` takes no arguments and returns a constant: major, then two
        // digits of minor and two of patch (30302 is 3.3.2).
        let v = unsafe { libmimalloc_sys::mi_version() };
        format!("mimalloc-{}.{}.{}", v / 10000, v / 100 % 100, v % 100)
    }

    pub fn stats() -> Option<AllocatorStats> {
        let mut fields = [0usize; 8];
        let [a, b, c, d, e, f, g, h] = &mut fields;
        // SAFETY: every out-pointer is a distinct live `usize`.
        unsafe { libmimalloc_sys::mi_process_info(a, b, c, d, e, f, g, h) };
        let commit = fields[5];
        Some(AllocatorStats {
            allocated: super::used_memory(),
            active: commit,
            resident: commit,
        })
    }

    /// `mi_stats_print_out`'s output callback.
    unsafe extern "C" fn append_text(text: *const c_char, opaque: *mut c_void) {
        // SAFETY: `opaque` is the `&mut String` passed to `mi_stats_print_out` below, alive for
        // the whole call; `text` is a NUL-terminated string valid for this call.
        unsafe { super::append_c_text(opaque, text) }
    }

    pub fn report() -> Option<String> {
        let mut out = String::new();
        // SAFETY: the callback only appends to `out`, which outlives the call.
        unsafe {
            libmimalloc_sys::mi_stats_print_out(
                Some(append_text),
                &mut out as *mut String as *mut c_void,
            )
        };
        Some(out)
    }

    pub fn purge() {
        // SAFETY: `mi_collect` only returns free pages to the OS.
        unsafe { libmimalloc_sys::mi_collect(true) };
    }
}
