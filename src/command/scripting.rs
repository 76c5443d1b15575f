//! Lua scripting: EVAL / EVALSHA / EVAL_RO / EVALSHA_RO and SCRIPT (Redis: `eval.c`,
//! `script_lua.c`, `script.c`).
//!
//! ```text
//! EVAL body numkeys k.. a..
//!   └─ sha1(body) ── cached? ── no ──> compile once (engine::compile), keep by sha
//!        └─ engine::run(ctx, script, KEYS, ARGV)
//!             ├─ redis.call / redis.pcall ──> command::process_command(Caller::Script, scratch)
//!             │     (the one check path, with the script's error texts) ──> RESP -> Lua
//!             ├─ count hook every 100k instructions: past busy-reply-threshold the loop's
//!             │     restricted turn (ServerState::events_while_blocked, installed by the
//!             │     loop) serves others: -BUSY for most, SCRIPT KILL works
//!             └─ return value ──> convert::lua_to_reply(ctx.out)
//! ```
//!
//! The script runs to completion on the loop thread, so it is atomic: no other client's command
//! lands inside it. The pieces live in submodules: `engine` (the Lua state, sandbox, `redis.*`),
//! `convert` (Lua <-> RESP, both directions), `libs` (bit, struct, cjson, cmsgpack, Redis's
//! `math.random`), `function` (FUNCTION libraries and FCALL, on the same machinery).

mod convert;
mod engine;
mod function;
mod libs;

use super::args;
use super::error::{CommandError, CommandResult};
use super::keyspec::{key_flags::*, GetKeys, KeySpec};
use super::table::{flags::*, CommandSpec};
use super::Ctx;
use hashbrown::HashMap;
use std::cell::Cell;
use std::rc::Rc;
use std::time::Instant;

pub use engine::Script;

pub const COMMANDS: &[CommandSpec] = &[
    CommandSpec::new(
        "eval",
        eval_command,
        -3,
        NOSCRIPT | STALE | SKIP_MONITOR | MAY_REPLICATE | NO_MANDATORY_KEYS | MOVABLE_KEYS,
        "scripting",
    )
    .key_specs(&[KeySpec::at(2, RW | ACCESS | UPDATE)
        .keynum(0, 1, 1)
        .notes("We cannot tell how the keys will be used so we assume the worst, RW and UPDATE")])
    .getkeys(GetKeys::NUMKEYS_AT_2)
    .doc("Executes a server-side Lua script.", "2.6.0"),
    CommandSpec::new(
        "evalsha",
        eval_command,
        -3,
        NOSCRIPT | STALE | SKIP_MONITOR | MAY_REPLICATE | NO_MANDATORY_KEYS | MOVABLE_KEYS,
        "scripting",
    )
    .key_specs(&[KeySpec::at(2, RW | ACCESS | UPDATE).keynum(0, 1, 1)])
    .getkeys(GetKeys::NUMKEYS_AT_2)
    .doc("Executes a server-side Lua script by SHA1 digest.", "2.6.0"),
    CommandSpec::new(
        "eval_ro",
        eval_command,
        -3,
        READONLY | NOSCRIPT | STALE | SKIP_MONITOR | NO_MANDATORY_KEYS | MOVABLE_KEYS,
        "scripting",
    )
    .key_specs(&[KeySpec::at(2, RO | ACCESS)
        .keynum(0, 1, 1)
        .notes("We cannot tell how the keys will be used so we assume the worst, RO and ACCESS")])
    .getkeys(GetKeys::NUMKEYS_AT_2)
    .doc("Executes a read-only server-side Lua script.", "7.0.0"),
    CommandSpec::new(
        "evalsha_ro",
        eval_command,
        -3,
        READONLY | NOSCRIPT | STALE | SKIP_MONITOR | NO_MANDATORY_KEYS | MOVABLE_KEYS,
        "scripting",
    )
    .key_specs(&[KeySpec::at(2, RO | ACCESS).keynum(0, 1, 1)])
    .getkeys(GetKeys::NUMKEYS_AT_2)
    .doc(
        "Executes a read-only server-side Lua script by SHA1 digest.",
        "7.0.0",
    ),
    CommandSpec::new(
        "fcall",
        function::fcall_command,
        -3,
        NOSCRIPT | STALE | SKIP_MONITOR | MAY_REPLICATE | NO_MANDATORY_KEYS | MOVABLE_KEYS,
        "scripting",
    )
    .key_specs(&[KeySpec::at(2, RW | ACCESS | UPDATE)
        .keynum(0, 1, 1)
        .notes("We cannot tell how the keys will be used so we assume the worst, RW and UPDATE")])
    .getkeys(GetKeys::NUMKEYS_AT_2)
    .doc("Invokes a function.", "7.0.0"),
    CommandSpec::new(
        "fcall_ro",
        function::fcall_command,
        -3,
        READONLY | NOSCRIPT | STALE | SKIP_MONITOR | NO_MANDATORY_KEYS | MOVABLE_KEYS,
        "scripting",
    )
    .key_specs(&[KeySpec::at(2, RO | ACCESS)
        .keynum(0, 1, 1)
        .notes("We cannot tell how the keys will be used so we assume the worst, RO and ACCESS")])
    .getkeys(GetKeys::NUMKEYS_AT_2)
    .doc("Invokes a read-only function.", "7.0.0"),
    CommandSpec::new(
        "function",
        function::function_help_command,
        -2,
        0,
        "scripting",
    )
    .doc("A container for function commands.", "7.0.0")
    .subs(FUNCTION_SUBCOMMANDS),
    CommandSpec::new("script", script_help_command, -2, 0, "scripting")
        .doc("A container for Lua scripts management commands", "2.6.0")
        .subs(SCRIPT_SUBCOMMANDS),
];

