//! The `-ac_*` parameters komodod knows, how each one's value is written on the
//! command line, and how to check a value before it reaches komodod.
//!
//! komodod parses these leniently: `strtoll` for single integers (so `12abc` is
//! 12 and `abc` is 0), a stream reader for comma lists (stopping silently at the
//! first thing that is not a number), and it silently clamps, truncates or drops
//! values it does not like. Every such silent change makes a different chain
//! with a different magic and port, so `check` accepts only values komodod
//! reads exactly as written. The list and the parsing follow komodod's
//! `komodo_args` (src/komodo_utils.cpp, KomodoPlatform/komodo, 0.8/0.9 line).

use std::collections::BTreeMap;

/// How a value is written after `-ac_x=`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// One decimal integer.
    Int,
    /// Comma-separated decimal integers (one per era, eval codes, N,K pairs).
    IntList,
    /// Hex bytes, an even number of hex digits.
    Hex,
    /// A word (an algorithm name, a cc library name, an import kind).
    Word,
}

/// What `check` accepts, beyond the kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rule {
    /// One integer in `min..=max` (komodod's field type or its own limit).
    Range { min: i64, max: i64 },
    /// At most 7 integers (one per era), each at most `max`.
    Eras { max: u64 },
    /// Distinct eval codes 1..=255.
    EvalCodes,
    /// Pairs of eval code and activation height.
    EvalHeights,
    /// `N,K`, one of the equihash parameter sets komodod supports.
    EquihashNk,
    /// Any non-empty even-length hex string.
    HexBytes,
    /// A compressed secp256k1 public key: 66 hex digits starting 02 or 03.
    PubKey,
    /// One of a fixed set of words.
    OneOf(&'static [&'static str]),
    /// Letters, digits and underscores.
    Name,
}

#[derive(Debug)]
pub struct Param {
    /// The name as in the YAML, `ac_supply`; on komodod's command line `-ac_supply=`.
    pub name: &'static str,
    pub kind: Kind,
    pub rule: Rule,
    /// One line for operators: what the parameter does.
    pub doc: &'static str,
}

/// Parameters only a fork of komodod reads (mainline komodod silently ignores
/// them, which would make a different chain): a chain that sets one must name
/// its fork's binary with `daemon`.
pub const FORK_PARAMS: &[&str] = &["ac_marmara"];

/// komodod's ASSETCHAINS_MAX_ERAS.
pub const MAX_ERAS: usize = 7;

/// komodod refuses (`StartShutdown`) a larger -ac_supply.
pub const MAX_SUPPLY: i64 = 90_000_000_000;

/// The equihash (N, K) pairs komodod's `equihash_params_possible` allows; any
/// other pair with both values non-zero makes komodod exit.
pub const EQUIHASH_NK: &[(u64, u64)] = &[(200, 9), (210, 9), (150, 5), (144, 5), (96, 5), (48, 5)];

/// Algorithms current komodod knows (ASSETCHAINS_ALGORITHMS). Any other name is
/// silently replaced by equihash.
pub const ALGORITHMS: &[&str] = &["equihash"];

/// `-ac_import` kinds komodod names (any other word is taken as a gateway coin).
pub const IMPORT_KINDS: &[&str] = &["PUBKEY", "BEAM", "CODA", "GATEWAY"];

const I32_MAX: i64 = i32::MAX as i64;
const U16_MAX: i64 = u16::MAX as i64;
const U8_MAX: i64 = u8::MAX as i64;

const fn int(name: &'static str, min: i64, max: i64, doc: &'static str) -> Param {
    Param {
        name,
        kind: Kind::Int,
        rule: Rule::Range { min, max },
        doc,
    }
}

const fn eras(name: &'static str, max: u64, doc: &'static str) -> Param {
    Param {
        name,
        kind: Kind::IntList,
        rule: Rule::Eras { max },
        doc,
    }
}

