//! Pub/Sub (Redis: `pubsub.c`).
//!
//! # Who hears a message
//!
//! Three registries live in [`PubsubState`], each mapping a name to the slab keys of the
//! clients that listen, **in subscription order** (so every subscriber sees messages in one
//! deterministic order, and the first subscriber is served first):
//!
//! ```text
//!   channels        "news"   -> [c3, c7]          SUBSCRIBE / PUBLISH
//!   patterns        "n*"     -> [c7]              PSUBSCRIBE (matched with glob_match)
//!   shard_channels  "orders" -> [c2]              SSUBSCRIBE / SPUBLISH (no patterns)
//! ```
//!
//! Each client also keeps its own side of the relation in a [`SubscriberState`], so that
//! `UNSUBSCRIBE` with no arguments and client teardown ([`forget_client`]) know what to undo.
//!
//! `PUBLISH ch msg` first delivers a `message` to every subscriber of `ch`, then walks every
//! pattern (in the order patterns were first subscribed) and delivers a `pmessage` to the
//! subscribers of each matching pattern — a client subscribed to the channel *and* to two
//! matching patterns gets three copies, as in Redis. The reply counts deliveries.
//!
//! # Delivery is just appending
//!
//! Nothing is written to a socket here: a message is appended to the receiver's reply buffer
//! and the receiver is queued for `before_sleep`, like any other reply. A subscriber that stops
//! reading therefore grows its buffer; `client-output-buffer-limit` (class `pubsub` for any
//! client with a subscription) bounds it. The limit is checked on every append to another
//! client's buffer, so a publisher pipelining a flood cannot grow a stalled subscriber past the
//! hard limit within one loop turn (`client::output_limit_reached`, also checked by the loop).
//!
//! # Subscriber mode
//!
//! A RESP2 connection with any subscription may only run (P|S)SUBSCRIBE, (P|S)UNSUBSCRIBE,
//! PING, QUIT and RESET: its replies and the messages share one stream with no way to tell them
//! apart. RESP3 connections receive messages as out-of-band push frames (`>`) and may run
//! anything.
//!
//! Keyspace notifications, which publish through [`publish_message`], are in `notify.rs`.

use super::client::{Client, OutputLimit};
use super::error::{CommandError, CommandResult};
use super::keyspec::{key_flags::*, KeySpec};
use super::state::{ServerState, Stats};
use super::table::{flags::*, CommandSpec};
use super::{Ctx, NO_CLIENT};
use crate::db::Ms;
use crate::resp::reply::ReplyBuffer;
use crate::util::glob_match;
use hashbrown::HashMap;
use slab::Slab;

pub const COMMANDS: &[CommandSpec] = &[
    CommandSpec::new(
        "subscribe",
        subscribe_command,
        -2,
        PUBSUB | NOSCRIPT | LOADING | STALE,
        "pubsub",
    )
    .acl(&[])
    .doc(
        "Listen for messages published to the given channels",
        "2.0.0",
    ),
    CommandSpec::new(
        "unsubscribe",
        unsubscribe_command,
        -1,
        PUBSUB | NOSCRIPT | LOADING | STALE,
        "pubsub",
    )
    .acl(&[])
    .doc(
        "Stop listening for messages posted to the given channels",
        "2.0.0",
    ),
    CommandSpec::new(
        "psubscribe",
        psubscribe_command,
        -2,
        PUBSUB | NOSCRIPT | LOADING | STALE,
        "pubsub",
    )
    .acl(&[])
    .doc(
        "Listen for messages published to channels matching the given patterns",
        "2.0.0",
    ),
    CommandSpec::new(
        "punsubscribe",
        punsubscribe_command,
        -1,
        PUBSUB | NOSCRIPT | LOADING | STALE,
        "pubsub",
    )
    .acl(&[])
    .doc(
        "Stop listening for messages posted to channels matching the given patterns",
        "2.0.0",
    ),
    CommandSpec::new(
        "publish",
        publish_command,
        3,
        PUBSUB | LOADING | STALE | FAST | MAY_REPLICATE,
        "pubsub",
    )
    .acl(&[])
    .doc("Post a message to a channel", "2.0.0"),
    CommandSpec::new("pubsub", pubsub_container, -2, 0, "pubsub")
        .doc("A container for Pub/Sub commands", "2.8.0")
        .subs(PUBSUB_SUBCOMMANDS),
    CommandSpec::new(
        "ssubscribe",
        ssubscribe_command,
        -2,
        PUBSUB | NOSCRIPT | LOADING | STALE,
        "pubsub",
    )
    .key_specs(&[KeySpec::at(1, NOT_KEY).range(-1, 1, 0)])
    .acl(&[])
    .doc(
        "Listen for messages published to the given shard channels",
        "7.0.0",
    ),
    CommandSpec::new(
        "sunsubscribe",
        sunsubscribe_command,
        -1,
        PUBSUB | NOSCRIPT | LOADING | STALE,
        "pubsub",
    )
    .key_specs(&[KeySpec::at(1, NOT_KEY).range(-1, 1, 0)])
    .acl(&[])
    .doc(
        "Stop listening for messages posted to the given shard channels",
        "7.0.0",
    ),
    CommandSpec::new(
        "spublish",
        spublish_command,
        3,
        PUBSUB | LOADING | STALE | FAST | MAY_REPLICATE,
        "pubsub",
    )
    .key_specs(&[KeySpec::at(1, NOT_KEY)])
    .acl(&[])
    .doc("Post a message to a shard channel", "7.0.0"),
];

