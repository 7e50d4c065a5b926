//! `utxos` and `monitor` on the real binary, against fake daemons (JSON-RPC
//! with the derived credentials) and a fake iguana on 127.0.0.1 ports picked
//! by the test, as tests/probe.rs does; then the Prometheus side: promtool
//! on a real scrape and on deploy/prometheus, a real prometheus scraping the
//! monitor, and the Grafana dashboard. Where CI=true a missing promtool or
//! prometheus fails the test; elsewhere it is skipped with a note.

mod common;
use common::Run;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// A fake daemon or iguana: answers each call by its method.
struct Fake {
    port: u16,
    bodies: Arc<Mutex<Vec<String>>>,
}

type Answer = fn(&str) -> Option<String>;

impl Fake {
    /// `auth`: the Authorization header a daemon wants (None: iguana, no auth).
    fn start(auth: Option<String>, answer: Answer) -> Fake {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let bodies = Arc::new(Mutex::new(Vec::new()));
        let seen = bodies.clone();
        thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (auth, seen) = (auth.clone(), seen.clone());
                thread::spawn(move || handle(stream, auth, answer, seen));
            }
        });
        Fake { port, bodies }
    }
    fn bodies(&self) -> Vec<String> {
        self.bodies.lock().unwrap().clone()
    }
}

