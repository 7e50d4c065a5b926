//! What dokomodo gives iguana and the daemons, held against upstream's own
//! data (../shared/upstream, beside the clone as CI has it): the addcoin JSON
//! of dPoW's start-up scripts, the 3rd-party coins' ports and netmagic.

mod common;

use std::path::PathBuf;

use common::{Run, TempDir};
use serde_json::{Map, Value};

fn upstream(path: &str) -> Value {
    let file = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/upstream")
        .join(path);
    let text = std::fs::read_to_string(&file).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (the upstream data must be beside the clone, as in CI)",
            file.display()
        )
    });
    serde_json::from_str(&text).unwrap()
}

fn example(name: &str) -> String {
    std::fs::read_to_string(
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("examples")
            .join(name),
    )
    .unwrap()
}

/// Renders the iguana role and returns each coin's addcoin JSON by name.
fn addcoin_of(yaml: &str, names: &[&str]) -> Vec<Map<String, Value>> {
    let run = Run::new(yaml).seed().args(&["render", "iguana"]);
    run.status(0);
    names
        .iter()
        .map(|name| {
            let path = run.home().join(format!("iguana/addcoin/{name}.json"));
            let text = std::fs::read_to_string(&path).unwrap();
            match serde_json::from_str(&text).unwrap() {
                Value::Object(map) => map,
                other => panic!("{name}: {other}"),
            }
        })
        .collect()
}

/// The fields that differ from upstream's scripts by design: where the conf
/// is (upstream writes `${HOME#/}`), and where the daemon is reached.
fn without_placement(mut map: Map<String, Value>) -> Map<String, Value> {
    map.remove("path");
    map.remove("rpchost");
    map
}

#[test]
fn ltc_and_kmd_are_added_to_iguana_exactly_as_upstream_adds_them() {
    let yaml = "\
rpc: {allow: [172.20.0.0/16]}
addnode: [78.47.196.146]
chains:
  KMD: {}
  LTC: {}
";
    let coins = upstream("dpow/coins-addcoin.json");
    let ours = addcoin_of(yaml, &["KMD", "LTC"]);
    for (mine, script) in ours.into_iter().zip(["kmd_7776", "ltc_7776"]) {
        let path = mine["path"].as_str().unwrap().to_owned();
        let theirs = coins[script].as_object().unwrap().clone();
        let expected_tail = theirs["path"]
            .as_str()
            .unwrap()
            .trim_start_matches("HOME_WITHOUT_LEADING_SLASH");
        assert!(path.ends_with(expected_tail), "{script}: path {path}");
        assert!(
            !path.starts_with('/'),
            "{script}: iguana reads \"/\" + path"
        );
        assert_eq!(
            without_placement(mine),
            without_placement(theirs),
            "{script} differs"
        );
    }
}

