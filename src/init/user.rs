//! Privilege drop (gosu semantics) and user lookup by parsing /etc/passwd and
//! /etc/group directly (never NSS in a static binary: glibc's NSS can miss
//! `compat` users or load a host module and crash).
//!
//! `resolve` turns a user spec into a [`Target`]; the init applies it to
//! itself with [`switch_to`] before it starts the daemon, in gosu's order:
//! supplementary groups, then gid, then uid.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

/// Where the user database is read from; the variables exist for tests and for
/// images that keep their account files elsewhere.
pub const PASSWD_FILE: &str = "/etc/passwd";
pub const GROUP_FILE: &str = "/etc/group";
pub const PASSWD_FILE_ENV: &str = "DOKOMODO_PASSWD_FILE";
pub const GROUP_FILE_ENV: &str = "DOKOMODO_GROUP_FILE";

/// HOME for a numeric uid that has no passwd entry (or an entry with an empty
/// home), as gosu and Docker do.
pub const HOME_FALLBACK: &str = "/";

/// The user the daemon runs as.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    pub uid: u32,
    pub gid: u32,
    /// Supplementary groups, set before gid and uid.
    pub groups: Vec<u32>,
    pub home: PathBuf,
    /// The name of its passwd entry; None when it has none (a numeric uid,
    /// as OpenShift gives).
    pub account: Option<String>,
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "uid {} gid {}", self.uid, self.gid)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum UserError {
    #[error("`{spec}` is not a user: expected NAME, UID, NAME:GROUP or UID:GID")]
    BadSpec { spec: String },
    #[error("unknown user `{name}` (not in {})", passwd.display())]
    UnknownUser { name: String, passwd: PathBuf },
    #[error("unknown group `{name}` (not in {})", group.display())]
    UnknownGroup { name: String, group: PathBuf },
    #[error("cannot read {}: {source}", path.display())]
    Read { path: PathBuf, source: io::Error },
    #[error("cannot give {} to {target}: {source}", path.display())]
    Chown {
        path: PathBuf,
        target: String,
        source: io::Error,
    },
    /// `run` as root with no `--home`: the daemon's user has no home to
    /// render into (no passwd entry, an empty home, `/`, or one that does
    /// not exist, like `nobody`'s /nonexistent).
    #[error("{who} {problem}: pass --home DIR (a directory it can write), or {fix}")]
    NoHome {
        who: String,
        problem: String,
        fix: &'static str,
    },
    /// The switch was refused, e.g. `cap_drop: [ALL]` took CAP_SETUID.
    #[error("cannot switch to {target}: {step}: {source}")]
    Switch {
        target: String,
        step: &'static str,
        source: io::Error,
    },
}

impl UserError {
    pub fn exit_code(&self) -> u8 {
        match self {
            UserError::Read { .. } | UserError::Chown { .. } => crate::exit::IO,
            _ => crate::exit::CONFIG,
        }
    }
}

/// True when the process can change its user (effective uid 0).
pub fn is_root() -> bool {
    rustix::process::geteuid().is_root()
}

/// Resolves NAME, UID, NAME:GROUP, UID:GID (or mixes) against the account
/// files (`DOKOMODO_PASSWD_FILE` / `DOKOMODO_GROUP_FILE` or /etc).
pub fn resolve(spec: &str) -> Result<Target, UserError> {
    let current_gid = rustix::process::getgid().as_raw();
    Accounts::load()?.resolve(spec, current_gid)
}

/// Makes this whole process `target`, as gosu does: supplementary groups,
/// then gid, while still root, then uid (real, effective and saved), so
/// nothing started afterwards can regain root. glibc's wrappers (through
/// nix) apply each change to every thread of the process. The process is
/// then marked not dumpable, whatever `fs.suid_dumpable` says: processes of
/// the same uid (the daemon) cannot ptrace it or read its /proc/PID/environ,
/// which may hold the seed.
pub fn switch_to(target: &Target) -> Result<(), UserError> {
    use nix::unistd::{Gid, Uid, setgid, setgroups, setuid};
    let fail = |step| {
        move |e: nix::errno::Errno| UserError::Switch {
            target: target.to_string(),
            step,
            source: io::Error::from_raw_os_error(e as i32),
        }
    };
    let groups: Vec<Gid> = target.groups.iter().map(|&g| Gid::from_raw(g)).collect();
    setgroups(&groups).map_err(fail("setgroups"))?;
    setgid(Gid::from_raw(target.gid)).map_err(fail("setgid"))?;
    setuid(Uid::from_raw(target.uid)).map_err(fail("setuid"))?;
    rustix::process::set_dumpable_behavior(rustix::process::DumpableBehavior::NotDumpable).map_err(
        |e| UserError::Switch {
            target: target.to_string(),
            step: "prctl(PR_SET_DUMPABLE)",
            source: e.into(),
        },
    )
}

