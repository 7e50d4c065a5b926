//! Error messages are part of the product: each case pins the whole stderr
//! and the exit status for one kind of bad input.

mod common;
use common::{NOTARY_YAML, Run};

const CONFIG: i32 = 78;

#[test]
fn syntax_error() {
    Run::new("chains:\n  BEER: [1, 2\n").args(&["check"]).fails(
        CONFIG,
        "dokomodo: error: DIR/notary.yaml:2:9: unclosed bracket '['\n  |\n2 |   BEER: [1, 2\n  |         ^\n",
    );
}

#[test]
fn tab_indentation() {
    Run::new("chains:\n\tKMD: {}\n").args(&["check"]).fails(
        CONFIG,
        "dokomodo: error: DIR/notary.yaml:2:1: a tab indents this line; YAML indentation must be spaces\n  |\n2 | \tKMD: {}\n  | ^\n",
    );
}

#[test]
fn unknown_key_with_suggestion() {
    Run::new("rpc: {allow: [10.0.0.0/8]}\nchains:\n  PIZZA:\n    ac_suply: 100000000\n").args(&["check"]).fails(
        CONFIG,
        "dokomodo: error: DIR/notary.yaml:4:5: chains.PIZZA.ac_suply: unknown key `ac_suply` (did you mean `ac_supply`?)\n  |\n4 |     ac_suply: 100000000\n  |     ^\n",
    );
}

#[test]
fn unknown_ac_parameter_without_suggestion() {
    Run::new("rpc: {allow: [10.0.0.0/8]}\nchains:\n  PIZZA:\n    ac_zzzzzzzz: 1\n").args(&["check"]).fails(
        CONFIG,
        "dokomodo: error: DIR/notary.yaml:4:5: chains.PIZZA.ac_zzzzzzzz: unknown key `ac_zzzzzzzz`: komodod does not know this -ac_* parameter and would silently ignore it\n  |\n4 |     ac_zzzzzzzz: 1\n  |     ^\n",
    );
}

#[test]
fn unknown_top_level_key() {
    Run::new("chian:\n  KMD: {}\n").args(&["check"]).fails(
        CONFIG,
        "dokomodo: error: DIR/notary.yaml:1:1: chian: unknown key `chian` (did you mean `chains`?)\n  |\n1 | chian:\n  | ^\n",
    );
}

#[test]
fn wrong_type() {
    Run::new("rpc: {allow: [10.0.0.0/8]}\nchains:\n  BEER:\n    ac_supply: [1, 2]\n").args(&["check"]).fails(
        CONFIG,
        "dokomodo: error: DIR/notary.yaml:4:16: chains.BEER.ac_supply: expected an integer, found a list\n  |\n4 |     ac_supply: [1, 2]\n  |                ^\n",
    );
}

#[test]
fn float_where_an_integer_belongs() {
    Run::new("rpc: {allow: [10.0.0.0/8]}\nchains:\n  BEER:\n    ac_supply: 1e8\n").args(&["check"]).fails(
        CONFIG,
        "dokomodo: error: DIR/notary.yaml:4:16: chains.BEER.ac_supply: expected an integer, found a floating-point number (write the integer in full, e.g. 100000000, not 1e8)\n  |\n4 |     ac_supply: 1e8\n  |                ^\n",
    );
}

#[test]
fn invalid_parameter_value() {
    Run::new("rpc: {allow: [10.0.0.0/8]}\nchains:\n  BEER:\n    ac_staked: 101\n").args(&["check"]).fails(
        CONFIG,
        "dokomodo: error: DIR/notary.yaml:4:16: chains.BEER.ac_staked: `101` is not valid: expected an integer from 0 to 100\n  |\n4 |     ac_staked: 101\n  |                ^\n",
    );
}

#[test]
fn duplicate_key() {
    Run::new("chains:\n  KMD: {}\n  KMD: {}\n").args(&["check"]).fails(
        CONFIG,
        "dokomodo: error: DIR/notary.yaml:3:3: duplicate key `KMD`\n  |\n3 |   KMD: {}\n  |   ^\n",
    );
}

