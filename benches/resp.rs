//! RESP micro-benchmarks: request parsing (a pipeline of 16 SETs, one 1 MB bulk, inline
//! commands) and reply encoding (the `addReply*` equivalents).
//!
//! Run with `cargo bench --bench resp`.

use criterion::{black_box, criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use ferrodis::resp::parse::{ParseLimits, ParseOutcome, RequestParser};
use ferrodis::resp::reply::ReplyBuffer;

const LIMITS: ParseLimits = ParseLimits {
    max_bulk_len: 512 * 1024 * 1024,
    authenticated: true,
};

fn encode(args: &[&[u8]]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for a in args {
        out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
        out.extend_from_slice(a);
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// Parses every request in `buf`, as `process_input_buffer` does; returns the argument count.
fn parse_all(parser: &mut RequestParser, buf: &[u8]) -> usize {
    let mut at = 0;
    let mut args = 0;
    while at < buf.len() {
        match parser.parse(&buf[at..], &LIMITS) {
            Ok(ParseOutcome::Complete { consumed }) => {
                args += parser.spans.len() + parser.inline_args.len();
                at += consumed;
                parser.reset();
            }
            _ => break,
        }
    }
    args
}

fn parsing(c: &mut Criterion) {
    let mut group = c.benchmark_group("parse");
    let mut pipeline = Vec::new();
    for i in 0..16 {
        pipeline.extend(encode(&[
            b"SET",
            format!("key:{i:012}").as_bytes(),
            b"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
        ]));
    }
    group.throughput(Throughput::Elements(16));
    group.bench_function("pipeline_16_sets", |b| {
        let mut parser = RequestParser::default();
        b.iter(|| parse_all(&mut parser, black_box(&pipeline)))
    });

    let big = encode(&[b"SET", b"big", &vec![b'x'; 1024 * 1024]]);
    group.throughput(Throughput::Bytes(big.len() as u64));
    group.bench_function("bulk_1mb", |b| {
        let mut parser = RequestParser::default();
        b.iter(|| parse_all(&mut parser, black_box(&big)))
    });

    let mut inline = Vec::new();
    for i in 0..16 {
        inline.extend(format!("SET key:{i} \"hello world\" EX 100\r\n").into_bytes());
    }
    group.throughput(Throughput::Elements(16));
    group.bench_function("inline_16_sets", |b| {
        let mut parser = RequestParser::default();
        b.iter(|| parse_all(&mut parser, black_box(&inline)))
    });
    group.finish();
}

fn encoding(c: &mut Criterion) {
    let mut group = c.benchmark_group("reply");
    let value = vec![b'v'; 32];
    group.throughput(Throughput::Elements(16));
    group.bench_function("16_ok_and_bulk_and_int", |b| {
        b.iter_batched_ref(
            ReplyBuffer::new,
            |out| {
                for i in 0..16 {
                    out.ok();
                    out.bulk(black_box(&value));
                    out.integer(black_box(i * 1000));
                }
            },
            BatchSize::SmallInput,
        )
    });
    group.throughput(Throughput::Elements(100));
    group.bench_function("array_of_100_bulks_and_doubles", |b| {
        b.iter_batched_ref(
            ReplyBuffer::new,
            |out| {
                out.array_len(200);
                for i in 0..100 {
                    out.bulk(black_box(&value));
                    out.double(black_box(i as f64 * 1.25));
                }
            },
            BatchSize::SmallInput,
        )
    });
    group.finish();
}

criterion_group!(benches, parsing, encoding);
criterion_main!(benches);
