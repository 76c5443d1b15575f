//! Redis 7 functions: FUNCTION LOAD / LIST / DELETE / FLUSH / KILL / STATS, FCALL, FCALL_RO
//! (Redis: `functions.c`, `function_lua.c`).
//!
//! A library is Lua code that starts with `#!lua name=<lib>` and, when loaded, calls
//! `redis.register_function` for each function it offers. It runs in the same Lua state as
//! EVAL scripts, but in its own environment (see `engine`): during the load only the load API
//! is visible, afterwards the normal sandbox. FCALL then calls the registered callback with
//! `(keys, args)` through the same runner as EVAL, so `redis.call`, conversions, errors, BUSY
//! and FUNCTION KILL all come from the scripting machinery.
//!
//! FUNCTION DUMP / RESTORE carry the libraries' code in Redis's RDB encoding; RDB files, a
//! replica's full sync and AOF rewrites save the code too, and loading a dataset runs it
//! again (see `restore_libraries`).

use super::{engine, ScriptState};
use crate::command::args;
use crate::command::error::{CommandError, CommandResult};
use crate::command::Ctx;
use crate::util::glob_match;
use hashbrown::HashMap;
use mlua::{Function, Lua, MultiValue, Value};
use std::collections::BTreeMap;

/// Flags a function may declare (Redis: `scripts_flags_def`).
const FLAG_NAMES: &[&str] = &[
    "no-writes",
    "allow-oom",
    "allow-stale",
    "no-cluster",
    "allow-cross-slot-keys",
];

/// A function registered by library code.
#[derive(Clone)]
pub struct Registered {
    pub name: String,
    pub func: Function,
    pub flags: Vec<&'static str>,
    pub description: Option<Vec<u8>>,
}

impl Registered {
    fn no_writes(&self) -> bool {
        self.flags.contains(&"no-writes")
    }

    fn declared(&self) -> super::DeclaredFlags {
        super::DeclaredFlags {
            no_writes: self.no_writes(),
            allow_oom: self.flags.contains(&"allow-oom"),
            allow_stale: self.flags.contains(&"allow-stale"),
        }
    }
}

pub struct Library {
    pub code: Vec<u8>,
    pub functions: Vec<Registered>,
}

/// The key of a function in [`FunctionState::owner`]: function names are case-insensitive.
fn function_key(name: &str) -> String {
    name.to_ascii_lowercase()
}

/// Loaded libraries by name, and which library owns each function name (lowercased).
#[derive(Default)]
pub struct FunctionState {
    libraries: BTreeMap<String, Library>,
    owner: HashMap<String, String>,
}

impl FunctionState {
    /// (libraries, functions).
    pub fn counts(&self) -> (usize, usize) {
        (self.libraries.len(), self.owner.len())
    }

    /// Runs library `code` and adds the functions it registers; replies its name (Redis:
    /// `functionsCreateWithLibraryCtx`). An existing library of that name is an error unless
    /// `replace`; a function name owned by another library always is.
    fn create_library(
        &mut self,
        engine: &engine::Engine,
        code: &[u8],
        replace: bool,
    ) -> Result<String, CommandError> {
        let (name, skip) = parse_metadata(code)?;
        if !replace && self.libraries.contains_key(&name) {
            return Err(CommandError::err(format!(
                "Library '{name}' already exists"
            )));
        }
        let functions = engine
            .load_library(&code[skip..])
            .map_err(CommandError::err)?;
        if functions.is_empty() {
            return Err(CommandError::Err("No functions registered"));
        }
        for f in &functions {
            if let Some(owner) = self.owner.get(&function_key(&f.name)) {
                if *owner != name {
                    return Err(CommandError::err(format!(
                        "Function {} already exists",
                        f.name
                    )));
                }
            }
        }
        self.unlink(&name);
        for f in &functions {
            self.owner.insert(function_key(&f.name), name.clone());
        }
        let library = Library {
            code: code.to_vec(),
            functions,
        };
        self.libraries.insert(name.clone(), library);
        Ok(name)
    }

