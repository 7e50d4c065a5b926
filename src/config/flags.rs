//! Which komodod flags an operator may add after dokomodo's own: a chain's
//! `args` in the YAML and the EXTRA arguments of `run komodod -- EXTRA`. One
//! policy for both, because komodod cannot tell them apart.
//!
//! komodod's `ParseParameters` (src/util.cpp) makes the policy more than a
//! list of names:
//! - `--foo` is read as `-foo`;
//! - `-nofoo` is read as `-foo=0`, and `-nofoo=0` as `-foo=1`, when `-foo`
//!   itself is not on the command line (`InterpretNegativeSetting`);
//! - for a repeated flag the last one wins;
//! - parsing stops at the first argument that does not start with `-`.
//!
//! So every spelling of a flag dokomodo manages is refused, not only the
//! plain one: `-norpcpassword` would make the RPC password `0`, `-nodaemon=0`
//! would make komodod fork, and a repeated `-ac_supply=5` another chain.

use std::ffi::OsString;

use super::{Chain, Config, ConfigError};

/// Why the flag at `index` of the list is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub index: usize,
    pub message: String,
}

/// Checks the flags dokomodo appends to komodod's command line, in order.
/// `notary` says komodod runs with a notary pubkey (the YAML's `pubkey`).
pub fn check<S: AsRef<str>>(flags: &[S], notary: bool) -> Result<(), Refusal> {
    let refuse = |index, message| Err(Refusal { index, message });
    let mut read = Vec::with_capacity(flags.len());
    for (index, flag) in flags.iter().enumerate() {
        let flag = flag.as_ref();
        let Some(as_read) = as_komodod_reads(flag) else {
            return refuse(
                index,
                format!(
                    "`{}` is not a komodod flag (-name or -name=value)",
                    printable(flag)
                ),
            );
        };
        if flag.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return refuse(
                index,
                format!(
                    "`{}` contains whitespace or control characters",
                    printable(flag)
                ),
            );
        }
        for setting in &as_read {
            if let Some(instead) = managed(&setting.name) {
                let managed = format!("-{} is managed by dokomodo; use {instead}", setting.name);
                let message = if setting.spelled_as_is {
                    managed
                } else {
                    format!(
                        "`{flag}` means {} to komodod, and {managed}",
                        setting.shown()
                    )
                };
                return refuse(index, message);
            }
        }
        read.extend(as_read.into_iter().map(|setting| (index, setting)));
    }
    // komodo_args (src/komodo_utils.cpp, lines 1049-1051): a STAKED notary id
    // (any -stakednotary but -1) and a KMD notary cannot be one node.
    let notary = notary
        || read
            .iter()
            .any(|(_, f)| f.name == "notary" && f.value.as_deref().is_some_and(|v| !v.is_empty()));
    if notary {
        if let Some((index, _)) = read.iter().find(|(_, f)| f.name == "stakednotary") {
            return refuse(
                *index,
                "-stakednotary cannot go with a notary pubkey (the YAML's `pubkey`) or -notary: \
                 komodod refuses to start (\"Cannot be STAKED and KMD notary at the same time!\")"
                    .to_owned(),
            );
        }
    }
    Ok(())
}

/// `run komodod -- EXTRA`: the extra arguments go after the chain's `args`,
/// so they are checked with them, as one command line.
pub fn check_extra(config: &Config, chain: &Chain, extra: &[OsString]) -> Result<(), ConfigError> {
    let mut all: Vec<String> = chain.args.clone();
    all.extend(extra.iter().map(|a| a.to_string_lossy().into_owned()));
    let Err(refusal) = check(&all, config.pubkey.is_some()) else {
        return Ok(());
    };
    let message = if refusal.index >= chain.args.len() {
        format!(
            "the argument `{}` after `--` is refused: {}",
            printable(&all[refusal.index]),
            refusal.message
        )
    } else {
        // The YAML's own args passed on their own; with the extra ones they
        // make a refused pair (-stakednotary with -notary).
        format!(
            "its `args` entry `{}` is refused with the arguments after `--`: {}",
            printable(&all[refusal.index]),
            refusal.message
        )
    };
    Err(ConfigError {
        file: config.path.clone(),
        pos: None,
        field: Some(format!("chains.{}", chain.name)),
        message,
        source_line: None,
    })
}

