//! Reading a komodod conf file the way komodod and iguana read it.
//!
//! Two readers, both modelled on the real ones:
//! - `Conf::parse` gives `key=value` entries: the key is everything before the
//!   first `=`, untrimmed, so `rpcport = 8923` has the key `rpcport ` and does
//!   not count as rpcport. Only lines with `#` in column 0 are comments.
//! - `quirky_credentials` is the substring matcher komodod
//!   (`_komodo_userpass`) and iguana (`extract_userpass`) use for rpcuser,
//!   rpcpassword and rpcport: the name may appear anywhere in the line, the
//!   next character is skipped only if it is `=`, and every whitespace
//!   character in the rest is removed. `rpcuser = bob` therefore yields `=bob`.

use std::path::Path;

/// The conf line buffer of both daemons (fgets into char[1024]).
pub const LINE_BUFFER: usize = 1024;

#[derive(Debug, Default, Clone)]
pub struct Conf {
    entries: Vec<(String, String)>,
}

impl Conf {
    pub fn parse(text: &str) -> Conf {
        let entries = text
            .lines()
            .filter(|line| !line.starts_with('#'))
            .filter_map(|line| {
                let (key, value) = line.split_once('=')?;
                Some((key.to_string(), value.trim_end_matches('\r').to_string()))
            })
            .collect();
        Conf { entries }
    }

    pub fn read(path: &Path) -> std::io::Result<Conf> {
        Ok(Conf::parse(&std::fs::read_to_string(path)?))
    }

    /// The last value given for `key`, like komodod's mapArgs.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.entries
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Every value given for `key`, in file order (rpcallowip, rpcbind).
    pub fn get_all(&self, key: &str) -> Vec<&str> {
        self.entries
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.entries.iter().map(|(k, _)| k.as_str())
    }
}

/// rpcuser, rpcpassword and rpcport as komodod's and iguana's own substring
/// matcher finds them.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct QuirkyCredentials {
    pub rpcuser: Option<String>,
    pub rpcpassword: Option<String>,
    pub rpcport: Option<String>,
}

impl QuirkyCredentials {
    /// `user:pass`, as the daemons join them for HTTP basic auth.
    pub fn userpass(&self) -> Option<String> {
        match (&self.rpcuser, &self.rpcpassword) {
            (Some(u), Some(p)) => Some(format!("{u}:{p}")),
            _ => None,
        }
    }
}

pub fn quirky_credentials(text: &[u8]) -> QuirkyCredentials {
    let mut found = QuirkyCredentials::default();
    for line in fgets_lines(text) {
        if line.first() == Some(&b'#') {
            continue;
        }
        // The same else-if chain as the daemons: a line naming rpcuser is never
        // also read as rpcpassword or rpcport.
        if let Some(v) = quirky_value(line, b"rpcuser") {
            found.rpcuser = v;
        } else if let Some(v) = quirky_value(line, b"rpcpassword") {
            found.rpcpassword = v;
        } else if let Some(v) = quirky_value(line, b"rpcport") {
            found.rpcport = v;
        }
    }
    found
}

/// rpcuser, rpcpassword and rpcport as iguana reads them (`extract_userpass`
/// and `parse_conf_line`, iguana/iguana_chains.c): the name anywhere in the
/// line, then everything up to the first `=` after it is skipped (no `=`: the
/// field is unset again), and ' ', \t, \r, \n, \b are removed from the rest.
/// So `rpcuser = bob` gives `bob` here, where komodod's reader gives `=bob`.
pub fn iguana_credentials(text: &[u8]) -> QuirkyCredentials {
    let mut found = QuirkyCredentials::default();
    for line in fgets_lines(text) {
        if line.first() == Some(&b'#') {
            continue;
        }
        let slot = if let Some(at) = find(line, b"rpcuser") {
            Some((&mut found.rpcuser, &line[at + 7..]))
        } else if let Some(at) = find(line, b"rpcpassword") {
            Some((&mut found.rpcpassword, &line[at + 11..]))
        } else {
            find(line, b"rpcport").map(|at| (&mut found.rpcport, &line[at + 7..]))
        };
        if let Some((field, rest)) = slot {
            *field = rest.iter().position(|&c| c == b'=').map(|eq| {
                let value: Vec<u8> = rest[eq + 1..]
                    .iter()
                    .copied()
                    .filter(|c| !matches!(c, b' ' | b'\t' | b'\r' | b'\n' | 8))
                    .collect();
                String::from_utf8_lossy(&value).into_owned()
            });
        }
    }
    found
}

