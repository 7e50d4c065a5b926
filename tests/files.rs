//! The file writer against a real filesystem: outcomes, modes, symlinks, and
//! failures (a directory in the way, read-only, full) that must leave every
//! previous file as it was and no temporary file behind.
//!
//! Runs as root (the mount tests need it); a failing mount fails the test.

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt, symlink};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, SystemTime};

use dokomodo::render::files::{FileSpec, Modes, Outcome, write_set};

mod common;
use common::mount::Mount;

const PRIVATE: Modes = Modes {
    shared_with_group0: false,
};
const SHARED: Modes = Modes {
    shared_with_group0: true,
};

/// A directory under the system temp dir, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(test: &str) -> TempDir {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let path =
            std::env::temp_dir().join(format!("dokomodo-files-{}-{n}-{test}", std::process::id()));
        fs::create_dir(&path).unwrap();
        TempDir(path)
    }

    fn path(&self) -> &Path {
        &self.0
    }

    /// A fresh subdirectory, e.g. "outside" the root under test.
    fn sub(&self, name: &str) -> PathBuf {
        let path = self.0.join(name);
        fs::create_dir_all(&path).unwrap();
        path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

fn spec(path: &str, contents: &str) -> FileSpec {
    FileSpec {
        path: path.into(),
        contents: contents.as_bytes().to_vec(),
    }
}

fn outcomes(result: &[(PathBuf, Outcome)]) -> Vec<(&str, Outcome)> {
    result
        .iter()
        .map(|(p, o)| (p.to_str().unwrap(), *o))
        .collect()
}

fn mode(p: impl AsRef<Path>) -> u32 {
    fs::symlink_metadata(p).unwrap().mode() & 0o7777
}

fn gid(p: impl AsRef<Path>) -> u32 {
    fs::symlink_metadata(p).unwrap().gid()
}

fn read(p: impl AsRef<Path>) -> String {
    fs::read_to_string(p).unwrap()
}

fn mtime(p: impl AsRef<Path>) -> SystemTime {
    fs::symlink_metadata(p).unwrap().modified().unwrap()
}

/// Backdates a file so "not rewritten" shows without sleeping.
fn backdate(p: impl AsRef<Path>) -> SystemTime {
    let past = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000_000);
    fs::File::options()
        .write(true)
        .open(p)
        .unwrap()
        .set_modified(past)
        .unwrap();
    past
}

#[derive(Debug, PartialEq)]
enum Entry {
    Dir {
        mode: u32,
    },
    File {
        contents: Vec<u8>,
        mode: u32,
        mtime: SystemTime,
        ino: u64,
    },
    Link(PathBuf),
}