/// Every `-ac_*` parameter current komodod reads in `komodo_args`, except
/// `ac_name`. (Older komodod also read `ac_veruspos`, `ac_cbopret`, `ac_prices`,
/// `ac_stocks`; current komodod ignores them, so they are not accepted.)
pub const PARAMS: &[Param] = &[
    int(
        "ac_supply",
        0,
        MAX_SUPPLY,
        "coins created in block 1, in whole coins (default 10)",
    ),
    eras("ac_reward", u64::MAX, "block reward per era, in satoshis"),
    eras(
        "ac_halving",
        u64::MAX,
        "blocks between reward halvings (or decay steps), per era",
    ),
    eras(
        "ac_decay",
        100_000_000,
        "reward multiplier per halving in 1e-8 units, per era; 100000000 means linear (needs ac_end)",
    ),
    eras(
        "ac_end",
        u64::MAX,
        "block height at which each era's reward ends (0: never)",
    ),
    int(
        "ac_eras",
        1,
        MAX_ERAS as i64,
        "number of reward eras, 1 to 7",
    ),
    eras(
        "ac_notarypay",
        u64::MAX,
        "satoshis paid to the notaries per notarisation, per era",
    ),
    int(
        "ac_perc",
        0,
        i64::MAX,
        "commission paid to ac_pubkey/ac_script, in 1e-8 of the block reward",
    ),
    int(
        "ac_founders",
        0,
        I32_MAX,
        "pay the founders reward every N blocks (needs ac_pubkey or ac_script)",
    ),
    int(
        "ac_founders_reward",
        0,
        i64::MAX,
        "founders reward in satoshis, paid every ac_founders blocks",
    ),
    Param {
        name: "ac_pubkey",
        kind: Kind::Hex,
        rule: Rule::PubKey,
        doc: "compressed public key that receives commission and founders rewards",
    },
    Param {
        name: "ac_script",
        kind: Kind::Hex,
        rule: Rule::HexBytes,
        doc: "scriptPubKey (hex) that receives commission and founders rewards",
    },
    Param {
        name: "ac_import",
        kind: Kind::Word,
        rule: Rule::OneOf(IMPORT_KINDS),
        doc: "self-import kind: PUBKEY, BEAM, CODA or GATEWAY",
    },
    int(
        "ac_timelockgte",
        0,
        i64::MAX,
        "coinbase outputs of at least this many satoshis are time-locked",
    ),
    int(
        "ac_timeunlockfrom",
        0,
        i64::MAX,
        "lower bound of the random unlock time of time-locked coinbases",
    ),
    int(
        "ac_timeunlockto",
        0,
        i64::MAX,
        "upper bound of the random unlock time of time-locked coinbases",
    ),
    Param {
        name: "ac_algo",
        kind: Kind::Word,
        rule: Rule::OneOf(ALGORITHMS),
        doc: "mining algorithm; current komodod knows only equihash",
    },
    Param {
        name: "ac_ccactivateht",
        kind: Kind::IntList,
        rule: Rule::EvalHeights,
        doc: "eval code,height pairs: activate each contract at that height",
    },
    int(
        "ac_blocktime",
        1,
        I32_MAX,
        "target seconds between blocks (default 60)",
    ),
    int(
        "ac_cc",
        0,
        U16_MAX,
        "CryptoConditions contracts: 0 off, otherwise on (the value also groups chains)",
    ),
    Param {
        name: "ac_ccenable",
        kind: Kind::IntList,
        rule: Rule::EvalCodes,
        doc: "eval codes of the only contracts to enable (needs ac_cc)",
    },
    Param {
        name: "ac_cclib",
        kind: Kind::Word,
        rule: Rule::Name,
        doc: "name of the custom contract library (needs ac_cc)",
    },
    // komodod keeps these in a uint8_t and only asks whether they are
    // non-zero: 2-255 is 1, and 256 silently becomes 0.
    int(
        "ac_public",
        0,
        U8_MAX,
        "non-zero (1): transparent only, no shielded transactions",
    ),
    int(
        "ac_private",
        0,
        U8_MAX,
        "non-zero (1): shielded only, no transparent transactions apart from coinbase (PIRATE and ZOMBIE only)",
    ),
    int("ac_txpow", 0, 3, "transaction proof of work level, 0 to 3"),
    int(
        "ac_staked",
        0,
        100,
        "percentage of blocks found by staking, 0 to 100",
    ),
    int("ac_sapling", 0, I32_MAX, "Sapling activation height"),
    int(
        "ac_overwinter",
        0,
        I32_MAX,
        "Overwinter activation height (default: ac_sapling)",
    ),
    int(
        "ac_ccactivate",
        0,
        I32_MAX,
        "height at which CryptoConditions activate",
    ),
    int(
        "ac_beam",
        0,
        U16_MAX,
        "BEAM rpc port for ac_import=BEAM (current komodod refuses non-zero)",
    ),
    int("ac_coda", 0, U16_MAX, "CODA rpc port for ac_import=CODA"),
    int(
        "ac_marmara",
        0,
        255,
        "Marmara's komodod fork only (MCL): its credit loops; needs the chain's `daemon`",
    ),
    Param {
        name: "ac_mineropret",
        kind: Kind::Hex,
        rule: Rule::HexBytes,
        doc: "bytes (hex) the miner adds to the coinbase OP_RETURN",
    },
    Param {
        name: "ac_nk",
        kind: Kind::IntList,
        rule: Rule::EquihashNk,
        doc: "equihash parameters N,K",
    },
    int(
        "ac_snapshot",
        0,
        I32_MAX,
        "blocks between address-balance snapshots",
    ),
    int(
        "ac_earlytxidcontract",
        0,
        I32_MAX,
        "eval code of the contract bound to -earlytxid",
    ),
    int(
        "ac_cbmaturity",
        0,
        I32_MAX,
        "confirmations before a coinbase can be spent",
    ),
    int(
        "ac_adaptivepow",
        0,
        i8::MAX as i64,
        "adaptive proof of work difficulty adjustment",
    ),
];

