//! Pub/Sub and keyspace notifications (Redis: `pubsub.c`, `notify.c`).
//!
//! (Skeleton: the Pub/Sub work fills this in. The dispatcher and the loop already call these.)

use super::error::CommandError;
use super::table::CommandSpec;
use super::Ctx;
use crate::server::client::Client;
use crate::server::ServerState;

pub const COMMANDS: &[CommandSpec] = &[];

/// Keyspace event classes (Redis: `NOTIFY_*`).
pub const NOTIFY_KEYSPACE: u32 = 1 << 0;
pub const NOTIFY_KEYEVENT: u32 = 1 << 1;
pub const NOTIFY_GENERIC: u32 = 1 << 2;
pub const NOTIFY_STRING: u32 = 1 << 3;
pub const NOTIFY_LIST: u32 = 1 << 4;
pub const NOTIFY_SET: u32 = 1 << 5;
pub const NOTIFY_HASH: u32 = 1 << 6;
pub const NOTIFY_ZSET: u32 = 1 << 7;
pub const NOTIFY_EXPIRED: u32 = 1 << 8;
pub const NOTIFY_EVICTED: u32 = 1 << 9;
pub const NOTIFY_STREAM: u32 = 1 << 10;
pub const NOTIFY_KEY_MISS: u32 = 1 << 11;
pub const NOTIFY_NEW: u32 = 1 << 12;
pub const NOTIFY_ALL: u32 = NOTIFY_GENERIC
    | NOTIFY_STRING
    | NOTIFY_LIST
    | NOTIFY_SET
    | NOTIFY_HASH
    | NOTIFY_ZSET
    | NOTIFY_EXPIRED
    | NOTIFY_EVICTED
    | NOTIFY_STREAM;

/// Server-wide subscription registry.
#[derive(Default)]
pub struct PubsubState {}

/// A client's subscriptions.
#[derive(Default)]
pub struct SubscriberState {}

impl SubscriberState {
    /// Channels + patterns + shard channels subscribed.
    pub fn count(&self) -> usize {
        0
    }
}

/// Parses `notify-keyspace-events` letters into class bits (None on an unknown letter).
pub fn parse_notify_flags(s: &str) -> Option<u32> {
    let mut flags = 0;
    for c in s.chars() {
        flags |= match c {
            'A' => NOTIFY_ALL,
            'g' => NOTIFY_GENERIC,
            '$' => NOTIFY_STRING,
            'l' => NOTIFY_LIST,
            's' => NOTIFY_SET,
            'h' => NOTIFY_HASH,
            'z' => NOTIFY_ZSET,
            'x' => NOTIFY_EXPIRED,
            'e' => NOTIFY_EVICTED,
            'K' => NOTIFY_KEYSPACE,
            'E' => NOTIFY_KEYEVENT,
            't' => NOTIFY_STREAM,
            'm' => NOTIFY_KEY_MISS,
            'n' => NOTIFY_NEW,
            _ => return None,
        };
    }
    Some(flags)
}

/// Formats class bits back into letters, as CONFIG GET shows them.
pub fn format_notify_flags(flags: u32) -> String {
    let mut s = String::new();
    if flags & NOTIFY_ALL == NOTIFY_ALL {
        s.push('A');
    } else {
        for (bit, c) in [
            (NOTIFY_GENERIC, 'g'),
            (NOTIFY_STRING, '$'),
            (NOTIFY_LIST, 'l'),
            (NOTIFY_SET, 's'),
            (NOTIFY_HASH, 'h'),
            (NOTIFY_ZSET, 'z'),
            (NOTIFY_EXPIRED, 'x'),
            (NOTIFY_EVICTED, 'e'),
            (NOTIFY_STREAM, 't'),
        ] {
            if flags & bit != 0 {
                s.push(c);
            }
        }
    }
    for (bit, c) in [
        (NOTIFY_KEYSPACE, 'K'),
        (NOTIFY_KEYEVENT, 'E'),
        (NOTIFY_KEY_MISS, 'm'),
        (NOTIFY_NEW, 'n'),
    ] {
        if flags & bit != 0 {
            s.push(c);
        }
    }
    s
}

/// Refuses commands a RESP2 client may not run while subscribed.
pub fn check_subscriber_context(
    _ctx: &mut Ctx,
    _spec: &CommandSpec,
    _argv: &[&[u8]],
) -> Result<(), CommandError> {
    Ok(())
}

/// Publishes a keyspace event if `notify-keyspace-events` enables its class.
pub fn notify_keyspace_event(_ctx: &mut Ctx, _class: u32, _event: &str, _key: &[u8], _db: usize) {}

/// A client is being freed: drop its subscriptions.
pub fn forget_client(_state: &mut ServerState, _key: usize, _client: &Client) {}

/// Has the client's pending output passed its class's hard limit, or its soft limit for longer
/// than allowed? (Redis: `checkClientOutputBufferLimits`.)
pub fn output_limit_exceeded(_state: &mut ServerState, _client: &mut Client, _now: i64) -> bool {
    false
}
