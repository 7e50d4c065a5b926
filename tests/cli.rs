//! The commands an operator runs, on the real binary.

mod common;
use common::{NOTARY_YAML, Run, TempDir};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o7777
}

#[test]
fn check_summarises_chains_and_ports() {
    let (stdout, _) = Run::new(NOTARY_YAML).seed().args(&["check"]).status(0);
    let expected = "\
NAME   AC_NAME    P2P    RPC        MAGIC  HOST
KMD    KMD       7770   7771  -1914376455  kmd
BEER   BEER      8922   8923   1857809567  beer
PIZZA  PIZZA    11607  11608   1012055725  pizza
seed secret in DOKOMODO_SEED: valid
";
    assert!(stdout.ends_with(expected), "{stdout}");
    let first = stdout.lines().next().unwrap_or_default();
    assert!(first.ends_with("notary.yaml: 3 chain(s), valid"), "{first}");
}

#[test]
fn ports_needs_no_secret_and_selects_chains() {
    let (stdout, _) = Run::new(NOTARY_YAML)
        .args(&["ports", "--json", "PIZZA", "BEER"])
        .status(0);
    assert_eq!(
        stdout,
        "[\n  {\"name\":\"PIZZA\",\"ac_name\":\"PIZZA\",\"p2p_port\":11607,\"rpc_port\":11608,\"magic\":1012055725,\"daemon\":\"komodod\"},\n  {\"name\":\"BEER\",\"ac_name\":\"BEER\",\"p2p_port\":8922,\"rpc_port\":8923,\"magic\":1857809567,\"daemon\":\"komodod\"}\n]\n"
    );
}

/// Two implementations written independently (Rust here, Python in
/// tests/port_oracle.py) agree on every chain notarised since 2018 (examples/all-chains.yaml).
#[test]
fn production_ports_agree_with_the_python_oracle() {
    let root = env!("CARGO_MANIFEST_DIR");
    let regen = std::process::Command::new("python3")
        .args([&format!("{root}/tests/gen_production_params.py"), "--check"])
        .output()
        .expect("python3 runs");
    assert!(
        regen.status.success(),
        "production_params.json is stale: {}",
        String::from_utf8_lossy(&regen.stderr)
    );
    let oracle = std::process::Command::new("python3")
        .arg(format!("{root}/tests/port_oracle.py"))
        .output()
        .unwrap();
    assert!(oracle.status.success());
    let oracle = String::from_utf8(oracle.stdout).unwrap();
    let run = Run::new("").args(&[
        "--config",
        &format!("{root}/examples/all-chains.yaml"),
        "ports",
    ]);
    let (table, _) = run.status(0);
    let ours: Vec<String> = table
        .lines()
        .skip(1)
        .map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            format!("{} {} {} {}", f[0], f[2], f[3], f[4])
        })
        .collect();
    let theirs: Vec<String> = oracle
        .lines()
        .map(|l| l.split_whitespace().take(4).collect::<Vec<_>>().join(" "))
        .collect();
    assert!(
        ours.len() >= 41,
        "all-chains.yaml has {} chains",
        ours.len()
    );
    assert_eq!(ours, theirs);
}