#[test]
fn two_chains_on_one_port() {
    Run::new("rpc: {allow: [10.0.0.0/8]}\nchains:\n  BEER: {ac_supply: 100000000}\n  BEER2: {ac_name: BEER, datadir: BEER2, ac_supply: 100000000}\n").args(&["check"]).fails(
        CONFIG,
        "dokomodo: error: DIR/notary.yaml:4:3: chains.BEER2: its p2p port 8922 is also chain BEER's p2p port; two chains cannot share a port (same -ac_* parameters make the same chain)\n  |\n4 |   BEER2: {ac_name: BEER, datadir: BEER2, ac_supply: 100000000}\n  |   ^\n",
    );
}

#[test]
fn claimed_port_differs_from_the_derivation() {
    Run::new("rpc: {allow: [10.0.0.0/8]}\nchains:\n  BEER:\n    ac_supply: 100000000\n    rpc_port: 8924\n").args(&["check"]).fails(
        CONFIG,
        "dokomodo: error: DIR/notary.yaml:5:15: chains.BEER.rpc_port: is 8924, but komodod derives 8923 from this chain's parameters (a typo in an -ac_* value makes a different chain); if this chain really listens elsewhere, write `rpc_port_override: 8924`\n  |\n5 |     rpc_port: 8924\n  |               ^\n",
    );
}

#[test]
fn bad_chain_name() {
    Run::new("chains:\n  \"BEER COIN\": {}\n").args(&["check"]).fails(
        CONFIG,
        "dokomodo: error: DIR/notary.yaml:2:3: chains: `BEER COIN` is not a valid chain name: use letters, digits, `_`, `-` and `.`, starting with a letter or digit, at most 64 characters\n  |\n2 |   \"BEER COIN\": {}\n  |   ^\n",
    );
}

#[test]
fn path_traversal_in_datadir() {
    Run::new("rpc: {allow: [10.0.0.0/8]}\nchains:\n  X:\n    datadir: ../../etc\n").args(&["check"]).fails(
        CONFIG,
        "dokomodo: error: DIR/notary.yaml:4:14: chains.X.datadir: `../../etc` is not a directory name under ~/.komodo: use letters, digits, `_`, `-` and `.`, starting with a letter or digit, at most 64 characters\n  |\n4 |     datadir: ../../etc\n  |              ^\n",
    );
}

#[test]
fn missing_secret() {
    let run = Run::new(NOTARY_YAML);
    let dir = run.dir.path().display().to_string();
    run.env("DOKOMODO_SEED_FILE", &format!("{dir}/nope")).args(&["render", "iguana"]).fails(
        CONFIG,
        "dokomodo: error: no seed secret: DIR/nope does not exist (named by DOKOMODO_SEED_FILE) (mount the dokomodo_seed secret, or set DOKOMODO_SEED_FILE or DOKOMODO_SEED)\n",
    );
}

#[test]
fn both_secret_variables_set() {
    Run::new(NOTARY_YAML)
        .env("DOKOMODO_SEED_FILE", "/x")
        .env("DOKOMODO_SEED", "0123456789abcdef")
        .args(&["render", "iguana"])
        .fails(
            CONFIG,
            "dokomodo: error: both DOKOMODO_SEED_FILE and DOKOMODO_SEED are set; set only one\n",
        );
}

#[test]
fn short_secret() {
    let run = Run::new(NOTARY_YAML);
    let seed = run.dir.write("seed", "tooshort\n");
    run.env("DOKOMODO_SEED_FILE", seed.to_str().unwrap())
        .args(&["render", "iguana"])
        .fails(
            CONFIG,
            "dokomodo: error: the seed secret DIR/seed is 8 bytes; at least 16 are needed\n",
        );
}

#[test]
fn unreadable_secret() {
    let run = Run::new(NOTARY_YAML);
    let not_a_dir = run.dir.write("file", "x");
    run.env(
        "DOKOMODO_SEED_FILE",
        &format!("{}/seed", not_a_dir.display()),
    )
    .args(&["render", "iguana"])
    .fails(
        CONFIG,
        "dokomodo: error: cannot read the seed secret DIR/file/seed: Not a directory\n",
    );
}

#[test]
fn secret_is_a_directory() {
    let run = Run::new(NOTARY_YAML);
    let dir = run.dir.path().display().to_string();
    run.env("DOKOMODO_SEED_FILE", &dir)
        .args(&["render", "iguana"])
        .fails(
            CONFIG,
            "dokomodo: error: the seed secret DIR is a directory, not a file\n",
        );
}

