//! Which session an event belongs to, and the store that remembers each project's latest.
//!
//! An event's session is the payload's id, else the environment's, else the one stored for the
//! project, else `unknown`. The store names a live session of the project: the one that started
//! last, or that took over when the stored one had not been refreshed for the refresh interval.
//! An id seen in a payload or the environment is stored at its SessionStart, when the store is
//! empty, stale or due for a refresh; so sessions alternating in one project write the store as
//! rarely as one session does (issue 30), not at every hook.
//!
//! The store is one small file per project naming its most recent session; it keeps only ids
//! every reader can take ([`check_id`]). File format, as the original design had it:
//! `<id>\n<RFC 3339 UTC time>\n`, plus an optional third line, the project directory, which
//! `show --all` prints and older readers ignore. The line is the path's text with `%`, control
//! characters and bytes that are not UTF-8 percent-encoded; a directory whose line would pass
//! [`MAX_DIR_LINE`] is not stored (the record keeps its id and time), so that every file fits
//! [`MAX_FILE`].

use std::fs;
use std::io;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};
use std::time::Duration;

use time::OffsetDateTime;

use crate::private::{self, Durability, Refused};
use crate::project::Project;
use crate::{clock, config};

pub const UNKNOWN: &str = "unknown";

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Source {
    Payload,
    Env,
    Store,
    Unknown,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Payload => "payload",
            Source::Env => "env",
            Source::Store => "store",
            Source::Unknown => "unknown",
        }
    }
}

pub struct Session {
    pub id: String,
    pub source: Source,
}

/// How often an unchanged id's time is rewritten: often enough that an active session never
/// goes stale, rarely enough that the tool-call hot path almost never writes.
pub fn refresh_interval(ttl: Duration) -> Duration {
    (ttl / 8).min(Duration::from_secs(3600))
}

/// Resolves the id for a hook and updates the store when the id is new or its time is due.
///
/// Only a session's start is synced to disk: a later update lost in a power cut leaves a pointer
/// to a slightly older session, and syncing it would cost every hook of two sessions that share a
/// project (each rewrites the pointer) two disk flushes.
pub fn resolve(payload_id: Option<&str>, project: &Project, now: OffsetDateTime, starting: bool) -> Session {
    let given = given_id(payload_id);
    let store = match Store::open() {
        Ok(store) => Some(store),
        Err(why) => {
            crate::debug!("{why}; carrying on without the store");
            None
        }
    };
    let ttl = config::ttl();
    let stored = store.as_ref().map_or(Entry::Missing, |s| s.read_or_remove(&project.key, ttl, now));
    match given {
        Some((id, source)) => {
            // A fresh record is left alone until it is due: this session's, and another's too
            // (another session alternating with this one is still alive, and the store cannot
            // name both), unless this one is starting.
            let current = matches!(&stored, Entry::Fresh(r)
                if (r.id == id || !starting) && clock::age_secs(r.time, now) < refresh_interval(ttl).as_secs() as i64);
            if let (false, Some(store)) = (current, &store) {
                let record = Record { id: id.clone(), time: now, project_dir: Some(project.dir.clone()) };
                let durability = if starting { Durability::Fsync } else { Durability::Atomic };
                if let Err(e) = store.save(&project.key, &record, durability) {
                    crate::debug!("cannot store session {id} in {}: {e}", store.dir.display());
                }
            }
            Session { id, source }
        }
        None => from_store(stored),
    }
}

/// What `show` reports: the environment's id, else the store's; never writes.
pub fn current(project: &Project, now: OffsetDateTime) -> Result<Session, String> {
    if let Some((id, source)) = given_id(None) {
        return Ok(Session { id, source });
    }
    let store = Store::open()?;
    Ok(from_store(store.read_or_remove(&project.key, config::ttl(), now)))
}

/// The stored id when fresh, else `unknown`.
fn from_store(entry: Entry) -> Session {
    match entry {
        Entry::Fresh(record) => Session { id: record.id, source: Source::Store },
        _ => Session { id: UNKNOWN.into(), source: Source::Unknown },
    }
}

/// The id the event names: the payload's, else `$CLAUDE_CODE_SESSION_ID`, when valid.
fn given_id(payload_id: Option<&str>) -> Option<(String, Source)> {
    let valid = |id: &str| check_id(id).is_ok();
    payload_id
        .filter(|id| valid(id))
        .map(|id| (id.to_owned(), Source::Payload))
        .or_else(|| config::env_session_id().filter(|id| valid(id)).map(|id| (id, Source::Env)))
}

// The store: one file per project, read and written whole, and the ids it keeps.