/// A flag as komodod's `ParseParameters` stores it.
struct AsRead {
    /// The name komodod looks up, without its dash.
    name: String,
    /// `None` for `-name` alone.
    value: Option<String>,
    /// Written as komodod reads it (not `--name`, not `-noname`).
    spelled_as_is: bool,
}

impl AsRead {
    fn shown(&self) -> String {
        match &self.value {
            Some(v) => format!("-{}={v}", self.name),
            None => format!("-{}", self.name),
        }
    }
}

/// What komodod makes of one argument (the flag, and for `-nofoo` also
/// `-foo`), or `None` when it is not a flag komodod would read (it stops at an
/// argument without `-`, and its flags are lower case: a `-Name` is never
/// looked up).
fn as_komodod_reads(flag: &str) -> Option<Vec<AsRead>> {
    let rest = flag.strip_prefix('-')?;
    let double = rest.starts_with('-');
    let rest = rest.strip_prefix('-').unwrap_or(rest);
    let (name, value) = match rest.split_once('=') {
        Some((n, v)) => (n, Some(v)),
        None => (rest, None),
    };
    let is_name = name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if !is_name {
        return None;
    }
    let mut read = vec![AsRead {
        name: name.to_owned(),
        value: value.map(str::to_owned),
        spelled_as_is: !double,
    }];
    // InterpretNegativeSetting keeps -nofoo and adds -foo=0, or -foo=1 for
    // -nofoo=V with atoi(V) == 0 (only while -foo itself is absent; refusing
    // every -nofoo of a refused -foo covers both cases). -notary is also -tary.
    if let Some(positive) = name.strip_prefix("no").filter(|p| !p.is_empty()) {
        let on = value.is_some_and(|v| !v.is_empty() && atoi(v) == 0);
        read.push(AsRead {
            name: positive.to_owned(),
            value: Some(if on { "1" } else { "0" }.to_owned()),
            spelled_as_is: false,
        });
    }
    Some(read)
}

/// C's `atoi`: leading spaces, a sign, digits; 0 when there are none.
fn atoi(s: &str) -> i64 {
    let s = s.trim_start();
    let (negative, digits) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let n = digits
        .bytes()
        .take_while(u8::is_ascii_digit)
        .fold(0i64, |n, d| {
            n.saturating_mul(10).saturating_add(i64::from(d - b'0'))
        });
    if negative { -n } else { n }
}

/// What the operator writes instead of a flag dokomodo manages: what it
/// writes itself (identity, seeds, paths, ports), and RPC settings, which
/// belong in the conf (a password on a command line is in every `ps`).
fn managed(name: &str) -> Option<&'static str> {
    Some(match name {
        n if n.starts_with("ac_") => {
            "its own key under the chain (it is part of the chain's identity)"
        }
        "addnode" => "`addnode`",
        "pubkey" => "the top-level `pubkey`",
        "datadir" => "`datadir`",
        "port" => "`p2p_port_override`",
        "conf" | "daemon" => "nothing: dokomodo writes the conf and runs komodod in the foreground",
        n if n.starts_with("rpc") => {
            "`rpc.allow` or `rpc_port_override` (RPC settings go in the conf, never on a command line)"
        }
        _ => return None,
    })
}

