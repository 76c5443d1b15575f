//! # ferrodis
//!
//! A Redis-compatible in-memory data server, built the way Redis itself is built: one thread,
//! one event loop, one owner for all the data. It speaks RESP2 and RESP3, so `redis-cli`,
//! redis-py and other unmodified clients talk to it.
//!
//! # Layout
//!
//! ```text
//! src/main.rs            arguments, logging, start the server
//! src/config.rs          directives with Redis's names and defaults (file, --args, CONFIG)
//! src/server/            the event loop: mod.rs (poll, accept, write, before_sleep),
//!                        input.rs (read, parse -> execute loop), client.rs (per-connection
//!                        state), blocking.rs (BLPOP & co.), busy.rs (the loop turn run while a
//!                        script is busy), cron.rs (hz tasks)
//! src/resp/              parse.rs (incremental multibulk + inline), reply.rs (RESP2/RESP3)
//! src/command/           mod.rs (Ctx, execute, call), table.rs (command rows), args.rs,
//!                        error.rs, and one file per family: string.rs keyspace.rs list.rs
//!                        hash.rs set.rs zset.rs sort.rs pubsub.rs multi.rs connection.rs
//!                        admin.rs scripting.rs (+ scripting/: Lua engine, conversions, libs)
//! src/db/                the keyspace: mod.rs (Db, lazy expiry), dict.rs (hash table with
//!                        O(1) sampling), expire.rs (active expiry), lazyfree.rs, sds.rs, value.rs
//! src/types/             the collection data structures (list, hash, set, zset)
//! src/persist/           RDB files (Redis 7.0, version 10): rdb.rs save/load, blobs.rs, lzf.rs
//! src/util/              strict number parsing, %.17g, x87 long double, glob matching
//! src/info.rs            INFO sections        src/alloc.rs  used_memory accounting
//! ```
//!
//! # The life of a command
//!
//! ```text
//!  socket ──read──> Client.query_buf ──RequestParser──> argv (&[u8] spans, no copy)
//!                                                          │
//!           command::execute: table lookup, arity, auth, MULTI, pubsub-mode checks
//!                                                          │
//!           handler(ctx, argv): reads/writes ctx.dbs[ctx.db], appends to ctx.out
//!                                                          │
//!  socket <──write (once per loop turn, before_sleep)── Client.reply
//! ```
//!
//! Everything runs on the loop thread; there are no locks. See `ARCHITECTURE.md` for the full
//! walk-through.

pub mod alloc;
pub mod command;
pub mod config;
pub mod db;
pub mod info;
pub mod persist;
pub mod resp;
pub mod server;
pub mod types;
pub mod util;