/// Gives `path` (not a symlink's target) to the target user, so a daemon that
/// runs as that user can read or rewrite the file root rendered. Does nothing
/// when not root (the files already belong to whoever wrote them) or when the
/// owner is already right, so it also works on a read-only filesystem.
pub fn chown(path: &Path, target: &Target) -> Result<(), UserError> {
    use std::os::unix::fs::MetadataExt;
    if !is_root() {
        return Ok(());
    }
    let fail = |source| UserError::Chown {
        path: path.to_path_buf(),
        target: target.to_string(),
        source,
    };
    let meta = std::fs::symlink_metadata(path).map_err(fail)?;
    if meta.uid() == target.uid && meta.gid() == target.gid {
        return Ok(());
    }
    std::os::unix::fs::lchown(path, Some(target.uid), Some(target.gid)).map_err(fail)
}

/// The HOME `run` renders into when started as root without `--home`: the
/// home of the daemon's user in the passwd file, which must be a real
/// directory. There is no silent fallback: `/` (no entry, or an empty home)
/// would put the chain's data in `/.komodo`, and root's HOME is not the
/// daemon's to write.
pub fn home_to_render(target: &Target) -> Result<PathBuf, UserError> {
    let passwd = || {
        std::env::var_os(PASSWD_FILE_ENV)
            .filter(|v| !v.is_empty())
            .map_or_else(
                || PASSWD_FILE.to_string(),
                |p| p.to_string_lossy().into_owned(),
            )
    };
    let Some(name) = &target.account else {
        return Err(UserError::NoHome {
            who: format!("uid {}", target.uid),
            problem: format!("has no entry in {}, so no home to render into", passwd()),
            fix: "give the uid a passwd entry with a real home",
        });
    };
    let who = format!("user `{name}`");
    let fix = "set `user:` (or DOKOMODO_USER) to a user with a real home";
    if target.home == Path::new(HOME_FALLBACK) {
        return Err(UserError::NoHome {
            who,
            problem: format!("has no home in {} (empty, or /)", passwd()),
            fix,
        });
    }
    if !target.home.is_dir() {
        return Err(UserError::NoHome {
            who,
            problem: format!(
                "has home {} in {}, which is not a directory",
                target.home.display(),
                passwd()
            ),
            fix,
        });
    }
    Ok(target.home.clone())
}

struct PasswdEntry {
    name: String,
    uid: u32,
    gid: u32,
    home: String,
}

struct GroupEntry {
    name: String,
    gid: u32,
    members: Vec<String>,
}

/// The parsed account files.
pub struct Accounts {
    users: Vec<PasswdEntry>,
    groups: Vec<GroupEntry>,
    passwd_path: PathBuf,
    group_path: PathBuf,
}

impl Accounts {
    /// Reads the account files; a missing file is an empty database (images
    /// built FROM scratch often have none, and numeric users still work).
    pub fn load() -> Result<Self, UserError> {
        let path_from = |var: &str, default: &str| {
            std::env::var_os(var)
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
                .unwrap_or_else(|| PathBuf::from(default))
        };
        let passwd_path = path_from(PASSWD_FILE_ENV, PASSWD_FILE);
        let group_path = path_from(GROUP_FILE_ENV, GROUP_FILE);
        let passwd = read_optional(&passwd_path)?;
        let group = read_optional(&group_path)?;
        Ok(Self::parse(&passwd, &group, passwd_path, group_path))
    }

