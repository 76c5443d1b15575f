//! Blocking commands' bookkeeping (Redis: `blocked.c`).
//!
//! (Skeleton: the list/zset work fills this in. The event loop and the dispatcher already call
//! every function below at the right moment.)

use super::client::Client;
use super::{Server, ServerState};
use crate::command::Ctx;
use crate::db::Ms;

/// Server-wide registry of blocked clients.
#[derive(Default)]
pub struct BlockingState {}

/// What a blocked client waits for.
pub struct BlockedState {}

/// Serves clients blocked on keys that received data during the last command.
pub fn handle_clients_blocked_on_keys(_ctx: &mut Ctx) {}

/// Records that `key` in `db` may now satisfy a blocked client.
pub fn signal_key_as_ready(_ctx: &mut Ctx, _db: usize, _key: &[u8]) {}

/// The earliest deadline of any blocked client.
pub fn next_deadline(_state: &ServerState) -> Option<Ms> {
    None
}

/// Replies to blocked clients whose timeout passed.
pub fn handle_timeouts(_server: &mut Server, _now: Ms) {}

/// A client is being freed: drop it from the registry.
pub fn forget_client(_state: &mut ServerState, _key: usize, _client: &Client) {}
