//! # ferrodis
//!
//! A Redis-compatible in-memory data server, built the way Redis itself is built: one thread,
//! one event loop, one owner for all the data. It speaks RESP2 and RESP3, so `redis-cli`,
//! redis-py and other unmodified clients talk to it.
//!
//! # Layers
//!
//! Each layer uses only what is below it; nothing imports upward (see `ARCHITECTURE.md`).
//!
//! ```text
//!   main.rs ─> server/   the loop; networking code on borrowed parts (Net)
//!                │
//!                ▼
//!              command/  Ctx, process_command (one check path for every caller), families,
//!                │       Client, ServerState, blocking, pub/sub, notify, MULTI, scripting
//!                ▼
//!              config.rs ─> resp/   net/   db/ ─> types/
//!                                 └──────> util/ <──┘
//! ```
//!
//! The loop is reached from below only through a hook it installs at startup:
//! `ServerState::events_while_blocked`, the restricted turn a busy script calls.
//!
//! # Layout
//!
//! ```text
//! src/main.rs            arguments, logging, start the server
//! src/config.rs          directives with Redis's names and defaults (file, --args, CONFIG)
//! src/server/            the event loop: mod.rs (poll, accept, Net, before_sleep),
//!                        input.rs (read one share, parse -> execute loop, limits),
//!                        output.rs (batched writes, output-buffer limits), busy.rs (the
//!                        loop turn run while a script is busy), cron.rs (hz tasks),
//!                        listen.rs (the `bind` sockets)
//! src/resp/              parse.rs (incremental multibulk + inline), reply.rs (RESP2/RESP3)
//! src/command/           mod.rs (Ctx, Caller, process_command, call), table.rs (command
//!                        rows), keyspec.rs (key specs, GETKEYS), args.rs, error.rs,
//!                        client.rs (Client, query buffer), state.rs (ServerState, Stats),
//!                        propagate.rs (the write funnel) and replication.rs (SYNC/PSYNC,
//!                        the replicas' stream; failover.rs: FAILOVER), persistence.rs (SAVE/BGSAVE, save points,
//!                        RDB loading), aof.rs (the AOF: buffer, write + fsync policy,
//!                        rewrite, loading, BGREWRITEAOF), evict.rs (maxmemory) and memory.rs (INFO memory, MEMORY),
//!                        blocked.rs (BLPOP & co.), notify.rs (keyspace events), info.rs
//!                        (INFO), slowlog.rs, latency.rs, acl.rs (ACL command, users
//!                        registry, the permission check; acl/user.rs: users, selectors,
//!                        rules), and one file per family: string.rs
//!                        bitops.rs hyperloglog.rs keyspace.rs dump.rs (DUMP/RESTORE/MIGRATE)
//!                        list.rs hash.rs set.rs zset.rs geo.rs stream.rs sort.rs pubsub.rs
//!                        multi.rs connection.rs admin.rs scripting.rs (+ scripting/: Lua
//!                        engine, conversions, functions, libs/ with one file per Lua library)
//! src/db/                the keyspace: mod.rs (Db, lazy expiry), expire.rs (active expiry
//!                        cycle), evict.rs (eviction pool, LRU/LFU clocks), digest.rs (DEBUG
//!                        DIGEST), lazyfree.rs, value.rs (Value, Object)
//! src/types/             sds.rs (strings), dict.rs (hash table with O(1) sampling), and the
//!                        collections: list, hash, set, zset, stream, hll, geohash
//! src/persist/           RDB files (Redis 7.0, version 10): rdb.rs save/load (+ rdb/stream.rs),
//!                        blobs.rs, lzf.rs; aof.rs (multi-part manifest, commands as RESP)
//! src/net/               a client's transport: plain TCP or a rustls TLS session (mod.rs),
//!                        the tls-* directives -> rustls ServerConfig (tls.rs)
//! src/util/              strict number parsing, %.17g, x87 long double, glob matching,
//!                        keyspace-event letters, process.rs (fork for BGSAVE and BGREWRITEAOF)
//! src/alloc.rs           used_memory accounting
//! ```
//!
//! # The life of a command
//!
//! ```text
//!  socket ──read (16 KB share)──> Client.query_buf ──RequestParser──> argv (&[u8] spans)
//!                                                          │
//!     command::process_command(ctx, argv, Caller): table lookup, arity, then per caller:
//!     auth, pubsub mode, -BUSY, MULTI queueing (also for EXEC, redis.call, the busy turn)
//!                                                          │
//!           handler(ctx, argv): reads/writes ctx.dbs[ctx.db], appends to ctx.out
//!                                                          │
//!  socket <──write (once per loop turn, before_sleep, 64 KB share)── Client.reply
//! ```
//!
//! Everything runs on the loop thread; there are no locks. See `ARCHITECTURE.md` for the full
//! walk-through.

pub mod alloc;
pub mod command;
pub mod config;
pub mod db;
pub mod net;
pub mod persist;
pub mod resp;
pub mod server;
pub mod types;
pub mod util;