#[test]
fn missing_config() {
    let run = Run::new(NOTARY_YAML);
    let missing = run.dir.path().join("missing.yaml");
    run.args(&["--config", missing.to_str().unwrap(), "check"]).fails(
        CONFIG,
        "dokomodo: error: DIR/missing.yaml: cannot read the config: No such file or directory\n",
    );
}

#[test]
fn config_is_a_directory() {
    let run = Run::new(NOTARY_YAML);
    let dir = run.dir.path().display().to_string();
    run.args(&["--config", &dir, "check"]).fails(
        CONFIG,
        "dokomodo: error: DIR: is a directory, not a YAML file\n",
    );
}

#[test]
fn empty_config() {
    Run::new("").args(&["check"]).fails(
        CONFIG,
        "dokomodo: error: DIR/notary.yaml:1:1: the file is empty; expected a mapping with a `chains:` key\n",
    );
}

#[test]
fn binary_garbage_config() {
    let run = Run::new("");
    run.dir.write("notary.yaml", b"chains:\n  \xff\xfe\x00\x01");
    run.args(&["check"]).fails(
        CONFIG,
        "dokomodo: error: DIR/notary.yaml:2:3: the file is not UTF-8 text\n",
    );
}

#[test]
fn alias_bomb() {
    let mut yaml = String::from("a: &a [x,x,x,x,x,x,x,x,x,x]\n");
    let names = ["a", "b", "c", "d", "e", "f", "g", "h"];
    for pair in names.windows(2) {
        let refs = vec![format!("*{}", pair[0]); 10].join(",");
        yaml.push_str(&format!("x-{}: &{} [{refs}]\n", pair[1], pair[1]));
    }
    yaml = yaml.replacen("a: &a", "x-a: &a", 1);
    let (stdout, stderr) = Run::new(&yaml).args(&["check"]).status(CONFIG);
    assert_eq!(stdout, "");
    assert!(stderr.starts_with("dokomodo: error: "), "{stderr}");
    assert!(
        stderr.contains("notary.yaml:")
            && stderr.contains("too many YAML nodes once aliases are expanded (an alias bomb?)"),
        "{stderr}"
    );
}

#[test]
fn kmd_with_parameters() {
    Run::new("chains:\n  KMD:\n    ac_supply: 5\n").args(&["check"]).fails(
        CONFIG,
        "dokomodo: error: DIR/notary.yaml:2:3: chains.KMD: KMD takes no -ac_* parameters, but `ac_supply` is set\n  |\n2 |   KMD:\n  |   ^\n",
    );
}

#[test]
fn remote_chain_without_rpc_allow() {
    Run::new("chains:\n  BEER: {ac_supply: 100000000}\n").args(&["check"]).fails(
        CONFIG,
        "dokomodo: error: DIR/notary.yaml:2:3: chains.BEER: iguana reaches this chain at host `beer`, but `rpc.allow` is empty, so komodod would refuse every caller but 127.0.0.1; list iguana's network under `rpc.allow`, or set `host: 127.0.0.1` if the chain runs beside iguana\n  |\n2 |   BEER: {ac_supply: 100000000}\n  |   ^\n",
    );
}

#[test]
fn unknown_chain_on_the_command_line() {
    Run::new(NOTARY_YAML)
        .seed()
        .args(&["render", "komodod", "--chain", "BEEER"])
        .fails(
            CONFIG,
            "dokomodo: error: DIR/notary.yaml: no chain `BEEER` (the YAML has: KMD, BEER, PIZZA)\n",
        );
}

#[test]
fn usage_errors_exit_64() {
    Run::new(NOTARY_YAML).args(&["frobnicate"]).fails(
        64,
        "dokomodo: error: unknown command `frobnicate`\ntry `dokomodo --help`\n",
    );
    Run::new(NOTARY_YAML).args(&["render", "komodod"]).fails(
        64,
        "dokomodo: error: the daemon role needs --chain NAME (or $DOKOMODO_CHAIN)\ntry `dokomodo --help`\n",
    );
}

#[test]
fn nothing_is_written_on_a_bad_config() {
    let run = Run::new("rpc: {allow: [10.0.0.0/8]}\nchains:\n  BEER:\n    ac_supply: 100000000\n  PIZZA:\n    ac_suply: 1\n").seed().args(&["render", "iguana"]);
    run.status(CONFIG);
    assert_eq!(
        std::fs::read_dir(run.home()).unwrap().count(),
        0,
        "HOME must stay empty"
    );
}

