//! Per-chain RPC credentials, derived from the seed so that every container
//! that renders a chain's files writes the same ones, with no shared volume.
//!
//! Derivation v1 (never change it: images built months apart must agree; a
//! new scheme gets a new version label):
//!
//! ```text
//! msg         = "dokomodo/rpc/v1" 0x00 purpose 0x00 ac_name 0x00 datadir
//!               purpose: "rpcuser" or "rpcpassword"; datadir: "" for KMD
//! mac         = HMAC-SHA256(key = seed, msg)
//! rpcuser     = "user" + lowercase hex of the first 8 bytes of mac(rpcuser)
//! rpcpassword = "pass" + lowercase hex of all 32 bytes of mac(rpcpassword)
//! ```
//!
//! The chain's identity is its ac_name and its data directory, so GLEEC and
//! GLEEC_OLD (one ac_name, two datadirs) get different credentials. The
//! encoding is `[0-9a-z]` only: no `:` (HTTP basic auth joins user:pass), no
//! whitespace, `#` or `=` (komodod's and iguana's conf parsers).

use std::fmt;

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::config::Chain;
use crate::secrets::seed::Seed;

pub const VERSION: &str = "dokomodo/rpc/v1";

/// The identity of a chain as the derivation sees it.
pub fn identity(chain: &Chain) -> (&str, &str) {
    (&chain.ac_name, chain.datadir.as_deref().unwrap_or(""))
}

pub struct Credentials {
    pub rpcuser: String,
    pub rpcpassword: String,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Credentials {{ rpcuser: {}, rpcpassword: <redacted> }}",
            self.rpcuser
        )
    }
}

impl Drop for Credentials {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.rpcpassword);
    }
}

/// The credentials of the chain with this ac_name and datadir.
pub fn derive(seed: &Seed, ac_name: &str, datadir: &str) -> Credentials {
    Keys::new(seed).derive(ac_name, datadir)
}

pub fn for_chain(seed: &Seed, chain: &Chain) -> Credentials {
    Keys::new(seed).for_chain(chain)
}

/// What a chain's credentials are made of: the first 8 bytes of
/// mac(rpcuser) and all 32 of mac(rpcpassword). It is also the payload of
/// the chain's secret (`secrets::chain`), so a daemon given that secret
/// writes the very credentials the master seed gives: one function,
/// `credentials`, turns either into the conf's lines.
pub struct Material {
    pub user: [u8; 8],
    pub pass: [u8; 32],
}

impl Material {
    pub fn credentials(&self) -> Credentials {
        Credentials {
            rpcuser: format!("user{}", hex(&self.user)),
            rpcpassword: format!("pass{}", hex(&self.pass)),
        }
    }
}

impl Clone for Material {
    fn clone(&self) -> Material {
        Material {
            user: self.user,
            pass: self.pass,
        }
    }
}

impl Drop for Material {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.user);
        zeroize::Zeroize::zeroize(&mut self.pass);
    }
}

/// The secret keyed for deriving. From the master seed: the seed keyed into
/// HMAC-SHA256 once. Keying hashes two blocks; each MAC from a copy of the
/// keyed state then hashes two more instead of four, which halves the
/// hashing when one render derives every chain's credentials (the iguana
/// role). As secret as the seed itself. From a chain secret: that chain's
/// material, already derived.
pub struct Keys(Keyed);

enum Keyed {
    Master(Hmac<Sha256>),
    Chain(Material),
}

impl Keys {
    pub fn new(seed: &Seed) -> Keys {
        if let Some(material) = seed.chain_material() {
            return Keys(Keyed::Chain(material.clone()));
        }
        // HMAC accepts keys of any length, so this cannot fail.
        let Ok(mac) = <Hmac<Sha256> as Mac>::new_from_slice(seed.expose()) else {
            unreachable!("HMAC takes keys of any length")
        };
        Keys(Keyed::Master(mac))
    }