    /// Parses passwd and group text; malformed lines and NIS `+`/`-` lines are
    /// skipped, as glibc's files backend does.
    pub fn parse(passwd: &str, group: &str, passwd_path: PathBuf, group_path: PathBuf) -> Self {
        let users = records(passwd)
            .filter_map(|f| {
                // name:password:uid:gid:gecos:home:shell
                Some(PasswdEntry {
                    name: f.first()?.to_string(),
                    uid: f.get(2)?.parse().ok()?,
                    gid: f.get(3)?.parse().ok()?,
                    home: f.get(5).unwrap_or(&"").to_string(),
                })
            })
            .collect();
        let groups = records(group)
            .filter_map(|f| {
                // name:password:gid:member,member
                Some(GroupEntry {
                    name: f.first()?.to_string(),
                    gid: f.get(2)?.parse().ok()?,
                    members: f
                        .get(3)
                        .unwrap_or(&"")
                        .split(',')
                        .filter(|m| !m.is_empty())
                        .map(str::to_string)
                        .collect(),
                })
            })
            .collect();
        Accounts {
            users,
            groups,
            passwd_path,
            group_path,
        }
    }

    /// gosu semantics: a name must exist; a numeric uid need not (then its gid
    /// is `current_gid` and HOME is [`HOME_FALLBACK`]). Supplementary groups
    /// are the primary gid plus every group listing the user, unless a group
    /// is given explicitly, in which case it is the only one.
    pub fn resolve(&self, spec: &str, current_gid: u32) -> Result<Target, UserError> {
        let bad = || UserError::BadSpec {
            spec: spec.to_string(),
        };
        let (user_part, group_part) = match spec.split_once(':') {
            Some((u, g)) => (u, Some(g)),
            None => (spec, None),
        };
        if user_part.is_empty() || group_part.is_some_and(|g| g.is_empty() || g.contains(':')) {
            return Err(bad());
        }

        let entry = match parse_id(user_part) {
            Some(uid) => self.users.iter().find(|u| u.uid == uid),
            None if looks_like_number(user_part) => return Err(bad()),
            None => Some(
                self.users
                    .iter()
                    .find(|u| u.name == user_part)
                    .ok_or_else(|| UserError::UnknownUser {
                        name: user_part.to_string(),
                        passwd: self.passwd_path.clone(),
                    })?,
            ),
        };
        let uid = match entry {
            Some(e) => e.uid,
            // Only reachable when user_part parsed as a number above.
            None => parse_id(user_part).ok_or_else(bad)?,
        };
        let home = entry
            .map(|e| e.home.as_str())
            .filter(|h| !h.is_empty())
            .unwrap_or(HOME_FALLBACK);

        let (gid, groups) = match group_part {
            Some(g) => {
                let gid = match parse_id(g) {
                    Some(gid) => gid,
                    None if looks_like_number(g) => return Err(bad()),
                    None => self.group_by_name(g)?,
                };
                (gid, vec![gid])
            }
            None => {
                let gid = entry.map(|e| e.gid).unwrap_or(current_gid);
                let mut groups = vec![gid];
                if let Some(e) = entry {
                    for g in &self.groups {
                        if g.members.contains(&e.name) && !groups.contains(&g.gid) {
                            groups.push(g.gid);
                        }
                    }
                }
                (gid, groups)
            }
        };

        Ok(Target {
            uid,
            gid,
            groups,
            home: PathBuf::from(home),
            account: entry.map(|e| e.name.clone()),
        })
    }

    fn group_by_name(&self, name: &str) -> Result<u32, UserError> {
        self.groups
            .iter()
            .find(|g| g.name == name)
            .map(|g| g.gid)
            .ok_or_else(|| UserError::UnknownGroup {
                name: name.to_string(),
                group: self.group_path.clone(),
            })
    }
}

