//! What the hook applets (`session-start`, `pre-tool`, `post-tool`) do: read the payload, resolve
//! the session, journal the event, queue it for the sinks. Silent on stdout and exit 0 whatever
//! happens.

use crate::event::Event;
use crate::payload::{Payload, field};
use crate::project::Project;
use crate::sink::outbox::{self, Outbox};
use crate::{clock, config, journal, oom, out, secrets, session};

pub fn run(default_event: &'static str) -> u8 {
    oom::arm(default_event, degraded);
    let mut payload = Payload::from_stdin(config::log_field_max());
    oom::publish_fields(&payload.fields);
    let code = record(&mut payload, default_event);
    oom::retract_fields();
    code
}

/// A payload that could not be held in memory (see `oom`): recorded all the same, degraded.
fn degraded(
    raw: &[u8],
    parsed: Option<&serde_json::Map<String, serde_json::Value>>,
    refused: usize,
    default_event: &'static str,
) {
    crate::debug!("out of memory: recording what could be kept");
    record(&mut Payload::degraded(raw, parsed, refused), default_event);
}

fn record(payload: &mut Payload, default_event: &'static str) -> u8 {
    let started = out::debug_enabled().then(std::time::Instant::now);
    let now = clock::now();
    // Once, before anything is built from the payload: the journal line, the summary and every
    // sink's record see only redacted values.
    if config::secrets_filter() {
        let n = secrets::redact_fields(&mut payload.fields);
        if n > 0 {
            crate::debug!("redacted {n} secrets");
        }
    }
    if let Some(problem) = payload.problem {
        crate::debug!("payload {problem} ({} bytes); recording it anyway", payload.len);
    }
    let event_name = payload.str(field::HOOK_EVENT_NAME).unwrap_or(default_event);
    let project = Project::resolve(config::project_dir(), payload.str(field::CWD));
    let session = session::resolve(payload.str(field::SESSION_ID), &project, now, event_name == "SessionStart");
    crate::debug!("{event_name} in {}: session {} ({})", project.dir.display(), session.id, session.source.as_str());

    let sinks = outbox::configured();
    let event = Event::new(now, event_name, &session, &project, payload);
    // With any sink, the line notes where it wrote the payload's values, and the outbox record
    // copies them.
    let line = event.journal_line(&outbox::otlp_queue_names(&sinks), !sinks.is_empty());
    let journal_dir = journal::dir();
    match &journal_dir {
        Some(dir) => {
            if let Err(e) = journal::append(dir, now, &line.bytes) {
                crate::debug!("journal: {e}; lost this {event_name} event ({} bytes)", line.bytes.len());
                journal::record_loss(dir, now, event_name, &e);
            }
        }
        None => crate::debug!("no journal directory (no HOME); lost this {event_name} event"),
    }

    if let Some(started) = started {
        crate::debug!("recorded in {} µs, peak RSS {} KiB", started.elapsed().as_micros(), peak_rss_kib());
    }

    if let (false, Some(journal_dir)) = (sinks.is_empty(), journal_dir) {
        let app = config::source_app().unwrap_or_else(|| project.name.clone());
        let record = event.server_body(&app, &line);
        let queued = Outbox::in_journal(&journal_dir).and_then(|outbox| {
            let queues = sinks.iter().map(|d| outbox.queue(d)).collect::<Result<Vec<_>, _>>()?;
            outbox.enqueue(&queues, &record, now).map_err(|e| format!("outbox {}: {e}", outbox.dir.display()))?;
            Ok(queues)
        });
        match queued {
            Ok(queues) => outbox::start_deliverers(queues),
            Err(e) => crate::debug!("{e}; this {event_name} event will not be sent"),
        }
    }
    0
}

/// This process's peak resident set in KiB, for the debug line. Not `getrusage`: Linux keeps
/// `ru_maxrss` across `execve`, so a hook would report the peak of the process that forked it
/// (Claude Code, a test harness) whenever that is larger. `VmHWM` is this program's own.
#[cfg(target_os = "linux")]
fn peak_rss_kib() -> i64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap_or_default();
    line.split_whitespace().nth(1).and_then(|n| n.parse().ok()).unwrap_or(0)
}

/// This process's peak resident set in KiB (`ru_maxrss` is bytes on macOS).
#[cfg(not(target_os = "linux"))]
fn peak_rss_kib() -> i64 {
    let usage = nix::sys::resource::getrusage(nix::sys::resource::UsageWho::RUSAGE_SELF);
    usage.map_or(0, |u| u.max_rss() / 1024)
}
