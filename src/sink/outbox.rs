//! The durable queues, one per destination the configuration names ([`configured`]), and the
//! deliverer that empties one queue, without ever making a hook wait and without losing an event.
//!
//! Layout, under `<journal>/outbox/` (0700, checked like the store), one queue per destination:
//! `<queue>` is the sink's kind and its destination's id, `dashboard-0123456789abcdef` (see
//! `Destination`: the URL and the credentials records are sent with).
//!
//! ```text
//! <queue>/spool           hooks append records here, one JSON line each, under its flock
//! <queue>/spool.taken     the spool a deliverer took (renamed) and is numbering
//! <queue>/late/<ns>.<pid>.<n>  a record whose hook could not get the spool's lock in time, in a
//!                         file of its own (written beside, renamed in: never seen half written)
//! <queue>/queue/<seq>     numbered records, one file each: the oldest is `head` in state.json
//! <queue>/state.json      head, tail, counters, consecutive failures, last error, and the
//!                         destination for people (URL masked, header names, never values)
//! <queue>/.lock           held by the queue's one deliverer
//! <queue>/.backoff        its mtime: no hook starts a deliverer before then
//! <queue>/rejected/       what the receiver refused, or what is not a file of ours
//! ```
//!
//! A hook queues a record for the destinations its own configuration names, and starts a
//! deliverer for those queues only, built from that same configuration; `flush` and `cleanup`
//! deliver the queues of the destinations theirs names. Other queues wait for a deliverer
//! configured for them: records are never sent to another destination, or with its credentials,
//! unless `flush --adopt` is asked to. So do the queues older versions left, one per kind
//! (`dashboard`, `otlp-logs`, `otlp-traces`, and records directly in the outbox), which did not
//! record where their records were meant to go.
//!
//! A batch the receiver says is too large (413) is split in halves, and those again, before a
//! record is set aside; what was set aside stays in `rejected/` with the answer beside it until
//! `flush --resend` puts it back in the spool.
//!
//! A hook appends one line per sink (no file created per event: that is the costly part of a
//! write on most file systems). The spool's lock is waited on for [`SPOOL_LOCK_WAIT`] only: a hook
//! kept waiting longer (a convoy of hooks on a loaded machine) puts its record in `late/` instead,
//! as the journal does its line. A deliverer run takes the spool and numbers its lines into
//! `queue/`, the late records among them by time, then opens the oldest by number: a run costs
//! what it admits and sends, never what is pending, and nothing lists the backlog (only `late/`,
//! which exists while records wait in it). After sending it keeps the lock and looks at the
//! spool's size every [`POLL`] for [`LINGER`], so one fork serves a burst of hooks. After a
//! failure it backs off exponentially (honouring Retry-After) and hooks start no deliverer
//! meanwhile.
//!
//! Delivery is at least once: a record is removed after the receiver stored it, so an answer
//! lost after the receiver stored the record means it is sent again.

use std::fs::{self, File, Metadata, OpenOptions};
use std::io::{self, BufRead, Read, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use serde_json::{Value, json};

use super::{Outcome, Sink};
use crate::clock;
use crate::hash::Fnv64;
use crate::private::{self, Durability};
use crate::{config, journal};

/// How long a deliverer with nothing left to send waits for the next event of a burst.
pub const LINGER: Duration = Duration::from_secs(2);
/// How often a lingering deliverer looks at its spool's size.
const POLL: Duration = Duration::from_millis(20);
/// The first backoff after a failure; each further failure doubles it, up to [`BACKOFF_MAX`].
const BACKOFF_FIRST: Duration = Duration::from_millis(500);
/// The longest backoff a failure earns: delivery resumes within this of the receiver coming back.
pub const BACKOFF_MAX: Duration = Duration::from_secs(10);
/// How long `flush` waits for a running deliverer before giving up.
const LOCK_WAIT: Duration = Duration::from_secs(75);
/// A record bigger than this is not one of ours.
const RECORD_MAX: u64 = 64 << 20;
const STATE_MAX: u64 = 64 << 10;
/// How long a hook waits for the spool's lock, held only for one line's write; past it, its record
/// goes to `late/`.
const SPOOL_LOCK_WAIT: Duration = Duration::from_millis(50);
/// How long a deliverer that took the spool waits for a hook still writing into it (the hook took
/// the lock before the take, and was then kept off the CPU): past it, the taken spool is left,
/// unread, for a later run. Not on a hook's path.
const TAKE_WAIT: Duration = Duration::from_secs(10);
/// `<queue>/late`: records whose hooks could not wait for the spool's lock, one file each.
const LATE: &str = "late";

/// `<journal>/outbox`.
pub struct Outbox {
    pub dir: PathBuf,
}

/// One destination's queue: `<outbox>/<sink>-<id>`; or a queue an older version left,
/// `<outbox>/<sink>`, whose destination nobody knows.
#[derive(Clone)]
pub struct Queue {
    pub sink: &'static str,
    pub dir: PathBuf,
    /// Its destination, as configured here; `None` for a queue found in the outbox that the
    /// configuration does not name (another project's, or an older version's).
    destination: Option<Destination>,
}

/// What one deliverer run did.
#[derive(Default, Debug, Clone)]
pub struct Report {
    pub delivered: usize,
    /// Moved to another queue by `flush --adopt`, not delivered.
    pub moved: usize,
    pub set_aside: usize,
    pub dropped: usize,
    /// Still waiting after the run (filled in by [`Queue::pending`] for the commands that report).
    pub pending: usize,
    pub error: Option<String>,
}

/// One queue as `show --all` and `hooks status` report it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SinkStatus {
    pub sink: String,
    pub dir: PathBuf,
    /// Where its records go, as its deliverers recorded it: the URL masked. `None` for a queue an
    /// older version left, or one no deliverer ran for yet.
    pub destination: Option<String>,
    /// The names of the headers its records are sent with (never their values).
    pub headers: Vec<String>,
    /// Whether this process's configuration names its destination (its `flush` delivers it).
    pub configured: bool,
    /// Left by a version that had one queue per sink and did not record a destination.
    pub older_version: bool,
    pub pending: u64,
    pub delivered: u64,
    /// Moved to another destination's queue by `flush --adopt` (sent from there, counted there).
    pub moved: u64,
    pub set_aside: u64,
    /// Records in `rejected/` now: what `flush --resend` would send again.
    pub to_resend: u64,
    pub dropped: u64,
    pub last_error: Option<String>,
    pub last_error_at: Option<String>,
    /// The last answer that set records aside ("HTTP 415: Unsupported content type").
    pub last_set_aside: Option<String>,
    pub last_set_aside_at: Option<String>,
    pub last_delivered_at: Option<String>,
    /// Set while hooks start no deliverer for this sink (RFC 3339).
    pub backoff_until: Option<String>,
}

/// The whole outbox, for reports.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Status {
    pub dir: PathBuf,
    pub sinks: Vec<SinkStatus>,
}

impl SinkStatus {
    pub fn to_json(&self) -> Value {
        json!({
            "sink": self.sink, "dir": self.dir.to_string_lossy(), "destination": self.destination,
            "headers": self.headers, "configured": self.configured, "older_version": self.older_version,
            "pending": self.pending,
            "delivered": self.delivered, "moved": self.moved, "set_aside": self.set_aside, "to_resend": self.to_resend,
            "dropped": self.dropped, "last_error": self.last_error, "last_error_at": self.last_error_at,
            "last_set_aside": self.last_set_aside, "last_set_aside_at": self.last_set_aside_at,
            "last_delivered_at": self.last_delivered_at, "backoff_until": self.backoff_until,
        })
    }
}

impl SinkStatus {
    /// The queue as one line names it: `dashboard → http://127.0.0.1:4000/events`.
    pub fn described(&self) -> String {
        match &self.destination {
            Some(_) => format!("{} → {}", self.sink, self.destination_shown()),
            None => format!("{} ({})", self.sink, self.destination_shown()),
        }
    }

