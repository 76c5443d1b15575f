//! Client-side caching: CLIENT TRACKING, CACHING, GETREDIR, TRACKINGINFO and the
//! invalidation messages (Redis: `tracking.c`, and the CLIENT TRACKING / CACHING branches of
//! `networking.c`).
//!
//! ```text
//!   default mode: a read-only command of a tracking client ──> remember_keys: key -> {client}
//!                 (OPTIN: only after CLIENT CACHING yes; OPTOUT: unless CLIENT CACHING no)
//!   BCAST mode:   the client subscribes to prefixes; nothing is remembered per key
//!
//!   a key changes (signal_modified_key, expiry, eviction) ──> invalidate_key:
//!       every client remembered for it gets ["invalidate", [key]] (once: the entry goes)
//!         - the client running the command gets it after its reply (pending list)
//!         - NOLOOP: not for changes the client made itself
//!       keys under a BCAST prefix are collected, and sent per prefix in before_sleep
//!   FLUSHALL / FLUSHDB ──> every tracking client gets ["invalidate", null]; the table empties
//!
//!   delivery (send_tracking_message): RESP3 -> a push `>2 invalidate <keys>`;
//!       REDIRECT id -> to that client instead: a push in RESP3, or in RESP2 a Pub/Sub
//!       message on `__redis__:invalidate` if it is subscribed; a vanished redirect target
//!       -> `tracking-redir-broken` push to the client itself (RESP3)
//! ```
//!
//! The table is bounded by `tracking-table-max-keys`: past it, the cron invalidates keys
//! (sending their messages) until it is under the limit again, as Redis's
//! `trackingLimitUsedSlots`. The table is keyed by key name over all databases, as Redis's.

use super::args;
use super::error::{CommandError, CommandResult};
use super::table::CommandSpec;
use super::Ctx;
use hashbrown::HashMap;
use std::collections::BTreeMap;

/// A client's tracking settings (Redis: the `CLIENT_TRACKING*` flags and fields).
#[derive(Default, Clone)]
pub struct ClientTracking {
    /// Client id invalidations go to (0: the client itself).
    pub redirect: u64,
    pub bcast: bool,
    pub optin: bool,
    pub optout: bool,
    pub noloop: bool,
    /// CLIENT CACHING yes (OPTIN) / no (OPTOUT) given for the next command.
    pub caching: bool,
    /// The redirect target went away.
    pub broken_redir: bool,
    /// BCAST prefixes, sorted.
    pub prefixes: Vec<Vec<u8>>,
}

impl ClientTracking {
    /// Memory held by the BCAST prefixes (client eviction and CLIENT LIST `tot-mem`; Redis
    /// counts the nodes of the client's prefix rax).
    pub fn mem_usage(&self) -> usize {
        std::mem::size_of::<ClientTracking>()
            + self.prefixes.capacity() * std::mem::size_of::<Vec<u8>>()
            + self.prefixes.iter().map(Vec::capacity).sum::<usize>()
    }
}

/// Clients subscribed to one BCAST prefix and the keys under it changed since the last
/// broadcast (with the id of the client that changed each, for NOLOOP).
#[derive(Default)]
struct Bcast {
    clients: Vec<(u64, usize)>,
    keys: BTreeMap<Vec<u8>, u64>,
}

/// Server-wide tracking state (Redis: `TrackingTable`, `PrefixTable`, `tracking_clients`,
/// `tracking_pending_keys`).
#[derive(Default)]
pub struct TrackingState {
    /// Key -> the clients (id, slab key) that may have it cached.
    table: HashMap<Vec<u8>, Vec<(u64, usize)>>,
    /// Sum of the clients over all keys (INFO `tracking_total_items`).
    total_items: usize,
    prefixes: BTreeMap<Vec<u8>, Bcast>,
    /// Clients with tracking on (INFO `tracking_clients`).
    pub clients: usize,
    /// Invalidations for the client whose command is running, sent after its reply (slab
    /// key, key; None: a flush).
    pending: Vec<(usize, Option<Vec<u8>>)>,
    /// The keys the running script (EVAL / FCALL of a tracking client) declared.
    script_keys: Vec<Vec<u8>>,
    /// Depth of `call()`s running: a client changing keys it tracks while its command runs
    /// gets the invalidation after the reply (Redis: `CLIENT_EXECUTING_COMMAND`).
    pub executing: u32,
    /// Consecutive cron runs that could not bring the table under its limit.
    limit_timeouts: usize,
}

