//! komodod's port derivation: magic, p2p port and rpc port from the chain's
//! command-line identity.
//!
//! This mirrors komodod's `komodo_args` and `komodo_port` (src/komodo_utils.cpp):
//! the `-ac_*` values are read the way komodod reads them (including its silent
//! clamping and normalisation), packed into the "extra buffer", and the magic
//! is zlib's crc32 of `le64(supply) || name`, seeded with the first four bytes of
//! sha256(extra buffer). Ports follow from the magic.

use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ports {
    /// komodod's ASSETCHAINS_MAGIC.
    pub magic: u32,
    pub p2p: u16,
    pub rpc: u16,
}

/// KMD itself: fixed magic and ports (chainparams), no derivation.
pub const KMD: Ports = Ports {
    magic: 0x8de4_eef9,
    p2p: 7770,
    rpc: 7771,
};

/// `params` maps `ac_supply` -> `100000000` (values as after `-ac_supply=`,
/// already checked by `acparams::check`), without `ac_name`.
pub fn derive(ac_name: &str, params: &BTreeMap<String, String>) -> Ports {
    // komodod treats a missing -ac_name as KMD, and an assetchain may not be named KMD.
    if ac_name.is_empty() || ac_name == "KMD" {
        return KMD;
    }
    let supply = Args(params).int("ac_supply", 10) as u64;
    let extra = extra_buffer(params);
    let magic = asset_magic(ac_name, supply, &extra);
    let p2p = if extra.is_empty() {
        8000 + magic % 7777
    } else {
        16000 + magic % 49500
    };
    // At most 16000 + 49499 = 65499, so both ports fit u16.
    let p2p = p2p as u16;
    Ports {
        magic,
        p2p,
        rpc: p2p + 1,
    }
}

/// The magic as komodod's own test prints it: the same 32 bits, signed.
pub fn magic_i32(magic: u32) -> i32 {
    magic as i32
}

/// iguana's `netmagic`: the 4 magic bytes, little-endian, as hex.
pub fn netmagic(magic: u32) -> String {
    // The bytes in little-endian order are the byte-swapped number printed
    // most significant first.
    format!("{:08x}", magic.swap_bytes())
}

/// komodod's `komodo_assetmagic` for an assetchain.
fn asset_magic(ac_name: &str, supply: u64, extra: &[u8]) -> u32 {
    let seed = if extra.is_empty() {
        0
    } else {
        let hash = Sha256::digest(extra);
        u32::from_le_bytes([hash[0], hash[1], hash[2], hash[3]])
    };
    let mut buf = supply.to_le_bytes().to_vec();
    buf.extend_from_slice(ac_name.as_bytes());
    crc32(seed, &buf)
}

/// zlib's crc32 (reflected polynomial 0xedb88320), continuing from `seed`
/// exactly as `zlib.crc32(data, seed)` does.
pub fn crc32(seed: u32, data: &[u8]) -> u32 {
    let mut crc = !seed;
    for &byte in data {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xedb8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// komodod's ASSETCHAINS_MAX_ERAS; its era arrays have one slot more.
const MAX_ERAS: usize = 7;
const ERA_SLOTS: usize = MAX_ERAS + 1;
const TIMELOCK_OFF: u64 = u64::MAX;
const LINEAR_DECAY: u64 = 100_000_000;
/// What komodod sets ac_perc to when founders rewards are on without a commission (35%).
const DEFAULT_FOUNDERS_COMMISSION: u64 = 53_846_154;

/// Values read the way komodod's GetArg and Split read them.
struct Args<'a>(&'a BTreeMap<String, String>);

impl Args<'_> {
    /// `GetArg(name, default)` for integers: strtoll of the value.
    fn int(&self, name: &str, default: i64) -> i64 {
        self.0.get(name).map_or(default, |v| strtoll(v))
    }

    fn text(&self, name: &str) -> &str {
        self.0.get(name).map_or("", String::as_str)
    }

    /// komodod's `Split`: `slots` values, missing ones filled with the last given.
    fn list(&self, name: &str, slots: usize) -> Vec<u64> {
        split(self.text(name), slots)
    }
}