/// A session file is a few lines; anything bigger is not ours.
pub const MAX_FILE: u64 = 8 * 1024;
/// The directory line's limit: with the longest id and time, the file stays within `MAX_FILE`.
/// Any path of up to 7 KiB of text fits; only one with over 2,389 bytes that must be encoded
/// does not.
pub const MAX_DIR_LINE: usize = 7 * 1024;

pub const MAX_ID: usize = 256;

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
    /// `$CLAUDE_SESSION_DIR`, else `$XDG_RUNTIME_DIR/claude-session`, else `sessions/` in our
    /// state directory. Never a fixed name in a shared directory such as /tmp, which another user
    /// could create first and so disable the store.
    pub fn location() -> Option<PathBuf> {
        config::session_dir()
            .or_else(|| config::runtime_dir().map(|d| d.join("claude-session")))
            .or_else(|| config::state_dir().map(|d| d.join("sessions")))
    }

    /// Creates the directory (0700) if needed and refuses one that another user could enter or
    /// plant files in.
    pub fn open() -> Result<Store, String> {
        let dir = Store::location().ok_or("no store directory: set CLAUDE_SESSION_DIR or HOME")?;
        private::dir(&dir).map_err(|why| format!("store {}: {why}", dir.display()))?;
        Ok(Store { dir })
    }

    pub fn path(&self, key: &str) -> PathBuf {
        self.dir.join(key)
    }

    pub fn read(&self, key: &str, ttl: Duration, now: OffsetDateTime) -> Entry {
        read_entry(&self.path(key), ttl, now)
    }

    /// Reads the record for `key`, removing the file when it is stale, corrupt or foreign.
    pub fn read_or_remove(&self, key: &str, ttl: Duration, now: OffsetDateTime) -> Entry {
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

    pub fn save(&self, key: &str, record: &Record, durability: Durability) -> io::Result<()> {
        private::write_atomic(&self.path(key), &format(record), 0o600, durability)
    }

    /// Every file in the store directory, by name (hidden temp files included).
    pub fn names(&self) -> io::Result<Vec<String>> {
        private::file_names(&self.dir)
    }
}

pub fn describe(entry: &Entry) -> String {
    match entry {
        Entry::Fresh(_) => "fresh".into(),
        Entry::Missing => "missing".into(),
        Entry::Stale(r) => format!("stale since {}", clock::short(r.time)),
        Entry::Corrupt(why) => format!("corrupt: {why}"),
        Entry::Foreign(why) => format!("foreign: {why}"),
    }
}

fn read_entry(path: &Path, ttl: Duration, now: OffsetDateTime) -> Entry {
    let bytes = match private::read(path, MAX_FILE) {
        Ok(bytes) => bytes,
        Err(Refused::Missing) => return Entry::Missing,
        Err(Refused::TooBig(_)) => return Entry::Corrupt("larger than 8 KiB"),
        Err(Refused::Symlink) => return Entry::Foreign("a symlink"),
        Err(Refused::NotRegular) => return Entry::Foreign("not a regular file"),
        Err(Refused::OtherOwner(_)) => return Entry::Foreign("owned by another user"),
        Err(Refused::OpenToOthers(_)) => return Entry::Foreign("writable by others"),
        Err(_) => return Entry::Foreign("unreadable"),
    };
    match parse(&bytes, now, ttl) {
        Ok(record) if clock::age_secs(record.time, now) > ttl.as_secs() as i64 => Entry::Stale(record),
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
    let time = clock::parse(lines.next().ok_or("missing time line")?).ok_or("bad time")?;
    if clock::age_secs(time, now) < -(ttl.as_secs() as i64) {
        return Err("time in the future");
    }
    let project_dir = lines.next().filter(|l| !l.is_empty() && l.len() <= MAX_DIR_LINE).map(decode_path);
    Ok(Record { id: id.to_owned(), time, project_dir })
}

/// The file for `record`: its directory line only when it fits [`MAX_DIR_LINE`].
pub fn format(record: &Record) -> Vec<u8> {
    let mut out = format!("{}\n{}\n", record.id, clock::rfc3339(record.time)).into_bytes();
    if let Some(line) = record.project_dir.as_deref().map(encode_path).filter(|l| l.len() <= MAX_DIR_LINE) {
        out.extend_from_slice(line.as_bytes());
        out.push(b'\n');
    }
    out
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
        // Two hex digits exactly: from_str_radix alone would take `+5`. Looked at after a `%` only.
        let hex = (bytes[i] == b'%').then(|| bytes.get(i + 1..i + 3)).flatten();
        let hex = hex.filter(|h| h.iter().all(u8::is_ascii_hexdigit));
        match (bytes[i], hex.and_then(|h| u8::from_str_radix(std::str::from_utf8(h).ok()?, 16).ok())) {
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