fn find(line: &[u8], field: &[u8]) -> Option<usize> {
    line.windows(field.len()).position(|w| w == field)
}

/// Splits like repeated `fgets(line, 1024, fp)`: a line longer than the buffer
/// continues as the next "line".
fn fgets_lines(text: &[u8]) -> Vec<&[u8]> {
    let mut lines = Vec::new();
    let mut rest = text;
    while !rest.is_empty() {
        let max = (LINE_BUFFER - 1).min(rest.len());
        let end = rest[..max]
            .iter()
            .position(|&c| c == b'\n')
            .map(|i| i + 1)
            .unwrap_or(max);
        lines.push(&rest[..end]);
        rest = &rest[end..];
    }
    lines
}

/// Outer None: the field is not in the line. Inner None: it is, but nothing
/// follows it (the daemons then leave the field unset).
fn quirky_value(line: &[u8], field: &[u8]) -> Option<Option<String>> {
    let at = line.windows(field.len()).position(|w| w == field)?;
    let mut rest = &line[at + field.len()..];
    if rest.is_empty() {
        return Some(None);
    }
    if rest[0] == b'=' {
        rest = &rest[1..];
    }
    let value: Vec<u8> = rest
        .iter()
        .copied()
        .filter(|c| !c.is_ascii_whitespace())
        .collect();
    Some(Some(String::from_utf8_lossy(&value).into_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_value_entries_keep_spaces_and_skip_column_zero_comments() {
        let conf =
            Conf::parse("rpcport = 1\n#rpcport=2\n rpcbind=x\nrpcallowip=a\nrpcallowip=b\r\n");
        assert_eq!(conf.get("rpcport"), None);
        assert_eq!(conf.get("rpcport "), Some(" 1"));
        assert_eq!(conf.get(" rpcbind"), Some("x"));
        assert_eq!(conf.get_all("rpcallowip"), vec!["a", "b"]);
    }

    #[test]
    fn substring_matcher_has_the_daemons_quirks() {
        let c = quirky_credentials(
            b"rpcuser = bob\n#rpcpassword=no\nxrpcpassword=pa ss\nrpcport=8923\n",
        );
        assert_eq!(c.rpcuser.as_deref(), Some("=bob"));
        assert_eq!(c.rpcpassword.as_deref(), Some("pass"));
        assert_eq!(c.rpcport.as_deref(), Some("8923"));
        assert_eq!(c.userpass().as_deref(), Some("=bob:pass"));
    }

    #[test]
    fn iguana_skips_to_the_first_equals_sign() {
        let c = iguana_credentials(b"rpcuser = bob\nrpcpassword\nrpcport := 8923\n");
        assert_eq!(c.rpcuser.as_deref(), Some("bob"));
        assert_eq!(c.rpcpassword, None);
        assert_eq!(c.rpcport.as_deref(), Some("8923"));
    }

    #[test]
    fn a_line_longer_than_the_buffer_is_split() {
        let long = format!("x{}rpcuser=late\n", " ".repeat(LINE_BUFFER));
        let c = quirky_credentials(long.as_bytes());
        assert_eq!(c.rpcuser.as_deref(), Some("late"));
        // fgets stops after 1023 bytes: the value is cut where the buffer ends.
        let c = quirky_credentials(format!("{}rpcuser=abcdefghij\n", "y".repeat(1010)).as_bytes());
        assert_eq!(c.rpcuser.as_deref(), Some("abcde"));
    }
}