const FUNCTION_SUBCOMMANDS: &[CommandSpec] = &[
    CommandSpec::new(
        "function|load",
        function::function_load_command,
        -3,
        WRITE | DENYOOM | NOSCRIPT,
        "scripting",
    )
    .tips(&["request_policy:all_shards", "response_policy:all_succeeded"])
    .doc("Creates a library.", "7.0.0"),
    CommandSpec::new(
        "function|dump",
        function::function_dump_command,
        2,
        NOSCRIPT,
        "scripting",
    )
    .doc(
        "Dump all functions into a serialized binary payload",
        "7.0.0",
    ),
    CommandSpec::new(
        "function|restore",
        function::function_restore_command,
        -3,
        WRITE | DENYOOM | NOSCRIPT,
        "scripting",
    )
    .tips(&["request_policy:all_shards", "response_policy:all_succeeded"])
    .doc("Restore all the functions on the given payload", "7.0.0"),
    CommandSpec::new(
        "function|delete",
        function::function_delete_command,
        3,
        WRITE | NOSCRIPT,
        "scripting",
    )
    .tips(&["request_policy:all_shards", "response_policy:all_succeeded"])
    .doc("Deletes a library and its functions.", "7.0.0"),
    CommandSpec::new(
        "function|list",
        function::function_list_command,
        -2,
        NOSCRIPT,
        "scripting",
    )
    .tips(&["nondeterministic_output_order"])
    .doc("Returns information about all libraries.", "7.0.0"),
    CommandSpec::new(
        "function|flush",
        function::function_flush_command,
        -2,
        WRITE | NOSCRIPT,
        "scripting",
    )
    .tips(&["request_policy:all_shards", "response_policy:all_succeeded"])
    .doc("Deletes all libraries and functions.", "7.0.0"),
    CommandSpec::new(
        "function|kill",
        script_kill_command,
        2,
        NOSCRIPT | ALLOW_BUSY,
        "scripting",
    )
    .tips(&["request_policy:all_shards", "response_policy:one_succeeded"])
    .doc("Terminates a function during execution.", "7.0.0"),
    CommandSpec::new(
        "function|stats",
        function::function_stats_command,
        2,
        NOSCRIPT | ALLOW_BUSY,
        "scripting",
    )
    .tips(&[
        "nondeterministic_output",
        "request_policy:all_shards",
        "response_policy:special",
    ])
    .doc(
        "Returns information about a function during execution.",
        "7.0.0",
    ),
    CommandSpec::new(
        "function|help",
        function::function_help_command,
        2,
        LOADING | STALE,
        "scripting",
    )
    .doc(
        "Returns helpful text about the different subcommands.",
        "7.0.0",
    ),
];

