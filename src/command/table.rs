//! The command table (Redis: `commands.c`, generated from `src/commands/*.json`, holds
//! `redisCommandTable`; `server.c` looks commands up in it).
//!
//! Every command is declared exactly once, as one [`CommandSpec`] row in its family's file
//! (`string.rs`, `list.rs`, ...), with its key specifications (see [`super::keyspec`]) and
//! Redis's own arity convention: a positive arity is the exact
//! argument count including the command name, a negative one means "at least that many".
//! Dispatch, arity errors, `COMMAND`, `COMMAND INFO`, `COMMAND DOCS` and `COMMAND COUNT` all read
//! these rows, so they cannot disagree. Container commands (`CLIENT`, `CONFIG`, `OBJECT`, ...)
//! carry a table of subcommands, as in Redis 7.

use super::error::CommandResult;
use super::keyspec::{GetKeys, KeySpec};
use super::Ctx;
use hashbrown::HashMap;

/// A command handler: runs the command for `ctx`'s client; argv[0] is the command name.
pub type CommandProc = fn(&mut Ctx, &[&[u8]]) -> CommandResult;

/// Command flags, with the names `COMMAND INFO` reports.
pub mod flags {
    pub const WRITE: u32 = 1 << 0;
    pub const READONLY: u32 = 1 << 1;
    pub const DENYOOM: u32 = 1 << 2;
    pub const ADMIN: u32 = 1 << 3;
    pub const PUBSUB: u32 = 1 << 4;
    pub const NOSCRIPT: u32 = 1 << 5;
    pub const BLOCKING: u32 = 1 << 6;
    pub const LOADING: u32 = 1 << 7;
    pub const STALE: u32 = 1 << 8;
    pub const FAST: u32 = 1 << 9;
    pub const NO_AUTH: u32 = 1 << 10;
    pub const NO_MULTI: u32 = 1 << 11;
    pub const ALLOW_BUSY: u32 = 1 << 12;
    pub const MOVABLE_KEYS: u32 = 1 << 13;
    pub const SKIP_SLOWLOG: u32 = 1 << 14;
    pub const SKIP_MONITOR: u32 = 1 << 15;
    pub const NO_MANDATORY_KEYS: u32 = 1 << 16;
    pub const NO_ASYNC_LOADING: u32 = 1 << 17;
    /// Not shown by COMMAND (Redis hides it too): the command may touch keys it was not given
    /// (SCAN, RANDOMKEY expire keys they meet), so its propagated deletions are not wrapped in
    /// MULTI/EXEC.
    pub const TOUCHES_ARBITRARY_KEYS: u32 = 1 << 18;
    /// Not shown by COMMAND (hidden in Redis too): refused unless its `enable-*-command`
    /// directive allows it (Redis: `CMD_PROTECTED`: DEBUG, MODULE).
    pub const PROTECTED: u32 = 1 << 19;
    /// Not shown by COMMAND (Redis hides it too): the command may reach the replication
    /// stream without being a write (PUBLISH, PFCOUNT, EVAL): CLIENT PAUSE WRITE holds it.
    pub const MAY_REPLICATE: u32 = 1 << 20;

    pub const NAMES: &[(u32, &str)] = &[
        (WRITE, "write"),
        (READONLY, "readonly"),
        (DENYOOM, "denyoom"),
        (ADMIN, "admin"),
        (PUBSUB, "pubsub"),
        (NOSCRIPT, "noscript"),
        (BLOCKING, "blocking"),
        (LOADING, "loading"),
        (STALE, "stale"),
        (SKIP_MONITOR, "skip_monitor"),
        (SKIP_SLOWLOG, "skip_slowlog"),
        (FAST, "fast"),
        (NO_AUTH, "no_auth"),
        (NO_MANDATORY_KEYS, "no_mandatory_keys"),
        (NO_ASYNC_LOADING, "no_async_loading"),
        (NO_MULTI, "no_multi"),
        (ALLOW_BUSY, "allow_busy"),
        (MOVABLE_KEYS, "movablekeys"),
    ];
}