/// Shows a user's value in a message without letting control characters
/// mangle the terminal.
fn printable(s: &str) -> String {
    s.chars().flat_map(char::escape_debug).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(flags: &[&str], notary: bool) -> String {
        check(flags, notary).unwrap_err().message
    }

    #[test]
    fn harmless_flags_pass() {
        let flags = [
            "-earlytxid=7e4a76",
            "-addressindex=1",
            "-printtoconsole",
            "--spentindex=1",
            "-nolisten",
            "-notary=/home/komodo/.litecoin/litecoin.conf",
            "-stakednotary=3",
        ];
        assert_eq!(check(&flags[..6], true), Ok(()));
        assert_eq!(check(&flags, false).map_err(|r| r.index), Err(6));
        assert_eq!(check(&flags[6..], false), Ok(()));
    }

    #[test]
    fn every_spelling_of_a_managed_flag_is_refused() {
        let rpc = "-rpcpassword is managed by dokomodo; use `rpc.allow` or `rpc_port_override` \
                   (RPC settings go in the conf, never on a command line)";
        assert_eq!(refused(&["-rpcpassword=x"], false), rpc);
        assert_eq!(
            refused(&["-norpcpassword"], false),
            format!("`-norpcpassword` means -rpcpassword=0 to komodod, and {rpc}")
        );
        assert_eq!(
            refused(&["--rpcpassword=x"], false),
            format!("`--rpcpassword=x` means -rpcpassword=x to komodod, and {rpc}")
        );
        let daemon = "-daemon is managed by dokomodo; use nothing: dokomodo writes the conf \
                      and runs komodod in the foreground";
        assert_eq!(refused(&["-daemon"], false), daemon);
        for (flag, means) in [
            ("-nodaemon=0", "-daemon=1"),
            ("-nodaemon=x", "-daemon=1"),
            ("-nodaemon", "-daemon=0"),
            ("-nodaemon=", "-daemon=0"),
            ("-nodaemon=2", "-daemon=0"),
            ("--nodaemon=0", "-daemon=1"),
        ] {
            assert_eq!(
                refused(&[flag], false),
                format!("`{flag}` means {means} to komodod, and {daemon}")
            );
        }
        for flag in [
            "-ac_supply=5",
            "-noac_cc=0",
            "--ac_name=X",
            "-noaddnode",
            "-nopubkey",
            "--datadir=/x",
            "-noport=0",
            "-noconf",
            "-norpcallowip=0",
        ] {
            assert!(
                refused(&["-printtoconsole", flag], false).contains("is managed by dokomodo"),
                "{flag}"
            );
            assert_eq!(check(&["-x", flag], false).unwrap_err().index, 1);
        }
    }

    #[test]
    fn what_komodod_would_not_read_as_a_flag_is_refused() {
        for flag in [
            "earlytxid=1",
            "---rpcpassword",
            "-",
            "--",
            "-RPCPASSWORD=x",
            "-a b",
            "",
        ] {
            assert!(
                refused(&[flag], false).contains("is not a komodod flag"),
                "{flag}"
            );
        }
        assert_eq!(
            refused(&["-uacomment=a b"], false),
            "`-uacomment=a b` contains whitespace or control characters"
        );
    }

    #[test]
    fn a_staked_notary_is_not_a_kmd_notary() {
        let why = "-stakednotary cannot go with a notary pubkey (the YAML's `pubkey`) or -notary: \
                   komodod refuses to start (\"Cannot be STAKED and KMD notary at the same time!\")";
        assert_eq!(refused(&["-stakednotary=1"], true), why);
        // -nostakednotary is -stakednotary=0: an id, not -1.
        assert_eq!(refused(&["-nostakednotary"], true), why);
        assert_eq!(
            refused(&["-notary=ltc.conf", "-stakednotary=2"], false),
            why
        );
        assert_eq!(check(&["-notary", "-stakednotary=2"], false), Ok(()));
        // -nonotary is -notary=0: a notary (with "0" as LTC's conf path).
        assert_eq!(refused(&["-nonotary", "-stakednotary=2"], false), why);
    }

    #[test]
    fn atoi_reads_like_c() {
        for (s, n) in [
            ("0", 0),
            ("12ab", 12),
            ("x", 0),
            (" -3", -3),
            ("+7", 7),
            ("", 0),
        ] {
            assert_eq!(atoi(s), n, "{s:?}");
        }
    }
}