#[test]
fn rpc_flag_in_args_is_refused() {
    Run::new("rpc: {allow: [10.0.0.0/8]}\nchains:\n  THC:\n    ac_supply: 251253103\n    args: [-rpcpassword=hunter2hunter2]\n").args(&["check"]).fails(
        CONFIG,
        "dokomodo: error: DIR/notary.yaml:5:12: chains.THC.args[0]: -rpcpassword is managed by dokomodo; use `rpc.allow` or `rpc_port_override` (RPC settings go in the conf, never on a command line)\n  |\n5 |     args: [-rpcpassword=hunter2hunter2]\n  |            ^\n",
    );
}

// ------------------------------------------- what komodod refuses at start-up
// (komodo_args in komodod's src/komodo_utils.cpp; docs/komodod.md lists them)

/// `check` of one chain `BEER: {BODY}` fails with MESSAGE at the chain's key.
fn refused_chain(body: &str, message: &str) {
    let line = format!("  BEER: {{{body}}}");
    Run::new(&format!("rpc: {{allow: [10.0.0.0/8]}}\nchains:\n{line}\n"))
        .args(&["check"])
        .fails(
            CONFIG,
            &format!("dokomodo: error: DIR/notary.yaml:3:3: chains.BEER: {message}\n  |\n3 | {line}\n  |   ^\n"),
        );
}

const PUBKEY: &str =
    "ac_pubkey: 02df9bda7bfe2bcaa938b29a399fb0ba58cfb6cc3ddc0001062a600f60a8237ad9";

#[test]
fn ac_private_on_a_chain_other_than_pirate_or_zombie() {
    refused_chain(
        "ac_private: 1",
        "ac_private is allowed only on PIRATE and ZOMBIE: komodod refuses to start any other chain with it (\"-ac_private for a non-PIRATE chain is not supported\")",
    );
}

#[test]
fn a_non_zero_ac_beam() {
    refused_chain(
        "ac_beam: 8080",
        "ac_beam must be 0: current komodod refuses to start with any other value (\"can only have one of -ac_beam or -ac_coda\")",
    );
}

#[test]
fn ac_import_pubkey_without_ac_pubkey() {
    refused_chain(
        "ac_import: PUBKEY",
        "ac_import=PUBKEY needs ac_pubkey: komodod refuses to start without it (\"invalid -ac_pubkey for -ac_import=PUBKEY\")",
    );
}

#[test]
fn ac_import_beam_can_never_start() {
    refused_chain(
        "ac_import: BEAM",
        "ac_import=BEAM cannot start: komodod needs a non-zero ac_beam for it (\"missing -ac_beam for BEAM rpcport\") and refuses every non-zero ac_beam",
    );
}

#[test]
fn ac_import_coda_without_ac_coda() {
    refused_chain(
        "ac_import: CODA",
        "ac_import=CODA needs a non-zero ac_coda (CODA's RPC port): komodod refuses to start without it (\"missing -ac_coda for CODA rpcport\")",
    );
}

#[test]
fn ac_import_gateway_with_a_supply() {
    // ac_supply defaults to 10 in komodod: it must be written as 0.
    refused_chain(
        "ac_import: GATEWAY, ac_end: 1",
        "ac_import=GATEWAY needs ac_end: 1 (its first era), ac_supply: 0 and no ac_perc: komodod refuses to start otherwise (\"when using gateway import these must be set: -ac_end=1 -ac_supply=0 -ac_perc=0\")",
    );
}

#[test]
fn ac_pubkey_with_a_supply_over_ten_billion() {
    refused_chain(
        &format!("{PUBKEY}, ac_supply: 10000000001"),
        "ac_supply above 10000000000 cannot go with ac_pubkey or ac_script: komodod refuses to start (\"ac_pubkey or ac_script wont work with ac_supply over 10 billion\")",
    );
}

#[test]
fn ac_notarypay_with_ac_script() {
    refused_chain(
        "ac_script: 76a914, ac_notarypay: [100, 0]",
        "ac_notarypay (its first era) cannot go with ac_pubkey or ac_script: komodod refuses to start (\"Assetchains NOTARY PAY cannot be used with ac_pubkey or ac_script.\")",
    );
}

