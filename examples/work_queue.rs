//! A reliable work queue — the task-queue use of Redis the seed names (what Celery and friends
//! do underneath).
//!
//! Producers `LPUSH` jobs onto `queue:pending`. A worker takes a job with
//! `BLMOVE queue:pending queue:processing RIGHT LEFT <timeout>`: the job is *moved*, atomically,
//! into a processing list instead of being popped, so a worker that crashes mid-job does not lose
//! it. When done, the worker acknowledges with `LREM queue:processing 1 <job>`. A reaper puts jobs
//! abandoned in `queue:processing` back on `queue:pending`.
//!
//! Run against a server: `cargo run --example work_queue -- redis://127.0.0.1:6379/`

use redis::RedisResult;
use std::collections::HashSet;
use std::sync::mpsc;
use std::thread;

const PENDING: &str = "queue:pending";
const PROCESSING: &str = "queue:processing";
const DONE: &str = "queue:done";

/// Takes one job, waiting up to `timeout_s` seconds.
fn take_job(con: &mut redis::Connection, timeout_s: f64) -> RedisResult<Option<String>> {
    redis::cmd("BLMOVE")
        .arg(PENDING)
        .arg(PROCESSING)
        .arg("RIGHT")
        .arg("LEFT")
        .arg(timeout_s)
        .query(con)
}

/// Marks a job done: record the result, then drop it from the processing list.
fn ack_job(con: &mut redis::Connection, job: &str) -> RedisResult<()> {
    redis::pipe()
        .atomic()
        .cmd("SADD")
        .arg(DONE)
        .arg(job)
        .ignore()
        .cmd("LREM")
        .arg(PROCESSING)
        .arg(1)
        .arg(job)
        .ignore()
        .query(con)
}

/// Moves every job left in the processing list back to pending (after a worker crash).
fn requeue_abandoned(con: &mut redis::Connection) -> RedisResult<usize> {
    let mut moved = 0;
    while redis::cmd("LMOVE")
        .arg(PROCESSING)
        .arg(PENDING)
        .arg("RIGHT")
        .arg("LEFT")
        .query::<Option<String>>(con)?
        .is_some()
    {
        moved += 1;
    }
    Ok(moved)
}

pub fn run(url: &str) -> RedisResult<()> {
    let client = redis::Client::open(url)?;
    let mut con = client.get_connection()?;
    redis::cmd("DEL")
        .arg(PENDING)
        .arg(PROCESSING)
        .arg(DONE)
        .query::<()>(&mut con)?;

    let jobs: Vec<String> = (0..200).map(|i| format!("job-{i}")).collect();
    for job in &jobs {
        redis::cmd("LPUSH")
            .arg(PENDING)
            .arg(job)
            .query::<()>(&mut con)?;
    }

    // A worker that takes one job and "crashes" before acknowledging it.
    let mut crashing = client.get_connection()?;
    let lost = take_job(&mut crashing, 1.0)?.expect("a job is available");
    drop(crashing);
    let processing: Vec<String> = redis::cmd("LRANGE")
        .arg(PROCESSING)
        .arg(0)
        .arg(-1)
        .query(&mut con)?;
    assert_eq!(
        processing,
        vec![lost.clone()],
        "the crashed worker's job is parked, not lost"
    );
    assert_eq!(requeue_abandoned(&mut con)?, 1);

    // Three healthy workers drain the queue; each reports what it processed.
    let (tx, rx) = mpsc::channel();
    let mut workers = Vec::new();
    for _ in 0..3 {
        let mut wcon = client.get_connection()?;
        let tx = tx.clone();
        workers.push(thread::spawn(move || -> RedisResult<()> {
            while let Some(job) = take_job(&mut wcon, 0.2)? {
                ack_job(&mut wcon, &job)?;
                let _ = tx.send(job);
            }
            Ok(())
        }));
    }
    drop(tx);
    for w in workers {
        w.join().expect("worker thread")?;
    }
    let processed: Vec<String> = rx.iter().collect();
    let unique: HashSet<&String> = processed.iter().collect();
    assert_eq!(
        processed.len(),
        jobs.len(),
        "every job processed exactly once"
    );
    assert_eq!(unique.len(), jobs.len());
    assert!(unique.contains(&lost), "the requeued job was processed too");
    let done: i64 = redis::cmd("SCARD").arg(DONE).query(&mut con)?;
    assert_eq!(done, jobs.len() as i64);
    let left: i64 = redis::cmd("LLEN").arg(PROCESSING).query(&mut con)?;
    assert_eq!(left, 0, "nothing left in processing");
    println!("work queue example: ok ({} jobs)", processed.len());
    Ok(())
}

#[allow(dead_code)]
fn main() -> RedisResult<()> {
    let url = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "redis://127.0.0.1:6379/".into());
    run(&url)
}