    /// Where its records go: `http://host/v1/logs (headers: authorization)`, never a value.
    pub fn destination_shown(&self) -> String {
        let headers = match self.headers.is_empty() {
            true => String::new(),
            false => format!(" (headers: {})", self.headers.join(", ")),
        };
        match &self.destination {
            Some(url) => format!("{url}{headers}"),
            None if self.older_version => "queued by an older version: destination not recorded".into(),
            None => "destination not recorded yet".into(),
        }
    }
}

impl SinkStatus {
    /// Its directory's name: `dashboard-0123456789abcdef`.
    pub fn queue_name(&self) -> String {
        self.dir.file_name().unwrap_or_default().to_string_lossy().into_owned()
    }

    /// For a queue with records waiting whose destination the configuration here does not name:
    /// what becomes of them, and how to send them here instead.
    pub fn elsewhere(&self) -> Option<String> {
        if self.configured || self.pending == 0 {
            return None;
        }
        let (queue, sink) = (self.queue_name(), &self.sink);
        Some(match self.older_version {
            true => format!(
                "{} pending in {queue}, queued by an older version that did not record where to: \
                 `claude-session flush --adopt {queue}`, run where they belong, sends them to the {sink} destination \
                 configured there",
                self.pending
            ),
            false => format!(
                "{} pending in {queue}, for {}: not a destination configured here, so never sent from here; \
                 a hook or `flush` where it is configured sends them (`flush --adopt {queue}` would send them to \
                 the {sink} destination configured here instead)",
                self.pending,
                self.described()
            ),
        })
    }
}

impl Status {
    pub fn to_json(&self) -> Value {
        json!({"dir": self.dir.to_string_lossy(), "sinks": self.sinks.iter().map(SinkStatus::to_json).collect::<Vec<_>>()})
    }
}

/// What survives a run, in `<sink>/state.json`.
#[derive(Default, Debug, Clone, PartialEq)]
struct State {
    /// Every record numbered below `head` is gone; `head..tail` may still be in `queue/`.
    head: u64,
    tail: u64,
    delivered: u64,
    /// Moved to another queue by `flush --adopt`.
    moved: u64,
    set_aside: u64,
    dropped: u64,
    failures: u32,
    last_error: Option<String>,
    last_error_at: Option<String>,
    last_set_aside: Option<String>,
    last_set_aside_at: Option<String>,
    last_delivered_at: Option<String>,
    /// `{"url": masked, "headers": [names]}`, for people: written by the deliverers that know it.
    destination: Option<Value>,
}

impl State {
    fn from_json(v: &Value) -> State {
        let n = |k: &str| v[k].as_u64().unwrap_or(0);
        let s = |k: &str| v[k].as_str().map(str::to_owned);
        State {
            head: n("head"),
            tail: n("tail").max(n("head")),
            delivered: n("delivered"),
            moved: n("moved"),
            set_aside: n("set_aside"),
            dropped: n("dropped"),
            failures: n("failures").min(64) as u32,
            last_error: s("last_error"),
            last_error_at: s("last_error_at"),
            last_set_aside: s("last_set_aside"),
            last_set_aside_at: s("last_set_aside_at"),
            last_delivered_at: s("last_delivered_at"),
            destination: v.get("destination").filter(|d| d.is_object()).cloned(),
        }
    }

    fn to_json(&self) -> Value {
        json!({
            "head": self.head, "tail": self.tail, "delivered": self.delivered, "moved": self.moved,
            "set_aside": self.set_aside,
            "dropped": self.dropped, "failures": self.failures, "last_error": self.last_error,
            "last_error_at": self.last_error_at, "last_set_aside": self.last_set_aside,
            "last_set_aside_at": self.last_set_aside_at, "last_delivered_at": self.last_delivered_at,
            "destination": self.destination,
        })
    }
}

/// Where one sink sends its records, and as whom: the URL they are posted to (a user and password
/// in it included) and the headers they carry (OTLP's, values included). A record is queued for
/// the destination its hook's configuration names, and only a deliverer configured for that same
/// destination sends it: never another project's server, never with another project's
/// credentials. What the protocol, certificate, timeout or resource say is left out: changing
/// them changes how records are sent, not to whom (a protocol fixed after a 415 must find the
/// records it set aside).
#[derive(Clone, Debug, PartialEq)]
pub struct Destination {
    pub sink: &'static str,
    url: String,
    headers: Vec<config::Header>,
    /// `<sink>-<16 hex digits of the id>`, made once: a hook names its OTLP queues in the journal
    /// line and then opens every queue.
    queue_name: String,
}

impl Destination {
    pub fn new(sink: &'static str, url: String, headers: Vec<config::Header>) -> Destination {
        let mut destination = Destination { sink, url, headers, queue_name: String::new() };
        destination.queue_name = crate::hash::named(sink, destination.id());
        destination
    }

    /// A 64-bit FNV-1a hash of the sink, the URL and the headers (names in lowercase, sorted;
    /// each part preceded by its length): the same destination however its variables were
    /// written, a different one for any other URL or credential. Not a secret's protection: a
    /// value's hash ends up in a directory name inside the private (0700) outbox.
    pub fn id(&self) -> u64 {
        let mut headers: Vec<(String, &str)> =
            self.headers.iter().map(|h| (h.name.to_ascii_lowercase(), h.value.expose())).collect();
        headers.sort();
        let mut hash = Fnv64::default();
        let parts = [self.sink, &self.url].into_iter().chain(headers.iter().flat_map(|(n, v)| [n.as_str(), *v]));
        for part in parts {
            hash.write(&(part.len() as u64).to_le_bytes());
            hash.write(part.as_bytes());
        }
        hash.finish()
    }

    /// Its queue's directory name under the outbox: `<sink>-<16 hex digits of the id>`.
    pub fn queue_name(&self) -> &str {
        &self.queue_name
    }

    /// The URL records are posted to: for the request only, never shown (see [`Self::shown`]).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The URL as reports and `state.json` show it: a user and password in it, and any secret,
    /// masked, and a query (which may hold a token: a signal's own endpoint is used as given)
    /// not shown.
    pub fn shown(&self) -> String {
        match self.url.find(['?', '#']) {
            Some(at) => format!("{}?…", crate::secrets::masked(&self.url[..at])),
            None => crate::secrets::masked(&self.url),
        }
    }

    /// The headers' names, as reports show them (values never).
    pub fn header_names(&self) -> Vec<String> {
        self.headers.iter().map(|h| crate::secrets::masked(&h.name)).collect()
    }
}

/// The destinations the configuration names, one per sink that is on: reading variables only, as
/// the hook does. A URL or header list that does not parse names none for its sink (a debug line
/// says why; `hooks status` names the variable).
pub fn configured() -> Vec<Destination> {
    let mut all = Vec::new();
    if let Some(url) = config::server_url() {
        all.push(Destination::new("dashboard", url, Vec::new()));
    }
    for (found, name) in config::otlp_destinations().into_iter().zip(super::otlp::NAMES) {
        match found {
            Ok(Some((url, headers))) => all.push(Destination::new(name, url, headers)),
            Ok(None) => {}
            Err(e) => crate::debug!("{name}: {e}; not queued"),
        }
    }
    all
}

/// The queue names of the OTLP destinations among `destinations`, for the journal line: where
/// `cleanup` may close the session later (see `journal::field::OTLP_QUEUES`).
pub fn otlp_queue_names(destinations: &[Destination]) -> Vec<&str> {
    destinations.iter().filter(|d| super::otlp::NAMES.contains(&d.sink)).map(Destination::queue_name).collect()
}

impl Outbox {
    /// `<journal>/outbox`: next to the journal, per user.
    pub fn location() -> Option<PathBuf> {
        journal::dir().map(|d| d.join("outbox"))
    }

    /// The outbox, created if needed.
    pub fn open() -> Result<Outbox, String> {
        Outbox::in_journal(&journal::require_dir()?)
    }