/// Everything under `root` that a failed write must not change.
fn snapshot(root: &Path) -> BTreeMap<PathBuf, Entry> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<PathBuf, Entry>) {
        for entry in fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let meta = fs::symlink_metadata(&path).unwrap();
            let rel = path.strip_prefix(root).unwrap().to_path_buf();
            let mode = meta.mode() & 0o7777;
            if meta.is_dir() {
                out.insert(rel, Entry::Dir { mode });
                walk(root, &path, out);
            } else if meta.is_symlink() {
                out.insert(rel, Entry::Link(fs::read_link(&path).unwrap()));
            } else {
                let contents = fs::read(&path).unwrap();
                out.insert(
                    rel,
                    Entry::File {
                        contents,
                        mode,
                        mtime: meta.modified().unwrap(),
                        ino: meta.ino(),
                    },
                );
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(root, root, &mut out);
    out
}

fn temp_files(root: &Path) -> Vec<PathBuf> {
    snapshot(root)
        .into_keys()
        .filter(|p| p.to_string_lossy().contains("dokomodo-tmp"))
        .collect()
}

#[test]
fn first_run_creates_and_a_rerun_leaves_everything_untouched() {
    let tmp = TempDir::new("rerun");
    let root = tmp.path();
    let set = [
        spec("z.conf", "z=1\n"),
        spec(".komodo/komodo.conf", "rpcport=7771\n"),
    ];

    let first = write_set(root, &[], &set, PRIVATE).unwrap();
    assert_eq!(
        outcomes(&first),
        [
            ("z.conf", Outcome::Created),
            (".komodo/komodo.conf", Outcome::Created)
        ]
    );
    assert_eq!(read(root.join(".komodo/komodo.conf")), "rpcport=7771\n");

    let past = backdate(root.join("z.conf"));
    backdate(root.join(".komodo/komodo.conf"));
    let before = snapshot(root);
    let second = write_set(root, &[], &set, PRIVATE).unwrap();
    assert_eq!(
        outcomes(&second),
        [
            ("z.conf", Outcome::Unchanged),
            (".komodo/komodo.conf", Outcome::Unchanged)
        ]
    );
    assert_eq!(mtime(root.join("z.conf")), past);
    assert_eq!(
        snapshot(root),
        before,
        "an unchanged set must not touch the disk"
    );
}

#[test]
fn only_the_changed_file_is_replaced() {
    let tmp = TempDir::new("replace");
    let root = tmp.path();
    write_set(
        root,
        &[],
        &[spec("a.conf", "a\n"), spec("b.conf", "b\n")],
        PRIVATE,
    )
    .unwrap();
    let past = backdate(root.join("a.conf"));

    let result = write_set(
        root,
        &[],
        &[spec("a.conf", "a\n"), spec("b.conf", "b=2\n")],
        PRIVATE,
    )
    .unwrap();
    assert_eq!(
        outcomes(&result),
        [
            ("a.conf", Outcome::Unchanged),
            ("b.conf", Outcome::Replaced)
        ]
    );
    assert_eq!(read(root.join("b.conf")), "b=2\n");
    assert_eq!(mtime(root.join("a.conf")), past);
    assert!(temp_files(root).is_empty());
}

/// Every directory and file under `root`, with its mode and group.
fn modes_under(root: &Path) -> Vec<(String, u32, u32)> {
    let mut out: Vec<_> = snapshot(root)
        .into_keys()
        .map(|rel| {
            let meta = fs::symlink_metadata(root.join(&rel)).unwrap();
            (rel.display().to_string(), meta.mode() & 0o7777, meta.gid())
        })
        .collect();
    out.sort();
    out
}

/// What `render komodod --chain BEER` leaves in a fresh HOME that `prepare`
/// set up, run by the real binary in a child process with this umask (and,
/// for group mode, as `uid` with gid 0). The umask is per process: set here,
/// it would reach every test running beside this one.
fn render_in_child(
    umask: u32,
    uid: Option<u32>,
    prepare: impl FnOnce(&Path),
) -> Vec<(String, u32, u32)> {
    use std::os::unix::process::CommandExt;
    let run = common::Run::new(common::NOTARY_YAML).seed();
    let home = run.home();
    prepare(&home);
    let run = run.args(&[
        "render",
        "komodod",
        "--chain",
        "BEER",
        "--home",
        home.to_str().unwrap(),
    ]);
    let mut cmd = run.command();
    // SAFETY: runs in the child between fork and exec and only makes
    // async-signal-safe system calls.
    unsafe {
        cmd.pre_exec(move || {
            libc::umask(umask as libc::mode_t);
            if let Some(uid) = uid {
                if libc::setgroups(0, std::ptr::null()) != 0
                    || libc::setgid(0) != 0
                    || libc::setuid(uid) != 0
                {
                    return Err(std::io::Error::last_os_error());
                }
            }
            Ok(())
        })
    };
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    modes_under(&home)
}

/// The modes `render komodod --chain BEER` must leave, with the group
/// where group mode sets it.
fn expected(dir: u32, file: u32, gid: Option<u32>) -> impl Fn(&[(String, u32, u32)]) {
    move |got| {
        let want = [
            (".komodo", dir),
            (".komodo/BEER", dir),
            (".komodo/BEER/BEER.conf", file),
        ];
        let got_modes: Vec<_> = got.iter().map(|(p, m, _)| (p.as_str(), *m)).collect();
        assert_eq!(got_modes, want);
        if let Some(gid) = gid {
            assert!(got.iter().all(|(_, _, g)| *g == gid), "{got:?}");
        }
    }
}

#[test]
fn private_modes_are_0600_and_0700_whatever_the_umask() {
    // 0277 strips the owner's write bit: the modes are set after creation.
    // 0022 and 0000 leave 0700 as asked: the new directory shows it, and
    // nothing inside needs a chmod. Either way the result is the same.
    for umask in [0o277, 0o077, 0o022, 0o000] {
        let got = render_in_child(umask, None, |_| {});
        expected(0o700, 0o600, None)(&got);
        // And a file replaced in an existing directory, through a temporary file.
        let got = render_in_child(umask, None, |home| {
            for dir in [".komodo", ".komodo/BEER"] {
                fs::create_dir(home.join(dir)).unwrap();
                fs::set_permissions(home.join(dir), fs::Permissions::from_mode(0o700)).unwrap();
            }
            fs::write(home.join(".komodo/BEER/BEER.conf"), "stale\n").unwrap();
        });
        expected(0o700, 0o600, None)(&got);
    }
}

#[test]
fn a_setgid_home_does_not_make_setgid_directories() {
    let got = render_in_child(0o022, None, |home| {
        std::os::unix::fs::chown(home, None, Some(1234)).unwrap();
        fs::set_permissions(home, fs::Permissions::from_mode(0o2755)).unwrap();
    });
    // mkdirat in a setgid directory gives 02700: seen, and set right.
    expected(0o700, 0o600, None)(&got);
}

#[test]
fn a_default_acl_on_home_does_not_change_the_modes() {
    // A POSIX default ACL replaces the umask for new entries. One that
    // denies the owner write (user::r-x) gives new directories 0500 and new
    // files 0400 unless the modes are set afterwards; one that allows
    // everything gives 0700 and 0600, as asked.
    for owner in [0o5u16, 0o7] {
        let got = render_in_child(0o022, None, |home| set_default_acl(home, owner));
        expected(0o700, 0o600, None)(&got);
    }
}

/// Gives `dir` the default ACL `user::OWNER, group::---, other::---`.
fn set_default_acl(dir: &Path, owner: u16) {
    // The kernel's xattr format: version 2, then (tag, perm, id) entries.
    let mut acl = 2u32.to_le_bytes().to_vec();
    for (tag, perm) in [(0x01u16, owner), (0x04, 0), (0x20, 0)] {
        acl.extend(tag.to_le_bytes());
        acl.extend(perm.to_le_bytes());
        acl.extend(u32::MAX.to_le_bytes());
    }
    let path = std::ffi::CString::new(dir.as_os_str().as_encoded_bytes()).unwrap();
    let name = c"system.posix_acl_default";
    // SAFETY: both strings are NUL-terminated; acl is valid for its length.
    let r = unsafe {
        libc::setxattr(
            path.as_ptr(),
            name.as_ptr(),
            acl.as_ptr().cast(),
            acl.len(),
            0,
        )
    };
    assert_eq!(r, 0, "setxattr: {}", std::io::Error::last_os_error());
}

#[test]
fn group_mode_modes_whatever_the_umask() {
    // A non-root uid with gid 0 is group mode: 0770, 0660, group 0. With
    // umask 0002 the new directory comes out 0770 as asked; with 0022 it
    // comes out 0750 and everything is set afterwards.
    for umask in [0o002, 0o022] {
        let got = render_in_child(umask, Some(10001), |home| {
            std::os::unix::fs::chown(home, Some(10001), Some(0)).unwrap();
        });
        expected(0o770, 0o660, Some(0))(&got);
    }
}

#[test]
fn group_mode_uses_0660_0770_and_group_0_also_on_existing_files() {
    let tmp = TempDir::new("group");
    let root = tmp.path();
    let shared = tmp.sub("shared");
    fs::write(shared.join("a.conf"), "a\n").unwrap();
    for p in [shared.clone(), shared.join("a.conf")] {
        std::os::unix::fs::chown(&p, None, Some(1234)).unwrap();
        fs::set_permissions(&p, fs::Permissions::from_mode(0o755)).unwrap();
    }
    let past = backdate(shared.join("a.conf"));

    let set = [
        spec("shared/a.conf", "a\n"),
        spec("shared/new/b.conf", "b\n"),
    ];
    let result = write_set(root, &[PathBuf::from("data")], &set, SHARED).unwrap();
    assert_eq!(
        outcomes(&result),
        [
            ("shared/a.conf", Outcome::Unchanged),
            ("shared/new/b.conf", Outcome::Created)
        ]
    );

    for dir in ["shared", "shared/new", "data"] {
        assert_eq!(
            (mode(root.join(dir)), gid(root.join(dir))),
            (0o770, 0),
            "{dir}"
        );
    }
    for file in ["shared/a.conf", "shared/new/b.conf"] {
        assert_eq!(
            (mode(root.join(file)), gid(root.join(file))),
            (0o660, 0),
            "{file}"
        );
    }
    assert_eq!(
        mtime(shared.join("a.conf")),
        past,
        "fixing the mode must not rewrite"
    );
}

#[test]
fn for_current_process_picks_private_mode_for_root() {
    // These tests run as root: group mode is only for a non-root uid with gid 0.
    assert_eq!(Modes::for_current_process(), PRIVATE);
}

#[test]
fn an_unchanged_file_with_a_loose_mode_is_tightened_not_rewritten() {
    let tmp = TempDir::new("tighten");
    let root = tmp.path();
    fs::write(root.join("a.conf"), "a\n").unwrap();
    fs::set_permissions(root.join("a.conf"), fs::Permissions::from_mode(0o644)).unwrap();
    let past = backdate(root.join("a.conf"));
    let ino = fs::metadata(root.join("a.conf")).unwrap().ino();

    let result = write_set(root, &[], &[spec("a.conf", "a\n")], PRIVATE).unwrap();
    assert_eq!(outcomes(&result), [("a.conf", Outcome::Unchanged)]);
    assert_eq!(mode(root.join("a.conf")), 0o600);
    assert_eq!(mtime(root.join("a.conf")), past);
    assert_eq!(fs::metadata(root.join("a.conf")).unwrap().ino(), ino);
}

#[test]
fn target_directories_get_the_mode_but_the_root_and_directories_above_do_not() {
    let tmp = TempDir::new("dirmodes");
    let root = tmp.path();
    fs::set_permissions(root, fs::Permissions::from_mode(0o755)).unwrap();
    let opt = tmp.sub("opt");
    let komodo = tmp.sub(".komodo");
    for dir in [&opt, &komodo] {
        fs::set_permissions(dir, fs::Permissions::from_mode(0o755)).unwrap();
    }

    let set = [
        spec("top.conf", "t\n"),
        spec("opt/komodo/x.conf", "x\n"),
        spec(".komodo/komodo.conf", "k\n"),
    ];
    write_set(root, &[], &set, PRIVATE).unwrap();
    assert_eq!(mode(root), 0o755, "the root is the caller's");
    assert_eq!(
        mode(&opt),
        0o755,
        "a pre-existing directory above a target is left alone"
    );
    assert_eq!(mode(opt.join("komodo")), 0o700, "created");
    assert_eq!(
        mode(&komodo),
        0o700,
        "a pre-existing target directory is fixed"
    );
}

#[test]
fn extra_directories_are_created_even_when_empty() {
    let tmp = TempDir::new("dirs");
    let root = tmp.path();
    let result = write_set(root, &[PathBuf::from(".komodo/BEER")], &[], PRIVATE).unwrap();
    assert!(result.is_empty());
    assert!(root.join(".komodo/BEER").is_dir());
}

#[test]
fn a_symlink_at_a_target_file_is_replaced_and_its_target_left_intact() {
    let tmp = TempDir::new("filelink");
    let root = tmp.sub("root");
    let outside = tmp.sub("outside");
    fs::write(outside.join("shadow"), "precious\n").unwrap();
    fs::set_permissions(outside.join("shadow"), fs::Permissions::from_mode(0o644)).unwrap();
    symlink(outside.join("shadow"), root.join("a.conf")).unwrap();
    symlink(outside.join("ghost"), root.join("b.conf")).unwrap();

    let result = write_set(
        &root,
        &[],
        &[spec("a.conf", "precious\n"), spec("b.conf", "b\n")],
        PRIVATE,
    )
    .unwrap();
    assert_eq!(
        outcomes(&result),
        [("a.conf", Outcome::Replaced), ("b.conf", Outcome::Replaced)]
    );
    assert_eq!(read(outside.join("shadow")), "precious\n");
    assert_eq!(
        mode(outside.join("shadow")),
        0o644,
        "the link's target is not chmod'ed either"
    );
    assert!(
        !outside.join("ghost").exists(),
        "a dangling link is not followed to create its target"
    );
    for name in ["a.conf", "b.conf"] {
        assert!(
            fs::symlink_metadata(root.join(name)).unwrap().is_file(),
            "{name} is now a regular file"
        );
    }
    assert_eq!(read(root.join("b.conf")), "b\n");
}

#[test]
fn a_symlinked_directory_below_the_root_is_refused_and_nothing_written() {
    let tmp = TempDir::new("dirlink");
    let root = tmp.sub("root");
    let outside = tmp.sub("outside");
    fs::write(root.join("first.conf"), "old\n").unwrap();
    symlink(&outside, root.join(".komodo")).unwrap();
    let before = snapshot(&root);

    let set = [
        spec("first.conf", "new\n"),
        spec("new/x.conf", "x\n"),
        spec(".komodo/komodo.conf", "k\n"),
    ];
    let err = write_set(&root, &[], &set, PRIVATE).unwrap_err();
    let root_str = root.display();
    assert_eq!(
        err.to_string(),
        format!(
            "refusing to follow symlink {root_str}/.komodo: directories below {root_str} must be real directories"
        )
    );
    assert_eq!(
        snapshot(&root),
        before,
        "no file, no temp file, no new directory"
    );
    assert!(snapshot(&outside).is_empty());
}

#[test]
fn a_symlink_deeper_in_the_path_is_refused_too() {
    let tmp = TempDir::new("deeplink");
    let root = tmp.sub("root");
    let outside = tmp.sub("outside");
    fs::create_dir(root.join("a")).unwrap();
    symlink(&outside, root.join("a/b")).unwrap();

    let err = write_set(&root, &[PathBuf::from("a/b/c")], &[], PRIVATE).unwrap_err();
    assert!(
        err.to_string().starts_with(&format!(
            "refusing to follow symlink {}/a/b:",
            root.display()
        )),
        "{err}"
    );
    assert!(snapshot(&outside).is_empty());
}

#[test]
fn the_root_itself_may_be_a_symlink() {
    let tmp = TempDir::new("rootlink");
    let real = tmp.sub("var/home");
    symlink(&real, tmp.path().join("home")).unwrap();

    write_set(
        &tmp.path().join("home"),
        &[],
        &[spec(".komodo/komodo.conf", "k\n")],
        PRIVATE,
    )
    .unwrap();
    assert_eq!(read(real.join(".komodo/komodo.conf")), "k\n");
}

#[test]
fn a_directory_in_the_way_fails_before_anything_changes() {
    let tmp = TempDir::new("inway");
    let root = tmp.path();
    fs::write(root.join("a.conf"), "old\n").unwrap();
    fs::create_dir(root.join("c.conf")).unwrap();
    let before = snapshot(root);

    let set = [
        spec("a.conf", "new\n"),
        spec("new/x.conf", "x\n"),
        spec("c.conf", "c\n"),
    ];
    let err = write_set(root, &[PathBuf::from("data")], &set, PRIVATE).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "cannot replace {}/c.conf: it is a directory, not a regular file",
            root.display()
        )
    );
    assert_eq!(
        snapshot(root),
        before,
        "a.conf as it was, new/ and data/ removed, no temp file"
    );
}

