//! Fault injection against the real binary: full and read-only filesystems,
//! kill -9 in the middle of a render, and every way the secret, the config
//! and HOME can be wrong. Runs as root (mounts need it; CI is root): a
//! failing mount fails the test, nothing is skipped.

mod common;
use common::mount::{Mount, path_str};
use common::{NOTARY_YAML, Run, TempDir};

use std::collections::BTreeMap;
use std::os::unix::fs::FileTypeExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

const PRODUCTION: &str = include_str!("../examples/all-chains.yaml");
const IO: i32 = 74;
const CONFIG: i32 = 78;
const OTHER_SEED: &str = "another seed, so every file differs";

fn assert_root() {
    // SAFETY: geteuid has no preconditions.
    let euid = unsafe { geteuid() };
    assert_eq!(
        euid, 0,
        "these tests run as root (as CI does): they mount filesystems"
    );
}

unsafe extern "C" {
    fn geteuid() -> u32;
    fn mkfifo(path: *const std::ffi::c_char, mode: u32) -> i32;
}

fn make_fifo(path: &Path) {
    let c = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).unwrap();
    // SAFETY: `c` is a valid NUL-terminated path.
    let made = unsafe { mkfifo(c.as_ptr(), 0o600) };
    assert_eq!(made, 0, "mkfifo {}", path.display());
}

