//! Runs the four examples in `examples/` against the real binary; each asserts its own results.

mod common;
use common::TestServer;

#[path = "../examples/cache.rs"]
mod cache;
#[path = "../examples/lock.rs"]
mod lock;
#[path = "../examples/session.rs"]
mod session;
#[path = "../examples/work_queue.rs"]
mod work_queue;

#[test]
fn read_through_cache_example_runs() {
    let server = TestServer::start(&[]);
    cache::run(&server.url()).unwrap();
}

#[test]
fn session_store_example_runs() {
    let server = TestServer::start(&[]);
    session::run(&server.url()).unwrap();
}

#[test]
fn reliable_work_queue_example_runs() {
    let server = TestServer::start(&[]);
    work_queue::run(&server.url()).unwrap();
}

#[test]
fn lock_example_keeps_the_counter_exact() {
    let server = TestServer::start(&[]);
    lock::run(&server.url()).unwrap();
}