const PUBSUB_SUBCOMMANDS: &[CommandSpec] = &[
    CommandSpec::new(
        "pubsub|channels",
        pubsub_channels_command,
        -2,
        PUBSUB | LOADING | STALE,
        "pubsub",
    )
    .acl(&[])
    .doc("List active channels", "2.8.0"),
    CommandSpec::new(
        "pubsub|numpat",
        pubsub_numpat_command,
        2,
        PUBSUB | LOADING | STALE,
        "pubsub",
    )
    .acl(&[])
    .doc(
        "Get the count of unique patterns pattern subscriptions",
        "2.8.0",
    ),
    CommandSpec::new(
        "pubsub|numsub",
        pubsub_numsub_command,
        -2,
        PUBSUB | LOADING | STALE,
        "pubsub",
    )
    .acl(&[])
    .doc("Get the count of subscribers for channels", "2.8.0"),
    CommandSpec::new(
        "pubsub|shardchannels",
        pubsub_shardchannels_command,
        -2,
        PUBSUB | LOADING | STALE,
        "pubsub",
    )
    .acl(&[])
    .doc("List active shard channels", "7.0.0"),
    CommandSpec::new(
        "pubsub|shardnumsub",
        pubsub_shardnumsub_command,
        -2,
        PUBSUB | LOADING | STALE,
        "pubsub",
    )
    .acl(&[])
    .doc("Get the count of subscribers for shard channels", "7.0.0"),
    CommandSpec::new(
        "pubsub|help",
        pubsub_help_command,
        2,
        LOADING | STALE,
        "pubsub",
    )
    .acl(&[])
    .doc("Show helpful text about the different subcommands", "6.2.0"),
];

/// Server-wide subscription registry (Redis: `server.pubsub_channels`, `pubsub_patterns`,
/// `pubsubshard_channels`). Values are client slab keys in subscription order.
#[derive(Default)]
pub struct PubsubState {
    channels: HashMap<Vec<u8>, Vec<usize>>,
    shard_channels: HashMap<Vec<u8>, Vec<usize>>,
    /// Pattern -> subscribers, in the order patterns were first subscribed. A list, not a map:
    /// every PUBLISH visits every pattern anyway, and the order keeps delivery deterministic.
    patterns: Vec<(Vec<u8>, Vec<usize>)>,
    /// Parsed `notify-keyspace-events`, kept with the registries it publishes to.
    pub(super) notify: super::notify::NotifyFlagsCache,
    /// Pushes written to the running command's own reply buffer: see [`keep_own_pushes`].
    own_pushes: Vec<OwnPush>,
}

/// A push (message or subscription confirmation) the running command wrote to its caller's
/// reply buffer: the buffer's address (to tell it from a script's scratch buffer) and the
/// byte range.
#[derive(Clone, Copy)]
struct OwnPush {
    buffer: usize,
    start: usize,
    end: usize,
}

impl OwnPush {
    fn new(out: &ReplyBuffer, start: usize) -> OwnPush {
        OwnPush {
            buffer: out as *const ReplyBuffer as usize,
            start,
            end: out.len(),
        }
    }
}

