//! The container tests' harness: the shipped images built once per test
//! binary, compose stacks and single `docker run` containers that are removed
//! on drop (even when a case panics), and what an operator looks at: `docker
//! logs`, `docker inspect`, `docker cp` of a file with its owner and mode, and
//! the host's /proc.
//!
//! Cases run in parallel threads, and test runs may run side by side on one
//! engine (two checkouts, CI next to a developer): each run has its own id
//! ([`run_id`]) and puts it in everything it creates, so nothing is shared but
//! the engine's build cache:
//!
//! - container and network names `dokomodo-ctest-<run>-<case>`;
//! - image tags `dokomodo-test/<image>:<run>`;
//! - the compose project `dokomodo-test-<run>` (its containers, volumes);
//! - networks on a /24 of 172.20.0.0/16 that `docker network create` found
//!   free ([`Network`]), the compose stack's too (docker/compose.test.yaml);
//! - host ports Docker picks, read back with `docker compose port`;
//! - the label `dokomodo-test.run=<run>` on containers, networks, volumes.
//!
//! A run removes what it created on drop and checks that each removal
//! worked ([`remove`]). Its images stay until a later run finds the run over
//! (its lock file, [`hold_run_lock`], no longer locked) and removes whatever
//! carries its id ([`remove_finished_runs`]); a live run's things are never
//! touched. Within a run, one compose stack at a time ([`Stack::up`] holds a
//! lock): the stacks share the run's project.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::common::TempDir;

pub const ROOT: &str = env!("CARGO_MANIFEST_DIR");
const RELEASE: &str = "target/x86_64-unknown-linux-gnu/release";
/// HOME in both images (Dockerfile.komodod, Dockerfile.iguana).
pub const HOME: &str = "/home/komodo";
/// The uid the images run as.
pub const IMAGE_UID: u32 = 10001;
/// The label key on everything a run creates; the value is its [`run_id`].
const RUN_LABEL: &str = "dokomodo-test.run";
/// Of the containers and networks a case creates outside compose.
const NAME_PREFIX: &str = "dokomodo-ctest-";
/// `<temp dir>/dokomodo-ctest-run-<run>.lock`: locked while the run lives.
const RUN_LOCK_PREFIX: &str = "dokomodo-ctest-run-";
pub const EXAMPLE_YAML: &str = "examples/notary.yaml";
/// The public address the tests give iguana (a documentation address).
pub const MYIPADDR: &str = "203.0.113.10";
/// iguana's dPoW peer port, published by compose.yaml.
pub const IGUANA_P2P: u16 = 13848;

/// This test binary's run: `<pid>-<8 hex digits of the start time>`. The pid
/// keeps concurrent runs of one machine apart, the time runs in other pid
/// namespaces and a pid used again.
pub fn run_id() -> &'static str {
    static ID: OnceLock<String> = OnceLock::new();
    ID.get_or_init(|| {
        let t = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        // The low 32 bits of the nanoseconds: they change fastest.
        format!("{}-{:08x}", std::process::id(), t.as_nanos() as u32)
    })
}

fn run_label() -> String {
    format!("{RUN_LABEL}={}", run_id())
}

/// The compose project; its containers are `<project>-<service>-1`.
pub fn project() -> String {
    format!("dokomodo-test-{}", run_id())
}

/// What `docker compose build` with docker/compose.test.yaml tags.
pub fn komodod_image() -> String {
    format!("dokomodo-test/komodod:{}", run_id())
}

pub struct Chain {
    pub name: &'static str,
    /// Its compose service.
    pub service: &'static str,
    /// Its conf, relative to HOME.
    pub conf: &'static str,
    /// Its P2P port, the one compose.yaml publishes.
    pub p2p: u16,
}

impl Chain {
    pub fn conf_path(&self) -> String {
        format!("{HOME}/{}", self.conf)
    }
    pub fn datadir(&self) -> String {
        let dir = Path::new(self.conf).parent().unwrap_or(Path::new(""));
        format!("{HOME}/{}", dir.display())
    }
    /// Left by the stand-in komodod only when its shutdown completed.
    pub fn marker(&self) -> String {
        format!("{}/clean_shutdown", self.datadir())
    }
}

/// examples/notary.yaml's chains, sorted by name.
pub const CHAINS: [Chain; 4] = [
    Chain {
        name: "BEER",
        service: "beer",
        conf: ".komodo/BEER/BEER.conf",
        p2p: 8922,
    },
    Chain {
        name: "KMD",
        service: "kmd",
        conf: ".komodo/komodo.conf",
        p2p: 7770,
    },
    Chain {
        name: "LTC",
        service: "ltc",
        conf: ".litecoin/litecoin.conf",
        p2p: 9333,
    },
    Chain {
        name: "PIZZA",
        service: "pizza",
        conf: ".komodo/PIZZA/PIZZA.conf",
        p2p: 11607,
    },
];

pub fn chain(name: &str) -> &'static Chain {
    CHAINS
        .iter()
        .find(|c| c.name == name)
        .expect("a chain of examples/notary.yaml")
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Runs `cmd` and insists on success.
pub fn run(cmd: &mut Command) -> Output {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed ({}):\n{}\n{}",
        out.status,
        text(&out.stdout),
        text(&out.stderr)
    );
    out
}