    /// Function `name`, in any letter case (Redis's function dictionary is case-insensitive).
    fn find(&self, name: &str) -> Option<&Registered> {
        let library = self.owner.get(&function_key(name))?;
        let functions = &self.libraries.get(library)?.functions;
        functions.iter().find(|f| f.name.eq_ignore_ascii_case(name))
    }

    /// Removes library `name` and its functions, if it exists.
    fn unlink(&mut self, name: &str) -> Option<Library> {
        let old = self.libraries.remove(name)?;
        for f in &old.functions {
            self.owner.remove(&function_key(&f.name));
        }
        Some(old)
    }

    /// Adds every library of `other` (Redis: `libraryJoin`). A library name that exists here
    /// is an error unless `replace`, which drops the old one; a function name owned by a
    /// library that stays is an error. Nothing changes on error.
    fn join(&mut self, other: FunctionState, replace: bool) -> Result<(), CommandError> {
        for name in other.libraries.keys() {
            if !replace && self.libraries.contains_key(name) {
                return Err(CommandError::err(format!("Library {name} already exists")));
            }
        }
        for function in other.libraries.values().flat_map(|l| &l.functions) {
            let owner = self.owner.get(&function_key(&function.name));
            if owner.is_some_and(|lib| !other.libraries.contains_key(lib)) {
                return Err(CommandError::err(format!(
                    "Function {} already exists",
                    function.name
                )));
            }
        }
        for (name, library) in other.libraries {
            self.unlink(&name);
            for f in &library.functions {
                self.owner.insert(function_key(&f.name), name.clone());
            }
            self.libraries.insert(name, library);
        }
        Ok(())
    }

    /// Every library's code, in name order: what an RDB file, FUNCTION DUMP and an AOF
    /// rewrite save.
    pub fn library_codes(&self) -> Vec<Vec<u8>> {
        self.libraries.values().map(|l| l.code.clone()).collect()
    }
}

/// How restored libraries meet the loaded ones (FUNCTION RESTORE's policy).
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum RestorePolicy {
    /// Add them; a library that exists is an error (the default).
    Append,
    /// Add them, replacing libraries of the same name.
    Replace,
    /// Drop every loaded library first. Loading a dataset (RDB, a replica's full sync) does
    /// this too.
    Flush,
}

/// Loads library `codes` as FUNCTION RESTORE does: all of them into a fresh set first (an
/// error in any leaves the loaded libraries untouched), then joined under `policy` (Redis:
/// `functionRestoreCommand`, and `rdbFunctionLoad` for a dataset).
pub fn restore_libraries(
    state: &mut ScriptState,
    codes: &[Vec<u8>],
    policy: RestorePolicy,
) -> Result<(), CommandError> {
    if codes.is_empty() {
        // Nothing to run: no Lua state is built for it (a server that never runs a script
        // never builds one).
        if policy == RestorePolicy::Flush {
            state.functions = FunctionState::default();
        }
        return Ok(());
    }
    let engine = super::engine_of(state)?;
    let mut restored = FunctionState::default();
    for code in codes {
        restored.create_library(&engine, code, false)?;
    }
    match policy {
        RestorePolicy::Flush => state.functions = restored,
        RestorePolicy::Append => state.functions.join(restored, false)?,
        RestorePolicy::Replace => state.functions.join(restored, true)?,
    }
    Ok(())
}

/// FUNCTION DUMP — the libraries as a payload for FUNCTION RESTORE (see
/// `rdb::functions_payload`).
pub fn function_dump_command(ctx: &mut Ctx, _argv: &[&[u8]]) -> CommandResult {
    let codes = ctx.srv.scripts.functions.library_codes();
    let payload = crate::persist::rdb::functions_payload(&codes, ctx.srv.config.rdbcompression);
    ctx.out.bulk(&payload);
    Ok(())
}

