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
//! of this file. The YAML inputs are in tests/yaml_inputs/, shared with the
//! parser's differential tests (tests/yaml_oracle.rs).

use std::collections::BTreeMap;
use std::path::Path;

use dokomodo::config::acparams::{self, Kind, PARAMS};
use dokomodo::config::ports;
use dokomodo::config::{self, Config, ConfigError};
use dokomodo::render;
use dokomodo::secrets::creds;
use dokomodo::secrets::seed::{Seed, Source};
use proptest::prelude::*;

mod yaml_inputs;
use yaml_inputs::*;

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

proptest! {
    #![proptest_config(cases())]

    #[test]
    fn loader_never_panics_on_mutated_examples(text in mutated_example()) {
        let _ = load(&text);
    }
}

// ---------------------------------------------------------------- generated YAML

proptest! {
    #![proptest_config(cases())]

    #[test]
    fn loader_never_panics_on_generated_yaml(text in generated_yaml()) {
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
        for conf in config.chains.iter().map(|c| render::chain_conf(&config, c, &seed)) {
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
            let komodod = render::daemon(&config, chain, &a);
            prop_assert_eq!(&komodod, &render::daemon(&again, chain, &b));
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
