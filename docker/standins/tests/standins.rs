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

/// An elected file like dPoW's: `seeds` documentation addresses, the dPoW
/// bus on `port`.
fn elected(port: u16, seeds: usize) -> String {
    let seeds: Vec<String> = (1..=seeds).map(|i| format!("\"192.0.2.{i}\"")).collect();
    format!(
        r#"{{"port":{port},"BTCminsigs":13,"minsigs":13,"seeds":[{}],
"notaries":[{{"alright_DEV":"028548847b3bbccff37c9b47bc4154183304902773d514b792ec2adc91e600e3b9"}}]}}"#,
        seeds.join(",")
    )
}

/// An iguana stand-in in its own working directory; killed when dropped.
struct Iguana {
    child: Child,
    workdir: TempDir,
    port: u16,
    bus_port: u16,
}

impl Iguana {
    /// Started with an elected file of 8 seeds, and waited for.
    fn start(env: &[(&str, &str)]) -> Iguana {
        let bus_port = free_port();
        let mut iguana = Iguana::spawn(Some(&elected(bus_port, 8)), env);
        iguana.bus_port = bus_port;
        iguana.wait_listening();
        iguana
    }

    /// Started with this elected file (None: none at all), not waited for.
    fn spawn(elected_file: Option<&str>, env: &[(&str, &str)]) -> Iguana {
        let workdir = TempDir::new("iguana");
        if let Some(text) = elected_file {
            std::fs::write(workdir.0.join("elected"), text).unwrap();
        }
        let port = free_port();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_iguana-standin"));
        cmd.arg("notary")
            .current_dir(&workdir.0)
            .env("STANDIN_IGUANA_PORT", port.to_string())
            .env("STANDIN_CURL_BACKOFF_MS", "0")
            .env_remove("STANDIN_ELECTED_FALLBACK")
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(workdir.0.join("stdout.txt")).unwrap())
            .stderr(std::fs::File::create(workdir.0.join("stderr.txt")).unwrap());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let child = cmd.spawn().unwrap();
        Iguana {
            child,
            workdir,
            port,
            bus_port: 0,
        }
    }

    fn wait_listening(&mut self) {
        let port = self.port;
        wait_until("iguana to listen", Duration::from_secs(10), || {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!(
                    "iguana exited early ({status}): {}",
                    self.file("stderr.txt")
                );
            }
            TcpStream::connect(("127.0.0.1", port)).is_ok()
        });
    }

    fn call(&self, body: Value) -> Value {
        let (_, reply) = http::post(
            &format!("127.0.0.1:{}", self.port),
            "/",
            None,
            body.to_string().as_bytes(),
            Duration::from_secs(30),
        )
        .unwrap();
        serde_json::from_slice(&reply).unwrap()
    }

    /// The verification call: the coin's daemon, asked through iguana.
    fn passthru(&self, coin: &str, function: &str) -> Value {
        self.call(
            json!({"agent": "iguana", "method": "passthru", "asset": coin,
                         "function": function, "hex": ""}),
        )
    }

    fn dpow(&self, symbol: &str, pubkey: &str) -> Value {
        self.call(json!({"agent": "iguana", "method": "dpow", "symbol": symbol, "pubkey": pubkey}))
    }

    fn unlock(&self, passphrase: &str) -> Value {
        self.call(json!({"method": "walletpassphrase", "params": [passphrase, 9999999]}))
    }

    fn file(&self, name: &str) -> String {
        read(&self.workdir.0.join(name))
    }

    fn logs(&self) -> String {
        self.file("stderr.txt") + &self.file("stdout.txt")
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

/// A KMD stand-in with its komodo.conf on `port`.
fn kmd_daemon(port: u16) -> Daemon {
    let home = TempDir::new("KMD");
    std::fs::create_dir_all(home.0.join(".komodo")).unwrap();
    std::fs::write(home.0.join(".komodo/komodo.conf"), standard_conf(port)).unwrap();
    Daemon::ready(home, &[], &[])
}

const PASSPHRASE: &str = "myverysecretandstrongpassphrase_noneabletobrute";
/// Its compressed pubkey (komodo-facts.md section 6).
/// The notary's WIF for KMD and assetchains (wiftype 188).
fn notary_wif() -> String {
    use dokomodo_standins::keys;
    keys::wif(keys::KMD_WIFTYPE, &keys::passphrase_privkey(PASSPHRASE))
}

const PUBKEY: &str = "02a854251adfee222bede8396fed0756985d4ea905f72611740867c7a4ad6488c1";

#[test]
fn dokomodos_start_sequence_is_recorded_without_the_passphrase() {
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
        "192.0.2.10"
    );
    let reply =
        iguana.call(json!({"agent": "iguana", "method": "addnotary", "ipaddr": "192.0.2.11"}));
    assert_eq!(reply["result"], "notary node added");
    let reply = iguana.call(addcoin("BEER", &beer.datadir.join("BEER.conf")));
    assert_eq!(reply["result"], "coin added", "{reply}");
    assert!(reply["tag"].is_string(), "iguana tags every reply: {reply}");
    let reply = iguana.unlock(passphrase);
    assert_eq!(
        (reply["result"].clone(), reply["status"].clone()),
        (json!("success"), json!("unlocked")),
        "{reply}"
    );

    let calls = iguana.file("calls.log");
    let lines: Vec<&str> = calls.lines().collect();
    assert_eq!(lines[0], "myipaddr ipaddr=192.0.2.10");
    assert_eq!(lines[1], "addnotary ipaddr=192.0.2.11");
    assert!(lines[2].starts_with("addcoin "), "{calls}");
    assert_eq!(
        lines[3],
        format!(
            "walletpassphrase params=[<redacted len={}>,9999999]",
            passphrase.len()
        )
    );
    let everything = calls + &iguana.logs() + &beer.log();
    assert!(
        !everything.contains("sausage") && !everything.contains(PASSWORD),
        "{everything}"
    );
}

