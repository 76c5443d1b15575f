//! ACL users and their permissions (Redis 7.0: `acl.c`, the "Low level ACL API" and
//! "ACL permission checks" halves; `ACLSetUser`, `ACLSetSelector`, `ACLDescribeUser`,
//! `ACLCheckAllUserCommandPerm`).
//!
//! A [`User`] has flags (on/off, nopass), SHA-256 password hashes and a list of
//! [`Selector`]s, the first of which is the *root* selector that the rules outside
//! parentheses change. A selector is what a command is checked against:
//!
//! ```text
//!  Selector { commands: bitmap over ACL ids (CommandTable::acl_commands),
//!             first_args: command id -> allowed argv[1] values (`+select|0`),
//!             patterns:   key globs with %R / %W / both,
//!             channels:   channel globs,
//!             all_keys / all_channels / all_commands flags }
//! ```
//!
//! A command runs if *any* selector allows all of it: the command (its bit, or a first
//! argument), every key it names with the access its key specs declare (read for `access`,
//! write for `insert`/`update`/`delete`), and every channel it publishes or subscribes to.
//! A user whose selectors include one with all three `all_*` flags is *unrestricted*
//! ([`User::unrestricted`]); the check path tests that one cached flag and skips the rest,
//! which is what the default user costs per command.
//!
//! Rules are applied to a copy of the user and committed only if all of them parse, so a
//! failed `ACL SETUSER` changes nothing (Redis: `ACLStringSetUser`).

use super::super::keyspec::key_flags;
use super::super::table::{CommandSpec, CommandTable, ACL_CATEGORIES};
use crate::util::glob_match;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// Key pattern permissions (Redis: `ACL_READ_PERMISSION`, `ACL_WRITE_PERMISSION`).
pub const PERM_READ: u8 = 1;
pub const PERM_WRITE: u8 = 2;
pub const PERM_ALL: u8 = PERM_READ | PERM_WRITE;

/// Command bitmap words: 1024 ids, as Redis's `USER_COMMAND_BITS_COUNT`.
const COMMAND_WORDS: usize = 16;

/// Why a command was refused, ordered as Redis's `ACL_DENIED_*` (the most relevant denial
/// across selectors is the greatest, then the one at the later argument).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Denial {
    Command = 1,
    Key = 2,
    Auth = 3,
    Channel = 4,
}

impl Denial {
    /// ACL LOG's `reason`.
    pub fn reason(self) -> &'static str {
        match self {
            Denial::Command => "command",
            Denial::Key => "key",
            Denial::Auth => "auth",
            Denial::Channel => "channel",
        }
    }
}

/// A rule that cannot be applied, with Redis's text (`ACLSetUserStringError`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RuleError {
    /// ENOENT
    UnknownCommand,
    /// EINVAL
    Syntax,
    /// EEXIST
    KeyAfterAll,
    /// EISDIR
    ChannelAfterAll,
    /// ENODEV
    NoSuchPassword,
    /// EBADMSG
    BadHash,
    /// ECHILD
    FirstArgOfSubcommand,
}

impl RuleError {
    pub fn message(self) -> &'static str {
        match self {
            RuleError::UnknownCommand => "Unknown command or category name in ACL",
            RuleError::Syntax => "Syntax error",
            RuleError::KeyAfterAll => {
                "Adding a pattern after the * pattern (or the 'allkeys' flag) is not valid and \
                 does not have any effect. Try 'resetkeys' to start with an empty list of patterns"
            }
            RuleError::ChannelAfterAll => {
                "Adding a pattern after the * pattern (or the 'allchannels' flag) is not valid \
                 and does not have any effect. Try 'resetchannels' to start with an empty list \
                 of channels"
            }
            RuleError::NoSuchPassword => {
                "The password you are trying to remove from the user does not exist"
            }
            RuleError::BadHash => {
                "The password hash must be exactly 64 characters and contain only lowercase \
                 hexadecimal characters"
            }
            RuleError::FirstArgOfSubcommand => {
                "Allowing first-arg of a subcommand is not supported"
            }
        }
    }
}