const SCRIPT_SUBCOMMANDS: &[CommandSpec] = &[
    CommandSpec::new(
        "script|exists",
        script_exists_command,
        -3,
        NOSCRIPT,
        "scripting",
    )
    .tips(&[
        "request_policy:all_shards",
        "response_policy:agg_logical_and",
    ])
    .doc(
        "Determines whether server-side Lua scripts exist in the script cache.",
        "2.6.0",
    ),
    CommandSpec::new(
        "script|debug",
        script_debug_command,
        3,
        NOSCRIPT,
        "scripting",
    )
    .doc("Sets the debug mode of server-side Lua scripts.", "3.2.0"),
    CommandSpec::new(
        "script|load",
        script_load_command,
        3,
        NOSCRIPT | STALE,
        "scripting",
    )
    .tips(&["request_policy:all_nodes", "response_policy:all_succeeded"])
    .doc(
        "Loads a server-side Lua script to the script cache.",
        "2.6.0",
    ),
    CommandSpec::new(
        "script|kill",
        script_kill_command,
        2,
        NOSCRIPT | ALLOW_BUSY,
        "scripting",
    )
    .tips(&["request_policy:all_shards", "response_policy:one_succeeded"])
    .doc(
        "Terminates a server-side Lua script during execution.",
        "2.6.0",
    ),
    CommandSpec::new(
        "script|flush",
        script_flush_command,
        -2,
        NOSCRIPT,
        "scripting",
    )
    .tips(&["request_policy:all_nodes", "response_policy:all_succeeded"])
    .doc(
        "Removes all server-side Lua scripts from the script cache.",
        "2.6.0",
    ),
    CommandSpec::new(
        "script|help",
        script_help_command,
        2,
        LOADING | STALE,
        "scripting",
    )
    .doc(
        "Returns helpful text about the different subcommands.",
        "5.0.0",
    ),
];

/// The state of the script being run, shared (by `Rc`) with the Lua count hook, which must be
/// `'static` and so cannot borrow the server. Cells, because the hook and SCRIPT KILL (run from
/// inside the hook, for another client) both touch it while the script's frame is live.
pub struct RunState {
    /// A FUNCTION LOAD is running library code (the hook enforces its time limit).
    pub loading: Cell<bool>,
    /// The running script is an EVAL (not an FCALL): decides SCRIPT vs FUNCTION KILL.
    pub is_eval: Cell<bool>,
    /// SHA or function name of the running script, and the command that runs it, for
    /// FUNCTION STATS.
    pub name: std::cell::RefCell<String>,
    pub command: std::cell::RefCell<Vec<Vec<u8>>>,
    /// `math.random`'s rand48 state; survives SCRIPT FLUSH like Redis's C static.
    pub rand: Rc<Cell<u64>>,
    /// A script is executing right now.
    pub running: Cell<bool>,
    pub started: Cell<Option<Instant>>,
    /// busy-reply-threshold for this run, in ms.
    pub threshold_ms: Cell<u64>,
    /// The run passed the threshold: other clients now get -BUSY (Redis: the `SCRIPT_TIMEDOUT`
    /// flag, `scriptIsTimedout`).
    pub timed_out: Cell<bool>,
    /// SCRIPT KILL (or SHUTDOWN NOSAVE) asked the script to stop.
    pub killed: Cell<bool>,
    /// The script called a write command, so it can no longer be killed.
    pub wrote: Cell<bool>,
    /// EVAL_RO / EVALSHA_RO: write commands are refused.
    pub read_only: Cell<bool>,
    /// The script declared `allow-oom`: its writes are not refused over `maxmemory`.
    pub allow_oom: Cell<bool>,
    /// The protocol `redis.call` replies are converted from (`redis.setresp`).
    pub resp: Cell<u8>,
    /// Where the commands the script runs are propagated (`redis.set_repl`): a mask of
    /// `propagate::TARGET_AOF` and `TARGET_REPL`.
    pub repl: Cell<u8>,
}

