//! iguana stand-in: `iguana-standin notary` (RPC 127.0.0.1:7776) or
//! `iguana-standin 3rd_party` (7779), run from iguana's working directory.
//!
//! It accepts the operators' start sequence (myipaddr, addnotary, addcoin,
//! walletpassphrase, dpow) and records every call in `<workdir>/calls.log`,
//! the passphrase only as `<redacted len=N>`. For `addcoin` it does what
//! iguana does: reads `/<path>/<conf>` with iguana's substring matcher, then
//! calls `getinfo` on the daemon (`rpchost` and `userpass` win over the conf),
//! and records `addcoin NAME ok` or `addcoin NAME failed: reason`.
//!
//! Like iguana it installs no signal handlers: SIGTERM ends it at once.
//!
//! Environment (tests only):
//! - `STANDIN_IGUANA_PORT`: listen on this port instead of 7776/7779.
//! - `STANDIN_ADDCOIN_DIR=DIR`: at start, POST every `DIR/*.json` addcoin file
//!   to itself and write `<workdir>/addcoin-report.txt`, one line per coin.
//! - `STANDIN_ADDCOIN_RETRY_SECS` (default 60): how long a failing coin is
//!   retried in that mode (the daemons may still be starting).

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use dokomodo_standins::conf;
use dokomodo_standins::http::{self, Request, Response};
use dokomodo_standins::log::Log;
use serde_json::{Map, Value, json};

const RPC_TIMEOUT: Duration = Duration::from_secs(5);
const REPORT: &str = "addcoin-report.txt";

