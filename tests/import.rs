//! `dokomodo import` against upstream's own files: dPoW's season list
//! (iguana/assetchains.json at 2f846c0aa790) and komodo's
//! (src/assetchains.json at v0.9.0), kept in ../shared/upstream. A missing
//! file fails the test: these are the inputs the command exists for.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use common::{Run, TempDir};
use dokomodo::config::{self, yaml};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

fn upstream(which: &str) -> String {
    format!("{ROOT}/../shared/upstream/{which}/assetchains.json")
}

fn read(path: &str) -> String {
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{path}: {e} (the upstream copies are test data)"))
}

/// `dokomodo [--config BASE] import LIST`: status, stdout, stderr.
fn import(base: Option<&str>, list: &str, status: i32) -> (String, String) {
    let mut args = Vec::new();
    if let Some(base) = base {
        args.extend(["--config", base]);
    }
    args.extend(["import", list]);
    Run::new("").args(&args).status(status)
}

/// The chains upstream lists, keyed as the YAML keys them, with their seeds.
fn upstream_seeds(list: &str) -> BTreeMap<String, BTreeSet<String>> {
    let root = yaml::parse(&read(list)).unwrap();
    let yaml::Value::Seq(items) = root.value else {
        panic!("a list")
    };
    items
        .iter()
        .map(|item| {
            let yaml::Value::Map(members) = &item.value else {
                panic!("objects")
            };
            let get = |k: &str| {
                members
                    .iter()
                    .find(|(key, _)| key.name == k)
                    .map(|(_, v)| &v.value)
            };
            let Some(yaml::Value::Str(name)) = get("ac_name") else {
                panic!("ac_name")
            };
            let key = match get("datadir") {
                Some(yaml::Value::Str(d)) => d.rsplit('/').next().unwrap().to_owned(),
                _ => name.clone(),
            };
            let Some(yaml::Value::Seq(seeds)) = get("addnode") else {
                panic!("addnode")
            };
            let seeds = seeds
                .iter()
                .map(|s| match &s.value {
                    yaml::Value::Str(s) => s.clone(),
                    _ => panic!("a seed"),
                })
                .collect();
            (key, seeds)
        })
        .collect()
}

fn parse(text: &str) -> config::Config {
    config::parse(Path::new("imported.yaml"), text).expect("the import passes check")
}

#[test]
fn import_of_both_upstream_lists_passes_check_and_is_idempotent() {
    for which in ["dpow", "komodo"] {
        let list = upstream(which);
        let (once, stderr) = import(None, &list, 0);
        assert_eq!(stderr, "", "{which}: nothing to report without a base");
        let dir = TempDir::new("import");
        let base = dir.write("notary.yaml", &once);
        let (check, _) = Run::new("")
            .args(&["--config", base.to_str().unwrap(), "check"])
            .status(0);
        assert!(check.contains(", valid\n"), "{check}");
        let (twice, stderr) = import(Some(base.to_str().unwrap()), &list, 0);
        assert_eq!(twice, once, "{which}: a second import changes nothing");
        assert_eq!(stderr, "", "{which}: and reports nothing");
    }
}

/// For every chain, the seeds komodod gets (the chain's own, then the
/// top-level ones) are the seeds upstream lists for it.
#[test]
fn import_gives_every_chain_exactly_upstream_s_seeds() {
    for which in ["dpow", "komodo"] {
        let list = upstream(which);
        let expected = upstream_seeds(&list);
        let config = parse(&import(None, &list, 0).0);
        for (name, seeds) in &expected {
            let chain = config
                .chain(name)
                .unwrap_or_else(|| panic!("{which}: {name} imported"));
            let got: BTreeSet<String> = chain.addnode.iter().cloned().collect();
            assert_eq!(&got, seeds, "{which}: {name}'s seeds");
            assert_eq!(
                got.len(),
                chain.addnode.len(),
                "{which}: {name}: no seed twice"
            );
        }
        // Upstream's chains and KMD, nothing else.
        assert_eq!(config.chains.len(), expected.len() + 1, "{which}");
    }
    // komodo's list shares its notary seeds on every chain: they go top-level.
    let komodo = import(None, &upstream("komodo"), 0).0;
    assert!(
        komodo.contains(
            "\naddnode: [209.222.101.247, 103.195.100.32, 15.235.204.174, 148.113.1.52, 65.21.77.109, 89.19.26.211, 89.19.26.212]\n"
        ),
        "{komodo}"
    );
    assert!(
        komodo.contains("  NINJA:\n    ac_supply: 100000000\n  "),
        "NINJA has no seed of its own:\n{komodo}"
    );
}