#[test]
fn ac_perc_with_ac_founders_reward() {
    refused_chain(
        &format!("{PUBKEY}, ac_perc: 100, ac_founders: 1, ac_founders_reward: 5"),
        "ac_perc and ac_founders_reward cannot both be set: komodod refuses to start (\"cannot use founders reward and commission on the same chain.\")",
    );
}

// ------------------------------------------------ the flag policy of `args`

#[test]
fn negated_rpc_flag_in_args_is_refused() {
    Run::new("rpc: {allow: [10.0.0.0/8]}\nchains:\n  THC:\n    ac_supply: 251253103\n    args: [-addressindex=1, -norpcpassword]\n").args(&["check"]).fails(
        CONFIG,
        "dokomodo: error: DIR/notary.yaml:5:29: chains.THC.args[1]: `-norpcpassword` means -rpcpassword=0 to komodod, and -rpcpassword is managed by dokomodo; use `rpc.allow` or `rpc_port_override` (RPC settings go in the conf, never on a command line)\n  |\n5 |     args: [-addressindex=1, -norpcpassword]\n  |                             ^\n",
    );
}

#[test]
fn double_dash_identity_flag_in_args_is_refused() {
    Run::new("rpc: {allow: [10.0.0.0/8]}\nchains:\n  THC:\n    ac_supply: 251253103\n    args: [--ac_supply=5]\n").args(&["check"]).fails(
        CONFIG,
        "dokomodo: error: DIR/notary.yaml:5:12: chains.THC.args[0]: `--ac_supply=5` means -ac_supply=5 to komodod, and -ac_supply is managed by dokomodo; use its own key under the chain (it is part of the chain's identity)\n  |\n5 |     args: [--ac_supply=5]\n  |            ^\n",
    );
}

#[test]
fn stakednotary_in_args_with_a_notary_pubkey_is_refused() {
    Run::new("pubkey: 02a854251adfee222bede8396fed0756985d4ea905f72611740867c7a4ad6488c1\nchains:\n  KMD:\n    host: 127.0.0.1\n    args: [-stakednotary=1]\n").args(&["check"]).fails(
        CONFIG,
        "dokomodo: error: DIR/notary.yaml:5:12: chains.KMD.args[0]: -stakednotary cannot go with a notary pubkey (the YAML's `pubkey`) or -notary: komodod refuses to start (\"Cannot be STAKED and KMD notary at the same time!\")\n  |\n5 |     args: [-stakednotary=1]\n  |            ^\n",
    );
}

// ------------------------------------------------------- names that mislead

#[test]
fn kmd_in_lower_case_is_not_a_new_assetchain() {
    Run::new("chains:\n  kmd: {host: 127.0.0.1}\n").args(&["check"]).fails(
        CONFIG,
        "dokomodo: error: DIR/notary.yaml:2:3: chains.kmd: the ac_name `kmd` is not KMD: komodod's chain names are case-sensitive, so this would be a new assetchain named `kmd`; write `KMD` for Komodo itself\n  |\n2 |   kmd: {host: 127.0.0.1}\n  |   ^\n",
    );
}

#[test]
fn chains_differing_only_in_case() {
    Run::new("rpc: {allow: [10.0.0.0/8]}\nchains:\n  BEER: {ac_supply: 100000000}\n  beer: {ac_supply: 5}\n").args(&["check"]).fails(
        CONFIG,
        "dokomodo: error: DIR/notary.yaml:4:3: chains.beer: differs from chain `BEER` only in case: their compose services and default hosts (`beer`) would be one; give one of them another name\n  |\n4 |   beer: {ac_supply: 5}\n  |   ^\n",
    );
}

#[test]
fn iguana_workdir_that_is_home_itself() {
    Run::new("iguana: {workdir: .}\nchains:\n  KMD: {host: 127.0.0.1}\n").args(&["check"]).fails(
        CONFIG,
        "dokomodo: error: DIR/notary.yaml:1:19: iguana.workdir: `.` names HOME itself; give iguana a directory of its own for DB/, tmp/ and confs/ (e.g. `iguana`)\n  |\n1 | iguana: {workdir: .}\n  |                   ^\n",
    );
}

#[test]
fn iguana_workdir_that_is_the_root_directory() {
    Run::new("iguana: {workdir: /}\nchains:\n  KMD: {host: 127.0.0.1}\n").args(&["check"]).fails(
        CONFIG,
        "dokomodo: error: DIR/notary.yaml:1:19: iguana.workdir: `/` names the root directory; give iguana a directory of its own for DB/, tmp/ and confs/ (e.g. `iguana`)\n  |\n1 | iguana: {workdir: /}\n  |                   ^\n",
    );
}

