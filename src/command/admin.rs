//! Server administration: INFO, CONFIG, COMMAND, SHUTDOWN, DEBUG, ... (Redis: `server.c`,
//! `config.c`, `debug.c`).

use super::error::CommandResult;
use super::table::{flags::*, CommandSpec};
use super::Ctx;
use crate::server::Shutdown;

pub const COMMANDS: &[CommandSpec] = &[CommandSpec::new(
    "shutdown",
    shutdown_command,
    -1,
    ADMIN | NOSCRIPT | LOADING | STALE | NO_MULTI | ALLOW_BUSY,
    "server",
)
.doc(
    "Synchronously saves the database(s) to disk and shuts down the Redis server.",
    "1.0.0",
)];

/// SHUTDOWN [NOSAVE | SAVE] [NOW] [FORCE] [ABORT] — no reply on success: the server exits.
fn shutdown_command(ctx: &mut Ctx, _argv: &[&[u8]]) -> CommandResult {
    ctx.srv.shutdown = Some(Shutdown::Command);
    Ok(())
}