/// Called before each command from a client: no push recorded yet.
pub fn begin_command(state: &mut PubsubState) {
    state.own_pushes.clear();
}

/// CLIENT REPLY OFF / SKIP drops the reply of the command that just ran (everything in `out`
/// after `from`) but not the pub/sub pushes it produced for its own client — subscription
/// confirmations and messages it published to itself, in RESP2 and RESP3 alike (Redis sets
/// `CLIENT_PUSHING` around them, which `prepareClientToWrite` lets through).
pub fn keep_own_pushes(state: &mut PubsubState, out: &mut ReplyBuffer, from: usize) {
    let here = out as *const ReplyBuffer as usize;
    let mut kept = Vec::new();
    for push in state.own_pushes.drain(..) {
        let in_range = push.start >= from && push.start <= push.end && push.end <= out.len();
        if push.buffer == here && in_range {
            kept.extend_from_slice(&out.as_bytes()[push.start..push.end]);
        }
    }
    out.truncate(from);
    out.raw(&kept);
}

impl PubsubState {
    /// Does any client listen to a channel or pattern (keyspace events never go to shard
    /// channels)? When not, a keyspace event is not even formatted.
    pub(super) fn has_channel_listeners(&self) -> bool {
        !self.channels.is_empty() || !self.patterns.is_empty()
    }

    /// Channels with at least one subscriber (INFO stats `pubsub_channels`).
    pub fn channel_count(&self) -> usize {
        self.channels.len()
    }

    /// Distinct patterns subscribed to (INFO stats `pubsub_patterns`).
    pub fn pattern_count(&self) -> usize {
        self.patterns.len()
    }

    /// Shard channels with at least one subscriber (INFO stats `pubsubshard_channels`).
    pub fn shard_channel_count(&self) -> usize {
        self.shard_channels.len()
    }
}

/// A client's subscriptions: name -> the sequence number of its subscription, so that
/// "unsubscribe from everything" answers in subscription order.
#[derive(Default)]
pub struct SubscriberState {
    channels: HashMap<Vec<u8>, u64>,
    patterns: HashMap<Vec<u8>, u64>,
    shard_channels: HashMap<Vec<u8>, u64>,
    next_seq: u64,
    /// Bytes of the names subscribed (kept as they change: client eviction weighs every
    /// client on every command).
    name_bytes: usize,
}

impl SubscriberState {
    /// Channels + patterns + shard channels subscribed. Non-zero means the client is in
    /// subscriber mode (Redis's `CLIENT_PUBSUB` flag) and in the `pubsub` output-limit class.
    pub fn count(&self) -> usize {
        self.channels.len() + self.patterns.len() + self.shard_channels.len()
    }

    /// CLIENT LIST `sub=`.
    pub fn channel_count(&self) -> usize {
        self.channels.len()
    }

    /// Memory held by the subscriptions: the three tables and the names (client eviction and
    /// CLIENT LIST `tot-mem`; Redis: `pubsubMemOverhead`, which leaves out the names, shared
    /// there with the server's registry).
    pub fn mem_usage(&self) -> usize {
        // hashbrown: one entry and one control byte per bucket.
        let per_bucket = std::mem::size_of::<(Vec<u8>, u64)>() + 1;
        (self.channels.capacity() + self.patterns.capacity() + self.shard_channels.capacity())
            * per_bucket
            + self.name_bytes
    }

    /// The channels and shard channels subscribed (ACL checks of a changed user).
    pub fn channels(&self) -> impl Iterator<Item = &[u8]> {
        self.channels
            .keys()
            .chain(self.shard_channels.keys())
            .map(|c| c.as_slice())
    }

    /// The patterns subscribed.
    pub fn patterns(&self) -> impl Iterator<Item = &[u8]> {
        self.patterns.keys().map(|p| p.as_slice())
    }

    /// CLIENT LIST `psub=`.
    pub fn pattern_count(&self) -> usize {
        self.patterns.len()
    }

    /// CLIENT LIST `ssub=`.
    pub fn shard_channel_count(&self) -> usize {
        self.shard_channels.len()
    }

    fn set(&self, kind: Kind) -> &HashMap<Vec<u8>, u64> {
        match kind {
            Kind::Channel => &self.channels,
            Kind::Pattern => &self.patterns,
            Kind::Shard => &self.shard_channels,
        }
    }

