//! health, status, wait and iguana's start-up, on the real binary, against a
//! fake komodod (JSON-RPC with basic auth) and a fake iguana (records every
//! call) on 127.0.0.1 ports picked by the test.

mod common;
use common::{Run, SEED};

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

const PUBKEY: &str = "02a854251adfee222bede8396fed0756985d4ea905f72611740867c7a4ad6488c1";

#[derive(Clone)]
enum Mode {
    /// Answers getinfo when the Authorization header is this, else 401.
    Komodod { auth: String },
    /// Accepts and never answers.
    Silent,
    /// Answers every call with a success.
    Iguana,
}

/// One request the fake saw: when, and its body.
#[derive(Clone, Debug)]
struct Call {
    at: Instant,
    body: String,
}

struct Fake {
    port: u16,
    calls: Arc<Mutex<Vec<Call>>>,
}

impl Fake {
    fn start(mode: Mode) -> Fake {
        Fake::on(TcpListener::bind("127.0.0.1:0").unwrap(), mode)
    }
    fn on(listener: TcpListener, mode: Mode) -> Fake {
        let port = listener.local_addr().unwrap().port();
        let calls = Arc::new(Mutex::new(Vec::new()));
        let seen = calls.clone();
        thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (mode, seen) = (mode.clone(), seen.clone());
                thread::spawn(move || handle(stream, mode, seen));
            }
        });
        Fake { port, calls }
    }
    fn calls(&self) -> Vec<Call> {
        self.calls.lock().unwrap().clone()
    }
}

fn handle(mut stream: TcpStream, mode: Mode, seen: Arc<Mutex<Vec<Call>>>) {
    if let Mode::Silent = mode {
        thread::sleep(Duration::from_secs(60));
        return;
    }
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
    seen.lock().unwrap().push(Call {
        at: Instant::now(),
        body,
    });
    let called = seen
        .lock()
        .unwrap()
        .last()
        .map(|c| c.body.clone())
        .unwrap_or_default();
    let reply = match mode {
        Mode::Komodod { auth } if header("authorization").as_deref() == Some(auth.as_str()) => {
            let result = match method(&called).as_str() {
                // Its name, as komodod's getinfo gives it (iguana's passthru checks it).
                "getinfo" => format!("{{\"version\":3,\"blocks\":42,\"name\":\"{}\"}}", chain_of(&head)),
                "getblockchaininfo" => "{\"chain\":\"main\",\"blocks\":42}".to_owned(),
                // A killed iguana's leftover lock, on the daemons the test names.
                "listlockunspent" if LOCKED.lock().unwrap().contains(&chain_of(&head)) => {
                    LEFTOVER_LOCK.to_owned()
                }
                "listlockunspent" => "[]".to_owned(),
                "lockunspent" => "true".to_owned(),
                "validateaddress" => "{\"isvalid\":true,\"ismine\":true}".to_owned(),
                _ => "null".to_owned(),
            };
            // Chunked, as a proxy in front of komodod might answer.
            let json = format!("{{\"result\":{result},\"error\":null,\"id\":\"dokomodo\"}}\n");
            format!("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n{:x}\r\n{json}\r\n0\r\n\r\n", json.len())
        }
        Mode::Komodod { .. } => "HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic realm=\"jsonrpc\"\r\nContent-Length: 0\r\n\r\n".to_owned(),
        // iguana's replies carry no Content-Length: the body ends at close.
        _ => {
            let body = match method(&called).as_str() {
                "myipaddr" => "{\"result\":\"203.0.113.7\"}".to_owned(),
                "ipaddrs" => "[\"203.0.113.7\",\"198.51.100.1\"]".to_owned(),
                "addcoin" => "{\"result\":\"coin added\"}".to_owned(),
                // The daemon's answer through iguana: as komodod's getinfo.
                "passthru" => {
                    let asset = field(&called, "asset");
                    if asset == "LTC" {
                        "{\"chain\":\"main\",\"blocks\":42}".to_owned()
                    } else {
                        format!("{{\"name\":\"{asset}\",\"blocks\":42}}")
                    }
                }
                _ => "{\"result\":\"success\"}".to_owned(),
            };
            format!("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n{body}")
        }
    };
    let _ = stream.write_all(reply.as_bytes());
}