impl TrackingState {
    pub fn total_keys(&self) -> usize {
        self.table.len()
    }
    pub fn total_items(&self) -> usize {
        self.total_items
    }
    pub fn total_prefixes(&self) -> usize {
        self.prefixes.len()
    }
}

/// Do two prefixes emit invalidations for a common key (one starts the other)?
fn prefixes_overlap(a: &[u8], b: &[u8]) -> bool {
    let n = a.len().min(b.len());
    a[..n] == b[..n]
}

/// CLIENT TRACKING ON|OFF [REDIRECT id] [BCAST] [PREFIX p ...] [OPTIN] [OPTOUT] [NOLOOP] — OK.
pub(crate) fn client_tracking_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    let mut options = ClientTracking::default();
    let mut j = 3;
    while j < argv.len() {
        let more = j + 1 < argv.len();
        let opt = argv[j];
        if args::is(opt, "redirect") && more {
            j += 1;
            if options.redirect != 0 {
                return Err(CommandError::Err(
                    "A client can only redirect to a single other client",
                ));
            }
            let id = args::int(argv[j])?;
            if !ctx.clients.iter().any(|(_, c)| c.id as i64 == id) {
                return Err(CommandError::Err(
                    "The client ID you want redirect to does not exist",
                ));
            }
            options.redirect = id as u64;
        } else if args::is(opt, "bcast") {
            options.bcast = true;
        } else if args::is(opt, "optin") {
            options.optin = true;
        } else if args::is(opt, "optout") {
            options.optout = true;
        } else if args::is(opt, "noloop") {
            options.noloop = true;
        } else if args::is(opt, "prefix") && more {
            j += 1;
            options.prefixes.push(argv[j].to_vec());
        } else {
            return Err(CommandError::Syntax);
        }
        j += 1;
    }
    if args::is(argv[2], "on") {
        check_options(ctx, &options)?;
        enable_tracking(ctx, options);
    } else if args::is(argv[2], "off") {
        let id = ctx.id;
        disable_tracking(ctx.srv, ctx.clients.get_mut(id).map(|c| (id, c)));
    } else {
        return Err(CommandError::Syntax);
    }
    ctx.out.ok();
    Ok(())
}

/// The compatibility checks of CLIENT TRACKING ON, in Redis's order and words.
fn check_options(ctx: &mut Ctx, options: &ClientTracking) -> CommandResult {
    if !options.bcast && !options.prefixes.is_empty() {
        return Err(CommandError::Err(
            "PREFIX option requires BCAST mode to be enabled",
        ));
    }
    let current = ctx.me().tracking.clone();
    if let Some(current) = &current {
        if current.bcast != options.bcast {
            return Err(CommandError::Err(
                "You can't switch BCAST mode on/off before disabling tracking for this client, and then re-enabling it with a different mode.",
            ));
        }
    }
    if options.bcast && (options.optin || options.optout) {
        return Err(CommandError::Err(
            "OPTIN and OPTOUT are not compatible with BCAST",
        ));
    }
    if options.optin && options.optout {
        return Err(CommandError::Err(
            "You can't specify both OPTIN mode and OPTOUT mode",
        ));
    }
    if let Some(current) = &current {
        if (options.optin && current.optout) || (options.optout && current.optin) {
            return Err(CommandError::Err(
                "You can't switch OPTIN/OPTOUT mode before disabling tracking for this client, and then re-enabling it with a different mode.",
            ));
        }
    }
    if options.bcast {
        let existing = current.map(|c| c.prefixes).unwrap_or_default();
        for (i, p) in options.prefixes.iter().enumerate() {
            if let Some(old) = existing.iter().find(|old| prefixes_overlap(old, p)) {
                return Err(CommandError::err(format!(
                    "Prefix '{}' overlaps with an existing prefix '{}'. Prefixes for a single client must not overlap.",
                    args::text(p),
                    args::text(old)
                )));
            }
            if let Some(other) = options.prefixes[i + 1..]
                .iter()
                .find(|other| prefixes_overlap(p, other))
            {
                return Err(CommandError::err(format!(
                    "Prefix '{}' overlaps with another provided prefix '{}'. Prefixes for a single client must not overlap.",
                    args::text(p),
                    args::text(other)
                )));
            }
        }
    }
    Ok(())
}

