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

    /// Elements head to tail. (Stub used by SORT until the list work lands.)
    pub fn iter(&self) -> impl Iterator<Item = &Sds> {
        self.items.iter()
    }

    /// A list of these elements, head first. (Stub used by SORT STORE.)
    pub fn from_vec(items: Vec<Sds>) -> List {
        List { items }
    }

    pub fn heap_size(&self) -> usize {
        self.items.iter().map(|s| 24 + s.heap_size()).sum()
    }
}
