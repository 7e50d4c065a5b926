//! YAML inputs for the property tests (tests/properties.rs) and the parser's
//! differential tests (tests/yaml_oracle.rs): mutations of the examples, and
//! generated notary YAML with values of every type.
#![allow(dead_code)]

use dokomodo::config::CHAIN_KEYS;
use dokomodo::config::acparams::{self, PARAMS};
use proptest::prelude::*;
use proptest::sample::Index;

/// Cases per property unless `PROPTEST_CASES` says otherwise: small enough
/// for the debug test run, raised for the long runs (docs/testing.md).
pub const DEFAULT_CASES: u32 = 256;

/// Every property's configuration. No regression files: every failure found
/// becomes a named test in the file that found it.
pub fn cases() -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(DEFAULT_CASES);
    ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

pub const NOTARY: &str = include_str!("../../examples/notary.yaml");
pub const PRODUCTION: &str = include_str!("../../examples/all-chains.yaml");

// ---------------------------------------------------------------- mutations of the examples

/// Values of every YAML type, and the ways people get them wrong.
pub const SCALARS: &[&str] = &[
    "0",
    "1",
    "-1",
    "100000000",
    "90000000001",
    "99999999999999999999999999999999999999999",
    "-9223372036854775809",
    "18446744073709551616",
    "0x10",
    "0o7",
    "1e8",
    "1.5",
    ".inf",
    "-.nan",
    "true",
    "false",
    "yes",
    "no",
    "on",
    "null",
    "~",
    "\"\"",
    "''",
    "\"100000000\"",
    "'1,2,3'",
    "[]",
    "{}",
    "[1, 2, 3]",
    "[a, [b]]",
    "{a: 1}",
    "{ac_supply: 5}",
    "&x 5",
    "*x",
    "*nothing",
    "!!str 5",
    "!!int x",
    "!!binary aGVsbG8=",
    "!!map {}",
    "!custom 1",
    "|\n  block",
    ">-\n  folded",
    "\"\\u0000\"",
    "\"\\x7f\"",
    "\"a\\nb\"",
    "../../etc",
    "/abs",
    "a b",
    "#comment",
    "\"#\"",
    "=",
    ":",
    "- x",
    "? complex",
    "@reserved",
    "`tick",
    "%YAML 1.2",
    "---",
    "...",
    "\t",
    "02abc",
    "172.20.0.0/16",
    "\u{feff}",
    "é",
    "\u{202e}KMD",
];

pub const LINES: &[&str] = &[
    "",
    "---",
    "...",
    "chains:",
    "chains: {}",
    "chains: []",
    "  KMD: {}",
    "  BEER:",
    "    ac_supply: 1",
    "    ac_name: KMD",
    "    datadir: ..",
    "    host: 127.0.0.1",
    "    p2p_port: 8922",
    "    rpc_port: 1",
    "    p2p_port_override: 0",
    "x-a: &a {ac_supply: 7}",
    "    <<: *a",
    "    <<: [*a, *a]",
    "<<: 5",
    "rpc: {allow: [10.0.0.0/8]}",
    "rpc:",
    "  allow:",
    "  - 1.2.3.4",
    "iguana: {elected: notary}",
    "user: 0",
    "pubkey: 03",
    "addnode: 1.2.3.4",
    "%TAG ! tag:x,2000:",
    "? [a, b]\n: c",
    "\t- tab",
    "key: value # comment",
    "'quoted key': 1",
    "\"\\ud800\": 1",
    "&anchor",
    "*alias",
];

