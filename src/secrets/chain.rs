//! Chain secrets: what a chain's daemon container is given instead of the
//! master seed, so that taking one daemon's container gives that chain's
//! credentials and nothing else.
//!
//! Format v1 (`dkc1`; never change it: a new format gets a new prefix):
//!
//! ```text
//! chain secret = "dkc1-" NAME "-" hex(user) hex(pass)
//!   NAME       the chain's name in the YAML (what `--chain` takes)
//!   user       the first 8 bytes of HMAC-SHA256(master, rpc/v1 msg, purpose "rpcuser")
//!   pass       all 32 bytes of HMAC-SHA256(master, rpc/v1 msg, purpose "rpcpassword")
//! ```
//!
//! The payload is exactly what the credentials derivation (`creds`, v1)
//! makes a chain's rpcuser and rpcpassword from, so a daemon given its chain
//! secret renders byte-identical files to one given the master, and no
//! credential changed when chain secrets came in. A chain secret is
//! therefore as secret as its chain's rpcpassword, and no more: the daemon
//! holds that password in its conf anyway. NAME names the chain in messages
//! when the secret is given to the wrong container; the hex is lowercase, 80
//! digits. NAME has no `-` at its end and the hex none at all, so the last
//! `-` separates them.

use std::fmt;

use zeroize::Zeroize;

use crate::config::Chain;
use crate::secrets::creds::{self, Keys, Material};

/// What a chain secret starts with; the digit is the format's version.
pub const PREFIX: &str = "dkc1-";
/// What any chain secret, of any version, starts with.
pub const FAMILY: &str = "dkc";

const HEX_LEN: usize = 2 * (8 + 32);

/// A parsed chain secret: the chain it belongs to and its material.
pub struct ChainSecret {
    pub name: String,
    pub material: Material,
}

impl fmt::Debug for ChainSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ChainSecret {{ name: {}, <redacted> }}", self.name)
    }
}

/// The chain secret of `chain`, from keys made from the master seed. The
/// caller wipes the text after use.
pub fn text(keys: &Keys, chain: &Chain) -> String {
    let (ac_name, datadir) = creds::identity(chain);
    let material = keys.material(ac_name, datadir);
    let mut out = String::with_capacity(PREFIX.len() + chain.name.len() + 1 + HEX_LEN);
    out.push_str(PREFIX);
    out.push_str(&chain.name);
    out.push('-');
    out.push_str(&creds::hex(&material.user));
    out.push_str(&creds::hex(&material.pass));
    out
}

/// Is this (a newline already stripped) meant as a chain secret of some
/// version? A master seed that happens to start so is refused, not guessed at.
pub fn looks_like(bytes: &[u8]) -> bool {
    let Some(rest) = bytes.strip_prefix(FAMILY.as_bytes()) else {
        return false;
    };
    let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
    digits > 0 && rest.get(digits) == Some(&b'-')
}

/// Why a text that looks like a chain secret is not one. Never shows the value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Malformed {
    Version,
    Shape,
}

impl fmt::Display for Malformed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Malformed::Version => write!(
                f,
                "a chain secret of a format this dokomodo does not know (it reads `{PREFIX}`)"
            ),
            Malformed::Shape => write!(
                f,
                "not a whole chain secret: `{PREFIX}NAME-` and {HEX_LEN} lowercase hex digits expected"
            ),
        }
    }
}

/// Parses a chain secret (`looks_like` said it is one).
pub fn parse(bytes: &[u8]) -> Result<ChainSecret, Malformed> {
    let Some(rest) = bytes.strip_prefix(PREFIX.as_bytes()) else {
        return Err(Malformed::Version);
    };
    let Some(dash) = rest.iter().rposition(|&b| b == b'-') else {
        return Err(Malformed::Shape);
    };
    let (name, hex) = (&rest[..dash], &rest[dash + 1..]);
    if !is_name(name) || hex.len() != HEX_LEN {
        return Err(Malformed::Shape);
    }
    let mut bytes = [0u8; HEX_LEN / 2];
    for (i, pair) in hex.chunks(2).enumerate() {
        match (nibble(pair[0]), nibble(pair[1])) {
            (Some(hi), Some(lo)) => bytes[i] = hi << 4 | lo,
            _ => {
                bytes.zeroize();
                return Err(Malformed::Shape);
            }
        }
    }
    let mut material = Material {
        user: [0; 8],
        pass: [0; 32],
    };
    material.user.copy_from_slice(&bytes[..8]);
    material.pass.copy_from_slice(&bytes[8..]);
    bytes.zeroize();
    Ok(ChainSecret {
        // `is_name` checked it is ASCII.
        name: String::from_utf8_lossy(name).into_owned(),
        material,
    })
}

