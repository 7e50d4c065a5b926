//! Writes a rendered set of config files under one root, all or nothing as far
//! as the filesystem allows. Knows nothing about Komodo: it gets paths and bytes.
//!
//! The order is what makes a failure harmless:
//! 1. validate every path (nothing touched yet);
//! 2. walk directories from the root without following symlinks, creating the
//!    missing ones;
//! 3. compare each target with its new contents; for every changed one write a
//!    temporary file beside it, with its final mode, and fsync it;
//! 4. fix the modes of unchanged files and of the target directories;
//! 5. rename every temporary file over its target;
//! 6. fsync every directory whose entries changed.
//!
//! A failure in steps 1-4 removes every temporary file and every directory this
//! call created, so each previous file keeps its contents (a mode fixed in step
//! 4 stays fixed). Step 5 is the only window for a partial set: renaming over an
//! existing name needs no space, so what remains are I/O errors and a directory
//! that must grow a block for a brand new name. See docs/files.md.

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::{CStr, CString, OsStr};
use std::fs::{File, Permissions};
use std::io::{self, Read, Write};
use std::os::fd::{AsRawFd, FromRawFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// One file of the set: where it goes (relative to the root) and what it holds.
#[derive(Clone, PartialEq, Eq)]
pub struct FileSpec {
    /// Relative to the root: no leading `/`, no `..`, `.` or empty components.
    pub path: PathBuf,
    pub contents: Vec<u8>,
}

/// Contents are left out: config files carry RPC passwords.
impl std::fmt::Debug for FileSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileSpec")
            .field("path", &self.path)
            .field("contents", &format_args!("<{} bytes>", self.contents.len()))
            .finish()
    }
}

/// Who may read what dokomodo writes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Modes {
    /// OpenShift runs a random uid with gid 0: files 0660 and directories 0770,
    /// group 0, so the next pod's different uid can still use them. Otherwise
    /// files are 0600 and directories 0700.
    pub shared_with_group0: bool,
}

impl Modes {
    /// Group mode when running as a non-root uid whose effective gid is 0.
    pub fn for_current_process() -> Modes {
        // SAFETY: geteuid and getegid take no arguments and cannot fail.
        let (euid, egid) = unsafe { (libc::geteuid(), libc::getegid()) };
        Modes {
            shared_with_group0: euid != 0 && egid == 0,
        }
    }

    fn file_mode(self) -> u32 {
        if self.shared_with_group0 {
            0o660
        } else {
            0o600
        }
    }

    fn dir_mode(self) -> u32 {
        if self.shared_with_group0 {
            0o770
        } else {
            0o700
        }
    }

    fn group(self) -> Option<u32> {
        self.shared_with_group0.then_some(0)
    }
}

/// What happened to one file of the set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Created,
    /// A different file (or a symlink) was there and was replaced.
    Replaced,
    /// Same contents: not rewritten, mtime kept (its mode may have been fixed).
    Unchanged,
}

