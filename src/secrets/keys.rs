//! The notary's keys from the wallet passphrase, as iguana and the operators'
//! tools derive them (`conv_NXTpassword`): `k = sha256(passphrase)`, then
//! `k[0] &= 248; k[31] &= 127; k[31] |= 64`. From `k`: the compressed secp256k1
//! public key (the YAML's `pubkey`), and per coin its address
//! (base58check of `pubval || ripemd160(sha256(pubkey))`) and its WIF
//! (base58check of `wifval || k || 0x01`). The curve is k256's (RustCrypto,
//! pure Rust); nothing here is curve code of our own.

use k256::elliptic_curve::sec1::ToEncodedPoint;
use ripemd::Ripemd160;
use sha2::{Digest, Sha256};

use crate::secrets::passphrase::Passphrase;
use zeroize::Zeroize;

/// The notary's private key. Wiped on drop (k256's `SecretKey` zeroizes).
pub struct NotaryKey {
    secret: k256::SecretKey,
}

impl std::fmt::Debug for NotaryKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "NotaryKey {{ pubkey: {} }}", self.pubkey_hex())
    }
}

impl NotaryKey {
    /// The key of a passphrase. `None` only for the (astronomically unlikely)
    /// passphrase whose clamped hash is not a valid scalar.
    pub fn from_passphrase(passphrase: &Passphrase) -> Option<NotaryKey> {
        Self::from_text(passphrase.expose())
    }

    fn from_text(text: &str) -> Option<NotaryKey> {
        let mut k: [u8; 32] = Sha256::digest(text.as_bytes()).into();
        k[0] &= 248;
        k[31] &= 127;
        k[31] |= 64;
        let secret = k256::SecretKey::from_slice(&k).ok();
        k.zeroize();
        secret.map(|secret| NotaryKey { secret })
    }

    /// The compressed public key, 33 bytes.
    pub fn pubkey(&self) -> [u8; 33] {
        let point = self.secret.public_key().to_encoded_point(true);
        let mut out = [0u8; 33];
        out.copy_from_slice(point.as_bytes());
        out
    }

    /// The compressed public key as 66 hex digits, as the YAML's `pubkey`.
    pub fn pubkey_hex(&self) -> String {
        crate::secrets::creds::hex(&self.pubkey())
    }

    /// The address of this key on a coin with address prefix `pubval`.
    pub fn address(&self, pubval: u8) -> String {
        address(pubval, &self.pubkey())
    }

    /// The WIF of this key for a coin with `wifval`: the private key itself.
    /// The caller wipes it after use (`zeroize`).
    pub fn wif(&self, wifval: u8) -> String {
        let mut payload = Vec::with_capacity(34);
        payload.push(wifval);
        payload.extend_from_slice(&self.secret.to_bytes());
        payload.push(1); // compressed
        let wif = bs58::encode(&payload).with_check().into_string();
        payload.zeroize();
        wif
    }
}

/// The address of a compressed public key for address prefix `pubval`.
pub fn address(pubval: u8, pubkey: &[u8]) -> String {
    let hash = Ripemd160::digest(Sha256::digest(pubkey));
    let mut payload = Vec::with_capacity(21);
    payload.push(pubval);
    payload.extend_from_slice(&hash);
    bs58::encode(payload).with_check().into_string()
}

/// The address prefixes of Komodo and every komodod chain (iguana's
/// `pubval` 60, `wifval` 188).
pub const KOMODO_PUBVAL: u8 = 60;
pub const KOMODO_WIFVAL: u8 = 188;

#[cfg(test)]
mod tests {
    use super::*;

    /// The published vector (../shared/komodo-facts.md section 6).
    const PASSPHRASE: &str = "myverysecretandstrongpassphrase_noneabletobrute";

    #[test]
    fn the_published_passphrase_gives_the_published_pubkey_and_address() {
        let key = NotaryKey::from_text(PASSPHRASE).unwrap();
        assert_eq!(
            key.pubkey_hex(),
            "02a854251adfee222bede8396fed0756985d4ea905f72611740867c7a4ad6488c1"
        );
        assert_eq!(
            key.address(KOMODO_PUBVAL),
            "RVNKRr2uxPMxJeDwFnTKjdtiLtcs7UzCZn"
        );
    }

    #[test]
    fn a_wif_carries_the_coins_prefix_and_the_compressed_flag() {
        let key = NotaryKey::from_text(PASSPHRASE).unwrap();
        let wif = key.wif(KOMODO_WIFVAL);
        let decoded = bs58::decode(&wif).with_check(None).into_vec().unwrap();
        assert_eq!(decoded.len(), 34);
        assert_eq!(decoded[0], KOMODO_WIFVAL);
        assert_eq!(decoded[33], 1);
        // Litecoin's prefixes give other strings from the same key.
        assert_ne!(key.wif(176), wif);
        assert!(key.address(48).starts_with('L'), "{}", key.address(48));
        assert!(
            !format!("{key:?}").contains(&wif),
            "Debug never shows the key"
        );
    }
}