#[derive(Clone, Debug)]
pub enum Mutation {
    InsertByte(Index, u8),
    DeleteByte(Index),
    ReplaceByte(Index, u8),
    InsertLine(Index, &'static str),
    DeleteLine(Index),
    DuplicateLine(Index),
    SwapLines(Index, Index),
    /// Adds (or removes, if negative) leading spaces on one line.
    Reindent(Index, i8),
    /// Replaces the value after a line's first `: ` (or the whole line).
    ChangeScalar(Index, &'static str),
}

pub fn mutation() -> impl Strategy<Value = Mutation> {
    let byte = prop_oneof![
        any::<u8>(),
        prop::sample::select(b" \n\t:-[]{},#&*!|>'\"".to_vec())
    ];
    prop_oneof![
        (any::<Index>(), byte.clone()).prop_map(|(i, b)| Mutation::InsertByte(i, b)),
        any::<Index>().prop_map(Mutation::DeleteByte),
        (any::<Index>(), byte).prop_map(|(i, b)| Mutation::ReplaceByte(i, b)),
        (any::<Index>(), prop::sample::select(LINES)).prop_map(|(i, l)| Mutation::InsertLine(i, l)),
        any::<Index>().prop_map(Mutation::DeleteLine),
        any::<Index>().prop_map(Mutation::DuplicateLine),
        (any::<Index>(), any::<Index>()).prop_map(|(a, b)| Mutation::SwapLines(a, b)),
        (any::<Index>(), -6i8..=6).prop_map(|(i, d)| Mutation::Reindent(i, d)),
        (any::<Index>(), prop::sample::select(SCALARS))
            .prop_map(|(i, s)| Mutation::ChangeScalar(i, s)),
    ]
}

pub fn apply(text: &str, mutation: &Mutation) -> String {
    let mut bytes = text.as_bytes().to_vec();
    let mut lines: Vec<String> = text.split('\n').map(str::to_owned).collect();
    let lines_changed = match mutation {
        Mutation::InsertByte(i, b) => {
            bytes.insert(i.index(bytes.len() + 1), *b);
            false
        }
        Mutation::DeleteByte(i) if !bytes.is_empty() => {
            bytes.remove(i.index(bytes.len()));
            false
        }
        Mutation::ReplaceByte(i, b) if !bytes.is_empty() => {
            let at = i.index(bytes.len());
            bytes[at] = *b;
            false
        }
        Mutation::DeleteByte(_) | Mutation::ReplaceByte(..) => false,
        Mutation::InsertLine(i, l) => {
            lines.insert(i.index(lines.len() + 1), (*l).to_owned());
            true
        }
        Mutation::DeleteLine(i) => {
            lines.remove(i.index(lines.len()));
            true
        }
        Mutation::DuplicateLine(i) => {
            let at = i.index(lines.len());
            lines.insert(at, lines[at].clone());
            true
        }
        Mutation::SwapLines(a, b) => {
            let (a, b) = (a.index(lines.len()), b.index(lines.len()));
            lines.swap(a, b);
            true
        }
        Mutation::Reindent(i, delta) => {
            let at = i.index(lines.len());
            let line = &mut lines[at];
            if *delta >= 0 {
                line.insert_str(0, &" ".repeat(*delta as usize));
            } else {
                let strip = line
                    .chars()
                    .take_while(|&c| c == ' ')
                    .count()
                    .min(delta.unsigned_abs() as usize);
                line.drain(..strip);
            }
            true
        }
        Mutation::ChangeScalar(i, s) => {
            let at = i.index(lines.len());
            let line = &mut lines[at];
            match line.find(": ") {
                Some(at) => line.replace_range(at + 2.., s),
                None => *line = (*s).to_owned(),
            }
            true
        }
    };
    if lines_changed {
        lines.join("\n")
    } else {
        // A byte mutation may split a UTF-8 sequence; the loader gets text
        // (load() refuses non-UTF-8 files with a position before parsing).
        String::from_utf8_lossy(&bytes).into_owned()
    }
}

/// `examples/notary.yaml` or `examples/all-chains.yaml` after up to 7
/// mutations.
pub fn mutated_example() -> impl Strategy<Value = String> {
    (any::<bool>(), prop::collection::vec(mutation(), 1..8)).prop_map(|(production, mutations)| {
        let mut text = if production { PRODUCTION } else { NOTARY }.to_owned();
        for m in &mutations {
            text = apply(&text, m);
        }
        text
    })
}

/// A YAML value of any type, written as YAML text (flow style, so it can go
/// after a key on one line).
pub fn yaml_value() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        Just("null".to_owned()),
        Just("~".to_owned()),
        Just(String::new()),
        any::<bool>().prop_map(|b| b.to_string()),
        any::<i64>().prop_map(|i| i.to_string()),
        any::<u64>().prop_map(|i| i.to_string()),
        (0u64..100_000_000_000).prop_map(|i| i.to_string()),
        "[0-9]{1,45}",
        any::<f64>().prop_map(|f| format!("{f:?}")),
        "[a-zA-Z0-9_./:-]{0,20}",
        "\"[ -~]{0,20}\"".prop_map(|s| s.replace('\\', "\\\\")),
        "'[a-z0-9, #:]{0,20}'",
        "[0-9a-f]{0,70}",
        prop::sample::select(SCALARS).prop_map(str::to_owned),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(|v| format!("[{}]", v.join(", "))),
            prop::collection::vec((key_name(), inner), 0..4).prop_map(|v| format!(
                "{{{}}}",
                v.into_iter()
                    .map(|(k, v)| format!("{k}: {v}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
        ]
    })
}

/// Keys a chain may have, and near misses of them.
pub fn key_name() -> impl Strategy<Value = String> {
    let known = prop::sample::select(
        PARAMS
            .iter()
            .map(|p| p.name)
            .chain(CHAIN_KEYS.iter().copied())
            .chain(["<<"])
            .collect::<Vec<_>>(),
    );
    prop_oneof![
        4 => known.clone().prop_map(str::to_owned),
        1 => (known.clone(), any::<Index>()).prop_map(|(k, i)| {
            let mut k = k.to_owned();
            k.remove(i.index(k.len()));
            k
        }),
        1 => (known.clone(), any::<Index>()).prop_map(|(k, i)| {
            let mut k: Vec<char> = k.chars().collect();
            let at = i.index(k.len() - 1);
            k.swap(at, at + 1);
            k.into_iter().collect()
        }),
        1 => known.clone().prop_map(|k| k.to_ascii_uppercase()),
        1 => known.prop_map(|k| format!("{k}x")),
        1 => "ac_[a-z]{1,12}",
        1 => "[a-z_]{1,10}",
    ]
}

pub fn chain_name() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => "[A-Z][A-Z0-9_]{0,9}",
        1 => Just("KMD".to_owned()),
        1 => prop::sample::select(vec!["..", "../x", ".hidden", "a b", "-x", "a/b", "\"\"", "'K:MD'", "1", "true", "null", "[A]", "é"])
            .prop_map(str::to_owned),
        1 => "[A-Z]{65,70}",
    ]
}

