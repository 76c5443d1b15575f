//! The zset type. (Placeholder: filled in by the collection-types work.)

use crate::db::sds::Sds;

#[derive(Default, Clone)]
pub struct ZSet {
    items: Vec<Sds>,
}

impl ZSet {
    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    pub fn encoding_name(&self) -> &'static str {
        "listpack"
    }

    /// (member, score) in ascending score order. (Stub used by SORT until the zset work lands.)
    pub fn iter(&self) -> impl Iterator<Item = (&Sds, f64)> {
        self.items.iter().map(|m| (m, 0.0))
    }

    pub fn heap_size(&self) -> usize {
        self.items.iter().map(|s| 24 + s.heap_size()).sum()
    }
}
