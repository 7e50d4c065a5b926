//! Writes a rendered set of config files under one root, all or nothing as far
//! as the filesystem allows. Knows nothing about Komodo: it gets paths and bytes.
//!
//! The order is what makes a failure harmless:
//! 1. validate every path (nothing touched yet);
//! 2. walk directories from the root without following symlinks. A missing
//!    directory is made under a hidden temporary name beside where it
//!    belongs, and what goes below it is made inside, under final names;
//! 3. compare each target with its new contents; write every changed one,
//!    with its final mode, and fsync it: under a temporary name beside its
//!    target, or under its own name in a new (still hidden) directory;
//! 4. fix the modes of unchanged files and of the target directories, and
//!    fsync every new directory;
//! 5. rename every temporary file over its target and every new directory
//!    into place;
//! 6. fsync every directory whose entries changed.
//!
//! A failure in steps 1-4 removes every temporary file and every new
//! directory with everything in it, so each previous file keeps its contents
//! (a mode fixed in step 4 stays fixed). Step 5 is the only window for a
//! partial set: renaming over an existing name needs no space, so what
//! remains are I/O errors and a directory that must grow a block for a brand
//! new name. See docs/files.md.

use std::collections::{HashMap, HashSet};
use std::ffi::{CStr, CString, OsStr};
use std::fs::{File, Permissions};
use std::io::{self, Read, Write};
use std::os::fd::{AsFd, BorrowedFd};

use rustix::fs::{AtFlags, CWD, FileType, Mode, OFlags};
use rustix::io::Errno;
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
        let (euid, egid) = (rustix::process::geteuid(), rustix::process::getegid());
        Modes {
            shared_with_group0: !euid.is_root() && egid.is_root(),
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
        .and_then(|dir_fixes| tx.commit(&dir_fixes));
    if let Err(e) = result {
        tx.roll_back();
        return Err(e);
    }
    Ok(files
        .iter()
        .zip(&tx.pending)
        .map(|(spec, pending)| (spec.path.clone(), pending.outcome()))
        .collect())
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

        let mut file_paths = HashSet::with_capacity(files.len());
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
    /// Where it belongs: its parent's index (the root's is its own) and its
    /// name there, as the set names it.
    parent: usize,
    name: CString,
    origin: Origin,
    /// For an existing directory that new ones are made in: whether its
    /// filesystem is one whose rules for new entries are known (asked once).
    known_filesystem: Option<bool>,
}

#[derive(PartialEq, Eq)]
enum Origin {
    /// It was there already (or it is the root).
    Existing,
    /// Made by this call in an existing directory, under a temporary name
    /// until step 5 renames it to its own.
    Hidden {
        temp: CString,
        renamed: bool,
        /// Whether everything made inside gets its final mode (and group)
        /// from mkdirat/openat alone, so needs no fchmod: seen on this
        /// directory right after mkdirat, see `make_dir`.
        exact_modes: bool,
    },
    /// Made by this call under its own name, inside a `Hidden` directory.
    Inside,
}

/// One file of the set, once it is compared and, if needed, written.
struct Pending {
    dir: usize,
    name: CString,
    action: Action,
}

enum Action {
    /// Same contents; the open file if its mode or group needs fixing.
    Keep { fix: Option<File> },
    /// Written to a temporary file beside the target, renamed over it in step 5.
    Replace {
        temp: CString,
        outcome: Outcome,
        renamed: bool,
    },
    /// Written under its own name in a new directory.
    Written,
}

impl Pending {
    fn outcome(&self) -> Outcome {
        match self.action {
            Action::Keep { .. } => Outcome::Unchanged,
            Action::Replace { outcome, .. } => outcome,
            Action::Written => Outcome::Created,
        }
    }
}

struct Transaction<'r> {
    root: &'r Path,
    modes: Modes,
    /// Index 0 is the root itself; every directory comes after its parent.
    dirs: Vec<Dir>,
    /// One per file of the set, in order, as far as step 3 got.
    pending: Vec<Pending>,
    /// For temp names; asked once (glibc does not cache getpid).
    pid: u32,
}

const DIR_FLAGS: OFlags = OFlags::RDONLY
    .union(OFlags::DIRECTORY)
    .union(OFlags::NOFOLLOW)
    .union(OFlags::CLOEXEC);