#[test]
fn published_ports_match_except_the_documented_mistakes() {
    let root = env!("CARGO_MANIFEST_DIR");
    let out = std::process::Command::new("python3")
        .args([&format!("{root}/tests/port_oracle.py"), "--check"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

#[test]
fn render_komodod_writes_safe_files_and_the_data_directory() {
    let run = Run::new(NOTARY_YAML)
        .seed()
        .args(&["render", "komodod", "--chain", "BEER"]);
    let (stdout, _) = run.status(0);
    let home = run.home();
    assert_eq!(
        stdout,
        format!("created   {h}/.komodo/BEER/BEER.conf\n", h = home.display())
    );
    let conf = std::fs::read_to_string(home.join(".komodo/BEER/BEER.conf")).unwrap();
    assert_eq!(
        conf,
        "rpcuser=user6c7c7a10aa152bb9\nrpcpassword=pass1a05281bae455236e7c8ded0c0c56c3aa01eb9561b67f7f0338e0cc7fb1296ef\n\
         rpcport=8923\nserver=1\ntxindex=1\nrpcworkqueue=256\nrpcbind=0.0.0.0\nrpcallowip=127.0.0.1\nrpcallowip=172.20.0.0/16\n"
    );
    assert_eq!(mode(&home.join(".komodo/BEER/BEER.conf")), 0o600);
    assert_eq!(mode(&home.join(".komodo/BEER")), 0o700);
    assert_eq!(mode(&home.join(".komodo")), 0o700);
}

#[test]
fn an_assetchain_in_kmds_home_leaves_kmds_conf_alone() {
    let kmd = Run::new(NOTARY_YAML)
        .seed()
        .args(&["render", "komodod", "--chain", "KMD"]);
    kmd.status(0);
    let home = kmd.home();
    let kmd_conf = std::fs::read_to_string(home.join(".komodo/komodo.conf")).unwrap();
    assert!(kmd_conf.contains("rpcallowip=172.20.0.0/16"), "{kmd_conf}");
    let beer = Run::new(NOTARY_YAML).seed().args(&[
        "render",
        "komodod",
        "--chain",
        "BEER",
        "--home",
        home.to_str().unwrap(),
    ]);
    let (stdout, _) = beer.status(0);
    assert_eq!(
        stdout,
        format!("created   {}/.komodo/BEER/BEER.conf\n", home.display())
    );
    assert_eq!(
        std::fs::read_to_string(home.join(".komodo/komodo.conf")).unwrap(),
        kmd_conf,
        "KMD's conf is KMD's, whole"
    );
}

#[test]
fn an_assetchains_home_holds_no_kmd_credentials() {
    let run = Run::new(NOTARY_YAML)
        .seed()
        .args(&["render", "komodod", "--chain", "PIZZA"]);
    run.status(0);
    assert!(!run.home().join(".komodo/komodo.conf").exists());
    let kmd = Run::new(NOTARY_YAML).seed().args(&["creds", "KMD"]);
    let (creds, _) = kmd.status(0);
    let password = creds.lines().nth(1).unwrap();
    let pizza = std::fs::read_to_string(run.home().join(".komodo/PIZZA/PIZZA.conf")).unwrap();
    assert!(!pizza.contains(password.trim_start_matches("rpcpassword=")));
}

#[test]
fn rerender_leaves_unchanged_files_alone_and_replaces_edited_ones() {
    let run = Run::new(NOTARY_YAML)
        .seed()
        .args(&["render", "komodod", "--chain", "PIZZA"]);
    run.status(0);
    let conf = run.home().join(".komodo/PIZZA/PIZZA.conf");
    let before = std::fs::metadata(&conf).unwrap();
    let (stdout, _) = run.status(0);
    assert!(stdout.starts_with("unchanged "), "{stdout}");
    let after = std::fs::metadata(&conf).unwrap();
    assert_eq!(
        (before.ino(), before.mtime_nsec()),
        (after.ino(), after.mtime_nsec())
    );

    std::fs::write(&conf, "rpcuser=hand-edited\n").unwrap();
    let (stdout, _) = run.status(0);
    assert!(
        stdout.starts_with(&format!("replaced  {}", conf.display())),
        "{stdout}"
    );
    assert!(
        std::fs::read_to_string(&conf)
            .unwrap()
            .contains("rpcport=11608")
    );
}

#[test]
fn iguana_and_komodod_roles_agree_byte_for_byte() {
    let iguana = Run::new(NOTARY_YAML).seed().args(&["render", "iguana"]);
    iguana.status(0);
    for chain in ["KMD", "BEER", "PIZZA"] {
        let komodod = Run::new(NOTARY_YAML)
            .seed()
            .args(&["render", "komodod", "--chain", chain]);
        komodod.status(0);
        let conf = if chain == "KMD" {
            ".komodo/komodo.conf".to_owned()
        } else {
            format!(".komodo/{chain}/{chain}.conf")
        };
        assert_eq!(
            std::fs::read(komodod.home().join(&conf)).unwrap(),
            std::fs::read(iguana.home().join(&conf)).unwrap(),
            "{conf}"
        );
    }
}

#[test]
fn iguana_role_writes_addcoin_json_with_paths_from_root() {
    let run = Run::new(NOTARY_YAML).seed().args(&["render", "iguana"]);
    let (stdout, _) = run.status(0);
    let home = run.home();
    assert_eq!(stdout.lines().count(), 6, "{stdout}");
    let json = std::fs::read_to_string(home.join("iguana/addcoin/PIZZA.json")).unwrap();
    let rel = home.display().to_string();
    let expected_path = format!("\"path\":\"{}/.komodo/PIZZA\"", rel.trim_start_matches('/'));
    assert!(json.starts_with("{\"conf\":\"PIZZA.conf\","), "{json}");
    assert!(json.contains(&expected_path), "{json}");
    assert!(
        json.contains(
            "\"netmagic\":\"adbe523c\",\"p2p\":11607,\"rpc\":11608,\"rpchost\":\"pizza:11608\""
        ),
        "{json}"
    );
    assert!(json.contains("\"seedipaddr\":\"24.54.206.138\""));
    assert!(!json.contains("pass"), "no credentials in the addcoin JSON");
}

#[test]
fn creds_match_the_rendered_conf() {
    let run = Run::new(NOTARY_YAML).seed();
    let (stdout, _) = Run::new(NOTARY_YAML)
        .seed()
        .args(&["creds", "BEER"])
        .status(0);
    let render = run.args(&["render", "komodod", "--chain", "BEER"]);
    render.status(0);
    let conf = std::fs::read_to_string(render.home().join(".komodo/BEER/BEER.conf")).unwrap();
    assert!(conf.starts_with(&stdout), "{stdout} vs {conf}");
}

#[test]
fn kubernetes_secret_volume_through_data_symlink() {
    // A Secret volume: NAME -> ..data/NAME, ..data -> ..2026_11_24_12_00_00.123
    let dir = TempDir::new("k8s");
    let ts = dir.path().join("..2026_11_24_12_00_00.123");
    std::fs::create_dir(&ts).unwrap();
    std::fs::write(ts.join("dokomodo_seed"), format!("{}\n", common::SEED)).unwrap();
    std::os::unix::fs::symlink("..2026_11_24_12_00_00.123", dir.path().join("..data")).unwrap();
    std::os::unix::fs::symlink("..data/dokomodo_seed", dir.path().join("dokomodo_seed")).unwrap();
    let seed_file = dir.path().join("dokomodo_seed");
    let (from_file, _) = Run::new(NOTARY_YAML)
        .env("DOKOMODO_SEED_FILE", seed_file.to_str().unwrap())
        .args(&["creds", "KMD"])
        .status(0);
    let (from_env, _) = Run::new(NOTARY_YAML)
        .seed()
        .args(&["creds", "KMD"])
        .status(0);
    assert_eq!(from_file, from_env);
    assert_eq!(
        from_file,
        "rpcuser=user6b1617eb1efd71ae\nrpcpassword=pass0c765689a9d32a7f69a82c2119c4cce7335425b0ff4d1178df0a3adf09605c08\n"
    );
}

#[test]
fn the_seed_never_reaches_output() {
    let run = Run::new(NOTARY_YAML).seed();
    for args in [
        &["check"][..],
        &["render", "iguana"],
        &["ports"],
        &["render", "komodod", "--chain", "BEER"],
    ] {
        let out = Run::new(NOTARY_YAML).seed().args(args).output();
        for stream in [&out.stdout, &out.stderr] {
            assert!(
                !String::from_utf8_lossy(stream).contains(common::SEED),
                "{args:?}"
            );
        }
    }
    drop(run);
}

#[test]
fn help_and_version() {
    let (stdout, _) = Run::new("").args(&["--version"]).status(0);
    assert_eq!(stdout, format!("dokomodo {}\n", env!("CARGO_PKG_VERSION")));
    let (stdout, _) = Run::new("").args(&["--help"]).status(0);
    assert!(stdout.contains("Usage: dokomodo [--config PATH] COMMAND"));
    for (cmd, usage) in [
        (
            &["check", "--help"][..],
            "Usage: dokomodo [--config PATH] check",
        ),
        (
            &["ports", "--help"],
            "Usage: dokomodo [--config PATH] ports",
        ),
        (
            &["render", "--help"],
            "Usage: dokomodo [--config PATH] render daemon",
        ),
        (
            &["creds", "--help"],
            "Usage: dokomodo [--config PATH] creds NAME",
        ),
        (
            &["run", "--help"],
            "Usage: dokomodo [--config PATH] run daemon",
        ),
        (&["init", "--help"], "Usage: dokomodo init"),
    ] {
        let (stdout, stderr) = Run::new("").args(cmd).status(0);
        assert!(stdout.starts_with(usage), "{cmd:?}: {stdout}");
        assert_eq!(stderr, "", "{cmd:?}: help is not an error");
    }
}

#[test]
fn chain_from_environment() {
    let run = Run::new(NOTARY_YAML)
        .seed()
        .env("DOKOMODO_CHAIN", "PIZZA")
        .args(&["render", "komodod"]);
    let (stdout, _) = run.status(0);
    assert!(stdout.contains(".komodo/PIZZA/PIZZA.conf"));
}

#[test]
fn init_takes_everything_after_the_command_word() {
    // A config path that is itself the word `init` must not be taken for the
    // command; the child's own flags are the child's.
    let (stdout, _) = Run::new("")
        .args(&[
            "--config",
            "init",
            "init",
            "--",
            "sh",
            "-c",
            "echo -n \"$0 $1\"; exit 3",
            "--grace",
            "x",
        ])
        .status(3);
    assert_eq!(stdout, "--grace x");
}

#[test]
fn read_only_queries_need_no_rpc_allow_but_check_and_render_do() {
    let yaml = "chains:\n  KMD: {}\n  BEER: {ac_supply: 100000000}\n";
    let (stdout, _) = Run::new(yaml).args(&["ports", "BEER"]).status(0);
    assert_eq!(
        stdout,
        "NAME  AC_NAME    P2P    RPC        MAGIC\nBEER  BEER      8922   8923   1857809567\n"
    );
    let (stdout, _) = Run::new(yaml).seed().args(&["creds", "KMD"]).status(0);
    assert!(stdout.starts_with("rpcuser=user"), "{stdout}");
    for args in [
        &["check"][..],
        &["render", "komodod", "--chain", "BEER"],
        &["run", "komodod", "--chain", "BEER"],
    ] {
        let run = Run::new(yaml).seed().args(args);
        let (_, stderr) = run.status(78);
        assert!(
            stderr.contains("`rpc.allow` is empty"),
            "{args:?}: {stderr}"
        );
        assert_eq!(std::fs::read_dir(run.home()).unwrap().count(), 0);
    }
}

#[test]
fn an_absolute_iguana_workdir_that_check_accepts_renders() {
    let run = Run::new("");
    let workdir = run.dir.path().join("srv/iguana");
    std::fs::create_dir_all(workdir.parent().unwrap()).unwrap();
    let yaml = format!(
        "iguana: {{workdir: '{}/'}}\nchains:\n  KMD: {{host: 127.0.0.1}}\n",
        workdir.display()
    );
    run.dir.write("notary.yaml", &yaml);
    let check = Run::new(&yaml).args(&["check"]);
    check.status(0);
    let render = run.seed().args(&["render", "iguana"]);
    let (stdout, _) = render.status(0);
    let home = render.home();
    assert_eq!(
        stdout,
        format!(
            "created   {}/.komodo/komodo.conf\ncreated   {}/addcoin/KMD.json\n",
            home.display(),
            workdir.display()
        )
    );
    assert_eq!(mode(&workdir), 0o700);
    assert!(
        std::fs::read_to_string(workdir.join("addcoin/KMD.json"))
            .unwrap()
            .contains("\"conf\":\"komodo.conf\"")
    );
    assert!(!home.join(workdir.strip_prefix("/").unwrap()).exists());
}

/// The chain secret of `chain` from the test seed, as `dokomodo secret` prints it.
fn chain_secret(chain: &str) -> String {
    let (stdout, _) = Run::new(NOTARY_YAML)
        .seed()
        .args(&["secret", "--chain", chain])
        .status(0);
    stdout.trim_end().to_owned()
}

#[test]
fn secret_prints_the_chain_secret_pinned() {
    // The hex is KMD's v1 credential material (src/secrets/creds.rs vectors).
    assert_eq!(
        chain_secret("KMD"),
        "dkc1-KMD-6b1617eb1efd71ae0c765689a9d32a7f69a82c2119c4cce7335425b0ff4d1178df0a3adf09605c08"
    );
    assert!(chain_secret("BEER").starts_with("dkc1-BEER-6c7c7a10aa152bb91a05281bae455236"));
}

#[test]
fn a_daemon_given_its_chain_secret_renders_what_the_master_renders() {
    for chain in ["KMD", "BEER", "PIZZA"] {
        let secret = chain_secret(chain);
        let master = Run::new(NOTARY_YAML)
            .seed()
            .args(&["render", "daemon", "--chain", chain]);
        let (from_master, _) = master.status(0);
        let own = Run::new(NOTARY_YAML)
            .env("DOKOMODO_SEED", &secret)
            .args(&["render", "daemon", "--chain", chain]);
        let (from_secret, _) = own.status(0);
        let names = |out: &str, home: &Path| out.replace(&home.display().to_string(), "HOME");
        assert_eq!(
            names(&from_master, &master.home()),
            names(&from_secret, &own.home())
        );
        for line in from_master.lines() {
            let path = Path::new(line.split_whitespace().last().unwrap());
            let rel = path.strip_prefix(master.home()).unwrap();
            assert_eq!(
                std::fs::read(path).unwrap(),
                std::fs::read(own.home().join(rel)).unwrap(),
                "{chain}: {}",
                rel.display()
            );
        }
        // `creds` and `check` take it for its own chain too.
        let (creds, _) = Run::new(NOTARY_YAML)
            .env("DOKOMODO_SEED", &secret)
            .args(&["creds", chain])
            .status(0);
        let (want, _) = Run::new(NOTARY_YAML)
            .seed()
            .args(&["creds", chain])
            .status(0);
        assert_eq!(creds, want);
        let (check, _) = Run::new(NOTARY_YAML)
            .env("DOKOMODO_SEED", &secret)
            .args(&["check"])
            .status(0);
        assert!(
            check.ends_with(&format!(
                "seed secret in DOKOMODO_SEED: valid, the chain secret of {chain}\n"
            )),
            "{check}"
        );
    }
}

#[test]
fn a_chain_secret_from_a_file_with_a_newline() {
    let dir = TempDir::new("chain-secret");
    let file = dir.write("beer_seed", format!("{}\n", chain_secret("BEER")));
    let (stdout, _) = Run::new(NOTARY_YAML)
        .env("DOKOMODO_SEED_FILE", file.to_str().unwrap())
        .args(&["creds", "BEER"])
        .status(0);
    let (want, _) = Run::new(NOTARY_YAML)
        .seed()
        .args(&["creds", "BEER"])
        .status(0);
    assert_eq!(stdout, want);
}
