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
//! Not implemented: FUNCTION DUMP / RESTORE (the payload is Redis's RDB encoding).

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

/// Loaded libraries by name, and which library owns each function name.
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
    let line = String::from_utf8_lossy(&code[..end]);
    let mut parts = line.split_whitespace();
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
    if !engine[2..].eq_ignore_ascii_case("lua") {
        return Err(CommandError::err(format!(
            "Engine '{}' not found",
            &engine[2..]
        )));
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
    let (name, skip) = parse_metadata(code)?;
    let state = &mut ctx.srv.scripts;
    if !replace && state.functions.libraries.contains_key(&name) {
        return Err(CommandError::err(format!(
            "Library '{name}' already exists"
        )));
    }
    let engine = super::engine_of(state)?;
    let functions = engine
        .load_library(&code[skip..])
        .map_err(CommandError::err)?;
    if functions.is_empty() {
        return Err(CommandError::Err("No functions registered"));
    }
    let fs = &mut state.functions;
    for f in &functions {
        if let Some(owner) = fs.owner.get(&f.name) {
            if *owner != name {
                return Err(CommandError::err(format!(
                    "Function {} already exists",
                    f.name
                )));
            }
        }
    }
    if let Some(old) = fs.libraries.remove(&name) {
        for f in old.functions {
            fs.owner.remove(&f.name);
        }
    }
    for f in &functions {
        fs.owner.insert(f.name.clone(), name.clone());
    }
    fs.libraries.insert(
        name.clone(),
        Library {
            code: code.to_vec(),
            functions,
        },
    );
    ctx.srv.dirty += 1;
    ctx.out.bulk(name.as_bytes());
    Ok(())
}

/// FUNCTION DELETE library-name — `+OK`.
pub fn function_delete_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    let name = String::from_utf8_lossy(argv[2]).into_owned();
    let fs = &mut ctx.srv.scripts.functions;
    let Some(lib) = fs.libraries.remove(&name) else {
        return Err(CommandError::Err("Library not found"));
    };
    for f in lib.functions {
        fs.owner.remove(&f.name);
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
    let lib = state.functions.owner.get(name.as_ref())?;
    state
        .functions
        .libraries
        .get(lib)?
        .functions
        .iter()
        .find(|f| f.name == name)
        .map(Registered::declared)
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
    let function = state
        .functions
        .owner
        .get(&name)
        .and_then(|lib| state.functions.libraries.get(lib))
        .and_then(|lib| lib.functions.iter().find(|f| f.name == name))
        .cloned();
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