#[test]
fn a_read_only_directory_fails_before_anything_changes() {
    let tmp = TempDir::new("rodir");
    let root = tmp.path();
    fs::write(root.join("a.conf"), "old\n").unwrap();
    fs::write(tmp.sub("ro").join("b.conf"), "old b\n").unwrap();
    let _ro = Mount::read_only_bind(&root.join("ro"));
    let before = snapshot(root);

    let err = write_set(
        root,
        &[],
        &[spec("a.conf", "new\n"), spec("ro/b.conf", "new b\n")],
        PRIVATE,
    )
    .unwrap_err();
    let msg = err.to_string();
    let prefix = format!(
        "cannot write {0}/ro/b.conf (temporary file {0}/ro/.b.conf.dokomodo-tmp.",
        root.display()
    );
    assert!(msg.starts_with(&prefix), "{msg}");
    assert!(
        msg.ends_with("): Read-only file system (os error 30)"),
        "{msg}"
    );
    assert_eq!(
        snapshot(root),
        before,
        "a.conf's temp file removed, a.conf as it was"
    );
}

#[test]
fn a_directory_that_cannot_be_created_is_named() {
    let tmp = TempDir::new("mkdirfail");
    let root = tmp.path();
    tmp.sub(".komodo");
    let _ro = Mount::read_only_bind(&root.join(".komodo"));

    let err = write_set(
        root,
        &[PathBuf::from(".komodo/BEER")],
        &[spec("a.conf", "a\n")],
        PRIVATE,
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "cannot create directory {}/.komodo/BEER: Read-only file system (os error 30)",
            root.display()
        )
    );
    assert!(!root.join("a.conf").exists());
}

