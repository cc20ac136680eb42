//! The session store: one small file per project naming its most recent session.
//!
//! File format, as the original design had it: `<id>\n<RFC 3339 UTC time>\n`, plus an optional
//! third line, the project directory, which `show --all` prints and older readers ignore. The
//! line is the path's text with `%`, control characters and bytes that are not UTF-8
//! percent-encoded; a directory whose line would pass [`MAX_DIR_LINE`] is not stored (the
//! record keeps its id and time), so that every file fits [`MAX_FILE`].

use std::fs::{self, OpenOptions};
use std::io::{self, Read};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::Duration;

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::config;
use crate::util::{self, libc_flags};

/// A session file is a few lines; anything bigger is not ours.
pub const MAX_FILE: u64 = 8 * 1024;
pub const MAX_ID: usize = 256;
/// The directory line's limit: with the longest id and time, the file stays within `MAX_FILE`.
/// Any path of up to 7 KiB of text fits; only one with over 2,389 bytes that must be encoded
/// does not.
pub const MAX_DIR_LINE: usize = 7 * 1024;

pub struct Store {
    pub dir: PathBuf,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    pub id: String,
    pub time: OffsetDateTime,
    pub project_dir: Option<PathBuf>,
}

/// What reading a project's file found.
#[derive(Debug)]
pub enum Entry {
    Fresh(Record),
    Missing,
    Stale(Record),
    /// Ours, but unreadable as a record: a missing line, a bad id or time, too big.
    Corrupt(&'static str),
    /// Not ours to trust: a symlink, a non-regular file, another user's file.
    Foreign(&'static str),
}

impl Entry {
    /// Stale, corrupt and foreign files are removed on sight.
    pub fn is_removable(&self) -> bool {
        matches!(self, Entry::Stale(_) | Entry::Corrupt(_) | Entry::Foreign(_))
    }
}

impl Store {
    /// `$CLAUDE_SESSION_DIR`, else `$XDG_RUNTIME_DIR/claude-session`, else `/tmp/claude-session-<uid>`.
    pub fn location() -> PathBuf {
        config::session_dir()
            .or_else(|| config::runtime_dir().map(|d| d.join("claude-session")))
            .unwrap_or_else(|| PathBuf::from(format!("/tmp/claude-session-{}", nix::unistd::geteuid())))
    }

    /// Creates the directory (0700) if needed and refuses one that another user could enter or
    /// plant files in.
    pub fn open() -> Result<Store, String> {
        let dir = Store::location();
        private_dir(&dir).map_err(|why| format!("store {}: {why}", dir.display()))?;
        Ok(Store { dir })
    }

    pub fn path(&self, key: &str) -> PathBuf {
        self.dir.join(key)
    }

    pub fn read(&self, key: &str, ttl: Duration, now: OffsetDateTime) -> Entry {
        read_entry(&self.path(key), ttl, now)
    }

    /// The fresh record for `key`, removing the file when it is stale, corrupt or foreign.
    pub fn load(&self, key: &str, ttl: Duration, now: OffsetDateTime) -> Entry {
        let entry = self.read(key, ttl, now);
        if entry.is_removable() {
            let path = self.path(key);
            match fs::remove_file(&path) {
                Ok(()) => crate::debug!("removed {} ({})", path.display(), describe(&entry)),
                Err(e) => crate::debug!("cannot remove {}: {e}", path.display()),
            }
        }
        entry
    }

    pub fn save(&self, key: &str, record: &Record) -> io::Result<()> {
        util::write(&self.path(key), &format(record), 0o600, util::Durability::Fsync)
    }

    /// Every file in the store directory, by name (hidden temp files included).
    pub fn names(&self) -> io::Result<Vec<String>> {
        util::file_names(&self.dir)
    }
}

pub fn describe(entry: &Entry) -> String {
    match entry {
        Entry::Fresh(_) => "fresh".into(),
        Entry::Missing => "missing".into(),
        Entry::Stale(r) => format!("stale since {}", util::rfc3339(r.time)),
        Entry::Corrupt(why) => format!("corrupt: {why}"),
        Entry::Foreign(why) => format!("foreign: {why}"),
    }
}

/// Makes `dir` if missing (0700) and checks it is a real directory of ours that nobody else can
/// enter: no symlink, our uid, no group or other bits.
pub fn private_dir(dir: &Path) -> Result<(), String> {
    // One lstat on the hot path; mkdir only when the directory is missing.
    let meta = match fs::symlink_metadata(dir) {
        Ok(meta) => meta,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            make_private_dir(dir)?;
            fs::symlink_metadata(dir).map_err(|e| e.to_string())?
        }
        Err(e) => return Err(e.to_string()),
    };
    if meta.file_type().is_symlink() {
        return Err("is a symlink".into());
    }
    if !meta.is_dir() {
        return Err("is not a directory".into());
    }
    let uid = nix::unistd::geteuid().as_raw();
    if meta.uid() != uid {
        return Err(format!("owned by uid {}, not {uid}", meta.uid()));
    }
    if meta.mode() & 0o077 != 0 {
        return Err(format!("mode {:o} lets other users in (want 700)", meta.mode() & 0o777));
    }
    Ok(())
}

/// `mkdir -p` whose last component is exactly 0700 (mkdir's mode passes through the umask).
/// Losing a race to another hook creating it is fine.
pub fn make_private_dir(dir: &Path) -> Result<(), String> {
    if let Some(parent) = dir.parent() {
        fs::DirBuilder::new().recursive(true).mode(0o700).create(parent).map_err(|e| e.to_string())?;
    }
    match fs::DirBuilder::new().mode(0o700).create(dir) {
        Ok(()) => fs::set_permissions(dir, fs::Permissions::from_mode(0o700)).map_err(|e| e.to_string()),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e.to_string()),
    }
}