impl Default for RunState {
    fn default() -> Self {
        RunState {
            loading: Cell::new(false),
            is_eval: Cell::new(true),
            name: Default::default(),
            command: Default::default(),
            rand: Rc::new(Cell::new(libs::RAND48_INIT)),
            running: Cell::new(false),
            started: Cell::new(None),
            threshold_ms: Cell::new(0),
            timed_out: Cell::new(false),
            killed: Cell::new(false),
            wrote: Cell::new(false),
            read_only: Cell::new(false),
            allow_oom: Cell::new(false),
            resp: Cell::new(2),
            repl: Cell::new(super::propagate::TARGET_ALL),
        }
    }
}

/// Loaded scripts and the state of a running one (Redis: `lctx` in `eval.c`).
#[derive(Default)]
pub struct ScriptState {
    /// Created on first use, so a server that never runs a script never builds a Lua state.
    engine: Option<engine::Engine>,
    /// Compiled scripts by lowercase hex SHA1 of their body.
    scripts: HashMap<[u8; 40], Rc<Script>>,
    /// FUNCTION libraries.
    functions: function::FunctionState,
    pub run: Rc<RunState>,
}

impl ScriptState {
    /// Every function library's code, for saving the dataset.
    pub fn library_codes(&self) -> Vec<Vec<u8>> {
        self.functions.library_codes()
    }

    /// Replaces the function libraries with `codes`, run afresh, as loading a dataset does:
    /// `Err` (Redis's text) leaves the loaded libraries as they were.
    pub fn load_dataset_libraries(&mut self, codes: &[Vec<u8>]) -> Result<(), String> {
        function::restore_libraries(self, codes, function::RestorePolicy::Flush)
            .map_err(|e| e.message().trim_start_matches("ERR ").to_string())
    }
    /// Is a script (or function) running? Commands it calls must not block: a blocking
    /// command checks this and answers at once, as with Redis's `CLIENT_DENY_BLOCKING`.
    pub fn is_running(&self) -> bool {
        self.run.running.get()
    }

    /// Scripts in the EVAL cache (INFO `number_of_cached_scripts`).
    pub fn cached_scripts(&self) -> usize {
        self.scripts.len()
    }

    /// Bytes the Lua state uses (INFO `used_memory_lua` / `used_memory_vm_eval`).
    pub fn lua_memory(&self) -> usize {
        self.engine.as_ref().map_or(0, |e| e.used_memory())
    }

    /// FUNCTION libraries and functions loaded (INFO / FUNCTION STATS).
    pub fn function_counts(&self) -> (usize, usize) {
        self.functions.counts()
    }

    /// The reply other clients get while a script is busy (Redis: `slowevalerr` /
    /// `slowscripterr`).
    pub fn busy_error(&self) -> &'static str {
        if self.run.is_eval.get() {
            "BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE."
        } else {
            "BUSY Redis is busy running a script. You can only call FUNCTION KILL or SHUTDOWN NOSAVE."
        }
    }
}

/// May this command run while a script is busy? (Redis: the BUSY check in `processCommand`:
/// rows flagged `allow-busy`, such as SCRIPT KILL, FUNCTION KILL / STATS, AUTH, HELLO; and
/// SHUTDOWN only with NOSAVE.) Everything else is answered `-BUSY`.
pub fn allowed_while_busy(spec: &CommandSpec, argv: &[&[u8]]) -> bool {
    match spec.name {
        "shutdown" => argv[1..].iter().any(|a| args::is(a, "NOSAVE")),
        _ => spec.has(ALLOW_BUSY),
    }
}