/// FUNCTION RESTORE payload [FLUSH | APPEND | REPLACE] — `+OK` once the payload's libraries
/// are loaded under the policy (default APPEND).
pub fn function_restore_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    if argv.len() > 4 {
        return Err(CommandError::err(format!(
            "unknown subcommand or wrong number of arguments for '{}'. Try FUNCTION HELP.",
            args::text(argv[1])
        )));
    }
    let policy = match argv.get(3) {
        None => RestorePolicy::Append,
        Some(p) if args::is(p, "APPEND") => RestorePolicy::Append,
        Some(p) if args::is(p, "REPLACE") => RestorePolicy::Replace,
        Some(p) if args::is(p, "FLUSH") => RestorePolicy::Flush,
        Some(_) => {
            return Err(CommandError::Err(
                "Wrong restore policy given, value should be either FLUSH, APPEND or REPLACE.",
            ))
        }
    };
    let verify = !ctx.srv.config.skip_checksum_validation;
    let codes = crate::persist::rdb::restore_functions_payload(argv[2], verify)
        .map_err(CommandError::err)?;
    restore_libraries(&mut ctx.srv.scripts, &codes, policy)?;
    ctx.srv.dirty += 1;
    ctx.out.ok();
    Ok(())
}

/// Function and library names: letters, digits and underscores (Redis: `functionsVerifyName`).
fn valid_name(name: &str) -> bool {
    !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

const BAD_NAME: &str = "Library names can only contain letters, numbers, or underscores(_) and \
                        must be at least one character long";

/// `redis.register_function(name, callback)` or `redis.register_function{function_name=...,
/// callback=..., flags={...}, description=...}` (Redis: `luaRegisterFunction`). `Err` is the
/// message of the error table to raise.
pub fn register_function(
    lua: &Lua,
    pending: &engine::Registrations,
    args: MultiValue,
) -> Result<(), String> {
    let _ = lua;
    let mut pending = pending.borrow_mut();
    let Some(registered) = pending.as_mut() else {
        return Err("redis.register_function can only be called on FUNCTION LOAD command".into());
    };
    let text = |v: &Value| match v {
        Value::String(s) => Some(String::from_utf8_lossy(&s.as_bytes()).into_owned()),
        Value::Integer(n) => Some(n.to_string()),
        Value::Number(n) => Some(super::libs::fmt_14g(*n)),
        _ => None,
    };
    let (name, func, flags, description) = match args.len() {
        1 => {
            let Some(Value::Table(t)) = args.front() else {
                return Err(
                    "calling redis.register_function with a single argument is only \
                            applicable to Lua table (representing named arguments)."
                        .into(),
                );
            };
            let (mut name, mut func, mut flags, mut description) = (None, None, Vec::new(), None);
            for pair in t.pairs::<Value, Value>() {
                let (k, v) = pair.map_err(|e| e.to_string())?;
                let Some(key) = text(&k) else {
                    return Err(
                        "named argument key given to redis.register_function is not a string"
                            .into(),
                    );
                };
                match key.to_ascii_lowercase().as_str() {
                    "function_name" => name = Some(text(&v).ok_or(
                        "function_name argument given to redis.register_function must be a string",
                    )?),
                    "description" => {
                        let Value::String(s) = &v else {
                            return Err("description argument given to redis.register_function must be a string".into());
                        };
                        description = Some(s.as_bytes().to_vec());
                    }
                    "callback" => {
                        let Value::Function(f) = v else {
                            return Err("callback argument given to redis.register_function must be a function".into());
                        };
                        func = Some(f);
                    }
                    "flags" => {
                        let Value::Table(list) = v else {
                            return Err("flags argument to redis.register_function must be a table representing function flags".into());
                        };
                        for flag in list.sequence_values::<Value>() {
                            let flag = flag.ok().as_ref().and_then(text);
                            // Flag names match in any case (Redis: `strcasecmp` in
                            // `luaRegisterFunctionReadFlags`).
                            let known = flag.and_then(|f| {
                                FLAG_NAMES.iter().find(|n| n.eq_ignore_ascii_case(&f))
                            });
                            match known {
                                Some(known) if !flags.contains(known) => flags.push(*known),
                                Some(_) => {}
                                None => return Err("unknown flag given".into()),
                            }
                        }
                        // Redis keeps the flags as a bit mask, so FUNCTION LIST gives them in
                        // the fixed order of `scripts_flags_def`, not in the declared one.
                        flags.sort_by_key(|f| FLAG_NAMES.iter().position(|n| n == f));
                    }
                    _ => return Err("unknown argument given to redis.register_function".into()),
                }
            }
            let name = name.ok_or("redis.register_function must get a function name argument")?;
            let func = func.ok_or("redis.register_function must get a callback argument")?;
            (name, func, flags, description)
        }
        2 => {
            let name = args
                .front()
                .and_then(text)
                .ok_or("first argument to redis.register_function must be a string")?;
            let Some(Value::Function(func)) = args.get(1) else {
                return Err("second argument to redis.register_function must be a function".into());
            };
            (name, func.clone(), Vec::new(), None)
        }
        _ => return Err("wrong number of arguments to redis.register_function".into()),
    };
    if !valid_name(&name) {
        return Err(BAD_NAME.into());
    }
    if registered.iter().any(|f| f.name == name) {
        return Err("Function already exists in the library".into());
    }
    registered.push(Registered {
        name,
        func,
        flags,
        description,
    });
    Ok(())
}

/// Splits `#!lua name=<lib>` off the code (Redis: `functionExtractLibMetaData`). Returns the
/// library name and the offset of the code after the shebang line (its newline kept, so line
/// numbers stay the user's).
fn parse_metadata(code: &[u8]) -> Result<(String, usize), CommandError> {
    if !code.starts_with(b"#!") {
        return Err(CommandError::Err("Missing library metadata"));
    }
    let Some(end) = code.iter().position(|&b| b == b'\n') else {
        return Err(CommandError::Err("Invalid library metadata"));
    };
    // Split as a config line, so `name="foo"` is `name=foo` (Redis: `sdssplitargs`).
    let Some(parts) = crate::resp::parse::split_args(&code[..end]) else {
        return Err(CommandError::Err("Invalid library metadata"));
    };
    let parts: Vec<String> = parts
        .iter()
        .map(|p| String::from_utf8_lossy(p).into_owned())
        .collect();
    let mut parts = parts.iter().map(String::as_str);
    let engine = parts.next().unwrap_or("#!");
    let mut name = None;
    for part in parts {
        // Compare bytes: slicing the str at 5 could split a multi-byte character.
        if part.len() >= 5 && part.as_bytes()[..5].eq_ignore_ascii_case(b"name=") {
            if name.is_some() {
                return Err(CommandError::Err(
                    "Invalid metadata value, name argument was given multiple times",
                ));
            }
            name = Some(part[5..].to_string());
            continue;
        }
        return Err(CommandError::err(format!(
            "Invalid metadata value given: {part}"
        )));
    }
    let Some(name) = name else {
        return Err(CommandError::Err("Library name was not given"));
    };
    let engine = engine.get(2..).unwrap_or_default();
    if !engine.eq_ignore_ascii_case("lua") {
        return Err(CommandError::err(format!("Engine '{}' not found", engine)));
    }
    if !valid_name(&name) {
        return Err(CommandError::err(BAD_NAME));
    }
    Ok((name, end))
}

/// FUNCTION LOAD [REPLACE] code — replies the library name.
pub fn function_load_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    // Every argument before the last is an option (REPLACE, in any case, possibly repeated);
    // the last is the code (Redis: `functionLoadCommand`).
    let Some((&code, options)) = argv[2..].split_last() else {
        return Err(CommandError::Err("Function code is missing"));
    };
    let mut replace = false;
    for &option in options {
        if !args::is(option, "REPLACE") {
            // Redis prints the option as a C string: up to its first NUL.
            let text = option.split(|&b| b == 0).next().unwrap_or_default();
            return Err(CommandError::err(format!(
                "Unknown option given: {}",
                args::text(text)
            )));
        }
        replace = true;
    }
    let state = &mut ctx.srv.scripts;
    let engine = super::engine_of(state)?;
    let name = state.functions.create_library(&engine, code, replace)?;
    ctx.srv.dirty += 1;
    ctx.out.bulk(name.as_bytes());
    Ok(())
}