/// A key glob with the access it grants.
#[derive(Clone, Debug, PartialEq)]
pub struct KeyPattern {
    pub perm: u8,
    pub pattern: Vec<u8>,
}

impl KeyPattern {
    /// `~pat`, `%R~pat` or `%W~pat` (Redis: `sdsCatPatternString`).
    fn describe(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(match self.perm {
            PERM_READ => b"%R~",
            PERM_WRITE => b"%W~",
            _ => b"~",
        });
        out.extend_from_slice(&self.pattern);
    }
}

/// One set of permissions (Redis: `aclSelector`).
#[derive(Clone, Debug, PartialEq)]
pub struct Selector {
    pub all_keys: bool,
    pub all_channels: bool,
    pub all_commands: bool,
    commands: [u64; COMMAND_WORDS],
    /// Set by `+@all` / `allcommands`: the rules describe as `+@all ...` (Redis's reserved
    /// last bit, "can execute future commands").
    future_commands: bool,
    first_args: BTreeMap<usize, Vec<Vec<u8>>>,
    pub patterns: Vec<KeyPattern>,
    pub channels: Vec<Vec<u8>>,
}

impl Selector {
    /// No permissions, channels as `acl-pubsub-default` says (Redis: `ACLCreateSelector`).
    pub fn new(all_channels_by_default: bool) -> Selector {
        Selector {
            all_keys: false,
            all_channels: all_channels_by_default,
            all_commands: false,
            commands: [0; COMMAND_WORDS],
            future_commands: false,
            first_args: BTreeMap::new(),
            patterns: Vec::new(),
            channels: Vec::new(),
        }
    }

    fn bit(&self, id: usize) -> bool {
        id < COMMAND_WORDS * 64 && self.commands[id / 64] & (1 << (id % 64)) != 0
    }

    fn set_bit(&mut self, id: usize, on: bool) {
        if id >= COMMAND_WORDS * 64 {
            return;
        }
        if on {
            self.commands[id / 64] |= 1 << (id % 64);
        } else {
            self.commands[id / 64] &= !(1 << (id % 64));
            self.all_commands = false;
        }
    }

    /// Allows or denies a command and, for a container, all its subcommands (Redis:
    /// `ACLChangeSelectorPerm`).
    fn change_perm(&mut self, table: &CommandTable, id: usize, allow: bool) {
        self.set_bit(id, allow);
        self.first_args.remove(&id);
        for sub in table.acl_commands()[id].subs.clone() {
            self.set_bit(sub, allow);
        }
    }

    /// `+@cat` / `-@cat`: every command of the category, a container's category covering
    /// its subcommands (Redis: `ACLSetSelectorCommandBitsForCategoryLogic`).
    fn change_category(&mut self, table: &CommandTable, category: usize, allow: bool) {
        for (id, cmd) in table.acl_commands().iter().enumerate() {
            if cmd.categories & (1 << category) != 0 {
                self.change_perm(table, id, allow);
            }
        }
    }

    fn set_all_commands(&mut self, allow: bool) {
        self.commands = if allow {
            [u64::MAX; COMMAND_WORDS]
        } else {
            [0; COMMAND_WORDS]
        };
        self.all_commands = allow;
        self.future_commands = allow;
        self.first_args.clear();
    }