struct Iguana {
    calls: Mutex<File>,
    log: Log,
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(msg) => {
            eprintln!("iguana-standin: {msg}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), String> {
    let role = std::env::args().nth(1).unwrap_or_default();
    let default_port = match role.as_str() {
        "notary" => 7776,
        "3rd_party" => 7779,
        other => {
            return Err(format!(
                "unknown role {other:?}: expected notary or 3rd_party"
            ));
        }
    };
    let port = match std::env::var("STANDIN_IGUANA_PORT") {
        Ok(p) => p
            .parse::<u16>()
            .map_err(|_| format!("STANDIN_IGUANA_PORT={p:?} is not a port"))?,
        Err(_) => default_port,
    };
    let workdir = std::env::current_dir().map_err(|e| format!("no working directory: {e}"))?;
    let calls_path = workdir.join("calls.log");
    let calls = OpenOptions::new()
        .create(true)
        .append(true)
        .open(&calls_path)
        .map_err(|e| format!("cannot open {}: {e}", calls_path.display()))?;
    let iguana = Arc::new(Iguana {
        calls: Mutex::new(calls),
        log: Log::new(&format!("iguana-standin {role}")),
    });

    // iguana's RPC listens on loopback only and has no authentication.
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let listener = TcpListener::bind(addr).map_err(|e| format!("cannot bind {addr}: {e}"))?;
    iguana.log.line(&format!(
        "RPC listening on {addr}, workdir {}",
        workdir.display()
    ));

    if let Some(dir) = std::env::var_os("STANDIN_ADDCOIN_DIR") {
        let retry = std::env::var("STANDIN_ADDCOIN_RETRY_SECS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(60);
        let log = Log::new("iguana-standin addcoin-dir");
        let report = workdir.join(REPORT);
        std::thread::spawn(move || {
            addcoin_dir(
                Path::new(&dir),
                port,
                Duration::from_secs(retry),
                &report,
                &log,
            )
        });
    }

    let server = Arc::clone(&iguana);
    http::serve(
        listener,
        Arc::new(move |req: &Request, _peer: SocketAddr| server.handle(req)),
    );
    Ok(())
}

impl Iguana {
    fn handle(&self, req: &Request) -> Response {
        let call: Value = match serde_json::from_slice(&req.body) {
            Ok(Value::Object(m)) => Value::Object(m),
            _ => return Response::json(200, &json!({"error": "couldnt parse JSON object"})),
        };
        let method = call
            .get("method")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        let reply = match method.as_str() {
            "addcoin" => self.addcoin(&call),
            "myipaddr" | "addnotary" | "walletpassphrase" | "dpow" => {
                self.record(&describe(&method, &call));
                json!({"result": "success"})
            }
            _ => {
                self.record(&format!("unknown method {method:?}"));
                json!({"error": format!("unknown method {method:?}")})
            }
        };
        Response::json(200, &reply)
    }

    fn record(&self, line: &str) {
        self.log.line(line);
        if let Ok(mut f) = self.calls.lock() {
            // The stderr copy above survives a failed write.
            let _ = writeln!(f, "{line}");
        }
    }

    fn addcoin(&self, call: &Value) -> Value {
        let name = ["newcoin", "coin", "name"]
            .iter()
            .find_map(|k| call.get(*k).and_then(Value::as_str))
            .unwrap_or("?")
            .to_string();
        match connect_coin(&name, call) {
            Ok(host) => {
                self.record(&format!("addcoin {name} ok"));
                json!({"result": "coin added", "coin": name, "rpchost": host})
            }
            Err(reason) => {
                self.record(&format!("addcoin {name} failed: {reason}"));
                json!({"error": reason, "coin": name})
            }
        }
    }
}

fn is_secret_key(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    k.contains("passphrase") || k.contains("password") || k.contains("userpass") || k == "wif"
}

/// `METHOD key=value ...`, every secret replaced by its length only.
fn describe(method: &str, call: &Value) -> String {
    let mut line = method.to_string();
    if let Some(obj) = call.as_object() {
        let mut keys: Vec<&String> = obj
            .keys()
            .filter(|k| *k != "method" && *k != "agent")
            .collect();
        keys.sort();
        for k in keys {
            let v = &obj[k];
            let shown = match v {
                // The operators' form: {"method":"walletpassphrase","params":[PASS, TIMEOUT]}.
                Value::Array(params) if method == "walletpassphrase" && k == "params" => {
                    let shown: Vec<String> = params
                        .iter()
                        .enumerate()
                        .map(|(i, p)| match (i, p) {
                            (0, Value::String(s)) => format!("<redacted len={}>", s.len()),
                            (0, _) => "<redacted>".to_string(),
                            (_, other) => other.to_string(),
                        })
                        .collect();
                    format!("[{}]", shown.join(","))
                }
                Value::String(s) if is_secret_key(k) => format!("<redacted len={}>", s.len()),
                _ if is_secret_key(k) => "<redacted>".to_string(),
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            line.push_str(&format!(" {k}={shown}"));
        }
    }
    line
}

/// What iguana does for one coin: find host and credentials, then getinfo.
/// Ok(host) when the daemon answered as the named chain.
fn connect_coin(name: &str, call: &Value) -> Result<String, String> {
    let text = |k: &str| {
        call.get(k)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
    };
    let mut conf_problem = None;
    let found = match (text("path"), text("conf")) {
        (Some(path), Some(conf_name)) => {
            let file = PathBuf::from(format!("/{path}/{conf_name}"));
            match std::fs::read(&file) {
                Ok(bytes) => conf::quirky_credentials(&bytes),
                Err(e) => {
                    conf_problem = Some(format!("cannot read {}: {e}", file.display()));
                    Default::default()
                }
            }
        }
        _ => {
            conf_problem = Some("no path/conf in the addcoin call".to_string());
            Default::default()
        }
    };
    let explain = |what: &str| match &conf_problem {
        Some(p) => format!("{what} ({p})"),
        None => what.to_string(),
    };
    // A userpass or rpchost in the call wins over the conf, as in iguana.
    let userpass = match text("userpass") {
        Some(up) => up.to_string(),
        None => found
            .userpass()
            .ok_or_else(|| explain("no rpcuser/rpcpassword"))?,
    };
    let host = match text("rpchost") {
        Some(h) => h.to_string(),
        None => format!(
            "127.0.0.1:{}",
            found
                .rpcport
                .as_deref()
                .ok_or_else(|| explain("no rpcport"))?
        ),
    };
    let body =
        json!({"jsonrpc": "1.0", "id": "iguana", "method": "getinfo", "params": []}).to_string();
    let (status, reply) = http::post(&host, "/", Some(&userpass), body.as_bytes(), RPC_TIMEOUT)
        .map_err(|e| format!("cannot reach {host}: {e}"))?;
    match status {
        200 => {}
        401 => return Err(format!("HTTP 401 from {host}: rpcuser/rpcpassword refused")),
        403 => {
            return Err(format!(
                "HTTP 403 from {host}: not in the daemon's rpcallowip"
            ));
        }
        other => return Err(format!("HTTP {other} from {host}")),
    }
    let reply: Value =
        serde_json::from_slice(&reply).map_err(|e| format!("{host} sent bad JSON: {e}"))?;
    let chain = reply
        .pointer("/result/name")
        .and_then(Value::as_str)
        .unwrap_or("?");
    if chain != name {
        return Err(format!("{host} is chain {chain}, not {name}"));
    }
    Ok(host)
}

/// The test mode: feed every addcoin file to ourselves, like an operator's
/// start script would, and sum up per coin.
fn addcoin_dir(dir: &Path, port: u16, retry: Duration, report: &Path, log: &Log) {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "json"))
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    let mut lines = Vec::new();
    if files.is_empty() {
        lines.push(format!("none: no *.json addcoin file in {}", dir.display()));
    }
    for file in &files {
        let stem = file
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let line = match addcoin_file(file, port, retry) {
            Ok(name) => format!("{name} ok"),
            Err((name, reason)) => format!("{} failed: {reason}", name.unwrap_or(stem)),
        };
        log.line(&format!("report: {line}"));
        lines.push(line);
    }
    let tmp = report.with_extension("tmp");
    let written =
        std::fs::write(&tmp, lines.join("\n") + "\n").and_then(|()| std::fs::rename(&tmp, report));
    match written {
        Ok(()) => log.line(&format!("wrote {}", report.display())),
        Err(e) => log.line(&format!("cannot write {}: {e}", report.display())),
    }
}

fn addcoin_file(
    file: &Path,
    port: u16,
    retry: Duration,
) -> Result<String, (Option<String>, String)> {
    let bytes =
        std::fs::read(file).map_err(|e| (None, format!("cannot read {}: {e}", file.display())))?;
    let mut call: Map<String, Value> = serde_json::from_slice(&bytes).map_err(|e| {
        (
            None,
            format!("{} is not a JSON object: {e}", file.display()),
        )
    })?;
    call.entry("agent").or_insert_with(|| json!("iguana"));
    call.entry("method").or_insert_with(|| json!("addcoin"));
    let body = Value::Object(call).to_string();
    let deadline = Instant::now() + retry;
    loop {
        let outcome = http::post(
            &format!("127.0.0.1:{port}"),
            "/",
            None,
            body.as_bytes(),
            RPC_TIMEOUT * 2,
        )
        .map_err(|e| (None, format!("iguana-standin itself unreachable: {e}")))
        .and_then(|(_, reply)| {
            let reply: Value = serde_json::from_slice(&reply).map_err(|e| (None, e.to_string()))?;
            let name = reply
                .get("coin")
                .and_then(Value::as_str)
                .map(str::to_string);
            match reply.get("error").and_then(Value::as_str) {
                None => Ok(name.unwrap_or_default()),
                Some(reason) => Err((name, reason.to_string())),
            }
        });
        if outcome.is_ok() || Instant::now() >= deadline {
            return outcome;
        }
        std::thread::sleep(Duration::from_secs(2));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn describe_redacts_secrets_and_keeps_the_rest() {
        let call = json!({"agent": "bitcoinrpc", "method": "walletpassphrase",
                          "passphrase": "correct horse", "timeout": 2592000});
        assert_eq!(
            describe("walletpassphrase", &call),
            "walletpassphrase passphrase=<redacted len=13> timeout=2592000"
        );
        let call = json!({"method": "walletpassphrase", "params": ["correct horse", 9999999]});
        assert_eq!(
            describe("walletpassphrase", &call),
            "walletpassphrase params=[<redacted len=13>,9999999]"
        );
    }
}
