//! The secrets: the seed and what is derived from it, and the wallet passphrase.

pub mod creds;
pub mod keys;
pub mod passphrase;
pub mod seed;
