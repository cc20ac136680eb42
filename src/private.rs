//! What "ours" means, in one place: a private directory (a real directory of our uid that nobody
//! else can enter), a file of ours (a regular file of our uid that nobody else can write), opens
//! that never follow a planted link nor block on a planted FIFO, and the one atomic write. The
//! store, the journal, the outbox and the settings all go through here; none has its own rule.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::fcntl::OFlag;

/// Never through a symlink at the last component; never waiting for a FIFO's other end.
pub const NOFOLLOW_NONBLOCK: i32 = OFlag::O_NOFOLLOW.bits() | OFlag::O_NONBLOCK.bits();

/// Why a path is not ours to use.
#[derive(Debug)]
pub enum Refused {
    Missing,
    Symlink,
    NotRegular,
    NotDirectory,
    OtherOwner(u32),
    OpenToOthers(u32),
    TooBig(u64),
    Io(io::Error),
}

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        match self {
            Refused::Missing => write!(f, "missing"),
            Refused::Symlink => write!(f, "is a symlink"),
            Refused::NotRegular => write!(f, "not a regular file"),
            Refused::NotDirectory => write!(f, "is not a directory"),
            Refused::OtherOwner(uid) => write!(f, "owned by uid {uid}, not {}", uid_self()),
            Refused::OpenToOthers(mode) => write!(f, "mode {mode:o} lets other users in"),
            Refused::TooBig(len) => write!(f, "{len} bytes, larger than ours ever are"),
            Refused::Io(e) => write!(f, "{e}"),
        }
    }
}

impl From<io::Error> for Refused {
    fn from(e: io::Error) -> Refused {
        match Errno::from_raw(e.raw_os_error().unwrap_or(0)) {
            Errno::ENOENT => Refused::Missing,
            // O_NOFOLLOW on a symlink.
            Errno::ELOOP => Refused::Symlink,
            // O_NONBLOCK write-only open of a FIFO without a reader, or a device.
            Errno::ENXIO => Refused::NotRegular,
            _ => Refused::Io(e),
        }
    }
}

pub fn uid_self() -> u32 {
    // Asked for every file a hook checks: one system call, not one each.
    static UID: std::sync::OnceLock<u32> = std::sync::OnceLock::new();
    *UID.get_or_init(|| nix::unistd::geteuid().as_raw())
}

/// Makes `dir` if missing (0700, parents as needed) and checks it is a real directory of ours
/// that nobody else can enter or plant files in.
pub fn dir(dir: &Path) -> Result<(), Refused> {
    // One lstat on the hot path; mkdir only when the directory is missing.
    let meta = match fs::symlink_metadata(dir) {
        Ok(meta) => meta,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            make_dir(dir)?;
            fs::symlink_metadata(dir)?
        }
        Err(e) => return Err(e.into()),
    };
    if meta.file_type().is_symlink() {
        return Err(Refused::Symlink);
    }
    if !meta.is_dir() {
        return Err(Refused::NotDirectory);
    }
    if meta.uid() != uid_self() {
        return Err(Refused::OtherOwner(meta.uid()));
    }
    if meta.mode() & 0o077 != 0 {
        return Err(Refused::OpenToOthers(meta.mode() & 0o777));
    }
    Ok(())
}

