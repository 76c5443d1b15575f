//! The Lua state: sandbox, the `redis` library, running a script (Redis: `script_lua.c`,
//! `eval.c` `evalGenericCommand`, `script.c` `scriptCall`).
//!
//! # The sandbox
//! Redis patches its Lua to support read-only tables and marks the globals and every library
//! table read-only. Stock Lua 5.1 has no such flag, so the same effect is built from
//! metatables. A script's functions run with `env` as their environment:
//!
//! ```text
//!   env (always empty)  --__index-->  backing (KEYS, ARGV, safe builtins, library proxies)
//!     __newindex: "Attempt to modify a readonly table"      __index: "Script attempted to
//!                                                            access nonexistent global ..."
//!   string/math/table/redis/cjson/... are proxies: empty tables whose __index is the library.
//! ```
//!
//! So `x = 1`, `string.foo = 1` and `rawset(_G, ...)` fail as in Redis 7.0, and reading an
//! undefined global raises Redis's error. `loadstring` and `load` are wrapped so that code they
//! compile gets the same environment.
//!
//! # Errors
//! Redis represents errors inside Lua as tables `{err = "CODE message"}`. `redis.call` raises
//! such a table, `redis.pcall` returns it, and the message handler passed to `xpcall` turns
//! plain string errors into one and records where the error happened, which becomes the
//! ` script: <sha>, on @user_script:<line>.` suffix of the reply.
//!
//! An mlua callback can only fail with an mlua error value, not raise a Lua table, so a Rust
//! callback that must raise `{err=...}` parks the table in the registry and fails with a
//! marker error ([`raise_table`]); the message handler and the sandbox's `pcall` swap the
//! marker for the table. The callbacks stay C functions on purpose: in Lua 5.1 a script's
//! `return redis.call(...)` is a tail call, and a Lua wrapper would lose the script's frame,
//! hence the line number in the error.
//!
//! # Reaching the server from Lua
//! `redis.call` needs the running command's `Ctx`, which is borrowed for the length of EVAL.
//! `Lua::scope` lets a callback borrow it, so for each run one scoped function is created and
//! stored as `redis.call`. It is also the only way into the server for the rest: `redis.pcall`
//! (a permanent function) calls it with a marker first argument meaning "return errors, do
//! not raise them", and the count hook (which must be `'static`) with a marker meaning "turn
//! the event loop". One scoped function per run keeps EVAL's garbage, hence GC work, low.

use super::convert::{lua_to_reply, resp_to_lua, STATS_COUNTED};
use super::{libs, RunState};
use crate::command::client::ReplyMode;
use crate::command::error::{CommandError, CommandResult};
use crate::command::table::flags;
use crate::command::{self, table, Caller, Ctx, Processed};
use crate::resp::reply::ReplyBuffer;
use log::{debug, info, warn};
use mlua::{
    chunk::ChunkMode, Function, HookTriggers, LightUserData, Lua, LuaOptions, MultiValue, StdLib,
    Table, Value, VmState,
};
use std::cell::RefCell;
use std::rc::Rc;
use std::time::Instant;

/// Chunk name of the prelude; frames from it are skipped when locating an error.
const INTERNAL_CHUNK: &str = "=ferrodis";
/// FUNCTION LOAD gives a library's code this long to register its functions.
const LOAD_TIMEOUT_MS: u128 = 500;
/// First arguments of the scoped `redis.call` that only ferrodis can pass (scripts cannot make
/// light userdata other than `cjson.null`, which is NULL): "return errors" (from
/// `redis.pcall`) and "turn the event loop" (from the count hook).
/// (Never dereferenced: only compared.)
const PCALL_MARKER: LightUserData = LightUserData(std::ptr::without_provenance_mut(1));
const POLL_MARKER: LightUserData = LightUserData(std::ptr::without_provenance_mut(2));
/// "May the script's user run this command?" (from `redis.acl_check_cmd`).
const ACL_MARKER: LightUserData = LightUserData(std::ptr::without_provenance_mut(3));
/// Instructions between two runs of the count hook (Redis: `LUA_MASKCOUNT` 100000).
const HOOK_EVERY: u32 = 100_000;
const KILLED_MESSAGE: &str = "-ERR Script killed by user with SCRIPT KILL...";
/// Registry slot of an error table raised by a Rust callback (see [`raise_table`]).
const PENDING_ERROR_KEY: &str = "ferrodis_pending_error";
const RAISED_TABLE_MARKER: &str = "ferrodis: error table raised";

/// Builds the sandbox. Runs once with the full standard environment; receives the hidden table
/// (Rust-provided helpers and libraries) and returns the script environment and its backing
/// table.
const PRELUDE: &str = r#"
local hidden = ...
local G = _G
local raw_error, raw_type, raw_pcall, raw_rawset = error, type, pcall, rawset
local setmetatable, setfenv, tostring, tonumber, select = setmetatable, setfenv, tostring, tonumber, select
local raw_loadstring, raw_load = loadstring, load

-- Read-only proxy -> the table it stands for (so pairs, next and rawget see through it).
local readonly = setmetatable({}, {__mode = 'k'})
local function ro_error() raw_error('Attempt to modify a readonly table', 2) end
local function protect(t)
  local p = setmetatable({}, {__index = t, __newindex = ro_error, __metatable = false})
  readonly[p] = t
  return p
end

local backing = {}
local env = setmetatable({}, {__index = backing, __newindex = ro_error, __metatable = false})
readonly[env] = backing

