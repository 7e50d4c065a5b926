//! Property tests: the YAML loader never panics and always points at the
//! mistake, the credentials and confs are encoded safely, rendering is a pure
//! function of (YAML, secret, role), and the port derivation accepts whatever
//! the value checks accept.
//!
//! Each property runs `PROPTEST_CASES` cases (default: `DEFAULT_CASES`, small
//! enough for the whole file to run in seconds in a debug build). The long
//! run is documented in docs/testing.md:
//!
//!     PROPTEST_CASES=100000 cargo test --release --test properties
//!
//! A failure proptest found once stays as a named regression test at the end
//! of this file.

use std::collections::BTreeMap;
use std::path::Path;

use dokomodo::acparams::{self, Kind, PARAMS};
use dokomodo::config::{self, Config, ConfigError};
use dokomodo::secret::{Seed, Source};
use dokomodo::{creds, ports, render};
use proptest::prelude::*;
use proptest::sample::Index;

const DEFAULT_CASES: u32 = 256;

fn cases() -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(DEFAULT_CASES);
    // No regression files: every failure found becomes a named test below.
    ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

const NOTARY: &str = include_str!("../examples/notary.yaml");
const PRODUCTION: &str = include_str!("../examples/production.yaml");

/// Loads `text` and checks what every outcome must satisfy: no panic (the
/// call returning is that), and an error that points inside the text.
fn load(text: &str) -> Result<Config, ConfigError> {
    let result = config::parse(Path::new("notary.yaml"), text);
    if let Err(err) = &result {
        check_error(text, err);
    }
    result
}

/// Lines as an editor numbers them: a trailing newline opens one more
/// (empty) line, where an "unexpected end of input" points.
fn line_count(text: &str) -> u64 {
    text.split('\n').count() as u64
}

fn check_error(text: &str, err: &ConfigError) {
    // Display and the snippet must not panic either, whatever the text.
    let shown = err.to_string();
    let _ = err.snippet();
    assert!(shown.starts_with("notary.yaml"), "{shown}");
    assert!(
        !shown.chars().any(char::is_control),
        "an error is one printable line: {shown:?}"
    );
    match err.pos {
        Some(pos) => {
            assert!(
                pos.line >= 1 && pos.column >= 1,
                "no usable position in {shown:?} ({pos:?}) for {text:?}"
            );
            assert!(
                pos.line <= line_count(text),
                "line {} beyond the text's {} lines: {shown} for {text:?}",
                pos.line,
                line_count(text)
            );
            // The column lies on that line (or just past its end, for "expected
            // more here").
            let line = text.split('\n').nth(pos.line as usize - 1).unwrap_or("");
            assert!(
                pos.column <= line.chars().count() as u64 + 1,
                "column {} beyond line {:?}: {shown}",
                pos.column,
                line
            );
        }
        // parse() only sees text: a problem with the whole file (unreadable,
        // too large) comes from load(), never from here.
        None => panic!("an error about the text without a position: {shown} for {text:?}"),
    }
}

// ---------------------------------------------------------------- arbitrary text

proptest! {
    #![proptest_config(cases())]

    #[test]
    fn loader_never_panics_on_arbitrary_text(text in any::<String>()) {
        let _ = load(&text);
    }

    #[test]
    fn loader_never_panics_on_yaml_punctuation_soup(text in "[ \n\t:,\\-\\[\\]{}&*!|>'\"#%@`?a-z0-9_.<]{0,200}") {
        let _ = load(&text);
    }
}

// ---------------------------------------------------------------- mutations of the examples