/// Turns tracking on (or changes its options) for the caller (Redis: `enableTracking`).
fn enable_tracking(ctx: &mut Ctx, options: ClientTracking) {
    let (key, id) = (ctx.id, ctx.me().id);
    let state = &mut ctx.srv.tracking;
    let Some(c) = ctx.clients.get_mut(key) else {
        return;
    };
    let mut tracking = match c.tracking.take() {
        Some(t) => t,
        None => {
            state.clients += 1;
            Box::default()
        }
    };
    tracking.redirect = options.redirect;
    tracking.broken_redir = false;
    tracking.bcast = options.bcast;
    tracking.optin = options.optin;
    tracking.optout = options.optout;
    tracking.noloop = options.noloop;
    if options.bcast {
        let mut prefixes = options.prefixes;
        if prefixes.is_empty() {
            prefixes.push(Vec::new());
        }
        for prefix in prefixes {
            let bcast = state.prefixes.entry(prefix.clone()).or_default();
            if !bcast.clients.contains(&(id, key)) {
                bcast.clients.push((id, key));
                tracking.prefixes.push(prefix);
            }
        }
        tracking.prefixes.sort();
    }
    c.tracking = Some(tracking);
}

/// Turns tracking off for client `key` (CLIENT TRACKING off, RESET, the client closing):
/// its BCAST prefixes are left (Redis: `disableTracking`). The keys remembered for it stay
/// in the table until they change, as in Redis.
pub fn disable_tracking(
    state: &mut super::state::ServerState,
    client: Option<(usize, &mut super::client::Client)>,
) {
    let Some((key, c)) = client else {
        return;
    };
    let Some(tracking) = c.tracking.take() else {
        return;
    };
    let tracking_state = &mut state.tracking;
    for prefix in &tracking.prefixes {
        if let Some(bcast) = tracking_state.prefixes.get_mut(prefix) {
            bcast.clients.retain(|&(id, k)| !(id == c.id && k == key));
            if bcast.clients.is_empty() {
                tracking_state.prefixes.remove(prefix);
            }
        }
    }
    tracking_state.clients -= 1;
}

/// CLIENT CACHING YES|NO — OK; YES (OPTIN mode) or NO (OPTOUT mode) for the next command.
pub(crate) fn client_caching_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    let Some(tracking) = ctx.me().tracking.as_deref_mut() else {
        return Err(CommandError::Err(
            "CLIENT CACHING can be called only when the client is in tracking mode with OPTIN or OPTOUT mode enabled",
        ));
    };
    if args::is(argv[2], "yes") {
        if !tracking.optin {
            return Err(CommandError::Err(
                "CLIENT CACHING YES is only valid when tracking is enabled in OPTIN mode.",
            ));
        }
    } else if args::is(argv[2], "no") {
        if !tracking.optout {
            return Err(CommandError::Err(
                "CLIENT CACHING NO is only valid when tracking is enabled in OPTOUT mode.",
            ));
        }
    } else {
        return Err(CommandError::Syntax);
    }
    tracking.caching = true;
    ctx.out.ok();
    Ok(())
}