/// One line saying what failed on which path. Paths are the root joined with
/// the relative path, as the operator configured them.
#[derive(Debug, thiserror::Error)]
pub enum FilesError {
    #[error("invalid path {path:?} in the file set: {reason}")]
    InvalidPath { path: PathBuf, reason: &'static str },
    #[error("path {path:?} appears twice in the file set")]
    DuplicatePath { path: PathBuf },
    #[error("path {path:?} is a file in the set but another path needs it to be a directory")]
    FileIsAlsoDirectory { path: PathBuf },
    #[error("cannot open directory {}: {source}", path.display())]
    OpenDirectory { path: PathBuf, source: io::Error },
    #[error("cannot create directory {}: {source}", path.display())]
    CreateDirectory { path: PathBuf, source: io::Error },
    #[error("refusing to follow symlink {}: directories below {} must be real directories", path.display(), root.display())]
    SymlinkedDirectory { path: PathBuf, root: PathBuf },
    #[error("cannot read {}: {source}", path.display())]
    ReadExisting { path: PathBuf, source: io::Error },
    #[error("cannot replace {}: it is {kind}, not a regular file", path.display())]
    NotARegularFile { path: PathBuf, kind: &'static str },
    #[error("cannot write {} (temporary file {}): {source}", path.display(), temp.display())]
    WriteTemporary {
        path: PathBuf,
        temp: PathBuf,
        source: io::Error,
    },
    #[error("cannot set mode {mode:04o} on {}: {source}", path.display())]
    SetMode {
        path: PathBuf,
        mode: u32,
        source: io::Error,
    },
    #[error("cannot rename {} into place: {source}", path.display())]
    Rename { path: PathBuf, source: io::Error },
    #[error("cannot sync directory {}: {source}", path.display())]
    SyncDirectory { path: PathBuf, source: io::Error },
}

/// Writes `files` under `root` and creates `dirs` (relative to `root`), as
/// described in the module comment. Returns one outcome per file, in the
/// order given. `root` is resolved normally (it may be or contain a symlink);
/// nothing below it is ever followed through a symlink.
pub fn write_set(
    root: &Path,
    dirs: &[PathBuf],
    files: &[FileSpec],
    modes: Modes,
) -> Result<Vec<(PathBuf, Outcome)>, FilesError> {
    let plan = Plan::validate(dirs, files)?;
    let mut tx = Transaction::open(root, modes)?;
    let result = tx
        .prepare(&plan, files)
        .and_then(|pending| tx.commit(pending));
    if result.is_err() {
        tx.roll_back();
    }
    result
}

/// Every path split into components and checked, before anything is touched.
struct Plan<'a> {
    dirs: Vec<Vec<&'a OsStr>>,
    files: Vec<Vec<&'a OsStr>>,
}

impl<'a> Plan<'a> {
    fn validate(dirs: &'a [PathBuf], files: &'a [FileSpec]) -> Result<Plan<'a>, FilesError> {
        let dirs = dirs
            .iter()
            .map(|d| components(d))
            .collect::<Result<Vec<_>, _>>()?;
        let files = files
            .iter()
            .map(|f| components(&f.path))
            .collect::<Result<Vec<_>, _>>()?;

        let mut file_paths = BTreeSet::new();
        for file in &files {
            if !file_paths.insert(file.as_slice()) {
                return Err(FilesError::DuplicatePath { path: join(file) });
            }
        }
        // A file "a" and a file "a/b" (or a dir "a") cannot both exist.
        let needed_dirs = dirs.iter().map(|d| d.as_slice()).chain(
            dirs.iter()
                .chain(&files)
                .flat_map(|p| (1..p.len()).map(|n| &p[..n])),
        );
        for dir in needed_dirs {
            if file_paths.contains(dir) {
                return Err(FilesError::FileIsAlsoDirectory { path: join(dir) });
            }
        }
        Ok(Plan { dirs, files })
    }
}

/// Splits a relative path into its components, refusing anything that could
/// point outside the root or be read two ways.
fn components(path: &Path) -> Result<Vec<&OsStr>, FilesError> {
    let invalid = |reason| FilesError::InvalidPath {
        path: path.to_path_buf(),
        reason,
    };
    let bytes = path.as_os_str().as_bytes();
    if bytes.is_empty() {
        return Err(invalid("it is empty"));
    }
    if bytes.starts_with(b"/") {
        return Err(invalid("it must be relative to the root, not absolute"));
    }
    if bytes.contains(&0) {
        return Err(invalid("it contains a NUL byte"));
    }
    bytes
        .split(|&b| b == b'/')
        .map(|part| match part {
            b"" => Err(invalid(
                "it has an empty component (`//` or a trailing `/`)",
            )),
            b".." => Err(invalid("it contains `..`")),
            b"." => Err(invalid("it contains `.`")),
            _ => Ok(OsStr::from_bytes(part)),
        })
        .collect()
}

fn join(parts: &[&OsStr]) -> PathBuf {
    parts.iter().collect()
}

fn c_name(name: &OsStr) -> CString {
    // Cannot fail: `components` rejected NUL bytes, and temp names are built
    // from those components plus digits and ASCII.
    CString::new(name.as_bytes()).unwrap_or_default()
}

/// An open directory below (or at) the root.
struct Dir {
    file: File,
    rel: PathBuf,
    /// Set when this call created it: (parent index, name), to remove it again
    /// if the set fails before the renames.
    created: Option<(usize, CString)>,
}

struct Temp {
    dir: usize,
    name: CString,
    renamed: bool,
}