/// A port nothing listens on (bound, then released).
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The YAML: chains beside us (host 127.0.0.1) on the given RPC ports.
fn yaml(chains: &[(&str, u16)]) -> String {
    let mut y = format!(
        "pubkey: {PUBKEY}\niguana:\n  myipaddr: 203.0.113.7\n  notaries: [198.51.100.1, 198.51.100.2]\n  elected_file: elected.json\nchains:\n"
    );
    for (name, port) in chains {
        y.push_str(&format!(
            "  {name}:\n    host: 127.0.0.1\n    rpc_port_override: {port}\n"
        ));
        if *name != "KMD" && *name != "LTC" {
            y.push_str("    ac_supply: 100000000\n");
        }
    }
    y
}

/// The Authorization header komodod expects: the pair `creds` prints.
fn auth_for(yaml: &str, chain: &str, seed: &str) -> String {
    let (out, _) = Run::new(yaml)
        .env("DOKOMODO_SEED", seed)
        .args(&["creds", chain])
        .status(0);
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

fn komodod(chain: &str) -> (Fake, String) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    name_port(port, chain);
    let y = yaml(&[(chain, port)]);
    let fake = Fake::on(
        listener,
        Mode::Komodod {
            auth: auth_for(&y, chain, SEED),
        },
    );
    (fake, y)
}

#[test]
fn health_is_quiet_when_komodod_answers() {
    let (fake, y) = komodod("BEER");
    let (stdout, stderr) = Run::new(&y)
        .seed()
        .env("DOKOMODO_CHAIN", "BEER")
        .args(&["health"])
        .status(0);
    assert_eq!((stdout.as_str(), stderr.as_str()), ("", ""));
    let calls = fake.calls();
    assert_eq!(calls.len(), 1);
    assert_eq!(
        calls[0].body,
        "{\"jsonrpc\":\"1.0\",\"id\":\"dokomodo\",\"method\":\"getinfo\",\"params\":[]}"
    );
}

#[test]
fn health_says_when_the_credentials_are_refused() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let y = yaml(&[("BEER", listener.local_addr().unwrap().port())]);
    // komodod's conf was rendered from another seed.
    let _fake = Fake::on(
        listener,
        Mode::Komodod {
            auth: auth_for(&y, "BEER", "another seed, another password"),
        },
    );
    let run = Run::new(&y).seed().args(&["health", "--chain", "BEER"]);
    let (stdout, stderr) = run.status(1);
    assert_eq!(stdout, "");
    assert!(
        stderr.starts_with("dokomodo: error: BEER at 127.0.0.1:"),
        "{stderr}"
    );
    assert!(stderr.ends_with(": credentials refused (HTTP 401): the daemon's rpcuser/rpcpassword are not the ones derived from this seed\n"), "{stderr}");
    let (creds, _) = Run::new(&y).seed().args(&["creds", "BEER"]).status(0);
    let password = creds
        .lines()
        .find_map(|l| l.strip_prefix("rpcpassword="))
        .unwrap();
    assert!(!stderr.contains(password) && !stderr.contains(&password[4..]));
}

#[test]
fn health_when_nothing_listens() {
    let port = free_port();
    let run = Run::new(&yaml(&[("BEER", port)]))
        .seed()
        .args(&["health", "--chain", "BEER"]);
    run.fails(
        1,
        &format!(
            "dokomodo: error: BEER at 127.0.0.1:{port}: connection refused (nothing is listening)\n"
        ),
    );
}