/// CLIENT GETREDIR — the redirect target's id, 0 when not redirecting, -1 when not tracking.
pub(crate) fn client_getredir_command(ctx: &mut Ctx, _argv: &[&[u8]]) -> CommandResult {
    let redirect = ctx.me().tracking.as_ref().map_or(-1, |t| t.redirect as i64);
    ctx.out.integer(redirect);
    Ok(())
}

/// CLIENT TRACKINGINFO — `flags` (a set), `redirect` and `prefixes` (Redis: the
/// `trackinginfo` branch of `clientCommand`).
pub(crate) fn client_trackinginfo_command(ctx: &mut Ctx, _argv: &[&[u8]]) -> CommandResult {
    let tracking = ctx.me().tracking.clone();
    let mut flags: Vec<&str> = Vec::new();
    match &tracking {
        None => flags.push("off"),
        Some(t) => {
            flags.push("on");
            for (on, name) in [
                (t.bcast, "bcast"),
                (t.optin, "optin"),
                (t.optout, "optout"),
                (t.caching && t.optin, "caching-yes"),
                (t.caching && t.optout, "caching-no"),
                (t.noloop, "noloop"),
                (t.broken_redir, "broken_redirect"),
            ] {
                if on {
                    flags.push(name);
                }
            }
        }
    }
    ctx.out.map_len(3);
    ctx.out.bulk(b"flags");
    ctx.out.set_len(flags.len());
    for f in flags {
        ctx.out.bulk_str(f);
    }
    ctx.out.bulk(b"redirect");
    ctx.out
        .integer(tracking.as_ref().map_or(-1, |t| t.redirect as i64));
    ctx.out.bulk(b"prefixes");
    let prefixes = tracking.map(|t| t.prefixes).unwrap_or_default();
    ctx.out.array_len(prefixes.len());
    for p in prefixes {
        ctx.out.bulk(&p);
    }
    Ok(())
}

/// After a read-only command of a tracking client (not in BCAST mode): remember that it may
/// cache the keys the command read (Redis: `trackingRememberKeys`).
pub fn remember_keys(ctx: &mut Ctx, spec: &CommandSpec, argv: &[&[u8]]) {
    let keys: Vec<&[u8]> = spec
        .get_keys(argv)
        .iter()
        .filter_map(|k| argv.get(k.pos).copied())
        .collect();
    remember(ctx, &keys);
}

/// A script run by a tracking client called a read-only command: the keys the script
/// declared are remembered, not the ones the command read (Redis: `trackingRememberKeys` on
/// the script's caller, whose arguments are the EVAL's).
pub fn remember_script_keys(ctx: &mut Ctx) {
    let keys = std::mem::take(&mut ctx.srv.tracking.script_keys);
    let refs: Vec<&[u8]> = keys.iter().map(|k| k.as_slice()).collect();
    remember(ctx, &refs);
    ctx.srv.tracking.script_keys = keys;
}

/// EVAL / FCALL is about to run a script with these declared keys.
pub fn begin_script(ctx: &mut Ctx, keys: &[&[u8]]) {
    let tracks = ctx
        .clients
        .get(ctx.id)
        .is_some_and(|c| c.tracking.as_ref().is_some_and(|t| !t.bcast));
    let script_keys = &mut ctx.srv.tracking.script_keys;
    script_keys.clear();
    if tracks {
        script_keys.extend(keys.iter().map(|k| k.to_vec()));
    }
}

fn remember(ctx: &mut Ctx, keys: &[&[u8]]) {
    let key = ctx.id;
    let Some(c) = ctx.clients.get(key) else {
        return;
    };
    let Some(t) = c.tracking.as_deref() else {
        return;
    };
    if t.bcast || (t.optin && !t.caching) || (t.optout && t.caching) {
        return;
    }
    let id = c.id;
    let state = &mut ctx.srv.tracking;
    for &name in keys {
        let clients = state.table.entry_ref(name).or_default();
        if !clients.contains(&(id, key)) {
            clients.push((id, key));
            state.total_items += 1;
        }
    }
}