/// `mkdir -p` whose last component is exactly 0700 (mkdir's mode passes through the umask).
/// Losing a race to another hook creating it is fine: [`dir`] checks what is there.
fn make_dir(dir: &Path) -> io::Result<()> {
    if let Some(parent) = dir.parent() {
        fs::DirBuilder::new().recursive(true).mode(0o700).create(parent)?;
    }
    match fs::DirBuilder::new().mode(0o700).create(dir) {
        Ok(()) => fs::set_permissions(dir, fs::Permissions::from_mode(0o700)),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
}

/// A file we may trust: regular, our uid, writable by nobody else.
pub fn check_file(meta: &fs::Metadata) -> Result<(), Refused> {
    if !meta.is_file() {
        return Err(Refused::NotRegular);
    }
    if meta.uid() != uid_self() {
        return Err(Refused::OtherOwner(meta.uid()));
    }
    if meta.mode() & 0o022 != 0 {
        return Err(Refused::OpenToOthers(meta.mode() & 0o777));
    }
    Ok(())
}

/// Opens a file of ours for reading, without following a link or blocking.
pub fn open(path: &Path) -> Result<File, Refused> {
    opened(path).map(|(file, _)| file)
}

/// [`open`], with the metadata it checked.
fn opened(path: &Path) -> Result<(File, fs::Metadata), Refused> {
    let file = OpenOptions::new().read(true).custom_flags(NOFOLLOW_NONBLOCK).open(path)?;
    let meta = file.metadata()?;
    check_file(&meta)?;
    Ok((file, meta))
}

/// Reads a file of ours of at most `max` bytes.
pub fn read(path: &Path, max: u64) -> Result<Vec<u8>, Refused> {
    let (file, meta) = opened(path)?;
    let len = meta.len();
    if len > max {
        return Err(Refused::TooBig(len));
    }
    let mut bytes = Vec::with_capacity(len as usize + 1);
    file.take(max + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > max {
        return Err(Refused::TooBig(bytes.len() as u64));
    }
    Ok(bytes)
}

/// Reads a file that need not be ours (a CA bundle is root's, often through a link) but must be a
/// regular file of at most `max` bytes: opened without blocking, so a FIFO planted or named by
/// mistake is refused at once instead of waiting for a writer forever.
pub fn read_regular(path: &Path, max: u64) -> io::Result<Vec<u8>> {
    let file = OpenOptions::new().read(true).custom_flags(OFlag::O_NONBLOCK.bits()).open(path)?;
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(io::Error::other("not a regular file"));
    }
    let mut bytes = Vec::new();
    file.take(max + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > max {
        return Err(io::Error::other(format!("larger than {max} bytes")));
    }
    Ok(bytes)
}

/// Opens (creating, 0600) a file of ours for appending, with read access for healing its tail.
pub fn open_append(path: &Path) -> Result<File, Refused> {
    let file = OpenOptions::new()
        .read(true)
        .append(true)
        .create(true)
        .mode(0o600)
        .custom_flags(NOFOLLOW_NONBLOCK)
        .open(path)?;
    check_file(&file.metadata()?)?;
    Ok(file)
}

/// `flock` with a deadline: retries with short sleeps, so a holder that never lets go costs a
/// bounded wait, not a hung hook. The clock is read only once the lock is found taken.
pub fn lock_within(file: &File, wait: Duration) -> io::Result<()> {
    let mut deadline = None;
    let mut pause = Duration::from_micros(200);
    loop {
        match file.try_lock() {
            Ok(()) => return Ok(()),
            Err(fs::TryLockError::Error(e)) => return Err(e),
            Err(fs::TryLockError::WouldBlock) => {
                let deadline = *deadline.get_or_insert_with(|| Instant::now() + wait);
                if Instant::now() >= deadline {
                    return Err(io::Error::new(io::ErrorKind::TimedOut, format!("lock held for over {wait:?}")));
                }
                std::thread::sleep(pause);
                pause = (pause * 2).min(Duration::from_millis(20));
            }
        }
    }
}

/// How far [`write_atomic`] goes to make a file survive.
#[derive(Clone, Copy, PartialEq, Debug)]
pub enum Durability {
    /// fsync the file and its directory: survives a power cut.
    Fsync,
    /// Atomic, not synced: survives any crash of ours, costs no disk flush.
    Atomic,
}

/// `<nanos, 20 digits>.<pid>.<n>`: a file name that sorts by time and that no other write, of
/// this process or another, takes (the journal's and the queues' late files).
pub fn unique_name(nanos: i128) -> String {
    static COUNTER: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    format!("{nanos:020}.{}.{n}", std::process::id())
}

/// Replaces `path` with `bytes` atomically: a new temp file beside it (`O_EXCL`, `O_NOFOLLOW`,
/// `mode`), write, rename over the target; with [`Durability::Fsync`] the file is synced before
/// the rename and the directory after it. A symlink or foreign file at the target is replaced,
/// never followed. The temp file is removed on any error.
pub fn write_atomic(path: &Path, bytes: &[u8], mode: u32, durability: Durability) -> io::Result<()> {
    Staged::new(path, bytes, mode, durability)?.commit(durability)
}

/// A new version of a file, written beside it (`O_EXCL`, `O_NOFOLLOW`, `mode`) and not yet renamed
/// over it: what [`write_atomic`] does in two steps, so that the slow part (writing, syncing) can
/// happen before a lock is taken and only the rename under it. Removed unless committed.
pub struct Staged {
    file: File,
    tmp: PathBuf,
    path: PathBuf,
    committed: bool,
}

impl Staged {
    /// Writes `bytes` to a temp file beside `path`, synced with [`Durability::Fsync`].
    pub fn new(path: &Path, bytes: &[u8], mode: u32, durability: Durability) -> io::Result<Staged> {
        let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
        let tmp = dir.join(temp_name(path));
        let file =
            OpenOptions::new().write(true).create_new(true).mode(mode).custom_flags(NOFOLLOW_NONBLOCK).open(&tmp)?;
        let mut staged = Staged { file, tmp, path: path.to_path_buf(), committed: false };
        staged.file.write_all(bytes)?;
        if durability == Durability::Fsync {
            staged.file.sync_all()?;
        }
        Ok(staged)
    }

    /// Adds `bytes` at the end (not synced: what is added under a lock must be quick).
    pub fn append(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.file.write_all(bytes)
    }

    /// Renames it to `to` instead of the path it was staged beside (a name in another directory
    /// of the same file system: whoever reads that directory never sees it half written).
    pub fn rename_to(&mut self, to: &Path) -> io::Result<()> {
        fs::rename(&self.tmp, to)?;
        self.committed = true;
        Ok(())
    }

    /// Renames it over the path; with [`Durability::Fsync`] the directory is synced after.
    pub fn commit(mut self, durability: Durability) -> io::Result<()> {
        fs::rename(&self.tmp, &self.path)?;
        self.committed = true;
        if durability == Durability::Fsync {
            let dir = self.path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
            File::open(dir)?.sync_all()?;
        }
        Ok(())
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        if !self.committed {
            let _ = fs::remove_file(&self.tmp);
        }
    }
}

/// `.<name>.<pid>.<n>.tmp`: hidden, unique per writer, and recognisable by `cleanup`.
fn temp_name(path: &Path) -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let name = path.file_name().map(|n| n.to_string_lossy()).unwrap_or_default();
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!(".{name}.{}.{n}.tmp", std::process::id())
}

/// Whether a file name is one of [`write_atomic`]'s temp files.
pub fn is_temp_name(name: &str) -> bool {
    name.starts_with('.') && name.ends_with(".tmp")
}

/// The pid that wrote a temp file, from its name.
pub fn temp_writer(name: &str) -> Option<i32> {
    name.rsplit('.').nth(2)?.parse().ok()
}

/// The names of the files in `dir` that are text, sorted (oldest first for time-named files).
pub fn file_names(dir: &Path) -> io::Result<Vec<String>> {
    let mut names: Vec<String> = fs::read_dir(dir)?.filter_map(|e| e.ok()?.file_name().into_string().ok()).collect();
    names.sort_unstable();
    Ok(names)
}