#[test]
fn health_gives_up_on_a_silent_daemon_at_its_timeout() {
    let fake = Fake::start(Mode::Silent);
    let run = Run::new(&yaml(&[("BEER", fake.port)])).seed().args(&[
        "health",
        "--chain",
        "BEER",
        "--timeout",
        "1",
    ]);
    let start = Instant::now();
    run.fails(
        1,
        &format!(
            "dokomodo: error: BEER at 127.0.0.1:{}: no answer within 1 s\n",
            fake.port
        ),
    );
    assert!(
        start.elapsed() < Duration::from_secs(10),
        "took {:?}",
        start.elapsed()
    );
}

#[test]
fn health_of_iguana_is_its_answer_and_every_coin_of_its_start_up() {
    let iguana = Fake::start(Mode::Iguana);
    let y = yaml(&[("BEER", free_port())]);
    // With the start-up off: any HTTP answer. iguana needs no seed.
    let off = y.replace("iguana:\n", "iguana:\n  startup: false\n");
    let (stdout, stderr) = Run::new(&off)
        .args(&["health", "--port", &iguana.port.to_string()])
        .status(0);
    assert_eq!((stdout.as_str(), stderr.as_str()), ("", ""));
    assert_eq!(
        iguana.calls()[0].body,
        "{\"agent\":\"SuperNET\",\"method\":\"help\"}"
    );
    let port = free_port();
    Run::new(&off)
        .args(&["health", "--port", &port.to_string()])
        .fails(1, &format!("dokomodo: error: iguana at 127.0.0.1:{port}: connection refused (nothing is listening)\n"));

    // With it on: healthy only when every coin of the status file is ready.
    let run = Run::new(&y).args(&["health", "--port", &iguana.port.to_string()]);
    let status = run.home().join("iguana/.dokomodo-startup");
    let (_, stderr) = run.status(1);
    assert!(
        stderr.contains("iguana answers, but its start-up has not begun"),
        "{stderr}"
    );
    std::fs::create_dir_all(status.parent().unwrap()).unwrap();
    std::fs::write(
        &status,
        "KMD\tok\tadded\nBEER\tfailed\tdpow: iguana answered no\n",
    )
    .unwrap();
    let (_, stderr) = run.status(1);
    assert_eq!(
        stderr,
        "dokomodo: error: iguana answers, but 1 of 2 coin(s) not ready: BEER failed (dpow: iguana answered no)\n"
    );
    // --alive (a liveness probe): iguana answers, whatever its coins.
    Run::new(&y)
        .args(&["health", "--alive", "--port", &iguana.port.to_string()])
        .status(0);
    std::fs::write(&status, "KMD\tok\tadded\nBEER\tok\tadded\n").unwrap();
    run.status(0);
}

#[test]
fn health_config_errors_are_78() {
    let y = yaml(&[("BEER", free_port())]);
    let (_, stderr) = Run::new(&y)
        .seed()
        .args(&["health", "--chain", "PIZZA"])
        .status(78);
    assert!(
        stderr.contains("no chain `PIZZA` (the YAML has: BEER)"),
        "{stderr}"
    );
    let (_, stderr) = Run::new(&y)
        .env("DOKOMODO_SEED_FILE", "/nonexistent/seed")
        .args(&["health", "--chain", "BEER"])
        .status(78);
    assert!(stderr.contains("/nonexistent/seed"), "{stderr}");
}

#[test]
fn status_lists_every_chain_and_whether_it_answers() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let beer_port = listener.local_addr().unwrap().port();
    let kmd_port = free_port();
    let y = yaml(&[("KMD", kmd_port), ("BEER", beer_port)]);
    let _fake = Fake::on(
        listener,
        Mode::Komodod {
            auth: auth_for(&y, "BEER", SEED),
        },
    );
    let (stdout, _) = Run::new(&y).seed().args(&["status"]).status(0);
    let expected = format!(
        "NAME    P2P    RPC  HOST       RPC ANSWERS\n\
         KMD    7770  {kmd_port:>5}  127.0.0.1  no: connection refused (nothing is listening)\n\
         BEER   8922  {beer_port:>5}  127.0.0.1  answers, 42 blocks\n"
    );
    assert_eq!(stdout, expected);
}