    /// The outbox of the journal in `journal_dir`, created (0700) if needed, refused unless it
    /// is a directory of ours that nobody else can enter.
    pub fn in_journal(journal_dir: &Path) -> Result<Outbox, String> {
        let dir = journal_dir.join("outbox");
        private_dir(&dir).map_err(|e| format!("outbox {}: {e}", dir.display()))?;
        Ok(Outbox { dir })
    }

    /// The outbox if one was ever made and is ours; never creates it.
    pub fn existing() -> Option<Outbox> {
        let dir = Outbox::location()?;
        is_private_dir(&dir).then_some(Outbox { dir })
    }

    /// A destination's queue directory, created and checked like the outbox.
    pub fn queue(&self, destination: &Destination) -> Result<Queue, String> {
        let dir = self.dir.join(destination.queue_name());
        private_dir(&dir).map_err(|e| format!("outbox {}: {e}", dir.display()))?;
        Ok(Queue { sink: destination.sink, dir, destination: Some(destination.clone()) })
    }

    /// The queue named `name` (`<sink>-<16 hex>` of an OTLP sink, as a journal line names it),
    /// created and checked like the outbox; `None` for any other name. Its destination is not
    /// known here: only a deliverer whose configuration names it sends what it holds.
    pub fn otlp_queue_named(&self, name: &str) -> Option<Queue> {
        let sink = *super::otlp::NAMES.iter().find(|&&sink| {
            name.strip_prefix(sink).and_then(|id| id.strip_prefix('-')).is_some_and(crate::hash::is_hex)
        })?;
        let dir = self.dir.join(name);
        private_dir(&dir).ok()?;
        Some(Queue { sink, dir, destination: None })
    }

    /// Every queue in the outbox, by name: each destination's (`<sink>-<16 hex>`), and those an
    /// older version left (`<sink>`). For commands, never a hook: it lists the outbox.
    pub fn queues(&self) -> Vec<Queue> {
        private::file_names(&self.dir)
            .unwrap_or_default()
            .into_iter()
            .filter_map(|name| {
                let sink = *super::NAMES.iter().find(|&&sink| {
                    name == sink
                        || name.strip_prefix(sink).and_then(|id| id.strip_prefix('-')).is_some_and(crate::hash::is_hex)
                })?;
                let dir = self.dir.join(&name);
                is_private_dir(&dir).then_some(Queue { sink, dir, destination: None })
            })
            .collect()
    }

    /// The queue named `name`, as [`Self::queues`] lists them; or the older version's dashboard
    /// queue when only records an even older one left in the outbox wait (its directory is then
    /// made, for them to be numbered into).
    pub fn named(&self, name: &str) -> Option<Queue> {
        if let Some(queue) = self.queues().into_iter().find(|q| q.dir.file_name().is_some_and(|n| n == name)) {
            return Some(queue);
        }
        if name != "dashboard" || self.old_layout_records().is_empty() {
            return None;
        }
        let queue = self.older_queue("dashboard");
        private_dir(&queue.dir).ok()?;
        Some(queue)
    }

    /// The queue an older version left for `sink` (`<outbox>/<sink>`), which may not exist.
    fn older_queue(&self, sink: &'static str) -> Queue {
        Queue { sink, dir: self.dir.join(sink), destination: None }
    }

    /// Puts one record (of an event at `time`) in every sink's queue: one line appended to each
    /// sink's spool (no file is created per event: this is the hook's hot path), or, when the
    /// spool's lock is not had in time, a file of its own in the queue's `late/`. A deliverer
    /// numbers them later.
    pub fn enqueue(&self, queues: &[Queue], record: &[u8], time: time::OffsetDateTime) -> io::Result<()> {
        let mut line = Vec::with_capacity(record.len() + 2);
        line.extend_from_slice(record);
        line.push(b'\n');
        let mut result = Ok(());
        for q in queues {
            let queued = match q.append(&line) {
                Err(e) if e.kind() == io::ErrorKind::TimedOut => q.append_late(&line, time.unix_timestamp_nanos()),
                other => other,
            };
            if let Err(e) = queued {
                result = Err(io::Error::new(e.kind(), format!("{}: {e}", q.spool().display())));
            }
        }
        result
    }

    /// Every queue that exists, for reports, each marked whether `configured` names its
    /// destination; old-layout records (files directly in the outbox, from before there were
    /// sinks) count as the older version's dashboard queue's.
    pub fn status(&self, configured: &[Destination]) -> Status {
        let mut sinks = Vec::new();
        for queue in self.queues() {
            let mut status = queue.status();
            status.configured = configured.iter().any(|d| queue.dir.ends_with(d.queue_name()));
            sinks.push(status);
        }
        let old = self.old_layout_records().len() as u64;
        if old > 0 {
            match sinks.iter_mut().find(|s| s.older_version && s.sink == "dashboard") {
                Some(s) => s.pending += old,
                None => sinks.push(SinkStatus { pending: old, ..self.older_queue("dashboard").status() }),
            }
        }
        Status { dir: self.dir.clone(), sinks }
    }

    /// Record files directly in the outbox, as versions before sinks left them. Those versions
    /// always made `outbox/.lock`, and migrating removes it: without it, nothing is listed (the
    /// directory may be huge, and a listing's cost is its largest size ever).
    fn old_layout_records(&self) -> Vec<String> {
        if fs::symlink_metadata(self.old_layout_marker()).is_err() {
            return Vec::new();
        }
        let mut names = private::file_names(&self.dir).unwrap_or_default();
        names.retain(|n| is_record_name(n));
        names
    }

    fn old_layout_marker(&self) -> PathBuf {
        self.dir.join(".lock")
    }

    /// Where crashed writers may have left temp files: the outbox and each queue's directory.
    pub fn temp_dirs(&self) -> Vec<PathBuf> {
        let mut dirs = vec![self.dir.clone()];
        dirs.extend(self.queues().into_iter().map(|q| q.dir));
        dirs
    }
}

impl Queue {
    /// Whether an older version left this queue (`<outbox>/<sink>`): its destination is unknown.
    pub fn older_version(&self) -> bool {
        self.dir.file_name().is_some_and(|n| n == self.sink)
    }

    /// Records its destination in `state` for people (the URL masked, the headers' names), when
    /// this process knows it.
    fn describe(&self, state: &mut State) {
        if let Some(d) = &self.destination {
            state.destination = Some(json!({"url": d.shown(), "headers": d.header_names()}));
        }
    }

    /// Whether hooks should leave this queue alone for now: one `lstat`.
    pub fn backing_off(&self) -> bool {
        backoff_until(&self.dir).is_some()
    }