pub fn chain_body() -> impl Strategy<Value = String> {
    prop_oneof![
        1 => yaml_value(),
        6 => prop::collection::vec((key_name(), yaml_value()), 0..7).prop_map(|entries| {
            if entries.is_empty() {
                return " {}".to_owned();
            }
            entries.into_iter().map(|(k, v)| format!("\n    {k}: {v}")).collect()
        }),
    ]
}

pub fn top_extras() -> impl Strategy<Value = Vec<(String, String)>> {
    let key = prop::sample::select(vec![
        "pubkey",
        "addnode",
        "rpc",
        "user",
        "iguana",
        "x-a",
        "chian",
        "x-common",
        "rpc_allow",
    ]);
    let value = prop_oneof![
        yaml_value(),
        Just("{allow: [172.20.0.0/16]}".to_owned()),
        Just("{elected: notary, workdir: iguana}".to_owned()),
        Just("&a {ac_supply: 100000000}".to_owned()),
        Just("[78.47.196.146]".to_owned()),
    ];
    prop::collection::vec((key.prop_map(str::to_owned), value), 0..4)
}

/// A notary YAML of generated chains and extra top-level keys, `chains:`
/// first or last.
pub fn generated_yaml() -> impl Strategy<Value = String> {
    (
        top_extras(),
        prop::collection::vec((chain_name(), chain_body()), 0..6),
        any::<bool>(),
    )
        .prop_map(|(extras, chains, chains_last)| {
            let mut text = String::new();
            if !chains_last {
                text.push_str("chains:\n");
                for (name, body) in &chains {
                    text.push_str(&format!(
                        "  {name}:{}\n",
                        if body.starts_with(['\n', ' ']) {
                            body.clone()
                        } else {
                            format!(" {body}")
                        }
                    ));
                }
            }
            for (k, v) in &extras {
                text.push_str(&format!("{k}: {v}\n"));
            }
            if chains_last {
                text.push_str("chains:");
                for (name, body) in &chains {
                    text.push_str(&format!(
                        "\n  {name}:{}",
                        if body.starts_with(['\n', ' ']) {
                            body.clone()
                        } else {
                            format!(" {body}")
                        }
                    ));
                }
                text.push('\n');
            }
            text
        })
}