    fn set_mut(&mut self, kind: Kind) -> &mut HashMap<Vec<u8>, u64> {
        match kind {
            Kind::Channel => &mut self.channels,
            Kind::Pattern => &mut self.patterns,
            Kind::Shard => &mut self.shard_channels,
        }
    }

    /// Names of one kind of subscription, oldest first.
    fn names_in_order(&self, kind: Kind) -> Vec<Vec<u8>> {
        let set = self.set(kind);
        let mut names: Vec<(&Vec<u8>, u64)> = set.iter().map(|(n, &seq)| (n, seq)).collect();
        names.sort_unstable_by_key(|&(_, seq)| seq);
        names.into_iter().map(|(n, _)| n.clone()).collect()
    }
}

/// The three kinds of subscription (Redis: `pubsubtype`, plus patterns).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Channel,
    Pattern,
    Shard,
}

impl Kind {
    fn subscribe_word(self) -> &'static [u8] {
        match self {
            Kind::Channel => b"subscribe",
            Kind::Pattern => b"psubscribe",
            Kind::Shard => b"ssubscribe",
        }
    }

    fn unsubscribe_word(self) -> &'static [u8] {
        match self {
            Kind::Channel => b"unsubscribe",
            Kind::Pattern => b"punsubscribe",
            Kind::Shard => b"sunsubscribe",
        }
    }

    /// The count a (un)subscribe confirmation reports: channels and patterns are counted
    /// together, shard channels on their own (Redis: `type.subscriptionCount`).
    fn confirmation_count(self, s: &SubscriberState) -> usize {
        match self {
            Kind::Channel | Kind::Pattern => s.channels.len() + s.patterns.len(),
            Kind::Shard => s.shard_channels.len(),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Subscribing and unsubscribing
// ---------------------------------------------------------------------------------------------

/// Adds the caller to `name` (a channel, pattern or shard channel) unless already there, and
/// confirms with `[subscribe, name, count]` (a push frame in RESP3).
/// Redis: `pubsubSubscribeChannel`, `pubsubSubscribePattern`.
fn subscribe(ctx: &mut Ctx, name: &[u8], kind: Kind) {
    let me = ctx.id;
    let subs = &mut ctx.clients[me].subscriptions;
    if !subs.set(kind).contains_key(name) {
        let seq = subs.next_seq;
        subs.next_seq += 1;
        subs.set_mut(kind).insert(name.to_vec(), seq);
        subs.name_bytes += name.len();
        let registry = &mut ctx.srv.pubsub;
        match kind {
            Kind::Channel => registry.channels.entry_ref(name).or_default().push(me),
            Kind::Shard => registry
                .shard_channels
                .entry_ref(name)
                .or_default()
                .push(me),
            Kind::Pattern => match registry.patterns.iter_mut().find(|(p, _)| p == name) {
                Some((_, clients)) => clients.push(me),
                None => registry.patterns.push((name.to_vec(), vec![me])),
            },
        }
    }
    let count = kind.confirmation_count(&ctx.clients[me].subscriptions);
    confirm(ctx, kind.subscribe_word(), Some(name), count);
}

/// Writes a (un)subscription confirmation `[word, name or null, count]` to the caller, a push
/// frame in RESP3, and records it as a push (Redis: `addReplyPubsubSubscribed` & co.).
fn confirm(ctx: &mut Ctx, word: &[u8], name: Option<&[u8]>, count: usize) {
    let start = ctx.out.len();
    ctx.out.push_len(3);
    ctx.out.bulk(word);
    match name {
        Some(name) => ctx.out.bulk(name),
        None => ctx.out.null(),
    }
    ctx.out.integer(count as i64);
    let push = OwnPush::new(ctx.out, start);
    ctx.srv.pubsub.own_pushes.push(push);
}

/// Removes client `me` from the server-side registry of `name`.
fn unregister(state: &mut PubsubState, me: usize, name: &[u8], kind: Kind) {
    fn remove_from(clients: &mut Vec<usize>, me: usize) {
        if let Some(pos) = clients.iter().position(|&c| c == me) {
            clients.remove(pos);
        }
    }
    match kind {
        Kind::Channel | Kind::Shard => {
            let map = if kind == Kind::Channel {
                &mut state.channels
            } else {
                &mut state.shard_channels
            };
            if let Some(clients) = map.get_mut(name) {
                remove_from(clients, me);
                if clients.is_empty() {
                    map.remove(name);
                }
            }
        }
        Kind::Pattern => {
            if let Some(i) = state.patterns.iter().position(|(p, _)| p == name) {
                remove_from(&mut state.patterns[i].1, me);
                if state.patterns[i].1.is_empty() {
                    state.patterns.remove(i);
                }
            }
        }
    }
}

/// Removes the caller from `name`; with `notify`, confirms with `[unsubscribe, name, count]`
/// even if it was not subscribed, as Redis does. Redis: `pubsubUnsubscribeChannel`.
fn unsubscribe(ctx: &mut Ctx, name: &[u8], kind: Kind, notify: bool) {
    let me = ctx.id;
    let subs = &mut ctx.clients[me].subscriptions;
    if subs.set_mut(kind).remove(name).is_some() {
        subs.name_bytes -= name.len();
        unregister(&mut ctx.srv.pubsub, me, name, kind);
    }
    if notify {
        let count = kind.confirmation_count(&ctx.clients[me].subscriptions);
        confirm(ctx, kind.unsubscribe_word(), Some(name), count);
    }
}

/// Removes every subscription of one kind, oldest first. With nothing to remove and `notify`,
/// Redis still confirms, naming a null channel. Redis: `pubsubUnsubscribeAllChannels`.
fn unsubscribe_all(ctx: &mut Ctx, kind: Kind, notify: bool) {
    let names = ctx.clients[ctx.id].subscriptions.names_in_order(kind);
    if names.is_empty() && notify {
        let count = kind.confirmation_count(&ctx.clients[ctx.id].subscriptions);
        confirm(ctx, kind.unsubscribe_word(), None, count);
    }
    for name in names {
        unsubscribe(ctx, &name, kind, notify);
    }
}

/// SUBSCRIBE channel [channel ...] — one `[subscribe, channel, count]` per channel.
fn subscribe_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    for channel in &argv[1..] {
        subscribe(ctx, channel, Kind::Channel);
    }
    Ok(())
}

/// UNSUBSCRIBE [channel ...] — one `[unsubscribe, channel, count]` per channel (all channels
/// when none are named).
fn unsubscribe_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    if argv.len() == 1 {
        unsubscribe_all(ctx, Kind::Channel, true);
    }
    for channel in &argv[1..] {
        unsubscribe(ctx, channel, Kind::Channel, true);
    }
    Ok(())
}