/// C's strtoll(s, NULL, 10): leading whitespace, a sign, digits; stops at the
/// first other character; clamps on overflow; 0 when there are no digits.
fn strtoll(s: &str) -> i64 {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() && is_c_space(b[i]) {
        i += 1;
    }
    let negative = i < b.len() && b[i] == b'-';
    if i < b.len() && (b[i] == b'-' || b[i] == b'+') {
        i += 1;
    }
    let mut value: i128 = 0;
    while i < b.len() && b[i].is_ascii_digit() {
        value = (value * 10 + i128::from(b[i] - b'0')).min(i128::from(i64::MAX) + 1);
        i += 1;
    }
    let value = if negative { -value } else { value };
    value.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64
}

fn is_c_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

/// komodod's `Split`: reads unsigned numbers with `>>` from a stringstream,
/// skipping spaces and one comma between them, until a read fails; then fills
/// the remaining slots with the last number read (0 if none).
fn split(s: &str, slots: usize) -> Vec<u64> {
    let b = s.as_bytes();
    let mut pos = 0;
    let skip = |pos: &mut usize, c: u8| {
        while *pos < b.len() && b[*pos] == c {
            *pos += 1;
        }
    };
    let mut out = Vec::with_capacity(slots);
    skip(&mut pos, b' ');
    while let Some(n) = read_unsigned(b, &mut pos) {
        // komodod writes past its array here; we keep what fits.
        if out.len() < slots {
            out.push(n);
        }
        skip(&mut pos, b' ');
        if pos < b.len() && b[pos] == b',' {
            pos += 1;
        }
        skip(&mut pos, b' ');
    }
    let last = out.last().copied().unwrap_or(0);
    out.resize(slots, last);
    out
}

/// `istream >> uint64_t`: whitespace, an optional sign (a minus wraps, as
/// strtoull does), at least one digit; fails on overflow.
fn read_unsigned(b: &[u8], pos: &mut usize) -> Option<u64> {
    let mut i = *pos;
    while i < b.len() && is_c_space(b[i]) {
        i += 1;
    }
    let negative = i < b.len() && b[i] == b'-';
    if i < b.len() && (b[i] == b'-' || b[i] == b'+') {
        i += 1;
    }
    let start = i;
    let mut value: u64 = 0;
    while i < b.len() && b[i].is_ascii_digit() {
        value = value.checked_mul(10)?.checked_add(u64::from(b[i] - b'0'))?;
        i += 1;
    }
    if i == start {
        return None;
    }
    *pos = i;
    Some(if negative {
        value.wrapping_neg()
    } else {
        value
    })
}

/// Hex digits to bytes, `n` bytes from the start (values are checked as hex
/// before they get here; a stray digit counts as 0).
fn decode_hex(hex: &str, n: usize) -> Vec<u8> {
    let nibble = |c: u8| (c as char).to_digit(16).unwrap_or(0) as u8;
    hex.as_bytes()
        .chunks_exact(2)
        .take(n)
        .map(|p| nibble(p[0]) << 4 | nibble(p[1]))
        .collect()
}

/// The chain parameters after komodod has read and normalised them, as far as
/// they reach the extra buffer.
struct Chain {
    pubkey33: [u8; 33],
    last_era: u64,
    end: Vec<u64>,
    reward: Vec<u64>,
    halving: Vec<u64>,
    decay: Vec<u64>,
    notarypay: Vec<u64>,
    timelock_gte: u64,
    timeunlock_from: u64,
    timeunlock_to: u64,
    commission: u64,
    staked: i32,
    cc: u32,
    public: u8,
    private: u8,
    txpow: u8,
    founders: i32,
    founders_reward: u64,
    script: String,
    import: String,
    beam: u16,
    coda: u16,
    marmara: u8,
    enabled_codes: u16,
    disable_bits: [u8; 32],
    cclib: String,
    blocktime: i32,
    mineropret: Vec<u8>,
    nk: [u64; 2],
    snapshot: i32,
    early_txid_contract: i32,
    cb_maturity: i32,
    adaptive_pow: i8,
}

