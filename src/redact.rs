//! No secret in any message (issue 13 §2).
//!
//! Two guards, both keyed on the same list of secret sources: the seed
//! (`DOKOMODO_SEED`, `DOKOMODO_SEED_FILE`, `/run/secrets/dokomodo_seed`), the
//! wallet passphrase (`DOKOMODO_WALLET_PASSPHRASE_FILE`,
//! `/run/secrets/wallet_passphrase`), any file another feature registers with
//! [`add_file`], and every process's `/proc/PID/environ`.
//!
//! - [`secret_file`]: before a file is read to be shown in an error (the YAML,
//!   the elected file), is it one of those? Then it is refused by name, and
//!   nothing of it is read.
//! - [`scrub`]: `log::emit` passes every message through it, text or JSON.
//!   It reads the secrets from their sources at that moment (a file only if
//!   it is a readable regular file of at most 64 KiB), replaces each
//!   occurrence with `<redacted>`, and wipes what it read. So a YAML that
//!   quotes the seed in a bad value does not print it either.
//!
//! The registry holds sources, never values: no copy of a secret lives longer
//! than the message being written.

use std::borrow::Cow;
use std::ffi::OsString;
use std::io::Read;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use zeroize::Zeroizing;

use crate::secrets::{passphrase, seed};

/// What replaces a secret in a message.
pub const REDACTED: &str = "<redacted>";

/// A secret file larger than this is not read to scrub with (the seed's own
/// limit; the passphrase's is smaller).
const MAX_SECRET: u64 = seed::MAX_LEN as u64;

/// A shorter secret is not scrubbed: it would blank ordinary words of a
/// message. A file holding one is still refused by [`secret_file`].
const MIN_NEEDLE: usize = 6;

/// One line of a secret file of several lines is scrubbed from this length
/// (the seed's minimum): a YAML mounted at the seed's path (two mounts
/// swapped) must not blank `chains:` out of every message.
const MIN_LINE: usize = seed::MIN_LEN;

/// Variables whose value is a secret.
const VALUE_VARS: &[&str] = &[seed::VALUE_VAR, "DOKOMODO_WALLET_PASSPHRASE"];

/// Files other features read a secret from (a per-chain secret), with what
/// they hold, for messages.
static EXTRA_FILES: Mutex<Vec<(PathBuf, &'static str)>> = Mutex::new(Vec::new());

/// Registers another file that holds a secret: it is then refused as a
/// config, and its content scrubbed from messages.
pub fn add_file(path: impl Into<PathBuf>, what: &'static str) {
    if let Ok(mut files) = EXTRA_FILES.lock() {
        files.push((path.into(), what));
    }
}

/// The files that hold, or could hold, a secret dokomodo loads, with what
/// they hold. `env` reads an environment variable.
fn secret_files(env: &dyn Fn(&str) -> Option<OsString>) -> Vec<(PathBuf, &'static str)> {
    let mut files = vec![
        (PathBuf::from(seed::DEFAULT_FILE), "the seed secret"),
        (
            PathBuf::from(passphrase::DEFAULT_FILE),
            "the wallet passphrase",
        ),
    ];
    for (var, what) in [
        (seed::FILE_VAR, "the seed secret"),
        (passphrase::FILE_VAR, "the wallet passphrase"),
    ] {
        if let Some(path) = env(var).filter(|p| !p.is_empty()) {
            files.push((PathBuf::from(path), what));
        }
    }
    if let Ok(extra) = EXTRA_FILES.lock() {
        files.extend(extra.iter().cloned());
    }
    files
}

/// If `path` is a secret's file (by name, by canonical path, or as the same
/// file under another name: a hard link, a bind mount, `/dev/fd/N`), or a
/// process's environment, what it holds. Only metadata is read.
pub fn secret_file(path: &Path) -> Option<&'static str> {
    secret_file_in(path, &|name| std::env::var_os(name))
}

fn secret_file_in(path: &Path, env: &dyn Fn(&str) -> Option<OsString>) -> Option<&'static str> {
    let canonical = std::fs::canonicalize(path).ok();
    let is_environ = |p: &Path| p.starts_with("/proc") && p.ends_with("environ");
    if is_environ(path) || canonical.as_deref().is_some_and(is_environ) {
        return Some("a process's environment (it can hold the seed)");
    }
    let id = |p: &Path| std::fs::metadata(p).ok().map(|m| (m.dev(), m.ino()));
    let this = id(path);
    secret_files(env).into_iter().find_map(|(file, what)| {
        let same_name =
            file == path || canonical.is_some() && std::fs::canonicalize(&file).ok() == canonical;
        let same_file = this.is_some() && id(&file) == this;
        (same_name || same_file).then_some(what)
    })
}

/// `message` with every secret dokomodo has loaded or could load replaced by
/// [`REDACTED`].
pub fn scrub(message: &str) -> Cow<'_, str> {
    scrub_with(message, &|name| std::env::var_os(name))
}

fn scrub_with<'m>(message: &'m str, env: &dyn Fn(&str) -> Option<OsString>) -> Cow<'m, str> {
    let mut secrets: Vec<Zeroizing<Vec<u8>>> = Vec::new();
    for var in VALUE_VARS {
        if let Some(value) = env(var) {
            secrets.push(Zeroizing::new(value.into_encoded_bytes()));
        }
    }
    for (path, _) in secret_files(env) {
        if let Some(bytes) = read_bounded(&path) {
            secrets.push(bytes);
        }
    }
    let mut out = Cow::Borrowed(message);
    for secret in &secrets {
        for needle in needles(secret) {
            if out.contains(needle.as_str()) {
                out = Cow::Owned(out.replace(needle.as_str(), REDACTED));
            }
        }
    }
    out
}