/// What to do with one file of the set once every temporary file is written.
struct Pending {
    rel: PathBuf,
    dir: usize,
    name: CString,
    action: Action,
}

enum Action {
    Rename {
        temp: usize,
        outcome: Outcome,
    },
    /// Unchanged; the open file if its mode or group needs fixing.
    Keep {
        fix: Option<File>,
    },
}

struct Transaction<'r> {
    root: &'r Path,
    modes: Modes,
    /// Index 0 is the root itself.
    dirs: Vec<Dir>,
    by_path: BTreeMap<PathBuf, usize>,
    temps: Vec<Temp>,
    /// For temp names; asked once (glibc does not cache getpid).
    pid: u32,
}

const DIR_FLAGS: libc::c_int =
    libc::O_RDONLY | libc::O_DIRECTORY | libc::O_NOFOLLOW | libc::O_CLOEXEC;

/// Makes temp names unique within this process; O_EXCL and a retry handle
/// other processes (in containers everyone is PID 1).
static NEXT_TEMP: AtomicU64 = AtomicU64::new(0);

impl<'r> Transaction<'r> {
    fn open(root: &'r Path, modes: Modes) -> Result<Transaction<'r>, FilesError> {
        let open_err = |source| FilesError::OpenDirectory {
            path: root.to_path_buf(),
            source,
        };
        let c_root = CString::new(root.as_os_str().as_bytes())
            .map_err(|_| open_err(io::Error::from_raw_os_error(libc::EINVAL)))?;
        // The root itself is resolved normally: HOME may well be a symlink.
        let flags = libc::O_RDONLY | libc::O_DIRECTORY | libc::O_CLOEXEC;
        let file = open_at(libc::AT_FDCWD, &c_root, flags, 0).map_err(open_err)?;
        let mut by_path = BTreeMap::new();
        by_path.insert(PathBuf::new(), 0);
        Ok(Transaction {
            root,
            modes,
            dirs: vec![Dir {
                file,
                rel: PathBuf::new(),
                created: None,
            }],
            by_path,
            temps: Vec::new(),
            pid: std::process::id(),
        })
    }

    fn abs(&self, rel: &Path) -> PathBuf {
        self.root.join(rel)
    }

    /// Steps 2 and 3: directories, comparisons, temporary files.
    fn prepare(
        &mut self,
        plan: &Plan,
        files: &[FileSpec],
    ) -> Result<(Vec<Pending>, Vec<usize>), FilesError> {
        // Target directories: the extra ones and each file's parent. Those that
        // existed get their mode fixed at commit; the root is the caller's.
        let mut targets = BTreeSet::new();
        for dir in &plan.dirs {
            targets.insert(self.walk(dir)?);
        }
        let mut file_dirs = Vec::with_capacity(plan.files.len());
        for parts in &plan.files {
            // `components` never returns an empty list, so there is a last one.
            let Some((name, parent)) = parts.split_last() else {
                continue;
            };
            let dir = self.walk(parent)?;
            targets.insert(dir);
            file_dirs.push((dir, name));
        }
        let mut dir_fixes = Vec::new();
        for &dir in &targets {
            let d = &self.dirs[dir];
            if dir != 0
                && d.created.is_none()
                && self.needs_fix(&d.file, self.modes.dir_mode(), &d.rel)?
            {
                dir_fixes.push(dir);
            }
        }

        let mut pending = Vec::with_capacity(files.len());
        for ((parts, spec), (dir, name)) in plan.files.iter().zip(files).zip(file_dirs) {
            let rel = join(parts);
            let name = c_name(name);
            // A directory this call just made is empty: no file to compare.
            let existing = if self.dirs[dir].created.is_some() {
                Existing::Missing
            } else {
                self.compare(dir, &name, &rel, &spec.contents)?
            };
            let action = match existing {
                Existing::Same { fix } => Action::Keep { fix },
                Existing::Missing => Action::Rename {
                    temp: self.write_temp(dir, &name, &rel, &spec.contents)?,
                    outcome: Outcome::Created,
                },
                Existing::Different => Action::Rename {
                    temp: self.write_temp(dir, &name, &rel, &spec.contents)?,
                    outcome: Outcome::Replaced,
                },
            };
            pending.push(Pending {
                rel,
                dir,
                name,
                action,
            });
        }
        Ok((pending, dir_fixes))
    }

    /// Opens (creating as needed) every directory from the root down to
    /// `parts`, never following a symlink. Returns the index of the last one.
    fn walk(&mut self, parts: &[&OsStr]) -> Result<usize, FilesError> {
        let mut parent = 0;
        for n in 1..=parts.len() {
            let rel = join(&parts[..n]);
            if let Some(&known) = self.by_path.get(&rel) {
                parent = known;
                continue;
            }
            let name = c_name(parts[n - 1]);
            let parent_fd = self.dirs[parent].file.as_raw_fd();
            let dir = match open_at(parent_fd, &name, DIR_FLAGS, 0) {
                Ok(file) => Dir {
                    file,
                    rel: rel.clone(),
                    created: None,
                },
                Err(e) if e.raw_os_error() == Some(libc::ENOENT) => {
                    self.create_dir(parent, name, &rel)?
                }
                Err(e) => return Err(self.dir_open_error(parent_fd, &name, &rel, e)),
            };
            self.dirs.push(dir);
            parent = self.dirs.len() - 1;
            let dir = &self.dirs[parent];
            if dir.created.is_some() {
                // mkdirat applied the umask; the mode must not depend on it.
                // Set only after the push, so a failure still removes the directory.
                self.set_mode(&dir.file, self.modes.dir_mode(), &rel)?;
            }
            self.by_path.insert(rel, parent);
        }
        Ok(parent)
    }

    fn create_dir(&self, parent: usize, name: CString, rel: &Path) -> Result<Dir, FilesError> {
        let parent_fd = self.dirs[parent].file.as_raw_fd();
        let mode = self.modes.dir_mode();
        let create_err = |source| FilesError::CreateDirectory {
            path: self.abs(rel),
            source,
        };
        // SAFETY: parent_fd is an open directory owned by self.dirs; name is a
        // NUL-terminated string that outlives the call.
        let made = unsafe { libc::mkdirat(parent_fd, name.as_ptr(), mode as libc::mode_t) };
        let created = if made == 0 {
            true
        } else {
            let e = io::Error::last_os_error();
            // Someone else created it in between: use theirs, as if it had been there.
            if e.raw_os_error() != Some(libc::EEXIST) {
                return Err(create_err(e));
            }
            false
        };
        let file = open_at(parent_fd, &name, DIR_FLAGS, 0)
            .map_err(|e| self.dir_open_error(parent_fd, &name, rel, e))?;
        let created = created.then_some((parent, name));
        Ok(Dir {
            file,
            rel: rel.to_path_buf(),
            created,
        })
    }

    /// O_NOFOLLOW|O_DIRECTORY says ELOOP for a symlink; name it plainly.
    fn dir_open_error(
        &self,
        parent_fd: libc::c_int,
        name: &CStr,
        rel: &Path,
        e: io::Error,
    ) -> FilesError {
        if e.raw_os_error() == Some(libc::ELOOP) || is_symlink_at(parent_fd, name) {
            FilesError::SymlinkedDirectory {
                path: self.abs(rel),
                root: self.root.to_path_buf(),
            }
        } else {
            FilesError::OpenDirectory {
                path: self.abs(rel),
                source: e,
            }
        }
    }

    fn compare(
        &self,
        dir: usize,
        name: &CStr,
        rel: &Path,
        contents: &[u8],
    ) -> Result<Existing, FilesError> {
        let read_err = |source| FilesError::ReadExisting {
            path: self.abs(rel),
            source,
        };
        // O_NONBLOCK: a FIFO planted here must not hang the entrypoint.
        let flags =
            libc::O_RDONLY | libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_NOCTTY | libc::O_CLOEXEC;
        let mut file = match open_at(self.dirs[dir].file.as_raw_fd(), name, flags, 0) {
            Ok(file) => file,
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => return Ok(Existing::Missing),
            // A symlink: never read through it; the rename replaces the link itself.
            Err(e) if e.raw_os_error() == Some(libc::ELOOP) => return Ok(Existing::Different),
            Err(e) => return Err(read_err(e)),
        };
        let meta = file.metadata().map_err(read_err)?;
        let kind = meta.file_type();
        if !kind.is_file() {
            let kind = if kind.is_dir() {
                "a directory"
            } else {
                "a special file"
            };
            return Err(FilesError::NotARegularFile {
                path: self.abs(rel),
                kind,
            });
        }
        // A hard link shares its inode with a file elsewhere: chmod on it would
        // reach that file too, so rewrite rather than keep.
        if meta.len() != contents.len() as u64 || meta.nlink() != 1 {
            return Ok(Existing::Different);
        }
        // The size is known to match: one read of exactly that many bytes
        // (a file that changes under us reads short and counts as different).
        let mut old = vec![0u8; contents.len()];
        match file.read_exact(&mut old) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
                return Ok(Existing::Different);
            }
            Err(e) => return Err(read_err(e)),
        }
        if old != contents {
            return Ok(Existing::Different);
        }
        let fix = self
            .wrong_mode(&meta, self.modes.file_mode())
            .then_some(file);
        Ok(Existing::Same { fix })
    }

    fn needs_fix(&self, file: &File, mode: u32, rel: &Path) -> Result<bool, FilesError> {
        let meta = file.metadata().map_err(|source| FilesError::ReadExisting {
            path: self.abs(rel),
            source,
        })?;
        Ok(self.wrong_mode(&meta, mode))
    }

    fn wrong_mode(&self, meta: &std::fs::Metadata, mode: u32) -> bool {
        let wrong_group = self.modes.group().is_some_and(|gid| meta.gid() != gid);
        meta.mode() & 0o7777 != mode || wrong_group
    }

    /// Writes `contents` to a fresh temporary file beside the target, with the
    /// final mode from the start, and fsyncs it. Returns its index in temps.
    fn write_temp(
        &mut self,
        dir: usize,
        name: &CStr,
        rel: &Path,
        contents: &[u8],
    ) -> Result<usize, FilesError> {
        let mode = self.modes.file_mode();
        let dir_fd = self.dirs[dir].file.as_raw_fd();
        let flags =
            libc::O_WRONLY | libc::O_CREAT | libc::O_EXCL | libc::O_NOFOLLOW | libc::O_CLOEXEC;
        let mut attempts = 0;
        let (temp_name, mut file) = loop {
            let temp_name = temp_name(name, self.pid, NEXT_TEMP.fetch_add(1, Ordering::Relaxed));
            match open_at(dir_fd, &temp_name, flags, mode) {
                Ok(file) => break (temp_name, file),
                // Another process (another container's PID 1) picked this name.
                Err(e) if e.raw_os_error() == Some(libc::EEXIST) && attempts < 100 => attempts += 1,
                Err(source) => {
                    let temp = self.abs(
                        &self.dirs[dir]
                            .rel
                            .join(OsStr::from_bytes(temp_name.as_bytes())),
                    );
                    return Err(FilesError::WriteTemporary {
                        path: self.abs(rel),
                        temp,
                        source,
                    });
                }
            }
        };
        let temp_rel = self.dirs[dir]
            .rel
            .join(OsStr::from_bytes(temp_name.as_bytes()));
        // Recorded before writing, so a failed write is still cleaned up.
        self.temps.push(Temp {
            dir,
            name: temp_name,
            renamed: false,
        });
        let write_err = |source| FilesError::WriteTemporary {
            path: self.abs(rel),
            temp: self.abs(&temp_rel),
            source,
        };
        self.set_mode(&file, mode, &temp_rel)?;
        file.write_all(contents).map_err(write_err)?;
        file.sync_all().map_err(write_err)?;
        Ok(self.temps.len() - 1)
    }

    /// Sets the exact mode (and group 0 in group mode) on an open file or
    /// directory, whatever the umask was.
    fn set_mode(&self, file: &File, mode: u32, rel: &Path) -> Result<(), FilesError> {
        let mode_err = |source| FilesError::SetMode {
            path: self.abs(rel),
            mode,
            source,
        };
        if let Some(gid) = self.modes.group() {
            // Before chmod: a chown by a non-root user may clear mode bits.
            std::os::unix::fs::fchown(file, None, Some(gid)).map_err(mode_err)?;
        }
        file.set_permissions(Permissions::from_mode(mode))
            .map_err(mode_err)
    }

    /// Steps 4 to 6.
    fn commit(
        &mut self,
        (pending, dir_fixes): (Vec<Pending>, Vec<usize>),
    ) -> Result<Vec<(PathBuf, Outcome)>, FilesError> {
        for &dir in &dir_fixes {
            self.set_mode(
                &self.dirs[dir].file,
                self.modes.dir_mode(),
                &self.dirs[dir].rel,
            )?;
        }
        for p in &pending {
            if let Action::Keep { fix: Some(file) } = &p.action {
                self.set_mode(file, self.modes.file_mode(), &p.rel)?;
            }
        }

        let mut touched = BTreeSet::new();
        for p in &pending {
            if let Action::Rename { temp, .. } = p.action {
                let fd = self.dirs[p.dir].file.as_raw_fd();
                let temp_name = &self.temps[temp].name;
                // SAFETY: fd is an open directory owned by self.dirs; both names
                // are NUL-terminated strings that outlive the call.
                let r = unsafe { libc::renameat(fd, temp_name.as_ptr(), fd, p.name.as_ptr()) };
                if r != 0 {
                    return Err(FilesError::Rename {
                        path: self.abs(&p.rel),
                        source: io::Error::last_os_error(),
                    });
                }
                self.temps[temp].renamed = true;
                touched.insert(p.dir);
            }
        }

        touched.extend(
            self.dirs
                .iter()
                .filter_map(|d| d.created.as_ref().map(|(parent, _)| *parent)),
        );
        for &dir in &touched {
            let d = &self.dirs[dir];
            d.file
                .sync_all()
                .map_err(|source| FilesError::SyncDirectory {
                    path: self.abs(&d.rel),
                    source,
                })?;
        }

        Ok(pending
            .into_iter()
            .map(|p| {
                let outcome = match p.action {
                    Action::Rename { outcome, .. } => outcome,
                    Action::Keep { .. } => Outcome::Unchanged,
                };
                (p.rel, outcome)
            })
            .collect())
    }

    /// Removes every temporary file not yet renamed and, if no rename happened
    /// yet, every directory this call created (deepest first). Errors are
    /// ignored: the error being reported matters more.
    fn roll_back(&mut self) {
        let any_renamed = self.temps.iter().any(|t| t.renamed);
        for temp in self.temps.iter().filter(|t| !t.renamed) {
            // SAFETY: the directory fd is owned by self.dirs; the name is a
            // NUL-terminated string that outlives the call.
            unsafe { libc::unlinkat(self.dirs[temp.dir].file.as_raw_fd(), temp.name.as_ptr(), 0) };
        }
        // Once part of the new set is in place, its directories belong to it.
        if any_renamed {
            return;
        }
        for dir in self.dirs.iter().rev() {
            if let Some((parent, name)) = &dir.created {
                // SAFETY: as above; AT_REMOVEDIR only removes an empty directory.
                unsafe {
                    libc::unlinkat(
                        self.dirs[*parent].file.as_raw_fd(),
                        name.as_ptr(),
                        libc::AT_REMOVEDIR,
                    )
                };
            }
        }
    }
}

