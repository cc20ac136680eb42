//! `cleanup`, for cron: removes what hooks leave behind, only in our own directories, and only
//! files we wrote. Quiet when there is nothing to do, since cron mails any output.

use std::fs;
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use super::{Cleanup, Error, Run};
use crate::session::{self, Store};
use crate::sink::{self, outbox, outbox::Outbox, outbox::Report};
use crate::text::plural;
use crate::{clock, config, journal, outln, private, project};

/// A temp file this old belongs to a writer that died, whatever its pid says.
const TEMP_GRACE: Duration = Duration::from_secs(600);
/// How long a cleanup waits for another one closing abandoned sessions.
const CLOSE_WAIT: Duration = Duration::from_secs(60);
/// How long folding a late line waits for its day file's lock (hooks hold it for microseconds).
const FOLD_WAIT: Duration = Duration::from_secs(5);
/// Above this many removals, something is producing garbage: say so on stderr.
const WARN_ABOVE: usize = 10;

impl Run for Cleanup {
    fn run(&self) -> Result<u8, Error> {
        if self.redact {
            return redact();
        }
        // First, so that what expires below is whole days: lines hooks could not append in time.
        let folded = match journal::existing_dir() {
            Some(dir) if !self.dry_run => journal::fold_late(&dir, FOLD_WAIT),
            _ => 0,
        };
        if folded > 0 {
            outln!("journaled {} that waited in {}/", plural(folded, "late line"), journal::LATE);
        }
        let store = Store::open()?;
        let mut doomed = store_garbage(&store)?;
        // Only in a journal directory the hooks would write to: through a link (planted where
        // CLAUDE_SESSION_LOG_DIR points) the dated files would be another program's.
        if let Some(journal) = journal::existing_dir() {
            doomed.extend(old_journals());
            doomed.extend(temp_files(&journal));
            doomed.extend(crate::usage::old_ledgers(Duration::from_secs(config::log_days() * 86400)));
        }
        if self.dry_run {
            for (path, why) in &doomed {
                outln!("would remove {} ({why})", path.display());
            }
            return Ok(0);
        }
        let mut removed = 0;
        for (path, why) in &doomed {
            match fs::remove_file(path) {
                Ok(()) => removed += 1,
                Err(e) => crate::out::error(&format!("cannot remove {} ({why}): {e}", path.display())),
            }
        }
        if removed > 0 {
            outln!("removed {}", plural(removed, "file"));
        }
        let closed = close_abandoned_sessions();
        if closed > 0 {
            outln!("closed {} that never ended", plural(closed, "session"));
        }
        if let Some(r) = deliver()
            && r.delivered + r.set_aside + r.dropped > 0
        {
            outln!(
                "delivered {} events, set aside {}, dropped {}, pending {}",
                r.delivered,
                r.set_aside,
                r.dropped,
                r.pending
            );
        }
        if removed > WARN_ABOVE {
            crate::out::error(&format!(
                "warning: cleanup removed {removed} files; is something writing bad session files?"
            ));
        }
        Ok(0)
    }
}

/// How long a `cleanup --redact` waits for another one (or a cleanup closing sessions) to finish.
const REDACT_WAIT: Duration = Duration::from_secs(600);

/// `cleanup --redact`: every journal file through the secrets filter, file by file, each
/// atomically under its lock, so hooks appending meanwhile lose nothing. One at a time (the
/// journal directory's `flock`, which closing sessions holds too): two at once kept renaming a
/// new file over the one the other was rewriting, and one gave up after eight tries ("replaced
/// eight times while we rewrote it") while hooks kept appending.
fn redact() -> Result<u8, Error> {
    let dir = journal::require_dir()?;
    let held = fs::File::open(&dir).map_err(|e| format!("journal {}: {e}", dir.display()))?;
    private::lock_within(&held, REDACT_WAIT)
        .map_err(|e| format!("journal {}: another cleanup is rewriting it: {e}", dir.display()))?;
    let files = journal::files(&dir).map_err(|e| format!("journal {}: {e}", dir.display()))?;
    let (mut lines, mut failed) = (0, Vec::new());
    for (_, path) in &files {
        // A file that cannot be rewritten is named at the end; the files after it are still redacted.
        match journal::rewrite(path, crate::secrets::redact_line) {
            Ok(n) => {
                if n > 0 {
                    outln!("{}: redacted {}", path.display(), plural(n, "line"));
                }
                lines += n;
            }
            Err(e) => failed.push(e),
        }
    }
    outln!("{} redacted in {}", plural(lines, "line"), plural(files.len() - failed.len(), "journal file"));
    match failed.len() {
        0 => Ok(0),
        _ => Err(format!("not redacted: {}", failed.join("; ")).into()),
    }
}

/// Stale, corrupt and foreign session files, and temp files of writers that died.
fn store_garbage(store: &Store) -> Result<Vec<(PathBuf, String)>, String> {
    let (now, ttl) = (clock::now(), config::ttl());
    let names = store.names().map_err(|e| format!("store {}: {e}", store.dir.display()))?;
    let mut doomed = Vec::new();
    for name in names {
        let path = store.path(&name);
        if project::is_key(&name) {
            let entry = store.read(&name, ttl, now);
            if entry.is_removable() {
                doomed.push((path, session::describe(&entry)));
            }
        } else if private::is_temp_name(&name) && abandoned(&name, &path) {
            doomed.push((path, "temp file of a writer that died".into()));
        }
    }
    Ok(doomed)
}

