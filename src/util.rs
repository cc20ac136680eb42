//! Small shared pieces: the one atomic file write, debug diagnostics, time.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// How far [`write`] goes to make a file survive.
#[derive(Clone, Copy, PartialEq)]
pub enum Durability {
    /// fsync the file and its directory: survives a power cut.
    Fsync,
    /// Atomic, not synced: survives any crash of ours, costs no disk flush (the outbox spool,
    /// which is on the hook's hot path).
    Atomic,
}

/// Replaces `path` with `bytes` atomically: a new temp file beside it (`O_EXCL`, `O_NOFOLLOW`,
/// `mode`), write, fsync, rename over the target, fsync the directory. A symlink or foreign file
/// at the target is replaced, never followed. The temp file is removed on any error.
pub fn write(path: &Path, bytes: &[u8], mode: u32, durability: Durability) -> io::Result<()> {
    let sync = durability == Durability::Fsync;
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let tmp = dir.join(temp_name(path));
    let result = (|| {
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .custom_flags(libc_flags::O_NOFOLLOW | libc_flags::O_CLOEXEC)
            .open(&tmp)?;
        file.write_all(bytes)?;
        if sync {
            file.sync_all()?;
        }
        fs::rename(&tmp, path)?;
        if sync {
            File::open(dir)?.sync_all()?;
        }
        Ok(())
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// `.<name>.<pid>.<n>.tmp`: hidden, unique per writer, and recognisable by `cleanup`.
fn temp_name(path: &Path) -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let name = path.file_name().map(|n| n.to_string_lossy()).unwrap_or_default();
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!(".{name}.{}.{n}.tmp", std::process::id())
}

/// The names of the files in `dir` that are text, sorted (oldest first for time-named files).
pub fn file_names(dir: &Path) -> io::Result<Vec<String>> {
    let mut names: Vec<String> = fs::read_dir(dir)?.filter_map(|e| e.ok()?.file_name().into_string().ok()).collect();
    names.sort_unstable();
    Ok(names)
}

/// Whether a file name is one of [`write`]'s temp files.
pub fn is_temp_name(name: &str) -> bool {
    name.starts_with('.') && name.ends_with(".tmp")
}

/// nix re-exports libc's flags as typed bitflags; std wants the raw `c_int`.
pub mod libc_flags {
    use nix::fcntl::OFlag;
    pub const O_NOFOLLOW: i32 = OFlag::O_NOFOLLOW.bits();
    pub const O_CLOEXEC: i32 = OFlag::O_CLOEXEC.bits();
    pub const O_NONBLOCK: i32 = OFlag::O_NONBLOCK.bits();
}

static APPLET: OnceLock<&'static str> = OnceLock::new();
static DEBUG: OnceLock<bool> = OnceLock::new();

/// Names the running applet in diagnostics.
pub fn set_applet(name: &'static str) {
    let _ = APPLET.set(name);
}

pub fn debug_enabled() -> bool {
    *DEBUG.get_or_init(crate::config::debug)
}

/// One line on stderr under `CLAUDE_SESSION_DEBUG=1` / `HOOK_DEBUG=true`; nothing otherwise.
pub fn debug(args: std::fmt::Arguments) {
    if debug_enabled() {
        let applet = APPLET.get().copied().unwrap_or("claude-session");
        let _ = writeln!(io::stderr().lock(), "claude-session: {applet}: {args}");
    }
}

#[macro_export]
macro_rules! debug {
    ($($arg:tt)*) => { $crate::util::debug(format_args!($($arg)*)) };
}

pub fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

pub fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_default()
}

/// Whole seconds from `then` to `now`, negative when `then` is in the future.
pub fn age_secs(then: OffsetDateTime, now: OffsetDateTime) -> i64 {
    (now - then).whole_seconds()
}

/// `42s`, `5m`, `3h`, `2d`: the coarse age `show` prints.
pub fn human_age(secs: i64) -> String {
    let s = secs.max(0);
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m", s / 60),
        3600..86400 => format!("{}h", s / 3600),
        _ => format!("{}d", s / 86400),
    }
}
