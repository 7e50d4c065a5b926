//! `dokomodo run`: render, then the daemon started exactly as komodod and
//! iguana expect, with no secret in its argv or environment.

mod common;
use common::{NOTARY_YAML, Run, SEED};
use std::os::unix::fs::{MetadataExt, PermissionsExt};

/// A stand-in daemon that records how it was started, then exits with $1
/// taken from its environment (FAKE_STATUS, default 0).
fn fake_daemon(run: &Run, name: &str) -> String {
    let path = run.dir.path().join(name);
    let report = run.dir.path().join(format!("{name}.report"));
    std::fs::write(
        &path,
        format!(
            "#!/bin/sh\n\
             {{ echo \"uid=$(id -u) gid=$(id -g) cwd=$(pwd) HOME=$HOME\"; \
             tr '\\0' ' ' < /proc/$$/cmdline; echo; tr '\\0' '\\n' < /proc/$$/environ; }} > {report}\n\
             exit ${{FAKE_STATUS:-0}}\n",
            report = report.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path.display().to_string()
}

fn report(run: &Run, name: &str) -> String {
    std::fs::read_to_string(run.dir.path().join(format!("{name}.report"))).unwrap_or_default()
}

#[test]
fn komodod_is_started_with_its_identity_and_seeds_and_no_secret() {
    let run = Run::new(NOTARY_YAML).seed();
    let komodod = fake_daemon(&run, "komodod");
    let run = run.env("DOKOMODO_KOMODOD", &komodod).args(&[
        "run",
        "komodod",
        "--chain",
        "PIZZA",
        "--",
        "-printtoconsole",
    ]);
    run.status(0);
    let report = report(&run, "komodod");
    let lines: Vec<&str> = report.lines().collect();
    assert_eq!(
        lines[0],
        format!("uid=0 gid=0 cwd={h} HOME={h}", h = run.home().display())
    );
    assert_eq!(
        lines[1].trim_end(),
        format!(
            "/bin/sh {komodod} -ac_name=PIZZA -ac_supply=100000000 -addnode=24.54.206.138 -addnode=78.47.196.146 -printtoconsole"
        )
    );
    assert!(
        !report.contains(SEED),
        "the seed reached the daemon:\n{report}"
    );
    assert!(!report.contains("DOKOMODO_SEED"), "{report}");
    assert!(run.home().join(".komodo/PIZZA/PIZZA.conf").is_file());
}

#[test]
fn seed_file_variable_is_not_passed_on_either() {
    let run = Run::new(NOTARY_YAML);
    let seed = run.dir.write("seed", SEED);
    let komodod = fake_daemon(&run, "komodod");
    let run = run
        .env("DOKOMODO_SEED_FILE", seed.to_str().unwrap())
        .env("DOKOMODO_KOMODOD", &komodod)
        .args(&["run", "komodod", "--chain", "KMD"]);
    run.status(0);
    let report = report(&run, "komodod");
    assert!(
        !report.contains("DOKOMODO_SEED_FILE") && !report.contains(SEED),
        "{report}"
    );
    // KMD: no -ac_* at all.
    assert!(
        report
            .lines()
            .nth(1)
            .unwrap()
            .trim_end()
            .ends_with("/komodod -addnode=78.47.196.146"),
        "{report}"
    );
}

#[test]
fn daemon_exit_status_is_passed_on() {
    let run = Run::new(NOTARY_YAML).seed();
    let komodod = fake_daemon(&run, "komodod");
    let run = run
        .env("DOKOMODO_KOMODOD", &komodod)
        .env("FAKE_STATUS", "42")
        .args(&["run", "komodod", "--chain", "BEER"]);
    run.status(42);
}

#[test]
fn bad_config_starts_nothing() {
    let run = Run::new("rpc: {allow: [10.0.0.0/8]}\nchains:\n  BEER:\n    ac_supply: 100000000\n    ac_staked: lots\n").seed();
    let komodod = fake_daemon(&run, "komodod");
    let run = run
        .env("DOKOMODO_KOMODOD", &komodod)
        .args(&["run", "komodod", "--chain", "BEER"]);
    let (_, stderr) = run.status(78);
    assert!(
        stderr.contains("notary.yaml:5:16: chains.BEER.ac_staked"),
        "{stderr}"
    );
    assert_eq!(report(&run, "komodod"), "", "the daemon must not start");
    assert_eq!(
        std::fs::read_dir(run.home()).unwrap().count(),
        0,
        "nothing written"
    );
}

#[test]
fn missing_seed_starts_nothing() {
    let run = Run::new(NOTARY_YAML);
    let komodod = fake_daemon(&run, "komodod");
    let missing = run.dir.path().join("no-seed");
    let run = run
        .env("DOKOMODO_SEED_FILE", missing.to_str().unwrap())
        .env("DOKOMODO_KOMODOD", &komodod)
        .args(&["run", "komodod", "--chain", "BEER"]);
    run.status(78);
    assert_eq!(report(&run, "komodod"), "");
}

#[test]
fn missing_daemon_is_127() {
    let run = Run::new(NOTARY_YAML)
        .seed()
        .env("DOKOMODO_KOMODOD", "/nonexistent/komodod")
        .args(&["run", "komodod", "--chain", "BEER"]);
    let (_, stderr) = run.status(127);
    assert!(stderr.contains("/nonexistent/komodod"), "{stderr}");
}

#[test]
fn iguana_runs_in_its_working_directory_with_the_elected_file() {
    let yaml = format!("iguana: {{elected_file: elected.json}}\n{NOTARY_YAML}");
    let run = Run::new(&yaml).seed();
    run.dir.write("elected.json", ELECTED);
    let iguana = fake_daemon(&run, "iguana");
    let run = run
        .env("DOKOMODO_IGUANA", &iguana)
        .env("DOKOMODO_MYIPADDR", "203.0.113.7")
        .args(&["run", "iguana"]);
    run.status(0);
    assert_eq!(
        std::fs::read_to_string(run.home().join("iguana/elected")).unwrap(),
        ELECTED,
        "the elected file, where `iguana notary` reads it"
    );
    let report = report(&run, "iguana");
    let home = run.home();
    assert!(
        report.starts_with(&format!(
            "uid=0 gid=0 cwd={}/iguana HOME={}",
            home.display(),
            home.display()
        )),
        "{report}"
    );
    assert_eq!(
        report.lines().nth(1).unwrap().trim_end(),
        format!("/bin/sh {iguana} notary")
    );
    for chain in ["KMD", "BEER", "PIZZA"] {
        assert!(
            home.join(format!("iguana/addcoin/{chain}.json")).is_file(),
            "{chain}"
        );
    }
}

/// Eight seeds, as iguana needs them.
const ELECTED: &str = r#"{"port":13848,"seeds":["192.0.2.1","192.0.2.2","192.0.2.3","192.0.2.4","192.0.2.5","192.0.2.6","192.0.2.7","192.0.2.8"],"notaries":[]}"#;

/// Without a public address iguana would never bind its dPoW bus: it is not
/// started (exit 78), and the message says how to set one.
#[test]
fn iguana_without_its_public_address_is_not_started() {
    let yaml = format!("iguana: {{elected_file: elected.json}}\n{NOTARY_YAML}");
    let run = Run::new(&yaml).seed();
    run.dir.write("elected.json", ELECTED);
    let iguana = fake_daemon(&run, "iguana");
    let run = run
        .env("DOKOMODO_IGUANA", &iguana)
        .env("DOKOMODO_MYIPADDR", "my.host.example")
        .args(&["run", "iguana"]);
    let (_, stderr) = run.status(78);
    assert!(
        stderr.ends_with(
            "dokomodo: error: DOKOMODO_MYIPADDR `my.host.example` is not an IPv4 address\n"
        ),
        "{stderr}"
    );
    assert_eq!(report(&run, "iguana"), "", "iguana never started");
}

fn passwd_entry(name: &str) -> Option<(u32, u32, String)> {
    let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
    passwd.lines().find_map(|l| {
        let f: Vec<&str> = l.split(':').collect();
        (f.first() == Some(&name)).then(|| {
            (
                f[2].parse().unwrap(),
                f[3].parse().unwrap(),
                f[5].to_owned(),
            )
        })
    })
}

#[test]
fn root_drops_to_the_configured_user_and_hands_over_the_files() {
    assert_eq!(libc_geteuid(), 0, "this test runs as root (as CI does)");
    let (uid, gid, _) = passwd_entry("nobody").expect("nobody exists");
    let run = Run::new(NOTARY_YAML).seed();
    let komodod = fake_daemon(&run, "komodod");
    std::fs::set_permissions(run.dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let home = run.home();
    let run = run
        .env("DOKOMODO_KOMODOD", &komodod)
        .env("DOKOMODO_USER", "nobody")
        .args(&[
            "run",
            "komodod",
            "--chain",
            "BEER",
            "--home",
            home.to_str().unwrap(),
        ]);
    // The report file is written by the dropped user into a world-writable place.
    std::fs::set_permissions(run.dir.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
    run.status(0);
    let report = report(&run, "komodod");
    assert!(
        report.starts_with(&format!("uid={uid} gid={gid} ")),
        "{report}"
    );
    for path in [".komodo", ".komodo/BEER", ".komodo/BEER/BEER.conf"] {
        let meta = std::fs::metadata(home.join(path)).unwrap();
        assert_eq!((meta.uid(), meta.gid()), (uid, gid), "{path}");
    }
}

#[test]
fn unknown_user_is_a_config_error_and_starts_nothing() {
    let run = Run::new(NOTARY_YAML).seed();
    let komodod = fake_daemon(&run, "komodod");
    let run = run
        .env("DOKOMODO_KOMODOD", &komodod)
        .env("DOKOMODO_USER", "no-such-user-here")
        .args(&["run", "komodod", "--chain", "BEER"]);
    let (_, stderr) = run.status(78);
    assert!(
        stderr.contains("unknown user `no-such-user-here`"),
        "{stderr}"
    );
    assert_eq!(report(&run, "komodod"), "");
}

// Declared safe: geteuid takes nothing and cannot fail.
unsafe extern "C" {
    #[link_name = "geteuid"]
    safe fn libc_geteuid() -> u32;
}

/// Reads a live process's NUL-separated /proc file.
fn proc_strings(pid: u32, file: &str) -> Vec<String> {
    let bytes = std::fs::read(format!("/proc/{pid}/{file}"))
        .unwrap_or_else(|e| panic!("/proc/{pid}/{file}: {e}"));
    bytes
        .split(|&b| b == 0)
        .filter(|s| !s.is_empty())
        .map(|s| String::from_utf8_lossy(s).into_owned())
        .collect()
}

#[test]
fn the_running_daemon_shows_no_secret_in_its_cmdline_or_environ_from_outside() {
    assert_eq!(libc_geteuid(), 0, "this test runs as root (as CI does)");
    let (uid, _, _) = passwd_entry("nobody").expect("nobody exists");
    let run = Run::new(NOTARY_YAML).seed();
    let pidfile = run.dir.path().join("daemon.pid");
    let komodod = run.dir.path().join("komodod");
    // Writes its pid, then stays up until the init stops it.
    std::fs::write(
        &komodod,
        format!(
            "#!/bin/sh\necho $$ > {}\nwhile :; do sleep 0.05; done\n",
            pidfile.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&komodod, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::set_permissions(run.dir.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
    let home = run.home();
    let run = run
        .env("DOKOMODO_KOMODOD", komodod.to_str().unwrap())
        .env("DOKOMODO_USER", "nobody")
        .env("DOKOMODO_GRACE", "5")
        .args(&[
            "run",
            "komodod",
            "--chain",
            "BEER",
            "--home",
            home.to_str().unwrap(),
        ]);
    let mut init = run
        .command()
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let started = std::time::Instant::now();
    let pid: u32 = loop {
        if let Some(pid) = std::fs::read_to_string(&pidfile)
            .ok()
            .and_then(|s| s.trim().parse().ok())
        {
            break pid;
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(20),
            "the daemon never started"
        );
        assert!(
            init.try_wait().unwrap().is_none(),
            "dokomodo exited before the daemon started"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    };

    let cmdline = proc_strings(pid, "cmdline");
    let environ = proc_strings(pid, "environ");
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let password = std::fs::read_to_string(home.join(".komodo/BEER/BEER.conf")).unwrap();
    let password = password
        .lines()
        .find_map(|l| l.strip_prefix("rpcpassword="))
        .unwrap()
        .to_owned();
    let _ = libc_kill(init.id() as i32, 15);
    let _ = init.wait();

    assert_eq!(
        cmdline[1..3],
        [komodod.display().to_string(), "-ac_name=BEER".to_owned()],
        "{cmdline:?}"
    );
    for text in cmdline.iter().chain(&environ) {
        assert!(!text.contains(SEED), "the seed is visible: {text}");
        assert!(
            !text.contains(&password),
            "an RPC password is visible: {text}"
        );
        assert!(!text.starts_with("DOKOMODO_SEED"), "{text}");
    }
    assert!(
        environ.contains(&format!("HOME={}", home.display())),
        "{environ:?}"
    );
    let uids = status.lines().find(|l| l.starts_with("Uid:")).unwrap();
    assert!(
        uids.split_whitespace()
            .skip(1)
            .all(|u| u == uid.to_string()),
        "real, effective, saved uid all dropped: {uids}"
    );
}

// Declared safe: kill takes no pointers and touches no memory of ours.
unsafe extern "C" {
    #[link_name = "kill"]
    safe fn libc_kill(pid: i32, sig: i32) -> i32;
}

#[test]
fn extra_komodod_flags_follow_the_managed_ones() {
    let yaml = format!(
        "{NOTARY_YAML}  THC:\n    ac_supply: 251253103\n    host: 127.0.0.1\n    args: [-earlytxid=7e4a76, -addressindex=1]\n"
    );
    let run = Run::new(&yaml).seed();
    let komodod = fake_daemon(&run, "komodod");
    let run = run.env("DOKOMODO_KOMODOD", &komodod).args(&[
        "run",
        "komodod",
        "--chain",
        "THC",
        "--",
        "-printtoconsole",
    ]);
    run.status(0);
    let report = report(&run, "komodod");
    assert_eq!(
        report.lines().nth(1).unwrap().trim_end(),
        format!(
            "/bin/sh {komodod} -ac_name=THC -ac_supply=251253103 -addnode=78.47.196.146 -earlytxid=7e4a76 -addressindex=1 -printtoconsole"
        )
    );
}

/// `run komodod --chain BEER -- EXTRA` is refused with exit 78 and MESSAGE,
/// nothing written and nothing started.
fn extra_refused(extra: &[&str], message: &str) {
    let run = Run::new(NOTARY_YAML).seed();
    let komodod = fake_daemon(&run, "komodod");
    let mut args = vec!["run", "komodod", "--chain", "BEER", "--"];
    args.extend(extra);
    let run = run.env("DOKOMODO_KOMODOD", &komodod).args(&args);
    run.fails(
        78,
        &format!("dokomodo: error: DIR/notary.yaml: chains.BEER: {message}\n"),
    );
    assert_eq!(report(&run, "komodod"), "", "komodod was started");
    assert_eq!(
        std::fs::read_dir(run.home()).unwrap().count(),
        0,
        "HOME must stay empty"
    );
}

const RPC_INSTEAD: &str =
    "use `rpc.allow` or `rpc_port_override` (RPC settings go in the conf, never on a command line)";
const DAEMON_INSTEAD: &str =
    "use nothing: dokomodo writes the conf and runs komodod in the foreground";

#[test]
fn extra_rpc_password_is_refused() {
    extra_refused(
        &["-printtoconsole", "-rpcpassword=x"],
        &format!(
            "the argument `-rpcpassword=x` after `--` is refused: -rpcpassword is managed by dokomodo; {RPC_INSTEAD}"
        ),
    );
}

#[test]
fn extra_negated_rpc_password_is_refused() {
    extra_refused(
        &["-norpcpassword"],
        &format!(
            "the argument `-norpcpassword` after `--` is refused: `-norpcpassword` means -rpcpassword=0 to komodod, and -rpcpassword is managed by dokomodo; {RPC_INSTEAD}"
        ),
    );
}

#[test]
fn extra_identity_flag_is_refused() {
    extra_refused(
        &["-ac_supply=5"],
        "the argument `-ac_supply=5` after `--` is refused: -ac_supply is managed by dokomodo; use its own key under the chain (it is part of the chain's identity)",
    );
}

#[test]
fn extra_daemon_is_refused_in_every_spelling() {
    extra_refused(
        &["-daemon"],
        &format!(
            "the argument `-daemon` after `--` is refused: -daemon is managed by dokomodo; {DAEMON_INSTEAD}"
        ),
    );
    extra_refused(
        &["-nodaemon=0"],
        &format!(
            "the argument `-nodaemon=0` after `--` is refused: `-nodaemon=0` means -daemon=1 to komodod, and -daemon is managed by dokomodo; {DAEMON_INSTEAD}"
        ),
    );
    extra_refused(
        &["--daemon=1"],
        &format!(
            "the argument `--daemon=1` after `--` is refused: `--daemon=1` means -daemon=1 to komodod, and -daemon is managed by dokomodo; {DAEMON_INSTEAD}"
        ),
    );
}

#[test]
fn extra_argument_komodod_would_stop_at_is_refused() {
    extra_refused(
        &["printtoconsole"],
        "the argument `printtoconsole` after `--` is refused: `printtoconsole` is not a komodod flag (-name or -name=value)",
    );
}

#[test]
fn extra_stakednotary_with_the_yamls_pubkey_is_refused() {
    let yaml = format!(
        "pubkey: 02a854251adfee222bede8396fed0756985d4ea905f72611740867c7a4ad6488c1\n{NOTARY_YAML}"
    );
    let run = Run::new(&yaml).seed();
    let komodod = fake_daemon(&run, "komodod");
    let run = run.env("DOKOMODO_KOMODOD", &komodod).args(&[
        "run",
        "komodod",
        "--chain",
        "KMD",
        "--",
        "-stakednotary=1",
    ]);
    run.fails(
        78,
        "dokomodo: error: DIR/notary.yaml: chains.KMD: the argument `-stakednotary=1` after `--` is refused: -stakednotary cannot go with a notary pubkey (the YAML's `pubkey`) or -notary: komodod refuses to start (\"Cannot be STAKED and KMD notary at the same time!\")\n",
    );
    assert_eq!(report(&run, "komodod"), "");
}

#[test]
fn harmless_extra_flags_pass() {
    let run = Run::new(NOTARY_YAML).seed();
    let komodod = fake_daemon(&run, "komodod");
    let run = run.env("DOKOMODO_KOMODOD", &komodod).args(&[
        "run",
        "komodod",
        "--chain",
        "BEER",
        "--",
        "-printtoconsole",
        "--debug=net",
        "-nolisten",
    ]);
    run.status(0);
    assert!(
        report(&run, "komodod").contains(" -printtoconsole --debug=net -nolisten"),
        "{}",
        report(&run, "komodod")
    );
}
