//! RESP, the Redis serialization protocol: request parsing ([`parse`]) and reply encoding
//! ([`reply`]) for both RESP2 and RESP3.

pub mod parse;
pub mod reply;
