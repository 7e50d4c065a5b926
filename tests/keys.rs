//! `dokomodo keys`, and the YAML's `pubkey` held against the wallet
//! passphrase by `check` and `run iguana`.

mod common;

use common::Run;

/// The published vector (../shared/komodo-facts.md section 6).
const PASSPHRASE: &str = "myverysecretandstrongpassphrase_noneabletobrute";
const PUBKEY: &str = "02a854251adfee222bede8396fed0756985d4ea905f72611740867c7a4ad6488c1";

fn yaml(pubkey: &str) -> String {
    format!(
        "pubkey: {pubkey}\nrpc: {{allow: [172.20.0.0/16]}}\nchains:\n  KMD: {{}}\n  LTC: {{}}\n  BEER: {{ac_supply: 100000000}}\n"
    )
}

fn with_passphrase(run: Run, passphrase: &str) -> Run {
    let file = run
        .dir
        .write("wallet_passphrase", format!("{passphrase}\n"));
    run.env("DOKOMODO_WALLET_PASSPHRASE_FILE", file.to_str().unwrap())
}

#[test]
fn keys_prints_the_pubkey_and_each_coins_address_never_the_private_key() {
    let run = with_passphrase(Run::new(&yaml(PUBKEY)).args(&["keys"]), PASSPHRASE);
    let (stdout, stderr) = run.status(0);
    assert_eq!(
        stdout,
        format!(
            "pubkey  {PUBKEY}\nKMD     RVNKRr2uxPMxJeDwFnTKjdtiLtcs7UzCZn\n\
             LTC     LfK5cYTTSDoSVSYtxkTVv8dGnqXYZRsn86\nBEER    RVNKRr2uxPMxJeDwFnTKjdtiLtcs7UzCZn\n"
        )
    );
    assert_eq!(stderr, "");

    let run = with_passphrase(Run::new(&yaml(PUBKEY)).args(&["keys", "--wif"]), PASSPHRASE);
    let (stdout, _) = run.status(0);
    let kmd: Vec<&str> = stdout.lines().nth(1).unwrap().split_whitespace().collect();
    assert_eq!(kmd.len(), 3, "{stdout}");
    assert!(kmd[2].starts_with('U'), "a KMD WIF (prefix 188): {stdout}");
}

#[test]
fn keys_without_the_passphrase_says_where_it_is_read() {
    Run::new(&yaml(PUBKEY))
        .env("DOKOMODO_WALLET_PASSPHRASE_FILE", "/nonexistent/wallet")
        .args(&["keys"])
        .fails(
            78,
            "dokomodo: error: the wallet passphrase /nonexistent/wallet does not exist (named by \
             DOKOMODO_WALLET_PASSPHRASE_FILE)\n",
        );
}

#[test]
fn check_refuses_a_pubkey_that_is_not_the_passphrases() {
    let other = "038f3e203456a6cac9d65c2e88da5c71bfe70fc147b3216946a1380b42cec062ad";
    let run = with_passphrase(Run::new(&yaml(other)).args(&["check"]), PASSPHRASE);
    run.fails(
        78,
        &format!(
            "dokomodo: error: DIR/notary.yaml: pubkey {other} is not the wallet passphrase's \
             (DIR/wallet_passphrase): the passphrase gives {PUBKEY}; correct `pubkey`, or mount \
             the passphrase that belongs to it\n"
        ),
    );
    let run = with_passphrase(Run::new(&yaml(PUBKEY)).args(&["check"]), PASSPHRASE);
    let (stdout, _) = run.status(0);
    assert!(
        stdout.contains("wallet_passphrase: valid, its key is the YAML's pubkey"),
        "{stdout}"
    );
}

#[test]
fn run_iguana_refuses_it_before_starting_anything() {
    let other = "038f3e203456a6cac9d65c2e88da5c71bfe70fc147b3216946a1380b42cec062ad";
    let run = with_passphrase(
        Run::new(&yaml(other)).seed().args(&["run", "iguana"]),
        PASSPHRASE,
    );
    let (_, stderr) = run.status(78);
    assert!(
        stderr.contains("is not the wallet passphrase's"),
        "{stderr}"
    );
    assert!(!run.home().join("iguana").exists(), "nothing rendered");
}