enum Existing {
    Missing,
    Different,
    Same { fix: Option<File> },
}

/// `.NAME.dokomodo-tmp.<pid>.<n>`: hidden, recognisable, unique per process.
/// NAME is cut so the whole stays under NAME_MAX (255).
fn temp_name(name: &CStr, pid: u32, n: u64) -> CString {
    let name = name.to_bytes();
    let mut temp = Vec::with_capacity(name.len().min(200) + 48);
    temp.push(b'.');
    temp.extend_from_slice(&name[..name.len().min(200)]);
    temp.extend_from_slice(format!(".dokomodo-tmp.{pid}.{n}").as_bytes());
    c_name(OsStr::from_bytes(&temp))
}

fn open_at(dir_fd: libc::c_int, name: &CStr, flags: libc::c_int, mode: u32) -> io::Result<File> {
    loop {
        // SAFETY: dir_fd is AT_FDCWD or an open directory the caller owns for
        // the duration of the call; name is NUL-terminated and outlives it.
        let fd = unsafe { libc::openat(dir_fd, name.as_ptr(), flags, mode as libc::c_uint) };
        if fd >= 0 {
            // SAFETY: openat just returned this fd; nothing else owns it.
            return Ok(unsafe { File::from_raw_fd(fd) });
        }
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
}

fn is_symlink_at(dir_fd: libc::c_int, name: &CStr) -> bool {
    let mut st = std::mem::MaybeUninit::<libc::stat>::uninit();
    // SAFETY: dir_fd is an open directory, name is NUL-terminated, st points
    // to writable memory of the right size; it is read only on success.
    let r = unsafe {
        libc::fstatat(
            dir_fd,
            name.as_ptr(),
            st.as_mut_ptr(),
            libc::AT_SYMLINK_NOFOLLOW,
        )
    };
    // SAFETY: fstatat returned 0, so it filled st.
    r == 0 && unsafe { st.assume_init() }.st_mode & libc::S_IFMT == libc::S_IFLNK
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(path: &str) -> FileSpec {
        FileSpec {
            path: path.into(),
            contents: b"x".to_vec(),
        }
    }

    fn check(dirs: &[&str], files: &[&str]) -> Result<(), String> {
        let dirs: Vec<PathBuf> = dirs.iter().map(PathBuf::from).collect();
        let files: Vec<FileSpec> = files.iter().map(|p| file(p)).collect();
        Plan::validate(&dirs, &files)
            .map(|_| ())
            .map_err(|e| e.to_string())
    }

    #[test]
    fn accepts_plain_relative_paths() {
        assert_eq!(
            check(
                &[".komodo/BEER", "data"],
                &[".komodo/komodo.conf", "a/b/c.conf", "x"]
            ),
            Ok(())
        );
    }

    #[test]
    fn rejects_absolute_paths() {
        assert_eq!(
            check(&[], &["/etc/passwd"]),
            Err(r#"invalid path "/etc/passwd" in the file set: it must be relative to the root, not absolute"#.into())
        );
        assert!(check(&["/data"], &[]).is_err());
    }

    #[test]
    fn rejects_dot_dot_anywhere() {
        assert_eq!(
            check(&[], &["a/../../etc/passwd"]),
            Err(r#"invalid path "a/../../etc/passwd" in the file set: it contains `..`"#.into())
        );
        assert!(check(&[], &["..", "x"]).is_err());
        assert!(check(&["a/.."], &[]).is_err());
        // A name that merely starts with dots is fine.
        assert_eq!(check(&[], &["..x", ".komodo/...conf"]), Ok(()));
    }

    #[test]
    fn rejects_empty_and_dot_components() {
        for bad in ["", "a//b", "a/", "./a", "a/./b"] {
            assert!(check(&[], &[bad]).is_err(), "{bad:?} accepted");
        }
        assert_eq!(
            check(&[], &["a//b"]),
            Err(r#"invalid path "a//b" in the file set: it has an empty component (`//` or a trailing `/`)"#.into())
        );
        assert!(check(&[""], &[]).is_err());
    }

    #[test]
    fn rejects_nul_bytes() {
        assert!(check(&[], &["a\0b"]).is_err());
    }

    #[test]
    fn rejects_the_same_file_twice() {
        assert_eq!(
            check(&[], &["a/b", "c", "a/b"]),
            Err(r#"path "a/b" appears twice in the file set"#.into())
        );
    }

    #[test]
    fn rejects_a_file_that_must_also_be_a_directory() {
        assert_eq!(
            check(&[], &["a", "a/b"]),
            Err(
                r#"path "a" is a file in the set but another path needs it to be a directory"#
                    .into()
            )
        );
        assert!(check(&["a/b"], &["a"]).is_err());
        assert!(check(&["a"], &["a"]).is_err());
    }

    #[test]
    fn temp_names_are_hidden_unique_and_short_enough() {
        let name = c_name(OsStr::new("komodo.conf"));
        assert_eq!(
            temp_name(&name, 1, 7).to_bytes(),
            b".komodo.conf.dokomodo-tmp.1.7"
        );
        let long = c_name(OsStr::new(&"n".repeat(255)));
        assert!(temp_name(&long, u32::MAX, u64::MAX).to_bytes().len() <= 255);
    }

    #[test]
    fn debug_output_hides_contents() {
        let spec = FileSpec {
            path: "a.conf".into(),
            contents: b"rpcpassword=hunter2".to_vec(),
        };
        let shown = format!("{spec:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("19 bytes"), "{shown}");
    }
}