#[test]
fn addcoin_says_coin_added_even_when_the_conf_cannot_be_read() {
    let iguana = Iguana::start(&[]);
    let missing = iguana.workdir.0.join("nowhere/BEER.conf");
    let reply = iguana.call(addcoin("BEER", &missing));
    assert_eq!(reply["result"], "coin added", "{reply}");
    assert_eq!(
        iguana.call(addcoin("BEER", &missing))["result"],
        "coin already there"
    );
    assert!(
        iguana.logs().contains("extract_userpass cant open"),
        "{}",
        iguana.logs()
    );
    // Only asking the coin tells: nothing answers for it.
    assert_eq!(iguana.passthru("BEER", "getinfo")["error"], "null return");
    assert_eq!(
        iguana.passthru("PIZZA", "getinfo")["error"],
        "assetchain not active, start in bitcoind mode"
    );
}

#[test]
fn passthru_reaches_the_coins_daemon_with_the_conf_credentials() {
    let port = free_port();
    let beer = Daemon::ready(
        home_with_conf("BEER", &standard_conf(port)),
        &["-ac_name=BEER"],
        &[],
    );
    let iguana = Iguana::start(&[]);
    iguana.call(addcoin("BEER", &beer.datadir.join("BEER.conf")));
    let reply = iguana.passthru("BEER", "getinfo");
    assert_eq!(reply["name"], "BEER", "{reply}");
    assert_eq!(reply["rpcport"], port);
    assert!(beer.log().contains("\"getinfo\""), "{}", beer.log());
}

#[test]
fn iguana_reads_the_conf_its_own_way() {
    // `rpcport = N` hides the port from komodod but not from iguana.
    let port = free_port();
    let beer = Daemon::ready(
        home_with_conf("BEER", &standard_conf(port)),
        &["-ac_name=BEER"],
        &[],
    );
    let iguana = Iguana::start(&[]);
    let spaced = iguana.workdir.0.join("BEER.conf");
    std::fs::write(
        &spaced,
        format!("rpcuser = userBEER\nrpcpassword = {PASSWORD}\nrpcport = {port}\n"),
    )
    .unwrap();
    iguana.call(addcoin("BEER", &spaced));
    assert_eq!(iguana.passthru("BEER", "getinfo")["name"], "BEER");
    drop(beer);
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
    iguana.call(addcoin("BEER", &stale));
    assert_eq!(iguana.passthru("BEER", "getinfo")["error"], "null return");

    let mut call = addcoin("PIZZA", &stale);
    call["rpchost"] = json!(format!("127.0.0.1:{port}"));
    iguana.call(call.clone());
    // Right host, the conf's wrong credentials: 401, nothing comes back.
    assert_eq!(iguana.passthru("PIZZA", "getinfo")["error"], "null return");
    assert!(beer.log().contains("401"), "{}", beer.log());

    call["newcoin"] = json!("BEER2");
    call["userpass"] = json!(good_auth());
    iguana.call(call);
    assert_eq!(iguana.passthru("BEER2", "getinfo")["name"], "BEER");
}