    /// Applies one selector rule (Redis: `ACLSetSelector`).
    pub fn apply(&mut self, table: &CommandTable, op: &[u8]) -> Result<(), RuleError> {
        let is = |word: &str| op.eq_ignore_ascii_case(word.as_bytes());
        if is("allkeys") || is("~*") {
            self.all_keys = true;
            self.patterns.clear();
        } else if is("resetkeys") {
            self.all_keys = false;
            self.patterns.clear();
        } else if is("allchannels") || is("&*") {
            self.all_channels = true;
            self.channels.clear();
        } else if is("resetchannels") {
            self.all_channels = false;
            self.channels.clear();
        } else if is("allcommands") || is("+@all") {
            self.set_all_commands(true);
        } else if is("nocommands") || is("-@all") {
            self.set_all_commands(false);
        } else if op[0] == b'~' || op[0] == b'%' {
            self.add_key_pattern(op)?;
        } else if op[0] == b'&' {
            if self.all_channels {
                return Err(RuleError::ChannelAfterAll);
            }
            let pattern = &op[1..];
            if has_spaces(pattern) {
                return Err(RuleError::Syntax);
            }
            if !self.channels.iter().any(|c| c == pattern) {
                self.channels.push(pattern.to_vec());
            }
            self.all_channels = false;
        } else if (op[0] == b'+' || op[0] == b'-') && op.get(1) == Some(&b'@') {
            let name = &op[2..];
            let category = ACL_CATEGORIES
                .iter()
                .position(|c| c.as_bytes().eq_ignore_ascii_case(name))
                .ok_or(RuleError::UnknownCommand)?;
            self.change_category(table, category, op[0] == b'+');
        } else if op[0] == b'+' {
            self.allow_command(table, &op[1..])?;
        } else if op[0] == b'-' {
            let id = table
                .lookup_acl(&op[1..])
                .ok_or(RuleError::UnknownCommand)?;
            self.change_perm(table, id, false);
        } else {
            return Err(RuleError::Syntax);
        }
        Ok(())
    }

    /// `~pat`, `%R~pat`, `%W~pat`, `%RW~pat`.
    fn add_key_pattern(&mut self, op: &[u8]) -> Result<(), RuleError> {
        if self.all_keys {
            return Err(RuleError::KeyAfterAll);
        }
        let mut perm = 0;
        let mut offset = 1;
        if op[0] == b'%' {
            while offset < op.len() {
                match op[offset].to_ascii_uppercase() {
                    b'R' if perm & PERM_READ == 0 => perm |= PERM_READ,
                    b'W' if perm & PERM_WRITE == 0 => perm |= PERM_WRITE,
                    b'~' => {
                        offset += 1;
                        break;
                    }
                    _ => return Err(RuleError::Syntax),
                }
                offset += 1;
            }
        } else {
            perm = PERM_ALL;
        }
        let pattern = op.get(offset..).unwrap_or_default();
        if has_spaces(pattern) {
            return Err(RuleError::Syntax);
        }
        match self.patterns.iter_mut().find(|p| p.pattern == pattern) {
            Some(existing) => existing.perm |= perm,
            None => self.patterns.push(KeyPattern {
                perm,
                pattern: pattern.to_vec(),
            }),
        }
        self.all_keys = false;
        Ok(())
    }

    /// `+cmd`, `+container|sub`, `+cmd|first-arg`.
    fn allow_command(&mut self, table: &CommandTable, name: &[u8]) -> Result<(), RuleError> {
        let Some(bar) = name.iter().rposition(|&b| b == b'|') else {
            let id = table.lookup_acl(name).ok_or(RuleError::UnknownCommand)?;
            self.change_perm(table, id, true);
            return Ok(());
        };
        let (base, sub) = (&name[..bar], &name[bar + 1..]);
        let id = table.lookup_acl(base).ok_or(RuleError::UnknownCommand)?;
        let cmd = &table.acl_commands()[id];
        if cmd.parent.is_some() {
            return Err(RuleError::FirstArgOfSubcommand);
        }
        if sub.is_empty() {
            return Err(RuleError::Syntax);
        }
        if !cmd.spec.subcommands.is_empty() {
            let id = table.lookup_acl(name).ok_or(RuleError::UnknownCommand)?;
            self.change_perm(table, id, true);
        } else {
            log::warn!(
                "Deprecation warning: Allowing a first arg of an otherwise blocked command is a \
                 misuse of ACL and may get disabled in the future (offender: +{})",
                String::from_utf8_lossy(name)
            );
            let args = self.first_args.entry(id).or_default();
            if !args.iter().any(|a| a.eq_ignore_ascii_case(sub)) {
                args.push(sub.to_vec());
            }
        }
        Ok(())
    }

