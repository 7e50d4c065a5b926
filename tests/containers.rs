//! The shipped Dockerfiles and compose.yaml, run for real with stand-in
//! daemons (docker/standins): build offline, bring the stack up, check that
//! iguana authenticated to every chain with the files dokomodo rendered in its
//! own container, stop it, check every komodod stopped cleanly and no secret
//! reached a log. Needs a Docker engine and `docker compose` v2 (`.ci/run`
//! installs it); there is no registry, so nothing here pulls an image.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

mod common;
use common::TempDir;

const PROJECT: &str = "dokomodo-test";
const ROOT: &str = env!("CARGO_MANIFEST_DIR");
const RELEASE: &str = "target/x86_64-unknown-linux-gnu/release";
/// examples/notary.yaml, in the order of iguana's addcoin files (sorted).
const CHAINS: [(&str, &str, &str); 3] = [
    ("BEER", "beer", ".komodo/BEER/BEER.conf"),
    ("KMD", "kmd", ".komodo/komodo.conf"),
    ("PIZZA", "pizza", ".komodo/PIZZA/PIZZA.conf"),
];
const HOME: &str = "/home/komodo";
const SEED: &str = "container-test-seed-not-a-real-one";
/// The uid the images run as (Dockerfile.komodod, Dockerfile.iguana).
const IMAGE_UID: u32 = 10001;

fn run(cmd: &mut Command) -> Output {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed ({}):\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// The compose project with the test override; taken down (volumes too) on drop.
struct Stack {
    seed_dir: TempDir,
}

impl Stack {
    fn new() -> Stack {
        let seed_dir = TempDir::new("containers-seed");
        let seed = seed_dir.write("dokomodo_seed", format!("{SEED}\n"));
        // As compose.yaml tells operators: the secret file keeps its host
        // owner and mode in the container, so it belongs to the image's uid.
        if std::os::unix::fs::chown(&seed, Some(IMAGE_UID), None).is_err() {
            // Not root: readable by all, inside a directory only we can enter.
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&seed, std::fs::Permissions::from_mode(0o644)).unwrap();
            std::fs::set_permissions(seed_dir.path(), std::fs::Permissions::from_mode(0o700))
                .unwrap();
        }
        let stack = Stack { seed_dir };
        // A run killed half-way leaves containers, volumes and the fixed subnet.
        let _ = stack
            .compose(&["down", "--volumes", "--remove-orphans", "--timeout", "5"])
            .output();
        stack
    }

    fn compose(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new("docker");
        cmd.current_dir(ROOT)
            .args([
                "compose",
                "-p",
                PROJECT,
                "-f",
                "compose.yaml",
                "-f",
                "docker/compose.test.yaml",
            ])
            .args(args)
            // No buildx here: the classic builder, which never pulls the Rust
            // image for the `prebuilt` target (see Dockerfile.komodod).
            .env("DOCKER_BUILDKIT", "0")
            .env(
                "DOKOMODO_SEED_SECRET_FILE",
                self.seed_dir.path().join("dokomodo_seed"),
            );
        cmd
    }

    fn logs(&self) -> String {
        let out = self
            .compose(&["logs", "--no-color", "--timestamps"])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr)
    }

    /// One file from a service's container (running or stopped), with the
    /// owner and mode it has there.
    fn file(&self, service: &str, path: &str) -> Option<TarFile> {
        let out = self
            .compose(&["cp", &format!("{service}:{path}"), "-"])
            .output()
            .ok()?;
        if !out.status.success() {
            return None;
        }
        TarFile::first(&out.stdout)
    }

    fn fail(&self, msg: &str) -> ! {
        panic!("{msg}\n--- docker compose logs ---\n{}", self.logs());
    }
}

impl Drop for Stack {
    fn drop(&mut self) {
        let _ = self
            .compose(&["down", "--volumes", "--remove-orphans", "--timeout", "30"])
            .output();
    }
}

/// The first member of a tar stream (what `docker cp ... -` writes).
struct TarFile {
    mode: u32,
    uid: u32,
    gid: u32,
    contents: Vec<u8>,
}

impl TarFile {
    fn first(tar: &[u8]) -> Option<TarFile> {
        let octal = |field: &[u8]| {
            let s = String::from_utf8_lossy(field);
            u64::from_str_radix(s.trim_matches(|c: char| c == '\0' || c == ' '), 8).ok()
        };
        let header = tar.get(..512)?;
        let size = octal(&header[124..136])? as usize;
        Some(TarFile {
            mode: octal(&header[100..108])? as u32 & 0o7777,
            uid: octal(&header[108..116])? as u32,
            gid: octal(&header[116..124])? as u32,
            contents: tar.get(512..512 + size)?.to_vec(),
        })
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.contents).into_owned()
    }
}

/// The host-built binaries the images take: dokomodo (`prebuilt` target)
/// and the stand-ins (their images).
fn build_binaries() {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    run(Command::new(cargo).current_dir(ROOT).args([
        "build",
        "--release",
        "-p",
        "dokomodo",
        "-p",
        "dokomodo-standins",
    ]));
}