/// FUNCTION DELETE library-name — `+OK`.
pub fn function_delete_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    let name = String::from_utf8_lossy(argv[2]).into_owned();
    if ctx.srv.scripts.functions.unlink(&name).is_none() {
        return Err(CommandError::Err("Library not found"));
    }
    ctx.srv.dirty += 1;
    ctx.out.ok();
    Ok(())
}

/// FUNCTION FLUSH [ASYNC | SYNC] — `+OK`.
pub fn function_flush_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    // The argument count is checked before the mode (Redis: `functionFlushCommand`).
    if argv.len() > 3 {
        let sub = argv[1];
        return Err(CommandError::err(format!(
            "unknown subcommand or wrong number of arguments for '{}'. Try FUNCTION HELP.",
            args::text(&sub[..sub.len().min(128)])
        )));
    }
    match argv.get(2) {
        None => {}
        Some(mode) if argv.len() == 3 && (args::is(mode, "SYNC") || args::is(mode, "ASYNC")) => {}
        Some(_) => {
            return Err(CommandError::Err(
                "FUNCTION FLUSH only supports SYNC|ASYNC option",
            ))
        }
    }
    ctx.srv.scripts.functions = FunctionState::default();
    ctx.srv.dirty += 1;
    ctx.out.ok();
    Ok(())
}