/// After each command: CLIENT CACHING applies to the next command only (kept inside MULTI
/// and across CLIENT commands, as Redis's `resetClient`).
pub fn reset_caching_flag(ctx: &mut Ctx, argv: &[&[u8]]) {
    if let Some(c) = ctx.clients.get_mut(ctx.id) {
        if let Some(t) = c.tracking.as_deref_mut() {
            if t.caching && !c.multi.active && !argv.first().is_some_and(|a| args::is(a, "client"))
            {
                t.caching = false;
            }
        }
    }
}

/// `key` changed (or expired, or was evicted): invalidate it for every client that may cache
/// it, and note it for the BCAST prefixes it falls under when `bcast`; `by_caller` when the
/// running client changed it (Redis: `trackingInvalidateKey`).
pub fn invalidate_key(ctx: &mut Ctx, key: &[u8], bcast: bool, by_caller: bool) {
    let state = &mut ctx.srv.tracking;
    if bcast && !state.prefixes.is_empty() {
        // Expiry and eviction are nobody's change (NOLOOP does not hide them).
        let modifier = match by_caller {
            true => ctx.clients.get(ctx.id).map_or(0, |c| c.id),
            false => 0,
        };
        for (prefix, b) in state.prefixes.iter_mut() {
            if key.starts_with(prefix) {
                b.keys.insert(key.to_vec(), modifier);
            }
        }
    }
    let Some(clients) = state.table.remove(key) else {
        return;
    };
    state.total_items -= clients.len();
    for (id, target) in clients {
        let Some(c) = ctx.clients.get(target).filter(|c| c.id == id) else {
            continue;
        };
        let Some(t) = c.tracking.as_deref() else {
            continue;
        };
        if t.bcast || (t.noloop && target == ctx.id) {
            continue;
        }
        if target == ctx.id && ctx.srv.tracking.executing > 0 {
            // After the running command's reply, not in the middle of it.
            ctx.srv.tracking.pending.push((target, Some(key.to_vec())));
        } else {
            send_tracking_message(ctx, target, Payload::Keys(&[key]));
        }
    }
}

/// FLUSHALL / FLUSHDB: every tracking client is told to drop everything (a null
/// invalidation) and the table is emptied (Redis: `trackingInvalidateKeysOnFlush`).
pub fn invalidate_keys_on_flush(ctx: &mut Ctx) {
    if ctx.srv.tracking.clients > 0 {
        let targets: Vec<usize> = ctx
            .clients
            .iter()
            .filter(|(_, c)| c.tracking.is_some())
            .map(|(k, _)| k)
            .collect();
        for target in targets {
            if target == ctx.id && ctx.srv.tracking.executing > 0 {
                ctx.srv.tracking.pending.push((target, None));
            } else {
                send_tracking_message(ctx, target, Payload::Flush);
            }
        }
    }
    ctx.srv.tracking.table = HashMap::new();
    ctx.srv.tracking.total_items = 0;
}

/// Sends the invalidations held back while the caller's command ran (Redis:
/// `trackingHandlePendingKeyInvalidations`).
pub fn handle_pending_key_invalidations(ctx: &mut Ctx) {
    if ctx.srv.tracking.pending.is_empty() {
        return;
    }
    for (target, key) in std::mem::take(&mut ctx.srv.tracking.pending) {
        match key {
            Some(key) => send_tracking_message(ctx, target, Payload::Keys(&[&key])),
            None => send_tracking_message(ctx, target, Payload::Flush),
        }
    }
}