// ---- stop settings: bounded (issue 13 §4) ----------------------------------

#[test]
fn a_grace_longer_than_a_day() {
    Run::new(NOTARY_YAML)
        .seed()
        .env("DOKOMODO_GRACE", "99999999999")
        .args(&["run", "komodod", "--chain", "BEER"])
        .fails(
            CONFIG,
            "dokomodo: warning: running the daemon as root: set `user:` in the YAML or DOKOMODO_USER\ndokomodo: error: DOKOMODO_GRACE: `99999999999` is more than 86400 seconds (one day), the longest grace\n",
        );
}

#[test]
fn a_stop_signal_that_cannot_be_caught() {
    Run::new(NOTARY_YAML)
        .seed()
        .env("DOKOMODO_STOP_SIGNAL", "KILL")
        .args(&["run", "komodod", "--chain", "BEER"])
        .fails(
            CONFIG,
            "dokomodo: warning: running the daemon as root: set `user:` in the YAML or DOKOMODO_USER\ndokomodo: error: DOKOMODO_STOP_SIGNAL: SIGKILL cannot be caught, so the daemon gets no chance to stop cleanly; use TERM, INT, QUIT, HUP, USR1, USR2, WINCH, PWR or RTMIN..RTMAX\n",
        );
}

#[test]
fn a_job_control_stop_signal_flag() {
    Run::new(NOTARY_YAML)
        .args(&["init", "--stop-signal", "TSTP", "true"])
        .fails(
            64,
            "dokomodo: error: --stop-signal: SIGTSTP is job control: it suspends or resumes, it does not stop; use TERM, INT, QUIT, HUP, USR1, USR2, WINCH, PWR or RTMIN..RTMAX (see `dokomodo init --help`)\n",
        );
}

// ---- the daemon's user has no home to render into (issue 13 §5) -----------

#[test]
fn a_user_whose_home_does_not_exist() {
    let run = Run::new(NOTARY_YAML);
    let passwd = run.dir.write(
        "passwd",
        "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n",
    );
    run.seed()
        .env("DOKOMODO_PASSWD_FILE", passwd.to_str().unwrap())
        .env("DOKOMODO_USER", "nobody")
        .args(&["run", "komodod", "--chain", "BEER"])
        .fails(
            CONFIG,
            "dokomodo: error: user `nobody` has home /nonexistent in DIR/passwd, which is not a directory: pass --home DIR (a directory it can write), or set `user:` (or DOKOMODO_USER) to a user with a real home\n",
        );
}

#[test]
fn a_uid_without_a_passwd_entry() {
    let run = Run::new(NOTARY_YAML);
    let passwd = run.dir.write("passwd", "");
    run.seed()
        .env("DOKOMODO_PASSWD_FILE", passwd.to_str().unwrap())
        .env("DOKOMODO_USER", "10001")
        .args(&["run", "komodod", "--chain", "BEER"])
        .fails(
            CONFIG,
            "dokomodo: error: uid 10001 has no entry in DIR/passwd, so no home to render into: pass --home DIR (a directory it can write), or give the uid a passwd entry with a real home\n",
        );
}

/// A chain secret works for its own chain only; everything else names the
/// chain it belongs to (`dokomodo secret --chain BEER` with the test seed).
const BEER_SECRET: &str =
    "dkc1-BEER-6c7c7a10aa152bb91a05281bae455236e7c8ded0c0c56c3aa01eb9561b67f7f0338e0cc7fb1296ef";

fn with_beer_secret(args: &[&str]) -> Run {
    Run::new(NOTARY_YAML)
        .env("DOKOMODO_SEED", BEER_SECRET)
        .args(args)
}

#[test]
fn a_chain_secret_for_another_chains_daemon() {
    with_beer_secret(&["render", "daemon", "--chain", "KMD"]).fails(
        CONFIG,
        "dokomodo: error: the seed secret in DOKOMODO_SEED is the chain secret of BEER, not of KMD: use KMD's (`dokomodo secret --chain KMD`) or the master seed\n",
    );
    with_beer_secret(&["run", "daemon", "--chain", "PIZZA"]).fails(
        CONFIG,
        "dokomodo: error: the seed secret in DOKOMODO_SEED is the chain secret of BEER, not of PIZZA: use PIZZA's (`dokomodo secret --chain PIZZA`) or the master seed\n",
    );
}