impl Chain {
    /// komodod's komodo_args, in its order, with its types (the `as` casts are
    /// komodod's own truncations into its global variables).
    fn read(params: &BTreeMap<String, String>) -> Chain {
        let a = Args(params);
        let cc = a.int("ac_cc", 0) as u32;
        let blocktime = a.int("ac_blocktime", 60) as i32;
        let public = a.int("ac_public", 0) as u8;
        let private = a.int("ac_private", 0) as u8;
        let snapshot = a.int("ac_snapshot", 0) as i32;
        let nk_list = a.list("ac_nk", 2);
        let early_txid_contract = a.int("ac_earlytxidcontract", 0) as i32;
        // ac_algo: current komodod knows only equihash and silently uses it for
        // any other name, so the algorithm never reaches the buffer.

        let eras = a.int("ac_eras", 1);
        let last_era = if (1..=MAX_ERAS as i64).contains(&eras) {
            eras as u64 - 1
        } else {
            0
        };

        let mut timelock_gte =
            a.0.get("ac_timelockgte")
                .map_or(TIMELOCK_OFF, |v| strtoll(v) as u64);
        let mut timeunlock_from = a.int("ac_timeunlockfrom", 0) as u64;
        let mut timeunlock_to = a.int("ac_timeunlockto", 0) as u64;
        if timeunlock_from > timeunlock_to {
            timelock_gte = TIMELOCK_OFF;
            timeunlock_from = 0;
            timeunlock_to = 0;
        }

        let end = a.list("ac_end", ERA_SLOTS);
        let reward = a.list("ac_reward", ERA_SLOTS);
        let halving = a.list("ac_halving", ERA_SLOTS);
        let mut decay = a.list("ac_decay", ERA_SLOTS);
        let notarypay = a.list("ac_notarypay", ERA_SLOTS);
        for era in 0..MAX_ERAS {
            if (decay[era] == LINEAR_DECAY && end[era] == 0) || decay[era] > LINEAR_DECAY {
                decay[era] = 0;
            }
        }

        let txpow = (a.int("ac_txpow", 0) & 3) as u8;
        let mut founders = a.int("ac_founders", 0) as i32;
        let founders_reward = a.int("ac_founders_reward", 0) as u64;
        let mut commission = a.int("ac_perc", 0) as u64;
        let pubkey = a.text("ac_pubkey");
        let script = a.text("ac_script").to_string();
        let beam = a.int("ac_beam", 0) as u16;
        let coda = a.int("ac_coda", 0) as u16;
        let marmara = a.int("ac_marmara", 0) as u8;
        let cb_maturity = a.int("ac_cbmaturity", 0) as i32;
        let adaptive_pow = a.int("ac_adaptivepow", 0) as i8;
        let mineropret_hex = a.text("ac_mineropret");
        let mineropret = decode_hex(mineropret_hex, mineropret_hex.len() / 2);

        let mut cclib = String::new();
        let mut enabled_codes: u16 = 0;
        let mut disable_bits = [0u8; 32];
        if cc != 0 {
            cclib = a.text("ac_cclib").to_string();
            let codes = a.list("ac_ccenable", 256);
            // komodod counts entries that differ from the previous counted one
            // (compared through a u8), then enables the first `count` entries.
            let mut previous: u8 = 0;
            for &code in &codes {
                if code != u64::from(previous) && code != 0 {
                    enabled_codes = enabled_codes.wrapping_add(1);
                    previous = code as u8;
                }
            }
            if enabled_codes > 0 {
                disable_bits = [0xff; 32];
                for &code in codes.iter().take(usize::from(enabled_codes)) {
                    let bit = (code & 0xff) as usize;
                    disable_bits[bit >> 3] &= !(1 << (bit & 7));
                }
                disable_bits[0] &= !1;
            }
        }
        let import = a.text("ac_import").to_string();

        let staked = (a.int("ac_staked", 0) as i32).min(100);

        let mut pubkey33 = [0u8; 33];
        if pubkey.len() == 66 || script.len() > 1 {
            if pubkey.len() == 66 {
                pubkey33.copy_from_slice(&decode_hex(pubkey, 33));
            }
            if commission == 0 && founders != 0 && founders_reward == 0 {
                commission = DEFAULT_FOUNDERS_COMMISSION;
            }
        } else {
            commission = 0;
            founders = 0;
        }

        Chain {
            pubkey33,
            last_era,
            end,
            reward,
            halving,
            decay,
            notarypay,
            timelock_gte,
            timeunlock_from,
            timeunlock_to,
            commission,
            staked,
            cc,
            public,
            private,
            txpow,
            founders,
            founders_reward,
            script,
            import,
            beam,
            coda,
            marmara,
            enabled_codes,
            disable_bits,
            cclib,
            blocktime,
            mineropret,
            nk: [nk_list[0], nk_list[1]],
            snapshot,
            early_txid_contract,
            cb_maturity,
            adaptive_pow,
        }
    }

