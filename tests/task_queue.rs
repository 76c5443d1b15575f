//! A work queue, the classic use of BRPOP: four consumers block on one list while a producer
//! pushes 100,000 jobs. Every job must be delivered exactly once. The same run against a real
//! redis-server (when installed) prints both throughputs for comparison; only correctness is
//! asserted.

mod common;
use common::{require_redis_server, RawConn, RealRedis, TestServer};
use std::time::Instant;

const JOBS: usize = 100_000;
const CONSUMERS: usize = 4;
const BATCH: usize = 500;

/// The last bulk string of a raw RESP reply (the element of `[key, element]`).
fn last_bulk(reply: &[u8]) -> Vec<u8> {
    let text = reply.strip_suffix(b"\r\n").unwrap_or(reply);
    let start = text
        .windows(2)
        .rposition(|w| w == b"\r\n")
        .map_or(0, |i| i + 2);
    text[start..].to_vec()
}

/// Runs the queue against the server on `port`; returns (jobs per second, jobs seen).
fn run_queue(port: u16) -> (f64, Vec<usize>) {
    let consumers: Vec<_> = (0..CONSUMERS)
        .map(|_| {
            let mut c = RawConn::connect(port);
            std::thread::spawn(move || {
                let mut got = Vec::new();
                loop {
                    let reply = c.cmd(&[b"BRPOP", b"jobs", b"0"]);
                    let job = last_bulk(&reply);
                    if job == b"stop" {
                        return got;
                    }
                    let n: usize = std::str::from_utf8(&job)
                        .ok()
                        .and_then(|s| s.parse().ok())
                        .unwrap_or_else(|| {
                            panic!("bad reply {:?}", String::from_utf8_lossy(&reply))
                        });
                    got.push(n);
                }
            })
        })
        .collect();
    // Let the consumers block first, so jobs are handed over through the blocking path.
    std::thread::sleep(std::time::Duration::from_millis(100));
    let mut producer = RawConn::connect(port);
    let started = Instant::now();
    let mut sent = 0;
    while sent < JOBS {
        let n = BATCH.min(JOBS - sent);
        let mut pipeline = Vec::new();
        for i in sent..sent + n {
            pipeline.extend(common::encode_command(&[
                b"LPUSH",
                b"jobs",
                i.to_string().as_bytes(),
            ]));
        }
        producer.send(&pipeline);
        for _ in 0..n {
            let reply = producer.read_reply();
            assert_eq!(reply[0], b':', "{:?}", String::from_utf8_lossy(&reply));
        }
        sent += n;
    }
    for _ in 0..CONSUMERS {
        producer.cmd(&[b"LPUSH", b"jobs", b"stop"]);
    }
    let mut seen = Vec::with_capacity(JOBS);
    for c in consumers {
        seen.extend(c.join().expect("consumer thread"));
    }
    let rate = JOBS as f64 / started.elapsed().as_secs_f64();
    assert_eq!(producer.cmd_str("LLEN jobs"), ":0\r\n");
    (rate, seen)
}

fn assert_each_job_once(mut seen: Vec<usize>) {
    assert_eq!(seen.len(), JOBS, "jobs delivered");
    seen.sort_unstable();
    for (i, job) in seen.iter().enumerate() {
        assert_eq!(*job, i, "job {i} missing or duplicated");
    }
}

#[test]
fn four_consumers_receive_every_job_exactly_once() {
    let server = TestServer::start(&[]);
    let (ours, seen) = run_queue(server.port);
    assert_each_job_once(seen);
    println!("ferrodis (test build): {ours:.0} jobs/s");
    if !require_redis_server() {
        return;
    }
    let real = RealRedis::start(&[]);
    let (theirs, seen) = run_queue(real.port);
    assert_each_job_once(seen);
    println!("redis-server:          {theirs:.0} jobs/s");
}