/// The YAML's rule for chain names: `[A-Za-z0-9][A-Za-z0-9_.-]{0,63}`.
fn is_name(name: &[u8]) -> bool {
    matches!(name.first(), Some(b) if b.is_ascii_alphanumeric())
        && name.len() <= 64
        && name
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
}

fn nibble(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secrets::seed::{Seed, Source};

    fn master() -> Seed {
        Seed::from_bytes(b"correct horse battery staple".to_vec(), Source::Env).unwrap()
    }

    fn chains() -> crate::config::Config {
        crate::config::parse(
            std::path::Path::new("notary.yaml"),
            "rpc: {allow: [10.0.0.0/8]}\nchains:\n  KMD: {}\n  BEER: {ac_supply: 100000000}\n  GLEEC_OLD: {ac_name: GLEEC, datadir: GLEEC_OLD, ac_supply: 1}\n",
        )
        .unwrap()
    }

    /// Pinned: the same master and YAML give the same chain secrets in every
    /// image; the hex is the v1 credentials' (`creds::tests::v1_vectors`).
    #[test]
    fn v1_vectors() {
        let config = chains();
        let keys = Keys::new(&master());
        let kmd = text(&keys, config.chain("KMD").unwrap());
        assert_eq!(
            kmd,
            "dkc1-KMD-6b1617eb1efd71ae0c765689a9d32a7f69a82c2119c4cce7335425b0ff4d1178df0a3adf09605c08"
        );
        let old = text(&keys, config.chain("GLEEC_OLD").unwrap());
        assert_eq!(
            old,
            "dkc1-GLEEC_OLD-260e3e0050b9f186fc78dca4d36054da82799ed892a2925a693203a66971b83c44f9bf396305ce47"
        );
    }

    #[test]
    fn a_chain_secret_gives_the_credentials_the_master_gives() {
        let config = chains();
        let master = master();
        for chain in &config.chains {
            let secret = text(&Keys::new(&master), chain);
            let seed = Seed::from_bytes(secret.clone().into_bytes(), Source::Env).unwrap();
            assert_eq!(seed.chain_name(), Some(chain.name.as_str()));
            let mine = creds::for_chain(&seed, chain);
            let theirs = creds::for_chain(&master, chain);
            assert_eq!(mine.rpcuser, theirs.rpcuser);
            assert_eq!(mine.rpcpassword, theirs.rpcpassword);
        }
    }

    #[test]
    fn what_is_and_is_not_a_chain_secret() {
        assert!(looks_like(b"dkc1-KMD-00"));
        assert!(looks_like(b"dkc27-x"));
        assert!(!looks_like(b"dkc-KMD"));
        assert!(!looks_like(b"dkcx1-KMD"));
        assert!(!looks_like(b"correct horse battery staple"));
        let hex = "ab".repeat(40);
        assert_eq!(
            parse(format!("dkc2-KMD-{hex}").as_bytes()).unwrap_err(),
            Malformed::Version
        );
        for bad in [
            format!("dkc1-KMD-{}", &hex[1..]),
            format!("dkc1-KMD-{}", hex.to_uppercase()),
            format!("dkc1--{hex}"),
            format!("dkc1-{hex}"),
            format!("dkc1-K/MD-{hex}"),
        ] {
            assert_eq!(
                parse(bad.as_bytes()).unwrap_err(),
                Malformed::Shape,
                "{bad}"
            );
        }
        let ok = parse(format!("dkc1-GLEEC-OLD.2-{hex}").as_bytes()).unwrap();
        assert_eq!(ok.name, "GLEEC-OLD.2");
        assert!(!format!("{ok:?}").contains("abab"));
    }
}