#[test]
fn a_full_filesystem_fails_cleanly_and_frees_what_it_took() {
    let tmp = TempDir::new("full");
    let root = tmp.sub("small");
    let _fs = Mount::tmpfs(&root, "64k");
    write_set(&root, &[], &[spec("a.conf", "old\n")], PRIVATE).unwrap();
    let before = snapshot(&root);

    let big = "x".repeat(256 * 1024);
    let err = write_set(
        &root,
        &[],
        &[spec("a.conf", "new\n"), spec("big.dat", &big)],
        PRIVATE,
    )
    .unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.starts_with(&format!(
            "cannot write {}/big.dat (temporary file ",
            root.display()
        )),
        "{msg}"
    );
    assert!(
        msg.ends_with("): No space left on device (os error 28)"),
        "{msg}"
    );
    assert_eq!(snapshot(&root), before);

    // The space the temp files took is free again: a set that fits goes through.
    let fits = "y".repeat(48 * 1024);
    let result = write_set(
        &root,
        &[],
        &[spec("a.conf", "new\n"), spec("mid.dat", &fits)],
        PRIVATE,
    )
    .unwrap();
    assert_eq!(
        outcomes(&result),
        [("a.conf", Outcome::Replaced), ("mid.dat", Outcome::Created)]
    );
}