    /// The material of the chain with this ac_name and datadir. A chain
    /// secret holds one chain's material and gives it for any identity: the
    /// commands refuse it for another chain first (`Seed::serves`), and if
    /// one did not, the other chain's daemon would refuse the credentials;
    /// no chain's credentials but its own can come out of it.
    pub fn material(&self, ac_name: &str, datadir: &str) -> Material {
        match &self.0 {
            Keyed::Chain(material) => material.clone(),
            Keyed::Master(keyed) => {
                let mut user = mac(keyed, "rpcuser", ac_name, datadir);
                let pass = mac(keyed, "rpcpassword", ac_name, datadir);
                let mut short = [0u8; 8];
                short.copy_from_slice(&user[..8]);
                zeroize::Zeroize::zeroize(&mut user);
                Material { user: short, pass }
            }
        }
    }

    /// The credentials of the chain with this ac_name and datadir.
    pub fn derive(&self, ac_name: &str, datadir: &str) -> Credentials {
        self.material(ac_name, datadir).credentials()
    }

    pub fn for_chain(&self, chain: &Chain) -> Credentials {
        let (ac_name, datadir) = identity(chain);
        self.derive(ac_name, datadir)
    }
}

fn mac(keyed: &Hmac<Sha256>, purpose: &str, ac_name: &str, datadir: &str) -> [u8; 32] {
    let mut mac = keyed.clone();
    for (i, part) in [VERSION, purpose, ac_name, datadir].iter().enumerate() {
        if i > 0 {
            mac.update(&[0]);
        }
        mac.update(part.as_bytes());
    }
    mac.finalize().into_bytes().into()
}

pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[(b >> 4) as usize] as char);
        s.push(DIGITS[(b & 15) as usize] as char);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secrets::seed::Source;

    fn seed(s: &str) -> Seed {
        Seed::from_bytes(s.as_bytes().to_vec(), Source::Env).unwrap()
    }

    /// Pinned (and reproduced independently with Python's hmac module, see
    /// README): if this test fails, images built before and after the change
    /// disagree on every chain's credentials.
    #[test]
    fn v1_vectors() {
        let s = seed("correct horse battery staple");
        let cases = [
            (
                "KMD",
                "",
                "user6b1617eb1efd71ae",
                "pass0c765689a9d32a7f69a82c2119c4cce7335425b0ff4d1178df0a3adf09605c08",
            ),
            (
                "BEER",
                "BEER",
                "user6c7c7a10aa152bb9",
                "pass1a05281bae455236e7c8ded0c0c56c3aa01eb9561b67f7f0338e0cc7fb1296ef",
            ),
            (
                "GLEEC",
                "GLEEC_OLD",
                "user260e3e0050b9f186",
                "passfc78dca4d36054da82799ed892a2925a693203a66971b83c44f9bf396305ce47",
            ),
        ];
        // One keyed seed reused for every chain, as the iguana role does.
        let keys = Keys::new(&s);
        for (ac_name, datadir, user, pass) in cases {
            let c = derive(&s, ac_name, datadir);
            assert_eq!(
                (c.rpcuser.as_str(), c.rpcpassword.as_str()),
                (user, pass),
                "{ac_name}/{datadir}"
            );
            let c = keys.derive(ac_name, datadir);
            assert_eq!(
                (c.rpcuser.as_str(), c.rpcpassword.as_str()),
                (user, pass),
                "{ac_name}/{datadir}, reused keys"
            );
        }
    }

    #[test]
    fn encoding_is_safe_for_komodod_and_iguana() {
        let c = derive(&seed("0123456789abcdef"), "PIZZA", "PIZZA");
        assert_eq!(c.rpcuser.len(), 20);
        assert_eq!(c.rpcpassword.len(), 68);
        for s in [&c.rpcuser, &c.rpcpassword] {
            assert!(
                s.bytes()
                    .all(|b| b.is_ascii_digit() || b.is_ascii_lowercase()),
                "{s}"
            );
        }
    }

    #[test]
    fn identity_and_seed_separate_credentials() {
        let s = seed("0123456789abcdef");
        let gleec = derive(&s, "GLEEC", "GLEEC");
        let old = derive(&s, "GLEEC", "GLEEC_OLD");
        assert_ne!(gleec.rpcpassword, old.rpcpassword);
        assert_ne!(gleec.rpcuser, old.rpcuser);
        assert_ne!(
            derive(&seed("0123456789abcdeg"), "GLEEC", "GLEEC").rpcpassword,
            gleec.rpcpassword
        );
        // Purpose separation: the user is not a prefix of the password's mac.
        assert_ne!(&gleec.rpcpassword[4..20], &gleec.rpcuser[4..]);
    }
}