#[test]
fn wait_returns_once_a_late_daemon_answers() {
    let port = free_port();
    let y = yaml(&[("BEER", port)]);
    let auth = auth_for(&y, "BEER", SEED);
    let run = Run::new(&y).seed().args(&["wait", "--timeout", "30"]);
    let child = run
        .command()
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    thread::sleep(Duration::from_millis(1500));
    let _fake = Fake::on(
        TcpListener::bind(("127.0.0.1", port)).unwrap(),
        Mode::Komodod { auth },
    );
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines[0], "dokomodo: info: waiting up to 30 s for BEER");
    assert!(
        lines[1].starts_with(&format!(
            "dokomodo: info: BEER answers at 127.0.0.1:{port} (after "
        )),
        "{stderr}"
    );
    assert_eq!(lines.len(), 2, "{stderr}");
}

#[test]
fn wait_times_out_naming_the_chains_that_never_answered() {
    let (fake, _) = komodod("BEER");
    let silent = free_port();
    let y = yaml(&[("BEER", fake.port), ("PIZZA", silent)]);
    // The same seed, so BEER's fake accepts these credentials.
    let run = Run::new(&y).seed().args(&["wait", "--timeout", "2"]);
    let start = Instant::now();
    let (_, stderr) = run.status(1);
    assert!(
        start.elapsed() < Duration::from_secs(15),
        "took {:?}",
        start.elapsed()
    );
    assert!(
        stderr.contains("dokomodo: info: BEER answers at"),
        "{stderr}"
    );
    assert!(
        stderr.ends_with(&format!(
            "dokomodo: error: timed out after 2 s: no answer from PIZZA at 127.0.0.1:{silent} (connection refused (nothing is listening))\n"
        )),
        "{stderr}"
    );
}

#[test]
fn json_log_lines() {
    let port = free_port();
    let (_, stderr) = Run::new(&yaml(&[("BEER", port)]))
        .seed()
        .env("DOKOMODO_LOG_FORMAT", "json")
        .args(&["wait", "--timeout", "0.5"])
        .status(1);
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 2, "{stderr}");
    for line in &lines {
        let ts = line
            .strip_prefix("{\"ts\":\"")
            .unwrap_or_else(|| panic!("{line}"));
        // 2025-01-02T03:04:05.678Z
        let ts = &ts[..24];
        assert!(
            ts.as_bytes().iter().enumerate().all(|(i, c)| match i {
                4 | 7 => *c == b'-',
                10 => *c == b'T',
                13 | 16 => *c == b':',
                19 => *c == b'.',
                23 => *c == b'Z',
                _ => c.is_ascii_digit(),
            }),
            "{line}"
        );
        assert!(ts.starts_with("20"), "{line}");
    }
    assert!(
        lines[0].ends_with(",\"level\":\"info\",\"msg\":\"waiting up to 0.5 s for BEER\"}"),
        "{stderr}"
    );
    assert!(
        lines[1]
            .contains(",\"level\":\"error\",\"msg\":\"timed out after 0.5 s: no answer from BEER"),
        "{stderr}"
    );
}

/// The chain a fake komodod serves: its port's, from the Host header (the
/// tests name it in the listener map, see `komodod_named`).
fn chain_of(head: &str) -> String {
    let port = head
        .lines()
        .find_map(|l| {
            l.strip_prefix("Host: ")
                .or_else(|| l.strip_prefix("host: "))
        })
        .and_then(|h| h.rsplit(':').next())
        .unwrap_or("")
        .trim()
        .to_owned();
    NAMES
        .lock()
        .unwrap()
        .iter()
        .find(|(p, _)| p.to_string() == port)
        .map(|(_, n)| n.clone())
        .unwrap_or_default()
}

/// The chains whose fake daemon holds a lock a killed iguana left.
static LOCKED: Mutex<Vec<String>> = Mutex::new(Vec::new());
const LEFTOVER_LOCK: &str =
    r#"[{"txid":"5e1b2a00aa00aa00aa00aa00aa00aa00aa00aa00aa00aa00aa00aa00aa00aa00","vout":1}]"#;