#[test]
fn a_read_only_filesystem_changes_nothing_but_accepts_an_unchanged_set() {
    let tmp = TempDir::new("rofs");
    let root = tmp.sub("mnt");
    let fs_ = Mount::tmpfs(&root, "64k");
    let set = [
        spec(".komodo/komodo.conf", "rpcport=7771\n"),
        spec("pubkey.txt", "02ab\n"),
    ];
    write_set(&root, &[PathBuf::from(".komodo/BEER")], &set, PRIVATE).unwrap();
    fs_.remount_read_only();
    let before = snapshot(&root);

    let changed = [
        spec(".komodo/komodo.conf", "rpcport=7771\n"),
        spec("pubkey.txt", "03cd\n"),
    ];
    let err = write_set(&root, &[], &changed, PRIVATE).unwrap_err();
    assert!(
        err.to_string()
            .ends_with("): Read-only file system (os error 30)"),
        "{err}"
    );
    assert_eq!(snapshot(&root), before);

    // A read-only root filesystem with config already in place is fine.
    let result = write_set(&root, &[PathBuf::from(".komodo/BEER")], &set, PRIVATE).unwrap();
    assert_eq!(
        outcomes(&result),
        [
            (".komodo/komodo.conf", Outcome::Unchanged),
            ("pubkey.txt", Outcome::Unchanged)
        ]
    );
}