    fn lock_file(&self) -> io::Result<File> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .custom_flags(private::NOFOLLOW_NONBLOCK)
            .open(self.dir.join(".lock"))?;
        ours(&file.metadata()?)?;
        Ok(file)
    }

    /// The sink's delivery lock if nobody holds it.
    pub fn try_lock(&self) -> io::Result<Option<File>> {
        let file = self.lock_file()?;
        match file.try_lock() {
            Ok(()) => Ok(Some(file)),
            Err(fs::TryLockError::WouldBlock) => Ok(None),
            Err(fs::TryLockError::Error(e)) => Err(e),
        }
    }

    /// The lock, waiting a bounded time for a running deliverer to finish.
    pub fn lock(&self) -> io::Result<File> {
        let deadline = Instant::now() + LOCK_WAIT;
        loop {
            if let Some(lock) = self.try_lock()? {
                return Ok(lock);
            }
            if Instant::now() > deadline {
                return Err(io::Error::other("a deliverer has held the lock for over a minute; try again"));
            }
            std::thread::sleep(POLL);
        }
    }

    fn state(&self) -> State {
        read_ours(&self.dir.join("state.json"), STATE_MAX)
            .ok()
            .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
            .map(|v| State::from_json(&v))
            .unwrap_or_default()
    }

    fn save_state(&self, state: &State) -> io::Result<()> {
        private::write_atomic(
            &self.dir.join("state.json"),
            state.to_json().to_string().as_bytes(),
            0o600,
            Durability::Atomic,
        )
    }

    fn queue_dir(&self) -> PathBuf {
        self.dir.join("queue")
    }

    fn numbered(&self, seq: u64) -> PathBuf {
        self.queue_dir().join(format!("{seq:020}"))
    }

    /// Where hooks append records, one JSON line each.
    fn spool(&self) -> PathBuf {
        self.dir.join("spool")
    }

    /// The spool a deliverer took from hooks and is numbering.
    fn taken(&self) -> PathBuf {
        self.dir.join("spool.taken")
    }

    fn late_dir(&self) -> PathBuf {
        self.dir.join(LATE)
    }

    /// Writes `line` (a record of an event at `nanos`) into a new file of its own,
    /// `late/<nanos>.<pid>.<n>`, whole or not at all: no lock to wait for, so a convoy never costs
    /// a record. It is written beside the queue and renamed in, so a deliverer reading `late/`
    /// never sees it half written; a hook killed first leaves a temp file `cleanup` removes.
    fn append_late(&self, line: &[u8], nanos: i128) -> io::Result<()> {
        let name = private::unique_name(nanos.max(0));
        let mut staged = private::Staged::new(&self.dir.join(&name), line, 0o600, Durability::Atomic)?;
        let late = self.late_dir();
        for _ in 0..3 {
            private_dir(&late).map_err(|why| io::Error::other(format!("{}: {why}", late.display())))?;
            match staged.rename_to(&late.join(&name)) {
                // A deliverer removed the emptied directory meanwhile: made again.
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                other => return other,
            }
        }
        Err(io::Error::other(format!("{} keeps being removed", late.display())))
    }

    /// What waits in `late/`, oldest first: each name with its event's time in milliseconds
    /// (`i64::MAX` for a name not of ours: admitted last, and set aside if it is no record).
    fn late_records(&self) -> io::Result<Vec<(i64, String)>> {
        let late = self.late_dir();
        if fs::symlink_metadata(&late).is_err() {
            return Ok(Vec::new());
        }
        private_dir(&late).map_err(|why| io::Error::other(format!("{}: {why}", late.display())))?;
        let time = |name: &str| {
            let nanos = name.split('.').next().filter(|n| n.len() == 20)?.parse::<i128>().ok()?;
            Some((nanos / 1_000_000) as i64)
        };
        let mut names: Vec<(i64, String)> =
            private::file_names(&late)?.into_iter().map(|n| (time(&n).unwrap_or(i64::MAX), n)).collect();
        names.sort();
        Ok(names)
    }

    /// Appends one line to the spool under its `flock`, after checking that the file is a
    /// regular one of ours and still the spool (a deliverer may have just taken it: then the
    /// line goes into the new one). A torn line left by a killed writer is ended first, so that
    /// it never takes this one with it; the deliverer recovers it from the journal. Opened for
    /// reading too: the last byte is read through this descriptor.
    fn append(&self, line: &[u8]) -> io::Result<()> {
        for _ in 0..3 {
            let mut file = OpenOptions::new()
                .read(true)
                .append(true)
                .create(true)
                .mode(0o600)
                .custom_flags(private::NOFOLLOW_NONBLOCK)
                .open(self.spool())?;
            let meta = file.metadata()?;
            ours(&meta)?;
            private::lock_within(&file, SPOOL_LOCK_WAIT)?;
            let now = fs::symlink_metadata(self.spool());
            if now.is_ok_and(|m| m.ino() == meta.ino() && m.dev() == meta.dev()) {
                let size = file.metadata()?.len();
                let mut last = [b'\n'];
                if size > 0 {
                    std::os::unix::fs::FileExt::read_exact_at(&file, &mut last, size - 1)?;
                }
                if last[0] != b'\n' {
                    file.write_all(b"\n")?;
                }
                return file.write_all(line);
            }
        }
        Err(io::Error::new(io::ErrorKind::TimedOut, "the spool keeps being taken"))
    }

    /// Whether hooks left records since the spool was last taken: an `lstat` or three. A run
    /// removes `late/` once it emptied it.
    fn spool_waiting(&self) -> bool {
        fs::symlink_metadata(self.spool()).is_ok_and(|m| m.len() > 0)
            || fs::symlink_metadata(self.taken()).is_ok()
            || fs::symlink_metadata(self.late_dir()).is_ok_and(|m| m.is_dir())
    }

    /// Records not yet delivered: the numbered files in `queue/` from the saved head on, plus the
    /// lines of the spool and of a taken spool, and the records in `late/`. Counted from the
    /// files, not from the counters a deliverer saves only when it goes idle: one at work has
    /// numbered and sent records its saved state does not know of yet. While a taken spool is being numbered (nothing is sent
    /// meanwhile), the records numbered from it (at or past the saved tail) are counted by its
    /// lines instead; a count that a deliverer's step (take, number, save) could have split is
    /// taken again. For
    /// reports, never on a deliverer's path: it lists the queue.
    pub fn pending(&self) -> usize {
        let lines = |p: &Path| {
            read_ours(p, u64::MAX)
                .ok()
                .map(|b| b.split(|c| *c == b'\n').filter(|l| !l.iter().all(u8::is_ascii_whitespace)).count())
        };
        let inode = |p: &Path| fs::symlink_metadata(p).ok().map(|m| (m.dev(), m.ino()));
        let mut count = 0;
        for _ in 0..20 {
            let state = self.state();
            let before = (inode(&self.taken()), inode(&self.spool()));
            let taken = lines(&self.taken());
            let seqs: Vec<u64> = private::file_names(&self.queue_dir())
                .unwrap_or_default()
                .iter()
                .filter_map(|n| n.parse().ok())
                .filter(|&seq| seq >= state.head)
                .collect();
            let spool = lines(&self.spool()).unwrap_or(0);
            let late = self.late_records().map_or(0, |names| names.len());
            let numbered = match taken {
                Some(_) => seqs.iter().filter(|&&seq| seq < state.tail).count(),
                None => seqs.len(),
            };
            count = numbered + taken.unwrap_or(0) + spool + late;
            // The spool not taken, the taken one not numbered, nothing saved: one moment's count.
            if (inode(&self.taken()), inode(&self.spool())) == before && self.state() == state {
                break;
            }
        }
        count
    }

    pub fn status(&self) -> SinkStatus {
        let state = self.state();
        let recorded = state.destination.as_ref();
        let text = |v: &Value| v.as_str().map(crate::secrets::masked);
        SinkStatus {
            sink: self.sink.into(),
            dir: self.dir.clone(),
            destination: recorded.and_then(|d| d.get("url")).and_then(text),
            headers: recorded
                .and_then(|d| d.get("headers"))
                .and_then(Value::as_array)
                .map(|names| names.iter().filter_map(text).collect())
                .unwrap_or_default(),
            configured: false,
            older_version: self.older_version(),
            pending: self.pending() as u64,
            delivered: state.delivered,
            moved: state.moved,
            set_aside: state.set_aside,
            to_resend: self.set_aside_records().len() as u64,
            dropped: state.dropped,
            // A state file an older version wrote may hold what it did not mask.
            last_error: state.last_error.map(|e| crate::secrets::masked(&e)),
            last_error_at: state.last_error_at,
            last_set_aside: state.last_set_aside.map(|e| crate::secrets::masked(&e)),
            last_set_aside_at: state.last_set_aside_at,
            last_delivered_at: state.last_delivered_at,
            backoff_until: backoff_until(&self.dir).map(|t| clock::rfc3339(t.into())),
        }
    }

    /// The records in `rejected/`, oldest first (their names are their queue numbers). Only in our
    /// own private directory: `--resend` sends what it finds and deletes it, so a `rejected` that
    /// is a link to elsewhere would send and delete another directory's files.
    fn set_aside_records(&self) -> Vec<PathBuf> {
        let rejected = self.dir.join("rejected");
        if !is_private_dir(&rejected) {
            return Vec::new();
        }
        let mut names = private::file_names(&rejected).unwrap_or_default();
        names.retain(|n| n.strip_suffix(".json").is_some_and(|seq| seq.bytes().all(|b| b.is_ascii_digit())));
        names.sort();
        names.into_iter().map(|n| rejected.join(n)).collect()
    }

    /// Puts every record set aside back in the spool, oldest first, for the next delivery to send
    /// again (the cause fixed: a header, an endpoint, a protocol). The caller holds the lock.
    /// What is not a record of ours stays where it is. Returns how many went back.
    pub fn resend(&self) -> Result<usize, String> {
        let rejected = self.dir.join("rejected");
        if fs::symlink_metadata(&rejected).is_ok() {
            private_dir(&rejected)
                .map_err(|e| format!("outbox {}: {e}; nothing in it is sent again", rejected.display()))?;
        }
        let mut sent_back = 0;
        for path in self.set_aside_records() {
            let Ok(record) = read_ours(&path, RECORD_MAX) else { continue };
            let Ok(value) = serde_json::from_slice::<Value>(&record) else { continue };
            let mut line = value.to_string().into_bytes();
            line.push(b'\n');
            self.append(&line).map_err(|e| format!("outbox {}: {e}", self.spool().display()))?;
            fs::remove_file(&path).map_err(|e| format!("outbox {}: {e}", path.display()))?;
            let _ = fs::remove_file(path.with_extension("json.answer"));
            sent_back += 1;
        }
        Ok(sent_back)
    }

    /// Moves an entry to `rejected/` with the reason beside it.
    fn set_aside(&self, path: &Path, name: &str, status: u16, answer: &str) -> io::Result<()> {
        let rejected = self.dir.join("rejected");
        private_dir(&rejected).map_err(io::Error::other)?;
        fs::rename(path, rejected.join(name))?;
        let why = json!({"status": status, "answer": answer, "at": clock::rfc3339(clock::now())});
        // The answer is a courtesy: the entry is already out of the way.
        let _ = private::write_atomic(
            &rejected.join(format!("{name}.answer")),
            why.to_string().as_bytes(),
            0o600,
            Durability::Atomic,
        );
        Ok(())
    }
}

