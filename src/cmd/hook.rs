//! What `session-start`, `pre-tool` and `post-tool` do: read the payload, resolve the session,
//! record the event. Silent on stdout and exit 0 whatever happens.

use nix::sys::signal::{SigHandler, Signal, signal};

use crate::event::Event;
use crate::payload::Payload;
use crate::project::Project;
use crate::sink::{self, outbox, outbox::Outbox};
use crate::{config, journal, session, util};

pub fn run(default_event: &'static str) -> u8 {
    // A file-size limit must fail a write with EFBIG, not kill the hook with SIGXFSZ; a closed
    // pipe must fail a write with EPIPE, not kill it with SIGPIPE.
    // SAFETY: setting a signal to ignored installs no handler code.
    let _ = unsafe { signal(Signal::SIGXFSZ, SigHandler::SigIgn) };
    let _ = unsafe { signal(Signal::SIGPIPE, SigHandler::SigIgn) };

    let started = std::time::Instant::now();
    let now = util::now();
    let payload = Payload::from_stdin(config::log_field_max());
    if let Some(problem) = payload.problem {
        crate::debug!("payload {problem} ({} bytes); recording it anyway", payload.len);
    }
    let event = payload.str("hook_event_name").unwrap_or(default_event);
    let project = Project::resolve(payload.str("cwd"));
    let session = session::resolve(payload.str("session_id"), &project, now);
    crate::debug!("{event} in {}: session {} ({})", project.dir.display(), session.id, session.source.as_str());

    let event = Event::new(now, event, &session, &project, &payload);
    let line = event.journal_line();
    let journal_dir = journal::dir();
    match &journal_dir {
        Some(dir) => {
            if let Err(e) = journal::append(dir, now, &line) {
                crate::debug!("journal {}: {e}; lost this {} event ({} bytes)", dir.display(), event.name, line.len());
            }
        }
        None => crate::debug!("no journal directory (no HOME); lost this {} event", event.name),
    }

    if util::debug_enabled() {
        crate::debug!("recorded in {} µs, peak RSS {} KiB", started.elapsed().as_micros(), peak_rss_kib().unwrap_or(0));
    }

    let sinks = sink::configured();
    if let (false, Some(journal_dir)) = (sinks.is_empty(), journal_dir) {
        let app = config::source_app().unwrap_or_else(|| project.name.clone());
        let record = event.server_body(&app);
        let queued = Outbox::beside(&journal_dir).and_then(|outbox| {
            let queues = sinks.iter().map(|s| outbox.queue(s)).collect::<Result<Vec<_>, _>>()?;
            outbox.enqueue(&queues, &record).map_err(|e| format!("outbox {}: {e}", outbox.dir.display()))?;
            Ok(queues)
        });
        match queued {
            Ok(queues) => outbox::start_deliverers(queues),
            Err(e) => crate::debug!("{e}; this {} event will not be sent", event.name),
        }
    }
    0
}

/// This process's peak resident set (`VmHWM`), for the debug line.
fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}
