//! The secrets: the seed (a master seed, or one chain's secret) and what is
//! derived from it, and the wallet passphrase.

pub mod chain;
pub mod creds;
pub mod keys;
pub mod passphrase;
pub mod seed;