/// Overwrites the first `len` bytes of the file at `path` (ours) with spaces.
fn blank(path: &Path, len: u64) -> io::Result<()> {
    use std::os::unix::fs::FileExt;
    let file = OpenOptions::new().write(true).custom_flags(private::NOFOLLOW_NONBLOCK).open(path)?;
    ours(&file.metadata()?)?;
    let spaces = vec![b' '; 64 << 10];
    let mut at = 0;
    while at < len {
        let n = (len - at).min(spaces.len() as u64) as usize;
        file.write_all_at(&spaces[..n], at)?;
        at += n as u64;
    }
    Ok(())
}

/// The backoff's end, when it is in the future (and not absurdly far: a clock that jumped back).
fn backoff_until(dir: &Path) -> Option<SystemTime> {
    let meta = fs::symlink_metadata(dir.join(".backoff")).ok()?;
    let until = meta.modified().ok().filter(|_| meta.is_file())?;
    let now = SystemTime::now();
    (until > now && until < now + super::http::RETRY_AFTER_MAX + BACKOFF_MAX).then_some(until)
}

fn set_backoff(dir: &Path, until: SystemTime) -> io::Result<()> {
    let file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .custom_flags(private::NOFOLLOW_NONBLOCK)
        .open(dir.join(".backoff"))?;
    ours(&file.metadata()?)?;
    file.set_modified(until)
}

/// One deliverer's work on one sink, under its lock.
struct Run<'a> {
    queue: &'a Queue,
    sink: &'a mut dyn Sink,
    state: State,
    report: Report,
    /// Whether sends can be recorded (the queue can be written): checked before the first.
    recordable: bool,
}

/// Delivers the sink's queue under `lock`, then lingers up to `linger` for more; after unlocking
/// it looks once more, since a hook that found the lock held left its record to us.
pub fn deliver(queue: &Queue, sink: Result<Box<dyn Sink>, String>, lock: File, linger: Duration) -> Report {
    let mut sink = match sink {
        Ok(sink) => sink,
        Err(e) => {
            let mut state = queue.state();
            queue.describe(&mut state);
            fail(queue, &mut state, &e, None);
            let _ = queue.save_state(&state);
            return Report { error: Some(e), ..Report::default() };
        }
    };
    let mut total = Report::default();
    let mut lock = Some(lock);
    while let Some(held) = lock.take() {
        let mut state = load_state(queue);
        queue.describe(&mut state);
        let mut run = Run { queue, sink: &mut *sink, state, report: Report::default(), recordable: false };
        run.serve(linger);
        drop(held);
        let report = run.report;
        total.delivered += report.delivered;
        total.moved += report.moved;
        total.set_aside += report.set_aside;
        total.dropped += report.dropped;
        total.error = report.error.clone();
        if report.error.is_some() || !queue.spool_waiting() {
            break;
        }
        lock = queue.try_lock().ok().flatten();
    }
    total
}

/// `flush --adopt`: moves every record waiting in `from` (another destination's queue, or one an
/// older version left) into `into`'s spool, oldest first, for `into`'s deliverer to send with its
/// own configuration. Under `from`'s lock, through the deliverer's own run (spool, numbering,
/// torn lines, cap), so nothing is moved twice or lost; `moved` counts what moved (in the report
/// and in `from`'s state), never `delivered`: it is delivered, and counted, from `into`.
pub fn adopt(from: &Queue, into: &Queue) -> Report {
    match from.lock() {
        Ok(lock) => deliver(from, Ok(Box::new(Move { into: into.clone() })), lock, Duration::ZERO),
        Err(e) => Report { error: Some(format!("outbox {}: {e}", from.dir.display())), ..Report::default() },
    }
}

/// The "sink" [`adopt`] sends through: another queue's spool.
struct Move {
    into: Queue,
}

impl Sink for Move {
    fn name(&self) -> &'static str {
        self.into.sink
    }

    fn batch_max(&self) -> usize {
        super::otlp::BATCH_MAX
    }

    fn send(&mut self, records: &[Value]) -> Outcome {
        let mut lines = Vec::new();
        for record in records {
            lines.extend_from_slice(record.to_string().as_bytes());
            lines.push(b'\n');
        }
        match self.into.append(&lines) {
            // Taken: `Run` counts it as moved (see `moves`).
            Ok(()) => Outcome::Delivered,
            Err(e) => Outcome::Retry { error: format!("outbox {}: {e}", self.into.spool().display()), after: None },
        }
    }

    fn moves(&self) -> bool {
        true
    }
}

/// The state, checked against the queue: if a run died after numbering records but before
/// saving, `tail` names an existing file, and the queue is counted again (rare; one listing). So
/// is a queue whose state says nothing was ever numbered: a new one (an empty listing), or one
/// whose state file was lost or is not ours, whose records from `head` on would wait forever.
fn load_state(queue: &Queue) -> State {
    let state = queue.state();
    if state.tail == 0 || fs::symlink_metadata(queue.numbered(state.tail)).is_ok() {
        return recount(queue, state);
    }
    // More waiting than the cap ever leaves (a state file damaged or not written by us): taken
    // from the files, since every step from `head` to `tail` costs a lookup, and cutting 10^18
    // "waiting" records down to the cap spun forever holding the lock.
    if state.tail - state.head > config::outbox_max() as u64 {
        let seqs: Vec<u64> =
            private::file_names(&queue.queue_dir()).unwrap_or_default().iter().filter_map(|n| n.parse().ok()).collect();
        let head = state.head.max(seqs.iter().copied().min().unwrap_or(state.head));
        let tail = seqs.iter().max().map_or(head, |max| max + 1).max(head);
        return State { head, tail, ..state };
    }
    state
}

/// `head` and `tail` from the numbered records themselves (one listing).
fn recount(queue: &Queue, mut state: State) -> State {
    let seqs: Vec<u64> =
        private::file_names(&queue.queue_dir()).unwrap_or_default().iter().filter_map(|n| n.parse().ok()).collect();
    if let (Some(min), Some(max)) = (seqs.iter().min(), seqs.iter().max()) {
        // Below the saved head everything was sent: never again.
        state.head = state.head.max(*min);
        state.tail = state.tail.max(max + 1);
    }
    state
}