fn read_entry(path: &Path, ttl: Duration, now: OffsetDateTime) -> Entry {
    // O_NOFOLLOW: a planted symlink fails with ELOOP; O_NONBLOCK: a planted FIFO cannot hang us.
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(libc_flags::O_NOFOLLOW | libc_flags::O_NONBLOCK | libc_flags::O_CLOEXEC)
        .open(path);
    let mut file = match file {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Entry::Missing,
        Err(e) if e.raw_os_error() == Some(nix::errno::Errno::ELOOP as i32) => {
            return Entry::Foreign("a symlink");
        }
        Err(_) => return Entry::Foreign("unreadable"),
    };
    let Ok(meta) = file.metadata() else {
        return Entry::Foreign("unreadable");
    };
    if !meta.is_file() {
        return Entry::Foreign("not a regular file");
    }
    if meta.uid() != nix::unistd::geteuid().as_raw() {
        return Entry::Foreign("owned by another user");
    }
    if meta.mode() & 0o022 != 0 {
        return Entry::Foreign("writable by others");
    }
    if meta.len() > MAX_FILE {
        return Entry::Corrupt("larger than 8 KiB");
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize + 1);
    if (&mut file).take(MAX_FILE + 1).read_to_end(&mut bytes).is_err() {
        return Entry::Foreign("unreadable");
    }
    match parse(&bytes, now, ttl) {
        Ok(record) if util::age_secs(record.time, now) > ttl.as_secs() as i64 => Entry::Stale(record),
        Ok(record) => Entry::Fresh(record),
        Err(why) => Entry::Corrupt(why),
    }
}

/// Parses a session file. A time further in the future than the TTL is corrupt (a clock this
/// wrong would keep the file alive forever); smaller skews are read as fresh. A directory line
/// over [`MAX_DIR_LINE`] is not one we wrote: the record is read without it.
pub fn parse(bytes: &[u8], now: OffsetDateTime, ttl: Duration) -> Result<Record, &'static str> {
    if bytes.len() as u64 > MAX_FILE {
        return Err("larger than 8 KiB");
    }
    let text = std::str::from_utf8(bytes).map_err(|_| "not UTF-8")?;
    let mut lines = text.split('\n');
    let id = lines.next().unwrap_or_default();
    check_id(id)?;
    let time = parse_time(lines.next().ok_or("missing time line")?)?;
    if util::age_secs(time, now) < -(ttl.as_secs() as i64) {
        return Err("time in the future");
    }
    let project_dir = lines.next().filter(|l| !l.is_empty() && l.len() <= MAX_DIR_LINE).map(decode_path);
    Ok(Record { id: id.to_owned(), time, project_dir })
}

/// The file for `record`: its directory line only when it fits [`MAX_DIR_LINE`].
pub fn format(record: &Record) -> Vec<u8> {
    let mut out = format!("{}\n{}\n", record.id, util::rfc3339(record.time)).into_bytes();
    if let Some(line) = record.project_dir.as_deref().map(encode_path).filter(|l| l.len() <= MAX_DIR_LINE) {
        out.extend_from_slice(line.as_bytes());
        out.push(b'\n');
    }
    out
}

/// A session id we store and send: non-empty, at most 256 bytes, no control characters.
pub fn check_id(id: &str) -> Result<(), &'static str> {
    if id.is_empty() {
        Err("empty id")
    } else if id.len() > MAX_ID {
        Err("id over 256 bytes")
    } else if id.chars().any(char::is_control) {
        Err("control character in id")
    } else {
        Ok(())
    }
}

/// RFC 3339, or the original Python design's naive `2025-09-24T12:52:51.430382` (read as UTC).
pub fn parse_time(line: &str) -> Result<OffsetDateTime, &'static str> {
    let line = line.trim_end_matches('\r');
    if let Ok(t) = OffsetDateTime::parse(line, &Rfc3339) {
        return Ok(t);
    }
    // The naive form is RFC 3339 less its offset.
    OffsetDateTime::parse(&format!("{line}Z"), &Rfc3339).map_err(|_| "bad time")
}

/// A path as one line of text: `%`, control characters and bytes that are not UTF-8 become
/// `%XX`; everything else is kept as it is.
pub fn encode_path(path: &Path) -> String {
    let mut out = String::new();
    let hex = |out: &mut String, bytes: &[u8]| {
        for b in bytes {
            out.push_str(&format!("%{b:02X}"));
        }
    };
    for chunk in path.as_os_str().as_bytes().utf8_chunks() {
        for c in chunk.valid().chars() {
            if c == '%' || c.is_control() {
                hex(&mut out, c.encode_utf8(&mut [0; 4]).as_bytes());
            } else {
                out.push(c);
            }
        }
        hex(&mut out, chunk.invalid());
    }
    out
}

/// The path a line names: every `%XX` is its byte, anything else is kept.
pub fn decode_path(line: &str) -> PathBuf {
    let bytes = line.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes.get(i + 1..i + 3).and_then(|h| std::str::from_utf8(h).ok());
        match (bytes[i], hex.and_then(|h| u8::from_str_radix(h, 16).ok())) {
            (b'%', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    PathBuf::from(std::ffi::OsString::from_vec(out))
}