    /// Does the selector allow the command itself (its bit, or an allowed first argument)?
    fn allows_command(&self, id: usize, spec: &CommandSpec, argv: &[&[u8]], parent: bool) -> bool {
        use super::super::table::flags::NO_AUTH;
        if self.all_commands || spec.has(NO_AUTH) || self.bit(id) {
            return true;
        }
        let Some(args) = self.first_args.get(&id) else {
            return false;
        };
        let index = if parent { 2 } else { 1 };
        argv.get(index)
            .is_some_and(|arg| args.iter().any(|a| a.eq_ignore_ascii_case(arg)))
    }

    /// Key access: some pattern with (at least) the permission the key spec's flags need
    /// matches the key (Redis: `ACLSelectorCheckKey`).
    fn allows_key(&self, key: &[u8], spec_flags: u32) -> bool {
        if self.all_keys {
            return true;
        }
        let needed = key_permission(spec_flags);
        self.patterns
            .iter()
            .any(|p| p.perm & needed == needed && glob_match(&p.pattern, key, false))
    }

    /// Is `flags` access to every key granted (`allkeys`, or a `*` pattern with those
    /// permissions)? (Redis: `ACLSelectorHasUnrestrictedKeyAccess`.)
    pub fn has_unrestricted_key_access(&self, spec_flags: u32) -> bool {
        if self.all_keys {
            return true;
        }
        let needed = key_permission(spec_flags);
        self.patterns
            .iter()
            .any(|p| p.perm & needed == needed && p.pattern == b"*")
    }

    /// Channel access (Redis: `ACLCheckChannelAgainstList`): a channel is matched against the
    /// globs; a pattern (PSUBSCRIBE) only literally.
    pub fn allows_channel(&self, channel: &[u8], is_pattern: bool) -> bool {
        self.all_channels || channel_in_list(&self.channels, channel, is_pattern)
    }

    /// The whole check of one command against this selector; on denial, the reason and the
    /// argument index it concerns (Redis: `ACLSelectorCheckCmd`).
    fn check(&self, request: &Request, keys: &mut KeyCache) -> Result<(), (Denial, usize)> {
        if !self.allows_command(request.id, request.spec, request.argv, request.parent) {
            return Err((Denial::Command, 0));
        }
        if !self.all_keys && request.spec.has_keys() {
            for key in keys.get(request) {
                if !self.allows_key(request.argv[key.pos], key.flags) {
                    return Err((Denial::Key, key.pos));
                }
            }
        }
        if !self.all_channels {
            for (pos, is_pattern) in channels_of(request.spec, request.argv) {
                if !self.allows_channel(request.argv[pos], is_pattern) {
                    return Err((Denial::Channel, pos));
                }
            }
        }
        Ok(())
    }

    /// `~* &* +@all`-style description (Redis: `ACLDescribeSelector`).
    fn describe(&self, table: &CommandTable, out: &mut Vec<u8>) {
        if self.all_keys {
            out.extend_from_slice(b"~* ");
        } else {
            for p in &self.patterns {
                p.describe(out);
                out.push(b' ');
            }
        }
        if self.all_channels {
            out.extend_from_slice(b"&* ");
        } else {
            out.extend_from_slice(b"resetchannels ");
            for c in &self.channels {
                out.push(b'&');
                out.extend_from_slice(c);
                out.push(b' ');
            }
        }
        out.extend_from_slice(self.describe_commands(table).as_bytes());
    }

    /// GETUSER's `keys` field.
    pub fn describe_keys(&self) -> Vec<u8> {
        if self.all_keys {
            return b"~*".to_vec();
        }
        let mut out = Vec::new();
        for (i, p) in self.patterns.iter().enumerate() {
            if i > 0 {
                out.push(b' ');
            }
            p.describe(&mut out);
        }
        out
    }

    /// GETUSER's `channels` field.
    pub fn describe_channels(&self) -> Vec<u8> {
        if self.all_channels {
            return b"&*".to_vec();
        }
        let mut out = Vec::new();
        for (i, c) in self.channels.iter().enumerate() {
            if i > 0 {
                out.push(b' ');
            }
            out.push(b'&');
            out.extend_from_slice(c);
        }
        out
    }