const NEW_FILE_FLAGS: OFlags = OFlags::WRONLY
    .union(OFlags::CREATE)
    .union(OFlags::EXCL)
    .union(OFlags::NOFOLLOW)
    .union(OFlags::CLOEXEC);

/// Makes temp names unique within this process; O_EXCL and a retry handle
/// other processes (in containers everyone is PID 1).
static NEXT_TEMP: AtomicU64 = AtomicU64::new(0);

/// Directories already open during the walk, by (parent index, name).
type Children<'p> = HashMap<(usize, &'p OsStr), usize>;

impl<'r> Transaction<'r> {
    fn open(root: &'r Path, modes: Modes) -> Result<Transaction<'r>, FilesError> {
        let open_err = |source| FilesError::OpenDirectory {
            path: root.to_path_buf(),
            source,
        };
        let c_root = CString::new(root.as_os_str().as_bytes())
            .map_err(|_| open_err(io::Error::from_raw_os_error(libc::EINVAL)))?;
        // The root itself is resolved normally: HOME may well be a symlink.
        let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
        let file = open_at(CWD, &c_root, flags, 0).map_err(open_err)?;
        Ok(Transaction {
            root,
            modes,
            dirs: vec![Dir {
                file,
                parent: 0,
                name: CString::default(),
                origin: Origin::Existing,
                known_filesystem: None,
            }],
            pending: Vec::new(),
            pid: std::process::id(),
        })
    }

    /// A directory's path: where the set puts it, or with `now`, where it is
    /// until step 5 (through its hidden temporary name).
    fn dir_path(&self, dir: usize, now: bool) -> PathBuf {
        let mut names = Vec::new();
        let mut at = dir;
        while at != 0 {
            let d = &self.dirs[at];
            let name = match &d.origin {
                Origin::Hidden {
                    temp,
                    renamed: false,
                    ..
                } if now => temp,
                _ => &d.name,
            };
            names.push(OsStr::from_bytes(name.to_bytes()));
            at = d.parent;
        }
        let mut path = self.root.to_path_buf();
        path.extend(names.iter().rev());
        path
    }

    /// The path of `name` in `dir`, as `dir_path` gives the directory's.
    fn path(&self, dir: usize, name: &CStr, now: bool) -> PathBuf {
        self.dir_path(dir, now)
            .join(OsStr::from_bytes(name.to_bytes()))
    }

    /// The origin that decides for `dir`: its own, or, for a directory made
    /// inside a new one, that new directory's.
    fn deciding_origin(&self, dir: usize) -> &Origin {
        let mut at = dir;
        while self.dirs[at].origin == Origin::Inside {
            at = self.dirs[at].parent;
        }
        &self.dirs[at].origin
    }

    /// Whether `dir` is new and not yet renamed into place (or inside such a
    /// directory).
    fn still_hidden(&self, dir: usize) -> bool {
        matches!(
            self.deciding_origin(dir),
            Origin::Hidden { renamed: false, .. }
        )
    }

    /// Whether what is made in `dir` gets its final mode and group without
    /// fchmod: inside a new directory that showed it (`Origin::Hidden`).
    fn exact_modes(&self, dir: usize) -> bool {
        matches!(
            self.deciding_origin(dir),
            Origin::Hidden {
                exact_modes: true,
                ..
            }
        )
    }

    fn is_new(&self, dir: usize) -> bool {
        self.dirs[dir].origin != Origin::Existing
    }

    fn fd(&self, dir: usize) -> BorrowedFd<'_> {
        self.dirs[dir].file.as_fd()
    }