/// PSUBSCRIBE pattern [pattern ...] — one `[psubscribe, pattern, count]` per pattern.
fn psubscribe_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    for pattern in &argv[1..] {
        subscribe(ctx, pattern, Kind::Pattern);
    }
    Ok(())
}

/// PUNSUBSCRIBE [pattern ...] — one `[punsubscribe, pattern, count]` per pattern.
fn punsubscribe_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    if argv.len() == 1 {
        unsubscribe_all(ctx, Kind::Pattern, true);
    }
    for pattern in &argv[1..] {
        unsubscribe(ctx, pattern, Kind::Pattern, true);
    }
    Ok(())
}

/// SSUBSCRIBE shardchannel [shardchannel ...] — one `[ssubscribe, channel, count]` each.
/// Refused inside EXEC, where Redis denies blocking-style commands.
fn ssubscribe_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    if super::multi::in_transaction_or_script(ctx) {
        return Err(CommandError::Err(
            "SSUBSCRIBE isn't allowed for a DENY BLOCKING client",
        ));
    }
    for channel in &argv[1..] {
        subscribe(ctx, channel, Kind::Shard);
    }
    Ok(())
}

/// SUNSUBSCRIBE [shardchannel ...] — one `[sunsubscribe, channel, count]` each.
fn sunsubscribe_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    if argv.len() == 1 {
        unsubscribe_all(ctx, Kind::Shard, true);
    }
    for channel in &argv[1..] {
        unsubscribe(ctx, channel, Kind::Shard, true);
    }
    Ok(())
}