/// Which chain each fake komodod's port serves.
static NAMES: Mutex<Vec<(u16, String)>> = Mutex::new(Vec::new());

fn name_port(port: u16, chain: &str) {
    NAMES.lock().unwrap().push((port, chain.to_owned()));
}

/// A string member of a flat JSON object.
fn field(body: &str, key: &str) -> String {
    let m = body
        .split(&format!("\"{key}\":\""))
        .nth(1)
        .unwrap_or_else(|| panic!("no {key} in {body}"));
    m[..m.find('"').unwrap()].to_owned()
}

fn method(body: &str) -> String {
    match body.split("\"method\":\"").nth(1) {
        Some(m) => m[..m.find('"').unwrap()].to_owned(),
        None => String::new(),
    }
}

fn files_under(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            files_under(&path, out)
        } else {
            out.push(path)
        }
    }
}

/// Eight seeds, as iguana needs them.
const ELECTED: &str = r#"{"port":13848,"seeds":["192.0.2.1","192.0.2.2","192.0.2.3","192.0.2.4","192.0.2.5","192.0.2.6","192.0.2.7","192.0.2.8"],"notaries":[]}"#;

/// A fake komodod for `chain` answering with the credentials the YAML and
/// the seed give it.
fn daemon_on(listener: TcpListener, yaml: &str, chain: &str) -> Fake {
    name_port(listener.local_addr().unwrap().port(), chain);
    let auth = auth_for(yaml, chain, SEED);
    Fake::on(listener, Mode::Komodod { auth })
}

/// Renders iguana's files (with the elected file beside the YAML) into the
/// home of `run`.
fn render_iguana(yaml: &str, run: &Run) {
    run.dir.write("elected.json", ELECTED);
    let render =
        Run::new(yaml)
            .seed()
            .args(&["render", "iguana", "--home", run.home().to_str().unwrap()]);
    render.dir.write("elected.json", ELECTED);
    render.status(0);
}

