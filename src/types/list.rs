//! The list type. (Placeholder: filled in by the collection-types work.)

use crate::db::sds::Sds;

#[derive(Default, Clone)]
pub struct List {
    items: Vec<Sds>,
}

impl List {
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
}