/// Drops every subscription of the caller without replying (RESET). The client leaves
/// subscriber mode. Redis: part of `clearClientConnectionState`.
pub fn reset_client(ctx: &mut Ctx) {
    if ctx.id == NO_CLIENT || !ctx.clients.contains(ctx.id) {
        return;
    }
    unsubscribe_all(ctx, Kind::Channel, false);
    unsubscribe_all(ctx, Kind::Shard, false);
    unsubscribe_all(ctx, Kind::Pattern, false);
}

/// A client is being freed: drop its subscriptions from the registries.
pub fn forget_client(state: &mut ServerState, key: usize, client: &Client) {
    for kind in [Kind::Channel, Kind::Pattern, Kind::Shard] {
        for name in client.subscriptions.set(kind).keys() {
            unregister(&mut state.pubsub, key, name, kind);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Publishing
// ---------------------------------------------------------------------------------------------

/// What delivering a message needs from the Ctx, as disjoint borrows: the registries are read
/// while other clients' reply buffers are appended to.
struct Postman<'b> {
    clients: &'b mut Slab<Client>,
    pending_write: &'b mut Vec<usize>,
    out: &'b mut ReplyBuffer,
    me: usize,
    limits: &'b [OutputLimit],
    stats: &'b mut Stats,
    now: Ms,
    /// Pushes delivered to the caller itself (see [`keep_own_pushes`]).
    own_pushes: Vec<OwnPush>,
}

impl Postman<'_> {
    /// Appends one encoded message to `target`'s output: the caller's own buffer, or another
    /// client's (queued for writing). A client already condemned by its output limit gets
    /// nothing more; one that crosses the limit now is condemned (Redis:
    /// `closeClientOnOutputBufferLimitReached`).
    fn deliver(&mut self, target: usize, frame: &[u8]) {
        if target == self.me {
            let start = self.out.len();
            append_push(self.out, frame);
            self.own_pushes.push(OwnPush::new(self.out, start));
            return;
        }
        let Some(c) = self.clients.get_mut(target) else {
            return;
        };
        if c.close_asap {
            return;
        }
        if !c.pending_write {
            c.pending_write = true;
            self.pending_write.push(target);
        }
        append_push(&mut c.reply, frame);
        if c.output_limit_reached(self.limits, self.now) {
            c.close_for_output_limit(&mut self.stats.client_output_buffer_limit_disconnections);
        }
    }
}

/// Encodes a push message once, in its RESP2 form, so that a message for a thousand
/// subscribers is formatted once and copied a thousand times (Redis shares one object the
/// same way).
fn encode_push(parts: &[&[u8]]) -> Vec<u8> {
    let mut frame = ReplyBuffer::new();
    frame.push_len(parts.len());
    for part in parts {
        frame.bulk(part);
    }
    frame.as_bytes().to_vec()
}

/// Appends a frame from [`encode_push`]: RESP3 receivers get the `>` push marker in place of
/// the RESP2 array marker `*`; the rest of the bytes are identical.
fn append_push(out: &mut ReplyBuffer, frame: &[u8]) {
    match frame.split_first() {
        Some((_, rest)) if out.is_resp3() => {
            out.raw(b">");
            out.raw(rest);
        }
        _ => out.raw(frame),
    }
}

/// Delivers `message` to the subscribers of `channel` and, unless `shard`, of every matching
/// pattern. Returns the number of deliveries. Redis: `pubsubPublishMessage`.
pub fn publish_message(ctx: &mut Ctx, channel: &[u8], message: &[u8], shard: bool) -> usize {
    let Ctx {
        clients,
        srv,
        out,
        id,
        now,
        ..
    } = ctx;
    let state: &mut ServerState = srv;
    let mut postman = Postman {
        clients,
        pending_write: &mut state.clients_pending_write,
        out,
        me: *id,
        limits: &state.config.client_output_buffer_limit,
        stats: &mut state.stats,
        now: *now,
        own_pushes: Vec::new(),
    };
    let registry = &state.pubsub;
    let mut receivers = 0;
    let (channels, word): (_, &[u8]) = if shard {
        (&registry.shard_channels, b"smessage")
    } else {
        (&registry.channels, b"message")
    };
    if let Some(subscribers) = channels.get(channel) {
        let frame = encode_push(&[word, channel, message]);
        for &target in subscribers {
            postman.deliver(target, &frame);
            receivers += 1;
        }
    }
    let patterns: &[(Vec<u8>, Vec<usize>)] = if shard { &[] } else { &registry.patterns };
    for (pattern, subscribers) in patterns {
        if !glob_match(pattern, channel, false) {
            continue;
        }
        let frame = encode_push(&[b"pmessage", pattern, channel, message]);
        for &target in subscribers {
            postman.deliver(target, &frame);
            receivers += 1;
        }
    }
    let own = std::mem::take(&mut postman.own_pushes);
    state.pubsub.own_pushes.extend(own);
    receivers
}

/// PUBLISH channel message — the number of clients that received it.
fn publish_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    let receivers = publish_message(ctx, argv[1], argv[2], false);
    // Replicas deliver it to their own subscribers.
    super::propagate::force(ctx);
    ctx.out.integer(receivers as i64);
    Ok(())
}

