//! The journal: every event, one JSON line, one file per UTC day.
//!
//! Appends from any number of hook processes never interleave or tear: each line is written
//! with one `O_APPEND` write under an exclusive `flock`, a line that could not be written whole is
//! truncated away, and a torn tail left by a killed writer is cut before the next line goes on.
//! The directory and its files must be ours (see `private`): another user's lines are never
//! appended to nor read back. The lock is waited on for a short bound only: a line whose writer
//! could not get it in time (a convoy of hooks on a loaded machine, a stopped holder) goes whole
//! into a file of its own in `late/`, which every reader reads after its day and `cleanup` folds
//! into the day. An event that could not be written at all is counted in `lost`, which `hooks
//! status` reports.

use std::fs::{self, File};
use std::io::{self, BufRead, BufReader, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use time::{Date, OffsetDateTime};

use crate::private::{self, Refused};
use crate::{clock, config};

/// The journal line's field names: the one definition the writer (`event`) and every reader
/// (`timeline`, `show`) use. A payload field the line keeps under its own name is spelled once,
/// in `payload::field`.
pub mod field {
    use crate::payload::field as payload;

    pub const TIMESTAMP: &str = "timestamp";
    pub const EVENT: &str = "event";
    pub const SESSION_ID: &str = payload::SESSION_ID;
    pub const SESSION_SOURCE: &str = "session_source";
    pub const PROJECT: &str = "project";
    pub const PROJECT_DIR: &str = "project_dir";
    pub const CWD: &str = payload::CWD;
    pub const USER: &str = "user";
    pub const SUMMARY: &str = "summary";
    /// The payload's `tool_name`, under the original design's name.
    pub const TOOL: &str = "tool";
    pub const TOOL_USE_ID: &str = payload::TOOL_USE_ID;
    pub const AGENT_ID: &str = payload::AGENT_ID;
    pub const AGENT_TYPE: &str = payload::AGENT_TYPE;
    pub const PROMPT_ID: &str = payload::PROMPT_ID;
    pub const SOURCE: &str = payload::SOURCE;
    pub const REASON: &str = payload::REASON;
    pub const DURATION_MS: &str = payload::DURATION_MS;
    pub const ERROR: &str = payload::ERROR;
    pub const IS_INTERRUPT: &str = payload::IS_INTERRUPT;
    /// The payload's `tool_input`, under the original design's name.
    pub const PARAMETERS: &str = "parameters";
    pub const TOOL_RESPONSE: &str = payload::TOOL_RESPONSE;
    /// The payload's other fields, as an object.
    pub const EXTRA: &str = "extra";
    /// With OTLP on: the outbox queues (`<sink>-<16 hex>`) the hook queued the event for. `cleanup`
    /// closes an abandoned session into these only, never into its own configuration's.
    pub const OTLP_QUEUES: &str = "otlp_queues";
}

/// How long a hook waits for another writer's lock before its line goes to `late/`: appends take
/// microseconds, so only a convoy on a loaded machine or a stuck holder makes anyone wait this long.
const LOCK_WAIT: Duration = Duration::from_millis(250);

/// `$CLAUDE_SESSION_LOG_DIR`, else `logs/` in `config::state_dir`.
pub fn dir() -> Option<PathBuf> {
    config::log_dir().or_else(|| config::state_dir().map(|d| d.join("logs")))
}

/// [`dir`], created if needed and checked to be ours, or the error commands report.
pub fn require_dir() -> Result<PathBuf, String> {
    let dir = dir().ok_or("no journal directory: set CLAUDE_SESSION_LOG_DIR or HOME")?;
    private::dir(&dir).map_err(|why| format!("journal {}: {why}", dir.display()))?;
    Ok(dir)
}

/// [`dir`] when it exists and the hooks would write to it (ours, not a link, closed to others):
/// what `cleanup` may remove files from. Never created.
pub fn existing_dir() -> Option<PathBuf> {
    dir().filter(|d| fs::symlink_metadata(d).is_ok() && private::dir(d).is_ok())
}

/// `YYYY-MM-DD.jsonl` for the UTC day of `time`.
pub fn file_name(time: OffsetDateTime) -> String {
    day_file_name(time.date())
}

/// `YYYY-MM-DD.jsonl`: the file of day `d`.
fn day_file_name(d: Date) -> String {
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

/// Appends one line (ending in `\n`) to today's file in `dir` (ours, checked), creating the file
/// (0600) as needed.
pub fn append(dir: &Path, time: OffsetDateTime, line: &[u8]) -> Result<(), String> {
    private::dir(dir).map_err(|why| format!("{}: {why}", dir.display()))?;
    let path = dir.join(file_name(time));
    // `cleanup --redact` may replace the file while we wait for its lock: then append to the new one.
    for _ in 0..3 {
        let file = private::open_append(&path).map_err(|why| format!("{}: {why}", path.display()))?;
        match append_locked(&file, line, LOCK_WAIT, Some(&path)) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(e) if e.kind() == io::ErrorKind::TimedOut => return append_late(dir, time, line),
            other => return other.map_err(|e| format!("{}: {e}", path.display())),
        }
    }
    Err(format!("{}: replaced three times while we waited", path.display()))
}

/// Where lines that could not wait for their day file's lock are kept, one file each.
pub const LATE: &str = "late";

/// Writes `line` into a new file of its own, `late/<day>.<ns>.<pid>.<n>.jsonl` (0600), whole or not
/// at all: no lock to wait for, so a convoy never costs an event. Written beside it under a temp
/// name and renamed in (`private::write_atomic`), so `cleanup` folding late files never finds it
/// half written (it would have folded nothing and removed it while the hook wrote on).
fn append_late(dir: &Path, time: OffsetDateTime, line: &[u8]) -> Result<(), String> {
    let late = dir.join(LATE);
    private::dir(&late).map_err(|why| format!("{}: {why}", late.display()))?;
    // Named by the event's time first, so a day's late lines read back in the order they happened.
    let day = file_name(time);
    let path = late.join(format!("{}.{}.jsonl", &day[..10], private::unique_name(time.unix_timestamp_nanos())));
    private::write_atomic(&path, line, 0o600, private::Durability::Atomic)
        .map_err(|e| format!("{} (its day file's lock was held too long): {e}", path.display()))
}

/// Folds every late line into its day file (under the day file's lock, waited on for `wait`) and
/// removes its late file; what could not be folded stays, read by every reader as before.
/// Returns how many were folded.
pub fn fold_late(dir: &Path, wait: Duration) -> usize {
    let mut folded = 0;
    for (date, path) in late_files(dir) {
        let Ok(bytes) = private::read(&path, 64 << 20) else { continue };
        // A writer killed mid-line left no event: nothing to fold.
        let whole = bytes.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
        let day = dir.join(day_file_name(date));
        let appended = whole == 0
            || private::open_append(&day)
                .map_err(|why| io::Error::other(why.to_string()))
                .and_then(|file| append_locked(&file, &bytes[..whole], wait, Some(&day)))
                .is_ok();
        if appended && fs::remove_file(&path).is_ok() {
            folded += 1;
        }
    }
    folded
}

/// The late files of ours, with their days, in the order they were written within a day.
fn late_files(dir: &Path) -> Vec<(Date, PathBuf)> {
    let late = dir.join(LATE);
    // Never created here, and read only when ours (not a link, closed to others).
    if fs::symlink_metadata(&late).is_ok_and(|m| m.is_dir()) && private::dir(&late).is_ok() {
        let names = private::file_names(&late).unwrap_or_default();
        names.into_iter().filter_map(|n| Some((late_date(&n)?, late.join(n)))).collect()
    } else {
        Vec::new()
    }
}

/// The day a late file's line belongs to, if the name is one of ours (`<day>.<ns>.<pid>.<n>.jsonl`).
fn late_date(name: &str) -> Option<Date> {
    let (day, rest) = name.split_at_checked(10)?;
    (rest.starts_with('.') && rest.ends_with(".jsonl")).then_some(())?;
    file_date(&format!("{day}.jsonl"))
}

/// Rewrites a day file line by line through `edit` (None: the line stays), atomically (a new file
/// renamed over it) without losing a line appended meanwhile. Returns how many lines changed.
///
/// The bulk is read, edited, written beside and synced without the lock, so hooks never wait on
/// it. Then, under the lock and with `append_locked`'s guard (the path still names the locked
/// file: another rewrite may have renamed a new one over it, and rewriting the old one would undo
/// what was appended to the new one), the lines appended since are edited and added, and the new
/// file is renamed over the old while its writers wait; they then find the path names another
/// file, and go to the new one.
pub fn rewrite(path: &Path, edit: impl Fn(&str) -> Option<String>) -> Result<usize, String> {
    let err = |e: &dyn std::fmt::Display| format!("{}: {e}", path.display());
    for _ in 0..8 {
        let file = private::open(path).map_err(|e| err(&e))?;
        let mut text = Vec::new();
        io::Read::read_to_end(&mut &file, &mut text).map_err(|e| err(&e))?;
        // A line being appended right now may be half there: the bulk ends at the last newline.
        let bulk = text.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
        let mut out = Vec::with_capacity(bulk);
        let mut changed = edit_lines(&text[..bulk], &mut out, &edit);
        drop(text);
        let mut staged = private::Staged::new(path, &out, 0o600, private::Durability::Fsync).map_err(|e| err(&e))?;
        drop(out);
        private::lock_within(&file, Duration::from_secs(5)).map_err(|e| err(&e))?;
        let result = (|| -> io::Result<bool> {
            let meta = file.metadata()?;
            if !same_file(&meta, path) || meta.len() < bulk as u64 {
                return Ok(false);
            }
            let mut rest = vec![0u8; (meta.len() - bulk as u64) as usize];
            file.read_exact_at(&mut rest, bulk as u64)?;
            let mut out = Vec::new();
            changed += edit_lines(&rest, &mut out, &edit);
            staged.append(&out)?;
            if changed > 0 {
                // Not synced again: the lines added were not synced where they came from either.
                staged.commit(private::Durability::Atomic)?;
            }
            Ok(true)
        })();
        let _ = file.unlock();
        match result {
            Ok(true) => {
                if changed > 0 {
                    let _ = File::open(path.parent().unwrap_or(Path::new("."))).and_then(|d| d.sync_all());
                }
                return Ok(changed);
            }
            // Replaced while we read: again, from the new file.
            Ok(false) => continue,
            Err(e) => return Err(err(&e)),
        }
    }
    Err(err(&"replaced eight times while we rewrote it"))
}

/// Puts each line of `text` through `edit` into `out`; how many changed. A line that is not
/// text (a damaged block) is edited as the text it holds and otherwise kept byte for byte: one
/// such line made the whole rewrite fail, and `cleanup --redact` stop before the files after it.
fn edit_lines(text: &[u8], out: &mut Vec<u8>, edit: impl Fn(&str) -> Option<String>) -> usize {
    let mut changed = 0;
    for line in text.split_inclusive(|&b| b == b'\n') {
        let edited = match std::str::from_utf8(line) {
            Ok(line) => edit(line),
            Err(_) => edit(&String::from_utf8_lossy(line)),
        };
        match edited {
            Some(new) => {
                changed += 1;
                out.extend_from_slice(new.as_bytes());
            }
            None => out.extend_from_slice(line),
        }
    }
    changed
}

/// Appends `line` to a file opened with `O_APPEND`, under an exclusive lock waited on for at most
/// `wait`, whole or not at all. With `path`, a file no longer at that path once locked (replaced by
/// a rewrite) is `NotFound`, and nothing is written.
pub fn append_locked(file: &File, line: &[u8], wait: Duration, path: Option<&Path>) -> io::Result<()> {
    private::lock_within(file, wait)?;
    // Under the lock: the file's size now, and whether it is still the one at `path`.
    let size = match file.metadata() {
        Ok(meta) if path.is_none_or(|path| same_file(&meta, path)) => Ok(meta.len()),
        Ok(_) => Err(io::ErrorKind::NotFound.into()),
        Err(e) => Err(e),
    };
    let result = size.and_then(|size| heal_tail(file, size)).and_then(|size| {
        let written = (&*file).write_all(line);
        if written.is_err() {
            // A line that did not fit (full disk, file size limit) must not leave half of itself.
            let _ = file.set_len(size);
        }
        written
    });
    let _ = file.unlock();
    result
}

/// Whether `path` still names the file whose metadata is `meta` (it may have been replaced).
fn same_file(meta: &fs::Metadata, path: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    fs::symlink_metadata(path).is_ok_and(|b| meta.ino() == b.ino() && meta.dev() == b.dev())
}

/// Counts an event that could not be journaled: one short line in `lost` beside the day files,
/// so `hooks status` can tell. Best effort: if this fails too, the debug line is all there is.
pub fn record_loss(dir: &Path, time: OffsetDateTime, event: &str, why: &str) {
    let line =
        format!("{} {} {}\n", clock::rfc3339(time), crate::text::one_line(event, 64), crate::text::one_line(why, 200));
    if private::dir(dir).is_ok()
        && let Ok(file) = private::open_append(&dir.join(LOST))
    {
        let _ = (&file).write_all(line.as_bytes());
    }
}

/// The file that counts lost events, one line each.
pub const LOST: &str = "lost";

/// How many events were lost, and the last reason: read line by line, however long the file
/// grew (a whole-file read with a cap said "none" past the cap).
pub fn losses(dir: &Path) -> (usize, Option<String>) {
    let Ok(file) = private::open(&dir.join(LOST)) else { return (0, None) };
    let (mut count, mut last) = (0, String::new());
    let skipped = each_line(BufReader::new(file), 64 << 10, &mut |line: &str| {
        count += 1;
        last.clear();
        last.push_str(line.trim_end_matches('\n'));
    });
    (count + skipped.unwrap_or(0), (count > 0).then_some(last))
}

/// A writer killed mid-line leaves a tail without `\n`; cut it so the next line starts clean.
/// `size` is the file's size; returns its size afterwards.
fn heal_tail(file: &File, size: u64) -> io::Result<u64> {
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

/// The journal's files, oldest first, with their days: each day file, then that day's late files.
pub fn files(dir: &Path) -> io::Result<Vec<(Date, PathBuf)>> {
    let mut files: Vec<(Date, PathBuf)> = fs::read_dir(dir)?
        .filter_map(|e| {
            let e = e.ok()?;
            let date = file_date(e.file_name().to_str()?)?;
            Some((date, e.path()))
        })
        .collect();
    files.extend(late_files(dir));
    // `<dir>/<day>.jsonl` sorts before `<dir>/late/<day>…`: a day's file first, then its late lines.
    files.sort();
    Ok(files)
}

/// How many days the journal holds.
pub fn days(dir: &Path) -> usize {
    let mut days: Vec<Date> = files(dir).unwrap_or_default().into_iter().map(|(d, _)| d).collect();
    days.dedup();
    days.len()
}

/// Calls `each` with every whole line of the files from `since` on, in order.
pub fn for_each_line(dir: &Path, since: Option<Date>, mut each: impl FnMut(&str)) -> io::Result<()> {
    for (date, path) in files(dir)? {
        if since.is_some_and(|s| date < s) {
            continue;
        }
        let file = match private::open(&path) {
            Ok(file) => file,
            Err(Refused::Io(e)) => return Err(e),
            // Not ours (planted by another user, a FIFO, a link): not our events.
            Err(why) => {
                crate::debug!("skipping {}: {why}", path.display());
                continue;
            }
        };
        let skipped = each_line(BufReader::with_capacity(256 * 1024, file), line_max(), &mut each)?;
        if skipped > 0 {
            crate::debug!("skipped {skipped} lines of {} longer than any event", path.display());
        }
    }
    Ok(())
}

/// The longest line a reader holds: longer than any a hook writes (its fields are cut to
/// `CLAUDE_SESSION_LOG_FIELD_MAX` each and to a budget of a few times that in all), so only a
/// file that is not a journal's (a zero-filled region left by a power cut, a sparse file) has
/// longer ones.
fn line_max() -> usize {
    config::log_field_max().saturating_mul(crate::payload::FIELDS_BUDGET + 4).max(64 << 20)
}

/// Calls `each` with every whole line (ending in `\n`) that is text and at most `max` bytes; a
/// longer one is skipped as it is read, never held. Returns how many were skipped.
fn each_line(mut reader: impl BufRead, max: usize, each: &mut impl FnMut(&str)) -> io::Result<usize> {
    let (mut line, mut skipping, mut skipped) = (Vec::new(), false, 0);
    loop {
        let buf = match reader.fill_buf() {
            Ok([]) => break,
            Ok(buf) => buf,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        let (piece, used, ends) = match buf.iter().position(|&b| b == b'\n') {
            Some(i) => (&buf[..=i], i + 1, true),
            None => (buf, buf.len(), false),
        };
        if !skipping && line.len() + piece.len() > max {
            (skipping, line) = (true, Vec::new());
        }
        if ends {
            if skipping {
                skipped += 1;
            } else if line.is_empty() {
                // The usual case: the whole line is in the buffer, used where it is.
                if let Ok(text) = std::str::from_utf8(piece) {
                    each(text);
                }
            } else {
                line.extend_from_slice(piece);
                if let Ok(text) = std::str::from_utf8(&line) {
                    each(text);
                }
            }
            skipping = false;
            line.clear();
        } else if !skipping {
            line.extend_from_slice(piece);
        }
        reader.consume(used);
    }
    // A torn tail (no newline yet) is not an event.
    Ok(skipped)
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

    /// Lines across buffer boundaries are whole, a long one is skipped, a torn tail is no line.
    #[test]
    fn lines_are_read_within_a_bound() {
        let text = b"one\ntwo-is-longer\n\xff\nthree\n0123456789abcdef-over\nfour\ntorn";
        for capacity in [1, 2, 3, 5, 8, 64] {
            let mut seen = Vec::new();
            let reader = BufReader::with_capacity(capacity, &text[..]);
            let skipped = each_line(reader, 16, &mut |l: &str| seen.push(l.to_owned())).unwrap();
            assert_eq!(seen, ["one\n", "two-is-longer\n", "three\n", "four\n"], "buffer of {capacity}");
            assert_eq!(skipped, 1, "buffer of {capacity}");
        }
    }
}