impl Run<'_> {
    /// Passes until nothing is left or something fails, lingering between them.
    /// The state is saved when the run goes idle or ends, not per record: a run that dies
    /// before leaves numbers that `load_state` and `admit` recover from (a record is never
    /// numbered over another).
    fn serve(&mut self, linger: Duration) {
        let mut saved = self.state.clone();
        loop {
            self.pass();
            if self.state != saved {
                let _ = self.queue.save_state(&self.state);
                saved = self.state.clone();
            }
            if self.report.error.is_some() || linger.is_zero() {
                return;
            }
            let until = Instant::now() + linger;
            loop {
                if Instant::now() >= until {
                    return;
                }
                std::thread::sleep(POLL);
                if self.queue.spool_waiting() {
                    break;
                }
            }
        }
    }

    /// Admits what hooks spooled, applies the cap, sends from the oldest.
    fn pass(&mut self) {
        self.admit();
        self.cap();
        if self.state.head < self.state.tail && self.report.error.is_none() {
            self.send_all();
        }
    }

    /// Numbers the records that arrived since the last run: first, in the older version's
    /// dashboard queue, those an even older one left directly in the outbox; then ours.
    fn admit(&mut self) {
        if self.queue.sink == "dashboard"
            && self.queue.older_version()
            && let Some(dir) = self.queue.dir.parent()
        {
            let outbox = Outbox { dir: dir.to_owned() };
            let old = outbox.old_layout_records();
            if self.admit_from(&outbox.dir, old) {
                let _ = fs::remove_file(outbox.old_layout_marker());
            }
        }
        self.admit_spool();
    }

    /// Takes the spool from hooks (a rename, then its lock, so that a hook that took the lock
    /// before the rename ends its write) and numbers its lines into `queue/`, one file each, with
    /// the records in `late/` among them by their events' times: a hook that went late wrote
    /// before the next hook of its session spooled, and after the one before it. A spool taken by
    /// a run that died is numbered first.
    fn admit_spool(&mut self) {
        if self.report.error.is_some() {
            return;
        }
        let (spool, taken) = (self.queue.spool(), self.queue.taken());
        if fs::symlink_metadata(&taken).is_err()
            && fs::symlink_metadata(&spool).is_ok_and(|m| !(m.is_file() && m.len() == 0))
            && let Err(e) = fs::rename(&spool, &taken)
        {
            return self.fail(&format!("outbox {}: {e}", spool.display()), None);
        }
        // Listed after the take: a record that went late before a line of the taken spool was
        // written is here.
        let mut late = match self.queue.late_records() {
            Ok(late) => late,
            Err(e) => return self.fail(&format!("outbox {e}"), None),
        };
        if !self.number_taken(&taken, &mut late) {
            return;
        }
        let rest = late.into_iter().map(|(_, name)| name).collect();
        if self.admit_late(rest) {
            // Emptied: hooks make it again when they need it. Not empty: a record came meanwhile,
            // for the next pass.
            let _ = fs::remove_dir(self.queue.late_dir());
        }
    }

    /// Numbers the taken spool's lines, and before each the late records older than it (taken
    /// from `late`); removes the taken spool when all went. Whether the run goes on.
    fn number_taken(&mut self, taken: &Path, late: &mut Vec<(i64, String)>) -> bool {
        let file = match open_ours(taken) {
            Ok(file) => file,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return true,
            Err(e) => {
                // A symlink, FIFO or foreign file where the spool was: never read, set aside.
                if self.queue.set_aside(taken, "spool", 0, &e.to_string()).is_ok() {
                    self.report.set_aside += 1;
                    self.state.set_aside += 1;
                }
                return true;
            }
        };
        // A hook that locked the spool before it was taken writes its line first: it gets the
        // time it needs. One that holds it for longer (stopped) leaves the taken spool to a
        // later run, unread, rather than have its line written after we read.
        if let Err(e) = private::lock_within(&file, TAKE_WAIT)
            && e.kind() == io::ErrorKind::TimedOut
        {
            self.fail(&format!("outbox {}: a hook is still writing into it: {e}", taken.display()), None);
            return false;
        }
        let _ = file.unlock();
        if let Err(e) = private_dir(&self.queue.queue_dir()) {
            self.fail(&format!("outbox {}: {e}", self.queue.queue_dir().display()), None);
            return false;
        }
        // Where the line being numbered starts in the taken spool.
        let mut start = 0u64;
        for line in io::BufReader::new(file).split(b'\n') {
            let line = match line {
                Ok(line) => line,
                Err(e) => {
                    self.fail(&format!("outbox {}: {e}", taken.display()), None);
                    return false;
                }
            };
            let at = start;
            start += line.len() as u64 + 1;
            if line.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            let line = match serde_json::from_slice::<&serde_json::value::RawValue>(&line) {
                Ok(_) => line,
                // Torn by a hook killed mid-write: the whole event, from the journal, if it is there.
                Err(_) => self.recover(&line).unwrap_or(line),
            };
            // Parsed only while late records wait (rarely): the spool's own lines need no time.
            let older = match late.is_empty() {
                true => 0,
                false => record_time(&line).map_or(0, |time| late.iter().take_while(|(t, _)| *t < time).count()),
            };
            let numbered = older == 0 || self.admit_late(late.drain(..older).map(|(_, name)| name).collect());
            let numbered = numbered
                && match self.number(&line) {
                    Ok(()) => true,
                    Err(e) => {
                        self.fail(&format!("outbox {}: {e}", self.queue.queue_dir().display()), None);
                        false
                    }
                };
            if !numbered {
                // The next run numbers the taken spool again: what this one numbered is blanked
                // first (a line of spaces is skipped), or it would be queued, and sent, twice
                // (seen on a full disk). Overwriting needs no new space.
                if at > 0
                    && let Err(blank) = blank(taken, at - 1)
                {
                    crate::debug!("outbox {}: {blank}; its first records may be sent twice", taken.display());
                }
                return false;
            }
        }
        if let Err(e) = fs::remove_file(taken) {
            self.fail(&format!("outbox {}: {e}", taken.display()), None);
            return false;
        }
        true
    }

    /// Numbers these records of `late/`, oldest first; whether all went. One that cannot be
    /// numbered nor set aside fails the run, so that a lingering deliverer never spins on it.
    fn admit_late(&mut self, names: Vec<String>) -> bool {
        if names.is_empty() {
            return true;
        }
        let late = self.queue.late_dir();
        if !self.admit_from(&late, names.clone()) {
            return false;
        }
        match names.iter().find(|n| fs::symlink_metadata(late.join(n)).is_ok()) {
            Some(stuck) => {
                let stuck = late.join(stuck);
                self.fail(&format!("outbox {}: neither a record of ours nor set aside", stuck.display()), None);
                false
            }
            None => true,
        }
    }

    /// The record a torn spool line began, rebuilt from the journal line its hook wrote first:
    /// the line's first members name the session, the event and the time (milliseconds), and
    /// its tool call when it had one. None when they are not all there, or no journal line of
    /// that day matches; the torn line is then numbered as it is, and set aside when sent.
    fn recover(&self, torn: &[u8]) -> Option<Vec<u8>> {
        let member = |key: &str| -> Option<Value> {
            let pattern = format!("{}:", serde_json::to_string(key).ok()?);
            let at = torn.windows(pattern.len()).position(|w| w == pattern.as_bytes())? + pattern.len();
            serde_json::Deserializer::from_slice(&torn[at..]).into_iter::<Value>().next()?.ok()
        };
        use crate::event::record;
        let session = member(record::SESSION_ID)?;
        let event = member(record::HOOK_EVENT_TYPE)?;
        let ms = member(record::TIMESTAMP)?.as_i64()?;
        let tool_use_id = member(crate::payload::field::TOOL_USE_ID);
        let time = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000).ok()?;
        let journal = self.queue.dir.parent()?.parent()?.join(journal::file_name(time));
        let file = private::open(&journal).ok()?;
        for line in io::BufReader::new(file).split(b'\n') {
            let Ok(Value::Object(line)) = serde_json::from_slice::<Value>(&line.ok()?) else { continue };
            let same = |ours: &str, value: &Value| line.get(ours) == Some(value);
            if !same(journal::field::SESSION_ID, &session)
                || !same(journal::field::EVENT, &event)
                || tool_use_id.as_ref().is_some_and(|id| !same(journal::field::TOOL_USE_ID, id))
            {
                continue;
            }
            if let Some((at, record)) = crate::event::record_from_journal(&line)
                && (at.unix_timestamp_nanos() / 1_000_000) as i64 == ms
            {
                crate::debug!("{}: a torn record taken from the journal", self.queue.sink);
                return serde_json::to_vec(&record).ok();
            }
        }
        None
    }

    /// Writes one record as the next numbered file. `O_EXCL`: it never replaces a record
    /// numbered by a run that died before saving its state; then the queue is counted again.
    fn number(&mut self, record: &[u8]) -> io::Result<()> {
        let create = |seq: u64| {
            OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .custom_flags(nix::fcntl::OFlag::O_NOFOLLOW.bits())
                .open(self.queue.numbered(seq))
        };
        let mut file = match create(self.state.tail) {
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                self.state = recount(self.queue, self.state.clone());
                create(self.state.tail)?
            }
            other => other?,
        };
        // Not left half written (a full disk), to be taken for a record by the next run.
        if let Err(e) = file.write_all(record) {
            let _ = fs::remove_file(self.queue.numbered(self.state.tail));
            return Err(e);
        }
        self.state.tail += 1;
        Ok(())
    }

    /// Admits `names` from `dir`, oldest first; whether all went.
    fn admit_from(&mut self, dir: &Path, names: Vec<String>) -> bool {
        if names.is_empty() || self.report.error.is_some() {
            return self.report.error.is_none();
        }
        if let Err(e) = private_dir(&self.queue.queue_dir()) {
            self.fail(&format!("outbox {}: {e}", self.queue.queue_dir().display()), None);
            return false;
        }
        for name in names {
            let path = dir.join(&name);
            let Ok(meta) = fs::symlink_metadata(&path) else { continue };
            if let Err(why) = ours(&meta) {
                if self.queue.set_aside(&path, &name, 0, &why.to_string()).is_ok() {
                    self.report.set_aside += 1;
                    self.state.set_aside += 1;
                }
                continue;
            }
            // A link, not a rename: it fails rather than replace a record numbered by a run that
            // died before saving its state; then the queue is counted again.
            let mut numbered = fs::hard_link(&path, self.queue.numbered(self.state.tail));
            if numbered.as_ref().is_err_and(|e| e.kind() == io::ErrorKind::AlreadyExists) {
                self.state = recount(self.queue, self.state.clone());
                numbered = fs::hard_link(&path, self.queue.numbered(self.state.tail));
            }
            if let Err(e) = numbered.and_then(|()| fs::remove_file(&path)) {
                self.fail(&format!("outbox {}: {e}", dir.display()), None);
                return false;
            }
            self.state.tail += 1;
        }
        true
    }

    /// Past CLAUDE_SESSION_OUTBOX_MAX waiting records, the oldest go: by number, no listing.
    fn cap(&mut self) {
        let max = config::outbox_max() as u64;
        let waiting = self.state.tail - self.state.head;
        if waiting <= max {
            return;
        }
        for seq in self.state.head..self.state.head + (waiting - max) {
            if fs::remove_file(self.queue.numbered(seq)).is_ok() {
                self.report.dropped += 1;
                self.state.dropped += 1;
            }
        }
        self.state.head += waiting - max;
    }

    fn send_all(&mut self) {
        // Never send what cannot be recorded as sent: the queue must be ours and writable.
        if !self.recordable {
            let dir = self.queue.queue_dir();
            let writable = private_dir(&dir).and_then(|()| {
                nix::unistd::access(&dir, nix::unistd::AccessFlags::W_OK).map_err(|e| e.desc().to_owned())
            });
            if let Err(e) = writable {
                return self.fail(
                    &format!("outbox {}: {e}; not sending what could not be recorded as sent", dir.display()),
                    None,
                );
            }
            self.recordable = true;
        }
        let mut batch_max = self.sink.batch_max().max(1);
        while self.state.head < self.state.tail {
            let (mut seqs, mut records) = (Vec::new(), Vec::new());
            let mut seq = self.state.head;
            while seq < self.state.tail && records.len() < batch_max {
                let path = self.queue.numbered(seq);
                match read_ours(&path, RECORD_MAX) {
                    Ok(bytes) => match serde_json::from_slice::<Value>(&bytes) {
                        Ok(record) => {
                            seqs.push(seq);
                            records.push(record);
                        }
                        Err(e) => {
                            let _ = self.set_aside(&path, seq, 0, &format!("not a JSON record: {e}"));
                        }
                    },
                    Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                    Err(e) => {
                        let _ = self.set_aside(&path, seq, 0, &e.to_string());
                    }
                }
                seq += 1;
            }
            if records.is_empty() {
                self.state.head = seq;
                continue;
            }
            match self.sink.send(&records) {
                Outcome::Delivered => {
                    self.state.head = seq;
                    for s in &seqs {
                        if let Err(e) = fs::remove_file(self.queue.numbered(*s))
                            && e.kind() != io::ErrorKind::NotFound
                        {
                            // Sent, and `head` says so; stop rather than risk sending it again.
                            return self.fail(&format!("outbox {}: {e}", self.queue.queue_dir().display()), None);
                        }
                    }
                    if self.sink.moves() {
                        self.report.moved += seqs.len();
                        self.state.moved += seqs.len() as u64;
                    } else {
                        self.report.delivered += seqs.len();
                        self.state.delivered += seqs.len() as u64;
                        self.state.last_delivered_at = Some(clock::rfc3339(clock::now()));
                    }
                    if self.state.failures > 0 {
                        self.state.failures = 0;
                        let _ = fs::remove_file(self.queue.dir.join(".backoff"));
                    }
                }
                // Too large: the same records again in halves (the first half now), down to one.
                Outcome::Rejected { status: 413, .. } if records.len() > 1 => {
                    batch_max = records.len().div_ceil(2);
                }
                Outcome::Rejected { status, answer } => {
                    for s in seqs {
                        // Not out of the way (a full disk, `rejected` not a directory of ours): it
                        // stays pending, from here on, rather than left below `head`, counted
                        // nowhere.
                        if let Err(e) = self.set_aside(&self.queue.numbered(s), s, status, &answer) {
                            self.state.head = s;
                            let rejected = self.queue.dir.join("rejected");
                            return self.fail(
                                &format!("HTTP {status}: {answer}; cannot set it aside in {}: {e}", rejected.display()),
                                None,
                            );
                        }
                    }
                    self.state.head = seq;
                }
                Outcome::Retry { error, after } => return self.fail(&error, after),
            }
        }
    }

    fn set_aside(&mut self, path: &Path, seq: u64, status: u16, why: &str) -> io::Result<()> {
        let why = &super::scrub(why);
        self.queue.set_aside(path, &format!("{seq:020}.json"), status, why)?;
        self.report.set_aside += 1;
        self.state.set_aside += 1;
        self.state.last_set_aside = Some(if status == 0 { why.to_owned() } else { format!("HTTP {status}: {why}") });
        self.state.last_set_aside_at = Some(clock::rfc3339(clock::now()));
        Ok(())
    }

    fn fail(&mut self, error: &str, after: Option<Duration>) {
        let error = &super::scrub(error);
        self.report.error = Some(error.to_owned());
        fail(self.queue, &mut self.state, error, after);
    }
}