    /// Steps 2 and 3: directories, comparisons, new files. Returns the
    /// existing target directories whose mode needs fixing.
    fn prepare(&mut self, plan: &Plan, files: &[FileSpec]) -> Result<Vec<usize>, FilesError> {
        let mut children = Children::new();
        // Target directories: the extra ones and each file's parent. Those that
        // existed get their mode fixed at commit; the root is the caller's.
        let mut targets = Vec::with_capacity(plan.dirs.len() + plan.files.len());
        for dir in &plan.dirs {
            targets.push(self.walk(dir, &mut children)?);
        }
        let mut file_dirs = Vec::with_capacity(plan.files.len());
        for parts in &plan.files {
            let Some((name, parent)) = parts.split_last() else {
                unreachable!("`components` never returns an empty list")
            };
            let dir = self.walk(parent, &mut children)?;
            targets.push(dir);
            file_dirs.push((dir, c_name(name)));
        }
        targets.sort_unstable();
        targets.dedup();
        let mut dir_fixes = Vec::new();
        for dir in targets {
            if dir != 0 && !self.is_new(dir) && self.needs_fix(dir)? {
                dir_fixes.push(dir);
            }
        }

        // The buffer each existing file is read into, reused.
        let mut old = Vec::new();
        self.pending.reserve(files.len());
        for (spec, (dir, name)) in files.iter().zip(file_dirs) {
            let action = self.write_file(dir, &name, &spec.contents, &mut old)?;
            self.pending.push(Pending { dir, name, action });
        }
        Ok(dir_fixes)
    }

    /// Opens (making as needed) every directory from the root down to
    /// `parts`, never following a symlink. Returns the index of the last one.
    fn walk<'p>(
        &mut self,
        parts: &[&'p OsStr],
        children: &mut Children<'p>,
    ) -> Result<usize, FilesError> {
        let mut dir = 0;
        for &part in parts {
            dir = match children.get(&(dir, part)) {
                Some(&child) => child,
                None => {
                    let child = self.open_dir(dir, c_name(part))?;
                    children.insert((dir, part), child);
                    child
                }
            };
        }
        Ok(dir)
    }

    /// Opens directory `name` in `parent`, or makes it if it is missing.
    /// Returns its index.
    fn open_dir(&mut self, parent: usize, name: CString) -> Result<usize, FilesError> {
        // A new directory is empty: nothing to open in it.
        if self.is_new(parent) {
            return self.make_dir(parent, name);
        }
        match open_at(self.fd(parent), &name, DIR_FLAGS, 0) {
            Ok(file) => {
                self.dirs.push(Dir {
                    file,
                    parent,
                    name,
                    origin: Origin::Existing,
                    known_filesystem: None,
                });
                Ok(self.dirs.len() - 1)
            }
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => self.make_dir(parent, name),
            Err(e) => Err(self.dir_open_error(parent, &name, e)),
        }
    }

    /// Makes directory `name` in `parent`: in an existing directory under a
    /// hidden temporary name, renamed in step 5 (so its contents appear all
    /// at once); inside a new one under its own name.
    fn make_dir(&mut self, parent: usize, name: CString) -> Result<usize, FilesError> {
        let mode = self.modes.dir_mode();
        let hidden = !self.is_new(parent);
        let known_filesystem = hidden && self.known_filesystem(parent);
        let parent_fd = self.fd(parent);
        let mkdir = |made: &CStr| -> io::Result<()> {
            Ok(rustix::fs::mkdirat(
                parent_fd,
                made,
                Mode::from_raw_mode(mode),
            )?)
        };
        let made = if hidden {
            self.under_temp_name(&name, mkdir)
                .map(|(made, ())| made)
                .map_err(|(_, e)| e)
        } else {
            mkdir(&name).map(|()| name.clone())
        }
        .map_err(|source| FilesError::CreateDirectory {
            path: self.path(parent, &name, false),
            source,
        })?;
        let file = match open_at(parent_fd, &made, DIR_FLAGS, 0) {
            Ok(file) => file,
            Err(source) => {
                // AT_REMOVEDIR only removes an empty directory, and this one
                // was made a moment ago.
                let _ = rustix::fs::unlinkat(parent_fd, made.as_c_str(), AtFlags::REMOVEDIR);
                return Err(FilesError::OpenDirectory {
                    path: self.path(parent, &name, false),
                    source,
                });
            }
        };
        // mkdirat applied the umask, and possibly a default ACL or a setgid
        // parent's group: the mode must not depend on them. When the new
        // directory nonetheless came out with exactly its final mode and
        // group, on a filesystem that applies the same rules to every new
        // entry, whatever is made inside it with the same umask comes out
        // exact too (a file asks for a subset of a directory's bits, 0600 of
        // 0700), and needs no fchmod.
        let exact_modes = if hidden {
            known_filesystem
                && file
                    .metadata()
                    .is_ok_and(|meta| !self.wrong_mode(&meta, mode))
        } else {
            self.exact_modes(parent)
        };
        let origin = if hidden {
            Origin::Hidden {
                temp: made,
                renamed: false,
                exact_modes,
            }
        } else {
            Origin::Inside
        };
        self.dirs.push(Dir {
            file,
            parent,
            name,
            origin,
            known_filesystem: None,
        });
        let dir = self.dirs.len() - 1;
        // Set only after the push, so a failure still removes the directory.
        if !exact_modes {
            self.set_mode(&self.dirs[dir].file, mode)
                .map_err(|e| self.mode_error(self.dir_path(dir, true), mode, e))?;
        }
        Ok(dir)
    }