#[test]
fn a_chain_secret_for_creds_status_wait_health_utxos_monitor_of_other_chains() {
    let kmd = "dokomodo: error: the seed secret in DOKOMODO_SEED is the chain secret of BEER, not of KMD: use KMD's (`dokomodo secret --chain KMD`) or the master seed\n";
    with_beer_secret(&["creds", "KMD"]).fails(CONFIG, kmd);
    with_beer_secret(&["status"]).fails(CONFIG, kmd);
    with_beer_secret(&["wait", "--timeout", "1", "BEER", "KMD"]).fails(CONFIG, kmd);
    with_beer_secret(&["health", "--chain", "KMD"]).fails(CONFIG, kmd);
    with_beer_secret(&["utxos", "KMD"]).fails(CONFIG, kmd);
    with_beer_secret(&["monitor", "--listen", "127.0.0.1:0"]).fails(CONFIG, kmd);
}

#[test]
fn a_chain_secret_for_iguana_or_secret() {
    with_beer_secret(&["render", "iguana"]).fails(
        CONFIG,
        "dokomodo: error: the seed secret in DOKOMODO_SEED is the chain secret of BEER; the iguana role (it derives every chain's credentials) needs the master seed\n",
    );
    with_beer_secret(&["run", "iguana"]).fails(
        CONFIG,
        "dokomodo: error: the seed secret in DOKOMODO_SEED is the chain secret of BEER; the iguana role (it derives every chain's credentials) needs the master seed\n",
    );
    with_beer_secret(&["secret", "--chain", "BEER"]).fails(
        CONFIG,
        "dokomodo: error: the seed secret in DOKOMODO_SEED is the chain secret of BEER; `dokomodo secret` needs the master seed\n",
    );
}

#[test]
fn a_cut_chain_secret_is_refused_without_showing_it() {
    Run::new(NOTARY_YAML)
        .env("DOKOMODO_SEED", &BEER_SECRET[..60])
        .args(&["check"])
        .fails(
            CONFIG,
            "dokomodo: error: the seed secret in DOKOMODO_SEED starts like a chain secret but is not a whole chain secret: `dkc1-NAME-` and 80 lowercase hex digits expected\n",
        );
    Run::new(NOTARY_YAML)
        .env("DOKOMODO_SEED", "dkc2-BEER-00")
        .args(&["check"])
        .fails(
            CONFIG,
            "dokomodo: error: the seed secret in DOKOMODO_SEED starts like a chain secret but is a chain secret of a format this dokomodo does not know (it reads `dkc1-`)\n",
        );
}

/// A root-owned 0600 seed (a compose file secret keeps the host file's owner
/// and mode) read by the images' uid: the message says who reads it and
/// what to do, instead of a bare "Permission denied" in a restart loop.
#[test]
fn a_seed_the_daemons_uid_cannot_read_says_what_to_do() {
    use std::os::unix::fs::PermissionsExt;
    let run = Run::new(NOTARY_YAML);
    let seed = run
        .dir
        .write("dokomodo_seed", "a-seed-only-root-can-read-here\n");
    std::fs::set_permissions(&seed, std::fs::Permissions::from_mode(0o600)).unwrap();
    std::fs::set_permissions(run.dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let out = std::process::Command::new("setpriv")
        .args([
            "--reuid",
            "10001",
            "--regid",
            "0",
            "--clear-groups",
            common::BIN,
        ])
        .args([
            "--config",
            run.dir.path().join("notary.yaml").to_str().unwrap(),
            "creds",
            "BEER",
        ])
        .env_clear()
        .env("DOKOMODO_SEED_FILE", &seed)
        .output()
        .expect("setpriv (util-linux)");
    let stderr =
        String::from_utf8_lossy(&out.stderr).replace(&run.dir.path().display().to_string(), "DIR");
    assert_eq!(out.status.code(), Some(CONFIG), "{stderr}");
    assert_eq!(
        stderr,
        "dokomodo: error: cannot read the seed secret DIR/dokomodo_seed: Permission denied: this \
         process runs as uid 10001; give it the file (`sudo chown 10001 FILE` on the host for a \
         compose secret, keeping mode 0600) or make it readable by its group\n"
    );
}
