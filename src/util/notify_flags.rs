//! Keyspace-event classes and the letters of `notify-keyspace-events` (Redis: `notify.c`,
//! `keyspaceEventsStringToFlags` / `keyspaceEventsFlagsToString`).
//!
//! A leaf module: the configuration parses and prints the directive with it, and the command
//! layer (`command::notify`) tests the bits on every write.

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
/// Module key-type events ('d'); accepted and shown like Redis, though nothing emits them.
pub const NOTIFY_MODULE: u32 = 1 << 13;
pub const NOTIFY_ALL: u32 = NOTIFY_GENERIC
    | NOTIFY_STRING
    | NOTIFY_LIST
    | NOTIFY_SET
    | NOTIFY_HASH
    | NOTIFY_ZSET
    | NOTIFY_EXPIRED
    | NOTIFY_EVICTED
    | NOTIFY_STREAM
    | NOTIFY_MODULE;

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
            'd' => NOTIFY_MODULE,
            _ => return None,
        };
    }
    Some(flags)
}

/// Formats class bits back into letters, as CONFIG GET shows them. Redis 7.0 prints `n` among
/// the class letters, so `A` hides it (`AnK` reads back as `AK`); we print what it prints.
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
            (NOTIFY_MODULE, 'd'),
            (NOTIFY_NEW, 'n'),
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
    ] {
        if flags & bit != 0 {
            s.push(c);
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notify_flags_round_trip_through_their_letters() {
        let flags = parse_notify_flags("KEA").unwrap();
        assert_eq!(flags, NOTIFY_KEYSPACE | NOTIFY_KEYEVENT | NOTIFY_ALL);
        assert_eq!(format_notify_flags(flags), "AKE");
        assert_eq!(
            format_notify_flags(parse_notify_flags("Eg$").unwrap()),
            "g$E"
        );
        assert_eq!(parse_notify_flags("Q"), None);
        // As CONFIG GET on Redis 7.0.15 shows them.
        for (set, get) in [
            ("g$lshzxet", "g$lshzxet"),
            ("g$lshzxetd", "A"),
            ("Kd", "dK"),
            ("nmKE", "nKEm"),
            ("AnK", "AK"),
            ("", ""),
        ] {
            assert_eq!(format_notify_flags(parse_notify_flags(set).unwrap()), get);
        }
    }
}