    /// Whether `dir` is on a filesystem whose rules for the mode and group of
    /// a new entry are the POSIX ones (umask, or a default ACL, and a setgid
    /// parent), the same for files and directories. Not, for example, NFSv4,
    /// whose inherited ACL entries can differ between files and directories.
    fn known_filesystem(&mut self, dir: usize) -> bool {
        if let Some(known) = self.dirs[dir].known_filesystem {
            return known;
        }
        const KNOWN: [u32; 4] = [
            0xEF53,      // ext2, ext3, ext4
            0x5846_5342, // xfs
            0x9123_683E, // btrfs
            0x0102_1994, // tmpfs
        ];
        // Magic numbers are 32 bits; f_type's width varies by platform.
        let known =
            rustix::fs::fstatfs(self.fd(dir)).is_ok_and(|fs| KNOWN.contains(&(fs.f_type as u32)));
        self.dirs[dir].known_filesystem = Some(known);
        known
    }

    /// O_NOFOLLOW|O_DIRECTORY says ELOOP for a symlink; name it plainly.
    fn dir_open_error(&self, parent: usize, name: &CStr, e: io::Error) -> FilesError {
        if e.raw_os_error() == Some(libc::ELOOP) || is_symlink_at(self.fd(parent), name) {
            FilesError::SymlinkedDirectory {
                path: self.path(parent, name, false),
                root: self.root.to_path_buf(),
            }
        } else {
            FilesError::OpenDirectory {
                path: self.path(parent, name, false),
                source: e,
            }
        }
    }

    /// Step 3 for one file: keeps it if its contents are the same, else
    /// writes the new contents (beside it, or in place in a new directory).
    fn write_file(
        &self,
        dir: usize,
        name: &CStr,
        contents: &[u8],
        old: &mut Vec<u8>,
    ) -> Result<Action, FilesError> {
        if self.is_new(dir) {
            // Nobody sees this directory before step 5: no temporary name needed.
            let file = open_at(self.fd(dir), name, NEW_FILE_FLAGS, self.modes.file_mode())
                .map_err(|e| self.write_error(dir, name, name, e))?;
            self.fill(file, dir, name, name, contents)?;
            return Ok(Action::Written);
        }
        let outcome = match self.compare(dir, name, contents, old)? {
            Existing::Same { fix } => return Ok(Action::Keep { fix }),
            Existing::Missing => Outcome::Created,
            Existing::Different => Outcome::Replaced,
        };
        let temp = self.write_temp(dir, name, contents)?;
        Ok(Action::Replace {
            temp,
            outcome,
            renamed: false,
        })
    }

    fn compare(
        &self,
        dir: usize,
        name: &CStr,
        contents: &[u8],
        old: &mut Vec<u8>,
    ) -> Result<Existing, FilesError> {
        let read_err = |source| FilesError::ReadExisting {
            path: self.path(dir, name, false),
            source,
        };
        // O_NONBLOCK: a FIFO planted here must not hang the entrypoint.
        let flags =
            OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::NOCTTY | OFlags::CLOEXEC;
        let mut file = match open_at(self.fd(dir), name, flags, 0) {
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
                path: self.path(dir, name, false),
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
        old.resize(contents.len(), 0);
        match file.read_exact(old) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(Existing::Different),
            Err(e) => return Err(read_err(e)),
        }
        if old[..] != contents[..] {
            return Ok(Existing::Different);
        }
        let fix = self
            .wrong_mode(&meta, self.modes.file_mode())
            .then_some(file);
        Ok(Existing::Same { fix })
    }