    /// The command rules that rebuild this selector's bitmap (Redis:
    /// `ACLDescribeSelectorCommandRules`).
    ///
    /// Start from `+@all` if the selector was built from it (it then also allows commands
    /// added later), else from `-@all`. Then, greedily, apply the category that best fits
    /// the bits still to explain — more commands in common than different, fewest
    /// differences, ties to the most in common — each category once. A scratch selector
    /// (`remaining`) has each applied category inverted, so later categories are judged on
    /// what is left; a second one (`built`) replays the emitted rules. Last, single
    /// `+cmd`/`-cmd` rules fix every bit where `built` still differs, and allowed first
    /// arguments are listed for commands that are not allowed whole.
    pub fn describe_commands(&self, table: &CommandTable) -> String {
        let mut rules = String::new();
        let additive = !self.future_commands;
        let mut built = Selector::new(false);
        built.set_all_commands(!additive);
        rules.push_str(if additive { "-@all " } else { "+@all " });
        let mut remaining = self.clone();
        let mut applied = [false; ACL_CATEGORIES.len()];
        loop {
            let mut best = None;
            let (mut min_diff, mut max_same) = (usize::MAX, 0);
            for (cat, done) in applied.iter().enumerate() {
                if *done {
                    continue;
                }
                let (on, off) = remaining.count_category(table, cat);
                let (diff, same) = if additive { (off, on) } else { (on, off) };
                if same > diff && (diff < min_diff || (diff == min_diff && same > max_same)) {
                    best = Some(cat);
                    min_diff = diff;
                    max_same = same;
                }
            }
            let Some(cat) = best else { break };
            built.change_category(table, cat, additive);
            remaining.change_category(table, cat, !additive);
            rules.push(if additive { '+' } else { '-' });
            rules.push('@');
            rules.push_str(ACL_CATEGORIES[cat]);
            rules.push(' ');
            applied[cat] = true;
        }
        for (id, cmd) in table.acl_commands().iter().enumerate() {
            let mine = self.bit(id);
            if mine != built.bit(id) {
                rules.push(if mine { '+' } else { '-' });
                rules.push_str(cmd.spec.name);
                rules.push(' ');
                built.change_perm(table, id, mine);
            }
            // Redis lists a container's first args after its subcommands; first args exist
            // only on commands without subcommands, so the order is the same.
            if !mine {
                for arg in self.first_args.get(&id).into_iter().flatten() {
                    rules.push('+');
                    rules.push_str(cmd.spec.name);
                    rules.push('|');
                    rules.push_str(&String::from_utf8_lossy(arg));
                    rules.push(' ');
                }
            }
        }
        rules.pop();
        rules
    }

    /// How many commands of category `cat` the bitmap allows and denies.
    fn count_category(&self, table: &CommandTable, cat: usize) -> (usize, usize) {
        let (mut on, mut off) = (0, 0);
        for (id, cmd) in table.acl_commands().iter().enumerate() {
            if cmd.categories & (1 << cat) != 0 {
                if self.bit(id) {
                    on += 1;
                } else {
                    off += 1;
                }
            }
        }
        (on, off)
    }
}

/// The permission a key spec's flags need (Redis: the `CMD_KEY_*` -> `ACL_*_PERMISSION` map).
fn key_permission(spec_flags: u32) -> u8 {
    let mut needed = 0;
    if spec_flags & key_flags::ACCESS != 0 {
        needed |= PERM_READ;
    }
    if spec_flags & (key_flags::INSERT | key_flags::DELETE | key_flags::UPDATE) != 0 {
        needed |= PERM_WRITE;
    }
    needed
}

/// Is `channel` allowed by a list of channel globs? A pattern is compared literally.
fn channel_in_list(list: &[Vec<u8>], channel: &[u8], is_pattern: bool) -> bool {
    list.iter().any(|p| {
        if is_pattern {
            p.as_slice() == channel
        } else {
            glob_match(p, channel, false)
        }
    })
}

