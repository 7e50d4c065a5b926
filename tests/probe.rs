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
    let reply = match mode {
        Mode::Komodod { auth } if header("authorization").as_deref() == Some(auth.as_str()) => {
            // Chunked, as a proxy in front of komodod might answer.
            let json = "{\"result\":{\"version\":3,\"blocks\":42},\"error\":null,\"id\":\"dokomodo\"}\n";
            format!("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n{:x}\r\n{json}\r\n0\r\n\r\n", json.len())
        }
        Mode::Komodod { .. } => "HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic realm=\"jsonrpc\"\r\nContent-Length: 0\r\n\r\n".to_owned(),
        // iguana's replies carry no Content-Length: the body ends at close.
        _ => "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n{\"result\":\"success\"}".to_owned(),
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
        "pubkey: {PUBKEY}\niguana:\n  myipaddr: 203.0.113.7\n  notaries: [198.51.100.1, 198.51.100.2]\nchains:\n"
    );
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
fn health_of_iguana_is_any_http_answer() {
    let iguana = Fake::start(Mode::Iguana);
    let y = yaml(&[("BEER", free_port())]);
    // No chain: the iguana container. iguana needs no seed.
    let (stdout, stderr) = Run::new(&y)
        .args(&["health", "--port", &iguana.port.to_string()])
        .status(0);
    assert_eq!((stdout.as_str(), stderr.as_str()), ("", ""));
    assert_eq!(
        iguana.calls()[0].body,
        "{\"agent\":\"SuperNET\",\"method\":\"help\"}"
    );
    let port = free_port();
    Run::new(&y)
        .args(&["health", "--port", &port.to_string()])
        .fails(1, &format!("dokomodo: error: iguana at 127.0.0.1:{port}: connection refused (nothing is listening)\n"));
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

fn method(body: &str) -> String {
    let m = body
        .split("\"method\":\"")
        .nth(1)
        .unwrap_or_else(|| panic!("no method in {body}"));
    m[..m.find('"').unwrap()].to_owned()
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

/// The whole sequence, in the operators' order, with BEER's komodod coming
/// up late: its addcoin waits for it.
#[test]
fn iguana_startup_calls_in_order_and_keeps_the_passphrase_secret() {
    let iguana = Fake::start(Mode::Iguana);
    let kmd = TcpListener::bind("127.0.0.1:0").unwrap();
    let kmd_port = kmd.local_addr().unwrap().port();
    let beer_port = free_port();
    let y = yaml(&[("KMD", kmd_port), ("BEER", beer_port)]);
    let _kmd = Fake::on(
        kmd,
        Mode::Komodod {
            auth: auth_for(&y, "KMD", SEED),
        },
    );
    let beer_auth = auth_for(&y, "BEER", SEED);

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
    Run::new(&y)
        .seed()
        .args(&["render", "iguana", "--home", run.home().to_str().unwrap()])
        .status(0);
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
    let _beer = Fake::on(
        TcpListener::bind(("127.0.0.1", beer_port)).unwrap(),
        Mode::Komodod { auth: beer_auth },
    );
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(0), "{stderr}");

    let calls: Vec<Call> = iguana
        .calls()
        .into_iter()
        .filter(|c| method(&c.body) != "help")
        .collect();
    let methods: Vec<String> = calls.iter().map(|c| method(&c.body)).collect();
    assert_eq!(
        methods,
        [
            "myipaddr",
            "addnotary",
            "addnotary",
            "addcoin",
            "addcoin",
            "walletpassphrase",
            "dpow",
            "dpow"
        ]
    );
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
    let addcoin = |name: &str| {
        std::fs::read_to_string(home.join(format!("iguana/addcoin/{name}.json"))).unwrap()
    };
    assert_eq!(calls[3].body, addcoin("KMD"));
    assert_eq!(calls[4].body, addcoin("BEER"));
    assert!(
        calls[4].at >= beer_up,
        "BEER's addcoin came before its komodod answered"
    );
    assert_eq!(
        calls[5].body,
        "{\"method\":\"walletpassphrase\",\"params\":[\"lumber \\\"zebra\\\" quantum\\\\oyster notary-passphrase-7Qx\",9999999]}"
    );
    assert_eq!(
        calls[6].body,
        format!(
            "{{\"agent\":\"iguana\",\"method\":\"dpow\",\"symbol\":\"KMD\",\"pubkey\":\"{PUBKEY}\"}}"
        )
    );
    assert_eq!(
        calls[7].body,
        format!(
            "{{\"agent\":\"iguana\",\"method\":\"dpow\",\"symbol\":\"BEER\",\"pubkey\":\"{PUBKEY}\"}}"
        )
    );

    // One line per step, and the passphrase in none of them.
    let steps: Vec<&str> = stderr
        .lines()
        .map(|l| l.strip_prefix("dokomodo: info: ").unwrap_or(l))
        .collect();
    assert!(
        steps[0].starts_with(&format!("iguana answers at 127.0.0.1:{}", iguana.port)),
        "{stderr}"
    );
    assert_eq!(
        steps[1..4],
        [
            "myipaddr 203.0.113.7 (from the YAML)",
            "addnotary 198.51.100.1",
            "addnotary 198.51.100.2"
        ]
    );
    assert!(
        steps[4].starts_with(&format!("KMD answers at 127.0.0.1:{kmd_port}")),
        "{stderr}"
    );
    assert!(steps[5].starts_with("addcoin KMD ("), "{stderr}");
    assert!(
        steps[6].starts_with(&format!("BEER answers at 127.0.0.1:{beer_port}")),
        "{stderr}"
    );
    assert!(steps[7].starts_with("addcoin BEER ("), "{stderr}");
    assert_eq!(
        steps[8],
        format!(
            "walletpassphrase: wallet unlocked (passphrase from {})",
            pass_file.display()
        )
    );
    assert_eq!(steps[9..11], ["dpow KMD", "dpow BEER"]);
    assert!(
        steps[11].starts_with("iguana start-up done: 2 chain(s), 2 notary peer(s)"),
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
fn iguana_startup_fails_clearly_when_a_chain_never_answers() {
    let iguana = Fake::start(Mode::Iguana);
    let port = free_port();
    let y = yaml(&[("BEER", port)]);
    let run = Run::new(&y).seed();
    Run::new(&y)
        .seed()
        .args(&["render", "iguana", "--home", run.home().to_str().unwrap()])
        .status(0);
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
            "dokomodo: error: iguana start-up: waited 1 s for BEER at 127.0.0.1:{port} (connection refused (nothing is listening))\n"
        )),
        "{stderr}"
    );
    let methods: Vec<String> = iguana
        .calls()
        .iter()
        .map(|c| method(&c.body))
        .filter(|m| m != "help")
        .collect();
    assert_eq!(
        methods,
        ["myipaddr", "addnotary", "addnotary"],
        "nothing for BEER, no dpow"
    );
}

#[test]
fn help_for_the_probe_commands() {
    let (usage, _) = Run::new("").args(&["--help"]).status(0);
    for (command, first_line) in [
        (
            "health",
            "Usage: dokomodo [--config PATH] health [--chain NAME] [--timeout SECONDS] [--port PORT]",
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