#[test]
fn a_serverport_of_128_bytes_runs_into_the_credentials() {
    let iguana = Iguana::start(&[]);
    let host = format!("{}.invalid:8923", "h".repeat(115));
    assert_eq!(host.len(), 128);
    let mut call = addcoin("BEER", &iguana.workdir.0.join("none.conf"));
    call["rpchost"] = json!(host);
    call["userpass"] = json!("userBEER:leakedS3cret");
    assert_eq!(iguana.call(call)["result"], "coin added");
    assert_eq!(iguana.passthru("BEER", "getinfo")["error"], "null return");
    let logs = iguana.logs();
    assert!(logs.contains("too long 128"), "{logs}");
    // As seen with real iguana: the URL libcurl got carries the password.
    let curl_line = logs
        .lines()
        .find(|l| l.contains("curl_easy_perform() failed"))
        .unwrap_or("");
    assert!(curl_line.contains("8923userBEER:leakedS3cret"), "{logs}");

    // 127 bytes still fit (with their NUL).
    let mut call = addcoin("PIZZA", &iguana.workdir.0.join("none.conf"));
    call["rpchost"] = json!(format!("{}.invalid:8923", "p".repeat(114)));
    iguana.call(call);
    assert_eq!(iguana.logs().matches("too long 128").count(), 1);
}

#[test]
fn an_unbracketed_ipv6_rpchost_is_a_malformed_url() {
    let iguana = Iguana::start(&[]);
    let mut call = addcoin("BEER", &iguana.workdir.0.join("none.conf"));
    call["rpchost"] = json!("fd00::5:8923");
    call["userpass"] = json!("u:p");
    iguana.call(call);
    assert_eq!(iguana.passthru("BEER", "getinfo")["error"], "null return");
    assert!(
        iguana
            .logs()
            .contains("URL using bad/illegal format or missing URL"),
        "{}",
        iguana.logs()
    );
}

#[test]
fn walletpassphrase_needs_a_coin_and_imports_the_key_into_the_first() {
    let kmd_port = free_port();
    let kmd = kmd_daemon(kmd_port);
    let beer_port = free_port();
    let beer = Daemon::ready(
        home_with_conf("BEER", &standard_conf(beer_port)),
        &["-ac_name=BEER"],
        &[],
    );
    let iguana = Iguana::start(&[]);
    assert_eq!(
        iguana.unlock(PASSPHRASE)["error"],
        "null return from iguana_bitcoinRPC"
    );

    iguana.call(addcoin("KMD", &kmd.datadir.join("komodo.conf")));
    iguana.call(addcoin("BEER", &beer.datadir.join("BEER.conf")));
    let reply = iguana.unlock(PASSPHRASE);
    assert_eq!(reply["btcpubkey"], PUBKEY, "{reply}");
    assert_eq!(reply["KMD"], "RVNKRr2uxPMxJeDwFnTKjdtiLtcs7UzCZn");
    let addr = "RVNKRr2uxPMxJeDwFnTKjdtiLtcs7UzCZn";
    // The notary key and the jumblr deposit key, both into KMD.
    assert_eq!(
        kmd.log().matches("importprivkey: key for").count(),
        2,
        "{}",
        kmd.log()
    );
    assert!(kmd.log().contains(&format!("key for {addr} imported")));
    assert!(!beer.log().contains("importprivkey"), "{}", beer.log());
    let mine = |d: &Daemon, port: u16| {
        let body =
            json!({"jsonrpc": "1.0", "id": "t", "method": "validateaddress", "params": [addr]});
        let (_, r) = http::post(
            &format!("127.0.0.1:{port}"),
            "/",
            Some(&good_auth()),
            body.to_string().as_bytes(),
            Duration::from_secs(5),
        )
        .unwrap();
        let _ = d;
        serde_json::from_slice::<Value>(&r).unwrap()["result"]["ismine"].clone()
    };
    assert_eq!(mine(&kmd, kmd_port), json!(true));
    assert_eq!(mine(&beer, beer_port), json!(false));
    assert!(!iguana.logs().contains(PASSPHRASE) && !kmd.log().contains(PASSPHRASE));
}