/// FUNCTION LIST [LIBRARYNAME pattern] [WITHCODE] — an array of library maps
/// (library_name, engine, functions: [{name, description, flags}], library_code).
pub fn function_list_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    let mut pattern: Option<&[u8]> = None;
    let mut with_code = false;
    let mut i = 2;
    while i < argv.len() {
        if args::is(argv[i], "WITHCODE") && !with_code {
            with_code = true;
        } else if args::is(argv[i], "LIBRARYNAME") && pattern.is_none() {
            let Some(p) = argv.get(i + 1) else {
                return Err(CommandError::Err("library name argument was not given"));
            };
            pattern = Some(p);
            i += 1;
        } else {
            return Err(CommandError::err(format!(
                "Unknown argument {}",
                args::text(argv[i])
            )));
        }
        i += 1;
    }
    let libs: Vec<(&String, &Library)> = ctx
        .srv
        .scripts
        .functions
        .libraries
        .iter()
        // Redis matches library names case-insensitively (functions.c, functionListCommand).
        .filter(|(name, _)| pattern.is_none_or(|p| glob_match(p, name.as_bytes(), true)))
        .collect();
    let out = &mut *ctx.out;
    out.array_len(libs.len());
    for (name, lib) in libs {
        out.map_len(if with_code { 4 } else { 3 });
        out.bulk(b"library_name");
        out.bulk(name.as_bytes());
        out.bulk(b"engine");
        out.bulk(b"LUA");
        out.bulk(b"functions");
        out.array_len(lib.functions.len());
        for f in &lib.functions {
            out.map_len(3);
            out.bulk(b"name");
            out.bulk(f.name.as_bytes());
            out.bulk(b"description");
            match &f.description {
                Some(d) => out.bulk(d),
                None => out.null(),
            }
            out.bulk(b"flags");
            out.set_len(f.flags.len());
            for flag in &f.flags {
                out.simple(flag);
            }
        }
        if with_code {
            out.bulk(b"library_code");
            out.bulk(&lib.code);
        }
    }
    Ok(())
}

/// FUNCTION STATS — the running function (name, command, duration_ms) or null, and the
/// library and function counts of the Lua engine.
pub fn function_stats_command(ctx: &mut Ctx, _argv: &[&[u8]]) -> CommandResult {
    let state: &ScriptState = &ctx.srv.scripts;
    let run = &state.run;
    let libraries = state.functions.libraries.len();
    let functions = state.functions.owner.len();
    let out = &mut *ctx.out;
    out.map_len(2);
    out.bulk(b"running_script");
    if run.running.get() && !run.is_eval.get() {
        out.map_len(3);
        out.bulk(b"name");
        out.bulk(run.name.borrow().as_bytes());
        out.bulk(b"command");
        let command = run.command.borrow();
        out.array_len(command.len());
        for arg in command.iter() {
            out.bulk(arg);
        }
        out.bulk(b"duration_ms");
        let ms = run.started.get().map(|t| t.elapsed().as_millis() as i64);
        out.integer(ms.unwrap_or(0));
    } else {
        out.null();
    }
    out.bulk(b"engines");
    out.map_len(1);
    out.bulk(b"LUA");
    out.map_len(2);
    out.bulk(b"libraries_count");
    out.integer(libraries as i64);
    out.bulk(b"functions_count");
    out.integer(functions as i64);
    Ok(())
}

