//! Lazy freeing (Redis: `lazyfree.c`).
//!
//! Freeing memory is work too: dropping a hash of ten million fields, or a whole database on
//! FLUSHALL, means millions of deallocations. Done inside the command, it would stall every other
//! client for as long. Redis hands such values to a background thread (UNLINK, `FLUSHALL ASYNC`,
//! the `lazyfree-lazy-*` directives). ferrodis has one thread, so it does the same work
//! *incrementally*: the command only moves the value into a [`LazyFreeQueue`] (O(1)), and the event
//! loop drops a bounded slice of it at the end of every turn (`before_sleep`) until it is gone.
//!
//! Cost model, as Redis's `lazyfreeGetFreeEffort`: a value is worth deferring only if freeing it
//! touches more than [`LAZYFREE_THRESHOLD`] allocations; smaller ones are dropped on the spot,
//! which is cheaper than queueing them. A flushed database is a vector of entries, which is
//! drained from the end in chunks, so its cost is spread over many turns; a single huge
//! collection is dropped as one unit, but outside any command.

use super::value::{Object, Value};
use crate::types::sds::Sds;
use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// Values with more elements than this are freed lazily (Redis: `LAZYFREE_THRESHOLD`).
pub const LAZYFREE_THRESHOLD: usize = 64;

/// Elements sampled to estimate a queued value's size (MEMORY USAGE's default).
const QUEUED_SIZE_SAMPLES: usize = 5;

/// Entries of a flushed database dropped per step (between two clock checks).
const ENTRIES_PER_STEP: usize = 1024;

enum Garbage {
    /// One big value (UNLINK of a large collection).
    Value(Value),
    /// The whole contents of a flushed database.
    Entries(Vec<(Sds, Object)>),
}

/// Values waiting to be dropped by the event loop.
#[derive(Default)]
pub struct LazyFreeQueue {
    queue: VecDeque<Garbage>,
    /// Objects queued and not yet freed (INFO `lazyfree_pending_objects`).
    pending: usize,
    /// Objects freed lazily since start (INFO `lazyfreed_objects`).
    freed: u64,
}

impl LazyFreeQueue {
    pub fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }

    pub fn pending_objects(&self) -> usize {
        self.pending
    }

    pub fn freed_objects(&self) -> u64 {
        self.freed
    }

    /// CONFIG RESETSTAT (Redis: `lazyfreeResetStats`).
    pub fn reset_stats(&mut self) {
        self.freed = 0;
    }

    /// Frees `value` now if it is small, or queues it for the event loop if it is big.
    /// Redis: `dbAsyncDelete` / `freeObjAsync`.
    /// Returns the (sampled) bytes of a queued value, 0 when it was dropped at once: eviction
    /// counts them as freed already, as Redis's background thread soon makes them.
    pub fn free_value(&mut self, value: Value) -> usize {
        if value.element_count() > LAZYFREE_THRESHOLD {
            let size = value.heap_size_sampled(QUEUED_SIZE_SAMPLES);
            self.pending += 1;
            self.queue.push_back(Garbage::Value(value));
            return size;
        }
        // Otherwise `value` is dropped here, which is cheap.
        0
    }

    /// Queues the contents of a flushed database (FLUSHDB/FLUSHALL ASYNC). Redis:
    /// `emptyDbAsync`.
    pub fn free_entries(&mut self, entries: Vec<(Sds, Object)>) {
        if entries.is_empty() {
            return;
        }
        self.pending += entries.len();
        self.queue.push_back(Garbage::Entries(entries));
    }

    /// Drops queued garbage until the queue is empty or `budget` has elapsed. Returns the number
    /// of objects freed. Called by the event loop once per turn.
    pub fn free_some(&mut self, budget: Duration) -> usize {
        let started = Instant::now();
        let mut freed = 0;
        while let Some(front) = self.queue.front_mut() {
            match front {
                Garbage::Value(_) => {
                    if let Some(Garbage::Value(value)) = self.queue.pop_front() {
                        drop(value);
                    }
                    freed += 1;
                }
                Garbage::Entries(entries) => {
                    let keep = entries.len().saturating_sub(ENTRIES_PER_STEP);
                    freed += entries.len() - keep;
                    entries.truncate(keep);
                    if entries.is_empty() {
                        self.queue.pop_front();
                    }
                }
            }
            if started.elapsed() >= budget {
                break;
            }
        }
        self.pending = self.pending.saturating_sub(freed);
        self.freed += freed as u64;
        freed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entries(n: usize) -> Vec<(Sds, Object)> {
        (0..n)
            .map(|i| {
                let obj = Object::new(Value::Str(Sds::new(b"v")), 0);
                (Sds::new(format!("k{i}").as_bytes()), obj)
            })
            .collect()
    }

    #[test]
    fn small_values_are_freed_at_once() {
        let mut q = LazyFreeQueue::default();
        q.free_value(Value::Str(Sds::new(b"small")));
        assert!(q.is_empty());
        assert_eq!(q.pending_objects(), 0);
    }

    #[test]
    fn a_flushed_database_is_freed_over_several_steps() {
        let mut q = LazyFreeQueue::default();
        q.free_entries(entries(10_000));
        assert_eq!(q.pending_objects(), 10_000);
        // A zero budget still makes progress: one chunk per call.
        assert_eq!(q.free_some(Duration::ZERO), ENTRIES_PER_STEP);
        assert_eq!(q.pending_objects(), 10_000 - ENTRIES_PER_STEP);
        while !q.is_empty() {
            q.free_some(Duration::from_millis(5));
        }
        assert_eq!(q.pending_objects(), 0);
        assert_eq!(q.freed_objects(), 10_000);
    }
}