fn handle(
    mut stream: TcpStream,
    auth: Option<String>,
    answer: Answer,
    seen: Arc<Mutex<Vec<String>>>,
) {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        let n = stream.read(&mut chunk).unwrap_or(0);
        if n == 0 {
            return;
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let header = |name: &str| {
        head.lines().find_map(|l| {
            l.split_once(':')
                .filter(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.trim().to_owned())
        })
    };
    let length: usize = header("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    while buf.len() < head_end + length {
        let n = stream.read(&mut chunk).unwrap_or(0);
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let body = String::from_utf8_lossy(&buf[head_end..]).into_owned();
    seen.lock().unwrap().push(body.clone());
    let method = method(&body);
    let reply = match &auth {
        Some(auth) if header("authorization").as_deref() != Some(auth.as_str()) => {
            "HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\n\r\n".to_owned()
        }
        Some(_) => match answer(&method) {
            Some(result) => {
                let json = format!("{{\"result\":{result},\"error\":null,\"id\":\"dokomodo\"}}");
                format!(
                    "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{json}",
                    json.len()
                )
            }
            None => {
                let json = r#"{"result":null,"error":{"code":-32601,"message":"Method not found"},"id":"dokomodo"}"#;
                format!(
                    "HTTP/1.1 404 Not Found\r\nContent-Length: {}\r\n\r\n{json}",
                    json.len()
                )
            }
        },
        // iguana: no Content-Length, the body ends at close.
        None => format!(
            "HTTP/1.1 200 OK\r\n\r\n{}",
            answer(&method).unwrap_or_default()
        ),
    };
    let _ = stream.write_all(reply.as_bytes());
}

fn method(body: &str) -> String {
    let v: serde_json::Value = serde_json::from_str(body).unwrap_or_default();
    v["method"].as_str().unwrap_or("").to_owned()
}

/// A notarisation UTXO (0.0001) and a bigger output, as komodod lists them.
fn unspent(n: usize) -> String {
    let mut items: Vec<String> = (0..n)
        .map(|i| format!(r#"{{"txid":"aa{i:02}","vout":{i},"address":"RAny","amount":0.00010000,"spendable":true}}"#))
        .collect();
    items.push(
        r#"{"txid":"bb","vout":0,"address":"RAny","amount":2.5,"spendable":true}"#.to_owned(),
    );
    format!("[{}]", items.join(","))
}

/// KMD: synced, notarised at 990 (block time 1.7e9), 3 UTXOs.
fn kmd(method: &str) -> Option<String> {
    Some(match method {
        "getinfo" => r#"{"blocks":1000,"longestchain":1002,"connections":8,"notarized":990,"notarizedhash":"00000000ab","notarizedtxid":"cd"}"#.to_owned(),
        "getblock" => r#"{"hash":"00000000ab","height":990,"time":1700000000}"#.to_owned(),
        "listunspent" => unspent(3),
        "getbalance" => "2.50030000".to_owned(),
        _ => return None,
    })
}

/// BEER: never notarised, 1 UTXO.
fn beer(method: &str) -> Option<String> {
    Some(match method {
        "getinfo" => r#"{"blocks":77,"longestchain":77,"connections":2,"notarized":0,"notarizedhash":"0000000000000000000000000000000000000000000000000000000000000000"}"#.to_owned(),
        "listunspent" => unspent(1),
        "getbalance" => "2.5001".to_owned(),
        _ => return None,
    })
}

fn iguana(method: &str) -> Option<String> {
    Some(match method {
        "splitfunds" => {
            r#"{"result":"0400008085","txid":"5plit","completed":true,"tag":"1"}"#.to_owned()
        }
        _ => r#"{"result":"help","tag":"2"}"#.to_owned(),
    })
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn yaml(chains: &[(&str, u16)]) -> String {
    let mut y = "utxos: {min: 2, split: 20}\nchains:\n".to_owned();
    for (name, port) in chains {
        y.push_str(&format!(
            "  {name}:\n    host: 127.0.0.1\n    rpc_port_override: {port}\n"
        ));
        if *name != "KMD" {
            y.push_str("    ac_supply: 100000000\n");
        }
    }
    y
}

fn auth_for(yaml: &str, chain: &str) -> String {
    let (out, _) = Run::new(yaml).seed().args(&["creds", chain]).status(0);
    let value = |key: &str| {
        out.lines()
            .find_map(|l| l.strip_prefix(key))
            .unwrap()
            .to_owned()
    };
    let mut b64 = Vec::new();
    dokomodo::ops::rpc::base64(
        format!("{}:{}", value("rpcuser="), value("rpcpassword=")).as_bytes(),
        &mut b64,
    );
    format!("Basic {}", String::from_utf8(b64).unwrap())
}

/// KMD and BEER fakes on the ports the YAML gives them, and PIZZA with
/// nothing listening.
struct Stack {
    yaml: String,
    kmd: Fake,
    beer: Fake,
}

fn stack() -> Stack {
    // The ports go into the YAML before the credentials are known: derive
    // them from a YAML with the same chains (credentials do not depend on ports).
    let names_only = yaml(&[("KMD", 1), ("BEER", 2), ("PIZZA", 3)]);
    let kmd = Fake::start(Some(auth_for(&names_only, "KMD")), kmd);
    let beer = Fake::start(Some(auth_for(&names_only, "BEER")), beer);
    let yaml = yaml(&[
        ("KMD", kmd.port),
        ("BEER", beer.port),
        ("PIZZA", free_port()),
    ]);
    Stack { yaml, kmd, beer }
}

#[test]
fn utxos_lists_every_coin_and_exits_1_when_one_is_low_or_silent() {
    let s = stack();
    let (out, err) = Run::new(&s.yaml)
        .seed()
        .args(&["utxos", "--timeout", "2"])
        .status(1);
    let pizza_line = out.lines().last().unwrap().to_owned();
    let expected = "\
NAME   UTXOS    MIN             BALANCE  STATE
KMD        3      2          2.50030000  ok
BEER       1      2          2.50010000  low
";
    assert!(out.starts_with(expected), "{out}");
    assert!(
        pizza_line.starts_with(
            "PIZZA      -      2                   -  no answer: listunspent at 127.0.0.1:"
        ),
        "{pizza_line}"
    );
    assert!(
        err.contains("2 of 3 coin(s): BEER low (1 < 2); PIZZA did not answer"),
        "{err}"
    );
    assert_eq!(method(&s.kmd.bodies()[0]), "listunspent");

    let (out, _) = Run::new(&s.yaml).seed().args(&["utxos", "KMD"]).status(0);
    assert_eq!(
        out,
        "NAME  UTXOS    MIN             BALANCE  STATE\nKMD       3      2          2.50030000  ok\n"
    );
}

/// A running `dokomodo monitor`, killed when dropped.
struct Monitor {
    child: Child,
    port: u16,
    run: Run,
}

impl Drop for Monitor {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn monitor(yaml: &str, iguana_port: u16, extra: &[&str]) -> Monitor {
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let run = Run::new(yaml).seed();
    std::fs::create_dir_all(run.home().join("iguana")).unwrap();
    let mut args = vec!["monitor", "--listen", &listen, "--timeout", "2"];
    let iguana_port = iguana_port.to_string();
    args.extend(["--iguana-port", &iguana_port]);
    args.extend(extra);
    let run = run.args(&args);
    let child = run.command().stderr(Stdio::piped()).spawn().unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "the monitor never listened");
        thread::sleep(Duration::from_millis(50));
    }
    Monitor { child, port, run }
}

fn get(port: u16, path: &str) -> (String, String) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(s, "GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
    let mut text = String::new();
    s.read_to_string(&mut text).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    (head.lines().next().unwrap().to_owned(), body.to_owned())
}

fn samples(scrape: &str) -> Vec<&str> {
    scrape.lines().filter(|l| !l.starts_with('#')).collect()
}

#[test]
fn monitor_serves_every_chain_and_iguana_and_404_elsewhere() {
    let s = stack();
    let iguana = Fake::start(None, iguana);
    let m = monitor(&s.yaml, iguana.port, &["--upkeep", "0"]);
    std::fs::write(
        m.run.home().join("iguana/.dokomodo-startup"),
        "KMD\tok\tdpow\nBEER\tfailed\tcant dPoW\nPIZZA\twaiting\tx\n",
    )
    .unwrap();
    let (status, body) = get(m.port, "/metrics");
    assert_eq!(status, "HTTP/1.1 200 OK");
    let seconds_line = samples(&body)
        .into_iter()
        .find(|l| l.starts_with("dokomodo_chain_seconds_since_notarization"))
        .unwrap()
        .to_owned();
    let got: Vec<&str> = samples(&body)
        .into_iter()
        .filter(|l| !l.starts_with("dokomodo_chain_seconds_since_notarization"))
        .collect();
    assert_eq!(
        got,
        [
            r#"dokomodo_chain_up{chain="KMD"} 1"#,
            r#"dokomodo_chain_up{chain="BEER"} 1"#,
            r#"dokomodo_chain_up{chain="PIZZA"} 0"#,
            r#"dokomodo_chain_blocks{chain="KMD"} 1000"#,
            r#"dokomodo_chain_blocks{chain="BEER"} 77"#,
            r#"dokomodo_chain_longest_chain{chain="KMD"} 1002"#,
            r#"dokomodo_chain_longest_chain{chain="BEER"} 77"#,
            r#"dokomodo_chain_connections{chain="KMD"} 8"#,
            r#"dokomodo_chain_connections{chain="BEER"} 2"#,
            r#"dokomodo_chain_notarized_height{chain="KMD"} 990"#,
            r#"dokomodo_chain_notarized_height{chain="BEER"} 0"#,
            r#"dokomodo_chain_blocks_since_notarization{chain="KMD"} 10"#,
            r#"dokomodo_chain_notarization_utxos{chain="KMD"} 3"#,
            r#"dokomodo_chain_notarization_utxos{chain="BEER"} 1"#,
            r#"dokomodo_chain_notarization_utxos_min{chain="KMD"} 2"#,
            r#"dokomodo_chain_notarization_utxos_min{chain="BEER"} 2"#,
            r#"dokomodo_chain_notarization_utxos_min{chain="PIZZA"} 2"#,
            r#"dokomodo_chain_balance{chain="KMD"} 2.5003"#,
            r#"dokomodo_chain_balance{chain="BEER"} 2.5001"#,
            r#"dokomodo_dpow_active{chain="KMD"} 1"#,
            r#"dokomodo_dpow_active{chain="BEER"} 0"#,
            r#"dokomodo_dpow_active{chain="PIZZA"} 0"#,
            r#"dokomodo_utxo_splits_total{chain="KMD"} 0"#,
            r#"dokomodo_utxo_splits_total{chain="BEER"} 0"#,
            r#"dokomodo_utxo_splits_total{chain="PIZZA"} 0"#,
            "dokomodo_iguana_up 1",
        ],
        "{body}"
    );
    // Only KMD has a notarised block; its time is 1.7e9, so the age is now - 1.7e9.
    let age: f64 = seconds_line
        .strip_prefix(r#"dokomodo_chain_seconds_since_notarization{chain="KMD"} "#)
        .unwrap()
        .parse()
        .unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    assert!((age - (now - 1.7e9)).abs() < 30.0, "{seconds_line}");
    // getblock asked for the notarised hash.
    assert!(
        s.kmd
            .bodies()
            .iter()
            .any(|b| b.contains(r#""method":"getblock","params":["00000000ab"]"#))
    );
    // The monitor never sends iguana `dpow` (it would start dPoW).
    assert!(iguana.bodies().iter().all(|b| method(b) != "dpow"));

    assert_eq!(get(m.port, "/").0, "HTTP/1.1 404 Not Found");
    assert_eq!(get(m.port, "/metricsx").0, "HTTP/1.1 404 Not Found");

    check_metrics(&body);
}

#[test]
fn monitor_splits_a_low_coin_through_iguana_and_counts_it() {
    let s = stack();
    let iguana = Fake::start(None, iguana);
    let mut m = monitor(&s.yaml, iguana.port, &["--upkeep", "3600"]);
    let deadline = Instant::now() + Duration::from_secs(15);
    while !iguana.bodies().iter().any(|b| method(b) == "splitfunds") {
        assert!(
            Instant::now() < deadline,
            "no splitfunds: {:?}",
            iguana.bodies()
        );
        thread::sleep(Duration::from_millis(100));
    }
    thread::sleep(Duration::from_millis(300));
    let splits: Vec<String> = iguana
        .bodies()
        .into_iter()
        .filter(|b| method(b) == "splitfunds")
        .collect();
    // Only BEER is below min 2; KMD has 3; PIZZA did not answer.
    assert_eq!(
        splits,
        [
            r#"{"agent":"iguana","method":"splitfunds","coin":"BEER","satoshis":"10000","sendflag":1,"duplicates":20}"#
        ]
    );
    assert!(
        samples(&get(m.port, "/metrics").1)
            .contains(&r#"dokomodo_utxo_splits_total{chain="BEER"} 1"#)
    );
    let _ = s.beer.bodies();
    let _ = m.child.kill();
    let mut err = String::new();
    m.child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    assert!(
        err.contains(
            "utxo upkeep: BEER had 1 notarisation UTXOs (min 2): splitfunds 20, txid 5plit"
        ),
        "{err}"
    );
    assert!(
        err.contains("utxo upkeep: PIZZA: listunspent at 127.0.0.1:"),
        "{err}"
    );
}

/// promtool or prometheus: required where CI=true, else the test is skipped.
fn tool(name: &str) -> Option<PathBuf> {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|p| p.join(name))
            .find(|p| p.is_file())
    });
    if found.is_none() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "{name} is not installed (CI=true: apt-get install -y prometheus)"
        );
        eprintln!("skipped: {name} is not installed (apt-get install -y prometheus)");
    }
    found
}

fn promtool(args: &[&str], stdin: Option<&str>) -> (bool, String) {
    let Some(promtool) = tool("promtool") else {
        return (true, String::new());
    };
    let mut child = Command::new(promtool)
        .args(args)
        .current_dir(Path::new(ROOT).join("deploy/prometheus"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    input.write_all(stdin.unwrap_or("").as_bytes()).unwrap();
    drop(input);
    let out = child.wait_with_output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

fn check_metrics(scrape: &str) {
    let (ok, text) = promtool(&["check", "metrics"], Some(scrape));
    assert!(
        ok && text.trim().is_empty(),
        "promtool check metrics:\n{text}"
    );
}

#[test]
fn the_alert_rules_are_valid_and_their_unit_tests_pass() {
    let (ok, text) = promtool(&["check", "rules", "rules.yml"], None);
    assert!(ok, "{text}");
    let (ok, text) = promtool(&["test", "rules", "rules.test.yml"], None);
    assert!(ok, "{text}");
}

#[test]
fn the_grafana_dashboard_is_json_and_shows_only_served_metrics() {
    let text =
        std::fs::read_to_string(Path::new(ROOT).join("deploy/grafana/dokomodo.json")).unwrap();
    let dashboard: serde_json::Value = serde_json::from_str(&text).unwrap();
    // What a real scrape declares (`# TYPE name kind`).
    let s = stack();
    let iguana = Fake::start(None, iguana);
    let m = monitor(&s.yaml, iguana.port, &["--upkeep", "0"]);
    let scrape = get(m.port, "/metrics").1;
    let served: Vec<&str> = scrape
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .filter_map(|l| l.split(' ').next())
        .collect();
    let panels = dashboard["panels"].as_array().unwrap();
    assert!(panels.len() >= 8);
    for panel in panels {
        let expr = panel["targets"][0]["expr"].as_str().unwrap();
        for word in expr.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')) {
            if word.starts_with("dokomodo_") {
                assert!(served.contains(&word), "{word} is not served: {served:?}");
            }
        }
    }
}

#[test]
fn a_real_prometheus_scrapes_the_monitor() {
    let Some(prometheus) = tool("prometheus") else {
        return;
    };
    let s = stack();
    let iguana = Fake::start(None, iguana);
    let m = monitor(&s.yaml, iguana.port, &["--upkeep", "0"]);
    let dir = common::TempDir::new("prometheus");
    let config = dir.write(
        "prometheus.yml",
        format!(
            "global: {{scrape_interval: 1s, evaluation_interval: 1s}}\n\
             rule_files: [{}]\n\
             scrape_configs:\n  - job_name: dokomodo\n    static_configs:\n      - targets: ['127.0.0.1:{}']\n",
            Path::new(ROOT).join("deploy/prometheus/rules.yml").display(),
            m.port
        ),
    );
    let web = free_port();
    let mut child = Command::new(prometheus)
        .arg(format!("--config.file={}", config.display()))
        .arg(format!(
            "--storage.tsdb.path={}",
            dir.path().join("data").display()
        ))
        .arg(format!("--web.listen-address=127.0.0.1:{web}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut last = String::new();
    let found = loop {
        if Instant::now() > deadline {
            break false;
        }
        thread::sleep(Duration::from_millis(500));
        let Ok(mut s) = TcpStream::connect(("127.0.0.1", web)) else {
            continue;
        };
        let _ = write!(
            s,
            "GET /api/v1/query?query=dokomodo_chain_up HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        );
        last.clear();
        let _ = s.read_to_string(&mut last);
        if last.contains(r#""chain":"PIZZA""#) && last.contains(r#""chain":"KMD""#) {
            break true;
        }
    };
    let _ = child.kill();
    let _ = child.wait();
    assert!(
        found,
        "prometheus never had dokomodo_chain_up for every chain: {last}"
    );
    assert!(last.contains(r#""job":"dokomodo""#), "{last}");
}

/// The stand-in binaries `cargo test --workspace` builds beside this test's
/// binary; `None` (skipped) when they were not built, a failure where CI=true.
fn standin(name: &str) -> Option<PathBuf> {
    let exe = std::env::current_exe().unwrap();
    let path = exe.parent()?.parent()?.join(name);
    if path.is_file() {
        return Some(path);
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "{} is missing: cargo test --workspace builds it",
        path.display()
    );
    eprintln!(
        "skipped: {} is missing (cargo build -p dokomodo-standins)",
        path.display()
    );
    None
}

/// A stand-in process, killed when dropped.
struct Process(Child);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn monitor_against_stand_in_daemons_passes_promtool() {
    let Some(komodod) = standin("komodod-standin") else {
        return;
    };
    let (kmd_port, beer_port) = (free_port(), free_port());
    let y = yaml(&[("KMD", kmd_port), ("BEER", beer_port)]);
    let run = Run::new(&y).seed();
    let home = run.home();
    for chain in ["KMD", "BEER"] {
        Run::new(&y)
            .seed()
            .args(&[
                "render",
                "daemon",
                "--chain",
                chain,
                "--home",
                home.to_str().unwrap(),
            ])
            .status(0);
    }
    let start = |args: &[&str], env: &[(&str, &str)]| {
        let mut cmd = Command::new(&komodod);
        cmd.args(args)
            .env("HOME", &home)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        for (k, v) in env {
            cmd.env(k, v);
        }
        Process(cmd.spawn().unwrap())
    };
    let _kmd = start(
        &[],
        &[
            ("STANDIN_BLOCKS", "1000"),
            ("STANDIN_CONNECTIONS", "8"),
            ("STANDIN_NOTARIZED", "990"),
            ("STANDIN_UTXOS", "60"),
        ],
    );
    let _beer = start(
        &["-ac_name=BEER", "-ac_supply=100000000"],
        &[("STANDIN_BLOCKS", "77"), ("STANDIN_UTXOS", "1")],
    );
    Run::new(&y)
        .seed()
        .args(&["wait", "--timeout", "20"])
        .status(0);
    let iguana = Fake::start(None, iguana);
    let m = monitor(&y, iguana.port, &["--upkeep", "0"]);
    let body = get(m.port, "/metrics").1;
    let got = samples(&body);
    for line in [
        r#"dokomodo_chain_up{chain="KMD"} 1"#,
        r#"dokomodo_chain_up{chain="BEER"} 1"#,
        r#"dokomodo_chain_blocks{chain="KMD"} 1000"#,
        r#"dokomodo_chain_blocks_since_notarization{chain="KMD"} 10"#,
        r#"dokomodo_chain_notarization_utxos{chain="KMD"} 60"#,
        r#"dokomodo_chain_notarization_utxos{chain="BEER"} 1"#,
        r#"dokomodo_chain_balance{chain="BEER"} 2.5001"#,
    ] {
        assert!(got.contains(&line), "{line} not in:\n{body}");
    }
    // The stand-in's notarised block is 600 s old.
    let age = got
        .iter()
        .find_map(|l| l.strip_prefix(r#"dokomodo_chain_seconds_since_notarization{chain="KMD"} "#))
        .unwrap_or_else(|| panic!("no notarisation age:\n{body}"));
    let age: f64 = age.parse().unwrap();
    assert!((600.0..700.0).contains(&age), "{age}");
    check_metrics(&body);
}

/// KMD with two notarisation UTXOs to the notary's address (the published
/// passphrase vector's) and three to another.
fn kmd_notary(method: &str) -> Option<String> {
    Some(match method {
        "listunspent" => {
            let to = |addr: &str, i: usize| {
                format!(
                    r#"{{"txid":"aa","vout":{i},"address":"{addr}","amount":0.00010000,"spendable":true}}"#
                )
            };
            let mut items: Vec<String> = (0..2).map(|i| to(NOTARY_ADDRESS, i)).collect();
            items.extend((2..5).map(|i| to("RAny", i)));
            format!("[{}]", items.join(","))
        }
        "getbalance" => "0.0005".to_owned(),
        _ => return None,
    })
}

const PASSPHRASE: &str = "myverysecretandstrongpassphrase_noneabletobrute";
const NOTARY_ADDRESS: &str = "RVNKRr2uxPMxJeDwFnTKjdtiLtcs7UzCZn";

#[test]
fn with_the_passphrase_only_the_notarys_own_utxos_count() {
    let names_only = yaml(&[("KMD", 1)]);
    let kmd = Fake::start(Some(auth_for(&names_only, "KMD")), kmd_notary);
    let y = yaml(&[("KMD", kmd.port)]);
    let run = Run::new(&y).seed();
    let pass = run
        .dir
        .write("secrets/wallet_passphrase", format!("{PASSPHRASE}\n"));
    let run = run.env("DOKOMODO_WALLET_PASSPHRASE_FILE", pass.to_str().unwrap());
    let (out, _) = run.args(&["utxos"]).status(0);
    assert_eq!(
        out,
        "NAME  UTXOS    MIN             BALANCE  STATE\nKMD       2      2          0.00050000  ok\n"
    );
    let (out, _) = Run::new(&y).seed().args(&["utxos"]).status(0);
    assert!(out.contains("KMD       5      2"), "{out}");
}