/// Runs a removal (`docker rm`, `docker network rm`, `docker compose down`,
/// ...) and insists it worked: what a run fails to remove stays on the engine
/// until a later run sweeps it. From a drop while the case is already
/// failing, a failure is printed instead: a second panic would abort the
/// whole test binary.
pub fn remove(cmd: &mut Command) {
    let failure = match cmd.output() {
        Ok(out) if out.status.success() => return,
        Ok(out) => format!(
            "{cmd:?} failed ({}):\n{}\n{}",
            out.status,
            text(&out.stdout),
            text(&out.stderr)
        ),
        Err(e) => format!("cannot run {cmd:?}: {e}"),
    };
    if std::thread::panicking() {
        eprintln!("cleanup: {failure}");
    } else {
        panic!("cleanup: {failure}");
    }
}

/// `docker ...`, with the classic builder: no buildx here, and it never pulls
/// the Rust image for the `prebuilt` target (see Dockerfile.komodod).
pub fn docker(args: &[&str]) -> Command {
    let mut cmd = Command::new("docker");
    cmd.args(args).env("DOCKER_BUILDKIT", "0");
    cmd
}

/// Polls `probe` every 200 ms until it gives a value; `None` after `timeout`.
pub fn poll<T>(timeout: Duration, mut probe: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = probe() {
            return Some(v);
        }
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// The host clock as `docker events --since` reads it.
pub fn docker_now() -> String {
    let t = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    format!("{}.{:09}", t.as_secs(), t.subsec_nanos())
}

// ---------------------------------------------------------------------------
// Building, once per test binary

static BUILT: OnceLock<()> = OnceLock::new();

/// Takes this run's lock, removes what finished runs left behind, and builds
/// dokomodo and the stand-ins on the host, the stand-in base images, and the
/// shipped Dockerfiles through compose, all tagged with the run id (cached
/// after the first run, so a tag costs next to nothing). Every case calls it
/// first; only the first call does the work.
pub fn setup() {
    BUILT.get_or_init(|| {
        require_docker();
        hold_run_lock();
        remove_finished_runs();
        remove_stale_temp_dirs();
        build_binaries();
        build_standin_images();
        let seed = SeedFile::new("build-only-seed-never-used", IMAGE_UID);
        run(&mut compose(seed.path(), None, &["build", "--quiet"]));
    });
}

/// A missing engine or compose plugin fails the tests, in CI and anywhere
/// else: they are never skipped.
fn require_docker() {
    for args in [&["version"][..], &["compose", "version"]] {
        let ok = docker(args).output().is_ok_and(|o| o.status.success());
        assert!(
            ok,
            "`docker {}` does not work here: the container tests need a Docker \
             engine and `docker compose` v2 (.ci/run installs the plugin)",
            args.join(" ")
        );
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

/// dokomodo-test/komodod-standin:<run> and dokomodo-test/iguana-standin:<run>:
/// FROM scratch, the stand-in where the real image has the daemon.
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
        let tag = format!("dokomodo-test/{daemon}-standin:{}", run_id());
        let build_arg = format!("DAEMON={daemon}");
        run(
            docker(&["build", "--quiet", "--build-arg", &build_arg, "-t", &tag])
                .arg(context.path()),
        );
    }
}

fn run_lock_path(run: &str) -> PathBuf {
    std::env::temp_dir().join(format!("{RUN_LOCK_PREFIX}{run}.lock"))
}

/// Creates this run's lock file and holds an exclusive lock on it until the
/// process ends, however it ends: the kernel drops the lock with the last
/// descriptor, so a locked file means a live run. Locked under a hidden name
/// first, then renamed (the lock goes with the inode): another run never
/// sees the file unlocked.
fn hold_run_lock() {
    static LOCK: OnceLock<std::fs::File> = OnceLock::new();
    let path = run_lock_path(run_id());
    let hidden = path.with_file_name(format!(".{RUN_LOCK_PREFIX}{}.lock", run_id()));
    let file = std::fs::File::create(&hidden)
        .unwrap_or_else(|e| panic!("cannot create {}: {e}", hidden.display()));
    assert!(try_lock(&file), "{} is locked already", hidden.display());
    std::fs::rename(&hidden, &path).unwrap_or_else(|e| {
        panic!(
            "cannot rename {} to {}: {e}",
            hidden.display(),
            path.display()
        )
    });
    // Never dropped: a static lives until the process exits.
    let _ = LOCK.set(file);
}

/// flock(LOCK_EX | LOCK_NB): whether the lock is ours now.
fn try_lock(file: &std::fs::File) -> bool {
    use std::os::fd::AsRawFd;
    // SAFETY: flock only reads the descriptor, which `file` keeps open for
    // the duration of the call.
    unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) == 0 }
}