/// One row of the command table.
pub struct CommandSpec {
    /// Lowercase name, as Redis's table spells it; a subcommand's is its full name
    /// (`client|kill`), which is what arity errors and COMMAND INFO show.
    pub name: &'static str,
    pub proc_: CommandProc,
    pub arity: i32,
    pub flags: u32,
    /// Where the key arguments are and how each is used, as Redis 7.0 declares them
    /// (`src/commands/*.json`); COMMAND INFO's (first, last, step) triple is derived from them.
    pub key_specs: &'static [KeySpec],
    /// The command's own key finder for what the specs cannot express (Redis: `getkeys_proc`).
    pub getkeys: Option<GetKeys>,
    /// ACL category / docs group ("string", "list", "generic", "server", ...).
    pub group: &'static str,
    /// ACL categories declared for the command when they are not just its group's
    /// (`@dangerous` on KEYS, `@connection` on COMMAND ...); the flag-implied ones are added.
    pub acl: Option<&'static [&'static str]>,
    /// Command tips (`nondeterministic_output`, `request_policy:all_shards`, ...).
    pub tips: &'static [&'static str],
    pub summary: &'static str,
    pub since: &'static str,
    pub subcommands: &'static [CommandSpec],
}

impl CommandSpec {
    /// A command that takes no keys. Chain `.key_specs(..)`, `.getkeys(..)`, `.doc(..)`,
    /// `.subs(..)` ... as needed.
    pub const fn new(
        name: &'static str,
        proc_: CommandProc,
        arity: i32,
        flags: u32,
        group: &'static str,
    ) -> CommandSpec {
        CommandSpec {
            name,
            proc_,
            arity,
            flags,
            key_specs: &[],
            getkeys: None,
            group,
            acl: None,
            tips: &[],
            summary: "",
            since: "1.0.0",
            subcommands: &[],
        }
    }

    pub const fn key_specs(mut self, specs: &'static [KeySpec]) -> CommandSpec {
        self.key_specs = specs;
        self
    }

    pub const fn getkeys(mut self, helper: GetKeys) -> CommandSpec {
        self.getkeys = Some(helper);
        self
    }

    pub const fn acl(mut self, categories: &'static [&'static str]) -> CommandSpec {
        self.acl = Some(categories);
        self
    }

    pub const fn tips(mut self, tips: &'static [&'static str]) -> CommandSpec {
        self.tips = tips;
        self
    }

    pub const fn doc(mut self, summary: &'static str, since: &'static str) -> CommandSpec {
        self.summary = summary;
        self.since = since;
        self
    }

    pub const fn subs(mut self, subcommands: &'static [CommandSpec]) -> CommandSpec {
        self.subcommands = subcommands;
        self
    }

    pub fn has(&self, flag: u32) -> bool {
        self.flags & flag != 0
    }

    /// Does `argc` satisfy the declared arity?
    pub fn arity_ok(&self, argc: usize) -> bool {
        let argc = argc as i32;
        (self.arity >= 0 && argc == self.arity) || (self.arity < 0 && argc >= -self.arity)
    }

    /// The keys of a full command line (`argv[0]` is this command's name) with their spec
    /// flags: what COMMAND GETKEYS reports, and what ACL or cluster checks will use.
    pub fn get_keys(&self, argv: &[&[u8]]) -> Vec<super::keyspec::KeyRef> {
        super::keyspec::get_keys(self.key_specs, self.getkeys, argv)
    }

    /// A command's ACL categories, in Redis's category order: the declared ones (`spec.acl`, or by
    /// default the category of its group) plus those its flags imply (Redis:
    /// `setImplicitACLCategories`; read-only scripting commands are not `@read`).
    pub fn acl_categories(&self) -> Vec<&'static str> {
        let spec = self;
        const GROUP_CATEGORIES: &[(&str, &str)] = &[
            ("generic", "@keyspace"),
            ("set", "@set"),
            ("sorted-set", "@sortedset"),
            ("list", "@list"),
            ("hash", "@hash"),
            ("string", "@string"),
            ("bitmap", "@bitmap"),
            ("hyperloglog", "@hyperloglog"),
            ("geo", "@geo"),
            ("stream", "@stream"),
            ("pubsub", "@pubsub"),
            ("connection", "@connection"),
            ("transactions", "@transaction"),
            ("scripting", "@scripting"),
        ];
        let by_group: &[&str] = match GROUP_CATEGORIES.iter().find(|(g, _)| *g == spec.group) {
            Some((_, cat)) if spec.subcommands.is_empty() => std::slice::from_ref(cat),
            _ => &[],
        };
        let declared = spec.acl.unwrap_or(by_group);
        let has = |f| spec.has(f);
        let scripting = declared.contains(&"@scripting");
        let implied = [
            (has(flags::WRITE), "@write"),
            (has(flags::READONLY) && !scripting, "@read"),
            (has(flags::ADMIN), "@admin"),
            (has(flags::ADMIN), "@dangerous"),
            (has(flags::PUBSUB), "@pubsub"),
            (has(flags::FAST), "@fast"),
            (has(flags::BLOCKING), "@blocking"),
            (!has(flags::FAST), "@slow"),
        ];
        const ORDER: &[&str] = &[
            "@keyspace",
            "@read",
            "@write",
            "@set",
            "@sortedset",
            "@list",
            "@hash",
            "@string",
            "@bitmap",
            "@hyperloglog",
            "@geo",
            "@stream",
            "@pubsub",
            "@admin",
            "@fast",
            "@slow",
            "@blocking",
            "@dangerous",
            "@connection",
            "@transaction",
            "@scripting",
        ];
        ORDER
            .iter()
            .copied()
            .filter(|cat| declared.contains(cat) || implied.iter().any(|(on, c)| *on && c == cat))
            .collect()
    }

    /// [`Self::acl_categories`] as a bit set over [`ACL_CATEGORIES`].
    pub fn acl_category_mask(&self) -> u32 {
        let mut mask = 0;
        for cat in self.acl_categories() {
            if let Some(i) = ACL_CATEGORIES.iter().position(|c| *c == &cat[1..]) {
                mask |= 1 << i;
            }
        }
        mask
    }

    /// May the command have keys at all (Redis: `doesCommandHaveKeys`)?
    pub fn has_keys(&self) -> bool {
        use super::keyspec::key_flags::NOT_KEY;
        self.getkeys.is_some() || self.key_specs.iter().any(|s| s.flags & NOT_KEY == 0)
    }
}