#[test]
fn dpow_refuses_as_real_iguana_does() {
    let kmd_port = free_port();
    let kmd = kmd_daemon(kmd_port);
    let beer_port = free_port();
    let beer = Daemon::ready(
        home_with_conf("BEER", &standard_conf(beer_port)),
        &["-ac_name=BEER"],
        &[],
    );
    let iguana = Iguana::start(&[]);
    assert_eq!(iguana.dpow("BEER", "02ab")["error"], "need 33 byte pubkey");
    assert_eq!(
        iguana.dpow("BEER", PUBKEY)["error"],
        "cant dPoW an inactive coin"
    );
    iguana.call(addcoin("KMD", &kmd.datadir.join("komodo.conf")));
    assert_eq!(
        iguana.dpow("KMD", PUBKEY)["error"],
        "cant dPoW KMD without LTC"
    );
    iguana.call(addcoin("BEER", &beer.datadir.join("BEER.conf")));
    iguana.unlock(PASSPHRASE);
    // walletpassphrase imported the key into KMD only: BEER's daemon does
    // not own the notary address.
    assert_eq!(
        iguana.dpow("BEER", PUBKEY)["error"],
        "source address or dest address has no privkey, importprivkey"
    );
    let wif = notary_wif();
    let body =
        json!({"jsonrpc": "1.0", "id": "t", "method": "importprivkey", "params": [wif, "", false]});
    let (status, reply) = http::post(
        &format!("127.0.0.1:{beer_port}"),
        "/",
        Some(&good_auth()),
        body.to_string().as_bytes(),
        Duration::from_secs(5),
    )
    .unwrap();
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&reply));
    assert_eq!(iguana.dpow("BEER", PUBKEY)["result"], "success");
    // The per-coin dPoW status iguana gives: asking again.
    assert_eq!(
        iguana.dpow("BEER", PUBKEY)["error"],
        "cant dPoW same coin again"
    );
}

#[test]
fn the_dpow_bus_is_bound_by_addnotary_only_after_myipaddr() {
    let iguana = Iguana::start(&[]);
    let bus = iguana.bus_port;
    iguana.call(json!({"agent": "iguana", "method": "addnotary", "ipaddr": "192.0.2.11"}));
    assert!(
        iguana.logs().contains("need to set ipaddr before nanomsg"),
        "{}",
        iguana.logs()
    );
    assert!(
        TcpStream::connect(("127.0.0.1", bus)).is_err(),
        "bus bound without myipaddr"
    );
    assert_eq!(
        iguana.call(json!({"agent": "dpow", "method": "ipaddrs"})),
        json!([])
    );
    // myipaddr alone binds nothing.
    iguana.call(json!({"agent": "SuperNET", "method": "myipaddr", "ipaddr": "192.0.2.10"}));
    assert!(TcpStream::connect(("127.0.0.1", bus)).is_err());
    // The first address wins.
    let again =
        iguana.call(json!({"agent": "SuperNET", "method": "myipaddr", "ipaddr": "192.0.2.99"}));
    assert_eq!(again["result"], "192.0.2.10");
    iguana.call(json!({"agent": "iguana", "method": "addnotary", "ipaddr": "192.0.2.11"}));
    assert!(
        TcpStream::connect(("127.0.0.1", bus)).is_ok(),
        "bus not bound on the elected port"
    );
    assert_eq!(
        iguana.call(json!({"agent": "dpow", "method": "ipaddrs"})),
        json!(["192.0.2.10", "192.0.2.11"])
    );
}

