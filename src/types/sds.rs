//! `Sds`: the byte string every key and string value is stored as.
//!
//! Redis stores keys and small values as `sds` strings, and short values are "embedded" in the
//! object header (`OBJ_ENCODING_EMBSTR`) so that a small key costs a single allocation. `Sds` goes
//! one step further: strings of up to [`INLINE_CAPACITY`] bytes live *inside* the 24-byte value
//! itself and cost no allocation at all; longer ones own an exact-size heap buffer.
//!
//! Invariant: what is stored is always copied out of the client's read buffer, so a 3-byte key
//! never pins a 16 KiB query buffer (the buffer is reused as soon as the command has run).

use std::borrow::Borrow;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::ops::Deref;

/// Longest string kept inline: 24 bytes minus the enum tag and the length byte.
pub const INLINE_CAPACITY: usize = 22;

/// A binary-safe, immutable-length byte string: inline when short, one heap block when long.
#[derive(Clone)]
pub enum Sds {
    Inline { len: u8, buf: [u8; INLINE_CAPACITY] },
    Heap(Box<[u8]>),
}

impl Sds {
    pub fn new(bytes: &[u8]) -> Sds {
        if bytes.len() <= INLINE_CAPACITY {
            let mut buf = [0u8; INLINE_CAPACITY];
            buf[..bytes.len()].copy_from_slice(bytes);
            Sds::Inline {
                len: bytes.len() as u8,
                buf,
            }
        } else {
            Sds::Heap(bytes.into())
        }
    }

    /// Takes ownership of an already built buffer (no copy when it is too long to inline).
    pub fn from_vec(bytes: Vec<u8>) -> Sds {
        if bytes.len() <= INLINE_CAPACITY {
            Sds::new(&bytes)
        } else {
            Sds::Heap(bytes.into_boxed_slice())
        }
    }

    pub fn as_bytes(&self) -> &[u8] {
        match self {
            Sds::Inline { len, buf } => &buf[..*len as usize],
            Sds::Heap(b) => b,
        }
    }

    /// The bytes, writable in place: SETBIT, BITFIELD and PFADD change a string without
    /// copying it.
    pub fn as_bytes_mut(&mut self) -> &mut [u8] {
        match self {
            Sds::Inline { len, buf } => &mut buf[..*len as usize],
            Sds::Heap(b) => b,
        }
    }

    /// Extends the string with zero bytes up to `len` bytes (no change if it is already that
    /// long). Redis: `sdsgrowzero`. A heap string is reallocated once, to the exact new size,
    /// so a bitmap grown by SETBIT costs no more than its bytes.
    pub fn grow_zeroed(&mut self, len: usize) {
        if len <= self.len() {
            return;
        }
        if len <= INLINE_CAPACITY {
            if let Sds::Inline { len: l, buf } = self {
                buf[*l as usize..len].fill(0);
                *l = len as u8;
                return;
            }
        }
        let mut bytes = match std::mem::take(self) {
            Sds::Heap(b) => b.into_vec(),
            inline => inline.as_bytes().to_vec(),
        };
        bytes.reserve_exact(len - bytes.len());
        bytes.resize(len, 0);
        *self = Sds::Heap(bytes.into_boxed_slice());
    }

    /// The bytes as a growable buffer, without copying a heap string.
    pub fn into_vec(self) -> Vec<u8> {
        match self {
            Sds::Heap(b) => b.into_vec(),
            inline => inline.as_bytes().to_vec(),
        }
    }

    /// Bytes this string owns on the heap (0 when inline), for MEMORY USAGE.
    pub fn heap_size(&self) -> usize {
        match self {
            Sds::Inline { .. } => 0,
            Sds::Heap(b) => b.len(),
        }
    }
}

impl Default for Sds {
    fn default() -> Sds {
        Sds::new(b"")
    }
}

impl Deref for Sds {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        self.as_bytes()
    }
}

impl Borrow<[u8]> for Sds {
    fn borrow(&self) -> &[u8] {
        self.as_bytes()
    }
}

impl AsRef<[u8]> for Sds {
    fn as_ref(&self) -> &[u8] {
        self.as_bytes()
    }
}

impl From<&[u8]> for Sds {
    fn from(b: &[u8]) -> Sds {
        Sds::new(b)
    }
}

impl From<Vec<u8>> for Sds {
    fn from(v: Vec<u8>) -> Sds {
        Sds::from_vec(v)
    }
}

impl PartialEq for Sds {
    fn eq(&self, other: &Sds) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}
impl Eq for Sds {}

impl PartialOrd for Sds {
    fn partial_cmp(&self, other: &Sds) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Sds {
    fn cmp(&self, other: &Sds) -> std::cmp::Ordering {
        self.as_bytes().cmp(other.as_bytes())
    }
}

/// Hashes exactly like `[u8]`, so a map keyed by `Sds` can be probed with a borrowed `&[u8]`.
impl Hash for Sds {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_bytes().hash(state)
    }
}

impl fmt::Debug for Sds {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", String::from_utf8_lossy(self.as_bytes()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sds_is_three_words() {
        assert_eq!(std::mem::size_of::<Sds>(), 24);
    }

    #[test]
    fn short_strings_are_inline_and_long_ones_on_the_heap() {
        let short = Sds::new(b"key:000000000001");
        assert!(matches!(short, Sds::Inline { .. }));
        assert_eq!(&*short, b"key:000000000001");
        let long = Sds::new(&[7u8; 23]);
        assert!(matches!(long, Sds::Heap(_)));
        assert_eq!(long.len(), 23);
    }
}