/// Every family's rows, in the order COMMAND lists them.
pub fn families() -> [&'static [CommandSpec]; 26] {
    use super::*;
    [
        connection::COMMANDS,
        string::COMMANDS,
        bitops::COMMANDS,
        hyperloglog::COMMANDS,
        keyspace::COMMANDS,
        dump::COMMANDS,
        admin::COMMANDS,
        list::COMMANDS,
        hash::COMMANDS,
        set::COMMANDS,
        zset::COMMANDS,
        zset::BLOCKING_COMMANDS,
        geo::COMMANDS,
        stream::COMMANDS,
        pubsub::COMMANDS,
        multi::COMMANDS,
        scripting::COMMANDS,
        sort::COMMANDS,
        persistence::COMMANDS,
        aof::COMMANDS,
        slowlog::COMMANDS,
        monitor::COMMANDS,
        latency::COMMANDS,
        replication::COMMANDS,
        failover::COMMANDS,
        acl::COMMANDS,
    ]
}

/// Is a row (and each of its subcommands) flagged `movablekeys` exactly when its key specs
/// make the keys movable (Redis derives the flag: `populateCommandLegacyRangeSpec`)?
fn movable_flag_agrees(spec: &CommandSpec) -> bool {
    let (_, movable) = super::keyspec::legacy_range(spec.key_specs);
    movable == spec.has(flags::MOVABLE_KEYS) && spec.subcommands.iter().all(movable_flag_agrees)
}

/// Redis's ACL categories, in its order (`ACLCommandCategories`): what `ACL CAT` lists, the
/// bit order of [`CommandSpec::acl_category_mask`], and the order rules are described in.
pub const ACL_CATEGORIES: [&str; 21] = [
    "keyspace",
    "read",
    "write",
    "set",
    "sortedset",
    "list",
    "hash",
    "string",
    "bitmap",
    "hyperloglog",
    "geo",
    "stream",
    "pubsub",
    "admin",
    "fast",
    "slow",
    "blocking",
    "dangerous",
    "connection",
    "transaction",
    "scripting",
];