/// Journal files of days older than `CLAUDE_SESSION_LOG_DAYS`; nothing else in that directory.
fn old_journals() -> Vec<(PathBuf, String)> {
    let days = config::log_days();
    let Some(dir) = journal::dir() else { return Vec::new() };
    let Some(oldest) = clock::now().date().checked_sub(time::Duration::days(days as i64)) else { return Vec::new() };
    let files = journal::files(&dir).unwrap_or_default();
    files
        .into_iter()
        .filter(|(date, _)| *date < oldest)
        .map(|(_, path)| (path, format!("journal older than {days} days")))
        .collect()
}

/// Temp files of writers that died: hooks putting an event in the outbox or a late line in the
/// journal's `late/` (checked to be ours first: never through a link), a `cleanup --redact`.
fn temp_files(journal: &std::path::Path) -> Vec<(PathBuf, String)> {
    let mut dirs = vec![journal.to_owned()];
    let late = journal.join(journal::LATE);
    if fs::symlink_metadata(&late).is_ok_and(|m| m.is_dir()) && private::dir(&late).is_ok() {
        dirs.push(late);
    }
    dirs.extend(Outbox::existing().map(|outbox| outbox.temp_dirs()).unwrap_or_default());
    let mut doomed = Vec::new();
    for dir in dirs {
        doomed.extend(
            private::file_names(&dir)
                .unwrap_or_default()
                .into_iter()
                .filter(|n| private::is_temp_name(n) && abandoned(n, &dir.join(n)))
                .map(|n| (dir.join(n), "temp file of a writer that died".into())),
        );
    }
    doomed
}

/// Delivers the queue of each destination cron's configuration names (ignoring its backoff)
/// unless a deliverer is running; other destinations' queues wait for theirs. Failures are
/// recorded in the queue's state for `show --all`, not printed: cron would mail them hourly.
fn deliver() -> Option<Report> {
    let destinations = outbox::configured();
    if destinations.is_empty() {
        return None;
    }
    let outbox = Outbox::open().ok()?;
    let mut total = Report::default();
    for destination in &destinations {
        let Ok(queue) = outbox.queue(destination) else { continue };
        let Ok(Some(lock)) = queue.try_lock() else { continue };
        let r = outbox::deliver(&queue, sink::build(destination), lock, std::time::Duration::ZERO);
        total.delivered += r.delivered;
        total.set_aside += r.set_aside;
        total.dropped += r.dropped;
        total.pending += queue.pending();
    }
    Some(total)
}

/// A session idle for longer than the TTL that never sent SessionEnd (a crash, a kill) and whose
/// hooks queued for OTLP is closed by a SessionEnd of reason `abandoned`, journaled and queued, so
/// its trace's open spans appear, marked unfinished. It is queued only for the OTLP queues its own
/// hooks used (its last journal line's `otlp_queues`), never for the destinations configured here:
/// cron's collector is not that project's (F6). A session whose line names none is left as it is.
/// Those queues are sent by a deliverer whose configuration names them (the project's next hook or
/// `flush`, or this cleanup when it is the same destination). Journaled, it is closed once: the
/// scan and the writes hold an `flock` on the journal directory, so a second cleanup's scan sees
/// the first one's lines (one that cannot get the lock leaves the closing to the one holding it).
fn close_abandoned_sessions() -> usize {
    // No OTLP queue was ever made: no hook queued for OTLP, so no session has one to close into.
    let Some(outbox) = Outbox::existing() else { return 0 };
    if !outbox.queues().iter().any(|q| sink::otlp::NAMES.contains(&q.sink)) {
        return 0;
    }
    let Ok(dir) = journal::require_dir() else { return 0 };
    let Ok(held) = fs::File::open(&dir) else { return 0 };
    if private::lock_within(&held, CLOSE_WAIT).is_err() {
        return 0;
    }
    let now = clock::now();
    let since = now.date().checked_sub(time::Duration::days(7));
    let mut closed = 0;
    for session in sink::otlp::abandoned(&dir, since, config::ttl(), now) {
        let queues: Vec<_> = session.queues.iter().filter_map(|name| outbox.otlp_queue_named(name)).collect();
        if queues.is_empty() {
            continue;
        }
        if journal::append(&dir, session.time, &session.journal_line).is_err() {
            continue;
        }
        let record = serde_json::to_vec(&session.record).unwrap_or_default();
        if outbox.enqueue(&queues, &record, session.time).is_ok() {
            closed += 1;
        }
    }
    closed
}

/// A temp file (`.<name>.<pid>.<n>.tmp`) whose writer is gone or which is too old to be live.
fn abandoned(name: &str, path: &std::path::Path) -> bool {
    let dead = private::temp_writer(name).is_some_and(|pid| {
        nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), None) == Err(nix::errno::Errno::ESRCH)
    });
    let old = fs::symlink_metadata(path)
        .and_then(|m| m.modified())
        .map(|t| SystemTime::now().duration_since(t).unwrap_or_default() > TEMP_GRACE)
        .unwrap_or(false);
    dead || old
}
