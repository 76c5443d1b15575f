//! A High Dynamic Range histogram with the layout and arithmetic of the C `hdr_histogram`
//! library Redis 7.0 bundles (`deps/hdr_histogram`), for the per-command latency histograms
//! of `latency-tracking` (INFO latencystats, LATENCY HISTOGRAM).
//!
//! Why not the `hdrhistogram` crate: Redis prints percentiles and the CDF walk of the C library
//! (`hdr_value_at_percentile` returns the *highest equivalent value* of a bucket, and LATENCY
//! HISTOGRAM reports buckets through `hdr_iter_log_init(1024, 2)`, whose steps follow the
//! library's own iterator quirks). Reproducing those outputs exactly needs that code's
//! arithmetic, which is about a hundred lines; Redis uses only one configuration.
//!
//! The layout (for Redis's range 1 ns ..= 1 s at 2 significant digits):
//!
//! ```text
//!   sub_bucket_count = 2^ceil(log2(2 * 10^2)) = 256   (values 0..255 are exact)
//!   bucket b covers [128 * 2^b, 256 * 2^b) in 128 slots of width 2^b  (bucket 0: [0, 256))
//!   counts: (bucket_count + 1) * 128 slots; slot = (b + 1) * 128 + (value >> b) - 128
//! ```
//!
//! so every recorded value is known to within 1/128 of itself: two significant digits.

/// Redis's bounds (`LATENCY_HISTOGRAM_MIN_VALUE`, `_MAX_VALUE`, `_PRECISION`): nanoseconds.
pub const LOWEST: i64 = 1;
pub const HIGHEST: i64 = 1_000_000_000;
const SIGNIFICANT_FIGURES: u32 = 2;

#[derive(Clone)]
pub struct HdrHistogram {
    unit_magnitude: u32,
    sub_bucket_half_count_magnitude: u32,
    sub_bucket_half_count: i64,
    sub_bucket_count: i64,
    sub_bucket_mask: i64,
    counts: Vec<i64>,
    pub total_count: i64,
}

impl Default for HdrHistogram {
    fn default() -> Self {
        HdrHistogram::new()
    }
}

impl HdrHistogram {
    /// An empty histogram for Redis's range (`hdr_init(1, 1e9, 2)`).
    pub fn new() -> HdrHistogram {
        let largest_single_unit = 2 * 10i64.pow(SIGNIFICANT_FIGURES);
        let sub_bucket_count_magnitude = (largest_single_unit as f64).log2().ceil() as u32;
        let unit_magnitude = (LOWEST as f64).log2().floor() as u32;
        let sub_bucket_count = 1i64 << sub_bucket_count_magnitude;
        // buckets_needed_to_cover_value
        let mut smallest_untrackable = sub_bucket_count << unit_magnitude;
        let mut bucket_count = 1;
        while smallest_untrackable <= HIGHEST {
            smallest_untrackable <<= 1;
            bucket_count += 1;
        }
        let sub_bucket_half_count = sub_bucket_count / 2;
        HdrHistogram {
            unit_magnitude,
            sub_bucket_half_count_magnitude: sub_bucket_count_magnitude - 1,
            sub_bucket_half_count,
            sub_bucket_count,
            sub_bucket_mask: (sub_bucket_count - 1) << unit_magnitude,
            counts: vec![0; ((bucket_count + 1) * sub_bucket_half_count) as usize],
            total_count: 0,
        }
    }

    fn bucket_index(&self, value: i64) -> i64 {
        let pow2ceiling = 64 - (value | self.sub_bucket_mask).leading_zeros() as i64;
        pow2ceiling - self.unit_magnitude as i64 - (self.sub_bucket_half_count_magnitude as i64 + 1)
    }

    fn sub_bucket_index(&self, value: i64, bucket: i64) -> i64 {
        value >> (bucket + self.unit_magnitude as i64)
    }

    fn counts_index_for(&self, value: i64) -> usize {
        let bucket = self.bucket_index(value);
        let sub = self.sub_bucket_index(value, bucket);
        let base = (bucket + 1) << self.sub_bucket_half_count_magnitude;
        (base + sub - self.sub_bucket_half_count) as usize
    }

