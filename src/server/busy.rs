//! Serving the other clients while a script runs past `busy-reply-threshold` (Redis:
//! `networking.c` `processEventsWhileBlocked`, the BUSY check in `server.c` `processCommand`).
//!
//! A script runs to completion on the loop thread, which is what makes it atomic. A script
//! that runs too long must still be stoppable, so the Lua count hook calls the function the
//! loop installed in `ServerState::events_while_blocked` — [`process_events_while_blocked`] —
//! every 100k instructions once the threshold has passed. It is a restricted loop turn, done
//! without `poll` but with the loop's own networking code, limits included:
//!
//! ```text
//!   accept pending connections             (Net::accept_clients, accept_unix_clients)
//!   for every client but the script's caller:
//!     read one share, parse, and run each command through the one check path with
//!     Caller::WhileBusy                    (Net::read_query_from_client)
//!       SCRIPT KILL, FUNCTION KILL, SHUTDOWN NOSAVE, allow-busy commands -> run
//!       anything else -> -BUSY Redis is busy running a script... (a MULTI is flagged failed)
//!   write the replies                      (Net::handle_clients_with_pending_writes)
//! ```
//!
//! Sockets are edge-triggered, so reading here leaves at most a spurious readiness event for
//! the main loop, which then reads `WouldBlock` and moves on; a client with more to read is on
//! `clients_pending_read` like in the main loop. The script's caller is left alone: its reply
//! buffer is the script's `ctx.out`.

use super::Net;
use crate::command::{Caller, Ctx};

/// One restricted turn of the event loop, run from inside a busy script.
pub fn process_events_while_blocked(ctx: &mut Ctx) {
    let mut net = Net {
        clients: &mut *ctx.clients,
        dbs: &mut *ctx.dbs,
        state: &mut *ctx.srv,
        caller: Caller::WhileBusy,
        busy_client: Some(ctx.id),
    };
    let listeners = net.state.io.as_ref().map_or(0, |io| io.listeners.len());
    for index in 0..listeners {
        net.accept_clients(index);
    }
    net.accept_unix_clients();
    let keys: Vec<usize> = net.clients.iter().map(|(k, _)| k).collect();
    for key in keys {
        if net.state.aof.protected_client != Some(key) {
            net.read_query_from_client(key);
        }
    }
    if net.state.aof.status != crate::command::aof::AofStatus::Off {
        let now = crate::command::state::unix_ms();
        crate::command::aof::flush_append_only_file(net.state, false, now);
    }
    net.handle_clients_with_pending_writes();
}