/// The whole start-up, in upstream's order, with BEER's komodod coming up
/// late: its coin waits for it, the others do not.
#[test]
fn iguana_startup_calls_in_order_and_keeps_the_passphrase_secret() {
    let iguana = Fake::start(Mode::Iguana);
    let kmd = TcpListener::bind("127.0.0.1:0").unwrap();
    let ltc = TcpListener::bind("127.0.0.1:0").unwrap();
    let kmd_port = kmd.local_addr().unwrap().port();
    let ltc_port = ltc.local_addr().unwrap().port();
    let beer_port = free_port();
    let y = yaml(&[("KMD", kmd_port), ("LTC", ltc_port), ("BEER", beer_port)]);
    LOCKED.lock().unwrap().push("KMD".to_owned());
    let kmd_daemon = daemon_on(kmd, &y, "KMD");
    let _ltc = daemon_on(ltc, &y, "LTC");

    let passphrase = "lumber \"zebra\" quantum\\oyster notary-passphrase-7Qx";
    let run = Run::new(&y).seed();
    // Outside HOME, as a mounted secret is.
    let pass_file = run
        .dir
        .write("secrets/wallet_passphrase", format!("{passphrase}\n"));
    let run = run.env(
        "DOKOMODO_WALLET_PASSPHRASE_FILE",
        pass_file.to_str().unwrap(),
    );
    render_iguana(&y, &run);
    let home = run.home();
    let run = run.args(&[
        "iguana-startup",
        "--iguana-port",
        &iguana.port.to_string(),
        "--chain-wait",
        "30",
    ]);

    let child = run
        .command()
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    thread::sleep(Duration::from_millis(1500));
    let beer_up = Instant::now();
    let _beer = daemon_on(
        TcpListener::bind(("127.0.0.1", beer_port)).unwrap(),
        &y,
        "BEER",
    );
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    // The passphrase's key is not the YAML's pubkey: the fake iguana and
    // daemons accept anything, dokomodo's check is `check`'s (tests/keys.rs).
    assert_eq!(out.status.code(), Some(0), "{stderr}");

    let calls: Vec<Call> = iguana
        .calls()
        .into_iter()
        .filter(|c| method(&c.body) != "help")
        .collect();
    let at = |what: &str, member: &str| {
        calls
            .iter()
            .position(|c| method(&c.body) == what && c.body.contains(member))
            .unwrap_or_else(|| panic!("no {what} {member} in {calls:#?}"))
    };
    assert_eq!(
        calls[0].body,
        "{\"agent\":\"SuperNET\",\"method\":\"myipaddr\",\"ipaddr\":\"203.0.113.7\"}"
    );
    assert_eq!(
        calls[1].body,
        "{\"agent\":\"iguana\",\"method\":\"addnotary\",\"ipaddr\":\"198.51.100.1\"}"
    );
    assert_eq!(
        calls[2].body,
        "{\"agent\":\"iguana\",\"method\":\"addnotary\",\"ipaddr\":\"198.51.100.2\"}"
    );
    assert_eq!(calls[3].body, "{\"agent\":\"dpow\",\"method\":\"ipaddrs\"}");
    let addcoin = |name: &str| {
        std::fs::read_to_string(home.join(format!("iguana/addcoin/{name}.json"))).unwrap()
    };
    assert_eq!(calls[4].body, addcoin("KMD"), "KMD first");
    assert_eq!(
        calls[5].body,
        "{\"agent\":\"iguana\",\"method\":\"passthru\",\"asset\":\"KMD\",\"function\":\"getinfo\",\"hex\":\"\"}"
    );
    assert_eq!(
        calls[6].body,
        "{\"method\":\"walletpassphrase\",\"params\":[\"lumber \\\"zebra\\\" quantum\\\\oyster notary-passphrase-7Qx\",9999999]}"
    );
    let ltc_added = calls.iter().position(|c| c.body == addcoin("LTC")).unwrap();
    let beer_added = calls
        .iter()
        .position(|c| c.body == addcoin("BEER"))
        .unwrap();
    assert!(ltc_added > 6 && beer_added > 6, "after walletpassphrase");
    assert!(
        calls[beer_added].at >= beer_up,
        "BEER added before its komodod answered"
    );
    assert!(
        at(
            "passthru",
            "\"asset\":\"LTC\",\"function\":\"getblockchaininfo\""
        ) > ltc_added
    );
    let dpow = |symbol: &str| {
        format!(
            "{{\"agent\":\"iguana\",\"method\":\"dpow\",\"symbol\":\"{symbol}\",\"pubkey\":\"{PUBKEY}\"}}"
        )
    };
    let dpow_kmd = calls.iter().position(|c| c.body == dpow("KMD")).unwrap();
    let dpow_beer = calls.iter().position(|c| c.body == dpow("BEER")).unwrap();
    assert!(dpow_kmd > ltc_added, "dpow KMD after LTC is added");
    assert!(dpow_beer > beer_added);
    assert!(
        !calls.iter().any(|c| c.body == dpow("LTC")),
        "LTC is never dpow'd"
    );

    // KMD's daemon was asked for its locks, and what a killed iguana left
    // locked was unlocked, before iguana added KMD.
    let kmd_calls: Vec<String> = kmd_daemon.calls().iter().map(|c| c.body.clone()).collect();
    let unlock = kmd_calls
        .iter()
        .position(|b| {
            b.contains(&format!(
                "\"method\":\"lockunspent\",\"params\":[true,{LEFTOVER_LOCK}]"
            ))
        })
        .unwrap_or_else(|| panic!("no lockunspent true of the leftover lock: {kmd_calls:#?}"));
    assert!(
        kmd_calls[..unlock]
            .iter()
            .any(|b| b.contains("\"method\":\"listlockunspent\"")),
        "{kmd_calls:#?}"
    );
    assert!(
        kmd_calls[..unlock]
            .iter()
            .all(|b| !b.contains("\"method\":\"importprivkey\"")),
        "unlocked first"
    );
    let status = std::fs::read_to_string(home.join("iguana/.dokomodo-startup")).unwrap();
    assert_eq!(
        status,
        "KMD\tok\tadded, verified and notarised (dpow)\nLTC\tok\tadded and verified through iguana\nBEER\tok\tadded, verified and notarised (dpow)\n"
    );
    assert!(
        stderr.contains("iguana start-up done: 3 of 3 coin(s) ready, 2 notary peer(s)"),
        "{stderr}"
    );
    assert!(
        stderr.contains("walletpassphrase: iguana's wallet is unlocked (passphrase from"),
        "{stderr}"
    );
    for word in ["lumber", "zebra", "oyster", "7Qx"] {
        assert!(
            !stderr.contains(word),
            "the passphrase leaked into the log:\n{stderr}"
        );
        let mut files = Vec::new();
        files_under(&home, &mut files);
        for file in files {
            let bytes = std::fs::read(&file).unwrap();
            assert!(
                !bytes.windows(word.len()).any(|w| w == word.as_bytes()),
                "{word} in {}",
                file.display()
            );
        }
    }
}