// ---------------------------------------------------------------- valid configs

/// One chain that validation must accept: (name, YAML body lines).
pub fn valid_chain() -> impl Strategy<Value = (String, Vec<String>)> {
    let name = "[A-Z][A-Z0-9_]{1,11}".prop_filter("KMD is its own chain", |n| n != "KMD");
    let optional = prop::collection::vec(
        prop_oneof![
            (0u64..=100).prop_map(|v| format!("ac_staked: {v}")),
            any::<u8>().prop_map(|v| format!("ac_public: {v}")),
            // komodod refuses a non-zero ac_private on any chain but PIRATE and ZOMBIE.
            Just("ac_private: 0".to_owned()),
            prop::collection::vec(any::<u64>(), 1..=7)
                .prop_map(|v| format!("ac_reward: [{}]", join(&v))),
            prop::collection::vec(0u64..1_000_000, 1..=7)
                .prop_map(|v| format!("ac_halving: [{}]", join(&v))),
            (1u64..=1000).prop_map(|v| format!("ac_blocktime: {v}")),
            (0u64..=i32::MAX as u64).prop_map(|v| format!("ac_sapling: {v}")),
            (0u64..=i32::MAX as u64).prop_map(|v| format!("ac_cbmaturity: {v}")),
            (1u16..=u16::MAX).prop_map(|v| format!("ac_cc: {v}")),
            Just("ac_algo: equihash".to_owned()),
            prop::sample::select(acparams::EQUIHASH_NK)
                .prop_map(|(n, k)| format!("ac_nk: [{n}, {k}]")),
            "(0[23])[0-9a-f]{64}".prop_map(|k| format!("ac_pubkey: {k}")),
            prop::sample::select(vec![
                "host: 127.0.0.1",
                "host: komodod-x",
                "addnode: [1.2.3.4, \"seed.example.org:7770\"]"
            ])
            .prop_map(str::to_owned),
        ],
        0..5,
    );
    (name, 0u64..=acparams::MAX_SUPPLY as u64, optional).prop_map(|(name, supply, mut lines)| {
        // One occurrence per key.
        let mut seen = std::collections::BTreeSet::new();
        lines.retain(|l| seen.insert(l.split(':').next().unwrap_or("").to_owned()));
        // komodod refuses ac_pubkey with an ac_supply over 10 billion.
        let supply = if seen.contains("ac_pubkey") {
            supply % (acparams::MAX_SUPPLY_WITH_PAYEE + 1)
        } else {
            supply
        };
        lines.insert(0, format!("ac_supply: {supply}"));
        (name, lines)
    })
}

pub fn join(v: &[u64]) -> String {
    v.iter().map(u64::to_string).collect::<Vec<_>>().join(", ")
}

/// The text of a valid notary YAML (chain names distinct, rpc.allow set so
/// any host is fine), and whether KMD is listed.
pub fn valid_yaml() -> impl Strategy<Value = String> {
    (
        prop::collection::vec(valid_chain(), 1..5),
        any::<bool>(),
        prop::sample::select(vec![
            "[172.20.0.0/16]",
            "[10.0.0.0/255.0.0.0, \"fd00::/8\"]",
            "[192.168.1.7]",
        ]),
        prop::option::of("(0[23])[0-9a-f]{64}"),
    )
        .prop_map(|(mut chains, kmd, allow, pubkey)| {
            let mut seen = std::collections::BTreeSet::new();
            chains.retain(|(name, _)| seen.insert(name.clone()));
            let mut text = format!("rpc:\n  allow: {allow}\naddnode: [78.47.196.146]\n");
            if let Some(pubkey) = pubkey {
                text.push_str(&format!("pubkey: {pubkey}\n"));
            }
            text.push_str("chains:\n");
            if kmd {
                text.push_str("  KMD: {}\n");
            }
            for (name, lines) in chains {
                text.push_str(&format!("  {name}:\n"));
                for line in lines {
                    text.push_str(&format!("    {line}\n"));
                }
            }
            text
        })
}
