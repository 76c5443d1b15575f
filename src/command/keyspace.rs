//! Generic keyspace commands: DEL, EXISTS, EXPIRE, SCAN, ... (Redis: `db.c`, `expire.c`).

use super::error::CommandResult;
use super::pubsub::NOTIFY_GENERIC;
use super::table::{flags::*, CommandSpec};
use super::{notify, signal_modified_key, Ctx};

pub const COMMANDS: &[CommandSpec] = &[
    CommandSpec::new("del", del_command, -2, WRITE, "generic")
        .keys(1, -1, 1)
        .doc("Deletes one or more keys.", "1.0.0"),
    CommandSpec::new("exists", exists_command, -2, READONLY | FAST, "generic")
        .keys(1, -1, 1)
        .doc("Determines whether one or more keys exist.", "1.0.0"),
    CommandSpec::new("dbsize", dbsize_command, 1, READONLY | FAST, "server")
        .doc("Returns the number of keys in the database.", "1.0.0"),
];

/// DEL key [key ...] — the number of keys removed.
fn del_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    let mut removed = 0;
    for key in &argv[1..] {
        let db = &mut ctx.dbs[ctx.db];
        db.expire_if_needed(key, ctx.now);
        if db.remove(key).is_some() {
            removed += 1;
            ctx.srv.dirty += 1;
            signal_modified_key(ctx, key);
            notify(ctx, NOTIFY_GENERIC, "del", key);
        }
    }
    ctx.out.integer(removed);
    Ok(())
}

/// EXISTS key [key ...] — how many of the keys exist (a key named twice counts twice).
fn exists_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    let db = &mut ctx.dbs[ctx.db];
    let n = argv[1..].iter().filter(|k| db.exists(k, ctx.now)).count();
    ctx.out.integer(n as i64);
    Ok(())
}

/// DBSIZE — the number of keys in the selected database.
fn dbsize_command(ctx: &mut Ctx, _argv: &[&[u8]]) -> CommandResult {
    let n = ctx.dbs[ctx.db].len();
    ctx.out.integer(n as i64);
    Ok(())
}