    fn needs_fix(&self, dir: usize) -> Result<bool, FilesError> {
        let meta = self.dirs[dir]
            .file
            .metadata()
            .map_err(|source| FilesError::ReadExisting {
                path: self.dir_path(dir, false),
                source,
            })?;
        Ok(self.wrong_mode(&meta, self.modes.dir_mode()))
    }

    fn wrong_mode(&self, meta: &std::fs::Metadata, mode: u32) -> bool {
        let wrong_group = self.modes.group().is_some_and(|gid| meta.gid() != gid);
        meta.mode() & 0o7777 != mode || wrong_group
    }

    /// Writes `contents` to a fresh temporary file beside `name`, with the
    /// final mode from the start. Returns the temporary file's name.
    fn write_temp(&self, dir: usize, name: &CStr, contents: &[u8]) -> Result<CString, FilesError> {
        let create =
            |temp: &CStr| open_at(self.fd(dir), temp, NEW_FILE_FLAGS, self.modes.file_mode());
        let (temp, file) = self
            .under_temp_name(name, create)
            .map_err(|(temp, e)| self.write_error(dir, name, &temp, e))?;
        self.fill(file, dir, name, &temp, contents)?;
        Ok(temp)
    }

    /// Runs `create` (an exclusive create: O_EXCL, mkdirat) under a fresh
    /// temporary name for `name`, trying the next name when another process
    /// (another container's PID 1) took this one. On failure, the error with
    /// the last name tried.
    fn under_temp_name<T>(
        &self,
        name: &CStr,
        create: impl Fn(&CStr) -> io::Result<T>,
    ) -> Result<(CString, T), (CString, io::Error)> {
        let mut attempts = 0;
        loop {
            let temp = temp_name(name, self.pid, NEXT_TEMP.fetch_add(1, Ordering::Relaxed));
            match create(&temp) {
                Ok(made) => return Ok((temp, made)),
                Err(e) if e.raw_os_error() == Some(libc::EEXIST) && attempts < 100 => attempts += 1,
                Err(e) => return Err((temp, e)),
            }
        }
    }

    /// Gives a file this call just made (`made` in `dir`, to become `name`)
    /// the file mode, writes `contents` and fsyncs it. On failure the file
    /// is removed again.
    fn fill(
        &self,
        mut file: File,
        dir: usize,
        name: &CStr,
        made: &CStr,
        contents: &[u8],
    ) -> Result<(), FilesError> {
        let mode = self.modes.file_mode();
        // In a new directory that showed exact modes, the file has its mode already.
        let moded = if self.exact_modes(dir) {
            Ok(())
        } else {
            self.set_mode(&file, mode)
        };
        let result = moded
            .map_err(|e| self.mode_error(self.path(dir, made, true), mode, e))
            .and_then(|()| {
                file.write_all(contents)
                    .and_then(|()| file.sync_all())
                    .map_err(|e| self.write_error(dir, name, made, e))
            });
        if result.is_err() {
            let _ = rustix::fs::unlinkat(self.fd(dir), made, AtFlags::empty());
        }
        result
    }

    fn write_error(&self, dir: usize, name: &CStr, made: &CStr, source: io::Error) -> FilesError {
        FilesError::WriteTemporary {
            path: self.path(dir, name, false),
            temp: self.path(dir, made, true),
            source,
        }
    }

    /// Sets the exact mode (and group 0 in group mode) on an open file or
    /// directory, whatever the umask was.
    fn set_mode(&self, file: &File, mode: u32) -> io::Result<()> {
        if let Some(gid) = self.modes.group() {
            // Before chmod: a chown by a non-root user may clear mode bits.
            std::os::unix::fs::fchown(file, None, Some(gid))?;
        }
        file.set_permissions(Permissions::from_mode(mode))
    }

    fn mode_error(&self, path: PathBuf, mode: u32, source: io::Error) -> FilesError {
        FilesError::SetMode { path, mode, source }
    }

