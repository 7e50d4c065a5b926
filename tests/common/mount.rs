//! Mounts for the fault tests (tmpfs to fill up, read-only binds); these
//! tests run as root, as CI does.

use std::path::{Path, PathBuf};
use std::process::Command;

/// A mount, unmounted when dropped (declare it after its TempDir); lazily if
/// something still holds it, e.g. a test running in parallel that is between
/// fork and exec with a descriptor inside.
pub struct Mount(PathBuf);

impl Mount {
    pub fn tmpfs(dir: &Path, size: &str) -> Mount {
        sh(
            "mount",
            &[
                "-t",
                "tmpfs",
                "-o",
                &format!("size={size},mode=0755"),
                "tmpfs",
                path_str(dir),
            ],
        );
        Mount(dir.to_path_buf())
    }

    /// `dir` bound onto itself, read-only.
    pub fn read_only_bind(dir: &Path) -> Mount {
        sh("mount", &["--bind", path_str(dir), path_str(dir)]);
        let mount = Mount(dir.to_path_buf());
        sh("mount", &["-o", "remount,bind,ro", path_str(dir)]);
        mount
    }

    pub fn remount_read_only(&self) {
        sh("mount", &["-o", "remount,ro", path_str(&self.0)]);
    }
}

impl Drop for Mount {
    fn drop(&mut self) {
        let unmounted = Command::new("umount").arg(&self.0).status();
        if !unmounted.is_ok_and(|s| s.success()) {
            let _ = Command::new("umount").arg("-l").arg(&self.0).status();
        }
    }
}

/// Runs a command that must succeed (these tests need root).
pub fn sh(cmd: &str, args: &[&str]) {
    let status = Command::new(cmd)
        .args(args)
        .status()
        .unwrap_or_else(|e| panic!("{cmd}: {e}"));
    assert!(
        status.success(),
        "{cmd} {args:?} failed: {status} (these tests need root)"
    );
}

pub fn path_str(p: &Path) -> &str {
    p.to_str().expect("test paths are UTF-8")
}