#[test]
fn ltc_runs_litecoind_with_its_own_conf_and_nothing_of_komodod() {
    let yaml = "\
pubkey: 02a854251adfee222bede8396fed0756985d4ea905f72611740867c7a4ad6488c1
rpc: {allow: [172.20.0.0/16]}
addnode: [78.47.196.146]
chains:
  KMD: {}
  LTC: {}
";
    let run = Run::new(yaml)
        .seed()
        .args(&["render", "daemon", "--chain", "LTC"]);
    let (stdout, _) = run.status(0);
    let home = run.home();
    assert_eq!(
        stdout.trim(),
        format!(
            "created   {}",
            home.join(".litecoin/litecoin.conf").display()
        )
    );
    let conf = std::fs::read_to_string(home.join(".litecoin/litecoin.conf")).unwrap();
    assert!(conf.contains("\nrpcport=9332\n"), "{conf}");
    assert!(!home.join(".komodo").exists(), "no komodod files for LTC");

    let bin = TempDir::new("ltc-argv");
    let argv_file = bin.path().join("argv");
    let fake = bin.write(
        "litecoind",
        format!(
            "#!/bin/sh\nprintf '%s\\n' \"$0\" \"$@\" > {}\n",
            argv_file.display()
        ),
    );
    std::fs::set_permissions(&fake, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let path = format!("{}:/usr/bin:/bin", bin.path().display());
    Run::new(yaml)
        .seed()
        .env("PATH", &path)
        .args(&["run", "daemon", "--chain", "LTC", "--", "-printtoconsole"])
        .status(0);
    let argv = std::fs::read_to_string(&argv_file).unwrap();
    let argv: Vec<&str> = argv.lines().collect();
    assert!(argv[0].ends_with("/litecoind"), "{argv:?}");
    assert_eq!(
        &argv[1..],
        ["-printtoconsole"],
        "no -ac_*, -pubkey or Komodo seeds"
    );
}

#[test]
fn the_third_party_coins_get_the_ports_and_netmagic_of_3p_coins_json() {
    let run = Run::new(&example("thirdparty.yaml")).args(&["ports", "--json"]);
    let (stdout, _) = run.status(0);
    let ports: Value = serde_json::from_str(&stdout).unwrap();
    let coins = upstream("dpow/3p_coins.json");
    let coins = coins.as_array().unwrap();
    assert!(!coins.is_empty());
    for coin in coins {
        let name = coin["newcoin"].as_str().unwrap();
        let ours = ports
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == name)
            .unwrap_or_else(|| panic!("examples/thirdparty.yaml lacks {name}"));
        assert_eq!(ours["p2p_port"], coin["p2p"], "{name} p2p");
        assert_eq!(ours["rpc_port"], coin["rpc"], "{name} rpc");
        let magic = ours["magic"].as_i64().unwrap() as i32;
        let netmagic: String = magic
            .to_le_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(
            netmagic,
            coin["netmagic"].as_str().unwrap(),
            "{name} netmagic"
        );
    }
}

#[test]
fn a_fork_parameter_needs_the_forks_daemon() {
    let yaml = "\
chains:
  MCL: {ac_supply: 2000000, ac_cc: 2, ac_marmara: 1, ac_staked: 75, ac_reward: 3000000000, host: 127.0.0.1}
";
    Run::new(yaml).args(&["check"]).fails(
        78,
        "dokomodo: error: DIR/notary.yaml:2:3: chains.MCL: `ac_marmara` is read only by a fork \
         of komodod (mainline komodod ignores it and would run another chain): name the fork's \
         binary with `daemon` (for example `daemon: /opt/marmara/komodod`)\n  |\n2 |   MCL: \
         {ac_supply: 2000000, ac_cc: 2, ac_marmara: 1, ac_staked: 75, ac_reward: 3000000000, \
         host: 127.0.0.1}\n  |   ^\n",
    );
}

#[test]
fn a_coin_refuses_what_only_a_komodod_chain_has() {
    for (chain, message) in [
        (
            "LTC: {ac_supply: 5}",
            "chains.LTC: LTC is a coin, not a komodod chain: it takes no -ac_* parameters, but \
             `ac_supply` is set (an assetchain needs another name)",
        ),
        (
            "LTC: {p2p_port: 9333}",
            "chains.LTC.p2p_port: LTC is a coin: its ports are not derived; set `coin.p2p_port` \
             (or `p2p_port_override`)",
        ),
        (
            "DOGE: {coin: {dir: .dogecoin}}",
            "chains.DOGE.coin: DOGE is not a coin dokomodo knows: set `coin.conf`",
        ),
        (
            "DOGE: {coin: {dir: .dogecoin, conf: dogecoin.conf, p2p_port: 22556, rpc_port: 22555, \
             netmagic: c0c0c0c0, pubval: 30, p2shval: 22, wifval: 158}}",
            "chains.DOGE: is a coin dokomodo does not know: name its daemon's binary with \
             `daemon` (for example `daemon: dogecoind`)",
        ),
        (
            "LTC: {coin: {addcoin: {rpc: 5}}}",
            "chains.LTC.coin.addcoin.rpc: is written by dokomodo from the chain (its ports, \
             prefixes, conf and host); set it through the `coin` keys",
        ),
    ] {
        let yaml = format!("chains:\n  {chain}\n");
        let out = Run::new(&yaml).args(&["check"]).output();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(78), "{chain}: {stderr}");
        assert!(
            stderr.contains(message),
            "{chain}:\n{stderr}\nwanted: {message}"
        );
    }
}