/// The declared flags of function `name`, if it exists.
pub fn declared_flags(ctx: &Ctx, name: &[u8]) -> Option<super::DeclaredFlags> {
    let name = String::from_utf8_lossy(name);
    let state = &ctx.srv.scripts;
    state.functions.find(&name).map(Registered::declared)
}

/// FCALL function numkeys [key ...] [arg ...] (and FCALL_RO) — the function's result.
pub fn fcall_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    // Shown before the commands the function runs (FCALL is `skip_monitor` for call()).
    crate::command::monitor::feed(ctx, argv, false);
    // As EVAL: the function's commands are propagated, never the call.
    crate::command::propagate::prevent(ctx);
    let read_only_call = argv[0].eq_ignore_ascii_case(b"fcall_ro");
    let name = String::from_utf8_lossy(argv[1]).into_owned();
    let state = &ctx.srv.scripts;
    let function = state.functions.find(&name).cloned();
    let Some(function) = function else {
        return Err(CommandError::Err("Function not found"));
    };
    let numkeys =
        crate::util::parse_i64(argv[2]).ok_or(CommandError::Err("Bad number of keys provided"))?;
    if numkeys > (argv.len() - 3) as i64 {
        return Err(CommandError::Err(
            "Number of keys can't be greater than number of args",
        ));
    }
    if numkeys < 0 {
        return Err(CommandError::Err("Number of keys can't be negative"));
    }
    super::prepare_for_run(ctx, Some(function.declared()), read_only_call)?;
    ctx.srv
        .scripts
        .run
        .allow_oom
        .set(function.declared().allow_oom);
    let engine = super::engine_of(&mut ctx.srv.scripts)?;
    *ctx.srv.scripts.run.command.borrow_mut() = argv.iter().map(|a| a.to_vec()).collect();
    let split = 3 + numkeys as usize;
    crate::command::tracking::begin_script(ctx, &argv[3..split]);
    engine.call_script(
        ctx,
        &function.func,
        &name,
        &argv[3..split],
        &argv[split..],
        read_only_call || function.no_writes(),
        false,
    )
}

/// FUNCTION HELP.
pub fn function_help_command(ctx: &mut Ctx, _argv: &[&[u8]]) -> CommandResult {
    const HELP: &[&str] = &[
        "LOAD [REPLACE] <FUNCTION CODE>",
        "    Create a new library with the given library name and code.",
        "DELETE <LIBRARY NAME>",
        "    Delete the given library.",
        "LIST [LIBRARYNAME PATTERN] [WITHCODE]",
        "    Return general information on all the libraries:",
        "    * Library name",
        "    * The engine used to run the Library",
        "    * Library description",
        "    * Functions list",
        "    * Library code (if WITHCODE is given)",
        "    It also possible to get only function that matches a pattern using LIBRARYNAME argument.",
        "STATS",
        "    Return information about the current function running:",
        "    * Function name",
        "    * Command used to run the function",
        "    * Duration in MS that the function is running",
        "    If no function is running, return nil",
        "    In addition, returns a list of available engines.",
        "KILL",
        "    Kill the current running function.",
        "FLUSH [ASYNC|SYNC]",
        "    Delete all the libraries.",
        "    When called without the optional mode argument, the behavior is determined by the",
        "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
        "    * ASYNC: Asynchronously flush the libraries.",
        "    * SYNC: Synchronously flush the libraries.",
        "DUMP",
        "    Return a serialized payload representing the current libraries, can be restored using FUNCTION RESTORE command",
        "RESTORE <PAYLOAD> [FLUSH|APPEND|REPLACE]",
        "    Restore the libraries represented by the given payload, it is possible to give a restore policy to",
        "    control how to handle existing libraries (default APPEND):",
        "    * FLUSH: delete all existing libraries.",
        "    * APPEND: appends the restored libraries to the existing libraries. On collision, abort.",
        "    * REPLACE: appends the restored libraries to the existing libraries, On collision, replace the old",
        "      libraries with the new libraries (notice that even on this option there is a chance of failure",
        "      in case of functions name collision with another library).",
    ];
    ctx.out.help("FUNCTION", HELP);
    Ok(())
}
