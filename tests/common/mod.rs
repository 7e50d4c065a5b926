//! Runs the real binary the way an operator does: a YAML on disk, a clean
//! environment, and a look at status, stdout and stderr.
#![allow(dead_code)]

pub mod mount;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicU32, Ordering};

pub const BIN: &str = env!("CARGO_BIN_EXE_dokomodo");

/// The dev chains, as an operator writes them.
pub const NOTARY_YAML: &str = "\
rpc:
  allow: [172.20.0.0/16]
addnode: [78.47.196.146]
chains:
  KMD: {}
  BEER:
    ac_supply: 100000000
  PIZZA:
    ac_supply: 100000000
    addnode: [24.54.206.138]
";

pub const SEED: &str = "correct horse battery staple";

/// A fresh directory under the system temp dir, removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        static N: AtomicU32 = AtomicU32::new(0);
        let dir = std::env::temp_dir().join(format!(
            "dokomodo-test-{tag}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
    pub fn path(&self) -> &Path {
        &self.0
    }
    pub fn write(&self, name: &str, contents: impl AsRef<[u8]>) -> PathBuf {
        let path = self.0.join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).unwrap();
        }
        std::fs::write(&path, contents).unwrap();
        path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// One invocation: a YAML (written as notary.yaml), arguments, environment.
pub struct Run {
    pub dir: TempDir,
    args: Vec<String>,
    env: Vec<(String, String)>,
}

impl Run {
    pub fn new(yaml: &str) -> Run {
        let dir = TempDir::new("cli");
        dir.write("notary.yaml", yaml);
        std::fs::create_dir_all(dir.path().join("home")).unwrap();
        Run {
            dir,
            args: Vec::new(),
            env: Vec::new(),
        }
    }
    pub fn args(mut self, args: &[&str]) -> Run {
        self.args.extend(args.iter().map(|a| a.to_string()));
        self
    }
    pub fn env(mut self, key: &str, value: &str) -> Run {
        self.env.push((key.to_owned(), value.to_owned()));
        self
    }
    pub fn seed(self) -> Run {
        self.env("DOKOMODO_SEED", SEED)
    }
    pub fn home(&self) -> PathBuf {
        self.dir.path().join("home")
    }
    pub fn command(&self) -> Command {
        let mut cmd = Command::new(BIN);
        cmd.env_clear()
            .env("PATH", "/usr/local/bin:/usr/bin:/bin")
            .env("HOME", self.home())
            .env("DOKOMODO_CONFIG", self.dir.path().join("notary.yaml"))
            .current_dir(self.dir.path())
            .args(&self.args);
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        cmd
    }
    pub fn output(&self) -> Output {
        self.command().output().unwrap()
    }
    /// Runs and checks the exit status; returns (stdout, stderr).
    pub fn status(&self, status: i32) -> (String, String) {
        let out = self.output();
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert_eq!(
            out.status.code(),
            Some(status),
            "stdout:\n{stdout}\nstderr:\n{stderr}"
        );
        (stdout, stderr)
    }
    /// Runs and pins the whole stderr (with the temp dir written as `DIR`).
    pub fn fails(&self, status: i32, stderr: &str) {
        let (stdout, got) = self.status(status);
        let got = got.replace(&self.dir.path().display().to_string(), "DIR");
        assert_eq!(got, stderr, "whole stderr differs");
        assert_eq!(stdout, "", "nothing on stdout on failure");
    }
}
