//! Runs BullMQ, a Node.js job queue built on Lua scripts, sorted sets, blocking pops and a
//! stream read with XREAD BLOCK, against the real binary (issue #11): `tests/node/bullmq_queue.mjs`
//! drives a Queue, a Worker with concurrency 4, retries with backoff, a delayed job and
//! QueueEvents, and asserts their exact outcomes.
//!
//! The script needs `node` and the packages pinned in `tests/node/package-lock.json`; `.ci/run`
//! installs them with `npm ci`. Without `tests/node/node_modules` the test prints how to install
//! them and passes — except in CI (`CI=true`), where missing packages are a failure.

mod common;

use common::TestServer;
use std::process::Command;
use std::time::Instant;

/// The Node project directory, if its packages are installed; otherwise skips as
/// `require_redis_server` does (a failure under CI).
fn require_node_modules() -> Option<std::path::PathBuf> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/node");
    if dir.join("node_modules/bullmq").is_dir() {
        return Some(dir);
    }
    assert!(
        std::env::var("CI").is_err(),
        "CI must install tests/node's packages (see .ci/run)"
    );
    eprintln!(
        "SKIPPED BullMQ test: run `(cd tests/node && npm ci --no-audit --no-fund)` to install it"
    );
    None
}

#[test]
fn bullmq_queue_worker_retries_delays_and_events() {
    let Some(dir) = require_node_modules() else {
        return;
    };
    let server = TestServer::start(&[]);
    let started = Instant::now();
    let output = Command::new("node")
        .arg("bullmq_queue.mjs")
        .current_dir(&dir)
        .env("FERRODIS_PORT", server.port.to_string())
        .output()
        .expect("run node");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "BullMQ script failed ({}) after {:?}\n--- stdout ---\n{stdout}\n--- stderr ---\n{stderr}",
        output.status,
        started.elapsed()
    );
    assert!(
        stdout.contains("BullMQ passed: 12 completed, 1 failed"),
        "BullMQ script exited 0 without its closing line:\n{stdout}"
    );
}