#[test]
fn without_an_elected_file_iguana_exits_255() {
    let mut iguana = Iguana::spawn(None, &[]);
    let status = iguana.child.wait().unwrap();
    assert_eq!(status.code(), Some(255));
    assert!(
        iguana
            .logs()
            .contains("didnt find any elected notaries JSON in (elected)"),
        "{}",
        iguana.logs()
    );
    // The image's escape hatch says what real iguana would have done.
    let mut iguana = Iguana::spawn(None, &[("STANDIN_ELECTED_FALLBACK", "builtin")]);
    iguana.wait_listening();
    assert!(iguana.logs().contains("real iguana exits 255 here"));
}

#[test]
fn fewer_than_8_seeds_crash_or_hang_iguana() {
    use std::os::unix::process::ExitStatusExt;
    let mut none = Iguana::spawn(Some(&elected(free_port(), 0)), &[]);
    assert_eq!(none.child.wait().unwrap().signal(), Some(libc::SIGFPE));
    let mut one = Iguana::spawn(Some(&elected(free_port(), 1)), &[]);
    assert_eq!(one.child.wait().unwrap().signal(), Some(libc::SIGSEGV));
    let mut seven = Iguana::spawn(Some(&elected(free_port(), 7)), &[]);
    std::thread::sleep(Duration::from_millis(800));
    assert!(
        seven.child.try_wait().unwrap().is_none(),
        "it hangs, it does not exit"
    );
    assert!(
        TcpStream::connect(("127.0.0.1", seven.port)).is_err(),
        "RPC never opens"
    );
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

fn daemon_rpc(port: u16, method: &str, params: Value) -> (u16, Value) {
    let body = json!({"jsonrpc": "1.0", "id": "t", "method": method, "params": params}).to_string();
    let (status, reply) = http::post(
        &format!("127.0.0.1:{port}"),
        "/",
        Some(&good_auth()),
        body.as_bytes(),
        Duration::from_secs(5),
    )
    .unwrap();
    (
        status,
        serde_json::from_slice(&reply).unwrap_or(Value::Null),
    )
}

const TXID_A: &str = "aa00000000000000000000000000000000000000000000000000000000000001";
const TXID_B: &str = "bb00000000000000000000000000000000000000000000000000000000000002";

#[test]
fn locks_are_kept_in_memory_and_a_restart_clears_them() {
    let port = free_port();
    let seeded = format!("{TXID_A}:0,{TXID_B}:3");
    let home = home_with_conf("BEER", &standard_conf(port));
    let conf = std::fs::read_to_string(home.0.join(".komodo/BEER/BEER.conf")).unwrap();
    let d = Daemon::ready(
        home,
        &["-ac_name=BEER"],
        &[("STANDIN_LOCKED_UTXOS", &seeded)],
    );
    let (_, r) = daemon_rpc(port, "listlockunspent", json!([]));
    assert_eq!(
        r["result"],
        json!([{"txid": TXID_A, "vout": 0}, {"txid": TXID_B, "vout": 3}])
    );
    // The operators' unlock: lockunspent true <listlockunspent>.
    let (_, r) = daemon_rpc(
        port,
        "lockunspent",
        json!([true, [{"txid": TXID_A, "vout": 0}]]),
    );
    assert_eq!(r["result"], true);
    assert_eq!(
        daemon_rpc(port, "listlockunspent", json!([])).1["result"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    // komodod does not check that the output was locked.
    assert_eq!(
        daemon_rpc(
            port,
            "lockunspent",
            json!([true, [{"txid": TXID_A, "vout": 0}]])
        )
        .1["result"],
        true
    );
    assert_eq!(
        daemon_rpc(
            port,
            "lockunspent",
            json!([false, [{"txid": "xyz", "vout": 0}]])
        )
        .1["error"]["message"],
        "Invalid parameter, expected hex txid"
    );
    // iguana's round locks one (lockunspent false) ...
    daemon_rpc(
        port,
        "lockunspent",
        json!([false, [{"txid": TXID_A, "vout": 1}]]),
    );
    assert_eq!(
        daemon_rpc(port, "listlockunspent", json!([])).1["result"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    // ... and a restart of the daemon forgets every lock.
    drop(d);
    let home = home_with_conf("BEER", &conf);
    let _d = Daemon::ready(home, &["-ac_name=BEER"], &[]);
    assert_eq!(
        daemon_rpc(port, "listlockunspent", json!([])).1["result"],
        json!([])
    );
}

#[test]
fn importprivkey_makes_validateaddress_ismine() {
    let port = free_port();
    let _d = Daemon::ready(
        home_with_conf("BEER", &standard_conf(port)),
        &["-ac_name=BEER"],
        &[],
    );
    let addr = "RVNKRr2uxPMxJeDwFnTKjdtiLtcs7UzCZn";
    assert_eq!(
        daemon_rpc(port, "validateaddress", json!([addr])).1["result"]["ismine"],
        false
    );
    let (_, r) = daemon_rpc(port, "importprivkey", json!(["not-a-wif"]));
    assert_eq!(r["error"]["code"], -5);
    let wif = notary_wif();
    let (status, r) = daemon_rpc(port, "importprivkey", json!([wif, "", false]));
    assert_eq!((status, r["result"].clone()), (200, Value::Null), "{r}");
    assert_eq!(
        daemon_rpc(port, "validateaddress", json!([addr])).1["result"]["ismine"],
        true
    );
    assert_eq!(
        daemon_rpc(port, "validateaddress", json!(["Lnotanaddress"])).1["result"]["isvalid"],
        false
    );
}

/// litecoind: the stand-in binary started under that name.
fn litecoind(home: &TempDir, args: &[&str]) -> Command {
    let bin = home.0.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let link = bin.join("litecoind");
    if !link.exists() {
        std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_komodod-standin"), &link).unwrap();
    }
    let mut cmd = Command::new(link);
    cmd.args(args)
        .env("HOME", &home.0)
        .env("STANDIN_SHUTDOWN_MS", "100");
    cmd
}

#[test]
fn litecoind_refuses_komodod_flags_as_litecoind_does() {
    let home = TempDir::new("ltc");
    let out = litecoind(&home, &["-ac_name=LTC"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim_end(),
        "Error: Error parsing command line arguments: Invalid parameter -ac_name=LTC"
    );
    let out = litecoind(&home, &["-printtoconsole", "notary"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unexpected token 'notary'"));
}

#[test]
fn litecoind_reads_litecoin_conf_and_answers_like_litecoind() {
    let home = TempDir::new("ltc");
    let port = free_port();
    std::fs::create_dir_all(home.0.join(".litecoin")).unwrap();
    std::fs::write(
        home.0.join(".litecoin/litecoin.conf"),
        format!("rpcuser = userBEER\nrpcpassword = {PASSWORD}\nrpcport = {port}\nserver=1\n"),
    )
    .unwrap();
    let mut child = litecoind(&home, &["-txindex=1", "-nolisten"])
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_until("litecoind to listen", Duration::from_secs(10), || {
        TcpStream::connect(("127.0.0.1", port)).is_ok()
    });
    let (status, r) = daemon_rpc(port, "getinfo", json!([]));
    assert_eq!((status, r["error"]["code"].clone()), (404, json!(-32601)));
    assert_eq!(
        daemon_rpc(port, "getblockchaininfo", json!([])).1["result"]["chain"],
        "main"
    );
    // The notary key as an LTC WIF and address (wiftype 176, pubtype 48).
    let privkey = dokomodo_standins::keys::passphrase_privkey(PASSPHRASE);
    let pubkey = dokomodo_standins::keys::pubkey33(&privkey).unwrap();
    let addr = dokomodo_standins::keys::address(48, &pubkey);
    let wif = dokomodo_standins::keys::wif(176, &privkey);
    assert_eq!(daemon_rpc(port, "importprivkey", json!([wif])).0, 200);
    let v = daemon_rpc(port, "validateaddress", json!([addr])).1;
    assert_eq!(v["result"]["isvalid"], true);
    assert!(v["result"].get("ismine").is_none(), "{v}");
    assert_eq!(
        daemon_rpc(port, "getaddressinfo", json!([addr])).1["result"]["ismine"],
        true
    );
    // litecoind checks what it unlocks.
    let r = daemon_rpc(
        port,
        "lockunspent",
        json!([true, [{"txid": TXID_A, "vout": 0}]]),
    )
    .1;
    assert_eq!(
        r["error"]["message"],
        "Invalid parameter, expected locked output"
    );
    let _ = child.kill();
    let _ = child.wait();
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

fn rpc_params(addr: &str, method: &str, params: Value) -> Value {
    let body = json!({"jsonrpc": "1.0", "id": "t", "method": method, "params": params});
    let (status, reply) = http::post(
        addr,
        "/",
        Some(&good_auth()),
        body.to_string().as_bytes(),
        Duration::from_secs(5),
    )
    .unwrap();
    let reply: Value = serde_json::from_slice(&reply).unwrap_or(Value::Null);
    assert_eq!(status, 200, "{method}: {reply}");
    reply["result"].clone()
}

#[test]
fn the_monitors_calls_give_the_chain_state_of_the_environment() {
    let port = free_port();
    let _d = Daemon::ready(
        home_with_conf("BEER", &standard_conf(port)),
        &["-ac_name=BEER"],
        &[
            ("STANDIN_BLOCKS", "1000"),
            ("STANDIN_LONGEST", "1002"),
            ("STANDIN_CONNECTIONS", "8"),
            ("STANDIN_NOTARIZED", "990"),
            ("STANDIN_NOTARIZED_TIME", "1700000000"),
            ("STANDIN_UTXOS", "3"),
        ],
    );
    let addr = format!("127.0.0.1:{port}");
    let info = rpc_params(&addr, "getinfo", json!([]));
    assert_eq!(info["blocks"], 1000);
    assert_eq!(info["longestchain"], 1002);
    assert_eq!(info["connections"], 8);
    assert_eq!(info["notarized"], 990);
    let hash = info["notarizedhash"].as_str().unwrap().to_owned();
    assert_eq!(hash.len(), 64);
    let block = rpc_params(&addr, "getblock", json!([hash]));
    assert_eq!(block["height"], 990);
    assert_eq!(block["time"], 1_700_000_000);
    let unspent = rpc_params(&addr, "listunspent", json!([]));
    let amounts: Vec<f64> = unspent
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["amount"].as_f64().unwrap())
        .collect();
    assert_eq!(amounts, [0.0001, 0.0001, 0.0001, 2.5]);
    assert_eq!(rpc_params(&addr, "getbalance", json!([])), json!(2.5003));
}

#[test]
fn a_chain_never_notarised_has_the_zero_hash_and_no_block_for_it() {
    let port = free_port();
    let _d = Daemon::ready(
        home_with_conf("BEER", &standard_conf(port)),
        &["-ac_name=BEER"],
        &[],
    );
    let addr = format!("127.0.0.1:{port}");
    let info = rpc_params(&addr, "getinfo", json!([]));
    assert_eq!(info["notarized"], 0);
    assert_eq!(info["notarizedhash"], "0".repeat(64));
    let body =
        json!({"jsonrpc": "1.0", "id": "t", "method": "getblock", "params": ["0".repeat(64)]});
    let (status, reply) = http::post(
        &addr,
        "/",
        Some(&good_auth()),
        body.to_string().as_bytes(),
        Duration::from_secs(5),
    )
    .unwrap();
    assert_eq!(status, 500);
    let reply: Value = serde_json::from_slice(&reply).unwrap();
    assert_eq!(reply["error"]["message"], "Block not found");
    assert_eq!(
        rpc_params(&addr, "listunspent", json!([]))
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

#[test]
fn splitfunds_refuses_as_real_iguana_does_then_splits() {
    let kmd_port = free_port();
    let kmd = kmd_daemon(kmd_port);
    let iguana = Iguana::start(&[]);
    let split = |coin: &str| {
        iguana.call(
            json!({"agent": "iguana", "method": "splitfunds", "coin": coin,
                           "satoshis": "10000", "sendflag": 1, "duplicates": 20}),
        )
    };
    assert_eq!(split("KMD")["error"], "need to unlock wallet");
    iguana.call(addcoin("KMD", &kmd.datadir.join("komodo.conf")));
    iguana.unlock(PASSPHRASE);
    assert_eq!(split("BEER")["error"], "need active coin");
    let reply = split("KMD");
    assert_eq!(reply["completed"], true, "{reply}");
    assert_eq!(reply["txid"].as_str().unwrap().len(), 64);
}