/// Sends the keys collected under each BCAST prefix to its clients; run by `before_sleep`
/// (Redis: `trackingBroadcastInvalidationMessages`).
pub fn broadcast_invalidation_messages(ctx: &mut Ctx) {
    if ctx
        .srv
        .tracking
        .prefixes
        .values()
        .all(|b| b.keys.is_empty())
    {
        return;
    }
    let mut batches: Vec<(usize, Vec<Vec<u8>>)> = Vec::new();
    for b in ctx.srv.tracking.prefixes.values_mut() {
        if b.keys.is_empty() {
            continue;
        }
        let keys = std::mem::take(&mut b.keys);
        for &(id, target) in &b.clients {
            let noloop = ctx
                .clients
                .get(target)
                .and_then(|c| c.tracking.as_deref())
                .is_some_and(|t| t.noloop);
            let list: Vec<Vec<u8>> = keys
                .iter()
                .filter(|(_, &modifier)| !(noloop && modifier == id))
                .map(|(k, _)| k.clone())
                .collect();
            if !list.is_empty() {
                batches.push((target, list));
            }
        }
    }
    for (target, keys) in batches {
        let keys: Vec<&[u8]> = keys.iter().map(|k| k.as_slice()).collect();
        send_tracking_message(ctx, target, Payload::Keys(&keys));
    }
}

/// Keeps the table within `tracking-table-max-keys` by invalidating keys (their clients are
/// told), with more effort each cron run the table stays over (Redis:
/// `trackingLimitUsedSlots`).
pub fn limit_used_slots(ctx: &mut Ctx) {
    let max = ctx.srv.config.tracking_table_max_keys as usize;
    let state = &mut ctx.srv.tracking;
    if max == 0 || state.table.len() <= max {
        state.limit_timeouts = 0;
        return;
    }
    let effort = 100 * (state.limit_timeouts + 1);
    let victims: Vec<Vec<u8>> = state.table.keys().take(effort).cloned().collect();
    for key in victims {
        invalidate_key(ctx, &key, false, false);
        if ctx.srv.tracking.table.len() <= max {
            ctx.srv.tracking.limit_timeouts = 0;
            return;
        }
    }
    ctx.srv.tracking.limit_timeouts += 1;
}

/// What an invalidation message carries.
enum Payload<'a> {
    Keys(&'a [&'a [u8]]),
    /// Everything (FLUSHALL / FLUSHDB): a null.
    Flush,
}

/// Delivers an invalidation for tracking client `target` (Redis: `sendTrackingMessage`).
fn send_tracking_message(ctx: &mut Ctx, target: usize, payload: Payload) {
    let Some(c) = ctx.clients.get_mut(target) else {
        return;
    };
    let Some(t) = c.tracking.as_deref_mut() else {
        return;
    };
    let mut dest = target;
    let mut redirected = false;
    if t.redirect != 0 {
        let redirect = t.redirect;
        match ctx.clients.iter().find(|(_, c)| c.id == redirect) {
            Some((k, _)) => {
                dest = k;
                redirected = true;
            }
            None => {
                if let Some(t) = ctx.clients[target].tracking.as_deref_mut() {
                    t.broken_redir = true;
                }
                if let Some(out) = ctx.reply_to(target).filter(|o| o.is_resp3()) {
                    out.push_len(2);
                    out.bulk(b"tracking-redir-broken");
                    out.integer(redirect as i64);
                }
                return;
            }
        }
    }
    let subscribed = ctx
        .clients
        .get(dest)
        .is_some_and(|c| c.subscriptions.count() > 0);
    let Some(out) = ctx.reply_to(dest) else {
        return;
    };
    if out.is_resp3() {
        out.push_len(2);
        out.bulk(b"invalidate");
    } else if redirected && subscribed {
        out.array_len(3);
        out.bulk(b"message");
        out.bulk(b"__redis__:invalidate");
    } else {
        // RESP2 without a subscribed redirect target: nowhere to send it.
        return;
    }
    match payload {
        Payload::Keys(keys) => {
            out.array_len(keys.len());
            for k in keys {
                out.bulk(k);
            }
        }
        Payload::Flush => out.null(),
    }
}