/// A command or subcommand as the ACL sees it: its number in the users' command bitmaps
/// (Redis: `redisCommand.id`, `ACLGetCommandID`), its categories and its family.
pub struct AclCommand {
    pub spec: &'static CommandSpec,
    /// Bit `i` set: the command is in `@ACL_CATEGORIES[i]`.
    pub categories: u32,
    /// The container's id, for a subcommand.
    pub parent: Option<usize>,
    /// The ids of a container's subcommands (they follow it).
    pub subs: std::ops::Range<usize>,
}

/// Name -> row lookup, built once at startup. Lookup is case-insensitive without allocating.
pub struct CommandTable {
    by_name: HashMap<&'static [u8], &'static CommandSpec>,
    all: Vec<&'static CommandSpec>,
    /// Every command and subcommand by ACL id: each container is followed by its subcommands.
    acl: Vec<AclCommand>,
    /// Row address -> ACL id.
    acl_ids: HashMap<usize, usize>,
}

/// Longest command name we try to look up; longer names are simply unknown.
const MAX_NAME: usize = 32;

impl CommandTable {
    pub fn new() -> CommandTable {
        let mut by_name = HashMap::new();
        let mut all = Vec::new();
        for family in families() {
            for spec in family {
                debug_assert_eq!(spec.name, spec.name.to_ascii_lowercase());
                debug_assert!(
                    movable_flag_agrees(spec),
                    "{}: the movablekeys flag disagrees with the key specs",
                    spec.name
                );
                let previous = by_name.insert(spec.name.as_bytes(), spec);
                debug_assert!(previous.is_none(), "command {} declared twice", spec.name);
                all.push(spec);
            }
        }
        let mut acl = Vec::new();
        let mut acl_ids = HashMap::new();
        for &spec in &all {
            let id = acl.len();
            let first_sub = id + 1;
            acl_ids.insert(spec as *const CommandSpec as usize, id);
            acl.push(AclCommand {
                spec,
                categories: spec.acl_category_mask(),
                parent: None,
                subs: first_sub..first_sub + spec.subcommands.len(),
            });
            for sub in spec.subcommands {
                acl_ids.insert(sub as *const CommandSpec as usize, acl.len());
                acl.push(AclCommand {
                    spec: sub,
                    categories: sub.acl_category_mask(),
                    parent: Some(id),
                    subs: 0..0,
                });
            }
        }
        CommandTable {
            by_name,
            all,
            acl,
            acl_ids,
        }
    }

    /// Every command and subcommand, indexed by ACL id.
    pub fn acl_commands(&self) -> &[AclCommand] {
        &self.acl
    }

    /// The ACL id of a row of this table.
    pub fn acl_id(&self, spec: &'static CommandSpec) -> Option<usize> {
        self.acl_ids
            .get(&(spec as *const CommandSpec as usize))
            .copied()
    }

    /// A command or `container|subcommand` by name, as ACL rules name them (Redis:
    /// `ACLLookupCommand`): a `|` in a command without subcommands finds nothing.
    pub fn lookup_acl(&self, name: &[u8]) -> Option<usize> {
        let spec = match name.iter().position(|&b| b == b'|') {
            None => self.lookup(name)?,
            Some(bar) => {
                let parent = self.lookup(&name[..bar])?;
                lookup_subcommand(parent, &name[bar + 1..])?
            }
        };
        self.acl_id(spec)
    }

    pub fn lookup(&self, name: &[u8]) -> Option<&'static CommandSpec> {
        if name.len() > MAX_NAME {
            return None;
        }
        let mut lower = [0u8; MAX_NAME];
        for (d, s) in lower.iter_mut().zip(name) {
            *d = s.to_ascii_lowercase();
        }
        self.by_name.get(&lower[..name.len()]).copied()
    }

    pub fn all(&self) -> &[&'static CommandSpec] {
        &self.all
    }

    pub fn len(&self) -> usize {
        self.all.len()
    }

    pub fn is_empty(&self) -> bool {
        self.all.is_empty()
    }
}

impl Default for CommandTable {
    fn default() -> Self {
        CommandTable::new()
    }
}

/// Finds a subcommand row of a container command (case-insensitive).
pub fn lookup_subcommand(
    parent: &'static CommandSpec,
    name: &[u8],
) -> Option<&'static CommandSpec> {
    parent.subcommands.iter().find(|s| {
        let short = s.name.rsplit('|').next().unwrap_or(s.name);
        short.as_bytes().eq_ignore_ascii_case(name)
    })
}