/// Every run whose lock file is here and no longer locked is over (finished
/// or killed): its containers, volumes, networks and image tags go. A run
/// with no lock file here (another machine, another temp dir) is left alone.
/// Holding a finished run's lock while removing keeps two runs that start
/// together from sweeping it at once.
fn remove_finished_runs() {
    let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(run) = name
            .strip_prefix(RUN_LOCK_PREFIX)
            .and_then(|rest| rest.strip_suffix(".lock"))
        else {
            continue;
        };
        if run == run_id() {
            continue;
        }
        let Ok(file) = std::fs::File::open(entry.path()) else {
            continue;
        };
        if try_lock(&file) {
            remove_run(run);
            // Another run may have removed it just before us.
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// What a finished run left: found by its label and its image tags.
fn remove_run(run: &str) {
    let label = format!("label={RUN_LABEL}={run}");
    let containers = listed(&["ps", "--all", "--quiet", "--filter", &label]);
    if !containers.is_empty() {
        remove(docker(&["rm", "--force", "--volumes"]).args(&containers));
    }
    let volumes = listed(&["volume", "ls", "--quiet", "--filter", &label]);
    if !volumes.is_empty() {
        remove(docker(&["volume", "rm"]).args(&volumes));
    }
    let networks = listed(&["network", "ls", "--quiet", "--filter", &label]);
    if !networks.is_empty() {
        remove(docker(&["network", "rm"]).args(&networks));
    }
    let reference = format!("reference=dokomodo-test/*:{run}");
    let images = listed(&[
        "image",
        "ls",
        "--filter",
        &reference,
        "--format",
        "{{.Repository}}:{{.Tag}}",
    ]);
    if !images.is_empty() {
        remove(docker(&["image", "rm"]).args(&images));
    }
}

/// The words `docker ARGS` prints (ids, names).
fn listed(args: &[&str]) -> Vec<String> {
    text(&run(&mut docker(args)).stdout)
        .split_whitespace()
        .map(str::to_owned)
        .collect()
}

/// The seed files (and other temp dirs) of a run that was killed: named
/// `dokomodo-test-TAG-PID-N` (tests/common), its PID gone.
fn remove_stale_temp_dirs() {
    let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(rest) = ["seed", "standin-images", "typo-yaml"]
            .iter()
            .find_map(|tag| name.strip_prefix(&format!("dokomodo-test-{tag}-")))
        else {
            continue;
        };
        let pid = rest.split('-').next().unwrap_or_default();
        if !pid.is_empty() && !Path::new("/proc").join(pid).exists() {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

// ---------------------------------------------------------------------------
// The seed secret

/// The seed secret as an operator keeps it: a file owned by the uid the
/// container runs as, mode 0600 (a compose file secret and a `docker run -v`
/// bind mount keep the host's owner and mode).
/// The notary wallet's passphrase the compose stack gets: iguana's start-up
/// sequence sends it, and it must show up nowhere else.
/// The published test vector's passphrase (../shared/komodo-facts.md section
/// 6), whose key is examples/notary.yaml's `pubkey`.
pub const WALLET_PASSPHRASE: &str = "myverysecretandstrongpassphrase_noneabletobrute";

pub struct SeedFile {
    dir: TempDir,
    value: String,
}

impl SeedFile {
    /// The secrets directory compose.yaml reads: the master seed
    /// (`dokomodo_seed`, iguana's), each chain's secret (`<service>_seed`,
    /// made with `dokomodo secret --chain NAME` as the header of compose.yaml
    /// says) and the wallet passphrase.
    pub fn new(value: &str, owner: u32) -> SeedFile {
        let dir = TempDir::new("seed");
        let seed = SeedFile {
            dir,
            value: value.to_owned(),
        };
        seed.write_all(owner);
        seed
    }

    fn write_all(&self, owner: u32) {
        use std::os::unix::fs::PermissionsExt;
        let mut files = vec![
            ("dokomodo_seed".to_owned(), self.value.clone()),
            // The wallet passphrase travels beside the seed, as compose.yaml's
            // second secret.
            ("wallet_passphrase".to_owned(), WALLET_PASSPHRASE.to_owned()),
        ];
        files.extend(
            CHAINS
                .iter()
                .map(|c| (format!("{}_seed", c.service), self.chain_secret(c.name))),
        );
        for (name, contents) in files {
            let path = self.dir.write(&name, format!("{contents}\n"));
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
            if std::os::unix::fs::chown(&path, Some(owner), Some(0)).is_err() {
                // Not root: readable by all, inside a directory only we can enter.
                std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
                std::fs::set_permissions(self.dir.path(), std::fs::Permissions::from_mode(0o700))
                    .unwrap();
            }
        }
    }

    pub fn path(&self) -> PathBuf {
        self.dir.path().join("dokomodo_seed")
    }

    pub fn passphrase_path(&self) -> PathBuf {
        self.dir.path().join("wallet_passphrase")
    }

    /// A new seed in the same files (same inodes, owner and mode), as an
    /// operator rotating it in place: the master, and each chain's secret made
    /// again from it. The bind mounts see them at once.
    pub fn rewrite(&mut self, value: &str) {
        std::fs::write(self.path(), format!("{value}\n")).unwrap();
        self.value = value.to_owned();
        for chain in &CHAINS {
            let secret = self.chain_secret(chain.name);
            let path = self.dir.path().join(format!("{}_seed", chain.service));
            std::fs::write(path, format!("{secret}\n")).unwrap();
        }
    }

    /// What `dokomodo secret --chain NAME` prints for a chain of examples/notary.yaml.
    pub fn chain_secret(&self, chain: &str) -> String {
        let out = run(Command::new(env!("CARGO_BIN_EXE_dokomodo"))
            .args(["--config", EXAMPLE_YAML, "secret", "--chain", chain])
            .current_dir(ROOT)
            .env_remove("DOKOMODO_SEED_FILE")
            .env("DOKOMODO_SEED", &self.value));
        text(&out.stdout).trim_end().to_owned()
    }

    /// What `dokomodo creds` derives for a chain of examples/notary.yaml.
    pub fn creds(&self, chain: &str) -> (String, String) {
        let out = run(Command::new(env!("CARGO_BIN_EXE_dokomodo"))
            .args(["--config", EXAMPLE_YAML, "creds", chain])
            .current_dir(ROOT)
            .env_remove("DOKOMODO_SEED")
            .env("DOKOMODO_SEED_FILE", self.path()));
        let out = text(&out.stdout);
        let field = |key: &str| {
            out.lines()
                .find_map(|l| l.strip_prefix(key))
                .expect("creds prints rpcuser and rpcpassword")
                .to_owned()
        };
        (field("rpcuser="), field("rpcpassword="))
    }

    /// The seed and every chain's derived password: never to be shown.
    pub fn secrets(&self) -> Vec<String> {
        let mut all = vec![self.value.clone(), WALLET_PASSPHRASE.to_owned()];
        all.extend(CHAINS.iter().map(|c| self.creds(c.name).1));
        all.extend(CHAINS.iter().map(|c| self.chain_secret(c.name)));
        all
    }
}

// ---------------------------------------------------------------------------
// One container

pub struct Container {
    pub name: String,
    /// Ours (a `docker run`), removed on drop; a compose service's belongs to
    /// its stack.
    owned: bool,
}

impl Container {
    /// `docker exec` of a command in the running container.
    pub fn exec(&self, argv: &[&str]) -> Output {
        docker(&["exec", &self.name])
            .args(argv)
            .output()
            .unwrap_or_else(|e| panic!("cannot run docker exec: {e}"))
    }

    pub fn inspect(&self, format: &str) -> String {
        let out = run(&mut docker(&["inspect", "--format", format, &self.name]));
        text(&out.stdout).trim().to_owned()
    }

    /// `docker logs`: what the container wrote on stdout and stderr, all runs.
    pub fn logs(&self) -> String {
        self.logs_since("")
    }

    /// `docker logs --since` a time from [`docker_now`]. Not `State.StartedAt`:
    /// the first lines of a run can be older than that.
    pub fn logs_since(&self, since: &str) -> String {
        let mut cmd = docker(&["logs"]);
        if !since.is_empty() {
            cmd.args(["--since", since]);
        }
        match cmd.arg(&self.name).output() {
            Ok(out) => text(&out.stdout) + &text(&out.stderr),
            Err(e) => format!("(no logs: {e})"),
        }
    }

    pub fn fail(&self, msg: &str) -> ! {
        panic!(
            "{}: {msg}\n--- docker logs {} ---\n{}",
            self.name,
            self.name,
            self.logs()
        );
    }

    /// A file (or a directory, without its contents) from the container,
    /// running or stopped, with the owner, mode and mtime it has there.
    pub fn file(&self, path: &str) -> Option<TarFile> {
        let out = docker(&["cp", &format!("{}:{path}", self.name), "-"])
            .output()
            .ok()?;
        if !out.status.success() {
            return None;
        }
        TarFile::first(&out.stdout)
    }

    pub fn running(&self) -> bool {
        self.inspect("{{.State.Running}}") == "true"
    }

    pub fn exit_code(&self) -> i32 {
        let code = self.inspect("{{.State.ExitCode}}");
        code.parse()
            .unwrap_or_else(|_| self.fail(&format!("exit code {code:?}")))
    }

    /// Waits until the logs contain `needle`; fails if the
    /// container stops first or `timeout` passes.
    pub fn wait_log(&self, needle: &str, timeout: Duration) -> String {
        let found = poll(timeout, || {
            let logs = self.logs();
            if logs.contains(needle) {
                Some(Ok(logs))
            } else if !self.running() {
                Some(Err("the container stopped"))
            } else {
                None
            }
        });
        match found {
            Some(Ok(logs)) => logs,
            Some(Err(why)) => self.fail(&format!("{why} before logging {needle:?}")),
            None => self.fail(&format!("no {needle:?} in the logs within {timeout:?}")),
        }
    }

    /// The stand-in komodod logs `ready` once its RPC serves and its SIGTERM
    /// handling is in place.
    pub fn wait_ready(&self) {
        self.wait_log(": ready", Duration::from_secs(90));
    }

    /// Waits for the container to stop by itself; its exit code.
    pub fn wait_exit(&self, timeout: Duration) -> i32 {
        if poll(timeout, || (!self.running()).then_some(())).is_none() {
            self.fail(&format!("still running after {timeout:?}"));
        }
        self.exit_code()
    }

    /// `docker stop -t TIMEOUT`; how long it took.
    pub fn stop(&self, timeout_secs: u32) -> Duration {
        let started = Instant::now();
        run(&mut docker(&[
            "stop",
            "-t",
            &timeout_secs.to_string(),
            &self.name,
        ]));
        started.elapsed()
    }

    /// The host's pid of the container's PID 1.
    pub fn host_pid(&self) -> u32 {
        let pid = self.inspect("{{.State.Pid}}");
        pid.parse()
            .ok()
            .filter(|&p| p > 0)
            .unwrap_or_else(|| self.fail(&format!("pid {pid:?}")))
    }

    pub fn ip(&self) -> String {
        self.inspect("{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}")
    }

    /// Neither `docker logs` nor `docker inspect` (Config.Env, Args, Cmd,
    /// mounts, labels: the whole document) shows a secret.
    pub fn assert_no_secrets(&self, secrets: &[String]) {
        let inspect = text(&run(&mut docker(&["inspect", &self.name])).stdout);
        let logs = self.logs();
        for secret in secrets {
            assert!(
                !inspect.contains(secret.as_str()),
                "{}: a secret is in docker inspect:\n{inspect}",
                self.name
            );
            assert!(
                !logs.contains(secret.as_str()),
                "{}: a secret is in docker logs:\n{logs}",
                self.name
            );
        }
    }
}

impl Drop for Container {
    fn drop(&mut self) {
        if self.owned {
            remove(&mut docker(&["rm", "--force", "--volumes", &self.name]));
        }
    }
}

/// `docker run -d` of the komodod image built from Dockerfile.komodod, the way
/// an operator runs one chain without compose: the YAML and the seed mounted
/// read-only, HOME on a volume.
pub struct KomododRun {
    name: String,
    options: Vec<String>,
    yaml: PathBuf,
}

impl KomododRun {
    pub fn new(case: &str, chain: &str, seed: &SeedFile) -> KomododRun {
        let options = [
            "--label",
            &run_label(),
            "--volume",
            HOME,
            "--env",
            &format!("DOKOMODO_CHAIN={chain}"),
            "--volume",
            &format!("{}:/run/secrets/dokomodo_seed:ro", seed.path().display()),
        ];
        KomododRun {
            name: format!("{NAME_PREFIX}{}-{case}", run_id()),
            options: options.iter().map(|o| o.to_string()).collect(),
            yaml: Path::new(ROOT).join(EXAMPLE_YAML),
        }
    }

    /// Any `docker run` option, e.g. `--read-only`.
    pub fn option(mut self, option: &str) -> KomododRun {
        self.options.push(option.to_owned());
        self
    }

    pub fn env(self, key: &str, value: &str) -> KomododRun {
        self.option(&format!("--env={key}={value}"))
    }

    pub fn yaml(mut self, path: &Path) -> KomododRun {
        self.yaml = path.to_owned();
        self
    }

    pub fn start(self) -> Container {
        let container = Container {
            name: self.name.clone(),
            owned: true,
        };
        let yaml = format!("{}:/etc/dokomodo/notary.yaml:ro", self.yaml.display());
        run(
            docker(&["run", "--detach", "--name", &self.name, "--volume", &yaml])
                .args(&self.options)
                .arg(komodod_image()),
        );
        container
    }
}

/// A user-defined network of the run, removed on drop (after the containers
/// on it, when declared before them).
pub struct Network {
    pub name: String,
    /// `172.20.N`: the /24 is `{prefix}.0/24`, the gateway (the host)
    /// `{prefix}.1`.
    prefix: String,
}

impl Network {
    /// On the first free /24 of 172.20.0.0/16, the example YAML's rpc.allow
    /// (so the host and iguana may call a daemon's RPC). Another run or an
    /// operator's stack may hold any of them: `docker network create` is the
    /// test, and it fails on an overlap. Runs start at different /24s (by
    /// pid), a run's networks at different ones too.
    pub fn new(case: &str) -> Network {
        static CREATED: AtomicUsize = AtomicUsize::new(0);
        let name = format!("{NAME_PREFIX}{}-{case}", run_id());
        let label = run_label();
        let start = std::process::id() as usize + 16 * CREATED.fetch_add(1, Ordering::Relaxed);
        let mut overlaps = Vec::new();
        for i in 0..254 {
            let prefix = format!("172.20.{}", 1 + (start + i) % 254);
            let subnet = format!("{prefix}.0/24");
            let mut create = docker(&[
                "network", "create", "--label", &label, "--subnet", &subnet, &name,
            ]);
            let out = create
                .output()
                .unwrap_or_else(|e| panic!("cannot run {create:?}: {e}"));
            if out.status.success() {
                return Network { name, prefix };
            }
            let stderr = text(&out.stderr);
            assert!(
                stderr.contains("overlaps"),
                "{create:?} failed ({}):\n{stderr}",
                out.status
            );
            overlaps.push(subnet);
        }
        panic!(
            "no free /24 in 172.20.0.0/16 for {name}: every one overlaps a network \
             of this engine (`docker network inspect` them; one of Docker's default \
             pools may hold all of 172.20.0.0/16)"
        );
    }

    pub fn subnet(&self) -> String {
        format!("{}.0/24", self.prefix)
    }

    /// The address `.n` of the network.
    pub fn address(&self, n: u8) -> String {
        format!("{}.{n}", self.prefix)
    }
}

impl Drop for Network {
    fn drop(&mut self) {
        remove(&mut docker(&["network", "rm", &self.name]));
    }
}

// ---------------------------------------------------------------------------
// The compose stack

static COMPOSE: Mutex<()> = Mutex::new(());

/// `docker compose -p <project> -f compose.yaml -f docker/compose.test.yaml
/// ARGS`, with the run's id and, for a stack, its network (see
/// docker/compose.test.yaml).
fn compose(seed: PathBuf, network: Option<&Network>, args: &[&str]) -> Command {
    let passphrase = seed.with_file_name("wallet_passphrase");
    let project = project();
    let mut cmd = docker(&[
        "compose",
        "-p",
        &project,
        "-f",
        "compose.yaml",
        "-f",
        "docker/compose.test.yaml",
    ]);
    cmd.current_dir(ROOT)
        .args(args)
        .env("DOKOMODO_TEST_RUN", run_id())
        .env(
            "DOKOMODO_SECRETS_DIR",
            seed.parent().expect("the seed is in a directory"),
        )
        .env("DOKOMODO_SEED_SECRET_FILE", seed)
        .env("DOKOMODO_WALLET_PASSPHRASE_SECRET_FILE", passphrase)
        // What compose.yaml requires of an operator; the override replaces the image.
        .env(
            "IGUANA_IMAGE",
            "unused-the-test-override-builds-on-the-stand-in",
        )
        .env("DOKOMODO_MYIPADDR", MYIPADDR);
    if let Some(network) = network {
        cmd.env("DOKOMODO_TEST_NETWORK", &network.name)
            .env("DOKOMODO_TEST_IGUANA_ADDRESS", network.address(10));
    }
    cmd
}

/// The shipped compose.yaml with the test override, up; taken down (volumes
/// too) on drop.
pub struct Stack {
    seed: PathBuf,
    // Fields drop in order, after `drop` took the stack down: the network
    // once its containers are gone, then the lock.
    network: Network,
    _one_at_a_time: MutexGuard<'static, ()>,
}

impl Stack {
    pub fn up(seed: &SeedFile) -> Stack {
        // A case that panicked still took its stack down (Drop).
        let lock = COMPOSE
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let stack = Stack {
            seed: seed.path(),
            network: Network::new("notary"),
            _one_at_a_time: lock,
        };
        run(&mut stack.compose(&["up", "--detach"]));
        stack
    }

    pub fn compose(&self, args: &[&str]) -> Command {
        compose(self.seed.clone(), Some(&self.network), args)
    }

    /// The host port Docker picked for a service's published `port`
    /// (`docker compose port`), on 127.0.0.1.
    pub fn published_port(&self, service: &str, port: u16) -> u16 {
        let out = run(&mut self.compose(&["port", service, &port.to_string()]));
        let printed = text(&out.stdout);
        printed
            .trim()
            .strip_prefix("127.0.0.1:")
            .and_then(|p| p.parse().ok())
            .filter(|&p| p != 0)
            .unwrap_or_else(|| self.fail(&format!("{service}'s {port}: published as {printed:?}")))
    }

    /// `GET /metrics` from the monitor, at iguana's address on the stack's
    /// network (the monitor shares iguana's network namespace).
    pub fn metrics(&self) -> String {
        let address = format!("{}:9641", self.network.address(10));
        let fetched = poll(Duration::from_secs(60), || {
            let mut stream = TcpStream::connect(&address).ok()?;
            stream
                .set_read_timeout(Some(Duration::from_secs(30)))
                .ok()?;
            stream.write_all(b"GET /metrics HTTP/1.0\r\n\r\n").ok()?;
            let mut reply = String::new();
            stream.read_to_string(&mut reply).ok()?;
            reply.starts_with("HTTP/1.").then_some(reply)
        });
        fetched.unwrap_or_else(|| self.fail(&format!("no metrics at {address}")))
    }

    /// A real Prometheus (Debian's, a process on this host) scraping the
    /// monitor at iguana's address with deploy/prometheus/rules.yml loaded;
    /// the answer of its query API to `query` once every chain is in it.
    pub fn prometheus_query(&self, query: &str) -> String {
        let prometheus = match Command::new("prometheus").arg("--version").output() {
            Ok(out) if out.status.success() => "prometheus",
            _ => self.fail("prometheus is not installed (apt-get install -y prometheus)"),
        };
        let dir = TempDir::new("prometheus");
        let target = format!("{}:9641", self.network.address(10));
        let config = dir.path().join("prometheus.yml");
        std::fs::write(
            &config,
            format!(
                "global: {{scrape_interval: 1s, evaluation_interval: 1s}}\n\
                 rule_files: [{ROOT}/deploy/prometheus/rules.yml]\n\
                 scrape_configs:\n  - job_name: dokomodo\n    static_configs:\n      - targets: ['{target}']\n"
            ),
        )
        .unwrap();
        let web = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .unwrap();
        let mut child = Command::new(prometheus)
            .arg(format!("--config.file={}", config.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.path().join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{web}"))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap_or_else(|e| self.fail(&format!("cannot start prometheus: {e}")));
        let answer = poll(Duration::from_secs(60), || {
            let mut s = TcpStream::connect(("127.0.0.1", web)).ok()?;
            write!(
                s,
                "GET /api/v1/query?query={query} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
            )
            .ok()?;
            let mut reply = String::new();
            s.read_to_string(&mut reply).ok()?;
            CHAINS
                .iter()
                .filter(|c| c.name != "LTC")
                .all(|c| reply.contains(&format!("\"chain\":\"{}\"", c.name)))
                .then_some(reply)
        });
        let _ = child.kill();
        let _ = child.wait();
        answer.unwrap_or_else(|| {
            self.fail(&format!(
                "prometheus never answered {query} for every chain"
            ))
        })
    }

    pub fn services() -> impl Iterator<Item = &'static str> {
        CHAINS.iter().map(|c| c.service).chain(["iguana"])
    }

    pub fn container(&self, service: &str) -> Container {
        Container {
            name: format!("{}-{service}-1", project()),
            owned: false,
        }
    }

    pub fn logs(&self) -> String {
        let out = self
            .compose(&["logs", "--no-color", "--timestamps"])
            .output()
            .unwrap();
        text(&out.stdout) + &text(&out.stderr)
    }

    pub fn fail(&self, msg: &str) -> ! {
        panic!("{msg}\n--- docker compose logs ---\n{}", self.logs());
    }

    pub fn file(&self, service: &str, path: &str) -> Option<TarFile> {
        self.container(service).file(path)
    }

    /// dokomodo's start-up (run iguana) of iguana's `start`-th start (1 for
    /// the first) is done, and `dokomodo health` in the iguana container says
    /// every coin is ready: added, verified through iguana, and under dpow
    /// (all but LTC, which KMD notarises into), in upstream's order.
    pub fn assert_iguana_authenticated(&self, start: usize) {
        let iguana = self.container("iguana");
        let done = "iguana start-up done";
        let timeout = Duration::from_secs(240);
        if poll(timeout, || {
            (iguana.logs().matches(done).count() >= start).then_some(())
        })
        .is_none()
        {
            self.fail(&format!(
                "dokomodo's start-up #{start} of iguana did not finish within {timeout:?}"
            ));
        }
        let health = iguana.exec(&["dokomodo", "health"]);
        if !health.status.success() {
            self.fail(&format!(
                "iguana is not healthy after start-up #{start}:\n{}{}",
                text(&health.stdout),
                text(&health.stderr)
            ));
        }
        let status = match self.file("iguana", &format!("{HOME}/iguana/.dokomodo-startup")) {
            Some(f) => f.text(),
            None => self.fail("iguana's start-up status file is missing"),
        };
        for chain in &CHAINS {
            let line = status
                .lines()
                .find(|l| l.starts_with(&format!("{}\t", chain.name)))
                .unwrap_or_else(|| self.fail(&format!("no {} in:\n{status}", chain.name)));
            let wanted = if chain.name == "LTC" {
                "\tok\tadded and verified"
            } else {
                "\tok\tadded, verified and notarised (dpow)"
            };
            assert!(line.contains(wanted), "{}: {line}", chain.name);
        }
        self.assert_upstream_order();
    }

    /// What the stand-in iguana saw, in order: myipaddr, then addnotary;
    /// KMD added first, then walletpassphrase (the passphrase recorded only
    /// as its length), then the other coins; dpow KMD only after LTC was
    /// added; LTC never dpow'd.
    fn assert_upstream_order(&self) {
        let calls = match self.file("iguana", &format!("{HOME}/iguana/calls.log")) {
            Some(f) => f.text(),
            None => self.fail("iguana's calls.log is missing"),
        };
        let at = |needle: &str| {
            calls
                .lines()
                .position(|l| l.starts_with(needle))
                .unwrap_or_else(|| self.fail(&format!("no `{needle}` in calls.log:\n{calls}")))
        };
        let unlock = format!(
            "walletpassphrase params=[<redacted len={}>,9999999]",
            WALLET_PASSPHRASE.len()
        );
        let myip = at(&format!("myipaddr ipaddr={MYIPADDR}"));
        let addnotary = at("addnotary ipaddr=");
        let kmd = at("addcoin");
        assert!(
            calls.lines().nth(kmd).unwrap().contains("newcoin=KMD"),
            "KMD first:\n{calls}"
        );
        let wallet = at(&unlock);
        // The stand-in writes a call's members sorted by name.
        let call = |method: &str, member: &str| {
            calls
                .lines()
                .position(|l| l.starts_with(method) && l.contains(member))
                .unwrap_or_else(|| self.fail(&format!("no {method} {member}:\n{calls}")))
        };
        let ltc = call("addcoin ", " newcoin=LTC ");
        let dpow_kmd = call("dpow ", " symbol=KMD");
        assert!(myip < addnotary && addnotary < kmd, "{calls}");
        assert!(kmd < wallet && wallet < ltc && ltc < dpow_kmd, "{calls}");
        assert!(
            !calls
                .lines()
                .any(|l| l.starts_with("dpow ") && l.contains("symbol=LTC")),
            "{calls}"
        );
    }

    /// Each chain's conf as its komodod container has it, after checking that
    /// iguana's copy, rendered separately in its own container, is identical.
    pub fn confs_agree(&self) -> BTreeMap<&'static str, TarFile> {
        CHAINS
            .iter()
            .map(|chain| {
                let path = chain.conf_path();
                let (Some(daemon), Some(iguana)) =
                    (self.file(chain.service, &path), self.file("iguana", &path))
                else {
                    self.fail(&format!("{path} missing in {} or iguana", chain.service));
                };
                assert_eq!(
                    daemon.text(),
                    iguana.text(),
                    "{}: iguana's copy differs from the daemon's",
                    chain.name
                );
                (chain.name, daemon)
            })
            .collect()
    }

    /// Exit codes of the containers of this project that died since `since`
    /// (`docker_now()`), by container name, last one wins: readable even after
    /// `docker compose down` removed the containers.
    pub fn exit_codes_since(&self, since: &str) -> BTreeMap<String, i32> {
        let project = format!("label=com.docker.compose.project={}", project());
        let out = run(&mut docker(&[
            "events",
            "--since",
            since,
            "--until",
            &docker_now(),
            "--filter",
            "type=container",
            "--filter",
            "event=die",
            "--filter",
            &project,
            "--format",
            "{{.Actor.Attributes.name}} {{.Actor.Attributes.exitCode}}",
        ]));
        text(&out.stdout)
            .lines()
            .filter_map(|l| {
                let (name, code) = l.split_once(' ')?;
                Some((name.to_owned(), code.parse().ok()?))
            })
            .collect()
    }

    /// A file in one of the stack's named volumes, read through a container
    /// that is created on it but never started.
    pub fn volume_file(&self, volume: &str, path: &str) -> Option<TarFile> {
        static READERS: AtomicUsize = AtomicUsize::new(0);
        let n = READERS.fetch_add(1, Ordering::Relaxed);
        let reader = Container {
            name: format!("{NAME_PREFIX}{}-volume-reader-{n}", run_id()),
            owned: true,
        };
        let mount = format!("{}_{volume}:{HOME}", project());
        run(&mut docker(&[
            "create",
            "--label",
            &run_label(),
            "--name",
            &reader.name,
            "--volume",
            &mount,
            &komodod_image(),
        ]));
        reader.file(path)
    }
}

impl Drop for Stack {
    fn drop(&mut self) {
        remove(&mut self.compose(&["down", "--volumes", "--remove-orphans", "--timeout", "30"]));
    }
}

// ---------------------------------------------------------------------------
// What `docker cp` gives

/// The first member of a tar stream (what `docker cp ... -` writes): the
/// ustar header, with the PAX records Docker adds for values that do not fit
/// in it (a uid above 2097151, as OpenShift's).
#[derive(Debug)]
pub struct TarFile {
    pub mode: u32,
    pub uid: u64,
    pub gid: u64,
    /// Seconds since the epoch.
    pub mtime: u64,
    pub contents: Vec<u8>,
}

impl TarFile {
    pub fn first(tar: &[u8]) -> Option<TarFile> {
        let mut pax = BTreeMap::new();
        let mut at = 0;
        loop {
            let header = tar.get(at..at + 512)?;
            let size = number(&header[124..136])? as usize;
            let data = tar.get(at + 512..at + 512 + size)?;
            match header[156] {
                // PAX records for the next member, and global ones.
                b'x' | b'g' => pax.extend(pax_records(data)),
                _ => {
                    let field = |key: &str, raw: &[u8]| -> Option<u64> {
                        match pax.get(key) {
                            // mtime may carry a fraction.
                            Some(v) => v.split('.').next()?.parse().ok(),
                            None => number(raw),
                        }
                    };
                    return Some(TarFile {
                        mode: number(&header[100..108])? as u32 & 0o7777,
                        uid: field("uid", &header[108..116])?,
                        gid: field("gid", &header[116..124])?,
                        mtime: field("mtime", &header[136..148])?,
                        contents: data.to_vec(),
                    });
                }
            }
            at += 512 + size.div_ceil(512) * 512;
        }
    }

    pub fn text(&self) -> String {
        text(&self.contents)
    }
}

/// A numeric header field: octal text, or GNU base-256 when the top bit is set.
fn number(field: &[u8]) -> Option<u64> {
    if field.first().is_some_and(|b| b & 0x80 != 0) {
        return Some(
            field
                .iter()
                .skip(1)
                .fold(u64::from(field[0] & 0x7f), |n, b| (n << 8) | u64::from(*b)),
        );
    }
    let s = text(field);
    let s = s.trim_matches(|c: char| c == '\0' || c == ' ');
    if s.is_empty() {
        Some(0)
    } else {
        u64::from_str_radix(s, 8).ok()
    }
}

/// `LEN key=value\n` records.
fn pax_records(mut data: &[u8]) -> Vec<(String, String)> {
    let mut records = Vec::new();
    while let Some(space) = data.iter().position(|&b| b == b' ') {
        let Some(len) = text(&data[..space])
            .parse::<usize>()
            .ok()
            .filter(|&l| l > space && l <= data.len())
        else {
            break;
        };
        let record = text(&data[space + 1..len]);
        if let Some((k, v)) = record.trim_end_matches('\n').split_once('=') {
            records.push((k.to_owned(), v.to_owned()));
        }
        data = &data[len..];
    }
    records
}

// ---------------------------------------------------------------------------
// The host's view

/// A process as the host's /proc shows it.
#[derive(Debug)]
pub struct Process {
    pub pid: u32,
    pub comm: String,
    /// `R`, `S`, `Z`, ...
    pub state: char,
}

/// The children of host pid `parent`, from /proc/*/stat. Zombies are
/// included (unlike `docker top`, which lists the container's cgroup, and a
/// zombie has left it). Needs the host's pid namespace: the test runs where
/// the engine runs.
pub fn children_of(parent: u32) -> Vec<Process> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter_map(|pid| {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
            // `pid (comm) state ppid ...`; comm may hold spaces and parens.
            let (head, rest) = stat.rsplit_once(')')?;
            let comm = head.split_once('(')?.1.to_owned();
            let mut fields = rest.split_whitespace();
            let state = fields.next()?.chars().next()?;
            let ppid: u32 = fields.next()?.parse().ok()?;
            (ppid == parent).then_some(Process { pid, comm, state })
        })
        .collect()
}

/// The NUL-separated argv of a host process.
pub fn cmdline(pid: u32) -> Vec<String> {
    let raw = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
    raw.split(|&b| b == 0)
        .filter(|a| !a.is_empty())
        .map(text)
        .collect()
}

/// `NSpid:` of a host process: its pid in each nested pid namespace.
pub fn ns_pids(pid: u32) -> Vec<u32> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("NSpid:"))
        .map(|v| {
            v.split_whitespace()
                .filter_map(|p| p.parse().ok())
                .collect()
        })
        .unwrap_or_default()
}

// ---------------------------------------------------------------------------
// The host calling a daemon's RPC

/// A JSON-RPC call with HTTP basic auth, as iguana or komodo-cli make it:
/// (HTTP status, body).
pub fn rpc(addr: &str, user: &str, password: &str, method: &str) -> std::io::Result<(u16, String)> {
    let body = format!(r#"{{"jsonrpc":"1.0","id":"test","method":"{method}","params":[]}}"#);
    let auth = base64(format!("{user}:{password}").as_bytes());
    let mut stream = TcpStream::connect(addr)?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    write!(
        stream,
        "POST / HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Basic {auth}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )?;
    let mut reply = Vec::new();
    stream.read_to_end(&mut reply)?;
    let reply = text(&reply);
    let status = reply
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = reply
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    Ok((status, body))
}

fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, &b)| n | u32::from(b) << (16 - 8 * i));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[test]
fn base64_is_the_standard_alphabet_with_padding() {
    assert_eq!(base64(b"user:pass"), "dXNlcjpwYXNz");
    assert_eq!(base64(b"ab"), "YWI=");
    assert_eq!(base64(b"a"), "YQ==");
}