#[test]
fn any_bitcoind_style_coin_is_yaml_not_code() {
    let yaml = "\
rpc: {allow: [172.20.0.0/16]}
chains:
  KMD: {}
  DOGE:
    daemon: dogecoind
    coin:
      dir: .dogecoin
      conf: dogecoin.conf
      p2p_port: 22556
      rpc_port: 22555
      netmagic: C0C0C0C0
      pubval: 30
      p2shval: 22
      wifval: 158
      addcoin: {name: dogecoin, minconfirms: 1, txfee_satoshis: \"100000000\"}
";
    let doge = addcoin_of(yaml, &["DOGE"]).remove(0);
    let expected = serde_json::json!({
        "conf": "dogecoin.conf", "newcoin": "DOGE", "netmagic": "c0c0c0c0",
        "p2p": 22556, "rpc": 22555, "pubval": 30, "p2shval": 22, "wifval": 158,
        "name": "dogecoin", "minconfirms": 1, "txfee_satoshis": "100000000",
        "rpchost": "doge:22555"
    });
    assert_eq!(
        without_placement(doge.clone()),
        without_placement(expected.as_object().unwrap().clone())
    );
    assert_eq!(doge["rpchost"], "doge:22555");
    assert!(doge["path"].as_str().unwrap().ends_with("/.dogecoin"));
}

#[test]
fn iguana_gets_a_bracketed_ipv6_rpchost_and_never_one_longer_than_its_buffer() {
    let yaml = "\
rpc: {allow: ['fd00::/8']}
chains:
  BEER: {ac_supply: 100000000, host: 'fd00::5'}
";
    let beer = addcoin_of(yaml, &["BEER"]).remove(0);
    assert_eq!(beer["rpchost"], "[fd00::5]:8923");

    let long = format!("{}.example", "a".repeat(60) + "." + &"b".repeat(54));
    assert_eq!(format!("{long}:8923").len(), 128);
    let yaml = format!(
        "rpc: {{allow: [10.0.0.0/8]}}\nchains:\n  BEER: {{ac_supply: 100000000, host: {long}}}\n"
    );
    let out = Run::new(&yaml).args(&["check"]).output();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(78), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "chains.BEER.host: `{long}:8923` is 128 bytes; iguana holds at most 127 bytes of \
             host:port (a longer one overflows into the chain's credentials): use a shorter name"
        )),
        "{stderr}"
    );
    let ok = format!("{}.example", "a".repeat(60) + "." + &"b".repeat(53));
    let yaml = format!(
        "rpc: {{allow: [10.0.0.0/8]}}\nchains:\n  BEER: {{ac_supply: 100000000, host: {ok}}}\n"
    );
    Run::new(&yaml).args(&["check"]).status(0);
}

#[test]
fn check_warns_about_a_host_outside_a_private_network() {
    let yaml = "\
rpc: {allow: [0.0.0.0/0]}
chains:
  BEER: {ac_supply: 100000000, host: 203.0.113.7}
  PIZZA: {ac_supply: 100000000, host: pizza.example.com}
  KMD: {host: 10.1.2.3}
  DOC: {ac_supply: 100000000}
";
    let (_, stderr) = Run::new(yaml).args(&["check"]).status(0);
    let warned: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("is not a private"))
        .collect();
    assert_eq!(warned.len(), 2, "{stderr}");
    assert!(
        warned[0].contains("chains.BEER.host `203.0.113.7`"),
        "{stderr}"
    );
    assert!(
        warned[1].contains("chains.PIZZA.host `pizza.example.com`"),
        "{stderr}"
    );
}

