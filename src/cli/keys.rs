//! `dokomodo keys`: the notary's pubkey and addresses from the wallet
//! passphrase, and the check that the YAML's `pubkey` is the passphrase's.

use lexopt::prelude::*;

use super::{Global, Result, env, print};
use crate::config::Config;
use crate::error::Error;
use crate::secrets::keys::{self, NotaryKey};
use crate::secrets::passphrase::{self, Passphrase};

pub(super) const USAGE: &str = "\
Usage: dokomodo [--config PATH] keys [--wif]

The notary's compressed pubkey and its address on every coin of the YAML
(KMD, LTC and each chain, with their address prefixes), from the wallet
passphrase ($DOKOMODO_WALLET_PASSPHRASE_FILE, else
/run/secrets/wallet_passphrase), derived as iguana does. Prints no private
key unless asked:
  --wif    also each coin's WIF (the private key itself: keep it off screens)
";

pub(super) fn keys(global: &mut Global, parser: &mut lexopt::Parser) -> Result<u8> {
    let mut wif = false;
    while let Some(arg) = parser.next()? {
        match arg {
            Short('h') | Long("help") => return print(USAGE),
            Long("wif") => wif = true,
            Long("config") => global.config = Some(parser.value()?.into()),
            other => return Err(other.unexpected().into()),
        }
    }
    let config = global.load_query()?;
    let Some(passphrase) = passphrase::load(&env)? else {
        return Err(Error::NotInConfig(format!(
            "keys needs the wallet passphrase: set {} to its file, or mount it at {}",
            passphrase::FILE_VAR,
            passphrase::DEFAULT_FILE
        )));
    };
    let key = notary_key(&passphrase)?;
    let width = config
        .chains
        .iter()
        .map(|c| c.name.len())
        .fold(6, usize::max);
    let mut out = format!("{:width$}  {}\n", "pubkey", key.pubkey_hex());
    for chain in &config.chains {
        let (pubval, wifval) = match &chain.coin {
            Some(coin) => (coin.pubval, coin.wifval),
            None => (keys::KOMODO_PUBVAL, keys::KOMODO_WIFVAL),
        };
        out.push_str(&format!("{:width$}  {}", chain.name, key.address(pubval)));
        if wif {
            out.push_str("  ");
            out.push_str(&key.wif(wifval));
        }
        out.push('\n');
    }
    let status = print(&out);
    zeroize::Zeroize::zeroize(&mut out);
    status
}

fn notary_key(passphrase: &Passphrase) -> Result<NotaryKey> {
    NotaryKey::from_passphrase(passphrase).ok_or_else(|| {
        Error::NotInConfig(format!(
            "{}: this passphrase gives no valid secp256k1 key",
            passphrase.path.display()
        ))
    })
}

/// When the passphrase is there, the YAML's `pubkey` must be its key's:
/// iguana signs with the passphrase's key, and the daemons' `-pubkey` and
/// `dpow` name the YAML's.
pub(super) fn check_pubkey(config: &Config, passphrase: Option<&Passphrase>) -> Result<()> {
    let (Some(passphrase), Some(pubkey)) = (passphrase, config.pubkey.as_deref()) else {
        return Ok(());
    };
    let key = notary_key(passphrase)?;
    let derived = key.pubkey_hex();
    if !derived.eq_ignore_ascii_case(pubkey) {
        return Err(Error::NotInConfig(format!(
            "{}: pubkey {pubkey} is not the wallet passphrase's ({}): the passphrase gives \
             {derived}; correct `pubkey`, or mount the passphrase that belongs to it",
            config.path.display(),
            passphrase.path.display()
        )));
    }
    Ok(())
}