/// The channels a command publishes or subscribes to, as (argument index, is a pattern)
/// (Redis: `commands_with_channels`, the publish and subscribe kinds; unsubscribing needs no
/// permission).
pub fn channels_of(spec: &CommandSpec, argv: &[&[u8]]) -> Vec<(usize, bool)> {
    match spec.name {
        "publish" | "spublish" => vec![(1, false)],
        "subscribe" | "ssubscribe" => (1..argv.len()).map(|i| (i, false)).collect(),
        "psubscribe" => (1..argv.len()).map(|i| (i, true)).collect(),
        _ => Vec::new(),
    }
}

/// Usernames and patterns may not contain spaces or NUL (Redis: `ACLStringHasSpaces`).
pub fn has_spaces(s: &[u8]) -> bool {
    s.iter()
        .any(|&b| b == 0 || b == b' ' || (b'\t'..=b'\r').contains(&b))
}

/// A command being checked: its table row, ACL id and arguments.
pub struct Request<'a> {
    pub spec: &'static CommandSpec,
    pub id: usize,
    /// A subcommand: its first argument is argv[2].
    pub parent: bool,
    pub argv: &'a [&'a [u8]],
}

/// The keys of the request, found once for all selectors (Redis: `aclKeyResultCache`).
#[derive(Default)]
struct KeyCache(Option<Vec<super::super::keyspec::KeyRef>>);

impl KeyCache {
    fn get(&mut self, request: &Request) -> &[super::super::keyspec::KeyRef] {
        self.0
            .get_or_insert_with(|| request.spec.get_keys(request.argv))
    }
}

/// An ACL user (Redis: `user`).
#[derive(Clone, Debug, PartialEq)]
pub struct User {
    pub name: Vec<u8>,
    pub enabled: bool,
    pub nopass: bool,
    /// `sanitize-payload` (Some(true)) / `skip-sanitize-payload` (Some(false)).
    pub sanitize_payload: Option<bool>,
    /// Hex SHA-256 of each password, in the order added.
    pub passwords: Vec<String>,
    /// The root selector first, then those added with `(...)`.
    pub selectors: Vec<Selector>,
    /// Some selector allows every command, key and channel: the check can be skipped.
    pub unrestricted: bool,
}

impl User {
    /// A new user: off, no passwords, no permissions (Redis: `ACLCreateUser`).
    pub fn new(name: &[u8], all_channels_by_default: bool) -> User {
        User {
            name: name.to_vec(),
            enabled: false,
            nopass: false,
            sanitize_payload: None,
            passwords: Vec::new(),
            selectors: vec![Selector::new(all_channels_by_default)],
            unrestricted: false,
        }
    }

    /// The default user: `on nopass ~* &* +@all` (Redis: `ACLCreateDefaultUser`).
    pub fn new_default(table: &CommandTable) -> User {
        let mut user = User::new(b"default", false);
        for rule in ["+@all", "~*", "&*", "on", "nopass"] {
            let _ = user.apply(table, rule.as_bytes(), false);
        }
        user
    }

    fn update_unrestricted(&mut self) {
        self.unrestricted = self
            .selectors
            .iter()
            .any(|s| s.all_commands && s.all_keys && s.all_channels);
    }

    /// Applies one rule (Redis: `ACLSetUser`). `all_channels_by_default` is
    /// `acl-pubsub-default allchannels`.
    pub fn apply(
        &mut self,
        table: &CommandTable,
        op: &[u8],
        all_channels_by_default: bool,
    ) -> Result<(), RuleError> {
        let result = self.apply_rule(table, op, all_channels_by_default);
        self.update_unrestricted();
        result
    }

