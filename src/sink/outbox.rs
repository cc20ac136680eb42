//! Delivery to the observability server, without ever making a hook wait and without losing an
//! event.
//!
//! A hook puts the event's POST body in the outbox (one file per event, atomic, named by time so
//! names sort oldest first) and, if no deliverer is running, forks one: a detached child in its
//! own session with stdin, stdout and stderr on /dev/null, so Claude Code's pipes reach EOF the
//! moment the hook exits. The child holds the outbox lock (`flock`, inherited across the fork),
//! sends pending events oldest first, and stops at the first failure; the next hook, `cleanup` or
//! `flush` tries again. One lock per user means one delivery at a time: no event is sent twice.
//!
//! A 400 or 413 is final: the event is set aside in `rejected/` with the server's answer. Past
//! `CLAUDE_SESSION_OUTBOX_MAX` pending events the oldest are dropped. Both are counted in
//! `state.json`, which `show --all` reports.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::store::make_private_dir;
use crate::util::{self, Durability, libc_flags};
use crate::{config, journal};

pub struct Outbox {
    pub dir: PathBuf,
}

/// What one delivery run did.
#[derive(Default, Debug)]
pub struct Report {
    pub delivered: usize,
    pub set_aside: usize,
    pub dropped: usize,
    pub pending: usize,
    pub error: Option<String>,
    /// The newest event this run saw, so a failed run can tell whether hooks left it new work.
    newest_seen: Option<String>,
}

/// Counters that outlive a run, in `state.json`.
#[derive(Default)]
pub struct Stats {
    pub delivered: u64,
    pub set_aside: u64,
    pub dropped: u64,
    pub last_error: Option<String>,
    pub last_error_at: Option<String>,
    pub last_delivered_at: Option<String>,
}

impl Outbox {
    /// `<journal>/outbox`: next to the journal, per user.
    pub fn location() -> Option<PathBuf> {
        journal::dir().map(|d| d.join("outbox"))
    }

    /// The outbox, created if needed.
    pub fn open() -> Result<Outbox, String> {
        Outbox::beside(&journal::require_dir()?)
    }

    /// The outbox of the journal in `journal_dir`, created if needed.
    pub fn beside(journal_dir: &Path) -> Result<Outbox, String> {
        let dir = journal_dir.join("outbox");
        if !dir.is_dir() {
            make_private_dir(&dir).map_err(|e| format!("outbox {}: {e}", dir.display()))?;
        }
        Ok(Outbox { dir })
    }

    /// The outbox if one was ever made; never creates it.
    pub fn existing() -> Option<Outbox> {
        Outbox::location().filter(|d| d.is_dir()).map(|dir| Outbox { dir })
    }

    /// Puts one POST body in the outbox. Atomic but not fsynced: it is on the hook's hot path.
    pub fn enqueue(&self, time: OffsetDateTime, body: &[u8]) -> io::Result<()> {
        static N: AtomicU32 = AtomicU32::new(0);
        let name = format!(
            "{:020}-{:010}-{:04}.json",
            time.unix_timestamp_nanos().max(0),
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        );
        util::write(&self.dir.join(name), body, 0o600, Durability::Atomic)
    }

    /// Pending events, oldest first.
    pub fn pending(&self) -> io::Result<Vec<String>> {
        let mut names = util::file_names(&self.dir)?;
        names.retain(|n| is_event_name(n));
        Ok(names)
    }

    fn lock_file(&self) -> io::Result<File> {
        OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .custom_flags(libc_flags::O_NOFOLLOW | libc_flags::O_CLOEXEC)
            .open(self.dir.join(".lock"))
    }

    /// The delivery lock if nobody holds it.
    pub fn try_lock(&self) -> io::Result<Option<File>> {
        let file = self.lock_file()?;
        match file.try_lock() {
            Ok(()) => Ok(Some(file)),
            Err(fs::TryLockError::WouldBlock) => Ok(None),
            Err(fs::TryLockError::Error(e)) => Err(e),
        }
    }

