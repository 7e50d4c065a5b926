//! No secret in any message (issue 13 §2): whatever the config points at,
//! and whatever the YAML quotes, neither the seed nor the wallet passphrase
//! appears on stdout or stderr, in text or JSON logs. Each case runs the real
//! binary in both formats and pins the text message.

mod common;
use common::{Run, SEED};

const CONFIG: i32 = 78;
const PASSPHRASE: &str = "wallet words for the notary";

/// Runs `run` in text and in JSON format: exit 78 both times, `stderr` is the
/// whole text message (the temp dir as `DIR`), the JSON line carries the same
/// message, and no secret is anywhere in either output.
fn refused(run: Run, stderr: &str) {
    for json in [false, true] {
        let mut cmd = run.command();
        if json {
            cmd.env("DOKOMODO_LOG_FORMAT", "json");
        }
        let out = cmd.output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        let got = String::from_utf8_lossy(&out.stderr)
            .replace(&run.dir.path().display().to_string(), "DIR");
        assert_eq!(out.status.code(), Some(CONFIG), "stderr:\n{got}");
        assert_eq!(stdout, "", "nothing on stdout on failure");
        for secret in [SEED, PASSPHRASE, "horse battery", "for the notary"] {
            assert!(!got.contains(secret), "`{secret}` in stderr:\n{got}");
        }
        if json {
            assert_eq!(got.lines().count(), 1, "one JSON event: {got}");
            assert!(got.starts_with("{\"ts\":\""), "{got}");
            assert!(got.contains("\"level\":\"error\""), "{got}");
            let message = stderr
                .trim_start_matches("dokomodo: error: ")
                .trim_end()
                .replace('\\', "\\\\")
                .replace('"', "\\\"")
                .replace('\n', "\\n");
            assert!(got.contains(&message), "{got}\nlacks\n{message}");
        } else {
            assert_eq!(got, stderr, "whole stderr differs");
        }
    }
}

/// A run whose secrets are files in its directory: `seed` and `wp`.
fn with_secret_files(yaml: &str) -> Run {
    let run = Run::new(yaml);
    let seed = run.dir.write("seed", format!("{SEED}\n"));
    let wp = run.dir.write("wp", format!("{PASSPHRASE}\n"));
    run.env("DOKOMODO_SEED_FILE", seed.to_str().unwrap())
        .env("DOKOMODO_WALLET_PASSPHRASE_FILE", wp.to_str().unwrap())
}

const SECRET_FILE: &str = "not a YAML file; nothing of it is read or shown (does --config, DOKOMODO_CONFIG or a mount point at the wrong file?)\n";

#[test]
fn config_is_the_seed_file_named_by_dokomodo_seed_file() {
    let run = with_secret_files("chains:\n  KMD: {}\n");
    let seed = run.dir.path().join("seed");
    refused(
        run.args(&["--config", seed.to_str().unwrap(), "check"]),
        &format!("dokomodo: error: DIR/seed: is the seed secret, {SECRET_FILE}"),
    );
}

#[test]
fn config_is_the_default_seed_path() {
    // Refused by its name, before anything is opened: no test needs root to
    // mount /run/secrets.
    refused(
        Run::new("chains:\n  KMD: {}\n").args(&["--config", "/run/secrets/dokomodo_seed", "check"]),
        &format!("dokomodo: error: /run/secrets/dokomodo_seed: is the seed secret, {SECRET_FILE}"),
    );
}

#[test]
fn config_is_the_seed_file_under_another_name() {
    let run = with_secret_files("chains:\n  KMD: {}\n");
    let seed = run.dir.path().join("seed");
    std::os::unix::fs::symlink(&seed, run.dir.path().join("link.yaml")).unwrap();
    std::fs::hard_link(&seed, run.dir.path().join("hard.yaml")).unwrap();
    let link = run.dir.path().join("link.yaml");
    let hard = run.dir.path().join("hard.yaml");
    let (link, hard) = (link.to_str().unwrap(), hard.to_str().unwrap());
    let run = run.env("DOKOMODO_CONFIG", link).args(&["check"]);
    refused(
        run,
        &format!("dokomodo: error: DIR/link.yaml: is the seed secret, {SECRET_FILE}"),
    );
    refused(
        with_secret_files("")
            .env("DOKOMODO_SEED_FILE", hard)
            .args(&["--config", hard, "check"]),
        &format!("dokomodo: error: {hard}: is the seed secret, {SECRET_FILE}"),
    );
}

