//! `Dict` micro-benchmarks: insert, lookup (hit and miss), remove and uniform random sampling
//! on a table of 100,000 keys shaped like `key:000000012345`.
//!
//! Run with `cargo bench --bench dict`.

use criterion::{black_box, criterion_group, criterion_main, BatchSize, Criterion};
use ferrodis::types::dict::Dict;
use ferrodis::types::sds::Sds;
use rand::SeedableRng;

const N: usize = 100_000;

fn key(i: usize) -> Vec<u8> {
    format!("key:{i:012}").into_bytes()
}

fn filled() -> Dict<u64> {
    let mut d = Dict::new();
    for i in 0..N {
        d.insert(Sds::new(&key(i)), i as u64);
    }
    d
}

fn dict(c: &mut Criterion) {
    let keys: Vec<Vec<u8>> = (0..N).map(key).collect();
    let mut group = c.benchmark_group("dict");
    group.bench_function("insert_100k", |b| {
        b.iter_batched(
            Dict::<u64>::new,
            |mut d| {
                for (i, k) in keys.iter().enumerate() {
                    d.insert(Sds::new(k), i as u64);
                }
                d
            },
            BatchSize::LargeInput,
        )
    });
    let d = filled();
    let mut i = 0;
    group.bench_function("lookup_hit", |b| {
        b.iter(|| {
            i = (i + 7919) % N;
            black_box(d.get(&keys[i]))
        })
    });
    group.bench_function("lookup_miss", |b| {
        b.iter(|| black_box(d.get(b"key:missing-key")))
    });
    let mut x: u64 = 88172645463325252;
    group.bench_function("random_sample", |b| {
        b.iter(|| {
            // xorshift: the sampling itself is what is measured, not the RNG.
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            black_box(d.get_index((x % d.len() as u64) as usize))
        })
    });
    // Sampling with free slots: 70% of the keys deleted (just above the compaction point),
    // so about 3 slots are drawn per sample.
    let mut sparse = filled();
    for k in keys.iter().take(N * 7 / 10) {
        sparse.remove(k);
    }
    let mut rng = rand::rngs::SmallRng::seed_from_u64(1);
    group.bench_function("random_sample_70pct_deleted", |b| {
        b.iter(|| black_box(sparse.random_index(&mut rng)))
    });
    group.bench_function("remove_then_reinsert", |b| {
        let mut d = filled();
        let mut i = 0;
        b.iter(|| {
            i = (i + 7919) % N;
            let (k, v) = d.remove(&keys[i]).expect("present");
            d.insert(k, v);
        })
    });
    group.finish();
}

criterion_group!(benches, dict);
criterion_main!(benches);
