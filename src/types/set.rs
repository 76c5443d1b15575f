//! The set type. (Placeholder: filled in by the collection-types work.)

use crate::db::sds::Sds;

#[derive(Default)]
pub struct Set {
    items: Vec<Sds>,
}

impl Set {
    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    pub fn encoding_name(&self) -> &'static str {
        "listpack"
    }

    pub fn heap_size(&self) -> usize {
        self.items.iter().map(|s| 24 + s.heap_size()).sum()
    }

    // Shim (zset branch): the two calls ZUNION/ZINTER/ZDIFF make on set inputs, with the same
    // signatures as the set work's real `Set`, which replaces this file.
    pub fn contains(&self, member: &[u8]) -> bool {
        self.items.iter().any(|m| m.as_bytes() == member)
    }

    pub fn iter(&self) -> impl Iterator<Item = Member<'_>> + '_ {
        self.items.iter().map(|m| Member::Str(m.as_bytes()))
    }
}

/// One member as stored (shim of the set work's type, see above).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Member<'a> {
    Int(i64),
    Str(&'a [u8]),
}

impl Member<'_> {
    pub fn with_bytes<R>(&self, f: impl FnOnce(&[u8]) -> R) -> R {
        match *self {
            Member::Int(n) => {
                let mut buf = [0u8; crate::util::I64_BUF];
                f(crate::util::write_i64(n, &mut buf))
            }
            Member::Str(s) => f(s),
        }
    }
}