pub fn lookup(name: &str) -> Option<&'static Param> {
    PARAMS.iter().find(|p| p.name == name)
}

/// Checks a value exactly as it would be written after `-ac_x=`.
/// The error says what was expected, for example "a non-negative integer".
pub fn check(param: &Param, value: &str) -> Result<(), String> {
    match param.rule {
        Rule::Range { min, max } => check_range(value, min, max),
        Rule::Eras { max } => check_eras(value, max),
        Rule::EvalCodes => check_eval_codes(value),
        Rule::EvalHeights => check_eval_heights(value),
        Rule::EquihashNk => check_nk(value),
        Rule::HexBytes => {
            if !value.is_empty() && value.len() % 2 == 0 && is_hex(value) {
                Ok(())
            } else {
                Err("an even number of hex digits".into())
            }
        }
        Rule::PubKey => {
            if value.len() == 66
                && is_hex(value)
                && (value.starts_with("02") || value.starts_with("03"))
            {
                Ok(())
            } else {
                Err("66 hex characters (a compressed public key)".into())
            }
        }
        Rule::OneOf(words) => {
            if words.contains(&value) {
                Ok(())
            } else if words.len() == 1 {
                Err(words[0].to_string())
            } else {
                Err(format!("one of {}", words.join(", ")))
            }
        }
        Rule::Name => {
            if !value.is_empty()
                && value
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_')
            {
                Ok(())
            } else {
                Err("a word of letters, digits and underscores".into())
            }
        }
    }
}