/// SPUBLISH shardchannel message — the number of clients that received it.
fn spublish_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    let receivers = publish_message(ctx, argv[1], argv[2], true);
    super::propagate::force(ctx);
    ctx.out.integer(receivers as i64);
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// PUBSUB introspection
// ---------------------------------------------------------------------------------------------

/// The PUBSUB container row; never runs, because `execute` resolves a subcommand row first.
fn pubsub_container(_ctx: &mut Ctx, _argv: &[&[u8]]) -> CommandResult {
    Err(CommandError::Syntax)
}

/// Redis's `addReplySubcommandSyntaxError`, for subcommands whose arity row is looser than the
/// arguments they accept.
fn subcommand_syntax_error(sub: &[u8]) -> CommandError {
    CommandError::err(format!(
        "unknown subcommand or wrong number of arguments for '{}'. Try PUBSUB HELP.",
        String::from_utf8_lossy(&sub[..sub.len().min(128)])
    ))
}

/// The names of `map` matching the optional glob in `argv[2]`, as an array (hash order).
fn reply_channel_names(
    out: &mut ReplyBuffer,
    map: &HashMap<Vec<u8>, Vec<usize>>,
    argv: &[&[u8]],
) -> CommandResult {
    if argv.len() > 3 {
        return Err(subcommand_syntax_error(argv[1]));
    }
    let pattern = argv.get(2).copied();
    let at = out.deferred_len();
    let mut n = 0;
    for name in map.keys() {
        if pattern.is_none_or(|p| glob_match(p, name, false)) {
            out.bulk(name);
            n += 1;
        }
    }
    out.set_deferred_len(at, b'*', n);
    Ok(())
}

/// `[name, count, name, count, ...]` for the names in `argv[2..]`.
fn reply_subscriber_counts(
    out: &mut ReplyBuffer,
    map: &HashMap<Vec<u8>, Vec<usize>>,
    argv: &[&[u8]],
) {
    out.array_len((argv.len() - 2) * 2);
    for name in &argv[2..] {
        out.bulk(name);
        out.integer(map.get(*name).map_or(0, |c| c.len()) as i64);
    }
}

/// PUBSUB CHANNELS [pattern] — active channels (with at least one subscriber).
fn pubsub_channels_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    reply_channel_names(ctx.out, &ctx.srv.pubsub.channels, argv)
}

/// PUBSUB SHARDCHANNELS [pattern] — active shard channels.
fn pubsub_shardchannels_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    reply_channel_names(ctx.out, &ctx.srv.pubsub.shard_channels, argv)
}

/// PUBSUB NUMSUB [channel ...] — flat array of channel, subscriber count.
fn pubsub_numsub_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    reply_subscriber_counts(ctx.out, &ctx.srv.pubsub.channels, argv);
    Ok(())
}

/// PUBSUB SHARDNUMSUB [shardchannel ...] — flat array of channel, subscriber count.
fn pubsub_shardnumsub_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    reply_subscriber_counts(ctx.out, &ctx.srv.pubsub.shard_channels, argv);
    Ok(())
}

/// PUBSUB NUMPAT — the number of distinct patterns subscribed to (by anyone).
fn pubsub_numpat_command(ctx: &mut Ctx, _argv: &[&[u8]]) -> CommandResult {
    ctx.out.integer(ctx.srv.pubsub.patterns.len() as i64);
    Ok(())
}