    fn apply_rule(
        &mut self,
        table: &CommandTable,
        op: &[u8],
        all_channels_by_default: bool,
    ) -> Result<(), RuleError> {
        if op.is_empty() {
            return Ok(());
        }
        let is = |word: &str| op.eq_ignore_ascii_case(word.as_bytes());
        if is("on") {
            self.enabled = true;
        } else if is("off") {
            self.enabled = false;
        } else if is("skip-sanitize-payload") {
            self.sanitize_payload = Some(false);
        } else if is("sanitize-payload") {
            self.sanitize_payload = Some(true);
        } else if is("nopass") {
            self.nopass = true;
            self.passwords.clear();
        } else if is("resetpass") {
            self.nopass = false;
            self.passwords.clear();
        } else if op[0] == b'>' || op[0] == b'#' {
            let hash = if op[0] == b'>' {
                hash_password(&op[1..])
            } else {
                checked_hash(&op[1..])?
            };
            if !self.passwords.contains(&hash) {
                self.passwords.push(hash);
            }
            self.nopass = false;
        } else if op[0] == b'<' || op[0] == b'!' {
            let hash = if op[0] == b'<' {
                hash_password(&op[1..])
            } else {
                checked_hash(&op[1..])?
            };
            let at = self
                .passwords
                .iter()
                .position(|p| *p == hash)
                .ok_or(RuleError::NoSuchPassword)?;
            self.passwords.remove(at);
        } else if op[0] == b'(' && op[op.len() - 1] == b')' && op.len() >= 2 {
            let inner = &op[1..op.len() - 1];
            let words = crate::resp::parse::split_args(inner).ok_or(RuleError::Syntax)?;
            let mut selector = Selector::new(all_channels_by_default);
            for word in words {
                if !word.is_empty() {
                    selector.apply(table, &word)?;
                }
            }
            self.selectors.push(selector);
        } else if is("clearselectors") {
            self.selectors.truncate(1);
        } else if is("reset") {
            self.nopass = false;
            self.passwords.clear();
            let root = &mut self.selectors[0];
            root.all_keys = false;
            root.patterns.clear();
            root.all_channels = all_channels_by_default;
            root.channels.clear();
            self.enabled = false;
            self.sanitize_payload = Some(true);
            self.selectors.truncate(1);
            self.selectors[0].set_all_commands(false);
        } else {
            self.selectors[0].apply(table, op)?;
        }
        Ok(())
    }

    /// Does `password` authenticate this user (disabled users never do)? The hash comparison
    /// takes the same time wherever the first difference is.
    pub fn check_password(&self, password: &[u8]) -> bool {
        if !self.enabled {
            return false;
        }
        if self.nopass {
            return true;
        }
        let hash = hash_password(password);
        self.passwords.iter().any(|p| {
            p.len() == hash.len()
                && p.bytes()
                    .zip(hash.bytes())
                    .fold(0u8, |diff, (a, b)| diff | (a ^ b))
                    == 0
        })
    }

    /// Checks a command against every selector: Ok if one allows it, else the most relevant
    /// denial (Redis: `ACLCheckAllUserCommandPerm`).
    pub fn check(&self, request: &Request) -> Result<(), (Denial, usize)> {
        let mut keys = KeyCache::default();
        let mut worst = (Denial::Command, 0);
        for selector in &self.selectors {
            match selector.check(request, &mut keys) {
                Ok(()) => return Ok(()),
                Err(denial) => {
                    if denial.0 > worst.0 || (denial.0 == worst.0 && denial.1 > worst.1) {
                        worst = denial;
                    }
                }
            }
        }
        Err(worst)
    }

    /// Does a selector allow the command with `spec_flags` access to every key (Redis:
    /// `ACLUserCheckCmdWithUnrestrictedKeyAccess`)?
    pub fn check_with_unrestricted_key_access(&self, request: &Request, spec_flags: u32) -> bool {
        let mut keys = KeyCache::default();
        self.selectors.iter().any(|s| {
            s.check(request, &mut keys).is_ok() && s.has_unrestricted_key_access(spec_flags)
        })
    }

    /// Is one channel allowed by any selector (Redis: `ACLUserCheckChannelPerm`)?
    pub fn allows_channel(&self, channel: &[u8], is_pattern: bool) -> bool {
        self.selectors
            .iter()
            .any(|s| s.allows_channel(channel, is_pattern))
    }

    /// The user's rules as ACL LIST and the ACL file show them (Redis: `ACLDescribeUser`).
    pub fn describe(&self, table: &CommandTable) -> Vec<u8> {
        let mut out = Vec::new();
        for flag in self.flag_names() {
            out.extend_from_slice(flag.as_bytes());
            out.push(b' ');
        }
        for p in &self.passwords {
            out.push(b'#');
            out.extend_from_slice(p.as_bytes());
            out.push(b' ');
        }
        for (i, selector) in self.selectors.iter().enumerate() {
            if i == 0 {
                selector.describe(table, &mut out);
            } else {
                out.extend_from_slice(b" (");
                selector.describe(table, &mut out);
                out.push(b')');
            }
        }
        out
    }