/// The Lua state, created on first use; a cheap handle that does not borrow `state`.
fn engine_of(state: &mut ScriptState) -> Result<engine::Engine, CommandError> {
    if state.engine.is_none() {
        let engine = engine::Engine::new(state.run.clone())
            .map_err(|e| CommandError::err(format!("Failed to create the Lua state: {e}")))?;
        state.engine = Some(engine);
    }
    state
        .engine
        .as_ref()
        .map(|e| e.handle())
        .ok_or(CommandError::Err("Lua state unavailable"))
}

/// The SHA1 of a script body as 40 lowercase hex digits (Redis: `sha1hex`).
pub fn sha1hex(body: &[u8]) -> [u8; 40] {
    let digest = sha1_smol::Sha1::from(body).digest().bytes();
    let mut out = [0u8; 40];
    for (i, b) in digest.iter().enumerate() {
        out[2 * i] = b"0123456789abcdef"[(b >> 4) as usize];
        out[2 * i + 1] = b"0123456789abcdef"[(b & 15) as usize];
    }
    out
}

/// Compiles `body` unless a script with its SHA is already cached; returns the SHA.
/// Redis: `luaCreateFunction`.
fn load_script(ctx: &mut Ctx, body: &[u8]) -> Result<[u8; 40], CommandError> {
    let sha = sha1hex(body);
    let scripts = &mut ctx.srv.scripts;
    if scripts.scripts.contains_key(&sha) {
        return Ok(sha);
    }
    let engine = engine_of(scripts)?;
    let (declared, skip) = parse_shebang(body)?;
    // The shebang line is skipped but its newline kept, so line numbers stay the user's.
    let mut script = engine.compile(&body[skip..], &sha)?;
    script.no_writes = declared.no_writes;
    script.allow_oom = declared.allow_oom;
    script.allow_stale = declared.allow_stale;
    script.shebang = skip > 0;
    scripts.scripts.insert(sha, Rc::new(script));
    Ok(sha)
}

/// The flags a script or function declares that the server acts on.
#[derive(Clone, Copy, Default)]
pub struct DeclaredFlags {
    pub no_writes: bool,
    pub allow_oom: bool,
    pub allow_stale: bool,
}

impl DeclaredFlags {
    /// May not start while used memory is over `maxmemory` (`no-writes` implies `allow-oom`;
    /// Redis: `scriptFlagsToCmdFlags` adding `CMD_DENYOOM`).
    fn denyoom(self) -> bool {
        !(self.no_writes || self.allow_oom)
    }
}

/// Reads a `#!lua flags=...` first line (Redis 7: `evalExtractShebangFlags`). Returns the
/// flags the script declared and how many bytes the shebang line takes.
fn parse_shebang(body: &[u8]) -> Result<(DeclaredFlags, usize), CommandError> {
    if !body.starts_with(b"#!") {
        return Ok((DeclaredFlags::default(), 0));
    }
    let len = body.iter().position(|&b| b == b'\n').unwrap_or(body.len());
    let line = String::from_utf8_lossy(&body[..len]);
    let mut parts = line.split(' ').filter(|p| !p.is_empty());
    let engine = parts.next().unwrap_or("");
    if engine != "#!lua" {
        return Err(CommandError::err(format!(
            "Unexpected engine in script shebang: {engine}"
        )));
    }
    let mut declared = DeclaredFlags::default();
    for option in parts {
        let Some(list) = option.strip_prefix("flags=") else {
            return Err(CommandError::err(format!(
                "Unknown lua shebang option: {option}"
            )));
        };
        for flag in list.split(',').filter(|f| !f.is_empty()) {
            match flag {
                "no-writes" => declared.no_writes = true,
                "allow-oom" => declared.allow_oom = true,
                "allow-stale" => declared.allow_stale = true,
                "no-cluster" | "allow-cross-slot-keys" => {}
                other => {
                    return Err(CommandError::err(format!(
                        "Unexpected flag in script shebang: {other}"
                    )))
                }
            }
        }
    }
    Ok((declared, len))
}