#[test]
fn iguana_startup_names_the_coin_whose_daemon_never_answers_and_goes_on() {
    let iguana = Fake::start(Mode::Iguana);
    let kmd = TcpListener::bind("127.0.0.1:0").unwrap();
    let kmd_port = kmd.local_addr().unwrap().port();
    let port = free_port();
    let y = yaml(&[("KMD", kmd_port), ("BEER", port)]).replace("pubkey:", "# pubkey:");
    let _kmd = daemon_on(kmd, &y, "KMD");
    let run = Run::new(&y).seed();
    render_iguana(&y, &run);
    let run = run.args(&[
        "iguana-startup",
        "--iguana-port",
        &iguana.port.to_string(),
        "--chain-wait",
        "1",
    ]);
    let (_, stderr) = run.status(1);
    assert!(
        stderr.ends_with(&format!(
            "dokomodo: error: iguana start-up: 1 of 2 coin(s) not ready: BEER failed (its daemon at 127.0.0.1:{port} did not answer within 1 s (connection refused (nothing is listening)))\n"
        )),
        "{stderr}"
    );
    let methods: Vec<String> = iguana
        .calls()
        .iter()
        .map(|c| method(&c.body))
        .filter(|m| m != "help")
        .collect();
    assert!(
        methods.contains(&"addcoin".to_owned()),
        "KMD still added: {methods:?}"
    );
    assert_eq!(
        iguana
            .calls()
            .iter()
            .filter(|c| c.body.contains("BEER"))
            .count(),
        0,
        "nothing for BEER"
    );
}

#[test]
fn help_for_the_probe_commands() {
    let (usage, _) = Run::new("").args(&["--help"]).status(0);
    for (command, first_line) in [
        (
            "health",
            "Usage: dokomodo [--config PATH] health [--chain NAME] [--timeout SECONDS] [--port PORT] [--alive]",
        ),
        (
            "status",
            "Usage: dokomodo [--config PATH] status [--timeout SECONDS] [NAME...]",
        ),
        (
            "wait",
            "Usage: dokomodo [--config PATH] wait [--timeout SECONDS] [NAME...]",
        ),
    ] {
        assert!(
            usage.contains(&format!("\n  {command} ")),
            "{command} missing from --help:\n{usage}"
        );
        // No YAML needed for --help.
        let (help, _) = Run::new("").args(&[command, "--help"]).status(0);
        assert_eq!(help.lines().next(), Some(first_line));
    }
    let (_, stderr) = Run::new("").args(&["wait", "--timeout", "soon"]).status(64);
    assert!(
        stderr.contains("--timeout takes a number of seconds (up to 86400), not `soon`"),
        "{stderr}"
    );
}