/// Values of every YAML type, and the ways people get them wrong.
const SCALARS: &[&str] = &[
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

const LINES: &[&str] = &[
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
enum Mutation {
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

fn mutation() -> impl Strategy<Value = Mutation> {
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

fn apply(text: &str, mutation: &Mutation) -> String {
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

proptest! {
    #![proptest_config(cases())]

    #[test]
    fn loader_never_panics_on_mutated_examples(
        production in any::<bool>(),
        mutations in prop::collection::vec(mutation(), 1..8),
    ) {
        let mut text = if production { PRODUCTION } else { NOTARY }.to_owned();
        for m in &mutations {
            text = apply(&text, m);
        }
        let _ = load(&text);
    }
}

// ---------------------------------------------------------------- generated YAML

/// A YAML value of any type, written as YAML text (flow style, so it can go
/// after a key on one line).
fn yaml_value() -> impl Strategy<Value = String> {
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
fn key_name() -> impl Strategy<Value = String> {
    let known = prop::sample::select(
        PARAMS
            .iter()
            .map(|p| p.name)
            .chain([
                "ac_name",
                "datadir",
                "addnode",
                "host",
                "p2p_port",
                "rpc_port",
                "p2p_port_override",
                "rpc_port_override",
                "<<",
            ])
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

fn chain_name() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => "[A-Z][A-Z0-9_]{0,9}",
        1 => Just("KMD".to_owned()),
        1 => prop::sample::select(vec!["..", "../x", ".hidden", "a b", "-x", "a/b", "\"\"", "'K:MD'", "1", "true", "null", "[A]", "é"])
            .prop_map(str::to_owned),
        1 => "[A-Z]{65,70}",
    ]
}

fn chain_body() -> impl Strategy<Value = String> {
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

fn top_extras() -> impl Strategy<Value = Vec<(String, String)>> {
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

proptest! {
    #![proptest_config(cases())]

    #[test]
    fn loader_never_panics_on_generated_yaml(
        extras in top_extras(),
        chains in prop::collection::vec((chain_name(), chain_body()), 0..6),
        chains_last in any::<bool>(),
    ) {
        let mut text = String::new();
        if !chains_last {
            text.push_str("chains:\n");
            for (name, body) in &chains {
                text.push_str(&format!("  {name}:{}\n", if body.starts_with(['\n', ' ']) { body.clone() } else { format!(" {body}") }));
            }
        }
        for (k, v) in &extras {
            text.push_str(&format!("{k}: {v}\n"));
        }
        if chains_last {
            text.push_str("chains:");
            for (name, body) in &chains {
                text.push_str(&format!("\n  {name}:{}", if body.starts_with(['\n', ' ']) { body.clone() } else { format!(" {body}") }));
            }
            text.push('\n');
        }
        if let Ok(config) = load(&text) {
            // What validation let through is what the rest of dokomodo assumes.
            for chain in &config.chains {
                prop_assert!(config::is_name(&chain.name) && config::is_name(&chain.ac_name));
                prop_assert!(chain.datadir.as_deref().is_none_or(config::is_name));
                for (name, value) in &chain.params {
                    let param = acparams::lookup(name).expect("only known parameters pass");
                    prop_assert_eq!(acparams::check(param, value), Ok(()));
                }
            }
        }
    }
}

// ---------------------------------------------------------------- valid configs

/// One chain that validation must accept: (name, YAML body lines).
fn valid_chain() -> impl Strategy<Value = (String, Vec<String>)> {
    let name = "[A-Z][A-Z0-9_]{1,11}".prop_filter("KMD is its own chain", |n| n != "KMD");
    let optional = prop::collection::vec(
        prop_oneof![
            (0u64..=100).prop_map(|v| format!("ac_staked: {v}")),
            (0u8..=1).prop_map(|v| format!("ac_public: {v}")),
            (0u8..=1).prop_map(|v| format!("ac_private: {v}")),
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
        lines.insert(0, format!("ac_supply: {supply}"));
        (name, lines)
    })
}

fn join(v: &[u64]) -> String {
    v.iter().map(u64::to_string).collect::<Vec<_>>().join(", ")
}

/// The text of a valid notary YAML (chain names distinct, rpc.allow set so
/// any host is fine), and whether KMD is listed.
fn valid_yaml() -> impl Strategy<Value = String> {
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

/// A valid config, or None when the generated chains happen to collide on
/// a port (two chains' derived ports: a real, if rare, config error).
fn valid_config(text: &str) -> Option<Config> {
    match load(text) {
        Ok(config) => Some(config),
        Err(err) if err.message.contains("two chains cannot share a port") => None,
        Err(err) => panic!("a valid YAML was refused: {err}\n{text}"),
    }
}

/// Seeds of 16 bytes or more after the one newline that is stripped.
fn seed_bytes() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(any::<u8>(), 16..200)
        .prop_filter("16 bytes after the newline is stripped", |b| {
            Seed::from_bytes(b.clone(), Source::Env).is_ok()
        })
}

fn seed(bytes: &[u8]) -> Seed {
    Seed::from_bytes(bytes.to_vec(), Source::Env).expect("seed_bytes() gives valid seeds")
}

fn is_credential_char(b: u8) -> bool {
    b.is_ascii_digit() || b.is_ascii_lowercase()
}

proptest! {
    #![proptest_config(cases())]

    #[test]
    fn seeds_of_16_bytes_or_more_are_accepted(bytes in prop::collection::vec(any::<u8>(), 0..100)) {
        let stripped = match bytes.as_slice() {
            [rest @ .., b'\r', b'\n'] | [rest @ .., b'\n'] => rest.len(),
            all => all.len(),
        };
        prop_assert_eq!(Seed::from_bytes(bytes.clone(), Source::Env).is_ok(), stripped >= 16);
    }

    #[test]
    fn credentials_are_lowercase_alphanumerics(bytes in seed_bytes(), ac_name in any::<String>(), datadir in any::<String>()) {
        let c = creds::derive(&seed(&bytes), &ac_name, &datadir);
        prop_assert_eq!(c.rpcuser.len(), 20);
        prop_assert_eq!(c.rpcpassword.len(), 68);
        prop_assert!(c.rpcuser.bytes().all(is_credential_char), "{}", c.rpcuser);
        prop_assert!(c.rpcpassword.bytes().all(is_credential_char));
        prop_assert!(!c.rpcuser.contains(':'));
    }

    #[test]
    fn confs_are_strict_key_value_lines(text in valid_yaml(), bytes in seed_bytes()) {
        let Some(config) = valid_config(&text) else { return Ok(()) };
        let seed = seed(&bytes);
        let kmd_client = render::kmd_client_conf(&config, &seed);
        for conf in config.chains.iter().map(|c| render::chain_conf(&config, c, &seed)).chain([kmd_client]) {
            prop_assert!(conf.ends_with('\n'));
            for line in conf.lines() {
                let (key, value) = line.split_once('=').unwrap_or_else(|| panic!("not key=value: {line:?}"));
                prop_assert!(!key.is_empty() && key.bytes().all(|b| b.is_ascii_lowercase()), "{line:?}");
                prop_assert!(!value.is_empty(), "{line:?}");
                prop_assert!(!value.bytes().any(|b| b.is_ascii_whitespace() || b.is_ascii_control() || b == b'#' || b == b'='), "{line:?}");
                prop_assert!(line.is_ascii(), "{line:?}");
            }
            prop_assert!(!conf.contains("daemon"));
        }
    }

    #[test]
    fn rendering_is_a_pure_function_of_yaml_secret_and_role(
        text in valid_yaml(),
        bytes in seed_bytes(),
        other in seed_bytes(),
    ) {
        let Some(config) = valid_config(&text) else { return Ok(()) };
        let again = load(&text).expect("parsed once");
        prop_assert_eq!(&config, &again);
        let home = Path::new("/home/notary");
        let (a, b) = (seed(&bytes), seed(&bytes));
        let iguana = render::iguana(&config, &a, home);
        prop_assert_eq!(&iguana, &render::iguana(&again, &b, home));
        for chain in &config.chains {
            let komodod = render::komodod(&config, chain, &a);
            prop_assert_eq!(&komodod, &render::komodod(&again, chain, &b));
            // The conf iguana reads is byte for byte the one komodod reads.
            let theirs = iguana.files.iter().find(|f| f.path == chain.conf_path()).expect("iguana writes every chain's conf");
            prop_assert_eq!(&komodod.files[0], theirs);
            // A different secret gives different credentials.
            if Seed::from_bytes(other.clone(), Source::Env).map(|s| s.expose() != a.expose()).unwrap_or(false) {
                let (ac_name, datadir) = creds::identity(chain);
                let mine = creds::derive(&a, ac_name, datadir);
                let theirs = creds::derive(&seed(&other), ac_name, datadir);
                prop_assert_ne!(&mine.rpcpassword, &theirs.rpcpassword);
                prop_assert_ne!(&mine.rpcuser, &theirs.rpcuser);
            }
        }
        // Every chain's conf path is distinct: no file is written twice.
        let mut paths: Vec<_> = iguana.files.iter().map(|f| &f.path).collect();
        let before = paths.len();
        paths.sort();
        paths.dedup();
        prop_assert_eq!(paths.len(), before);
    }
}

// ---------------------------------------------------------------- port derivation

/// A candidate value for a parameter, drawn around what its kind accepts,
/// including the edges (0, the maximum, leading zeros, long lists).
fn candidate(kind: Kind) -> BoxedStrategy<String> {
    let int = prop_oneof![
        any::<u64>().prop_map(|v| v.to_string()),
        (0u64..300).prop_map(|v| v.to_string()),
        prop::sample::select(vec![
            "0",
            "1",
            "7",
            "8",
            "60",
            "100",
            "127",
            "128",
            "255",
            "256",
            "65535",
            "65536",
            "2147483647",
            "2147483648",
            "4294967295",
            "4294967296",
            "90000000000",
            "9223372036854775807",
            "9223372036854775808",
            "18446744073709551615",
            "000100",
            "00",
        ])
        .prop_map(str::to_owned),
    ];
    match kind {
        Kind::Int => int.boxed(),
        Kind::IntList => prop::collection::vec(int, 1..12)
            .prop_map(|v| v.join(","))
            .boxed(),
        Kind::Hex => prop_oneof!["(0[23])[0-9a-fA-F]{64}", "([0-9a-f]{2}){1,40}"].boxed(),
        Kind::Word => prop_oneof![
            prop::sample::select(vec![
                "equihash", "PUBKEY", "BEAM", "CODA", "GATEWAY", "txx001", "x"
            ])
            .prop_map(str::to_owned),
            "[A-Za-z0-9_]{1,12}",
        ]
        .boxed(),
    }
}

fn checked_params() -> impl Strategy<Value = BTreeMap<String, String>> {
    let entries: Vec<_> = PARAMS
        .iter()
        .map(|p| prop::option::weighted(0.3, candidate(p.kind)).prop_map(move |v| (p, v)))
        .collect();
    entries.prop_map(|entries| {
        entries
            .into_iter()
            .filter_map(|(p, v)| {
                v.filter(|v| acparams::check(p, v).is_ok())
                    .map(|v| (p.name.to_owned(), v))
            })
            .collect()
    })
}

proptest! {
    #![proptest_config(cases())]

    #[test]
    fn port_derivation_never_panics_on_checked_values(name in "[A-Z][A-Z0-9_]{0,15}", params in checked_params()) {
        // check_combination may refuse the set; the derivation must still
        // not panic, and its ports are always komodod's ranges.
        let _ = acparams::check_combination(&params);
        let ports = ports::derive(&name, &params);
        prop_assert_eq!(ports.rpc, ports.p2p + 1);
        if name != "KMD" {
            prop_assert!((8000..8000 + 7777).contains(&ports.p2p) || (16000..16000 + 49500).contains(&ports.p2p), "{}", ports.p2p);
            let extra = ports::extra_buffer(&params);
            prop_assert_eq!(extra.is_empty(), ports.p2p < 16000);
        }
    }
}

// ---------------------------------------------------------------- regressions

/// Found by `loader_never_panics_on_mutated_examples` (a byte 13 inserted into
/// examples/notary.yaml): YAML reads a lone CR as a line break, so the
/// parser's line numbers ran ahead of the file's, and errors pointed at the
/// wrong line (or past the end of the text). A lone CR is now refused where
/// it is.
#[test]
fn regression_lone_carriage_return_is_refused_where_it_is() {
    let text = NOTARY.replacen("  BEER:\n", "  BEER:\r", 1);
    let line = NOTARY.lines().position(|l| l == "  BEER:").unwrap() + 1;
    let err = load(&text).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "notary.yaml:{line}:8: a carriage return without a newline (an old Mac line ending); save the file with \\n or \\r\\n line endings"
        )
    );
    // Windows line endings are fine, and positions stay on the editor's lines.
    let crlf = "chains:\r\n  KMD:\r\n    hots: x\r\n";
    let err = load(crlf).unwrap_err();
    assert_eq!(err.pos.map(|p| (p.line, p.column)), Some((3, 5)), "{err}");
    assert!(load(&NOTARY.replace('\n', "\r\n")).is_ok());
}

/// Found by `loader_never_panics_on_yaml_punctuation_soup` (`&_{a\n\na}`): a
/// flow key spanning lines is the key "a\na", and the unknown-key error
/// printed it raw, breaking the one-line error (and letting a key carry
/// terminal escapes). Control characters in errors are now escaped.
#[test]
fn regression_a_key_with_a_newline_keeps_the_error_on_one_line() {
    let err = load("&_{a\n\na}").unwrap_err();
    assert_eq!(
        err.to_string(),
        "notary.yaml:1:4: a\\na: unknown key `a\\na`"
    );
    let err = load("chains:\n  KMD:\n    \"ac_\\e[31m\": 1\n").unwrap_err();
    assert!(
        err.to_string().contains("unknown key `ac_\\u{1b}[31m`"),
        "{err}"
    );
}