    /// The delivery lock, waiting for a running deliverer to finish.
    pub fn lock(&self) -> io::Result<File> {
        let file = self.lock_file()?;
        file.lock()?;
        Ok(file)
    }

    /// Delivers until the outbox is empty or the server fails. The caller holds the lock.
    pub fn deliver(&self, url: &str) -> Report {
        let mut report = Report::default();
        let mut stats = self.stats();
        let client = Client::new(url);
        'runs: loop {
            let mut names = match self.pending() {
                Ok(names) => names,
                Err(e) => {
                    report.error = Some(format!("outbox {}: {e}", self.dir.display()));
                    break;
                }
            };
            let max = config::outbox_max();
            if names.len() > max {
                let excess = names.len() - max;
                for name in names.drain(..excess) {
                    if fs::remove_file(self.dir.join(&name)).is_ok() {
                        report.dropped += 1;
                    }
                }
            }
            if names.is_empty() {
                break;
            }
            report.newest_seen = names.last().cloned();
            // Each pass must take something out of the outbox, or the next would repeat it.
            let mut progressed = false;
            for name in &names {
                let path = self.dir.join(name);
                let Ok(body) = fs::read(&path) else { continue };
                let outcome = match client.post(&body) {
                    Ok((200..=299, _)) => fs::remove_file(&path).map(|()| report.delivered += 1),
                    Ok((status @ (400 | 413), answer)) => {
                        self.set_aside(name, status, &answer).map(|()| report.set_aside += 1)
                    }
                    Ok((status, answer)) => {
                        report.error = Some(format!("HTTP {status}: {}", crate::event::one_line(&answer, 200)));
                        break 'runs;
                    }
                    Err(e) => {
                        report.error = Some(e);
                        break 'runs;
                    }
                };
                if let Err(e) = outcome {
                    // Sent but still here: stop rather than send it again.
                    report.error = Some(format!("outbox {}: {e}", path.display()));
                    break 'runs;
                }
                progressed = true;
            }
            if !progressed {
                report.error = Some(format!("outbox {}: {} events cannot be read", self.dir.display(), names.len()));
                break;
            }
        }
        report.pending = self.pending().map(|p| p.len()).unwrap_or(0);
        let now = util::rfc3339(util::now());
        stats.delivered += report.delivered as u64;
        stats.set_aside += report.set_aside as u64;
        stats.dropped += report.dropped as u64;
        if report.delivered > 0 {
            stats.last_delivered_at = Some(now.clone());
        }
        if let Some(e) = &report.error {
            stats.last_error = Some(e.clone());
            stats.last_error_at = Some(now);
        }
        if report.delivered + report.set_aside + report.dropped > 0 || report.error.is_some() {
            let _ = self.save_stats(&stats);
        }
        report
    }

    /// Moves a rejected event to `rejected/` with the server's answer beside it.
    fn set_aside(&self, name: &str, status: u16, answer: &str) -> io::Result<()> {
        let rejected = self.dir.join("rejected");
        make_private_dir(&rejected).map_err(io::Error::other)?;
        fs::rename(self.dir.join(name), rejected.join(name))?;
        let why = json!({"status": status, "answer": answer, "at": util::rfc3339(util::now())});
        // The answer is a courtesy: the event is already out of the way.
        let _ = util::write(
            &rejected.join(format!("{name}.answer")),
            why.to_string().as_bytes(),
            0o600,
            Durability::Atomic,
        );
        Ok(())
    }

    pub fn stats(&self) -> Stats {
        let v: Value = fs::read(self.dir.join("state.json"))
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or(Value::Null);
        let n = |k: &str| v[k].as_u64().unwrap_or(0);
        let s = |k: &str| v[k].as_str().map(str::to_owned);
        Stats {
            delivered: n("delivered"),
            set_aside: n("set_aside"),
            dropped: n("dropped"),
            last_error: s("last_error"),
            last_error_at: s("last_error_at"),
            last_delivered_at: s("last_delivered_at"),
        }
    }

    fn save_stats(&self, stats: &Stats) -> io::Result<()> {
        let v = json!({
            "delivered": stats.delivered, "set_aside": stats.set_aside, "dropped": stats.dropped,
            "last_error": stats.last_error, "last_error_at": stats.last_error_at,
            "last_delivered_at": stats.last_delivered_at,
        });
        util::write(&self.dir.join("state.json"), v.to_string().as_bytes(), 0o600, Durability::Atomic)
    }

    /// Pending, set aside, dropped and the last error, for `show --all`.
    pub fn status(&self) -> Value {
        let stats = self.stats();
        json!({
            "dir": self.dir.to_string_lossy(),
            "pending": self.pending().map(|p| p.len()).unwrap_or(0),
            "delivered": stats.delivered,
            "set_aside": stats.set_aside,
            "dropped": stats.dropped,
            "last_error": stats.last_error,
            "last_error_at": stats.last_error_at,
            "last_delivered_at": stats.last_delivered_at,
        })
    }
}

