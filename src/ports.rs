//! komodod's port derivation: magic, p2p port and rpc port from the chain's
//! command-line identity. (skeleton: to be filled in)

use std::collections::BTreeMap;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ports {
    /// komodod's ASSETCHAINS_MAGIC.
    pub magic: u32,
    pub p2p: u16,
    pub rpc: u16,
}

/// `params` maps `ac_supply` -> `100000000` (values as after `-ac_supply=`,
/// already checked by `acparams::check`), without `ac_name`.
pub fn derive(ac_name: &str, params: &BTreeMap<String, String>) -> Ports {
    let _ = (ac_name, params);
    Ports { magic: 0, p2p: 0, rpc: 0 }
}

/// iguana's `netmagic`: the 4 magic bytes, little-endian, as hex.
pub fn netmagic(magic: u32) -> String {
    magic.to_le_bytes().iter().map(|b| format!("{b:02x}")).collect()
}