for _, name in ipairs({'assert', 'collectgarbage', 'error', 'gcinfo', 'ipairs',
    'rawequal', 'select', 'tonumber', 'tostring', 'type', 'unpack',
    '_VERSION'}) do
  raw_rawset(backing, name, G[name])
end
local raw_next, raw_rawget = next, rawget
local function seen(t) return readonly[t] or t end
raw_rawset(backing, 'next', function(t, k) return raw_next(seen(t), k) end)
raw_rawset(backing, 'pairs', function(t) return raw_next, seen(t), nil end)
raw_rawset(backing, 'rawget', function(t, k) return raw_rawget(seen(t), k) end)

-- Redis's pcall: an error table {err = msg} is caught as the plain message.
local function pcall_result(ok, ...)
  if ok then return true, ... end
  local e = ...
  -- SCRIPT KILL must stop the script, not just the function a pcall protects.
  if hidden.killed() then raw_error(e, 0) end
  if raw_type(e) == 'table' then
    local m = e.err
    if raw_type(m) == 'string' or raw_type(m) == 'number' then e = m end
  elseif raw_type(e) == 'userdata' then
    e = hidden.error_text(e)
  end
  return false, e
end
raw_rawset(backing, 'pcall', function(...) return pcall_result(raw_pcall(...)) end)
local function xpcall_result(ok, ...)
  if not ok and hidden.killed() then raw_error((...), 0) end
  return ok, ...
end
raw_rawset(backing, 'xpcall', function(f, h, ...) return xpcall_result(xpcall(f, h, ...)) end)
-- Errors of the real setmetatable are raised again at the caller's level (with the name a
-- direct call would give), so they read as if no wrapper were in between.
raw_rawset(backing, 'setmetatable', function(t, mt)
  if readonly[t] then raw_error('Attempt to modify a readonly table', 0) end
  local ok, e = raw_pcall(setmetatable, t, mt)
  if not ok then raw_error((string.gsub(e, "to '%?'", "to 'setmetatable'", 1)), 2) end
  return e
end)
raw_rawset(backing, 'rawset', function(t, k, v)
  if readonly[t] then raw_error('Attempt to modify a readonly table', 0) end
  return raw_rawset(t, k, v)
end)
raw_rawset(backing, 'loadstring', function(s, name)
  local f, e = raw_loadstring(s, name)
  if f then setfenv(f, env) end
  return f, e
end)
raw_rawset(backing, 'load', function(fn, name)
  local f, e = raw_load(fn, name)
  if f then setfenv(f, env) end
  return f, e
end)

local redis = hidden.redis
redis.replicate_commands = function() return true end
redis.breakpoint = function() return false end
redis.debug = function() end

-- Redis's PRNG (redisLrand48), so scripts are reproducible.
G.math.random = hidden.random
G.math.randomseed = hidden.randomseed

for _, name in ipairs({'table', 'math', 'coroutine'}) do
  raw_rawset(backing, name, protect(G[name]))
end
-- Strings index the same read-only proxy, so getmetatable('').__index == string holds and
-- the string library cannot be changed through it either.
local string_proxy = protect(G.string)
raw_rawset(backing, 'string', string_proxy)
getmetatable('').__index = string_proxy
-- ... and the string metatable itself is only handed out read-only.
local raw_getmetatable = getmetatable
local string_mt = protect(raw_getmetatable(''))
raw_rawset(backing, 'getmetatable', function(v)
  if raw_type(v) == 'string' then return string_mt end
  if readonly[v] then return nil end
  return raw_getmetatable(v)
end)
for name, lib in pairs(hidden.libs) do raw_rawset(backing, name, protect(lib)) end
raw_rawset(backing, '_G', env)
setmetatable(backing, {__index = function(_, k)
  raw_error("Script attempted to access nonexistent global variable '" .. tostring(k) .. "'", 2)
end, __metatable = false})