/// The flags the script or function that EVAL / EVALSHA / FCALL `argv` runs declares; None
/// for a script without a shebang (it declares nothing: its commands are checked one by one)
/// or one not found. Redis: `evalGetCommandFlags`, `fcallGetCommandFlags`.
fn declared_script_flags(ctx: &Ctx, spec: &CommandSpec, argv: &[&[u8]]) -> Option<DeclaredFlags> {
    let &target = argv.get(1)?;
    let of_script = |s: &Script| {
        s.shebang.then_some(DeclaredFlags {
            no_writes: s.no_writes,
            allow_oom: s.allow_oom,
            allow_stale: s.allow_stale,
        })
    };
    match spec.name {
        "eval" | "eval_ro" => match ctx.srv.scripts.scripts.get(&sha1hex(target)) {
            Some(script) => of_script(script),
            None => match parse_shebang(target) {
                Ok((flags, len)) if len > 0 => Some(flags),
                _ => None,
            },
        },
        "evalsha" | "evalsha_ro" => {
            let mut sha = [0u8; 40];
            if target.len() != 40 {
                return None;
            }
            for (d, s) in sha.iter_mut().zip(target) {
                *d = s.to_ascii_lowercase();
            }
            ctx.srv.scripts.scripts.get(&sha).and_then(|s| of_script(s))
        }
        "fcall" | "fcall_ro" => function::declared_flags(ctx, target),
        _ => None,
    }
}

/// Does EVAL / EVALSHA / FCALL `argv` run a script whose declared flags make it `denyoom`?
/// Scripts without a shebang declare nothing and are checked per write instead
/// ([`oom_denies_write`]). Redis: `evalGetCommandFlags`, `fcallGetCommandFlags`.
pub fn declared_denyoom(ctx: &mut Ctx, spec: &CommandSpec, argv: &[&[u8]]) -> bool {
    declared_script_flags(ctx, spec, argv).is_some_and(|f| f.denyoom())
}

/// The flags `argv` runs with: the table's, except for a script that declares its own, whose
/// `write`, `denyoom`, `stale` and `may-replicate` follow the declaration. Redis:
/// `getCommandFlags`, `scriptFlagsToCmdFlags`.
pub fn command_flags(ctx: &Ctx, spec: &CommandSpec, argv: &[&[u8]]) -> u32 {
    let Some(declared) = declared_script_flags(ctx, spec, argv) else {
        return spec.flags;
    };
    let mut flags = spec.flags & !(WRITE | DENYOOM | MAY_REPLICATE | STALE);
    if declared.allow_stale {
        flags |= STALE;
    }
    if declared.denyoom() {
        flags |= DENYOOM;
    }
    if !declared.no_writes {
        flags |= WRITE;
    }
    flags
}

/// The checks a script passes before it starts (Redis: `scriptPrepareForRun`). `declared` is
/// None for an EVAL script without a shebang, which declares nothing (its commands are checked
/// one by one); `read_only` is an `*_RO` call. The master's stream is obeyed.
fn prepare_for_run(
    ctx: &Ctx,
    declared: Option<DeclaredFlags>,
    read_only: bool,
) -> Result<(), CommandError> {
    let obey = super::must_obey_client(ctx);
    let stale = super::replica::running_stale(ctx);
    let Some(declared) = declared else {
        if stale {
            return Err(super::replica::masterdown_error());
        }
        return Ok(());
    };
    if stale && !declared.allow_stale {
        return Err(CommandError::Custom(
            "MASTERDOWN Link with MASTER is down, replica-serve-stale-data is set to 'no' \
             and 'allow-stale' flag is not set on the script."
                .into(),
        ));
    }
    if !declared.no_writes {
        if super::replica::is_read_only(ctx) && !obey {
            return Err(CommandError::Custom(
                "READONLY Can not run script with write flag on readonly replica".into(),
            ));
        }
        if !obey {
            super::persistence::deny_writable_script(ctx.srv)?;
        }
        if read_only {
            return Err(CommandError::Err(
                "Can not execute a script with write flag using *_ro command.",
            ));
        }
        if !super::replication::enough_good_replicas(ctx) {
            return Err(CommandError::NoReplicas);
        }
    }
    check_declared_oom(ctx, declared)
}