/// Records a failure and starts the backoff: hooks start no deliverer until it ends.
fn fail(queue: &Queue, state: &mut State, error: &str, after: Option<Duration>) {
    state.failures = state.failures.saturating_add(1);
    // Masked here too: whatever a receiver echoes of what we sent stays out of state.json.
    state.last_error = Some(crate::secrets::masked(error));
    state.last_error_at = Some(clock::rfc3339(clock::now()));
    let doubled = BACKOFF_FIRST.saturating_mul(1 << (state.failures - 1).min(16));
    let wait = doubled.min(BACKOFF_MAX).max(after.unwrap_or_default());
    let _ = set_backoff(&queue.dir, SystemTime::now() + wait);
}

/// A record's event time (its `timestamp`, in milliseconds), if it has one.
fn record_time(record: &[u8]) -> Option<i64> {
    serde_json::from_slice::<Value>(record).ok()?.get(crate::event::record::TIMESTAMP)?.as_i64()
}

/// Outbox record files: `<20 digits>-<10 digits>-<4 digits>.json`.
pub fn is_record_name(name: &str) -> bool {
    let Some(stem) = name.strip_suffix(".json") else { return false };
    let parts: Vec<&str> = stem.split('-').collect();
    parts.iter().map(|p| p.len()).eq([20, 10, 4]) && parts.iter().all(|p| p.bytes().all(|b| b.is_ascii_digit()))
}