-- FUNCTION libraries get their own environment. While FUNCTION LOAD runs the library code,
-- its lookups go to the load API (only redis.register_function, redis.log and constants);
-- when its functions later run, to the same globals as EVAL scripts (Redis switches the
-- globals' __index the same way, in function_lua.c).
local function missing(_, k)
  raw_error("Script attempted to access nonexistent global variable '" .. tostring(k) .. "'", 2)
end
-- Their globals are a copy of the EVAL globals made before any EVAL ran, so KEYS and ARGV
-- (which EVAL sets in `backing`) never show through: Redis runs functions in a Lua state of
-- their own.
local fbacking = {}
for k, v in raw_next, backing do raw_rawset(fbacking, k, v) end
local fenv_mt = {__index = fbacking, __newindex = ro_error, __metatable = false}
local fenv = setmetatable({}, fenv_mt)
readonly[fenv] = fbacking
raw_rawset(fbacking, '_G', fenv)
setmetatable(fbacking, {__index = missing, __metatable = false})
local load_redis = hidden.load_redis
setmetatable(load_redis, {__index = missing, __metatable = false})
local load_api = setmetatable({redis = protect(load_redis)}, {__index = missing, __metatable = false})

-- Lua 5.1's xpcall passes no arguments, so FCALL's (keys, args) ride in a closure.
return env, backing, function(f, handler, keys, args)
  local ok, v
  if keys == nil then
    ok, v = xpcall(f, handler)
  else
    ok, v = xpcall(function() return f(keys, args) end, handler)
  end
  return ok, v
end, fenv, fenv_mt, load_api, fbacking
"#;

/// Functions registered so far by the library being loaded.
pub type Registrations = Rc<RefCell<Option<Vec<super::function::Registered>>>>;

/// A compiled script, kept by SHA.
#[derive(Clone)]
pub struct Script {
    func: Function,
    sha: [u8; 40],
    /// Declared `#!lua flags=no-writes`: runs as if called with EVAL_RO.
    pub no_writes: bool,
    /// Starts with a `#!lua` line (so its flags are declared, not assumed).
    pub shebang: bool,
    /// Declared `allow-oom`: may write while used memory is over `maxmemory`.
    pub allow_oom: bool,
    /// Declared `allow-stale`: may run on a replica whose link is down while
    /// `replica-serve-stale-data` is `no`.
    pub allow_stale: bool,
}

/// The Lua state with its sandbox. Cheap to clone (every field is a reference into the
/// state), which lets EVAL hold it without borrowing `ServerState`.
#[derive(Clone)]
pub struct Engine {
    lua: Lua,
    env: Table,
    /// FUNCTION libraries' environment, its metatable (whose `__index` switches between the
    /// load API and the globals) and the load API.
    fenv: Table,
    fenv_mt: Table,
    load_api: Table,
    /// What FUNCTION libraries' globals resolve to when their functions run.
    fglobals: Table,
    /// Functions registered by the library being loaded (`None` outside FUNCTION LOAD).
    registrations: Registrations,
    backing: Table,
    redis: Table,
    runner: Function,
    handler: Function,
    run: Rc<RunState>,
}

impl Engine {
    pub fn new(run: Rc<RunState>) -> mlua::Result<Engine> {
        let lua = Lua::new_with(
            StdLib::TABLE | StdLib::STRING | StdLib::MATH,
            LuaOptions::new(),
        )?;
        let hidden = lua.create_table()?;
        let redis = lua.create_table()?;
        redis.raw_set("REDIS_VERSION", crate::command::state::REDIS_VERSION)?;
        redis.raw_set("REDIS_VERSION_NUM", 0x07000f)?;
        for (name, value) in [
            ("LOG_DEBUG", 0),
            ("LOG_VERBOSE", 1),
            ("LOG_NOTICE", 2),
            ("LOG_WARNING", 3),
            ("REPL_NONE", 0),
            ("REPL_AOF", 1),
            ("REPL_SLAVE", 2),
            ("REPL_REPLICA", 2),
            ("REPL_ALL", 3),
        ] {
            redis.raw_set(name, value)?;
        }
        redis.raw_set(
            "error_reply",
            lua.create_function(|lua, args: MultiValue| match args.front() {
                Some(Value::String(s)) if args.len() == 1 => {
                    let mut text = s.as_bytes().to_vec();
                    if text.first() != Some(&b'-') {
                        text.insert(0, b'-');
                    }
                    error_table(lua, &text)
                }
                _ => error_table(lua, b"wrong number or type of arguments"),
            })?,
        )?;
        redis.raw_set(
            "status_reply",
            lua.create_function(|lua, args: MultiValue| match args.front() {
                Some(Value::String(s)) if args.len() == 1 => {
                    let t = lua.create_table()?;
                    t.raw_set("ok", s.clone())?;
                    Ok(t)
                }
                _ => error_table(lua, b"wrong number or type of arguments"),
            })?,
        )?;
        redis.raw_set(
            "sha1hex",
            lua.create_function(|lua, args: MultiValue| match args.front() {
                Some(v) if args.len() == 1 => {
                    let bytes = lua_bytes(v).unwrap_or_default();
                    lua.create_string(super::sha1hex(&bytes))
                }
                _ => Err(raise(lua, b"wrong number of arguments")),
            })?,
        )?;
        let resp_run = run.clone();
        redis.raw_set(
            "setresp",
            lua.create_function(move |lua, args: MultiValue| {
                if args.len() != 1 {
                    return Err(raise(lua, b"redis.setresp() requires one argument."));
                }
                match args.front().and_then(lua_number) {
                    Some(v) if v == 2.0 || v == 3.0 => {
                        resp_run.resp.set(v as u8);
                        Ok(())
                    }
                    _ => Err(raise(lua, b"RESP version must be 2 or 3.")),
                }
            })?,
        )?;
        redis.raw_set("log", lua.create_function(log_from_script)?)?;
        let acl_redis = redis.clone();
        redis.raw_set(
            "acl_check_cmd",
            lua.create_function(move |lua, args| acl_check_cmd(lua, &acl_redis, args))?,
        )?;
        let repl_run = run.clone();
        redis.raw_set(
            "set_repl",
            lua.create_function(move |lua, args: MultiValue| {
                if args.len() != 1 {
                    return Err(raise(lua, b"redis.set_repl() requires one argument."));
                }
                match args.front().and_then(lua_number) {
                    // REPL_NONE 0, REPL_AOF 1, REPL_REPLICA 2, REPL_ALL 3: the bits of
                    // propagate::TARGET_AOF and TARGET_REPL.
                    // Redis converts to a C int first: 2.5 is 2.
                    Some(v) if (0.0..=3.0).contains(&v.trunc()) => {
                        repl_run.repl.set(v.trunc() as u8);
                        Ok(())
                    }
                    _ => Err(raise(
                        lua,
                        b"Invalid replication flags. Use REPL_AOF, REPL_REPLICA, REPL_ALL or REPL_NONE.",
                    )),
                }
            })?,
        )?;
        hidden.raw_set(
            "error_text",
            lua.create_function(|lua, e: Value| Ok(error_message(lua, &e)))?,
        )?;
        libs::register(&lua, &hidden, run.rand.clone())?;
        let libs_table = lua.create_table()?;
        libs_table.raw_set("redis", redis.clone())?;
        for name in ["bit", "cjson", "struct", "cmsgpack"] {
            libs_table.raw_set(name, hidden.raw_get::<Value>(name)?)?;
        }
        hidden.raw_set("libs", libs_table)?;
        hidden.raw_set("redis", redis.clone())?;

        let load_redis = lua.create_table()?;
        for key in [
            "log",
            "LOG_DEBUG",
            "LOG_VERBOSE",
            "LOG_NOTICE",
            "LOG_WARNING",
            "REDIS_VERSION",
            "REDIS_VERSION_NUM",
        ] {
            load_redis.raw_set(key, redis.raw_get::<Value>(key)?)?;
        }
        let registrations: Registrations = Rc::new(RefCell::new(None));
        let pending = registrations.clone();
        load_redis.raw_set(
            "register_function",
            lua.create_function(move |lua, args: MultiValue| {
                super::function::register_function(lua, &pending, args)
                    .map_err(|msg| raise(lua, msg.as_bytes()))
            })?,
        )?;
        hidden.raw_set("load_redis", load_redis)?;
        type Prelude = (Table, Table, Function, Table, Table, Table, Table);
        let (env, backing, runner, fenv, fenv_mt, load_api, fglobals): Prelude = lua
            .load(PRELUDE)
            .set_name(INTERNAL_CHUNK)
            .set_mode(ChunkMode::Text)
            .call(hidden.clone())?;

        let killed_run = run.clone();
        hidden.raw_set(
            "killed",
            lua.create_function(move |_, ()| Ok(killed_run.killed.get()))?,
        )?;
        let handler_run = run.clone();
        let handler = lua.create_function(move |lua, err: Value| {
            error_handler(lua, err, handler_run.killed.get())
        })?;

        let hook_run = run.clone();
        let hook_redis = redis.clone();
        // Global: coroutines a script creates are counted too (a thread hook would miss a
        // `while true do end` inside one, and the server could never be unblocked).
        lua.set_global_hook(
            HookTriggers::new().every_nth_instruction(HOOK_EVERY),
            move |lua, _debug| count_hook(lua, &hook_run, &hook_redis),
        )?;
        let pcall_redis = redis.clone();
        redis.raw_set(
            "pcall",
            lua.create_function(move |_, mut args: MultiValue| {
                let call: Function = pcall_redis.raw_get("call")?;
                args.push_front(Value::LightUserData(PCALL_MARKER));
                call.call::<Value>(args)
            })?,
        )?;
        Ok(Engine {
            lua,
            env,
            fenv,
            fenv_mt,
            load_api,
            fglobals,
            registrations,
            backing,
            redis,
            runner,
            handler,
            run,
        })
    }

    /// Bytes allocated by the Lua state.
    pub fn used_memory(&self) -> usize {
        self.lua.used_memory()
    }

    /// A handle to run scripts with while `ServerState` is borrowed elsewhere.
    pub fn handle(&self) -> Engine {
        self.clone()
    }

    /// Compiles a script body as the function `user_script` (Redis: `luaCreateFunction`).
    pub fn compile(&self, body: &[u8], sha: &[u8; 40]) -> Result<Script, CommandError> {
        let func = self
            .lua
            .load(body)
            .set_name("@user_script")
            .set_mode(ChunkMode::Text)
            .set_environment(self.env.clone())
            .into_function()
            .map_err(|e| {
                let msg = match &e {
                    mlua::Error::SyntaxError { message, .. } => message.clone(),
                    other => other.to_string(),
                };
                CommandError::err(format!("Error compiling script (new function): {msg}"))
            })?;
        Ok(Script {
            func,
            sha: *sha,
            no_writes: false,
            shebang: false,
            allow_oom: false,
            allow_stale: false,
        })
    }

    /// Runs `script` with KEYS and ARGV set, and replies its result (or its error) to
    /// `ctx.out`. Redis: `evalGenericCommand` -> `luaCallFunction`.
    pub fn run(
        &self,
        ctx: &mut Ctx,
        script: &Script,
        keys: &[&[u8]],
        argv: &[&[u8]],
        read_only: bool,
    ) -> CommandResult {
        let name = String::from_utf8_lossy(&script.sha).into_owned();
        self.call_script(ctx, &script.func, &name, keys, argv, read_only, true)
    }

    /// Runs `func` for EVAL (`is_eval`: KEYS and ARGV are globals) or FCALL (they are the
    /// function's two arguments) and replies its result or error; `name` (the SHA or the
    /// function name) goes into error messages and FUNCTION STATS.
    #[allow(clippy::too_many_arguments)]
    pub fn call_script(
        &self,
        ctx: &mut Ctx,
        func: &Function,
        name: &str,
        keys: &[&[u8]],
        argv: &[&[u8]],
        read_only: bool,
        is_eval: bool,
    ) -> CommandResult {
        let lua = &self.lua;
        let fail = |e: mlua::Error| CommandError::err(format!("Error running script: {e}"));
        let sequence = |items: &[&[u8]]| -> mlua::Result<Table> {
            lua.create_sequence_from(
                items
                    .iter()
                    .map(|k| lua.create_string(k))
                    .collect::<mlua::Result<Vec<_>>>()?,
            )
        };
        let keys_table = sequence(keys).map_err(fail)?;
        let argv_table = sequence(argv).map_err(fail)?;
        let call_args = if is_eval {
            self.backing.raw_set("KEYS", keys_table).map_err(fail)?;
            self.backing.raw_set("ARGV", argv_table).map_err(fail)?;
            MultiValue::from_iter([
                Value::Function(func.clone()),
                Value::Function(self.handler.clone()),
            ])
        } else {
            MultiValue::from_iter([
                Value::Function(func.clone()),
                Value::Function(self.handler.clone()),
                Value::Table(keys_table),
                Value::Table(argv_table),
            ])
        };
        self.run.is_eval.set(is_eval);
        *self.run.name.borrow_mut() = name.to_string();

        let run = &self.run;
        run.running.set(true);
        run.started.set(Some(Instant::now()));
        run.threshold_ms.set(ctx.srv.config.busy_reply_threshold);
        run.timed_out.set(false);
        run.killed.set(false);
        run.wrote.set(false);
        run.read_only.set(read_only);
        run.resp.set(2);
        run.repl.set(crate::command::propagate::TARGET_ALL);

        // SELECT inside a script changes the script's database, never the caller's (7.0).
        // The caller's CLIENT REPLY mode applies to EVAL's reply, not to the commands the
        // script runs (whose replies `call` would otherwise drop): switched off meanwhile.
        let caller = match ctx.clients.get_mut(ctx.id) {
            Some(c) => {
                let saved = (c.db, c.reply_mode);
                c.reply_mode = ReplyMode::On;
                Some(saved)
            }
            None => None,
        };
        let script_db = ctx.db;
        let outcome = {
            let running = RefCell::new(Running {
                ctx: &mut *ctx,
                db: script_db,
            });
            lua.scope(|scope| {
                // redis.call raises an error reply, redis.pcall returns it. Both are C
                // functions, so a script's `return redis.call(...)` keeps its own frame (and
                // line number) in Lua 5.1, which a Lua wrapper would lose to the tail call.
                let dispatch = |lua: &Lua, args: MultiValue| {
                    let mut running = running
                        .try_borrow_mut()
                        .map_err(|_| mlua::Error::runtime("re-entrant redis.call"))?;
                    running.dispatch(lua, &self.run, args)
                };
                let busy_poll = || {
                    if let Ok(mut running) = running.try_borrow_mut() {
                        // The loop's restricted turn, installed by the loop (see
                        // `ServerState::events_while_blocked`).
                        if let Some(turn) = running.ctx.srv.events_while_blocked {
                            turn(running.ctx);
                        }
                        if running.ctx.srv.shutdown.is_some() {
                            self.run.killed.set(true);
                        }
                    }
                };
                let acl_check = |argv: &[Vec<u8>]| {
                    running
                        .try_borrow()
                        .is_ok_and(|running| crate::command::acl::caller_may_run(running.ctx, argv))
                };
                let call = scope.create_function(move |lua, mut args: MultiValue| {
                    let raise = match args.front() {
                        Some(Value::LightUserData(m)) if *m == POLL_MARKER => {
                            busy_poll();
                            return Ok(Value::Nil);
                        }
                        Some(Value::LightUserData(m)) if *m == PCALL_MARKER => {
                            args.pop_front();
                            false
                        }
                        Some(Value::LightUserData(m)) if *m == ACL_MARKER => {
                            args.pop_front();
                            let argv: Vec<Vec<u8>> = args.iter().filter_map(lua_bytes).collect();
                            return Ok(Value::Boolean(acl_check(&argv)));
                        }
                        _ => true,
                    };
                    let (value, failed) = dispatch(lua, args)?;
                    match (raise && failed, value) {
                        (true, Value::Table(t)) => Err(raise_table(lua, t)),
                        (_, value) => Ok(value),
                    }
                })?;
                self.redis.raw_set("call", call)?;
                let (ok, value): (bool, Value) = self.runner.call(call_args)?;
                self.redis.raw_set("call", Value::Nil)?;
                if !ok {
                    return Ok(Some(script_error_message(&value, name)));
                }
                // A returned error table is the command's error reply (counted as one).
                if let Value::Table(t) = &value {
                    if let Ok(Value::String(err)) = t.raw_get::<Value>("err") {
                        let msg = String::from_utf8_lossy(&err.as_bytes()).into_owned();
                        return Ok(Some((
                            msg,
                            t.raw_get::<bool>(STATS_COUNTED).unwrap_or(false),
                        )));
                    }
                }
                let mut r = running.borrow_mut();
                let resp = self.run.resp.get();
                lua_to_reply(r.ctx.out, &value, resp);
                Ok(None)
            })
        };
        run.running.set(false);
        if run.timed_out.get() {
            info!("Lua script finished after the busy threshold; clients can be served again");
        }
        if let (Some((db, mode)), Some(c)) = (caller, ctx.clients.get_mut(ctx.id)) {
            c.db = db;
            c.reply_mode = mode;
        }
        if run.killed.get() && ctx.srv.shutdown.is_some() {
            // Killed by SHUTDOWN NOSAVE: Redis exits without answering the script's caller.
            return Ok(());
        }
        match outcome {
            Ok(None) => Ok(()),
            Ok(Some((msg, true))) => Err(CommandError::Counted(msg)),
            Ok(Some((msg, false))) => Err(CommandError::Custom(msg)),
            Err(e) => Err(fail(e)),
        }
    }
}

impl Engine {
    /// Runs a FUNCTION library's code so it can register its functions (Redis:
    /// `luaEngineCreate`). `body` is the code after the shebang line. Returns the registered
    /// functions, or the error text after `ERR `.
    pub fn load_library(&self, body: &[u8]) -> Result<Vec<super::function::Registered>, String> {
        let func = self
            .lua
            .load(body)
            .set_name("@user_function")
            .set_mode(ChunkMode::Text)
            .set_environment(self.fenv.clone())
            .into_function()
            .map_err(|e| match e {
                mlua::Error::SyntaxError { message, .. } => {
                    format!("Error compiling function: {message}")
                }
                other => format!("Error compiling function: {other}"),
            })?;
        let internal = |e: mlua::Error| format!("Error registering functions: {e}");
        *self.registrations.borrow_mut() = Some(Vec::new());
        self.fenv_mt
            .raw_set("__index", self.load_api.clone())
            .map_err(internal)?;
        self.run.loading.set(true);
        self.run.started.set(Some(Instant::now()));
        let outcome: mlua::Result<(bool, Value)> = self.runner.call((func, self.handler.clone()));
        self.run.loading.set(false);
        self.fenv_mt
            .raw_set("__index", self.fglobals.clone())
            .map_err(internal)?;
        let registered = self.registrations.borrow_mut().take().unwrap_or_default();
        match outcome {
            Ok((true, _)) => Ok(registered),
            Ok((false, Value::Table(t))) => Err(format!(
                "Error registering functions: {}",
                t.raw_get::<String>("err").unwrap_or_default()
            )),
            Ok((false, _)) => Err("Error registering functions".into()),
            Err(e) => Err(internal(e)),
        }
    }
}

/// The server side of a running script, borrowed by the scoped callbacks.
struct Running<'c, 'a> {
    ctx: &'c mut Ctx<'a>,
    /// The script's selected database (SELECT inside the script moves it).
    db: usize,
}

impl Running<'_, '_> {
    /// `redis.call` / `redis.pcall`: checks the command as Redis's `scriptCall` does, runs it
    /// into a scratch buffer and converts the reply. Returns `(value, failed)`; the Lua wrapper
    /// raises `value` when `failed` and the caller was `redis.call`.
    fn dispatch(
        &mut self,
        lua: &Lua,
        run: &RunState,
        args: MultiValue,
    ) -> mlua::Result<(Value, bool)> {
        if args.is_empty() {
            return fail(
                lua,
                b"Please specify at least one argument for this redis lib call",
            );
        }
        let mut argv: Vec<Vec<u8>> = Vec::with_capacity(args.len());
        for a in args.iter() {
            match a {
                Value::String(s) => argv.push(s.as_bytes().to_vec()),
                Value::Integer(n) => argv.push(n.to_string().into_bytes()),
                Value::Number(n) => argv.push(format_lua_arg(*n).into_bytes()),
                _ => {
                    return fail(
                        lua,
                        b"Lua redis lib command arguments must be strings or integers",
                    )
                }
            }
        }
        let argv: Vec<&[u8]> = argv.iter().map(|a| a.as_slice()).collect();
        let ctx = &mut *self.ctx;
        let mut scratch = ReplyBuffer::new();
        scratch.set_resp3(run.resp.get() == 3);
        let mut inner = Ctx {
            dbs: &mut *ctx.dbs,
            db: self.db,
            out: &mut scratch,
            clients: &mut *ctx.clients,
            id: ctx.id,
            srv: &mut *ctx.srv,
            now: ctx.now,
        };
        let caller = Caller::Script {
            read_only: run.read_only.get(),
            targets: run.repl.get(),
        };
        match command::process_command(&mut inner, &argv, caller) {
            Processed::Ran(spec) => {
                if spec.has(flags::WRITE) {
                    run.wrote.set(true);
                }
            }
            // A script's caller is never inside MULTI while the script runs; only socket
            // requests are evicted or postponed.
            Processed::Queued | Processed::Evicted | Processed::Postponed => {}
            Processed::Refused(err) => {
                // `process_command` counted the refusal in the error statistics.
                let text = format!("-{}", err.message());
                let table = error_table(lua, text.as_bytes())?;
                table.raw_set(STATS_COUNTED, true)?;
                return Ok((Value::Table(table), true));
            }
        }
        self.db = inner.db;
        resp_to_lua(lua, scratch.as_bytes())
    }
}

/// `(error table, true)` for an error detected before the command ran.
fn fail(lua: &Lua, msg: &[u8]) -> mlua::Result<(Value, bool)> {
    Ok((Value::Table(error_table(lua, msg)?), true))
}

/// Redis's `luaPushErrorBuff`: `-CODE msg` keeps its code, anything else gets `ERR `, and the
/// result is the table `{err = "CODE msg"}`.
pub(super) fn error_table(lua: &Lua, text: &[u8]) -> mlua::Result<Table> {
    let (code, msg): (&[u8], &[u8]) = match text.strip_prefix(b"-") {
        Some(rest) => match rest.iter().position(|&b| b == b' ') {
            Some(i) => (&rest[..i], &rest[i + 1..]),
            None => (b"ERR", rest),
        },
        None => (b"ERR", text),
    };
    let mut msg = msg;
    while let Some((&last, rest)) = msg.split_last() {
        if last == b'\r' || last == b'\n' {
            msg = rest;
        } else {
            break;
        }
    }
    let mut full = Vec::with_capacity(code.len() + 1 + msg.len());
    full.extend_from_slice(code);
    full.push(b' ');
    full.extend_from_slice(msg);
    let t = lua.create_table()?;
    t.raw_set("err", lua.create_string(&full)?)?;
    Ok(t)
}

/// Numbers passed to `redis.call` are formatted with `%.17g`, as Redis 7.0 does.
fn format_lua_arg(n: f64) -> String {
    crate::util::format_double(n)
}

/// The message handler of a script's `xpcall` (Redis: `__redis__err__handler`): turns any
/// error into an `{err=...}` table and records the script line it came from.
fn error_handler(lua: &Lua, err: Value, killed: bool) -> mlua::Result<Table> {
    let frame = user_frame(lua);
    let table = match err {
        Value::Table(t) => t,
        Value::Error(_) if killed => error_table(lua, KILLED_MESSAGE.as_bytes())?,
        Value::Error(e) if raised_table(lua, &e).is_some() => {
            raised_table(lua, &e).ok_or_else(|| mlua::Error::runtime("lost error"))?
        }
        Value::Error(e) => {
            // An error raised by a Rust library function: Lua would prefix its position.
            let mut msg = String::from("ERR ");
            if let Some((_, line)) = &frame {
                msg.push_str(&format!("user_script:{line}: "));
            }
            msg.push_str(&error_message(lua, &Value::Error(e)));
            let t = lua.create_table()?;
            t.raw_set("err", msg)?;
            t
        }
        other => {
            let mut msg = b"ERR ".to_vec();
            match &other {
                Value::String(s) => msg.extend_from_slice(&s.as_bytes()),
                Value::Nil => msg.extend_from_slice(b"nil"),
                v => msg.extend_from_slice(v.to_string().unwrap_or_default().as_bytes()),
            }
            let t = lua.create_table()?;
            t.raw_set("err", lua.create_string(&msg)?)?;
            t
        }
    };
    if let Some((source, line)) = frame {
        table.raw_set("source", source)?;
        table.raw_set("line", line)?;
    }
    Ok(table)
}

/// Raises `{err = "ERR <msg>"}` from a Rust callback; see [`raise_table`].
fn raise(lua: &Lua, msg: &[u8]) -> mlua::Error {
    match error_table(lua, msg) {
        Ok(t) => raise_table(lua, t),
        Err(e) => e,
    }
}

/// Raises a Lua *table* from a Rust callback. An mlua callback can only fail with an mlua
/// error, so the table waits in the registry and the error carries a marker; the message
/// handler and the sandbox's `pcall` swap the marker for the table. Lua is single-threaded and
/// the handler runs before any other Lua code, so one slot is enough.
fn raise_table(lua: &Lua, t: Table) -> mlua::Error {
    match lua.set_named_registry_value(PENDING_ERROR_KEY, t) {
        Ok(()) => mlua::Error::runtime(RAISED_TABLE_MARKER),
        Err(e) => e,
    }
}

/// The innermost cause of an mlua error.
fn root_error(e: &mlua::Error) -> &mlua::Error {
    match e {
        mlua::Error::CallbackError { cause, .. } => root_error(cause),
        other => other,
    }
}

/// The table a Rust callback raised with [`raise_table`], if `e` is that error.
fn raised_table(lua: &Lua, e: &mlua::Error) -> Option<Table> {
    match root_error(e) {
        mlua::Error::RuntimeError(m) if m == RAISED_TABLE_MARKER => {
            lua.named_registry_value::<Table>(PENDING_ERROR_KEY).ok()
        }
        _ => None,
    }
}

/// The text `pcall` hands a script for an error raised by Rust code: the `err` field of a
/// raised table, or the innermost message (no "runtime error:" prefix or traceback).
fn error_message(lua: &Lua, e: &Value) -> String {
    match e {
        Value::Error(e) => {
            if let Some(t) = raised_table(lua, e) {
                return t.raw_get::<String>("err").unwrap_or_default();
            }
            match root_error(e) {
                mlua::Error::RuntimeError(m) => m.clone(),
                other => other.to_string(),
            }
        }
        other => other.to_string().unwrap_or_default(),
    }
}

fn lua_bytes(v: &Value) -> Option<Vec<u8>> {
    match v {
        Value::String(s) => Some(s.as_bytes().to_vec()),
        Value::Integer(n) => Some(n.to_string().into_bytes()),
        Value::Number(n) => Some(super::libs::fmt_14g(*n).into_bytes()),
        _ => None,
    }
}

fn lua_number(v: &Value) -> Option<f64> {
    match v {
        Value::Integer(n) => Some(*n as f64),
        Value::Number(n) => Some(*n),
        Value::String(s) => crate::util::parse_f64(&s.as_bytes()),
        _ => None,
    }
}

/// The innermost frame that belongs to the script (not C, not the prelude): its source and
/// current line.
fn user_frame(lua: &Lua) -> Option<(String, usize)> {
    for level in 1..32 {
        let frame = lua.inspect_stack(level, |d| {
            let s = d.source();
            (
                s.what,
                s.source.map(|c| c.into_owned()).unwrap_or_default(),
                d.current_line(),
            )
        })?;
        let (what, source, line) = frame;
        if what == "C" || source == INTERNAL_CHUNK {
            continue;
        }
        return Some((source, line.unwrap_or(0)));
    }
    None
}

/// The reply text of a failed script: `<err> script: <sha>, on <source>:<line>.`, and
/// whether the error was already counted in the statistics (Redis: `luaCallFunction`).
fn script_error_message(value: &Value, name: &str) -> (String, bool) {
    let Value::Table(t) = value else {
        return (
            format!("ERR Error running script {name}, execution failure"),
            false,
        );
    };
    let counted = t.raw_get::<bool>(STATS_COUNTED).unwrap_or(false);
    let msg = match t.raw_get::<Value>("err") {
        Ok(Value::String(s)) => String::from_utf8_lossy(&s.as_bytes()).into_owned(),
        Ok(Value::Integer(n)) => n.to_string(),
        Ok(Value::Number(n)) => n.to_string(),
        _ => String::new(),
    };
    let source = t.raw_get::<Option<String>>("source").ok().flatten();
    let line = t.raw_get::<Option<i64>>("line").ok().flatten();
    let msg = match (source, line) {
        (Some(source), Some(line)) => format!("{msg} script: {name}, on {source}:{line}."),
        _ => msg,
    };
    (msg, counted)
}

/// Runs every `HOOK_EVERY` instructions (Redis: `luaMaskCountHook`). Past busy-reply-threshold
/// it turns the event loop by hand so other clients get -BUSY and SCRIPT KILL can arrive; a
/// kill raises an error in the script (again at every tick, so `pcall` cannot swallow it).
fn count_hook(lua: &Lua, run: &RunState, redis: &Table) -> mlua::Result<VmState> {
    if run.loading.get() {
        let elapsed = run.started.get().map(|t| t.elapsed().as_millis());
        if elapsed.unwrap_or(0) > LOAD_TIMEOUT_MS {
            return Err(raise(lua, b"FUNCTION LOAD timeout"));
        }
        return Ok(VmState::Continue);
    }
    if !run.running.get() {
        return Ok(VmState::Continue);
    }
    if run.killed.get() {
        return Err(mlua::Error::runtime(
            "Script killed by user with SCRIPT KILL...",
        ));
    }
    let elapsed = run
        .started
        .get()
        .map(|t| t.elapsed().as_millis() as u64)
        .unwrap_or(0);
    if elapsed < run.threshold_ms.get() {
        return Ok(VmState::Continue);
    }
    if !run.timed_out.get() {
        run.timed_out.set(true);
        warn!(
            "Slow script detected: still in execution after {elapsed} milliseconds. \
             You can try killing the script using the SCRIPT KILL command."
        );
    }
    if let Ok(call) = redis.raw_get::<Function>("call") {
        call.call::<()>(POLL_MARKER)?;
    }
    if run.killed.get() {
        return Err(mlua::Error::runtime(
            "Script killed by user with SCRIPT KILL...",
        ));
    }
    Ok(VmState::Continue)
}

/// `redis.acl_check_cmd(command, ...)`: may the user running the script run this command with
/// these arguments (Redis: `luaRedisAclCheckCmdPermissions`)? Answered by the scoped
/// `redis.call`, which holds the server.
fn acl_check_cmd(lua: &Lua, redis: &Table, args: MultiValue) -> mlua::Result<bool> {
    if args.is_empty() {
        return Err(raise(
            lua,
            b"Please specify at least one argument for this redis lib call",
        ));
    }
    let mut argv = Vec::with_capacity(args.len());
    for a in args.iter() {
        match a {
            Value::String(_) | Value::Integer(_) | Value::Number(_) => {
                argv.push(lua_bytes(a).unwrap_or_default())
            }
            _ => {
                return Err(raise(
                    lua,
                    b"Lua redis lib command arguments must be strings or integers",
                ))
            }
        }
    }
    let known = table::families()
        .iter()
        .flat_map(|f| f.iter())
        .find(|spec| spec.name.as_bytes().eq_ignore_ascii_case(&argv[0]));
    let known = match known {
        Some(spec) if !spec.subcommands.is_empty() => argv
            .get(1)
            .and_then(|sub| table::lookup_subcommand(spec, sub))
            .is_some(),
        Some(_) => true,
        None => false,
    };
    if !known {
        return Err(raise(
            lua,
            b"Invalid command passed to redis.acl_check_cmd()",
        ));
    }
    match redis.raw_get::<Function>("call") {
        Ok(call) => {
            let mut with_marker = MultiValue::new();
            with_marker.push_back(Value::LightUserData(ACL_MARKER));
            with_marker.extend(args);
            call.call::<bool>(with_marker)
        }
        Err(_) => Err(raise(
            lua,
            b"redis.acl_check_cmd can only be called inside a script invocation",
        )),
    }
}

/// `redis.log(level, ...)`: the arguments joined by spaces, at the matching log level.
fn log_from_script(lua: &Lua, args: MultiValue) -> mlua::Result<()> {
    if args.len() < 2 {
        return Err(raise(lua, b"redis.log() requires two arguments or more."));
    }
    let mut iter = args.into_iter();
    let Some(level) = iter.next().as_ref().and_then(lua_number) else {
        return Err(raise(lua, b"First argument must be a number (log level)."));
    };
    if !(0.0..=3.0).contains(&level) {
        return Err(raise(lua, b"Invalid debug level."));
    }
    let level = level as i64;
    let mut text = Vec::new();
    for (i, v) in iter.enumerate() {
        let bytes = match &v {
            Value::String(s) => s.as_bytes().to_vec(),
            Value::Integer(n) => n.to_string().into_bytes(),
            Value::Number(n) => n.to_string().into_bytes(),
            _ => continue,
        };
        if i > 0 {
            text.push(b' ');
        }
        text.extend_from_slice(&bytes);
    }
    let text = String::from_utf8_lossy(&text);
    match level {
        3 => warn!("{text}"),
        2 => info!("{text}"),
        _ => debug!("{text}"),
    }
    Ok(())
}