#[test]
fn invalid_paths_are_refused_before_anything_is_written() {
    let tmp = TempDir::new("invalid");
    let root = tmp.sub("root");
    for bad in ["../escape.conf", "/etc/escape.conf", "a//b.conf"] {
        let err = write_set(
            &root,
            &[],
            &[spec("ok.conf", "ok\n"), spec(bad, "x\n")],
            PRIVATE,
        )
        .unwrap_err();
        assert!(
            err.to_string()
                .starts_with(&format!("invalid path {bad:?} in the file set: ")),
            "{err}"
        );
    }
    assert!(snapshot(&root).is_empty());
    assert!(!tmp.path().join("escape.conf").exists());
}

#[test]
fn a_new_directory_appears_whole_and_a_failure_inside_it_leaves_nothing() {
    let tmp = TempDir::new("newdir");
    let root = tmp.sub("small");
    let _fs = Mount::tmpfs(&root, "64k");
    write_set(&root, &[], &[spec("a.conf", "old\n")], PRIVATE).unwrap();
    let before = snapshot(&root);

    // The new directory is built under a hidden name: the error names the
    // file where it belongs and where it was being written.
    let big = "x".repeat(256 * 1024);
    let err = write_set(
        &root,
        &[],
        &[
            spec("a.conf", "new\n"),
            spec("new/deeper/x.conf", "x\n"),
            spec("new/big.dat", &big),
        ],
        PRIVATE,
    )
    .unwrap_err();
    let msg = err.to_string();
    let prefix = format!(
        "cannot write {0}/new/big.dat (temporary file {0}/.new.dokomodo-tmp.",
        root.display()
    );
    assert!(msg.starts_with(&prefix), "{msg}");
    assert!(
        msg.ends_with("/big.dat): No space left on device (os error 28)"),
        "{msg}"
    );
    assert_eq!(
        snapshot(&root),
        before,
        "the hidden directory is gone with everything in it"
    );

    let result = write_set(
        &root,
        &[PathBuf::from("new/empty")],
        &[spec("a.conf", "new\n"), spec("new/deeper/x.conf", "x\n")],
        PRIVATE,
    )
    .unwrap();
    assert_eq!(
        outcomes(&result),
        [
            ("a.conf", Outcome::Replaced),
            ("new/deeper/x.conf", Outcome::Created)
        ]
    );
    assert_eq!(read(root.join("new/deeper/x.conf")), "x\n");
    for dir in ["new", "new/deeper", "new/empty"] {
        assert_eq!(mode(root.join(dir)), 0o700, "{dir}");
    }
    assert!(temp_files(&root).is_empty());
}