    /// Steps 4 to 6.
    fn commit(&mut self, dir_fixes: &[usize]) -> Result<(), FilesError> {
        let dir_mode = self.modes.dir_mode();
        for &dir in dir_fixes {
            self.set_mode(&self.dirs[dir].file, dir_mode)
                .map_err(|e| self.mode_error(self.dir_path(dir, false), dir_mode, e))?;
        }
        let file_mode = self.modes.file_mode();
        for p in &self.pending {
            if let Action::Keep { fix: Some(file) } = &p.action {
                self.set_mode(file, file_mode)
                    .map_err(|e| self.mode_error(self.path(p.dir, &p.name, false), file_mode, e))?;
            }
        }
        // What a new directory holds must be on disk before it appears.
        for (i, d) in self.dirs.iter().enumerate() {
            if d.origin != Origin::Existing {
                d.file
                    .sync_all()
                    .map_err(|source| FilesError::SyncDirectory {
                        path: self.dir_path(i, true),
                        source,
                    })?;
            }
        }

        let mut changed = vec![false; self.dirs.len()];
        for i in 0..self.pending.len() {
            let p = &self.pending[i];
            if let Action::Replace { temp, .. } = &p.action {
                let fd = self.fd(p.dir);
                rename_at(fd, temp, &p.name).map_err(|source| FilesError::Rename {
                    path: self.path(p.dir, &p.name, false),
                    source,
                })?;
                changed[p.dir] = true;
                if let Action::Replace { renamed, .. } = &mut self.pending[i].action {
                    *renamed = true;
                }
            }
        }
        for i in 0..self.dirs.len() {
            let d = &self.dirs[i];
            if let Origin::Hidden { temp, .. } = &d.origin {
                rename_at(self.fd(d.parent), temp, &d.name).map_err(|source| {
                    FilesError::Rename {
                        path: self.dir_path(i, false),
                        source,
                    }
                })?;
                changed[d.parent] = true;
                if let Origin::Hidden { renamed, .. } = &mut self.dirs[i].origin {
                    *renamed = true;
                }
            }
        }

        for (i, d) in self.dirs.iter().enumerate() {
            if changed[i] {
                d.file
                    .sync_all()
                    .map_err(|source| FilesError::SyncDirectory {
                        path: self.dir_path(i, false),
                        source,
                    })?;
            }
        }
        Ok(())
    }

    /// Removes every temporary file not yet renamed, and every new directory
    /// not yet renamed into place with what this call wrote in it (deepest
    /// first). Errors are ignored: the error being reported matters more.
    fn roll_back(&mut self) {
        for p in &self.pending {
            let made = match &p.action {
                Action::Replace {
                    temp,
                    renamed: false,
                    ..
                } => temp,
                Action::Written if self.still_hidden(p.dir) => &p.name,
                _ => continue,
            };
            let _ = rustix::fs::unlinkat(self.fd(p.dir), made.as_c_str(), AtFlags::empty());
        }
        // Once a new directory is in place, it belongs to the new set.
        for (i, d) in self.dirs.iter().enumerate().rev() {
            let made = match &d.origin {
                Origin::Hidden {
                    temp,
                    renamed: false,
                    ..
                } => temp,
                Origin::Inside if self.still_hidden(i) => &d.name,
                _ => continue,
            };
            // AT_REMOVEDIR only removes an empty directory.
            let _ = rustix::fs::unlinkat(self.fd(d.parent), made.as_c_str(), AtFlags::REMOVEDIR);
        }
    }
}

enum Existing {
    Missing,
    Different,
    Same { fix: Option<File> },
}

fn rename_at(dir_fd: BorrowedFd<'_>, from: &CStr, to: &CStr) -> io::Result<()> {
    Ok(rustix::fs::renameat(dir_fd, from, dir_fd, to)?)
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

fn open_at(dir_fd: impl AsFd, name: &CStr, flags: OFlags, mode: u32) -> io::Result<File> {
    let dir_fd = dir_fd.as_fd();
    loop {
        match rustix::fs::openat(dir_fd, name, flags, Mode::from_raw_mode(mode)) {
            Ok(fd) => return Ok(File::from(fd)),
            Err(Errno::INTR) => {}
            Err(e) => return Err(e.into()),
        }
    }
}

fn is_symlink_at(dir_fd: BorrowedFd<'_>, name: &CStr) -> bool {
    rustix::fs::statat(dir_fd, name, AtFlags::SYMLINK_NOFOLLOW)
        .is_ok_and(|st| FileType::from_raw_mode(st.st_mode) == FileType::Symlink)
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