    /// Whether komodod builds an extra buffer at all (chains from before Feb
    /// 2018 have none, and keep their ports that way).
    fn has_extra(&self) -> bool {
        self.end[0] != 0
            || self.reward[0] != 0
            || self.halving[0] != 0
            || self.decay[0] != 0
            || self.commission != 0
            || self.public != 0
            || self.private != 0
            || self.txpow != 0
            || self.founders != 0
            || self.script.len() > 1
            || !self.import.is_empty()
            || self.pubkey33[0] != 0
            || self.timelock_gte != TIMELOCK_OFF
            || self.last_era > 0
            || self.beam != 0
            || self.coda != 0
            || self.marmara != 0
            || self.enabled_codes > 0
            || !self.cclib.is_empty()
            || self.founders_reward != 0
            || self.notarypay[0] != 0
            || self.blocktime != 60
            || !self.mineropret.is_empty()
            || (self.nk[0] != 0 && self.nk[1] != 0)
            || self.snapshot != 0
            || self.early_txid_contract != 0
            || self.cb_maturity != 0
            || self.adaptive_pow != 0
    }

    fn extra(&self) -> Vec<u8> {
        if !self.has_extra() {
            return Vec::new();
        }
        let mut buf = self.pubkey33.to_vec();
        for era in 0..=self.last_era as usize {
            for value in [
                self.end[era],
                self.reward[era],
                self.halving[era],
                self.decay[era],
            ] {
                buf.extend_from_slice(&value.to_le_bytes());
            }
            if self.notarypay[0] != 0 {
                buf.extend_from_slice(&self.notarypay[era].to_le_bytes());
            }
        }
        if self.last_era > 0 {
            buf.extend_from_slice(&self.last_era.to_le_bytes());
        }
        if self.timelock_gte != TIMELOCK_OFF {
            for value in [self.timelock_gte, self.timeunlock_from, self.timeunlock_to] {
                buf.extend_from_slice(&value.to_le_bytes());
            }
        }
        let val = self.commission
            | ((i64::from(self.staked) & 0xff) as u64) << 32
            | (u64::from(self.cc) & 0xffff) << 40
            | u64::from(self.public != 0) << 7
            | u64::from(self.private != 0) << 6
            | u64::from(self.txpow);
        buf.extend_from_slice(&val.to_le_bytes());
        if self.founders != 0 {
            buf.push(1);
            if self.founders > 1 {
                buf.extend_from_slice(&self.founders.to_le_bytes());
            }
            // komodod hashes the founders reward only together with ac_founders.
            if self.founders_reward != 0 {
                buf.extend_from_slice(&self.founders_reward.to_le_bytes());
            }
        }
        if self.script.len() > 1 {
            buf.extend(decode_hex(&self.script, self.script.len() / 2));
        }
        buf.extend_from_slice(self.import.as_bytes());
        if self.beam != 0 {
            buf.push(b'b');
        }
        if self.coda != 0 {
            buf.push(b'c');
        }
        // Read only by Marmara's komodod fork (MCL), as one byte here.
        if self.marmara != 0 {
            buf.push(self.marmara);
        }
        if self.enabled_codes > 0 {
            buf.extend_from_slice(&self.disable_bits);
        }
        if self.cclib.len() > 1 {
            buf.extend_from_slice(self.cclib.as_bytes());
        }
        if self.blocktime != 60 {
            buf.extend_from_slice(&self.blocktime.to_le_bytes());
        }
        buf.extend_from_slice(&self.mineropret);
        if self.nk[0] != 0 && self.nk[1] != 0 {
            buf.extend_from_slice(&self.nk[0].to_le_bytes());
            buf.extend_from_slice(&self.nk[1].to_le_bytes());
        }
        for value in [self.snapshot, self.early_txid_contract, self.cb_maturity] {
            if value != 0 {
                buf.extend_from_slice(&value.to_le_bytes());
            }
        }
        if self.adaptive_pow != 0 {
            buf.push(self.adaptive_pow as u8);
        }
        buf
    }
}