/// A regular file of ours that others cannot write.
fn ours(meta: &Metadata) -> io::Result<()> {
    let why = if !meta.is_file() {
        "not a regular file"
    } else if meta.uid() != crate::private::uid_self() {
        "owned by another user"
    } else if meta.mode() & 0o022 != 0 {
        "writable by others"
    } else {
        return Ok(());
    };
    Err(io::Error::new(io::ErrorKind::PermissionDenied, why))
}

/// Opens a file for reading only if it is a regular file of ours: never through a symlink,
/// never blocking on a FIFO.
fn open_ours(path: &Path) -> io::Result<File> {
    let file = OpenOptions::new().read(true).custom_flags(private::NOFOLLOW_NONBLOCK).open(path).map_err(|e| {
        if e.raw_os_error() == Some(nix::errno::Errno::ELOOP as i32) {
            io::Error::new(io::ErrorKind::PermissionDenied, "a symlink")
        } else {
            e
        }
    })?;
    ours(&file.metadata()?)?;
    Ok(file)
}

/// [`open_ours`], read whole if at most `max` bytes.
fn read_ours(path: &Path, max: u64) -> io::Result<Vec<u8>> {
    let file = open_ours(path)?;
    let len = file.metadata()?.len();
    if len > max {
        return Err(io::Error::new(io::ErrorKind::InvalidData, format!("larger than {max} bytes")));
    }
    let mut bytes = Vec::with_capacity(len as usize);
    file.take(max).read_to_end(&mut bytes)?;
    Ok(bytes)
}

/// The outbox's directories get the store's check: ours, 0700, not a symlink.
fn private_dir(dir: &Path) -> Result<(), String> {
    private::dir(dir).map_err(|why| why.to_string())
}

fn is_private_dir(dir: &Path) -> bool {
    fs::symlink_metadata(dir).is_ok_and(|m| m.is_dir()) && private_dir(dir).is_ok()
}

/// The last thing a hook does after enqueueing: starts one deliverer process for the sinks that
/// are not backing off and have none running, and returns at once. The hook's stdin, stdout and
/// stderr are pointed at /dev/null first, so the child never holds Claude Code's pipes.
pub fn start_deliverers(queues: Vec<Queue>) {
    let mut locked = Vec::new();
    for queue in queues {
        if queue.backing_off() {
            continue;
        }
        match queue.try_lock() {
            Ok(Some(lock)) => locked.push((queue, lock)),
            // The running deliverer lingers and looks again after it unlocks: it will see ours.
            Ok(None) => {}
            Err(e) => crate::debug!("outbox {} lock: {e}", queue.dir.display()),
        }
    }
    if locked.is_empty() {
        return;
    }
    crate::debug!("starting a deliverer for {}", locked.iter().map(|(q, _)| q.sink).collect::<Vec<_>>().join(", "));
    if let Err(e) = stdio_to_null() {
        return crate::debug!("cannot detach from the hook's pipes: {e}; the next hook will deliver");
    }
    // SAFETY: the hook is single-threaded, so the child may do anything the parent could.
    if let Ok(nix::unistd::ForkResult::Child) = unsafe { nix::unistd::fork() } {
        // Out of Claude Code's process group and session: its signals are not ours.
        let _ = nix::unistd::setsid();
        // One process per sink, so a sink that hangs never holds back another.
        let mut mine = locked.pop();
        for other in locked {
            // SAFETY: still single-threaded.
            match unsafe { nix::unistd::fork() } {
                Ok(nix::unistd::ForkResult::Child) => {
                    mine = Some(other);
                    break;
                }
                // A failed fork leaves that sink's records for the next hook.
                _ => drop(other),
            }
        }
        if let Some((queue, lock)) = mine {
            let sink = queue.destination.as_ref().map_or_else(|| Err("no destination".to_owned()), super::build);
            deliver(&queue, sink, lock, LINGER);
        }
        std::process::exit(0);
    }
    // The parent exits; the child's copies of the locks keep them held. A failed fork leaves
    // the records for the next hook.
}

fn stdio_to_null() -> io::Result<()> {
    let null = OpenOptions::new().read(true).write(true).open("/dev/null")?;
    nix::unistd::dup2_stdin(&null)?;
    nix::unistd::dup2_stdout(&null)?;
    nix::unistd::dup2_stderr(&null)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Header, Secret};

    #[test]
    fn record_names() {
        let name = format!("{:020}-{:010}-{:04}.json", 1u128 << 62, 123, 7);
        assert!(is_record_name(&name), "{name}");
        assert!(!is_record_name("state.json") && !is_record_name(".lock"));
        assert!(!is_record_name(&format!(".{name}.123.0.tmp")));
    }

    #[test]
    fn state_round_trips() {
        let state = State { head: 3, tail: 9, failures: 2, last_error: Some("x".into()), ..State::default() };
        assert_eq!(State::from_json(&state.to_json()), state);
    }

    fn otlp(url: &str, headers: &[(&str, &str)]) -> Destination {
        let headers = headers.iter().map(|(n, v)| Header { name: (*n).into(), value: Secret::new((*v).into()) });
        Destination::new("otlp-logs", url.into(), headers.collect())
    }

    #[test]
    fn a_destination_is_its_url_and_its_credentials() {
        let a = otlp("http://c:4318/v1/logs", &[("Authorization", "Bearer a"), ("x-team", "t")]);
        let same = otlp("http://c:4318/v1/logs", &[("X-Team", "t"), ("authorization", "Bearer a")]);
        assert_eq!(a.queue_name(), same.queue_name(), "header order and name case do not matter");
        let other_key = otlp("http://c:4318/v1/logs", &[("Authorization", "Bearer b"), ("x-team", "t")]);
        let other_url = otlp("http://d:4318/v1/logs", &[("Authorization", "Bearer a"), ("x-team", "t")]);
        let moved = otlp("http://c:4318/v1/logs", &[("Authorization", "Bearer ax-team"), ("", "t")]);
        for other in [&other_key, &other_url, &moved] {
            assert_ne!(a.id(), other.id(), "{other:?}");
        }
        let dashboard = Destination::new("dashboard", "http://c:4318/v1/logs".into(), Vec::new());
        assert_ne!(dashboard.id(), otlp("http://c:4318/v1/logs", &[]).id(), "the sink is part of it");
        let name = a.queue_name();
        assert!(name.starts_with("otlp-logs-") && name.len() == "otlp-logs-".len() + 16, "{name}");
        // What reports show: no user, no password, no header value.
        let d = Destination::new("dashboard", "http://me:hunter2@h:4000/events".into(), Vec::new());
        assert!(!d.shown().contains("hunter2") && !d.shown().contains("me:"), "{}", d.shown());
        let d = otlp("http://h:4318/v1/logs?api_key=s3cret", &[]);
        assert_eq!(d.shown(), "http://h:4318/v1/logs?…");
        assert_eq!(a.header_names(), ["Authorization", "x-team"]);
    }
}