/// Runs to completion, but fails the test instead of hanging past `limit`
/// (a hang is the bug some of these tests look for).
fn output_within(mut cmd: Command, limit: Duration) -> Output {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    loop {
        if child.try_wait().unwrap().is_some() {
            return child.wait_with_output().unwrap();
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("dokomodo hung for more than {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Status and stderr; stdout must be empty on failure.
fn fails_within(run: &Run, limit: Duration) -> (i32, String) {
    let out = output_within(run.command(), limit);
    let stderr =
        String::from_utf8_lossy(&out.stderr).replace(&run.dir.path().display().to_string(), "DIR");
    if out.status.code() != Some(0) {
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            "",
            "nothing on stdout on failure"
        );
    }
    (out.status.code().unwrap_or(-1), stderr)
}

/// Every regular file and symlink under `root`, with its bytes (a link's
/// bytes are its target).
fn snapshot(root: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<PathBuf, Vec<u8>>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries {
            let entry = entry.unwrap();
            let path = entry.path();
            let kind = entry.file_type().unwrap();
            let rel = path.strip_prefix(root).unwrap().to_path_buf();
            if kind.is_dir() {
                walk(root, &path, out);
            } else if kind.is_symlink() {
                out.insert(
                    rel,
                    std::fs::read_link(&path)
                        .unwrap()
                        .into_os_string()
                        .into_encoded_bytes(),
                );
            } else {
                out.insert(rel, std::fs::read(&path).unwrap());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(root, root, &mut out);
    out
}

fn is_temp(path: &Path) -> bool {
    path.to_string_lossy().contains("dokomodo-tmp")
}

/// Where a temporary path goes once renamed: every `.NAME.dokomodo-tmp.<pid>.<n>`
/// component becomes NAME. None if such a component is not hidden.
fn temp_target(rel: &Path) -> Option<PathBuf> {
    rel.iter()
        .map(|part| {
            let part = part.to_str()?;
            match part.split_once(".dokomodo-tmp.") {
                Some((name, _)) => name.strip_prefix('.').map(PathBuf::from),
                None => Some(PathBuf::from(part)),
            }
        })
        .collect()
}

fn temp_files(root: &Path) -> Vec<PathBuf> {
    snapshot(root).into_keys().filter(|p| is_temp(p)).collect()
}

/// A production render whose HOME is `home`; the seed is SEED or OTHER_SEED.
fn production(home: &Path, role: &[&str], other_seed: bool) -> Run {
    let mut args = vec!["render"];
    args.extend_from_slice(role);
    args.extend_from_slice(&["--home", path_str(home)]);
    let run = Run::new(PRODUCTION).args(&args);
    if other_seed {
        run.env("DOKOMODO_SEED", OTHER_SEED)
    } else {
        run.seed()
    }
}

/// The one-line error of a failed write: exit 74, `dokomodo: error: ...`
/// naming the OS error, nothing else on stderr.
fn assert_io_failure(run: &Run, os_error: &str) -> String {
    let (status, stderr) = fails_within(run, Duration::from_secs(60));
    assert_eq!(status, IO, "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
    assert!(stderr.starts_with("dokomodo: error: cannot "), "{stderr}");
    assert!(
        stderr.contains(os_error),
        "expected `{os_error}` in {stderr}"
    );
    stderr
}

// ---------------------------------------------------------------- full and read-only filesystems

#[test]
fn a_full_filesystem_fails_with_74_and_leaves_every_file_as_it_was() {
    assert_root();
    let dir = TempDir::new("full");
    let home = dir.path().join("home");
    std::fs::create_dir(&home).unwrap();
    let _fs = Mount::tmpfs(&home, "32k");
    // KMD's files fit; iguana's 59 confs and 59 addcoin files do not.
    production(&home, &["komodod", "--chain", "KMD"], false).status(0);
    let before = snapshot(&home);
    assert_eq!(
        before
            .keys()
            .map(|p| p.to_str().unwrap())
            .collect::<Vec<_>>(),
        [".komodo/komodo.conf"]
    );

    for other_seed in [false, true] {
        let stderr = assert_io_failure(
            &production(&home, &["iguana"], other_seed),
            "No space left on device",
        );
        assert!(
            stderr.contains(&home.display().to_string()),
            "the error names the file: {stderr}"
        );
        assert_eq!(
            snapshot(&home),
            before,
            "every previous file byte-identical"
        );
        assert_eq!(
            temp_files(&home),
            Vec::<PathBuf>::new(),
            "no temporary file left"
        );
    }
}

#[test]
fn a_read_only_filesystem_fails_with_74_and_changes_nothing() {
    assert_root();
    let dir = TempDir::new("ro");
    let home = dir.path().join("home");
    std::fs::create_dir(&home).unwrap();
    let fs = Mount::tmpfs(&home, "1m");
    production(&home, &["komodod", "--chain", "KMD"], false).status(0);
    let before = snapshot(&home);
    fs.remount_read_only();

    for role in [&["iguana"][..], &["komodod", "--chain", "KMD"]] {
        assert_io_failure(&production(&home, role, true), "Read-only file system");
        assert_eq!(snapshot(&home), before);
        assert_eq!(temp_files(&home), Vec::<PathBuf>::new());
    }
    // The same set, already in place, needs no write: a read-only HOME that
    // was rendered before still starts.
    let (stdout, _) = production(&home, &["komodod", "--chain", "KMD"], false).status(0);
    assert!(stdout.starts_with("unchanged "), "{stdout}");
}

#[test]
fn running_out_of_descriptors_part_way_through_new_directories_leaves_home_as_it_was() {
    assert_root();
    use std::os::unix::process::CommandExt;
    // Every directory of the set stays open until the set is in place: with
    // 40 descriptors the walk fails part-way through the chain directories it
    // is making inside the new, still hidden `.komodo`.
    let dir = TempDir::new("nofile");
    let home = dir.path().join("home");
    std::fs::create_dir(&home).unwrap();
    let run = production(&home, &["iguana"], false);
    let mut cmd = run.command();
    // SAFETY: runs in the child between fork and exec, and only calls
    // setrlimit, which is async-signal-safe.
    unsafe {
        cmd.pre_exec(|| {
            let limit = libc::rlimit {
                rlim_cur: 40,
                rlim_max: 40,
            };
            match libc::setrlimit(libc::RLIMIT_NOFILE, &limit) {
                0 => Ok(()),
                _ => Err(std::io::Error::last_os_error()),
            }
        })
    };
    let out = output_within(cmd, Duration::from_secs(60));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(IO), "{stderr}");
    // The directory is named where it belongs, not by its hidden name.
    let prefix = format!(
        "dokomodo: error: cannot open directory {}/.komodo/",
        home.display()
    );
    assert!(stderr.starts_with(&prefix), "{stderr}");
    assert!(
        stderr.ends_with(": Too many open files (os error 24)\n"),
        "{stderr}"
    );
    assert_eq!(
        snapshot(&home),
        BTreeMap::new(),
        "no hidden directory, no file left"
    );
    assert_eq!(
        std::fs::read_dir(&home).unwrap().count(),
        0,
        "not even an empty directory"
    );
}

// ---------------------------------------------------------------- kill -9 during a render

/// A small deterministic generator, so a failing iteration can be rerun.
struct Lcg(u64);

impl Lcg {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % n.max(1)
    }
}

fn copy_tree(from: &Path, to: &Path) {
    for (rel, bytes) in snapshot(from) {
        let path = to.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, bytes).unwrap();
    }
}

fn clear(dir: &Path) {
    std::fs::remove_dir_all(dir).unwrap();
    std::fs::create_dir(dir).unwrap();
}

#[test]
fn kill_9_during_a_render_never_leaves_a_torn_or_empty_conf() {
    assert_root();
    const ITERATIONS: u32 = 200;
    let dir = TempDir::new("kill");
    let (old, new, home) = (
        dir.path().join("old"),
        dir.path().join("new"),
        dir.path().join("home"),
    );
    // What a finished render leaves, with the old seed and with the new one.
    // Rendered at HOME itself and moved away: addcoin files name HOME.
    std::fs::create_dir(&home).unwrap();
    production(&home, &["iguana"], true).status(0);
    std::fs::rename(&home, &old).unwrap();
    std::fs::create_dir(&home).unwrap();
    let started = Instant::now();
    production(&home, &["iguana"], false).status(0);
    let render_time = started.elapsed();
    std::fs::rename(&home, &new).unwrap();
    std::fs::create_dir(&home).unwrap();
    let (old_files, new_files) = (snapshot(&old), snapshot(&new));
    assert_eq!(new_files.len(), 2 * 59, "59 confs and 59 addcoin files");

    let run = production(&home, &["iguana"], false);
    // Kill anywhere from before exec to the end of a whole render.
    let window_us = (render_time.as_micros() as u64).max(5_000);
    let mut rng = Lcg(0x5eed);
    let (mut killed, mut partial) = (0, 0);
    for i in 0..ITERATIONS {
        // Even iterations start from nothing, odd ones from a complete render
        // with another seed (so every file is replaced).
        clear(&home);
        let replacing = i % 2 == 1;
        if replacing {
            copy_tree(&old, &home);
        }
        let delay = Duration::from_micros(rng.below(window_us));
        let mut child = run
            .command()
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(delay);
        let _ = child.kill();
        let status = child.wait().unwrap();
        if status.code().is_none() {
            killed += 1;
        }

        let mut complete = 0;
        for (rel, bytes) in snapshot(&home) {
            if is_temp(&rel) {
                // A hidden `.NAME.dokomodo-tmp.<pid>.<n>` beside its target:
                // a temporary file, or a new directory (with what was written
                // in it so far) that was not renamed into place yet.
                let target = temp_target(&rel).unwrap_or_else(|| {
                    panic!("iteration {i} (delay {delay:?}): temp path {rel:?} is not hidden")
                });
                assert!(
                    new_files.keys().any(|f| f.starts_with(&target)),
                    "iteration {i}: temp path {rel:?} for no target"
                );
                continue;
            }
            let expected = new_files
                .get(&rel)
                .unwrap_or_else(|| panic!("iteration {i}: unexpected file {rel:?}"));
            if &bytes == expected {
                complete += 1;
            } else {
                assert!(
                    replacing && old_files.get(&rel) == Some(&bytes),
                    "iteration {i} (delay {delay:?}): {rel:?} is torn: {} bytes, neither the old nor the new file",
                    bytes.len()
                );
            }
        }
        if complete > 0 && complete < new_files.len() {
            partial += 1;
        }
    }
    // Not a timing assertion on dokomodo, a check that the test did its job:
    // with delays spread over a whole render, some kills land before the end.
    assert!(
        killed > 0,
        "no render was killed in {ITERATIONS} tries: the test proves nothing"
    );
    eprintln!(
        "{killed} of {ITERATIONS} renders killed, {partial} with a partial set in place (render: {render_time:?})"
    );
}

// ---------------------------------------------------------------- the secret

#[test]
fn seed_secret_faults_are_config_errors_that_name_the_path() {
    assert_root();
    let run = Run::new(NOTARY_YAML);
    let dir = run.dir.path().to_path_buf();
    std::fs::write(dir.join("file"), "x").unwrap();
    std::fs::create_dir(dir.join("a-directory")).unwrap();
    make_fifo(&dir.join("fifo"));
    std::fs::write(dir.join("unreadable"), "0123456789abcdef0123").unwrap();
    let cases: &[(&str, &str)] = &[
        (
            "missing",
            "no seed secret: DIR/missing does not exist (named by DOKOMODO_SEED_FILE)",
        ),
        (
            "file/seed",
            "cannot read the seed secret DIR/file/seed: Not a directory",
        ),
        (
            "a-directory",
            "the seed secret DIR/a-directory is a directory, not a file",
        ),
        // Regression: opening a FIFO blocked forever waiting for a writer.
        (
            "fifo",
            "the seed secret DIR/fifo is not a regular file (a FIFO, socket or device); mount the secret as a file",
        ),
        (
            "/dev/zero",
            "the seed secret /dev/zero is not a regular file",
        ),
    ];
    for (path, message) in cases {
        let path = if path.starts_with('/') {
            path.to_string()
        } else {
            dir.join(path).display().to_string()
        };
        let run = Run::new(NOTARY_YAML)
            .env("DOKOMODO_SEED_FILE", &path)
            .args(&["render", "iguana"]);
        let (status, stderr) = fails_within(&run, Duration::from_secs(10));
        let stderr = stderr.replace(&dir.display().to_string(), "DIR");
        assert_eq!(status, CONFIG, "{path}: {stderr}");
        assert!(
            stderr.starts_with(&format!("dokomodo: error: {message}")),
            "{path}: {stderr}"
        );
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert_eq!(
            std::fs::read_dir(run.home()).unwrap().count(),
            0,
            "{path}: nothing written"
        );
    }
}

// ---------------------------------------------------------------- the config

#[test]
fn config_faults_are_refused_quickly_with_the_path() {
    assert_root();
    let run = Run::new(NOTARY_YAML).seed();
    let dir = run.dir.path().to_path_buf();
    make_fifo(&dir.join("fifo.yaml"));
    // 100 MB, sparse: only its size matters.
    std::fs::File::create(dir.join("huge.yaml"))
        .unwrap()
        .set_len(100 << 20)
        .unwrap();
    let mut garbage = Vec::new();
    let mut rng = Lcg(7);
    for _ in 0..4096 {
        garbage.push(rng.below(256) as u8);
    }
    garbage[0] = 0xff; // never valid UTF-8, whatever follows
    std::fs::write(dir.join("garbage.yaml"), garbage).unwrap();
    let cases: &[(&str, &str)] = &[
        ("", "DIR: is a directory, not a YAML file"),
        ("fifo.yaml", "DIR/fifo.yaml: is not a regular file"),
        (
            "huge.yaml",
            "DIR/huge.yaml: is larger than 4 MiB; this is not a notary YAML",
        ),
        (
            "garbage.yaml",
            "DIR/garbage.yaml:1:1: the file is not UTF-8 text",
        ),
        (
            "missing.yaml",
            "DIR/missing.yaml: cannot read the config: No such file or directory",
        ),
    ];
    for (name, message) in cases {
        let path = if name.is_empty() {
            dir.clone()
        } else {
            dir.join(name)
        };
        let run =
            Run::new(NOTARY_YAML)
                .seed()
                .args(&["--config", path_str(&path), "render", "iguana"]);
        let started = Instant::now();
        let (status, stderr) = fails_within(&run, Duration::from_secs(20));
        let stderr = stderr.replace(&dir.display().to_string(), "DIR");
        assert_eq!(status, CONFIG, "{name}: {stderr}");
        assert_eq!(stderr, format!("dokomodo: error: {message}\n"), "{name}");
        // Coarse: refusing 100 MB must not mean reading 100 MB.
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "{name} took {:?}",
            started.elapsed()
        );
        assert_eq!(
            std::fs::read_dir(run.home()).unwrap().count(),
            0,
            "{name}: nothing written"
        );
    }
}

// ---------------------------------------------------------------- HOME

#[test]
fn a_missing_home_is_an_io_error_that_names_it() {
    assert_root();
    let run = Run::new(NOTARY_YAML).seed();
    let home = run.dir.path().join("no/such/home");
    let run = run.args(&["render", "iguana", "--home", path_str(&home)]);
    let (status, stderr) = fails_within(&run, Duration::from_secs(10));
    assert_eq!(status, IO, "{stderr}");
    assert_eq!(
        stderr,
        "dokomodo: error: cannot open directory DIR/no/such/home: No such file or directory (os error 2)\n"
    );
    assert!(!run.dir.path().join("no").exists(), "HOME is not created");
}

#[test]
fn a_home_that_is_not_writable_even_for_root_is_74_and_unchanged() {
    assert_root();
    let run = Run::new(NOTARY_YAML)
        .seed()
        .args(&["render", "komodod", "--chain", "BEER"]);
    run.status(0);
    let home = run.home();
    let before = snapshot(&home);
    std::fs::write(home.join(".komodo/BEER/BEER.conf"), "edited by hand\n").unwrap();
    let edited = snapshot(&home);
    assert_ne!(edited, before);
    let _ro = Mount::read_only_bind(&home);
    let (status, stderr) = fails_within(&run, Duration::from_secs(10));
    assert_eq!(status, IO, "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with("dokomodo: error: cannot write DIR/home/.komodo/BEER/BEER.conf"),
        "{stderr}"
    );
    assert!(stderr.contains("Read-only file system"), "{stderr}");
    assert_eq!(
        snapshot(&home),
        edited,
        "the hand edit is still there, nothing else changed"
    );
}

// ---------------------------------------------------------------- planted symlinks

#[test]
fn a_symlink_planted_at_a_conf_path_never_touches_the_outside_file() {
    assert_root();
    // iguana's role writes both confs (an assetchain's writes only its own).
    let run = Run::new(NOTARY_YAML).seed().args(&["render", "iguana"]);
    let outside = run
        .dir
        .write("outside/passwd", "root:x:0:0::/root:/bin/sh\n");
    let home = run.home();
    std::fs::create_dir_all(home.join(".komodo/BEER")).unwrap();
    std::os::unix::fs::symlink(&outside, home.join(".komodo/komodo.conf")).unwrap();
    let dangling = run.dir.path().join("outside/created-by-dokomodo");
    std::os::unix::fs::symlink(&dangling, home.join(".komodo/BEER/BEER.conf")).unwrap();

    let (stdout, _) = run.status(0);
    assert!(
        stdout.contains(&format!(
            "replaced  {}",
            home.join(".komodo/komodo.conf").display()
        )),
        "{stdout}"
    );
    assert_eq!(
        std::fs::read_to_string(&outside).unwrap(),
        "root:x:0:0::/root:/bin/sh\n",
        "the outside file is untouched"
    );
    assert!(
        !dangling.exists(),
        "a dangling link's target is not created"
    );
    for conf in [".komodo/komodo.conf", ".komodo/BEER/BEER.conf"] {
        let meta = std::fs::symlink_metadata(home.join(conf)).unwrap();
        assert!(meta.file_type().is_file(), "{conf} is now a regular file");
        assert!(
            std::fs::read_to_string(home.join(conf))
                .unwrap()
                .starts_with("rpcuser=user")
        );
    }
}

#[test]
fn a_symlinked_directory_leading_outside_home_is_refused() {
    assert_root();
    let run = Run::new(NOTARY_YAML)
        .seed()
        .args(&["render", "komodod", "--chain", "BEER"]);
    let outside = run.dir.path().join("outside");
    std::fs::create_dir(&outside).unwrap();
    std::os::unix::fs::symlink(&outside, run.home().join(".komodo")).unwrap();
    let (status, stderr) = fails_within(&run, Duration::from_secs(10));
    assert_eq!(status, IO, "{stderr}");
    assert_eq!(
        stderr,
        "dokomodo: error: refusing to follow symlink DIR/home/.komodo: directories below DIR/home must be real directories\n"
    );
    assert_eq!(
        std::fs::read_dir(&outside).unwrap().count(),
        0,
        "nothing written outside HOME"
    );
}

#[test]
fn a_fifo_planted_at_a_conf_path_does_not_hang_the_entrypoint() {
    assert_root();
    let run = Run::new(NOTARY_YAML)
        .seed()
        .args(&["render", "komodod", "--chain", "BEER"]);
    std::fs::create_dir_all(run.home().join(".komodo/BEER")).unwrap();
    make_fifo(&run.home().join(".komodo/BEER/BEER.conf"));
    let (status, stderr) = fails_within(&run, Duration::from_secs(10));
    assert_eq!(status, IO, "{stderr}");
    assert!(
        stderr.starts_with("dokomodo: error: cannot replace DIR/home/.komodo/BEER/BEER.conf: "),
        "{stderr}"
    );
    assert!(
        std::fs::symlink_metadata(run.home().join(".komodo/BEER/BEER.conf"))
            .unwrap()
            .file_type()
            .is_fifo()
    );
    assert!(
        !run.home().join(".komodo/komodo.conf").exists(),
        "nothing written"
    );
}