/// Ports as komodod's own unit test (test_parse_args.cpp) gives them.
#[test]
fn import_derives_komodod_s_published_ports() {
    let cases = [
        ("dpow", "CCL", 20848),
        ("dpow", "CLC", 20931),
        ("dpow", "GLEEC_OLD", 23225),
        ("dpow", "ILN", 12985),
        ("dpow", "KOIN", 10701),
        ("dpow", "PIRATE", 45452),
        ("komodo", "DOC", 62415),
        ("komodo", "GLEEC", 23225),
        ("komodo", "MARTY", 52592),
        ("komodo", "NINJA", 8426),
        ("komodo", "SUPERNET", 11340),
    ];
    for which in ["dpow", "komodo"] {
        let config = parse(&import(None, &upstream(which), 0).0);
        for (_, name, p2p) in cases.iter().filter(|c| c.0 == which) {
            let chain = config.chain(name).unwrap();
            assert_eq!(
                (chain.p2p_port(), chain.rpc_port()),
                (*p2p, p2p + 1),
                "{which}: {name}"
            );
        }
    }
}

#[test]
fn import_of_dpow_s_list_into_the_old_production_yaml_names_what_changed() {
    let base = format!("{ROOT}/examples/all-chains.yaml");
    let (yaml, stderr) = import(Some(&base), &upstream("dpow"), 0);
    assert_eq!(
        stderr,
        "\
dokomodo: info: dropped 50 chain(s) no longer in assetchains.json: REVS, SUPERNET, DEX, PANGEA, JUMBLR, BET, CRYPTO, HODL, MSHARK, BOTS, MGW, NINJA, WLC, KV, CEAL, MESH, ETOMIC, BTCH, BEER, PIZZA, BNTN, CHAIN, PRLPAY, DSEC, GLXT, COQUI, AXO, EQL, OOT, ZILLA, SEC, RFOX, PGT, KSB, VOTE2019, KMDICE, MGNX, DION, ZEX, OUR, COMMOD, HUSH3, KIP0001, KIP0002, KIP0003, KIP0004, RICK, MORTY, DOC, MARTY
dokomodo: info: added 3 chain(s) new in assetchains.json: BCZERO, RAPH, MDX
"
    );
    let config = parse(&yaml);
    assert_eq!(
        config.chain_names(),
        [
            "KMD",
            "KOIN",
            "ILN",
            "CCL",
            "PIRATE",
            "CLC",
            "THC",
            "GLEEC",
            "GLEEC_OLD",
            "BCZERO",
            "RAPH",
            "MDX"
        ]
    );
    // The base's top-level keys and comments stay.
    assert!(
        yaml.starts_with("# dokomodo: every Komodo assetchain"),
        "{yaml}"
    );
    assert!(
        yaml.contains("\nrpc:\n  allow: [172.20.0.0/16]\n"),
        "{yaml}"
    );
    assert!(
        yaml.contains("\n  GLEEC_OLD:  # [D], [B]\n    ac_name: GLEEC\n    datadir: GLEEC_OLD\n"),
        "{yaml}"
    );
    // KMD keeps the seeds it had from the old top-level list.
    assert_eq!(
        config.chain("KMD").unwrap().addnode,
        [
            "209.222.101.247",
            "103.195.100.32",
            "15.235.204.174",
            "148.113.1.52",
            "65.21.77.109"
        ]
    );
    // The season's new seeds, and upstream's launch flags as args.
    let ccl = config.chain("CCL").unwrap();
    assert!(ccl.addnode.iter().any(|s| s == "89.19.26.211"));
    assert!(ccl.addnode.iter().any(|s| s == "89.19.26.212"));
    assert_eq!(ccl.args, ["-addressindex=1", "-spentindex=1"]);
}

