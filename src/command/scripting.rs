//! Lua scripting (Redis: `eval.c`, `script_lua.c`).
//!
//! (Skeleton: the scripting work fills this in.)

use super::table::CommandSpec;

pub const COMMANDS: &[CommandSpec] = &[];

/// Loaded scripts and the state of a running one.
#[derive(Default)]
pub struct ScriptState {}