/// Checks parameters that are each valid but that komodod silently ignores or
/// changes in combination (so the chain would not be the one the operator
/// wrote). `params` maps names to values as in `ports::derive`; every value is
/// assumed to have passed `check`.
pub fn check_combination(params: &BTreeMap<String, String>) -> Result<(), String> {
    let has = |name: &str| params.contains_key(name);
    let nonzero = |name: &str| {
        params
            .get(name)
            .is_some_and(|v| v.bytes().any(|b| b != b'0' && b != b','))
    };
    let cc = nonzero("ac_cc");
    for needs_cc in ["ac_ccenable", "ac_cclib"] {
        if has(needs_cc) && !cc {
            return Err(format!(
                "{needs_cc} needs a non-zero ac_cc (komodod ignores it otherwise)"
            ));
        }
    }
    let payee = has("ac_pubkey") || has("ac_script");
    for needs_payee in ["ac_perc", "ac_founders"] {
        if nonzero(needs_payee) && !payee {
            return Err(format!(
                "{needs_payee} needs ac_pubkey or ac_script (komodod sets it to 0 otherwise)"
            ));
        }
    }
    if nonzero("ac_founders_reward") && !nonzero("ac_founders") {
        return Err("ac_founders_reward needs ac_founders".into());
    }
    if nonzero("ac_perc") && nonzero("ac_founders_reward") {
        // komodo_args 1209-1212.
        return Err(
            "ac_perc and ac_founders_reward cannot both be set: komodod refuses to start \
             (\"cannot use founders reward and commission on the same chain.\")"
                .into(),
        );
    }
    let list = |name: &str| -> Vec<u64> {
        params
            .get(name)
            .map(|v| v.split(',').filter_map(|x| x.parse().ok()).collect())
            .unwrap_or_default()
    };
    let decay = list("ac_decay");
    let end = list("ac_end");
    let eras = params
        .get("ac_eras")
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(1);
    for era in 0..eras.clamp(1, MAX_ERAS) {
        // komodod fills missing eras with the last value given.
        let at = |v: &[u64]| v.get(era).or(v.last()).copied().unwrap_or(0);
        if at(&decay) == 100_000_000 && at(&end) == 0 {
            return Err(format!(
                "ac_decay=100000000 (linear) in era {} needs a non-zero ac_end for that era \
                 (komodod sets the decay to 0 otherwise)",
                era + 1
            ));
        }
    }
    let num = |name: &str| {
        params
            .get(name)
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    if num("ac_timeunlockfrom") > num("ac_timeunlockto") {
        return Err(
            "ac_timeunlockfrom must not be above ac_timeunlockto (komodod turns the time lock off)"
                .into(),
        );
    }
    Ok(())
}

/// The chains komodod lets run with `-ac_private` (`allowedPrivateOnly`).
pub const PRIVATE_CHAINS: &[&str] = &["PIRATE", "ZOMBIE"];

/// komodod's `ac_supply` limit for a chain with `ac_pubkey` or `ac_script`.
pub const MAX_SUPPLY_WITH_PAYEE: u64 = 10_000_000_000;

/// Refuses what komodod refuses at start-up (`komodo_args` in
/// src/komodo_utils.cpp, KomodoPlatform/komodo v0.9.0: `StartShutdown`, an
/// exception, `exit`): such a chain would pass `check` and then make its
/// container restart forever. The line numbers are komodo_args' (docs/komodod.md
/// has the whole list). `params` as in `check_combination`, after it.
pub fn check_startup(ac_name: &str, params: &BTreeMap<String, String>) -> Result<(), String> {
    let num = |name: &str, default: u64| {
        params
            .get(name)
            .and_then(|v| v.split(',').next())
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(default)
    };
    // 1605-1612: a throw after StartShutdown.
    if num("ac_private", 0) != 0 && !PRIVATE_CHAINS.contains(&ac_name) {
        return Err(format!(
            "ac_private is allowed only on {}: komodod refuses to start any other chain \
             with it (\"-ac_private for a non-PIRATE chain is not supported\")",
            PRIVATE_CHAINS.join(" and ")
        ));
    }
    // 1248-1251, before ac_import is read.
    if num("ac_beam", 0) != 0 {
        return Err(
            "ac_beam must be 0: current komodod refuses to start with any other value \
             (\"can only have one of -ac_beam or -ac_coda\")"
                .into(),
        );
    }
    let payee = params.contains_key("ac_pubkey") || params.contains_key("ac_script");
    match params.get("ac_import").map(String::as_str) {
        None => {}
        // 1255-1259: strlen(ac_pubkey) != 66.
        Some("PUBKEY") if !params.contains_key("ac_pubkey") => {
            return Err(
                "ac_import=PUBKEY needs ac_pubkey: komodod refuses to start without it \
                 (\"invalid -ac_pubkey for -ac_import=PUBKEY\")"
                    .into(),
            );
        }
        Some("PUBKEY") => {}
        // 1263-1267 with 1248-1251: BEAM needs a non-zero ac_beam, which is refused.
        Some("BEAM") => {
            return Err(
                "ac_import=BEAM cannot start: komodod needs a non-zero ac_beam for it \
                 (\"missing -ac_beam for BEAM rpcport\") and refuses every non-zero ac_beam"
                    .into(),
            );
        }
        // 1271-1275.
        Some("CODA") if num("ac_coda", 0) == 0 => {
            return Err(
                "ac_import=CODA needs a non-zero ac_coda (CODA's RPC port): komodod \
                 refuses to start without it (\"missing -ac_coda for CODA rpcport\")"
                    .into(),
            );
        }
        Some("CODA") => {}
        // 1279-1282: any other word is a gateway coin. ac_supply defaults to 10.
        Some(other)
            if num("ac_end", 0) != 1 || num("ac_supply", 10) != 0 || num("ac_perc", 0) != 0 =>
        {
            return Err(format!(
                "ac_import={other} needs ac_end: 1 (its first era), ac_supply: 0 and no \
                 ac_perc: komodod refuses to start otherwise (\"when using gateway import \
                 these must be set: -ac_end=1 -ac_supply=0 -ac_perc=0\")"
            ));
        }
        Some(_) => {}
    }
    if payee {
        // 1300-1303.
        if num("ac_supply", 10) > MAX_SUPPLY_WITH_PAYEE {
            return Err(format!(
                "ac_supply above {MAX_SUPPLY_WITH_PAYEE} cannot go with ac_pubkey or ac_script: \
                 komodod refuses to start (\"ac_pubkey or ac_script wont work with ac_supply \
                 over 10 billion\")"
            ));
        }
        // 1305-1308: the first era's notary pay.
        if num("ac_notarypay", 0) != 0 {
            return Err(
                "ac_notarypay (its first era) cannot go with ac_pubkey or ac_script: \
                 komodod refuses to start (\"Assetchains NOTARY PAY cannot be used with \
                 ac_pubkey or ac_script.\")"
                    .into(),
            );
        }
    }
    Ok(())
}

fn is_hex(s: &str) -> bool {
    s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// A plain decimal number: digits only, no sign, no spaces, and it fits u64.
fn decimal(s: &str) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

fn check_range(value: &str, min: i64, max: i64) -> Result<(), String> {
    let expected = || {
        if min == 0 && max == i64::MAX {
            "a non-negative integer".to_string()
        } else if min == 1 && max == i64::from(i32::MAX) {
            "a positive integer".to_string()
        } else if min == 0 && max == i64::from(i32::MAX) {
            format!("a non-negative integer up to {max}")
        } else if min == 0 && max == 1 {
            "0 or 1".to_string()
        } else {
            format!("an integer from {min} to {max}")
        }
    };
    // min is never negative in PARAMS, so a sign is always wrong.
    match decimal(value) {
        Some(n) if i64::try_from(n).is_ok_and(|n| (min..=max).contains(&n)) => Ok(()),
        _ => Err(expected()),
    }
}

fn list(value: &str) -> Option<Vec<u64>> {
    value.split(',').map(decimal).collect()
}

fn check_eras(value: &str, max: u64) -> Result<(), String> {
    let expected = || {
        if max == u64::MAX {
            format!("a comma-separated list of at most {MAX_ERAS} non-negative integers")
        } else {
            format!("a comma-separated list of at most {MAX_ERAS} integers from 0 to {max}")
        }
    };
    match list(value) {
        Some(v) if v.len() <= MAX_ERAS && v.iter().all(|&n| n <= max) => Ok(()),
        _ => Err(expected()),
    }
}

fn check_eval_codes(value: &str) -> Result<(), String> {
    let expected = || "a comma-separated list of distinct eval codes from 1 to 255".to_string();
    let codes = list(value).ok_or_else(expected)?;
    // komodod counts entries against the previous one and then enables the
    // first N entries, so a 0 or a repeated code silently disables another code.
    let distinct = codes
        .iter()
        .enumerate()
        .all(|(i, c)| !codes[..i].contains(c));
    if codes.iter().all(|c| (1..=255).contains(c)) && distinct {
        Ok(())
    } else {
        Err(expected())
    }
}

fn check_eval_heights(value: &str) -> Result<(), String> {
    let expected = || {
        "comma-separated pairs of eval code (1 to 255, distinct) and height, the last height above 255"
            .to_string()
    };
    let v = list(value).ok_or_else(expected)?;
    if v.len() % 2 != 0 || v.len() > 510 {
        return Err(expected());
    }
    let codes: Vec<u64> = v.iter().step_by(2).copied().collect();
    let distinct = codes
        .iter()
        .enumerate()
        .all(|(i, c)| !codes[..i].contains(c));
    let heights_ok = v
        .iter()
        .skip(1)
        .step_by(2)
        .all(|&h| (1..=i32::MAX as u64).contains(&h));
    // komodod pads the list with the last height and reads one pair past the
    // end: a last height that is itself a valid eval code activates that code.
    let last_ok = v.last().is_some_and(|&h| h > 255);
    if codes.iter().all(|c| (1..=255).contains(c)) && distinct && heights_ok && last_ok {
        Ok(())
    } else {
        Err(expected())
    }
}

fn check_nk(value: &str) -> Result<(), String> {
    let pairs: Vec<String> = EQUIHASH_NK
        .iter()
        .map(|(n, k)| format!("{n},{k}"))
        .collect();
    match list(value).as_deref() {
        Some(&[n, k]) if EQUIHASH_NK.contains(&(n, k)) => Ok(()),
        _ => Err(format!("N,K as one of {}", pairs.join(" "))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(name: &str, value: &str) {
        let p = lookup(name).unwrap_or_else(|| panic!("{name} unknown"));
        assert_eq!(check(p, value), Ok(()), "{name}={value} should pass");
    }

    fn bad(name: &str, value: &str, expected: &str) {
        let p = lookup(name).unwrap_or_else(|| panic!("{name} unknown"));
        assert_eq!(
            check(p, value),
            Err(expected.to_string()),
            "{name}={value} should fail"
        );
    }

    #[test]
    fn the_table_has_every_parameter_komodod_reads_but_ac_name() {
        assert_eq!(PARAMS.len(), 37 + FORK_PARAMS.len());
        assert!(FORK_PARAMS.iter().all(|f| lookup(f).is_some()));
        assert!(lookup("ac_name").is_none());
        for p in PARAMS {
            assert!(p.name.starts_with("ac_"), "{}", p.name);
            assert!(!p.doc.is_empty(), "{}", p.name);
            assert_eq!(
                PARAMS.iter().filter(|q| q.name == p.name).count(),
                1,
                "{} twice",
                p.name
            );
        }
        // The spellings that history shows slipping through komodod.
        assert!(lookup("ac_suply").is_none());
        assert!(lookup("ac_saplinig").is_none());
        // Read by older komodod only.
        assert!(lookup("ac_veruspos").is_none());
        assert!(lookup("ac_cbopret").is_none());
    }

    #[test]
    fn kinds_follow_how_komodod_reads_the_value() {
        for name in [
            "ac_end",
            "ac_reward",
            "ac_halving",
            "ac_decay",
            "ac_notarypay",
            "ac_ccenable",
            "ac_nk",
        ] {
            assert_eq!(lookup(name).map(|p| p.kind), Some(Kind::IntList), "{name}");
        }
        for name in ["ac_pubkey", "ac_script", "ac_mineropret"] {
            assert_eq!(lookup(name).map(|p| p.kind), Some(Kind::Hex), "{name}");
        }
        for name in ["ac_algo", "ac_cclib", "ac_import"] {
            assert_eq!(lookup(name).map(|p| p.kind), Some(Kind::Word), "{name}");
        }
        assert_eq!(lookup("ac_supply").map(|p| p.kind), Some(Kind::Int));
    }

    #[test]
    fn integers_are_plain_digits() {
        ok("ac_supply", "100000000");
        ok("ac_supply", "0");
        ok("ac_perc", "11111111");
        ok("ac_founders_reward", "9223372036854775807");
        for v in [
            "",
            "-1",
            "+1",
            "1.5",
            "12abc",
            "abc",
            "0x10",
            "1e3",
            "1,2",
            "9223372036854775808",
        ] {
            bad("ac_perc", v, "a non-negative integer");
        }
    }

    #[test]
    fn integers_stay_in_the_range_komodod_keeps() {
        ok("ac_supply", "90000000000");
        bad(
            "ac_supply",
            "90000000001",
            "an integer from 0 to 90000000000",
        );
        ok("ac_eras", "7");
        bad("ac_eras", "0", "an integer from 1 to 7");
        bad("ac_eras", "8", "an integer from 1 to 7");
        ok("ac_staked", "100");
        bad("ac_staked", "101", "an integer from 0 to 100");
        ok("ac_txpow", "3");
        bad("ac_txpow", "4", "an integer from 0 to 3");
        ok("ac_public", "1");
        ok("ac_public", "255");
        bad("ac_public", "256", "an integer from 0 to 255");
        bad("ac_private", "256", "an integer from 0 to 255");
        ok("ac_cc", "65535");
        bad("ac_cc", "65536", "an integer from 0 to 65535");
        ok("ac_blocktime", "150");
        bad("ac_blocktime", "0", "a positive integer");
        ok("ac_cbmaturity", "2147483647");
        bad(
            "ac_cbmaturity",
            "2147483648",
            "a non-negative integer up to 2147483647",
        );
        ok("ac_adaptivepow", "6");
        bad("ac_adaptivepow", "128", "an integer from 0 to 127");
        bad("ac_beam", "65536", "an integer from 0 to 65535");
    }

    #[test]
    fn era_lists_take_at_most_seven_numbers() {
        ok(
            "ac_reward",
            "700000000,600000000,500000000,400000000,300000000,200000000,0",
        );
        ok("ac_end", "128,340000,5422111");
        ok("ac_halving", "77777");
        ok("ac_reward", "18446744073709551615");
        let expected = "a comma-separated list of at most 7 non-negative integers";
        for v in [
            "1,2,3,4,5,6,7,8",
            "",
            "1,",
            ",1",
            "1,,2",
            "1 2",
            "1;2",
            "-1",
            "1,-2",
            "18446744073709551616",
        ] {
            bad("ac_reward", v, expected);
        }
        ok("ac_decay", "100000000,97750000,0");
        bad(
            "ac_decay",
            "100000001",
            "a comma-separated list of at most 7 integers from 0 to 100000000",
        );
    }

    #[test]
    fn eval_codes_are_distinct_and_in_range() {
        ok("ac_ccenable", "228,234,235,236,241");
        ok("ac_ccenable", "229");
        let expected = "a comma-separated list of distinct eval codes from 1 to 255";
        for v in [
            "",
            "256",
            "0",
            "0,229",
            "229,229,236",
            "229,236,229",
            "229,",
            "e5",
        ] {
            bad("ac_ccenable", v, expected);
        }
    }

    #[test]
    fn activation_heights_come_in_pairs() {
        ok("ac_ccactivateht", "229,1000,236,2000");
        let expected = "comma-separated pairs of eval code (1 to 255, distinct) and height, the last height above 255";
        for v in [
            "229",
            "229,1000,236",
            "229,100",
            "256,1000",
            "229,1000,229,2000",
            "229,0,236,1000",
        ] {
            bad("ac_ccactivateht", v, expected);
        }
    }

    #[test]
    fn nk_is_a_pair_komodod_can_mine() {
        ok("ac_nk", "96,5");
        ok("ac_nk", "200,9");
        let expected = "N,K as one of 200,9 210,9 150,5 144,5 96,5 48,5";
        for v in ["96", "96,5,1", "100,5", "0,0", "96,9"] {
            bad("ac_nk", v, expected);
        }
    }

    #[test]
    fn hex_values() {
        ok(
            "ac_pubkey",
            "02df9bda7bfe2bcaa938b29a399fb0ba58cfb6cc3ddc0001062a600f60a8237ad9",
        );
        ok(
            "ac_pubkey",
            "03DF9BDA7BFE2BCAA938B29A399FB0BA58CFB6CC3DDC0001062A600F60A8237AD9",
        );
        let expected = "66 hex characters (a compressed public key)";
        bad(
            "ac_pubkey",
            "04df9bda7bfe2bcaa938b29a399fb0ba58cfb6cc3ddc0001062a600f60a8237ad9",
            expected,
        );
        bad(
            "ac_pubkey",
            "02df9bda7bfe2bcaa938b29a399fb0ba58cfb6cc3ddc0001062a600f60a8237ad",
            expected,
        );
        bad(
            "ac_pubkey",
            "02df9bda7bfe2bcaa938b29a399fb0ba58cfb6cc3ddc0001062a600f60a8237adz",
            expected,
        );
        bad("ac_pubkey", "", expected);
        ok(
            "ac_script",
            "76a9145eb10cf64f2bab1b457f1f25e658526155928fac88ac",
        );
        ok("ac_mineropret", "00");
        for v in ["", "abc", "0g", "0x00"] {
            bad("ac_script", v, "an even number of hex digits");
            bad("ac_mineropret", v, "an even number of hex digits");
        }
    }

    #[test]
    fn words() {
        ok("ac_algo", "equihash");
        bad("ac_algo", "verushash", "equihash");
        bad("ac_algo", "Equihash", "equihash");
        ok("ac_import", "PUBKEY");
        bad("ac_import", "PUBKY", "one of PUBKEY, BEAM, CODA, GATEWAY");
        ok("ac_cclib", "txx001");
        bad("ac_cclib", "", "a word of letters, digits and underscores");
        bad(
            "ac_cclib",
            "a/b",
            "a word of letters, digits and underscores",
        );
    }

    fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn combinations_komodod_silently_changes_are_refused() {
        let txx001 = map(&[
            ("ac_founders", "1"),
            ("ac_cc", "2"),
            ("ac_cclib", "txx001"),
            ("ac_ccenable", "228,234"),
            ("ac_perc", "11111111"),
            (
                "ac_script",
                "76a9145eb10cf64f2bab1b457f1f25e658526155928fac88ac",
            ),
        ]);
        assert_eq!(check_combination(&txx001), Ok(()));
        let err = |pairs: &[(&str, &str)]| check_combination(&map(pairs)).unwrap_err();
        assert!(err(&[("ac_ccenable", "229")]).starts_with("ac_ccenable needs a non-zero ac_cc"));
        assert!(err(&[("ac_cc", "0"), ("ac_cclib", "x1")]).starts_with("ac_cclib needs"));
        assert!(err(&[("ac_perc", "100")]).starts_with("ac_perc needs ac_pubkey or ac_script"));
        assert!(err(&[("ac_founders", "1")]).starts_with("ac_founders needs"));
        assert!(err(&[("ac_decay", "100000000")]).contains("era 1"));
        let three = [
            ("ac_eras", "3"),
            ("ac_decay", "0,100000000"),
            ("ac_end", "10,20,0"),
        ];
        assert!(err(&three).contains("era 3"));
        assert_eq!(
            check_combination(&map(&[("ac_decay", "100000000"), ("ac_end", "5")])),
            Ok(())
        );
        // Era 3 does not exist with two eras, so its decay is never used.
        let two_eras = map(&[
            ("ac_eras", "2"),
            ("ac_decay", "0,100000000"),
            ("ac_end", "10,20,0"),
        ]);
        assert_eq!(check_combination(&two_eras), Ok(()));
        assert!(
            err(&[("ac_timeunlockfrom", "10"), ("ac_timeunlockto", "5")])
                .starts_with("ac_timeunlockfrom")
        );
        assert_eq!(
            check_combination(&map(&[("ac_perc", "0"), ("ac_cc", "2")])),
            Ok(())
        );
    }

    #[test]
    fn what_komodod_refuses_at_start_up_is_refused() {
        let pubkey = (
            "ac_pubkey",
            "02df9bda7bfe2bcaa938b29a399fb0ba58cfb6cc3ddc0001062a600f60a8237ad9",
        );
        let script = ("ac_script", "76a914");
        let startup = |name: &str, pairs: &[(&str, &str)]| check_startup(name, &map(pairs));
        let refused = |name: &str, pairs: &[(&str, &str)], start: &str| {
            let err = startup(name, pairs).unwrap_err();
            assert!(err.starts_with(start), "{pairs:?}: {err}");
        };
        // The published chains start.
        assert_eq!(
            startup("PIRATE", &[("ac_private", "1"), ("ac_supply", "0")]),
            Ok(())
        );
        assert_eq!(startup("ZOMBIE", &[("ac_private", "1")]), Ok(()));
        assert_eq!(startup("BEER", &[("ac_private", "0")]), Ok(()));
        refused(
            "BEER",
            &[("ac_private", "1")],
            "ac_private is allowed only on PIRATE and ZOMBIE",
        );
        refused(
            "pirate",
            &[("ac_private", "2")],
            "ac_private is allowed only",
        );
        assert_eq!(startup("X", &[("ac_beam", "0")]), Ok(()));
        refused("X", &[("ac_beam", "1")], "ac_beam must be 0");
        refused(
            "X",
            &[("ac_import", "PUBKEY")],
            "ac_import=PUBKEY needs ac_pubkey",
        );
        assert_eq!(startup("X", &[("ac_import", "PUBKEY"), pubkey]), Ok(()));
        refused("X", &[("ac_import", "BEAM")], "ac_import=BEAM cannot start");
        refused(
            "X",
            &[("ac_import", "CODA")],
            "ac_import=CODA needs a non-zero ac_coda",
        );
        refused(
            "X",
            &[("ac_import", "CODA"), ("ac_coda", "0")],
            "ac_import=CODA needs",
        );
        assert_eq!(
            startup("X", &[("ac_import", "CODA"), ("ac_coda", "8302")]),
            Ok(())
        );
        let gateway = [
            ("ac_import", "GATEWAY"),
            ("ac_end", "1"),
            ("ac_supply", "0"),
        ];
        assert_eq!(startup("X", &gateway), Ok(()));
        assert_eq!(
            startup(
                "X",
                &[gateway[0], ("ac_end", "1,5"), gateway[2], ("ac_perc", "0")]
            ),
            Ok(())
        );
        for bad in [
            vec![gateway[0], gateway[1]],
            vec![gateway[0], gateway[2]],
            vec![gateway[0], ("ac_end", "2"), gateway[2]],
            vec![gateway[0], gateway[1], ("ac_supply", "1")],
            vec![gateway[0], gateway[1], gateway[2], ("ac_perc", "1"), pubkey],
        ] {
            refused("X", &bad, "ac_import=GATEWAY needs ac_end: 1");
        }
        assert_eq!(
            startup("X", &[pubkey, ("ac_supply", "10000000000")]),
            Ok(())
        );
        refused(
            "X",
            &[pubkey, ("ac_supply", "10000000001")],
            "ac_supply above 10000000000",
        );
        refused(
            "X",
            &[script, ("ac_supply", "90000000000")],
            "ac_supply above",
        );
        assert_eq!(startup("X", &[("ac_supply", "90000000000")]), Ok(()));
        refused(
            "X",
            &[pubkey, ("ac_notarypay", "100")],
            "ac_notarypay (its first era)",
        );
        refused("X", &[script, ("ac_notarypay", "5,0")], "ac_notarypay");
        assert_eq!(startup("X", &[pubkey, ("ac_notarypay", "0,100")]), Ok(()));
        assert_eq!(startup("X", &[("ac_notarypay", "100")]), Ok(()));
    }
}
