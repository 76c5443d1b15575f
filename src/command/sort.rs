//! SORT commands. (Skeleton: filled in by the collection-types work.)

use super::table::CommandSpec;

pub const COMMANDS: &[CommandSpec] = &[];