#[test]
fn config_is_the_passphrase_file() {
    let run = with_secret_files("chains:\n  KMD: {}\n");
    let wp = run.dir.path().join("wp");
    refused(
        run.args(&["--config", wp.to_str().unwrap(), "check"]),
        &format!("dokomodo: error: DIR/wp: is the wallet passphrase, {SECRET_FILE}"),
    );
}

#[test]
fn config_is_the_environment() {
    for path in ["/proc/self/environ", "/proc/thread-self/environ"] {
        refused(
            Run::new("chains:\n  KMD: {}\n")
                .seed()
                .args(&["--config", path, "check"]),
            &format!(
                "dokomodo: error: {path}: is a process's environment (it can hold the seed), {SECRET_FILE}"
            ),
        );
    }
}

#[test]
fn mounts_swapped_the_config_holds_the_seed_and_the_seed_path_the_yaml() {
    // dokomodo cannot know this text is a seed: it is refused for having no
    // `key:` line, without a line or a value of it.
    let run = Run::new(&format!("{SEED}\n"));
    let yaml = run.dir.write("seed", "chains:\n  KMD: {}\n");
    refused(
        run.env("DOKOMODO_SEED_FILE", yaml.to_str().unwrap())
            .args(&["check"]),
        "dokomodo: error: DIR/notary.yaml: is not a notary YAML: no line starts with a top-level key such as `chains:`; nothing of it is shown, in case it is a secret (are the config and a secret mounted the other way round?)\n",
    );
}

#[test]
fn the_seed_quoted_in_a_bad_value_is_redacted() {
    let yaml = format!("rpc: {{allow: [10.0.0.0/8]}}\nchains:\n  BEER:\n    ac_staked: {SEED}\n");
    let expected = "dokomodo: error: DIR/notary.yaml:4:16: chains.BEER.ac_staked: `<redacted>` is not valid: expected an integer from 0 to 100\n  |\n4 |     ac_staked: <redacted>\n  |                ^\n";
    // The seed as a value, and as a file.
    refused(Run::new(&yaml).seed().args(&["check"]), expected);
    refused(with_secret_files(&yaml).args(&["check"]), expected);
}

#[test]
fn the_passphrase_quoted_as_a_chain_name_is_redacted() {
    let yaml = format!("chains:\n  {PASSPHRASE}: {{}}\n");
    refused(
        with_secret_files(&yaml).args(&["check"]),
        "dokomodo: error: DIR/notary.yaml:2:3: chains: `<redacted>` is not a valid chain name: use letters, digits, `_`, `-` and `.`, starting with a letter or digit, at most 64 characters\n  |\n2 |   <redacted>: {}\n  |   ^\n",
    );
}

#[test]
fn a_syntax_error_on_a_line_holding_the_seed_is_redacted() {
    let yaml = format!("chains:\n  KMD: [{SEED}\n");
    refused(
        Run::new(&yaml).seed().args(&["check"]),
        "dokomodo: error: DIR/notary.yaml:2:8: unclosed bracket '['\n  |\n2 |   KMD: [<redacted>\n  |        ^\n",
    );
}

#[test]
fn elected_file_is_the_seed_file() {
    let run =
        with_secret_files("iguana: {elected_file: seed}\nchains:\n  KMD: {host: 127.0.0.1}\n");
    refused(
        run.args(&["check"]),
        "dokomodo: error: DIR/notary.yaml:1:24: iguana.elected_file: DIR/seed: is the seed secret, not an elected file; nothing of it is read or shown\n  |\n1 | iguana: {elected_file: seed}\n  |                        ^\n",
    );
}