/// examples/production.yaml is dPoW's list imported: importing it again
/// changes nothing.
#[test]
fn production_yaml_is_dpow_s_list_imported() {
    let base = format!("{ROOT}/examples/production.yaml");
    let (yaml, stderr) = import(Some(&base), &upstream("dpow"), 0);
    assert_eq!(stderr, "");
    assert_eq!(yaml, read(&base), "rerun the import; see the file's header");
    assert!(yaml.contains("import ../shared/upstream/dpow/assetchains.json"));
    assert!(yaml.contains("assetchains.json@2f846c0aa790"));
}

#[test]
fn import_of_komodo_s_list_keeps_the_test_chains_dpow_dropped() {
    let base = format!("{ROOT}/examples/production.yaml");
    let (yaml, stderr) = import(Some(&base), &upstream("komodo"), 0);
    let config = parse(&yaml);
    for name in ["DOC", "MARTY", "NINJA", "SUPERNET"] {
        assert!(config.chain(name).is_some(), "{name} in komodo's list");
    }
    assert!(
        stderr.contains("added 4 chain(s) new in assetchains.json: DOC, MARTY, NINJA, SUPERNET\n"),
        "{stderr}"
    );
    assert!(
        stderr.contains(
            "dropped 5 chain(s) no longer in assetchains.json: THC, GLEEC_OLD, BCZERO, RAPH, MDX\n"
        ),
        "{stderr}"
    );
}

/// Neither upstream copy lists MESH with -ac_ccactivate (komodo-facts says
/// dPoW's list has carried it since 2020; the 2f846c0aa790 list has no MESH
/// at all): a list that does gives MESH the flag, and says so.
#[test]
fn import_reports_a_changed_consensus_flag() {
    let dir = TempDir::new("import");
    let list = dir.write(
        "mesh.json",
        r#"[{"ac_name": "MESH", "ac_supply": "1000007", "ac_ccactivate": "320000", "addnode": ["78.47.196.146"]}]"#,
    );
    let base = format!("{ROOT}/examples/all-chains.yaml");
    let (yaml, stderr) = import(Some(&base), list.to_str().unwrap(), 0);
    assert!(
        stderr.starts_with(
            "dokomodo: info: chain MESH: -ac_* parameters changed: ac_ccactivate 320000 added\n"
        ),
        "{stderr}"
    );
    assert!(
        yaml.contains("  MESH:  # [A]\n    ac_supply: 1000007\n    ac_ccactivate: 320000\n"),
        "{yaml}"
    );
    let mesh = parse(&yaml).chain("MESH").unwrap().clone();
    // A consensus flag, but not one that moves the port.
    let old = config::load(Path::new(&base)).unwrap();
    assert_eq!(mesh.p2p_port(), old.chain("MESH").unwrap().p2p_port());
}

#[test]
fn import_refuses_an_unknown_ac_parameter_naming_the_chain() {
    let dir = TempDir::new("import");
    let text = read(&upstream("dpow")).replace("\"ac_eras\": \"7\"", "\"ac_erass\": \"7\"");
    let list = dir.write("assetchains.json", text);
    let run = Run::new("").args(&["import", list.to_str().unwrap()]);
    let (_, stderr) = run.status(78);
    assert_eq!(
        stderr.replace(&dir.path().display().to_string(), "DIR"),
        "\
dokomodo: error: DIR/assetchains.json:64:5: chain THC: `ac_erass` is not an -ac_* parameter komodod knows (it would ignore it silently and start another chain)
   |
64 |     \"ac_erass\": \"7\",
   |     ^
"
    );
}

#[test]
fn import_of_a_missing_file_is_an_io_error() {
    Run::new("").args(&["import", "nonexistent.json"]).fails(
        74,
        "dokomodo: error: nonexistent.json: cannot read: No such file or directory\n",
    );
}

#[test]
fn import_needs_a_file() {
    Run::new("").args(&["import"]).fails(
        64,
        "dokomodo: error: import needs the path of an assetchains.json\ntry `dokomodo import --help`\n",
    );
}

#[test]
fn import_help() {
    let (stdout, stderr) = Run::new("").args(&["import", "--help"]).status(0);
    assert!(
        stdout.starts_with("Usage: dokomodo [--config PATH] import LIST.json\n"),
        "{stdout}"
    );
    assert_eq!(stderr, "");
    let (stdout, _) = Run::new("").args(&["--help"]).status(0);
    assert!(stdout.contains("\n  import LIST.json "), "{stdout}");
}