/// The forms a secret can take in a message: whole (one trailing newline
/// stripped, as the loaders do), each of its long lines, each run of valid UTF-8,
/// and each with control characters escaped as the config errors print them.
/// Longest first, so a line inside the whole is not replaced before it.
fn needles(secret: &[u8]) -> Vec<Zeroizing<String>> {
    let mut bytes = secret;
    if let Some(rest) = bytes.strip_suffix(b"\n") {
        bytes = rest.strip_suffix(b"\r").unwrap_or(rest);
    }
    let text = Zeroizing::new(String::from_utf8_lossy(bytes).into_owned());
    let whole = (text.as_str(), MIN_NEEDLE);
    let lines = text
        .split(['\n', '\r', '\u{fffd}', '\0'])
        .map(|line| (line, MIN_LINE));
    let mut out: Vec<Zeroizing<String>> = Vec::new();
    for (piece, min) in std::iter::once(whole).chain(lines) {
        let piece = piece.trim();
        if piece.chars().count() < min || piece.contains('\u{fffd}') {
            continue;
        }
        for form in [piece.to_owned(), escape_controls(piece)] {
            if !out.iter().any(|n| n.as_str() == form) {
                out.push(Zeroizing::new(form));
            }
        }
    }
    out.sort_by_key(|n| std::cmp::Reverse(n.len()));
    out
}

/// Control characters as Rust escapes (`\n`, `\u{1b}`); the rest unchanged.
/// `config` escapes the values it quotes in messages with it, so a secret is
/// scrubbed in that form too.
pub fn escape_controls(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c.is_control() {
            out.extend(c.escape_debug());
        } else {
            out.push(c);
        }
    }
    out
}

/// A secret file's bytes, if it is a readable regular file of at most
/// 64 KiB; never blocks (a FIFO is not opened, and `O_NONBLOCK` covers a
/// swap in between).
fn read_bounded(path: &Path) -> Option<Zeroizing<Vec<u8>>> {
    let meta = std::fs::metadata(path).ok()?;
    if !meta.is_file() || meta.len() > MAX_SECRET {
        return None;
    }
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
        .ok()?;
    if !file.metadata().ok()?.is_file() {
        return None;
    }
    // Sized up front so the buffer never grows and leaves copies behind.
    let mut bytes = Zeroizing::new(Vec::with_capacity(MAX_SECRET as usize + 1));
    file.take(MAX_SECRET + 1).read_to_end(&mut bytes).ok()?;
    (bytes.len() as u64 <= MAX_SECRET).then_some(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<OsString> + 'a {
        move |name| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| OsString::from(v))
        }
    }

    fn temp(tag: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("dokomodo-redact-{tag}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn the_seed_in_the_environment_is_scrubbed_in_every_form() {
        let vars = [(seed::VALUE_VAR, "correct horse\tbattery staple")];
        let scrub = |m: &str| scrub_with(m, &env(&vars)).into_owned();
        assert_eq!(
            scrub("`correct horse\tbattery staple` is not valid"),
            "`<redacted>` is not valid"
        );
        assert_eq!(
            scrub("key `correct horse\\tbattery staple`"),
            "key `<redacted>`"
        );
        assert_eq!(scrub("nothing secret here"), "nothing secret here");
    }

    #[test]
    fn each_line_of_a_secret_file_is_scrubbed_and_short_pieces_are_not() {
        let dir = temp("lines");
        let file = dir.join("seed");
        std::fs::write(&file, "first line of it\nxy\nsecond line, longer\n").unwrap();
        let vars = [(seed::FILE_VAR, file.to_str().unwrap())];
        let got = scrub_with(
            "a: first line of it; b: second line, longer; xy",
            &env(&vars),
        );
        assert_eq!(got, "a: <redacted>; b: <redacted>; xy");
        // A YAML at the seed's path: its short lines stay readable.
        std::fs::write(&file, "chains:\n  KMD: {}\n").unwrap();
        assert_eq!(
            scrub_with("such as `chains:`", &env(&vars)),
            "such as `chains:`"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn secret_files_are_known_by_name_link_and_environ() {
        let dir = temp("files");
        let file = dir.join("wp");
        std::fs::write(&file, "words words words\n").unwrap();
        let link = dir.join("link");
        std::os::unix::fs::symlink(&file, &link).unwrap();
        let hard = dir.join("hard");
        std::fs::hard_link(&file, &hard).unwrap();
        let vars = [(passphrase::FILE_VAR, file.to_str().unwrap())];
        let env = env(&vars);
        for path in [&file, &link, &hard] {
            assert_eq!(secret_file_in(path, &env), Some("the wallet passphrase"));
        }
        assert_eq!(secret_file_in(&dir.join("other"), &env), None);
        assert!(secret_file_in(Path::new("/proc/self/environ"), &env).is_some());
        assert!(secret_file_in(Path::new("/proc/1/environ"), &env).is_some());
        assert_eq!(
            secret_file_in(Path::new(seed::DEFAULT_FILE), &env),
            Some("the seed secret")
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