/// komodod's extra buffer for these parameters: empty when none of its
/// triggers is set (then the port comes from the smaller range).
pub fn extra_buffer(params: &BTreeMap<String, String>) -> Vec<u8> {
    Chain::read(params).extra()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(args: &str) -> BTreeMap<String, String> {
        args.split_whitespace()
            .map(|arg| {
                let (name, value) = arg
                    .trim_start_matches('-')
                    .split_once('=')
                    .expect("-name=value");
                (name.to_string(), value.to_string())
            })
            .collect()
    }

    /// Ports and magic exactly as komodod's test_parse_args.cpp expects them.
    fn vector(name: &str, args: &str, p2p: u16, magic: Option<i32>) {
        let params = params(args);
        // Every real chain's parameters pass dokomodo's own checks.
        for (param, value) in &params {
            let known = crate::config::acparams::lookup(param)
                .unwrap_or_else(|| panic!("{name}: {param} unknown"));
            assert_eq!(
                crate::config::acparams::check(known, value),
                Ok(()),
                "{name}: {param}={value}"
            );
        }
        assert_eq!(
            crate::config::acparams::check_combination(&params),
            Ok(()),
            "{name}"
        );
        let ports = derive(name, &params);
        assert_eq!((ports.p2p, ports.rpc), (p2p, p2p + 1), "{name} ports");
        if let Some(magic) = magic {
            assert_eq!(magic_i32(ports.magic), magic, "{name} magic");
        }
    }

    #[test]
    fn komodod_test_vectors() {
        vector("BEER", "-ac_supply=100000000", 8922, None);
        vector("PIZZA", "-ac_supply=100000000", 11607, None);
        vector("KMD", "", 7770, Some(0x8de4eef9_u32 as i32));
        vector(
            "CCL",
            "-ac_supply=200000000 -ac_end=1 -ac_cc=2",
            20848,
            Some(1728000348),
        );
        vector(
            "CLC",
            "-ac_supply=99000000 -ac_reward=50000000 -ac_perc=100000000 -ac_founders=1 -ac_cc=45 \
             -ac_public=1 -ac_snapshot=1440 \
             -ac_pubkey=02df9bda7bfe2bcaa938b29a399fb0ba58cfb6cc3ddc0001062a600f60a8237ad9 -ac_adaptivepow=6",
            20931,
            Some(-671859365),
        );
        vector(
            "DOC",
            "-ac_supply=90000000000 -ac_reward=100000000 -ac_cc=3 -ac_staked=10",
            62415,
            Some(1450148915),
        );
        vector(
            "GLEEC",
            "-ac_supply=210000000 -ac_public=1 -ac_staked=100",
            23225,
            Some(1824725725),
        );
        vector(
            "ILN",
            "-ac_supply=10000000000 -ac_cc=2",
            12985,
            Some(600552702),
        );
        vector("KOIN", "-ac_supply=125000000", 10701, Some(-1235858314));
        vector(
            "MARTY",
            "-ac_supply=90000000000 -ac_reward=100000000 -ac_cc=3 -ac_staked=10",
            52592,
            Some(1663880092),
        );
        vector("NINJA", "-ac_supply=100000000", 8426, Some(-1301311821));
        vector(
            "PIRATE",
            "-ac_supply=0 -ac_reward=25600000000 -ac_halving=77777 -ac_private=1",
            45452,
            Some(397860952),
        );
        vector("SUPERNET", "-ac_supply=816061", 11340, Some(-1190058922));
        vector(
            "ERA7",
            "-ac_supply=7777777 -ac_reward=700000000,600000000,500000000,400000000,300000000,200000000,0 \
             -ac_staked=100 -ac_eras=7 -ac_end=1000000,2000000,3000000,4000000,5000000,6000000,0 -ac_cc=2 \
             -ac_ccenable=229,236,240 -ac_cbmaturity=1 -ac_sapling=1",
            37332,
            Some(-1314352964),
        );
        vector(
            "TXX001",
            "-ac_sapling=1 -ac_founders=1 -ac_reward=0,1125000000,562500000 -ac_end=128,340000,5422111 \
             -ac_blocktime=150 -ac_supply=6178674 -ac_halving=129,340000,840000 -ac_cc=2 -ac_cclib=txx001 \
             -ac_ccenable=228,234,235,236,241 -ac_perc=11111111 -ac_eras=3 \
             -ac_script=76a9145eb10cf64f2bab1b457f1f25e658526155928fac88ac",
            55965,
            Some(951479465),
        );
    }

    #[test]
    fn kmd_and_a_missing_name_are_kmd() {
        assert_eq!(derive("KMD", &params("-ac_supply=5 -ac_reward=1")), KMD);
        assert_eq!(derive("", &BTreeMap::new()), KMD);
        assert_eq!(netmagic(KMD.magic), "f9eee48d");
    }

    #[test]
    fn netmagic_is_little_endian_hex() {
        assert_eq!(netmagic(0x0102_03ff), "ff030201");
        assert_eq!(magic_i32(0xffff_ffff), -1);
    }

    #[test]
    fn crc32_matches_zlib() {
        assert_eq!(crc32(0, b""), 0);
        assert_eq!(crc32(0, b"123456789"), 0xcbf4_3926);
        assert_eq!(
            crc32(0, b"The quick brown fox jumps over the lazy dog"),
            0x414f_a339
        );
        // Seeding continues a crc: zlib.crc32(b"456789", zlib.crc32(b"123")).
        assert_eq!(crc32(crc32(0, b"123"), b"456789"), 0xcbf4_3926);
        assert_eq!(crc32(0xdead_beef, b"abc"), 0x45bb_8ae2);
    }

    #[test]
    fn extra_buffer_seeds_the_crc_with_its_sha256() {
        // CCL: supply 200000000, extra buffer from ac_end=1 and ac_cc=2.
        let extra = extra_buffer(&params("-ac_end=1 -ac_cc=2"));
        let hash = Sha256::digest(&extra);
        let seed = u32::from_le_bytes([hash[0], hash[1], hash[2], hash[3]]);
        let mut buf = 200000000u64.to_le_bytes().to_vec();
        buf.extend_from_slice(b"CCL");
        assert_eq!(magic_i32(crc32(seed, &buf)), 1728000348);
    }

    fn le64(v: u64) -> Vec<u8> {
        v.to_le_bytes().to_vec()
    }

    fn le32(v: u32) -> Vec<u8> {
        v.to_le_bytes().to_vec()
    }

    /// One era's 32 bytes: end, reward, halving, decay.
    fn era(end: u64, reward: u64, halving: u64, decay: u64) -> Vec<u8> {
        [le64(end), le64(reward), le64(halving), le64(decay)].concat()
    }

    const NO_PUBKEY: [u8; 33] = [0; 33];
    const PUBKEY: &str = "02df9bda7bfe2bcaa938b29a399fb0ba58cfb6cc3ddc0001062a600f60a8237ad9";

    fn pubkey_bytes() -> Vec<u8> {
        decode_hex(PUBKEY, 33)
    }

    fn extra(args: &str) -> Vec<u8> {
        extra_buffer(&params(args))
    }

    #[test]
    fn parameters_that_do_not_make_an_extra_buffer_alone() {
        for args in [
            "",
            "-ac_supply=100000000",
            "-ac_cc=2",
            "-ac_staked=10",
            "-ac_cc=2 -ac_staked=100",
            "-ac_sapling=1",
            "-ac_overwinter=1",
            "-ac_ccactivate=100",
            "-ac_ccactivateht=229,1000",
            "-ac_algo=equihash",
            "-ac_blocktime=60",
            "-ac_eras=1",
            // normalised away by komodod:
            "-ac_perc=100",
            "-ac_founders=1",
            "-ac_decay=100000000",
            "-ac_decay=100000001",
            "-ac_ccenable=229",
            "-ac_cclib=txx001",
            "-ac_eras=8",
            "-ac_timeunlockfrom=5 -ac_timeunlockto=9",
            "-ac_timelockgte=100 -ac_timeunlockfrom=9 -ac_timeunlockto=5",
        ] {
            assert_eq!(extra(args), Vec::<u8>::new(), "{args}");
        }
    }

    #[test]
    fn a_reward_makes_a_buffer_of_pubkey_one_era_and_val() {
        let expected = [NO_PUBKEY.to_vec(), era(0, 5, 0, 0), le64(0)].concat();
        assert_eq!(extra("-ac_reward=5"), expected);
        // ac_cc and ac_staked are hashed in once something else triggers.
        let val = 10 << 32 | 2 << 40;
        let expected = [NO_PUBKEY.to_vec(), era(0, 5, 0, 0), le64(val)].concat();
        assert_eq!(extra("-ac_reward=5 -ac_cc=2 -ac_staked=10"), expected);
        let capped = [NO_PUBKEY.to_vec(), era(0, 5, 0, 0), le64(100 << 32)].concat();
        assert_eq!(extra("-ac_reward=5 -ac_staked=250"), capped);
        for trigger in ["-ac_end=5", "-ac_halving=5", "-ac_decay=5"] {
            assert_eq!(extra(trigger).len(), 33 + 32 + 8, "{trigger}");
        }
    }

    #[test]
    fn eras_fill_from_the_last_value_and_add_lastera() {
        let expected = [
            NO_PUBKEY.to_vec(),
            era(10, 1, 0, 0),
            era(20, 2, 0, 0),
            era(20, 2, 0, 0),
            le64(2),
            le64(0),
        ]
        .concat();
        assert_eq!(extra("-ac_eras=3 -ac_reward=1,2 -ac_end=10,20"), expected);
        // More eras alone is a trigger.
        let expected = [
            NO_PUBKEY.to_vec(),
            era(0, 0, 0, 0),
            era(0, 0, 0, 0),
            le64(1),
            le64(0),
        ]
        .concat();
        assert_eq!(extra("-ac_eras=2"), expected);
    }

    #[test]
    fn decay_normalisation() {
        // Linear decay is kept where the era ends, dropped where it does not.
        let expected = [
            NO_PUBKEY.to_vec(),
            era(5, 0, 0, 100000000),
            era(0, 0, 0, 0),
            le64(1),
            le64(0),
        ]
        .concat();
        assert_eq!(
            extra("-ac_eras=2 -ac_decay=100000000 -ac_end=5,0"),
            expected
        );
        let expected = [NO_PUBKEY.to_vec(), era(0, 1, 0, 0), le64(0)].concat();
        assert_eq!(extra("-ac_reward=1 -ac_decay=100000001"), expected);
    }

    #[test]
    fn notarypay_adds_a_fifth_value_to_every_era() {
        let expected = [
            NO_PUBKEY.to_vec(),
            era(0, 0, 0, 0),
            le64(7),
            era(0, 0, 0, 0),
            le64(8),
            le64(1),
            le64(0),
        ]
        .concat();
        assert_eq!(extra("-ac_eras=2 -ac_notarypay=7,8"), expected);
    }

    #[test]
    fn timelock() {
        let expected = [
            NO_PUBKEY.to_vec(),
            era(0, 0, 0, 0),
            le64(100),
            le64(1),
            le64(2),
            le64(0),
        ]
        .concat();
        assert_eq!(
            extra("-ac_timelockgte=100 -ac_timeunlockfrom=1 -ac_timeunlockto=2"),
            expected
        );
    }

    #[test]
    fn val_packs_commission_staked_cc_public_private_txpow() {
        let just_val = |val: u64| [NO_PUBKEY.to_vec(), era(0, 0, 0, 0), le64(val)].concat();
        assert_eq!(extra("-ac_public=1"), just_val(0x80));
        assert_eq!(extra("-ac_private=1"), just_val(0x40));
        assert_eq!(extra("-ac_txpow=3"), just_val(3));
        assert_eq!(extra("-ac_txpow=5"), just_val(1));
        assert_eq!(
            extra("-ac_public=1 -ac_cc=70000"),
            just_val(0x80 | (70000 & 0xffff) << 40)
        );
    }

    #[test]
    fn founders_with_pubkey_or_script() {
        let head = |val: u64| [pubkey_bytes(), era(0, 0, 0, 0), le64(val)].concat();
        assert_eq!(extra(&format!("-ac_pubkey={PUBKEY}")), head(0));
        // founders without a commission gets komodod's default 35% commission.
        let expected = [head(53846154), vec![1]].concat();
        assert_eq!(
            extra(&format!("-ac_pubkey={PUBKEY} -ac_founders=1")),
            expected
        );
        let expected = [head(1000), vec![1], le32(5)].concat();
        assert_eq!(
            extra(&format!("-ac_pubkey={PUBKEY} -ac_founders=5 -ac_perc=1000")),
            expected
        );
        let expected = [head(0), vec![1], le32(5), le64(777)].concat();
        assert_eq!(
            extra(&format!(
                "-ac_pubkey={PUBKEY} -ac_founders=5 -ac_founders_reward=777"
            )),
            expected
        );
        // A founders reward without founders triggers but is not hashed.
        let expected = [NO_PUBKEY.to_vec(), era(0, 0, 0, 0), le64(0)].concat();
        assert_eq!(extra("-ac_founders_reward=777"), expected);
        // A script instead of a pubkey: zero pubkey bytes, script appended.
        let expected = [
            NO_PUBKEY.to_vec(),
            era(0, 0, 0, 0),
            le64(53846154),
            vec![1, 0x76, 0xa9],
        ]
        .concat();
        assert_eq!(extra("-ac_script=76a9 -ac_founders=1"), expected);
    }

    #[test]
    fn script_import_beam_coda_are_appended_in_order() {
        let head = [NO_PUBKEY.to_vec(), era(0, 0, 0, 0), le64(0)].concat();
        assert_eq!(
            extra("-ac_script=abcd"),
            [head.clone(), vec![0xab, 0xcd]].concat()
        );
        assert_eq!(
            extra("-ac_import=PUBKEY"),
            [head.clone(), b"PUBKEY".to_vec()].concat()
        );
        assert_eq!(
            extra("-ac_beam=1 -ac_coda=2"),
            [head.clone(), b"bc".to_vec()].concat()
        );
        assert_eq!(
            extra("-ac_coda=2 -ac_import=CODA -ac_script=00"),
            [head.clone(), vec![0], b"CODAc".to_vec()].concat()
        );
    }

    #[test]
    fn ccenable_disables_every_other_contract() {
        let head = [NO_PUBKEY.to_vec(), era(0, 0, 0, 0), le64(2 << 40)].concat();
        let mut bits = [0xffu8; 32];
        bits[0] = 0xfe; // contract 0 always stays enabled
        bits[229 >> 3] &= !(1 << (229 & 7));
        bits[236 >> 3] &= !(1 << (236 & 7));
        assert_eq!(
            extra("-ac_cc=2 -ac_ccenable=229,236"),
            [head, bits.to_vec()].concat()
        );
        // komodod's quirk: a 0 entry takes the place of a real code.
        let with_zero = extra("-ac_cc=2 -ac_ccenable=0,229");
        assert_eq!(with_zero[with_zero.len() - 32 + (229 >> 3)], 0xff);
    }

    #[test]
    fn cclib_blocktime_mineropret_nk_and_the_small_tail() {
        let head = |cc: u64| [NO_PUBKEY.to_vec(), era(0, 0, 0, 0), le64(cc << 40)].concat();
        assert_eq!(
            extra("-ac_cc=2 -ac_cclib=ab"),
            [head(2), b"ab".to_vec()].concat()
        );
        // A one-letter library triggers the buffer but is not appended.
        assert_eq!(extra("-ac_cc=2 -ac_cclib=a"), head(2));
        assert_eq!(extra("-ac_blocktime=150"), [head(0), le32(150)].concat());
        assert_eq!(extra("-ac_mineropret=0102"), [head(0), vec![1, 2]].concat());
        assert_eq!(extra("-ac_nk=96,5"), [head(0), le64(96), le64(5)].concat());
        assert_eq!(extra("-ac_snapshot=1440"), [head(0), le32(1440)].concat());
        assert_eq!(
            extra("-ac_earlytxidcontract=239"),
            [head(0), le32(239)].concat()
        );
        assert_eq!(extra("-ac_cbmaturity=1"), [head(0), le32(1)].concat());
        assert_eq!(extra("-ac_adaptivepow=6"), [head(0), vec![6]].concat());
        assert_eq!(
            extra(
                "-ac_adaptivepow=6 -ac_cbmaturity=2 -ac_snapshot=3 -ac_earlytxidcontract=4 -ac_blocktime=30"
            ),
            [head(0), le32(30), le32(3), le32(4), le32(2), vec![6]].concat()
        );
    }

    #[test]
    fn the_extra_buffer_moves_the_port_range() {
        let plain = derive("TEST", &params("-ac_supply=1000"));
        assert!((8000..8000 + 7777).contains(&plain.p2p));
        let with_extra = derive("TEST", &params("-ac_supply=1000 -ac_reward=1"));
        assert!(with_extra.p2p >= 16000);
        assert_ne!(plain.magic, with_extra.magic);
        // Neither ac_cc nor ac_sapling alone change the chain's identity.
        assert_eq!(
            derive("TEST", &params("-ac_supply=1000 -ac_cc=2 -ac_sapling=1")),
            plain
        );
    }

    #[test]
    fn komodod_value_readers() {
        assert_eq!(strtoll("12abc"), 12);
        assert_eq!(strtoll(" -7"), -7);
        assert_eq!(strtoll("abc"), 0);
        assert_eq!(strtoll(""), 0);
        assert_eq!(strtoll("99999999999999999999"), i64::MAX);
        assert_eq!(split("1,2", 4), vec![1, 2, 2, 2]);
        assert_eq!(split("", 3), vec![0, 0, 0]);
        assert_eq!(split("1 , 2 3", 4), vec![1, 2, 3, 3]);
        assert_eq!(split("1,,2", 3), vec![1, 1, 1]);
        assert_eq!(split("-1", 1), vec![u64::MAX]);
        assert_eq!(split("5x,6", 2), vec![5, 5]);
    }
}
