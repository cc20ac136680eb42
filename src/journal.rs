//! The journal: every event, one JSON line, one file per UTC day.
//!
//! Appends from any number of hook processes never interleave or tear: each line is written
//! with one `O_APPEND` write under an exclusive `flock`, a line that could not be written whole is
//! truncated away, and a torn tail left by a killed writer is cut before the next line goes on.

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufRead, BufReader, Write};
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use time::{Date, OffsetDateTime};

use crate::config;
use crate::util::libc_flags;

/// `$CLAUDE_SESSION_LOG_DIR`, else `$XDG_STATE_HOME/claude-session/logs`, else
/// `~/.local/state/claude-session/logs`.
pub fn dir() -> Option<PathBuf> {
    config::log_dir()
        .or_else(|| config::state_home().map(|d| d.join("claude-session/logs")))
        .or_else(|| config::home().map(|h| h.join(".local/state/claude-session/logs")))
}

/// [`dir`], or the error commands report when there is none.
pub fn require_dir() -> Result<PathBuf, String> {
    dir().ok_or_else(|| "no journal directory: set CLAUDE_SESSION_LOG_DIR or HOME".to_owned())
}

/// `YYYY-MM-DD.jsonl` for the UTC day of `time`.
pub fn file_name(time: OffsetDateTime) -> String {
    let d = time.date();
    format!("{:04}-{:02}-{:02}.jsonl", d.year(), d.month() as u8, d.day())
}

/// The day a journal file holds, if the name is one of ours.
pub fn file_date(name: &str) -> Option<Date> {
    let stem = name.strip_suffix(".jsonl")?;
    let mut parts = stem.splitn(3, '-');
    let (y, m, d) = (parts.next()?, parts.next()?, parts.next()?);
    if stem.len() != 10
        || !stem.bytes().enumerate().all(|(i, b)| if i == 4 || i == 7 { b == b'-' } else { b.is_ascii_digit() })
    {
        return None;
    }
    let month = time::Month::try_from(m.parse::<u8>().ok()?).ok()?;
    Date::from_calendar_date(y.parse().ok()?, month, d.parse().ok()?).ok()
}

/// Appends one line (ending in `\n`) to today's file, creating the directory (0700) and the
/// file (0600) as needed.
pub fn append(dir: &Path, time: OffsetDateTime, line: &[u8]) -> io::Result<()> {
    let path = dir.join(file_name(time));
    let file = match open_append(&path) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            crate::store::make_private_dir(dir).map_err(io::Error::other)?;
            open_append(&path)?
        }
        other => other?,
    };
    append_locked(&file, line)
}

/// Appends `line` to a file opened with `O_APPEND`, under an exclusive lock, whole or not at all.
pub fn append_locked(file: &File, line: &[u8]) -> io::Result<()> {
    file.lock()?;
    let size = heal_tail(file)?;
    let result = (&*file).write_all(line);
    if result.is_err() {
        // A line that did not fit (full disk, file size limit) must not leave half of itself.
        let _ = file.set_len(size);
    }
    let _ = file.unlock();
    result
}

/// Read access too: healing a torn tail reads the last bytes.
pub fn open_append(path: &Path) -> io::Result<File> {
    OpenOptions::new()
        .read(true)
        .append(true)
        .create(true)
        .mode(0o600)
        .custom_flags(libc_flags::O_NOFOLLOW | libc_flags::O_CLOEXEC)
        .open(path)
}

/// A writer killed mid-line leaves a tail without `\n`; cut it so the next line starts clean.
/// Returns the file's size afterwards.
fn heal_tail(file: &File) -> io::Result<u64> {
    let size = file.metadata()?.len();
    let mut last = [0u8; 1];
    if size == 0 || (file.read_exact_at(&mut last, size - 1).is_ok() && last[0] == b'\n') {
        return Ok(size);
    }
    let mut end = size;
    let mut buf = vec![0u8; 64 * 1024];
    while end > 0 {
        let start = end.saturating_sub(buf.len() as u64);
        let chunk = &mut buf[..(end - start) as usize];
        file.read_exact_at(chunk, start)?;
        if let Some(i) = chunk.iter().rposition(|&b| b == b'\n') {
            let keep = start + i as u64 + 1;
            file.set_len(keep)?;
            return Ok(keep);
        }
        end = start;
    }
    file.set_len(0)?;
    Ok(0)
}

/// The journal's files, oldest first, with their days.
pub fn files(dir: &Path) -> io::Result<Vec<(Date, PathBuf)>> {
    let mut files: Vec<(Date, PathBuf)> = fs::read_dir(dir)?
        .filter_map(|e| {
            let e = e.ok()?;
            let date = file_date(e.file_name().to_str()?)?;
            Some((date, e.path()))
        })
        .collect();
    files.sort();
    Ok(files)
}

/// Calls `each` with every whole line of the files from `since` on, in order.
pub fn for_each_line(dir: &Path, since: Option<Date>, mut each: impl FnMut(&str)) -> io::Result<()> {
    for (date, path) in files(dir)? {
        if since.is_some_and(|s| date < s) {
            continue;
        }
        let mut reader = BufReader::with_capacity(256 * 1024, File::open(&path)?);
        let mut line = Vec::new();
        loop {
            line.clear();
            if reader.read_until(b'\n', &mut line)? == 0 {
                break;
            }
            // A torn tail (no newline yet) or bytes that are not text are not events.
            if let (Some(b'\n'), Ok(text)) = (line.last(), std::str::from_utf8(&line)) {
                each(text);
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_round_trip() {
        let t = OffsetDateTime::from_unix_timestamp(1_763_700_000).unwrap();
        let name = file_name(t);
        assert_eq!(name, "2025-11-21.jsonl");
        assert_eq!(file_date(&name), Some(t.date()));
        for bad in ["2025-11-21.json", "2025-13-01.jsonl", "x025-11-21.jsonl", "2025-1-211.jsonl", "notes.jsonl"] {
            assert_eq!(file_date(bad), None, "{bad}");
        }
    }
}