const PUBSUB_HELP: &[&str] = &[
    "CHANNELS [<pattern>]",
    "    Return the currently active channels matching a <pattern> (default: '*').",
    "NUMPAT",
    "    Return number of subscriptions to patterns.",
    "NUMSUB [<channel> ...]",
    "    Return the number of subscribers for the specified channels, excluding",
    "    pattern subscriptions(default: no channels).",
    "SHARDCHANNELS [<pattern>]",
    "    Return the currently active shard level channels matching a <pattern> (default: '*').",
    "SHARDNUMSUB [<shardchannel> ...]",
    "    Return the number of subscribers for the specified shard level channel(s)",
];

/// PUBSUB HELP — the help text, one status line per element.
fn pubsub_help_command(ctx: &mut Ctx, _argv: &[&[u8]]) -> CommandResult {
    ctx.out.help("PUBSUB", PUBSUB_HELP);
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Hooks called by the dispatcher, the loop and other commands
// ---------------------------------------------------------------------------------------------

/// Commands a RESP2 client in subscriber mode may still run.
const ALLOWED_IN_SUBSCRIBER_MODE: &[&str] = &[
    "ping",
    "subscribe",
    "ssubscribe",
    "unsubscribe",
    "sunsubscribe",
    "psubscribe",
    "punsubscribe",
    "quit",
    "reset",
];

/// Refuses commands a RESP2 client may not run while subscribed (Redis: in `processCommand`).
pub fn check_subscriber_context(
    ctx: &mut Ctx,
    spec: &CommandSpec,
    _argv: &[&[u8]],
) -> Result<(), CommandError> {
    let Some(c) = ctx.clients.get(ctx.id) else {
        return Ok(());
    };
    if c.subscriptions.count() == 0 || ctx.out.is_resp3() {
        return Ok(());
    }
    if ALLOWED_IN_SUBSCRIBER_MODE.contains(&spec.name) {
        return Ok(());
    }
    Err(CommandError::Custom(format!(
        "ERR Can't execute '{}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context",
        spec.name
    )))
}

/// PING's subscriber-mode form: a RESP2 subscriber gets `[pong, <message or "">]`, which a
/// client reading messages can tell apart from a status reply. Returns false (nothing written)
/// when the normal PING reply applies.
pub fn subscriber_ping(ctx: &mut Ctx, argv: &[&[u8]]) -> bool {
    let subscribed = ctx
        .clients
        .get(ctx.id)
        .is_some_and(|c| c.subscriptions.count() > 0);
    if !subscribed || ctx.out.is_resp3() {
        return false;
    }
    ctx.out.array_len(2);
    ctx.out.bulk(b"pong");
    ctx.out.bulk(argv.get(1).copied().unwrap_or(b""));
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_encoded_message_serves_resp2_and_resp3_receivers() {
        let frame = encode_push(&[b"message", b"ch", b"hi"]);
        let mut resp2 = ReplyBuffer::new();
        let mut resp3 = ReplyBuffer::new();
        resp3.set_resp3(true);
        append_push(&mut resp2, &frame);
        append_push(&mut resp3, &frame);
        assert_eq!(
            resp2.as_bytes(),
            b"*3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$2\r\nhi\r\n"
        );
        assert_eq!(
            resp3.as_bytes(),
            b">3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$2\r\nhi\r\n"
        );
    }

    #[test]
    fn unsubscribe_all_goes_in_subscription_order() {
        let mut s = SubscriberState::default();
        for (i, name) in [b"b".as_slice(), b"a", b"c"].iter().enumerate() {
            s.channels.insert(name.to_vec(), i as u64);
        }
        assert_eq!(
            s.names_in_order(Kind::Channel),
            vec![b"b".to_vec(), b"a".to_vec(), b"c".to_vec()]
        );
    }

    #[test]
    fn unregistering_the_last_subscriber_forgets_the_name() {
        let mut state = PubsubState::default();
        state.channels.insert(b"ch".to_vec(), vec![3, 5]);
        state.patterns.push((b"p*".to_vec(), vec![5]));
        unregister(&mut state, 5, b"ch", Kind::Channel);
        assert_eq!(state.channels.get(b"ch".as_slice()), Some(&vec![3]));
        unregister(&mut state, 3, b"ch", Kind::Channel);
        assert!(state.channels.is_empty());
        unregister(&mut state, 5, b"p*", Kind::Pattern);
        assert!(state.patterns.is_empty());
    }
}