/// Outbox event files: `<20 digits>-<10 digits>-<4 digits>.json`.
pub fn is_event_name(name: &str) -> bool {
    let Some(stem) = name.strip_suffix(".json") else { return false };
    let parts: Vec<&str> = stem.split('-').collect();
    parts.iter().map(|p| p.len()).eq([20, 10, 4]) && parts.iter().all(|p| p.bytes().all(|b| b.is_ascii_digit()))
}

/// The last thing a hook does after enqueueing: starts a deliverer unless one is running, and
/// returns at once. The hook's own stdin, stdout and stderr are pointed at /dev/null first, so
/// the child never holds Claude Code's pipes, not even until it is first scheduled.
pub fn kick(outbox: &Outbox, url: &str) {
    let lock = match outbox.try_lock() {
        Ok(Some(lock)) => lock,
        // The running deliverer rescans after it unlocks, so it will see our event.
        Ok(None) => return,
        Err(e) => return crate::debug!("outbox lock: {e}"),
    };
    crate::debug!("starting a deliverer for {}", outbox.dir.display());
    if let Err(e) = stdio_to_null() {
        return crate::debug!("cannot detach from the hook's pipes: {e}; the next hook will deliver");
    }
    // SAFETY: the hook is single-threaded, so the child may do anything the parent could.
    if let Ok(nix::unistd::ForkResult::Child) = unsafe { nix::unistd::fork() } {
        // Out of Claude Code's process group and session: its signals are not ours.
        let _ = nix::unistd::setsid();
        run_deliverer(outbox, url, lock);
        std::process::exit(0);
    }
    // The parent exits; the child's copy of the lock keeps it held. A failed fork leaves the
    // event for the next hook.
}

fn stdio_to_null() -> io::Result<()> {
    let null = OpenOptions::new().read(true).write(true).open("/dev/null")?;
    nix::unistd::dup2_stdin(&null)?;
    nix::unistd::dup2_stdout(&null)?;
    nix::unistd::dup2_stderr(&null)?;
    Ok(())
}

/// Delivers under `lock`; after unlocking, looks once more, since a hook that found the lock
/// held left its event to us. After a failure it goes on only if such events arrived (they
/// would have started a deliverer of their own), so a dead server costs one try per hook.
pub fn run_deliverer(outbox: &Outbox, url: &str, mut lock: File) -> Report {
    let mut total = Report::default();
    loop {
        let report = outbox.deliver(url);
        total.delivered += report.delivered;
        total.set_aside += report.set_aside;
        total.dropped += report.dropped;
        total.pending = report.pending;
        total.error = report.error;
        drop(lock);
        let pending = outbox.pending().unwrap_or_default();
        let more = match (&total.error, pending.last()) {
            (_, None) => false,
            (None, Some(_)) => true,
            (Some(_), Some(newest)) => report.newest_seen.as_ref().is_none_or(|seen| newest > seen),
        };
        if !more {
            return total;
        }
        match outbox.try_lock() {
            Ok(Some(again)) => lock = again,
            _ => return total,
        }
    }
}