    /// GETUSER's `flags`, in Redis's order.
    pub fn flag_names(&self) -> Vec<&'static str> {
        let mut flags = vec![if self.enabled { "on" } else { "off" }];
        if self.nopass {
            flags.push("nopass");
        }
        match self.sanitize_payload {
            Some(false) => flags.push("skip-sanitize-payload"),
            Some(true) => flags.push("sanitize-payload"),
            None => {}
        }
        flags
    }
}

/// Hex SHA-256 of a password (Redis: `ACLHashPassword`).
pub fn hash_password(password: &[u8]) -> String {
    let digest = Sha256::digest(password);
    let mut hex = String::with_capacity(64);
    for byte in digest {
        hex.push_str(&format!("{byte:02x}"));
    }
    hex
}

/// A `#hash` / `!hash` argument: 64 lowercase hex digits (Redis: `ACLCheckPasswordHash`).
fn checked_hash(hash: &[u8]) -> Result<String, RuleError> {
    let valid = hash.len() == 64
        && hash
            .iter()
            .all(|&c| c.is_ascii_digit() || (b'a'..=b'f').contains(&c));
    if !valid {
        return Err(RuleError::BadHash);
    }
    Ok(String::from_utf8_lossy(hash).into_owned())
}

/// Joins rules spread over several arguments back into selectors: `(~x` `+get)` becomes one
/// `(~x +get)` rule. On an unclosed parenthesis, the index of the argument that opened it
/// (Redis: `ACLMergeSelectorArguments`).
pub fn merge_selector_arguments(args: &[&[u8]]) -> Result<Vec<Vec<u8>>, usize> {
    let mut merged = Vec::new();
    let mut open: Option<(usize, Vec<u8>)> = None;
    for (i, &op) in args.iter().enumerate() {
        if let Some((_, selector)) = open.as_mut() {
            selector.push(b' ');
            selector.extend_from_slice(op);
            if op.last() == Some(&b')') {
                if let Some((_, selector)) = open.take() {
                    merged.push(selector);
                }
            }
            continue;
        }
        if op.first() == Some(&b'(') && op.last() != Some(&b')') {
            open = Some((i, op.to_vec()));
            continue;
        }
        merged.push(op.to_vec());
    }
    match open {
        Some((i, _)) => Err(i),
        None => Ok(merged),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_hashes_are_sha256_hex() {
        assert_eq!(
            hash_password(b"foo"),
            "2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae"
        );
    }

    #[test]
    fn default_user_is_unrestricted_and_described_like_redis() {
        let table = CommandTable::new();
        let user = User::new_default(&table);
        assert!(user.unrestricted);
        assert_eq!(user.describe(&table), b"on nopass ~* &* +@all".to_vec());
    }

    #[test]
    fn a_failed_rule_reports_its_error() {
        let table = CommandTable::new();
        let mut user = User::new(b"u", false);
        assert_eq!(
            user.apply(&table, b"+nosuchcommand", false),
            Err(RuleError::UnknownCommand)
        );
        assert_eq!(user.apply(&table, b"#abc", false), Err(RuleError::BadHash));
        assert_eq!(
            user.apply(&table, b"+client|kill|x", false),
            Err(RuleError::FirstArgOfSubcommand)
        );
    }

    #[test]
    fn selectors_spread_over_arguments_are_merged() {
        let args: [&[u8]; 4] = [b"on", b"(~x", b"+get)", b"nopass"];
        assert_eq!(
            merge_selector_arguments(&args),
            Ok(vec![
                b"on".to_vec(),
                b"(~x +get)".to_vec(),
                b"nopass".to_vec()
            ])
        );
        let args: [&[u8]; 2] = [b"on", b"(~x"];
        assert_eq!(merge_selector_arguments(&args), Err(1));
    }
}
