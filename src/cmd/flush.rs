//! `flush`: deliver the outbox now, waiting for a running deliverer, and say what happened.

use super::{Flush, Run};
use crate::config;
use crate::sink::outbox::{self as delivery, Outbox};

impl Run for Flush {
    fn run(&self) -> Result<u8, String> {
        let url = config::server_url().ok_or("no server configured: set CLAUDE_SESSION_SERVER_URL")?;
        let outbox = Outbox::open()?;
        let lock = outbox.lock().map_err(|e| format!("outbox {}: {e}", outbox.dir.display()))?;
        let report = delivery::run_deliverer(&outbox, &url, lock);
        println!(
            "delivered {}, set aside {}, dropped {}, pending {}",
            report.delivered, report.set_aside, report.dropped, report.pending
        );
        if let Some(error) = &report.error {
            eprintln!("claude-session: {url}: {error}");
        }
        Ok(if report.pending == 0 { 0 } else { 1 })
    }
}
