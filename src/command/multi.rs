//! Transactions: MULTI / EXEC / DISCARD / WATCH (Redis: `multi.c`).
//!
//! (Skeleton: the transactions work fills this in. The dispatcher already calls these hooks.)

use super::table::CommandSpec;
use super::Ctx;
use crate::server::client::Client;
use crate::server::ServerState;

pub const COMMANDS: &[CommandSpec] = &[];

/// A client's transaction state.
#[derive(Default)]
pub struct MultiState {
    /// Inside MULTI.
    pub active: bool,
}

impl MultiState {
    /// Does the client WATCH any key?
    pub fn watching(&self) -> bool {
        false
    }
}

/// Server-wide WATCH registry.
#[derive(Default)]
pub struct WatchState {}

/// Queues the command if the client is inside MULTI (replying +QUEUED); true if queued.
pub fn queue_if_in_transaction(
    _ctx: &mut Ctx,
    _spec: &'static CommandSpec,
    _argv: &[&[u8]],
) -> bool {
    false
}

/// A command was refused while queueing: EXEC must fail with EXECABORT.
pub fn flag_transaction_error(_ctx: &mut Ctx) {}

/// `key` in `db` changed: transactions watching it will fail.
pub fn touch_watched_key(_ctx: &mut Ctx, _db: usize, _key: &[u8]) {}

/// A client is being freed: drop its WATCHes.
pub fn forget_client(_state: &mut ServerState, _key: usize, _client: &Client) {}