/// Before a script with declared flags starts: refused if the command that runs it found
/// memory over the limit and the script did not declare `allow-oom` or `no-writes` (Redis:
/// `scriptPrepareForRun`).
fn check_declared_oom(ctx: &Ctx, declared: DeclaredFlags) -> Result<(), CommandError> {
    if ctx.srv.evict.pre_command_oom && ctx.srv.config.maxmemory != 0 && declared.denyoom() {
        return Err(CommandError::Custom(
            "OOM allow-oom flag is not set on the script, can not run it when used memory > 'maxmemory'"
                .into(),
        ));
    }
    Ok(())
}

/// Must `redis.call` refuse a `denyoom` command? Only while the command that started the
/// script found memory over the limit, before the script's first write (a script that wrote
/// cannot be stopped half way), and unless it declared `allow-oom` (Redis: `scriptVerifyOOM`).
pub fn oom_denies_write(ctx: &Ctx) -> bool {
    let run = &ctx.srv.scripts.run;
    ctx.srv.config.maxmemory != 0
        && ctx.srv.evict.pre_command_oom
        && !run.wrote.get()
        && !run.allow_oom.get()
}

/// EVAL script numkeys [key ...] [arg ...]  (and EVALSHA sha1, EVAL_RO, EVALSHA_RO)
/// — replies whatever the script returns, converted by Redis's Lua-to-RESP rules.
fn eval_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    // Shown before the commands the script runs (EVAL is `skip_monitor` for call()).
    super::monitor::feed(ctx, argv, false);
    // Effects replication: the commands the script runs are propagated, never the script.
    super::propagate::prevent(ctx);
    let name = argv[0];
    let by_sha = name.len() >= 7 && name[..7].eq_ignore_ascii_case(b"evalsha");
    let read_only = name.len() > 3 && name[name.len() - 3..].eq_ignore_ascii_case(b"_ro");
    let numkeys = args::int(argv[2])?;
    if numkeys > (argv.len() - 3) as i64 {
        return Err(CommandError::Err(
            "Number of keys can't be greater than number of args",
        ));
    }
    if numkeys < 0 {
        return Err(CommandError::Err("Number of keys can't be negative"));
    }
    let sha = if by_sha {
        let mut sha = [0u8; 40];
        if argv[1].len() != 40 {
            return Err(no_script());
        }
        for (d, s) in sha.iter_mut().zip(argv[1]) {
            *d = s.to_ascii_lowercase();
        }
        if !ctx.srv.scripts.scripts.contains_key(&sha) {
            return Err(no_script());
        }
        sha
    } else {
        load_script(ctx, argv[1])?
    };
    let split = 3 + numkeys as usize;
    super::tracking::begin_script(ctx, &argv[3..split]);
    let script = match ctx.srv.scripts.scripts.get(&sha) {
        Some(script) => script.clone(),
        None => return Err(no_script()),
    };
    let Some(engine) = ctx.srv.scripts.engine.as_ref().map(|e| e.handle()) else {
        return Err(no_script());
    };
    // Scripts with a shebang declare their flags; without no-writes they may not run as _RO.
    let declared = script.shebang.then_some(DeclaredFlags {
        no_writes: script.no_writes,
        allow_oom: script.allow_oom,
        allow_stale: script.allow_stale,
    });
    prepare_for_run(ctx, declared, read_only)?;
    let read_only = read_only || script.no_writes;
    ctx.srv
        .scripts
        .run
        .allow_oom
        .set(script.shebang && script.allow_oom);
    engine.run(ctx, &script, &argv[3..split], &argv[split..], read_only)
}

fn no_script() -> CommandError {
    CommandError::Custom("NOSCRIPT No matching script. Please use EVAL.".into())
}

/// SCRIPT LOAD script — replies the script's SHA1 (bulk) after compiling it.
fn script_load_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    let sha = load_script(ctx, argv[2])?;
    ctx.out.bulk(&sha);
    Ok(())
}