/// iguana's dPoW port as an example YAML gives it (`iguana.dpow_port`, or
/// the `port` of its `iguana.elected_file`).
fn dpow_port_of(example_name: &str) -> u16 {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("examples")
        .join(example_name);
    let mut config = dokomodo::config::load(&path).unwrap();
    dokomodo::config::load_elected(&mut config).unwrap();
    config
        .iguana
        .dpow_port()
        .unwrap_or_else(|| panic!("{example_name} gives no dPoW port"))
}

#[test]
fn the_dpow_port_everywhere_is_the_elected_files() {
    for (yaml, file) in [
        ("notary.yaml", "dpow/elected"),
        ("production.yaml", "dpow/elected"),
        ("thirdparty.yaml", "dpow/3rd_party"),
    ] {
        let elected = dokomodo::config::elected::load(
            &PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("../shared/upstream")
                .join(file),
        )
        .unwrap();
        assert_eq!(
            dpow_port_of(yaml),
            elected.port,
            "examples/{yaml} against {file}"
        );
    }
    let port = dpow_port_of("notary.yaml");
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let compose = std::fs::read_to_string(root.join("compose.yaml")).unwrap();
    assert!(
        compose.contains(&format!("- \"{port}:{port}\"")),
        "compose.yaml publishes iguana's dPoW port {port}"
    );
    let iguana = std::fs::read_to_string(root.join("deploy/kubernetes/iguana.yaml")).unwrap();
    assert!(
        iguana.contains(&format!("containerPort: {port}")),
        "deploy/kubernetes/iguana.yaml exposes iguana's dPoW port {port}"
    );
    for text in [&compose, &iguana] {
        for stale in [13348, 13345, 13845, 13848]
            .into_iter()
            .filter(|p| *p != port)
        {
            assert!(
                !text.contains(&stale.to_string()),
                "a stale dPoW port {stale}"
            );
        }
    }
}

#[test]
fn upstreams_elected_files_are_read_as_iguana_reads_them() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/upstream/dpow");
    let notary = dokomodo::config::elected::load(&dir.join("elected")).unwrap();
    let third = dokomodo::config::elected::load(&dir.join("3rd_party")).unwrap();
    assert_eq!((notary.port, third.port), (13848, 13845));
    assert!(notary.seeds.len() >= 8 && third.seeds.len() >= 8);
    assert!(notary.seeds.contains(&"89.19.26.211".to_owned()));
}

#[test]
fn the_elected_file_is_rendered_where_iguana_reads_it() {
    let elected = std::fs::read_to_string(
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/upstream/dpow/elected"),
    )
    .unwrap();
    for (role, file) in [("notary", "elected"), ("3rd_party", "3rd_party")] {
        let yaml = format!(
            "iguana: {{elected: {role}, elected_file: season.json}}\nchains:\n  KMD: {{host: 127.0.0.1}}\n"
        );
        let run = Run::new(&yaml).seed().args(&["render", "iguana"]);
        run.dir.write("season.json", &elected);
        run.status(0);
        let rendered = std::fs::read_to_string(run.home().join("iguana").join(file)).unwrap();
        assert_eq!(rendered, elected, "{role}: iguana reads {file}");
    }
    let run = Run::new("iguana: {elected_file: missing.json}\nchains:\n  KMD: {host: 127.0.0.1}\n")
        .args(&["check"]);
    let (_, stderr) = run.status(78);
    assert!(
        stderr.contains("iguana.elected_file: DIR/missing.json: No such file or directory")
            || stderr.contains("missing.json: No such file or directory"),
        "{stderr}"
    );
}
