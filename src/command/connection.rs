//! Connection commands: PING, ECHO, SELECT, QUIT, ... (Redis: `server.c`, `networking.c`).

use super::args;
use super::error::{CommandError, CommandResult};
use super::table::{flags::*, CommandSpec};
use super::Ctx;

pub const COMMANDS: &[CommandSpec] = &[
    CommandSpec::new("ping", ping_command, -1, FAST, "connection")
        .doc("Returns the server's liveliness response.", "1.0.0"),
    CommandSpec::new("echo", echo_command, 2, FAST, "connection")
        .doc("Returns the given string.", "1.0.0"),
    CommandSpec::new(
        "select",
        select_command,
        2,
        LOADING | STALE | FAST,
        "connection",
    )
    .doc("Changes the selected database.", "1.0.0"),
    CommandSpec::new(
        "quit",
        quit_command,
        -1,
        ALLOW_BUSY | NO_AUTH | LOADING | STALE | FAST,
        "connection",
    )
    .doc("Closes the connection.", "1.0.0"),
];

/// PING [message] — PONG, or the message as a bulk string (`[pong, message]` for a RESP2
/// subscriber).
fn ping_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    if argv.len() <= 2 && super::pubsub::subscriber_ping(ctx, argv) {
        return Ok(());
    }
    match argv.len() {
        1 => ctx.out.simple("PONG"),
        2 => ctx.out.bulk(argv[1]),
        _ => return Err(CommandError::WrongArity("ping".into())),
    }
    Ok(())
}

/// ECHO message — the message.
fn echo_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    ctx.out.bulk(argv[1]);
    Ok(())
}

/// SELECT index — OK; switches the connection's database.
fn select_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    let index = args::int(argv[1]).map_err(|_| CommandError::NotInteger)?;
    if index < 0 || index as usize >= ctx.dbs.len() {
        return Err(CommandError::Err("DB index is out of range"));
    }
    ctx.db = index as usize;
    ctx.me().db = index as usize;
    ctx.out.ok();
    Ok(())
}

/// QUIT — OK, then the server closes the connection once the reply is written.
fn quit_command(ctx: &mut Ctx, _argv: &[&[u8]]) -> CommandResult {
    ctx.out.ok();
    ctx.me().close_after_reply = true;
    Ok(())
}