/// dokomodo-test/komodod-standin and dokomodo-test/iguana-standin: FROM
/// scratch, the stand-in where the real image has the daemon.
fn build_standin_images() {
    let context = TempDir::new("standin-images");
    let release = Path::new(ROOT).join(RELEASE);
    for daemon in ["komodod", "iguana"] {
        let binary = format!("{daemon}-standin");
        std::fs::copy(release.join(&binary), context.path().join(&binary)).unwrap();
    }
    std::fs::copy(
        Path::new(ROOT).join("docker/standins/Dockerfile"),
        context.path().join("Dockerfile"),
    )
    .unwrap();
    for daemon in ["komodod", "iguana"] {
        run(Command::new("docker")
            .env("DOCKER_BUILDKIT", "0")
            .args([
                "build",
                "--quiet",
                "--build-arg",
                &format!("DAEMON={daemon}"),
            ])
            .args(["-t", &format!("dokomodo-test/{daemon}-standin:latest")])
            .arg(context.path()));
    }
}

/// What `dokomodo creds` derives for a chain: these must never be logged.
fn password(seed_file: &Path, chain: &str) -> String {
    let out = run(Command::new(env!("CARGO_BIN_EXE_dokomodo"))
        .args(["--config", "examples/notary.yaml", "creds", chain])
        .current_dir(ROOT)
        .env("DOKOMODO_SEED_FILE", seed_file));
    let text = String::from_utf8(out.stdout).unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix("rpcpassword="))
        .expect("creds prints rpcpassword")
        .to_owned()
}

#[test]
fn the_compose_stack_authenticates_iguana_to_every_chain_and_stops_cleanly() {
    build_binaries();
    build_standin_images();
    let stack = Stack::new();
    run(&mut stack.compose(&["build", "--quiet"]));
    run(&mut stack.compose(&["up", "--detach"]));

    // The stand-in iguana feeds itself every addcoin file dokomodo rendered
    // (retrying while the daemons start) and writes one line per coin.
    let report_path = format!("{HOME}/iguana/addcoin-report.txt");
    let deadline = Instant::now() + Duration::from_secs(240);
    let report = loop {
        if let Some(f) = stack.file("iguana", &report_path) {
            break f.text();
        }
        if Instant::now() > deadline {
            stack.fail("no addcoin report from iguana within 240 s");
        }
        std::thread::sleep(Duration::from_secs(1));
    };
    let expected: Vec<String> = CHAINS
        .iter()
        .map(|(name, _, _)| format!("{name} ok"))
        .collect();
    if report.lines().collect::<Vec<_>>() != expected {
        stack.fail(&format!(
            "iguana did not authenticate to every chain:\n{report}"
        ));
    }

    // Each chain's conf, rendered separately in its komodod container and in
    // iguana's: byte-identical, owned by the image's user and group 0, and
    // 0660 (src/files.rs: a non-root uid in group 0 shares with group 0 only,
    // for OpenShift's random uids), nothing for others.
    for (name, service, conf) in CHAINS {
        let path = format!("{HOME}/{conf}");
        let (Some(daemon), Some(iguana)) =
            (stack.file(service, &path), stack.file("iguana", &path))
        else {
            stack.fail(&format!("{path} missing in {service} or iguana"));
        };
        assert_eq!(
            daemon.text(),
            iguana.text(),
            "{name}: iguana's copy differs from the daemon's"
        );
        assert_eq!(
            (daemon.uid, daemon.gid, daemon.mode),
            (IMAGE_UID, 0, 0o660),
            "{name}'s conf in {service}"
        );
    }

    // docker compose stop: SIGTERM to dokomodo (PID 1), forwarded to komodod,
    // which flushes and leaves its marker; well inside the grace period.
    let started = Instant::now();
    run(&mut stack.compose(&["stop"]));
    assert!(
        started.elapsed() < Duration::from_secs(120),
        "stop took {:?}",
        started.elapsed()
    );
    for (name, service, conf) in CHAINS {
        let datadir = Path::new(conf).parent().unwrap().display().to_string();
        let marker = format!("{HOME}/{datadir}/clean_shutdown");
        match stack.file(service, &marker) {
            Some(m) if m.text().contains("SIGTERM") => {}
            _ => stack.fail(&format!("{name}: no clean shutdown marker at {marker}")),
        }
        let out = run(Command::new("docker")
            .args(["inspect", "--format", "{{.State.ExitCode}}"])
            .arg(format!("{PROJECT}-{service}-1")));
        assert_eq!(
            String::from_utf8_lossy(&out.stdout).trim(),
            "0",
            "{service} exit status"
        );
    }

    let logs = stack.logs();
    let seed_file: PathBuf = stack.seed_dir.path().join("dokomodo_seed");
    let mut secrets = vec![SEED.to_owned()];
    secrets.extend(CHAINS.iter().map(|(name, _, _)| password(&seed_file, name)));
    for secret in &secrets {
        assert!(
            !logs.contains(secret.as_str()),
            "a secret reached the container logs:\n{logs}"
        );
    }
}