    /// Records one value, clamped to the range as Redis's `updateCommandLatencyHistogram`.
    pub fn record(&mut self, value: i64) {
        let value = value.clamp(LOWEST, HIGHEST);
        let index = self.counts_index_for(value);
        if let Some(slot) = self.counts.get_mut(index) {
            *slot += 1;
            self.total_count += 1;
        }
    }

    fn value_at_index(&self, index: i64) -> i64 {
        let mut bucket = (index >> self.sub_bucket_half_count_magnitude) - 1;
        let mut sub = (index & (self.sub_bucket_half_count - 1)) + self.sub_bucket_half_count;
        if bucket < 0 {
            sub -= self.sub_bucket_half_count;
            bucket = 0;
        }
        sub << (bucket + self.unit_magnitude as i64)
    }

    /// The width of the slot `value` falls in.
    fn equivalent_range(&self, value: i64) -> i64 {
        let bucket = self.bucket_index(value);
        let sub = self.sub_bucket_index(value, bucket);
        let adjusted = if sub >= self.sub_bucket_count {
            bucket + 1
        } else {
            bucket
        };
        1i64 << (self.unit_magnitude as i64 + adjusted)
    }

    fn lowest_equivalent(&self, value: i64) -> i64 {
        let bucket = self.bucket_index(value);
        let sub = self.sub_bucket_index(value, bucket);
        sub << (bucket + self.unit_magnitude as i64)
    }

    fn highest_equivalent(&self, value: i64) -> i64 {
        self.lowest_equivalent(value) + self.equivalent_range(value) - 1
    }

    /// `hdr_value_at_percentile`: the highest value equivalent to the one at `percentile`
    /// (the lowest, for percentile 0).
    pub fn value_at_percentile(&self, percentile: f64) -> i64 {
        let requested = percentile.min(100.0);
        let count_at = (((requested / 100.0) * self.total_count as f64) + 0.5) as i64;
        let count_at = count_at.max(1);
        let mut so_far = 0;
        let mut value = 0;
        for (index, &count) in self.counts.iter().enumerate() {
            so_far += count;
            if so_far >= count_at {
                value = self.value_at_index(index as i64);
                break;
            }
        }
        if percentile == 0.0 {
            self.lowest_equivalent(value)
        } else {
            self.highest_equivalent(value)
        }
    }

    /// The steps of `hdr_iter_log_init(first, base)` walked to the end, as (the highest value
    /// equivalent to the last slot read, cumulative count) pairs: what Redis's `fillCommandCDF`
    /// reads from each step.
    pub fn log_steps(&self, first: i64, base: i64) -> Vec<(i64, i64)> {
        let len = self.counts.len() as i64;
        let mut steps = Vec::new();
        let mut index: i64 = -1;
        let mut cumulative = 0;
        let mut value = 0;
        let mut highest = 0;
        let mut level = first;
        let mut level_lowest = self.lowest_equivalent(level);
        loop {
            let has_next = cumulative < self.total_count;
            let peek_above = index < len && self.value_at_index(index + 1) > level_lowest;
            if !(has_next || peek_above) {
                return steps;
            }
            loop {
                if value >= level_lowest {
                    level *= base;
                    level_lowest = self.lowest_equivalent(level);
                    break;
                }
                // move_next
                index += 1;
                if index >= len {
                    break;
                }
                cumulative += self.counts[index as usize];
                value = self.value_at_index(index);
                highest = self.lowest_equivalent(value) + self.equivalent_range(value) - 1;
            }
            steps.push((highest, cumulative));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::HdrHistogram;

    #[test]
    fn layout_matches_the_c_library_for_redis_range() {
        let h = HdrHistogram::new();
        assert_eq!(h.sub_bucket_count, 256);
        assert_eq!(h.counts.len(), 24 * 128);
    }

    #[test]
    fn percentiles_are_the_highest_equivalent_value() {
        let mut h = HdrHistogram::new();
        for v in [1000, 2000, 3000, 100_000] {
            h.record(v);
        }
        // 1000 lies in bucket 2 (slots of 4): [1000, 1003].
        assert_eq!(h.value_at_percentile(25.0), 1003);
        assert_eq!(h.value_at_percentile(0.0), 1000);
        // 100_000 lies in bucket 9 (slots of 512): [99840, 100351].
        assert_eq!(h.value_at_percentile(100.0), 100_351);
        // Out-of-range values are clamped.
        h.record(0);
        h.record(5_000_000_000);
        assert_eq!(h.total_count, 6);
    }
}
