//! `flush`: deliver every sink's queue now, ignoring any backoff and waiting (a bounded time) for
//! a running deliverer, and say what happened. `--resend` first puts back what was set aside.

use super::{Error, Flush, Run};
use crate::sink::{self, outbox, outbox::Outbox};
use crate::{out, outln};

impl Run for Flush {
    fn run(&self) -> Result<u8, Error> {
        let sinks = outbox::configured();
        if sinks.is_empty() {
            return Err("no sink configured: wire a server with `claude-session hooks install --server URL` \
                        (or --otlp URL for a collector), or set CLAUDE_SESSION_SERVER_URL or CLAUDE_SESSION_OTLP_ENDPOINT"
                .into());
        }
        // A refused value falls back to its default: say so, as a hook would under debug.
        for problem in crate::config::problems() {
            out::error(&format!("warning: {problem}; using the default"));
        }
        let outbox = Outbox::open()?;
        let mut all_sent = true;
        for name in &sinks {
            let sink = sink::build(name)?;
            let queue = outbox.queue(name)?;
            let lock = queue.lock().map_err(|e| format!("outbox {}: {e}", queue.dir.display()))?;
            if self.resend {
                let n = queue.resend()?;
                if n > 0 {
                    outln!("{name}: {n} set aside, sent again");
                }
            }
            let mut report = outbox::deliver(&queue, Ok(sink), lock, std::time::Duration::ZERO);
            report.pending = queue.pending();
            let prefix = if sinks.len() > 1 { format!("{name}: ") } else { String::new() };
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
        Ok(if all_sent { 0 } else { 1 })
    }
}
