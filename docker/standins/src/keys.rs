//! The notary's keys as iguana derives them, so the stand-ins can do what the
//! daemons do with them: iguana sends a WIF by `importprivkey`, komodod answers
//! `validateaddress` with `ismine`, and iguana's `dpow` refuses a coin whose
//! daemon does not own the address of the notary pubkey.
//!
//! - `conv_NXTpassword` (iguana, basilisk/smartaddress.c): `k = sha256(text)`,
//!   `k[0] &= 248; k[31] &= 127; k[31] |= 64`.
//! - `bitcoin_address`: base58check(pubtype || ripemd160(sha256(pubkey33))).
//! - `bitcoin_priv2wif`: base58check(wiftype || k || 0x01).
//!
//! Test keys only: nothing here is constant-time or meant for real funds.

use k256::elliptic_curve::sec1::ToEncodedPoint;
use ripemd::Ripemd160;
use sha2::{Digest, Sha256};

/// KMD and every assetchain: addresses R..., WIF U...
pub const KMD_PUBTYPE: u8 = 60;
pub const KMD_WIFTYPE: u8 = 188;
/// Litecoin: addresses L..., WIF T...
pub const LTC_PUBTYPE: u8 = 48;
pub const LTC_WIFTYPE: u8 = 176;

const ALPHABET: &[u8; 58] = b"123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";

pub fn sha256(data: &[u8]) -> [u8; 32] {
    Sha256::digest(data).into()
}

fn hash160(data: &[u8]) -> [u8; 20] {
    Ripemd160::digest(sha256(data)).into()
}

/// iguana's `conv_NXTpassword`: the wallet key of a passphrase.
pub fn passphrase_privkey(passphrase: &str) -> [u8; 32] {
    let mut k = sha256(passphrase.as_bytes());
    k[0] &= 248;
    k[31] &= 127;
    k[31] |= 64;
    k
}

/// The compressed public key; None for a key outside the curve's order.
pub fn pubkey33(privkey: &[u8; 32]) -> Option<[u8; 33]> {
    let secret = k256::SecretKey::from_slice(privkey).ok()?;
    let point = secret.public_key().to_encoded_point(true);
    point.as_bytes().try_into().ok()
}

pub fn address(pubtype: u8, pubkey33: &[u8]) -> String {
    let mut payload = vec![pubtype];
    payload.extend_from_slice(&hash160(pubkey33));
    base58check_encode(&payload)
}

pub fn wif(wiftype: u8, privkey: &[u8; 32]) -> String {
    let mut payload = vec![wiftype];
    payload.extend_from_slice(privkey);
    payload.push(1);
    base58check_encode(&payload)
}

/// The private key in a compressed-key WIF of `wiftype`.
pub fn wif_privkey(wiftype: u8, wif: &str) -> Option<[u8; 32]> {
    let payload = base58check_decode(wif)?;
    if payload.len() != 34 || payload[0] != wiftype || payload[33] != 1 {
        return None;
    }
    payload[1..33].try_into().ok()
}

/// (version byte, hash160) of an address.
pub fn address_hash(addr: &str) -> Option<(u8, [u8; 20])> {
    let payload = base58check_decode(addr)?;
    if payload.len() != 21 {
        return None;
    }
    Some((payload[0], payload[1..].try_into().ok()?))
}

pub fn base58check_encode(payload: &[u8]) -> String {
    let mut data = payload.to_vec();
    data.extend_from_slice(&sha256(&sha256(payload))[..4]);
    let zeros = data.iter().take_while(|&&b| b == 0).count();
    // Base-58 digits, least significant first.
    let mut digits: Vec<u8> = Vec::new();
    for &byte in &data[zeros..] {
        let mut carry = byte as u32;
        for d in digits.iter_mut() {
            carry += (*d as u32) << 8;
            *d = (carry % 58) as u8;
            carry /= 58;
        }
        while carry > 0 {
            digits.push((carry % 58) as u8);
            carry /= 58;
        }
    }
    let mut out = "1".repeat(zeros);
    out.extend(digits.iter().rev().map(|&d| ALPHABET[d as usize] as char));
    out
}

pub fn base58check_decode(text: &str) -> Option<Vec<u8>> {
    let zeros = text.bytes().take_while(|&c| c == b'1').count();
    // Bytes, least significant first.
    let mut bytes: Vec<u8> = Vec::new();
    for c in text.bytes().skip(zeros) {
        let mut carry = ALPHABET.iter().position(|&a| a == c)? as u32;
        for b in bytes.iter_mut() {
            carry += (*b as u32) * 58;
            *b = (carry & 0xff) as u8;
            carry >>= 8;
        }
        while carry > 0 {
            bytes.push((carry & 0xff) as u8);
            carry >>= 8;
        }
    }
    let mut data = vec![0u8; zeros];
    data.extend(bytes.iter().rev());
    if data.len() < 4 {
        return None;
    }
    let (payload, check) = data.split_at(data.len() - 4);
    (sha256(&sha256(payload))[..4] == *check).then(|| payload.to_vec())
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    // The published vector of komodo-facts.md section 6.
    const PASSPHRASE: &str = "myverysecretandstrongpassphrase_noneabletobrute";

    #[test]
    fn the_published_passphrase_vector() {
        let k = passphrase_privkey(PASSPHRASE);
        let pubkey = pubkey33(&k).unwrap();
        assert_eq!(
            hex(&pubkey),
            "02a854251adfee222bede8396fed0756985d4ea905f72611740867c7a4ad6488c1"
        );
        assert_eq!(
            address(KMD_PUBTYPE, &pubkey),
            "RVNKRr2uxPMxJeDwFnTKjdtiLtcs7UzCZn"
        );
    }

    #[test]
    fn wif_round_trips_and_checks_its_type() {
        let k = passphrase_privkey(PASSPHRASE);
        let w = wif(KMD_WIFTYPE, &k);
        assert!(w.starts_with('U'), "{w}");
        assert_eq!(wif_privkey(KMD_WIFTYPE, &w), Some(k));
        assert_eq!(wif_privkey(LTC_WIFTYPE, &w), None);
        let mut broken = w.clone().into_bytes();
        broken[5] = if broken[5] == b'a' { b'b' } else { b'a' };
        assert_eq!(
            wif_privkey(KMD_WIFTYPE, std::str::from_utf8(&broken).unwrap()),
            None
        );
    }
}
