//! The stand-ins started as dokomodo starts the real daemons, on loopback.

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use dokomodo_standins::http;
use serde_json::{Value, json};

const PASSWORD: &str = "passS3cretS3cret";

struct TempDir(PathBuf);

impl TempDir {
    fn new(label: &str) -> TempDir {
        static N: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "standins-{}-{}-{label}",
            std::process::id(),
            N.fetch_add(1, Ordering::SeqCst)
        ));
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn wait_until(what: &str, timeout: Duration, mut ok: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !ok() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

/// A komodod stand-in with its own HOME; killed when dropped.
struct Daemon {
    child: Child,
    /// Removed when the daemon is dropped.
    _home: TempDir,
    datadir: PathBuf,
    stderr: PathBuf,
}

/// A HOME with `.komodo/NAME/NAME.conf` holding `conf`.
fn home_with_conf(name: &str, conf: &str) -> TempDir {
    let home = TempDir::new(name);
    let dir = home.0.join(".komodo").join(name);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(format!("{name}.conf")), conf).unwrap();
    home
}

fn standard_conf(port: u16) -> String {
    format!("rpcuser=userBEER\nrpcpassword={PASSWORD}\nrpcport={port}\nserver=1\n")
}

impl Daemon {
    fn start(home: TempDir, args: &[&str], env: &[(&str, &str)]) -> Daemon {
        let name = args
            .iter()
            .find_map(|a| a.strip_prefix("-ac_name="))
            .unwrap_or("KMD")
            .to_string();
        let datadir = args
            .iter()
            .find_map(|a| a.strip_prefix("-datadir="))
            .map(PathBuf::from)
            .unwrap_or_else(|| match name.as_str() {
                "KMD" => home.0.join(".komodo"),
                n => home.0.join(".komodo").join(n),
            });
        let stderr = home.0.join("stderr.txt");
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_komodod-standin"));
        cmd.args(args)
            .env("HOME", &home.0)
            .env("STANDIN_SHUTDOWN_MS", "300")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&stderr).unwrap());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let child = cmd.spawn().unwrap();
        Daemon {
            child,
            _home: home,
            datadir,
            stderr,
        }
    }

    /// Started and ready to serve RPC.
    fn ready(home: TempDir, args: &[&str], env: &[(&str, &str)]) -> Daemon {
        let mut d = Daemon::start(home, args, env);
        let log = d.datadir.join("standin.log");
        wait_until("the stand-in to be ready", Duration::from_secs(10), || {
            if let Ok(Some(status)) = d.child.try_wait() {
                panic!("stand-in exited early ({status}): {}", read(&d.stderr));
            }
            read(&log).contains(": ready")
        });
        d
    }

    fn log(&self) -> String {
        read(&self.datadir.join("standin.log"))
    }

    fn signal(&self, sig: i32) {
        // SAFETY: kill on our own child's pid.
        assert_eq!(unsafe { libc::kill(self.child.id() as i32, sig) }, 0);
    }

    fn wait_exit(&mut self, timeout: Duration) -> ExitStatus {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "stand-in still running after {timeout:?}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn marker(&self) -> PathBuf {
        self.datadir.join("clean_shutdown")
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn rpc(addr: &str, userpass: &str, method: &str) -> (u16, Value) {
    let body = json!({"jsonrpc": "1.0", "id": "t", "method": method, "params": []}).to_string();
    let (status, reply) = http::post(
        addr,
        "/",
        Some(userpass),
        body.as_bytes(),
        Duration::from_secs(5),
    )
    .unwrap_or_else(|e| panic!("POST {addr}: {e}"));
    (
        status,
        serde_json::from_slice(&reply).unwrap_or(Value::Null),
    )
}

fn good_auth() -> String {
    format!("userBEER:{PASSWORD}")
}

#[test]
fn getinfo_with_the_conf_credentials_names_the_chain_and_its_ports() {
    let port = free_port();
    let d = Daemon::ready(
        home_with_conf("BEER", &standard_conf(port)),
        &["-ac_name=BEER", "-ac_supply=100000000", "-pubkey=02ab"],
        &[],
    );
    let (status, reply) = rpc(&format!("127.0.0.1:{port}"), &good_auth(), "getinfo");
    assert_eq!(status, 200, "{reply}");
    assert_eq!(reply["result"]["name"], "BEER");
    assert_eq!(reply["result"]["rpcport"], port);
    assert_eq!(reply["result"]["p2pport"], port - 1);
    assert_eq!(reply["result"]["pubkey"], "02ab");
    assert!(
        d.log().contains("-ac_supply=100000000"),
        "start args are logged: {}",
        d.log()
    );
}

#[test]
fn wrong_credentials_get_401_and_no_password_is_ever_logged() {
    let port = free_port();
    let d = Daemon::ready(
        home_with_conf("BEER", &standard_conf(port)),
        &["-ac_name=BEER", "-rpcpassword=cmdlineS3cret"],
        &[],
    );
    let addr = format!("127.0.0.1:{port}");
    assert_eq!(rpc(&addr, "userBEER:wrongGuess", "getinfo").0, 401);
    assert_eq!(
        rpc(&addr, &format!("userPIZZA:{PASSWORD}"), "getinfo").0,
        401
    );
    assert_eq!(rpc(&addr, &good_auth(), "getinfo").0, 200);
    let logs = d.log() + &read(&d.stderr);
    assert!(logs.contains("401"), "refusals are logged: {logs}");
    for secret in [PASSWORD, "wrongGuess", "cmdlineS3cret"] {
        assert!(
            !logs.contains(secret),
            "{secret} leaked into the logs: {logs}"
        );
    }
}

#[test]
fn unknown_methods_are_json_rpc_errors() {
    let port = free_port();
    let _d = Daemon::ready(
        home_with_conf("BEER", &standard_conf(port)),
        &["-ac_name=BEER"],
        &[],
    );
    let (status, reply) = rpc(&format!("127.0.0.1:{port}"), &good_auth(), "getblockcount2");
    assert_eq!(status, 404);
    assert_eq!(reply["error"]["code"], -32601);
}

#[test]
fn without_rpcallowip_only_127_0_0_1_listens_and_rpcbind_is_ignored() {
    let port = free_port();
    let conf = standard_conf(port) + "rpcbind=0.0.0.0\n";
    let d = Daemon::ready(home_with_conf("BEER", &conf), &["-ac_name=BEER"], &[]);
    assert_eq!(
        rpc(&format!("127.0.0.1:{port}"), &good_auth(), "getinfo").0,
        200
    );
    // 127.0.0.2 reaches a 0.0.0.0 listener, never a 127.0.0.1 one.
    assert!(TcpStream::connect(("127.0.0.2", port)).is_err());
    assert!(d.log().contains("rpcbind ignored"), "{}", d.log());
}

#[test]
fn rpcallowip_binds_rpcbind_and_refuses_clients_outside_it() {
    let env = [("STANDIN_TRUST_LOOPBACK", "0")];
    let outside = free_port();
    let conf =
        standard_conf(outside) + "rpcbind=0.0.0.0\nrpcallowip=10.0.0.0/8\nrpcallowip=192.168.1.7\n";
    let _a = Daemon::ready(home_with_conf("BEER", &conf), &["-ac_name=BEER"], &env);
    assert_eq!(
        rpc(&format!("127.0.0.2:{outside}"), &good_auth(), "getinfo").0,
        403
    );

    let inside = free_port();
    let conf = standard_conf(inside) + "rpcbind=0.0.0.0\nrpcallowip=127.0.0.0/255.0.0.0\n";
    let _b = Daemon::ready(home_with_conf("BEER", &conf), &["-ac_name=BEER"], &env);
    assert_eq!(
        rpc(&format!("127.0.0.2:{inside}"), &good_auth(), "getinfo").0,
        200
    );
}

#[test]
fn loopback_is_always_admitted_as_komodod_does() {
    let port = free_port();
    let conf = standard_conf(port) + "rpcbind=127.0.0.1\nrpcallowip=10.0.0.0/8\n";
    let _d = Daemon::ready(home_with_conf("BEER", &conf), &["-ac_name=BEER"], &[]);
    assert_eq!(
        rpc(&format!("127.0.0.1:{port}"), &good_auth(), "getinfo").0,
        200
    );
}

#[test]
fn sigterm_shuts_down_cleanly_and_leaves_the_marker() {
    let port = free_port();
    let home = home_with_conf("BEER", &standard_conf(port));
    std::fs::write(home.0.join(".komodo/BEER/clean_shutdown"), "old run\n").unwrap();
    let mut d = Daemon::ready(home, &["-ac_name=BEER"], &[]);
    assert!(
        !d.marker().exists(),
        "the previous run's marker is removed at start"
    );
    d.signal(libc::SIGTERM);
    let status = d.wait_exit(Duration::from_secs(10));
    assert_eq!(status.code(), Some(0));
    assert!(read(&d.marker()).contains("SIGTERM"));
}

#[test]
fn rpc_stop_shuts_down_cleanly() {
    let port = free_port();
    let mut d = Daemon::ready(
        home_with_conf("BEER", &standard_conf(port)),
        &["-ac_name=BEER"],
        &[],
    );
    let (status, reply) = rpc(&format!("127.0.0.1:{port}"), &good_auth(), "stop");
    assert_eq!(status, 200);
    assert_eq!(reply["result"], "Komodo server stopping");
    assert_eq!(d.wait_exit(Duration::from_secs(10)).code(), Some(0));
    assert!(d.marker().exists());
}

#[test]
fn killed_during_shutdown_leaves_no_marker() {
    let port = free_port();
    let mut d = Daemon::ready(
        home_with_conf("BEER", &standard_conf(port)),
        &["-ac_name=BEER"],
        &[("STANDIN_SHUTDOWN_MS", "10000")],
    );
    d.signal(libc::SIGTERM);
    wait_until("shutdown to start", Duration::from_secs(5), || {
        d.log().contains("shutting down")
    });
    d.signal(libc::SIGKILL);
    d.wait_exit(Duration::from_secs(5));
    assert!(!d.marker().exists());
}

#[test]
fn ignore_term_keeps_running_until_killed() {
    let port = free_port();
    let mut d = Daemon::ready(
        home_with_conf("BEER", &standard_conf(port)),
        &["-ac_name=BEER"],
        &[("STANDIN_IGNORE_TERM", "1")],
    );
    d.signal(libc::SIGTERM);
    d.signal(libc::SIGINT);
    std::thread::sleep(Duration::from_millis(800));
    assert!(
        d.child.try_wait().unwrap().is_none(),
        "SIGTERM was not ignored"
    );
    assert_eq!(
        rpc(&format!("127.0.0.1:{port}"), &good_auth(), "getinfo").0,
        200
    );
    d.signal(libc::SIGKILL);
    d.wait_exit(Duration::from_secs(5));
    assert!(!d.marker().exists());
}

#[test]
fn an_assetchain_conf_without_rpcport_is_refused() {
    let conf = format!("rpcuser=userBEER\nrpcpassword={PASSWORD}\nserver=1\n");
    let mut d = Daemon::start(home_with_conf("BEER", &conf), &["-ac_name=BEER"], &[]);
    assert_eq!(d.wait_exit(Duration::from_secs(10)).code(), Some(1));
    let stderr = read(&d.stderr);
    assert!(stderr.contains("has no rpcport"), "{stderr}");
    assert!(!stderr.contains(PASSWORD));
}

#[test]
fn spaces_around_equals_hide_rpcport_as_in_komodod() {
    let conf = format!("rpcuser=userBEER\nrpcpassword={PASSWORD}\nrpcport = 8923\n");
    let mut d = Daemon::start(home_with_conf("BEER", &conf), &["-ac_name=BEER"], &[]);
    assert_eq!(d.wait_exit(Duration::from_secs(10)).code(), Some(1));
    assert!(
        read(&d.stderr).contains("not a port"),
        "{}",
        read(&d.stderr)
    );
}

#[test]
fn kmd_refuses_to_start_without_komodo_conf() {
    let home = TempDir::new("KMD");
    std::fs::create_dir_all(home.0.join(".komodo")).unwrap();
    let mut d = Daemon::start(home, &[], &[]);
    assert_eq!(d.wait_exit(Duration::from_secs(10)).code(), Some(1));
    assert!(
        read(&d.stderr).contains("komodo.conf"),
        "{}",
        read(&d.stderr)
    );
}

#[test]
fn kmd_reads_komodo_conf_and_an_assetchain_with_an_rpcport_never_does() {
    let port = free_port();
    let home = TempDir::new("KMD");
    std::fs::create_dir_all(home.0.join(".komodo")).unwrap();
    std::fs::write(home.0.join(".komodo/komodo.conf"), standard_conf(port)).unwrap();
    let kmd = Daemon::ready(home, &["-pubkey=02ab"], &[]);
    let (status, reply) = rpc(&format!("127.0.0.1:{port}"), &good_auth(), "getinfo");
    assert_eq!(
        (status, reply["result"]["name"].clone()),
        (200, json!("KMD"))
    );
    drop(kmd);

    let beer = Daemon::ready(
        home_with_conf("BEER", &standard_conf(free_port())),
        &["-ac_name=BEER"],
        &[],
    );
    assert!(!beer.log().contains("KMD conf"), "{}", beer.log());
}

#[test]
fn a_missing_datadir_is_waited_for() {
    let home = TempDir::new("wait");
    let datadir = home.0.join("not-yet");
    let arg = format!("-datadir={}", datadir.display());
    let d = Daemon::start(home, &["-ac_name=BEER", &arg], &[]);
    wait_until("the waiting message", Duration::from_secs(10), || {
        read(&d.stderr).contains("waiting for datadir")
    });
    std::thread::sleep(Duration::from_millis(500));
    let mut d = d;
    assert!(
        d.child.try_wait().unwrap().is_none(),
        "it must wait, not exit"
    );
}

/// An iguana stand-in in its own working directory; killed when dropped.
struct Iguana {
    child: Child,
    workdir: TempDir,
    port: u16,
}

impl Iguana {
    fn start(env: &[(&str, &str)]) -> Iguana {
        let workdir = TempDir::new("iguana");
        let port = free_port();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_iguana-standin"));
        cmd.arg("notary")
            .current_dir(&workdir.0)
            .env("STANDIN_IGUANA_PORT", port.to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(workdir.0.join("stderr.txt")).unwrap());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let child = cmd.spawn().unwrap();
        wait_until("iguana to listen", Duration::from_secs(10), || {
            TcpStream::connect(("127.0.0.1", port)).is_ok()
        });
        Iguana {
            child,
            workdir,
            port,
        }
    }

    fn call(&self, body: Value) -> Value {
        let (_, reply) = http::post(
            &format!("127.0.0.1:{}", self.port),
            "/",
            None,
            body.to_string().as_bytes(),
            Duration::from_secs(15),
        )
        .unwrap();
        serde_json::from_slice(&reply).unwrap()
    }

    fn file(&self, name: &str) -> String {
        read(&self.workdir.0.join(name))
    }
}

impl Drop for Iguana {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The addcoin JSON for a conf at an absolute path, as iguana wants it.
fn addcoin(name: &str, conf_file: &Path) -> Value {
    let dir = conf_file
        .parent()
        .unwrap()
        .to_str()
        .unwrap()
        .trim_start_matches('/');
    json!({"agent": "iguana", "method": "addcoin", "newcoin": name, "conf": conf_file.file_name().unwrap().to_str().unwrap(), "path": dir})
}

#[test]
fn the_operator_start_sequence_is_recorded_without_the_passphrase() {
    let port = free_port();
    let beer = Daemon::ready(
        home_with_conf("BEER", &standard_conf(port)),
        &["-ac_name=BEER"],
        &[],
    );
    let iguana = Iguana::start(&[]);
    let passphrase = "legal winner thank year wave sausage worth useful";
    assert_eq!(
        iguana.call(json!({"agent": "SuperNET", "method": "myipaddr", "ipaddr": "192.0.2.10"}))["result"],
        "success"
    );
    iguana.call(json!({"agent": "iguana", "method": "addnotary", "ipaddr": "192.0.2.11"}));
    let reply = iguana.call(addcoin("BEER", &beer.datadir.join("BEER.conf")));
    assert_eq!(reply["result"], "coin added", "{reply}");
    iguana.call(json!({"method": "walletpassphrase", "params": [], "passphrase": passphrase, "timeout": 2592000}));
    iguana.call(json!({"agent": "dpow", "method": "dpow", "symbol": "BEER", "pubkey": "02ab"}));

    let calls = iguana.file("calls.log");
    let expected = [
        "myipaddr ipaddr=192.0.2.10",
        "addnotary ipaddr=192.0.2.11",
        "addcoin BEER ok",
        &format!(
            "walletpassphrase params=[] passphrase=<redacted len={}> timeout=2592000",
            passphrase.len()
        ),
        "dpow pubkey=02ab symbol=BEER",
    ];
    assert_eq!(calls.lines().collect::<Vec<_>>(), expected);
    let everything = calls + &iguana.file("stderr.txt");
    assert!(
        !everything.contains("sausage") && !everything.contains(PASSWORD),
        "{everything}"
    );
    assert!(
        beer.log().contains("\"getinfo\""),
        "iguana really called the daemon"
    );
}

#[test]
fn rpchost_and_userpass_override_the_conf() {
    let port = free_port();
    let beer = Daemon::ready(
        home_with_conf("BEER", &standard_conf(port)),
        &["-ac_name=BEER"],
        &[],
    );
    let iguana = Iguana::start(&[]);
    // The conf iguana sees points at a wrong port with wrong credentials.
    let stale = iguana.workdir.0.join("BEER.conf");
    std::fs::write(&stale, "rpcuser=x\nrpcpassword=y\nrpcport=1\n").unwrap();
    let mut call = addcoin("BEER", &stale);
    assert!(
        iguana.call(call.clone())["error"]
            .as_str()
            .unwrap()
            .contains("cannot reach 127.0.0.1:1")
    );
    call["rpchost"] = json!(format!("127.0.0.1:{port}"));
    assert!(
        iguana.call(call.clone())["error"]
            .as_str()
            .unwrap()
            .contains("HTTP 401")
    );
    call["userpass"] = json!(good_auth());
    assert_eq!(iguana.call(call)["result"], "coin added");
    drop(beer);
}

#[test]
fn addcoin_dir_reports_every_chain() {
    let beer_port = free_port();
    let beer = Daemon::ready(
        home_with_conf("BEER", &standard_conf(beer_port)),
        &["-ac_name=BEER"],
        &[],
    );
    let pizza_port = free_port();
    let pizza = Daemon::ready(
        home_with_conf("PIZZA", &standard_conf(pizza_port)),
        &["-ac_name=PIZZA"],
        &[],
    );

    let dir = TempDir::new("addcoin");
    std::fs::write(
        dir.0.join("BEER.json"),
        addcoin("BEER", &beer.datadir.join("BEER.conf")).to_string(),
    )
    .unwrap();
    // iguana's copy of PIZZA's conf differs from the daemon's: auth must fail.
    let wrong = dir.0.join("PIZZA.conf");
    std::fs::write(
        &wrong,
        format!("rpcuser=userBEER\nrpcpassword=other\nrpcport={pizza_port}\n"),
    )
    .unwrap();
    let mut pizza_call = addcoin("PIZZA", &wrong);
    pizza_call.as_object_mut().unwrap().remove("method");
    std::fs::write(dir.0.join("PIZZA.json"), pizza_call.to_string()).unwrap();
    std::fs::write(dir.0.join("README.txt"), "not an addcoin file").unwrap();

    let iguana = Iguana::start(&[
        ("STANDIN_ADDCOIN_DIR", dir.0.to_str().unwrap()),
        ("STANDIN_ADDCOIN_RETRY_SECS", "0"),
    ]);
    wait_until("the addcoin report", Duration::from_secs(20), || {
        !iguana.file("addcoin-report.txt").is_empty()
    });
    let report = iguana.file("addcoin-report.txt");
    let lines: Vec<&str> = report.lines().collect();
    assert_eq!(lines.len(), 2, "{report}");
    assert_eq!(lines[0], "BEER ok");
    assert!(lines[1].starts_with("PIZZA failed: HTTP 401"), "{report}");
    drop((beer, pizza));
}

#[test]
fn sigterm_ends_iguana_at_once() {
    let mut iguana = Iguana::start(&[]);
    // SAFETY: kill on our own child's pid.
    assert_eq!(
        unsafe { libc::kill(iguana.child.id() as i32, libc::SIGTERM) },
        0
    );
    let status = iguana.child.wait().unwrap();
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(status.signal(), Some(libc::SIGTERM));
}

#[test]
fn orphans_mode_exits_at_once_and_leaves_its_children_running() {
    let out = Command::new(env!("CARGO_BIN_EXE_komodod-standin"))
        .args(["orphans", "2", "20000"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let pids: Vec<i32> = String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .map(|p| p.parse().unwrap())
        .collect();
    assert_eq!(pids.len(), 2, "{out:?}");
    for pid in pids {
        // SAFETY: signal 0 only checks the pid exists; then the child we made
        // (now someone else's orphan) is ended so the test leaves nothing.
        unsafe {
            assert_eq!(libc::kill(pid, 0), 0, "orphan {pid} is gone already");
            libc::kill(pid, libc::SIGKILL);
        }
    }
}