/// SCRIPT EXISTS sha1 [sha1 ...] — an array of 1/0, one per SHA.
fn script_exists_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    ctx.out.array_len(argv.len() - 2);
    for sha in &argv[2..] {
        let mut key = [0u8; 40];
        let found = sha.len() == 40 && {
            for (d, s) in key.iter_mut().zip(sha.iter()) {
                *d = s.to_ascii_lowercase();
            }
            ctx.srv.scripts.scripts.contains_key(&key)
        };
        ctx.out.integer(found as i64);
    }
    Ok(())
}

/// SCRIPT FLUSH [ASYNC | SYNC] — forgets every script and starts a fresh Lua state (`+OK`).
fn script_flush_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    match argv.get(2) {
        None => {}
        Some(mode) if argv.len() == 3 && (args::is(mode, "SYNC") || args::is(mode, "ASYNC")) => {}
        Some(_) => {
            return Err(CommandError::Err(
                "SCRIPT FLUSH only support SYNC|ASYNC option",
            ))
        }
    }
    // Redis also starts a new Lua state here; ferrodis keeps its one state (shared with
    // FUNCTION libraries), which scripts cannot have changed: the sandbox is read-only.
    ctx.srv.scripts.scripts.clear();
    ctx.out.ok();
    Ok(())
}

/// SCRIPT KILL / FUNCTION KILL — stops a script (EVAL) or function (FCALL) that has not
/// written yet (`+OK`); they arrive through the busy loop. Redis: `scriptKill`.
fn script_kill_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    let kills_eval = argv[0].eq_ignore_ascii_case(b"script");
    let run = &ctx.srv.scripts.run;
    if !run.running.get() {
        return Err(CommandError::Custom(
            "NOTBUSY No scripts in execution right now.".into(),
        ));
    }
    if run.wrote.get() {
        return Err(CommandError::Custom(
            "UNKILLABLE Sorry the script already executed write commands against the dataset. \
             You can either wait the script termination or kill the server in a hard way using \
             the SHUTDOWN NOSAVE command."
                .into(),
        ));
    }
    if kills_eval != run.is_eval.get() {
        // SCRIPT KILL cannot stop a function, nor FUNCTION KILL a script: the reply is
        // the BUSY error naming the right command.
        return Err(CommandError::Custom(ctx.srv.scripts.busy_error().into()));
    }
    run.killed.set(true);
    ctx.out.ok();
    Ok(())
}

/// SCRIPT DEBUG YES|SYNC|NO — NO is accepted (`+OK`); the Lua debugger (LDB) itself is not
/// implemented.
fn script_debug_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    if args::is(argv[2], "NO") {
        ctx.out.ok();
        return Ok(());
    }
    if args::is(argv[2], "YES") || args::is(argv[2], "SYNC") {
        return Err(CommandError::Err(
            "SCRIPT DEBUG (the Lua debugger) is not supported by ferrodis",
        ));
    }
    Err(CommandError::Err("Use SCRIPT DEBUG YES/SYNC/NO"))
}

/// SCRIPT HELP — the subcommand list, as Redis prints it.
fn script_help_command(ctx: &mut Ctx, _argv: &[&[u8]]) -> CommandResult {
    const HELP: &[&str] = &[
        "DEBUG (YES|SYNC|NO)",
        "    Set the debug mode for subsequent scripts executed.",
        "EXISTS <sha1> [<sha1> ...]",
        "    Return information about the existence of the scripts in the script cache.",
        "FLUSH [ASYNC|SYNC]",
        "    Flush the Lua scripts cache. Very dangerous on replicas.",
        "    When called without the optional mode argument, the behavior is determined by the",
        "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
        "    * ASYNC: Asynchronously flush the scripts cache.",
        "    * SYNC: Synchronously flush the scripts cache.",
        "KILL",
        "    Kill the currently executing Lua script.",
        "LOAD <script>",
        "    Load a script into the scripts cache without executing it.",
    ];
    ctx.out.help("SCRIPT", HELP);
    Ok(())
}
