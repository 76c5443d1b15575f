//! Keyspace notifications (Redis: `notify.c`).
//!
//! Write commands call `command::notify(ctx, class, event, key)`; if `notify-keyspace-events`
//! enables the class, the event is published on `__keyspace@<db>__:<key>` (message: the event
//! name) and/or `__keyevent@<db>__:<event>` (message: the key), through Pub/Sub's
//! [`publish_message`](pubsub::publish_message). The hook runs on every write, so its disabled
//! path is one string-length test.
//!
//! The class bits and their letters are in `util::notify_flags`, below the configuration that
//! parses the directive.

use super::{pubsub, Ctx};
pub use crate::util::notify_flags::*;
use crate::util::{write_i64, I64_BUF};

/// `notify-keyspace-events` parsed into class bits, re-parsed only when the configured string
/// changes (CONFIG SET), so the per-write check is a comparison, not a parse.
#[derive(Default)]
pub struct NotifyFlagsCache {
    source: String,
    flags: u32,
}

impl NotifyFlagsCache {
    fn flags_for(&mut self, config: &str) -> u32 {
        if self.source != config {
            self.flags = parse_notify_flags(config).unwrap_or(0);
            self.source = config.to_string();
        }
        self.flags
    }
}

/// Publishes a keyspace event if `notify-keyspace-events` enables its class
/// (Redis: `notifyKeyspaceEvent`). Costs one string-length test when notifications are off.
pub fn notify_keyspace_event(ctx: &mut Ctx, class: u32, event: &str, key: &[u8], db: usize) {
    let srv = &mut *ctx.srv;
    if srv.config.notify_keyspace_events.is_empty() {
        return;
    }
    let flags = srv
        .pubsub
        .notify
        .flags_for(&srv.config.notify_keyspace_events);
    if flags & class == 0 {
        return;
    }
    // Nobody could hear it (keyspace events never go to shard channels).
    if !srv.pubsub.has_channel_listeners() {
        return;
    }
    let mut digits = [0u8; I64_BUF];
    let db = write_i64(db as i64, &mut digits);
    if flags & NOTIFY_KEYSPACE != 0 {
        let mut channel = Vec::with_capacity(16 + key.len());
        channel.extend_from_slice(b"__keyspace@");
        channel.extend_from_slice(db);
        channel.extend_from_slice(b"__:");
        channel.extend_from_slice(key);
        pubsub::publish_message(ctx, &channel, event.as_bytes(), false);
    }
    if flags & NOTIFY_KEYEVENT != 0 {
        let mut channel = Vec::with_capacity(16 + event.len());
        channel.extend_from_slice(b"__keyevent@");
        channel.extend_from_slice(db);
        channel.extend_from_slice(b"__:");
        channel.extend_from_slice(event.as_bytes());
        pubsub::publish_message(ctx, &channel, key, false);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_notify_cache_reparses_only_when_the_setting_changes() {
        let mut cache = NotifyFlagsCache::default();
        assert_eq!(cache.flags_for("Kg"), NOTIFY_KEYSPACE | NOTIFY_GENERIC);
        assert_eq!(cache.flags_for("Kg"), NOTIFY_KEYSPACE | NOTIFY_GENERIC);
        assert_eq!(cache.flags_for("E$"), NOTIFY_KEYEVENT | NOTIFY_STRING);
    }
}