/// A minimal ureq client: short timeouts, no redirects, statuses returned rather than errors,
/// and `localhost` replaced by 127.0.0.1 so that no name lookup happens.
struct Client {
    agent: ureq::Agent,
    url: String,
}

impl Client {
    fn new(url: &str) -> Client {
        let timeout = Some(config::server_timeout());
        // No global or resolve timeout: with them ureq resolves on a thread even for IP literals.
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .timeout_connect(timeout)
            .timeout_send_request(timeout)
            .timeout_send_body(timeout)
            .timeout_recv_response(timeout)
            .timeout_recv_body(timeout)
            .user_agent(concat!("claude-session/", env!("CARGO_PKG_VERSION")))
            .build()
            .new_agent();
        Client { agent, url: loopback_literal(url) }
    }

    /// Status and (for errors) the first KiB of the answer. 2xx bodies, which echo the event, are
    /// read to the end so the connection can carry the next one.
    fn post(&self, body: &[u8]) -> Result<(u16, String), String> {
        let mut response = self
            .agent
            .post(&self.url)
            .header("Content-Type", "application/json")
            .send(body)
            .map_err(|e| e.to_string())?;
        let status = response.status().as_u16();
        let mut reader = response.body_mut().with_config().limit(u64::MAX).reader();
        if (200..300).contains(&status) {
            let _ = io::copy(&mut reader, &mut io::sink());
            return Ok((status, String::new()));
        }
        let mut answer = Vec::new();
        let _ = reader.take(1024).read_to_end(&mut answer);
        Ok((status, String::from_utf8_lossy(&answer).into_owned()))
    }
}

/// `http://localhost:4000/events` → `http://127.0.0.1:4000/events`.
pub fn loopback_literal(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else { return url.to_owned() };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let (authority, path) = rest.split_at(authority_end);
    let (userinfo, hostport) = match authority.rsplit_once('@') {
        Some((u, h)) => (Some(u), h),
        None => (None, authority),
    };
    let (host, port) = match hostport.rsplit_once(':') {
        Some((h, p)) if !h.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) => (h, Some(p)),
        _ => (hostport, None),
    };
    if !host.eq_ignore_ascii_case("localhost") {
        return url.to_owned();
    }
    let mut out = format!("{scheme}://");
    if let Some(u) = userinfo {
        out.push_str(u);
        out.push('@');
    }
    out.push_str("127.0.0.1");
    if let Some(p) = port {
        out.push(':');
        out.push_str(p);
    }
    out.push_str(path);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn localhost_becomes_a_literal() {
        assert_eq!(loopback_literal("http://localhost:4000/events"), "http://127.0.0.1:4000/events");
        assert_eq!(loopback_literal("http://LOCALHOST/events"), "http://127.0.0.1/events");
        assert_eq!(loopback_literal("http://u:p@localhost:1/x"), "http://u:p@127.0.0.1:1/x");
        assert_eq!(loopback_literal("http://10.0.0.5:4000/events"), "http://10.0.0.5:4000/events");
        assert_eq!(loopback_literal("http://localhost.example.com/e"), "http://localhost.example.com/e");
        assert_eq!(loopback_literal("not a url"), "not a url");
    }

    #[test]
    fn event_names() {
        let name = format!("{:020}-{:010}-{:04}.json", 1u128 << 62, 123, 7);
        assert!(is_event_name(&name), "{name}");
        assert!(!is_event_name("state.json") && !is_event_name(".lock"));
        assert!(!is_event_name(&format!(".{name}.123.0.tmp")));
    }
}
