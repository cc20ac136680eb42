//! `flush`: deliver the queues of the configured destinations now, ignoring any backoff and
//! waiting (a bounded time) for a running deliverer, and say what happened. `--resend` first puts
//! back what was set aside; `--adopt QUEUE` first moves what another queue holds (another
//! destination's, an older version's) to the configured destination of its sink. Queues for
//! destinations not configured here are never sent with this configuration: they are counted,
//! and left for a hook or `flush` configured for them.

use super::{Error, Flush, Run};
use crate::sink;
use crate::sink::outbox::{self, Destination, Outbox};
use crate::{out, outln};

impl Run for Flush {
    fn run(&self) -> Result<u8, Error> {
        let destinations = outbox::configured();
        // A URL or header list that does not parse names no destination: nothing was queued for
        // it (the journal has the events) and nothing can be sent; said, and exit 1.
        let unusable = crate::config::otlp().err();
        if let (true, Some(e)) = (destinations.is_empty(), &unusable) {
            return Err(e.clone().into());
        }
        if destinations.is_empty() {
            return Err("no sink configured: wire a server with `claude-session hooks install --server URL` \
                        (or --otlp URL for a collector), or set CLAUDE_SESSION_SERVER_URL or CLAUDE_SESSION_OTLP_ENDPOINT"
                .into());
        }
        // A refused value falls back to its default: say so, as a hook would under debug.
        for problem in crate::config::problems() {
            out::error(&format!("warning: {problem}; using the default"));
        }
        let outbox = Outbox::open()?;
        if let Some(name) = &self.adopt {
            adopt(&outbox, &destinations, name)?;
        }
        let mut all_sent = true;
        let several = destinations.len() > 1;
        for destination in &destinations {
            let name = destination.sink;
            let queue = outbox.queue(destination)?;
            let sink = sink::build(destination)?;
            let lock = queue.lock().map_err(|e| format!("outbox {}: {e}", queue.dir.display()))?;
            if self.resend {
                let n = queue.resend()?;
                if n > 0 {
                    outln!("{name}: {n} set aside, sent again");
                }
            }
            let mut report = outbox::deliver(&queue, Ok(sink), lock, std::time::Duration::ZERO);
            report.pending = queue.pending();
            let prefix = if several { format!("{name}: ") } else { String::new() };
            outln!(
                "{prefix}delivered {}, set aside {}, dropped {}, pending {}",
                report.delivered,
                report.set_aside,
                report.dropped,
                report.pending
            );
            if let Some(error) = &report.error {
                out::error(&format!("{name}: {error}"));
            }
            all_sent &= report.pending == 0;
        }
        // Never sent from here: their destination is not this configuration's.
        for other in outbox.status(&destinations).sinks {
            if let Some(note) = other.elsewhere() {
                out::error(&format!("note: {note}"));
            }
        }
        if let Some(e) = unusable {
            out::error(&e);
            all_sent = false;
        }
        Ok(if all_sent { 0 } else { 1 })
    }
}

/// `--adopt NAME`: moves what waits in the queue named `NAME` to the configured destination of
/// its sink.
fn adopt(outbox: &Outbox, destinations: &[Destination], name: &str) -> Result<(), Error> {
    let Some(from) = outbox.named(name) else {
        let names: Vec<String> = outbox
            .queues()
            .iter()
            .filter_map(|q| q.dir.file_name())
            .map(|n| n.to_string_lossy().into_owned())
            .collect();
        return Err(format!(
            "--adopt {name}: no such queue in {} (queues: {})",
            outbox.dir.display(),
            names.join(", ")
        )
        .into());
    };
    let Some(destination) = destinations.iter().find(|d| d.sink == from.sink) else {
        return Err(format!("--adopt {name}: no {} destination is configured here to send it to", from.sink).into());
    };
    let into = outbox.queue(destination)?;
    if into.dir == from.dir {
        return Err(format!("--adopt {name}: that is the configured destination's own queue").into());
    }
    let described = from.status().described();
    let report = outbox::adopt(&from, &into);
    outln!("{}: moved {} queued for {described}", from.sink, report.moved);
    match report.error {
        Some(error) => Err(format!("--adopt {name}: {error}").into()),
        None => Ok(()),
    }
}