fn read_optional(path: &Path) -> Result<String, UserError> {
    match std::fs::read(path) {
        Ok(bytes) => Ok(String::from_utf8_lossy(&bytes).into_owned()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(String::new()),
        Err(source) => Err(UserError::Read {
            path: path.to_path_buf(),
            source,
        }),
    }
}

/// Colon-separated records, skipping blanks, comments and NIS compat lines.
fn records(text: &str) -> impl Iterator<Item = Vec<&str>> {
    text.lines()
        .map(str::trim_end)
        .filter(|l| !l.is_empty() && !l.starts_with(['#', '+', '-']))
        .map(|l| l.split(':').collect())
}

/// A uid or gid; u32::MAX is (uid_t)-1, which setuid reads as "no change".
fn parse_id(s: &str) -> Option<u32> {
    if !looks_like_number(s) {
        return None;
    }
    s.parse::<u32>().ok().filter(|&id| id != u32::MAX)
}

fn looks_like_number(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    const PASSWD: &str = "\
root:x:0:0:root:/root:/bin/bash
# a comment
+nisuser::::::
komodo:x:1000:1000:Komodo:/home/komodo:/bin/sh
nohome:x:1001:1001::::
broken:x:notanumber:1
";
    const GROUP: &str = "\
root:x:0:
komodo:x:1000:
notary:x:2000:other,komodo
backup:x:2001:komodo
empty:x:2002:
";

    fn accounts() -> Accounts {
        Accounts::parse(PASSWD, GROUP, "/p".into(), "/g".into())
    }

    fn target(uid: u32, gid: u32, groups: &[u32], home: &str) -> Target {
        Target {
            uid,
            gid,
            groups: groups.to_vec(),
            home: home.into(),
            // The only uid of the test passwd used here.
            account: (uid == 1000).then(|| "komodo".to_string()),
        }
    }

    #[test]
    fn run_renders_only_into_a_real_home() {
        let mut t = target(12345, 0, &[0], "/");
        let msg = |t: &Target| home_to_render(t).unwrap_err().to_string();
        assert_eq!(
            msg(&t),
            "uid 12345 has no entry in /etc/passwd, so no home to render into: pass --home DIR \
             (a directory it can write), or give the uid a passwd entry with a real home"
        );
        t.account = Some("nobody".into());
        assert_eq!(
            msg(&t),
            "user `nobody` has no home in /etc/passwd (empty, or /): pass --home DIR (a directory \
             it can write), or set `user:` (or DOKOMODO_USER) to a user with a real home"
        );
        t.home = "/nonexistent".into();
        assert_eq!(
            msg(&t),
            "user `nobody` has home /nonexistent in /etc/passwd, which is not a directory: pass \
             --home DIR (a directory it can write), or set `user:` (or DOKOMODO_USER) to a user \
             with a real home"
        );
        t.home = std::env::temp_dir();
        assert_eq!(home_to_render(&t).unwrap(), std::env::temp_dir());
    }

    #[test]
    fn name_gets_its_gid_home_and_member_groups() {
        let t = accounts().resolve("komodo", 42).unwrap();
        assert_eq!(t, target(1000, 1000, &[1000, 2000, 2001], "/home/komodo"));
    }

    #[test]
    fn uid_with_an_entry_is_that_entry() {
        let t = accounts().resolve("1000", 42).unwrap();
        assert_eq!(t, target(1000, 1000, &[1000, 2000, 2001], "/home/komodo"));
    }

    #[test]
    fn uid_without_an_entry_keeps_the_current_gid_and_home_falls_back() {
        let t = accounts().resolve("12345", 0).unwrap();
        assert_eq!(t, target(12345, 0, &[0], "/"));
    }

    #[test]
    fn explicit_group_is_the_only_group() {
        let a = accounts();
        assert_eq!(
            a.resolve("komodo:notary", 0).unwrap(),
            target(1000, 2000, &[2000], "/home/komodo")
        );
        assert_eq!(
            a.resolve("12345:54321", 0).unwrap(),
            target(12345, 54321, &[54321], "/")
        );
        assert_eq!(
            a.resolve("komodo:7", 0).unwrap(),
            target(1000, 7, &[7], "/home/komodo")
        );
    }

    #[test]
    fn empty_home_falls_back() {
        assert_eq!(
            accounts().resolve("nohome", 0).unwrap().home,
            Path::new("/")
        );
    }

    #[test]
    fn unknown_names_are_config_errors_naming_the_file() {
        let e = accounts().resolve("bob", 0).unwrap_err();
        assert_eq!(e.to_string(), "unknown user `bob` (not in /p)");
        assert_eq!(e.exit_code(), crate::exit::CONFIG);
        let e = accounts().resolve("komodo:nogroup", 0).unwrap_err();
        assert_eq!(e.to_string(), "unknown group `nogroup` (not in /g)");
        assert_eq!(e.exit_code(), crate::exit::CONFIG);
    }

    #[test]
    fn malformed_specs_are_rejected() {
        for spec in [
            "",
            ":",
            "komodo:",
            ":1000",
            "a:b:c",
            "4294967295",
            "99999999999",
        ] {
            let e = accounts().resolve(spec, 0).unwrap_err();
            assert!(matches!(e, UserError::BadSpec { .. }), "{spec}: {e}");
        }
    }

    #[test]
    fn nis_and_broken_lines_are_not_users() {
        assert!(accounts().resolve("nisuser", 0).is_err());
        assert!(accounts().resolve("broken", 0).is_err());
    }
}