#[test]
fn a_new_directory_beside_existing_ones_leaves_them_alone() {
    let tmp = TempDir::new("sibling");
    let root = tmp.path();
    let set = [
        spec(".komodo/KMD.conf", "k\n"),
        spec(".komodo/BEER/BEER.conf", "b\n"),
    ];
    write_set(root, &[], &set, PRIVATE).unwrap();
    let past = backdate(root.join(".komodo/BEER/BEER.conf"));

    let more = [
        spec(".komodo/KMD.conf", "k\n"),
        spec(".komodo/BEER/BEER.conf", "b\n"),
        spec(".komodo/PIZZA/PIZZA.conf", "p\n"),
    ];
    let result = write_set(root, &[], &more, PRIVATE).unwrap();
    assert_eq!(
        outcomes(&result),
        [
            (".komodo/KMD.conf", Outcome::Unchanged),
            (".komodo/BEER/BEER.conf", Outcome::Unchanged),
            (".komodo/PIZZA/PIZZA.conf", Outcome::Created)
        ]
    );
    assert_eq!(read(root.join(".komodo/PIZZA/PIZZA.conf")), "p\n");
    assert_eq!(mtime(root.join(".komodo/BEER/BEER.conf")), past);
    assert!(temp_files(root).is_empty());
}

#[test]
fn a_hand_edit_of_the_same_length_is_replaced_whatever_was_read_before_it() {
    let tmp = TempDir::new("sameedit");
    let root = tmp.path();
    let big = "b".repeat(10_000);
    let set = [
        spec("big.conf", &big),
        spec("a.conf", "rpcport=7771\n"),
        spec("small.conf", "s\n"),
    ];
    write_set(root, &[], &set, PRIVATE).unwrap();
    // Same length, one byte different: only reading it tells.
    fs::write(root.join("a.conf"), "rpcport=7772\n").unwrap();

    let result = write_set(root, &[], &set, PRIVATE).unwrap();
    assert_eq!(
        outcomes(&result),
        [
            ("big.conf", Outcome::Unchanged),
            ("a.conf", Outcome::Replaced),
            ("small.conf", Outcome::Unchanged)
        ]
    );
    assert_eq!(read(root.join("a.conf")), "rpcport=7771\n");
}

#[test]
fn a_file_with_another_hard_link_is_rewritten_not_chmod_ed() {
    let tmp = TempDir::new("hardlink");
    let root = tmp.sub("root");
    let outside = tmp.sub("outside");
    fs::write(outside.join("shared"), "a\n").unwrap();
    fs::set_permissions(outside.join("shared"), fs::Permissions::from_mode(0o644)).unwrap();
    fs::hard_link(outside.join("shared"), root.join("a.conf")).unwrap();

    let result = write_set(&root, &[], &[spec("a.conf", "a\n")], PRIVATE).unwrap();
    assert_eq!(outcomes(&result), [("a.conf", Outcome::Replaced)]);
    assert_eq!(mode(root.join("a.conf")), 0o600);
    assert_eq!(
        mode(outside.join("shared")),
        0o644,
        "the other name keeps its mode"
    );
    assert_eq!(fs::metadata(outside.join("shared")).unwrap().nlink(), 1);
}
